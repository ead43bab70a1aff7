//! WebAssembly proposals: those wasmtime 48 enables by default run (exceptions, GC, multi-memory,
//! atomics), under the task's limits; those hecaton refuses are refused at load, naming the
//! proposal; `hecaton inspect` lists what a module uses.

use hecaton::{Error, Limits, Module, Pool, Process, TaskError};
use hecaton_tests::fixture;

use crate::cli::{assert_stderr_has, hecaton, stdout};

#[test]
fn an_exception_thrown_and_caught_in_one_task_runs() {
    let module = crate::load(fixture("exceptions-throw-catch.wat"));
    let pool = Pool::builder().build().unwrap();
    let halves: Vec<i32> = pool.map(&module, "checked_half", [10, 7, -4, 1]).unwrap();
    assert_eq!(halves, [5, -7, -2, -1]);
}

#[test]
fn a_legacy_exceptions_module_is_refused_at_load_naming_the_proposal() {
    let error = Module::from_file(fixture("legacy-exceptions.wat")).unwrap_err();
    let Error::Unsupported { feature, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(
        feature.contains("legacy-exception-handling") && feature.contains("wasm-use-legacy-eh"),
        "{error}"
    );
    let output = hecaton(
        &[
            "inspect",
            fixture("legacy-exceptions.wat").to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(2));
    assert_stderr_has(&output, "legacy-exception-handling proposal");
}

#[test]
fn a_shared_memory_is_refused_at_load() {
    let error = Module::from_file(fixture("shared-memory.wat")).unwrap_err();
    assert!(
        matches!(&error, Error::Unsupported { feature, .. } if feature.contains("shared memory")),
        "{error}"
    );
}

#[test]
fn gc_structs_run_in_a_task() {
    let module = crate::load(fixture("gc-list-sum.wat"));
    let sum: i64 = Process::spawn(&module, "list_sum", &1000)
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(sum, 1000 * 1001 / 2);
}

#[test]
fn a_gc_heap_bomb_is_stopped_by_the_memory_limit() {
    let module = crate::load(fixture("gc-heap-bomb.wat"));
    let limit = 16 << 20;
    let error = Process::builder(&module)
        .limits(Limits::default().max_memory(limit))
        .spawn("grow", &())
        .unwrap()
        .join::<i32>()
        .unwrap_err();
    assert!(
        matches!(error, TaskError::MemoryLimit { limit: l, .. } if l == limit),
        "{error:?}"
    );
    // The pool's next task is unaffected.
    let sum: i64 = Process::spawn(&crate::load(fixture("gc-list-sum.wat")), "list_sum", &10)
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(sum, 55);
}

#[test]
fn two_memories_run_and_count_together_in_the_memory_limit() {
    let module = crate::load(fixture("multi-memory.wat"));
    let value: i32 = Process::spawn(&module, "copy_across", &41)
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(value, 41);
    // Two memories of 128 KiB each: 256 KiB in all, over a 192 KiB limit.
    let error = Process::builder(&module)
        .limits(Limits::default().max_memory(192 << 10))
        .spawn("copy_across", &1)
        .unwrap()
        .join::<i32>()
        .unwrap_err();
    assert!(
        matches!(error, TaskError::MemoryLimit { requested, .. } if requested == 256 << 10),
        "{error:?}"
    );
}

#[test]
fn inspect_lists_the_proposals_a_module_uses() {
    let output = hecaton(
        &[
            "inspect",
            "--json",
            fixture("exceptions-throw-catch.wat").to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let names: Vec<&str> = report["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|proposal| proposal["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["exception-handling"]);

    let text = stdout(&hecaton(
        &["inspect", fixture("gc-list-sum.wat").to_str().unwrap()],
        b"",
    ));
    assert!(text.contains("  proposals:\n"), "{text}");
    assert!(text.contains("gc "), "{text}");
    let plain = stdout(&hecaton(
        &["inspect", fixture("tally.wat").to_str().unwrap()],
        b"",
    ));
    assert!(
        plain.contains("proposals: none (WebAssembly 1.0)"),
        "{plain}"
    );
}

#[test]
fn a_table_limit_above_the_pooling_ceiling_is_a_config_error() {
    let module = crate::load(fixture("tally.wat"));
    let error = Pool::builder()
        .limits(Limits::default().max_table_elements(hecaton::MAX_TABLE_ELEMENTS + 1))
        .build()
        .unwrap()
        .job(&module, "tally")
        .map(drop)
        .unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error:?}");
}
