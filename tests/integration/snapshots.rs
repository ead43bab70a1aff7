//! Snapshot initializers: a task of a snapshotted module sees the initializer's state and
//! nothing of the task before it; an initializer that fails, or a module wizer cannot
//! snapshot, is a clear error.

use hecaton::{Error, Isolation, Module, Pool, TaskError};
use hecaton_tests::fixture;

use crate::load;

fn state() -> Module {
    load(fixture("snapshot-state.wat"))
}

#[test]
fn every_task_starts_from_the_initialized_state_and_nothing_else() {
    let primed = state().snapshot("init").unwrap();
    let pool = Pool::builder().workers(2).chunksize(3).build().unwrap();
    let probes: Vec<i32> = pool.map(&primed, "probe", vec![(); 20]).unwrap();
    assert_eq!(probes, vec![42_007_101; 20]);
    // The plain module: no initializer ran.
    let plain: Vec<i32> = pool.map(&state(), "probe", vec![(); 3]).unwrap();
    assert_eq!(plain, vec![101; 3]);
    // A weaker isolation shares a snapshotted instance as it documents.
    let shared: Vec<i32> = pool
        .job(&primed, "probe")
        .unwrap()
        .chunksize(3)
        .isolation(Isolation::Chunk)
        .map_numeric(vec![(); 6])
        .unwrap();
    assert_eq!(
        shared,
        [
            42_007_101, 42_007_202, 42_007_303, 42_007_101, 42_007_202, 42_007_303
        ]
    );
}

#[test]
fn the_initializer_is_gone_from_the_snapshot() {
    let primed = state().snapshot("init").unwrap();
    let tasks: Vec<&str> = primed.tasks().map(|(name, _)| name).collect();
    assert!(!tasks.contains(&"init"), "{tasks:?}");
    assert!(tasks.contains(&"probe"), "{tasks:?}");
}

#[test]
fn a_failing_initializer_is_a_snapshot_error_with_its_task_error() {
    match state().snapshot("trap_init") {
        Err(Error::Snapshot {
            initializer,
            failure: Some(TaskError::Trap { .. }),
            ..
        }) => assert_eq!(initializer, "trap_init"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn what_cannot_be_snapshotted_is_named() {
    let message = |result: Result<Module, Error>| result.unwrap_err().to_string();
    let not_a_func = message(state().snapshot("takes_arg"));
    assert!(
        not_a_func.contains("takes_arg") && not_a_func.contains("takes and returns nothing"),
        "{not_a_func}"
    );
    let unknown = message(state().snapshot("nope"));
    assert!(unknown.contains("no task `nope`"), "{unknown}");
    let table_grow = message(load(fixture("snapshot-table-grow.wat")).snapshot("init"));
    assert!(table_grow.contains("table.grow"), "{table_grow}");
}
