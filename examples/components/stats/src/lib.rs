//! An example task written as a WebAssembly component: `wit/world.wit` declares its exports with
//! their types, `wit-bindgen` generates the Rust traits, and hecaton calls each export with JSON
//! mapped by those types.

wit_bindgen::generate!({ world: "stats" });

/// The component: implements the world's exports.
struct Stats;

export!(Stats);

impl Guest for Stats {
    fn summarize(xs: Vec<f64>) -> Summary {
        let count = u32::try_from(xs.len()).unwrap_or(u32::MAX);
        let mean = if xs.is_empty() {
            0.0
        } else {
            xs.iter().sum::<f64>() / xs.len() as f64
        };
        Summary {
            count,
            mean,
            min: xs.iter().copied().reduce(f64::min),
            max: xs.iter().copied().reduce(f64::max),
        }
    }

    fn fib(n: u32) -> Result<u64, String> {
        let (mut a, mut b) = (0_u64, 1_u64);
        for _ in 0..n {
            let next = a
                .checked_add(b)
                .ok_or_else(|| format!("fib({n}) does not fit in 64 bits"))?;
            (a, b) = (b, next);
        }
        Ok(a)
    }

    fn read(x: f64) -> Reading {
        if x < 0.0 {
            Reading::Negative(-x)
        } else if x > 0.0 {
            Reading::Positive(x)
        } else {
            Reading::Zero
        }
    }
}
