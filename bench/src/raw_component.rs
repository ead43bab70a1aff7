//! Raw wasmtime rows for a component: `square: func(x: s64) -> s64`, every call in a fresh
//! `Store` and a fresh instance from a `component::InstancePre`, in a hand-written loop on one
//! thread — the steps of a task taken one at a time, nothing of hecaton's around them.
//!
//! The engine is configured as hecaton's (`runtime/src/engine.rs` at the time of writing: its
//! pooling slots, 2 MiB kept resident, the memory reset hecaton's own engine chose on this
//! machine, epoch interruption compiled in), so that the rows differ from hecaton's task only by
//! what hecaton does around the instance. The linker is wasmtime-wasi's
//! `p2::add_to_linker_sync`; the store's WASI context (wasmtime-wasi's default one) is made on
//! the first WASI call, as hecaton's is.
//!
//! The compiled component is kept in `target/bench-components/raw-NAME-HASH.cwasm` (HASH: the
//! component's bytes and the engine's compilation settings), so that only the first run pays
//! Cranelift's seconds for a large component.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use hecaton::MemoryReset;
use wasmtime::component::{
    Component, ComponentExportIndex, InstancePre, Linker, ResourceTable, Val,
};
use wasmtime::{
    Collector, Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::guest;
use crate::measure::{Measurement, Workload, fastest_of_runs};
use crate::raw::IntoAnyhow;

/// How much of a task each call of the loop does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `Store::new` and `InstancePre::instantiate`; the store dropped (its slots freed and
    /// reset). No call, so no output to check: the instance is made, or the row fails.
    Instantiate,
    /// The same, then `square` called with a `Val` (as hecaton calls a WIT task), its result
    /// checked.
    Call,
}

/// A store's data: the WASI context made on first use, and a count of the WASI calls that asked
/// for it.
struct State {
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    wasi_calls: u64,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.wasi_calls += 1;
        WasiCtxView {
            ctx: self.wasi.get_or_insert_with(|| WasiCtx::builder().build()),
            table: &mut self.table,
        }
    }
}

/// A component compiled for an engine configured as hecaton's, linked with WASI 0.2 and
/// pre-instantiated.
pub struct RawComponent {
    engine: Engine,
    pre: InstancePre<State>,
    square: ComponentExportIndex,
    /// How it was loaded, and in how many seconds: `compiled in 9.06 s`.
    pub loaded: String,
}

impl RawComponent {
    /// Loads the component at `path` for a fresh engine whose slots are reset by `reset`: from
    /// the benchmark's own cache of compiled components, else compiled (seconds, for a large
    /// one) and stored there.
    ///
    /// # Errors
    /// wasmtime rejects the configuration, or the component does not compile, link (an import
    /// WASI 0.2 lacks) or export `square`.
    pub fn load(path: &Path, reset: MemoryReset) -> Result<Self> {
        let engine = Engine::new(&hecaton_config(reset))
            .into_anyhow()
            .context("configuring wasmtime")?;
        let started = Instant::now();
        let (component, how) = compiled(&engine, path)?;
        let loaded = format!("{how} in {:.2} s", started.elapsed().as_secs_f64());
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).into_anyhow()?;
        let pre = linker.instantiate_pre(&component).into_anyhow()?;
        let square = component
            .get_export_index(None, "square")
            .context("the component exports no `square`")?;
        Ok(Self {
            engine,
            pre,
            square,
            loaded,
        })
    }

    /// Runs `step` once per item of `workload` on this thread, after an untimed warm-up; the
    /// time is by [`fastest_of_runs`]. Returns it with the WASI calls one task made.
    ///
    /// # Errors
    /// An instantiation or a call fails, or an output is wrong.
    pub fn run(&self, workload: &Workload, step: Step) -> Result<(Measurement, f64)> {
        self.run_all(&workload.warm_up(), step)?;
        let (wasi_calls, seconds) = fastest_of_runs(|| self.run_all(workload, step))?;
        let measurement = Measurement {
            items: workload.items,
            workers: 1,
            seconds,
        };
        Ok((measurement, wasi_calls as f64 / workload.items as f64))
    }

    /// Every item of `workload`, outputs checked; the WASI calls they made.
    fn run_all(&self, workload: &Workload, step: Step) -> Result<u64> {
        let mut wasi_calls = 0;
        let mut outputs = Vec::with_capacity(workload.items as usize);
        for input in workload.inputs() {
            let (output, calls) = self.task(input, step)?;
            outputs.extend(output);
            wasi_calls += calls;
        }
        if step != Step::Instantiate {
            workload.check(&outputs)?;
        }
        Ok(wasi_calls)
    }

    /// One task: a fresh store and instance, and the call when `step` makes one.
    fn task(&self, input: u64, step: Step) -> Result<(Option<u64>, u64)> {
        let state = State {
            wasi: None,
            table: ResourceTable::new(),
            wasi_calls: 0,
        };
        let mut store = Store::new(&self.engine, state);
        // No epoch ticker runs for this engine: the deadline is never reached.
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = self.pre.instantiate(&mut store).into_anyhow()?;
        if step == Step::Instantiate {
            return Ok((None, store.data().wasi_calls));
        }
        let square = instance
            .get_func(&mut store, self.square)
            .context("`square` is missing from the instance")?;
        let mut results = [Val::Bool(false)];
        square
            .call(&mut store, &[Val::S64(input as i64)], &mut results)
            .into_anyhow()?;
        let output = match results {
            [Val::S64(output)] => output as u64,
            [other] => anyhow::bail!("square({input}) returned {other:?}, not an s64"),
        };
        ensure!(
            store.data().table.is_empty(),
            "a WASI resource outlived its call"
        );
        Ok((Some(output), store.data().wasi_calls))
    }
}

/// The component at `path` compiled for `engine`: deserialized from
/// `target/bench-components/raw-NAME-HASH.cwasm` when there, else compiled and stored there
/// (older builds of NAME removed); with which of the two happened.
fn compiled(engine: &Engine, path: &Path) -> Result<(Component, &'static str)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let name = path
        .file_stem()
        .map_or("component".into(), |stem| stem.to_string_lossy());
    let dir = guest::workspace_root().join("target/bench-components");
    let file_name = format!("raw-{name}-{:016x}.cwasm", hasher.finish());
    let cached = dir.join(&file_name);
    if cached.is_file() {
        // SAFETY: the file is `Engine::precompile_component`'s output for an engine of these
        // compilation settings (its name hashes them and the component's bytes), written by this
        // benchmark under the workspace's `target/`, as trusted as the benchmark's own binary
        // beside it; wasmtime checks its version and settings header.
        let component = unsafe { Component::deserialize_file(engine, &cached) }.into_anyhow()?;
        return Ok((component, "deserialized from target/bench-components"));
    }
    let component = Component::new(engine, &bytes)
        .into_anyhow()
        .with_context(|| format!("compiling {}", path.display()))?;
    store(
        &dir,
        &file_name,
        &component.serialize().into_anyhow()?,
        &name,
    )?;
    Ok((component, "compiled"))
}

/// Writes `artifact` as `dir/file_name` (through a temporary file renamed into place, so that an
/// interrupted run leaves nothing a later one would load), then removes `name`'s older builds.
fn store(dir: &Path, file_name: &str, artifact: &[u8], name: &str) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let partial: PathBuf = dir.join(format!("{file_name}.{}.partial", std::process::id()));
    std::fs::write(&partial, artifact)?;
    std::fs::rename(&partial, dir.join(file_name))?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?.file_name();
        let entry = entry.to_string_lossy();
        if entry != file_name
            && entry.starts_with(&format!("raw-{name}-"))
            && entry.ends_with(".cwasm")
        {
            std::fs::remove_file(dir.join(&*entry))?;
        }
    }
    Ok(())
}

/// Microseconds to make wasmtime-wasi's default `WasiCtx` (and the store's `ResourceTable`), the
/// fastest of a few rounds of a thousand: what the raw loop pays on a guest's first WASI call.
pub fn wasi_ctx_micros() -> Result<f64> {
    const CONTEXTS: u32 = 1000;
    let make = || {
        for _ in 0..CONTEXTS {
            std::hint::black_box((WasiCtx::builder().build(), ResourceTable::new()));
        }
        Ok(())
    };
    let ((), seconds) = fastest_of_runs(make)?;
    Ok(seconds * 1e6 / f64::from(CONTEXTS))
}

/// hecaton's wasmtime configuration, knob for knob (`runtime/src/engine.rs`, whose comments say
/// why each), with `reset` as the slots' memory reset.
fn hecaton_config(reset: MemoryReset) -> Config {
    let mut pooling = PoolingAllocationConfig::new();
    pooling.total_core_instances(1000);
    pooling.total_memories(1000);
    pooling.total_tables(1000);
    pooling.max_memory_size(1 << 32);
    pooling.total_gc_heaps(1000);
    pooling.total_stacks(0);
    pooling.max_memories_per_module(8);
    pooling.max_tables_per_module(8);
    pooling.total_component_instances(1000);
    pooling.max_core_instances_per_component(100);
    pooling.max_memories_per_component(8);
    pooling.max_tables_per_component(64);
    pooling.max_component_instance_size(8 << 20);
    pooling.max_core_instance_size(8 << 20);
    pooling.table_elements(hecaton::MAX_TABLE_ELEMENTS as usize);
    pooling.linear_memory_keep_resident(2 << 20);
    pooling.table_keep_resident(2 << 20);
    pooling.pagemap_scan(match reset {
        MemoryReset::PagemapScan => Enabled::Yes,
        _ => Enabled::No,
    });
    let mut config = Config::new();
    config.max_wasm_stack(hecaton::DEFAULT_MAX_STACK);
    config.async_stack_size(hecaton::DEFAULT_MAX_STACK);
    config.epoch_interruption(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    config.memory_init_cow(true);
    config.collector(Collector::DeferredReferenceCounting);
    config
}
