//! The WASI preview 1 context of a task: exactly the capabilities its caller granted, and its
//! standard streams, passed through or captured under the output limit.

use wasmtime::Linker;
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::sandbox::host_stream::{HostStream, HostTarget};
use crate::sandbox::{Access, Limits, TaskState, WasiSetup};

/// Where a WASI command's standard streams go.
#[derive(Clone, Debug)]
pub enum Stdio {
    /// The host's own stdin, stdout and stderr, as `hecaton run` gives a command: stdout byte
    /// for byte, stderr made [`printable`](crate::printable) (no control character a guest
    /// writes reaches the host's stderr as it is), each capped at the output limit.
    Inherit,
    /// Stdin from these bytes; stdout and stderr captured, each up to the output limit.
    Capture {
        /// The task's whole stdin.
        stdin: Vec<u8>,
    },
    /// Stdin from these bytes; stdout and stderr captured up to the output limit, then copied
    /// to the host's stderr when the task ends. Function tasks always get this (with no stdin),
    /// so that their prints never mix with their JSON results.
    Diagnostics {
        /// The task's whole stdin.
        stdin: Vec<u8>,
    },
}

/// Where a function task's prints (what it writes to its stdout and stderr) go when it ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prints {
    /// Both to the host's stderr, each line prefixed with the map input (else the task) it came
    /// from: the default, since a map's stdout is its results.
    #[default]
    Prefixed,
    /// As a child process's: stdout to the host's stdout, stderr to the host's stderr, whole
    /// lines without a prefix. What the Python package gives multiprocessing's programs.
    AsChild,
}

/// The captured stdout and stderr of a task.
pub(crate) struct CapturedOutput {
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    limit: u64,
    prints: Prints,
    /// Bytes of stdout and stderr already copied to the host's stderr (an instance that serves
    /// several tasks copies each task's prints once).
    forwarded: (usize, usize),
}

impl CapturedOutput {
    /// Whether the task wrote more than its output limit to either stream.
    pub(crate) fn overflowed(&self) -> bool {
        let over = |pipe: &MemoryOutputPipe| pipe.contents().len() as u64 > self.limit;
        over(&self.stdout) || over(&self.stderr)
    }

    /// Copies what the task wrote since the last copy to the host (its prints, for a function
    /// task): line by line, each line made printable, so that a guest cannot write control
    /// characters to a terminal. [`Prints::Prefixed`]: both streams to the host's stderr, each
    /// line prefixed with `prefix` (no guest line looks like hecaton's own);
    /// [`Prints::AsChild`]: stdout to stdout, stderr to stderr, as they are.
    pub(crate) fn forward(&mut self, prefix: impl FnOnce() -> String) {
        use std::io::Write;
        let (stdout, stderr) = (self.stdout.contents(), self.stderr.contents());
        let (stdout_new, stderr_new) = (
            stdout.get(self.forwarded.0..).unwrap_or_default(),
            stderr.get(self.forwarded.1..).unwrap_or_default(),
        );
        if stdout_new.is_empty() && stderr_new.is_empty() {
            return;
        }
        // Prints only: a closed stream loses them, nothing else.
        match self.prints {
            Prints::Prefixed => {
                let prefix = prefix();
                let mut host_stderr = std::io::stderr().lock();
                for new in [stdout_new, stderr_new] {
                    if !new.is_empty() {
                        let lines = crate::text::prefixed_lines(&prefix, new);
                        let _ = host_stderr.write_all(lines.as_bytes());
                    }
                }
            }
            Prints::AsChild => {
                if !stdout_new.is_empty() {
                    let lines = crate::text::prefixed_lines("", stdout_new);
                    let mut host_stdout = std::io::stdout().lock();
                    let _ = host_stdout.write_all(lines.as_bytes());
                    let _ = host_stdout.flush();
                }
                if !stderr_new.is_empty() {
                    let lines = crate::text::prefixed_lines("", stderr_new);
                    let _ = std::io::stderr().lock().write_all(lines.as_bytes());
                }
            }
        }
        self.forwarded = (stdout.len(), stderr.len());
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
///
/// `proc_exit` is hecaton's own: wasmtime-wasi's refuses a status of 126 or more with an error
/// of its own kind, which would make a guest's `exit(200)` look like a failure of the host. Here
/// every status is the guest's exit, as a process's `exit` is.
pub(crate) fn link_wasi(linker: &mut Linker<TaskState>) -> wasmtime::Result<()> {
    p1::add_to_linker_sync(linker, TaskState::wasi_ctx)?;
    linker.allow_shadowing(true);
    linker.func_wrap(
        hecaton_abi::WASI_MODULE,
        "proc_exit",
        |status: i32| -> wasmtime::Result<()> { Err(wasmtime_wasi::I32Exit(status).into()) },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The streams of a task's WASI context that the host watches: captured, or passed through to
/// the host's own.
pub(crate) enum WatchedOutput {
    Captured(CapturedOutput),
    PassedThrough([HostStream; 2]),
}

/// A WASI context with these arguments and streams and the granted capabilities, and nothing
/// else of the host: no other variable, directory or socket. Clocks and random are available.
pub(crate) fn wasi_context(setup: &WasiSetup, limits: &Limits) -> (WasiP1Ctx, WatchedOutput) {
    let (stdio, capabilities) = (&setup.stdio, &setup.capabilities);
    let mut builder = WasiCtxBuilder::new();
    builder.arg(&*setup.program);
    builder.args(&setup.args);
    builder.envs(&capabilities.env);
    for dir in &capabilities.dirs {
        let perms = match dir.access {
            Access::ReadOnly => FsPerms::ReadOnly,
            Access::ReadWrite => FsPerms::ReadWrite,
        };
        // The directory was checked when it was granted; one removed since is simply absent.
        let _ = builder.preopened_dir(&dir.host, &dir.guest, perms);
    }
    builder
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    let watched = match stdio {
        Stdio::Inherit => {
            let stdout = HostStream::new(HostTarget::Stdout, limits.max_output);
            let stderr = HostStream::new(HostTarget::Stderr, limits.max_output);
            builder.inherit_stdin();
            builder.stdout(stdout.clone());
            builder.stderr(stderr.clone());
            WatchedOutput::PassedThrough([stdout, stderr])
        }
        Stdio::Capture { stdin } | Stdio::Diagnostics { stdin } => {
            // One byte over the limit tells a stream that reached it from one that exceeded it.
            let capacity =
                usize::try_from(limits.max_output.saturating_add(1)).unwrap_or(usize::MAX);
            let captured = CapturedOutput {
                stdout: MemoryOutputPipe::new(capacity),
                stderr: MemoryOutputPipe::new(capacity),
                limit: limits.max_output,
                prints: setup.prints,
                forwarded: (0, 0),
            };
            builder.stdin(MemoryInputPipe::new(stdin.clone()));
            builder.stdout(captured.stdout.clone());
            builder.stderr(captured.stderr.clone());
            WatchedOutput::Captured(captured)
        }
    };
    (builder.build_p1(), watched)
}
