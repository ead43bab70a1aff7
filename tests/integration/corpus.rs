//! The real-program corpus: third-party WASI command modules that `tests/corpus/corpus.txt`
//! pins (package version and module SHA-256), run through the `hecaton` binary. Each case's
//! expected output comes from an oracle that is not hecaton: a known answer worked out here
//! (a factorisation, a rectangle's corners, a unit conversion, pixels), or the host's own
//! `python3` running the same script.
//!
//! The modules are not committed: a test that finds one missing from `target/corpus` runs
//! `tests/corpus/fetch.sh` for it (pip and the package registries are needed), and fails with
//! the script's message if that fails; it never skips.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use hecaton_tests::guests::ROOT;

use crate::cli::{hecaton, stderr, stdout};

/// The path of a corpus program, fetched (and its SHA-256 checked) by `tests/corpus/fetch.sh`
/// once per test run; the lock keeps two tests from fetching at once.
fn program(name: &str) -> String {
    static CHECKED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut checked = CHECKED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let path = Path::new(ROOT)
        .join("target/corpus")
        .join(format!("{name}.wasm"));
    if !checked.contains(name) {
        let fetch = Command::new(Path::new(ROOT).join("tests/corpus/fetch.sh"))
            .arg(name)
            .output()
            .expect("run tests/corpus/fetch.sh");
        assert!(
            fetch.status.success() && path.is_file(),
            "tests/corpus/fetch.sh {name} failed ({}): {}",
            fetch.status,
            String::from_utf8_lossy(&fetch.stderr)
        );
        checked.insert(name.to_owned());
    }
    path.to_str().unwrap().to_owned()
}

/// A fresh folder for one test's files, under the system's temporary folder.
fn folder(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("hecaton-corpus-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// The JSON records of a map's stdout, one per line.
fn records(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect()
}

/// Asserts that hecaton exited with `code`, showing its stderr otherwise.
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stderr: {}",
        stderr(output)
    );
}

// --- boolector (C, wasi-sdk 22): an SMT solver reading SMT-LIB 2 on stdin -------------------

/// An SMT-LIB 2 problem that is satisfiable exactly when `n` (below 256) is a product of two
/// numbers greater than 1, that is, when `n` is composite.
fn factoring_problem(n: u32) -> String {
    format!(
        "(set-logic QF_BV)\n\
         (declare-fun x () (_ BitVec 8))\n(declare-fun y () (_ BitVec 8))\n\
         (assert (bvugt x #x01))\n(assert (bvugt y #x01))\n\
         (assert (= (bvmul ((_ zero_extend 8) x) ((_ zero_extend 8) y)) (_ bv{n} 16)))\n\
         (check-sat)\n"
    )
}

/// The oracle: trial division.
fn is_composite(n: u32) -> bool {
    (2..n).any(|d| n.is_multiple_of(d))
}

#[test]
fn boolector_finds_the_factors_of_a_composite() {
    let output = hecaton(
        &["run", &program("boolector"), "--", "--smt2", "-m"],
        (factoring_problem(91) + "(get-value (x y))\n").as_bytes(),
    );
    // SMT-COMP's convention: exit 10 for sat, 20 for unsat.
    assert_exit(&output, 10);
    let text = stdout(&output);
    assert!(text.starts_with("sat\n"), "{text}");
    let value = |name: &str| {
        let at = text
            .find(&format!("({name} #b"))
            .unwrap_or_else(|| panic!("{text}"))
            + 5;
        u32::from_str_radix(&text[at..at + 8], 2).unwrap()
    };
    assert_eq!(value("x") * value("y"), 91, "{text}");
}

#[test]
fn boolector_mapped_over_thirty_numbers_tells_primes_from_composites() {
    let numbers: Vec<u32> = (2..32).collect();
    let inputs: String = numbers
        .iter()
        .map(|&n| serde_json::to_string(&factoring_problem(n)).unwrap() + "\n")
        .collect();
    let output = hecaton(
        &["map", &program("boolector"), "--stdin", "--argv", "--smt2"],
        inputs.as_bytes(),
    );
    assert_exit(&output, 0);
    let records = records(&output);
    assert_eq!(records.len(), numbers.len());
    for (&n, record) in numbers.iter().zip(&records) {
        let (code, answer) = if is_composite(n) {
            (10, "sat")
        } else {
            (20, "unsat")
        };
        assert_eq!(record["exit_code"], code, "{n}: {record}");
        assert!(
            record["stdout"].as_str().unwrap().starts_with(answer),
            "{n}: {record}"
        );
    }
}

// --- usvg and resvg (Rust 1.68): SVG simplification and rendering --------------------------

/// An SVG of `size`×`size` pixels holding one red rectangle.
fn rectangle_svg(size: u32, x: u32, y: u32, width: u32, height: u32) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}"><rect id="r" x="{x}" y="{y}" width="{width}" height="{height}" fill="red"/></svg>"#
    )
}

#[test]
fn usvg_turns_a_rectangle_into_its_path_from_stdin() {
    let output = hecaton(
        &["run", &program("usvg"), "--", "-", "-c"],
        rectangle_svg(10, 1, 2, 3, 4).as_bytes(),
    );
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(
        text.contains(
            r##"<path id="r" fill="#ff0000" stroke="none" d="M 1 2 L 4 2 L 4 6 L 1 6 Z"/>"##
        ),
        "{text}"
    );
}

#[test]
fn usvg_mapped_over_twenty_four_rectangles_gives_each_its_corners() {
    let shapes: Vec<(u32, u32, u32, u32)> = (0..24).map(|i| (i, 2 * i, i + 1, 3 * i + 2)).collect();
    let inputs: String = shapes
        .iter()
        .map(|&(x, y, w, h)| serde_json::to_string(&rectangle_svg(100, x, y, w, h)).unwrap() + "\n")
        .collect();
    let output = hecaton(
        &[
            "map",
            &program("usvg"),
            "--stdin",
            "--argv",
            "-",
            "--argv",
            "-c",
        ],
        inputs.as_bytes(),
    );
    assert_exit(&output, 0);
    let records = records(&output);
    assert_eq!(records.len(), shapes.len());
    for (&(x, y, w, h), record) in shapes.iter().zip(&records) {
        // The oracle: a rectangle's outline, clockwise from its top left corner.
        let (right, bottom) = (x + w, y + h);
        let path = format!(r#"d="M {x} {y} L {right} {y} L {right} {bottom} L {x} {bottom} Z""#);
        assert_eq!(record["exit_code"], 0, "{record}");
        assert!(
            record["stdout"].as_str().unwrap().contains(&path),
            "{path}: {record}"
        );
    }
}

#[test]
fn resvg_renders_a_granted_file_to_png_on_stdout() {
    let root = folder("resvg");
    std::fs::write(root.join("rect.svg"), rectangle_svg(10, 1, 2, 3, 4)).unwrap();
    let grant = format!("{}::/in", root.display());
    let output = hecaton(
        &[
            "run",
            "--dir",
            &grant,
            &program("resvg"),
            "--",
            "/in/rect.svg",
            "-c",
        ],
        b"",
    );
    assert_exit(&output, 0);
    let decoder = png::Decoder::new(std::io::Cursor::new(output.stdout));
    let mut reader = decoder.read_info().expect("a PNG on stdout");
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((frame.width, frame.height), (10, 10));
    assert_eq!(frame.color_type, png::ColorType::Rgba);
    // The oracle: opaque red inside the rectangle (x 1..4, y 2..6), transparent outside.
    let pixel = |x: usize, y: usize| &pixels[(y * 10 + x) * 4..][..4];
    assert_eq!(pixel(2, 3), [255, 0, 0, 255]);
    assert_eq!(pixel(3, 5), [255, 0, 0, 255]);
    assert_eq!(pixel(0, 0), [0, 0, 0, 0]);
    assert_eq!(pixel(5, 3), [0, 0, 0, 0]);
    std::fs::remove_dir_all(root).unwrap();
}

// --- svg-flatten (C++, wasi-sdk 20): SVG to Gerber, for PCB artwork -------------------------

/// The folders svg-flatten needs: its input, `/tmp` to write its temporary files in, and a
/// `/dev` holding a file `urandom`, which it reads for the names of those files (not
/// `random_get`: without it, it aborts with "Error getting random data for temporary file
/// name").
fn svg_flatten_folders(name: &str) -> (PathBuf, Vec<String>) {
    let root = folder(name);
    for sub in ["in", "tmp", "dev"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::write(root.join("dev/urandom"), (0..=255u8).collect::<Vec<_>>()).unwrap();
    let grants = [("in", "/in"), ("tmp", "/tmp:rw"), ("dev", "/dev")]
        .iter()
        .flat_map(|(host, guest)| {
            [
                "--dir".to_owned(),
                format!("{}::{guest}", root.join(host).display()),
            ]
        })
        .collect();
    (root, grants)
}

#[test]
fn svg_flatten_writes_a_rectangle_as_gerber_in_millimetres() {
    let (root, grants) = svg_flatten_folders("svg-flatten");
    // svg-flatten cannot run usvg itself (WASI has no exec): its caller does, as here.
    let usvg = hecaton(
        &["run", &program("usvg"), "--", "-", "-c"],
        rectangle_svg(10, 1, 2, 3, 4).as_bytes(),
    );
    assert_exit(&usvg, 0);
    std::fs::write(root.join("in/rect.svg"), &usvg.stdout).unwrap();
    let mut args: Vec<&str> = vec!["run"];
    args.extend(grants.iter().map(String::as_str));
    let flatten = program("svg-flatten");
    args.extend([
        &flatten,
        "--",
        "--no-usvg",
        "--format",
        "gerber",
        "/in/rect.svg",
        "-",
    ]);
    let output = hecaton(&args, b"");
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(text.starts_with("%FSLAX46Y46*%\n%MOMM*%\n"), "{text}");
    // The oracle: CSS pixels at 96 per inch, in the format's 10⁻⁶ mm units; Gerber's y axis
    // points up, from the bottom of the 10-pixel page.
    let unit = |px: u32| format!("{:010}", (f64::from(px) * 25.4 / 96.0 * 1e6).round() as u64);
    for (x, y) in [(4, 6), (1, 6), (1, 2), (4, 2)] {
        let corner = format!("X{}Y{}", unit(x), unit(10 - y));
        assert!(text.contains(&corner), "{corner}: {text}");
    }
    assert!(text.trim_end().ends_with("M02*"), "{text}");
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn svg_flatten_without_a_dev_urandom_aborts() {
    let output = hecaton(
        &["run", &program("svg-flatten"), "--", "--no-usvg", "-", "-"],
        rectangle_svg(10, 1, 2, 3, 4).as_bytes(),
    );
    assert_exit(&output, 3);
    let text = stderr(&output);
    assert!(
        text.contains("Error getting random data for temporary file name"),
        "{text}"
    );
}

// --- CPython 3.12 (C, clang 16): the interpreter, checked against the host's python3 --------

/// A script whose output depends on its argument and its stdin, and on nothing of the machine.
const SCRIPT: &str = "import sys, hashlib, json\n\
    n = int(sys.argv[1])\n\
    a, b = 0, 1\n\
    for _ in range(n): a, b = b, a + b\n\
    words = sys.stdin.read().split()\n\
    digest = hashlib.sha256(' '.join(sorted(words)).encode()).hexdigest()\n\
    print(json.dumps({'n': n, 'fib': a, 'digits': len(str(3 ** n)), 'words': len(words), \
    'sha256': digest}, sort_keys=True))\n";

/// The oracle: the host's `python3` running `SCRIPT` with the same argument and stdin.
fn host_python(arg: &str, stdin: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT, arg])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the host's python3");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn python_runs_a_script_with_arguments_and_stdin_as_the_host_python_does() {
    let stdin = b"the quick brown fox jumps over the lazy dog";
    let output = hecaton(
        &["run", &program("python"), "--", "-c", SCRIPT, "90"],
        stdin,
    );
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), host_python("90", stdin));
}

#[test]
fn python_mapped_over_twenty_four_arguments_matches_the_host_python() {
    let args: Vec<String> = (0..24).map(|i| (i * 37 % 500).to_string()).collect();
    let output = hecaton(
        &[
            "map",
            &program("python"),
            "--lines",
            "--arg",
            "--argv",
            "-c",
            "--argv",
            SCRIPT,
        ],
        (args.join("\n") + "\n").as_bytes(),
    );
    assert_exit(&output, 0);
    let records = records(&output);
    assert_eq!(records.len(), args.len());
    for (arg, record) in args.iter().zip(&records) {
        assert_eq!(record["exit_code"], 0, "{arg}: {record}");
        assert_eq!(record["stdout"], host_python(arg, b""), "{arg}");
    }
}

// --- yosys (C++ with wasm exception handling, clang): logic synthesis ----------------------

/// A two-input AND gate in Verilog.
const AND_GATE: &str = "module top(input a, input b, output y); assign y = a & b; endmodule\n";

#[test]
fn yosys_evaluates_an_and_gate_over_its_truth_table() {
    // yosys is built with wasm exception handling (exnref), which hecaton's engine enables.
    // The oracle for the version line is the reference run: the same module under wasmtime-py 47
    // with `wasm_exceptions = True`, as yowasp-runtime 1.96 runs it.
    let root = folder("yosys");
    std::fs::write(root.join("and.v"), AND_GATE).unwrap();
    let grant = format!("{}::/in", root.display());
    let version = hecaton(&["run", &program("yosys"), "--", "-V"], b"");
    assert_exit(&version, 0);
    assert!(
        stdout(&version).starts_with("Yosys 0.70 (git sha1 28ba3cb92, Release, Clang"),
        "{}",
        stdout(&version)
    );
    for (a, b) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        let script = format!("read_verilog /in/and.v; eval -set a {a} -set b {b} -show y");
        let output = hecaton(
            &[
                "run",
                "--dir",
                &grant,
                &program("yosys"),
                "--",
                "-p",
                &script,
            ],
            b"",
        );
        assert_exit(&output, 0);
        // The oracle: the truth table of AND.
        let expected = format!("Eval result: \\y = 1'{}.", a & b);
        assert!(stdout(&output).contains(&expected), "{}", stdout(&output));
    }
    std::fs::remove_dir_all(root).unwrap();
}
