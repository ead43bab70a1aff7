//! The one [`Linker`] of a module's tasks: the ABI's host functions (module `hecaton`), and for a
//! module that imports WASI, WASI preview 1 with hecaton's own interruptible `poll_oneoff`; and
//! the one [`component::Linker`](wasmtime::component::Linker) of a component's: WASI 0.2 with
//! hecaton's own interruptible `wasi:io/poll`.

use hecaton_abi as abi;
use wasmtime::{Caller, Extern, Linker};

use crate::engine::Engine;
use crate::error::TaskError;
use crate::sandbox::TaskState;
use crate::sandbox::poll::{link_poll, link_poll_p2};
use crate::sandbox::wasi::link_wasi;

/// Longest panic message the host copies out of a guest.
const MAX_PANIC_MESSAGE: usize = 64 << 10;

/// The linker for a module of `engine`, with WASI when the module imports it.
pub(crate) fn linker(engine: &Engine, wasi: bool) -> wasmtime::Result<Linker<TaskState>> {
    let mut linker = Linker::new(engine.wasmtime());
    host_functions(&mut linker)?;
    if wasi {
        link_wasi(&mut linker)?;
        link_poll(&mut linker)?;
    }
    Ok(linker)
}

/// The interface of the ABI's host functions for a component (ABI.md, "Components"): who the
/// task is, as the core module `hecaton`'s `task_id` and `attempt` say it.
pub(crate) const TASK_CONTEXT_INTERFACE: &str = "hecaton:task/context@0.1.0";

/// The linker for a component of `engine`: WASI 0.2, every interface of it the component may
/// import, and [`TASK_CONTEXT_INTERFACE`] (`module::component` refuses any other import by
/// name).
pub(crate) fn component_linker(
    engine: &Engine,
) -> wasmtime::Result<wasmtime::component::Linker<TaskState>> {
    let mut linker = wasmtime::component::Linker::new(engine.wasmtime());
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    link_poll_p2(&mut linker)?;
    let mut context = linker.instance(TASK_CONTEXT_INTERFACE)?;
    context.func_wrap(
        "id",
        |store: wasmtime::StoreContextMut<'_, TaskState>, (): ()| Ok((store.data().task_id,)),
    )?;
    context.func_wrap(
        "attempt",
        |store: wasmtime::StoreContextMut<'_, TaskState>, (): ()| Ok((store.data().attempt,)),
    )?;
    Ok(linker)
}

/// Defines the ABI's host functions (module `hecaton`) in `linker`.
fn host_functions(linker: &mut Linker<TaskState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        abi::HOST_MODULE,
        abi::TASK_ID_IMPORT,
        |caller: Caller<'_, TaskState>| caller.data().task_id as i64,
    )?;
    linker.func_wrap(
        abi::HOST_MODULE,
        abi::ATTEMPT_IMPORT,
        |caller: Caller<'_, TaskState>| caller.data().attempt as i32,
    )?;
    linker.func_wrap(
        abi::HOST_MODULE,
        abi::PANIC_IMPORT,
        |mut caller: Caller<'_, TaskState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let reason = match panic_message(&mut caller, ptr as u32, len as u32) {
                Ok(message) => TaskError::Panic { message },
                Err(violation) => TaskError::AbiViolation(violation),
            };
            Err(caller.data_mut().stop(reason))
        },
    )?;
    Ok(())
}

fn panic_message(caller: &mut Caller<'_, TaskState>, ptr: u32, len: u32) -> Result<String, String> {
    let Some(Extern::Memory(memory)) = caller.get_export(abi::MEMORY_EXPORT) else {
        return Err("`hecaton::panic` called by a module without a `memory` export".into());
    };
    let data = memory.data(&caller);
    let len = (len as usize).min(MAX_PANIC_MESSAGE);
    let bytes = (ptr as usize)
        .checked_add(len)
        .and_then(|end| data.get(ptr as usize..end))
        .ok_or_else(|| format!("`hecaton::panic` message at {ptr}+{len} is outside memory"))?;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}
