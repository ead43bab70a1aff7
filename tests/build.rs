//! Builds every guest the tests use and writes their paths into `guests.rs`:
//! the Rust guest crates (for wasm32-wasip1, release, in a target folder of their own), the C
//! example (with clang), the AssemblyScript example (with the `asc` its `package-lock.json`
//! pins, installed by `npm ci` into its own `node_modules`), and the components: two Rust crates
//! outside the workspace (for wasm32-wasip2, release, in a second target folder), a Python one
//! (componentize-py) and a JavaScript one (componentize-js, which `npm ci` installs as for the
//! AssemblyScript example). A guest that fails to build fails the build: no test is skipped.
//!
//! The Python and JavaScript components take about 20 s each to build, so they are kept in
//! `target/components/NAME-HASH.wasm`, where HASH covers the files their build reads and the
//! tool's version: a clean build, or another `OUT_DIR`, finds them there.

use std::collections::BTreeMap;
use std::env;
use std::ffi::OsStr;
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

/// The component crates: each its own workspace with its own `Cargo.lock`, outside hecaton's
/// (whose guests are wasm32-wasip1 modules), built for wasm32-wasip2.
const COMPONENT_CRATES: &[&str] = &["tests/guests/wit-shapes", "tests/guests/wit-command"];

/// The Python component's folder, and the files (or folders) in it that its build reads.
const PYTHON_COMPONENT: (&str, &[&str]) = ("tests/guests/python-component", &["app.py", "wit"]);

/// The componentize-py release the Python component is built with (`.ci/run` installs it).
const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// The JavaScript component's folder, and the files (or folders) in it that its build reads
/// (`package-lock.json` pins componentize-js).
const JS_COMPONENT: (&str, &[&str]) = (
    "tests/guests/js-component",
    &[
        "build.mjs",
        "package.json",
        "package-lock.json",
        "src",
        "wit",
    ],
);

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
        "tests/guests/probe",
        "tests/guests/echo",
        "tests/guests/adversary",
        "Cargo.toml",
        "Cargo.lock",
    ]
    .into_iter()
    .chain(COMPONENT_CRATES.iter().copied())
    {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    // Only the inputs of the tool-built components: not their `node_modules` or `__pycache__`.
    for (dir, inputs) in [PYTHON_COMPONENT, JS_COMPONENT] {
        for input in inputs {
            let input = root.join(dir).join(input);
            println!("cargo:rerun-if-changed={}", input.display());
        }
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

    let mut components = build_component_crates(&root, &out_dir.join("guests-p2-target"));
    let cache = root.join("target/components");
    let staging = out_dir.join("python-component");
    let python = build_python_component(&root, &cache, &staging);
    components.insert("py_component".into(), python);
    components.insert("js_component".into(), build_js_component(&root, &cache));

    let mut constants = String::new();
    for (kind, guests) in [("module", &modules), ("component", &components)] {
        for (name, path) in guests {
            let constant = name.to_uppercase().replace('-', "_");
            writeln!(
                constants,
                "/// The `{name}` guest {kind}.\npub const {constant}: &str = {:?};",
                path.display()
            )
            .unwrap();
        }
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
    let packages = RUST_GUESTS.iter().flat_map(|guest| ["-p", guest]);
    let modules = cargo_build(root, "wasm32-wasip1", packages, target_dir);
    for guest in RUST_GUESTS {
        assert!(
            modules.contains_key(*guest),
            "guest crate {guest} produced no .wasm module"
        );
    }
    modules
}

/// `cargo build` of each component crate for wasm32-wasip2, all in one target folder, with the
/// versions its own `Cargo.lock` pins (`--locked`); the components by target name.
fn build_component_crates(root: &Path, target_dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut components = BTreeMap::new();
    for krate in COMPONENT_CRATES {
        let dir = root.join(krate);
        let manifest = dir.join("Cargo.toml");
        let args = [
            OsStr::new("--locked"),
            OsStr::new("--manifest-path"),
            manifest.as_os_str(),
        ];
        let built = cargo_build(&dir, "wasm32-wasip2", args, target_dir);
        assert!(
            !built.is_empty(),
            "component crate {krate} produced no .wasm component"
        );
        components.extend(built);
    }
    components
}

/// `cargo build --release --target TARGET` with `args` (which crates), in `dir` and in a target
/// folder of its own; the `.wasm` files built, by target name.
fn cargo_build<A: AsRef<OsStr>>(
    dir: &Path,
    target: &str,
    args: impl IntoIterator<Item = A>,
    target_dir: &Path,
) -> BTreeMap<String, PathBuf> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(dir)
        .args([
            "build",
            "--release",
            "--target",
            target,
            "--message-format=json-render-diagnostics",
        ])
        .args(args)
        .arg("--target-dir")
        .arg(target_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
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
    let mut built = BTreeMap::new();
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
            built.insert(name.to_owned(), PathBuf::from(wasm));
        }
    }
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "building the guest crates in {} failed ({status}); is the {target} target installed? (`rustup target add {target}`)",
        dir.display()
    );
    built
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

/// The AssemblyScript example, with the compiler its `package-lock.json` pins (see [`npm_ci`]):
/// `asc` builds `assembly/index.ts` with the example's `asconfig.json`.
fn build_assemblyscript(example: &Path, output: &Path) -> PathBuf {
    npm_ci(example);
    let status = Command::new("node")
        .arg(example.join("node_modules/assemblyscript/bin/asc.js"))
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

/// The Python component, `app.py` for the world `guest` of `wit/`, built by componentize-py
/// [`COMPONENTIZE_PY_VERSION`] (`.ci/run` installs it with pip) and cached (see [`cached`]).
fn build_python_component(root: &Path, cache: &Path, staging: &Path) -> PathBuf {
    let version = Command::new("componentize-py")
        .arg("--version")
        .output()
        .expect("run componentize-py (python3 -m pip install componentize-py==0.25.1)");
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    assert!(
        version == format!("componentize-py {COMPONENTIZE_PY_VERSION}"),
        "the Python component is built with componentize-py {COMPONENTIZE_PY_VERSION}, not {version:?} (python3 -m pip install componentize-py=={COMPONENTIZE_PY_VERSION})"
    );
    let (dir, inputs) = PYTHON_COMPONENT;
    let dir = root.join(dir);
    cached(
        cache,
        "python-component",
        &dir,
        inputs,
        &version,
        |output| {
            componentize_py(&dir, inputs, staging, output);
        },
    )
}

/// `componentize-py` of `inputs` (in `dir`), writing `output`. It reads a copy made in
/// `staging`: componentize-py runs the app once to snapshot it, and that run writes
/// `__pycache__` beside `app.py`, which would otherwise land in the source folder.
fn componentize_py(dir: &Path, inputs: &[&str], staging: &Path, output: &Path) {
    if staging.exists() {
        std::fs::remove_dir_all(staging).unwrap();
    }
    for file in input_files(dir, inputs) {
        let copy = staging.join(&file);
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(dir.join(&file), copy).unwrap();
    }
    let status = Command::new("componentize-py")
        .arg("--quiet")
        .arg("--wit-path")
        .arg(staging.join("wit"))
        .args(["--world", "guest", "componentize", "app", "--python-path"])
        .arg(staging)
        .arg("--output")
        .arg(output)
        // Cargo reads a build script's stdout for its instructions: the tool's goes to stderr.
        .stdout(std::io::stderr())
        .status()
        .expect("run componentize-py to build the Python component");
    assert!(
        status.success(),
        "componentize-py failed to build {} ({status})",
        dir.join("app.py").display()
    );
}

/// The JavaScript component, `src/guest.js` for the world `guest` of `wit/`, built by
/// `build.mjs` with the componentize-js its `package-lock.json` pins (see [`npm_ci`]) and
/// cached (see [`cached`]: the lock file is a hashed input, so it stands for the tool's
/// version).
fn build_js_component(root: &Path, cache: &Path) -> PathBuf {
    let (dir, inputs) = JS_COMPONENT;
    let dir = root.join(dir);
    cached(cache, "js-component", &dir, inputs, "", |output| {
        npm_ci(&dir);
        let status = Command::new("node")
            .arg("build.mjs")
            .arg(output)
            .current_dir(&dir)
            // Cargo reads a build script's stdout for its instructions: the tool's goes to stderr.
            .stdout(std::io::stderr())
            .status()
            .expect("run node to build the JavaScript component (apt-get install nodejs npm)");
        assert!(
            status.success(),
            "componentize-js failed to build {} ({status})",
            dir.join("src/guest.js").display()
        );
    })
}

/// `npm ci` in `project`, which installs the versions its `package-lock.json` pins into its own
/// `node_modules`, unless each package `package.json` pins is installed at that version
/// (`.ci/run` installs node and npm).
fn npm_ci(project: &Path) {
    let read = |manifest: &Path| -> serde_json::Value {
        let text = std::fs::read_to_string(project.join(manifest)).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_default()
    };
    let pinned = read(Path::new("package.json"))["devDependencies"].clone();
    let pinned = pinned
        .as_object()
        .expect("package.json pins devDependencies");
    let installed = pinned.iter().all(|(package, version)| {
        let manifest = Path::new("node_modules").join(package).join("package.json");
        read(&manifest)["version"] == *version
    });
    if !installed {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(project)
            // npm's progress and notices would interleave with cargo's; its errors still show.
            .stdout(Stdio::null())
            .status()
            .expect("run npm (apt-get install nodejs npm)");
        assert!(
            status.success(),
            "`npm ci` in {} failed ({status})",
            project.display()
        );
    }
}

/// The component `name` in `cache`, built by `build` (given the path to write) unless there
/// already: `cache/NAME-HASH.wasm`, where HASH covers `tool` (the tool's version) and `inputs`
/// (paths in `dir`: each file's path and contents). The build writes a temporary file that is
/// renamed into place, so an interrupted build leaves nothing a later one would take for a
/// component; once it is in place, `name`'s older builds are removed.
fn cached(
    cache: &Path,
    name: &str,
    dir: &Path,
    inputs: &[&str],
    tool: &str,
    build: impl FnOnce(&Path),
) -> PathBuf {
    let mut hash = Fnv1a::default();
    hash.write(tool.as_bytes());
    for file in input_files(dir, inputs) {
        let contents = std::fs::read(dir.join(&file)).unwrap();
        hash.write(file.to_str().unwrap().as_bytes());
        hash.write(&u64::try_from(contents.len()).unwrap().to_le_bytes());
        hash.write(&contents);
    }
    let file_name = format!("{name}-{:016x}.wasm", hash.0);
    let component = cache.join(&file_name);
    if component.is_file() {
        return component;
    }
    std::fs::create_dir_all(cache).unwrap();
    let partial = cache.join(format!("{file_name}.{}.partial", std::process::id()));
    build(&partial);
    std::fs::rename(&partial, &component)
        .unwrap_or_else(|error| panic!("building {name} left no {}: {error}", partial.display()));
    let older = |entry: &str| {
        entry != file_name && entry.starts_with(&format!("{name}-")) && entry.ends_with(".wasm")
    };
    for entry in std::fs::read_dir(cache).unwrap() {
        let entry = entry.unwrap().path();
        if older(&entry.file_name().unwrap().to_string_lossy()) {
            std::fs::remove_file(entry).unwrap();
        }
    }
    component
}

/// The files under `inputs` (paths in `dir`, of files or folders), relative to `dir`, sorted.
fn input_files(dir: &Path, inputs: &[&str]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending: Vec<PathBuf> = inputs.iter().map(PathBuf::from).collect();
    while let Some(path) = pending.pop() {
        let full = dir.join(&path);
        if full.is_dir() {
            for entry in std::fs::read_dir(&full).unwrap() {
                pending.push(path.join(entry.unwrap().file_name()));
            }
        } else {
            assert!(full.is_file(), "{} is missing", full.display());
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The 64-bit FNV-1a hash: a few lines, and the same in every Rust release (std's
/// `DefaultHasher` may change between them), so a cached component's name stays valid.
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
