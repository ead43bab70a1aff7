//! The CLI's properties: what `hecaton map` and `hecaton run` write of each item.

use std::collections::HashMap;
use std::process::Output;

use hecaton::{TaskError, TaskOutput};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::fuzz_results::driver::{Round, Seen, Target, preview};
use crate::fuzz_results::guest::{SENTINEL, module_index};
use crate::fuzz_results::json_text::{self, Text};
use crate::fuzzing::escaped;

/// The properties of any `hecaton` run: a documented exit code, and no panic.
fn process_properties(seen: &mut Seen, what: &str, output: &Output, item: Option<usize>) {
    let mut broke = |property: String, detail: String| match item {
        Some(i) => seen.item(i, property, detail),
        None => seen.global(property, detail),
    };
    match output.status.code() {
        Some(0..=3) => {}
        Some(code) => broke(format!("{what}: exit code {code}"), stderr_of(output)),
        None => broke(
            format!("{what}: killed by a signal"),
            format!(
                "signal {:?}, {}",
                std::os::unix::process::ExitStatusExt::signal(&output.status),
                stderr_of(output)
            ),
        ),
    }
    if String::from_utf8_lossy(&output.stderr).contains("panicked") {
        broke(format!("{what}: stderr shows a panic"), stderr_of(output));
    }
}

/// The properties of text hecaton writes to stderr: what is wrong with `text`, if anything.
fn stderr_properties(text: &[u8]) -> Option<&'static str> {
    if let Some(&byte) = text
        .iter()
        .find(|&&b| (b < 0x20 && b != b'\n') || b == 0x7f)
    {
        return Some(json_text::control_class(byte));
    }
    std::str::from_utf8(text)
        .err()
        .map(|_| "text that is not UTF-8")
}

fn stderr_of(output: &Output) -> String {
    format!(
        "stderr b\"{}\"",
        escaped(&output.stderr[..output.stderr.len().min(300)])
    )
}

/// `stdout` cut into lines, each without its `\n`; `None` when the last line has no `\n`.
fn lines(stdout: &[u8]) -> Option<Vec<&[u8]>> {
    if stdout.is_empty() {
        return Some(Vec::new());
    }
    let body = stdout.strip_suffix(b"\n")?;
    Some(body.split(|&b| b == b'\n').collect())
}

/// The lines between consecutive sentinel lines: item `i`'s are `segments[i]`. `None` unless
/// there is one sentinel line before, between and after the items.
fn segments<'a>(
    lines: &[&'a [u8]],
    items: usize,
    is_sentinel: impl Fn(&[u8]) -> bool,
) -> Option<Vec<Vec<&'a [u8]>>> {
    if lines.first().is_none_or(|line| !is_sentinel(line)) {
        return None;
    }
    let mut segments: Vec<Vec<&[u8]>> = Vec::new();
    let mut current = Vec::new();
    for &line in &lines[1..] {
        if is_sentinel(line) {
            segments.push(std::mem::take(&mut current));
        } else {
            current.push(line);
        }
    }
    (current.is_empty() && segments.len() == items).then_some(segments)
}

/// Whether `line` holds the sentinel's text (which a guest's message may quote, read through a
/// lying pointer, but no generated payload holds).
fn holds_sentinel(line: &[u8]) -> bool {
    let sentinel = SENTINEL.as_bytes();
    line.windows(sentinel.len())
        .any(|window| window == sentinel)
}

/// A map's record: `{"index":…,"output":…}` (unordered) or an error record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MapRecord {
    index: u64,
    #[serde(default, deserialize_with = "present")]
    output: bool,
    line: Option<u64>,
    attempts: Option<u64>,
    error: Option<ErrorField>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorField {
    kind: String,
    /// Read only to check that the record has it, a string.
    #[allow(dead_code)]
    message: String,
}

fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// Checks one written line of item `i`: one JSON value, with the failure's kind when the library
/// says it failed and the same value when it did not (inside its `{"index":…,"output":…}`
/// record when `unordered`).
fn check_line(seen: &mut Seen, what: &str, round: &Round, i: usize, line: &[u8], unordered: bool) {
    if let Err(defect) = json_text::check(line, Text::Line) {
        seen.item(
            i,
            format!("{what}: a line has {}", defect.class()),
            format!("line {}", preview(line)),
        );
        return;
    }
    match &round.pick[i] {
        Err(error) => check_error_record(seen, what, i, line, error),
        Ok(TaskOutput::Json(bytes)) => check_output(seen, what, i, line, bytes, unordered),
        Ok(other) => panic!("pick gave {other:?}"),
    }
}

/// The input index of item `i` in the `--input` file, after the sentinel's and before it.
fn input_index(i: usize) -> u64 {
    2 * i as u64 + 1
}

/// A failure is written as its error record: its index, line, attempts and kind.
fn check_error_record(seen: &mut Seen, what: &str, i: usize, line: &[u8], error: &TaskError) {
    match serde_json::from_slice::<MapRecord>(line) {
        Ok(MapRecord {
            index,
            error: Some(ErrorField { kind, .. }),
            output: false,
            line: Some(_),
            attempts: Some(_),
        }) if index == input_index(i) && kind == error.kind() => {}
        _ => seen.item(
            i,
            format!("{what}: a failure is not written as its error record"),
            format!("failure {error:?}, line {}", preview(line)),
        ),
    }
}

/// An output is written as the value the guest returned, as far as serde_json can read both
/// (not deeper than 128 levels), in its `{"index":…,"output":…}` record when `unordered`.
fn check_output(
    seen: &mut Seen,
    what: &str,
    i: usize,
    line: &[u8],
    returned: &[u8],
    unordered: bool,
) {
    let written = if unordered {
        match serde_json::from_slice::<MapRecord>(line) {
            Ok(MapRecord {
                index,
                output: true,
                error: None,
                line: None,
                attempts: None,
            }) if index == input_index(i) => {
                serde_json::from_slice::<Value>(line).map(|record| record["output"].clone())
            }
            _ => {
                let property = format!("{what}: an output is not written as its record");
                return seen.item(i, property, format!("line {}", preview(line)));
            }
        }
    } else {
        serde_json::from_slice::<Value>(line)
    };
    if let (Ok(returned), Ok(written)) = (serde_json::from_slice::<Value>(returned), written)
        && returned != written
    {
        seen.item(
            i,
            format!("{what}: an output is written changed"),
            format!("output {returned}, line {}", preview(line)),
        );
    }
}

pub(crate) const MAP_ORDERED: Target = Target {
    name: "hecaton map --invoke pick --keep-going",
    observe: map_ordered,
    per_item: false,
};

fn map_ordered(round: &Round) -> Seen {
    let mut seen = Seen::default();
    let what = "ordered map";
    let output = round.map(&["--invoke", "pick"]);
    map_properties(&mut seen, what, round, &output, &round.pick);
    let Some(lines) = lines(&output.stdout) else {
        return seen;
    };
    let sentinel = format!("\"{SENTINEL}\"");
    let Some(segments) = segments(&lines, round.items.len(), |line| {
        line == sentinel.as_bytes()
    }) else {
        seen.global(
            format!("{what}: stdout is not the sentinel between items"),
            format!("{} lines", lines.len()),
        );
        return seen;
    };
    for (i, segment) in segments.iter().enumerate() {
        match segment.as_slice() {
            [line] => check_line(&mut seen, what, round, i, line, false),
            _ => seen.item(
                i,
                format!(
                    "{what}: one output is written as {} lines",
                    segment.len().min(2)
                ),
                format!(
                    "{} lines, the first {}",
                    segment.len(),
                    preview(segment.first().unwrap_or(&&b""[..]))
                ),
            ),
        }
    }
    seen
}

/// The properties of a `map --keep-going` as a whole: exit code, stderr, line count.
fn map_properties(
    seen: &mut Seen,
    what: &str,
    round: &Round,
    output: &Output,
    outcomes: &[Result<TaskOutput, TaskError>],
) {
    process_properties(seen, what, output, None);
    let failed = outcomes.iter().any(Result::is_err);
    let expected = if failed { 1 } else { 0 };
    if output.status.code() != Some(expected) {
        seen.global(
            format!("{what}: exit code not {expected}"),
            format!("{:?}, {}", output.status.code(), stderr_of(output)),
        );
    }
    if let Some(problem) = stderr_properties(&output.stderr) {
        seen.global(format!("{what}: stderr has {problem}"), stderr_of(output));
    }
    match lines(&output.stdout) {
        None => seen.global(format!("{what}: the last line has no newline"), ""),
        Some(lines) if lines.len() != 2 * round.items.len() + 1 => seen.global(
            format!("{what}: not one line per input"),
            format!(
                "{} lines for {} inputs",
                lines.len(),
                2 * round.items.len() + 1
            ),
        ),
        Some(_) => {}
    }
}

pub(crate) const MAP_UNORDERED: Target = Target {
    name: "hecaton map --invoke pick --keep-going --unordered",
    observe: map_unordered,
    per_item: false,
};

fn map_unordered(round: &Round) -> Seen {
    let mut seen = Seen::default();
    let what = "unordered map";
    let output = round.map(&["--invoke", "pick", "--unordered"]);
    map_properties(&mut seen, what, round, &output, &round.pick);
    let Some(lines) = lines(&output.stdout) else {
        return seen;
    };
    // A record starts as hecaton writes one (its first key is `index`, or `attempts` for an
    // error record); a line that does not start so belongs to the record before it.
    let mut records: Vec<(Option<u64>, Vec<&[u8]>)> = Vec::new();
    for &line in &lines {
        let starts = line.starts_with(b"{\"index\":") || line.starts_with(b"{\"attempts\":");
        match records.last_mut() {
            Some((_, record)) if !starts => record.push(line),
            _ => records.push((record_index(line), vec![line])),
        }
    }
    let mut written: HashMap<u64, usize> = HashMap::new();
    for (index, record) in records {
        let Some(index) = index else {
            seen.global(
                format!("{what}: a line is not a record"),
                format!("line {}", preview(record[0])),
            );
            continue;
        };
        *written.entry(index).or_default() += 1;
        if index % 2 == 0 || index as usize > 2 * round.items.len() {
            continue;
        }
        let i = (index as usize - 1) / 2;
        match record.as_slice() {
            [line] => check_line(&mut seen, what, round, i, line, true),
            _ => seen.item(
                i,
                format!(
                    "{what}: one output is written as {} lines",
                    record.len().min(2)
                ),
                format!("{} lines, the first {}", record.len(), preview(record[0])),
            ),
        }
    }
    for index in 0..=2 * round.items.len() as u64 {
        let times = written.get(&index).copied().unwrap_or(0);
        if times != 1 {
            seen.global(
                format!(
                    "{what}: an input's record is written {} times",
                    times.min(2)
                ),
                format!("input {index}: {times} times"),
            );
        }
    }
    seen
}

/// The input index a record's first line gives: the digits after its first `"index":`, which a
/// guest's text cannot spell (its quotes are escaped).
fn record_index(line: &[u8]) -> Option<u64> {
    let key = b"\"index\":";
    let at = line.windows(key.len()).position(|window| window == key)? + key.len();
    let digits = line[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&line[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

pub(crate) const MAP_COMMAND: Target = Target {
    name: "hecaton map --lines --keep-going (the command)",
    observe: map_command,
    per_item: false,
};

fn map_command(round: &Round) -> Seen {
    let mut seen = Seen::default();
    let what = "command map";
    let output = round.map(&["--lines"]);
    map_properties(&mut seen, what, round, &output, &round.command);
    let Some(lines) = lines(&output.stdout) else {
        return seen;
    };
    let Some(segments) = segments(&lines, round.items.len(), holds_sentinel) else {
        seen.global(
            format!("{what}: stdout is not the sentinel between items"),
            format!("{} lines", lines.len()),
        );
        return seen;
    };
    // Distinct outputs must be written distinctly, whatever the encoding of bytes that are not
    // UTF-8 (the design promises them back losslessly).
    let mut first_of_line: HashMap<&[u8], &[u8]> = HashMap::new();
    for (i, segment) in segments.iter().enumerate() {
        let payload = &round.items[i].payload;
        let [line] = segment.as_slice() else {
            seen.item(
                i,
                format!(
                    "{what}: one output is written as {} lines",
                    segment.len().min(2)
                ),
                format!("{} lines", segment.len()),
            );
            continue;
        };
        if let Err(defect) = json_text::check(line, Text::Line) {
            seen.item(
                i,
                format!("{what}: a line has {}", defect.class()),
                format!("line {}", preview(line)),
            );
            continue;
        }
        let record: Value = serde_json::from_slice(line).unwrap();
        if record["exit_code"] != 0 {
            seen.item(
                i,
                format!("{what}: exit code not 0"),
                format!("line {}", preview(line)),
            );
        }
        if let Ok(text) = std::str::from_utf8(payload)
            && (record["stdout"] != text || record["stderr"] != text)
        {
            seen.item(
                i,
                format!("{what}: UTF-8 stdout or stderr is written changed"),
                format!("payload {}, line {}", preview(payload), preview(line)),
            );
        }
        match first_of_line.insert(line, payload) {
            Some(other) if other != &payload[..] => seen.item(
                i,
                format!("{what}: two different outputs are written as the same line"),
                format!(
                    "payloads {} and {}, line {}",
                    preview(other),
                    preview(payload),
                    preview(line)
                ),
            ),
            _ => {}
        }
    }
    seen
}

pub(crate) const MAP_PRINTS: Target = Target {
    name: "hecaton map --invoke print --keep-going -j 1 (its stderr)",
    observe: map_prints,
    per_item: false,
};

fn map_prints(round: &Round) -> Seen {
    let mut seen = Seen::default();
    let what = "map of a printing task";
    let output = round.map(&["--invoke", "print", "-j", "1"]);
    process_properties(&mut seen, what, &output, None);
    match lines(&output.stdout) {
        Some(lines)
            if lines.len() == 2 * round.items.len() + 1 && lines.iter().all(|l| l == b"null") => {}
        _ => seen.global(
            format!("{what}: stdout is not `null` per input"),
            format!("stdout {}", preview(&output.stdout)),
        ),
    }
    // Each sentinel prints its payload twice (stdout, stderr); item i's prints are between the
    // second of sentinel i and the first of sentinel i + 1.
    let sentinel = SENTINEL.as_bytes();
    let marks: Vec<usize> = output
        .stderr
        .windows(sentinel.len())
        .enumerate()
        .filter(|(_, window)| *window == sentinel)
        .map(|(at, _)| at)
        .collect();
    if marks.len() != 2 * (round.items.len() + 1) {
        if let Some(problem) = stderr_properties(&output.stderr) {
            seen.global(format!("{what}: stderr has {problem}"), stderr_of(&output));
        }
        return seen;
    }
    for i in 0..round.items.len() {
        let text = &output.stderr[marks[2 * i + 1] + sentinel.len()..marks[2 * i + 2]];
        if let Some(problem) = stderr_properties(text) {
            seen.item(
                i,
                format!("{what}: a guest's print reaches stderr with {problem}"),
                format!("stderr part {}", preview(text)),
            );
        }
    }
    seen
}

/// `hecaton run --invoke pick i`: exit code by outcome, one JSON line or nothing, clean stderr.
pub(crate) const RUN_PICK: Target = Target {
    name: "hecaton run --invoke pick I",
    observe: run_pick,
    per_item: true,
};

fn run_pick(round: &Round) -> Seen {
    let mut seen = Seen::default();
    for i in round.sample() {
        let index = module_index(i).to_string();
        let output = round.hecaton(
            &[
                "run",
                round.wasm.to_str().unwrap(),
                "--invoke",
                "pick",
                &index,
            ],
            b"",
        );
        // `run` decodes the output: what does not decode is an ABI violation.
        let outcome = match &round.pick[i] {
            Ok(output) => output.decode::<Value>().map(drop),
            Err(error) => Err(error.clone()),
        };
        one_task_properties(&mut seen, "run", i, &output, &outcome);
    }
    seen
}

/// The exit code `hecaton` documents for a task's outcome.
fn exit_code(outcome: &Result<(), TaskError>) -> i32 {
    match outcome {
        Ok(()) => 0,
        Err(TaskError::Guest { .. } | TaskError::Panic { .. } | TaskError::BadInput { .. }) => 1,
        Err(_) => 3,
    }
}

/// The properties of `hecaton` running one task: the exit code for its outcome, one JSON line
/// on success and nothing on failure, stderr without raw control characters.
fn one_task_properties(
    seen: &mut Seen,
    what: &str,
    i: usize,
    output: &Output,
    outcome: &Result<(), TaskError>,
) {
    process_properties(seen, what, output, Some(i));
    let expected = exit_code(outcome);
    if output.status.code() != Some(expected) {
        seen.item(
            i,
            format!("{what}: exit code not {expected}"),
            format!(
                "{:?} for {outcome:?}, {}",
                output.status.code(),
                stderr_of(output)
            ),
        );
    }
    match (outcome, lines(&output.stdout).as_deref()) {
        (Ok(()), Some([line])) => {
            if let Err(defect) = json_text::check(line, Text::Line) {
                seen.item(
                    i,
                    format!("{what}: stdout has {}", defect.class()),
                    format!("line {}", preview(line)),
                );
            }
        }
        (Err(_), Some([])) => {}
        _ => seen.item(
            i,
            format!("{what}: stdout is not one line on success, nothing on failure"),
            format!("stdout {}", preview(&output.stdout)),
        ),
    }
    if let Some(problem) = stderr_properties(&output.stderr) {
        seen.item(
            i,
            format!("{what}: stderr has {problem}"),
            stderr_of(output),
        );
    }
}

/// `hecaton map --invoke pick i` without `--keep-going`: a failure is named on stderr.
pub(crate) const MAP_FAIL_FAST: Target = Target {
    name: "hecaton map --invoke pick I (fail-fast)",
    observe: map_fail_fast,
    per_item: true,
};

fn map_fail_fast(round: &Round) -> Seen {
    let mut seen = Seen::default();
    for i in round.sample() {
        let index = module_index(i).to_string();
        let output = round.hecaton(
            &[
                "map",
                round.wasm.to_str().unwrap(),
                "-q",
                "--invoke",
                "pick",
                &index,
            ],
            b"",
        );
        let outcome = round.pick[i].as_ref().map(drop).map_err(Clone::clone);
        one_task_properties(&mut seen, "fail-fast map", i, &output, &outcome);
    }
    seen
}

/// `hecaton run --invoke print i`: the task prints to its stdout and stderr.
pub(crate) const RUN_PRINT: Target = Target {
    name: "hecaton run --invoke print I",
    observe: run_print,
    per_item: true,
};

fn run_print(round: &Round) -> Seen {
    let mut seen = Seen::default();
    for i in round.sample() {
        let index = module_index(i).to_string();
        let output = round.hecaton(
            &[
                "run",
                round.wasm.to_str().unwrap(),
                "--invoke",
                "print",
                &index,
            ],
            b"",
        );
        one_task_properties(&mut seen, "run of a printing task", i, &output, &Ok(()));
        if output.stdout != b"null\n" {
            seen.item(
                i,
                "run of a printing task: stdout is not `null`",
                format!("stdout {}", preview(&output.stdout)),
            );
        }
    }
    seen
}

/// `hecaton run` of the command: its stdout passes the guest's bytes through unchanged; its
/// stderr reaches the terminal escaped (no raw control character, no invalid UTF-8).
pub(crate) const RUN_COMMAND: Target = Target {
    name: "hecaton run (the command), stdin I",
    observe: run_command,
    per_item: true,
};

fn run_command(round: &Round) -> Seen {
    let mut seen = Seen::default();
    for i in round.sample() {
        let stdin = format!("{}\n", module_index(i));
        let output = round.hecaton(&["run", round.wasm.to_str().unwrap()], stdin.as_bytes());
        process_properties(&mut seen, "run of a command", &output, Some(i));
        let payload = &round.items[i].payload;
        // Printable ASCII passes as it is; anything else only needs to arrive escaped.
        let plain = payload
            .iter()
            .all(|&b| b == b'\n' || (0x20..0x7f).contains(&b));
        let stderr_escaped =
            stderr_properties(&output.stderr).is_none() && (!plain || output.stderr == *payload);
        if output.status.code() != Some(0) || output.stdout != *payload || !stderr_escaped {
            seen.item(
                i,
                "run of a command: not exit 0 with stdout as the guest wrote it and stderr escaped",
                format!(
                    "exit {:?}, stdout {}, {}",
                    output.status.code(),
                    preview(&output.stdout),
                    stderr_of(&output)
                ),
            );
        }
    }
    seen
}
