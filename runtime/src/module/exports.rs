//! A module's imports and exports read against the ABI: which imports it may have (WASI, the
//! host functions), which exports are tasks and of which kind, and the ABI's own exports (the
//! memory, the allocator, `_initialize`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use hecaton_abi as abi;
use wasmtime::{ExternType, FuncType, ModuleExport, ValType};

use crate::abi::NumType;
use crate::error::Error;

/// One task a module offers, with the export index resolved at load time.
#[derive(Clone)]
pub(crate) struct Task {
    pub(crate) kind: TaskKind,
    pub(crate) export: Export,
}

/// Where a task's code is, as the load found it.
#[derive(Clone)]
pub(crate) enum Export {
    /// An export of a core module.
    Core(ModuleExport),
    /// A function a component exports, with its WIT types.
    Wit(std::sync::Arc<crate::abi::wit::WitFunc>),
    /// A component's `wasi:cli/run`, where it is in the component.
    Run(std::sync::Arc<wasmtime_wasi::p2::bindings::sync::CommandIndices>),
}

impl Export {
    /// The core module's export, if the task is one.
    pub(crate) fn core(&self) -> Option<&ModuleExport> {
        match self {
            Self::Core(export) => Some(export),
            Self::Wit(_) | Self::Run(_) => None,
        }
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// What kind of task an export is (see the guest ABI).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskKind {
    /// `hecaton:v1:NAME`: JSON bytes in, JSON bytes out.
    Function,
    /// An export taking and returning only numbers, called with JSON numbers.
    Numeric {
        /// Parameter types.
        params: Vec<NumType>,
        /// Result types.
        results: Vec<NumType>,
    },
    /// A WASI command, `_start` (a component's `wasi:cli/run`): argv and stdin in, stdout,
    /// stderr and exit code out.
    Command,
    /// A function a component exports: its arguments and result are WIT values, given and
    /// taken as JSON (README, "Writing tasks as components").
    Wit {
        /// Its WIT signature: `func(x: s64) -> s64`.
        signature: String,
    },
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Function => f.write_str("function task (JSON in, JSON out)"),
            Self::Command => f.write_str("WASI command"),
            Self::Wit { signature } => write!(f, "component function {signature}"),
            Self::Numeric { params, results } => {
                let list = |types: &[NumType]| {
                    types
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                write!(f, "numeric ({}) -> ({})", list(params), list(results))
            }
        }
    }
}

/// Refuses imports from anywhere but WASI and the host functions; tells whether WASI is imported.
/// Whether the module imports WASI, and which host functions of the ABI it imports; any other
/// import is an error.
pub(crate) fn check_imports(
    path: &Path,
    module: &wasmtime::Module,
) -> Result<(bool, Vec<String>), Error> {
    let mut imports_wasi = false;
    let mut host_functions = Vec::new();
    for import in module.imports() {
        match import.module() {
            abi::WASI_MODULE => imports_wasi = true,
            abi::HOST_MODULE => host_functions.push(import.name().to_owned()),
            other => {
                return Err(Error::UnknownImport {
                    path: path.to_owned(),
                    module: other.to_owned(),
                    name: import.name().to_owned(),
                });
            }
        }
    }
    Ok((imports_wasi, host_functions))
}

/// A module's exports sorted into tasks and the ABI's own exports.
pub(crate) struct Exports {
    pub(crate) tasks: BTreeMap<String, Task>,
    pub(crate) memory: Option<ModuleExport>,
    pub(crate) alloc: Option<ModuleExport>,
    pub(crate) initialize: Option<ModuleExport>,
}

impl Exports {
    pub(crate) fn of(path: &Path, module: &wasmtime::Module) -> Result<Self, Error> {
        let index = |name: &str| module.get_export_index(name);
        let mut tasks = BTreeMap::new();
        let mut function_tasks = BTreeMap::new();
        for export in module.exports() {
            let name = export.name();
            let ExternType::Func(ty) = export.ty() else {
                continue;
            };
            let function_task = name
                .strip_prefix(abi::TASK_EXPORT_PREFIX)
                .or_else(|| name.strip_prefix(abi::TASK_EXPORT_ALIAS_PREFIX));
            if let Some(task) = function_task {
                expect_signature(
                    path,
                    name,
                    &ty,
                    &[ValType::I32, ValType::I32],
                    &[ValType::I32],
                )?;
                if let Some(other) = function_tasks.insert(task.to_owned(), name.to_owned()) {
                    return Err(Error::Config(format!(
                        "{}: task `{task}` is exported twice, as `{other}` and as `{name}`",
                        path.display()
                    )));
                }
                continue;
            }
            let kind = match name {
                abi::START_EXPORT => {
                    expect_signature(path, name, &ty, &[], &[])?;
                    TaskKind::Command
                }
                abi::ALLOC_EXPORT | abi::INITIALIZE_EXPORT => continue,
                // Toolchain internals (`__main_void`, `__wasm_call_ctors`) are not tasks.
                internal if internal.starts_with("__") => continue,
                _ => match numeric(&ty) {
                    Some(kind) => kind,
                    None => continue,
                },
            };
            if let Some(export) = index(name) {
                tasks.insert(
                    name.to_owned(),
                    Task {
                        kind,
                        export: Export::Core(export),
                    },
                );
            }
        }
        let memory = index(abi::MEMORY_EXPORT).filter(|_| {
            matches!(
                module.get_export(abi::MEMORY_EXPORT),
                Some(ExternType::Memory(_))
            )
        });
        let alloc = match module.get_export(abi::ALLOC_EXPORT) {
            Some(ExternType::Func(ty)) => {
                expect_signature(
                    path,
                    abi::ALLOC_EXPORT,
                    &ty,
                    &[ValType::I32],
                    &[ValType::I32],
                )?;
                index(abi::ALLOC_EXPORT)
            }
            _ => None,
        };
        if !function_tasks.is_empty() {
            let why = "a module with function tasks needs it";
            if memory.is_none() {
                return Err(missing(path, module, abi::MEMORY_EXPORT, why));
            }
            if alloc.is_none() {
                return Err(missing(path, module, abi::ALLOC_EXPORT, why));
            }
        }
        for (task, export_name) in function_tasks {
            if let Some(export) = index(&export_name) {
                tasks.insert(
                    task,
                    Task {
                        kind: TaskKind::Function,
                        export: Export::Core(export),
                    },
                );
            }
        }
        let initialize = match module.get_export(abi::INITIALIZE_EXPORT) {
            Some(ExternType::Func(ty)) => {
                expect_signature(path, abi::INITIALIZE_EXPORT, &ty, &[], &[])?;
                index(abi::INITIALIZE_EXPORT)
            }
            _ => None,
        };
        Ok(Self {
            tasks,
            memory,
            alloc,
            initialize,
        })
    }
}

fn numeric(ty: &FuncType) -> Option<TaskKind> {
    let params = ty
        .params()
        .map(|t| NumType::of(&t))
        .collect::<Option<Vec<_>>>()?;
    let results = ty
        .results()
        .map(|t| NumType::of(&t))
        .collect::<Option<Vec<_>>>()?;
    Some(TaskKind::Numeric { params, results })
}

fn expect_signature(
    path: &Path,
    export: &str,
    ty: &FuncType,
    params: &[ValType],
    results: &[ValType],
) -> Result<(), Error> {
    let same = |found: &mut dyn ExactSizeIterator<Item = ValType>, expected: &[ValType]| {
        found.len() == expected.len() && found.zip(expected).all(|(a, b)| ValType::eq(&a, b))
    };
    if same(&mut ty.params(), params) && same(&mut ty.results(), results) {
        return Ok(());
    }
    let expected = FuncType::new(ty.engine(), params.iter().cloned(), results.iter().cloned());
    Err(Error::WrongSignature {
        path: path.to_owned(),
        export: export.to_owned(),
        expected: signature(&expected),
        found: signature(ty),
    })
}

fn signature(ty: &FuncType) -> String {
    let list = |types: &mut dyn Iterator<Item = ValType>| {
        types.map(|t| t.to_string()).collect::<Vec<_>>().join(" ")
    };
    format!(
        "(func (param {}) (result {}))",
        list(&mut ty.params()),
        list(&mut ty.results())
    )
}

fn missing(path: &Path, module: &wasmtime::Module, export: &str, why: &'static str) -> Error {
    let available: Vec<&str> = module.exports().map(|e| e.name()).collect();
    Error::MissingExport {
        path: path.to_owned(),
        export: export.to_owned(),
        why,
        available: available.join(", "),
    }
}
