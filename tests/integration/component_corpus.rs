//! Real components from three toolchains, built by `tests/build.rs`: Rust (`wasm32-wasip2` +
//! wit-bindgen: `tests/guests/wit-shapes`, every WIT shape and a function per limit, and
//! `tests/guests/wit-command`, a `wasi:cli/run` command), componentize-py
//! (`tests/guests/python-component`) and componentize-js (`tests/guests/js-component`); in the
//! library, the CLI, the compile cache.

use std::sync::OnceLock;
use std::time::Duration;

use hecaton::{
    Access, Capabilities, CommandOutput, Engine, Limits, Module, ModuleKind, Pool, Process, Stdio,
    TaskError, TaskKind,
};
use hecaton_tests::guests::{JS_COMPONENT, PY_COMPONENT, WIT_COMMAND, WIT_SHAPES};
use serde_json::{Value, json};

use crate::components::run_limited;
use crate::{load, run};

fn shapes() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| load(WIT_SHAPES))
}

/// The componentize-py component: compiling its 18 MB takes seconds, so once per test binary.
fn python() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| load(PY_COMPONENT))
}

fn javascript() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| load(JS_COMPONENT))
}

fn call(module: &Module, task: &str, input: Value) -> Result<Value, TaskError> {
    run::<Value>(module, task, &input)
}

#[test]
fn every_wit_shape_crosses_as_json_both_ways() {
    let m = shapes();
    for (task, input, output) in [
        ("square", json!(-9), json!(81)),
        ("area", json!({"rect": {"x": 2.0, "y": -3.5}}), json!(7.0)),
        ("area", json!("empty"), json!(0.0)),
        ("area", json!({"empty": null}), json!(0.0)),
        (
            "mirror",
            json!({"x": 1, "y": 2.5}),
            json!({"x": 2.5, "y": 1.0}),
        ),
        ("sum", json!([1, 2, 3, -10]), json!(-4)),
        ("pair", json!([255, "q"]), json!([0, "Q"])),
        ("pair", json!({"a": 1, "c": "é"}), json!([2, "é"])),
        ("first-word", json!("  hello world"), json!("hello")),
        ("first-word", json!("   "), json!(null)),
        ("next-color", json!("blue"), json!("red")),
        ("toggle-exec", json!(["read"]), json!(["read", "exec"])),
        (
            "toggle-exec",
            json!(["exec", "write", "exec"]),
            json!(["write"]),
        ),
        ("add8", json!([250, 10]), json!(4)),
        ("lookup", json!("none"), json!(null)),
        ("lookup", json!("some-none"), json!({"some": null})),
        ("lookup", json!("four"), json!({"some": 4})),
        ("parse", json!("42"), json!(42)),
        ("hecaton:shapes/shapes#parse", json!("7"), json!(7)),
        ("big", json!(3), json!([7, 7, 7])),
    ] {
        assert_eq!(call(m, task, input.clone()), Ok(output), "{task}({input})");
    }
    let circle = call(m, "area", json!({"circle": 1.5})).unwrap();
    assert!((circle.as_f64().unwrap() - std::f64::consts::PI * 2.25).abs() < 1e-12);
    match call(m, "parse", json!("x1")) {
        Err(TaskError::Guest { message }) => assert_eq!(message, "not a number: x1"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_value_that_does_not_fit_the_wit_type_is_bad_input_naming_where() {
    let m = shapes();
    for (task, input, says) in [
        (
            "area",
            json!({"square": 1}),
            "no case `square` (cases: circle, rect, empty)",
        ),
        ("area", json!("circle"), "case `circle` needs a value"),
        (
            "area",
            json!({"rect": {"x": 1}}),
            "parameter `s`.rect: field `y` is missing",
        ),
        (
            "area",
            json!({"rect": {"x": 1, "y": "2"}}),
            "parameter `s`.rect.y: expected a number",
        ),
        ("mirror", json!({"x": 1, "y": 2, "z": 3}), "no field `z`"),
        (
            "next-color",
            json!("purple"),
            "no case `purple` (cases: red, green, blue)",
        ),
        ("toggle-exec", json!(["read", "fly"]), "no flag `fly`"),
        (
            "pair",
            json!([1, "ab"]),
            "parameter `c`: expected a one-character string",
        ),
        (
            "sum",
            json!([1, "2"]),
            "parameter `xs`[1]: expected an integer (s64)",
        ),
        (
            "sum",
            json!([1, 9_223_372_036_854_775_808_u64]),
            "out of range for s64",
        ),
        ("square", json!("7"), "expected an integer (s64)"),
        ("lookup", json!(3), "expected a string"),
        ("spin", json!(5), "takes no arguments"),
    ] {
        match call(m, task, input.clone()) {
            Err(TaskError::BadInput { message }) => {
                assert!(message.contains(says), "{task}({input}): {message}");
            }
            other => panic!("{task}({input}): {other:?}"),
        }
    }
}

#[test]
fn a_map_of_a_rust_component_matches_an_independent_oracle() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let lists: Vec<Vec<i64>> = (0..40_i64)
        .map(|n| (0..n).map(|k| k * k - 7 * n).collect())
        .collect();
    let sums: Vec<i64> = pool.map(shapes(), "sum", &lists).unwrap();
    let expected: Vec<i64> = lists.iter().map(|list| list.iter().sum()).collect();
    assert_eq!(sums, expected);
}

#[test]
fn every_limit_holds_for_a_component() {
    let m = shapes();
    let limited = |task: &str, input: Value, limits: Limits| run_limited(m, task, &input, limits);
    let timeout = Limits::default().timeout(Some(Duration::from_millis(300)));
    assert!(matches!(
        limited("spin", json!(null), timeout.clone()),
        Err(TaskError::Timeout(_))
    ));
    // A WASI 0.2 sleep is interrupted by the timeout, not waited out.
    let started = std::time::Instant::now();
    assert!(matches!(
        limited("sleep-ms", json!(60_000), timeout.clone()),
        Err(TaskError::Timeout(_))
    ));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(limited("sleep-ms", json!(10), timeout), Ok(json!(null)));
    let memory = Limits::default().max_memory(32 << 20);
    assert_eq!(limited("grow", json!(8), memory.clone()), Ok(json!(8)));
    assert!(matches!(
        limited("grow", json!(64), memory),
        Err(TaskError::MemoryLimit { .. })
    ));
    assert!(matches!(
        limited("recurse", json!(10_000_000), Limits::default()),
        Err(TaskError::StackOverflow)
    ));
    assert_eq!(
        limited("recurse", json!(1000), Limits::default()),
        Ok(json!(1000))
    );
    let output = Limits::default().max_output(10_000);
    assert_eq!(limited("shout", json!(10), output.clone()), Ok(json!(null)));
    assert!(matches!(
        limited("shout", json!(100_000), output.clone()),
        Err(TaskError::OutputLimit { limit: 10_000 })
    ));
    // A result larger than the output limit is refused, whether or not it fits the host's
    // copy budget.
    assert!(matches!(
        limited("big", json!(100_000), output.clone()),
        Err(TaskError::OutputLimit { .. })
    ));
    assert!(matches!(
        limited(
            "big",
            json!(60_000_000),
            Limits::default().max_memory(256 << 20).max_output(1000)
        ),
        Err(TaskError::OutputLimit { .. })
    ));
    let fuel_engine = Engine::builder().fuel(true).build().unwrap();
    let fueled = Module::from_file_in(&fuel_engine, WIT_SHAPES).unwrap();
    let fuel = Limits::default().fuel(Some(1_000_000));
    assert!(matches!(
        run_limited(&fueled, "spin", &json!(null), fuel.clone()),
        Err(TaskError::OutOfFuel)
    ));
    assert_eq!(
        run_limited(&fueled, "square", &json!(3), fuel),
        Ok(json!(9))
    );
}

#[test]
fn a_component_sees_only_what_was_granted() {
    let m = shapes();
    let with = |capabilities: Capabilities, task: &str, input: Value| {
        Process::builder(m)
            .capabilities(capabilities)
            .spawn(task, &input)
            .unwrap()
            .join::<Value>()
    };
    let none = Capabilities::new;
    // Nothing of the host: no file, no variable, no network.
    assert!(
        with(none(), "read-file", json!("/etc/hostname"))
            .is_err_and(|e| matches!(e, TaskError::Guest { .. }))
    );
    assert_eq!(with(none(), "env", json!("HOME")), Ok(json!(null)));
    match with(none(), "connect", json!("127.0.0.1:9")) {
        Err(TaskError::Guest { .. }) => {}
        other => panic!("a connection was not refused: {other:?}"),
    }
    let dir = std::env::temp_dir().join(format!("hecaton-component-grants-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("in.txt"), "granted").unwrap();
    let read_only = none().dir(&dir, "/data", Access::ReadOnly).unwrap();
    assert_eq!(
        with(read_only.clone(), "read-file", json!("/data/in.txt")),
        Ok(json!("granted"))
    );
    assert!(matches!(
        with(read_only, "write-file", json!(["/data/out.txt", "x"])),
        Err(TaskError::Guest { .. })
    ));
    let read_write = none().dir(&dir, "/data", Access::ReadWrite).unwrap();
    assert_eq!(
        with(
            read_write,
            "write-file",
            json!(["/data/out.txt", "written"])
        ),
        Ok(json!(null))
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out.txt")).unwrap(),
        "written"
    );
    assert_eq!(
        with(none().env("GREETING", "hi"), "env", json!("GREETING")),
        Ok(json!("hi"))
    );
    // Clocks and random are the host's.
    let now = with(none(), "now", json!(null)).unwrap().as_u64().unwrap();
    let host_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(host_now) < 60, "{now} vs {host_now}");
    let a = with(none(), "random", json!(null)).unwrap();
    let b = with(none(), "random", json!(null)).unwrap();
    assert_ne!(a, b, "each task has its own random seed");
}

fn command(args: &[&str], stdin: &[u8], limits: Limits) -> Result<CommandOutput, TaskError> {
    Process::builder(&load(WIT_COMMAND))
        .limits(limits)
        .spawn_command(
            args.iter().map(|&arg| arg.to_owned()).collect(),
            Stdio::Capture {
                stdin: stdin.to_vec(),
            },
        )
        .unwrap()
        .join()
}

#[test]
fn a_command_component_gets_argv_and_stdin_and_gives_streams_and_exit_code() {
    let module = load(WIT_COMMAND);
    assert!(matches!(module.task_kind("_start"), Ok(TaskKind::Command)));
    let echoed = command(&["echo", "a", "b c"], b"", Limits::default()).unwrap();
    assert_eq!((echoed.exit_code, &echoed.stdout[..]), (0, &b"a b c\n"[..]));
    let cat = command(&["cat"], b"line 1\nline 2\n", Limits::default()).unwrap();
    assert_eq!(cat.stdout, b"line 1\nline 2\n");
    let stderr = command(&["stderr", "to\x1b[31m stderr"], b"", Limits::default()).unwrap();
    assert_eq!(stderr.stderr, b"to\x1b[31m stderr");
    // WASI 0.2 has only ok and err for a status: Rust's `exit(3)` arrives as 1.
    let exit = command(&["exit", "3"], b"", Limits::default()).unwrap();
    assert_eq!((exit.exit_code, &exit.stdout[..]), (1, &b"exiting\n"[..]));
    assert_eq!(
        command(&["exit", "0"], b"", Limits::default())
            .unwrap()
            .exit_code,
        0
    );
    assert!(matches!(
        command(&["trap"], b"", Limits::default()),
        Err(TaskError::Trap { .. })
    ));
    let timeout = Limits::default().timeout(Some(Duration::from_millis(300)));
    assert!(matches!(
        command(&["sleep", "60000"], b"", timeout),
        Err(TaskError::Timeout(_))
    ));
    let output = Limits::default().max_output(1000);
    assert!(matches!(
        command(&["flood", "100000"], b"", output),
        Err(TaskError::OutputLimit { limit: 1000 })
    ));
    let refused = command(&["connect", "127.0.0.1:9"], b"", Limits::default()).unwrap();
    assert!(
        String::from_utf8_lossy(&refused.stdout).starts_with("refused"),
        "{refused:?}"
    );
}

#[test]
fn a_componentize_py_component_runs_python_in_a_fresh_instance_per_call() {
    let m = python();
    let names: Vec<&str> = m.tasks().map(|(name, _)| name).collect();
    assert!(
        !names.iter().any(|name| name.contains("init")),
        "componentize-py's init is hidden: {names:?}"
    );
    let pool = Pool::builder().workers(2).build().unwrap();
    let inputs: Vec<i64> = (-10..20).collect();
    let squares: Vec<i64> = pool.map(m, "square", &inputs).unwrap();
    assert_eq!(squares, inputs.iter().map(|x| x * x).collect::<Vec<_>>());
    assert_eq!(call(m, "greet", json!("Ada")), Ok(json!("Hello, Ada!")));
    assert_eq!(
        call(m, "stats", json!([1.0, 2.0, 4.5])),
        Ok(json!({"count": 3, "mean": 2.5, "maximum": 4.5}))
    );
    assert_eq!(
        call(m, "stats", json!([])),
        Ok(json!({"count": 0, "mean": 0.0, "maximum": null}))
    );
    assert_eq!(
        call(m, "word-count", json!("b a b c b a")),
        Ok(json!([["b", 3], ["a", 2], ["c", 1]]))
    );
    assert_eq!(call(m, "parse", json!("-12")), Ok(json!(-12)));
    assert!(matches!(
        call(m, "parse", json!("x")),
        Err(TaskError::Guest { .. })
    ));
    // An uncaught exception traps the instance; the traceback went to its stderr.
    assert!(matches!(
        call(m, "fail", json!(null)),
        Err(TaskError::Trap { .. })
    ));
    let timeout = Limits::default().timeout(Some(Duration::from_millis(500)));
    assert!(matches!(
        run_limited(m, "spin", &json!(null), timeout),
        Err(TaskError::Timeout(_))
    ));
    let memory = Limits::default().max_memory(64 << 20);
    assert!(matches!(
        run_limited(m, "hog", &json!(256), memory),
        Err(TaskError::MemoryLimit { .. })
    ));
}

#[test]
fn a_componentize_js_component_runs_javascript() {
    let m = javascript();
    assert_eq!(call(m, "square", json!(12)), Ok(json!(144)));
    assert_eq!(
        call(m, "greet", json!("Ada")).map(|v| v.as_str().unwrap().contains("Ada")),
        Ok(true)
    );
    assert_eq!(call(m, "reverse", json!([1, 2, 3])), Ok(json!([3, 2, 1])));
    assert_eq!(call(m, "classify", json!(-4)), Ok(json!({"negative": -4})));
    assert_eq!(call(m, "classify", json!(0)), Ok(json!("zero")));
    assert_eq!(call(m, "parse", json!("2.5")), Ok(json!(2.5)));
    assert!(matches!(
        call(m, "parse", json!("nope")),
        Err(TaskError::Guest { .. })
    ));
}

#[test]
fn the_cli_runs_maps_and_inspects_components() {
    use crate::cli::{assert_exit, assert_stdout, hecaton, stdout};
    assert_stdout(
        &hecaton(&["run", WIT_SHAPES, "--invoke", "square", "7"], b""),
        "49\n",
    );
    assert_stdout(
        &hecaton(
            &["map", PY_COMPONENT, "--invoke", "square", "1", "2", "3"],
            b"",
        ),
        "1\n4\n9\n",
    );
    let inputs: String = (0..25).map(|i| format!("{i}\n")).collect();
    let mapped = hecaton(
        &["map", JS_COMPONENT, "--invoke", "square"],
        inputs.as_bytes(),
    );
    let expected: String = (0..25).map(|i| format!("{}\n", i * i)).collect();
    assert_stdout(&mapped, &expected);
    // The bad input of one task is that input's failure, named with its line.
    let bad = hecaton(
        &["map", WIT_SHAPES, "--invoke", "add8", "--keep-going"],
        b"[1, 2]\n[300, 1]\n",
    );
    assert_exit(&bad, 1);
    let lines: Vec<Value> = stdout(&bad)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines[0], json!(3));
    assert_eq!(lines[1]["error"]["kind"], "bad_input");
    // A command component: arguments, stdin, GNU parallel's spellings.
    assert_stdout(
        &hecaton(&["run", WIT_COMMAND, "--", "echo", "a", "b"], b""),
        "a b\n",
    );
    let seq = hecaton(
        &["map", WIT_COMMAND, "--arg", "--raw", "--", "echo", "n="],
        b"1\n2\n3\n",
    );
    assert_stdout(&seq, "n= 1\nn= 2\nn= 3\n");
    let placed = hecaton(
        &[
            "map",
            WIT_COMMAND,
            "--raw",
            "--",
            "echo",
            "<{}>",
            ":::",
            "x",
            "y",
        ],
        b"",
    );
    assert_stdout(&placed, "<x>\n<y>\n");
    let exit = hecaton(&["run", WIT_COMMAND, "--", "exit", "3"], b"");
    assert_exit(&exit, 1);
    let inspect = hecaton(&["inspect", "--json", PY_COMPONENT], b"");
    assert_exit(&inspect, 0);
    let report: Value = serde_json::from_str(&stdout(&inspect)).unwrap();
    assert_eq!(report["kind"], "component");
    assert!(
        report["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().starts_with("wasi:cli/stdout@0.2"))
    );
    let square = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "square")
        .unwrap();
    assert_eq!(square["signature"], "func(x: s64) -> s64");
    assert_eq!(square["kind"], "component-function");
}

#[test]
fn a_component_compiles_once_through_the_cache_and_precompiled() {
    let dir = std::env::temp_dir().join(format!("hecaton-component-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cache = hecaton::ModuleCache::new(dir.join("cache")).key_file(dir.join("key"));
    let engine = Engine::shared().unwrap();
    let first = Module::from_file_cached(&engine, WIT_SHAPES, &cache).unwrap();
    let entries = || std::fs::read_dir(cache.dir()).unwrap().count();
    assert_eq!(entries(), 1);
    let second = Module::from_file_cached(&engine, WIT_SHAPES, &cache).unwrap();
    assert_eq!(entries(), 1);
    for module in [&first, &second] {
        assert_eq!(run::<i64>(module, "square", &-4), Ok(16));
    }
    let precompiled = Module::precompile(&engine, WIT_SHAPES).unwrap();
    let file = dir.join("shapes.cwasm");
    std::fs::write(&file, precompiled).unwrap();
    // SAFETY: the file was written just above by `Module::precompile` for this engine.
    let loaded = unsafe { Module::from_precompiled_file(&engine, &file) }.unwrap();
    assert_eq!(loaded.kind(), ModuleKind::Component);
    assert_eq!(run::<i64>(&loaded, "square", &5), Ok(25));
}
