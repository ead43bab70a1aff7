//! Section 11: components — an exported WIT function as a task, `square: func(x: s64) -> s64`,
//! in a fresh instance per task:
//! - **11a**: the Rust component (`tests/guests/wit-shapes`, wasm32-wasip2) against the same
//!   function as a core module (the benchmark's `bench-tasks`), both through `Pool::map` on one
//!   worker over the same inputs; issue #21's target is the component within 1.5× of the core
//!   module per task;
//! - **11b**: the Python component (`tests/guests/python-component`, componentize-py: CPython
//!   and its libraries, 18 MB) on 1 and 2 workers; the target is 2,000 calls/s on one (0.5 ms a
//!   call);
//! - **11c**: what a Python call's time goes to: the steps of a task in raw wasmtime
//!   ([`raw_component`]: hecaton's engine configuration, nothing around the instance), against
//!   hecaton's whole task (JSON in and out, the task's store data and limits, the WASI context
//!   when the guest asks for one, the scheduler).
//!
//! Without componentize-py (or when it fails) 11b and 11c are one line saying why.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use hecaton::{Engine, Module};

use crate::measure::{MIN_SECONDS, Measurement, RUNS, Workload};
use crate::raw_component::{RawComponent, Step};
use crate::report::{Table, thousands};
use crate::{Guest, Plan, guest, hecaton_rows};

/// Issue #21's targets: a component's task within this factor of a core module's…
const TARGET_RATIO: f64 = 1.5;
/// …and the Python component's calls per second on one worker.
const TARGET_PY_CALLS: f64 = 2000.0;

const CORE: &str = "core module (bench-tasks): hecaton Pool::map";
const RUST: &str = "Rust component (wit-shapes): hecaton Pool::map";
const PY_1: &str = "hecaton Pool::map (1 worker)";
const PY_2: &str = "hecaton Pool::map (2 workers)";
const INSTANTIATE: &str = "raw: Store::new + instantiate (+ drop: slots reset)";
const CALL: &str = "raw: Store::new + instantiate + call square";
const WASI_CTX: &str = "raw: the same, with a WasiCtx made per store";

/// Prints section 11; only the Python part is skipped (in one line) when its component cannot
/// be built.
///
/// # Errors
/// The Rust component does not build or load, a task fails, or an output is wrong.
pub fn print(plan: &Plan, core: &Guest) -> Result<()> {
    let reset = Engine::shared()?.memory_reset();
    rust(plan, core, reset)?.print();
    let title = "11b. Python component (componentize-py): square(x), a fresh instance per call";
    let path = match guest::python_component() {
        Ok(path) => path,
        Err(error) => {
            println!("\n== {title}: skipped (11c too), {error:#} ==");
            return Ok(());
        }
    };
    let (python, breakdown) = python(plan, &path, reset, title)?;
    python.print();
    breakdown.print();
    Ok(())
}

/// 11a: the Rust component against the core module on one worker, and the raw steps of the
/// component's task.
fn rust(plan: &Plan, core: &Guest, reset: hecaton::MemoryReset) -> Result<Table> {
    let title = "11a. A component's task: square(x), a fresh instance per task, 1 worker";
    let mut table = Table::new(title, CORE);
    let square = Workload::square(plan.component_items);
    table.add(CORE, hecaton_rows::pool_map(&core.module, &square, 1)?);
    let path = guest::build_rust_component()?;
    let (component, load_seconds) = load(&path)?;
    table.add(RUST, hecaton_rows::pool_map(&component, &square, 1)?);
    let raw = RawComponent::load(&path, reset)?;
    let wasi_calls = raw_rows(&mut table, &raw, &square, &[Step::Instantiate, Step::Call])?;
    let micros = |name| table.get(name).map(Measurement::micros_per_task);
    if let (Some(rust), Some(core)) = (micros(RUST), micros(CORE)) {
        let ratio = rust / core;
        table.notes.push(format!(
            "component ÷ core module per task: {ratio:.2}× ({rust:.1} µs against {core:.1} µs); \
             issue #21's target ≤ {TARGET_RATIO}×: {}",
            verdict(ratio <= TARGET_RATIO, ratio / TARGET_RATIO)
        ));
    }
    table.notes.extend(steps(&table, RUST, wasi_calls));
    table.notes.push(format!(
        "component: {} ({}); Module::from_file {load_seconds:.2} s, raw compile {:.2} s",
        path.display(),
        size(&path),
        raw.compile_seconds
    ));
    table.notes.push(every_figure());
    Ok(table)
}

/// 11b and 11c: the Python component through hecaton on 1 and 2 workers, and the raw steps of
/// its task.
fn python(
    plan: &Plan,
    path: &Path,
    reset: hecaton::MemoryReset,
    title: &str,
) -> Result<(Table, Table)> {
    let square = Workload::square(plan.python_component_items);
    let (module, load_seconds) = load(path)?;
    let mut table = Table::new(title, PY_1);
    for (name, workers) in [(PY_1, 1), (PY_2, 2)] {
        table.add(name, hecaton_rows::pool_map(&module, &square, workers)?);
    }
    if let Some(one) = table.get(PY_1) {
        let calls = one.per_second();
        table.notes.push(format!(
            "1 worker: {} calls/s, {:.3} ms a call; target ≥ {} calls/s (≤ {:.1} ms): {}",
            thousands(calls),
            1e3 / calls,
            thousands(TARGET_PY_CALLS),
            1e3 / TARGET_PY_CALLS,
            verdict(calls >= TARGET_PY_CALLS, TARGET_PY_CALLS / calls)
        ));
    }
    if let (Some(one), Some(two)) = (table.get(PY_1), table.get(PY_2)) {
        table.notes.push(format!(
            "2 workers: {} calls/s, {:.2}× one worker's",
            thousands(two.per_second()),
            two.per_second() / one.per_second()
        ));
    }
    table.notes.push(every_figure());

    let title = "11c. What a Python call's time goes to: raw wasmtime 48 (hecaton's engine \
                 configuration, one thread) against hecaton's task";
    let mut breakdown = Table::new(title, INSTANTIATE);
    let raw = RawComponent::load(path, reset)?;
    let steps_run = [Step::Instantiate, Step::Call, Step::CallWithWasiCtx];
    let wasi_calls = raw_rows(&mut breakdown, &raw, &square, &steps_run)?;
    if let Some(hecaton) = table.get(PY_1) {
        breakdown.add(PY_1, *hecaton);
    }
    breakdown.notes.extend(steps(&breakdown, PY_1, wasi_calls));
    breakdown.notes.push(format!(
        "component: {} ({}); Module::from_file {load_seconds:.2} s, raw compile {:.2} s; \
         pooling memory reset: {reset}",
        path.display(),
        size(path),
        raw.compile_seconds
    ));
    Ok((table, breakdown))
}

/// The raw rows of `steps`; the WASI calls a task made (from the last row that calls).
fn raw_rows(
    table: &mut Table,
    raw: &RawComponent,
    square: &Workload,
    steps: &[Step],
) -> Result<f64> {
    let mut wasi_calls = 0.0;
    for &step in steps {
        let name = match step {
            Step::Instantiate => INSTANTIATE,
            Step::Call => CALL,
            Step::CallWithWasiCtx => WASI_CTX,
        };
        let (measurement, calls) = raw.run(square, step)?;
        table.add(name, measurement);
        if step != Step::Instantiate {
            wasi_calls = calls;
        }
    }
    Ok(wasi_calls)
}

/// The notes that split a task's µs into its steps: instantiating, the call, a WASI context made
/// up front (when the table has that row), and what hecaton (the row `hecaton`) does around them.
fn steps(table: &Table, hecaton: &str, wasi_calls: f64) -> Vec<String> {
    let micros = |name| table.get(name).map(Measurement::micros_per_task);
    let (Some(instantiate), Some(call), Some(whole)) =
        (micros(INSTANTIATE), micros(CALL), micros(hecaton))
    else {
        return Vec::new();
    };
    let mut lines = vec![
        "µs per task, one thread:".to_owned(),
        format!(
            "  {:<52} {instantiate:>9.1} µs",
            "Store::new + instantiate + drop"
        ),
        format!(
            "  {:<52} {:>9.1} µs",
            "+ the call of square",
            call - instantiate
        ),
    ];
    if let Some(with_ctx) = micros(WASI_CTX) {
        lines.push(format!(
            "  {:<52} {:>9.1} µs",
            "(+ a WasiCtx made up front: not part of the sum)",
            with_ctx - call
        ));
    }
    lines.push(format!(
        "  {:<52} {:>9.1} µs",
        "+ hecaton around them (JSON, store data, scheduler)",
        whole - call
    ));
    lines.push(format!(
        "  {:<52} {whole:>9.1} µs",
        "= hecaton's whole task"
    ));
    lines.push(format!(
        "  WASI calls per task (raw): {wasi_calls:.1}; instantiation is {:.0}% of hecaton's task",
        100.0 * instantiate / whole
    ));
    lines
}

/// Loads a component through hecaton (`Module::from_file`: compiled, as no cache is given), with
/// the seconds it took.
fn load(path: &Path) -> Result<(Module, f64)> {
    let started = Instant::now();
    let module = Module::from_file(path).with_context(|| format!("loading {}", path.display()))?;
    Ok((module, started.elapsed().as_secs_f64()))
}

/// "met", or "missed by N×" where `factor` is how far from the target the figure is.
fn verdict(met: bool, factor: f64) -> String {
    if met {
        "met".to_owned()
    } else {
        format!("missed by {factor:.2}×")
    }
}

/// A file's size in MB, or `?`.
fn size(path: &Path) -> String {
    std::fs::metadata(path).map_or("?".to_owned(), |meta| {
        format!("{:.1} MB", meta.len() as f64 / 1e6)
    })
}

fn every_figure() -> String {
    format!(
        "every figure: the fastest of {RUNS}+ timed runs (more until they add up to \
         {MIN_SECONDS} s) after a warm-up; every output checked (but the instantiate-only row's, \
         which has none)"
    )
}
