//! `hecaton map`: a task over many inputs on every core, like Python's `Pool.map`, streaming JSON
//! Lines; for WASI commands, GNU parallel for wasm.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::rc::Rc;

use anyhow::{Context, bail};
use clap::Args;
use hecaton::{
    CommandInput, CommandOutput, Isolation, Outcome, Pool, TaskError, TaskKind, TaskOutput,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::Exit;
use crate::cli::sandbox::{LoadedTask, TaskArgs};
use crate::cli::stats::Stats;

/// Run a task over many inputs, each in a fresh sandboxed instance, on all cores.
///
/// Inputs are the ARGS, or the lines of --input FILE, or the lines of stdin: one JSON value per
/// line (JSON Lines). Outputs are JSON Lines on stdout in input order, one per input, starting
/// before the input ends. With --unordered each line is `{"index":N,"output":V}` as tasks
/// complete. Without --keep-going the first failure stops the map: every output before it is
/// written, and the failure is named on stderr with its input index and line.
///
/// A WASI command (no --invoke, the module has `_start`) gets each input as its stdin (--stdin,
/// the default; a JSON string, or any raw line with --lines) or as its last argument (--arg), and
/// each output is `{"exit_code":N,"stdout":"…","stderr":"…"}`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  hecaton map examples/guests/square --invoke square 1 2 3 4 5      (prints 1 4 9 16 25, one per line)
  seq 1 1000000 | hecaton map square.wasm --invoke square
  hecaton map prog.wasm --lines --arg < names.txt")]
pub(crate) struct MapArgs {
    #[command(flatten)]
    task: TaskArgs,
    /// Read inputs from this file, one per line, instead of stdin.
    #[arg(long, value_name = "FILE", conflicts_with = "inputs")]
    input: Option<PathBuf>,
    /// Worker threads [default: HECATON_WORKERS, else the number of cores].
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    workers: Option<u32>,
    /// Inputs per chunk [default: auto: Python's rule (4 chunks per worker, at most 16384 inputs
    /// each) for known lengths, adaptive for streams].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    chunksize: Option<u32>,
    /// Write outputs as they complete, each with its input index.
    #[arg(long)]
    unordered: bool,
    /// Write an error record for a failed input and go on; exit 1 if any failed.
    #[arg(long)]
    keep_going: bool,
    /// Write the outputs as one JSON array instead of JSON Lines.
    #[arg(long, conflicts_with = "unordered")]
    json_array: bool,
    /// Print figures at the end, on stderr: items, failures by kind, wall time, tasks/s, mean
    /// and p99 task time, peak memory of a task.
    #[arg(long)]
    stats: bool,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// Command: each input is the command's stdin (the default).
    #[arg(long, conflicts_with = "arg")]
    stdin: bool,
    /// Command: each input is appended to the command's arguments.
    #[arg(long)]
    arg: bool,
    /// Command: inputs are raw lines, not JSON strings.
    #[arg(long)]
    lines: bool,
    /// Command: an argument before the input (repeatable).
    #[arg(long = "argv", value_name = "ARG")]
    argv: Vec<String>,
    /// Run a failed input again, each time in a fresh instance, up to N more times.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: u32,
    /// How many tasks share an instance: `task` (a fresh instance for every input, the
    /// strongest), `chunk` (one per chunk of inputs, shared by its inputs in turn) or `worker`
    /// (one per worker thread, see --max-tasks-per-instance). Sharing is faster for tiny tasks
    /// and weaker: a task sees what the earlier ones left in memory. A failed task's instance is
    /// never shared; a WASI command always runs in a fresh one.
    #[arg(long, value_enum, default_value_t = IsolationArg::Task)]
    isolation: IsolationArg,
    /// With --isolation worker: replace a worker's instance after N tasks (Python's
    /// maxtasksperchild) [default: never, within the map].
    #[arg(long, value_name = "N")]
    max_tasks_per_instance: Option<NonZeroUsize>,
    /// The inputs, as JSON values (a word that is not JSON is a string); put options before them.
    #[arg(
        value_name = "INPUTS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    inputs: Vec<String>,
}

pub(crate) fn main(args: MapArgs) -> anyhow::Result<Exit> {
    let LoadedTask {
        sandbox,
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
    let malformed = Rc::clone(&reader.malformed);
    let total = reader.total;
    let interrupted = on_ctrl_c(&pool)?;
    let outcomes = job.imap_raw(reader, !args.unordered);
    let mut writer = OutputWriter::new(&args, total, interrupted);
    let exit = writer.write_all(outcomes)?;
    if let Some((line, message)) = malformed.borrow_mut().take() {
        eprintln!("hecaton: input line {line} is not valid: {message}");
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
/// a second one exits at once.
fn on_ctrl_c(pool: &Pool) -> anyhow::Result<Arc<AtomicBool>> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    let canceller = pool.canceller();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        canceller.cancel();
    })
    .context("cannot install the Ctrl-C handler")?;
    Ok(interrupted)
}

/// A line that is not a valid input: its number and what is wrong.
type Malformed = Rc<RefCell<Option<(usize, String)>>>;

/// Input lines as they are read.
type Lines = Box<dyn Iterator<Item = io::Result<Vec<u8>>>>;

/// The inputs, read lazily: arguments, or the lines of a file or stdin.
struct InputReader {
    lines: Lines,
    /// Inputs that must be JSON (function and numeric tasks) or a command's JSON strings.
    format: InputFormat,
    keep_going: bool,
    line: usize,
    /// Set by a fail-fast map at the first malformed line, which ends the input.
    malformed: Malformed,
    total: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum InputFormat {
    Json,
    CommandJsonString,
    CommandRaw,
}

impl InputReader {
    fn new(args: &MapArgs, command: bool) -> anyhow::Result<Self> {
        let format = match (command, args.lines) {
            (false, _) => InputFormat::Json,
            (true, false) => InputFormat::CommandJsonString,
            (true, true) => InputFormat::CommandRaw,
        };
        let (lines, total): (Lines, Option<u64>) = if !args.inputs.is_empty() {
            let inputs: Vec<Vec<u8>> = args
                .inputs
                .iter()
                .map(|arg| argument_input(arg, format))
                .collect();
            let total = inputs.len() as u64;
            (Box::new(inputs.into_iter().map(Ok)), Some(total))
        } else if let Some(path) = &args.input {
            let file = File::open(path)
                .with_context(|| format!("cannot open input file {}", path.display()))?;
            (Box::new(lines_of(BufReader::new(file))), None)
        } else {
            (Box::new(lines_of(io::stdin().lock())), None)
        };
        Ok(Self {
            lines,
            format,
            keep_going: args.keep_going,
            line: 0,
            malformed: Rc::default(),
            total,
        })
    }

    /// Checks one line; `Err` is a line that is not a valid input.
    fn parse(&self, line: Vec<u8>) -> Result<Vec<u8>, String> {
        match self.format {
            InputFormat::CommandRaw => Ok(line),
            InputFormat::Json => match serde_json::from_slice::<serde::de::IgnoredAny>(&line) {
                Ok(_) => Ok(line),
                Err(error) => Err(format!(
                    "not JSON ({error}): {}",
                    String::from_utf8_lossy(&line)
                )),
            },
            InputFormat::CommandJsonString => match serde_json::from_slice::<String>(&line) {
                Ok(text) => Ok(text.into_bytes()),
                Err(error) => Err(format!(
                    "not a JSON string ({error}); use --lines for raw lines: {}",
                    String::from_utf8_lossy(&line)
                )),
            },
        }
    }
}

impl Iterator for InputReader {
    type Item = Result<Vec<u8>, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.malformed.borrow().is_some() {
            return None;
        }
        let line = self.lines.next()?;
        self.line += 1;
        let parsed = line
            .map_err(|error| format!("cannot read: {error}"))
            .and_then(|line| self.parse(line));
        match parsed {
            Ok(input) => Some(Ok(input)),
            Err(message) if self.keep_going => Some(Err(TaskError::BadInput {
                message: format!("line {}: {message}", self.line),
            })),
            Err(message) => {
                *self.malformed.borrow_mut() = Some((self.line, message));
                None
            }
        }
    }
}

/// The lines of `reader` without their line ending.
fn lines_of(reader: impl BufRead + 'static) -> impl Iterator<Item = io::Result<Vec<u8>>> {
    reader.split(b'\n').map(|line| {
        line.map(|mut line| {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            line
        })
    })
}

/// An argument as an input: JSON as it is, any other word as a JSON string (function tasks); the
/// text itself (commands).
fn argument_input(arg: &str, format: InputFormat) -> Vec<u8> {
    match format {
        InputFormat::Json if serde_json::from_str::<serde::de::IgnoredAny>(arg).is_ok() => {
            arg.as_bytes().to_vec()
        }
        InputFormat::Json => Value::String(arg.to_owned()).to_string().into_bytes(),
        InputFormat::CommandJsonString | InputFormat::CommandRaw => arg.as_bytes().to_vec(),
    }
}

/// Writes outcomes as JSON Lines (or one array), with a progress bar on a terminal.
struct OutputWriter {
    out: BufWriter<io::StdoutLock<'static>>,
    ordered: bool,
    keep_going: bool,
    json_array: bool,
    progress: ProgressBar,
    written: u64,
    interrupted: Arc<AtomicBool>,
    stats: Option<Stats>,
}

impl OutputWriter {
    fn new(args: &MapArgs, total: Option<u64>, interrupted: Arc<AtomicBool>) -> Self {
        let progress = if args.quiet || !io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            progress_bar(total)
        };
        Self {
            out: BufWriter::with_capacity(64 << 10, io::stdout().lock()),
            ordered: !args.unordered,
            keep_going: args.keep_going,
            json_array: args.json_array,
            progress,
            written: 0,
            interrupted,
            stats: args.stats.then(Stats::new),
        }
    }

    /// Writes every outcome; stops at the first failure unless keep-going.
    fn write_all(&mut self, mut outcomes: hecaton::RawImap<'_>) -> anyhow::Result<Exit> {
        let mut exit = Exit::Success;
        if self.json_array {
            self.out.write_all(b"[")?;
        }
        loop {
            // Flush what is written before waiting, so that output streams.
            let next = match outcomes.try_next() {
                Some(outcome) => Some(outcome),
                None => {
                    if self.flush().is_err() {
                        return Ok(Exit::Success);
                    }
                    outcomes.next()
                }
            };
            let Some(outcome) = next else { break };
            self.progress.inc(1);
            if let Some(stats) = &mut self.stats {
                stats.record(&outcome);
            }
            if self.interrupted.load(Ordering::SeqCst)
                && outcome.result == Err(TaskError::Cancelled)
            {
                return self.interrupt(outcome, outcomes);
            }
            let record = match &outcome.result {
                Ok(output) => self.output_record(outcome.index, output),
                Err(_) if self.keep_going => {
                    exit = Exit::TaskFailed;
                    self.error_record(&outcome)
                }
                Err(error) => {
                    self.finish()?;
                    eprintln!(
                        "hecaton: input {} (line {}) failed{}: {error}",
                        outcome.index,
                        outcome.index + 1,
                        attempts_note(outcome.attempts)
                    );
                    return Ok(Exit::of(error));
                }
            };
            if self.write_record(&record).is_err() {
                // A closed stdout (`| head`) is not an error.
                return Ok(Exit::Success);
            }
        }
        self.finish()?;
        Ok(exit)
    }

    /// Ctrl-C: the first unfinished input is `gap`. Unordered, every finished output is still
    /// written; ordered, nothing after the gap can be, and the count of those lost is reported.
    fn interrupt(&mut self, gap: Outcome, outcomes: hecaton::RawImap<'_>) -> anyhow::Result<Exit> {
        let mut lost = 0u64;
        for outcome in outcomes {
            match (&outcome.result, self.ordered) {
                (Ok(output), false) => {
                    let record = self.output_record(outcome.index, output);
                    let _ = self.write_record(&record);
                }
                (Ok(_), true) => lost += 1,
                (Err(_), _) => {}
            }
        }
        self.finish()?;
        if self.ordered {
            eprintln!(
                "hecaton: interrupted at input {}: {} outputs written; {lost} finished outputs after it were not written (ordered output)",
                gap.index, self.written
            );
        } else {
            eprintln!("hecaton: interrupted: {} outputs written", self.written);
        }
        Ok(Exit::Interrupted)
    }

    /// Closes the array, flushes, clears the progress bar, reports the stats.
    fn finish(&mut self) -> anyhow::Result<()> {
        self.finish_array()?;
        let _ = self.flush();
        self.progress.finish_and_clear();
        if let Some(stats) = &self.stats {
            eprintln!("{}", stats.report());
        }
        Ok(())
    }

    fn output_record(&self, index: usize, output: &TaskOutput) -> Vec<u8> {
        let value = match output {
            TaskOutput::Json(bytes) if !bytes.contains(&b'\n') => bytes.clone(),
            TaskOutput::Json(bytes) => serde_json::from_slice::<Value>(bytes)
                .map_or_else(|_| bytes.clone(), |value| value.to_string().into_bytes()),
            TaskOutput::Command(output) => command_json(output).to_string().into_bytes(),
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
        json!({
            "index": outcome.index,
            "line": outcome.index + 1,
            "attempts": outcome.attempts,
            "error": {"kind": kind, "message": message},
        })
        .to_string()
        .into_bytes()
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

    fn finish_array(&mut self) -> io::Result<()> {
        if self.json_array {
            self.out.write_all(b"]\n")?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

fn command_json(output: &CommandOutput) -> Value {
    json!({
        "exit_code": output.exit_code,
        "stdout": String::from_utf8_lossy(&output.stdout),
        "stderr": String::from_utf8_lossy(&output.stderr),
    })
}

fn progress_bar(total: Option<u64>) -> ProgressBar {
    let bar = match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} tasks  {per_sec}  ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {pos} tasks  {per_sec}  {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    bar
}
