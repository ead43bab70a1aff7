//! Section 3: what one task costs beyond its own work — µs per `square` task from section 1's
//! rows, and the latency of a `Process::spawn` + `join` round trip.

use anyhow::Result;

use crate::report::{Table, thousands};
use crate::tiny::{HECATON_1, HECATON_2, RAW_1, RESIDENT_1};
use crate::{Guest, Plan, hecaton_rows};

/// Prints section 3, measuring `Process` round trips and taking the rest from section 1.
///
/// # Errors
/// A process cannot start or its task fails.
pub fn print(plan: &Plan, guest: &Guest, tiny: &Table) -> Result<()> {
    let micros = |name| tiny.get(name).map(|m| m.micros_per_task());
    let (hecaton, raw, resident) = (micros(HECATON_1), micros(RAW_1), micros(RESIDENT_1));
    let minus = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a - b);
    let rows = [
        ("hecaton Pool::map, 1 worker", hecaton),
        ("raw wasmtime pooling + InstancePre, 1 thread", raw),
        ("raw + keep_resident + pagemap_scan, 1 thread", resident),
        ("hecaton − raw pooling", minus(hecaton, raw)),
        ("hecaton − raw keep-resident", minus(hecaton, resident)),
        (
            "hecaton Pool::map, 2 workers (per task per worker)",
            micros(HECATON_2),
        ),
    ];
    let latency = hecaton_rows::spawn_join(&guest.module, plan.spawns)?;

    println!("\n== 3. Per-task overhead: square, µs = seconds × workers ÷ items (section 1) ==");
    for (name, micros) in rows {
        match micros {
            Some(micros) => println!("{name:<58} {micros:>9.2} µs"),
            None => println!("{name:<58} n/a"),
        }
    }
    println!(
        "{:<58} {:>9.2} µs mean, {:.2} µs median, over {}",
        "Process::spawn + join of square(7): a reused thread + an instance",
        latency.mean,
        latency.median,
        thousands(latency.count as f64)
    );
    Ok(())
}
