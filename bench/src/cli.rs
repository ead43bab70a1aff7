//! The CLI row: the whole `hecaton` process, start to exit —
//! `seq 1 N | hecaton map MODULE --invoke square > /dev/null` — with its module compilation,
//! its reading and writing of lines, and `HECATON_WORKERS=2`.
//!
//! The benchmark first builds the CLI (`cargo build --release -p hecaton --bin hecaton`) so that
//! the binary beside its own is current.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};

use crate::measure::{Measurement, fastest_of_runs};

const WORKERS: usize = 2;

/// Builds the CLI and returns its path, beside this benchmark's own binary.
///
/// # Errors
/// The build fails.
pub fn build(root: &Path) -> Result<PathBuf> {
    let status = Command::new(crate::guest::cargo())
        .current_dir(root)
        .args(["build", "--release", "--quiet"])
        .args(["-p", "hecaton", "--bin", "hecaton"])
        .status()
        .context("cannot run cargo")?;
    ensure!(
        status.success(),
        "cargo build of the hecaton CLI failed ({status})"
    );
    let bench = std::env::current_exe()?;
    Ok(bench.with_file_name("hecaton"))
}

/// Whether `hecaton map` runs `square` on one line of input; the reason when it does not.
///
/// # Errors
/// The CLI cannot map.
pub fn probe(hecaton: &Path, module: &Path) -> Result<()> {
    let output = Command::new("sh")
        .args(["-c", r#"echo 3 | "$0" map "$1" --invoke square"#])
        .arg(hecaton)
        .arg(module)
        .env("HECATON_WORKERS", WORKERS.to_string())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || stdout.trim() != "9" {
        bail!(
            "{}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .next()
                .unwrap_or("")
        );
    }
    Ok(())
}

/// Times the whole pipeline on `items` lines, by [`fastest_of_runs`].
///
/// # Errors
/// The pipeline fails.
pub fn map_pipeline(hecaton: &Path, module: &Path, items: u64) -> Result<Measurement> {
    let mut command = Command::new("sh");
    command
        .args([
            "-c",
            r#"set -e; seq 1 "$2" | "$0" map "$1" --invoke square > /dev/null"#,
        ])
        .arg(hecaton)
        .arg(module)
        .arg(items.to_string())
        .env("HECATON_WORKERS", WORKERS.to_string())
        .stdin(Stdio::null());
    let (_, seconds) = fastest_of_runs(|| {
        let status = command.status()?;
        ensure!(status.success(), "the pipeline failed ({status})");
        Ok(())
    })?;
    Ok(Measurement {
        items,
        workers: WORKERS,
        seconds,
    })
}
