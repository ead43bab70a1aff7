//! The library's properties: what `Pool` and `Process` make of each item.

use hecaton::{Process, TaskError, TaskOutput};
use serde_json::Value;

use crate::fuzz_results::driver::{Round, Seen, Target};
use crate::fuzz_results::guest::module_index;
use crate::fuzz_results::json_text::{self, Text};
use crate::fuzzing::{GUEST_CAUSED_KINDS, escaped};

pub(crate) const LIBRARY_TYPED: Target = Target {
    name: "library: pick and the command, through Pool and Process",
    observe: library_typed,
    per_item: false,
};

fn library_typed(round: &Round) -> Seen {
    let mut seen = Seen::default();
    let typed = round
        .work
        .pool
        .map_all::<_, Value>(
            &round.module,
            "pick",
            (0..round.items.len()).map(module_index),
        )
        .unwrap();
    for (i, item) in round.items.iter().enumerate() {
        match &round.pick[i] {
            Err(error) => documented(&mut seen, i, "library pick", error),
            Ok(TaskOutput::Json(_)) => {}
            Ok(other) => seen.item(i, "library pick: not a JSON output", format!("{other:?}")),
        }
        // The typed map fails where the raw one fails, with the same kind; a raw output that
        // does not decode is an ABI violation.
        match (&round.pick[i], &typed[i]) {
            (Err(raw), Err(typed)) if raw.kind() == typed.kind() => {}
            (Ok(_), Ok(_)) | (Ok(_), Err(TaskError::AbiViolation(_))) => {}
            (raw, typed) => seen.item(
                i,
                "library pick: the typed map disagrees with the raw one",
                format!("raw {raw:?}, typed {typed:?}"),
            ),
        }
        if i % 20 == 0 {
            let joined = Process::spawn(&round.module, "pick", &module_index(i))
                .unwrap()
                .join::<Value>();
            if joined.as_ref().map_err(TaskError::kind)
                != typed[i].as_ref().map_err(TaskError::kind)
            {
                seen.item(
                    i,
                    "library pick: Process disagrees with Pool",
                    format!("process {joined:?}, pool {:?}", typed[i]),
                );
            }
        }
        match &round.command[i] {
            Ok(TaskOutput::Command(output))
                if output.exit_code == 0
                    && output.stdout == item.payload
                    && output.stderr == item.payload => {}
            other => seen.item(
                i,
                "library command: not exit 0 with the payload as stdout and stderr",
                format!("{other:?}"),
            ),
        }
    }
    seen
}

fn documented(seen: &mut Seen, i: usize, what: &str, error: &TaskError) {
    if !GUEST_CAUSED_KINDS.contains(&error.kind()) {
        seen.item(
            i,
            format!("{what}: failure of kind `{}`", error.kind()),
            format!("{error:?}"),
        );
    }
}

pub(crate) const LIBRARY_JSON: Target = Target {
    name: "library: pick's OK outputs",
    observe: library_json,
    per_item: false,
};

fn library_json(round: &Round) -> Seen {
    let mut seen = Seen::default();
    for (i, outcome) in round.pick.iter().enumerate() {
        if let Ok(TaskOutput::Json(bytes)) = outcome
            && let Err(defect) = json_text::check(bytes, Text::Rfc8259)
        {
            seen.item(
                i,
                format!("library pick: an OK output has {}", defect.class()),
                format!("output b\"{}\"", escaped(&bytes[..bytes.len().min(200)])),
            );
        }
    }
    seen
}
