//! A command-line tool that tells the truth in real pipes: write errors, closed pipes, flags
//! wherever they stand, a slow producer, and the small things a new user trips on.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use hecaton_tests::guests::{PROBE, ROOT, WAT_SQUARE};

use crate::cli::{assert_exit, assert_stderr_has, hecaton, hecaton_command, stderr, stdout};

/// `hecaton ARGS` with stdout going to `stdout`, stdin closed; its exit code and stderr.
fn with_stdout(args: &[&str], stdout: Stdio) -> (Option<i32>, String) {
    let output = hecaton_command(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn dev_full() -> Stdio {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
        .into()
}

#[test]
fn a_full_disk_is_a_failure_named_on_stderr_for_every_subcommand() {
    let inputs: Vec<String> = (1..=3000).map(|i| i.to_string()).collect();
    let mut map = vec!["map", WAT_SQUARE, "--invoke", "square", "-q"];
    map.extend(inputs.iter().map(String::as_str));
    for args in [
        map,
        vec!["run", WAT_SQUARE, "--invoke", "square", "3"],
        vec!["inspect", WAT_SQUARE],
        vec!["inspect", WAT_SQUARE, "--json"],
        vec!["completions", "bash"],
    ] {
        let (code, stderr) = with_stdout(&args, dev_full());
        assert_eq!(code, Some(4), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write the output: No space left on device"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// Runs `hecaton ARGS`, reads one line of its stdout and closes the pipe.
fn head_1(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = hecaton_command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for i in 1..=200_000 {
            if writeln!(stdin, "{i}").is_err() {
                break;
            }
        }
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    (
        output.status.code(),
        line,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_is_a_quiet_successful_stop() {
    let (code, line, stderr) = head_1(&["map", WAT_SQUARE, "--invoke", "square", "-q"]);
    assert_eq!((code, line.as_str(), stderr.as_str()), (Some(0), "1\n", ""));
    for args in [
        &["completions", "zsh"][..],
        &["inspect", WAT_SQUARE],
        &["--help"],
    ] {
        let (code, _, stderr) = head_1(args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

fn squares(args: &[&str], stdin: &[u8]) -> String {
    let output = hecaton(args, stdin);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{args:?}: {}",
        stderr(&output)
    );
    stdout(&output)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn options_are_read_wherever_they_stand() {
    let m = WAT_SQUARE;
    assert_eq!(
        squares(
            &["map", m, "--invoke", "square", "1", "2", "3", "-j", "1"],
            b""
        ),
        "1 4 9"
    );
    assert_eq!(
        squares(&["map", m, "--invoke", "square", "1", "2", "-q"], b""),
        "1 4"
    );
    assert_eq!(
        squares(&["map", m, "--invoke", "square", "-j2"], b"3\n"),
        "9"
    );
    assert_eq!(
        squares(&["map", m, "-j2", "--invoke", "square"], b"3\n"),
        "9"
    );
    assert_eq!(squares(&["run", m, "5", "--invoke", "square"], b""), "25");
    assert_eq!(squares(&["run", m, "--invoke", "square", "-5"], b""), "25");
}

#[test]
fn inputs_that_look_like_options_go_after_a_double_dash() {
    let m = WAT_SQUARE;
    let output = hecaton(
        &["map", m, "--invoke", "square", "--", "1", "-2", "-j"],
        b"",
    );
    // `-j` after `--` is an input: a string, which `square` refuses as bad input.
    assert_eq!(stdout(&output), "1\n4\n");
    assert_exit(&output, 1);
    assert_stderr_has(&output, "input 2 failed");
    // Before `--`, an unknown option is refused, naming it, and nothing runs.
    let output = hecaton(&["map", m, "--invoke", "square", "1", "--frobnicate"], b"");
    assert_exit(&output, 2);
    assert_eq!(stdout(&output), "");
    assert_stderr_has(&output, "--frobnicate");
}

#[test]
fn output_streams_while_the_input_is_slow() {
    let mut child = hecaton_command(&["map", WAT_SQUARE, "--invoke", "square", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "7").unwrap();
    stdin.flush().unwrap();
    let (sender, lines) = mpsc::channel();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        let mut line = String::new();
        while stdout.read_line(&mut line).is_ok_and(|read| read > 0) {
            let _ = sender.send(std::mem::take(&mut line));
        }
    });
    // The first output arrives while stdin is still open: nothing more has been written.
    let first = lines.recv_timeout(Duration::from_secs(20));
    assert_eq!(first.as_deref(), Ok("49\n"));
    writeln!(stdin, "8").unwrap();
    drop(stdin);
    assert_eq!(
        lines.recv_timeout(Duration::from_secs(20)).as_deref(),
        Ok("64\n")
    );
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_blank_last_line_is_skipped_and_a_blank_line_inside_is_an_input() {
    let m = WAT_SQUARE;
    assert_eq!(
        squares(&["map", m, "--invoke", "square"], b"1\n2\n\n\r\n"),
        "1 4"
    );
    let output = hecaton(
        &["map", m, "--invoke", "square", "--keep-going"],
        b"1\n\n3\n",
    );
    let lines: Vec<&str> = std::str::from_utf8(&output.stdout)
        .unwrap()
        .lines()
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!((lines[0], lines[2]), ("1", "9"));
    assert!(lines[1].contains(r#""kind":"bad_input""#), "{}", lines[1]);
    assert!(lines[1].contains(r#""line":2"#), "{}", lines[1]);
}

#[test]
fn several_inputs_for_a_two_parameter_task_say_it_expects_two_arguments() {
    for (module, task) in [(PROBE, "checked_divide"), (WAT_SQUARE, "add")] {
        let output = hecaton(
            &["map", module, "--invoke", task, "--keep-going", "1", "2"],
            b"",
        );
        assert!(
            stdout(&output).contains("expects 2 arguments"),
            "{task}: {}",
            stdout(&output)
        );
    }
}

#[test]
fn an_os_error_is_said_once() {
    let output = hecaton(&["run", "no-such-module.wasm", "--invoke", "f"], b"");
    assert_exit(&output, 2);
    assert_eq!(
        stderr(&output).matches("No such file or directory").count(),
        1,
        "{}",
        stderr(&output)
    );
}

/// The options listed under `heading:` in `help`, up to the next heading.
fn options_under<'h>(help: &'h str, heading: &str) -> Vec<&'h str> {
    let mut current = "";
    let mut options = Vec::new();
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            current = line.trim_end_matches(':');
        } else if current == heading {
            let option = line
                .trim_start()
                .split([' ', ',', '='])
                .find(|w| w.starts_with("--"));
            options.extend(option.filter(|_| line.trim_start().starts_with('-')));
        }
    }
    assert!(
        !options.is_empty(),
        "no options under {heading:?} in:\n{help}"
    );
    options
}

#[test]
fn map_help_puts_each_option_under_its_own_heading() {
    let help = stdout(&hecaton(&["map", "--help"], b""));
    assert_eq!(
        options_under(&help, "Compile cache"),
        ["--cache-dir", "--no-cache", "--allow-precompiled"]
    );
    assert!(options_under(&help, "Inputs and outputs").contains(&"--keep-going"));
    assert!(options_under(&help, "Scheduling").contains(&"--isolation"));
    let commands = options_under(&help, "WASI commands (a module with `_start`, no --invoke)");
    assert!(commands.contains(&"--argv"), "{commands:?}");
}

#[test]
fn compile_help_shows_only_what_changes_compiled_code() {
    let help = stdout(&hecaton(&["compile", "--help"], b""));
    for shown in ["--fuel", "--max-stack", "--output"] {
        assert!(help.contains(shown), "{help}");
    }
    for hidden in ["--max-memory", "--timeout", "--dir", "--max-output"] {
        assert!(!help.contains(hidden), "{hidden} in:\n{help}");
    }
}

#[test]
fn a_mistyped_task_suggests_the_nearest() {
    let output = hecaton(&["run", WAT_SQUARE, "--invoke", "sqare", "3"], b"");
    assert_exit(&output, 2);
    assert_stderr_has(&output, "has no task `sqare` (did you mean `square`?)");
}

#[test]
fn inspect_takes_a_crate_folder() {
    let output = hecaton(&["inspect", "examples/guests/square"], b"");
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("square"), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("function task"),
        "{}",
        stdout(&output)
    );
}

/// Runs `command` on a pseudo-terminal (util-linux `script`): what a person sees, stdout and
/// stderr together.
fn on_a_terminal(command: &str) -> String {
    let output = Command::new("script")
        .args(["-qefc", command, "/dev/null"])
        .current_dir(ROOT)
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn on_a_terminal_a_cold_compile_is_announced_and_the_bar_counts_to_a_total() {
    let dir = std::env::temp_dir().join(format!("hecaton-terminal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let inputs = dir.join("naps.txt");
    // 20 naps of 60 ms on one worker: the bar is drawn; two inputs are not numbers.
    let lines: String = (1..=20)
        .map(|i| {
            if i % 8 == 3 {
                "\"x\"\n".to_owned()
            } else {
                "60\n".to_owned()
            }
        })
        .collect();
    std::fs::write(&inputs, lines).unwrap();
    let command = format!(
        "{} map {PROBE} --invoke nap -j 1 --keep-going --input {} --cache-dir {} > /dev/null",
        env!("CARGO_BIN_EXE_hecaton"),
        inputs.display(),
        dir.join("cache").display()
    );
    let screen = on_a_terminal(&command);
    assert!(
        screen.contains("compiling") && screen.contains("(cached for next time)"),
        "{screen:?}"
    );
    assert!(screen.contains("/20 tasks"), "{screen:?}");
    assert!(screen.contains("2 failed"), "{screen:?}");
    let rate = screen.split("/s").next().unwrap_or_default();
    assert!(
        rate.rsplit(' ')
            .next()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())),
        "a whole-number rate: {screen:?}"
    );
    // The second run finds the module in the cache: no announcement.
    let screen = on_a_terminal(&command);
    assert!(!screen.contains("compiling"), "{screen:?}");
}

/// The visible screen of tmux session `session`.
fn screen_of(session: &str) -> String {
    let output = Command::new("tmux")
        .args(["capture-pane", "-p", "-t", session])
        .output()
        .expect("tmux runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Waits up to 30 s for `session`'s screen to hold `text`; the screen.
fn wait_for_screen(session: &str, text: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let screen = screen_of(session);
        if screen.contains(text) || std::time::Instant::now() > deadline {
            return screen;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `hecaton map PROBE --invoke nap -j 1` of `naps` (one nap's milliseconds a line), its
/// stdout to `redirect`, started in a detached tmux session `rows` rows high: the session, and
/// the folder of its inputs and compile cache. The shell says `exit=N` when hecaton ends.
fn naps_on_a_terminal(name: &str, naps: &str, redirect: &str, rows: u16) -> (String, PathBuf) {
    let dir = std::env::temp_dir().join(format!("hecaton-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let inputs = dir.join("naps.txt");
    std::fs::write(&inputs, naps).unwrap();
    let session = format!("hecaton-{name}-{}", std::process::id());
    let command = format!(
        "{} map {PROBE} --invoke nap -j 1 --input {} --cache-dir {} {redirect}; echo exit=$?; sleep 60",
        env!("CARGO_BIN_EXE_hecaton"),
        inputs.display(),
        dir.join("cache").display()
    );
    let rows = rows.to_string();
    let started = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "150",
            "-y",
            &rows,
            &command,
        ])
        .status()
        .expect("tmux runs");
    assert!(started.success());
    (session, dir)
}

/// Ends tmux session `session`.
fn kill_session(session: &str) {
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", session])
        .status();
}

#[test]
fn ctrl_c_on_a_terminal_clears_the_progress_bar_and_exits_130() {
    let (session, dir) = naps_on_a_terminal("ctrl-c", &"50\n".repeat(400), "> /dev/null", 20);
    let drawn = wait_for_screen(&session, "/400 tasks");
    // SIGINT as Ctrl-C sends it, to hecaton alone: tmux's own `send-keys C-c` also makes the
    // terminal driver discard output tmux has not read yet (a frame of the bar half drawn),
    // which no program can clear up after.
    let _ = Command::new("pkill")
        .args([
            "-INT",
            "-f",
            &format!("^{} map .*{}", env!("CARGO_BIN_EXE_hecaton"), dir.display()),
        ])
        .status();
    let after = wait_for_screen(&session, "exit=");
    kill_session(&session);
    assert!(
        drawn.contains("/400 tasks"),
        "the bar was never drawn: {drawn:?}"
    );
    assert!(after.contains("exit=130"), "{after:?}");
    assert!(after.contains("hecaton: interrupted at input"), "{after:?}");
    assert!(
        !after.contains("tasks"),
        "the bar is still on the screen: {after:?}"
    );
}

#[test]
fn outputs_on_the_terminal_of_the_progress_bar_leave_no_bar_line_between_them() {
    // Naps long enough for the bar to be drawn between one output and the next.
    let (session, dir) = naps_on_a_terminal("bar", &"150\n".repeat(12), "", 40);
    let screen = wait_for_screen(&session, "exit=");
    kill_session(&session);
    let lines: Vec<&str> = screen
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert!(screen.contains("exit=0"), "{screen:?}");
    assert!(
        !screen.contains("tasks"),
        "a progress bar line is left on the screen: {screen:?}"
    );
    let outputs = lines.iter().filter(|line| line.trim() == "150").count();
    assert_eq!(outputs, 12, "12 outputs, each on its own line: {screen:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_command_under_run_whose_stdout_closes_stops_quietly() {
    let flood = hecaton_tests::fixture("command-stdout-flood.wat");
    let mut child = hecaton_command(&["run", flood.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    std::io::Read::read_exact(&mut child.stdout.take().unwrap(), &mut first).unwrap();
    // The reader has read enough and closed the pipe, as `| head -c 10` does.
    let output = child.wait_with_output().unwrap();
    assert_eq!(&first, b"xxxxxxxxxx");
    assert_exit(&output, 0);
    assert_eq!(stderr(&output), "");
}

#[test]
fn placeholders_put_each_input_and_its_index_inside_fixed_arguments() {
    let echo = hecaton_tests::guests::ECHO;
    let output = hecaton(
        &[
            "map",
            echo,
            "--lines",
            "--arg",
            "--argv=-p",
            "--argv=read {}.v; n={#}",
            "--argv=-o",
        ],
        b"alu\nfpu\n",
    );
    assert_exit(&output, 0);
    let records: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    // `{}` placed the input: it is not appended again.
    assert_eq!(records[0]["stdout"], "-p read alu.v; n=0 -o\n");
    assert_eq!(records[1]["stdout"], "-p read fpu.v; n=1 -o\n");
    // Without `{}`, --arg appends the input; `{#}` still counts.
    let output = hecaton(
        &["map", echo, "--lines", "--arg", "--argv=job-{#}"],
        b"x\ny\n",
    );
    let text = stdout(&output);
    assert!(text.contains(r#""stdout":"job-0 x\n""#), "{text}");
    assert!(text.contains(r#""stdout":"job-1 y\n""#), "{text}");
}
