use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use hecaton_tests::fixture;
use hecaton_tests::guests::{ECHO, GUESTS_TARGET_DIR, PROBE, ROOT, SQUARE};

/// `hecaton ARGS` from the repository's root, ready to spawn: guest crates build into the tests'
/// warm guest target folder, compiled modules go to the tests' cache.
pub(crate) fn hecaton_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hecaton"));
    command
        .args(args)
        .current_dir(ROOT)
        .env("CARGO_TARGET_DIR", GUESTS_TARGET_DIR)
        .env(
            "HECATON_CACHE_DIR",
            std::env::temp_dir().join("hecaton-tests-cache"),
        );
    command
}

/// Runs `hecaton ARGS` with `stdin`.
pub(crate) fn hecaton(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = hecaton_command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hecaton");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Asserts that `output`'s stderr holds `text`, showing the stderr when it does not.
pub(crate) fn assert_stderr_has(output: &Output, text: &str) {
    let stderr = stderr(output);
    assert!(stderr.contains(text), "stderr lacks {text:?}:\n{stderr}");
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn run_module_prints_json_output() {
    let output = hecaton(&["run", SQUARE, "--invoke", "square", "7"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "49\n");
}

#[test]
fn run_negative_number_argument() {
    let output = hecaton(&["run", SQUARE, "--invoke", "square", "-5"], b"");
    assert_eq!(stdout(&output), "25\n", "{}", stderr(&output));
}

#[test]
fn run_crate_folder_builds_it_first() {
    let output = hecaton(
        &["run", "examples/guests/square", "--invoke", "square", "7"],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "49\n");
}

#[test]
fn build_prints_the_module_path() {
    let output = hecaton(&["build", "examples/guests/square"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let path = stdout(&output);
    let path = Path::new(path.trim_end());
    assert!(
        path.ends_with("wasm32-wasip1/release/square.wasm"),
        "{}",
        path.display()
    );
    assert!(path.is_file());
}

#[test]
fn build_of_a_folder_without_a_crate_is_a_usage_error() {
    let output = hecaton(&["build", "tests/fixtures"], b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("without a Cargo.toml"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn several_arguments_are_a_json_array_and_words_are_strings() {
    let output = hecaton(&["run", PROBE, "--invoke", "scale", "[1, 2]", "3"], b"");
    assert_eq!(stdout(&output), "[3.0,6.0]\n", "{}", stderr(&output));
    let output = hecaton(
        &[
            "run",
            hecaton_tests::guests::GREET,
            "--invoke",
            "greet",
            "Process-0",
        ],
        b"",
    );
    assert!(
        stdout(&output).starts_with("\"Child process Process-0 is running"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn guest_error_exits_1_with_the_message_on_stderr() {
    let output = hecaton(&["run", PROBE, "--invoke", "checked_divide", "1", "0"], b"");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("guest error: cannot divide 1 by 0"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn panic_exits_1_with_the_panic_message() {
    let output = hecaton(&["run", PROBE, "--invoke", "explode", "now"], b"");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("guest panic: exploded: now"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn trap_exits_3_naming_the_trap() {
    let path = fixture("trap-unreachable.wat");
    let output = hecaton(&["run", path.to_str().unwrap(), "--invoke", "boom"], b"");
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("unreachable"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn load_error_exits_2_naming_the_file_and_import() {
    let path = fixture("unknown-import.wat");
    let output = hecaton(
        &["run", path.to_str().unwrap(), "--invoke", "square", "1"],
        b"",
    );
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("unknown-import.wat") && message.contains("env::launch_missiles"),
        "{message}"
    );
}

#[test]
fn unknown_task_exits_2_listing_the_tasks() {
    let output = hecaton(&["run", SQUARE, "--invoke", "cube", "2"], b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no task `cube`; its tasks: square"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn no_invoke_on_a_module_without_a_command_lists_the_tasks() {
    let output = hecaton(&["run", SQUARE], b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--invoke (its tasks: square)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn command_runs_with_argv_stdio_and_exit_code() {
    let output = hecaton(&["run", ECHO, "--", "a", "--flag", "exit=5"], b"piped in");
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert_eq!(stdout(&output), "a --flag exit=5\npiped in");
    assert_eq!(stderr(&output), "to stderr");
}

#[test]
fn command_exit_code_zero() {
    let output = hecaton(&["run", ECHO], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "\n");
}

#[test]
fn help_lists_the_exit_codes() {
    let output = hecaton(&["--help"], b"");
    assert!(
        stdout(&output).contains("130  interrupted"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn map_prints_the_seeds_squares_one_per_line() {
    let output = hecaton(
        &[
            "map",
            "examples/guests/square",
            "--invoke",
            "square",
            "1",
            "2",
            "3",
            "4",
            "5",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "1\n4\n9\n16\n25\n");
    let output = hecaton(
        &[
            "map",
            SQUARE,
            "--invoke",
            "square",
            "--json-array",
            "1",
            "2",
            "3",
            "4",
            "5",
        ],
        b"",
    );
    assert_eq!(stdout(&output), "[1, 4, 9, 16, 25]\n");
}

#[test]
fn map_reads_json_lines_from_stdin_in_order() {
    let input: String = (1..=2000).map(|i| format!("{i}\n")).collect();
    let output = hecaton(
        &["map", SQUARE, "--invoke", "square", "-j", "2"],
        input.as_bytes(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let expected: String = (1..=2000i64).map(|i| format!("{}\n", i * i)).collect();
    assert_eq!(stdout(&output), expected);
}

#[test]
fn map_reads_an_input_file() {
    let path = std::env::temp_dir().join(format!("hecaton-map-input-{}.jsonl", std::process::id()));
    std::fs::write(&path, "3\n4\n").unwrap();
    let output = hecaton(
        &[
            "map",
            SQUARE,
            "--invoke",
            "square",
            "--input",
            path.to_str().unwrap(),
        ],
        b"",
    );
    std::fs::remove_file(&path).unwrap();
    assert_eq!(stdout(&output), "9\n16\n", "{}", stderr(&output));
}

#[test]
fn map_unordered_tags_outputs_with_their_index() {
    let output = hecaton(
        &[
            "map",
            SQUARE,
            "--invoke",
            "square",
            "--unordered",
            "--chunksize",
            "1",
        ],
        b"1\n2\n3\n",
    );
    let mut lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines.sort_by_key(|line| line["index"].as_u64());
    assert_eq!(
        lines,
        [
            serde_json::json!({"index": 0, "output": 1}),
            serde_json::json!({"index": 1, "output": 4}),
            serde_json::json!({"index": 2, "output": 9})
        ]
    );
}

#[test]
fn map_fail_fast_names_the_input_and_keeps_what_was_computed() {
    let output = hecaton(
        &["map", PROBE, "--invoke", "checked_divide"],
        b"[4, 2]\n[6, 3]\n[1, 0]\n[8, 2]\n",
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "2\n2\n");
    assert!(
        stderr(&output).contains("input 2 (line 3) failed: guest error: cannot divide 1 by 0"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn map_keep_going_writes_an_error_record_and_exits_1() {
    let output = hecaton(
        &["map", PROBE, "--invoke", "checked_divide", "--keep-going"],
        b"[4, 2]\n[1, 0]\n[8, 2]\n",
    );
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "2");
    let record: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(record["index"], 1);
    assert_eq!(record["line"], 2);
    assert_eq!(record["error"]["kind"], "guest_error");
    assert_eq!(lines[2], "4");
}

#[test]
fn map_malformed_line_fail_fast_exits_2_with_its_line_after_the_earlier_outputs() {
    let output = hecaton(
        &["map", SQUARE, "--invoke", "square"],
        b"1\n2\nnot json\n4\n",
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "1\n4\n");
    assert!(
        stderr(&output).contains("input line 3 is not valid: not JSON"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn map_malformed_line_keep_going_is_an_error_record() {
    let output = hecaton(
        &["map", SQUARE, "--invoke", "square", "--keep-going"],
        b"1\nnot json\n3\n",
    );
    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].contains("\"kind\":\"bad_input\"") && lines[1].contains("line 2"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "9");
}

#[test]
fn map_command_gives_each_input_as_stdin() {
    let output = hecaton(
        &["map", ECHO, "--stdin", "--argv", "x"],
        b"\"one\"\n\"two\"\n",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        serde_json::json!({"exit_code": 0, "stdout": "x\none", "stderr": "to stderr"})
    );
    assert_eq!(lines[1]["stdout"], "x\ntwo");
}

#[test]
fn map_command_appends_raw_lines_to_argv() {
    let output = hecaton(&["map", ECHO, "--arg", "--lines"], b"exit=3\nplain words\n");
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["exit_code"], 3);
    assert_eq!(lines[0]["stdout"], "exit=3\n");
    assert_eq!(lines[1]["stdout"], "plain words\n");
}

#[test]
fn run_timeout_flag_stops_a_runaway_task_with_exit_3() {
    let path = fixture("loop-forever.wat");
    let output = hecaton(
        &[
            "run",
            path.to_str().unwrap(),
            "--invoke",
            "spin",
            "--timeout",
            "200ms",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("timeout after 200ms"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn run_fuel_flag_stops_a_runaway_task() {
    let path = fixture("loop-forever.wat");
    let output = hecaton(
        &[
            "run",
            path.to_str().unwrap(),
            "--invoke",
            "spin",
            "--fuel",
            "100000",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("out of fuel"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_size_unit_is_a_usage_error_naming_the_flag() {
    let output = hecaton(
        &[
            "run",
            SQUARE,
            "--invoke",
            "square",
            "--max-memory",
            "12parsecs",
            "1",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--max-memory") && stderr(&output).contains("parsecs"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn dir_and_env_flags_grant_capabilities() {
    let output = hecaton(
        &[
            "run",
            hecaton_tests::guests::ADVERSARY,
            "--dir",
            "tests/fixtures::/fixtures",
            "--invoke",
            "read_file",
            "/fixtures/not-wasm.txt",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let expected = std::fs::read_to_string(fixture("not-wasm.txt")).unwrap();
    assert_eq!(
        stdout(&output).trim_end(),
        serde_json::to_string(&expected).unwrap()
    );
    let output = hecaton(
        &[
            "run",
            hecaton_tests::guests::ADVERSARY,
            "--env",
            "MODE=fast",
            "--invoke",
            "env_vars",
        ],
        b"",
    );
    assert_eq!(
        stdout(&output),
        "[[\"MODE\",\"fast\"]]\n",
        "{}",
        stderr(&output)
    );
}

#[test]
fn read_only_dir_flag_refuses_writes_and_rw_takes_them() {
    let folder = std::env::temp_dir().join(format!("hecaton-cli-rw-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let grant = format!("{}::/out", folder.display());
    let write = |grant: &str| {
        hecaton(
            &[
                "run",
                hecaton_tests::guests::ADVERSARY,
                "--dir",
                grant,
                "--invoke",
                "write_file",
                "/out/f.txt",
                "hi",
            ],
            b"",
        )
    };
    assert_eq!(write(&grant).status.code(), Some(1));
    assert!(!folder.join("f.txt").exists());
    let output = write(&format!("{grant}:rw"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(folder.join("f.txt")).unwrap(), "hi");
}

#[test]
fn map_retries_are_counted_in_the_error_record() {
    let output = hecaton(
        &[
            "map",
            hecaton_tests::guests::ADVERSARY,
            "--invoke",
            "attempt_or_fail",
            "--keep-going",
            "--retries",
            "1",
        ],
        b"2\n5\n",
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "2");
    let record: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(record["attempts"], 2);
    assert_eq!(record["error"]["message"], "guest error: attempt 2 failed");
}

#[test]
fn ctrl_c_writes_what_finished_and_exits_130() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hecaton"))
        .args([
            "map",
            PROBE,
            "--invoke",
            "nap",
            "-j",
            "2",
            "--chunksize",
            "1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input: String = (0..500).map(|_| "20\n").collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.ends_with('\n') || text.is_empty(),
        "only whole lines are written"
    );
    let written = text.lines().count();
    assert!(text.lines().all(|line| line == "20"));
    assert!(written > 0 && written < 500, "{written} outputs written");
    assert!(
        stderr(&output).contains("interrupted at input"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn inspect_lists_tasks_imports_and_memory() {
    let output = hecaton(&["inspect", hecaton_tests::guests::WAT_SQUARE], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("imports: none"), "{text}");
    assert!(
        text.contains("memory:  65536 bytes initially, no maximum"),
        "{text}"
    );
    assert!(
        text.contains("add                  numeric (i64, i64) -> (i64)"),
        "{text}"
    );
    assert!(
        text.contains("square               function task, ABI v1"),
        "{text}"
    );
    let output = hecaton(&["inspect", "--json", ECHO], b"");
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["imports_wasi"], true);
    assert_eq!(
        report["tasks"],
        serde_json::json!([{"name": "_start", "kind": "command"}])
    );
    // The host functions of the ABI are imports too.
    let output = hecaton(
        &["inspect", &fixture("host-functions.wat").to_string_lossy()],
        b"",
    );
    let text = stdout(&output);
    assert!(
        text.contains("imports: hecaton (task_id, attempt"),
        "{text}"
    );
    let output = hecaton(&["inspect", "--json", PROBE], b"");
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(
        report["host_functions"]
            .as_array()
            .is_some_and(|names| !names.is_empty()),
        "{report}"
    );
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let output = hecaton(&["completions", shell], b"");
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(stdout(&output).contains("hecaton"), "{shell}");
        assert!(
            stdout(&output).contains("max-memory"),
            "{shell}: the flags are completed"
        );
    }
}

#[test]
fn map_stats_reports_items_failures_and_times() {
    let output = hecaton(
        &[
            "map",
            PROBE,
            "--invoke",
            "checked_divide",
            "--keep-going",
            "--stats",
            "--quiet",
        ],
        b"[4, 2]\n[1, 0]\n[8, 2]\n",
    );
    let report = stderr(&output);
    assert!(
        report.contains("stats: 3 items, failures: 1 guest_error"),
        "{report}"
    );
    assert!(
        report.contains("tasks/s")
            && report.contains("p99")
            && report.contains("peak linear memory"),
        "{report}"
    );
}

#[test]
fn config_file_sets_the_same_limits_as_the_flags_and_flags_win() {
    let config = std::env::temp_dir().join(format!("hecaton-config-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        "timeout = \"200ms\"\nmax-memory = \"64MiB\"\nenv = [\"MODE=fast\"]\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let spin = fixture("loop-forever.wat");
    let spin = spin.to_str().unwrap();
    let from_file = hecaton(&["run", spin, "--config", config, "--invoke", "spin"], b"");
    let from_flags = hecaton(
        &[
            "run",
            spin,
            "--timeout",
            "200ms",
            "--max-memory",
            "64MiB",
            "--invoke",
            "spin",
        ],
        b"",
    );
    assert_eq!(from_file.status.code(), Some(3));
    assert_eq!(stderr(&from_file), stderr(&from_flags));
    assert!(
        stderr(&from_file).contains("timeout after 200ms"),
        "{}",
        stderr(&from_file)
    );
    let flag_wins = hecaton(
        &[
            "run",
            spin,
            "--config",
            config,
            "--timeout",
            "300ms",
            "--invoke",
            "spin",
        ],
        b"",
    );
    assert!(
        stderr(&flag_wins).contains("timeout after 300ms"),
        "{}",
        stderr(&flag_wins)
    );
    let env = hecaton(
        &[
            "run",
            hecaton_tests::guests::ADVERSARY,
            "--config",
            config,
            "--invoke",
            "env_vars",
        ],
        b"",
    );
    assert_eq!(stdout(&env), "[[\"MODE\",\"fast\"]]\n", "{}", stderr(&env));
}

#[test]
fn config_file_with_an_unknown_key_is_a_usage_error_naming_it() {
    let config =
        std::env::temp_dir().join(format!("hecaton-bad-config-{}.toml", std::process::id()));
    std::fs::write(&config, "max-memroy = \"64MiB\"\n").unwrap();
    let output = hecaton(
        &[
            "run",
            SQUARE,
            "--config",
            config.to_str().unwrap(),
            "--invoke",
            "square",
            "2",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("max-memroy"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn compiled_cwasm_runs_only_with_allow_precompiled() {
    let cwasm = std::env::temp_dir().join(format!("hecaton-square-{}.cwasm", std::process::id()));
    let cwasm = cwasm.to_str().unwrap();
    let output = hecaton(&["compile", SQUARE, "-o", cwasm], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let refused = hecaton(&["run", cwasm, "--invoke", "square", "6"], b"");
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("precompiled module"),
        "{}",
        stderr(&refused)
    );
    let allowed = hecaton(
        &[
            "run",
            cwasm,
            "--allow-precompiled",
            "--invoke",
            "square",
            "6",
        ],
        b"",
    );
    assert_eq!(stdout(&allowed), "36\n", "{}", stderr(&allowed));
    let other_engine = hecaton(
        &[
            "run",
            cwasm,
            "--allow-precompiled",
            "--fuel",
            "1000",
            "--invoke",
            "square",
            "6",
        ],
        b"",
    );
    assert_eq!(
        other_engine.status.code(),
        Some(2),
        "a .cwasm of another engine setting is refused"
    );
    assert!(
        stderr(&other_engine).contains("not a precompiled module for this engine"),
        "{}",
        stderr(&other_engine)
    );
}

#[test]
fn verbose_logs_name_the_failing_task_and_default_logs_nothing() {
    let input = b"[4, 2]\n[1, 0]\n";
    let quiet = hecaton(
        &[
            "map",
            PROBE,
            "--invoke",
            "checked_divide",
            "--keep-going",
            "--quiet",
        ],
        input,
    );
    assert_eq!(stderr(&quiet), "");
    let verbose = hecaton(
        &[
            "map",
            PROBE,
            "--invoke",
            "checked_divide",
            "--keep-going",
            "--quiet",
            "-v",
        ],
        input,
    );
    let log = stderr(&verbose);
    assert!(
        log.contains("hecaton-worker-") && log.contains("index=1") && log.contains("attempt=1"),
        "{log}"
    );
    assert!(
        log.contains("task failed") && log.contains("kind=\"guest_error\""),
        "{log}"
    );
    assert!(!log.contains("index=0"), "-v logs failures only: {log}");
}

#[test]
fn map_isolation_levels_share_what_they_say() {
    let tally = fixture("tally.wat");
    let tally = tally.to_str().unwrap();
    let map = |extra: &[&str]| {
        let mut args = vec![
            "map",
            tally,
            "--invoke",
            "tally",
            "-j",
            "1",
            "--chunksize",
            "3",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["1", "2", "3", "4", "5", "6", "7"]);
        let output = hecaton(&args, b"");
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(map(&[]), "1 1 1 1 1 1 1");
    assert_eq!(map(&["--isolation", "chunk"]), "1 2 3 1 2 3 1");
    assert_eq!(map(&["--isolation", "worker"]), "1 2 3 4 5 6 7");
    assert_eq!(
        map(&["--isolation", "worker", "--max-tasks-per-instance", "2"]),
        "1 2 1 2 1 2 1"
    );
    let misuse = hecaton(
        &[
            "map",
            tally,
            "--invoke",
            "tally",
            "--max-tasks-per-instance",
            "2",
            "1",
        ],
        b"",
    );
    assert_eq!(misuse.status.code(), Some(2));
    assert!(
        stderr(&misuse).contains("needs --isolation worker"),
        "{}",
        stderr(&misuse)
    );
}

#[test]
fn initializer_snapshots_the_state_every_task_starts_from() {
    let state = fixture("snapshot-state.wat");
    let state = state.to_str().unwrap();
    let output = hecaton(
        &[
            "map",
            state,
            "--invoke",
            "probe",
            "--initializer",
            "init",
            "null",
            "null",
        ],
        b"",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "42007101\n42007101\n");
    let failed = hecaton(
        &[
            "run",
            state,
            "--invoke",
            "probe",
            "--initializer",
            "trap_init",
        ],
        b"",
    );
    assert_eq!(failed.status.code(), Some(2));
    let message = stderr(&failed);
    assert!(
        message.contains("initializer `trap_init`") && message.contains("unreachable"),
        "{message}"
    );
}
