//! Per-task limits, and the store's [`wasmtime::ResourceLimiter`] that enforces the memory and
//! table ones.

use std::time::Duration;

use crate::TaskError;
use crate::sandbox::TaskState;

/// What one task may use. Every task of a pool or process gets these limits afresh.
///
/// The defaults protect the host while letting ordinary tasks run: 256 MiB of linear memory,
/// 10 000 table elements, 16 MiB of output, no timeout, no fuel limit. The wasm stack limit is
/// the engine's ([`EngineBuilder::max_stack`](crate::EngineBuilder::max_stack)).
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
            max_memory: 256 << 20,
            max_table_elements: 10_000,
            max_output: 16 << 20,
            timeout: None,
            fuel: None,
        }
    }
}

impl Limits {
    /// Bytes of linear memory a task may have, across all its memories (default 256 MiB). A module
    /// whose initial memory is larger cannot start.
    pub fn max_memory(mut self, bytes: u64) -> Self {
        self.max_memory = bytes;
        self
    }

    /// Elements a task's tables may hold (default 10 000).
    pub fn max_table_elements(mut self, elements: u64) -> Self {
        self.max_table_elements = elements;
        self
    }

    /// Bytes a task may return, or write to stdout and to stderr each (default 16 MiB).
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
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.limits.max_table_elements {
            return Err(self.stop(TaskError::TableLimit {
                requested: desired as u64,
                limit: self.limits.max_table_elements,
            }));
        }
        Ok(true)
    }
}
