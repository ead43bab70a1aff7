//! A map's inputs, read lazily by its input thread: arguments, or the lines of a file or stdin,
//! checked and handed over in batches.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use hecaton::TaskError;
use serde_json::Value;

use super::{MapArgs, progress_shown};

/// A line that is not a valid input: its number and what is wrong; set by a fail-fast map's
/// input thread, taken when the map has ended.
#[derive(Clone, Default)]
pub(super) struct Malformed(Arc<Mutex<Option<(usize, String)>>>);

impl Malformed {
    fn set(&self, line: usize, message: String) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((line, message));
    }

    fn is_set(&self) -> bool {
        self.0.lock().is_ok_and(|malformed| malformed.is_some())
    }

    /// The malformed line, if there was one.
    pub(super) fn take(&self) -> Option<(usize, String)> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

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
pub(super) enum InputSource {
    /// Command-line arguments: input N is argument N + 1.
    Arguments,
    /// Lines of a file or of stdin: input N is line N + 1.
    Lines,
}

/// The inputs, read lazily (by the map's input thread): arguments, or the lines of a file or
/// stdin.
pub(super) struct InputReader {
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

/// How an input line or argument is read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum InputFormat {
    /// Function and numeric tasks: a JSON value (an argument that is not JSON is a string).
    Json,
    /// A command's stdin or argument: text, a line or an argument as written (UTF-8), or a JSON
    /// string decoded.
    CommandText,
    /// A command's stdin: the raw line, any bytes.
    CommandRawStdin,
    /// A command's argument (or an input a fixed argument places with `{}`): the raw line,
    /// which must be UTF-8.
    CommandRawText,
}

impl InputReader {
    pub(super) fn new(
        args: &MapArgs,
        inputs: Vec<String>,
        format: InputFormat,
    ) -> anyhow::Result<Self> {
        let (lines, total, source): (Lines, Option<u64>, InputSource) = if !inputs.is_empty() {
            let inputs: Vec<Vec<u8>> = inputs
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
            malformed: Malformed::default(),
            total,
        })
    }

    /// Where a malformed line is reported, once the map has ended.
    pub(super) fn malformed(&self) -> Malformed {
        self.malformed.clone()
    }

    /// How many inputs there are, when that is known (arguments, a file under a progress bar).
    pub(super) fn total(&self) -> Option<u64> {
        self.total
    }

    /// Whether the inputs are arguments or lines.
    pub(super) fn source(&self) -> InputSource {
        self.source
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
            // As parallel takes a line: the text as written; a JSON string is decoded (so a
            // line can hold any text, a newline included).
            InputFormat::CommandText => match serde_json::from_slice::<String>(&line) {
                Ok(text) => Ok(text.into_bytes()),
                Err(_) => utf8(&line)
                    .map(|()| line)
                    .map_err(|error| format!("{error}; use --lines for any bytes on stdin")),
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
        if self.malformed.is_set() {
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
                self.malformed.set(self.line, message);
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

/// An argument as an input: JSON as it is, any other word as a JSON string (function tasks); a
/// JSON string as it is and any other word as a string of its text (commands); the text itself
/// (raw lines).
fn argument_input(arg: &str, format: InputFormat) -> Vec<u8> {
    match format {
        InputFormat::Json if serde_json::from_str::<serde::de::IgnoredAny>(arg).is_ok() => {
            arg.as_bytes().to_vec()
        }
        InputFormat::CommandText if serde_json::from_str::<String>(arg).is_ok() => {
            arg.as_bytes().to_vec()
        }
        InputFormat::Json | InputFormat::CommandText => {
            Value::String(arg.to_owned()).to_string().into_bytes()
        }
        InputFormat::CommandRawStdin | InputFormat::CommandRawText => arg.as_bytes().to_vec(),
    }
}
