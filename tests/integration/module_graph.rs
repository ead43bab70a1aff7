//! The runtime's tree reads as its data flow: no import circle among `runtime/src`'s modules
//! (nor among the Python binding's, `python/src`),
//! and no module imports through `lib.rs`'s re-exports (`use crate::{Error, …}` hides which
//! module a name belongs to, and is how circles crept in).
//!
//! The graph is read from the sources: every `crate::module…` path outside comments, in every
//! file of a top-level module (`run/attempt.rs` belongs to `run`), tests excluded; the CLI
//! (`cli/`, the binary's) is left out, as it sits on top of everything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hecaton_tests::guests::ROOT;

/// The source with comments and string literals blanked, and its `#[cfg(test)] mod tests` cut.
fn code(source: &str) -> String {
    let source = source
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    let mut code = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_string = !in_string;
                code.push(' ');
            }
            '\\' if in_string => {
                chars.next();
            }
            '/' if !in_string && chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        code.push('\n');
                        break;
                    }
                }
            }
            _ if in_string => {}
            c => code.push(c),
        }
    }
    code
}

/// The `.rs` files under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// Each top-level module of the crate whose sources are `dir` (under the repository's root)
/// and the top-level modules its code names, `skipped` modules left out.
fn graph(dir: &str, skipped: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(ROOT).join(dir);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if skipped.contains(&top.as_str()) {
            continue;
        }
        let code = code(&std::fs::read_to_string(&file).unwrap());
        let named = graph.entry(top.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            assert!(
                !rest.starts_with('{') && !name.starts_with(char::is_uppercase),
                "{} names `crate::{}` through lib.rs's re-exports: import it from the module \
                 that defines it",
                relative.display(),
                &rest[..rest.len().min(40)]
            );
            if name != top {
                named.insert(name);
            }
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for named in graph.values_mut() {
        named.retain(|name| modules.contains(name));
    }
    graph
}

/// A circle of modules, if there is one (depth-first search).
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut circle = path[at..].to_vec();
            circle.push(module.to_owned());
            return Some(circle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in &graph[module] {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_runtimes_modules_import_each_other_in_no_circle() {
    let graph = graph("runtime/src", &["lib", "main", "cli"]);
    assert!(graph.len() > 10, "too few modules read: {graph:?}");
    assert!(
        graph["run"].contains("abi"),
        "the reader misses imports: {graph:?}"
    );
    if let Some(circle) = circle(&graph) {
        panic!("import circle: {}", circle.join(" -> "));
    }
}

#[test]
fn the_python_bindings_modules_import_each_other_in_no_circle() {
    let graph = graph("python/src", &["lib"]);
    assert!(graph.len() > 8, "too few modules read: {graph:?}");
    assert!(
        graph["pool"].contains("shared"),
        "the reader misses imports: {graph:?}"
    );
    if let Some(circle) = circle(&graph) {
        panic!("import circle: {}", circle.join(" -> "));
    }
}

#[test]
fn the_circle_finder_finds_a_circle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")] {
        graph.entry(from.into()).or_default().insert(to.into());
    }
    assert_eq!(circle(&graph).unwrap(), ["a", "b", "c", "a"]);
}
