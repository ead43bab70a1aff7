//! A test guest that is a WebAssembly component (`wit/world.wit`, world `shapes-world`): the
//! interface `hecaton:shapes/shapes` takes and returns every kind of WIT value (records,
//! variants, enums, flags, lists, tuples, chars, options, results), and the world's root functions
//! each do one thing a limit or a grant of the host is tested with (loop, allocate, recurse,
//! print, sleep, touch files, the environment, the network, clocks and random, panic).
//!
//! It imports WASI 0.2 only, through `std`: nothing here imports an interface of its own.

use std::hash::{BuildHasher, RandomState};
use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use exports::hecaton::shapes::shapes::{Color, Perms, Point, Shape};

wit_bindgen::generate!({ world: "shapes-world" });

/// The component: implements the world's root functions and the `shapes` interface.
struct Component;

export!(Component);

impl exports::hecaton::shapes::shapes::Guest for Component {
    fn area(s: Shape) -> f64 {
        match s {
            Shape::Circle(r) => std::f64::consts::PI * r * r,
            Shape::Rect(p) => (p.x * p.y).abs(),
            Shape::Empty => 0.0,
        }
    }

    fn mirror(p: Point) -> Point {
        Point { x: p.y, y: p.x }
    }

    fn sum(xs: Vec<i64>) -> i64 {
        xs.into_iter().fold(0, i64::wrapping_add)
    }

    fn pair(a: u8, c: char) -> (u8, char) {
        (a.wrapping_add(1), c.to_ascii_uppercase())
    }

    fn first_word(s: String) -> Option<String> {
        s.split_whitespace().next().map(str::to_owned)
    }

    fn parse(s: String) -> Result<u32, String> {
        s.parse().map_err(|_| format!("not a number: {s}"))
    }

    fn next_color(c: Color) -> Color {
        match c {
            Color::Red => Color::Green,
            Color::Green => Color::Blue,
            Color::Blue => Color::Red,
        }
    }

    fn toggle_exec(p: Perms) -> Perms {
        p ^ Perms::EXEC
    }

    fn add8(a: u8, b: u8) -> u8 {
        a.wrapping_add(b)
    }

    fn lookup(key: String) -> Option<Option<i32>> {
        match key.as_str() {
            "none" => None,
            "some-none" => Some(None),
            _ => Some(Some(i32::try_from(key.len()).unwrap_or(i32::MAX))),
        }
    }
}

impl Guest for Component {
    fn square(x: i64) -> i64 {
        x.wrapping_mul(x)
    }

    /// Never calls the host: only the host's deadline (epoch or fuel) stops it.
    fn spin() {
        let mut n: u64 = 0;
        loop {
            n = black_box(n.wrapping_add(1));
        }
    }

    /// Every page written, so the memory is really taken (not only reserved).
    fn grow(mib: u32) -> u32 {
        let mut blocks = Vec::new();
        for _ in 0..mib {
            blocks.push(black_box(vec![0xa5_u8; 1 << 20]));
        }
        black_box(&blocks);
        mib
    }

    fn recurse(n: u32) -> u32 {
        dive(n)
    }

    fn shout(n: u32) {
        for i in 0..n {
            println!("line {i}");
        }
    }

    fn big(n: u32) -> Vec<u8> {
        vec![7; n as usize]
    }

    fn sleep_ms(ms: u32) {
        std::thread::sleep(Duration::from_millis(ms.into()));
    }

    fn read_file(path: String) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|error| error.to_string())
    }

    fn write_file(path: String, text: String) -> Result<(), String> {
        std::fs::write(path, text).map_err(|error| error.to_string())
    }

    fn env(name: String) -> Option<String> {
        std::env::var(name).ok()
    }

    fn connect(addr: String) -> Result<(), String> {
        std::net::TcpStream::connect(addr)
            .map(drop)
            .map_err(|error| error.to_string())
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs())
    }

    fn random() -> u64 {
        RandomState::new().hash_one(0_u8)
    }

    fn fail() {
        panic!("boom");
    }
}

/// One level of [`Guest::recurse`]: a small array in the frame and the recursive call's result
/// added to (so it is no tail call), `black_box` so the optimizer keeps both.
#[inline(never)]
fn dive(n: u32) -> u32 {
    let frame = black_box([n.to_le_bytes()[0]; 16]);
    if n == 0 {
        return 0;
    }
    let below = dive(n - 1);
    black_box(frame[n as usize % 16]);
    below + 1
}
