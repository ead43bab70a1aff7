//! What the fuzz targets (`fuzz_results`, `fuzz_modules`) share: a seeded generator, the run's
//! budget, and the documented failure kinds.
//!
//! Every round of a target is generated from one seed, so a failure names the seed that
//! reproduces it. By default each target runs a few rounds from seed 1, deterministic and short
//! enough for CI; two environment variables run it longer or elsewhere:
//! - `HECATON_FUZZ_SECONDS=600`: rounds from the first seed on, until this many seconds passed;
//! - `HECATON_FUZZ_SEED=N`: the first seed (default 1).

use std::time::{Duration, Instant};

/// `TaskError::kind`'s documented names but one: `host`, a host-side panic or an unexpected
/// wasmtime error while running a task, which nothing a guest does may cause (what it does is
/// its own failure: a trap, a limit, an ABI violation, an exit).
pub(crate) const GUEST_CAUSED_KINDS: &[&str] = &[
    "trap",
    "stack_overflow",
    "timeout",
    "out_of_fuel",
    "memory_limit",
    "table_limit",
    "stdout_closed",
    "output_limit",
    "guest_error",
    "panic",
    "bad_input",
    "abi_violation",
    "exit",
    "cancelled",
    "instantiate",
];

/// xorshift64*: tiny, seedable, and good enough to pick test cases.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        // Any seed, 0 included, gives a non-zero state.
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[self.below(choices.len())]
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// The rounds a target runs: their seeds, and when to stop.
#[derive(Debug)]
pub(crate) struct Budget {
    first_seed: u64,
    default_rounds: u64,
    seconds: Option<Duration>,
    started: Instant,
    rounds: u64,
}

impl Budget {
    /// `default_rounds` rounds, or as many as `HECATON_FUZZ_SECONDS` allows.
    pub(crate) fn from_env(default_rounds: u64) -> Self {
        let number = |name: &str| {
            std::env::var(name).ok().map(|value| {
                value
                    .parse::<u64>()
                    .unwrap_or_else(|_| panic!("{name}={value} is not a number"))
            })
        };
        Self {
            first_seed: number("HECATON_FUZZ_SEED").unwrap_or(1),
            default_rounds,
            seconds: number("HECATON_FUZZ_SECONDS").map(Duration::from_secs),
            started: Instant::now(),
            rounds: 0,
        }
    }

    /// The next round's seed, or `None` when the budget is spent.
    pub(crate) fn next_seed(&mut self) -> Option<u64> {
        let more = match self.seconds {
            Some(seconds) => self.rounds == 0 || self.started.elapsed() < seconds,
            None => self.rounds < self.default_rounds,
        };
        more.then(|| {
            self.rounds += 1;
            self.first_seed + self.rounds - 1
        })
    }

    /// What ran, for the log: `rounds (seeds a..=b) in t`.
    pub(crate) fn summary(&self) -> String {
        format!(
            "{} rounds (seeds {}..={}) in {:.1?}",
            self.rounds,
            self.first_seed,
            self.first_seed + self.rounds.saturating_sub(1),
            self.started.elapsed()
        )
    }
}

/// Bytes as text a reader can copy into a Rust byte string: printable ASCII as it is, the rest
/// as `\xNN`, `\n`, `\r`, `\t`.
pub(crate) fn escaped(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}
