//! `hecaton map` over a WASI command as GNU parallel runs a program over inputs: fixed arguments
//! after `--` with `{}` and `{#}`, inputs after `:::`, `--raw` (`parallel -k`), `--results DIR`,
//! a fresh `--scratch` folder per input, and `--fail-nonzero`.

use std::path::{Path, PathBuf};
use std::process::Output;

use hecaton_tests::guests::{ECHO, SQUARE};

use crate::cli::{assert_stderr_has, hecaton, hecaton_command, stderr, stdout};

/// The JSON records of a map's stdout, one per line.
fn records(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect()
}

/// Each record's `stdout`, after checking that the map succeeded.
fn command_stdouts(output: &Output) -> Vec<serde_json::Value> {
    assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
    records(output)
        .iter()
        .map(|record| record["stdout"].clone())
        .collect()
}

/// A fresh folder for one test, under the system's temporary folder.
fn folder(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("hecaton-parallel-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = path.as_ref();
    std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn fixed_arguments_follow_dashes_and_inputs_follow_triple_colons() {
    let output = hecaton(
        &[
            "map",
            ECHO,
            "--",
            "-O2",
            "{}",
            "-o",
            "/out/{#}.s",
            ":::",
            "a.c",
            "-x",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdouts = command_stdouts(&output);
    // `{}` placed the input, so it is not the command's stdin too.
    assert_eq!(stdouts, ["-O2 a.c -o /out/0.s\n", "-O2 -x -o /out/1.s\n"]);
}

#[test]
fn with_fixed_arguments_after_dashes_the_inputs_come_from_stdin() {
    let output = hecaton(&["map", ECHO, "--arg", "--", "-v"], b"\"x y\"\n7\n");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdouts = command_stdouts(&output);
    // A JSON string is its text; a JSON number is its text too.
    assert_eq!(stdouts, ["-v x y\n", "-v 7\n"]);
}

#[test]
fn a_command_input_that_is_not_text_is_bad_input_naming_its_line() {
    let output = hecaton(
        &["map", ECHO, "--arg", "--keep-going"],
        b"\"ok\"\n\xff\xfe\n",
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let records = records(&output);
    assert_eq!(records[1]["error"]["kind"], "bad_input");
    assert_eq!(records[1]["line"], 2);
    let message = records[1]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("line 2") && message.contains("--lines"),
        "{message}"
    );
}

#[test]
fn a_command_takes_plain_lines_as_parallel_does_and_decodes_a_json_string() {
    let output = hecaton(
        &["map", ECHO, "--arg"],
        b"photos/a b.svg\n[1, 2]\n\"two\\nlines\"\n{\"k\": 1}\n",
    );
    assert_eq!(
        command_stdouts(&output),
        [
            "photos/a b.svg\n",
            "[1, 2]\n",
            "two\nlines\n",
            "{\"k\": 1}\n"
        ]
    );
}

#[test]
fn an_argument_input_of_a_command_is_not_said_to_be_a_line() {
    let output = hecaton(&["map", ECHO, "--arg", "--keep-going", "ok", "exit=2"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for record in records(&output) {
        assert!(record.get("line").is_none(), "{record}");
    }
}

#[test]
fn raw_writes_each_commands_stdout_bytes_in_input_order() {
    let stdin = b"first\n\xff\xfe not utf-8\nthird\n";
    let output = hecaton(&["map", ECHO, "--lines", "--raw", "-j2"], stdin);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // Each command prints its (empty) argument line, then its stdin: the raw input line.
    assert_eq!(
        output.stdout,
        b"\nfirst\n\xff\xfe not utf-8\nthird".to_vec()
    );
    for index in 0..3 {
        assert_stderr_has(&output, &format!("[input {index}] to stderr"));
    }
}

#[test]
fn raw_is_refused_for_a_function_task() {
    let output = hecaton(&["map", SQUARE, "--invoke", "square", "--raw", "1"], b"");
    assert_eq!(output.status.code(), Some(2));
    assert_stderr_has(&output, "--raw is for a WASI command");
}

#[test]
fn results_keep_each_inputs_stdout_stderr_exit_code_and_record_as_files() {
    let dir = folder("results");
    let results = dir.join("out");
    let stdin = b"plain\n\xff\xfe\nexit=6\n";
    let output = hecaton(
        &[
            "map",
            ECHO,
            "--lines",
            "--results",
            results.to_str().unwrap(),
        ],
        stdin,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    for (index, line) in lines.iter().enumerate() {
        let folder = results.join(index.to_string());
        assert_eq!(
            read(folder.join("record.json")),
            format!("{line}\n").into_bytes()
        );
        assert_eq!(read(folder.join("stderr")), b"to stderr");
        assert_eq!(read(folder.join("exit_code")), b"0\n");
    }
    // The raw bytes, not a JSON rendering of them.
    assert_eq!(read(results.join("1/stdout")), b"\n\xff\xfe");
    assert_eq!(read(results.join("2/stdout")), b"\nexit=6");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn scratch_gives_each_input_a_fresh_empty_folder_kept_under_results() {
    let dir = folder("scratch-results");
    let results = dir.join("out");
    let output = hecaton(
        &[
            "map",
            ECHO,
            "-j1",
            "--scratch",
            "/work",
            "--results",
            results.to_str().unwrap(),
            "--",
            "list=/work",
            "write=/work/made.txt={}",
            "list=/work",
            ":::",
            "a",
            "b",
            "c",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for (index, input) in ["a", "b", "c"].iter().enumerate() {
        let record = &records(&output)[index];
        let stdout = record["stdout"].as_str().unwrap();
        // Empty when the task starts (nothing of the task before it), then the task's file.
        assert!(stdout.contains("/work: \n/work: made.txt\n"), "{stdout}");
        assert_eq!(
            read(results.join(format!("{index}/work/made.txt"))),
            input.as_bytes()
        );
    }
    assert!(
        !results.join(".scratch").exists(),
        "the scratch root is removed"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn scratch_folders_are_removed_when_there_are_no_results() {
    let tmp = folder("scratch-removed");
    let output = hecaton_command(&[
        "map",
        ECHO,
        "--scratch",
        "/out",
        "--",
        "write=/out/x={}",
        ":::",
        "1",
        "2",
    ])
    .env("TMPDIR", &tmp)
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for record in records(&output) {
        assert_eq!(record["exit_code"], 0, "{record}");
    }
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // And the map says so, with the flag that would have kept them.
    assert!(
        stderr(&output).contains("add --results DIR (input N's files are then in DIR/N/out)"),
        "{}",
        stderr(&output)
    );
    std::fs::remove_dir_all(tmp).unwrap();
}

#[test]
fn a_symbolic_link_a_guest_planted_in_its_scratch_folder_is_not_kept_under_results() {
    let dir = folder("scratch-symlink");
    let results = dir.join("out");
    let output = hecaton(
        &[
            "map",
            ECHO,
            "--scratch",
            "/work",
            "--results",
            results.to_str().unwrap(),
            "--",
            "link=/work/passwd=../../../../../../../../etc/passwd",
            "write=/work/made.txt={}",
            ":::",
            "a",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        records(&output)[0]["exit_code"],
        0,
        "the guest made its link"
    );
    assert_eq!(read(results.join("0/work/made.txt")), b"a");
    assert!(
        std::fs::symlink_metadata(results.join("0/work/passwd")).is_err(),
        "the planted link is gone"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn without_scratch_a_command_cannot_write_anywhere() {
    let output = hecaton(&["map", ECHO, "--", "write=/out/x={}", ":::", "1"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(records(&output)[0]["exit_code"], 3);
}

#[test]
fn fail_nonzero_stops_a_fail_fast_map_at_the_first_nonzero_exit() {
    let output = hecaton(
        &[
            "map",
            ECHO,
            "--arg",
            "--fail-nonzero",
            "-j1",
            "exit=0",
            "exit=4",
            "exit=0",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(records(&output).len(), 1);
    assert_stderr_has(&output, "input 1 failed: the command exited with code 4");
    // With the end of what it said on stderr, which tells why.
    assert_stderr_has(&output, "its stderr ended with:\n  to stderr");
}

#[test]
fn fail_nonzero_with_keep_going_records_the_commands_output_and_is_retried() {
    let output = hecaton(
        &[
            "map",
            ECHO,
            "--arg",
            "--fail-nonzero",
            "--keep-going",
            "--retries",
            "2",
            "exit=0",
            "exit=4",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let records = records(&output);
    assert_eq!(records[0]["exit_code"], 0);
    let failed = &records[1];
    assert_eq!(failed["error"]["kind"], "nonzero_exit");
    assert_eq!(failed["attempts"], 3);
    assert_eq!(failed["exit_code"], 4);
    assert_eq!(failed["stdout"], "exit=4\n");
    assert_eq!(failed["stderr"], "to stderr");
}

#[test]
fn without_fail_nonzero_an_exit_code_is_part_of_the_output() {
    let output = hecaton(&["map", ECHO, "--arg", "exit=4"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(records(&output)[0]["exit_code"], 4);
}

#[test]
fn command_flags_are_refused_for_a_function_task() {
    for flag in ["--scratch=/out", "--fail-nonzero", "--argv=x", "--lines"] {
        let output = hecaton(&["map", SQUARE, "--invoke", "square", flag, "1"], b"");
        assert_eq!(output.status.code(), Some(2), "{flag}");
        let name = flag.split('=').next().unwrap();
        assert_stderr_has(&output, &format!("{name} is for a WASI command"));
    }
}

#[test]
fn replace_leaves_an_arguments_own_braces_as_written() {
    // A script's `{}` is not the input when -I names another placeholder (parallel's -I).
    let output = hecaton(
        &[
            "map",
            ECHO,
            "-I",
            "@@",
            "--",
            "d = {}",
            "f(@@, {#})",
            ":::",
            "x",
            "y",
        ],
        b"",
    );
    assert_eq!(
        command_stdouts(&output),
        ["d = {} f(x, 0)\n", "d = {} f(y, 1)\n"]
    );
    // Without it, GNU parallel's `{}` stands for the input.
    let output = hecaton(&["map", ECHO, "--", "d = {}", ":::", "x"], b"");
    assert_eq!(command_stdouts(&output), ["d = x\n"]);
}

#[test]
fn parallels_separators_are_taken_as_parallel_takes_them_or_refused_by_name() {
    // `:::` opening the inputs, without `--`: the inputs follow it.
    let output = hecaton(&["map", ECHO, "--arg", ":::", "a", "b"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(command_stdouts(&output), ["a\n", "b\n"]);
    let output = hecaton(&["map", SQUARE, "--invoke", "square", ":::", "2", "3"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "4\n9\n");
    // A second `:::` (parallel: the cartesian product), `::::` (parallel: inputs from files)
    // and the linked `:::+`: refused naming the spelling, nothing run.
    for (args, named) in [
        (&["--", "{}", ":::", "a", ":::", "b"][..], "a second `:::`"),
        (&["--", "{}", "::::", "list.txt"][..], "`::::`"),
        (&["--arg", ":::", "a", ":::", "b"][..], "a second `:::`"),
        (&["--", "{}", ":::", "a", ":::+", "b"][..], "`:::+`"),
    ] {
        let mut all = vec!["map", ECHO];
        all.extend_from_slice(args);
        let output = hecaton(&all, b"");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(stdout(&output), "", "{args:?}");
        assert_stderr_has(&output, named);
    }
}

#[test]
fn a_scratch_folder_at_a_granted_directorys_guest_path_is_refused() {
    let granted = folder("scratch-over-dir");
    let dir = format!("{}::/out", granted.display());
    for scratch in ["/out", "/out/"] {
        let output = hecaton(
            &[
                "map",
                ECHO,
                "--dir",
                &dir,
                "--scratch",
                scratch,
                "--",
                "{}",
                ":::",
                "a",
            ],
            b"",
        );
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert_stderr_has(&output, "one guest path, one folder");
    }
    let twice = hecaton(
        &[
            "map", ECHO, "--dir", &dir, "--dir", &dir, "--", "{}", ":::", "a",
        ],
        b"",
    );
    assert_eq!(twice.status.code(), Some(2), "{}", stderr(&twice));
    assert_stderr_has(&twice, "already granted at /out");
}

#[test]
fn scratch_given_twice_gives_each_input_two_fresh_folders_both_kept_under_results() {
    let dir = folder("scratch-twice");
    let results = dir.join("out");
    let output = hecaton(
        &[
            "map",
            ECHO,
            "--scratch",
            "/out",
            "--scratch",
            "/tmp",
            "--results",
            results.to_str().unwrap(),
            "--",
            "list=/tmp",
            "write=/out/made.txt={}",
            "write=/tmp/scratch.txt={}",
            ":::",
            "a",
            "b",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for (index, input) in ["a", "b"].iter().enumerate() {
        assert_eq!(records(&output)[index]["exit_code"], 0);
        let stdout = records(&output)[index]["stdout"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(stdout.contains("/tmp: \n"), "empty at the start: {stdout}");
        assert_eq!(
            read(results.join(format!("{index}/out/made.txt"))),
            input.as_bytes()
        );
        assert_eq!(
            read(results.join(format!("{index}/tmp/scratch.txt"))),
            input.as_bytes()
        );
    }
    for overlapping in [["/out", "/out"], ["/out", "/out/x"]] {
        let refused = hecaton(
            &[
                "map",
                ECHO,
                "--scratch",
                overlapping[0],
                "--scratch",
                overlapping[1],
                "--",
                "{}",
                ":::",
                "a",
            ],
            b"",
        );
        assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
        assert_stderr_has(&refused, "one guest path, one folder");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
