//! Section 7, the picture: throughput (items/s) against task size (iterations of `spin_n`'s
//! loop, [`work::spin`](crate::work::spin)'s xorshift steps), one line per contender, both axes
//! logarithmic — where parallel, isolated execution starts to pay, and what wasm costs against
//! native code once the instance no longer counts. Measured by [`sweep`], printed as a table, drawn as an SVG
//! (`docs/throughput.svg`, the README's picture; a `--quick` run draws
//! `target/bench-plot/throughput.svg` instead, leaving the committed picture alone).

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;

use crate::Guest;
use crate::guest::workspace_root;
use crate::measure::Calibration;
use crate::sweep::{self, Contender, SIZES, Sweep, TASK, WORKERS};

/// The picture's size in pixels.
const SIZE: (u32, u32) = (800, 500);

/// Runs the sweep, prints its table and notes, and draws the picture.
///
/// # Errors
/// A hecaton or native point fails, or the SVG cannot be written.
pub fn section(guest: &Guest, quick: bool) -> Result<()> {
    let title = "7. The picture: throughput against task size (spin_n's loop of n xorshift steps)";
    if guest.module.task_kind(TASK).is_err() {
        println!("\n== {title}: skipped, the module has no `{TASK}` task ==");
        return Ok(());
    }
    let calibration = Calibration::new(quick, WORKERS);
    let sweep = sweep::run(&guest.module, &calibration)?;
    println!("\n== {title} ==");
    print_table(&sweep);
    for note in notes(&sweep, &calibration) {
        println!("  {note}");
    }
    let path = if quick {
        workspace_root().join("target/bench-plot/throughput.svg")
    } else {
        workspace_root().join("docs/throughput.svg")
    };
    draw(&sweep, &path).with_context(|| format!("drawing {}", path.display()))?;
    println!("  picture: {}", path.display());
    Ok(())
}

const N_WIDTH: usize = 10;
const COLUMN_WIDTH: usize = 15;

fn print_table(sweep: &Sweep) {
    print!("{:>N_WIDTH$}", "n \\ items/s");
    for series in &sweep.series {
        print!(" {:>COLUMN_WIDTH$}", series.contender.short());
    }
    println!();
    for (index, n) in SIZES.iter().enumerate() {
        print!("{:>N_WIDTH$}", grouped(*n as f64));
        for series in &sweep.series {
            let cell = series.rate(index).map_or_else(|| "n/a".to_owned(), rate);
            print!(" {cell:>COLUMN_WIDTH$}");
        }
        println!();
    }
    for series in &sweep.series {
        if let Err(reason) = &series.points {
            println!("  {}: n/a ({reason})", series.contender.label());
        }
    }
}

/// The notes under the table: the break-even points, the cost of one iteration, how the
/// points were measured.
fn notes(sweep: &Sweep, calibration: &Calibration) -> Vec<String> {
    let mut notes = Vec::new();
    for contender in [
        Contender::Task,
        Contender::Chunk,
        Contender::Worker,
        Contender::Python,
        Contender::Serial,
    ] {
        let mut note = format!(
            "break-even, {}: ≥ 50% of native rayon's items/s {}",
            contender.short(),
            first_size(sweep, contender, Contender::Rayon, 0.5)
        );
        if contender != Contender::Serial {
            let serial = first_size(sweep, contender, Contender::Serial, 1.0);
            note.push_str(&format!("; ≥ native serial's {serial}"));
        }
        notes.push(note);
    }
    let per_iteration: Vec<String> = [
        (Contender::Serial, "native"),
        (Contender::Task, "wasm (hecaton, task isolation)"),
        (Contender::Python, "CPython"),
    ]
    .into_iter()
    .filter_map(|(contender, what)| {
        Some(format!(
            "{what} {:.2} ns",
            nanos_per_iteration(sweep, contender)?
        ))
    })
    .collect();
    notes.push(format!(
        "one iteration, per worker, at n = {}: {} — Python runs the same number of \
         iterations of the same loop, in CPython",
        power_of_ten(SIZES.len() - 1),
        per_iteration.join(", ")
    ));
    notes.push(format!(
        "wasm ÷ native, time per item (hecaton task isolation ÷ native rayon, both {WORKERS} \
         workers): {}",
        wasm_over_native(sweep)
    ));
    notes.push(format!(
        "each point: the fastest of {} timed runs of about {} s each (fewer items for bigger n, \
         at least {}) after probe runs; hecaton calls the numeric export `{TASK}` with \
         map_numeric, default chunks",
        calibration.runs, calibration.target_seconds, calibration.min_items
    ));
    notes
}

/// `from n = …`: the smallest size at which `contender` reaches `fraction` of `baseline`'s
/// items/s; or `never (…)`, or `n/a`.
fn first_size(sweep: &Sweep, contender: Contender, baseline: Contender, fraction: f64) -> String {
    let (Some(series), Some(baseline)) = (sweep.get(contender), sweep.get(baseline)) else {
        return "n/a".into();
    };
    if series.points.is_err() || baseline.points.is_err() {
        return "n/a".into();
    }
    SIZES
        .iter()
        .enumerate()
        .find(|&(index, _)| {
            matches!((series.rate(index), baseline.rate(index)), (Some(a), Some(b)) if a >= fraction * b)
        })
        .map_or_else(
            || format!("never (up to n = {})", power_of_ten(SIZES.len() - 1)),
            |(index, _)| format!("from n = {}", power_of_ten(index)),
        )
}

/// `n = 0: 3,850×, …, n = 10⁷: 1.00×`: how much longer an item takes in wasm (a fresh instance
/// per task) than natively, at each size; the instance's cost shrinks into the loop's as `n`
/// grows.
fn wasm_over_native(sweep: &Sweep) -> String {
    let (Some(wasm), Some(native)) = (sweep.get(Contender::Task), sweep.get(Contender::Rayon))
    else {
        return "n/a".into();
    };
    (0..SIZES.len())
        .map(|index| match (wasm.rate(index), native.rate(index)) {
            (Some(wasm), Some(native)) => {
                format!("n = {}: {}×", power_of_ten(index), rate(native / wasm))
            }
            _ => format!("n = {}: n/a", power_of_ten(index)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seconds per iteration per worker at the largest size, in ns.
fn nanos_per_iteration(sweep: &Sweep, contender: Contender) -> Option<f64> {
    let points = sweep.get(contender)?.points.as_ref().ok()?;
    let point = points.last()?;
    let n = *SIZES.last()? as f64;
    Some(point.seconds * point.workers as f64 / point.items as f64 / n * 1e9)
}

/// Colour and dash of each line.
fn style(contender: Contender) -> (RGBColor, bool) {
    match contender {
        Contender::Task => (RGBColor(31, 119, 180), false),
        Contender::Chunk => (RGBColor(44, 160, 44), false),
        Contender::Worker => (RGBColor(148, 103, 189), false),
        Contender::Python => (RGBColor(255, 127, 14), false),
        Contender::Serial => (RGBColor(60, 60, 60), true),
        Contender::Rayon => (RGBColor(214, 39, 40), true),
    }
}

/// Draws the picture: x is the index of the size in [`SIZES`] (one decade each, `0` one decade
/// left of 10), y is log₁₀ of items/s.
fn draw(sweep: &Sweep, path: &Path) -> Result<()> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let rates: Vec<f64> = sweep
        .series
        .iter()
        .flat_map(|series| (0..SIZES.len()).filter_map(|index| series.rate(index)))
        .collect();
    let low = rates
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .log10()
        .floor();
    // A decade above the fastest point, for the legend.
    let high = rates.iter().copied().fold(0.0, f64::max).log10().ceil() + 1.0;
    if !(low.is_finite() && high.is_finite()) {
        return Err(anyhow!("nothing was measured"));
    }
    let plot_error = |error| anyhow!("{error}");

    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let caption = format!(
        "Throughput against task size: {WORKERS} workers on {} ({cores} cores)",
        machine()
    );
    let last = (SIZES.len() - 1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(46)
        .y_label_area_size(62)
        .build_cartesian_2d(-0.25..last + 0.25, low..high)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_labels(SIZES.len())
        .y_labels((high - low) as usize + 1)
        .x_label_formatter(&|x| label_at(*x, power_of_ten))
        .y_label_formatter(&|y| label_at(*y, si))
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.12))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .x_desc(
            "task size n: xorshift steps of spin_n's loop (log scale; 0 is drawn a decade left of 10)",
        )
        .y_desc("throughput, items/s (log scale)")
        .draw()
        .map_err(plot_error)?;

    for series in &sweep.series {
        let Ok(points) = &series.points else { continue };
        let (colour, dashed) = style(series.contender);
        let line = ShapeStyle::from(colour).stroke_width(2);
        let coords: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .map(|(index, point)| (index as f64, point.per_second().log10()))
            .collect();
        let drawn = if dashed {
            chart.draw_series(DashedLineSeries::new(coords.clone(), 7, 5, line))
        } else {
            chart.draw_series(LineSeries::new(coords.clone(), line))
        }
        .map_err(plot_error)?;
        drawn
            .label(legend_label(sweep, series.contender))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 22, y)], line));
        chart
            .draw_series(coords.iter().map(|&xy| Circle::new(xy, 3, colour.filled())))
            .map_err(plot_error)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .margin(10)
        .legend_area_size(30)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.92))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}

/// The legend's text: the contender, and for wasm (task isolation), Python and serial Rust what
/// one iteration costs.
fn legend_label(sweep: &Sweep, contender: Contender) -> String {
    let label = contender.label();
    match (contender, nanos_per_iteration(sweep, contender)) {
        (Contender::Task | Contender::Python | Contender::Serial, Some(nanos)) => {
            format!("{label}: {nanos:.1} ns/iteration")
        }
        _ => label.to_owned(),
    }
}

/// `format(k)` at a whole `value`, nothing between.
fn label_at(value: f64, format: impl Fn(usize) -> String) -> String {
    let rounded = value.round();
    if (value - rounded).abs() > 1e-6 || rounded < 0.0 {
        return String::new();
    }
    format(rounded as usize)
}

/// `SIZES[index]` as labelled: `0`, `10`, `10²`, `10³`…
fn power_of_ten(index: usize) -> String {
    match index {
        0 => "0".into(),
        1 => "10".into(),
        k => format!("10{}", superscript_digits(k)),
    }
}

fn superscript_digits(value: usize) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    value
        .to_string()
        .chars()
        .map(|digit| DIGITS[digit.to_digit(10).unwrap_or(0) as usize])
        .collect()
}

/// `10^k` items/s with an SI prefix: `1`, `10`, `100`, `1k`… `10G`.
fn si(k: usize) -> String {
    let prefixes = ["", "k", "M", "G", "T"];
    let prefix = prefixes.get(k / 3).copied().unwrap_or("?");
    format!("{}{prefix}", 10u64.pow((k % 3) as u32))
}

/// A rate for the table: digits grouped by three from 100 up, three significant digits below.
fn rate(value: f64) -> String {
    match value {
        100.0.. => grouped(value),
        10.0.. => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}

fn grouped(value: f64) -> String {
    crate::report::thousands(value)
}

/// The CPU's model name, or `this machine`.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map(|(_, name)| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "this machine".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_labelled_at_whole_decades_only() {
        assert_eq!(label_at(3.0, si), "1k");
        assert_eq!(label_at(10.0, si), "10G");
        assert_eq!(label_at(0.0, si), "1");
        assert_eq!(label_at(2.5, si), "");
        assert_eq!(label_at(-0.2, power_of_ten), "");
    }

    #[test]
    fn sizes_are_labelled_by_their_power_of_ten() {
        let labels: Vec<String> = (0..SIZES.len()).map(power_of_ten).collect();
        assert_eq!(
            labels,
            ["0", "10", "10²", "10³", "10⁴", "10⁵", "10⁶", "10⁷"]
        );
        for (index, size) in SIZES.iter().enumerate().skip(1) {
            assert_eq!(*size, 10u64.pow(index as u32));
        }
    }

    #[test]
    fn rates_keep_three_significant_digits_below_100() {
        assert_eq!(rate(4.156), "4.16");
        assert_eq!(rate(35.94), "35.9");
        assert_eq!(rate(1_234.4), "1,234");
    }
}
