//! The benchmark's guests: `bench/guests/bench-tasks` (tasks `square`, `fib`, `spin_n`), built
//! for wasm32-wasip1 in a target folder of its own, or a module given with `--module`; and for
//! section 11 the components that export `square: func(x: s64) -> s64`: the benchmark's own
//! Rust one (`bench/guests/square-component`, wasm32-wasip2, `no_std`: it imports nothing), and
//! two of hecaton's tests, the Rust one (`tests/guests/wit-shapes`, whose `std` imports WASI 0.2)
//! and the Python one (`tests/guests/python-component`, componentize-py), built as
//! `tests/build.rs` builds them.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};

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
    cargo_build("wasm32-wasip1", ["-p", "bench-tasks"], &target_dir)?;
    Ok(target_dir.join("wasm32-wasip1/release/bench_tasks.wasm"))
}

/// `cargo build --release --quiet --target TARGET ARGS --target-dir TARGET_DIR`, run in the
/// workspace root, for a guest.
///
/// # Errors
/// Cargo cannot run or the build fails, most often for want of the target.
pub fn cargo_build<A: AsRef<OsStr>>(
    target: &str,
    args: impl IntoIterator<Item = A>,
    target_dir: &Path,
) -> Result<()> {
    let mut command = Command::new(cargo());
    command
        .current_dir(workspace_root())
        .args(["build", "--release", "--quiet", "--target", target])
        .args(args)
        .arg("--target-dir")
        .arg(target_dir);
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
        "building a guest for {target} failed ({status}); is the target installed? (`rustup target add {target}`)"
    );
    Ok(())
}

/// The Rust component crates (workspaces of their own, each with its own `Cargo.lock`): the
/// benchmark's `square` alone, and the tests' component of many functions (with `square`).
const SQUARE_COMPONENT: &str = "bench/guests/square-component";
const WIT_SHAPES: &str = "tests/guests/wit-shapes";

/// The Python component's folder, and the files (or folders) in it that its build reads.
const PYTHON_COMPONENT: (&str, &[&str]) = ("tests/guests/python-component", &["app.py", "wit"]);

/// Builds `bench/guests/square-component` (release, wasm32-wasip2, `--locked`,
/// `target/bench-guests`) and returns its component.
///
/// # Errors
/// The build fails, most often for want of the target (`rustup target add wasm32-wasip2`).
pub fn build_square_component() -> Result<PathBuf> {
    build_rust_component(SQUARE_COMPONENT, "square_component")
}

/// Builds `tests/guests/wit-shapes` as [`build_square_component`] builds its crate.
///
/// # Errors
/// The build fails, most often for want of the target (`rustup target add wasm32-wasip2`).
pub fn build_wit_shapes() -> Result<PathBuf> {
    build_rust_component(WIT_SHAPES, "wit_shapes")
}

/// Builds the component crate `dir` (release, wasm32-wasip2, `--locked`,
/// `target/bench-guests`) and returns its component, `LIB_NAME.wasm`.
fn build_rust_component(dir: &str, lib_name: &str) -> Result<PathBuf> {
    let manifest = workspace_root().join(dir).join("Cargo.toml");
    let target_dir = workspace_root().join("target/bench-guests");
    let args = [
        OsStr::new("--locked"),
        OsStr::new("--manifest-path"),
        manifest.as_os_str(),
    ];
    cargo_build("wasm32-wasip2", args, &target_dir)?;
    Ok(target_dir.join(format!("wasm32-wasip2/release/{lib_name}.wasm")))
}

/// The Python component: `target/components/python-component-HASH.wasm`, the file
/// `tests/build.rs` keeps (HASH, the same as its, covers componentize-py's version and the
/// component's sources), or built there by `componentize-py` (about 20 s) when missing.
///
/// # Errors
/// componentize-py is not installed (`python3 -m pip install componentize-py==0.25.1`) or fails.
pub fn python_component() -> Result<PathBuf> {
    let version = Command::new("componentize-py")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .context("cannot run componentize-py (python3 -m pip install componentize-py==0.25.1)")?;
    ensure!(
        version.status.success(),
        "componentize-py --version failed ({})",
        version.status
    );
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let (dir, inputs) = PYTHON_COMPONENT;
    let dir = workspace_root().join(dir);
    let files = input_files(&dir, inputs)?;
    let mut hash = Fnv1a::default();
    hash.write(version.as_bytes());
    for file in &files {
        let contents = std::fs::read(dir.join(file))?;
        hash.write(file.to_str().context("a non-UTF-8 file name")?.as_bytes());
        hash.write(&(contents.len() as u64).to_le_bytes());
        hash.write(&contents);
    }
    let cache = workspace_root().join("target/components");
    let component = cache.join(format!("python-component-{:016x}.wasm", hash.0));
    if component.is_file() {
        return Ok(component);
    }
    // componentize-py runs the app once to snapshot it, which writes `__pycache__` beside
    // `app.py`: it reads a copy, so that the source folder stays clean.
    let staging = workspace_root().join("target/bench-components/python-component");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    for file in &files {
        let copy = staging.join(file);
        std::fs::create_dir_all(copy.parent().unwrap_or(&staging))?;
        std::fs::copy(dir.join(file), copy)?;
    }
    std::fs::create_dir_all(&cache)?;
    let partial = component.with_extension(format!("wasm.{}.partial", std::process::id()));
    let output = Command::new("componentize-py")
        .arg("--quiet")
        .arg("--wit-path")
        .arg(staging.join("wit"))
        .args(["--world", "guest", "componentize", "app", "--python-path"])
        .arg(&staging)
        .arg("--output")
        .arg(&partial)
        .stdin(Stdio::null())
        .output()
        .context("cannot run componentize-py")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let why = stderr.lines().rev().find(|line| !line.trim().is_empty());
        bail!(
            "componentize-py failed ({}): {}",
            output.status,
            why.unwrap_or("no message")
        );
    }
    std::fs::rename(&partial, &component)?;
    Ok(component)
}

/// The files under `inputs` (paths in `dir`, of files or folders), relative to `dir`, sorted:
/// as `tests/build.rs` lists them for its hash.
fn input_files(dir: &Path, inputs: &[&str]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending: Vec<PathBuf> = inputs.iter().map(PathBuf::from).collect();
    while let Some(path) = pending.pop() {
        let full = dir.join(&path);
        if full.is_dir() {
            for entry in std::fs::read_dir(&full)? {
                pending.push(path.join(entry?.file_name()));
            }
        } else {
            ensure!(full.is_file(), "{} is missing", full.display());
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The 64-bit FNV-1a hash, as `tests/build.rs` computes it, so that both name a build of the
/// same sources alike.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}
