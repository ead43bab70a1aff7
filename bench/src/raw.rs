//! Raw wasmtime rows: the same module, task and ABI as hecaton (`guest/abi/ABI.md`), in a
//! hand-written loop with nothing of hecaton's around it — no epoch interruption, no store
//! limiter, no WASI context (the guest's imports are defined as traps; `square` and `fib` never
//! call them). Every item still gets a fresh `Store` and a fresh instance.
//!
//! Three set-ups (run by `cargo run --release -p hecaton-bench`):
//! - **pooling**: the pooling allocator with wasmtime's default slots (a freed slot's memory goes
//!   back to the kernel with `madvise`) and a pre-linked `InstancePre`;
//! - **keep resident**: the same, keeping 2 MiB of each slot resident and zeroing only the pages
//!   a task dirtied, found with Linux's `PAGEMAP_SCAN` ioctl (6.7+) — hecaton's own allocator
//!   settings at the time of writing, so the limit of its design;
//! - **naive**: wasmtime's default (on-demand) allocator and `Linker::instantiate` per item.

use std::ops::Range;
use std::path::Path;

use anyhow::{Context, Result, bail};
use wasmtime::{
    Config, Enabled, Engine, Extern, Instance, InstanceAllocationStrategy, InstancePre, Linker,
    Memory, Module, ModuleExport, PoolingAllocationConfig, Store, TypedFunc,
};

use crate::measure::{Measurement, Workload, fastest_of_runs};

/// Bytes of linear memory and table kept resident per pooling slot (hecaton's own setting at the
/// time of writing): the guest's whole initial memory, 17 pages of 64 KiB, fits.
const KEEP_RESIDENT: usize = 2 << 20;

/// How the loop gets its instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    Pooling,
    KeepResident,
    /// `KeepResident` with epoch interruption compiled in (what timeouts and cancellation need),
    /// the deadline never reached: the cost of the checks alone.
    KeepResidentEpoch,
    Naive,
}

/// A module compiled and linked for one set-up, with the ABI's exports resolved.
pub struct Raw {
    module: Module,
    linker: Linker<()>,
    /// `None` for the naive set-up, which links on every instantiation.
    pre: Option<InstancePre<()>>,
    memory: ModuleExport,
    alloc: ModuleExport,
}

impl Raw {
    /// Compiles the module at `path` for a fresh engine configured for `setup`.
    ///
    /// # Errors
    /// When the engine cannot be made (`PAGEMAP_SCAN` needs Linux 6.7), or the module does not
    /// compile, link, or export the ABI's `memory` and `hecaton_alloc`.
    pub fn load(path: &Path, setup: Setup) -> Result<Self> {
        let engine = Engine::new(&config(setup))
            .into_anyhow()
            .context("configuring wasmtime")?;
        let module = Module::from_file(&engine, path).into_anyhow()?;
        let mut linker = Linker::new(&engine);
        linker
            .define_unknown_imports_as_traps(&module)
            .into_anyhow()?;
        let pre = match setup {
            Setup::Naive => None,
            Setup::Pooling | Setup::KeepResident | Setup::KeepResidentEpoch => {
                Some(linker.instantiate_pre(&module).into_anyhow()?)
            }
        };
        Ok(Self {
            memory: export(&module, "memory")?,
            alloc: export(&module, "hecaton_alloc")?,
            module,
            linker,
            pre,
        })
    }

    /// Runs `workload` split into contiguous ranges over `threads` threads, after an untimed
    /// warm-up; the time is by [`fastest_of_runs`]. Checks every output.
    ///
    /// # Errors
    /// The first item that fails, or a wrong output.
    pub fn run(&self, workload: &Workload, threads: usize) -> Result<Measurement> {
        let task = export(&self.module, &format!("hecaton:v1:{}", workload.task))?;
        self.run_split(&task, &workload.warm_up(), threads)?;
        let (outputs, seconds) = fastest_of_runs(|| self.run_split(&task, workload, threads))?;
        workload.check(&outputs)?;
        Ok(Measurement {
            items: workload.items,
            workers: threads,
            seconds,
        })
    }

    fn run_split(
        &self,
        task: &ModuleExport,
        workload: &Workload,
        threads: usize,
    ) -> Result<Vec<u64>> {
        let parts: Vec<Vec<u64>> = std::thread::scope(|scope| {
            let handles: Vec<_> = split(workload.items, threads)
                .map(|range| scope.spawn(move || self.run_range(task, workload, range)))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a benchmark thread panicked"))
                .collect::<Result<_>>()
        })?;
        Ok(parts.concat())
    }

    fn run_range(
        &self,
        task: &ModuleExport,
        workload: &Workload,
        range: Range<u64>,
    ) -> Result<Vec<u64>> {
        range
            .map(|i| self.call_fresh(task, (workload.input)(i)))
            .collect()
    }

    /// One item: a fresh store and instance, the input written through `hecaton_alloc`, the
    /// task called, its 12-byte result record and JSON payload read back.
    fn call_fresh(&self, task: &ModuleExport, input: u64) -> Result<u64> {
        let mut store = Store::new(self.module.engine(), ());
        store.set_epoch_deadline(u64::MAX);
        let instance = self.instantiate(&mut store)?;
        let memory = instance
            .get_module_export(&mut store, &self.memory)
            .and_then(Extern::into_memory)
            .context("`memory` is not a memory")?;
        let input = input.to_string();
        let alloc: TypedFunc<i32, i32> = typed(&mut store, &instance, &self.alloc)?;
        let input_ptr = alloc.call(&mut store, input.len() as i32).into_anyhow()?;
        memory.write(&mut store, input_ptr as usize, input.as_bytes())?;
        let call: TypedFunc<(i32, i32), i32> = typed(&mut store, &instance, task)?;
        let record = call
            .call(&mut store, (input_ptr, input.len() as i32))
            .into_anyhow()?;
        read_output(&store, memory, record as u32 as usize)
    }

    fn instantiate(&self, store: &mut Store<()>) -> Result<Instance> {
        match &self.pre {
            Some(pre) => pre.instantiate(store),
            None => self.linker.instantiate(store, &self.module),
        }
        .into_anyhow()
    }
}

/// wasmtime's defaults, plus the allocator of `setup`.
fn config(setup: Setup) -> Config {
    let mut config = Config::new();
    if setup == Setup::Naive {
        // wasmtime's default allocator: each instance is mapped on demand and unmapped after.
        return config;
    }
    let mut pooling = PoolingAllocationConfig::new();
    if setup == Setup::KeepResidentEpoch {
        config.epoch_interruption(true);
    }
    if matches!(setup, Setup::KeepResident | Setup::KeepResidentEpoch) {
        pooling.linear_memory_keep_resident(KEEP_RESIDENT);
        pooling.table_keep_resident(KEEP_RESIDENT);
        pooling.pagemap_scan(Enabled::Yes);
    }
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    config
}

fn export(module: &Module, name: &str) -> Result<ModuleExport> {
    module
        .get_export_index(name)
        .with_context(|| format!("the module has no export `{name}`"))
}

fn typed<P, R>(
    store: &mut Store<()>,
    instance: &Instance,
    export: &ModuleExport,
) -> Result<TypedFunc<P, R>>
where
    P: wasmtime::WasmParams,
    R: wasmtime::WasmResults,
{
    let func = instance
        .get_module_export(&mut *store, export)
        .and_then(Extern::into_func)
        .context("an ABI export is not a function")?;
    func.typed(&*store).into_anyhow()
}

/// Reads the result record at `record` (status, payload address, payload length: three
/// little-endian `u32`s) and parses the payload as the task's integer output.
fn read_output(store: &Store<()>, memory: Memory, record: usize) -> Result<u64> {
    let data = memory.data(store);
    let field = |index: usize| -> Result<usize> {
        let at = record + 4 * index;
        let bytes = data
            .get(at..at + 4)
            .context("result record out of bounds")?;
        Ok(u32::from_le_bytes(bytes.try_into()?) as usize)
    };
    let (status, ptr, len) = (field(0)?, field(1)?, field(2)?);
    let payload = data.get(ptr..ptr + len).context("payload out of bounds")?;
    let text = std::str::from_utf8(payload)?;
    if status != 0 {
        bail!("the task failed (status {status}): {text}");
    }
    text.parse()
        .with_context(|| format!("output {text:?} is not an integer"))
}

/// wasmtime 48's `Error` is its own type, not a `std::error::Error` (without wasmtime's `anyhow`
/// feature, which this workspace leaves off): it is carried into anyhow as its text.
pub trait IntoAnyhow<T> {
    fn into_anyhow(self) -> Result<T>;
}

impl<T> IntoAnyhow<T> for wasmtime::Result<T> {
    fn into_anyhow(self) -> Result<T> {
        self.map_err(|error| anyhow::anyhow!("{error:#}"))
    }
}

/// `0..items` cut into `parts` contiguous ranges of nearly equal length.
fn split(items: u64, parts: usize) -> impl Iterator<Item = Range<u64>> {
    let parts = parts as u64;
    (0..parts).map(move |part| items * part / parts..items * (part + 1) / parts)
}

/// Guards [`split`]'s arithmetic: every item in exactly one range.
#[cfg(test)]
mod tests {
    #[test]
    fn split_covers_every_item_once() {
        let ranges: Vec<_> = super::split(10, 3).collect();
        assert_eq!(ranges, [0..3, 3..6, 6..10]);
    }
}
