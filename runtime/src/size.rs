//! Sizes as people write them: `64MiB`, `16 MB`, `512KiB`, `4096B`.

/// A size in bytes: a whole number with a unit, `B`, `KB`, `KiB`, `MB`, `MiB`, `GB` or `GiB`
/// (case-insensitive; `K`, `M`, `G` for the decimal ones). A number without a unit is refused,
/// so that `64` is never taken for 64 bytes when 64 MiB was meant. What the CLI's size flags
/// and the Python package's size arguments take.
///
/// ```
/// assert_eq!(hecaton::parse_size("64MiB"), Ok(64 << 20));
/// assert_eq!(hecaton::parse_size("2 KB"), Ok(2000));
/// assert!(hecaton::parse_size("64").is_err());
/// ```
///
/// # Errors
/// A message naming the text: not a number, no unit, an unknown unit, or too large for `u64`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size like 64MiB"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" => {
            return Err(format!(
                "`{text}` needs a unit: B, KB, KiB, MB, MiB, GB or GiB (64MiB, say)"
            ));
        }
        "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit `{other}` in `{text}` (use B, KB, KiB, MB, MiB, GB, GiB)"
            ));
        }
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too large"))
}
