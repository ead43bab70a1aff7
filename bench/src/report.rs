//! The printed tables: one row per contender, each with its throughput, its ratio to a baseline
//! row of the same table, and what one task costs a worker.

use crate::measure::Measurement;

/// A row's result: measured, or the reason it could not be (printed as `n/a (reason)`).
#[derive(Debug)]
enum Outcome {
    Measured(Measurement),
    Unavailable(String),
}

/// One contender.
#[derive(Debug)]
struct Row {
    name: String,
    outcome: Outcome,
}

impl Row {
    fn measurement(&self) -> Option<&Measurement> {
        match &self.outcome {
            Outcome::Measured(measurement) => Some(measurement),
            Outcome::Unavailable(_) => None,
        }
    }
}

/// A titled table whose ratio column divides every row's throughput by the baseline row's.
#[derive(Debug)]
pub struct Table {
    title: String,
    rows: Vec<Row>,
    /// The name of the row the ratios are relative to.
    baseline: String,
    /// Lines printed under the table: scaling, ratios, what each row does.
    pub notes: Vec<String>,
}

const NAME_WIDTH: usize = 58;

impl Table {
    pub fn new(title: impl Into<String>, baseline: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            rows: Vec::new(),
            baseline: baseline.into(),
            notes: Vec::new(),
        }
    }

    /// Adds a measured row.
    pub fn add(&mut self, name: &str, measurement: Measurement) {
        self.rows.push(Row {
            name: name.to_owned(),
            outcome: Outcome::Measured(measurement),
        });
    }

    /// Adds a row that could not be measured, printed as `n/a (reason)`.
    pub fn add_unavailable(&mut self, name: &str, reason: impl Into<String>) {
        self.rows.push(Row {
            name: name.to_owned(),
            outcome: Outcome::Unavailable(reason.into()),
        });
    }

    /// Adds a measured row, or an unavailable one with the error as its reason.
    pub fn add_or_unavailable(&mut self, name: &str, measured: anyhow::Result<Measurement>) {
        match measured {
            Ok(measurement) => self.add(name, measurement),
            Err(error) => self.add_unavailable(name, format!("{error:#}")),
        }
    }

    /// The measurement of the row called `name`, if it was measured.
    pub fn get(&self, name: &str) -> Option<&Measurement> {
        let row = self.rows.iter().find(|row| row.name == name)?;
        row.measurement()
    }

    pub fn print(&self) {
        println!("\n== {} ==", self.title);
        println!("ratio = items/s ÷ items/s of \"{}\"", self.baseline);
        println!(
            "{:<NAME_WIDTH$} {:>7} {:>9} {:>9} {:>13} {:>9} {:>12}",
            "row", "workers", "items", "seconds", "items/s", "ratio", "µs/task·wkr"
        );
        let baseline = self.get(&self.baseline).map(Measurement::per_second);
        for row in &self.rows {
            println!("{}", format_row(row, baseline));
        }
        for note in &self.notes {
            println!("  {note}");
        }
    }
}

fn format_row(row: &Row, baseline: Option<f64>) -> String {
    match &row.outcome {
        Outcome::Measured(m) => {
            let ratio = baseline.map_or("-".to_owned(), |b| format!("{:.3}", m.per_second() / b));
            format!(
                "{:<NAME_WIDTH$} {:>7} {:>9} {:>9.3} {:>13} {:>9} {:>12.3}",
                row.name,
                m.workers,
                m.items,
                m.seconds,
                thousands(m.per_second()),
                ratio,
                m.micros_per_task()
            )
        }
        Outcome::Unavailable(reason) => format!("{:<NAME_WIDTH$} n/a ({reason})", row.name),
    }
}

/// `1234567.8` as `1,234,568`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// `a ÷ b` of two rows' throughputs as `1.23×`, or `n/a` when either is missing.
pub fn ratio(a: Option<&Measurement>, b: Option<&Measurement>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}×", a.per_second() / b.per_second()),
        _ => "n/a".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_groups_digits_by_three() {
        assert_eq!(super::thousands(1_234_567.8), "1,234,568");
        assert_eq!(super::thousands(999.0), "999");
    }
}
