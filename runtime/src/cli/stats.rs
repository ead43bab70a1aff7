//! `hecaton map --stats`: figures of a whole map, in flat memory whatever its length.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hecaton::{Outcome, ResetCheck};

/// Buckets of task time grow by 2%: p99 is exact to 2%, for any number of tasks.
const BUCKET_GROWTH: f64 = 1.02;

/// What a map did: counted as outcomes arrive.
pub(crate) struct Stats {
    started: Instant,
    items: u64,
    failures: BTreeMap<&'static str, u64>,
    total_time: Duration,
    histogram: Vec<u64>,
    peak_memory: u64,
    /// How the engine resets pooled memory between tasks.
    memory_reset: ResetCheck,
    /// How long loading the module took (a compile, or a read from the compile cache).
    load_time: Duration,
}

impl Stats {
    /// Figures of a map whose module took `load_time` to load; the map's wall time starts now.
    pub(crate) fn new(memory_reset: ResetCheck, load_time: Duration) -> Self {
        Self {
            memory_reset,
            load_time,
            started: Instant::now(),
            items: 0,
            failures: BTreeMap::new(),
            total_time: Duration::ZERO,
            histogram: Vec::new(),
            peak_memory: 0,
        }
    }

    pub(crate) fn record(&mut self, outcome: &Outcome) {
        self.items += 1;
        if let Err(error) = &outcome.result {
            *self.failures.entry(error.kind()).or_default() += 1;
        }
        if outcome.attempts > 0 {
            self.total_time += outcome.duration;
            let bucket = bucket(outcome.duration);
            if self.histogram.len() <= bucket {
                self.histogram.resize(bucket + 1, 0);
            }
            self.histogram[bucket] += 1;
        }
        self.peak_memory = self.peak_memory.max(outcome.peak_memory);
    }

    /// The report, several lines.
    pub(crate) fn report(&self) -> String {
        let wall = self.started.elapsed();
        let ran: u64 = self.histogram.iter().sum();
        let mean = if ran == 0 {
            Duration::ZERO
        } else {
            self.total_time / ran as u32
        };
        let failures = if self.failures.is_empty() {
            "none".to_owned()
        } else {
            self.failures
                .iter()
                .map(|(kind, count)| format!("{count} {kind}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "stats: {} items, failures: {failures}\n\
             stats: wall {:.3} s, {:.0} tasks/s (the module's load before it: {:.3} s)\n\
             stats: task time mean {}, p99 {}\n\
             stats: peak linear memory of a task {:.1} MiB\n\
             stats: memory reset between tasks: {}",
            self.items,
            wall.as_secs_f64(),
            self.items as f64 / wall.as_secs_f64().max(1e-9),
            self.load_time.as_secs_f64(),
            human(mean),
            human(self.percentile(0.99)),
            self.peak_memory as f64 / (1 << 20) as f64,
            self.memory_reset,
        )
    }

    fn percentile(&self, fraction: f64) -> Duration {
        let ran: u64 = self.histogram.iter().sum();
        let wanted = (ran as f64 * fraction).ceil() as u64;
        let mut seen = 0;
        for (bucket, count) in self.histogram.iter().enumerate() {
            seen += count;
            if seen >= wanted && *count > 0 {
                return Duration::from_nanos(BUCKET_GROWTH.powi(bucket as i32 + 1) as u64);
            }
        }
        Duration::ZERO
    }
}

fn bucket(duration: Duration) -> usize {
    let nanos = duration.as_nanos().max(1) as f64;
    (nanos.ln() / BUCKET_GROWTH.ln()) as usize
}

fn human(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.1} µs")
    } else if micros < 1e6 {
        format!("{:.2} ms", micros / 1000.0)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hecaton::TaskError;

    fn outcome(micros: u64, failed: bool) -> Outcome {
        Outcome {
            index: 0,
            attempts: 1,
            result: if failed {
                Err(TaskError::Cancelled)
            } else {
                Ok(hecaton::TaskOutput::Json(b"1".to_vec()))
            },
            duration: Duration::from_micros(micros),
            peak_memory: 2 << 20,
        }
    }

    #[test]
    fn p99_and_failures_by_kind() {
        let engine = hecaton::Engine::new().unwrap();
        let mut stats = Stats::new(engine.reset_check().clone(), Duration::from_millis(20));
        for i in 0..1000 {
            stats.record(&outcome(if i < 990 { 10 } else { 5000 }, i % 100 == 0));
        }
        let p99 = stats.percentile(0.99);
        assert!(
            p99 >= Duration::from_micros(10) && p99 < Duration::from_micros(11),
            "{p99:?}"
        );
        assert!(stats.percentile(1.0) >= Duration::from_micros(5000));
        let report = stats.report();
        assert!(
            report.contains("1000 items, failures: 10 cancelled"),
            "{report}"
        );
        assert!(
            report.contains("peak linear memory of a task 2.0 MiB"),
            "{report}"
        );
        assert!(
            report.contains("(the module's load before it: 0.020 s)"),
            "{report}"
        );
        assert!(
            report.contains(&format!(
                "memory reset between tasks: {} (checked at start in",
                engine.memory_reset()
            )),
            "{report}"
        );
    }
}
