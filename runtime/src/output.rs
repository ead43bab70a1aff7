//! What a task produced: a function or numeric task's JSON, or a WASI command's exit code and
//! streams. Plain data, below everything that runs tasks; decoding an output into a Rust type
//! ([`TaskOutput::decode`]) is in [`crate::error`], beside the error it can give.

use serde::{Deserialize, Serialize};

/// What one WASI command wrote and how it exited.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutput {
    /// The exit code: `proc_exit`'s argument, or 0 when `_start` returned.
    pub exit_code: i32,
    /// Everything written to stdout (empty when stdout was the host's own).
    pub stdout: Vec<u8>,
    /// Everything written to stderr (empty when stderr was the host's own).
    pub stderr: Vec<u8>,
}

/// What a task produced, before decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskOutput {
    /// A function or numeric task's JSON value.
    Json(Vec<u8>),
    /// A command's exit code and captured streams.
    Command(CommandOutput),
}
