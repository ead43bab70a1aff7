//! Components beside core modules, on components made by hand in WAT (no toolchain): WIT-typed
//! exports called with JSON, bad input naming the parameter, results and errors, traps, limits,
//! isolation levels, refusals at load naming the import or export. Real components from three
//! toolchains are `component_corpus`'s.

use std::time::Duration;

use hecaton::{Error, Limits, Module, ModuleKind, Pool, Process, TaskError, TaskKind};
use hecaton_tests::fixture;
use serde_json::{Value, json};

use crate::{load, run};

fn core_funcs() -> Module {
    load(fixture("component-core-funcs.wat"))
}

pub(crate) fn run_limited(
    module: &Module,
    task: &str,
    input: &Value,
    limits: Limits,
) -> Result<Value, TaskError> {
    Process::builder(module)
        .limits(limits)
        .spawn(task, input)
        .expect("spawn")
        .join()
}

#[test]
fn a_component_is_a_module_of_kind_component_with_wit_typed_tasks() {
    let module = core_funcs();
    assert_eq!(module.kind(), ModuleKind::Component);
    let tasks: Vec<(&str, String)> = module
        .tasks()
        .map(|(name, kind)| (name, kind.to_string()))
        .collect();
    assert_eq!(
        tasks,
        [
            (
                "add8",
                "component function func(a: u8, b: u8) -> u8".to_owned()
            ),
            ("bad-char", "component function func() -> char".to_owned()),
            (
                "bad-string",
                "component function func() -> string".to_owned()
            ),
            ("boom", "component function func()".to_owned()),
            ("count", "component function func() -> u32".to_owned()),
            (
                "div",
                "component function func(a: s32, b: s32) -> result<s32>".to_owned()
            ),
            (
                "grow",
                "component function func(pages: u32) -> s32".to_owned()
            ),
            ("spin", "component function func()".to_owned()),
        ]
    );
    assert!(matches!(
        module.task_kind("add8").unwrap(),
        TaskKind::Wit { signature } if signature == "func(a: u8, b: u8) -> u8"
    ));
    assert_eq!(module.kind(), ModuleKind::Component);
    assert_eq!(
        load(hecaton_tests::guests::WAT_SQUARE).kind(),
        ModuleKind::Core
    );
}

#[test]
fn arguments_are_an_array_an_object_by_name_or_the_value_itself() {
    let module = core_funcs();
    assert_eq!(run::<u8>(&module, "add8", &[2, 3]).unwrap(), 5);
    assert_eq!(
        run::<u8>(&module, "add8", &json!({"b": 3, "a": 4})).unwrap(),
        7
    );
    // The core code adds 200 + 100; lifting a u8 keeps the low 8 bits, as the canonical ABI says.
    assert_eq!(run::<u8>(&module, "add8", &[200, 100]).unwrap(), 44);
    assert_eq!(run::<i32>(&module, "grow", &0).unwrap(), 1);
}

#[test]
fn an_integer_out_of_its_range_is_bad_input_naming_the_parameter() {
    let module = core_funcs();
    let error = run::<u8>(&module, "add8", &[300, 1]).unwrap_err();
    match &error {
        TaskError::BadInput { message } => {
            assert!(message.contains("parameter `a`"), "{message}");
            assert!(
                message.contains("300 is out of range for u8 (0 to 255)"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    for (input, says) in [
        (json!([1]), "takes 2 arguments"),
        (json!([1, 2, 3]), "takes 2 arguments"),
        (json!({"a": 1}), "argument `b` is missing"),
        (json!({"a": 1, "b": 2, "c": 3}), "no parameter `c`"),
        (json!(["1", 2]), "expected an integer (u8)"),
        (json!([1.5, 2]), "expected an integer (u8)"),
        (json!([-1, 2]), "-1 is out of range for u8"),
        (json!("x"), "as one JSON array or an object by name"),
    ] {
        match run::<u8>(&module, "add8", &input) {
            Err(TaskError::BadInput { message }) => {
                assert!(message.contains(says), "{input}: {message}");
            }
            other => panic!("{input}: {other:?}"),
        }
    }
}

#[test]
fn a_result_err_is_a_guest_error_and_ok_is_the_output() {
    let module = core_funcs();
    assert_eq!(run::<i32>(&module, "div", &[7, 2]).unwrap(), 3);
    assert!(
        matches!(
            run::<i32>(&module, "div", &[7, 0]),
            Err(TaskError::Guest { .. })
        ),
        "err is a guest error"
    );
}

#[test]
fn a_component_trap_is_a_trap_and_a_spin_times_out() {
    let module = core_funcs();
    assert!(matches!(
        run::<Value>(&module, "boom", &json!(null)),
        Err(TaskError::Trap { .. })
    ));
    let limits = Limits::default().timeout(Some(Duration::from_millis(200)));
    assert!(matches!(
        run_limited(&module, "spin", &json!(null), limits),
        Err(TaskError::Timeout(_))
    ));
}

#[test]
fn a_component_memory_grows_within_the_limit_and_not_past_it() {
    let module = core_funcs();
    let limits = Limits::default().max_memory(4 << 20);
    // 1 page to start, 62 more is 63 pages: under 4 MiB.
    assert_eq!(
        run_limited(&module, "grow", &json!(62), limits.clone()).unwrap(),
        json!(1)
    );
    assert!(matches!(
        run_limited(&module, "grow", &json!(64), limits),
        Err(TaskError::MemoryLimit { .. })
    ));
}

#[test]
fn a_pool_maps_a_component_export_each_call_in_a_fresh_instance() {
    let module = core_funcs();
    let pool = Pool::builder().workers(2).build().unwrap();
    let inputs: Vec<[u8; 2]> = (0..50).map(|i| [i, 1]).collect();
    let outputs: Vec<u8> = pool.map(&module, "add8", &inputs).unwrap();
    assert_eq!(outputs, (1..=50).collect::<Vec<u8>>());
    // Memory grown by one task is not there for the next: each starts at 1 page.
    let grown: Vec<i32> = pool.map(&module, "grow", [3, 3, 3, 3]).unwrap();
    assert_eq!(grown, [1, 1, 1, 1]);
}

#[test]
fn isolation_levels_mean_for_a_component_what_they_mean_for_a_module() {
    let module = core_funcs();
    let count = |isolation: hecaton::Isolation| -> Vec<u32> {
        let pool = Pool::builder()
            .workers(1)
            .isolation(isolation)
            .build()
            .unwrap();
        let job = pool.job(&module, "count").unwrap().chunksize(4);
        job.map([(); 8].map(|()| Value::Null)).unwrap()
    };
    assert_eq!(count(hecaton::Isolation::Task), [1; 8]);
    assert_eq!(count(hecaton::Isolation::Chunk), [1, 2, 3, 4, 1, 2, 3, 4]);
    let worker = hecaton::Isolation::Worker {
        max_tasks_per_instance: None,
    };
    assert_eq!(count(worker), [1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn a_value_the_guest_returns_that_does_not_fit_its_type_is_an_abi_violation() {
    let module = core_funcs();
    for task in ["bad-char", "bad-string"] {
        match run::<Value>(&module, task, &json!(null)) {
            Err(TaskError::AbiViolation(message)) => assert!(!message.is_empty()),
            other => panic!("{task}: {other:?}"),
        }
    }
    // The instance a violation happened in serves no other task: the next call is fresh.
    assert_eq!(run::<u32>(&module, "count", &()).unwrap(), 1);
}

#[test]
fn a_component_whose_start_traps_is_an_instantiate_failure() {
    let module = load(fixture("component-start-trap.wat"));
    assert!(matches!(
        run::<u32>(&module, "f", &()),
        Err(TaskError::Instantiate(_))
    ));
}

fn load_error(name: &str) -> Error {
    match Module::from_file(fixture(name)) {
        Ok(module) => panic!("{name} loaded: {module:?}"),
        Err(error) => {
            assert!(error.to_string().contains(name), "names the file: {error}");
            error
        }
    }
}

#[test]
fn an_import_that_is_not_wasi_0_2_is_refused_at_load_naming_it() {
    for (fixture, import) in [
        ("component-import-unknown.wat", "example:missing/iface"),
        (
            "component-import-timezone.wat",
            "wasi:clocks/timezone@0.2.0",
        ),
    ] {
        let error = load_error(fixture);
        assert!(
            matches!(&error, Error::UnknownComponentImport { name, .. } if name == import),
            "{error}"
        );
        assert!(error.to_string().contains(import), "{error}");
    }
}

#[test]
fn an_export_of_a_resource_is_refused_at_load_naming_it() {
    let error = load_error("component-export-resource.wat");
    assert!(matches!(&error, Error::Component { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("`make`") && text.contains("resource"),
        "{text}"
    );
}

#[test]
fn a_component_learns_its_task_id_and_attempt_from_hecaton_task_context() {
    let module = load(fixture("component-task-context.wat"));
    let pool = Pool::builder().workers(2).build().unwrap();
    let ids: Vec<u64> = pool
        .map(&module, "id", [(); 6].map(|()| Value::Null))
        .unwrap();
    let distinct: std::collections::BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        6,
        "every task has an id of its own: {ids:?}"
    );
    assert!(ids.iter().all(|&id| id > 0));
    assert_eq!(run::<u32>(&module, "attempt", &()).unwrap(), 1);
}
