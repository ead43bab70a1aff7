//! `hecaton build` and `hecaton compile`: a guest crate built into a module, a module compiled
//! ahead of time into a `.cwasm` that runs only when allowed and only on its own engine.

use std::path::Path;

use hecaton_tests::guests::SQUARE;

use crate::cli::{assert_exit, assert_stderr_has, assert_stdout, hecaton, stdout};

#[test]
fn build_prints_the_module_path() {
    let output = hecaton(&["build", "examples/guests/square"], b"");
    assert_exit(&output, 0);
    let path = stdout(&output);
    let path = Path::new(path.trim_end());
    assert!(
        path.ends_with("wasm32-wasip1/release/square.wasm"),
        "{}",
        path.display()
    );
    assert!(path.is_file());
}

#[test]
fn build_of_a_folder_without_a_crate_is_a_usage_error() {
    let output = hecaton(&["build", "tests/fixtures"], b"");
    assert_exit(&output, 2);
    assert_stderr_has(&output, "without a Cargo.toml");
}

#[test]
fn compiled_cwasm_runs_only_with_allow_precompiled() {
    let cwasm = std::env::temp_dir().join(format!("hecaton-square-{}.cwasm", std::process::id()));
    let cwasm = cwasm.to_str().unwrap();
    let output = hecaton(&["compile", SQUARE, "-o", cwasm], b"");
    assert_exit(&output, 0);
    let refused = hecaton(&["run", cwasm, "--invoke", "square", "6"], b"");
    assert_exit(&refused, 2);
    assert_stderr_has(&refused, "precompiled module");
    let allowed = hecaton(
        &[
            "run",
            cwasm,
            "--allow-precompiled",
            "--invoke",
            "square",
            "6",
        ],
        b"",
    );
    assert_stdout(&allowed, "36\n");
    // A .cwasm of another engine setting is refused.
    let other_engine = hecaton(
        &[
            "run",
            cwasm,
            "--allow-precompiled",
            "--fuel",
            "1000",
            "--invoke",
            "square",
            "6",
        ],
        b"",
    );
    assert_exit(&other_engine, 2);
    assert_stderr_has(&other_engine, "not a precompiled module for this engine");
    // `inspect` gives the same advice, and takes it.
    let refused = hecaton(&["inspect", cwasm], b"");
    assert_exit(&refused, 2);
    assert_stderr_has(&refused, "--allow-precompiled");
    let inspected = hecaton(&["inspect", cwasm, "--allow-precompiled"], b"");
    assert_exit(&inspected, 0);
    assert!(
        stdout(&inspected).contains("square"),
        "{}",
        stdout(&inspected)
    );
}
