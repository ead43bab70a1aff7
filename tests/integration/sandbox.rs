//! Limits obeyed and violated, one pair per limit, on the readable `.wat` adversaries.

use std::time::{Duration, Instant};

use hecaton::{CommandOutput, Engine, Limits, Module, Pool, Process, Stdio, TaskError};
use hecaton_tests::fixture;
use hecaton_tests::guests::{ADVERSARY, ECHO, SQUARE};

use crate::load;

fn run_limited<O: serde::de::DeserializeOwned>(
    module: &Module,
    task: &str,
    limits: Limits,
) -> Result<O, TaskError> {
    Process::builder(module)
        .limits(limits)
        .spawn(task, &())
        .unwrap()
        .join()
}

fn timeout(ms: u64) -> Limits {
    Limits::default().timeout(Some(Duration::from_millis(ms)))
}

#[test]
fn timeout_obeyed() {
    let squared: i64 = Process::builder(&load(SQUARE))
        .limits(timeout(5_000))
        .spawn("square", &4)
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(squared, 16);
}

#[test]
fn timeout_violated_in_wasm_code() {
    let started = Instant::now();
    let outcome = run_limited::<u64>(&load(fixture("loop-forever.wat")), "spin", timeout(200));
    assert_eq!(outcome, Err(TaskError::Timeout(Duration::from_millis(200))));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn timeout_violated_in_a_start_function() {
    let outcome = run_limited::<i32>(&load(fixture("iloop-start.wat")), "noop", timeout(200));
    assert_eq!(outcome, Err(TaskError::Timeout(Duration::from_millis(200))));
}

#[test]
fn timeout_violated_in_the_guest_allocator() {
    let module = load(fixture("iloop-alloc.wat"));
    let outcome: Result<i32, _> = Process::builder(&module)
        .limits(timeout(200))
        .spawn("task", &1)
        .unwrap()
        .join();
    assert_eq!(outcome, Err(TaskError::Timeout(Duration::from_millis(200))));
}

#[test]
fn timeout_violated_inside_a_wasi_sleep() {
    let started = Instant::now();
    let outcome =
        run_limited::<serde_json::Value>(&load(fixture("sleep-forever.wat")), "nap", timeout(300));
    assert_eq!(outcome, Err(TaskError::Timeout(Duration::from_millis(300))));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn kill_interrupts_a_wasi_sleep() {
    let process = Process::spawn(&load(fixture("sleep-forever.wat")), "nap", &()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    process.kill();
    assert_eq!(
        process.join::<serde_json::Value>(),
        Err(TaskError::Cancelled)
    );
}

fn fuel_engine() -> Engine {
    Engine::builder().fuel(true).build().unwrap()
}

#[test]
fn fuel_obeyed() {
    let module = Module::from_file_in(&fuel_engine(), SQUARE).unwrap();
    let limits = Limits::default().fuel(Some(1_000_000));
    let squared: i64 = Process::builder(&module)
        .limits(limits)
        .spawn("square", &5)
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(squared, 25);
}

#[test]
fn fuel_violated() {
    let module = Module::from_file_in(&fuel_engine(), fixture("loop-forever.wat")).unwrap();
    let outcome = run_limited::<u64>(&module, "spin", Limits::default().fuel(Some(1_000_000)));
    assert_eq!(outcome, Err(TaskError::OutOfFuel));
}

#[test]
fn fuel_needs_an_engine_that_meters_it() {
    let error = Process::builder(&load(SQUARE))
        .limits(Limits::default().fuel(Some(10)))
        .spawn("square", &1)
        .unwrap_err();
    assert!(matches!(error, hecaton::Error::Config(_)), "{error}");
}

/// `recursion-to-depth.wat` compiled for an engine whose wasm stack limit is `max_stack` bytes.
fn recursion_under(max_stack: usize) -> Module {
    let engine = Engine::builder().max_stack(max_stack).build().unwrap();
    Module::from_file_in(&engine, fixture("recursion-to-depth.wat")).unwrap()
}

/// `descend(depth)`: `depth` levels of recursion, returning `depth`.
fn descend(module: &Module, depth: i32) -> Result<i32, TaskError> {
    Process::spawn(module, "descend", &depth).unwrap().join()
}

/// The deepest recursion of `module` that returns, found by bisection: every deeper one is a
/// stack overflow.
fn deepest_recursion(module: &Module) -> i32 {
    let (mut returns, mut overflows) = (0, 1 << 24);
    assert_eq!(descend(module, returns), Ok(returns));
    assert_eq!(descend(module, overflows), Err(TaskError::StackOverflow));
    while overflows - returns > 1 {
        let depth = returns + (overflows - returns) / 2;
        match descend(module, depth) {
            Ok(reached) => {
                assert_eq!(reached, depth);
                returns = depth;
            }
            Err(TaskError::StackOverflow) => overflows = depth,
            Err(other) => panic!("descend({depth}): {other:?}"),
        }
    }
    returns
}

#[test]
fn stack_limit_obeyed_by_a_deep_recursion() {
    // 1,000 levels fit in 64 KiB, an eighth of the default limit.
    for max_stack in [hecaton::DEFAULT_MAX_STACK, 64 << 10] {
        assert_eq!(descend(&recursion_under(max_stack), 1_000), Ok(1_000));
    }
}

#[test]
fn stack_limit_violated_by_unbounded_recursion() {
    let outcome: Result<i32, _> =
        Process::spawn(&load(fixture("recursion-deep.wat")), "recurse", &1)
            .unwrap()
            .join();
    assert_eq!(outcome, Err(TaskError::StackOverflow));
}

#[test]
fn smaller_stack_limit_overflows_sooner_and_is_still_a_stack_overflow() {
    let (small_stack, large_stack) = (recursion_under(64 << 10), recursion_under(512 << 10));
    let small = deepest_recursion(&small_stack);
    let large = deepest_recursion(&large_stack);
    // Every level's frame is the same size, so the depth grows with the limit: 8 times the
    // stack holds about 8 times the levels (less the fixed cost of entering wasm).
    assert!(
        small * 6 < large && large < small * 9,
        "deepest recursion: {small} levels under 64 KiB, {large} under 512 KiB"
    );
    assert_eq!(
        descend(&small_stack, small + 1),
        Err(TaskError::StackOverflow)
    );
    assert_eq!(descend(&large_stack, small + 1), Ok(small + 1));
}

#[test]
fn memory_limit_obeyed() {
    let limits = Limits::default().max_memory(4 << 20);
    let squared: i64 = Process::builder(&load(SQUARE))
        .limits(limits)
        .spawn("square", &6)
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(squared, 36);
}

#[test]
fn memory_limit_violated_by_a_growth_bomb() {
    let outcome = run_limited::<i32>(
        &load(fixture("memory-grow-bomb.wat")),
        "grow",
        Limits::default().max_memory(16 << 20),
    );
    assert!(
        matches!(outcome, Err(TaskError::MemoryLimit { limit, .. }) if limit == 16 << 20),
        "{outcome:?}"
    );
}

#[test]
fn a_memory_that_starts_above_the_limit_is_refused_before_any_task_and_obeyed_at_it() {
    let module = load(fixture("memory-huge-initial.wat"));
    let refused = Process::builder(&module)
        .limits(Limits::default())
        .spawn("noop", &());
    assert!(
        matches!(&refused, Err(hecaton::Error::Config(message))
            if message.contains("starts at 1073741824 bytes")),
        "{refused:?}"
    );
    let outcome = run_limited::<i32>(&module, "noop", Limits::default().max_memory(1 << 30));
    assert_eq!(outcome, Ok(0));
}

#[test]
fn table_limit_violated_by_a_table_growth_bomb() {
    let outcome = run_limited::<i32>(
        &load(fixture("table-grow-bomb.wat")),
        "grow",
        Limits::default(),
    );
    assert!(
        matches!(
            outcome,
            Err(TaskError::TableLimit { limit, .. }) if limit == hecaton::DEFAULT_MAX_TABLE_ELEMENTS
        ),
        "{outcome:?}"
    );
}

#[test]
fn table_limit_obeyed_by_a_table_as_large_as_gcc_cc1s() {
    // GCC's cc1 (a 24 MB WASI module) starts with a table of 10,433 functions, which the old
    // default of 10,000 refused.
    let wat = r#"(module
        (table 10433 funcref)
        (func (export "size") (result i32) (table.size 0)))"#;
    let module = hecaton::Module::from_bytes(
        &hecaton::Engine::shared().unwrap(),
        "cc1-table.wat",
        wat.as_bytes(),
    )
    .unwrap();
    let outcome = run_limited::<i32>(&module, "size", Limits::default());
    assert_eq!(outcome, Ok(10_433));
}

#[test]
fn table_limit_counts_all_of_a_tasks_tables_together() {
    let wat = r#"(module
        (table 60000 funcref)
        (table 60000 funcref)
        (func (export "size") (result i32) (table.size 1)))"#;
    let module = hecaton::Module::from_bytes(
        &hecaton::Engine::shared().unwrap(),
        "two-tables.wat",
        wat.as_bytes(),
    )
    .unwrap();
    let outcome = run_limited::<i32>(&module, "size", Limits::default());
    assert!(
        matches!(
            outcome,
            Err(TaskError::TableLimit {
                requested: 120_000,
                limit: 100_000
            })
        ),
        "{outcome:?}"
    );
    let outcome = run_limited::<i32>(
        &module,
        "size",
        Limits::default().max_table_elements(120_000),
    );
    assert_eq!(outcome, Ok(60_000));
}

#[test]
fn proc_exit_in_a_function_task_is_an_exit() {
    let outcome = run_limited::<serde_json::Value>(
        &load(fixture("proc-exit.wat")),
        "quit",
        Limits::default(),
    );
    assert_eq!(outcome, Err(TaskError::Exit(42)));
}

/// The adversary's `huge_output(bytes)` under an output limit of `limit` bytes: it returns a
/// string of `bytes` `x`s, `bytes + 2` bytes of JSON.
fn returned(bytes: u64, limit: u64) -> Result<String, TaskError> {
    Process::builder(&load(ADVERSARY))
        .limits(Limits::default().max_output(limit))
        .spawn("huge_output", &bytes)
        .unwrap()
        .join()
}

#[test]
fn output_limit_obeyed_by_a_result_of_exactly_the_limit() {
    assert_eq!(returned(998, 1000), Ok("x".repeat(998)));
}

#[test]
fn output_limit_violated_by_a_result_one_byte_over() {
    assert_eq!(
        returned(999, 1000),
        Err(TaskError::OutputLimit { limit: 1000 })
    );
}

/// The echo command with `stdin` under an output limit of `limit` bytes: its stdout is an empty
/// line (no arguments) and then `stdin`, its stderr `to stderr`.
fn echoed(stdin: Vec<u8>, limit: u64) -> Result<CommandOutput, TaskError> {
    Process::builder(&load(ECHO))
        .limits(Limits::default().max_output(limit))
        .spawn_command(Vec::new(), Stdio::Capture { stdin })
        .unwrap()
        .join()
}

#[test]
fn output_limit_obeyed_by_a_command_writing_exactly_the_limit() {
    let output = echoed(vec![b'x'; 999], 1000).unwrap();
    assert_eq!(output.stdout.len(), 1000);
    assert_eq!(output.stdout[1..], [b'x'; 999]);
    assert_eq!(output.stderr, b"to stderr");
}

#[test]
fn output_limit_violated_by_a_command_writing_one_byte_over() {
    assert_eq!(
        echoed(vec![b'x'; 1000], 1000),
        Err(TaskError::OutputLimit { limit: 1000 })
    );
}

#[test]
fn output_limit_violated_by_a_flood_that_ignores_write_errors() {
    let started = Instant::now();
    let limits = Limits::default().max_output(1 << 20);
    let outcome =
        run_limited::<serde_json::Value>(&load(fixture("output-flood.wat")), "flood", limits);
    assert_eq!(outcome, Err(TaskError::OutputLimit { limit: 1 << 20 }));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_trap_leaves_nothing_behind_for_the_next_task() {
    let module = load(fixture("state-leak.wat"));
    assert!(matches!(
        run_limited::<serde_json::Value>(&module, "poison", Limits::default()),
        Err(TaskError::Trap { .. })
    ));
    assert_eq!(
        run_limited::<i32>(&module, "probe", Limits::default()),
        Ok(0)
    );
    // On one worker, the probes run right after the poisoning traps, in recycled slots.
    let pool = Pool::builder().workers(1).build().unwrap();
    for _ in 0..20 {
        assert!(
            pool.apply::<_, serde_json::Value>(&module, "poison", &())
                .is_err()
        );
        assert_eq!(pool.apply::<_, i32>(&module, "probe", &()).unwrap(), 0);
    }
}
