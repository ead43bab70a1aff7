//! Builds every guest the tests use and writes their paths into `guests.rs`:
//! the Rust guest crates (for wasm32-wasip1, release, in a target folder of their own), the C
//! example (with clang) and the AssemblyScript example (with the `asc` its `package-lock.json`
//! pins, installed by `npm ci` into its own `node_modules`). A guest that fails to build fails the
//! build: no test is skipped.

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The guest crates, by package name.
const RUST_GUESTS: &[&str] = &[
    "square",
    "greet",
    "primes",
    "wordcount",
    "mandelbrot",
    "flaky",
    "plugin",
    "upper",
    "sieve",
    "probe",
    "echo",
    "adversary",
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_owned();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    for watched in [
        "guest",
        "examples/guests",
        "examples/c",
        "examples/assemblyscript/assembly",
        "examples/assemblyscript/asconfig.json",
        "examples/assemblyscript/package.json",
        "examples/assemblyscript/package-lock.json",
        "tests/guests",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let guests_target = out_dir.join("guests-target");
    let mut modules = build_rust_guests(&root, &guests_target);
    modules.insert(
        "c_square".into(),
        build_c(
            &root.join("examples/c/square.c"),
            &out_dir.join("c-square.wasm"),
        ),
    );
    modules.insert(
        "as_guest".into(),
        build_assemblyscript(
            &root.join("examples/assemblyscript"),
            &out_dir.join("as-guest.wasm"),
        ),
    );

    let mut constants = String::new();
    for (name, path) in &modules {
        let constant = name.to_uppercase().replace('-', "_");
        writeln!(
            constants,
            "/// The `{name}` guest module.\npub const {constant}: &str = {:?};",
            path.display()
        )
        .unwrap();
    }
    for (constant, path) in [
        ("WAT_SQUARE", "examples/wat/square.wat"),
        ("FIXTURES", "tests/fixtures"),
        ("ROOT", ""),
    ] {
        writeln!(
            constants,
            "/// `{path}` in the repository.\npub const {constant}: &str = {:?};",
            root.join(path).display()
        )
        .unwrap();
    }
    writeln!(
        constants,
        "/// Cargo's target folder of the guest crates.\npub const GUESTS_TARGET_DIR: &str = {:?};",
        guests_target.display()
    )
    .unwrap();
    std::fs::write(out_dir.join("guests.rs"), constants).unwrap();
}

/// `cargo build` of the guest crates for wasm32-wasip1; their modules by package name.
fn build_rust_guests(root: &Path, target_dir: &Path) -> BTreeMap<String, PathBuf> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip1",
            "--message-format=json-render-diagnostics",
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for guest in RUST_GUESTS {
        command.args(["-p", guest]);
    }
    // The outer build's flags and wrappers (clippy's among them) are for the host, not the guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
    ] {
        command.env_remove(var);
    }
    let mut child = command.spawn().expect("run cargo to build the guests");
    let mut modules = BTreeMap::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let message: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap_or_default();
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(name) = message["target"]["name"].as_str() else {
            continue;
        };
        let wasm = message["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .find(|f| f.ends_with(".wasm"));
        if let Some(wasm) = wasm {
            modules.insert(name.to_owned(), PathBuf::from(wasm));
        }
    }
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "building the guest crates failed ({status}); is the wasm32-wasip1 target installed? (`rustup target add wasm32-wasip1`)"
    );
    for guest in RUST_GUESTS {
        assert!(
            modules.contains_key(*guest),
            "guest crate {guest} produced no .wasm module"
        );
    }
    modules
}

/// The C example, with Debian's clang and wasi-libc (`.ci/run` installs them).
fn build_c(source: &Path, output: &Path) -> PathBuf {
    let status = Command::new("clang")
        .args(["--target=wasm32-wasi", "-O2", "-mexec-model=reactor", "-Wall", "-Werror", "-o"])
        .arg(output)
        .arg(source)
        .status()
        .expect("run clang to build the C guest (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)");
    assert!(
        status.success(),
        "clang failed to build {} ({status})",
        source.display()
    );
    output.to_owned()
}

/// The AssemblyScript example, with the compiler its `package-lock.json` pins: `npm ci` installs
/// it into the example's own `node_modules` when that is missing or holds another version, then
/// `asc` builds `assembly/index.ts` with the example's `asconfig.json` (`.ci/run` installs node
/// and npm).
fn build_assemblyscript(example: &Path, output: &Path) -> PathBuf {
    let asc = example.join("node_modules/assemblyscript/bin/asc.js");
    let version = |manifest: &str, pointer: &str| {
        let text = std::fs::read_to_string(example.join(manifest)).unwrap_or_default();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        json.pointer(pointer)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let pinned = version("package.json", "/devDependencies/assemblyscript");
    let installed = version("node_modules/assemblyscript/package.json", "/version");
    if !asc.is_file() || installed != pinned {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(example)
            // npm's progress and notices would interleave with cargo's; its errors still show.
            .stdout(Stdio::null())
            .status()
            .expect("run npm to install the AssemblyScript compiler (apt-get install nodejs npm)");
        assert!(
            status.success(),
            "`npm ci` in {} failed ({status})",
            example.display()
        );
    }
    let status = Command::new("node")
        .arg(&asc)
        .args([
            "assembly/index.ts",
            "--config",
            "asconfig.json",
            "--target",
            "release",
        ])
        .arg("--outFile")
        .arg(output)
        .current_dir(example)
        .status()
        .expect("run node to build the AssemblyScript guest (apt-get install nodejs npm)");
    assert!(
        status.success(),
        "asc failed to build {} ({status})",
        example.join("assembly/index.ts").display()
    );
    output.to_owned()
}
