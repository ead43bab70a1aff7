//! A strict checker of JSON text, the fuzz targets' oracle: RFC 8259's grammar at any depth
//! (serde_json's `Value` stops at 128 levels, so it cannot judge deep values), with what a line
//! of hecaton's output must also be.

/// What is wrong with a text; the `&str` says where, without the input's bytes, so that equal
/// defects of different inputs compare equal.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Defect {
    /// Not UTF-8 (RFC 8259 §8.1: JSON text is UTF-8).
    NotUtf8,
    /// A raw control character (`< 0x20` or `0x7f`), even where JSON allows it (whitespace).
    ControlByte(u8),
    /// Not one JSON value.
    NotJson(&'static str),
    /// A `\uD800`–`\uDFFF` escape that is not half of a pair: no Unicode text has it, so no
    /// encoder (serde_json's included) writes it, and strict parsers (serde_json's) reject it
    /// (RFC 8259 §8.2, RFC 7493 §2.1).
    LoneSurrogate,
}

impl Defect {
    /// What kind of defect this is, to follow "has" in a property's name: control characters by class (JSON
    /// whitespace, which JSON allows raw; DEL, which serde_json writes raw; the other C0
    /// characters).
    pub(crate) fn class(&self) -> String {
        match self {
            Self::NotUtf8 => "text that is not UTF-8".into(),
            Self::ControlByte(byte) => control_class(*byte).into(),
            Self::NotJson(why) => format!("text that is not one JSON value ({why})"),
            Self::LoneSurrogate => "a lone surrogate escape".into(),
        }
    }
}

/// The class of control character `byte` (`< 0x20` or `0x7f`).
pub(crate) fn control_class(byte: u8) -> &'static str {
    match byte {
        b'\n' => "a raw newline",
        b'\t' | b'\r' => "a raw tab or carriage return",
        0x7f => "a raw DEL (0x7f)",
        _ => "a raw C0 control character",
    }
}

/// How strict to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Text {
    /// A JSON text as RFC 8259 defines it: what a guest's OK payload must be.
    Rfc8259,
    /// A line hecaton wrote: also no raw control characters and no lone surrogates.
    Line,
}

/// Checks that `bytes` is one JSON value, as strictly as `text` says.
pub(crate) fn check(bytes: &[u8], text: Text) -> Result<(), Defect> {
    std::str::from_utf8(bytes).map_err(|_| Defect::NotUtf8)?;
    if text == Text::Line
        && let Some(&byte) = bytes.iter().find(|&&b| b < 0x20 || b == 0x7f)
    {
        return Err(Defect::ControlByte(byte));
    }
    let mut parser = Parser {
        bytes,
        at: 0,
        lone_surrogate: false,
    };
    parser.value().map_err(Defect::NotJson)?;
    if text == Text::Line && parser.lone_surrogate {
        return Err(Defect::LoneSurrogate);
    }
    Ok(())
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
    lone_surrogate: bool,
}

type Parsed = Result<(), &'static str>;

impl Parser<'_> {
    /// One value and nothing after it but whitespace; containers on an explicit stack, so any
    /// depth is checked without recursion.
    fn value(&mut self) -> Parsed {
        let mut open: Vec<u8> = Vec::new();
        'value: loop {
            self.whitespace();
            match self.next() {
                Some(b'[') => {
                    self.whitespace();
                    if self.peek() == Some(b']') {
                        self.at += 1;
                    } else {
                        open.push(b']');
                        continue 'value;
                    }
                }
                Some(b'{') => {
                    self.whitespace();
                    if self.peek() == Some(b'}') {
                        self.at += 1;
                    } else {
                        self.member_name()?;
                        open.push(b'}');
                        continue 'value;
                    }
                }
                Some(b'"') => self.string()?,
                Some(b't') => self.literal(b"rue")?,
                Some(b'f') => self.literal(b"alse")?,
                Some(b'n') => self.literal(b"ull")?,
                Some(b'-' | b'0'..=b'9') => {
                    self.at -= 1;
                    self.number()?;
                }
                Some(_) => return Err("a value starts with an unexpected character"),
                None => return Err("the text ends where a value should be"),
            }
            // After a value: close containers until one takes another element.
            loop {
                self.whitespace();
                let Some(&close) = open.last() else {
                    return match self.peek() {
                        None => Ok(()),
                        Some(_) => Err("characters after the value"),
                    };
                };
                match self.next() {
                    Some(b',') if close == b'}' => {
                        self.whitespace();
                        self.member_name()?;
                        continue 'value;
                    }
                    Some(b',') => continue 'value,
                    Some(byte) if byte == close => {
                        open.pop();
                    }
                    Some(_) => return Err("a container goes on with an unexpected character"),
                    None => return Err("the text ends inside a container"),
                }
            }
        }
    }

    /// `"name"` and its `:`.
    fn member_name(&mut self) -> Parsed {
        if self.next() != Some(b'"') {
            return Err("an object member does not start with a string");
        }
        self.string()?;
        self.whitespace();
        match self.next() {
            Some(b':') => Ok(()),
            _ => Err("an object member name is not followed by `:`"),
        }
    }

    /// The rest of a string, after its opening quote.
    fn string(&mut self) -> Parsed {
        // The high surrogate escape just read, waiting for its low half.
        let mut high = false;
        loop {
            let byte = self.next().ok_or("the text ends inside a string")?;
            let low = match byte {
                b'"' => {
                    self.lone_surrogate |= high;
                    return Ok(());
                }
                0x00..=0x1f => return Err("a raw control character in a string"),
                b'\\' => match self.next() {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => false,
                    Some(b'u') => {
                        let unit = self.hex4()?;
                        match unit {
                            0xd800..=0xdbff => {
                                self.lone_surrogate |= high;
                                high = true;
                                continue;
                            }
                            0xdc00..=0xdfff => {
                                self.lone_surrogate |= !high;
                                true
                            }
                            _ => false,
                        }
                    }
                    _ => return Err("an invalid escape in a string"),
                },
                _ => false,
            };
            if !low {
                self.lone_surrogate |= high;
            }
            high = false;
        }
    }

    fn hex4(&mut self) -> Result<u16, &'static str> {
        let digits = self
            .bytes
            .get(self.at..self.at + 4)
            .ok_or("a `\\u` escape with fewer than 4 digits")?;
        let text = std::str::from_utf8(digits).map_err(|_| "a `\\u` escape that is not hex")?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("a `\\u` escape that is not hex");
        }
        self.at += 4;
        u16::from_str_radix(text, 16).map_err(|_| "a `\\u` escape that is not hex")
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, any size.
    fn number(&mut self) -> Parsed {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.next() {
            Some(b'0') => {}
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err("a number without digits"),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.some_digits("a fraction without digits")?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.some_digits("an exponent without digits")?;
        }
        Ok(())
    }

    fn some_digits(&mut self, missing: &'static str) -> Parsed {
        let start = self.at;
        self.digits();
        if self.at == start {
            Err(missing)
        } else {
            Ok(())
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
    }

    fn literal(&mut self, rest: &[u8]) -> Parsed {
        if self.bytes[self.at..].starts_with(rest) {
            self.at += rest.len();
            Ok(())
        } else {
            Err("a misspelled literal")
        }
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }
}

#[test]
fn checker_agrees_with_serde_json_and_sees_any_depth() {
    let agree: &[&[u8]] = &[
        b"null",
        b" [1, -0.5e+3, \"a\\u00e9\\ud83d\\ude00\", {\"k\": [true, false, {}]}, []] ",
        b"\"\\u2028\\n\\\"\"",
        b"{\"a\":1,\"a\":2}",
        b"1e400",
        b"",
        b"01",
        b"[1,]",
        b"{\"a\" 1}",
        b"1 2",
        b"\"\x01\"",
        b"\xef\xbb\xbfnull",
        b"nul",
        b"-",
        b"1.",
        b"\"\\x\"",
        b"[\"\\u12\"]",
        b"\"\xff\"",
    ];
    for &text in agree {
        let ours = check(text, Text::Rfc8259).is_ok();
        let serde = serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
            && std::str::from_utf8(text).is_ok();
        assert_eq!(ours, serde, "{}", crate::fuzzing::escaped(text));
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(check(deep.as_bytes(), Text::Line), Ok(()));
    assert_eq!(check(b"\"\\ud800\"", Text::Rfc8259), Ok(()), "grammatical");
    for lone in [
        &b"\"\\ud800\""[..],
        b"\"\\udc00\"",
        b"\"\\ud800\\u0041\"",
        b"\"\\ud800\\ud800\\udc00\"",
    ] {
        assert_eq!(check(lone, Text::Line), Err(Defect::LoneSurrogate));
    }
    assert_eq!(check(b"[1,\t2]", Text::Rfc8259), Ok(()));
    assert_eq!(
        check(b"[1,\t2]", Text::Line),
        Err(Defect::ControlByte(b'\t'))
    );
    assert_eq!(
        check(b"\"\x7f\"", Text::Line),
        Err(Defect::ControlByte(0x7f))
    );
}
