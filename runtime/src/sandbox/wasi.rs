//! The WASI preview 1 context of a task: exactly the capabilities its caller granted, and its
//! standard streams, passed through or captured under the output limit.

use wasmtime::Linker;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

use crate::sandbox::{Limits, TaskState};

/// Where a WASI command's standard streams go.
#[derive(Clone, Debug)]
pub enum Stdio {
    /// The host's own stdin, stdout and stderr, as `hecaton run` gives a command.
    Inherit,
    /// Stdin from these bytes; stdout and stderr captured, each up to the output limit.
    Capture {
        /// The task's whole stdin.
        stdin: Vec<u8>,
    },
    /// No stdin; stdout and stderr both to the host's stderr. Function tasks always get this,
    /// so that their prints never mix with their JSON results.
    Diagnostics,
}

/// The captured stdout and stderr of a task.
pub(crate) struct CapturedOutput {
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    limit: u64,
}

impl CapturedOutput {
    /// Whether the task wrote more than its output limit to either stream.
    pub(crate) fn overflowed(&self) -> bool {
        let over = |pipe: &MemoryOutputPipe| pipe.contents().len() as u64 > self.limit;
        over(&self.stdout) || over(&self.stderr)
    }

    /// The bytes written: (stdout, stderr).
    pub(crate) fn into_bytes(self) -> (Vec<u8>, Vec<u8>) {
        (
            self.stdout.contents().to_vec(),
            self.stderr.contents().to_vec(),
        )
    }
}

/// Adds WASI preview 1 to `linker`, for modules that import it.
pub(crate) fn link_wasi(linker: &mut Linker<TaskState>) -> wasmtime::Result<()> {
    p1::add_to_linker_sync(linker, TaskState::wasi_ctx)
}

/// A WASI context with these arguments and streams, and nothing else of the host: no
/// environment, no directories, no network. Clocks and random are available.
pub(crate) fn wasi_context(
    args: &[String],
    stdio: &Stdio,
    limits: &Limits,
) -> (WasiP1Ctx, Option<CapturedOutput>) {
    let mut builder = WasiCtxBuilder::new();
    builder.args(args);
    builder
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    let captured = match stdio {
        Stdio::Inherit => {
            builder.inherit_stdio();
            None
        }
        Stdio::Diagnostics => {
            builder.stdout(wasmtime_wasi::cli::stderr());
            builder.stderr(wasmtime_wasi::cli::stderr());
            None
        }
        Stdio::Capture { stdin } => {
            // One byte over the limit tells a stream that reached it from one that exceeded it.
            let capacity =
                usize::try_from(limits.max_output.saturating_add(1)).unwrap_or(usize::MAX);
            let captured = CapturedOutput {
                stdout: MemoryOutputPipe::new(capacity),
                stderr: MemoryOutputPipe::new(capacity),
                limit: limits.max_output,
            };
            builder.stdin(MemoryInputPipe::new(stdin.clone()));
            builder.stdout(captured.stdout.clone());
            builder.stderr(captured.stderr.clone());
            Some(captured)
        }
    };
    (builder.build_p1(), captured)
}
