//! A hostile test guest: one task per way a task can try to escape, exhaust or outlast its
//! sandbox. Each task's doc comment says what it tries and what the host must report.
//!
//! Nothing here is clever: these are the things any task may do by accident or on purpose,
//! through plain `std`. The host's defences are its WASI capabilities (nothing is granted unless
//! the caller grants it) and its limits (memory, tables, output, time).

use std::hint::black_box;
use std::io::Read;

use hecaton_guest::task;

/// Reads a whole file. With no directory granted the host must make this an `Err` (WASI has no
/// preopened directory to resolve the path against), never return a host file such as
/// `/etc/passwd`.
#[task]
fn read_file(path: String) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|error| error.to_string())
}

/// Creates or overwrites a file. With no directory granted the host must make this an `Err` and
/// leave the host's file system untouched; with a read-only grant, an `Err` too.
#[task]
fn write_file(path: String, contents: String) -> Result<(), String> {
    std::fs::write(path, contents).map_err(|error| error.to_string())
}

/// Lists a directory's entry names, sorted. With no directory granted the host must make this an
/// `Err` (`/`, `.` and `..` included), never list the host's directories.
#[task]
fn list_dir(path: String) -> Result<Vec<String>, String> {
    let mut names = std::fs::read_dir(path)
        .map_err(|error| error.to_string())?
        .map(|entry| {
            entry
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .map_err(|error| error.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    names.sort();
    Ok(names)
}

/// The task's environment variables, sorted. The host must pass exactly what the caller granted
/// (by default nothing), never its own environment (`PATH`, `HOME`, secrets).
#[task]
fn env_vars() -> Vec<(String, String)> {
    let mut vars: Vec<_> = std::env::vars().collect();
    vars.sort();
    vars
}

/// The task's command-line arguments. The host must pass exactly what the caller granted, never
/// its own argv.
#[task]
fn args() -> Vec<String> {
    std::env::args().collect()
}

/// Allocates 1 MiB blocks (each filled, so its pages are really touched) and keeps them all,
/// forever. Under a memory limit the host must stop it with a memory limit error. It returns the
/// count of blocks only if the allocator is refused without a trap (a host whose limiter merely
/// denies growth: a weaker outcome a test should tell apart); it never returns under hecaton.
#[task]
fn alloc_bomb() -> usize {
    const BLOCK: usize = 1 << 20;
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = Vec::new();
        if blocks.try_reserve(1).is_err() || block.try_reserve_exact(BLOCK).is_err() {
            return blocks.len();
        }
        block.resize(BLOCK, 0xa5);
        blocks.push(black_box(block));
        black_box(&blocks);
    }
}

/// Recurses `depth` levels, not in tail position, keeping a small array in every frame. A large
/// `depth` (e.g. 1 000 000) overflows the wasm stack first, so the host must report a stack
/// overflow; `recurse(100)` returns 5150.
///
/// The array is kept small on purpose: Rust keeps it on its shadow stack in linear memory (1 MiB
/// by default), and large arrays exhaust that first, which is an out-of-bounds trap instead
/// (see [`recurse_wide`]).
#[task]
fn recurse(depth: u64) -> u64 {
    dive::<16>(depth)
}

/// Like [`recurse`] but with a 1 KiB array in every frame: Rust's shadow stack (1 MiB at the
/// bottom of linear memory, growing down) runs out after about 1 000 levels, and the next frame
/// lands below address 0, so the host must report a trap (out-of-bounds memory access), not a
/// stack overflow and not silently corrupted data. `recurse_wide(100)` returns 5150.
#[task]
fn recurse_wide(depth: u64) -> u64 {
    dive::<1024>(depth)
}

/// One level of [`recurse`]: an `N`-byte array in the frame, the recursive call's result added
/// to (so it is no tail call), `black_box` so the optimizer keeps both.
#[inline(never)]
fn dive<const N: usize>(depth: u64) -> u64 {
    let frame = black_box([depth.to_le_bytes()[0]; N]);
    if depth == 0 {
        return 0;
    }
    let below = dive::<N>(depth - 1);
    let index = usize::try_from(depth).unwrap_or(usize::MAX) % N;
    below.wrapping_add(u64::from(frame[index])).wrapping_add(1)
}

/// Loops forever without calling the host. Only the host's timeout (or a cancel) stops it, which
/// the host must report as a timeout (or cancelled), never hang.
#[task]
fn spin() -> u64 {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Sleeps `ms` milliseconds in a WASI clock wait (`poll_oneoff`) and returns `ms`. The guest runs
/// no wasm while it waits: with a large `ms`, the host's timeout (or a cancel) must still stop
/// it inside the host call, within about the timeout.
#[task]
fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(std::time::Duration::from_millis(ms));
    ms
}

/// Prints 1 KiB lines (1023 `x` and a newline) to stdout forever, returning the count of lines
/// only if it ever stops. The host's output limit must stop it and be reported as an output limit
/// error. `println!` panics when a write fails, so a host that fails the write at its limit sees a
/// panic (a guest error): it must report the output limit, the real reason, instead.
#[task]
fn print_flood() -> u64 {
    let line = "x".repeat(1023);
    let mut lines: u64 = 0;
    loop {
        println!("{line}");
        lines = black_box(lines + 1);
    }
}

/// Returns a string of `bytes` `x`s (JSON: `bytes` + 2 bytes). Past the output limit (default
/// 16 MiB) the host must report an output limit error, not copy the payload out; past about half
/// the memory limit the guest cannot even build it (the string and its JSON encoding both live in
/// linear memory), a memory limit error.
#[task]
fn huge_output(bytes: u64) -> String {
    "x".repeat(usize::try_from(bytes).unwrap_or(usize::MAX))
}

/// Fails until the host's attempt number reaches `succeed_on`: `Ok(attempt)` when
/// `hecaton_guest::attempt() >= succeed_on`, else the guest error `attempt N failed`. With
/// retries, a host must run attempts 1, 2, ... and report the first success (or the last error).
#[task]
fn attempt_or_fail(succeed_on: u32) -> Result<u32, String> {
    let attempt = hecaton_guest::attempt();
    if attempt >= succeed_on {
        Ok(attempt)
    } else {
        Err(format!("attempt {attempt} failed"))
    }
}

/// Reads all of stdin (invalid UTF-8 replaced by U+FFFD). A function task gets no stdin, so the
/// host must give it an empty one (`""`), never the host's own stdin, and never block on it.
#[task]
fn read_stdin() -> String {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .expect("reading stdin");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One task for a whole map of hostile inputs: `kind` names the behaviour, and anything else
/// (`"ok"`) is a well-behaved input that returns `"fine"`.
#[task]
fn hostile(kind: String) -> Result<String, String> {
    match kind.as_str() {
        "spin" => Ok(spin().to_string()),
        "alloc_bomb" => Ok(alloc_bomb().to_string()),
        "recurse" => Ok(recurse(u64::MAX).to_string()),
        "print_flood" => Ok(print_flood().to_string()),
        "huge_output" => Ok(huge_output(4 << 20)),
        "sleep" => Ok(sleep_ms(3_600_000).to_string()),
        "panic" => panic!("hostile panic"),
        "err" => Err("hostile error".into()),
        "escape" => read_file("/../etc/passwd".into()),
        "env" => Ok(format!("{:?}", env_vars())),
        _ => Ok("fine".into()),
    }
}
