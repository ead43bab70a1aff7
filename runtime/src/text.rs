//! Text a guest produced, made safe to show on a terminal: what hecaton writes is its own.
//!
//! A guest's messages, prints and stderr can hold anything: escape sequences that move the
//! cursor or retitle the window, carriage returns that overwrite a line, bytes that are not
//! UTF-8, a newline followed by a line that looks like hecaton's own. Before such text reaches a
//! terminal, every control character (C0 with tab and newline, DEL, C1), every line or paragraph
//! separator and every Unicode format character that reorders or hides text (bidirectional
//! overrides, zero-width characters) is written as an escape (`\n`, `\t`, `\u{1b}`), and every
//! byte that is not UTF-8 as `\xNN`. Printable text is left as it is.

use std::fmt::Write as _;

/// `bytes` as one printable line: control characters escaped (newlines too), invalid UTF-8 as
/// `\xNN`.
///
/// ```
/// assert_eq!(hecaton::printable(b"ok\x1b[2J\nhecaton: forged\xff"), r"ok\u{1b}[2J\nhecaton: forged\xff");
/// ```
pub fn printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    push_printable(&mut out, bytes);
    out
}

/// Appends `bytes` to `out` as [`printable`] does.
pub(crate) fn push_printable(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        push_escaped(out, chunk.valid(), false);
        push_invalid(out, chunk.invalid());
    }
}

/// One write of a stream of text made printable, newlines kept: `carry` holds the start of a
/// UTF-8 sequence the previous write ended in, and keeps the one this write ends in.
pub(crate) fn printable_stream(carry: &mut Vec<u8>, bytes: &[u8]) -> String {
    let mut input = std::mem::take(carry);
    input.extend_from_slice(bytes);
    let mut out = String::with_capacity(input.len());
    let mut rest = &input[..];
    loop {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                push_escaped(&mut out, text, true);
                return out;
            }
            Err(error) => {
                let (valid, after) = rest.split_at(error.valid_up_to());
                // `valid_up_to` bytes are UTF-8, as the error says.
                push_escaped(
                    &mut out,
                    std::str::from_utf8(valid).unwrap_or_default(),
                    true,
                );
                let Some(len) = error.error_len() else {
                    // A sequence the next write may complete.
                    carry.extend_from_slice(after);
                    return out;
                };
                push_invalid(&mut out, &after[..len]);
                rest = &after[len..];
            }
        }
    }
}

fn push_escaped(out: &mut String, text: &str, keep_newlines: bool) {
    for c in text.chars() {
        if needs_escape(c) && !(keep_newlines && c == '\n') {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
}

fn push_invalid(out: &mut String, bytes: &[u8]) {
    for byte in bytes {
        let _ = write!(out, "\\x{byte:02x}");
    }
}

/// Whether `c` must not reach a terminal as it is: a control character, a line or paragraph
/// separator, or a format character that reorders or hides text.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// `value` as one line of JSON that is safe on a terminal: serde_json's encoding, with every
/// character [`printable`] escapes written as a `\uXXXX` escape too (serde_json itself escapes
/// only those below U+0020, not DEL, C1 controls or bidirectional overrides). Decoding the line
/// gives `value` back.
///
/// # Errors
/// When `value` cannot be serialized as JSON (a map with keys that are not strings).
///
/// ```
/// let line = hecaton::to_json_line(&serde_json::json!({"text": "del\u{7f} csi\u{9b}"}))?;
/// assert_eq!(line, br#"{"text":"del\u007f csi\u009b"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn to_json_line<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut line = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut line, PrintableJson);
    value.serialize(&mut serializer)?;
    Ok(line)
}

/// serde_json's compact formatter, escaping what [`needs_escape`] names inside strings.
struct PrintableJson;

impl serde_json::ser::Formatter for PrintableJson {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if needs_escape(c) {
                writer.write_all(&fragment.as_bytes()[start..at])?;
                // Every escaped character is in the Basic Multilingual Plane.
                write!(writer, "\\u{:04x}", u32::from(c))?;
                start = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// The lines of `bytes` (a final line without a newline included), each made [`printable`] and
/// prefixed with `prefix`, newline-terminated: how a guest's prints reach hecaton's stderr.
pub(crate) fn prefixed_lines(prefix: &str, bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + prefix.len());
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    for line in bytes.split(|&byte| byte == b'\n') {
        out.push_str(prefix);
        push_printable(&mut out, line.strip_suffix(b"\r").unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_invalid_utf8_are_escaped() {
        assert_eq!(printable("a\tb ü".as_bytes()), "a\\tb ü");
        assert_eq!(printable("\u{2028}".as_bytes()), "\\u{2028}");
        assert_eq!(printable(b"\r\x07\x08\x7f"), r"\r\u{7}\u{8}\u{7f}");
        assert_eq!(printable("\u{9b}31m".as_bytes()), r"\u{9b}31m");
        assert_eq!(printable("x\u{202e}y".as_bytes()), r"x\u{202e}y");
        assert_eq!(printable(b"\xc3"), r"\xc3");
    }

    #[test]
    fn a_stream_keeps_newlines_and_completes_split_sequences() {
        let mut carry = Vec::new();
        let csi = "\u{9b}".as_bytes();
        assert_eq!(
            printable_stream(&mut carry, &[b"a\n\x1b", &csi[..1]].concat()),
            "a\n\\u{1b}"
        );
        assert_eq!(
            printable_stream(&mut carry, &[&csi[1..], b"\xff!"].concat()),
            "\\u{9b}\\xff!"
        );
        assert!(carry.is_empty());
    }

    #[test]
    fn json_lines_escape_what_serde_json_leaves_raw() {
        let value = serde_json::json!(["a\u{7f}b", "\u{202e}", "\n", "ü"]);
        let line = to_json_line(&value).unwrap();
        assert_eq!(line, r#"["a\u007fb","\u202e","\n","ü"]"#.as_bytes());
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&line).unwrap(),
            value
        );
    }

    #[test]
    fn every_guest_line_gets_the_prefix() {
        assert_eq!(
            prefixed_lines("[input 3] ", b"one\nhecaton: input 9 failed\r\n\x1b[1Alast"),
            "[input 3] one\n[input 3] hecaton: input 9 failed\n[input 3] \\u{1b}[1Alast\n"
        );
        assert_eq!(prefixed_lines("> ", b"only\n"), "> only\n");
    }
}
