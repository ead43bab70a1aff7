//! Section 9: a real program as tasks — CPython 3.12 for WASI (the corpus's 26 MB command module)
//! running one small CPU-bound script over 24 arguments, three ways, on the same compile cache:
//!
//! - (a) one `hecaton map python.wasm --lines --arg -j2 --argv -c --argv SCRIPT` of the 24
//!   arguments: one process, the module deserialized once, a fresh instance per input on 2
//!   workers;
//! - (b) 24 `hecaton run python.wasm -- -c SCRIPT ARG` processes, one after another;
//! - (c) GNU parallel starting the same 24 `hecaton run` processes, 2 at a time
//!   (`parallel -j2 -k -q hecaton run python.wasm -- -c SCRIPT {} ::: ARGS`).
//!
//! The compile cache (a fresh folder, `HECATON_CACHE_DIR`) is filled by one untimed run first, so
//! that every process of every row deserializes the module rather than compiling it. Every run of
//! every row must print, for each argument, what the host's `python3` prints for the same script
//! and argument; any difference fails the benchmark. The module comes from
//! `bench/fetch-large-module.sh`, as section 4's; when it cannot be had, or the CLI cannot be
//! built, the section says why and the benchmark goes on. GNU parallel missing makes its row
//! `n/a`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail, ensure};

use crate::measure::{MAX_RUNS, MIN_SECONDS, Measurement, RUNS, fastest_of_runs};
use crate::report::{Table, ratio};
use crate::{cli, guest, large_module};

/// Workers of the map, and jobs of GNU parallel.
const WORKERS: usize = 2;
/// The script's arguments: `n` of `5000 + 500 i` for `i` in `0..24`.
const ITEMS: u64 = 24;
/// CPU-bound, deterministic and one line (GNU parallel passes it through a shell): the primes
/// below `n` by trial division, about a tenth of a second each in CPython for WASI here.
const SCRIPT: &str = "import sys; n = int(sys.argv[1]); \
    primes = [p for p in range(2, n) if all(p % d for d in range(2, int(p ** 0.5) + 1))]; \
    print(n, len(primes), sum(primes), primes[-1])";

const MAP: &str = "(a) hecaton map python.wasm --lines --arg -j2";
const RUNS_SERIAL: &str = "(b) hecaton run python.wasm × 24, one after another";
const PARALLEL: &str = "(c) parallel -j2 hecaton run python.wasm ::: 24 args";

/// Prints section 9, or the reason it is missing.
///
/// # Errors
/// A row's outputs differ from the host `python3`'s (or the host `python3` cannot run the
/// script): the benchmark fails loudly rather than print a figure of wrong work.
pub fn print() -> Result<()> {
    let title = "9. Real programs: CPython for WASI running a script over 24 arguments, whole \
                 processes";
    let module = match large_module::locate(None) {
        Ok(module) => module,
        Err(error) => {
            println!("\n== {title}: skipped, {error:#} ==");
            return Ok(());
        }
    };
    let hecaton = match cli::build(guest::workspace_root()) {
        Ok(hecaton) => hecaton,
        Err(error) => {
            println!("\n== {title}: skipped, {error:#} ==");
            return Ok(());
        }
    };
    let args: Vec<String> = (0..ITEMS).map(|i| (5_000 + 500 * i).to_string()).collect();
    let expected = host_python(&args)?;
    let cache = CacheDir::new()?;
    let runner = Runner {
        hecaton: &hecaton,
        module: &module,
        cache: &cache.0,
    };
    runner.warm_up()?;

    let mut table = Table::new(title, RUNS_SERIAL);
    table.add(MAP, measured(WORKERS, &expected, || runner.map(&args))?);
    table.add(
        RUNS_SERIAL,
        measured(1, &expected, || runner.serial(&args))?,
    );
    match parallel_version() {
        Some(_) => table.add(
            PARALLEL,
            measured(WORKERS, &expected, || runner.parallel(&args))?,
        ),
        None => table.add_unavailable(
            PARALLEL,
            "GNU parallel not found (Debian: apt-get install parallel)",
        ),
    }
    notes(&mut table, &module);
    table.print();
    Ok(())
}

/// The fastest of [`fastest_of_runs`]'s runs of one row, every run's outputs checked.
fn measured(
    workers: usize,
    expected: &[String],
    mut run: impl FnMut() -> Result<Vec<String>>,
) -> Result<Measurement> {
    let (_, seconds) = fastest_of_runs(|| check(expected, &run()?))?;
    Ok(Measurement {
        items: ITEMS,
        workers,
        seconds,
    })
}

/// Fails unless `outputs` are `expected`, one per argument, in order.
fn check(expected: &[String], outputs: &[String]) -> Result<()> {
    ensure!(
        outputs.len() == expected.len(),
        "{} outputs for {} arguments",
        outputs.len(),
        expected.len()
    );
    for (i, (output, expected)) in outputs.iter().zip(expected).enumerate() {
        ensure!(
            output == expected,
            "argument {i}: CPython for WASI printed {output:?}, the host python3 {expected:?}"
        );
    }
    Ok(())
}

/// The oracle: the host's `python3` running the script on each argument.
fn host_python(args: &[String]) -> Result<Vec<String>> {
    args.iter()
        .map(|arg| {
            let output = Command::new("python3")
                .args(["-c", SCRIPT, arg])
                .stdin(Stdio::null())
                .output()
                .context("cannot run the host's python3, the oracle of section 9")?;
            ensure!(
                output.status.success(),
                "the host's python3 failed on {arg} ({})",
                output.status
            );
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        })
        .collect()
}

/// The three contenders' commands, all on the same module and compile cache.
struct Runner<'a> {
    hecaton: &'a Path,
    module: &'a Path,
    cache: &'a Path,
}

impl Runner<'_> {
    /// `program ARGS`, reading nothing, with the section's compile cache.
    fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env("HECATON_CACHE_DIR", self.cache)
            .env("HECATON_WORKERS", WORKERS.to_string())
            .stdin(Stdio::null());
        command
    }

    /// One untimed run that compiles the module into the cache; fails unless it stored it.
    fn warm_up(&self) -> Result<()> {
        let output = self
            .command(self.hecaton)
            .arg("run")
            .arg(self.module)
            .args(["--", "-c", "pass"])
            .output()
            .context("cannot run the hecaton CLI")?;
        succeeded("hecaton run (warming the cache)", &output)?;
        let stored = std::fs::read_dir(self.cache)?
            .filter_map(Result::ok)
            .any(|entry| entry.path().extension().is_some_and(|ext| ext == "cwasm"));
        ensure!(
            stored,
            "the warm-up run left no compiled module in {}",
            self.cache.display()
        );
        Ok(())
    }

    /// (a): one map; each record's stdout, in input order.
    fn map(&self, args: &[String]) -> Result<Vec<String>> {
        let mut child = self
            .command(self.hecaton)
            .arg("map")
            .arg(self.module)
            .args(["--lines", "--arg", "-j", &WORKERS.to_string()])
            .args(["--argv", "-c", "--argv", SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run the hecaton CLI")?;
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().context("no stdin")?;
            stdin.write_all((args.join("\n") + "\n").as_bytes())?;
        }
        let output = child.wait_with_output()?;
        succeeded("hecaton map", &output)?;
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| {
                let record: serde_json::Value = serde_json::from_str(line)
                    .with_context(|| format!("hecaton map printed {line:?}, not JSON"))?;
                ensure!(record["exit_code"] == 0, "a task failed: {record}");
                record["stdout"]
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("a record without a text stdout: {record}"))
            })
            .collect()
    }

    /// (b): one `hecaton run` after another.
    fn serial(&self, args: &[String]) -> Result<Vec<String>> {
        args.iter()
            .map(|arg| {
                let output = self
                    .command(self.hecaton)
                    .arg("run")
                    .arg(self.module)
                    .args(["--", "-c", SCRIPT, arg])
                    .output()
                    .context("cannot run the hecaton CLI")?;
                succeeded("hecaton run", &output)?;
                Ok(String::from_utf8_lossy(&output.stdout).into_owned())
            })
            .collect()
    }

    /// (c): GNU parallel, `-k` keeping its jobs' outputs in argument order, `-q` quoting the
    /// script for the shell it starts each job in. The script prints one line per argument.
    fn parallel(&self, args: &[String]) -> Result<Vec<String>> {
        let output = self
            .command("parallel")
            .args(["--will-cite", "-j", &WORKERS.to_string(), "-k", "-q"])
            .arg(self.hecaton)
            .arg("run")
            .arg(self.module)
            .args(["--", "-c", SCRIPT, "{}", ":::"])
            .args(args)
            .output()
            .context("cannot run GNU parallel")?;
        succeeded("parallel", &output)?;
        Ok(String::from_utf8_lossy(&output.stdout)
            .split_inclusive('\n')
            .map(str::to_owned)
            .collect())
    }
}

/// Fails with the first line of a command's stderr unless it exited 0.
fn succeeded(what: &str, output: &Output) -> Result<()> {
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let why = stderr.lines().find(|line| !line.trim().is_empty());
        bail!(
            "{what} failed ({}): {}",
            output.status,
            why.unwrap_or("no message")
        );
    }
    Ok(())
}

/// GNU parallel's version line, or `None` when it is not installed.
fn parallel_version() -> Option<String> {
    let output = Command::new("parallel")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text.lines().next()?;
    (output.status.success() && first.starts_with("GNU parallel")).then(|| first.to_owned())
}

fn notes(table: &mut Table, module: &Path) {
    let of = |a, b| ratio(table.get(a), table.get(b));
    let size = std::fs::metadata(module).map_or(0, |meta| meta.len());
    let mut notes = vec![
        format!(
            "(a) ÷ (b): {} faster; (a) ÷ (c): {} faster — one process deserializes the module \
             once and starts each input in a fresh instance, where every `hecaton run` is a \
             process that deserializes it again",
            of(MAP, RUNS_SERIAL),
            of(MAP, PARALLEL)
        ),
        format!(
            "module: {} ({:.1} MB); script: `{SCRIPT}`, n = 5000, 5500, … 16500",
            module.display(),
            size as f64 / 1e6
        ),
        format!(
            "every run's 24 outputs equal the host python3's for the same script and argument; \
             the compile cache (HECATON_CACHE_DIR, a fresh folder) was filled by one untimed run \
             first, so no row compiles; seconds: the fastest of {RUNS}+ runs of the whole row \
             (more until they add up to {MIN_SECONDS} s, at most {MAX_RUNS})"
        ),
    ];
    if let Some(version) = parallel_version() {
        notes.push(format!("(c) ran {version}"));
    }
    table.notes.extend(notes);
}

/// The section's compile cache, a fresh folder under the system's temporary folder, removed when
/// dropped.
struct CacheDir(PathBuf);

impl CacheDir {
    fn new() -> Result<Self> {
        let name = format!("hecaton-bench-real-programs-{}", std::process::id());
        let dir = std::env::temp_dir().join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot make {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for CacheDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
