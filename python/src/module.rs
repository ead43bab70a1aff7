//! `hecaton.Module`: a task module loaded once, and the engines it can be compiled for.
//!
//! A module is compiled for one engine, and fuel metering and the wasm stack limit are engine
//! settings (`EngineBuilder::fuel`, `EngineBuilder::max_stack`), so a pool with a `fuel` limit
//! or a `max_stack` runs its modules on an engine of those settings, shared by every such pool
//! of the interpreter: a `Module` compiles itself for it the first time such a pool runs it (the
//! on-disk compile cache makes that cheap).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use hecaton::{Engine, Error, ModuleCache, TaskKind};
use pyo3::prelude::*;

use crate::errors::IntoPyResult;

/// Which engine a pool runs on: its engine settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct EngineKind {
    /// Fuel metering, for pools with a `fuel` limit.
    pub(crate) fuel: bool,
    /// The wasm stack limit in bytes.
    pub(crate) max_stack: usize,
}

impl EngineKind {
    /// `Engine::shared`'s settings: no fuel metering, the default stack.
    pub(crate) const PLAIN: Self = Self {
        fuel: false,
        max_stack: hecaton::DEFAULT_MAX_STACK,
    };

    /// The interpreter's engine of this kind, made on first use.
    pub(crate) fn engine(self) -> Result<Engine, Error> {
        if self == Self::PLAIN {
            return Engine::shared();
        }
        static ENGINES: Mutex<Vec<(EngineKind, Engine)>> = Mutex::new(Vec::new());
        let mut engines = ENGINES.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, engine)) = engines.iter().find(|(kind, _)| *kind == self) {
            return Ok(engine.clone());
        }
        let engine = Engine::builder()
            .fuel(self.fuel)
            .max_stack(self.max_stack)
            .build()?;
        engines.push((self, engine.clone()));
        Ok(engine)
    }
}

/// Loads `path` for `engine`, through the per-user compile cache when there is a trustworthy
/// one (as the CLI does), so that a large module is compiled once per machine.
fn load(engine: &Engine, path: &Path) -> Result<hecaton::Module, Error> {
    match ModuleCache::per_user().filter(|cache| cache.check().is_ok()) {
        Some(cache) => hecaton::Module::from_file_cached(engine, path, &cache),
        None => hecaton::Module::from_file_in(engine, path),
    }
}

/// A task module (a `.wasm` binary or `.wat` text), compiled and checked once.
///
/// Pass it to a pool's methods or to a `Process` instead of a path to skip loading: a path is
/// loaded (and checked) the first time a pool sees it, and again only if the file changes.
#[pyclass(frozen, module = "hecaton")]
pub(crate) struct Module {
    path: PathBuf,
    plain: hecaton::Module,
    /// The module compiled for other engines, by their settings.
    others: Mutex<Vec<(EngineKind, hecaton::Module)>>,
}

impl Module {
    /// The module compiled for `kind`'s engine.
    pub(crate) fn compiled(&self, kind: EngineKind) -> Result<hecaton::Module, Error> {
        if kind == EngineKind::PLAIN {
            return Ok(self.plain.clone());
        }
        let mut others = self.others.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, module)) = others.iter().find(|(other, _)| *other == kind) {
            return Ok(module.clone());
        }
        let module = load(&kind.engine()?, &self.path)?;
        others.push((kind, module.clone()));
        Ok(module)
    }
}

#[pymethods]
impl Module {
    /// Loads the module at `path` and checks it against the ABI.
    ///
    /// Raises `hecaton.ModuleError` naming the file and what is wrong with it.
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let plain = py
            .detach(|| {
                EngineKind::PLAIN
                    .engine()
                    .and_then(|engine| load(&engine, &path))
            })
            .py(py)?;
        Ok(Self {
            path,
            plain,
            others: Mutex::new(Vec::new()),
        })
    }

    /// The file it was loaded from.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The module's tasks: ``{name: kind}``, the kind ``"function"`` (JSON in and out),
    /// ``"command"`` (a WASI program, ``_start``), a numeric signature such as
    /// ``"numeric (i64) -> (i64)"``, or a component's function with its WIT signature
    /// (``"component function func(x: s64) -> s64"``).
    #[getter]
    fn tasks(&self) -> HashMap<String, String> {
        self.plain
            .tasks()
            .map(|(name, kind)| {
                let kind = match kind {
                    TaskKind::Function => "function".to_owned(),
                    TaskKind::Command => "command".to_owned(),
                    other => other.to_string(),
                };
                (name.to_owned(), kind)
            })
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("hecaton.Module({:?})", self.path.display().to_string())
    }
}

/// What a pool or process was given as its module: a `Module`, or a path.
pub(crate) enum ModuleArg {
    Loaded(Py<Module>),
    Path(PathBuf),
}

impl<'a, 'py> FromPyObject<'a, 'py> for ModuleArg {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(module) = value.cast::<Module>() {
            return Ok(Self::Loaded(module.to_owned().unbind()));
        }
        Ok(Self::Path(value.extract()?))
    }
}

/// The modules loaded from paths, each kept while its file is unchanged: one per interpreter,
/// shared by every pool and process.
#[derive(Default)]
pub(crate) struct ModuleCacheByPath {
    loaded: Mutex<HashMap<(PathBuf, EngineKind), (FileStamp, hecaton::Module)>>,
}

impl ModuleCacheByPath {
    pub(crate) fn global() -> &'static Self {
        static GLOBAL: OnceLock<ModuleCacheByPath> = OnceLock::new();
        GLOBAL.get_or_init(Self::default)
    }
}

/// What tells that a file changed: its length and modification time.
type FileStamp = (u64, Option<SystemTime>);

fn stamp(path: &Path) -> FileStamp {
    std::fs::metadata(path).map_or((0, None), |meta| (meta.len(), meta.modified().ok()))
}

impl ModuleCacheByPath {
    /// `module` compiled for `kind`'s engine: loaded now, or as loaded before.
    pub(crate) fn get(
        &self,
        py: Python<'_>,
        module: &ModuleArg,
        kind: EngineKind,
    ) -> PyResult<hecaton::Module> {
        let path = match module {
            ModuleArg::Loaded(module) => return module.get().compiled(kind).py(py),
            ModuleArg::Path(path) => path,
        };
        let key = (path.clone(), kind);
        let now = stamp(path);
        let loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((seen, module)) = loaded.get(&key)
            && *seen == now
        {
            return Ok(module.clone());
        }
        drop(loaded);
        let module = py
            .detach(|| kind.engine().and_then(|engine| load(&engine, path)))
            .py(py)?;
        self.loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, (now, module.clone()));
        Ok(module)
    }
}
