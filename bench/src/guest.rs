//! The benchmark's guest: `bench/guests/bench-tasks` (tasks `square`, `fib`, `spin_n`), built
//! for wasm32-wasip1 in a target folder of its own, or a module given with `--module`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

/// The workspace root (this package's parent folder).
pub fn workspace_root() -> &'static Path {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    bench.parent().unwrap_or(bench)
}

/// The cargo that runs this benchmark, or the one on `PATH`.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Builds `bench-tasks` (release, wasm32-wasip1, `target/bench-guests`) and returns its module.
///
/// # Errors
/// The build fails, most often for want of the target (`rustup target add wasm32-wasip1`).
pub fn build() -> Result<PathBuf> {
    let target_dir = workspace_root().join("target/bench-guests");
    let mut command = Command::new(cargo());
    command
        .current_dir(workspace_root())
        .args(["build", "--release", "--quiet", "--target", "wasm32-wasip1"])
        .args(["-p", "bench-tasks", "--target-dir"])
        .arg(&target_dir);
    // The benchmark's own flags and wrappers are for the host, not the guest.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        command.env_remove(var);
    }
    let status = command.status().context("cannot run cargo")?;
    ensure!(
        status.success(),
        "building bench-tasks failed ({status}); is the wasm32-wasip1 target installed? (`rustup target add wasm32-wasip1`)"
    );
    Ok(target_dir.join("wasm32-wasip1/release/bench_tasks.wasm"))
}
