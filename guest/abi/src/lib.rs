#![no_std]
#![doc = include_str!("../ABI.md")]
#![deny(missing_docs)]

/// The ABI version this crate describes; it is the `v1` of [`TASK_EXPORT_PREFIX`].
pub const VERSION: u32 = 1;

/// Prefix of a function task's export name: task `square` is exported as `hecaton:v1:square`.
pub const TASK_EXPORT_PREFIX: &str = "hecaton:v1:";

/// The identifier-safe spelling of [`TASK_EXPORT_PREFIX`], for languages whose export names must
/// be identifiers (AssemblyScript): task `square` may be exported as `hecaton_v1__square`.
pub const TASK_EXPORT_ALIAS_PREFIX: &str = "hecaton_v1__";

/// The linear memory a module with function tasks exports.
pub const MEMORY_EXPORT: &str = "memory";

/// The allocator a module with function tasks exports: `(func (param i32) (result i32))`.
pub const ALLOC_EXPORT: &str = "hecaton_alloc";

/// A WASI reactor's initializer, called once in every fresh instance when exported.
pub const INITIALIZE_EXPORT: &str = "_initialize";

/// A WASI command's entry point.
pub const START_EXPORT: &str = "_start";

/// The import module of the host functions.
pub const HOST_MODULE: &str = "hecaton";

/// Host function `(func (result i64))`: the running task's id.
pub const TASK_ID_IMPORT: &str = "task_id";

/// Host function `(func (result i32))`: the attempt number, 1 for the first run.
pub const ATTEMPT_IMPORT: &str = "attempt";

/// Host function `(func (param i32 i32))`: end the task as a guest error with this message.
pub const PANIC_IMPORT: &str = "panic";

/// Length in bytes of the result record a function task returns the address of.
pub const RESULT_RECORD_LEN: usize = 12;

/// Result status: the payload is the output value as JSON.
pub const STATUS_OK: u32 = 0;

/// Result status: the task failed on its own terms; the payload is a UTF-8 message.
pub const STATUS_GUEST_ERROR: u32 = 1;

/// Result status: the task could not decode its input; the payload is a UTF-8 message.
pub const STATUS_BAD_INPUT: u32 = 2;

/// The module of WASI preview 1 imports.
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// The optional custom section holding each function task's source signature, a line
/// `NAME<TAB>SIGNATURE` per task ("Signatures" above).
pub const SIGNATURES_SECTION: &str = "hecaton:signatures";
