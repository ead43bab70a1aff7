//! Section 11: components — an exported WIT function as a task, `square: func(x: s64) -> s64`,
//! in a fresh instance per task:
//! - **11a**: the benchmark's Rust component (`bench/guests/square-component`, wasm32-wasip2,
//!   `no_std`: `square` alone, importing nothing) against the same function as a core module
//!   (the benchmark's `bench-tasks`), both through `Pool::map` on one worker over the same
//!   inputs; issue #21's target is the component within 1.5× of the core module per task. An
//!   extra row runs the same `square` in the tests' component `tests/guests/wit-shapes`, whose
//!   `std` imports WASI 0.2: what those imports cost at each instantiation;
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
use hecaton::{Engine, MemoryReset, Module, ModuleCache};

use crate::measure::{MIN_SECONDS, Measurement, RUNS, Workload};
use crate::raw_component::{RawComponent, Step};
use crate::report::{Table, thousands};
use crate::{Guest, Plan, guest, hecaton_rows, raw_component};

/// Issue #21's targets: a component's task within this factor of a core module's…
const TARGET_RATIO: f64 = 1.5;
/// …and the Python component's calls per second on one worker.
const TARGET_PY_CALLS: f64 = 2000.0;

const CORE: &str = "core module: hecaton Pool::map";
const RUST: &str = "Rust component (square-component): hecaton Pool::map";
const WIT_SHAPES: &str = "Rust component with WASI imports (wit-shapes): Pool::map";
const PY_1: &str = "hecaton Pool::map (1 worker)";
const PY_2: &str = "hecaton Pool::map (2 workers)";
const INSTANTIATE: &str = "raw: Store::new + instantiate (+ drop: slots reset)";
const CALL: &str = "raw: Store::new + instantiate + call square (+ drop)";

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

/// 11a: the Rust component against the core module on one worker, the raw steps of the
/// component's task, and the same `square` in `wit-shapes`.
fn rust(plan: &Plan, core: &Guest, reset: MemoryReset) -> Result<Table> {
    let title = "11a. A component's task: square(x), a fresh instance per task, 1 worker";
    let mut table = Table::new(title, CORE);
    let square = Workload::square(plan.component_items);
    table.add(CORE, hecaton_rows::pool_map(&core.module, &square, 1)?);
    let path = guest::build_square_component()?;
    let (component, loaded) = load(&path)?;
    table.add(RUST, hecaton_rows::pool_map(&component, &square, 1)?);
    let raw = RawComponent::load(&path, reset)?;
    let wasi_calls = raw_rows(&mut table, &raw, &square)?;
    let shapes_path = guest::build_wit_shapes()?;
    let (shapes_module, _) = load(&shapes_path)?;
    table.add(
        WIT_SHAPES,
        hecaton_rows::pool_map(&shapes_module, &square, 1)?,
    );
    let micros = |name| table.get(name).map(Measurement::micros_per_task);
    let (rust, core_micros, shapes) = (micros(RUST), micros(CORE), micros(WIT_SHAPES));
    if let (Some(rust), Some(core)) = (rust, core_micros) {
        let ratio = rust / core;
        table.notes.push(format!(
            "component ÷ core module per task: {ratio:.2}× ({rust:.1} µs against {core:.1} µs); \
             issue #21's target ≤ {TARGET_RATIO}×: {}",
            verdict(ratio <= TARGET_RATIO, ratio / TARGET_RATIO)
        ));
    }
    table.notes.extend(steps(&table, RUST, wasi_calls));
    if let (Some(shapes), Some(core)) = (shapes, core_micros) {
        table.notes.push(format!(
            "the same square in wit-shapes ({} other exports; its std links WASI 0.2): \
             {shapes:.1} µs, {:.2}× the core module",
            shapes_module.tasks().count().saturating_sub(1),
            shapes / core
        ));
    }
    table.notes.push(format!(
        "imports: core module {}; square-component {}; wit-shapes {}",
        imports(&core.module),
        imports(&component),
        imports(&shapes_module)
    ));
    table.notes.push(format!(
        "core module: {}; component: {} ({}); hecaton: {loaded}; raw: {}; wit-shapes: {} ({})",
        core.path.display(),
        path.display(),
        size(&path),
        raw.loaded,
        shapes_path.display(),
        size(&shapes_path)
    ));
    table.notes.push(every_figure());
    Ok(table)
}

/// 11b and 11c: the Python component through hecaton on 1 and 2 workers, and the raw steps of
/// its task.
fn python(plan: &Plan, path: &Path, reset: MemoryReset, title: &str) -> Result<(Table, Table)> {
    let square = Workload::square(plan.python_component_items);
    let (module, loaded) = load(path)?;
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
    let wasi_calls = raw_rows(&mut breakdown, &raw, &square)?;
    if let Some(hecaton) = table.get(PY_1) {
        breakdown.add(PY_1, *hecaton);
    }
    breakdown.notes.extend(steps(&breakdown, PY_1, wasi_calls));
    breakdown.notes.push(format!(
        "making wasmtime-wasi's default WasiCtx (the raw call makes one on its first WASI \
         call): {:.1} µs",
        raw_component::wasi_ctx_micros()?
    ));
    breakdown.notes.push(format!(
        "component: {} ({}); hecaton: {loaded}; raw: {}; pooling memory reset: {reset}",
        path.display(),
        size(path),
        raw.loaded
    ));
    Ok((table, breakdown))
}

/// The raw rows, instantiating alone and instantiating then calling; the WASI calls a call made.
fn raw_rows(table: &mut Table, raw: &RawComponent, square: &Workload) -> Result<f64> {
    let (instantiate, _) = raw.run(square, Step::Instantiate)?;
    table.add(INSTANTIATE, instantiate);
    let (call, wasi_calls) = raw.run(square, Step::Call)?;
    table.add(CALL, call);
    Ok(wasi_calls)
}

/// The notes that split a task's µs into its steps: instantiating, the call, and what hecaton
/// (the row `hecaton`) does around them.
fn steps(table: &Table, hecaton: &str, wasi_calls: f64) -> Vec<String> {
    let micros = |name| table.get(name).map(Measurement::micros_per_task);
    let (Some(instantiate), Some(call), Some(whole)) =
        (micros(INSTANTIATE), micros(CALL), micros(hecaton))
    else {
        return Vec::new();
    };
    let line = |what: &str, micros: f64| format!("  {what:<60} {micros:>9.1} µs");
    vec![
        "µs per task, one thread:".to_owned(),
        line(
            "Store::new + instantiate + drop (the slots' reset)",
            instantiate,
        ),
        line(
            "+ the call of square (and the reset of what it dirtied)",
            call - instantiate,
        ),
        line(
            "+ hecaton around them (JSON, limits, WASI context, pool)",
            whole - call,
        ),
        line("= hecaton's whole task", whole),
        format!(
            "  WASI calls per call (raw): {wasi_calls:.0}; instantiating is {:.0}% of hecaton's \
             task",
            100.0 * instantiate / whole
        ),
    ]
}

/// Loads a component for hecaton's shared engine through a compile cache of the benchmark's
/// own (`target/bench-components/compiled`, its key beside it), so that only the first run
/// compiles a large one; says how long that took.
fn load(path: &Path) -> Result<(Module, String)> {
    let dir = guest::workspace_root().join("target/bench-components");
    let cache = ModuleCache::new(dir.join("compiled")).key_file(dir.join("cache-key"));
    let started = Instant::now();
    let module = Module::from_file_cached(&Engine::shared()?, path, &cache)
        .with_context(|| format!("loading {}", path.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    Ok((
        module,
        format!("Module::from_file_cached in {seconds:.2} s"),
    ))
}

/// What a module imports, as `hecaton inspect` says it: `none`, `WASI preview 1, hecaton
/// (panic)`, `25 WASI 0.2 interfaces`.
fn imports(module: &Module) -> String {
    let interfaces = module.interfaces().count();
    if interfaces > 0 {
        return format!("{interfaces} WASI 0.2 interfaces");
    }
    let mut imports = Vec::new();
    if module.imports_wasi() {
        imports.push("WASI preview 1".to_owned());
    }
    let host: Vec<&str> = module.host_functions().collect();
    if !host.is_empty() {
        imports.push(format!("hecaton ({})", host.join(", ")));
    }
    if imports.is_empty() {
        "none".to_owned()
    } else {
        imports.join(", ")
    }
}

/// "met", or "missed by N×" where `factor` is how far from the target the figure is.
fn verdict(met: bool, factor: f64) -> String {
    if met {
        "met".to_owned()
    } else {
        format!("missed by {factor:.2}×")
    }
}

/// A file's size in MB (in kB under 0.1 MB), or `?`.
fn size(path: &Path) -> String {
    std::fs::metadata(path).map_or("?".to_owned(), |meta| {
        let bytes = meta.len() as f64;
        if bytes < 1e5 {
            format!("{:.1} kB", bytes / 1e3)
        } else {
            format!("{:.1} MB", bytes / 1e6)
        }
    })
}

fn every_figure() -> String {
    format!(
        "every figure: the fastest of {RUNS}+ timed runs (more until they add up to \
         {MIN_SECONDS} s) after a warm-up; every output checked (but the instantiate-only row's, \
         which has none)"
    )
}
