//! A map's outputs: JSON Lines (or one array, or a command's raw stdout) on stdout, with a
//! progress bar on a terminal, each input's files under `--results`, and the end of the map said
//! once.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use hecaton::{CommandOutput, Outcome, TaskError, TaskOutput};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use serde_json::{Value, json};

use super::input::InputSource;
use super::results::Results;
use super::{MapArgs, progress_shown};
use crate::cli::stats::Stats;
use crate::cli::{Exit, output_failed, say};

/// What stdout holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OutputMode {
    /// One JSON record per line.
    JsonLines,
    /// One JSON array of the records.
    JsonArray,
    /// A command's stdout bytes, input after input (`parallel -k`).
    Raw,
}

/// Writes outcomes to stdout (and to `--results`), with a progress bar on a terminal.
pub(super) struct OutputWriter {
    out: BufWriter<io::Stdout>,
    mode: OutputMode,
    ordered: bool,
    keep_going: bool,
    source: InputSource,
    progress: ProgressBar,
    /// Whether the progress bar is drawn on the terminal stdout also goes to: then what
    /// reaches stdout is written with the bar cleared, so that no bar line is left among the
    /// outputs.
    bar_shares_stdout: bool,
    results: Option<Results>,
    written: u64,
    failed: u64,
    stats: Option<Stats>,
}

/// Why writing stopped early.
enum Stop {
    /// Stdout or a results file failed; the exit that says so.
    Output(Exit),
}

impl From<io::Error> for Stop {
    fn from(error: io::Error) -> Self {
        Self::Output(output_failed(&error))
    }
}

impl OutputWriter {
    pub(super) fn new(
        args: &MapArgs,
        mode: OutputMode,
        total: Option<u64>,
        source: InputSource,
        stats: Option<Stats>,
    ) -> Self {
        let shown = progress_shown(args);
        let progress = if shown {
            progress_bar(total)
        } else {
            ProgressBar::hidden()
        };
        Self {
            out: BufWriter::with_capacity(64 << 10, io::stdout()),
            mode,
            ordered: !args.unordered,
            keep_going: args.keep_going,
            source,
            progress,
            bar_shares_stdout: shown && io::stdout().is_terminal(),
            results: None,
            written: 0,
            failed: 0,
            stats,
        }
    }

    /// Also writes each input's files under a results folder.
    pub(super) fn with_results(mut self, results: Option<Results>) -> Self {
        self.results = results;
        self
    }

    /// The progress bar, for the Ctrl-C handler to clear.
    pub(super) fn progress(&self) -> ProgressBar {
        self.progress.clone()
    }

    /// Writes every outcome; stops at the first failure unless keep-going, or when stdout
    /// fails (a closed pipe: quietly, with success).
    /// The map's end is said once everything is written and the progress bar is gone.
    pub(super) fn write_all(
        &mut self,
        outcomes: hecaton::RawImap<'_>,
        interrupted: &AtomicBool,
    ) -> Exit {
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
        if self.mode == OutputMode::JsonArray {
            self.write_stdout(b"[")?;
        }
        loop {
            // Flush what is written before waiting, so that output streams.
            let next = match outcomes.try_next() {
                Some(outcome) => Some(outcome),
                None => {
                    self.flush_stdout()?;
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
            self.keep_results(&outcome)?;
            match &outcome.result {
                Ok(output) => self.write_output(outcome.index, output)?,
                Err(_) if self.keep_going => {
                    exit = Exit::TaskFailed;
                    self.failed += 1;
                    self.progress.set_message(format!("{} failed", self.failed));
                    self.write_failure(&outcome)?;
                }
                Err(error) => {
                    if let (TaskError::NonZeroExit(output), OutputMode::Raw) = (error, self.mode) {
                        self.write_raw(outcome.index, output)?;
                    }
                    return Ok((Exit::of(error), Some(self.failure_message(&outcome))));
                }
            }
        }
        Ok((exit, None))
    }

    /// `input N (line N+1) failed after K attempts: …`; for a command's non-zero exit, the end
    /// of what it wrote on stderr (escaped), which says why.
    fn failure_message(&self, outcome: &Outcome) -> String {
        let error = match &outcome.result {
            Err(error @ TaskError::NonZeroExit(output)) => {
                format!("{error}{}", stderr_tail(&output.stderr))
            }
            Err(error) => error.to_string(),
            Ok(_) => String::new(),
        };
        format!(
            "input {}{} failed{}: {error}",
            outcome.index,
            self.place(outcome.index),
            attempts_note(outcome.attempts)
        )
    }

    /// Where input `index` came from, for a message: ` (line N)`, or nothing for an argument.
    fn place(&self, index: usize) -> String {
        match self.source {
            InputSource::Lines => format!(" (line {})", index + 1),
            InputSource::Arguments => String::new(),
        }
    }

    /// An output, as the mode writes it.
    fn write_output(&mut self, index: usize, output: &TaskOutput) -> io::Result<()> {
        match (self.mode, output) {
            (OutputMode::Raw, TaskOutput::Command(output)) => self.write_raw(index, output),
            _ => {
                let record = self.output_record(index, output);
                self.write_record(&record)
            }
        }
    }

    /// A failure of a keep-going map: its error record, or under `--raw` (where stdout holds
    /// only what commands wrote) its stdout if it was a command's exit, and a line on stderr.
    fn write_failure(&mut self, outcome: &Outcome) -> io::Result<()> {
        if self.mode != OutputMode::Raw {
            let record = self.error_record(outcome);
            return self.write_record(&record);
        }
        if let Err(TaskError::NonZeroExit(output)) = &outcome.result {
            self.write_raw(outcome.index, output)?;
        }
        self.progress.suspend(|| say(self.failure_message(outcome)));
        Ok(())
    }

    /// A command's stdout as it is, on stdout; its stderr on stderr, escaped and prefixed with
    /// its input.
    fn write_raw(&mut self, index: usize, output: &CommandOutput) -> io::Result<()> {
        self.write_stdout(&output.stdout)?;
        if !output.stderr.is_empty() {
            self.flush_stdout()?;
            let text = prefixed(&format!("[input {index}] "), &output.stderr);
            self.progress
                .suspend(|| io::stderr().lock().write_all(text.as_bytes()))?;
        }
        self.written += 1;
        Ok(())
    }

    /// Writes the input's files under `--results`, when asked.
    fn keep_results(&mut self, outcome: &Outcome) -> Result<(), Stop> {
        let Some(results) = &self.results else {
            return Ok(());
        };
        let record = match &outcome.result {
            Ok(output) => self.ordered_record(output),
            Err(_) => self.error_record(outcome),
        };
        let command = match &outcome.result {
            Ok(TaskOutput::Command(output)) => Some(output),
            Err(TaskError::NonZeroExit(output)) => Some(&**output),
            _ => None,
        };
        results
            .keep(outcome.index, &record, command)
            .map_err(|error| {
                self.progress.suspend(|| say(format!("{error:#}")));
                Stop::Output(Exit::Output)
            })
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
                    self.keep_results(&outcome)?;
                    self.write_output(outcome.index, output)?;
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
        if self.mode == OutputMode::JsonArray {
            self.write_stdout(b"]\n")?;
        }
        self.flush_stdout()?;
        if let Some(stats) = self.stats.take() {
            let _ = writeln!(io::stderr().lock(), "{}", stats.report());
        }
        Ok(())
    }

    /// An output's value: the task's JSON (which the host re-encoded itself: one line of valid
    /// JSON whatever the guest wrote), or a command's record.
    fn ordered_record(&self, output: &TaskOutput) -> Vec<u8> {
        match output {
            TaskOutput::Json(bytes) => bytes.clone(),
            TaskOutput::Command(output) => json_line(&Value::Object(command_fields(output))),
            _ => b"null".to_vec(),
        }
    }

    /// An output's line: its value, with its index when unordered.
    fn output_record(&self, index: usize, output: &TaskOutput) -> Vec<u8> {
        let value = self.ordered_record(output);
        if self.ordered {
            value
        } else {
            let mut record = format!("{{\"index\":{index},\"output\":").into_bytes();
            record.extend_from_slice(&value);
            record.push(b'}');
            record
        }
    }

    /// A failure's line: its index, attempts and error, its line for line inputs, and for a
    /// command's non-zero exit what the command wrote.
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
        if let (Err(TaskError::NonZeroExit(output)), Value::Object(fields)) =
            (&outcome.result, &mut record)
        {
            fields.extend(command_fields(output));
        }
        json_line(&record)
    }

    fn write_record(&mut self, record: &[u8]) -> io::Result<()> {
        if self.mode == OutputMode::JsonArray {
            if self.written > 0 {
                self.write_stdout(b", ")?;
            }
            self.write_stdout(record)?;
        } else {
            self.write_stdout(record)?;
            self.write_stdout(b"\n")?;
        }
        self.written += 1;
        Ok(())
    }

    /// Writes `bytes` to stdout's buffer; what would reach a terminal the progress bar is drawn
    /// on is written with the bar cleared (and redrawn after).
    fn write_stdout(&mut self, bytes: &[u8]) -> io::Result<()> {
        let room = self.out.capacity() - self.out.buffer().len();
        if !self.bar_shares_stdout || bytes.len() < room {
            return self.out.write_all(bytes);
        }
        let (out, progress) = (&mut self.out, &self.progress);
        progress.suspend(|| {
            out.write_all(bytes)?;
            out.flush()
        })
    }

    /// Flushes stdout, with the progress bar cleared if it is on the same terminal.
    fn flush_stdout(&mut self) -> io::Result<()> {
        if !self.bar_shares_stdout || self.out.buffer().is_empty() {
            return self.out.flush();
        }
        let (out, progress) = (&mut self.out, &self.progress);
        progress.suspend(|| out.flush())
    }
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

/// A command's fields: its exit code, and each stream as a string when it is UTF-8, else
/// losslessly as `stdout_base64` / `stderr_base64` (never decoded with replacement characters).
fn command_fields(output: &CommandOutput) -> serde_json::Map<String, Value> {
    use base64::Engine as _;
    let mut fields = serde_json::Map::new();
    fields.insert("exit_code".into(), json!(output.exit_code));
    for (name, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        match std::str::from_utf8(bytes) {
            Ok(text) => fields.insert(name.into(), json!(text)),
            Err(_) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                fields.insert(format!("{name}_base64"), json!(encoded))
            }
        };
    }
    fields
}

/// Guest text for a terminal: each line escaped and prefixed.
fn prefixed(prefix: &str, bytes: &[u8]) -> String {
    let mut text = String::new();
    for line in bytes.split(|&byte| byte == b'\n') {
        text.push_str(prefix);
        text.push_str(&hecaton::printable(line));
        text.push('\n');
    }
    if bytes.ends_with(b"\n") {
        // The split's last piece is the empty rest after the final newline.
        text.truncate(text.len() - prefix.len() - 1);
    }
    text
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

/// The last lines a command wrote on stderr (at most [`STDERR_TAIL_LINES`], each escaped), under
/// a heading; nothing when it wrote nothing.
fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.trim_end().lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let shown = &lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..];
    let omitted = lines.len() - shown.len();
    let mut tail = String::from("; its stderr ended with:");
    if omitted > 0 {
        tail.push_str(&format!("\n  ({omitted} lines before)"));
    }
    for line in shown {
        tail.push_str("\n  ");
        tail.push_str(&hecaton::printable(line.as_bytes()));
    }
    tail
}

/// How many of a failed command's last stderr lines its failure message shows.
const STDERR_TAIL_LINES: usize = 10;

#[cfg(test)]
mod tests {
    use super::prefixed;

    #[test]
    fn guest_lines_are_each_prefixed_and_escaped() {
        assert_eq!(
            prefixed("[input 3] ", b"a\nb\x1b[2J\n"),
            "[input 3] a\n[input 3] b\\u{1b}[2J\n"
        );
        assert_eq!(
            prefixed("[input 0] ", b"no newline"),
            "[input 0] no newline\n"
        );
    }
}
