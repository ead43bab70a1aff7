//! `hecaton map`: a task over many inputs on every core, like Python's `Pool.map`, streaming JSON
//! Lines; for WASI commands, GNU parallel for wasm.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, bail};
use clap::Args;
use hecaton::{
    CommandInput, CommandOutput, Isolation, Outcome, Pool, TaskError, TaskKind, TaskOutput,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use serde_json::{Value, json};

use crate::cli::sandbox::{LoadedTask, TaskArgs};
use crate::cli::stats::Stats;
use crate::cli::{Exit, output_failed, say};

/// Run a task over many inputs, each in a fresh sandboxed instance, on all cores.
///
/// Inputs are the ARGS, or the lines of --input FILE, or the lines of stdin: one JSON value per
/// line (JSON Lines; blank lines at the end are skipped). Outputs are JSON Lines on stdout in
/// input order, one per input, written as soon as they are ready, while the input is still
/// being read. With --unordered each line is `{"index":N,"output":V}` as tasks complete.
/// Without --keep-going the first failure stops the map: every output before it is written,
/// and the failure is named on stderr with its input index and line. Every line written is
/// JSON that hecaton encoded itself; a guest's prints reach stderr escaped, each line prefixed
/// with `[input N]`.
///
/// A WASI command (no --invoke, the module has `_start`) gets each input as its stdin (--stdin,
/// the default; a JSON string, or any raw line with --lines) or as its last argument (--arg), and
/// each output is `{"exit_code":N,"stdout":"…","stderr":"…"}`.
///
/// Options are read wherever they stand, before or after the inputs; an input that starts with
/// `-` (other than a number) goes after `--`, as with xargs and GNU parallel.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  hecaton map examples/guests/square --invoke square 1 2 3 4 5      (prints 1 4 9 16 25, one per line)
  seq 1 1000000 | hecaton map square.wasm --invoke square -j2
  hecaton map prog.wasm --lines --arg < names.txt
  hecaton map prog.wasm --lines --arg -- -n --verbose")]
pub(crate) struct MapArgs {
    #[command(flatten)]
    task: TaskArgs,
    /// Read inputs from this file, one per line, instead of stdin.
    #[arg(long, value_name = "FILE", conflicts_with = "inputs", help_heading = INPUT_OUTPUT)]
    input: Option<PathBuf>,
    /// Write outputs as they complete, each with its input index.
    #[arg(long, help_heading = INPUT_OUTPUT)]
    unordered: bool,
    /// Write an error record for a failed input and go on; exit 1 if any failed.
    #[arg(long, help_heading = INPUT_OUTPUT)]
    keep_going: bool,
    /// Write the outputs as one JSON array instead of JSON Lines.
    #[arg(long, conflicts_with = "unordered", help_heading = INPUT_OUTPUT)]
    json_array: bool,
    /// Print figures at the end, on stderr: items, failures by kind, wall time, tasks/s, mean
    /// and p99 task time, peak memory of a task.
    #[arg(long, help_heading = INPUT_OUTPUT)]
    stats: bool,
    /// No progress bar (there is one only when stderr is a terminal).
    #[arg(short, long, help_heading = INPUT_OUTPUT)]
    quiet: bool,
    /// Worker threads [default: HECATON_WORKERS, else the number of cores].
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = SCHEDULING)]
    workers: Option<u32>,
    /// Inputs per chunk [default: auto: Python's rule (4 chunks per worker, at most 16384 inputs
    /// each) for known lengths, adaptive for streams].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = SCHEDULING)]
    chunksize: Option<u32>,
    /// Run a failed input again, each time in a fresh instance, up to N more times.
    #[arg(long, value_name = "N", default_value_t = 0, help_heading = SCHEDULING)]
    retries: u32,
    /// How many tasks share an instance: `task` (a fresh instance for every input, the
    /// strongest), `chunk` (one per chunk of inputs, shared by its inputs in turn) or `worker`
    /// (one per worker thread, see --max-tasks-per-instance). Sharing is faster for tiny tasks
    /// and weaker: a task sees what the earlier ones left in memory. A failed task's instance is
    /// never shared; a WASI command always runs in a fresh one.
    #[arg(long, value_enum, default_value_t = IsolationArg::Task, help_heading = SCHEDULING)]
    isolation: IsolationArg,
    /// With --isolation worker: replace a worker's instance after N tasks (Python's
    /// maxtasksperchild) [default: never, within the map].
    #[arg(long, value_name = "N", help_heading = SCHEDULING)]
    max_tasks_per_instance: Option<NonZeroUsize>,
    /// Each input is the command's stdin (the default).
    #[arg(long, conflicts_with = "arg", help_heading = COMMANDS)]
    stdin: bool,
    /// Each input is appended to the command's arguments.
    #[arg(long, help_heading = COMMANDS)]
    arg: bool,
    /// Inputs are raw lines, not JSON strings.
    #[arg(long, help_heading = COMMANDS)]
    lines: bool,
    /// A fixed argument (repeatable; `--argv=-v` for one that starts with `-`). `{}` in it
    /// stands for the input and `{#}` for its index (from 0), as in GNU parallel's command
    /// line: `--argv=-o --argv='/out/{#}.png' --argv='{}'`. With --arg, an input no argument
    /// places is appended last.
    #[arg(long = "argv", value_name = "ARG", allow_hyphen_values = true, help_heading = COMMANDS)]
    argv: Vec<String>,
    /// The inputs, as JSON values (a word that is not JSON is a string); after `--` when they
    /// start with `-`.
    #[arg(value_name = "INPUTS", allow_negative_numbers = true)]
    inputs: Vec<String>,
}

const INPUT_OUTPUT: &str = "Inputs and outputs";
const SCHEDULING: &str = "Scheduling";
const COMMANDS: &str = "WASI commands (a module with `_start`, no --invoke)";

pub(crate) fn main(args: MapArgs) -> anyhow::Result<Exit> {
    let LoadedTask {
        sandbox,
        engine,
        module,
        task,
    } = args.task.load()?;
    let command = *module.task_kind(&task)? == TaskKind::Command;
    let isolation = args.isolation()?;
    if command && isolation != Isolation::Task {
        bail!("--isolation {isolation}: a WASI command runs once, in a fresh instance of its own");
    }
    let mut builder = Pool::builder()
        .limits(sandbox.limits())
        .capabilities(sandbox.capabilities()?)
        .retries(args.retries)
        .isolation(isolation);
    if let Some(workers) = args.workers {
        builder = builder.workers(workers as usize);
    }
    let pool = builder.build()?;
    let mut job = if command {
        let input = if args.arg {
            CommandInput::Arg
        } else {
            CommandInput::Stdin
        };
        pool.command_job(&module, args.argv.clone(), input)?
    } else {
        pool.job(&module, &task)?
    };
    if let Some(chunksize) = args.chunksize {
        job = job.chunksize(chunksize as usize);
    }
    let reader = InputReader::new(&args, command)?;
    let malformed = Arc::clone(&reader.malformed);
    let stats = args.stats.then(|| Stats::new(engine.memory_reset()));
    let mut writer = OutputWriter::new(&args, reader.total, reader.source, stats);
    let interrupted = on_ctrl_c(&pool, writer.progress.clone())?;
    let outcomes = job.imap_raw(reader, !args.unordered)?;
    let exit = writer.write_all(outcomes, &interrupted);
    let malformed = malformed
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let (Some((line, message)), Exit::Success) = (malformed, exit) {
        say(format_args!("input line {line} is not valid: {message}"));
        return Ok(Exit::Usage);
    }
    Ok(exit)
}

/// The values of `--isolation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum IsolationArg {
    /// A fresh instance for every input.
    Task,
    /// A fresh instance for every chunk of inputs.
    Chunk,
    /// An instance per worker thread.
    Worker,
}

impl MapArgs {
    /// The isolation level that `--isolation` and `--max-tasks-per-instance` ask for.
    fn isolation(&self) -> anyhow::Result<Isolation> {
        Ok(match (self.isolation, self.max_tasks_per_instance) {
            (IsolationArg::Task, None) => Isolation::Task,
            (IsolationArg::Chunk, None) => Isolation::Chunk,
            (IsolationArg::Worker, max_tasks_per_instance) => Isolation::Worker {
                max_tasks_per_instance,
            },
            (_, Some(_)) => bail!("--max-tasks-per-instance needs --isolation worker"),
        })
    }
}

/// The first Ctrl-C cancels the pool's tasks (the map then writes what finished and exits 130);
/// a second one clears the progress bar and exits at once.
fn on_ctrl_c(pool: &Pool, progress: ProgressBar) -> anyhow::Result<Arc<AtomicBool>> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    let canceller = pool.canceller();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            progress.finish_and_clear();
            std::process::exit(130);
        }
        canceller.cancel();
    })
    .context("cannot install the Ctrl-C handler")?;
    Ok(interrupted)
}

/// A line that is not a valid input: its number and what is wrong.
type Malformed = Arc<Mutex<Option<(usize, String)>>>;

/// The inputs of a batch at most: enough that a fast source costs one hand-over per thousands of
/// inputs.
const MAX_BATCH: usize = 4096;

/// Where input lines are read from.
enum Lines {
    /// Command-line arguments, each an input.
    Arguments(std::vec::IntoIter<Vec<u8>>),
    /// The lines of a file or of stdin.
    Reader(BufReader<Box<dyn io::Read + Send>>),
}

impl Lines {
    /// The next line, without its line ending.
    fn next_line(&mut self) -> Option<io::Result<Vec<u8>>> {
        match self {
            Self::Arguments(arguments) => arguments.next().map(Ok),
            Self::Reader(reader) => {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) => None,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                        }
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                        Some(Ok(line))
                    }
                    Err(error) => Some(Err(error)),
                }
            }
        }
    }

    /// Whether a whole next line is at hand, read without waiting.
    fn at_hand(&self) -> bool {
        match self {
            Self::Arguments(_) => true,
            Self::Reader(reader) => reader.buffer().contains(&b'\n'),
        }
    }
}

/// Where the inputs come from: what an input's position is called in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InputSource {
    /// Command-line arguments: input N is argument N + 1.
    Arguments,
    /// Lines of a file or of stdin: input N is line N + 1.
    Lines,
}

/// The inputs, read lazily (by the map's input thread): arguments, or the lines of a file or
/// stdin.
struct InputReader {
    lines: Lines,
    source: InputSource,
    format: InputFormat,
    keep_going: bool,
    /// The number of the last line read.
    line: usize,
    /// Blank lines read and not yet given: inputs if a line follows, skipped at the end.
    blank_lines: usize,
    /// The line read after blank lines, given once they are.
    held: Option<Vec<u8>>,
    /// Set by a fail-fast map at the first malformed line, which ends the input.
    malformed: Malformed,
    total: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum InputFormat {
    /// Function and numeric tasks: a JSON value.
    Json,
    /// A command's stdin or argument, as a JSON string.
    CommandJsonString,
    /// A command's stdin: the raw line, any bytes.
    CommandRawStdin,
    /// A command's argument (or an input a fixed argument places with `{}`): the raw line,
    /// which must be UTF-8.
    CommandRawText,
}

impl InputReader {
    fn new(args: &MapArgs, command: bool) -> anyhow::Result<Self> {
        let placed = args.argv.iter().any(|arg| arg.contains("{}"));
        let format = match (command, args.lines, args.arg || placed) {
            (false, _, _) => InputFormat::Json,
            (true, false, _) => InputFormat::CommandJsonString,
            (true, true, false) => InputFormat::CommandRawStdin,
            (true, true, true) => InputFormat::CommandRawText,
        };
        let (lines, total, source): (Lines, Option<u64>, InputSource) = if !args.inputs.is_empty() {
            let inputs: Vec<Vec<u8>> = args
                .inputs
                .iter()
                .map(|arg| argument_input(arg, format))
                .collect();
            let total = inputs.len() as u64;
            let inputs = Lines::Arguments(inputs.into_iter());
            (inputs, Some(total), InputSource::Arguments)
        } else if let Some(path) = &args.input {
            let file = File::open(path)
                .with_context(|| format!("cannot open input file {}", path.display()))?;
            let total = progress_shown(args).then(|| count_lines(path)).flatten();
            let file: Box<dyn io::Read + Send> = Box::new(file);
            let lines = Lines::Reader(BufReader::with_capacity(64 << 10, file));
            (lines, total, InputSource::Lines)
        } else {
            let stdin: Box<dyn io::Read + Send> = Box::new(io::stdin());
            let lines = Lines::Reader(BufReader::with_capacity(64 << 10, stdin));
            (lines, None, InputSource::Lines)
        };
        Ok(Self {
            lines,
            source,
            format,
            keep_going: args.keep_going,
            line: 0,
            blank_lines: 0,
            held: None,
            malformed: Arc::default(),
            total,
        })
    }

    /// Checks one line; `Err` is a line that is not a valid input.
    fn parse(&self, line: Vec<u8>) -> Result<Vec<u8>, String> {
        let utf8 = |line: &[u8]| {
            std::str::from_utf8(line)
                .map(drop)
                .map_err(|error| format!("not UTF-8 ({error}): {}", shown(line)))
        };
        match self.format {
            InputFormat::CommandRawStdin => Ok(line),
            InputFormat::CommandRawText => utf8(&line).map(|()| line),
            InputFormat::Json => {
                utf8(&line)?;
                match serde_json::from_slice::<serde::de::IgnoredAny>(&line) {
                    Ok(_) => Ok(line),
                    Err(error) => Err(format!("not JSON ({error}): {}", shown(&line))),
                }
            }
            InputFormat::CommandJsonString => match serde_json::from_slice::<String>(&line) {
                Ok(text) => Ok(text.into_bytes()),
                Err(error) => Err(format!(
                    "not a JSON string ({error}); use --lines for raw lines: {}",
                    shown(&line)
                )),
            },
        }
    }

    /// The next line that is an input: blank lines count only when a line follows them.
    fn next_line(&mut self) -> Option<io::Result<Vec<u8>>> {
        if self.blank_lines > 0 && self.held.is_some() {
            self.blank_lines -= 1;
            return Some(Ok(Vec::new()));
        }
        if let Some(line) = self.held.take() {
            return Some(Ok(line));
        }
        loop {
            let line = match self.lines.next_line()? {
                Ok(line) => line,
                Err(error) => return Some(Err(error)),
            };
            if self.source == InputSource::Arguments || !line.trim_ascii().is_empty() {
                if self.blank_lines == 0 {
                    return Some(Ok(line));
                }
                self.held = Some(line);
                self.blank_lines -= 1;
                return Some(Ok(Vec::new()));
            }
            self.blank_lines += 1;
        }
    }
}

/// The inputs in batches: as many as are at hand together (up to [`MAX_BATCH`]), so that a
/// slow producer's line is handed over as soon as it arrives, and a fast one's in bulk.
impl Iterator for InputReader {
    type Item = Vec<Result<Vec<u8>, TaskError>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut batch = Vec::new();
        while batch.len() < MAX_BATCH {
            if !batch.is_empty() && self.held.is_none() && !self.lines.at_hand() {
                break;
            }
            let Some(input) = self.next_input() else {
                break;
            };
            batch.push(input);
        }
        (!batch.is_empty()).then_some(batch)
    }
}

impl InputReader {
    /// The next input, checked; `None` at the end (or after a fail-fast map's malformed line).
    fn next_input(&mut self) -> Option<Result<Vec<u8>, TaskError>> {
        if self
            .malformed
            .lock()
            .is_ok_and(|malformed| malformed.is_some())
        {
            return None;
        }
        let line = self.next_line()?;
        self.line += 1;
        let parsed = line
            .map_err(|error| format!("cannot read: {error}"))
            .and_then(|line| self.parse(line));
        let place = match self.source {
            InputSource::Arguments => "argument",
            InputSource::Lines => "line",
        };
        match parsed {
            Ok(input) => Some(Ok(input)),
            Err(message) if self.keep_going => Some(Err(TaskError::BadInput {
                message: format!("{place} {}: {message}", self.line),
            })),
            Err(message) => {
                if let Ok(mut malformed) = self.malformed.lock() {
                    *malformed = Some((self.line, message));
                }
                None
            }
        }
    }
}

/// At most 80 characters of an input, printable, for a message.
fn shown(line: &[u8]) -> String {
    let text = hecaton::printable(&line[..line.len().min(80)]);
    if line.len() > 80 {
        format!("{text}…")
    } else {
        text
    }
}

/// The number of lines in a regular file (a total for the progress bar), or `None` for a pipe or
/// a file that cannot be read.
fn count_lines(path: &std::path::Path) -> Option<u64> {
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path).ok()?);
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let buffer = reader.fill_buf().ok()?;
        let Some(&end) = buffer.last() else { break };
        lines += buffer.iter().filter(|&&byte| byte == b'\n').count() as u64;
        last = end;
        let len = buffer.len();
        reader.consume(len);
    }
    Some(lines + u64::from(last != b'\n'))
}

/// An argument as an input: JSON as it is, any other word as a JSON string (function tasks); the
/// text itself (commands).
fn argument_input(arg: &str, format: InputFormat) -> Vec<u8> {
    match format {
        InputFormat::Json if serde_json::from_str::<serde::de::IgnoredAny>(arg).is_ok() => {
            arg.as_bytes().to_vec()
        }
        InputFormat::Json => Value::String(arg.to_owned()).to_string().into_bytes(),
        InputFormat::CommandJsonString => Value::String(arg.to_owned()).to_string().into_bytes(),
        InputFormat::CommandRawStdin | InputFormat::CommandRawText => arg.as_bytes().to_vec(),
    }
}

/// Whether the progress bar is drawn: stderr is a terminal and `--quiet` was not given.
fn progress_shown(args: &MapArgs) -> bool {
    !args.quiet && io::stderr().is_terminal()
}

/// Writes outcomes as JSON Lines (or one array), with a progress bar on a terminal.
struct OutputWriter {
    out: BufWriter<io::Stdout>,
    ordered: bool,
    keep_going: bool,
    json_array: bool,
    source: InputSource,
    progress: ProgressBar,
    written: u64,
    failed: u64,
    stats: Option<Stats>,
}

/// Why writing stopped early.
enum Stop {
    /// Stdout failed; the exit that says so.
    Output(Exit),
}

impl From<io::Error> for Stop {
    fn from(error: io::Error) -> Self {
        Self::Output(output_failed(&error))
    }
}

impl OutputWriter {
    fn new(args: &MapArgs, total: Option<u64>, source: InputSource, stats: Option<Stats>) -> Self {
        let progress = if progress_shown(args) {
            progress_bar(total)
        } else {
            ProgressBar::hidden()
        };
        Self {
            out: BufWriter::with_capacity(64 << 10, io::stdout()),
            ordered: !args.unordered,
            keep_going: args.keep_going,
            json_array: args.json_array,
            source,
            progress,
            written: 0,
            failed: 0,
            stats,
        }
    }

    /// Writes every outcome; stops at the first failure unless keep-going, or when stdout
    /// fails (a closed pipe: quietly, with success).
    /// The map's end is said once everything is written and the progress bar is gone.
    fn write_all(&mut self, outcomes: hecaton::RawImap<'_>, interrupted: &AtomicBool) -> Exit {
        let (exit, last_word) = match self.write_outcomes(outcomes, interrupted) {
            Ok(ending) => ending,
            Err(Stop::Output(exit)) => {
                self.progress.finish_and_clear();
                return exit;
            }
        };
        if let Err(Stop::Output(exit)) = self.finish() {
            return exit;
        }
        if let Some(message) = last_word {
            say(message);
        }
        exit
    }

    /// Writes the outcomes; the exit, and what to say at the end (a failure, an interrupt).
    fn write_outcomes(
        &mut self,
        mut outcomes: hecaton::RawImap<'_>,
        interrupted: &AtomicBool,
    ) -> Result<(Exit, Option<String>), Stop> {
        let mut exit = Exit::Success;
        if self.json_array {
            self.out.write_all(b"[")?;
        }
        loop {
            // Flush what is written before waiting, so that output streams.
            let next = match outcomes.try_next() {
                Some(outcome) => Some(outcome),
                None => {
                    self.out.flush()?;
                    outcomes.next()
                }
            };
            let Some(outcome) = next else { break };
            self.progress.inc(1);
            if let Some(stats) = &mut self.stats {
                stats.record(&outcome);
            }
            if interrupted.load(Ordering::SeqCst) && outcome.result == Err(TaskError::Cancelled) {
                return self.interrupt(outcome, outcomes);
            }
            let record = match &outcome.result {
                Ok(output) => self.output_record(outcome.index, output),
                Err(_) if self.keep_going => {
                    exit = Exit::TaskFailed;
                    self.failed += 1;
                    self.progress.set_message(format!("{} failed", self.failed));
                    self.error_record(&outcome)
                }
                Err(error) => {
                    let message = format!(
                        "input {}{} failed{}: {error}",
                        outcome.index,
                        self.place(outcome.index),
                        attempts_note(outcome.attempts)
                    );
                    return Ok((Exit::of(error), Some(message)));
                }
            };
            self.write_record(&record)?;
        }
        Ok((exit, None))
    }

    /// Where input `index` came from, for a message: ` (line N)`, or nothing for an argument.
    fn place(&self, index: usize) -> String {
        match self.source {
            InputSource::Lines => format!(" (line {})", index + 1),
            InputSource::Arguments => String::new(),
        }
    }

    /// Ctrl-C: the first unfinished input is `gap`. Unordered, every finished output is still
    /// written; ordered, nothing after the gap can be, and the count of those lost is reported.
    fn interrupt(
        &mut self,
        gap: Outcome,
        outcomes: hecaton::RawImap<'_>,
    ) -> Result<(Exit, Option<String>), Stop> {
        let mut lost = 0u64;
        for outcome in outcomes {
            match (&outcome.result, self.ordered) {
                (Ok(output), false) => {
                    let record = self.output_record(outcome.index, output);
                    self.write_record(&record)?;
                }
                (Ok(_), true) => lost += 1,
                (Err(_), _) => {}
            }
        }
        let message = if self.ordered {
            format!(
                "interrupted at input {}: {} outputs written; {lost} finished outputs after it were not written (ordered output)",
                gap.index, self.written
            )
        } else {
            format!("interrupted: {} outputs written", self.written)
        };
        Ok((Exit::Interrupted, Some(message)))
    }

    /// Closes the array, flushes, clears the progress bar, reports the stats.
    fn finish(&mut self) -> Result<(), Stop> {
        self.progress.finish_and_clear();
        if self.json_array {
            self.out.write_all(b"]\n")?;
        }
        self.out.flush()?;
        if let Some(stats) = self.stats.take() {
            let _ = writeln!(io::stderr().lock(), "{}", stats.report());
        }
        Ok(())
    }

    /// An output's line: the task's JSON (which the host re-encoded itself: one line of valid
    /// JSON whatever the guest wrote), or a command's record; with its index when unordered.
    fn output_record(&self, index: usize, output: &TaskOutput) -> Vec<u8> {
        let value = match output {
            TaskOutput::Json(bytes) => bytes.clone(),
            TaskOutput::Command(output) => json_line(&command_json(output)),
            _ => b"null".to_vec(),
        };
        if self.ordered {
            value
        } else {
            let mut record = format!("{{\"index\":{index},\"output\":").into_bytes();
            record.extend_from_slice(&value);
            record.push(b'}');
            record
        }
    }

    fn error_record(&self, outcome: &Outcome) -> Vec<u8> {
        let (kind, message) = match &outcome.result {
            Err(error) => (error.kind(), error.to_string()),
            Ok(_) => ("none", String::new()),
        };
        let mut record = json!({
            "index": outcome.index,
            "attempts": outcome.attempts,
            "error": {"kind": kind, "message": message},
        });
        if self.source == InputSource::Lines {
            record["line"] = json!(outcome.index + 1);
        }
        json_line(&record)
    }

    fn write_record(&mut self, record: &[u8]) -> io::Result<()> {
        if self.json_array {
            if self.written > 0 {
                self.out.write_all(b", ")?;
            }
            self.out.write_all(record)?;
        } else {
            self.out.write_all(record)?;
            self.out.write_all(b"\n")?;
        }
        self.written += 1;
        Ok(())
    }
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

/// A command's record: its exit code, and each stream as a string when it is UTF-8, else
/// losslessly as `stdout_base64` / `stderr_base64` (never decoded with replacement characters).
fn command_json(output: &CommandOutput) -> Value {
    use base64::Engine as _;
    let mut record = json!({"exit_code": output.exit_code});
    for (name, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        match std::str::from_utf8(bytes) {
            Ok(text) => record[name] = json!(text),
            Err(_) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                record[format!("{name}_base64")] = json!(encoded);
            }
        }
    }
    record
}

/// `value` as a line hecaton writes: JSON with every control character escaped.
fn json_line(value: &Value) -> Vec<u8> {
    // A `Value` always serializes: its map keys are strings.
    hecaton::to_json_line(value).unwrap_or_else(|_| b"null".to_vec())
}

fn progress_bar(total: Option<u64>) -> ProgressBar {
    let rate = |state: &ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = write!(w, "{:.0}/s", state.per_sec());
    };
    let bar = match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} tasks  {rate}  ETA {eta}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key("rate", rate),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {pos} tasks  {rate}  {elapsed}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner())
                .with_key("rate", rate),
        ),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    bar
}
