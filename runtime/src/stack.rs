//! The native stack of the threads that run wasm.
//!
//! wasm code runs on the native stack of the thread that calls it, and wasmtime's stack limit
//! ([`EngineBuilder::max_stack`](crate::EngineBuilder::max_stack)) counts from where the call
//! enters wasm. A thread whose stack is smaller than that limit plus what the host's own frames
//! need (hecaton's, wasmtime's trampolines, a WASI call made at the deepest point) would run off
//! its end before wasmtime's check fires: the process aborts. So every thread hecaton runs wasm
//! on is started here, sized from the wasm stack limit it serves ([`thread_stack_size`]), and
//! remembers how much wasm stack it can hold; [`check_fits`] refuses to run a module whose
//! engine asks for more (a module compiled for another engine), and refuses on any thread not
//! started here. A limit is never trusted to fit: it is at most [`MAX_STACK`], checked when the
//! engine is made.

use std::cell::Cell;
use std::thread;

use crate::error::{Error, TaskError};

/// The largest wasm stack limit an engine may have: 64 MiB, 128 times wasmtime's default of
/// 512 KiB. Each thread that runs wasm reserves this much address space (plus 1 MiB for the
/// host's own frames) only when its engine asks for it; pages are touched only as deep as the
/// task recurses.
pub const MAX_STACK: usize = 64 << 20;

/// Native stack a wasm-running thread has beyond the wasm stack limit, for the frames below and
/// above the wasm ones: hecaton's worker loop and call path, wasmtime's entry and exit
/// trampolines, and a host function (a WASI call, a component's lowering) called at the deepest
/// point of a recursion. 1 MiB is several times what the deepest of them was measured to use
/// (`tests/integration/limits.rs` calls WASI at the wasm stack's limit).
pub(crate) const HOST_STACK_HEADROOM: usize = 1 << 20;

thread_local! {
    /// The wasm stack limit this thread was sized for; 0 on a thread not started by
    /// [`spawn`].
    static WASM_STACK_CAPACITY: Cell<usize> = const { Cell::new(0) };
}

/// The native stack size of a thread that runs wasm with a stack limit of `max_stack`.
pub(crate) fn thread_stack_size(max_stack: usize) -> usize {
    max_stack.min(MAX_STACK) + HOST_STACK_HEADROOM
}

/// Starts a thread named `name` able to run wasm whose stack limit is at most `max_stack`.
pub(crate) fn spawn<F, T>(
    name: String,
    max_stack: usize,
    body: F,
) -> Result<thread::JoinHandle<T>, Error>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let capacity = max_stack.min(MAX_STACK);
    thread::Builder::new()
        .name(name)
        .stack_size(thread_stack_size(capacity))
        .spawn(move || {
            WASM_STACK_CAPACITY.set(capacity);
            body()
        })
        .map_err(Error::Thread)
}

/// Runs `body` on a new wasm thread sized for `max_stack` and waits for it: for the few calls
/// that run wasm on behalf of the caller's own thread (a snapshot's initializer), whose stack
/// hecaton does not know.
pub(crate) fn run_on_wasm_thread<F, T>(max_stack: usize, body: F) -> Result<T, Error>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let capacity = max_stack.min(MAX_STACK);
    thread::scope(|scope| {
        let thread = thread::Builder::new()
            .name("hecaton-initializer".into())
            .stack_size(thread_stack_size(capacity))
            .spawn_scoped(scope, move || {
                WASM_STACK_CAPACITY.set(capacity);
                body()
            })
            .map_err(Error::Thread)?;
        thread
            .join()
            .map_err(|_| Error::Engine("the initializer's thread panicked".into()))
    })
}

/// Whether this thread may run wasm with a stack limit of `max_stack`: only a thread started
/// by [`spawn`] for at least that much.
pub(crate) fn check_fits(max_stack: usize) -> Result<(), TaskError> {
    let capacity = WASM_STACK_CAPACITY.get();
    if max_stack <= capacity {
        return Ok(());
    }
    Err(TaskError::Host(if capacity == 0 {
        "wasm runs only on hecaton's own threads (this one's native stack is unknown)".into()
    } else {
        format!(
            "this thread's native stack holds a wasm stack of {capacity} bytes, and the module's \
             engine asks for {max_stack}: a module runs in a pool made for its own engine"
        )
    }))
}

/// Checks a wasm stack limit: at least 1 byte, at most [`MAX_STACK`].
pub(crate) fn check_limit(max_stack: usize) -> Result<(), Error> {
    if max_stack == 0 || max_stack > MAX_STACK {
        return Err(Error::Config(format!(
            "max_stack: {max_stack} bytes is out of range: at least 1 byte, at most {MAX_STACK} \
             (64 MiB)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_holds_the_stack_it_was_sized_for_and_no_more() {
        let fits = spawn("t".into(), 1 << 20, || {
            (
                check_fits(1 << 20).is_ok(),
                check_fits((1 << 20) + 1).is_err(),
            )
        })
        .unwrap()
        .join()
        .unwrap();
        assert_eq!(fits, (true, true));
    }

    #[test]
    fn a_foreign_thread_runs_no_wasm() {
        assert!(check_fits(1).is_err());
    }

    #[test]
    fn limits_outside_one_byte_to_the_maximum_are_refused() {
        assert!(check_limit(0).is_err());
        assert!(check_limit(1).is_ok());
        assert!(check_limit(MAX_STACK).is_ok());
        assert!(check_limit(MAX_STACK + 1).is_err());
    }
}
