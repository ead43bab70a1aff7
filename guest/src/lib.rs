//! # hecaton-guest: write hecaton tasks in Rust
//!
//! ```
//! use hecaton_guest::task;
//!
//! #[task]
//! fn square(x: i64) -> i64 {
//!     x * x
//! }
//!
//! #[task]
//! fn greet(name: String) -> String {
//!     format!("Child process {name} is running, process ID is: {}", hecaton_guest::task_id())
//! }
//! ```
//!
//! Build the crate (`crate-type = ["cdylib"]`) with `hecaton build` and run a task with
//! `hecaton run CRATE --invoke square 7`.
//!
//! - Arguments and return values are any serde types: one parameter takes its JSON value, several
//!   take a JSON array, none takes `null`.
//! - A return type spelled `Result<T, E>` (any path ending in `Result`, with `E: Display`) makes
//!   `Err(e)` the task's guest error, with message `e.to_string()`.
//! - A panic is a guest error carrying the panic message and its location, not a bare trap.
//! - [`task_id`] and [`attempt`] tell a task who it is.
//!
//! The `#[task]` attribute expands into one call of an SDK function; all the pointer handling of
//! the ABI (`guest/abi/ABI.md`) lives in this crate's `abi` module.

#![deny(missing_docs)]

mod abi;

use std::fmt::Display;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use hecaton_guest_macros::task;

/// This task's id: unique among the tasks its host runs, like a process id. Outside wasm (in a
/// native unit test of a task), the OS process id.
pub fn task_id() -> u64 {
    abi::task_id()
}

/// 1 for the first run of an input, 2 for its first retry, and so on. Outside wasm, 1.
pub fn attempt() -> u32 {
    abi::attempt()
}

#[doc(hidden)]
pub mod __private {
    //! What `#[task]` expands into; not a public API.
    use super::*;
    pub use crate::abi::hecaton_alloc;

    /// Runs a task whose return value is its output.
    ///
    /// # Safety
    /// `ptr` and `len` must be what the host passes a task export (guest/abi/ABI.md): unless
    /// `len` is 0, `len` initialized bytes at `ptr`, allocated through `hecaton_alloc` and never
    /// freed. `#[task]`'s wrapper passes its own arguments, which the host gives it so.
    pub unsafe fn run<I, O>(
        ptr: *const u8,
        len: usize,
        signature: &str,
        task: impl FnOnce(I) -> O,
    ) -> *const u32
    where
        I: DeserializeOwned,
        O: Serialize,
    {
        // SAFETY: `ptr` and `len` come from this function's caller, under the same contract.
        unsafe {
            run_fallible(ptr, len, signature, |input| {
                Ok::<O, std::convert::Infallible>(task(input))
            })
        }
    }

    /// Runs a task whose `Err` is a guest error.
    ///
    /// # Safety
    /// As [`run`]: `ptr` and `len` as the host passes them to a task export.
    pub unsafe fn run_fallible<I, O, E>(
        ptr: *const u8,
        len: usize,
        signature: &str,
        task: impl FnOnce(I) -> Result<O, E>,
    ) -> *const u32
    where
        I: DeserializeOwned,
        O: Serialize,
        E: Display,
    {
        abi::install_panic_hook();
        // SAFETY: the caller passes the host's `ptr` and `len`, which is `input`'s contract.
        let input = unsafe { abi::input(ptr, len) };
        let input = match serde_json::from_slice::<I>(input) {
            Ok(input) => input,
            Err(error) => {
                let message = format!("the input does not fit {signature}: {error}");
                return abi::result(hecaton_abi::STATUS_BAD_INPUT, message.into_bytes());
            }
        };
        match task(input).map(|output| serde_json::to_vec(&output)) {
            Ok(Ok(json)) => abi::result(hecaton_abi::STATUS_OK, json),
            Ok(Err(error)) => {
                let message = format!("cannot encode the output as JSON: {error}");
                abi::result(hecaton_abi::STATUS_GUEST_ERROR, message.into_bytes())
            }
            Err(error) => abi::result(
                hecaton_abi::STATUS_GUEST_ERROR,
                error.to_string().into_bytes(),
            ),
        }
    }
}
