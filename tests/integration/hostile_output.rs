//! What hecaton writes is its own: a guest's results, messages, prints and stderr can forge no
//! line and write no control character (issue "Every byte hecaton writes is its own", part 1).

use hecaton_tests::fixture;

use crate::cli::{assert_exit, assert_stderr_has, hecaton, stderr, stdout};

fn hostile() -> String {
    fixture("hostile-output.wat").to_str().unwrap().to_owned()
}

/// Every line is one JSON value that parses, holds no raw control character, and is UTF-8.
fn assert_json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    let text = std::str::from_utf8(bytes).expect("stdout is UTF-8");
    text.lines()
        .map(|line| {
            assert!(
                !line.chars().any(char::is_control),
                "raw control character in {line:?}"
            );
            serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}"))
        })
        .collect()
}

/// Stderr holds no raw control character but newlines and tabs.
fn assert_printable(bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).expect("stderr is UTF-8");
    assert!(
        !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "raw control character on stderr: {text:?}"
    );
}

fn map(task: &str, extra: &[&str]) -> std::process::Output {
    let module = hostile();
    let mut args = vec!["map", module.as_str(), "--invoke", task, "--keep-going"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["0", "1"]);
    hecaton(&args, b"")
}

#[test]
fn a_deep_payload_with_forged_lines_is_an_abi_violation_in_map_ordered_and_unordered() {
    for extra in [&[][..], &["--unordered"][..]] {
        let output = map("deep_forged", extra);
        let records = assert_json_lines(&output.stdout);
        assert_eq!(records.len(), 2, "{}", stdout(&output));
        for record in &records {
            assert_eq!(record["error"]["kind"], "abi_violation", "{record}");
        }
        assert!(!stdout(&output).contains("\"output\":\"forged\""));
    }
}

#[test]
fn run_and_map_agree_on_a_deep_payload() {
    let module = hostile();
    let output = hecaton(&["run", &module, "--invoke", "deep_forged"], b"");
    assert_exit(&output, 3);
    assert_stderr_has(&output, "ABI violation");
    assert_eq!(stdout(&output), "");
}

#[test]
fn a_shallow_payload_with_newlines_is_re_encoded_on_one_line() {
    let output = map("shallow_forged", &[]);
    let records = assert_json_lines(&output.stdout);
    assert_eq!(
        records,
        vec![serde_json::json!([[{"index": 0, "output": "forged"}]]); 2]
    );
    let output = map("shallow_forged", &["--unordered"]);
    assert_eq!(assert_json_lines(&output.stdout).len(), 2);
}

#[test]
fn carriage_returns_between_tokens_never_reach_stdout() {
    let output = map("carriage_return_only", &[]);
    assert_eq!(stdout(&output), "[1,2]\n[1,2]\n");
    // A vertical tab is not JSON whitespace: the payload is not JSON.
    let output = map("carriage_return", &[]);
    for record in assert_json_lines(&output.stdout) {
        assert_eq!(record["error"]["kind"], "abi_violation");
    }
}

#[test]
fn invalid_utf8_in_an_ok_string_is_an_abi_violation_in_run_and_map() {
    let output = map("not_utf8", &[]);
    for record in assert_json_lines(&output.stdout) {
        assert_eq!(record["error"]["kind"], "abi_violation", "{record}");
    }
    let module = hostile();
    let output = hecaton(&["run", &module, "--invoke", "not_utf8"], b"");
    assert_exit(&output, 3);
    assert_stderr_has(&output, "ABI violation");
}

#[test]
fn escaped_control_characters_stay_escaped() {
    let output = map("escaped_control", &[]);
    let records = assert_json_lines(&output.stdout);
    assert_eq!(records[0], "bell\u{7} esc\u{1b}[2J");
}

#[test]
fn run_and_map_print_an_objects_keys_in_the_same_order() {
    let module = hostile();
    let run = hecaton(&["run", &module, "--invoke", "unordered_keys"], b"");
    let map = hecaton(&["map", &module, "--invoke", "unordered_keys", "0"], b"");
    assert_eq!(
        stdout(&run),
        r#"{"a":{"c":3,"d":2},"b":1}"#.to_owned() + "\n"
    );
    assert_eq!(stdout(&run), stdout(&map));
}

#[test]
fn a_guest_error_message_cannot_forge_a_line_or_write_escapes() {
    let module = hostile();
    for args in [
        vec!["map", &module, "--invoke", "forged_error", "0"],
        vec!["run", &module, "--invoke", "forged_error"],
    ] {
        let output = hecaton(&args, b"");
        assert_exit(&output, 1);
        assert_printable(&output.stderr);
        let text = stderr(&output);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("hecaton: "), "{text}");
        assert!(text.contains(r"boom\nhecaton: input 9"), "{text}");
    }
}

#[test]
fn a_function_tasks_prints_reach_stderr_escaped_and_prefixed_with_the_input() {
    let module = hostile();
    let output = hecaton(
        &["map", &module, "--invoke", "forged_prints", "0", "1"],
        b"",
    );
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "1\n1\n");
    assert_printable(&output.stderr);
    let text = stderr(&output);
    for line in text.lines() {
        assert!(
            line.starts_with("[input 0] ") || line.starts_with("[input 1] "),
            "{line:?}"
        );
    }
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(
        text.contains(r"[input 1] \u{1b}]0;owned\u{7}\rcarriage"),
        "{text}"
    );
}

#[test]
fn run_passes_a_commands_stdout_through_and_escapes_its_stderr() {
    let module = fixture("command-hostile-stderr.wat");
    let output = hecaton(&["run", module.to_str().unwrap()], b"");
    // proc_exit(200): the guest's own exit, not a failure of the host.
    assert_exit(&output, 200);
    assert_eq!(output.stdout, b"out\n");
    assert_printable(&output.stderr);
    assert_eq!(
        stderr(&output),
        "\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\u{1b}[1A\\rhecaton: error: forged\n"
    );
}

#[test]
fn run_caps_a_commands_stdout_at_max_output() {
    let module = fixture("command-stdout-flood.wat");
    let output = hecaton(
        &[
            "run",
            module.to_str().unwrap(),
            "--max-output",
            "1MiB",
            "--timeout",
            "20s",
        ],
        b"",
    );
    assert_exit(&output, 3);
    assert_eq!(output.stdout.len(), 1 << 20);
    assert_stderr_has(&output, "output limit");
}

#[test]
fn an_input_line_that_is_not_utf8_is_bad_input() {
    let module = fixture("hostile-output.wat");
    let module = module.to_str().unwrap();
    let output = hecaton(
        &["map", module, "--invoke", "unordered_keys", "--keep-going"],
        b"\"\xff\xfe\"\n1\n",
    );
    let records = assert_json_lines(&output.stdout);
    assert_eq!(records[0]["error"]["kind"], "bad_input", "{}", records[0]);
    assert!(
        records[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not UTF-8")
    );
    assert_eq!(records.len(), 2);
    let output = hecaton(
        &["map", module, "--invoke", "unordered_keys"],
        b"\"\xff\"\n",
    );
    assert_exit(&output, 2);
    assert_printable(&output.stderr);
    assert_stderr_has(&output, r#"input line 1 is not valid: not UTF-8"#);
}
