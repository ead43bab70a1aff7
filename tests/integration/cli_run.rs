//! `hecaton run`: one task or command through the real binary — its output, its exit code, the
//! message of each kind of failure, the limit and capability flags, and the config file that
//! sets them.

use hecaton_tests::fixture;
use hecaton_tests::guests::{ADVERSARY, ECHO, GREET, PROBE, SQUARE};

use crate::cli::{assert_exit, assert_stderr_has, assert_stdout, hecaton, stderr, stdout};

#[test]
fn run_module_prints_json_output() {
    let output = hecaton(&["run", SQUARE, "--invoke", "square", "7"], b"");
    assert_exit(&output, 0);
    assert_stdout(&output, "49\n");
}

#[test]
fn run_negative_number_argument() {
    let output = hecaton(&["run", SQUARE, "--invoke", "square", "-5"], b"");
    assert_stdout(&output, "25\n");
}

#[test]
fn run_crate_folder_builds_it_first() {
    let output = hecaton(
        &["run", "examples/guests/square", "--invoke", "square", "7"],
        b"",
    );
    assert_exit(&output, 0);
    assert_stdout(&output, "49\n");
}

#[test]
fn several_arguments_are_a_json_array_and_words_are_strings() {
    let output = hecaton(&["run", PROBE, "--invoke", "scale", "[1, 2]", "3"], b"");
    assert_stdout(&output, "[3.0,6.0]\n");
    let output = hecaton(&["run", GREET, "--invoke", "greet", "Process-0"], b"");
    assert!(
        stdout(&output).starts_with("\"Child process Process-0 is running"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn guest_error_exits_1_with_the_message_on_stderr() {
    let output = hecaton(&["run", PROBE, "--invoke", "checked_divide", "1", "0"], b"");
    assert_exit(&output, 1);
    assert_stdout(&output, "");
    assert_stderr_has(&output, "guest error: cannot divide 1 by 0");
}

#[test]
fn panic_exits_1_with_the_panic_message() {
    let output = hecaton(&["run", PROBE, "--invoke", "explode", "now"], b"");
    assert_exit(&output, 1);
    assert_stderr_has(&output, "guest panic: exploded: now");
}

#[test]
fn trap_exits_3_naming_the_trap() {
    let path = fixture("trap-unreachable.wat");
    let output = hecaton(&["run", path.to_str().unwrap(), "--invoke", "boom"], b"");
    assert_exit(&output, 3);
    assert_stderr_has(&output, "unreachable");
}

#[test]
fn load_error_exits_2_naming_the_file_and_import() {
    let path = fixture("unknown-import.wat");
    let output = hecaton(
        &["run", path.to_str().unwrap(), "--invoke", "square", "1"],
        b"",
    );
    assert_exit(&output, 2);
    assert_stderr_has(&output, "unknown-import.wat");
    assert_stderr_has(&output, "env::launch_missiles");
}

#[test]
fn unknown_task_exits_2_listing_the_tasks() {
    let output = hecaton(&["run", SQUARE, "--invoke", "cube", "2"], b"");
    assert_exit(&output, 2);
    assert_stderr_has(&output, "no task `cube`; its tasks: square");
}

#[test]
fn no_invoke_on_a_module_without_a_command_lists_the_tasks() {
    let output = hecaton(&["run", SQUARE], b"");
    assert_exit(&output, 2);
    assert_stderr_has(&output, "--invoke (its tasks: square)");
}

#[test]
fn command_runs_with_argv_stdio_and_exit_code() {
    let output = hecaton(&["run", ECHO, "--", "a", "--flag", "exit=5"], b"piped in");
    assert_exit(&output, 5);
    assert_stdout(&output, "a --flag exit=5\npiped in");
    assert_eq!(stderr(&output), "to stderr");
}

#[test]
fn command_exit_code_zero() {
    let output = hecaton(&["run", ECHO], b"");
    assert_exit(&output, 0);
    assert_stdout(&output, "\n");
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
    assert_exit(&output, 3);
    assert_stderr_has(&output, "timeout after 200ms");
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
    assert_exit(&output, 3);
    assert_stderr_has(&output, "out of fuel");
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
    assert_exit(&output, 2);
    assert_stderr_has(&output, "--max-memory");
    assert_stderr_has(&output, "parsecs");
}

#[test]
fn dir_and_env_flags_grant_capabilities() {
    let output = hecaton(
        &[
            "run",
            ADVERSARY,
            "--dir",
            "tests/fixtures::/fixtures",
            "--invoke",
            "read_file",
            "/fixtures/not-wasm.txt",
        ],
        b"",
    );
    assert_exit(&output, 0);
    let expected = std::fs::read_to_string(fixture("not-wasm.txt")).unwrap();
    assert_stdout(
        &output,
        &format!("{}\n", serde_json::to_string(&expected).unwrap()),
    );
    let output = hecaton(
        &[
            "run",
            ADVERSARY,
            "--env",
            "MODE=fast",
            "--invoke",
            "env_vars",
        ],
        b"",
    );
    assert_stdout(&output, "[[\"MODE\",\"fast\"]]\n");
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
                ADVERSARY,
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
    assert_exit(&write(&grant), 1);
    assert!(!folder.join("f.txt").exists());
    assert_exit(&write(&format!("{grant}:rw")), 0);
    assert_eq!(std::fs::read_to_string(folder.join("f.txt")).unwrap(), "hi");
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
    assert_exit(&from_file, 3);
    assert_eq!(stderr(&from_file), stderr(&from_flags));
    assert_stderr_has(&from_file, "timeout after 200ms");
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
    assert_stderr_has(&flag_wins, "timeout after 300ms");
    let env = hecaton(
        &["run", ADVERSARY, "--config", config, "--invoke", "env_vars"],
        b"",
    );
    assert_stdout(&env, "[[\"MODE\",\"fast\"]]\n");
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
    assert_exit(&output, 2);
    assert_stderr_has(&output, "max-memroy");
}
