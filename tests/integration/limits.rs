//! Every limit over its whole range — 0, 1, each side of every internal boundary, the maximum and
//! one past it — through `run`, `map` and `Process`: a documented outcome (the task's result, a
//! limit error, or a refusal that names the flag and its maximum), never a signal. The stack
//! limit above all: a thread too small for it aborts the whole process, so every thread that
//! runs wasm is sized for it.

use std::os::unix::process::ExitStatusExt;
use std::process::Output;

use hecaton::{Engine, MAX_STACK, Module, Process, TaskError};
use hecaton_tests::fixture;

/// The WAT `square`: one 64 KiB page of memory, no table, a 2-byte output for 7.
const SQUARE: &str = "examples/wat/square.wat";

use crate::cli::{assert_exit, assert_stderr_has, hecaton, stderr, stdout};

/// wasm stack limits around every boundary there is: the default (512 KiB), a Rust thread's
/// default stack (2 MiB) and the sizes just below it that used to abort, wasmtime's default
/// async stack (2 MiB), and hecaton's maximum.
const STACKS: [usize; 10] = [
    1,
    1 << 10,
    512 << 10,
    2000 << 10,
    2040 << 10,
    2 << 20,
    2100 << 10,
    3 << 20,
    MAX_STACK - 1,
    MAX_STACK,
];

/// Asserts that hecaton ended by exiting (no signal, no panic) with one of `codes`.
fn assert_ended_with(output: &Output, codes: &[i32], case: &str) {
    assert_eq!(
        output.status.signal(),
        None,
        "{case}: killed by a signal; stderr:\n{}",
        stderr(output)
    );
    assert!(
        !stderr(output).contains("panicked"),
        "{case}: a panic:\n{}",
        stderr(output)
    );
    let code = output.status.code().unwrap_or(-1);
    assert!(
        codes.contains(&code),
        "{case}: exit {code}, expected one of {codes:?}; stderr:\n{}",
        stderr(output)
    );
}

#[test]
fn endless_recursion_calling_wasi_is_a_stack_overflow_at_every_stack_limit() {
    let module = fixture("recursion-calls-wasi.wat");
    let module = module.to_str().unwrap();
    for bytes in STACKS {
        let size = format!("{bytes}B");
        let run = hecaton(
            &["run", module, "--max-stack", &size, "--invoke", "rec", "1"],
            b"",
        );
        assert_ended_with(&run, &[3], &format!("run --max-stack {size}"));
        assert_stderr_has(&run, "stack overflow");
        let map = hecaton(
            &[
                "map",
                module,
                "--max-stack",
                &size,
                "--invoke",
                "rec",
                "--keep-going",
                "-j2",
                "1",
                "2",
                "3",
            ],
            b"",
        );
        // A `--keep-going` map whose inputs failed exits 1, each failure its record.
        assert_ended_with(&map, &[1], &format!("map --max-stack {size}"));
        assert_eq!(
            stdout(&map).matches("stack_overflow").count(),
            3,
            "map --max-stack {size}: one error record per input:\n{}",
            stdout(&map)
        );
    }
}

#[test]
fn a_stack_limit_out_of_range_is_refused_naming_the_flag_and_its_maximum() {
    let module = fixture("recursion-calls-wasi.wat");
    let module = module.to_str().unwrap();
    let past = format!("{}B", MAX_STACK + 1);
    for size in ["0B", past.as_str(), "1GiB", "16000000000GiB"] {
        for command in ["run", "map"] {
            let output = hecaton(
                &[command, module, "--max-stack", size, "--invoke", "rec", "1"],
                b"",
            );
            assert_ended_with(&output, &[2], &format!("{command} --max-stack {size}"));
            assert_stderr_has(&output, "--max-stack");
            assert_stderr_has(&output, "at most 67108864 (64MiB)");
        }
    }
    let help = hecaton(&["run", "--help"], b"");
    assert!(stdout(&help).contains("at most 64MiB"), "{}", stdout(&help));
}

#[test]
fn a_process_at_every_stack_limit_overflows_as_a_task_error() {
    let path = fixture("recursion-calls-wasi.wat");
    for bytes in STACKS {
        let engine = Engine::builder().max_stack(bytes).build().unwrap();
        let module = Module::from_file_in(&engine, &path).unwrap();
        let ended = Process::spawn(&module, "rec", &1).unwrap().join::<i64>();
        assert_eq!(ended, Err(TaskError::StackOverflow), "max_stack {bytes}");
    }
    for bytes in [0, MAX_STACK + 1, usize::MAX] {
        let refused = Engine::builder().max_stack(bytes).build();
        assert!(
            matches!(refused, Err(hecaton::Error::Config(_))),
            "max_stack {bytes}: {refused:?}"
        );
    }
}

#[test]
fn a_module_of_a_larger_stack_is_refused_by_a_pool_made_for_a_smaller_one() {
    let small = Engine::builder().max_stack(256 << 10).build().unwrap();
    let large = Engine::builder().max_stack(8 << 20).build().unwrap();
    let module = Module::from_file_in(&large, fixture("recursion-calls-wasi.wat")).unwrap();
    let pool = hecaton::Pool::builder()
        .workers(1)
        .engine(&small)
        .build()
        .unwrap();
    let refused = pool.map::<i64, i64>(&module, "rec", [1]);
    assert!(
        matches!(&refused, Err(hecaton::Error::Config(message)) if message.contains("wasm stack")),
        "{refused:?}"
    );
}

/// One limit flag's value and the exit codes it may end with on `square 7`.
struct Case {
    flag: &'static str,
    value: &'static str,
    codes: &'static [i32],
}

const fn case(flag: &'static str, value: &'static str, codes: &'static [i32]) -> Case {
    Case { flag, value, codes }
}

/// Every other limit flag over its range, on the WAT `square` (one 64 KiB page of memory).
const CASES: &[Case] = &[
    case("--max-memory", "0B", &[2]),
    case("--max-memory", "1B", &[2]),
    case("--max-memory", "65535B", &[2]),
    case("--max-memory", "65536B", &[0]),
    case("--max-memory", "4GiB", &[0]),
    case("--max-memory", "4294967297B", &[0]),
    case("--max-memory", "17179869183GiB", &[0]),
    case("--max-memory", "17179869184GiB", &[2]),
    case("--max-memory", "64", &[2]),
    case("--max-output", "0B", &[3]),
    case("--max-output", "1B", &[3]),
    case("--max-output", "2B", &[0]),
    case("--max-output", "16000000000GiB", &[0]),
    case("--max-table-elements", "0", &[0]),
    case("--max-table-elements", "1048576", &[0]),
    case("--max-table-elements", "1048577", &[2]),
    case("--max-table-elements", "18446744073709551615", &[2]),
    case("--timeout", "0ms", &[0, 3]),
    case("--timeout", "1ms", &[0, 3]),
    case("--timeout", "1h", &[0]),
    case("--timeout", "1e300h", &[2]),
    case("--timeout", "5000000000000000000s", &[0]),
    case("--timeout", "3", &[2]),
    case("--fuel", "0", &[3]),
    case("--fuel", "1", &[3]),
    case("--fuel", "18446744073709551615", &[0]),
    case("--fuel", "18446744073709551616", &[2]),
];

#[test]
fn every_limit_flag_over_its_range_ends_as_documented_never_by_a_signal() {
    for Case { flag, value, codes } in CASES {
        for command in ["run", "map"] {
            let output = hecaton(
                &[command, SQUARE, *flag, value, "--invoke", "square", "7"],
                b"",
            );
            let case = format!("{command} {flag} {value}");
            assert_ended_with(&output, codes, &case);
            match output.status.code() {
                Some(0) => assert_eq!(stdout(&output), "49\n", "{case}"),
                Some(2) => assert_stderr_has(&output, flag),
                _ => {}
            }
        }
    }
}

#[test]
fn a_size_without_a_unit_is_refused_as_a_duration_without_one_is() {
    let output = hecaton(
        &[
            "run",
            SQUARE,
            "--max-memory",
            "64",
            "--invoke",
            "square",
            "7",
        ],
        b"",
    );
    assert_exit(&output, 2);
    assert_stderr_has(&output, "needs a unit");
}
