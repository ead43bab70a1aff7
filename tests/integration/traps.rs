use hecaton::TaskError;
use hecaton_tests::fixture;

use crate::{load, run};

fn trap_of(fixture_name: &str, task: &str, input: &serde_json::Value) -> (hecaton::Trap, String) {
    match run::<serde_json::Value>(&load(fixture(fixture_name)), task, input) {
        Err(TaskError::Trap { trap, backtrace }) => (trap, backtrace),
        other => panic!("{fixture_name}: expected a trap, got {other:?}"),
    }
}

#[test]
fn unreachable_is_a_trap_with_its_code_and_backtrace() {
    let (trap, backtrace) = trap_of("trap-unreachable.wat", "boom", &serde_json::json!(null));
    assert_eq!(trap, hecaton::Trap::UnreachableCodeReached);
    assert!(!backtrace.is_empty());
    let error = TaskError::Trap { trap, backtrace };
    assert_eq!(
        error.to_string().matches("wasm backtrace:").count(),
        1,
        "one heading, hecaton's: {error}"
    );
    assert!(error.to_string().contains("\n    0: "), "a frame: {error}");
}

#[test]
fn integer_division_by_zero_is_a_trap() {
    let (trap, _) = trap_of("trap-divide-by-zero.wat", "div", &serde_json::json!([1, 0]));
    assert_eq!(trap, hecaton::Trap::IntegerDivisionByZero);
}

#[test]
fn out_of_bounds_access_is_a_trap() {
    let (trap, _) = trap_of("trap-out-of-bounds.wat", "oob", &serde_json::json!(null));
    assert_eq!(trap, hecaton::Trap::MemoryOutOfBounds);
}

#[test]
fn every_trap_kind_is_named() {
    let module = load(fixture("trap-kinds.wat"));
    for (task, expected) in [
        ("integer_overflow", hecaton::Trap::IntegerOverflow),
        ("bad_conversion", hecaton::Trap::BadConversionToInteger),
        ("table_out_of_bounds", hecaton::Trap::TableOutOfBounds),
        ("indirect_call_to_null", hecaton::Trap::IndirectCallToNull),
        ("bad_signature", hecaton::Trap::BadSignature),
        ("memory_out_of_bounds", hecaton::Trap::MemoryOutOfBounds),
    ] {
        match run::<i32>(&module, task, &()) {
            Err(TaskError::Trap { trap, .. }) => assert_eq!(trap, expected, "{task}"),
            other => panic!("{task}: expected a trap, got {other:?}"),
        }
    }
}
