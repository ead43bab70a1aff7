//! A command's stdout and stderr passed through to the host's own, as `hecaton run` gives them:
//! streaming, capped at the output limit, and stderr made printable on its way.
//!
//! Stdout is the command's product (a PNG, a tarball) and passes byte for byte. Stderr is text
//! for a person, and reaches the host's stderr (a terminal, usually) only through
//! [`crate::text`]'s escaping: no escape sequence, carriage return or other control character a
//! guest writes is ever written as it is. Both count against the task's output limit, each on
//! its own; the write that crosses it is cut at the limit, fails, and the task is stopped with
//! [`crate::TaskError::OutputLimit`] at its next check.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// Why a command stopped when the host's stdout closed under it (a reader like `head` that has
/// read enough): the guest is stopped at that write, as a process is by `SIGPIPE`, instead of
/// being told of an I/O error it would report as its own failure.
#[derive(Debug, thiserror::Error)]
#[error("the host's stdout was closed")]
pub(crate) struct StdoutClosed;

/// Which of the host's streams a [`HostStream`] writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostTarget {
    /// Raw bytes.
    Stdout,
    /// Printable text: control characters escaped, newlines kept.
    Stderr,
}

/// One of a command's streams, written to the host's; cheap to clone (the clones share the
/// count).
#[derive(Clone)]
pub(crate) struct HostStream {
    target: HostTarget,
    shared: Arc<Shared>,
}

struct Shared {
    limit: u64,
    /// Bytes the guest wrote; past `limit` once the limit was crossed.
    written: AtomicU64,
    /// The start of a UTF-8 sequence a write ended in, kept for the next (stderr only).
    carry: Mutex<Vec<u8>>,
}

impl HostStream {
    pub(crate) fn new(target: HostTarget, limit: u64) -> Self {
        Self {
            target,
            shared: Arc::new(Shared {
                limit,
                written: AtomicU64::new(0),
                carry: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Whether the guest wrote more than the limit.
    pub(crate) fn overflowed(&self) -> bool {
        self.shared.written.load(Ordering::Relaxed) > self.shared.limit
    }

    fn write_host(&self, bytes: &[u8]) -> std::io::Result<()> {
        match self.target {
            HostTarget::Stdout => {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(bytes)?;
                stdout.flush()
            }
            HostTarget::Stderr => {
                let mut carry = self
                    .shared
                    .carry
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let text = crate::text::printable_stream(&mut carry, bytes);
                std::io::stderr().lock().write_all(text.as_bytes())
            }
        }
    }
}

impl OutputStream for HostStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let len = bytes.len() as u64;
        let before = self.shared.written.fetch_add(len, Ordering::Relaxed);
        let room = self.shared.limit.saturating_sub(before);
        let allowed = &bytes[..usize::try_from(room.min(len)).unwrap_or(bytes.len())];
        let written = self.write_host(allowed);
        if (allowed.len() as u64) < len {
            return Err(StreamError::Closed);
        }
        written.map_err(|error| match (error.kind(), self.target) {
            (std::io::ErrorKind::BrokenPipe, HostTarget::Stdout) => {
                StreamError::Trap(wasmtime::Error::new(StdoutClosed))
            }
            (std::io::ErrorKind::BrokenPipe, HostTarget::Stderr) => StreamError::Closed,
            _ => StreamError::LastOperationFailed(error.into()),
        })
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        if self.overflowed() {
            return Err(StreamError::Closed);
        }
        // One byte past the limit may be asked for: writing it is what tells a stream that
        // reached the limit from one that crossed it.
        let room = self.shared.limit + 1 - self.shared.written.load(Ordering::Relaxed);
        Ok(usize::try_from(room).unwrap_or(usize::MAX).min(1 << 20))
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for HostStream {
    async fn ready(&mut self) {}
}

impl IsTerminal for HostStream {
    fn is_terminal(&self) -> bool {
        // Never report a terminal: the guest must not be invited to send escape sequences.
        false
    }
}

impl StdoutStream for HostStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        // WASI preview 1 writes through `p2_stream`; the asynchronous stream serves WASIp3,
        // which hecaton does not link. A full pipe (every write fails), should that change.
        Box::new(wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(0))
    }
}
