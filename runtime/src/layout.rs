//! What a module's binary says before anything runs: checks that refuse, at load, a module that
//! could never run as a task — a 64-bit memory (the ABI is wasm32), a shared memory (a task is
//! one thread), or a data segment that can never fit its memory (instantiation would fail for
//! every input).

use std::path::Path;

use wasmparser::{DataKind, Operator, Parser, Payload};

use crate::error::Error;

/// Checks `binary` (a core module, before it is compiled: a part that does not parse is left to
/// the compiler to refuse) for what no task of it could survive.
///
/// # Errors
/// [`Error::Unsupported`] for a 64-bit or shared memory, [`Error::SegmentOutOfBounds`] for an active data
/// segment at a constant offset past its memory's initial size (memory cannot grow before the
/// segments are written).
pub(crate) fn check(path: &Path, binary: &[u8]) -> Result<(), Error> {
    // Initial sizes in bytes of the module's own memories, by index (imported memories first:
    // none can be, hecaton provides none).
    let mut memories: Vec<u64> = Vec::new();
    for payload in Parser::new(0).parse_all(binary) {
        // A payload that does not parse is not checked here: compiling the module refuses it.
        let Ok(payload) = payload else { return Ok(()) };
        match payload {
            Payload::MemorySection(reader) => {
                for memory in reader.into_iter().flatten() {
                    if memory.memory64 {
                        return Err(Error::Unsupported {
                            path: path.to_owned(),
                            feature: "a 64-bit memory (the memory64 proposal; task modules \
                                      are wasm32, see guest/abi/ABI.md)"
                                .into(),
                        });
                    }
                    if memory.shared {
                        return Err(Error::Unsupported {
                            path: path.to_owned(),
                            feature: "a shared memory (the threads proposal; a task runs on \
                                      one thread, and hecaton provides no wasi-threads)"
                                .into(),
                        });
                    }
                    let page = 1u64 << memory.page_size_log2.unwrap_or(16);
                    memories.push(memory.initial.saturating_mul(page));
                }
            }
            Payload::DataSection(reader) => {
                for (segment, data) in reader.into_iter().enumerate() {
                    let Ok(data) = data else { continue };
                    let DataKind::Active {
                        memory_index,
                        offset_expr,
                    } = data.kind
                    else {
                        continue;
                    };
                    let Some(offset) = constant_offset(&offset_expr) else {
                        continue;
                    };
                    let Some(&size) = memories.get(memory_index as usize) else {
                        continue;
                    };
                    let end = offset.saturating_add(data.data.len() as u64);
                    if end > size {
                        return Err(Error::SegmentOutOfBounds {
                            path: path.to_owned(),
                            message: format!(
                                "data segment {segment} covers bytes {offset}..{end} of memory \
                                 {memory_index}, which starts at {size} bytes"
                            ),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The offset of `i32.const N` (as unsigned, as wasm reads it), or `None` for any other
/// expression (a global, which only instantiation knows).
fn constant_offset(expr: &wasmparser::ConstExpr<'_>) -> Option<u64> {
    let mut operators = expr.get_operators_reader();
    match operators.read().ok()? {
        Operator::I32Const { value } => Some(u64::from(value as u32)),
        _ => None,
    }
}
