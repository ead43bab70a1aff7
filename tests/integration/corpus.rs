//! The real-program corpus: third-party WASI command modules that `tests/corpus/corpus.txt`
//! pins (package version and module SHA-256), run through the `hecaton` binary. Each case's
//! expected output comes from an oracle that is not hecaton: a known answer worked out here
//! (a factorisation, a rectangle's corners, a unit conversion, pixels, a folded constant's
//! bytes), or the host's own `python3` or `node` running the same script.
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

// --- cc1 (GCC 15.2 for AVR; C++, clang 22 wasi-sdk): the C compiler proper, C to assembly ---
// Its table holds 10,433 elements: the old default table limit (10,000) refused it; it runs
// under the defaults.

/// A C file of two functions, one returning a constant expression.
const ANSWER_C: &str =
    "int answer(void) { return 6 * 7; }\nint add(int a, int b) { return a + b; }\n";

#[test]
fn cc1_compiles_a_granted_c_file_to_avr_assembly_defining_its_functions() {
    let root = folder("cc1");
    std::fs::write(root.join("answer.c"), ANSWER_C).unwrap();
    let grant = format!("{}::/src", root.display());
    let output = hecaton(
        &[
            "run",
            "--dir",
            &grant,
            &program("cc1"),
            "--",
            "-quiet",
            "-O2",
            "/src/answer.c",
            "-o",
            "-",
        ],
        b"",
    );
    assert_exit(&output, 0);
    let text = stdout(&output);
    // The oracle: both functions are defined and exported, and 6 * 7 is folded into the 16-bit
    // `int` returned in r25:r24 (AVR's calling convention), low byte 42, high byte 0.
    for function in ["answer", "add"] {
        assert!(text.contains(&format!(".global\t{function}\n")), "{text}");
        assert!(text.contains(&format!("\n{function}:\n")), "{text}");
    }
    assert!(text.contains("\tldi r24,lo8(42)\n\tldi r25,0\n"), "{text}");
    assert!(text.contains("\t.ident\t\"GCC: (GNU) 15.2.0\""), "{text}");
    std::fs::remove_dir_all(root).unwrap();
}

/// A 32-bit constant initialiser for GCC to fold, and its value worked out here.
fn folded_constant(i: u32) -> (String, u32) {
    let (a, b, c) = (1_000 + 7_919 * i, 3 + i, i * i);
    let source = format!("unsigned long v = {a}UL * {b}UL - {c}UL ^ 0x5a5a5a5aUL;\n");
    (source, (a * b - c) ^ 0x5a5a_5a5a)
}

#[test]
fn cc1_mapped_over_twenty_four_constants_folds_each_to_its_bytes() {
    let cases: Vec<(String, u32)> = (0..24).map(folded_constant).collect();
    let inputs: String = cases
        .iter()
        .map(|(source, _)| serde_json::to_string(source).unwrap() + "\n")
        .collect();
    let output = hecaton(
        &[
            "map",
            &program("cc1"),
            "--stdin",
            "--argv",
            "-quiet",
            "--argv",
            "-O2",
            "--argv",
            "-",
            "--argv",
            "-o",
            "--argv",
            "-",
        ],
        inputs.as_bytes(),
    );
    assert_exit(&output, 0);
    let records = records(&output);
    assert_eq!(records.len(), cases.len());
    for ((source, value), record) in cases.iter().zip(&records) {
        assert_eq!(record["exit_code"], 0, "{source}: {record}");
        // The oracle: the value's four bytes, lowest first (AVR is little-endian), each printed
        // by GCC as a signed byte.
        let bytes: String = value
            .to_le_bytes()
            .iter()
            .map(|&byte| format!("\t.byte\t{}\n", byte as i8))
            .collect();
        let expected = format!("\t.size\tv, 4\nv:\n{bytes}");
        assert!(
            record["stdout"].as_str().unwrap().contains(&expected),
            "{source}: {expected}: {record}"
        );
    }
}

#[test]
fn cc1_rejects_a_syntax_error_naming_its_line_and_column() {
    let source = "int f(void) { return 1 +; }\n";
    let output = hecaton(
        &["run", &program("cc1"), "--", "-quiet", "-", "-o", "-"],
        source.as_bytes(),
    );
    assert_exit(&output, 1);
    // The oracle: GCC's diagnostic at the `;` (its column counted from 1).
    let column = source.find(';').unwrap() + 1;
    let expected = format!("<stdin>:1:{column}: error: expected expression before ';' token");
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

// --- QuickJS-ng 0.11 (C, clang 19 wasi-sdk): a JavaScript engine, checked against node ------

/// A script whose output depends on its stdin and on nothing of the machine, in the JavaScript
/// both engines run: QuickJS's `std` module (with `--std`) or node's `fs` for stdin, BigInt,
/// regular expressions, sorting, JSON and number formatting. It has no `{}`: in a map's
/// `--argv`, that stands for the input.
const JS_SCRIPT: &str = r#"
const input = typeof std !== "undefined" ? std.in.readAsString() : require("fs").readFileSync(0, "utf8");
const words = input.split(/\s+/).filter(Boolean);
const counts = Object.create(null);
for (const word of words) counts[word.toLowerCase()] = (counts[word.toLowerCase()] || 0) + 1;
const top = Object.entries(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
let [a, b] = [0n, 1n];
for (let i = 0; i < words.length * 9; i++) [a, b] = [b, a + b];
const ratio = words.length ? input.length / words.length : 0;
console.log(JSON.stringify({
  words: words.length, distinct: Object.keys(counts).sort(), top, fib: a.toString(),
  ratio: ratio.toFixed(4), third: ratio / 3,
  masked: input.trim().toUpperCase().replace(/[AEIOU]/g, "_").split("").reverse().join(""),
}));
"#;

/// The oracle: the host's `node` running `script` (`-e`) with `args` and `stdin`.
fn host_node(script: &str, args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new("node")
        .arg("-e")
        .arg(script)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the host's node");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Input `i` of the map: `i + 1` words of a sentence, picked with a stride of `i`.
fn js_input(i: usize) -> String {
    let words: Vec<&str> = "the quick brown fox jumps over the lazy dog The DOG sleeps"
        .split(' ')
        .collect();
    let text: Vec<&str> = (0..=i).map(|j| words[i * j % words.len()]).collect();
    text.join(" ") + if i % 2 == 1 { "\n" } else { "" }
}

#[test]
fn quickjs_mapped_over_twenty_four_texts_prints_what_the_host_node_prints() {
    let texts: Vec<String> = (0..24).map(js_input).collect();
    let inputs: String = texts
        .iter()
        .map(|text| serde_json::to_string(text).unwrap() + "\n")
        .collect();
    let output = hecaton(
        &[
            "map",
            &program("quickjs"),
            "--stdin",
            "--argv",
            "--std",
            "--argv",
            "-e",
            "--argv",
            JS_SCRIPT,
        ],
        inputs.as_bytes(),
    );
    assert_exit(&output, 0);
    let records = records(&output);
    assert_eq!(records.len(), texts.len());
    for (text, record) in texts.iter().zip(&records) {
        let node = host_node(JS_SCRIPT, &[], text.as_bytes());
        assert!(node.status.success(), "node: {}", stderr(&node));
        assert_eq!(record["exit_code"], 0, "{text:?}: {record}");
        assert_eq!(record["stdout"], stdout(&node), "{text:?}");
    }
}

/// A script file that reads its arguments: QuickJS's `scriptArgs` start at the script's
/// path, node's `process.argv` at node's own.
const JS_ARGS_SCRIPT: &str = r#"const args = typeof scriptArgs !== "undefined" ? scriptArgs.slice(1) : process.argv.slice(2);
const n = Number(args[0]);
const primes = [];
for (let k = 2; primes.length < n; k++) if (primes.every((p) => k % p)) primes.push(k);
console.log(args.slice(1).join("-"), primes.reduce((s, p) => s + BigInt(p) ** 3n, 0n).toString(), JSON.stringify(primes.slice(-3)));
if (n > 50) throw new RangeError(`too many primes: ${n}`);
"#;

#[test]
fn quickjs_runs_a_granted_script_file_with_arguments_as_the_host_node_does() {
    let root = folder("quickjs");
    std::fs::write(root.join("primes.js"), JS_ARGS_SCRIPT).unwrap();
    let grant = format!("{}::/js", root.display());
    let node_file = root.join("primes.js");
    for (n, exit) in [("40", 0), ("60", 1)] {
        let output = hecaton(
            &[
                "run",
                "--dir",
                &grant,
                &program("quickjs"),
                "--",
                "/js/primes.js",
                n,
                "a",
                "b",
            ],
            b"",
        );
        let node = Command::new("node")
            .arg(&node_file)
            .args([n, "a", "b"])
            .output()
            .expect("the host's node");
        // The oracle: node's stdout and exit code; an uncaught exception is exit 1 in both,
        // with the error's name and message on stderr.
        assert_eq!(node.status.code(), Some(exit), "node: {}", stderr(&node));
        assert_exit(&output, exit);
        assert_eq!(stdout(&output), stdout(&node));
        if exit != 0 {
            let message = format!("RangeError: too many primes: {n}");
            assert!(stderr(&node).contains(&message), "{}", stderr(&node));
            assert!(stderr(&output).contains(&message), "{}", stderr(&output));
        }
    }
    std::fs::remove_dir_all(root).unwrap();
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
