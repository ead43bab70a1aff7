//! Fuzz target: limit values. Every limit drawn from its edges (0, 1, each side of every
//! internal boundary, the maximum and past it, the type's largest value) and at random, on
//! guests that push against each: the engine is made or refused with `Error::Config`, the task
//! is refused or ends (a value or a `TaskError`), and the test process is never killed. A
//! value that aborted the host (a stack limit near 2 MiB did) ends this test binary.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use hecaton::{Engine, Error, Limits, MAX_STACK, MAX_TABLE_ELEMENTS, Module, Process, TaskError};
use hecaton_tests::fixture;

use crate::fuzzing::{Budget, Rng};

/// Rounds by default; each tries every guest once.
const ROUNDS: u64 = 12;
/// How long a task may run before the fuzzer kills it (a long timeout on an endless loop).
const KILL_AFTER: Duration = Duration::from_secs(1);

/// The guests, each pushing one limit: (fixture, task, whether it takes a number).
/// (The output limit is tried over its range through the CLI, `limits.rs`: a flooding guest's
/// prints would flood this test's log.)
const GUESTS: [(&str, &str, bool); 4] = [
    ("recursion-calls-wasi.wat", "rec", true),
    ("memory-grow-bomb.wat", "grow", false),
    ("table-grow-bomb.wat", "grow", false),
    ("loop-forever.wat", "spin", false),
];

/// A value near one of `edges`, or a random one below `top`.
fn edgy(rng: &mut Rng, edges: &[u64], top: u64) -> u64 {
    if rng.chance(75) {
        let edge = rng.pick(edges);
        match rng.below(3) {
            0 => edge.saturating_sub(1),
            1 => edge,
            _ => edge.saturating_add(1),
        }
    } else {
        rng.next_u64() % top.max(1)
    }
}

fn limits(rng: &mut Rng) -> Limits {
    let page = 64 << 10;
    let memory = edgy(
        rng,
        &[0, 1, page, 16 << 20, 256 << 20, 4 << 30, u64::MAX],
        8 << 30,
    );
    let tables = edgy(rng, &[0, 1, 100_000, MAX_TABLE_ELEMENTS, u64::MAX], 1 << 21);
    let output = edgy(rng, &[0, 1, 64 << 10, 16 << 20, u64::MAX], 32 << 20);
    let timeout_ms = edgy(rng, &[0, 1, 5, 100, u64::MAX / 1_000_000], 3_000);
    let fuel = edgy(rng, &[0, 1, 1_000_000, u64::MAX], 10_000_000);
    Limits::default()
        .max_memory(memory)
        .max_table_elements(tables)
        .max_output(output)
        .timeout(rng.chance(70).then(|| Duration::from_millis(timeout_ms)))
        .fuel(rng.chance(40).then_some(fuel))
}

#[test]
fn fuzz_limits_every_value_is_refused_or_obeyed_never_a_crash() {
    let mut budget = Budget::from_env(ROUNDS);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    while let Some(seed) = budget.next_seed() {
        let mut rng = Rng::new(seed);
        let stack = edgy(
            &mut rng,
            &[
                0,
                1,
                512 << 10,
                2040 << 10,
                2 << 20,
                MAX_STACK as u64,
                u64::MAX,
            ],
            MAX_STACK as u64 + (1 << 20),
        );
        let engine = Engine::builder()
            .max_stack(usize::try_from(stack).unwrap_or(usize::MAX))
            .fuel(rng.chance(50))
            .build();
        let engine = match engine {
            Ok(engine) => engine,
            Err(Error::Config(_)) => {
                assert!(
                    stack == 0 || stack > MAX_STACK as u64,
                    "seed {seed}: stack {stack} refused"
                );
                *outcomes.entry("engine refused".into()).or_default() += 1;
                continue;
            }
            Err(other) => panic!("seed {seed}: stack {stack}: {other:?}"),
        };
        for (name, task, numbered) in GUESTS {
            let input = if numbered {
                serde_json::json!(1)
            } else {
                serde_json::Value::Null
            };
            let limits = limits(&mut rng);
            let module = Module::from_file_in(&engine, fixture(name)).unwrap();
            let case = format!("seed {seed}: {name} with stack {stack}, {limits:?}");
            let ran = catch_unwind(AssertUnwindSafe(|| {
                let process = match Process::builder(&module).limits(limits).spawn(task, &input) {
                    Ok(process) => process,
                    Err(Error::Config(_)) => return "refused".to_owned(),
                    Err(other) => panic!("{other:?}"),
                };
                let killer = process.killer();
                let watchdog = std::thread::spawn(move || {
                    std::thread::sleep(KILL_AFTER);
                    killer.kill();
                });
                let ended = process.join::<serde_json::Value>();
                drop(watchdog);
                match ended {
                    Ok(_) => "ok".to_owned(),
                    Err(TaskError::Host(message)) => panic!("a host failure: {message}"),
                    Err(error) => kind(&error),
                }
            }));
            match ran {
                Ok(outcome) => *outcomes.entry(format!("{name}: {outcome}")).or_default() += 1,
                Err(_) => panic!("{case}: panicked"),
            }
        }
    }
    println!("fuzz_limits: {}: {outcomes:?}", budget.summary());
}

/// A task error's kind, for the tally.
fn kind(error: &TaskError) -> String {
    format!("{error:?}")
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}
