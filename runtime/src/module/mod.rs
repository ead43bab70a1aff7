//! Loading a task module: read, tell wasm from WAT and a core module from a component, compile
//! once, check the exports against the ABI (a core module's) or read them by their WIT types (a
//! component's: [`component`]), link the imports, and keep an instance-pre from which every task
//! instantiates.

mod component;
mod exports;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::ModuleExport;

use crate::abi::AbiExports;
use crate::cache::ModuleCache;
use crate::engine::Engine;
use crate::error::Error;
use crate::sandbox::{Limits, TaskState, linker};
pub use exports::TaskKind;
pub(crate) use exports::{Export, Task};
use exports::{Exports, check_imports};

/// A compiled task module, checked against the ABI and linked, ready to run tasks. Compiling
/// happens once, in [`Module::from_file`]; every task then instantiates it afresh in
/// microseconds. Cheap to clone (a reference count) and shareable across threads.
#[derive(Clone)]
pub struct Module {
    inner: Arc<Loaded>,
}

struct Loaded {
    path: PathBuf,
    /// argv\[0\] of the module's tasks: its file name.
    program: Arc<str>,
    engine: Engine,
    pre: Pre,
    imports_wasi: bool,
    /// The ABI's host functions (module `hecaton`) it imports, by name.
    host_functions: Vec<String>,
    /// The interfaces a component imports (WASI 0.2's).
    interfaces: Vec<String>,
    tasks: BTreeMap<String, Task>,
    /// Other names of tasks: a component's interface functions by their short names.
    aliases: BTreeMap<String, String>,
    memory: Option<ModuleExport>,
    alloc: Option<ModuleExport>,
    initialize: Option<ModuleExport>,
    /// Where the module came from, for [`Module::snapshot`]; `None` for a precompiled module.
    source: Option<Source>,
}

/// What every task of a module instantiates: a core module's or a component's instance-pre.
pub(crate) enum Pre {
    Core(wasmtime::InstancePre<TaskState>),
    Component(wasmtime::component::InstancePre<TaskState>),
}

/// Whether a [`Module`] is a core WebAssembly module or a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModuleKind {
    /// A core module (wasm32-wasip1, WAT, C, AssemblyScript…): tasks by hecaton's ABI.
    Core,
    /// A component (wasm32-wasip2, componentize-py, componentize-js…): tasks by WIT types.
    Component,
}

/// A module's wasm binary and the compile cache it was loaded through.
struct Source {
    binary: Arc<[u8]>,
    cache: Option<ModuleCache>,
}

impl Module {
    /// Loads a module (`.wasm` binary or `.wat` text) for the process-wide [`Engine::shared`].
    ///
    /// # Errors
    /// Every way a file can fail to be a task module, naming the file and the export or import at
    /// fault: [`Error::Read`], [`Error::NotWasm`], [`Error::Wat`], [`Error::Component`],
    /// [`Error::Compile`], [`Error::UnknownImport`], [`Error::Link`], [`Error::MissingExport`],
    /// [`Error::WrongSignature`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::from_file_in(&Engine::shared()?, path)
    }

    /// Loads a module for the given engine.
    ///
    /// # Errors
    /// As [`Module::from_file`].
    pub fn from_file_in(engine: &Engine, path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = read_module(path)?;
        Self::from_bytes(engine, path, &bytes)
    }

    /// Loads a module from bytes (binary or WAT text); `name` stands for the file in messages.
    ///
    /// # Errors
    /// As [`Module::from_file`].
    pub fn from_bytes(
        engine: &Engine,
        name: impl AsRef<Path>,
        bytes: &[u8],
    ) -> Result<Self, Error> {
        Self::load(engine, name.as_ref(), bytes, None)
    }

    /// Loads a module (`.wasm` or `.wat`), taking its compiled form from `cache` when the cache
    /// holds it for this engine, and storing it there otherwise. The second load of a large
    /// module skips compilation: milliseconds instead of seconds.
    ///
    /// # Errors
    /// As [`Module::from_file`].
    pub fn from_file_cached(
        engine: &Engine,
        path: impl AsRef<Path>,
        cache: &ModuleCache,
    ) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = read_module(path)?;
        Self::load(engine, path, &bytes, Some(cache))
    }

    /// Loads a module from bytes as [`Module::from_file_cached`] loads a file: its compiled
    /// form from `cache` when the cache holds it for this engine. `name` stands for the file in
    /// messages.
    ///
    /// # Errors
    /// As [`Module::from_file`].
    pub fn from_bytes_cached(
        engine: &Engine,
        name: impl AsRef<Path>,
        bytes: &[u8],
        cache: &ModuleCache,
    ) -> Result<Self, Error> {
        Self::load(engine, name.as_ref(), bytes, Some(cache))
    }

    fn load(
        engine: &Engine,
        path: &Path,
        bytes: &[u8],
        cache: Option<&ModuleCache>,
    ) -> Result<Self, Error> {
        let path = path.to_owned();
        let (binary, kind) = to_binary(&path, bytes)?;
        if kind == ModuleKind::Component {
            return Self::load_component(engine, path, binary.into_owned(), cache);
        }
        // What no task of the module could survive is refused before it is compiled (seconds for
        // a large module), and before a compile error could speak of it less clearly.
        crate::layout::check(&path, &binary)?;
        let compile = || wasmtime::Module::new(engine.wasmtime(), &binary);
        let compiled = match cache {
            Some(cache) => cache.load_or_compile(engine, &path, &binary, compile),
            None => compile(),
        };
        let module =
            compiled.map_err(|error| match crate::proposals::missing(&binary).first() {
                Some(proposal) => Error::Unsupported {
                    path: path.clone(),
                    feature: format!(
                        "the {} proposal ({})",
                        proposal.name,
                        proposal.stance.reason()
                    ),
                },
                None => Error::Compile {
                    path: path.clone(),
                    message: format!("{error:#}"),
                },
            })?;
        let source = Source {
            binary: Arc::from(&*binary),
            cache: cache.cloned(),
        };
        Self::from_compiled(engine, path, module, Some(source))
    }

    fn load_component(
        engine: &Engine,
        path: PathBuf,
        binary: Vec<u8>,
        cache: Option<&ModuleCache>,
    ) -> Result<Self, Error> {
        let compile = || wasmtime::component::Component::from_binary(engine.wasmtime(), &binary);
        let compiled = match cache {
            Some(cache) => cache.load_or_compile(engine, &path, &binary, compile),
            None => compile(),
        };
        let component = compiled.map_err(|error| Error::Compile {
            path: path.clone(),
            message: format!("{error:#}"),
        })?;
        let source = Source {
            binary: Arc::from(binary),
            cache: cache.cloned(),
        };
        Self::from_component(engine, path, &component, Some(source))
    }

    fn from_component(
        engine: &Engine,
        path: PathBuf,
        component: &wasmtime::component::Component,
        source: Option<Source>,
    ) -> Result<Self, Error> {
        let loaded = component::load(engine, &path, component)?;
        Ok(Self {
            inner: Arc::new(Loaded {
                program: program_name(&path),
                path,
                engine: engine.clone(),
                pre: Pre::Component(loaded.pre),
                imports_wasi: !loaded.imports.is_empty(),
                host_functions: Vec::new(),
                interfaces: loaded.imports,
                tasks: loaded.tasks,
                aliases: loaded.aliases,
                memory: None,
                alloc: None,
                initialize: None,
                source,
            }),
        })
    }

    /// A module made from this one's bytes (a snapshot's rewriting), for the same engine,
    /// compiled through the same cache, named after the same file.
    pub(crate) fn derived(&self, bytes: &[u8]) -> Result<Self, Error> {
        let cache = self
            .inner
            .source
            .as_ref()
            .and_then(|source| source.cache.as_ref());
        Self::load(self.engine(), self.path(), bytes, cache)
    }

    /// Loads a module precompiled by [`Module::precompile`] (`hecaton compile`, a `.cwasm` file)
    /// for an engine with the same settings.
    ///
    /// # Safety
    /// The file is machine code that wasmtime maps and runs without validating it: it must come
    /// from `hecaton compile` (or wasmtime's `Module::serialize`) of a source you trust, and not
    /// have been changed since. wasmtime checks its version and settings header only.
    ///
    /// # Errors
    /// [`Error::Read`], [`Error::Compile`] when the file is not a compatible precompiled module,
    /// and the ABI errors of [`Module::from_file`].
    pub unsafe fn from_precompiled_file(
        engine: &Engine,
        path: impl AsRef<Path>,
    ) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = read_module(path)?;
        let not_precompiled = |error: wasmtime::Error| Error::Compile {
            path: path.to_owned(),
            message: format!("not a precompiled module for this engine: {error:#}"),
        };
        if wasmtime::Engine::detect_precompiled(&bytes) == Some(wasmtime::Precompiled::Component) {
            // SAFETY: the caller vouches for the file's origin, as this function's contract says.
            let component =
                unsafe { wasmtime::component::Component::deserialize(engine.wasmtime(), &bytes) }
                    .map_err(not_precompiled)?;
            return Self::from_component(engine, path.to_owned(), &component, None);
        }
        // SAFETY: the caller vouches for the file's origin, as this function's contract says.
        let module = unsafe { wasmtime::Module::deserialize(engine.wasmtime(), &bytes) }
            .map_err(not_precompiled)?;
        Self::from_compiled(engine, path.to_owned(), module, None)
    }

    /// Compiles a module (`.wasm` or `.wat`) for `engine` into the precompiled form that
    /// [`Module::from_precompiled_file`] loads.
    ///
    /// # Errors
    /// As [`Module::from_file`].
    pub fn precompile(engine: &Engine, path: impl AsRef<Path>) -> Result<Vec<u8>, Error> {
        let path = path.as_ref();
        let bytes = read_module(path)?;
        let module = Self::load(engine, path, &bytes, None)?;
        let serialized = match &module.inner.pre {
            Pre::Core(pre) => pre.module().serialize(),
            Pre::Component(pre) => pre.component().serialize(),
        };
        serialized.map_err(|error| Error::Engine(format!("{error:#}")))
    }

    fn from_compiled(
        engine: &Engine,
        path: PathBuf,
        module: wasmtime::Module,
        source: Option<Source>,
    ) -> Result<Self, Error> {
        let (imports_wasi, imported_host_functions) = check_imports(&path, &module)?;
        let exports = Exports::of(&path, &module)?;
        let linker =
            linker(engine, imports_wasi).map_err(|error| Error::Engine(format!("{error:#}")))?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|error| Error::Link {
                path: path.clone(),
                message: format!("{error:#}"),
            })?;
        Ok(Self {
            inner: Arc::new(Loaded {
                program: program_name(&path),
                path,
                engine: engine.clone(),
                pre: Pre::Core(pre),
                imports_wasi,
                host_functions: imported_host_functions,
                interfaces: Vec::new(),
                tasks: exports.tasks,
                aliases: BTreeMap::new(),
                memory: exports.memory,
                alloc: exports.alloc,
                initialize: exports.initialize,
                source,
            }),
        })
    }

    /// The module's wasm binary (`None` for a precompiled module).
    pub(crate) fn binary(&self) -> Option<&[u8]> {
        self.inner.source.as_ref().map(|source| &*source.binary)
    }

    /// Whether this is a core module or a component.
    pub fn kind(&self) -> ModuleKind {
        match self.inner.pre {
            Pre::Core(_) => ModuleKind::Core,
            Pre::Component(_) => ModuleKind::Component,
        }
    }

    /// The file this module was loaded from.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether the module imports WASI (and so gets a WASI context per task).
    pub fn imports_wasi(&self) -> bool {
        self.inner.imports_wasi
    }

    /// The host functions of the ABI (import module `hecaton`: `task_id`, `attempt`, `panic`)
    /// the module imports.
    pub fn host_functions(&self) -> impl Iterator<Item = &str> {
        self.inner.host_functions.iter().map(String::as_str)
    }

    /// The interfaces a component imports, as it names them (`wasi:cli/stdout@0.2.0`): all
    /// WASI 0.2, the load refuses any other. Empty for a core module.
    pub fn interfaces(&self) -> impl Iterator<Item = &str> {
        self.inner.interfaces.iter().map(String::as_str)
    }

    /// The tasks this module offers, by name, in name order. A command is named `_start` (a
    /// component's `wasi:cli/run` too); a component's functions are named as it exports them:
    /// `square` at its root, `hecaton:shapes/shapes#area` in an interface (which
    /// [`Module::task_kind`] also finds as `area` when no other export has that name).
    pub fn tasks(&self) -> impl Iterator<Item = (&str, &TaskKind)> {
        self.inner
            .tasks
            .iter()
            .map(|(name, task)| (name.as_str(), &task.kind))
    }

    /// The WebAssembly proposals beyond wasm 1.0 that this module uses (`"bulk-memory"`,
    /// `"exception-handling"`, …, as their repositories under github.com/WebAssembly name them),
    /// each with what hecaton does with it; `None` for a module loaded precompiled, whose wasm is
    /// not kept, and for a component. Costs one validation of the module per proposal (spread over the cores): call
    /// it to inspect a module, not per task.
    pub fn proposals(&self) -> Option<Vec<(&'static str, &'static str)>> {
        if self.kind() == ModuleKind::Component {
            return None;
        }
        let source = self.inner.source.as_ref()?;
        let used = crate::proposals::used(&source.binary)?;
        Some(
            used.into_iter()
                .map(|proposal| (proposal.name, proposal.stance.reason()))
                .collect(),
        )
    }

    /// What the module says its function tasks take and return in their source language, by
    /// task name: the optional custom section `hecaton:signatures` of ABI.md, which the Rust
    /// SDK's `#[task]` writes (`square` → `square(x: i64) -> i64`). Empty without it, or for a
    /// precompiled module. The text is the guest's: show it through
    /// [`printable`](crate::printable).
    pub fn signatures(&self) -> std::collections::BTreeMap<String, String> {
        let mut signatures = std::collections::BTreeMap::new();
        if self.kind() == ModuleKind::Component {
            for (name, task) in &self.inner.tasks {
                if let TaskKind::Wit { signature } = &task.kind {
                    signatures.insert(name.clone(), signature.clone());
                }
            }
            return signatures;
        }
        let Some(binary) = self.binary() else {
            return signatures;
        };
        for payload in wasmparser::Parser::new(0).parse_all(binary) {
            let Ok(wasmparser::Payload::CustomSection(section)) = payload else {
                continue;
            };
            if section.name() != hecaton_abi::SIGNATURES_SECTION {
                continue;
            }
            for line in String::from_utf8_lossy(section.data()).lines() {
                if let Some((name, signature)) = line.split_once('\t') {
                    signatures.insert(name.to_owned(), signature.to_owned());
                }
            }
        }
        signatures
    }

    /// The exported memory's size limits in bytes: (initial, maximum), when there is one (a
    /// component exports none).
    pub fn memory(&self) -> Option<(u64, Option<u64>)> {
        let Pre::Core(pre) = &self.inner.pre else {
            return None;
        };
        let wasmtime::ExternType::Memory(memory) =
            pre.module().get_export(hecaton_abi::MEMORY_EXPORT)?
        else {
            return None;
        };
        let page = memory.page_size();
        Some((
            memory.minimum().saturating_mul(page),
            memory.maximum().map(|max| max.saturating_mul(page)),
        ))
    }

    /// Checks that the module can start under `limits`: a memory or table whose initial size
    /// alone is above the limit could never start, so it is refused before any task runs.
    /// (Several memories that start under the limit each but above it together fail at
    /// instantiation, each task a [`TaskError::MemoryLimit`](crate::TaskError::MemoryLimit).)
    ///
    /// # Errors
    /// [`Error::Config`] naming the limit, the module and the size it starts at.
    pub(crate) fn check_starts_within(&self, limits: &Limits) -> Result<(), Error> {
        const PAGE: u64 = 64 << 10;
        let required = match &self.inner.pre {
            Pre::Core(pre) => pre.module().resources_required(),
            // `None` when the component imports a core module (hecaton links none).
            Pre::Component(pre) => match pre.component().resources_required() {
                Some(required) => required,
                None => return Ok(()),
            },
        };
        let memory = required
            .max_initial_memory_size
            .unwrap_or(0)
            .saturating_mul(PAGE);
        if memory > limits.max_memory {
            return Err(Error::Config(format!(
                "{}: its memory starts at {memory} bytes, above the memory limit of {} \
                 (--max-memory, Limits::max_memory): no task of it could start",
                self.path().display(),
                limits.max_memory
            )));
        }
        let table = required.max_initial_table_size.unwrap_or(0);
        if table > limits.max_table_elements {
            return Err(Error::Config(format!(
                "{}: a table of it starts with {table} elements, above the table limit of {} \
                 (--max-table-elements, Limits::max_table_elements): no task of it could start",
                self.path().display(),
                limits.max_table_elements
            )));
        }
        Ok(())
    }

    /// The kind of the task `name`.
    ///
    /// # Errors
    /// [`Error::UnknownTask`], listing the tasks there are.
    pub fn task_kind(&self, name: &str) -> Result<&TaskKind, Error> {
        self.task(name).map(|task| &task.kind)
    }

    pub(crate) fn task(&self, name: &str) -> Result<&Task, Error> {
        let name = self.inner.aliases.get(name).map_or(name, String::as_str);
        self.inner
            .tasks
            .get(name)
            .ok_or_else(|| Error::UnknownTask {
                path: self.inner.path.clone(),
                task: name.to_owned(),
                available: self.task_names(),
                nearest: self.nearest_task(name),
            })
    }

    /// The task whose name is most like `name` (Jaro-Winkler similarity, as clap suggests
    /// flags), if any is alike enough.
    fn nearest_task(&self, name: &str) -> Option<String> {
        self.inner
            .tasks
            .keys()
            .map(|task| (strsim::jaro_winkler(name, task), task))
            .filter(|(similarity, _)| *similarity > 0.7)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, task)| task.clone())
    }

    fn task_names(&self) -> String {
        let names: Vec<&str> = self.inner.tasks.keys().map(String::as_str).collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    }

    /// argv\[0\] of the module's tasks.
    pub(crate) fn program(&self) -> &Arc<str> {
        &self.inner.program
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn instance_pre(&self) -> &Pre {
        &self.inner.pre
    }

    /// The memory and allocator exports a function task's call uses.
    pub(crate) fn abi_exports(&self) -> AbiExports<'_> {
        AbiExports {
            memory: self.inner.memory.as_ref(),
            alloc: self.inner.alloc.as_ref(),
        }
    }

    pub(crate) fn initialize_export(&self) -> Option<&ModuleExport> {
        self.inner.initialize.as_ref()
    }
}

impl fmt::Debug for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Module")
            .field("path", &self.inner.path)
            .field("tasks", &self.task_names())
            .field("imports_wasi", &self.inner.imports_wasi)
            .finish()
    }
}

/// The bytes of a module file.
fn read_module(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

/// argv\[0\] of a module's tasks: its file name.
fn program_name(path: &Path) -> Arc<str> {
    path.file_name()
        .map_or_else(|| "task.wasm".into(), |name| name.to_string_lossy().into())
}

/// The binary form of `bytes` and what it is: a core module or a component as is, WAT text
/// assembled, anything else refused.
fn to_binary<'a>(
    path: &Path,
    bytes: &'a [u8],
) -> Result<(std::borrow::Cow<'a, [u8]>, ModuleKind), Error> {
    const CORE_MODULE: [u8; 8] = *b"\0asm\x01\0\0\0";
    if bytes.starts_with(b"\x7fELF") {
        return Err(Error::Precompiled {
            path: path.to_owned(),
        });
    }
    if let Some(header) = bytes.get(..8).filter(|header| header.starts_with(b"\0asm")) {
        return if header == CORE_MODULE {
            Ok((bytes.into(), ModuleKind::Core))
        } else if header[6..8] == [1, 0] {
            Ok((bytes.into(), ModuleKind::Component))
        } else {
            Err(Error::Compile {
                path: path.to_owned(),
                message: format!("unknown WebAssembly binary version {:?}", &header[4..8]),
            })
        };
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Error::NotWasm {
        path: path.to_owned(),
    })?;
    if !text.trim_start().starts_with('(') && !text.trim_start().starts_with(";;") {
        return Err(Error::NotWasm {
            path: path.to_owned(),
        });
    }
    let binary = wat::parse_str(text).map_err(|mut error| {
        error.set_path(path);
        Error::Wat {
            path: path.to_owned(),
            message: error.to_string(),
        }
    })?;
    // WAT text can spell a component too.
    let (_, kind) = to_binary(path, &binary)?;
    Ok((binary.into(), kind))
}
