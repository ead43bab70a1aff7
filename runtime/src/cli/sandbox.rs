//! The limits and capabilities every task-running subcommand takes, with human units.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use hecaton::{Access, Capabilities, Engine, Limits};

/// Per-task limits and granted capabilities, from flags or a TOML file with the same names
/// (`max-memory = "64MiB"`, `timeout = "2s"`, `dir = ["data::/data:rw"]`, `env = ["MODE=fast"]`);
/// a flag wins over the file, the file over the defaults.
#[derive(Debug, Default, Args, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct SandboxArgs {
    /// Linear memory a task may have (e.g. 64MiB, 1GiB) [default: 256MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = LIMITS)]
    #[serde(deserialize_with = "size")]
    max_memory: Option<u64>,
    /// Wall-clock time a task may run (e.g. 500ms, 2s, 1m) [default: none].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = LIMITS)]
    #[serde(deserialize_with = "duration")]
    timeout: Option<Duration>,
    /// Fuel a task may burn, a deterministic CPU budget (~1 per wasm instruction) [default: none].
    #[arg(long, value_name = "UNITS", help_heading = LIMITS)]
    fuel: Option<u64>,
    /// Native stack wasm code may use before a stack overflow [default: 512KiB; at most 64MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = LIMITS)]
    #[serde(deserialize_with = "size")]
    max_stack: Option<u64>,
    /// Bytes a task may return, or write to stdout and to stderr each [default: 16MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = LIMITS)]
    #[serde(deserialize_with = "size")]
    max_output: Option<u64>,
    /// Elements a task's tables may hold, all together [default: 100000; at most 1048576].
    #[arg(long, value_name = "N", help_heading = LIMITS)]
    max_table_elements: Option<u64>,
    /// Grant a host directory, read-only unless suffixed `:rw`: HOST[::GUEST][:rw|:ro]
    /// (GUEST defaults to HOST).
    #[arg(
        long = "dir",
        value_name = "HOST[::GUEST][:rw]",
        help_heading = "Capabilities"
    )]
    dir: Vec<String>,
    /// Set a variable in the task: KEY=VALUE, or KEY to copy the host's value. Nothing else of
    /// the host environment is visible.
    #[arg(
        long = "env",
        value_name = "KEY[=VALUE]",
        help_heading = "Capabilities"
    )]
    env: Vec<String>,
    /// Read limits and capabilities from a TOML file (flags win over it).
    #[arg(long, value_name = "FILE", help_heading = LIMITS)]
    #[serde(skip)]
    config: Option<PathBuf>,
}

const LIMITS: &str = "Limits (per task)";
const CACHE: &str = "Compile cache";

impl SandboxArgs {
    /// The settings in force: the flags over the config file, if any. Read once per command;
    /// `engine`, `limits` and `capabilities` are then taken from the result.
    pub(crate) fn resolve(&self) -> anyhow::Result<Self> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                toml::from_str::<Self>(&text)
                    .with_context(|| format!("config file {}", path.display()))?
            }
            None => Self::default(),
        };
        Ok(Self {
            max_memory: self.max_memory.or(file.max_memory),
            timeout: self.timeout.or(file.timeout),
            fuel: self.fuel.or(file.fuel),
            max_stack: self.max_stack.or(file.max_stack),
            max_output: self.max_output.or(file.max_output),
            max_table_elements: self.max_table_elements.or(file.max_table_elements),
            dir: file
                .dir
                .into_iter()
                .chain(self.dir.iter().cloned())
                .collect(),
            env: file
                .env
                .into_iter()
                .chain(self.env.iter().cloned())
                .collect(),
            config: None,
        })
    }

    /// The engine these limits need (fuel metering, stack size).
    pub(crate) fn engine(&self) -> anyhow::Result<Engine> {
        let settings = self;
        let max_stack = match settings.max_stack {
            Some(bytes) => max_stack(bytes)?,
            None => hecaton::DEFAULT_MAX_STACK,
        };
        Ok(Engine::builder()
            .fuel(settings.fuel.is_some())
            .max_stack(max_stack)
            .build()?)
    }

    pub(crate) fn limits(&self) -> Limits {
        let settings = self;
        let mut limits = Limits::default()
            .timeout(settings.timeout)
            .fuel(settings.fuel);
        if let Some(bytes) = settings.max_memory {
            limits = limits.max_memory(bytes);
        }
        if let Some(bytes) = settings.max_output {
            limits = limits.max_output(bytes);
        }
        if let Some(elements) = settings.max_table_elements {
            limits = limits.max_table_elements(elements);
        }
        limits
    }

    pub(crate) fn capabilities(&self) -> anyhow::Result<Capabilities> {
        let settings = self;
        let mut capabilities = Capabilities::new();
        for dir in &settings.dir {
            let (host, guest, access) = dir_spec(dir);
            capabilities = capabilities.dir(PathBuf::from(host), guest, access)?;
        }
        for (key, value) in self.variables() {
            capabilities = match value {
                Some(value) => capabilities.env(key, value),
                None => capabilities.inherit_env(key),
            };
        }
        Ok(capabilities)
    }

    /// The `--dir`s, as asked: `(HOST, GUEST, access)`, for workers elsewhere to grant.
    pub(crate) fn dir_requests(&self) -> impl Iterator<Item = (&str, &str, Access)> {
        self.dir.iter().map(|dir| dir_spec(dir))
    }

    /// The `--env`s: `KEY=VALUE` as `(KEY, Some(VALUE))`, `KEY` (the host's value) as
    /// `(KEY, None)`.
    pub(crate) fn variables(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.env
            .iter()
            .map(|variable| match variable.split_once('=') {
                Some((key, value)) => (key, Some(value)),
                None => (variable.as_str(), None),
            })
    }
}

/// A `--max-stack` in range: at least 1 byte, at most [`hecaton::MAX_STACK`].
pub(crate) fn max_stack(bytes: u64) -> anyhow::Result<usize> {
    match usize::try_from(bytes) {
        Ok(bytes) if (1..=hecaton::MAX_STACK).contains(&bytes) => Ok(bytes),
        _ => bail!(
            "--max-stack {bytes} bytes: at least 1 byte, at most {} (64MiB)",
            hecaton::MAX_STACK
        ),
    }
}

/// A directory flag's parts, `HOST[::GUEST][:rw|:ro]`: GUEST defaults to HOST, access to
/// read-only.
pub(crate) fn dir_spec(dir: &str) -> (&str, &str, Access) {
    let (spec, access) = match dir.rsplit_once(':') {
        Some((spec, "rw")) if !spec.ends_with(':') => (spec, Access::ReadWrite),
        Some((spec, "ro")) if !spec.ends_with(':') => (spec, Access::ReadOnly),
        _ => (dir, Access::ReadOnly),
    };
    let (host, guest) = spec.split_once("::").unwrap_or((spec, spec));
    (host, guest, access)
}

/// A size in a config file: a string with a unit (`"64MiB"`), as on the command line.
fn size<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    parse_size(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// A duration in a config file: a string with a unit.
fn duration<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    parse_duration(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// A size in bytes with its unit, as [`hecaton::parse_size`] reads it.
pub(crate) fn parse_size(text: &str) -> anyhow::Result<u64> {
    hecaton::parse_size(text).map_err(anyhow::Error::msg)
}

/// A duration: a number with a unit (ms, s, m, h), e.g. 500ms or 2s.
pub(crate) fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .with_context(|| format!("`{text}` is not a duration like 500ms or 2s"))?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "s" => number,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        "" => bail!("`{text}` needs a unit: ms, s, m or h"),
        other => bail!("unknown duration unit `{other}` in `{text}` (use ms, s, m or h)"),
    };
    Duration::try_from_secs_f64(seconds)
        .with_context(|| format!("`{text}` is not a valid duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_human_units() {
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("4096B").unwrap(), 4096);
        assert!(
            parse_size("64").is_err(),
            "a size needs a unit, as a duration does"
        );
        assert_eq!(parse_size("2 KB").unwrap(), 2000);
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn durations_take_human_units() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}

/// What `run` and `map` start from: the module, its task, how it is fenced, and where its
/// compiled form is cached.
#[derive(Debug, Args)]
pub(crate) struct TaskArgs {
    /// A module (.wasm or .wat), or a Rust task crate's folder to build first.
    #[arg(value_name = "MODULE_OR_CRATE")]
    module: PathBuf,
    /// The task to call (default: the module's WASI command, `_start`).
    #[arg(long, value_name = "TASK")]
    invoke: Option<String>,
    /// Run this export (a function of no parameters and no results) once, under the same limits
    /// and capabilities, snapshot the memory and globals it leaves, and start every task from
    /// that state, each still in a fresh instance.
    #[arg(long, value_name = "EXPORT")]
    initializer: Option<String>,
    #[command(flatten)]
    sandbox: SandboxArgs,
    #[command(flatten)]
    cache: CacheArgs,
}

/// A module ready to run a task: what [`TaskArgs::load`] gives.
pub(crate) struct LoadedTask {
    /// The sandbox settings, the `--config` file merged in.
    pub(crate) sandbox: SandboxArgs,
    /// The engine the module is compiled for.
    pub(crate) engine: Engine,
    /// The module, snapshotted after its `--initializer`.
    pub(crate) module: hecaton::Module,
    /// The task to call.
    pub(crate) task: String,
}

impl TaskArgs {
    /// Resolves the sandbox, loads (or builds) the module, runs its initializer and picks the
    /// task.
    pub(crate) fn load(&self) -> anyhow::Result<LoadedTask> {
        let sandbox = self.sandbox.resolve()?;
        let engine = sandbox.engine()?;
        let (module, task) = self
            .cache
            .load_task(&engine, &self.module, self.invoke.clone())?;
        let module = match &self.initializer {
            Some(initializer) => {
                module.snapshot_with(initializer, &sandbox.limits(), &sandbox.capabilities()?)?
            }
            None => module,
        };
        Ok(LoadedTask {
            sandbox,
            engine,
            module,
            task,
        })
    }
}

/// Where compiled modules are cached.
#[derive(Debug, Args)]
pub(crate) struct CacheArgs {
    /// Folder of compiled modules [default: HECATON_CACHE_DIR, else $XDG_CACHE_HOME/hecaton, else
    /// ~/.cache/hecaton].
    #[arg(long, value_name = "DIR", help_heading = CACHE)]
    cache_dir: Option<PathBuf>,
    /// Compile the module afresh and store nothing.
    #[arg(long, conflicts_with = "cache_dir", help_heading = CACHE)]
    no_cache: bool,
    /// Run a precompiled module (`hecaton compile` output, `.cwasm`). UNSAFE for untrusted files:
    /// a precompiled module is machine code that is not validated, so only use it on files you
    /// compiled yourself or otherwise trust.
    #[arg(long, help_heading = CACHE)]
    allow_precompiled: bool,
}

impl CacheArgs {
    /// Loads a module, or builds a crate folder first, and picks the task: `invoke`, or the
    /// module's WASI command when there is no `invoke`.
    pub(crate) fn load_task(
        &self,
        engine: &Engine,
        module_or_crate: &std::path::Path,
        invoke: Option<String>,
    ) -> anyhow::Result<(hecaton::Module, String)> {
        let path = if crate::cli::build::is_crate(module_or_crate) {
            crate::cli::build::build_crate(module_or_crate, None)?
        } else {
            module_or_crate.to_owned()
        };
        let module = self.load(engine, &path)?;
        let task = match invoke {
            Some(task) => task,
            None if module.task_kind(hecaton_abi::START_EXPORT).is_ok() => {
                hecaton_abi::START_EXPORT.to_owned()
            }
            None => {
                let tasks: Vec<&str> = module.tasks().map(|(name, _)| name).collect();
                let tasks = if tasks.is_empty() {
                    "none".to_owned()
                } else {
                    tasks.join(", ")
                };
                bail!(
                    "{} is not a WASI command; name the task with --invoke (its tasks: {tasks})",
                    path.display()
                );
            }
        };
        Ok((module, task))
    }

    /// Loads `path` for `engine`, through the compile cache unless disabled.
    /// Whether `--allow-precompiled` was given.
    pub(crate) fn allows_precompiled(&self) -> bool {
        self.allow_precompiled
    }

    /// The compile cache these flags choose (`None`: `--no-cache`, or no cache folder).
    pub(crate) fn cache(&self) -> Option<hecaton::ModuleCache> {
        match (&self.cache_dir, self.no_cache) {
            (_, true) => None,
            (Some(dir), false) => Some(hecaton::ModuleCache::new(dir)),
            (None, false) => hecaton::ModuleCache::per_user(),
        }
    }

    pub(crate) fn load(
        &self,
        engine: &Engine,
        path: &std::path::Path,
    ) -> anyhow::Result<hecaton::Module> {
        let cache = self.cache();
        if let Some(Err(why)) = cache.as_ref().map(hecaton::ModuleCache::check) {
            crate::cli::say(format_args!(
                "compile cache not used ({why}); compiling instead"
            ));
        }
        let cache = match cache {
            Some(cache) if std::io::IsTerminal::is_terminal(&std::io::stderr()) => {
                Some(cache.announce_compile(|path| {
                    crate::cli::say(format_args!(
                        "compiling {} (cached for next time)…",
                        path.display()
                    ));
                }))
            }
            cache => cache,
        };
        let loaded = match cache {
            Some(cache) => hecaton::Module::from_file_cached(engine, path, &cache),
            None => hecaton::Module::from_file_in(engine, path),
        };
        match loaded {
            Err(hecaton::Error::Precompiled { .. }) if self.allow_precompiled => {
                // SAFETY: `--allow-precompiled` is the user's statement that they trust this
                // file's origin, which is what loading machine code requires; `--help` says so.
                Ok(unsafe { hecaton::Module::from_precompiled_file(engine, path) }?)
            }
            loaded => Ok(loaded?),
        }
    }
}
