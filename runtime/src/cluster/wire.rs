//! What crosses the broker: a map's specification (JSON, in the maps bucket), a chunk of inputs
//! and a run of outcomes (a small binary framing: lengths before bytes, so that any input or
//! output, UTF-8 or not, travels as it is, without a base64 or a JSON escape per byte).
//!
//! Nothing read here is trusted: a frame that lies about a length, a tag or a count is a
//! [`WireError`], never a panic or an allocation the frame did not pay for; an outcome's JSON
//! is checked to be one JSON value on one line before it can reach a map's output.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::TaskError;
use crate::map::Prepared;
use crate::output::{CommandOutput, TaskOutput};
use crate::run::attempt::Details;

/// The version of these formats; a worker serves only maps of its own.
pub(crate) const WIRE_VERSION: u32 = 2;
/// The header of an outcome message: what its chunk took on the worker, in nanoseconds (the
/// producer's adaptive chunking learns from it).
pub(crate) const RUN_NANOS_HEADER: &str = "Hecaton-Run-Nanos";

/// A frame or specification that is not what it claims to be.
#[derive(Debug)]
pub(crate) struct WireError(pub(crate) String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything a worker needs to run a map's chunks: the module (by hash), the task, the limits,
/// and the capabilities the map asks a worker to grant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct MapSpec {
    /// [`WIRE_VERSION`].
    pub(crate) version: u32,
    /// The module's SHA-256, hex: its name in the modules object store.
    pub(crate) module: String,
    /// The module's file name, for messages.
    pub(crate) module_name: String,
    /// The engine the limits need: fuel metering and the wasm stack size.
    pub(crate) fuel_metering: bool,
    pub(crate) max_stack: u64,
    pub(crate) limits: WireLimits,
    pub(crate) call: WireCall,
    pub(crate) dirs: Vec<DirRequest>,
    pub(crate) env: Vec<EnvRequest>,
    pub(crate) retries: u32,
    pub(crate) isolation: WireIsolation,
    /// Whether outcomes carry their attempts, duration and peak memory.
    pub(crate) timed: bool,
    /// Whether a worker skips a chunk's items after a failure (a fail-fast map).
    pub(crate) fail_fast: bool,
}

/// [`Limits`](crate::Limits), as they travel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WireLimits {
    pub(crate) max_memory: u64,
    pub(crate) max_table_elements: u64,
    pub(crate) max_output: u64,
    pub(crate) timeout_nanos: Option<u64>,
    pub(crate) fuel: Option<u64>,
}

impl From<&crate::sandbox::Limits> for WireLimits {
    fn from(limits: &crate::sandbox::Limits) -> Self {
        Self {
            max_memory: limits.max_memory,
            max_table_elements: limits.max_table_elements,
            max_output: limits.max_output,
            timeout_nanos: limits
                .timeout
                .map(|timeout| u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX)),
            fuel: limits.fuel,
        }
    }
}

impl From<&WireLimits> for crate::sandbox::Limits {
    fn from(limits: &WireLimits) -> Self {
        Self::default()
            .max_memory(limits.max_memory)
            .max_table_elements(limits.max_table_elements)
            .max_output(limits.max_output)
            .timeout(limits.timeout_nanos.map(Duration::from_nanos))
            .fuel(limits.fuel)
    }
}

/// What a map calls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WireCall {
    /// A function or numeric task, by name.
    Task(String),
    /// The module's WASI command.
    Command {
        args: Vec<String>,
        /// The input is the command's argument (else its stdin).
        input_is_arg: bool,
        fail_nonzero: bool,
        /// parallel's `-I STR`, or `None` for its placeholders.
        replace: Option<String>,
        /// Fresh folders per input, seen at these guest paths (made on the worker).
        scratch: Vec<String>,
    },
}

/// A directory a map asks a worker to grant, spelled as the worker's `--allow-dir`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DirRequest {
    pub(crate) host: String,
    pub(crate) guest: String,
    pub(crate) writable: bool,
}

impl std::fmt::Display for DirRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}::{}", self.host, self.guest)?;
        if self.writable {
            f.write_str(":rw")?;
        }
        Ok(())
    }
}

/// A variable a map sets: its own value, or the worker's (which the worker must allow).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EnvRequest {
    pub(crate) key: String,
    /// The map's value; `None`: the worker's own, granted by its `--allow-env KEY`.
    pub(crate) value: Option<String>,
}

/// [`Isolation`](crate::Isolation), as it travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WireIsolation {
    Task,
    Chunk,
    Worker { max_tasks_per_instance: Option<u64> },
}

impl From<crate::isolation::Isolation> for WireIsolation {
    fn from(isolation: crate::isolation::Isolation) -> Self {
        use crate::isolation::Isolation;
        match isolation {
            Isolation::Task => Self::Task,
            Isolation::Chunk => Self::Chunk,
            Isolation::Worker {
                max_tasks_per_instance,
            } => Self::Worker {
                max_tasks_per_instance: max_tasks_per_instance.map(|n| n.get() as u64),
            },
        }
    }
}

impl From<WireIsolation> for crate::isolation::Isolation {
    fn from(isolation: WireIsolation) -> Self {
        match isolation {
            WireIsolation::Task => Self::Task,
            WireIsolation::Chunk => Self::Chunk,
            WireIsolation::Worker {
                max_tasks_per_instance,
            } => Self::Worker {
                max_tasks_per_instance: max_tasks_per_instance
                    .and_then(|n| usize::try_from(n).ok())
                    .and_then(std::num::NonZeroUsize::new),
            },
        }
    }
}

/// What a worker registers: who it is and what it may grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WorkerInfo {
    pub(crate) version: u32,
    /// Its worker threads.
    pub(crate) threads: u32,
    /// Its `--allow-dir`s.
    pub(crate) dirs: Vec<DirRequest>,
    /// Its `--allow-env`s.
    pub(crate) env: Vec<String>,
    /// Its host name and process id, for messages.
    pub(crate) name: String,
    /// The largest wasm stack limit it runs a map with (its `--max-stack`; a worker that did
    /// not say: hecaton's maximum).
    #[serde(default = "max_stack_ceiling")]
    pub(crate) max_stack: u64,
    /// The largest memory limit per task it runs a map with (its `--max-memory`), if any.
    #[serde(default)]
    pub(crate) max_memory: Option<u64>,
}

fn max_stack_ceiling() -> u64 {
    crate::stack::MAX_STACK as u64
}

impl WorkerInfo {
    /// Whether this worker grants every directory and variable a map asks for; else the first
    /// request it does not grant, as the map's flag spells it.
    pub(crate) fn refusal(&self, dirs: &[DirRequest], env: &[EnvRequest]) -> Option<String> {
        for dir in dirs {
            let granted = self.dirs.iter().any(|allowed| {
                allowed.host == dir.host
                    && allowed.guest == dir.guest
                    && (allowed.writable || !dir.writable)
            });
            if !granted {
                return Some(format!("--dir {dir}"));
            }
        }
        env.iter()
            .filter(|variable| variable.value.is_none())
            .find(|variable| !self.env.contains(&variable.key))
            .map(|variable| format!("--env {}", variable.key))
    }

    /// Whether this worker can honour a map's wasm stack limit safely; else the limit, as the
    /// map's flag spells it, with the most this worker runs.
    pub(crate) fn stack_refusal(&self, max_stack: u64) -> Option<String> {
        let ceiling = self.max_stack.min(max_stack_ceiling());
        (max_stack == 0 || max_stack > ceiling).then(|| {
            format!("--max-stack {max_stack} bytes (it runs at least 1, at most {ceiling})")
        })
    }

    /// Whether this worker grants everything map `spec` asks for and can honour its limits;
    /// else the first thing it does not, as the map's flag spells it.
    pub(crate) fn spec_refusal(&self, spec: &MapSpec) -> Option<String> {
        if let Some(refusal) = self
            .refusal(&spec.dirs, &spec.env)
            .or_else(|| self.stack_refusal(spec.max_stack))
        {
            return Some(refusal);
        }
        let limits = &spec.limits;
        if let Some(ceiling) = self.max_memory
            && limits.max_memory > ceiling
        {
            return Some(format!(
                "--max-memory {} bytes (it runs at most {ceiling})",
                limits.max_memory
            ));
        }
        (limits.max_table_elements > crate::engine::MAX_TABLE_ELEMENTS).then(|| {
            format!(
                "--max-table-elements {} (at most {})",
                limits.max_table_elements,
                crate::engine::MAX_TABLE_ELEMENTS
            )
        })
    }
}

/// Bytes, written with lengths before them.
#[derive(Default)]
pub(crate) struct FrameWriter(Vec<u8>);

impl FrameWriter {
    pub(crate) fn u8(&mut self, value: u8) {
        self.0.push(value);
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.u64(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    /// The bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Appends what `other` wrote.
    pub(crate) fn append(&mut self, other: &FrameWriter) {
        self.0.extend_from_slice(&other.0);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Reads what a [`FrameWriter`] wrote, trusting nothing.
pub(crate) struct FrameReader<'b> {
    bytes: &'b [u8],
}

impl<'b> FrameReader<'b> {
    pub(crate) fn new(bytes: &'b [u8]) -> Self {
        Self { bytes }
    }

    fn take(&mut self, count: usize) -> Result<&'b [u8], WireError> {
        if self.bytes.len() < count {
            return Err(WireError(format!(
                "a frame ends early: {count} bytes wanted, {} left",
                self.bytes.len()
            )));
        }
        let (taken, rest) = self.bytes.split_at(count);
        self.bytes = rest;
        Ok(taken)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, WireError> {
        let mut word = [0; 4];
        word.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(word))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, WireError> {
        let mut word = [0; 8];
        word.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(word))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'b [u8], WireError> {
        let length = self.u64()?;
        let length = usize::try_from(length)
            .map_err(|_| WireError(format!("a length of {length} bytes")))?;
        self.take(length)
    }

    /// A count of items that each take at least `each` bytes: never more than what is left
    /// could hold, so a lying count allocates nothing.
    pub(crate) fn count(&mut self, each: usize) -> Result<usize, WireError> {
        let count = self.u64()?;
        match usize::try_from(count) {
            Ok(count) if count.saturating_mul(each) <= self.bytes.len() => Ok(count),
            _ => Err(WireError(format!(
                "a count of {count} items in {} bytes",
                self.bytes.len()
            ))),
        }
    }

    pub(crate) fn end(&self) -> Result<(), WireError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(WireError(format!(
                "{} bytes after the frame's end",
                self.bytes.len()
            )))
        }
    }
}

const INPUT: u8 = 0;
const HOLE: u8 = 1;

/// A chunk as it travels: its first index and its inputs. An input known to fail (a malformed
/// line) travels as a hole: the producer keeps its failure, and the worker runs nothing there.
pub(crate) fn encode_chunk(first: usize, inputs: &[Prepared]) -> Vec<u8> {
    let mut frame = FrameWriter::default();
    frame.u64(first as u64);
    frame.u64(inputs.len() as u64);
    for input in inputs {
        match input {
            Ok(bytes) => {
                frame.u8(INPUT);
                frame.bytes(bytes);
            }
            Err(_) => frame.u8(HOLE),
        }
    }
    frame.finish()
}

/// The chunk a worker received: its first index and its inputs (a hole as a failure the
/// producer discards, having its own).
pub(crate) fn decode_chunk(bytes: &[u8]) -> Result<(usize, Vec<Prepared>), WireError> {
    let mut frame = FrameReader::new(bytes);
    let first = index(frame.u64()?)?;
    let count = frame.count(1)?;
    let mut inputs = Vec::with_capacity(count);
    for _ in 0..count {
        inputs.push(match frame.u8()? {
            INPUT => Ok(frame.bytes()?.to_vec()),
            HOLE => Err(TaskError::BadInput {
                message: "an input the producer could not read".into(),
            }),
            tag => return Err(WireError(format!("an input of tag {tag}"))),
        });
    }
    frame.end()?;
    Ok((first, inputs))
}

fn index(value: u64) -> Result<usize, WireError> {
    usize::try_from(value).map_err(|_| WireError(format!("an index of {value}")))
}

const OUTPUT_JSON: u8 = 0;
const OUTPUT_COMMAND: u8 = 1;
const FAILURE: u8 = 2;
const FAILURE_NONZERO_EXIT: u8 = 3;

/// One input's result and how it ran, as a chunk's batch holds them.
pub(crate) type SlotOutcome = (Result<TaskOutput, Box<TaskError>>, Details);

/// One input's outcome as it travels.
pub(crate) struct WireOutcome {
    pub(crate) result: Result<TaskOutput, TaskError>,
    pub(crate) details: Details,
}

/// Appends one outcome to a frame of outcomes.
pub(crate) fn encode_outcome(
    frame: &mut FrameWriter,
    result: &Result<TaskOutput, Box<TaskError>>,
    details: &Details,
) {
    frame.u32(details.attempts);
    frame.u64(u64::try_from(details.duration.as_nanos()).unwrap_or(u64::MAX));
    frame.u64(details.peak_memory);
    match result {
        Ok(TaskOutput::Json(bytes)) => {
            frame.u8(OUTPUT_JSON);
            frame.bytes(bytes);
        }
        Ok(TaskOutput::Command(output)) => {
            frame.u8(OUTPUT_COMMAND);
            encode_command(frame, output);
        }
        Err(error) => match &**error {
            TaskError::NonZeroExit(output) => {
                frame.u8(FAILURE_NONZERO_EXIT);
                encode_command(frame, output);
            }
            error => {
                frame.u8(FAILURE);
                let wire = WireTaskError::from(error);
                // A plain enum of strings and numbers: serializing it cannot fail.
                frame.bytes(&serde_json::to_vec(&wire).unwrap_or_default());
            }
        },
    }
}

fn encode_command(frame: &mut FrameWriter, output: &CommandOutput) {
    frame.u32(output.exit_code as u32);
    frame.bytes(&output.stdout);
    frame.bytes(&output.stderr);
}

fn decode_command(frame: &mut FrameReader<'_>) -> Result<CommandOutput, WireError> {
    Ok(CommandOutput {
        exit_code: frame.u32()? as i32,
        stdout: frame.bytes()?.to_vec(),
        stderr: frame.bytes()?.to_vec(),
    })
}

/// A run of outcomes: the first's index, then each outcome.
pub(crate) fn results_header(frame: &mut FrameWriter, first: usize, count: usize) {
    frame.u64(first as u64);
    frame.u64(count as u64);
}

/// The outcomes a worker published: the first's index and each outcome, checked.
pub(crate) fn decode_results(bytes: &[u8]) -> Result<(usize, Vec<WireOutcome>), WireError> {
    let mut frame = FrameReader::new(bytes);
    let first = index(frame.u64()?)?;
    let count = frame.count(21)?;
    let mut outcomes = Vec::with_capacity(count);
    for _ in 0..count {
        let details = Details {
            attempts: frame.u32()?,
            duration: Duration::from_nanos(frame.u64()?),
            peak_memory: frame.u64()?,
        };
        let result = match frame.u8()? {
            OUTPUT_JSON => Ok(TaskOutput::Json(checked_json(frame.bytes()?)?)),
            OUTPUT_COMMAND => Ok(TaskOutput::Command(decode_command(&mut frame)?)),
            FAILURE_NONZERO_EXIT => Err(TaskError::NonZeroExit(Box::new(decode_command(
                &mut frame,
            )?))),
            FAILURE => {
                let wire: WireTaskError = serde_json::from_slice(frame.bytes()?)
                    .map_err(|error| WireError(format!("a failure record: {error}")))?;
                Err(TaskError::try_from(wire)?)
            }
            tag => return Err(WireError(format!("an outcome of tag {tag}"))),
        };
        outcomes.push(WireOutcome { result, details });
    }
    frame.end()?;
    Ok((first, outcomes))
}

/// A task's JSON as the map writes it: one JSON value, compact, on one line. A worker re-encodes
/// what its guest returned; a frame that says otherwise did not come from one.
fn checked_json(bytes: &[u8]) -> Result<Vec<u8>, WireError> {
    if bytes.iter().any(|&byte| byte < 0x20) {
        return Err(WireError(
            "an output with a control character outside JSON's escapes".into(),
        ));
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|error| WireError(format!("an output that is not JSON: {error}")))?;
    Ok(bytes.to_vec())
}

/// [`TaskError`] as it travels, but for [`TaskError::NonZeroExit`] (framed as bytes).
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum WireTaskError {
    Trap { code: u8, backtrace: String },
    StackOverflow,
    Timeout { nanos: u64 },
    OutOfFuel,
    MemoryLimit { requested: u64, limit: u64 },
    TableLimit { requested: u64, limit: u64 },
    OutputLimit { limit: u64 },
    GuestError { message: String },
    Panic { message: String },
    BadInput { message: String },
    AbiViolation { message: String },
    Exit { code: i32 },
    StdoutClosed,
    Cancelled,
    Instantiate { message: String },
    Host { message: String },
    WorkerLost { message: String },
}

impl From<&TaskError> for WireTaskError {
    fn from(error: &TaskError) -> Self {
        match error.clone() {
            TaskError::Trap { trap, backtrace } => Self::Trap {
                code: trap as u8,
                backtrace,
            },
            TaskError::StackOverflow => Self::StackOverflow,
            TaskError::Timeout(after) => Self::Timeout {
                nanos: u64::try_from(after.as_nanos()).unwrap_or(u64::MAX),
            },
            TaskError::OutOfFuel => Self::OutOfFuel,
            TaskError::MemoryLimit { requested, limit } => Self::MemoryLimit { requested, limit },
            TaskError::TableLimit { requested, limit } => Self::TableLimit { requested, limit },
            TaskError::OutputLimit { limit } => Self::OutputLimit { limit },
            TaskError::Guest { message } => Self::GuestError { message },
            TaskError::Panic { message } => Self::Panic { message },
            TaskError::BadInput { message } => Self::BadInput { message },
            TaskError::AbiViolation(message) => Self::AbiViolation { message },
            TaskError::Exit(code) => Self::Exit { code },
            TaskError::StdoutClosed => Self::StdoutClosed,
            TaskError::Cancelled => Self::Cancelled,
            TaskError::Instantiate(message) => Self::Instantiate { message },
            TaskError::Host(message) => Self::Host { message },
            TaskError::WorkerLost(message) => Self::WorkerLost { message },
            // Framed apart (`FAILURE_NONZERO_EXIT`); never reached.
            TaskError::NonZeroExit(output) => Self::Host {
                message: format!("the command exited with code {}", output.exit_code),
            },
        }
    }
}

impl TryFrom<WireTaskError> for TaskError {
    type Error = WireError;

    fn try_from(error: WireTaskError) -> Result<Self, WireError> {
        Ok(match error {
            WireTaskError::Trap { code, backtrace } => Self::Trap {
                trap: wasmtime::Trap::from_u8(code)
                    .ok_or_else(|| WireError(format!("a trap of code {code}")))?,
                backtrace,
            },
            WireTaskError::StackOverflow => Self::StackOverflow,
            WireTaskError::Timeout { nanos } => Self::Timeout(Duration::from_nanos(nanos)),
            WireTaskError::OutOfFuel => Self::OutOfFuel,
            WireTaskError::MemoryLimit { requested, limit } => {
                Self::MemoryLimit { requested, limit }
            }
            WireTaskError::TableLimit { requested, limit } => Self::TableLimit { requested, limit },
            WireTaskError::OutputLimit { limit } => Self::OutputLimit { limit },
            WireTaskError::GuestError { message } => Self::Guest { message },
            WireTaskError::Panic { message } => Self::Panic { message },
            WireTaskError::BadInput { message } => Self::BadInput { message },
            WireTaskError::AbiViolation { message } => Self::AbiViolation(message),
            WireTaskError::Exit { code } => Self::Exit(code),
            WireTaskError::StdoutClosed => Self::StdoutClosed,
            WireTaskError::Cancelled => Self::Cancelled,
            WireTaskError::Instantiate { message } => Self::Instantiate(message),
            WireTaskError::Host { message } => Self::Host(message),
            WireTaskError::WorkerLost { message } => Self::WorkerLost(message),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details() -> Details {
        Details {
            attempts: 2,
            duration: Duration::from_micros(7),
            peak_memory: 65536,
        }
    }

    #[test]
    fn every_outcome_kind_survives_the_trip() {
        let results: Vec<Result<TaskOutput, Box<TaskError>>> = vec![
            Ok(TaskOutput::Json(b"{\"a\":[1,2]}".to_vec())),
            Ok(TaskOutput::Command(CommandOutput {
                exit_code: 3,
                stdout: vec![0xff, 0, b'\n'],
                stderr: b"oops".to_vec(),
            })),
            Err(Box::new(TaskError::Trap {
                trap: wasmtime::Trap::UnreachableCodeReached,
                backtrace: "0: f".into(),
            })),
            Err(Box::new(TaskError::Timeout(Duration::from_millis(200)))),
            Err(Box::new(TaskError::MemoryLimit {
                requested: 10,
                limit: 5,
            })),
            Err(Box::new(TaskError::NonZeroExit(Box::new(CommandOutput {
                exit_code: 1,
                stdout: b"x".to_vec(),
                stderr: Vec::new(),
            })))),
            Err(Box::new(TaskError::Guest {
                message: "no \u{1b} here".into(),
            })),
        ];
        let mut frame = FrameWriter::default();
        results_header(&mut frame, 40, results.len());
        for result in &results {
            encode_outcome(&mut frame, result, &details());
        }
        let (first, outcomes) = decode_results(&frame.finish()).unwrap();
        assert_eq!(first, 40);
        assert!(outcomes.iter().all(|outcome| outcome.details.attempts == 2
            && outcome.details.peak_memory == 65536
            && outcome.details.duration == Duration::from_micros(7)));
        let back: Vec<_> = outcomes.into_iter().map(|outcome| outcome.result).collect();
        let expected: Vec<_> = results.into_iter().map(|r| r.map_err(|e| *e)).collect();
        assert_eq!(back, expected);
    }

    #[test]
    fn a_lying_frame_is_an_error_not_a_panic_or_an_allocation() {
        let mut frame = FrameWriter::default();
        frame.u64(0);
        frame.u64(u64::MAX);
        assert!(decode_chunk(&frame.finish()).is_err());
        let mut frame = FrameWriter::default();
        results_header(&mut frame, 0, 1);
        encode_outcome(
            &mut frame,
            &Ok(TaskOutput::Json(b"1\n2".to_vec())),
            &details(),
        );
        assert!(decode_results(&frame.finish()).is_err());
        for cut in 0..20 {
            let chunk = encode_chunk(5, &[Ok(b"12".to_vec()), Ok(b"\"x\"".to_vec())]);
            assert!(decode_chunk(&chunk[..cut.min(chunk.len() - 1)]).is_err());
        }
    }

    fn spec(dirs: Vec<DirRequest>, env: Vec<EnvRequest>) -> MapSpec {
        let limits = crate::sandbox::Limits::default()
            .timeout(Some(Duration::from_millis(250)))
            .fuel(Some(9));
        MapSpec {
            version: WIRE_VERSION,
            module: "ab".repeat(32),
            module_name: "square.wasm".into(),
            fuel_metering: true,
            max_stack: 1 << 20,
            limits: WireLimits::from(&limits),
            call: WireCall::Command {
                args: vec!["-o".into(), "{}".into()],
                input_is_arg: true,
                fail_nonzero: true,
                replace: None,
                scratch: vec!["/out".into(), "/tmp".into()],
            },
            dirs,
            env,
            retries: 2,
            isolation: WireIsolation::from(crate::isolation::Isolation::Worker {
                max_tasks_per_instance: std::num::NonZeroUsize::new(5),
            }),
            timed: true,
            fail_fast: false,
        }
    }

    #[test]
    fn a_spec_survives_the_trip_limits_and_isolation_included() {
        let sent = spec(Vec::new(), Vec::new());
        let received: MapSpec =
            serde_json::from_slice(&serde_json::to_vec(&sent).unwrap()).unwrap();
        assert_eq!(received, sent);
        let limits = crate::sandbox::Limits::from(&received.limits);
        assert_eq!(limits.timeout, Some(Duration::from_millis(250)));
        assert_eq!(limits.fuel, Some(9));
        assert_eq!(
            crate::isolation::Isolation::from(received.isolation),
            crate::isolation::Isolation::Worker {
                max_tasks_per_instance: std::num::NonZeroUsize::new(5)
            }
        );
    }

    #[test]
    fn a_worker_grants_only_what_it_allows() {
        let data = DirRequest {
            host: "/srv/data".into(),
            guest: "/data".into(),
            writable: false,
        };
        let worker = WorkerInfo {
            version: WIRE_VERSION,
            threads: 2,
            dirs: vec![data.clone()],
            env: vec!["MODE".into()],
            name: "w1".into(),
            max_stack: 8 << 20,
            max_memory: Some(1 << 30),
        };
        let own_value = EnvRequest {
            key: "SECRET".into(),
            value: Some("mine".into()),
        };
        let granted = spec(vec![data.clone()], vec![own_value]);
        assert_eq!(worker.refusal(&granted.dirs, &granted.env), None);
        let writable = DirRequest {
            writable: true,
            ..data.clone()
        };
        assert_eq!(
            worker.refusal(&[writable], &[]).as_deref(),
            Some("--dir /srv/data::/data:rw")
        );
        let elsewhere = DirRequest {
            host: "/etc".into(),
            ..data
        };
        assert_eq!(
            worker.refusal(&[elsewhere], &[]).as_deref(),
            Some("--dir /etc::/data")
        );
        let workers_own = EnvRequest {
            key: "HOME".into(),
            value: None,
        };
        assert_eq!(
            worker.refusal(&[], &[workers_own]).as_deref(),
            Some("--env HOME")
        );
    }

    #[test]
    fn a_worker_refuses_limits_it_cannot_honour() {
        let worker: WorkerInfo = serde_json::from_value(serde_json::json!({
            "version": WIRE_VERSION, "threads": 2, "dirs": [], "env": [], "name": "w1",
        }))
        .unwrap();
        assert_eq!(
            worker.max_stack,
            crate::stack::MAX_STACK as u64,
            "an older worker"
        );
        let mut asked = spec(Vec::new(), Vec::new());
        assert_eq!(worker.spec_refusal(&asked), None);
        asked.max_stack = 0;
        assert!(
            worker
                .spec_refusal(&asked)
                .unwrap()
                .starts_with("--max-stack 0 bytes")
        );
        asked.max_stack = crate::stack::MAX_STACK as u64 + 1;
        assert!(
            worker
                .spec_refusal(&asked)
                .unwrap()
                .starts_with("--max-stack")
        );
        asked.max_stack = crate::stack::MAX_STACK as u64;
        assert_eq!(worker.spec_refusal(&asked), None);
        let small = WorkerInfo {
            max_stack: 1 << 20,
            max_memory: Some(64 << 20),
            ..worker
        };
        assert!(
            small
                .spec_refusal(&asked)
                .unwrap()
                .starts_with("--max-stack")
        );
        asked.max_stack = 1 << 20;
        assert!(
            small
                .spec_refusal(&asked)
                .unwrap()
                .starts_with("--max-memory")
        );
        asked.limits.max_memory = 64 << 20;
        assert_eq!(small.spec_refusal(&asked), None);
        asked.limits.max_table_elements = crate::engine::MAX_TABLE_ELEMENTS + 1;
        assert!(
            small
                .spec_refusal(&asked)
                .unwrap()
                .starts_with("--max-table-elements")
        );
    }

    #[test]
    fn a_chunk_survives_the_trip() {
        let hole = Err(TaskError::BadInput {
            message: "line 2".into(),
        });
        let chunk = encode_chunk(7, &[Ok(b"1".to_vec()), hole, Ok(vec![0xff, 0xfe])]);
        let (first, inputs) = decode_chunk(&chunk).unwrap();
        assert_eq!(first, 7);
        assert_eq!(inputs.len(), 3);
        assert_eq!(inputs[0], Ok(b"1".to_vec()));
        assert!(inputs[1].is_err());
        assert_eq!(inputs[2], Ok(vec![0xff, 0xfe]));
    }
}
