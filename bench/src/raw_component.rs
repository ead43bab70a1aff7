//! Raw wasmtime rows for a component: `square: func(x: s64) -> s64`, every call in a fresh
//! `Store` and a fresh instance from a `component::InstancePre`, in a hand-written loop on one
//! thread — the steps of a task taken one at a time, nothing of hecaton's around them.
//!
//! The engine is configured as hecaton's (`runtime/src/engine.rs` at the time of writing: its
//! pooling slots, 2 MiB kept resident, the memory reset hecaton's own engine chose on this
//! machine, epoch interruption compiled in), so that the rows differ from hecaton's task only by
//! what hecaton does around the instance. The linker is wasmtime-wasi's
//! `p2::add_to_linker_sync`; the store's WASI context is made on the first WASI call, as
//! hecaton's is, unless a step asks for one made up front.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use hecaton::MemoryReset;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker, Val};
use wasmtime::{Collector, Config, Enabled, Engine, InstanceAllocationStrategy, Store};
use wasmtime::{PoolingAllocationConfig, component::ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

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
    /// [`Step::Call`] with a WASI context (`WasiCtx::builder().build()`) and its resource table
    /// made with every store, whether the guest calls WASI or not.
    CallWithWasiCtx,
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
    /// Seconds Cranelift took to compile it.
    pub compile_seconds: f64,
}

impl RawComponent {
    /// Compiles the component at `path` (seconds, for a large one) for a fresh engine whose
    /// slots are reset by `reset`.
    ///
    /// # Errors
    /// wasmtime rejects the configuration, or the component does not compile, link (an import
    /// WASI 0.2 lacks) or export `square`.
    pub fn load(path: &Path, reset: MemoryReset) -> Result<Self> {
        let engine = Engine::new(&hecaton_config(reset))
            .into_anyhow()
            .context("configuring wasmtime")?;
        let started = Instant::now();
        let component = Component::from_file(&engine, path)
            .into_anyhow()
            .with_context(|| format!("compiling {}", path.display()))?;
        let compile_seconds = started.elapsed().as_secs_f64();
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
            compile_seconds,
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
            wasi: (step == Step::CallWithWasiCtx).then(|| WasiCtx::builder().build()),
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
