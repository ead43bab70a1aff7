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
            failure:
                Some(TaskError::Trap {
                    trap: wasmtime::Trap::UnreachableCodeReached,
                    ..
                }),
            ..
        }) => assert_eq!(initializer, "trap_init"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn what_cannot_be_snapshotted_is_named() {
    match state().snapshot("takes_arg") {
        Err(Error::Snapshot {
            initializer,
            message,
            failure: None,
            ..
        }) => {
            assert_eq!(initializer, "takes_arg");
            assert!(message.contains("takes and returns nothing"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match state().snapshot("nope") {
        Err(Error::UnknownTask { task, .. }) => assert_eq!(task, "nope"),
        other => panic!("{other:?}"),
    }
    // wasmtime-wizer refuses the module: nothing ran, so there is no task failure.
    match load(fixture("snapshot-table-grow.wat")).snapshot("init") {
        Err(Error::Snapshot {
            path,
            initializer,
            message,
            failure: None,
        }) => {
            assert!(path.ends_with("snapshot-table-grow.wat"), "{path:?}");
            assert_eq!(initializer, "init");
            assert!(message.contains("table.grow"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
