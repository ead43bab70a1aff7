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
use crate::memory_reset::{self, MemoryReset, ResetCheck};
use crate::stack;

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
    reset_check: ResetCheck,
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
    /// [`DEFAULT_MAX_STACK`]; at least 1, at most [`MAX_STACK`](crate::MAX_STACK)). The threads
    /// that run this engine's tasks are sized for it.
    pub fn max_stack(mut self, bytes: usize) -> Self {
        self.max_stack = bytes;
        self
    }

    /// Makes the engine and starts its epoch thread.
    ///
    /// # Errors
    /// [`Error::Config`] for a stack limit out of range, [`Error::Engine`] when wasmtime
    /// rejects the configuration on this machine, or [`Error::Thread`] when the epoch thread
    /// cannot start.
    pub fn build(self) -> Result<Engine, Error> {
        stack::check_limit(self.max_stack)?;
        let (inner, reset_check) = memory_reset::first_that_works(
            MemoryReset::for_this_machine(),
            |reset| wasmtime_engine(&self, reset),
            |engine| memory_reset::check(engine, memory_reset::Between::Reset),
        )
        .map_err(Error::Engine)?;
        tracing::debug!("engine: memory reset {reset_check}");
        spawn_epoch_ticker(&inner)?;
        Ok(Engine {
            inner,
            fuel: self.fuel,
            max_stack: self.max_stack,
            reset_check,
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
    /// engine was made, by whether the machine had swap active then and by the reset's own
    /// check ([`Engine::reset_check`]; `hecaton -v` and `--stats` show it).
    pub fn memory_reset(&self) -> MemoryReset {
        self.reset_check.reset()
    }

    /// What the memory reset's check found when the engine was made: a canary written into a
    /// pooled slot, read back by the next instance in that slot as the initial image. A reset
    /// that fails it is not used.
    pub fn reset_check(&self) -> &ResetCheck {
        &self.reset_check
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

/// A wasmtime engine of hecaton's configuration with `memory_reset`.
pub(crate) fn wasmtime_engine(
    settings: &EngineBuilder,
    memory_reset: MemoryReset,
) -> Result<wasmtime::Engine, String> {
    wasmtime::Engine::new(&config(settings, memory_reset)).map_err(|error| format!("{error:#}"))
}

/// Every wasmtime knob hecaton sets, one comment each.
fn config(settings: &EngineBuilder, memory_reset: MemoryReset) -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    // Deterministic CPU budgets, only when asked for: metering slows every task.
    config.consume_fuel(settings.fuel);
    // A deep recursion traps as a stack overflow at this depth instead of exhausting the thread
    // (every thread that runs wasm is sized for it: `stack`).
    config.max_wasm_stack(settings.max_stack);
    // Only async calls run on the async stack, and hecaton makes none (its pooling allocator
    // keeps no async stacks: `pooling`); wasmtime still refuses a wasm stack larger than it.
    config.async_stack_size(settings.max_stack);
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

/// Core instances one component may hold.
const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 100;

/// Tables one component may define, over all its core instances.
const MAX_TABLES_PER_COMPONENT: u32 = 64;

/// Bytes of host bookkeeping one instance (core or component) may need.
const MAX_INSTANCE_BOOKKEEPING: usize = 8 << 20;

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
    // No async stacks: hecaton calls wasm synchronously, on threads of its own (`stack`). By
    // default the pool reserves and guards 1000 of them at engine start.
    pooling.total_stacks(0);
    // A module may define several memories and tables (multi-memory, reference types): the
    // limits that matter are the task's, across all of them (`Limits`); these only size each
    // instance's bookkeeping, a few bytes per slot.
    pooling.max_memories_per_module(MAX_MEMORIES_PER_MODULE);
    pooling.max_tables_per_module(MAX_TABLES_PER_MODULE);
    // A component is several core instances (componentize-py's: CPython, its libraries and
    // WASI's adapter, each with tables of its own), each taking a core instance slot and a slot
    // per memory and table; a component instance takes one of these slots besides. The caps on
    // one component keep a hostile one from taking every slot of the pool; its memories and
    // tables together are still capped by the task's limits.
    pooling.total_component_instances(1000);
    pooling.max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT);
    pooling.max_memories_per_component(MAX_MEMORIES_PER_MODULE);
    pooling.max_tables_per_component(MAX_TABLES_PER_COMPONENT);
    // Bookkeeping (`VMContext`s) of one instance, checked against these sizes at load, not
    // reserved: libpython's many imported globals and functions need more than the 1 MiB
    // default.
    pooling.max_component_instance_size(MAX_INSTANCE_BOOKKEEPING);
    pooling.max_core_instance_size(MAX_INSTANCE_BOOKKEEPING);
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
    // between workers. wasmtime 48.0.0-48.0.10 asked only for dirty pages that are *present*:
    // a dirty page swapped out or being migrated (a swap or migration entry) was skipped, and
    // the next task in the slot could read it; and they stopped after 32 dirty regions. 48.0.11
    // (which hecaton builds with: `patches/` in the workspace) asks for written pages that are
    // present *or* swapped and resumes the scan. hecaton still uses the scan only when
    // `/proc/swaps` lists no swap (defence in depth: a fix of one release), and every engine
    // checks its reset once when it is made (`memory_reset`): a reset that lets a canary
    // through is not used.
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
