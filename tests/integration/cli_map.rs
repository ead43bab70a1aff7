//! `hecaton map`: JSON Lines in and out through the real binary — order, fail-fast and
//! keep-going, malformed lines, commands, retries, Ctrl-C, `--stats`, logs, isolation levels,
//! initializers, and the number of workers (`-j`, `HECATON_WORKERS`).

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use hecaton_tests::fixture;
use hecaton_tests::guests::{ADVERSARY, ECHO, PROBE, SQUARE, WAT_SQUARE};

use crate::cli::{
    assert_exit, assert_stderr_has, assert_stdout, hecaton, hecaton_command, stderr, stdout,
};

/// `output`'s stdout, one JSON value a line.
fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
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
    assert_exit(&output, 0);
    assert_stdout(&output, "1\n4\n9\n16\n25\n");
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
    assert_stdout(&output, "[1, 4, 9, 16, 25]\n");
}

#[test]
fn map_reads_json_lines_from_stdin_in_order() {
    let input: String = (1..=2000).map(|i| format!("{i}\n")).collect();
    let output = hecaton(
        &["map", SQUARE, "--invoke", "square", "-j", "2"],
        input.as_bytes(),
    );
    assert_exit(&output, 0);
    let expected: String = (1..=2000i64).map(|i| format!("{}\n", i * i)).collect();
    assert_stdout(&output, &expected);
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
    assert_stdout(&output, "9\n16\n");
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
    let mut lines = json_lines(&output);
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
    assert_exit(&output, 1);
    assert_stdout(&output, "2\n2\n");
    assert_stderr_has(
        &output,
        "input 2 (line 3) failed: guest error: cannot divide 1 by 0",
    );
}

#[test]
fn map_keep_going_writes_an_error_record_and_exits_1() {
    let output = hecaton(
        &["map", PROBE, "--invoke", "checked_divide", "--keep-going"],
        b"[4, 2]\n[1, 0]\n[8, 2]\n",
    );
    assert_exit(&output, 1);
    let lines = json_lines(&output);
    assert_eq!(lines[0], 2);
    assert_eq!(lines[1]["index"], 1);
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["error"]["kind"], "guest_error");
    assert_eq!(lines[2], 4);
}

#[test]
fn map_malformed_line_fail_fast_exits_2_with_its_line_after_the_earlier_outputs() {
    let output = hecaton(
        &["map", SQUARE, "--invoke", "square"],
        b"1\n2\nnot json\n4\n",
    );
    assert_exit(&output, 2);
    assert_stdout(&output, "1\n4\n");
    assert_stderr_has(&output, "input line 3 is not valid: not JSON");
}

#[test]
fn map_malformed_line_keep_going_is_an_error_record() {
    let output = hecaton(
        &["map", SQUARE, "--invoke", "square", "--keep-going"],
        b"1\nnot json\n3\n",
    );
    assert_exit(&output, 1);
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
    assert_exit(&output, 0);
    let lines = json_lines(&output);
    assert_eq!(
        lines[0],
        serde_json::json!({"exit_code": 0, "stdout": "x\none", "stderr": "to stderr"})
    );
    assert_eq!(lines[1]["stdout"], "x\ntwo");
}

#[test]
fn map_command_appends_raw_lines_to_argv() {
    let output = hecaton(&["map", ECHO, "--arg", "--lines"], b"exit=3\nplain words\n");
    let lines = json_lines(&output);
    assert_eq!(lines[0]["exit_code"], 3);
    assert_eq!(lines[0]["stdout"], "exit=3\n");
    assert_eq!(lines[1]["stdout"], "plain words\n");
}

#[test]
fn map_retries_are_counted_in_the_error_record() {
    let output = hecaton(
        &[
            "map",
            ADVERSARY,
            "--invoke",
            "attempt_or_fail",
            "--keep-going",
            "--retries",
            "1",
        ],
        b"2\n5\n",
    );
    assert_exit(&output, 1);
    let lines = json_lines(&output);
    assert_eq!(lines[0], 2);
    assert_eq!(lines[1]["attempts"], 2);
    assert_eq!(
        lines[1]["error"]["message"],
        "guest error: attempt 2 failed"
    );
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
    std::thread::sleep(Duration::from_millis(700));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_exit(&output, 130);
    let text = stdout(&output);
    assert!(
        text.ends_with('\n') || text.is_empty(),
        "only whole lines are written"
    );
    let written = text.lines().count();
    assert!(text.lines().all(|line| line == "20"));
    assert!(written > 0 && written < 500, "{written} outputs written");
    assert_stderr_has(&output, "interrupted at input");
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
    assert_stderr_has(&output, "stats: 3 items, failures: 1 guest_error");
    for figure in ["tasks/s", "p99", "peak linear memory"] {
        assert_stderr_has(&output, figure);
    }
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
    for field in [
        "hecaton-worker-",
        "index=1",
        "attempt=1",
        "task failed",
        "kind=\"guest_error\"",
    ] {
        assert_stderr_has(&verbose, field);
    }
    let log = stderr(&verbose);
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
        assert_exit(&output, 0);
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
    assert_exit(&misuse, 2);
    assert_stderr_has(&misuse, "needs --isolation worker");
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
    assert_exit(&output, 0);
    assert_stdout(&output, "42007101\n42007101\n");
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
    assert_exit(&failed, 2);
    assert_stderr_has(&failed, "initializer `trap_init`");
    assert_stderr_has(&failed, "unreachable");
}

/// The wall time `hecaton map --stats` reports for 4 naps of [`NAP`], one a chunk, with
/// `HECATON_WORKERS` set to `workers` and the extra arguments `extra`.
fn wall_of_4_naps(workers: &str, extra: &[&str]) -> Duration {
    let nap = NAP.as_millis().to_string();
    let mut args = vec![
        "map",
        PROBE,
        "--invoke",
        "nap",
        "--chunksize",
        "1",
        "--stats",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[nap.as_str(); 4]);
    let output = hecaton_command(&args)
        .env("HECATON_WORKERS", workers)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert_stdout(&output, &format!("{nap}\n").repeat(4));
    // stats: wall 0.412 s, 9.7 tasks/s
    let report = stderr(&output);
    let wall = report
        .lines()
        .find_map(|line| line.strip_prefix("stats: wall "))
        .and_then(|rest| rest.split_once(" s"))
        .and_then(|(seconds, _)| seconds.parse().ok())
        .unwrap_or_else(|| panic!("no wall time in:\n{report}"));
    Duration::from_secs_f64(wall)
}

/// The naps of [`wall_of_4_naps`]: they take time but no CPU, so other tests on the same cores
/// cannot slow them down. One worker takes 4 naps in turn; two take 2 naps; four take 1.
const NAP: Duration = Duration::from_millis(400);

#[test]
fn the_workers_variable_sets_how_many_tasks_run_at_once() {
    // Whatever the number of cores (the default), one worker cannot take less than 4 naps and
    // 4 workers cannot take 2 naps unless they run at once.
    let one = wall_of_4_naps("1", &[]);
    assert!(one >= NAP * 4, "HECATON_WORKERS=1: {one:?}");
    let four = wall_of_4_naps("4", &[]);
    assert!(four < NAP * 2, "HECATON_WORKERS=4: {four:?}");
}

#[test]
fn the_workers_flag_wins_over_the_variable() {
    let four = wall_of_4_naps("1", &["-j", "4"]);
    assert!(four < NAP * 2, "HECATON_WORKERS=1 -j 4: {four:?}");
    // The variable is not even read when the flag is given.
    let output = hecaton_command(&["map", SQUARE, "--invoke", "square", "-j", "2", "3"])
        .env("HECATON_WORKERS", "abc")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert_stdout(&output, "9\n");
}

#[test]
fn a_bad_workers_variable_is_named() {
    for bad in ["abc", "0", "-1"] {
        let output = hecaton_command(&["map", WAT_SQUARE, "--invoke", "square", "1"])
            .env("HECATON_WORKERS", bad)
            .output()
            .unwrap();
        assert_exit(&output, 2);
        assert_stdout(&output, "");
        assert_stderr_has(&output, &format!("HECATON_WORKERS={bad:?}"));
    }
}
