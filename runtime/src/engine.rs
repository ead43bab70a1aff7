//! The one place that configures wasmtime.
//!
//! An [`Engine`] is made once per process (or per pool) and shared by every module compiled for
//! it; making one costs a few milliseconds and reserves the pooling allocator's address space.
//! It owns a background thread, `hecaton-epoch`, that advances wasmtime's epoch every
//! [`EPOCH_TICK`] so that timeouts and cancellation can interrupt running wasm; the thread holds
//! only a weak reference and stops when the engine is dropped.

use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use crate::error::Error;

/// How often the epoch advances: the resolution of timeouts. Cancellation does not wait for a
/// tick (it advances the epoch itself).
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// A configured wasmtime engine with its epoch ticker. Cheap to clone (a reference count).
///
/// Two limits are properties of the engine rather than of a task, because they change the
/// compiled code: fuel metering ([`EngineBuilder::fuel`]) and the wasm stack size
/// ([`EngineBuilder::max_stack`]). A module is compiled for one engine.
#[derive(Clone, Debug)]
pub struct Engine {
    inner: wasmtime::Engine,
    fuel: bool,
    max_stack: usize,
    memory_reset: MemoryReset,
}

/// How a pooling slot's linear memory is made fresh again between the tasks that use it, chosen
/// once per engine (see [`Engine::memory_reset`]). Either way the next task sees the module's
/// initial memory and nothing of the previous task's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemoryReset {
    /// Linux's `PAGEMAP_SCAN` ioctl (6.7+) finds the pages the task dirtied, which are rewritten
    /// in place (up to 2 MiB of them; the rest are returned to the kernel): the fast way, used
    /// when no swap is active.
    PagemapScan,
    /// The first 2 MiB of the memory are rewritten whatever the task touched, and every page
    /// beyond is returned to the kernel with `madvise(MADV_DONTNEED)` (faulting back in, as zeros
    /// or the module's image, when the next task touches it): used when swap is active (or the
    /// kernel has no `PAGEMAP_SCAN`, or `/proc/swaps` cannot be read).
    Madvise,
}

impl MemoryReset {
    /// A short name: `pagemap-scan` or `madvise`.
    pub fn name(self) -> &'static str {
        match self {
            Self::PagemapScan => "pagemap-scan",
            Self::Madvise => "madvise",
        }
    }

    /// The reset for this machine: `PAGEMAP_SCAN` only when the kernel has it and `/proc/swaps`
    /// (read once, here) lists no swap.
    fn for_this_machine() -> Self {
        let swaps = std::fs::read_to_string("/proc/swaps").ok();
        Self::choose(
            swaps.as_deref(),
            wasmtime::PoolingAllocationConfig::is_pagemap_scan_available(),
        )
    }

    /// The decision, given the text of `/proc/swaps` (`None` when it could not be read) and
    /// whether the kernel has `PAGEMAP_SCAN`.
    fn choose(swaps: Option<&str>, pagemap_scan_available: bool) -> Self {
        // `/proc/swaps` is a header line, then one line per active swap area.
        let no_swap =
            swaps.is_some_and(|text| text.lines().skip(1).all(|line| line.trim().is_empty()));
        if no_swap && pagemap_scan_available {
            Self::PagemapScan
        } else {
            Self::Madvise
        }
    }
}

impl std::fmt::Display for MemoryReset {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

/// Settings for an [`Engine`]; made by [`Engine::builder`].
#[derive(Clone, Debug)]
pub struct EngineBuilder {
    fuel: bool,
    max_stack: usize,
}

/// The default wasm stack limit: wasmtime's, 512 KiB.
pub const DEFAULT_MAX_STACK: usize = 512 << 10;

impl EngineBuilder {
    /// Compile fuel metering into every module (default: off). Needed for
    /// [`Limits::fuel`](crate::Limits::fuel); costs some speed in every task, which is why it is
    /// not always on (timeouts use epochs, which cost far less).
    pub fn fuel(mut self, fuel: bool) -> Self {
        self.fuel = fuel;
        self
    }

    /// Bytes of native stack wasm code may use before it traps with a stack overflow (default
    /// [`DEFAULT_MAX_STACK`]).
    pub fn max_stack(mut self, bytes: usize) -> Self {
        self.max_stack = bytes;
        self
    }

    /// Makes the engine and starts its epoch thread.
    ///
    /// # Errors
    /// [`Error::Engine`] when wasmtime rejects the configuration on this machine, or
    /// [`Error::Thread`] when the epoch thread cannot start.
    pub fn build(self) -> Result<Engine, Error> {
        let memory_reset = MemoryReset::for_this_machine();
        tracing::debug!("engine: memory reset {memory_reset}");
        let inner = wasmtime::Engine::new(&config(&self, memory_reset))
            .map_err(|error| Error::Engine(format!("{error:#}")))?;
        spawn_epoch_ticker(&inner)?;
        Ok(Engine {
            inner,
            fuel: self.fuel,
            max_stack: self.max_stack,
            memory_reset,
        })
    }
}

impl Engine {
    /// Makes a new engine with hecaton's configuration.
    ///
    /// # Errors
    /// [`Error::Engine`] when wasmtime rejects the configuration on this machine, or
    /// [`Error::Thread`] when the epoch thread cannot start.
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// A builder with the defaults: no fuel, a 512 KiB wasm stack.
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            fuel: false,
            max_stack: DEFAULT_MAX_STACK,
        }
    }

    /// The bytes of native stack wasm code may use ([`EngineBuilder::max_stack`]).
    pub fn max_stack(&self) -> usize {
        self.max_stack
    }

    /// Whether modules of this engine meter fuel.
    pub fn fuel_enabled(&self) -> bool {
        self.fuel
    }

    /// How this engine makes a pooling slot's memory fresh between tasks: decided when the
    /// engine was made, by whether the machine had swap active then (`hecaton -v` logs it).
    pub fn memory_reset(&self) -> MemoryReset {
        self.memory_reset
    }

    /// The process-wide engine, made on first use; what [`Module::from_file`](crate::Module::from_file)
    /// compiles for.
    ///
    /// # Errors
    /// As [`Engine::new`], on every call if the first one failed.
    pub fn shared() -> Result<Self, Error> {
        static SHARED: OnceLock<Result<Engine, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Engine::new().map_err(|error| error.to_string()))
            .clone()
            .map_err(Error::Engine)
    }

    pub(crate) fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner
    }

    /// Makes every running task of this engine check at once whether it was cancelled, instead of
    /// at the next tick.
    pub(crate) fn interrupt_now(&self) {
        self.inner.increment_epoch();
    }
}

/// Every wasmtime knob hecaton sets, one comment each.
fn config(settings: &EngineBuilder, memory_reset: MemoryReset) -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    // Deterministic CPU budgets, only when asked for: metering slows every task.
    config.consume_fuel(settings.fuel);
    // A deep recursion traps as a stack overflow at this depth instead of exhausting the thread.
    config.max_wasm_stack(settings.max_stack);
    // Timeouts and cancellation: compiled code checks the epoch at loop headers and function
    // entries; cheaper than fuel and independent of what the task executes.
    config.epoch_interruption(true);
    // Trap errors carry the wasm backtrace (wasmtime's default), reported in `TaskError::Trap`.
    // Instances come from preallocated slots: a fresh instance per task costs microseconds, and
    // linear memories start as copy-on-write images of the module's data segments.
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pooling(
        memory_reset,
    )));
    config.memory_init_cow(true);
    // The WebAssembly proposals: every one wasmtime 48 enables by default is on, each set
    // explicitly, and those it leaves off stay off; `proposals::PROPOSALS` is the table, with
    // the reason for each (what `hecaton inspect` shows).
    for (flag, enabled) in crate::proposals::engine_flags() {
        config.wasm_features(flag, enabled);
    }
    // Exception objects and GC structs live in a GC heap: deferred reference counting, the
    // collector wasmtime has run longest. A GC heap grows through the store's limiter, so it
    // counts in the task's memory limit.
    config.collector(wasmtime::Collector::DeferredReferenceCounting);
    config
}

/// The most elements any one table of a task can have, whatever its limit: the pooling
/// allocator reserves this much address space for each table slot. A million elements is 100
/// times the largest table of the real-program corpus (10,433, GCC's `cc1`).
pub const MAX_TABLE_ELEMENTS: u64 = 1 << 20;

/// Memories one module may define (multi-memory); their sizes together are capped by the task's
/// memory limit.
const MAX_MEMORIES_PER_MODULE: u32 = 8;

/// Tables one module may define (reference types); their elements together are capped by the
/// task's table limit.
const MAX_TABLES_PER_MODULE: u32 = 8;

/// Bytes of each linear memory and table that stay resident between the tasks using a slot.
const KEEP_RESIDENT: usize = 2 << 20;

/// The pooling allocator's slots: enough for every worker and process of a busy host, each
/// memory able to grow to the wasm32 maximum (the per-task limit is the store's limiter).
fn pooling(memory_reset: MemoryReset) -> wasmtime::PoolingAllocationConfig {
    let mut pooling = wasmtime::PoolingAllocationConfig::new();
    pooling.total_core_instances(1000);
    pooling.total_memories(1000);
    pooling.total_tables(1000);
    pooling.max_memory_size(1 << 32);
    // GC heaps (exception objects, GC structs) come from slots of their own, one per store
    // that needs one.
    pooling.total_gc_heaps(1000);
    // A module may define several memories and tables (multi-memory, reference types): the
    // limits that matter are the task's, across all of them (`Limits`); these only size each
    // instance's bookkeeping, a few bytes per slot.
    pooling.max_memories_per_module(MAX_MEMORIES_PER_MODULE);
    pooling.max_tables_per_module(MAX_TABLES_PER_MODULE);
    // Each table slot reserves room for this many elements (8 bytes each: 8 MiB of address
    // space per slot, 8 GB for all 1000; pages are touched only as a table uses them). It is
    // the ceiling of `Limits::max_table_elements`, which is checked against it.
    pooling.table_elements(MAX_TABLE_ELEMENTS as usize);
    // How a freed slot is made fresh for the next task (`MemoryReset`): what "a fresh instance
    // per task" rests on when instances reuse slots.
    //
    // With `PAGEMAP_SCAN` (Linux 6.7+), a slot keeps up to 2 MiB of its memory and table
    // resident and rewrites only the pages the task dirtied, instead of an `madvise` that
    // returns every page to the kernel and faults it back in for the next task: fewer system
    // calls and page faults per task, and less contention on the process's memory-map lock
    // between workers. But wasmtime 48's scan asks for dirty pages that are *present*
    // (`PAGE_IS_PRESENT`; wasmtime PR #14357): a dirty page the kernel has swapped out is a
    // swap entry, not present, so it is skipped: neither rewritten nor (unless the scan stopped
    // before reaching it) decommitted, and when it is read back the next task in the slot sees
    // the previous task's data. So the scan
    // is used only when `/proc/swaps` lists no swap when the engine is made; a swap turned on
    // later is not seen, and neither is a page the kernel is migrating at the very moment of a
    // scan (a migration entry is not present either: compaction or NUMA balancing, a window of
    // microseconds). The scan also reports at most 32 dirty regions and decommits everything
    // after the 32nd: correct, but a guest that dirties many scattered pages faults most of them
    // back in on every task (bench section 8 measures it).
    //
    // Without the scan, wasmtime's reset (`pagemap_disabled::reset_with_pagemap`, in
    // wasmtime 48's `runtime/vm`) rewrites the first `keep_resident` bytes of the memory whatever
    // the task touched, and `madvise`s the rest away. Both halves are safe with swap: rewriting a
    // swapped-out page faults it back in before every byte of it is overwritten, and
    // `MADV_DONTNEED` drops swap entries along with present pages. Keeping 2 MiB resident still
    // pays without the scan: in bench section 8, 1.0-1.2x the throughput of keeping nothing for
    // a task that dirties 8 pages, 1.3-1.7x for one that dirties 200 (whose page faults cost
    // about 3 us each).
    pooling.linear_memory_keep_resident(KEEP_RESIDENT);
    pooling.table_keep_resident(KEEP_RESIDENT);
    pooling.pagemap_scan(match memory_reset {
        MemoryReset::PagemapScan => wasmtime::Enabled::Yes,
        MemoryReset::Madvise => wasmtime::Enabled::No,
    });
    pooling
}

fn spawn_epoch_ticker(engine: &wasmtime::Engine) -> Result<(), Error> {
    let engine = engine.weak();
    thread::Builder::new()
        .name("hecaton-epoch".into())
        .spawn(move || {
            loop {
                thread::sleep(EPOCH_TICK);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            }
        })
        .map(drop)
        .map_err(Error::Thread)
}

#[cfg(test)]
mod tests {
    use super::MemoryReset;

    const HEADER: &str = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

    #[test]
    fn pagemap_scan_only_without_swap() {
        let with_swap = format!("{HEADER}/swapfile  file  4194300  0  -2\n");
        assert_eq!(
            MemoryReset::choose(Some(HEADER), true),
            MemoryReset::PagemapScan
        );
        assert_eq!(
            MemoryReset::choose(Some(&with_swap), true),
            MemoryReset::Madvise
        );
        assert_eq!(
            MemoryReset::choose(Some(HEADER), false),
            MemoryReset::Madvise
        );
        assert_eq!(
            MemoryReset::choose(None, true),
            MemoryReset::Madvise,
            "unreadable: assume swap"
        );
    }
}
