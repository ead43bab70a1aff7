//! Failure kinds say what happened: a guest's exit of any status is its exit, a module that
//! cannot start is `instantiate`, what can be known at load is a load error, and README lists
//! every kind.

use hecaton::{Error, Module, Process, TaskError};
use hecaton_tests::fixture;
use hecaton_tests::guests::ROOT;

use crate::cli::{assert_exit, assert_stderr_has, hecaton};

#[test]
fn proc_exit_with_a_status_wasi_refuses_is_the_guests_exit() {
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "hecaton_alloc") (param i32) (result i32) (i32.const 1024))
        (func (export "hecaton:v1:quit") (param i32 i32) (result i32)
            (call $exit (i32.const 200)) unreachable))"#;
    let module = Module::from_bytes(
        &hecaton::Engine::shared().unwrap(),
        "quit.wat",
        wat.as_bytes(),
    )
    .unwrap();
    let error = Process::spawn(&module, "quit", &())
        .unwrap()
        .join::<()>()
        .unwrap_err();
    assert_eq!(error, TaskError::Exit(200));
    assert_eq!(error.kind(), "exit");
}

#[test]
fn a_start_function_that_traps_fails_as_instantiate() {
    let module = crate::load(fixture("start-trap.wat"));
    let error = Process::spawn(&module, "square", &3)
        .unwrap()
        .join::<i64>()
        .unwrap_err();
    assert!(matches!(error, TaskError::Instantiate(_)), "{error:?}");
    assert_eq!(error.kind(), "instantiate");
    let path = fixture("start-trap.wat");
    let output = hecaton(
        &[
            "map",
            path.to_str().unwrap(),
            "--invoke",
            "square",
            "--keep-going",
            "3",
        ],
        b"",
    );
    assert!(
        crate::cli::stdout(&output).contains(r#""kind":"instantiate""#),
        "{}",
        crate::cli::stdout(&output)
    );
}

#[test]
fn a_data_segment_that_can_never_fit_is_a_load_error() {
    let error = Module::from_file(fixture("data-segment-out-of-bounds.wat")).unwrap_err();
    assert!(matches!(error, Error::SegmentOutOfBounds { .. }), "{error}");
    let path = fixture("data-segment-out-of-bounds.wat");
    let output = hecaton(
        &["run", path.to_str().unwrap(), "--invoke", "square", "3"],
        b"",
    );
    assert_exit(&output, 2);
    assert_stderr_has(&output, "data segment 0");
}

#[test]
fn a_data_segment_that_fits_exactly_loads() {
    let wat = r#"(module (memory 1) (data (i32.const 65526) "0123456789")
        (func (export "one") (result i32) (i32.const 1)))"#;
    let module = Module::from_bytes(
        &hecaton::Engine::shared().unwrap(),
        "fits.wat",
        wat.as_bytes(),
    )
    .unwrap();
    let one: i32 = Process::spawn(&module, "one", &()).unwrap().join().unwrap();
    assert_eq!(one, 1);
}

#[test]
fn a_64_bit_memory_is_refused_at_load_naming_it() {
    let error = Module::from_file(fixture("memory64.wat")).unwrap_err();
    assert!(
        matches!(&error, Error::Unsupported { feature, .. } if feature.contains("64-bit memory")),
        "{error}"
    );
}

#[test]
fn readme_lists_every_error_kind_with_its_exit_code() {
    let readme = std::fs::read_to_string(std::path::Path::new(ROOT).join("README.md")).unwrap();
    let table = readme
        .split("### Error kinds")
        .nth(1)
        .expect("README has an `### Error kinds` section");
    let kinds = [
        TaskError::Trap {
            trap: hecaton::Trap::UnreachableCodeReached,
            backtrace: String::new(),
        },
        TaskError::StackOverflow,
        TaskError::Timeout(std::time::Duration::from_secs(1)),
        TaskError::OutOfFuel,
        TaskError::MemoryLimit {
            requested: 1,
            limit: 0,
        },
        TaskError::TableLimit {
            requested: 1,
            limit: 0,
        },
        TaskError::OutputLimit { limit: 0 },
        TaskError::Guest {
            message: String::new(),
        },
        TaskError::Panic {
            message: String::new(),
        },
        TaskError::BadInput {
            message: String::new(),
        },
        TaskError::AbiViolation(String::new()),
        TaskError::Exit(1),
        TaskError::StdoutClosed,
        TaskError::Cancelled,
        TaskError::Instantiate(String::new()),
        TaskError::Host(String::new()),
    ];
    for error in kinds {
        let row = table
            .lines()
            .find(|line| line.starts_with(&format!("| `{}` |", error.kind())))
            .unwrap_or_else(|| panic!("README's error kinds lack `{}`", error.kind()));
        assert!(
            row.trim_end().ends_with(" |") && row.matches('|').count() == 4,
            "README row for `{}` has no exit code column: {row}",
            error.kind()
        );
    }
}
