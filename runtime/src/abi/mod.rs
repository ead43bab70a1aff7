//! The host half of the guest ABI (`guest/abi/ABI.md`): how a call can fail, and the typed
//! lookup of an export the module's load checked; function tasks (write the input, call, read and
//! check the result record: [`function`]), numeric tasks (numbers in and out, JSON to numbers:
//! [`numeric`]) and a component's functions (JSON to and from WIT values: [`wit`]). Nothing the
//! guest returns is trusted.

mod function;
mod numeric;
pub(crate) mod wit;

pub(crate) use function::{AbiExports, call_function};
pub(crate) use numeric::call_json;
pub use numeric::{NumType, Numbers};
pub(crate) use wit::call_wit;

use wasmtime::{Extern, Instance, ModuleExport, Store, TypedFunc};

use crate::error::TaskError;
use crate::sandbox::TaskState;

/// Why a call did not produce an output: wasmtime stopped it (to be classified), or the host
/// refused what the guest did.
pub(crate) enum Failure {
    Wasm(wasmtime::Error),
    /// wasmtime stopped the instance while it was being made: its start function or its
    /// reactor initializer (`_initialize`) trapped, or a data or element segment did not fit.
    Start(wasmtime::Error),
    Task(TaskError),
}

impl From<wasmtime::Error> for Failure {
    fn from(error: wasmtime::Error) -> Self {
        Self::Wasm(error)
    }
}

impl From<TaskError> for Failure {
    fn from(error: TaskError) -> Self {
        Self::Task(error)
    }
}

pub(crate) fn violation(message: impl Into<String>) -> Failure {
    Failure::Task(TaskError::AbiViolation(message.into()))
}

pub(crate) fn export_of(
    store: &mut Store<TaskState>,
    instance: &Instance,
    export: Option<&ModuleExport>,
) -> Option<Extern> {
    instance.get_module_export(&mut *store, export?)
}

/// The function `export` names in `instance`, typed as the module's load checked it, without
/// checking again: `Func::typed` looks the type up in the engine's registry (a shared reference
/// count) on every call, which every task would pay.
///
/// # Safety
/// `export` must be an export of `instance`'s module whose type was checked to be `P -> R` when
/// the module was loaded (`Module`'s export checks: the allocator, function tasks, `_initialize`,
/// `_start`).
pub(crate) unsafe fn checked_func<P, R>(
    store: &mut Store<TaskState>,
    instance: &Instance,
    export: Option<&ModuleExport>,
) -> Result<TypedFunc<P, R>, Failure>
where
    P: wasmtime::WasmParams,
    R: wasmtime::WasmResults,
{
    let func = export_of(store, instance, export)
        .and_then(Extern::into_func)
        .ok_or_else(|| violation("a task export is missing from the instance"))?;
    // SAFETY: the caller guarantees that the export's type, checked at load, is `P -> R`.
    Ok(unsafe { TypedFunc::new_unchecked(&*store, func) })
}
