//! README's shell examples, run: the guide cannot drift from the tool. Every ```` ```sh ````
//! block of README.md is either run here — a transcript (`$ command` lines and the output they
//! print) compared line for line, or commands run in a folder holding the files they name —
//! or listed in [`RUN_ELSEWHERE`] with where it is run instead. A new block that is neither
//! fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hecaton_tests::guests::{ECHO, GUESTS_TARGET_DIR, ROOT};

/// Blocks run somewhere else, by their first line, and where.
const RUN_ELSEWHERE: &[(&str, &str)] = &[
    (
        "pip install ./python",
        ".ci/run installs the package from ./python (in the dev profile) and runs its tests",
    ),
    (
        "nats-server -js &",
        "tests/integration/cluster.rs runs workers and maps on nats-servers it starts",
    ),
    (
        "componentize-py -d tests/guests/python-component/wit",
        "tests/build.rs builds tests/guests/python-component with this command (its test guest)",
    ),
    (
        "HECATON_FUZZ_SECONDS=300 cargo test",
        "cargo test runs every fuzz target at its default budget; these only run them longer",
    ),
];

/// A ```` ```sh ```` block: the README line it starts on, and its lines.
struct Block {
    line: usize,
    lines: Vec<String>,
}

fn blocks() -> Vec<Block> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (number, line) in readme.lines().enumerate() {
        match (&mut open, line.trim_end()) {
            (None, "```sh") => {
                open = Some(Block {
                    line: number + 1,
                    lines: Vec::new(),
                });
            }
            (Some(_), "```") => blocks.extend(open.take()),
            (Some(block), line) => block.lines.push(line.to_owned()),
            (None, _) => {}
        }
    }
    blocks
}

/// A folder on `PATH` whose `hecaton` is the binary under test.
fn bin_folder() -> PathBuf {
    let folder = std::env::temp_dir().join(format!("hecaton-readme-bin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hecaton"), folder.join("hecaton")).unwrap();
    folder
}

/// `line` run by bash in `dir`, with `hecaton` the binary under test.
fn shell(line: &str, dir: &Path, bin: &Path) -> Output {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .args(["-euo", "pipefail", "-c", line])
        .current_dir(dir)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", GUESTS_TARGET_DIR)
        .env(
            "HECATON_CACHE_DIR",
            std::env::temp_dir().join("hecaton-tests-cache"),
        )
        .output()
        .unwrap()
}

/// A command line of a block: the text before a `#` comment, trimmed; `None` for none.
fn command(line: &str) -> Option<&str> {
    let code = match line.find(" #") {
        Some(at) => &line[..at],
        None if line.trim_start().starts_with('#') => "",
        None => line,
    };
    let code = code.trim();
    (!code.is_empty()).then_some(code)
}

fn assert_ran(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "README: `{what}` failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A transcript: each `$ command` and the lines after it, up to the next `$`, are its stdout.
fn run_transcript(block: &Block, bin: &Path) {
    let mut lines = block.lines.iter().peekable();
    while let Some(line) = lines.next() {
        let command = line
            .strip_prefix("$ ")
            .unwrap_or_else(|| panic!("README line {}: output without a command", block.line));
        let mut expected = String::new();
        while let Some(output) = lines.next_if(|line| !line.starts_with("$ ")) {
            expected.push_str(output);
            expected.push('\n');
        }
        let output = shell(command, Path::new(ROOT), bin);
        assert_ran(&output, command);
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            expected,
            "README line {}: `{command}`",
            block.line
        );
    }
}

/// The files README's examples name, in a fresh folder: the real programs of the corpus
/// (`tests/corpus/fetch.sh`), a command for `prog.wasm`, C sources and SVG drawings.
fn example_folder() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hecaton-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("svg")).unwrap();
    let corpus = Path::new(ROOT).join("target/corpus");
    for program in ["cc1", "resvg"] {
        let from = corpus.join(format!("{program}.wasm"));
        assert!(
            from.exists(),
            "{} is missing: run tests/corpus/fetch.sh",
            from.display()
        );
        std::os::unix::fs::symlink(from, dir.join(format!("{program}.wasm"))).unwrap();
    }
    std::os::unix::fs::symlink(ECHO, dir.join("prog.wasm")).unwrap();
    std::fs::write(dir.join("src/a.c"), "int answer(void) { return 42; }\n").unwrap();
    std::fs::write(dir.join("src/b.c"), "int twice(int x) { return 2 * x; }\n").unwrap();
    let svg = |color: &str| {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="{color}"/></svg>"#
        )
    };
    std::fs::write(dir.join("svg/a.svg"), svg("red")).unwrap();
    std::fs::write(dir.join("svg/b.svg"), svg("blue")).unwrap();
    std::fs::write(dir.join("names.txt"), "a.svg\nb.svg\n").unwrap();
    dir
}

/// What each command of the GNU parallel block must have made.
fn check_made(dir: &Path, command: &str) {
    if command.contains("cc1.wasm") {
        for (index, name, function) in [(0, "a", "answer"), (1, "b", "twice")] {
            let assembly = dir.join(format!("out/{index}/out/{name}.s"));
            let text = std::fs::read_to_string(&assembly)
                .unwrap_or_else(|error| panic!("{}: {error}", assembly.display()));
            assert!(text.contains(function), "{}:\n{text}", assembly.display());
        }
    }
    if command.contains("records.jsonl") {
        let records = std::fs::read_to_string(dir.join("records.jsonl")).unwrap();
        assert_eq!(records.lines().count(), 30, "{records}");
        assert!(records.lines().all(|line| line.contains("\"exit_code\":0")));
    }
    if command.contains("all.png") {
        let png = std::fs::read(dir.join("all.png")).unwrap();
        let signature = b"\x89PNG\r\n\x1a\n";
        let count = png.windows(8).filter(|window| window == signature).count();
        assert_eq!(count, 2, "one PNG per drawing, in input order");
    }
}

#[test]
fn every_shell_example_of_readme_runs_and_prints_what_readme_says() {
    let bin = bin_folder();
    let dir = example_folder();
    let mut ran = 0;
    for block in blocks() {
        let first = block.lines.first().map(String::as_str).unwrap_or_default();
        if RUN_ELSEWHERE
            .iter()
            .any(|(start, _)| first.starts_with(start))
        {
            continue;
        }
        if first.starts_with("$ ") {
            run_transcript(&block, &bin);
            ran += 1;
            continue;
        }
        for line in &block.lines {
            let Some(command) = command(line) else {
                continue;
            };
            let command = match command {
                // The test suite itself, and an install into ~/.cargo: this test runs under the
                // first and tests the binary the second installs.
                ".ci/run" | "cargo install --path runtime" => continue,
                // README's first command builds in release, which is what `hecaton` is here.
                _ => command.replace("cargo run --release -p hecaton --", "hecaton"),
            };
            let command = command.replace(
                "~/.local/share/bash-completion/completions/hecaton",
                "completions.bash",
            );
            // The repository's own examples are named from its root; the rest from the
            // folder holding the files they name.
            let cwd = if command.contains("examples/") {
                Path::new(ROOT)
            } else {
                dir.as_path()
            };
            let output = shell(&command, cwd, &bin);
            assert_ran(&output, &command);
            if command.contains("--invoke square 1 2 3 4 5") {
                assert_eq!(String::from_utf8_lossy(&output.stdout), "1\n4\n9\n16\n25\n");
            }
            check_made(&dir, &command);
            ran += 1;
        }
    }
    assert!(ran >= 6, "README's examples were found and run: {ran}");
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(bin).unwrap();
}
