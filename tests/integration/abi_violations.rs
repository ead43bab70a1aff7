use hecaton::TaskError;
use hecaton_tests::fixture;

use crate::{load, run};

/// Runs the fixture's task `lie` and returns the ABI violation's description.
fn violation(fixture_name: &str) -> String {
    match run::<serde_json::Value>(&load(fixture(fixture_name)), "lie", &"some input") {
        Err(TaskError::AbiViolation(what)) => what,
        other => panic!("{fixture_name}: expected an ABI violation, got {other:?}"),
    }
}

#[test]
fn result_record_past_the_end_of_memory() {
    assert!(violation("result-record-out-of-bounds.wat").contains("result record at 65532"));
}

#[test]
fn result_payload_past_the_end_of_memory() {
    assert!(
        violation("result-payload-out-of-bounds.wat").contains("outside the 65536-byte memory")
    );
}

#[test]
fn result_length_that_overflows_the_address_space() {
    assert!(violation("result-length-overflow.wat").contains("outside"));
}

#[test]
fn unknown_result_status() {
    assert_eq!(
        violation("result-unknown-status.wat"),
        "unknown result status 7"
    );
}

#[test]
fn ok_payload_that_is_not_json() {
    assert!(violation("result-not-json.wat").starts_with("output is not JSON"));
}

#[test]
fn error_message_that_is_not_utf8() {
    assert!(violation("result-error-not-utf8.wat").contains("not UTF-8"));
}

#[test]
fn allocator_that_returns_zero() {
    assert!(violation("alloc-returns-zero.wat").contains("returned 0"));
}

#[test]
fn allocator_that_returns_memory_too_small_for_the_input() {
    assert!(violation("alloc-out-of-bounds.wat").contains("outside the 65536-byte memory"));
}

#[test]
fn guest_error_status_carries_the_message() {
    let module = load(fixture("guest-error.wat"));
    assert_eq!(
        run::<serde_json::Value>(&module, "fail", &()),
        Err(TaskError::Guest {
            message: "the guest says no".into()
        })
    );
}

#[test]
fn host_functions_report_identity_and_panic() {
    let module = load(fixture("host-functions.wat"));
    let process = hecaton::Process::spawn(&module, "task_id", &()).unwrap();
    let id = process.id();
    assert_eq!(process.join::<u64>(), Ok(id));
    assert_eq!(run::<i32>(&module, "attempt", &()), Ok(1));
    assert_eq!(
        run::<serde_json::Value>(&module, "panic", &()),
        Err(TaskError::Panic {
            message: "panicked on purpose".into()
        })
    );
}
