//! Fuzz target: the module a guest author hands over. `wasm-smith` modules (wasmtime's own
//! generator: shaped as task modules, with the ABI's exports and imports and random bodies; all
//! numeric exports; unconstrained), mutants of real guests and fixtures, and plain garbage are
//! loaded with [`Module::from_bytes`], and every task of those that load runs under tight limits.
//!
//! The properties: loading gives a module or a load [`Error`] of the kinds a module's bytes can
//! cause, never a panic; every task ends, within its timeout and some slack, with an output or a
//! [`TaskError`] of a documented kind, never `host` (a host panic).
//!
//! Each round generates [`MODULES`] modules from its seed (see `fuzzing` for the budget). A
//! finding names the seed and the module, written under `CARGO_TARGET_TMPDIR/fuzz-modules`.

mod generate;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hecaton::{
    CommandInput, Engine, Error, Limits, Module, NumType, Pool, Process, TaskError, TaskKind,
};
use hecaton_tests::fixture;

use crate::fuzzing::{Budget, GUEST_CAUSED_KINDS, Rng};
use generate::{Seeds, generate};

/// Modules per round.
const MODULES: usize = 60;
/// Rounds by default: 300 modules.
const ROUNDS: u64 = 5;
/// The tasks' timeout, and how much later than it a task may end.
const TIMEOUT: Duration = Duration::from_millis(100);
const SLACK: Duration = Duration::from_secs(5);
/// At most this many tasks of a module run, each on at most two inputs.
const TASKS_PER_MODULE: usize = 6;
/// One module in this many is shown by `hecaton inspect`.
const INSPECTED: usize = 3;

#[test]
fn fuzz_modules_load_typed_and_run_within_limits() {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    let pools = POOLS.get_or_init(Pools::new);
    let mut tally = Tally::default();
    let fuzzed = fuzz("load_typed_and_run_within_limits", 1, |case| {
        check(pools, case, &mut tally)
    });
    println!(
        "fuzz_modules: {} modules: {} loaded, {} refused ({}); {} tasks run ({})",
        tally.modules,
        tally.loaded,
        tally.modules - tally.loaded,
        summary(&tally.refusals),
        tally.tasks,
        summary(&tally.outcomes),
    );
    fuzzed.unwrap_or_else(|report| panic!("{report}"));
}

#[test]
fn fuzz_modules_cli_inspect_prints_no_raw_control_characters() {
    fuzz(
        "cli_inspect_prints_no_raw_control_characters",
        INSPECTED,
        inspect,
    )
    .unwrap_or_else(|report| panic!("{report}"));
}

/// Runs `check` on every `every`-th module of the budget's rounds; `Err` reports every broken
/// property, with its first example saved.
fn fuzz(
    test: &str,
    every: usize,
    mut check: impl FnMut(&Case) -> Vec<(String, String)>,
) -> Result<(), String> {
    let seeds = Seeds::new();
    let mut budget = Budget::from_env(ROUNDS);
    let mut findings: BTreeMap<String, String> = BTreeMap::new();
    let mut checked = 0;
    while let Some(seed) = budget.next_seed() {
        let mut rng = Rng::new(seed);
        for m in 0..MODULES {
            let (shape, bytes) = generate(&mut rng, &seeds);
            if m % every != 0 {
                continue;
            }
            let case = Case {
                shape,
                bytes: Arc::new(bytes),
                seed,
                m,
                rng: rng.clone(),
            };
            checked += 1;
            for (property, detail) in check(&case) {
                findings.entry(property).or_insert_with(|| {
                    let path = case.save();
                    format!(
                        "seed {seed}, module {m} ({shape}), {}: {detail}",
                        path.display()
                    )
                });
            }
        }
    }
    println!(
        "fuzz_modules::{test}: {}, {checked} modules, {} broken properties",
        budget.summary(),
        findings.len()
    );
    if findings.is_empty() {
        return Ok(());
    }
    let report: String = findings
        .iter()
        .map(|(property, example)| format!("\n- {property}\n    {example}"))
        .collect();
    Err(format!(
        "fuzz_modules::{test} broke {} properties:{report}",
        findings.len()
    ))
}

/// `hecaton inspect` of the module: a documented exit code, no panic, and the module's names
/// (imports, exports, WAT source in messages) never raw control characters on the terminal.
fn inspect(case: &Case) -> Vec<(String, String)> {
    let path =
        std::env::temp_dir().join(format!("hecaton-fuzz-inspect-{}.wasm", std::process::id()));
    std::fs::write(&path, &*case.bytes).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hecaton"))
        .arg("inspect")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let mut broken = Vec::new();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !matches!(output.status.code(), Some(0 | 2)) || stderr.contains("panicked") {
        broken.push((
            "hecaton inspect: exit code not 0 or 2, or a panic".to_owned(),
            format!("{:?}: {stderr}", output.status.code()),
        ));
    }
    for (stream, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        if let Some(&byte) = text
            .iter()
            .find(|&&b| (b < 0x20 && b != b'\n') || b == 0x7f)
        {
            broken.push((
                format!("hecaton inspect: a raw control character on {stream}"),
                format!(
                    "0x{byte:02x} in {}",
                    crate::fuzzing::escaped(&text[..text.len().min(300)])
                ),
            ));
        }
    }
    broken
}

fn summary(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(what, count)| format!("{what} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What ran, for the log.
#[derive(Debug, Default)]
struct Tally {
    modules: usize,
    loaded: usize,
    tasks: usize,
    refusals: BTreeMap<String, usize>,
    outcomes: BTreeMap<String, usize>,
}

/// One generated module.
struct Case {
    shape: &'static str,
    bytes: Arc<Vec<u8>>,
    seed: u64,
    m: usize,
    /// The generator's state after the module: picks the tasks' inputs.
    rng: Rng,
}

impl Case {
    /// Writes the module where a reader can take it for a regression test.
    fn save(&self) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-modules");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!(
            "seed{}-module{}-{}.wasm",
            self.seed, self.m, self.shape
        ));
        std::fs::write(&path, &*self.bytes).unwrap();
        path
    }
}

/// The pools the tasks run on: one for the shared engine, one for an engine with fuel.
struct Pools {
    plain: Pool,
    fueled: Pool,
    fuel_engine: Engine,
}

impl Pools {
    fn new() -> Self {
        let limits = Limits::default()
            .timeout(Some(TIMEOUT))
            .max_memory(16 << 20)
            .max_table_elements(10_000)
            .max_output(64 << 10);
        let pool = |limits: Limits| Pool::builder().workers(2).limits(limits).build().unwrap();
        Self {
            plain: pool(limits.clone()),
            fueled: pool(limits.fuel(Some(1_000_000))),
            fuel_engine: Engine::builder().fuel(true).build().unwrap(),
        }
    }
}

/// Loads the case and runs its tasks on a thread of its own, watched: a hang is a finding
/// too. Returns the broken properties.
fn check(pools: &'static Pools, case: &Case, tally: &mut Tally) -> Vec<(String, String)> {
    tally.modules += 1;
    let fuel = case.rng.clone().chance(20);
    let engine = if fuel {
        pools.fuel_engine.clone()
    } else {
        Engine::shared().unwrap()
    };
    let (send, receive) = mpsc::channel();
    let bytes = Arc::clone(&case.bytes);
    let mut rng = case.rng.clone();
    std::thread::spawn(move || {
        let module = match catch_unwind(AssertUnwindSafe(|| {
            Module::from_bytes(&engine, "fuzz.wasm", &bytes)
        })) {
            Ok(Ok(module)) => module,
            Ok(Err(error)) => return drop(send.send(Event::Loaded(Ok(Err(error))))),
            Err(panic) => return drop(send.send(Event::Loaded(Err(panic_message(panic))))),
        };
        let _ = send.send(Event::Loaded(Ok(Ok(()))));
        let pool = if fuel { &pools.fueled } else { &pools.plain };
        let tasks: Vec<(String, TaskKind)> = module
            .tasks()
            .take(TASKS_PER_MODULE)
            .map(|(name, kind)| (name.to_owned(), kind.clone()))
            .collect();
        for (name, kind) in tasks {
            let started = Instant::now();
            let ran = catch_unwind(AssertUnwindSafe(|| {
                run_task(pool, &module, &name, &kind, &mut rng)
            }));
            let _ = send.send(Event::Ran {
                task: name,
                outcomes: ran.map_err(panic_message),
                wall: started.elapsed(),
            });
        }
        let _ = send.send(Event::Done);
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut broken = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = match receive.recv_timeout(left) {
            Ok(event) => event,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                broken.push(("a module's load and tasks hang".into(), "over 60 s".into()));
                return broken;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return broken,
        };
        match event {
            Event::Loaded(Err(panic)) => {
                broken.push(("loading panics".into(), panic));
            }
            Event::Loaded(Ok(Err(error))) => {
                let kind = load_error_kind(&error);
                *tally.refusals.entry(kind.to_owned()).or_default() += 1;
                if kind == "unexpected" {
                    broken.push((
                        format!("loading fails with an unexpected error: {error:?}"),
                        String::new(),
                    ));
                }
            }
            Event::Loaded(Ok(Ok(()))) => tally.loaded += 1,
            Event::Ran {
                task,
                outcomes: Err(panic),
                ..
            } => {
                broken.push((
                    "running a task panics".into(),
                    format!("task `{task}`: {panic}"),
                ));
            }
            Event::Ran {
                task,
                outcomes: Ok(outcomes),
                wall,
            } => {
                let inputs = outcomes.len() as u32;
                if wall > (TIMEOUT + SLACK) * inputs.max(1) {
                    broken.push((
                        "a task's job takes longer than its timeouts".into(),
                        format!("task `{task}`: {wall:?} for {inputs} inputs"),
                    ));
                }
                for (input, result, duration) in outcomes {
                    tally.tasks += 1;
                    let kind = match &result {
                        Ok(()) => "ok",
                        Err(error) => error.kind(),
                    };
                    *tally.outcomes.entry(kind.to_owned()).or_default() += 1;
                    if let Err(error) = &result
                        && !GUEST_CAUSED_KINDS.contains(&error.kind())
                    {
                        broken.push((
                            format!(
                                "a task fails with kind `{}`: {}",
                                error.kind(),
                                shape_of(error)
                            ),
                            format!("task `{task}` on {input}: {error:?}"),
                        ));
                    }
                    if duration > TIMEOUT + SLACK {
                        broken.push((
                            "a task runs past its timeout".into(),
                            format!("task `{task}` on {input}: {duration:?}"),
                        ));
                    }
                }
            }
            Event::Done => return broken,
        }
    }
}

/// An error's cause (its message's last line, after the backtrace frame it may start with) with
/// its numbers blanked: the same failure of different modules and inputs.
fn shape_of(error: &TaskError) -> String {
    let message = error.to_string();
    let last_line = message.lines().last().unwrap_or_default();
    let cause = last_line.rsplit(">: ").next().unwrap_or_default();
    let cause = cause.trim_start_matches("host failure while running the task: ");
    cause
        .split(|c: char| c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("N")
}

/// One input of a task (as text), how the task ended on it, and how long it took.
type Ran = (String, Result<(), TaskError>, Duration);

/// What the watched thread reports.
enum Event {
    Loaded(Result<Result<(), Error>, String>),
    Ran {
        task: String,
        outcomes: Result<Vec<Ran>, String>,
        wall: Duration,
    },
    Done,
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

/// The load errors a module's bytes can cause; anything else (an engine or thread failure) is
/// "unexpected".
fn load_error_kind(error: &Error) -> &'static str {
    match error {
        Error::NotWasm { .. } => "not_wasm",
        Error::Wat { .. } => "wat",
        Error::Precompiled { .. } => "precompiled",
        Error::Component { .. } => "component",
        Error::Compile { .. } => "compile",
        Error::UnknownImport { .. } | Error::UnknownComponentImport { .. } => "unknown_import",
        Error::Link { .. } => "link",
        Error::MissingExport { .. } => "missing_export",
        Error::WrongSignature { .. } => "wrong_signature",
        Error::Unsupported { .. } => "unsupported",
        Error::SegmentOutOfBounds { .. } => "segment_out_of_bounds",
        // Two spellings of one task.
        Error::Config(_) => "config",
        _ => "unexpected",
    }
}

/// The job, or `None` when it is refused because the module starts above the limits (a
/// memory or table whose initial size alone is over them: a documented refusal).
fn startable<J>(job: Result<J, Error>) -> Option<J> {
    match job {
        Ok(job) => Some(job),
        Err(Error::Config(message)) if message.contains("no task of it could start") => None,
        Err(other) => panic!("{other:?}"),
    }
}

/// Runs task `name` on a few inputs its kind takes, and a few it does not.
fn run_task(pool: &Pool, module: &Module, name: &str, kind: &TaskKind, rng: &mut Rng) -> Vec<Ran> {
    let (job, inputs) = match kind {
        TaskKind::Command => {
            let Some(job) =
                startable(pool.command_job(module, vec!["fuzz".into()], CommandInput::Stdin))
            else {
                return Vec::new();
            };
            let len = rng.below(64);
            let inputs = vec![Vec::new(), rng.bytes(len)];
            (job, inputs)
        }
        TaskKind::Function => {
            let inputs = (0..2)
                .map(|_| rng.pick(FUNCTION_INPUTS).as_bytes().to_vec())
                .collect();
            let Some(job) = startable(pool.job(module, name)) else {
                return Vec::new();
            };
            (job, inputs)
        }
        TaskKind::Numeric { params, .. } => {
            let inputs = vec![numbers(params, rng, false), numbers(params, rng, true)];
            let Some(job) = startable(pool.job(module, name)) else {
                return Vec::new();
            };
            (job, inputs)
        }
        other => panic!("a task kind the fuzz does not know: {other:?}"),
    };
    let shown: Vec<String> = inputs
        .iter()
        .map(|input| String::from_utf8_lossy(input).into_owned())
        .collect();
    let mut outcomes: Vec<_> = job
        .imap_raw(inputs.into_iter().map(|input| vec![Ok(input)]), true)
        .expect("the input thread starts")
        .map(|outcome| {
            (
                shown[outcome.index].clone(),
                outcome.result.map(drop),
                outcome.duration,
            )
        })
        .collect();
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    outcomes
}

const FUNCTION_INPUTS: &[&str] = &[
    "null",
    "0",
    "-1",
    "\"hecaton\"",
    "[1,2,3]",
    "{\"a\":[{}]}",
    "1e308",
    "\"\\u0000\\ud83d\\ude00\"",
];

/// An input for numeric parameters `params`: zeros, or values at the edges of each type.
fn numbers(params: &[NumType], rng: &mut Rng, edges: bool) -> Vec<u8> {
    let values: Vec<String> = params
        .iter()
        .map(|ty| {
            if !edges {
                return "0".to_owned();
            }
            let choices: &[&str] = match ty {
                NumType::I32 => &["-1", "2147483647", "-2147483648", "4294967295"],
                NumType::I64 => &["-1", "9223372036854775807", "-9223372036854775808"],
                NumType::F32 | NumType::F64 => &["-0.0", "1e308", "-1e-308", "3.4028235e38"],
            };
            rng.pick(choices).to_owned()
        })
        .collect();
    match values.as_slice() {
        [one] if rng.chance(50) => one.clone().into_bytes(),
        _ => format!("[{}]", values.join(",")).into_bytes(),
    }
}

// Findings: each a regression test named after what the fuzz found, on a minimized module.

/// The module loads and its task fails as the guest's own failure, or the module is refused.
fn assert_guest_caused<O: serde::de::DeserializeOwned + std::fmt::Debug>(
    fixture_name: &str,
    task: &str,
    input: &(impl serde::Serialize + ?Sized),
) {
    let Ok(module) = Module::from_file(fixture(fixture_name)) else {
        return;
    };
    let outcome = Process::spawn(&module, task, input).unwrap().join::<O>();
    assert!(
        outcome
            .as_ref()
            .is_err_and(|error| GUEST_CAUSED_KINDS.contains(&error.kind())),
        "{outcome:?}"
    );
}

#[test]
fn fuzz_found_wasi_call_without_a_memory_fails_as_the_guests_own() {
    assert_guest_caused::<i32>("wasi-call-without-memory.wat", "write", &());
}

#[test]
fn fuzz_found_wasi_pointer_unaligned_fails_as_the_guests_own() {
    assert_guest_caused::<i32>("wasi-pointer-unaligned.wat", "write", &());
}

#[test]
fn fuzz_found_proc_exit_out_of_range_fails_as_the_guests_own() {
    for code in [126, 255, -1] {
        assert_guest_caused::<()>("proc-exit-out-of-range.wat", "exit", &code);
    }
}

#[test]
fn fuzz_found_command_exit_out_of_range_is_its_exit_code_or_the_guests_failure() {
    let module = Module::from_file(fixture("proc-exit-out-of-range.wat")).unwrap();
    let outcome = Process::builder(&module)
        .spawn_command(Vec::new(), hecaton::Stdio::Capture { stdin: Vec::new() })
        .unwrap()
        .join::<hecaton::CommandOutput>();
    match outcome {
        Ok(output) => assert_eq!(output.exit_code, 126),
        Err(error) => assert!(GUEST_CAUSED_KINDS.contains(&error.kind()), "{error:?}"),
    }
}

/// `hecaton inspect FILE`: its exit code and both streams.
fn hecaton_inspect(path: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hecaton"))
        .arg("inspect")
        .arg(path)
        .output()
        .unwrap()
}

/// Asserts that `bytes` holds no raw control character but `\n`.
fn assert_no_raw_controls(stream: &str, bytes: &[u8]) {
    assert!(
        !bytes.iter().any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f),
        "{stream}: {}",
        crate::fuzzing::escaped(bytes)
    );
}

#[test]
fn fuzz_found_escapes_in_export_names_reach_inspect_output_escaped() {
    let output = hecaton_inspect(&fixture("names-with-escapes.wat"));
    assert_eq!(output.status.code(), Some(0));
    assert_no_raw_controls("stdout", &output.stdout);
}

#[test]
fn fuzz_found_escapes_in_import_names_reach_load_errors_escaped() {
    let output = hecaton_inspect(&fixture("import-name-with-escapes.wat"));
    assert_eq!(output.status.code(), Some(2));
    assert_no_raw_controls("stderr", &output.stderr);
}

#[test]
fn fuzz_found_escapes_in_wat_syntax_errors_reach_load_errors_escaped() {
    let path = std::env::temp_dir().join(format!(
        "hecaton-wat-error-with-escapes-{}.wat",
        std::process::id()
    ));
    std::fs::write(&path, b"(module (func $\x1b[2J\x07 (unknown)))\n").unwrap();
    let output = hecaton_inspect(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(output.status.code(), Some(2));
    assert_no_raw_controls("stderr", &output.stderr);
}
