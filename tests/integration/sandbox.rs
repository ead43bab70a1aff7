//! Limits obeyed and violated, one pair per limit, on the readable `.wat` adversaries.

use std::time::{Duration, Instant};

use hecaton::{Engine, Limits, Module, Pool, Process, TaskError};
use hecaton_tests::fixture;
use hecaton_tests::guests::SQUARE;

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

#[test]
fn stack_overflow_from_unbounded_recursion() {
    let outcome: Result<i32, _> =
        Process::spawn(&load(fixture("recursion-deep.wat")), "recurse", &1)
            .unwrap()
            .join();
    assert_eq!(outcome, Err(TaskError::StackOverflow));
}

#[test]
fn smaller_stack_limit_overflows_sooner_and_is_still_a_stack_overflow() {
    let engine = Engine::builder().max_stack(64 << 10).build().unwrap();
    let module = Module::from_file_in(&engine, fixture("recursion-deep.wat")).unwrap();
    let outcome: Result<i32, _> = Process::spawn(&module, "recurse", &1).unwrap().join();
    assert_eq!(outcome, Err(TaskError::StackOverflow));
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
fn memory_limit_violated_by_a_huge_initial_memory() {
    let outcome = run_limited::<i32>(
        &load(fixture("memory-huge-initial.wat")),
        "noop",
        Limits::default(),
    );
    assert!(
        matches!(outcome, Err(TaskError::MemoryLimit { requested, .. }) if requested == 1 << 30),
        "{outcome:?}"
    );
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

#[test]
fn output_flood_is_stopped_at_the_output_limit() {
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
