//! [`Isolation`]: how many tasks one instance serves.

use std::num::NonZeroUsize;

/// How many tasks of a map one wasm instance serves: the trade between isolation and speed.
///
/// A fresh instance costs a few microseconds; a call into a live one, tens of nanoseconds. For
/// tasks that run for microseconds or more the difference is noise and the default — a fresh
/// instance for every task — costs nothing worth saving. For tiny tasks of trusted code, sharing
/// an instance among a chunk's items (or a worker's) is up to a hundred times faster.
///
/// What an instance holds, and so what tasks sharing one share: its linear memory (the guest's
/// heap and statics), its globals and tables, and its WASI context (open files, the position of a
/// read, the prints not yet copied out). What they never share: the limits' accounting of time
/// (every task gets its own timeout and fuel), their identity (task id and attempt number), and an
/// instance a task failed in — after any failure the next task starts in a fresh instance, and
/// every retry too. The memory limit and the output limit count for the whole instance.
///
/// WASI commands (`_start`) always run in a fresh instance: a command runs once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Isolation {
    /// A fresh instance for every task: nothing survives from one task to the next. The default,
    /// and the strongest.
    #[default]
    Task,
    /// A fresh instance for every chunk, shared by the chunk's tasks in turn. Tasks of one chunk
    /// see what the earlier ones left in memory; chunks never share anything. The isolation a
    /// Python worker gives within a `chunksize`, without the leak across chunks.
    Chunk,
    /// An instance per worker thread, serving the tasks of the map's chunks that run on that
    /// worker, replaced by a fresh one after `max_tasks_per_instance` tasks (`None`: never).
    /// Python's `maxtasksperchild`. The weakest: which tasks share an instance depends on
    /// scheduling. Instances never outlive their map.
    Worker {
        /// Tasks an instance serves before it is replaced (`None`: as many as the map has).
        max_tasks_per_instance: Option<NonZeroUsize>,
    },
}

impl std::fmt::Display for Isolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Task => f.write_str("task"),
            Self::Chunk => f.write_str("chunk"),
            Self::Worker {
                max_tasks_per_instance: None,
            } => f.write_str("worker"),
            Self::Worker {
                max_tasks_per_instance: Some(max),
            } => write!(f, "worker (at most {max} tasks per instance)"),
        }
    }
}
