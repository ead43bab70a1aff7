//! GNU parallel's replacement strings in a command map's fixed arguments: `{}` the input, `{.}`
//! the input without its extension, `{/}` its last path component, `{//}` the path before it,
//! `{/.}` the last component without its extension, and `{#}` the input's index (from 0, as
//! hecaton's records count; parallel counts from 1). Parallel's `-I STR` is
//! [`Placeholders::Input`]: only STR stands for the input, so that an argument holding `{}` of
//! its own (a script's `d = {}`) passes as written. Each argument is expanded in one pass, so a
//! placeholder inside an input is left as it is.

/// GNU parallel's placeholders for the input (not `{#}`), longest first.
const INPUT_PLACEHOLDERS: [&str; 5] = ["{/.}", "{//}", "{/}", "{.}", "{}"];

/// The placeholder for the input's index.
const INDEX_PLACEHOLDER: &str = "{#}";

/// Which strings of a command map's fixed arguments stand for the input.
///
/// ```
/// use hecaton::Placeholders;
///
/// assert!(Placeholders::Parallel.places_input("-o /out/{/.}.png"));
/// assert!(!Placeholders::Parallel.places_input("/out/{#}.png"));
/// // A script's own braces pass as written when another string stands for the input.
/// let custom = Placeholders::Input("@@".into());
/// assert!(!custom.places_input("d = {}; print(d)"));
/// assert!(custom.places_input("open('@@')"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Placeholders {
    /// GNU parallel's: `{}` `{.}` `{/}` `{//}` `{/.}` for the input, `{#}` for its index (the
    /// default).
    #[default]
    Parallel,
    /// Only this string stands for the input (`parallel -I STR`, `hecaton map -I STR`), and `{#}`
    /// for its index; every other brace is left as it is.
    Input(String),
}

impl Placeholders {
    /// Whether a fixed argument places the input somewhere: a map then does not append the
    /// input as the last argument.
    pub fn places_input(&self, arg: &str) -> bool {
        match self {
            Self::Parallel => INPUT_PLACEHOLDERS
                .iter()
                .any(|placeholder| arg.contains(placeholder)),
            Self::Input(token) => !token.is_empty() && arg.contains(token.as_str()),
        }
    }

    /// `arg` with every placeholder replaced for `input` (text) at `index`.
    pub(crate) fn expand(&self, arg: &str, input: &str, index: &str) -> String {
        let tokens: Vec<&str> = match self {
            Self::Parallel => INPUT_PLACEHOLDERS.to_vec(),
            Self::Input(token) if token.is_empty() => Vec::new(),
            Self::Input(token) => vec![token.as_str()],
        };
        let mut expanded = String::with_capacity(arg.len() + input.len());
        let mut rest = arg;
        while !rest.is_empty() {
            let found = tokens
                .iter()
                .chain([&INDEX_PLACEHOLDER])
                .find(|token| rest.starts_with(**token));
            match found {
                Some(token) => {
                    let replacement = match *token {
                        INDEX_PLACEHOLDER => index.to_owned(),
                        _ if matches!(self, Self::Input(_)) => input.to_owned(),
                        placeholder => replacement(placeholder, input),
                    };
                    expanded.push_str(&replacement);
                    rest = &rest[token.len()..];
                }
                None => {
                    let next = rest.chars().next().map_or(1, char::len_utf8);
                    expanded.push_str(&rest[..next]);
                    rest = &rest[next..];
                }
            }
        }
        expanded
    }
}

/// What one of parallel's input placeholders stands for.
fn replacement(placeholder: &str, input: &str) -> String {
    // The last path component, and the path before it, as parallel splits them (on `/`).
    let (dir, base) = match input.rfind('/') {
        Some(0) => ("/", &input[1..]),
        Some(at) => (&input[..at], &input[at + 1..]),
        None => (".", input),
    };
    match placeholder {
        "{}" => input.to_owned(),
        "{.}" => without_extension(input).to_owned(),
        "{/}" => base.to_owned(),
        "{//}" => dir.to_owned(),
        _ => without_extension(base).to_owned(),
    }
}

/// `name` without its extension: the text after the last `.` of its last path component (a
/// leading `.` is not an extension).
fn without_extension(path: &str) -> &str {
    let start = path.rfind('/').map_or(0, |at| at + 1);
    match path[start..].rfind('.') {
        Some(dot) if dot > 0 => &path[..start + dot],
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::Placeholders;

    fn expand(arg: &str, input: &str, index: &str) -> String {
        Placeholders::Parallel.expand(arg, input, index)
    }

    fn places_input(arg: &str) -> bool {
        Placeholders::Parallel.places_input(arg)
    }

    #[test]
    fn each_placeholder_as_gnu_parallel_expands_it() {
        let input = "src/lib/parse.tar.gz";
        assert_eq!(expand("{}", input, "4"), "src/lib/parse.tar.gz");
        assert_eq!(expand("{.}", input, "4"), "src/lib/parse.tar");
        assert_eq!(expand("{/}", input, "4"), "parse.tar.gz");
        assert_eq!(expand("{//}", input, "4"), "src/lib");
        assert_eq!(expand("{/.}", input, "4"), "parse.tar");
        assert_eq!(expand("/out/{#}-{/.}.s", input, "4"), "/out/4-parse.tar.s");
        assert_eq!(expand("{//}", "a.c", "0"), ".");
        assert_eq!(expand("{.}", "dir.d/noext", "0"), "dir.d/noext");
        assert_eq!(expand("{.}", ".bashrc", "0"), ".bashrc");
    }

    #[test]
    fn placeholders_inside_the_input_are_left_as_they_are() {
        assert_eq!(expand("-x={}:{#}", "{#}{}", "2"), "-x={#}{}:2");
        assert_eq!(expand("{a} {", "x", "0"), "{a} {");
    }

    #[test]
    fn only_input_placeholders_place_the_input() {
        assert!(places_input("{//}/x"));
        assert!(!places_input("{#}"));
        assert!(!places_input("{x}"));
    }

    #[test]
    fn another_string_for_the_input_leaves_braces_as_written() {
        let custom = Placeholders::Input("@@".into());
        assert_eq!(
            custom.expand("d = {}; f('@@', {#}) {.}", "x.py", "3"),
            "d = {}; f('x.py', 3) {.}"
        );
        assert!(!custom.places_input("{}"));
    }
}
