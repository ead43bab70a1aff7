//! GNU parallel's replacement strings in a command map's fixed arguments: `{}` the input, `{.}`
//! the input without its extension, `{/}` its last path component, `{//}` the path before it,
//! `{/.}` the last component without its extension, and `{#}` the input's index (from 0, as
//! hecaton's records count; parallel counts from 1). Each argument is expanded in one pass, so a
//! placeholder inside an input is left as it is.

/// The placeholders that stand for the input (not `{#}`), longest first.
const INPUT_PLACEHOLDERS: [&str; 5] = ["{/.}", "{//}", "{/}", "{.}", "{}"];

/// The placeholder for the input's index.
const INDEX_PLACEHOLDER: &str = "{#}";

/// Whether a fixed command argument places the input somewhere (`{}`, `{.}`, `{/}`, `{//}`,
/// `{/.}`): a map then does not append the input as the last argument.
///
/// ```
/// assert!(hecaton::places_input("-o /out/{/.}.png"));
/// assert!(!hecaton::places_input("/out/{#}.png"));
/// ```
pub fn places_input(arg: &str) -> bool {
    INPUT_PLACEHOLDERS
        .iter()
        .any(|placeholder| arg.contains(placeholder))
}

/// `arg` with every placeholder replaced for `input` (text) at `index`.
pub(crate) fn expand(arg: &str, input: &str, index: &str) -> String {
    let mut expanded = String::with_capacity(arg.len() + input.len());
    let mut rest = arg;
    while let Some(at) = rest.find('{') {
        expanded.push_str(&rest[..at]);
        rest = &rest[at..];
        let found = INPUT_PLACEHOLDERS
            .iter()
            .chain([&INDEX_PLACEHOLDER])
            .find(|placeholder| rest.starts_with(**placeholder));
        match found {
            Some(placeholder) => {
                expanded.push_str(&replacement(placeholder, input, index));
                rest = &rest[placeholder.len()..];
            }
            None => {
                expanded.push('{');
                rest = &rest[1..];
            }
        }
    }
    expanded.push_str(rest);
    expanded
}

fn replacement(placeholder: &str, input: &str, index: &str) -> String {
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
        "{/.}" => without_extension(base).to_owned(),
        _ => index.to_owned(),
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
    use super::{expand, places_input};

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
}
