use std::time::{Duration, Instant};

use hecaton::{CommandOutput, Process, Stdio, TaskError};
use hecaton_tests::fixture;
use hecaton_tests::guests::{ECHO, GREET, PROBE};

use crate::load;

#[test]
fn five_processes_report_their_names_and_ids() {
    let module = load(GREET);
    let processes: Vec<Process> = (0..5)
        .map(|i| Process::spawn(&module, "greet", &format!("Process-{i}")).unwrap())
        .collect();
    let ids: Vec<u64> = processes.iter().map(Process::id).collect();
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        5,
        "ids are unique"
    );
    for (i, process) in processes.into_iter().enumerate() {
        let id = process.id();
        assert_eq!(
            process.join::<String>().unwrap(),
            format!("Child process Process-{i} is running, process ID is: {id}")
        );
    }
}

#[test]
fn kill_interrupts_a_running_task() {
    for (module, task) in [
        (load(PROBE), "spin_forever"),
        (load(fixture("loop-forever.wat")), "spin"),
    ] {
        let process = Process::spawn(&module, task, &()).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(!process.is_finished());
        let killed = Instant::now();
        process.kill();
        assert_eq!(process.join::<u64>(), Err(TaskError::Cancelled));
        assert!(killed.elapsed() < Duration::from_secs(2));
    }
}

#[test]
fn is_finished_turns_true_when_the_task_ends() {
    let process = Process::spawn(&load(PROBE), "answer", &()).unwrap();
    let started = Instant::now();
    while !process.is_finished() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the task never finished"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(process.join::<u32>(), Ok(42));
}

#[test]
fn command_gets_argv_and_stdin_and_returns_output_and_exit_code() {
    let process = Process::builder(&load(ECHO))
        .spawn_command(
            vec!["a".into(), "b c".into(), "exit=7".into()],
            Stdio::Capture {
                stdin: b"from stdin".to_vec(),
            },
        )
        .unwrap();
    let output: CommandOutput = process.join().unwrap();
    assert_eq!(output.exit_code, 7);
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "a b c exit=7\nfrom stdin"
    );
    assert_eq!(output.stderr, b"to stderr");
}

#[test]
fn a_process_retries_a_failed_task_in_the_attempt_loop_of_a_map() {
    // `attempt_or_fail(n)` fails until its attempt `n`, then returns the attempt.
    let module = crate::load(hecaton_tests::guests::ADVERSARY);
    let retried = hecaton::Process::builder(&module)
        .retries(2)
        .spawn("attempt_or_fail", &3)
        .unwrap();
    assert_eq!(retried.join::<u32>(), Ok(3));
    let once = hecaton::Process::spawn(&module, "attempt_or_fail", &3).unwrap();
    assert_eq!(
        once.join::<u32>(),
        Err(hecaton::TaskError::Guest {
            message: "attempt 1 failed".into()
        })
    );
}
