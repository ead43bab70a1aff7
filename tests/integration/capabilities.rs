//! Capabilities are granted, never inherited: directories (read-only unless asked), variables,
//! and nothing else; and a map of hostile inputs where each gets its own named failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hecaton::{Access, Capabilities, Limits, Pool, Process, TaskError};
use hecaton_tests::guests::ADVERSARY;

use crate::load;

/// A fresh host folder `data/` with `hello.txt`, a sibling `secret.txt` outside it, and a symlink
/// inside pointing at the secret.
fn sandbox_folder(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("hecaton-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("data")).unwrap();
    std::fs::write(root.join("data/hello.txt"), "hello from the host").unwrap();
    std::fs::write(root.join("secret.txt"), "the host's secret").unwrap();
    std::os::unix::fs::symlink(root.join("secret.txt"), root.join("data/link-out")).unwrap();
    root
}

fn run<O: serde::de::DeserializeOwned>(
    capabilities: Capabilities,
    task: &str,
    input: &impl serde::Serialize,
) -> Result<O, TaskError> {
    Process::builder(&load(ADVERSARY))
        .capabilities(capabilities)
        .spawn(task, input)
        .unwrap()
        .join()
}

fn read_only(root: &Path) -> Capabilities {
    Capabilities::new()
        .dir(root.join("data"), "/data", Access::ReadOnly)
        .unwrap()
}

#[test]
fn granted_directory_is_readable() {
    let root = sandbox_folder("read");
    let text: Result<String, _> = run(read_only(&root), "read_file", &"/data/hello.txt");
    assert_eq!(text, Ok("hello from the host".into()));
    let names: Result<Vec<String>, _> = run(read_only(&root), "list_dir", &"/data");
    assert_eq!(names, Ok(vec!["hello.txt".into(), "link-out".into()]));
}

#[test]
fn read_only_directory_refuses_writes() {
    let root = sandbox_folder("ro");
    let outcome: Result<(), _> = run(read_only(&root), "write_file", &("/data/new.txt", "x"));
    assert!(
        matches!(outcome, Err(TaskError::Guest { .. })),
        "{outcome:?}"
    );
    assert!(!root.join("data/new.txt").exists());
}

#[test]
fn read_write_directory_takes_writes() {
    let root = sandbox_folder("rw");
    let capabilities = Capabilities::new()
        .dir(root.join("data"), "/data", Access::ReadWrite)
        .unwrap();
    let outcome: Result<(), _> = run(capabilities, "write_file", &("/data/new.txt", "written"));
    assert_eq!(outcome, Ok(()));
    assert_eq!(
        std::fs::read_to_string(root.join("data/new.txt")).unwrap(),
        "written"
    );
}

#[test]
fn no_path_escapes_the_granted_directory() {
    let root = sandbox_folder("escape");
    let secret = root.join("secret.txt");
    for path in [
        "/data/../secret.txt".to_owned(),
        "/data/link-out".to_owned(),
        secret.display().to_string(),
        "/etc/passwd".to_owned(),
        "../secret.txt".to_owned(),
    ] {
        let outcome: Result<String, _> = run(read_only(&root), "read_file", &path);
        assert!(
            matches!(outcome, Err(TaskError::Guest { .. })),
            "{path} was readable: {outcome:?}"
        );
    }
}

#[test]
fn nothing_is_visible_without_a_grant() {
    let outcome: Result<String, _> = run(Capabilities::new(), "read_file", &"/etc/passwd");
    assert!(
        matches!(outcome, Err(TaskError::Guest { .. })),
        "{outcome:?}"
    );
    let names: Result<Vec<String>, _> = run(Capabilities::new(), "list_dir", &"/");
    assert!(matches!(names, Err(TaskError::Guest { .. })), "{names:?}");
}

#[test]
fn only_granted_variables_are_visible() {
    let path = std::env::var("PATH").unwrap_or_default();
    let capabilities = Capabilities::new().env("MODE", "fast").inherit_env("PATH");
    let vars: Vec<(String, String)> = run(capabilities, "env_vars", &()).unwrap();
    assert_eq!(
        vars,
        vec![("MODE".into(), "fast".into()), ("PATH".into(), path)]
    );
    let vars: Vec<(String, String)> = run(Capabilities::new(), "env_vars", &()).unwrap();
    assert!(vars.is_empty(), "{vars:?}");
}

#[test]
fn function_task_sees_only_its_module_name_as_argv_and_an_empty_stdin() {
    let args: Vec<String> = run(Capabilities::new(), "args", &()).unwrap();
    assert_eq!(args, vec!["adversary.wasm".to_owned()]);
    let stdin: String = run(Capabilities::new(), "read_stdin", &()).unwrap();
    assert_eq!(stdin, "");
}

#[test]
fn granting_a_missing_directory_is_an_error() {
    let error = Capabilities::new()
        .dir("/no/such/folder", "/x", Access::ReadOnly)
        .unwrap_err();
    assert!(matches!(error, hecaton::Error::Capability(_)), "{error}");
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap()
}

#[test]
fn hostile_map_gives_each_input_its_own_failure_and_completes() {
    let limits = Limits::default()
        .timeout(Some(Duration::from_secs(1)))
        .max_memory(64 << 20)
        .max_output(1 << 20);
    let pool = Pool::builder().workers(2).limits(limits).build().unwrap();
    let inputs = [
        "ok",
        "spin",
        "ok",
        "alloc_bomb",
        "recurse",
        "print_flood",
        "ok",
        "huge_output",
        "sleep",
        "panic",
        "err",
        "escape",
        "env",
        "ok",
    ];
    let before = rss_kib();
    let outcomes: Vec<Result<String, TaskError>> = pool
        .job(&load(ADVERSARY), "hostile")
        .unwrap()
        .chunksize(1)
        .map_all(inputs);
    let grew = rss_kib().saturating_sub(before);
    let kinds: Vec<&str> = outcomes
        .iter()
        .map(|outcome| match outcome {
            Ok(value) if value == "fine" => "fine",
            Ok(value) if value == "[]" => "empty env",
            Ok(_) => "other output",
            Err(error) => error.kind(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "fine",
            "timeout",
            "fine",
            "memory_limit",
            "stack_overflow",
            "output_limit",
            "fine",
            "output_limit",
            "timeout",
            "panic",
            "guest_error",
            "guest_error",
            "empty env",
            "fine"
        ],
        "{outcomes:#?}"
    );
    assert!(grew < 256 << 10, "the host's RSS grew by {grew} KiB");
}
