//! hecaton from Python: the `hecaton._hecaton` extension behind the `hecaton` package.
//!
//! A thin layer over the library: `Pool` (`pool.rs`) and `Process` (`process.rs`) are the
//! library's, with multiprocessing's names; `stream.rs` carries a map's outcomes to Python
//! without holding the interpreter's lock while tasks run; `json.rs` converts values,
//! `errors.rs` failures, `sandbox.rs` the limit and capability keywords; `module.rs` loads
//! modules once; `async_result.rs` is `apply_async`'s and `map_async`'s handle, whose
//! callbacks run on the pool's thread of `callbacks.rs`; `shared.rs` is what a pool shares
//! with its iterators and results; `command_result.rs` is a command's outcome.

mod async_result;
mod callbacks;
mod command_result;
mod errors;
mod json;
mod module;
mod pool;
mod process;
mod sandbox;
mod shared;
mod stream;

use pyo3::prelude::*;

#[pymodule]
fn _hecaton(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<pool::Pool>()?;
    module.add_class::<pool::MapIterator>()?;
    module.add_class::<async_result::AsyncResult>()?;
    module.add_class::<process::Process>()?;
    module.add_class::<module::Module>()?;
    module.add_class::<command_result::CommandResult>()?;
    Ok(())
}
