//! `hecaton inspect`: a module's tasks, imports, host functions and memory, as text and as JSON.

use hecaton_tests::fixture;
use hecaton_tests::guests::{ECHO, PROBE, WAT_SQUARE};

use crate::cli::{assert_exit, hecaton, stdout};

/// `hecaton inspect --json MODULE`, parsed.
fn inspect_json(module: &str) -> serde_json::Value {
    let output = hecaton(&["inspect", "--json", module], b"");
    assert_exit(&output, 0);
    serde_json::from_str(&stdout(&output)).unwrap()
}

#[test]
fn inspect_lists_tasks_imports_and_memory() {
    let output = hecaton(&["inspect", WAT_SQUARE], b"");
    assert_exit(&output, 0);
    let text = stdout(&output);
    for line in [
        "imports: none",
        "memory:  65536 bytes initially, no maximum",
        "add                  numeric (i64, i64) -> (i64)",
        "square               function task, ABI v1",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    let report = inspect_json(ECHO);
    assert_eq!(report["imports_wasi"], true);
    assert_eq!(
        report["tasks"],
        serde_json::json!([{"name": "_start", "kind": "command"}])
    );
}

#[test]
fn inspect_lists_the_abis_host_functions_as_imports() {
    let output = hecaton(
        &["inspect", &fixture("host-functions.wat").to_string_lossy()],
        b"",
    );
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(
        text.contains("imports: hecaton (task_id, attempt"),
        "{text}"
    );
    let report = inspect_json(PROBE);
    assert!(
        report["host_functions"]
            .as_array()
            .is_some_and(|names| !names.is_empty()),
        "{report}"
    );
}

#[test]
fn inspect_shows_a_rust_sdk_tasks_signature_as_written() {
    let output = hecaton(&["inspect", PROBE], b"");
    assert_exit(&output, 0);
    let text = stdout(&output);
    for line in [
        "checked_divide       function task, ABI v1: checked_divide(a: i64, b: i64) -> Result<i64, String>",
        "nap                  function task, ABI v1: nap(ms: u64) -> u64",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    let report = inspect_json(PROBE);
    let nap = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|task| task["name"] == "nap")
        .unwrap();
    assert_eq!(nap["signature"], "nap(ms: u64) -> u64");
    // A module without the section: no signature, as before.
    assert_eq!(
        inspect_json(WAT_SQUARE)["tasks"][1]["signature"],
        serde_json::Value::Null
    );
}
