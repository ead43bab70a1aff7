//! `hecaton build`: compile a Rust task crate for `wasm32-wasip1` (a component crate, one that
//! depends on `wit-bindgen`, for `wasm32-wasip2`) and print the module's path.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use clap::Args;

use crate::cli::Exit;

/// The target of a task crate: a core module by hecaton's ABI.
const MODULE_TARGET: &str = "wasm32-wasip1";

/// The target of a component crate: a component of WASI 0.2.
const COMPONENT_TARGET: &str = "wasm32-wasip2";

/// Compile a Rust task crate for wasm32-wasip1 (release) and print the module's path; a crate
/// that depends on wit-bindgen is a component, built for wasm32-wasip2.
#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The crate's folder (holding Cargo.toml).
    #[arg(value_name = "CRATE_DIR")]
    crate_dir: PathBuf,
    /// Cargo's target folder (default: the crate's workspace `target/`).
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
}

pub(crate) fn main(args: &BuildArgs) -> anyhow::Result<Exit> {
    let module = build_crate(&args.crate_dir, args.target_dir.as_deref())?;
    Ok(crate::cli::print_stdout(
        format!("{}\n", module.display()).as_bytes(),
    ))
}

/// Whether `path` is a crate folder to build rather than a module file.
pub(crate) fn is_crate(path: &Path) -> bool {
    path.is_dir()
}

/// Builds the crate in `crate_dir` in release mode, for wasm32-wasip1 or (a component crate)
/// wasm32-wasip2; returns the module's path. Cargo's progress and diagnostics go to stderr.
pub(crate) fn build_crate(crate_dir: &Path, target_dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    let manifest = crate_dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!(
            "{} is a folder without a Cargo.toml: not a crate to build",
            crate_dir.display()
        );
    }
    let target = target_of(&manifest)?;
    ensure_target_installed(target)?;
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .args([
            "build",
            "--release",
            "--target",
            target,
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(dir) = target_dir {
        cargo.arg("--target-dir").arg(dir);
    }
    let mut child = cargo
        .spawn()
        .context("cannot run cargo (is Rust installed?)")?;
    let stdout = child.stdout.take().context("cargo's stdout")?;
    let mut module = None;
    for line in std::io::BufReader::new(stdout).lines() {
        if let Some(wasm) = artifact_module(&line.context("reading cargo's output")?, &manifest) {
            module = Some(wasm);
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!("cargo build of {} failed ({status})", crate_dir.display());
    }
    module.with_context(|| {
        format!(
            "building {} produced no .wasm module: a task crate needs `crate-type = [\"cdylib\"]` (or a `[[bin]]` for a command)",
            crate_dir.display()
        )
    })
}

/// The `.wasm` file of a `compiler-artifact` message of the package at `manifest`.
fn artifact_module(line: &str, manifest: &Path) -> Option<PathBuf> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" {
        return None;
    }
    let same_manifest = message["manifest_path"]
        .as_str()
        .is_some_and(|path| same_file(Path::new(path), manifest));
    if !same_manifest {
        return None;
    }
    message["filenames"]
        .as_array()?
        .iter()
        .filter_map(|name| name.as_str())
        .find(|name| name.ends_with(".wasm"))
        .map(PathBuf::from)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The target a crate is built for: a component's when it depends on `wit-bindgen` (the
/// bindings of a WIT world), else a core module's.
fn target_of(manifest: &Path) -> anyhow::Result<&'static str> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let component = text.lines().any(|line| {
        let line = line.trim_start();
        line.starts_with("wit-bindgen") && !line.starts_with("wit-bindgen-")
    });
    Ok(if component {
        COMPONENT_TARGET
    } else {
        MODULE_TARGET
    })
}

/// Installs the target's standard library through rustup when it is missing.
fn ensure_target_installed(target: &'static str) -> anyhow::Result<()> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("cannot run rustc (is Rust installed?)")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib").join(target).is_dir() {
        return Ok(());
    }
    crate::cli::say(format_args!(
        "the {target} target is missing; installing it with `rustup target add {target}`"
    ));
    let status = Command::new("rustup")
        .args(["target", "add", target])
        .status()
        .with_context(|| format!("cannot run rustup to install the {target} target"))?;
    if !status.success() {
        bail!("`rustup target add {target}` failed ({status})");
    }
    Ok(())
}
