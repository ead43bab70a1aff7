//! Fuzz target: what a guest hands back. Hostile payloads (random bytes; JSON-ish text with
//! control characters, invalid UTF-8, lone surrogates, huge numbers, deep nesting) behind honest
//! and lying result records, returned by a function task, printed by a function task and
//! written to stdout and stderr by a WASI command, are read by the library and written by the
//! CLI.
//!
//! The properties, for every item:
//! - in the library, an outcome is an output or a [`TaskError`] of a documented kind, never
//!   `host` (the host's own failure); an OK output is JSON; a command's output is the guest's
//!   bytes;
//! - in the CLI, the exit code is a documented one; stderr never shows a panic nor a raw control
//!   character other than `\n`; every stdout line is one JSON value, UTF-8, with no raw control
//!   character; there is one line per input; an error record has the failure's kind.
//!
//! Each round generates `driver::ITEMS` items from its seed (see `fuzzing` for the budget). A
//! broken property is reported once, with the seed, the item and the item minimized.

mod cli;
mod driver;
mod guest;
mod json_text;
mod library;
mod payloads;

use cli::{
    MAP_COMMAND, MAP_FAIL_FAST, MAP_ORDERED, MAP_PRINTS, MAP_UNORDERED, RUN_COMMAND, RUN_PICK,
    RUN_PRINT,
};
use driver::{Broken, Round, Target, Work, fuzz};
use library::{LIBRARY_JSON, LIBRARY_TYPED};
use payloads::{Item, Record};

// The library.

#[test]
fn fuzz_results_library_outcomes_are_typed() {
    fuzz("library_outcomes_are_typed", 2, &[LIBRARY_TYPED]);
}

#[test]
fn fuzz_results_library_ok_outputs_are_json() {
    fuzz("library_ok_outputs_are_json", 2, &[LIBRARY_JSON]);
}

// The CLI.

#[test]
fn fuzz_results_cli_map_writes_json_lines() {
    fuzz(
        "cli_map_writes_json_lines",
        1,
        &[MAP_ORDERED, MAP_UNORDERED],
    );
}

#[test]
fn fuzz_results_cli_map_of_a_command_writes_json_lines() {
    fuzz("cli_map_of_a_command_writes_json_lines", 1, &[MAP_COMMAND]);
}

#[test]
fn fuzz_results_cli_map_stderr_has_no_raw_guest_text() {
    fuzz("cli_map_stderr_has_no_raw_guest_text", 1, &[MAP_PRINTS]);
}

#[test]
fn fuzz_results_cli_run_exits_and_writes_as_documented() {
    fuzz(
        "cli_run_exits_and_writes_as_documented",
        1,
        &[RUN_PICK, MAP_FAIL_FAST, RUN_PRINT, RUN_COMMAND],
    );
}

// Findings: each a regression test named after what the fuzz found, on its minimized input.

/// An item whose record tells the truth about its payload.
fn found(payload: &[u8], status: u32) -> Item {
    Item {
        class: "found",
        payload: payload.to_vec(),
        record: Record::honest(status),
    }
}

/// Runs `targets` on `items` and asserts that none breaks a property whose name contains
/// `property`.
fn assert_holds(test: &str, items: Vec<Item>, targets: &[Target], property: &str) {
    let work = Work::new(test);
    let round = Round::new(&work, items);
    for target in targets {
        let seen = (target.observe)(&round);
        let broken: Vec<&Broken> = seen
            .global
            .iter()
            .chain(seen.items.values().flatten())
            .filter(|broken| broken.property.contains(property))
            .collect();
        assert!(broken.is_empty(), "{}: {broken:#?}", target.name);
    }
}

const OK: u32 = payloads::abi_status::OK;
const GUEST_ERROR: u32 = payloads::abi_status::GUEST_ERROR;
const BAD_INPUT: u32 = payloads::abi_status::BAD_INPUT;

#[test]
fn fuzz_found_invalid_utf8_in_a_string_is_no_ok_output() {
    let items = vec![found(b"\"\xff\"", OK)];
    assert_holds("found-utf8-ok", items, &[LIBRARY_JSON], "an OK output has");
}

#[test]
fn fuzz_found_tab_between_tokens_leaves_no_raw_tab_in_map_lines() {
    let items = vec![found(b"[\t]", OK)];
    let property = "a raw tab or carriage return";
    assert_holds("found-tab", items, &[MAP_ORDERED, MAP_UNORDERED], property);
}

#[test]
fn fuzz_found_carriage_return_after_a_value_leaves_no_raw_cr_in_map_lines() {
    let items = vec![found(b"null\r", OK)];
    let property = "a raw tab or carriage return";
    assert_holds("found-cr", items, &[MAP_ORDERED, MAP_UNORDERED], property);
}

#[test]
fn fuzz_found_invalid_utf8_in_a_string_leaves_map_lines_utf8() {
    let items = vec![found(b"\"\xff\"", OK)];
    let property = "text that is not UTF-8";
    assert_holds("found-utf8", items, &[MAP_ORDERED, MAP_UNORDERED], property);
}

#[test]
fn fuzz_found_lone_surrogate_escape_leaves_none_in_map_lines() {
    let items = vec![found(b"\"\\ud800\"", OK)];
    let property = "a lone surrogate escape";
    assert_holds(
        "found-surrogate",
        items,
        &[MAP_ORDERED, MAP_UNORDERED],
        property,
    );
}

#[test]
fn fuzz_found_deep_output_with_newlines_is_one_map_line() {
    let deep = format!("{}\n{}", "[".repeat(129), "]".repeat(129));
    let items = vec![found(deep.as_bytes(), OK)];
    let property = "one output is written as";
    assert_holds("found-deep", items, &[MAP_ORDERED, MAP_UNORDERED], property);
}

#[test]
fn fuzz_found_newline_before_invalid_utf8_is_one_map_line() {
    let items = vec![found(b"\n\"\x82\"", OK)];
    let property = "one output is written as";
    assert_holds(
        "found-newline",
        items,
        &[MAP_ORDERED, MAP_UNORDERED],
        property,
    );
}

#[test]
fn fuzz_found_del_in_an_error_message_leaves_no_raw_del_in_map_lines() {
    let items = vec![found(b"\x7f", BAD_INPUT)];
    let property = "a raw DEL";
    assert_holds("found-del", items, &[MAP_ORDERED, MAP_UNORDERED], property);
}

#[test]
fn fuzz_found_command_outputs_not_utf8_are_written_distinctly() {
    let items = vec![found(b"\xff", OK), found(b"\xfe", OK)];
    let property = "two different outputs";
    assert_holds("found-lossy", items, &[MAP_COMMAND], property);
}

#[test]
fn fuzz_found_del_in_a_command_output_leaves_no_raw_del_in_map_lines() {
    let items = vec![found(b"\x7f", OK)];
    assert_holds("found-command-del", items, &[MAP_COMMAND], "a raw DEL");
}

#[test]
fn fuzz_found_guest_prints_reach_map_stderr_without_raw_control_characters() {
    let items = vec![
        found(b"\x1b[2J", OK),
        found(b"\r", OK),
        found(b"\t", OK),
        found(b"\x7f", OK),
    ];
    assert_holds("found-prints", items, &[MAP_PRINTS], "with a raw");
}

#[test]
fn fuzz_found_guest_prints_not_utf8_reach_map_stderr_as_utf8() {
    let items = vec![found(b"\xff", OK)];
    assert_holds("found-prints-utf8", items, &[MAP_PRINTS], "not UTF-8");
}

#[test]
fn fuzz_found_guest_error_messages_reach_run_stderr_without_raw_control_characters() {
    let items = vec![
        found(b"\x1b]0;title\x07", GUEST_ERROR),
        found(b"\t", BAD_INPUT),
        found(b"\x7f", BAD_INPUT),
    ];
    let targets = [RUN_PICK, MAP_FAIL_FAST];
    assert_holds("found-messages", items, &targets, "stderr has");
}

#[test]
fn fuzz_found_guest_prints_reach_run_stderr_without_raw_control_characters() {
    let items = vec![found(b"\r", OK), found(b"\x1b", OK)];
    assert_holds("found-run-prints", items, &[RUN_PRINT], "stderr has");
}

#[test]
fn fuzz_found_newline_in_an_output_forges_no_unordered_record() {
    let items = vec![found(b"\n{\"index\":\"\xff\",\"\":\"\"}", OK)];
    let property = "unordered map: a line";
    assert_holds("found-forged", items, &[MAP_UNORDERED], property);
}

#[test]
fn fuzz_found_outputs_reach_run_and_fail_fast_map_stdout_as_clean_json() {
    let items = vec![
        found(b"\"\x7f\"", OK),
        found(b"\"\xff\"", OK),
        found(b"[\t]", OK),
    ];
    let targets = [RUN_PICK, MAP_FAIL_FAST];
    assert_holds("found-run-stdout", items, &targets, "stdout has");
}

#[test]
fn fuzz_found_big_integer_in_an_output_with_a_newline_keeps_its_value() {
    let work = Work::new("found-big-integer");
    let round = Round::new(&work, vec![found(b"\n123456789012345678901", OK)]);
    for unordered in [false, true] {
        let mut args = vec!["--invoke", "pick"];
        if unordered {
            args.push("--unordered");
        }
        let output = round.map(&args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        // Unordered lines come as tasks complete: find input 1's by its index.
        let line = if unordered {
            stdout
                .lines()
                .find(|line| line.starts_with("{\"index\":1,"))
                .unwrap_or_default()
        } else {
            stdout.lines().nth(1).unwrap_or_default()
        };
        let number = if unordered {
            line.trim_start_matches("{\"index\":1,\"output\":")
                .trim_end_matches('}')
        } else {
            line
        };
        assert_eq!(
            decimal(number),
            decimal("123456789012345678901"),
            "unordered {unordered}: {line}"
        );
    }
}

/// A JSON number's exact value: sign, significant digits, and the power of ten of the last one.
fn decimal(number: &str) -> (bool, String, i64) {
    let negative = number.starts_with('-');
    let number = number.trim_start_matches('-');
    let (mantissa, exponent) = match number.find(['e', 'E']) {
        Some(at) => (
            &number[..at],
            number[at + 1..].parse::<i64>().unwrap_or(i64::MAX),
        ),
        None => (number, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let mut exponent = exponent - fraction.len() as i64;
    let significant = digits.trim_start_matches('0');
    let trimmed = significant.trim_end_matches('0');
    exponent += (significant.len() - trimmed.len()) as i64;
    (negative, trimmed.to_owned(), exponent)
}
