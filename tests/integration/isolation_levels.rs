//! Each isolation level shares exactly what it documents: the `tally` fixture counts its calls
//! in a global, so the count a task returns says how many tasks its instance served.

use std::num::NonZeroUsize;

use hecaton::{Error, Isolation, Pool, TaskError};
use hecaton_tests::fixture;

use crate::load;

fn tally() -> hecaton::Module {
    load(fixture("tally.wat"))
}

fn worker(max: Option<usize>) -> Isolation {
    Isolation::Worker {
        max_tasks_per_instance: max.and_then(NonZeroUsize::new),
    }
}

#[test]
fn task_isolation_gives_every_task_a_fresh_instance() {
    let pool = Pool::builder().workers(2).chunksize(10).build().unwrap();
    let job = || pool.job(&tally(), "tally").unwrap();
    let json: Vec<i64> = job().map(0..50_i64).unwrap();
    let typed: Vec<i64> = job().map_numeric(0..50_i64).unwrap();
    assert_eq!(json, vec![1; 50]);
    assert_eq!(typed, vec![1; 50]);
}

#[test]
fn chunk_isolation_shares_an_instance_within_a_chunk_only() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let expected: Vec<i64> = (0..100).map(|i| i % 10 + 1).collect();
    let job = || {
        pool.job(&tally(), "tally")
            .unwrap()
            .chunksize(10)
            .isolation(Isolation::Chunk)
    };
    let json: Vec<i64> = job().map(0..100_i64).unwrap();
    let typed: Vec<i64> = job().map_numeric(0..100_i64).unwrap();
    assert_eq!(json, expected);
    assert_eq!(typed, expected);
}

#[test]
fn worker_isolation_recycles_the_instance_after_max_tasks() {
    let pool = Pool::builder().workers(1).chunksize(4).build().unwrap();
    let job = |isolation| pool.job(&tally(), "tally").unwrap().isolation(isolation);
    // One worker runs every chunk: its instance outlives chunks, and is replaced every 3 tasks.
    let recycled: Vec<i64> = job(worker(Some(3))).map_numeric(0..10_i64).unwrap();
    assert_eq!(recycled, [1, 2, 3, 1, 2, 3, 1, 2, 3, 1]);
    let kept: Vec<i64> = job(worker(None)).map(0..10_i64).unwrap();
    assert_eq!(kept, (1..=10).collect::<Vec<i64>>());
    // Instances never outlive their map: the next map starts afresh.
    let next: Vec<i64> = job(worker(None)).map_numeric(0..3_i64).unwrap();
    assert_eq!(next, [1, 2, 3]);
}

#[test]
fn worker_isolation_on_two_workers_never_exceeds_the_bound() {
    let pool = Pool::builder().workers(2).chunksize(5).build().unwrap();
    let counts: Vec<i64> = pool
        .job(&tally(), "tally")
        .unwrap()
        .isolation(worker(Some(7)))
        .map_numeric(0..1000_i64)
        .unwrap();
    assert!(
        counts.iter().all(|count| (1..=7).contains(count)),
        "{counts:?}"
    );
    // Every instance served 7 tasks before it was replaced, except the last of each worker.
    let fresh = counts.iter().filter(|&&count| count == 1).count();
    assert!(
        (1000 / 7..=1000 / 7 + 2).contains(&fresh),
        "{fresh} fresh instances"
    );
}

#[test]
fn a_failed_task_never_leaves_its_instance_to_the_next() {
    let pool = Pool::builder().workers(1).build().unwrap();
    let inputs = [0, 0, -1, 0, 0, -1, 0_i64];
    for isolation in [Isolation::Chunk, worker(None)] {
        let outcomes: Vec<Result<i64, TaskError>> = pool
            .job(&tally(), "tally")
            .unwrap()
            .chunksize(7)
            .isolation(isolation)
            .map_all(inputs);
        let counts: Vec<Option<i64>> = outcomes.iter().map(|o| o.as_ref().ok().copied()).collect();
        assert_eq!(
            counts,
            [Some(1), Some(2), None, Some(1), Some(2), None, Some(1)],
            "{isolation}"
        );
        assert!(
            matches!(outcomes[2], Err(TaskError::Trap { .. })),
            "{outcomes:?}"
        );
    }
}

#[test]
fn a_retry_runs_in_a_fresh_instance() {
    let pool = Pool::builder().workers(1).retries(1).build().unwrap();
    let outcomes: Vec<Result<i64, TaskError>> = pool
        .job(&tally(), "tally")
        .unwrap()
        .chunksize(3)
        .isolation(Isolation::Chunk)
        .map_all([0, -1, 0_i64]);
    // Attempt 1 of item 1 traps in the chunk's instance (count 2); attempt 2 runs in a fresh
    // one (count 1) and traps again; item 2 then starts yet another instance.
    assert!(matches!(outcomes[1], Err(TaskError::Trap { .. })));
    assert_eq!(outcomes[0], Ok(1));
    assert_eq!(outcomes[2], Ok(1));
}

#[test]
fn a_fail_fast_typed_map_reports_the_first_failure_by_index() {
    let pool = Pool::builder().workers(2).chunksize(4).build().unwrap();
    let error = pool
        .job(&tally(), "tally")
        .unwrap()
        .isolation(Isolation::Chunk)
        .map_numeric::<i64, i64>((0..100).map(|i| if i == 37 || i == 80 { -1 } else { i }))
        .unwrap_err();
    match error {
        Error::Task { index, source } => {
            assert_eq!(index, 37);
            assert!(matches!(source, TaskError::Trap { .. }), "{source}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_typed_map_checks_the_signature_before_running() {
    let pool = Pool::builder().workers(1).build().unwrap();
    let job = || pool.job(&tally(), "tally").unwrap();
    let wrong = job().map_numeric::<i32, i64>([1]).unwrap_err();
    let message = wrong.to_string();
    assert!(matches!(wrong, Error::WrongSignature { .. }), "{message}");
    assert!(
        message.contains("tally") && message.contains("i32"),
        "{message}"
    );
    let square = load(hecaton_tests::guests::SQUARE);
    let function_task = pool
        .job(&square, "square")
        .unwrap()
        .map_numeric::<i64, i64>([1]);
    assert!(
        matches!(&function_task, Err(Error::Input { message, .. }) if message.contains("function task")),
        "{function_task:?}"
    );
}

#[test]
fn typed_maps_take_tuples_and_floats_and_return_several_values() {
    let wat = r#"(module
        (func (export "divmod") (param i64 i64) (result i64 i64)
            (i64.div_s (local.get 0) (local.get 1))
            (i64.rem_s (local.get 0) (local.get 1)))
        (func (export "half") (param f64) (result f32)
            (f32.demote_f64 (f64.mul (local.get 0) (f64.const 0.5)))))"#;
    let module = hecaton::Module::from_bytes(
        &hecaton::Engine::shared().unwrap(),
        "typed.wat",
        wat.as_bytes(),
    )
    .unwrap();
    let pool = Pool::builder().workers(2).build().unwrap();
    let divmods: Vec<(i64, i64)> = pool
        .job(&module, "divmod")
        .unwrap()
        .isolation(Isolation::Chunk)
        .map_numeric([(7_i64, 2_i64), (9, 3), (-7, 2)])
        .unwrap();
    assert_eq!(divmods, [(3, 1), (3, 0), (-3, -1)]);
    let halves: Vec<f32> = pool
        .job(&module, "half")
        .unwrap()
        .map_numeric([1.0_f64, 3.0])
        .unwrap();
    assert_eq!(halves, [0.5, 1.5]);
    // A division by zero is that item's trap, named with its index.
    let error = pool
        .job(&module, "divmod")
        .unwrap()
        .map_numeric::<(i64, i64), (i64, i64)>([(1, 1), (1, 0)])
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Task {
                index: 1,
                source: TaskError::Trap { .. }
            }
        ),
        "{error}"
    );
}

#[test]
fn a_lazy_typed_map_reads_an_endless_input_and_keeps_every_outcome() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let counts: Vec<Result<i64, TaskError>> = pool
        .job(&tally(), "tally")
        .unwrap()
        .chunksize(100)
        .isolation(Isolation::Chunk)
        .imap_numeric((0_i64..).map(|i| if i == 250 { -1 } else { i }))
        .unwrap()
        .take(1000)
        .collect();
    assert_eq!(counts.len(), 1000);
    assert!(
        matches!(counts[250], Err(TaskError::Trap { .. })),
        "{:?}",
        counts[250]
    );
    // Chunk isolation: counts restart at each chunk, and after the trap.
    assert_eq!(counts[0], Ok(1));
    assert_eq!(counts[99], Ok(100));
    assert_eq!(counts[100], Ok(1));
    assert_eq!(counts[251], Ok(1));
    assert_eq!(counts[999], Ok(100));
}
