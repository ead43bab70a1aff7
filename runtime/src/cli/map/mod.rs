//! `hecaton map`: a task over many inputs on every core, like Python's `Pool.map`, streaming JSON
//! Lines; for WASI commands, GNU parallel for wasm.

mod input;
mod output;
mod results;

use std::io::{self, IsTerminal};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use clap::Args;
use hecaton::cluster::Cluster;
use hecaton::{
    Canceller, CommandInput, Isolation, Job, Module, Placeholders, Pool, Scratch, TaskKind,
};
use indicatif::ProgressBar;

use crate::cli::sandbox::{LoadedTask, TaskArgs};
use crate::cli::stats::Stats;
use crate::cli::worker::NatsArgs;
use crate::cli::{Exit, say};
use input::{InputFormat, InputReader};
use output::{OutputMode, OutputWriter};
use results::Results;

/// Run a task over many inputs, each in a fresh sandboxed instance, on all cores.
///
/// Inputs are the INPUTS, or the lines of --input FILE, or the lines of stdin: one JSON value per
/// line (JSON Lines; blank lines at the end are skipped). Outputs are JSON Lines on stdout in
/// input order, one per input, written as soon as they are ready, while the input is still
/// being read. With --unordered each line is `{"index":N,"output":V}` as tasks complete.
/// Without --keep-going the first failure stops the map: every output before it is written,
/// and the failure is named on stderr with its input index and line. Every line written is
/// JSON that hecaton encoded itself; a guest's prints reach stderr escaped, each line prefixed
/// with `[input N]`.
///
/// A WASI command (no --invoke, the module has `_start`) is mapped as GNU parallel maps a
/// program: its fixed arguments follow `--` (or are given with --argv), in which `{}` stands for
/// the input (`{.}` without extension, `{/}` its file name, `{//}` its folder, `{/.}` the file
/// name without extension) and `{#}` for its index, and inputs follow `:::` (or come from stdin
/// or --input).
/// Each input is the command's stdin (the default), or its argument (--arg, or a `{}`); an input
/// is text: a line or argument as written (as parallel takes it; a JSON string is decoded), or
/// any bytes with --lines. Each output is
/// `{"exit_code":N,"stdout":"…","stderr":"…"}`; a stream that is not UTF-8 comes back as
/// `"stdout_base64"` / `"stderr_base64"` instead, never altered.
///
/// Options are read wherever they stand, before or after the inputs. For a function task, an
/// input that starts with `-` (other than a number) goes after `--`, as with xargs.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  hecaton map examples/guests/square --invoke square 1 2 3 4 5      (prints 1 4 9 16 25, one per line)
  seq 1 1000000 | hecaton map square.wasm --invoke square -j2
  hecaton map prog.wasm --lines --arg < names.txt
  hecaton map cc1.wasm --dir src::/in --scratch /out -- -quiet /in/{} -o /out/{}.s ::: a.c b.c
  hecaton map render.wasm --raw -- {} < svgs.txt > all.png
  hecaton map tool.wasm --results out/ --fail-nonzero --keep-going -- -v {} ::: -x -y

GNU parallel's spellings: `{}` `{.}` `{/}` `{//}` `{/.}` `{#}` `:::` as parallel's (`{#}` counts
from 0 here); -I STR is parallel's -I; --raw is
`parallel -k`; --results DIR is `parallel --results DIR`; --fail-nonzero with fail-fast is
`--halt now,fail=1`, with --keep-going parallel's default; --scratch is a `mktemp -d` per job.")]
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
    #[arg(long, conflicts_with_all = ["unordered", "raw"], help_heading = INPUT_OUTPUT)]
    json_array: bool,
    /// A command's stdout bytes as they are, input after input in input order (as completed
    /// with --unordered), instead of JSON records: `parallel -k`. Its stderr goes to stderr,
    /// escaped, each line prefixed `[input N]`; a failure is said on stderr.
    #[arg(long, help_heading = INPUT_OUTPUT)]
    raw: bool,
    /// Also keep each input's outcome as files under DIR/<index>/: `stdout`, `stderr` and
    /// `exit_code` of a command (raw bytes), `record.json` (the input's JSON record, as written
    /// on stdout), and with --scratch what the command left there: `parallel --results DIR`.
    /// An index folder already there is replaced.
    #[arg(long, value_name = "DIR", help_heading = INPUT_OUTPUT)]
    results: Option<PathBuf>,
    /// Print figures at the end, on stderr: items, failures by kind, wall time (and the module's
    /// load time before it), tasks/s, mean and p99 task time, peak memory of a task.
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
    /// Each input is the command's stdin (the default without a `{}`; with one, the input is
    /// both placed and the stdin).
    #[arg(long, conflicts_with = "arg", help_heading = COMMANDS)]
    stdin: bool,
    /// Each input is an argument: where a placeholder (`{}`…) stands, else appended last; stdin
    /// is empty.
    #[arg(long, help_heading = COMMANDS)]
    arg: bool,
    /// Inputs are raw lines (any bytes on stdin; UTF-8 in an argument), not JSON.
    #[arg(long, help_heading = COMMANDS)]
    lines: bool,
    /// A fixed argument, before those after `--` (repeatable; `--argv=-v` for one that starts
    /// with `-`). `{}` `{.}` `{/}` `{//}` `{/.}` in it stand for the input and `{#}` for its
    /// index (from 0), as GNU parallel's.
    #[arg(long = "argv", value_name = "ARG", allow_hyphen_values = true, help_heading = COMMANDS)]
    argv: Vec<String>,
    /// Only STR stands for the input in the fixed arguments (parallel's `-I`), and `{#}` for its
    /// index: braces of their own (a script's `d = {}`) then pass as written.
    #[arg(short = 'I', long = "replace", value_name = "STR", value_parser = clap::builder::NonEmptyStringValueParser::new(), help_heading = COMMANDS)]
    replace: Option<String>,
    /// A fresh, empty read-write folder for each input, seen at GUEST by the command (`-o
    /// GUEST/x.png` maps cleanly); removed after the task, or kept as DIR/<index>/GUEST with
    /// --results DIR. May be given more than once (`--scratch /out --scratch /tmp`).
    #[arg(long, value_name = "GUEST", help_heading = COMMANDS)]
    scratch: Vec<String>,
    /// A non-zero exit code is a failure of that input, its record then holding the command's
    /// output; fail-fast stops there, --keep-going goes on and exits 1, --retries runs it again.
    #[arg(long, help_heading = COMMANDS)]
    fail_nonzero: bool,
    #[command(flatten, next_help_heading = MANY_MACHINES)]
    nats: NatsArgs,
    /// The inputs, as JSON values (a word that is not JSON is a string).
    #[arg(value_name = "INPUTS", allow_negative_numbers = true)]
    inputs: Vec<String>,
    /// After `--`: a command's fixed arguments, then `:::` and more inputs (`-- -O2 {} -o -
    /// ::: a.c b.c`); for a function task, more inputs (those that start with `-`).
    #[arg(last = true, value_name = "ARGS")]
    after_dashes: Vec<String>,
}

const INPUT_OUTPUT: &str = "Inputs and outputs";
const SCHEDULING: &str = "Scheduling";
const COMMANDS: &str = "WASI commands (a module with `_start`, no --invoke)";
const MANY_MACHINES: &str = "Many machines (the tasks run on `hecaton worker`s)";

/// Flags only a WASI command's map takes.
const COMMAND_FLAGS: [&str; 8] = [
    "--stdin",
    "--arg",
    "--lines",
    "--argv",
    "--raw",
    "--scratch",
    "--fail-nonzero",
    "-I",
];

pub(crate) fn main(args: MapArgs) -> anyhow::Result<Exit> {
    let loading = std::time::Instant::now();
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
    let line = args.command_line(command)?;
    let placement = Placement::new(&args, &sandbox, &engine, isolation)?;
    let results = args.results.as_deref().map(Results::create).transpose()?;
    let scratch = args.scratch_root(results.as_ref())?;
    let format = args.input_format(command, &line.fixed);
    let mut job = if command {
        let placeholders = args.placeholders();
        let placed = line.fixed.iter().any(|arg| placeholders.places_input(arg));
        let input = if args.arg || (placed && !args.stdin) {
            CommandInput::Arg
        } else {
            CommandInput::Stdin
        };
        let mut job = placement
            .command_job(&module, line.fixed, input)?
            .fail_nonzero(args.fail_nonzero)
            .placeholders(placeholders);
        if let Some(scratch) = &scratch {
            job = job.scratch(scratch.clone())?;
        }
        job
    } else {
        placement.job(&module, &task)?
    };
    if let Some(chunksize) = args.chunksize {
        job = job.chunksize(chunksize as usize);
    }
    let reader = InputReader::new(&args, line.inputs, format)?;
    let malformed = reader.malformed();
    let stats = args
        .stats
        .then(|| Stats::new(engine.reset_check().clone(), loading.elapsed()));
    let mode = if args.raw {
        OutputMode::Raw
    } else if args.json_array {
        OutputMode::JsonArray
    } else {
        OutputMode::JsonLines
    };
    let results = results.map(|results| results.with_scratch(scratch.as_ref()));
    let mut writer = OutputWriter::new(&args, mode, reader.total(), reader.source(), stats)
        .with_results(results);
    let interrupted = on_ctrl_c(placement.canceller(), writer.progress())?;
    let outcomes = job.imap_raw(reader, !args.unordered)?;
    let exit = writer.write_all(outcomes, &interrupted);
    drop(writer);
    if let Some(scratch) = &scratch {
        // Every task has ended: what is left of the scratch root (folders of inputs a fail-fast
        // map never wrote) goes.
        let _ = std::fs::remove_dir_all(scratch.root());
        if args.results.is_none() && !args.quiet {
            let kept: Vec<String> = scratch
                .guests()
                .iter()
                .map(|guest| format!("DIR/N/{}", Scratch::relative(guest).display()))
                .collect();
            say(format_args!(
                "--scratch {}: each input's folder was removed when its command ended; to keep \
                 what the commands wrote there, add --results DIR (input N's files are then in \
                 {})",
                scratch.guests().join(" --scratch "),
                kept.join(" and ")
            ));
        }
    }
    if let (Some((line, message)), Exit::Success) = (malformed.take(), exit) {
        say(format_args!("input line {line} is not valid: {message}"));
        return Ok(Exit::Usage);
    }
    Ok(exit)
}

/// A map's command line, split: a command's fixed arguments, and the inputs given as arguments.
struct CommandLine {
    fixed: Vec<String>,
    inputs: Vec<String>,
}

/// `args` without a `:::` that opens them (`map PROG ::: a b`, as parallel spells it).
fn without_leading_separator(args: &[String]) -> &[String] {
    match args.split_first() {
        Some((first, rest)) if first == ":::" => rest,
        _ => args,
    }
}

/// Refuses a GNU parallel input separator left among `args`, naming it.
fn refuse_separators<'a>(mut args: impl Iterator<Item = &'a String>) -> anyhow::Result<()> {
    let Some(separator) = args.find(|arg| [":::", "::::", ":::+", "::::+"].contains(&arg.as_str()))
    else {
        return Ok(());
    };
    match separator.as_str() {
        ":::" => bail!(
            "a second `:::`: GNU parallel's cartesian product of several input sources is not \
             supported; give one list of inputs"
        ),
        "::::" => bail!(
            "`::::` (GNU parallel's inputs read from files) is not supported: use --input FILE"
        ),
        other => bail!(
            "`{other}` (GNU parallel's linked input sources) is not supported; give one list \
             of inputs"
        ),
    }
}

impl MapArgs {
    /// The fixed arguments (`--argv`, then those after `--` up to `:::`) and the argument
    /// inputs (INPUTS, then those after `:::`); for a function task, everything after `--` is an
    /// input.
    ///
    /// GNU parallel's input separators are taken as parallel takes them or refused by name,
    /// never passed on as an input or an argument: one `:::` before the inputs (`map PROG :::
    /// a b`, or after the fixed arguments); a second `:::` (parallel's cartesian product of
    /// sources), `::::` (inputs from files) and the linked `:::+` / `::::+` are refused.
    fn command_line(&self, command: bool) -> anyhow::Result<CommandLine> {
        let inputs = without_leading_separator(&self.inputs);
        if !command {
            if let Some(flag) = self.command_flag() {
                bail!(
                    "{flag} is for a WASI command (a module with `_start`, without --invoke); \
                     this map runs a function task"
                );
            }
            let more = without_leading_separator(&self.after_dashes);
            refuse_separators(inputs.iter().chain(more))?;
            return Ok(CommandLine {
                fixed: Vec::new(),
                inputs: inputs.iter().chain(more).cloned().collect(),
            });
        }
        let (template, more) = match self.after_dashes.iter().position(|arg| arg == ":::") {
            Some(at) => (&self.after_dashes[..at], &self.after_dashes[at + 1..]),
            None => (&self.after_dashes[..], &[][..]),
        };
        refuse_separators(inputs.iter().chain(template).chain(more))?;
        if !more.is_empty() && self.input.is_some() {
            bail!("inputs after `:::` and --input FILE: give the inputs one way");
        }
        Ok(CommandLine {
            fixed: self.argv.iter().chain(template).cloned().collect(),
            inputs: inputs.iter().chain(more).cloned().collect(),
        })
    }

    /// The first flag given that only a command's map takes.
    fn command_flag(&self) -> Option<&'static str> {
        let given = [
            self.stdin,
            self.arg,
            self.lines,
            !self.argv.is_empty(),
            self.raw,
            !self.scratch.is_empty(),
            self.fail_nonzero,
            self.replace.is_some(),
        ];
        COMMAND_FLAGS
            .iter()
            .zip(given)
            .find_map(|(flag, given)| given.then_some(*flag))
    }

    /// Which strings of the fixed arguments stand for the input.
    fn placeholders(&self) -> Placeholders {
        match &self.replace {
            Some(token) => Placeholders::Input(token.clone()),
            None => Placeholders::Parallel,
        }
    }

    /// How each input line or argument is read.
    fn input_format(&self, command: bool, fixed: &[String]) -> InputFormat {
        let placeholders = self.placeholders();
        let placed = fixed.iter().any(|arg| placeholders.places_input(arg));
        match (command, self.lines, self.arg || placed) {
            (false, _, _) => InputFormat::Json,
            (true, false, _) => InputFormat::CommandText,
            (true, true, false) => InputFormat::CommandRawStdin,
            (true, true, true) => InputFormat::CommandRawText,
        }
    }

    /// The scratch folders' root, when --scratch asks for them: beside the results (kept and
    /// moved in), or in the system's temporary folder (each removed after its task).
    fn scratch_root(&self, results: Option<&Results>) -> anyhow::Result<Option<Scratch>> {
        let Some((first, more)) = self.scratch.split_first() else {
            return Ok(None);
        };
        for guest in &self.scratch {
            results::check_scratch_name(guest)?;
        }
        let scratch = match results {
            Some(results) => Scratch::new(first.clone(), results.scratch_root()).keep(true),
            None => {
                let unique = format!(
                    "hecaton-scratch-{}-{}",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |time| time.as_nanos())
                );
                Scratch::new(first.clone(), std::env::temp_dir().join(unique))
            }
        };
        Ok(Some(more.iter().fold(scratch, |scratch, guest| {
            scratch.also(guest.clone())
        })))
    }
}

/// Where a map's tasks run: this machine's pool, or a cluster's workers (`--nats`).
enum Placement {
    Pool(Pool),
    Cluster(Cluster),
}

impl Placement {
    fn new(
        args: &MapArgs,
        sandbox: &crate::cli::sandbox::SandboxArgs,
        engine: &hecaton::Engine,
        isolation: Isolation,
    ) -> anyhow::Result<Self> {
        let Some(connection) = args.nats.connection() else {
            // The pool runs on the engine the module was compiled for: Ctrl-C interrupts its
            // tasks at once.
            let mut builder = Pool::builder()
                .engine(engine)
                .limits(sandbox.limits())
                .capabilities(sandbox.capabilities()?)
                .retries(args.retries)
                .isolation(isolation);
            if let Some(workers) = args.workers {
                builder = builder.workers(workers as usize);
            }
            return Ok(Self::Pool(builder.build()?));
        };
        if args.workers.is_some() {
            bail!(
                "-j sets this machine's threads; a map with --nats runs on its workers' (`hecaton \
                 worker -j N`)"
            );
        }
        if args.results.is_some() && !args.scratch.is_empty() {
            bail!(
                "--results with --scratch: with --nats the scratch folders are on the workers' \
                 machines (--results keeps each input's record, stdout and stderr)"
            );
        }
        let mut builder = Cluster::builder(connection)
            .engine(engine)
            .limits(sandbox.limits())
            .retries(args.retries)
            .isolation(isolation)
            .notices(Arc::new(|text: &str| say(text)));
        for (host, guest, access) in sandbox.dir_requests() {
            builder = builder.request_dir(host, guest, access);
        }
        for (key, value) in sandbox.variables() {
            builder = builder.request_env(key, value.map(str::to_owned));
        }
        Ok(Self::Cluster(builder.connect()?))
    }

    fn job(&self, module: &Module, task: &str) -> Result<Job<'_>, hecaton::Error> {
        match self {
            Self::Pool(pool) => pool.job(module, task),
            Self::Cluster(cluster) => cluster.job(module, task),
        }
    }

    fn command_job(
        &self,
        module: &Module,
        args: Vec<String>,
        input: CommandInput,
    ) -> Result<Job<'_>, hecaton::Error> {
        match self {
            Self::Pool(pool) => pool.command_job(module, args, input),
            Self::Cluster(cluster) => cluster.command_job(module, args, input),
        }
    }

    fn canceller(&self) -> Canceller {
        match self {
            Self::Pool(pool) => pool.canceller(),
            Self::Cluster(cluster) => cluster.canceller(),
        }
    }
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
fn on_ctrl_c(canceller: Canceller, progress: ProgressBar) -> anyhow::Result<Arc<AtomicBool>> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
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

/// Whether the progress bar is drawn: stderr is a terminal and `--quiet` was not given.
fn progress_shown(args: &MapArgs) -> bool {
    !args.quiet && io::stderr().is_terminal()
}
