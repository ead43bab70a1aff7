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

use crate::Error;

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
        let inner = wasmtime::Engine::new(&config(&self))
            .map_err(|error| Error::Engine(format!("{error:#}")))?;
        spawn_epoch_ticker(&inner)?;
        Ok(Engine {
            inner,
            fuel: self.fuel,
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

    /// Whether modules of this engine meter fuel.
    pub fn fuel_enabled(&self) -> bool {
        self.fuel
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
fn config(settings: &EngineBuilder) -> wasmtime::Config {
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
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pooling()));
    config.memory_init_cow(true);
    config
}

/// Bytes of each linear memory and table that stay resident between the tasks using a slot.
const KEEP_RESIDENT: usize = 2 << 20;

/// The pooling allocator's slots: enough for every worker and process of a busy host, each
/// memory able to grow to the wasm32 maximum (the per-task limit is the store's limiter).
fn pooling() -> wasmtime::PoolingAllocationConfig {
    let mut pooling = wasmtime::PoolingAllocationConfig::new();
    pooling.total_core_instances(1000);
    pooling.total_memories(1000);
    pooling.total_tables(1000);
    pooling.max_memory_size(1 << 32);
    // A freed slot keeps this much of its memory and table resident and zeroes only the pages the
    // task dirtied (found with the `PAGEMAP_SCAN` ioctl where the kernel has it, Linux 6.7+),
    // instead of an `madvise` that returns every page to the kernel and faults it back in for the
    // next task: fewer system calls and page faults per task, and less contention on the
    // process's memory-map lock between workers.
    pooling.linear_memory_keep_resident(KEEP_RESIDENT);
    pooling.table_keep_resident(KEEP_RESIDENT);
    pooling.pagemap_scan(wasmtime::Enabled::Auto);
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
