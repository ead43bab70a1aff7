//! Function tasks' half of the ABI: the input written through the guest's allocator, the task
//! called, and its result record and payload read back and checked.

use hecaton_abi as abi;
use wasmtime::{Extern, Instance, Memory, ModuleExport, Store, TypedFunc};

use crate::abi::{Failure, checked_func, export_of, violation};
use crate::error::TaskError;
use crate::sandbox::TaskState;

/// Runs function task `export` on `input` in a fresh `instance`; returns its JSON output.
///
/// `exports` are the module's memory and allocator exports, as its load found them.
pub(crate) fn call_function(
    store: &mut Store<TaskState>,
    instance: &Instance,
    exports: AbiExports<'_>,
    export: &ModuleExport,
    input: &[u8],
) -> Result<Vec<u8>, Failure> {
    let memory = export_of(store, instance, exports.memory)
        .and_then(Extern::into_memory)
        .ok_or_else(|| violation("the module has no memory"))?;
    // SAFETY: `export` is a function task of `instance`'s module, checked at load to be
    // `(func (param i32 i32) (result i32))`.
    let task: TypedFunc<(i32, i32), i32> = unsafe { checked_func(store, instance, Some(export)) }?;
    let input_ptr = write_input(store, instance, exports.alloc, memory, input)?;
    let record = task.call(&mut *store, (input_ptr as i32, input.len() as i32))? as u32;
    read_result(store, memory, record)
}

/// Copies `input` into guest memory through the guest's allocator; returns its address.
fn write_input(
    store: &mut Store<TaskState>,
    instance: &Instance,
    alloc: Option<&ModuleExport>,
    memory: Memory,
    input: &[u8],
) -> Result<u32, Failure> {
    if input.is_empty() {
        return Ok(0);
    }
    let len = u32::try_from(input.len())
        .map_err(|_| TaskError::Host(format!("input of {} bytes is over 4 GiB", input.len())))?;
    // SAFETY: the allocator export was checked at load to be `(func (param i32) (result i32))`.
    let alloc: TypedFunc<i32, i32> = unsafe { checked_func(store, instance, alloc) }?;
    let ptr = alloc.call(&mut *store, len as i32)? as u32;
    if ptr == 0 {
        return Err(violation(format!(
            "`{}` returned 0 for {len} input bytes",
            abi::ALLOC_EXPORT
        )));
    }
    let slot = range(memory.data(&*store), ptr, len).map_err(|size| {
        violation(format!(
            "`{}` returned {ptr} for {len} input bytes, outside the {size}-byte memory",
            abi::ALLOC_EXPORT
        ))
    })?;
    memory.data_mut(&mut *store)[slot].copy_from_slice(input);
    Ok(ptr)
}

/// Reads and checks the result record at `record` and its payload.
fn read_result(
    store: &mut Store<TaskState>,
    memory: Memory,
    record: u32,
) -> Result<Vec<u8>, Failure> {
    let data = memory.data(&*store);
    let fields = range(data, record, abi::RESULT_RECORD_LEN as u32)
        .map(|slot| &data[slot])
        .map_err(|size| {
            violation(format!(
                "result record at {record} is outside the {size}-byte memory"
            ))
        })?;
    let field =
        |i: usize| u32::from_le_bytes([fields[i], fields[i + 1], fields[i + 2], fields[i + 3]]);
    let (status, ptr, len) = (field(0), field(4), field(8));
    let limit = store.data().limits.max_output;
    if u64::from(len) > limit {
        return Err(TaskError::OutputLimit { limit }.into());
    }
    let payload = range(data, ptr, len)
        .map(|slot| &data[slot])
        .map_err(|size| {
            violation(format!(
                "result payload at {ptr}+{len} is outside the {size}-byte memory"
            ))
        })?;
    let message = || {
        std::str::from_utf8(payload)
            .map(str::to_owned)
            .map_err(|_| violation(format!("status {status} message is not UTF-8")))
    };
    match status {
        abi::STATUS_OK => canonical_json(payload).map_err(violation),
        abi::STATUS_GUEST_ERROR => Err(TaskError::Guest {
            message: message()?,
        }
        .into()),
        abi::STATUS_BAD_INPUT => Err(TaskError::BadInput {
            message: message()?,
        }
        .into()),
        other => Err(violation(format!("unknown result status {other}"))),
    }
}

/// The guest's JSON output re-encoded by the host: one compact JSON value, valid UTF-8, every
/// control character escaped ([`crate::to_json_line`]), object keys in sorted order, numbers
/// exactly as written (serde_json's `arbitrary_precision`: no integer becomes a float) —
/// whatever bytes the guest wrote, the host passes on only JSON it encoded itself. Refused: text
/// that is not JSON, strings that are not UTF-8 or hold a lone surrogate, and nesting deeper
/// than 128 levels (the depth the host's parser takes without risking its own stack).
pub(crate) fn canonical_json(payload: &[u8]) -> Result<Vec<u8>, String> {
    // The common case, a plain integer, is canonical already.
    if is_plain_integer(payload) {
        return Ok(payload.to_vec());
    }
    let value: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|error| format!("output is not JSON ({error}): {}", preview(payload)))?;
    crate::text::to_json_line(&value)
        .map_err(|error| format!("output cannot be re-encoded: {error}"))
}

/// Whether `bytes` is an integer JSON and serde_json write alike: `0`, or digits not starting
/// with 0, with an optional minus sign, short enough to be an `i64`.
fn is_plain_integer(bytes: &[u8]) -> bool {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    !digits.is_empty()
        && digits.len() <= 18
        && digits.iter().all(u8::is_ascii_digit)
        && (digits == b"0" || digits[0] != b'0')
        && bytes != b"-0"
}

/// The index range `ptr..ptr + len` of `data`, or the memory size when it does not fit.
fn range(data: &[u8], ptr: u32, len: u32) -> Result<std::ops::Range<usize>, usize> {
    let start = ptr as usize;
    match start.checked_add(len as usize) {
        Some(end) if end <= data.len() => Ok(start..end),
        _ => Err(data.len()),
    }
}

/// The start of a guest's bytes, for messages.
fn preview(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(80)];
    let text = crate::text::printable(shown);
    if shown.len() < bytes.len() {
        format!("`{text}`…")
    } else {
        format!("`{text}`")
    }
}

/// The exports of a module the function ABI uses besides the task's own: its memory and its
/// allocator (`hecaton_alloc`), as the module's load found them.
#[derive(Clone, Copy)]
pub(crate) struct AbiExports<'m> {
    pub(crate) memory: Option<&'m ModuleExport>,
    pub(crate) alloc: Option<&'m ModuleExport>,
}
