//! The one function that turns whatever stopped a task into its [`TaskError`].

use wasmtime::{Trap, WasmBacktrace};
use wasmtime_wasi::I32Exit;

use crate::error::TaskError;
use crate::sandbox::TaskState;
use crate::sandbox::host_stream::StdoutClosed;

/// Classifies the error a task's call returned. A reason the host recorded when it stopped the
/// task (a limit, a deadline, a cancel, a guest panic) wins over wasmtime's view of the same stop.
pub(crate) fn classify(error: wasmtime::Error, state: &mut TaskState) -> TaskError {
    if let Some(reason) = state.stopped.take() {
        return reason;
    }
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return TaskError::Exit(exit.0);
    }
    if error.downcast_ref::<StdoutClosed>().is_some() {
        return TaskError::StdoutClosed;
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::StackOverflow) => TaskError::StackOverflow,
        Some(Trap::OutOfFuel) => TaskError::OutOfFuel,
        Some(Trap::Interrupt) => TaskError::Cancelled,
        Some(&trap) => TaskError::Trap {
            trap,
            backtrace: error
                .downcast_ref::<WasmBacktrace>()
                .map(frames)
                .unwrap_or_default(),
        },
        // Not a trap, not an exit, not a stop of the host's: a host function (WASI) refused
        // what the guest asked of it — a pointer not aligned, a call from a module without a
        // `memory` export. The guest broke the calling convention; the host did not fail.
        None => TaskError::AbiViolation(format!("a host call refused the guest: {error:#}")),
    }
}

/// The frames of a wasm backtrace, one a line, without wasmtime's own heading (the error's
/// text adds hecaton's).
fn frames(backtrace: &WasmBacktrace) -> String {
    let text = backtrace.to_string();
    match text.split_once('\n') {
        Some((heading, frames)) if heading.ends_with("wasm backtrace:") => frames.to_owned(),
        _ => text,
    }
}
