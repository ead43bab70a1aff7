//! A component read as tasks: the imports it may have (WASI 0.2 only), its exported functions
//! as tasks typed by their WIT signatures, its `wasi:cli/run` as a command, and the
//! pre-instantiated form every task starts from.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use wasmtime::component::types::{ComponentFunc, ComponentItem};
use wasmtime::component::{Component, ComponentExportIndex, InstancePre};
use wasmtime_wasi::p2::bindings::sync::CommandIndices;

use crate::abi::wit::{self, WitFunc};
use crate::engine::Engine;
use crate::error::Error;
use crate::module::exports::{Export, Task, TaskKind};
use crate::sandbox::{TASK_CONTEXT_INTERFACE, TaskState, component_linker};

/// The WASI 0.2 interfaces a component may import (any `0.2.x` version of them; besides them,
/// hecaton's own `hecaton:task/context@0.1.x`, the ABI's host functions): those
/// wasmtime-wasi's `p2::add_to_linker_sync` links, every one fenced by the task's WASI context
/// (sockets are linked but every address is denied). `wasi:clocks/timezone` (unstable) is not.
const WASI_P2_INTERFACES: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/ip-name-lookup",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
];

/// The export of a command component.
const RUN_INTERFACE: &str = "wasi:cli/run";

/// The export componentize-py adds to every component it builds (interface `exports`, function
/// `init`, whose first parameter is `app-name`): its pre-initialization entry point, which must
/// not run again. Not a task.
const COMPONENTIZE_PY_INIT: (&str, &str, &str) = ("exports", "init", "app-name");

/// A loaded component's tasks and the form they start from.
pub(crate) struct ComponentTasks {
    pub(crate) pre: InstancePre<TaskState>,
    pub(crate) tasks: BTreeMap<String, Task>,
    /// Short names of interface functions (`area` for `hecaton:shapes/shapes#area`), where only
    /// one export has that name and no root function does.
    pub(crate) aliases: BTreeMap<String, String>,
    /// The interfaces it imports (all WASI 0.2), as it names them.
    pub(crate) imports: Vec<String>,
}

/// Reads `component`'s imports and exports, links it with WASI 0.2 and pre-instantiates it.
///
/// # Errors
/// [`Error::UnknownImport`] for an import that is not WASI 0.2, [`Error::Component`] for an
/// export whose types cannot cross as JSON (a resource, a future, a stream, an async
/// function), [`Error::Link`] when an import's type does not match WASI 0.2's.
pub(crate) fn load(
    engine: &Engine,
    path: &Path,
    component: &Component,
) -> Result<ComponentTasks, Error> {
    let imports = check_imports(engine, path, component)?;
    let (mut tasks, aliases, runs) = tasks(engine, path, component)?;
    let linker = component_linker(engine).map_err(|error| Error::Engine(format!("{error:#}")))?;
    let pre = linker
        .instantiate_pre(component)
        .map_err(|error| Error::Link {
            path: path.to_owned(),
            message: format!("{error:#}"),
        })?;
    if runs {
        let command = CommandIndices::new(&pre).map_err(|error| Error::Link {
            path: path.to_owned(),
            message: format!("{error:#}"),
        })?;
        tasks.insert(
            hecaton_abi::START_EXPORT.to_owned(),
            Task {
                kind: TaskKind::Command,
                export: Export::Run(Arc::new(command)),
            },
        );
    }
    Ok(ComponentTasks {
        pre,
        tasks,
        aliases,
        imports,
    })
}

/// The component's imports, every one a WASI 0.2 interface; any other is refused.
fn check_imports(
    engine: &Engine,
    path: &Path,
    component: &Component,
) -> Result<Vec<String>, Error> {
    let ty = component.component_type();
    let mut imports = Vec::new();
    for (name, _) in ty.imports(engine.wasmtime()) {
        let (interface, version) = name.split_once('@').unwrap_or((name, ""));
        let wasi = WASI_P2_INTERFACES.contains(&interface) && version.starts_with("0.2.");
        let context = TASK_CONTEXT_INTERFACE
            .split_once('@')
            .is_some_and(|(ours, ours_version)| {
                ours == interface
                    && version
                        .split('.')
                        .take(2)
                        .eq(ours_version.split('.').take(2))
            });
        if !(wasi || context) {
            return Err(Error::UnknownComponentImport {
                path: path.to_owned(),
                name: name.to_owned(),
            });
        }
        imports.push(name.to_owned());
    }
    Ok(imports)
}

type Tasks = (BTreeMap<String, Task>, BTreeMap<String, String>, bool);

/// The component's tasks: every exported function, at its root (`square`) or in an exported
/// interface (`hecaton:shapes/shapes#area`), and `_start` for an exported `wasi:cli/run`; the
/// short names of interface functions; whether it is a command.
fn tasks(engine: &Engine, path: &Path, component: &Component) -> Result<Tasks, Error> {
    let ty = component.component_type();
    let mut tasks = BTreeMap::new();
    let mut runs = false;
    let refuse = |export: &str, what: String| Error::Component {
        path: path.to_owned(),
        message: format!("its export `{export}` is {what}"),
    };
    for (name, item) in ty.exports(engine.wasmtime()) {
        match item.ty {
            ComponentItem::ComponentFunc(func) => {
                let index = export_index(component, None, name)?;
                let task = task(&func, index).map_err(|what| refuse(name, what))?;
                tasks.insert(name.to_owned(), task);
            }
            ComponentItem::ComponentInstance(instance) => {
                let interface = name
                    .split_once('@')
                    .map_or(name, |(unversioned, _)| unversioned);
                if interface == RUN_INTERFACE {
                    // `_start`, once the instance-pre that locates it is made (`load`).
                    runs = true;
                    continue;
                }
                let instance_index = export_index(component, None, name)?;
                for (function, item) in instance.exports(engine.wasmtime()) {
                    let full = format!("{name}#{function}");
                    // Types (resource types among them) are not tasks; a function that takes or
                    // returns a resource handle is refused by `task`.
                    if let ComponentItem::ComponentFunc(func) = item.ty {
                        if is_componentize_py_init(name, function, &func) {
                            continue;
                        }
                        let index = export_index(component, Some(&instance_index), function)?;
                        let task = task(&func, index).map_err(|what| refuse(&full, what))?;
                        tasks.insert(full, task);
                    }
                }
            }
            // Types (resource types among them), core modules and nested components are not
            // tasks.
            _ => {}
        }
    }
    let mut short: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for name in tasks.keys() {
        if let Some((_, function)) = name.split_once('#') {
            short.entry(function).or_default().push(name);
        }
    }
    let aliases = short
        .into_iter()
        .filter(|(function, names)| names.len() == 1 && !tasks.contains_key(*function))
        .map(|(function, names)| (function.to_owned(), names[0].to_owned()))
        .collect();
    Ok((tasks, aliases, runs))
}

fn is_componentize_py_init(interface: &str, function: &str, func: &ComponentFunc) -> bool {
    let (init_interface, init, first_param) = COMPONENTIZE_PY_INIT;
    interface == init_interface
        && function == init
        && func
            .params()
            .next()
            .is_some_and(|(param, _)| param == first_param)
}

fn export_index(
    component: &Component,
    instance: Option<&ComponentExportIndex>,
    name: &str,
) -> Result<ComponentExportIndex, Error> {
    component
        .get_export_index(instance, name)
        .ok_or_else(|| Error::Engine(format!("the component's export `{name}` has no index")))
}

/// The task of an exported function, or why it cannot be one.
fn task(func: &ComponentFunc, index: ComponentExportIndex) -> Result<Task, String> {
    if func.async_() {
        return Err("an async function (hecaton calls functions synchronously)".into());
    }
    let params: Vec<(String, wasmtime::component::Type)> = func
        .params()
        .map(|(param, ty)| (param.to_owned(), ty))
        .collect();
    let result = func.results().next();
    for (param, ty) in &params {
        if let Some(why) = wit::unsupported(ty, 0) {
            return Err(format!(
                "a function whose parameter `{param}` holds {why}, which cannot cross as JSON"
            ));
        }
    }
    if let Some(why) = result.as_ref().and_then(|ty| wit::unsupported(ty, 0)) {
        return Err(format!(
            "a function whose result holds {why}, which cannot cross as JSON"
        ));
    }
    let signature = format!(
        "func({}){}",
        params
            .iter()
            .map(|(param, ty)| format!("{param}: {}", wit::wit(ty)))
            .collect::<Vec<_>>()
            .join(", "),
        result
            .as_ref()
            .map(|ty| format!(" -> {}", wit::wit(ty)))
            .unwrap_or_default()
    );
    Ok(Task {
        kind: TaskKind::Wit { signature },
        export: Export::Wit(Arc::new(WitFunc {
            index,
            params,
            result,
        })),
    })
}
