//! Hostile results: payloads a guest could hand back, and result records that lie about them.

use crate::fuzzing::Rng;

/// One result a guest hands back: its payload bytes and the record that points at them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Item {
    /// Which generator made it, for reports.
    pub(crate) class: &'static str,
    pub(crate) payload: Vec<u8>,
    pub(crate) record: Record,
}

/// A result record, described relative to its payload and to the guest's memory, so that a
/// shrunk payload keeps the same lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) status: u32,
    pub(crate) ptr: Ptr,
    pub(crate) len: Len,
    /// Where the record itself is.
    pub(crate) at: At,
}

/// The record's `ptr` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ptr {
    /// The payload's address.
    Payload,
    /// This many bytes after the payload's address (into its neighbours).
    Shifted(u32),
    /// This address.
    Absolute(u32),
    /// This many bytes before the end of memory.
    BeforeEnd(u32),
}

/// The record's `len` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Len {
    /// The payload's length.
    Payload,
    /// This many bytes less (cutting a UTF-8 sequence, a string, a container).
    Shorter(u32),
    /// This many bytes more (into the next payload).
    Longer(u32),
    /// This length.
    Absolute(u32),
}

/// Where the record is, that is, the address the task returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum At {
    /// In the module's table of records.
    Table,
    /// This address (0, or outside memory): the record is whatever is there.
    Absolute(u32),
    /// This many bytes (fewer than 12) before the end of memory: the record runs past it.
    Straddling(u32),
}

impl Record {
    pub(crate) fn honest(status: u32) -> Self {
        Self {
            status,
            ptr: Ptr::Payload,
            len: Len::Payload,
            at: At::Table,
        }
    }
}

/// The statuses of ABI.md, and a few that are not.
const LYING_STATUSES: &[u32] = &[3, 7, 0x100, 0x8000_0000, u32::MAX];

/// `count` hostile items.
pub(crate) fn generate(rng: &mut Rng, count: usize) -> Vec<Item> {
    (0..count).map(|_| item(rng)).collect()
}

fn item(rng: &mut Rng) -> Item {
    let (class, mut payload) = match rng.below(100) {
        0..=39 => ("json", json(rng)),
        40..=49 => ("deep", deep(rng)),
        50..=64 => ("message", message(rng)),
        65..=79 => {
            let len = if rng.chance(90) {
                rng.below(49)
            } else {
                rng.below(4097)
            };
            ("bytes", rng.bytes(len))
        }
        80..=94 => ("edge", rng.pick(EDGES).to_vec()),
        _ => ("big", big(rng)),
    };
    if rng.chance(5) && !payload.is_empty() {
        let at = rng.below(payload.len());
        payload[at] = rng.next_u64() as u8;
    }
    let status = match (class, rng.below(100)) {
        ("message", 0..=44) | (_, 0..=7) => abi_status::GUEST_ERROR,
        ("message", 45..=89) | (_, 8..=14) => abi_status::BAD_INPUT,
        (_, 15..=19) => rng.pick(LYING_STATUSES),
        _ => abi_status::OK,
    };
    let record = if rng.chance(75) {
        Record::honest(status)
    } else {
        lying_record(rng, status)
    };
    Item {
        class,
        payload,
        record,
    }
}

/// The ABI's statuses (`hecaton-abi`'s constants are the host's; the fuzz states its own).
pub(crate) mod abi_status {
    pub(crate) const OK: u32 = 0;
    pub(crate) const GUEST_ERROR: u32 = 1;
    pub(crate) const BAD_INPUT: u32 = 2;
}

fn lying_record(rng: &mut Rng, status: u32) -> Record {
    let mut record = Record::honest(status);
    match rng.below(3) {
        0 => {
            record.ptr = match rng.below(4) {
                0 => Ptr::Shifted(1 + rng.below(3) as u32),
                1 => Ptr::Absolute(rng.pick(&[0, 1, 0xffff_fff0, u32::MAX])),
                2 => Ptr::BeforeEnd(rng.below(9) as u32),
                _ => Ptr::BeforeEnd(rng.below(70_000) as u32),
            }
        }
        1 => {
            record.len = match rng.below(3) {
                0 => Len::Shorter(1 + rng.below(3) as u32),
                1 => Len::Longer(1 + rng.below(3) as u32),
                _ => Len::Absolute(rng.pick(&[
                    0,
                    1,
                    (16 << 20) + 1,
                    0x7fff_ffff,
                    0xffff_fff0,
                    u32::MAX,
                ])),
            }
        }
        _ => {
            record.at = if rng.chance(50) {
                At::Straddling(1 + rng.below(11) as u32)
            } else {
                At::Absolute(rng.pick(&[0, 0xffff_fff4, u32::MAX]))
            }
        }
    }
    record
}

/// JSON-ish text: mostly JSON, with what parsers and terminals choke on between and inside its
/// tokens.
fn json(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    whitespace(rng, &mut out);
    value(rng, &mut out, 0);
    whitespace(rng, &mut out);
    if rng.chance(3) {
        out.extend_from_slice(rng.pick(&[&b"1"[..], b"]", b"garbage", b"\x00", b"null"]));
    }
    out
}

fn value(rng: &mut Rng, out: &mut Vec<u8>, depth: usize) {
    let choices = if depth < 4 { 10 } else { 6 };
    match rng.below(choices) {
        0 => out.extend_from_slice(rng.pick(LITERALS)),
        1 | 2 => out.extend_from_slice(rng.pick(NUMBERS)),
        3..=5 => string(rng, out),
        6 | 7 => {
            out.push(b'[');
            for i in 0..rng.below(4) {
                separator(rng, out, i);
                value(rng, out, depth + 1);
            }
            if rng.chance(3) {
                out.push(b',');
            }
            whitespace(rng, out);
            out.push(b']');
        }
        _ => {
            out.push(b'{');
            for i in 0..rng.below(4) {
                separator(rng, out, i);
                if rng.chance(3) {
                    value(rng, out, depth + 1);
                } else {
                    out.push(b'"');
                    out.extend_from_slice(rng.pick(KEYS));
                    out.push(b'"');
                }
                whitespace(rng, out);
                if !rng.chance(2) {
                    out.push(b':');
                }
                whitespace(rng, out);
                value(rng, out, depth + 1);
            }
            whitespace(rng, out);
            out.push(b'}');
        }
    }
}

/// The `,` before element `i` of a container (none before the first), sometimes missing or
/// doubled, with whitespace around.
fn separator(rng: &mut Rng, out: &mut Vec<u8>, i: usize) {
    whitespace(rng, out);
    if (i > 0) != rng.chance(2) {
        out.push(b',');
    }
    if rng.chance(1) {
        out.push(b',');
    }
    whitespace(rng, out);
}

fn whitespace(rng: &mut Rng, out: &mut Vec<u8>) {
    if rng.chance(60) {
        return;
    }
    for _ in 0..1 + rng.below(3) {
        if rng.chance(90) {
            out.extend_from_slice(rng.pick(&[&b" "[..], b"\t", b"\n", b"\r", b"\r\n", b"  "]));
        } else {
            out.extend_from_slice(rng.pick(NOT_WHITESPACE));
        }
    }
}

fn string(rng: &mut Rng, out: &mut Vec<u8>) {
    out.push(b'"');
    for _ in 0..rng.below(6) {
        out.extend_from_slice(rng.pick(STRING_PIECES));
    }
    out.push(b'"');
}

/// Nesting past serde_json's 128 levels, with or without line breaks between the brackets.
fn deep(rng: &mut Rng) -> Vec<u8> {
    let depth = rng.pick(&[129, 130, 200, 1_000, 5_000, 50_000]);
    let (open, close): (&[u8], &[u8]) = match rng.below(3) {
        0 => (b"[", b"]"),
        1 => (b"{\"a\":", b"}"),
        _ => (b"[{\"k\":[", b"]}]"),
    };
    let between: &[u8] = rng.pick(&[&b""[..], b"", b"\n", b" ", b"\r\n", b"\t"]);
    let mut out = Vec::new();
    for _ in 0..depth {
        out.extend_from_slice(open);
        out.extend_from_slice(between);
    }
    if open != b"[" || rng.chance(50) {
        string(rng, &mut out);
    }
    let closes = if rng.chance(5) { depth - 1 } else { depth };
    for _ in 0..closes {
        out.extend_from_slice(between);
        out.extend_from_slice(close);
    }
    out
}

/// A guest error's message: text with what a terminal obeys.
fn message(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(6) {
        out.extend_from_slice(rng.pick(MESSAGE_PIECES));
    }
    out
}

/// A large payload: a long string, or a long array broken over lines.
fn big(rng: &mut Rng) -> Vec<u8> {
    let target = 16_000 + rng.below(50_000);
    let mut out = Vec::new();
    if rng.chance(50) {
        out.push(b'"');
        while out.len() < target {
            out.extend_from_slice(rng.pick(STRING_PIECES));
        }
        out.push(b'"');
    } else {
        out.push(b'[');
        while out.len() < target {
            out.extend_from_slice(rng.pick(NUMBERS));
            out.extend_from_slice(rng.pick(&[&b","[..], b",\n", b", "]));
        }
        out.extend_from_slice(b"0]");
    }
    out
}

const LITERALS: &[&[u8]] = &[b"null", b"true", b"false", b"nul", b"True", b"NULL"];

const NUMBERS: &[&[u8]] = &[
    b"0",
    b"-0",
    b"1",
    b"-1",
    b"0.5",
    b"1E+2",
    b"1e400",
    b"-1e400",
    b"1.0e-400",
    b"9007199254740993",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
    b"01",
    b"1.",
    b".5",
    b"+1",
    b"0x10",
    b"NaN",
    b"-Infinity",
    b"1e",
];

const KEYS: &[&[u8]] = &[b"a", b"a", b"b", b"", b"\\u0000", b"index", b"error"];

/// Bytes that JSON does not count as whitespace, where whitespace may be.
const NOT_WHITESPACE: &[&[u8]] = &[
    b"\x0b",
    b"\x0c",
    b"\x00",
    b"\x07",
    b"\x1b",
    b"\x7f",
    b"\xc2\xa0",
    b"\xef\xbb\xbf",
    b"\xe2\x80\xa8",
];

const STRING_PIECES: &[&[u8]] = &[
    // Text, including what JSON allows raw but a terminal may not like.
    b"word",
    b"caf\xc3\xa9",
    b"\xf0\x9f\x98\x80",
    b"\xe2\x80\xa8",
    b"\xe2\x80\xae",
    b"\xc2\x9b",
    b"\x7f",
    // Escapes: valid, and decoding to control characters.
    b"\\n",
    b"\\r",
    b"\\t",
    b"\\\"",
    b"\\\\",
    b"\\/",
    b"\\u0000",
    b"\\u001b[31m",
    b"\\u0007",
    b"\\u2028",
    b"\\ud83d\\ude00",
    b"\\uD834\\uDD1E",
    // Lone surrogates.
    b"\\ud800",
    b"\\udc00",
    b"\\udbff\\u0041",
    // Not UTF-8.
    b"\xff",
    b"\xfe\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xe2\x82",
    b"\x80",
    b"\xf4\x90\x80\x80",
    // Raw control characters, which JSON forbids in strings.
    b"\x1b[31m",
    b"\x00",
    b"\r",
    b"\n",
    b"\x07",
    b"\t",
    // Invalid escapes.
    b"\\x41",
    b"\\u12",
    b"\\U0041",
];

const MESSAGE_PIECES: &[&[u8]] = &[
    b"plain words",
    b"line one\nline two",
    b"\r",
    b"\r\n",
    b"\x1b[31mred\x1b[0m",
    b"\x1b]0;title\x07",
    b"\x1b[2J\x1b[H",
    b"\x00",
    b"\x07",
    b"\x08\x08\x08",
    b"\t",
    b"\x7f",
    b"\xc2\x9b31m",
    b"\xe2\x80\xae",
    b"\xff\xfe",
    b"\xc3",
    b"{\"index\":0,\"error\":{\"kind\":\"forged\"}}",
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

/// Payloads at the edges of the grammar and of what the CLI special-cases (newlines).
const EDGES: &[&[u8]] = &[
    b"",
    b" ",
    b"\n",
    b"\r\n",
    b"null",
    b"null\n",
    b"\nnull",
    b"\r\nnull\r\n",
    b"1 2",
    b"[1,]",
    b"\xef\xbb\xbfnull",
    b"nul",
    b"\"\\ud800\"",
    b"\"\\udc00\\ud800\"",
    b"\"\xff\"",
    b"\"\xed\xa0\x80\"",
    b"1e400",
    b"-",
    b"01",
    b"NaN",
    b"\"\\u0000\"",
    b"\"\\u001b[2J\"",
    b"{\"a\":1,\"a\":2}",
    b"[\r1\r]",
    b"[\t1]",
    b"[1,\n2]",
    b"\"\x7f\"",
    b"\"\xc2\x9b\"",
    b"\"\xe2\x80\xa8\"",
    b"{}",
    b"[]",
    b"\"\"",
    b"0",
    b"-0",
    b"{\"index\":3,\"line\":4,\"attempts\":1,\"error\":{\"kind\":\"forged\",\"message\":\"\"}}",
    b"\"hecaton-fuzz\"",
];
