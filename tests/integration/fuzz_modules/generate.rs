//! The modules the fuzz loads: wasm-smith's, mutants of real guests and fixtures, and garbage.

use std::sync::OnceLock;

use arbitrary::Unstructured;
use hecaton_tests::guests::{ECHO, FIXTURES, SQUARE};

use crate::fuzzing::Rng;

/// Valid guests and fixtures to mutate.
pub(crate) struct Seeds {
    modules: Vec<Vec<u8>>,
    texts: Vec<Vec<u8>>,
}

impl Seeds {
    pub(crate) fn new() -> Self {
        let mut texts = Vec::new();
        let mut modules = Vec::new();
        for entry in std::fs::read_dir(FIXTURES).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "wat") {
                let text = std::fs::read(&path).unwrap();
                if let Ok(binary) = wat::parse_bytes(&text) {
                    modules.push(binary.into_owned());
                }
                texts.push(text);
            }
        }
        texts.sort();
        modules.sort();
        for guest in [SQUARE, ECHO] {
            modules.push(std::fs::read(guest).unwrap());
        }
        Self { modules, texts }
    }
}

/// One module's bytes, and the name of the generator that made them.
pub(crate) fn generate(rng: &mut Rng, seeds: &Seeds) -> (&'static str, Vec<u8>) {
    match rng.below(100) {
        0..=44 => ("smith-task", smith(rng, Shape::Task)),
        45..=59 => ("smith-numeric", smith(rng, Shape::Numeric)),
        60..=67 => ("smith-free", smith(rng, Shape::Free)),
        68..=87 => ("mutant", mutant(rng, seeds)),
        _ => ("garbage", garbage(rng, seeds)),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The ABI's exports (memory, allocator, function tasks, numeric tasks, a command) with
    /// random bodies, and imports from WASI and the host functions only.
    Task,
    /// Every function exported: numeric tasks of random signatures.
    Numeric,
    /// wasm-smith's defaults: any imports, any exports, any feature.
    Free,
}

pub(crate) fn smith(rng: &mut Rng, shape: Shape) -> Vec<u8> {
    let len = 256 + rng.below(8192);
    let data = rng.bytes(len);
    let mut u = Unstructured::new(&data);
    let mut config = wasm_smith::Config::default();
    if shape != Shape::Free {
        // What wasmtime as hecaton builds it (no `gc` or `threads` cargo features) compiles;
        // the free shape still tries the rest.
        config.gc_enabled = false;
        // `externref` and typed references are GC types to wasmtime.
        config.reference_types_enabled = false;
        config.threads_enabled = false;
        config.shared_everything_threads_enabled = false;
        config.exceptions_enabled = false;
        config.memory64_enabled = false;
        config.custom_page_sizes_enabled = false;
        config.wide_arithmetic_enabled = false;
        config.max_memory32_bytes = 32 << 20;
        config.max_table_elements = 20_000;
        config.max_funcs = 16;
        config.max_instructions = 200;
        config.max_data_segments = 8;
        config.disallow_traps = rng.chance(30);
        config.available_imports = Some(host_imports());
    }
    match shape {
        Shape::Task => {
            config.exports = Some(task_exports(rng));
            config.max_exports = 0;
            // Only the exported memory: the pooling allocator gives an instance one.
            config.max_memories = 0;
        }
        Shape::Numeric => config.export_everything = true,
        Shape::Free => {}
    }
    match wasm_smith::Module::new(config, &mut u) {
        Ok(module) => module.to_bytes(),
        // Too few bytes for the required exports: an empty module, which loads.
        Err(_) => b"\0asm\x01\0\0\0".to_vec(),
    }
}

/// The imports a task module may have: the host functions, and WASI functions that touch
/// memory, exit, sleep, read clocks.
pub(crate) fn host_imports() -> Vec<u8> {
    static IMPORTS: OnceLock<Vec<u8>> = OnceLock::new();
    IMPORTS
        .get_or_init(|| {
            wat::parse_str(
                r#"(module
  (import "hecaton" "task_id" (func (result i64)))
  (import "hecaton" "attempt" (func (result i32)))
  (import "hecaton" "panic" (func (param i32 i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
)"#,
            )
            .unwrap()
        })
        .clone()
}

/// A module of the exports a task module has, in a random selection, for wasm-smith to give
/// random bodies.
pub(crate) fn task_exports(rng: &mut Rng) -> Vec<u8> {
    let mut wat = String::from("(module\n");
    let min = 1 + rng.below(4);
    let max = match rng.below(3) {
        0 => String::new(),
        1 => min.to_string(),
        _ => (min + rng.below(600)).to_string(),
    };
    if rng.chance(90) {
        wat += &format!("  (memory (export \"memory\") {min} {max})\n");
    }
    if rng.chance(90) {
        wat += "  (func (export \"hecaton_alloc\") (param i32) (result i32) unreachable)\n";
    }
    for name in ["a", "b", "c"].iter().take(rng.below(4)) {
        wat += &format!(
            "  (func (export \"hecaton:v1:{name}\") (param i32 i32) (result i32) unreachable)\n"
        );
    }
    let types = ["i32", "i64", "f32", "f64"];
    for n in 0..rng.below(3) {
        let params: Vec<&str> = (0..rng.below(4)).map(|_| rng.pick(&types)).collect();
        let results: Vec<&str> = (0..rng.below(3)).map(|_| rng.pick(&types)).collect();
        wat += &format!(
            "  (func (export \"n{n}\") (param {}) (result {}) unreachable)\n",
            params.join(" "),
            results.join(" ")
        );
    }
    if rng.chance(40) {
        wat += "  (func (export \"_start\") unreachable)\n";
    }
    if rng.chance(10) {
        wat += "  (func (export \"_initialize\") unreachable)\n";
    }
    if rng.chance(4) {
        wat += "  (func (export \"hecaton:v1:wrong\") (param i32) (result i32) unreachable)\n";
    }
    wat += ")";
    wat::parse_str(&wat).unwrap()
}

/// A guest or fixture with a few of its bytes changed, cut short, or repeated.
pub(crate) fn mutant(rng: &mut Rng, seeds: &Seeds) -> Vec<u8> {
    let text = rng.chance(25);
    let mut bytes = if text {
        seeds.texts[rng.below(seeds.texts.len())].clone()
    } else {
        seeds.modules[rng.below(seeds.modules.len())].clone()
    };
    for _ in 0..1 + rng.below(4) {
        if bytes.len() < 9 {
            break;
        }
        // Keep the header of a binary most of the time, so that the mutant reaches the parser.
        let from = if text || rng.chance(10) { 0 } else { 8 };
        let at = from + rng.below(bytes.len() - from);
        match rng.below(6) {
            0 => bytes.truncate(at),
            1 => bytes[at] = rng.next_u64() as u8,
            2 => bytes[at] = rng.pick(&[0x00, 0x7f, 0x80, 0xff]),
            3 => bytes.insert(at, rng.next_u64() as u8),
            4 => {
                let end = (at + 1 + rng.below(32)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            _ => {
                bytes.remove(at);
            }
        }
    }
    bytes
}

/// Bytes that are no module: random, or behind a header that sends them down one path of the
/// loader (binary, component, precompiled, text).
pub(crate) fn garbage(rng: &mut Rng, seeds: &Seeds) -> Vec<u8> {
    let len = rng.below(256);
    let tail = rng.bytes(len);
    let prefix: Vec<u8> = match rng.below(7) {
        0 => Vec::new(),
        1 => b"\0asm\x01\0\0\0".to_vec(),
        2 => b"\0asm\x0d\0\x01\0".to_vec(),
        3 => b"\0asm\x02\0\0\0".to_vec(),
        4 => b"\x7fELF\x02\x01\x01\0".to_vec(),
        5 => b"(module ".to_vec(),
        _ => {
            // Text cut from a fixture: a WAT prefix with random bytes after it.
            let text = &seeds.texts[rng.below(seeds.texts.len())];
            text[..rng.below(text.len())].to_vec()
        }
    };
    [prefix, tail].concat()
}
