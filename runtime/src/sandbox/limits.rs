//! Per-task limits, and the store's [`wasmtime::ResourceLimiter`] that enforces the memory and
//! table ones.

use std::time::Duration;

use crate::error::TaskError;
use crate::sandbox::TaskState;

/// The default memory limit, 256 MiB of linear memory per task (all its memories and its GC
/// heap together).
///
/// Derived from the real-program corpus (`tests/corpus`): its largest peak is GCC's `cc1`
/// compiling a C file, 23.6 MiB (CPython running a script: 16.8 MiB; QuickJS: 0.3 MiB), so
/// 256 MiB leaves ten times that for larger inputs while a memory bomb still stops there. What it costs the host: a task's memory
/// is resident only as far as the task touches it, so the worst case is this much per worker
/// thread (512 MiB on a 2-core machine, 16 GiB with 64 workers); raise it with `--max-memory`.
pub const DEFAULT_MAX_MEMORY: u64 = 256 << 20;

/// The default table limit, 100,000 elements across a task's tables.
///
/// Derived from the corpus: the largest table is GCC's `cc1`, 10,433 functions (the old default
/// of 10,000 refused it), then yosys, 7,878; every C++ program with virtual functions has
/// thousands. An element costs the host 8 bytes (a pointer), so the limit is 800 KB per task at
/// worst: ten times the largest real table, and a `table.grow` bomb still stops at 800 KB. No
/// limit can exceed [`MAX_TABLE_ELEMENTS`](crate::MAX_TABLE_ELEMENTS), the pooling allocator's
/// room per table.
pub const DEFAULT_MAX_TABLE_ELEMENTS: u64 = 100_000;

/// The default output limit, 16 MiB per task: what it returns, and each of stdout and stderr.
///
/// Derived from what a result costs: an output is held in memory until it is written, at most
/// one per input in flight (a few per worker), so this bounds the host's memory for results.
/// The corpus' largest output (resvg's PNGs, yosys' logs) is tens of KiB.
pub const DEFAULT_MAX_OUTPUT: u64 = 16 << 20;

/// What one task may use. Every task of a pool or process gets these limits afresh.
///
/// The defaults protect the host while letting real programs run ([`DEFAULT_MAX_MEMORY`],
/// [`DEFAULT_MAX_TABLE_ELEMENTS`], [`DEFAULT_MAX_OUTPUT`] say what each is derived from); no
/// timeout and no fuel limit. The wasm stack limit is the engine's
/// ([`EngineBuilder::max_stack`](crate::EngineBuilder::max_stack)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub(crate) max_memory: u64,
    pub(crate) max_table_elements: u64,
    pub(crate) max_output: u64,
    pub(crate) timeout: Option<Duration>,
    pub(crate) fuel: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_memory: DEFAULT_MAX_MEMORY,
            max_table_elements: DEFAULT_MAX_TABLE_ELEMENTS,
            max_output: DEFAULT_MAX_OUTPUT,
            timeout: None,
            fuel: None,
        }
    }
}

impl Limits {
    /// Bytes of linear memory a task may have, across all its memories and its GC heap (default
    /// [`DEFAULT_MAX_MEMORY`]). A module whose initial memory is larger cannot start.
    pub fn max_memory(mut self, bytes: u64) -> Self {
        self.max_memory = bytes;
        self
    }

    /// Elements a task's tables may hold, all together (default
    /// [`DEFAULT_MAX_TABLE_ELEMENTS`]); at most [`MAX_TABLE_ELEMENTS`](crate::MAX_TABLE_ELEMENTS).
    pub fn max_table_elements(mut self, elements: u64) -> Self {
        self.max_table_elements = elements;
        self
    }

    /// Bytes a task may return, or write to stdout and to stderr each (default
    /// [`DEFAULT_MAX_OUTPUT`]).
    pub fn max_output(mut self, bytes: u64) -> Self {
        self.max_output = bytes;
        self
    }

    /// Fuel a task may burn, a deterministic CPU budget (about one unit per wasm instruction;
    /// default: unlimited). Needs an engine with fuel metering ([`EngineBuilder::fuel`](crate::EngineBuilder::fuel)).
    pub fn fuel(mut self, fuel: Option<u64>) -> Self {
        self.fuel = fuel;
        self
    }

    /// Wall-clock time a task may run (default: none). Enforced within [`EPOCH_TICK`](crate::EPOCH_TICK).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }
}

impl wasmtime::ResourceLimiter for TaskState {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.memory_in_use.saturating_sub(current as u64) + desired as u64;
        if total > self.limits.max_memory {
            return Err(self.stop(TaskError::MemoryLimit {
                requested: total,
                limit: self.limits.max_memory,
            }));
        }
        self.memory_in_use = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.table_elements_in_use.saturating_sub(current as u64) + desired as u64;
        if total > self.limits.max_table_elements {
            return Err(self.stop(TaskError::TableLimit {
                requested: total,
                limit: self.limits.max_table_elements,
            }));
        }
        self.table_elements_in_use = total;
        Ok(true)
    }
}
