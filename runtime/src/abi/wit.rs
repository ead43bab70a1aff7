//! Component tasks' half of the calling convention: an exported component function called with
//! JSON, its arguments built from the JSON by the function's own WIT types, its result given
//! back as JSON (README, "Writing tasks as components", has the table). Nothing the guest returns
//! is trusted: wasmtime checks every lifted value against the type, the host caps how much it
//! copies out (hostcall fuel) and how much JSON it writes (the output limit).

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};
use wasmtime::Store;
use wasmtime::component::{ComponentExportIndex, Instance, Type, Val};

use crate::abi::Failure;
use crate::error::TaskError;
use crate::sandbox::TaskState;

/// Deepest nesting of types a task's parameters and result may have: what the host walks
/// recursively, and, one JSON level per type level at most, below the 128 levels of JSON the
/// host's parser and encoder take.
pub(crate) const MAX_TYPE_DEPTH: usize = 100;

/// An exported component function, as its load found it: where it is and its types.
#[derive(Clone)]
pub(crate) struct WitFunc {
    pub(crate) index: ComponentExportIndex,
    pub(crate) params: Vec<(String, Type)>,
    pub(crate) result: Option<Type>,
}

/// Calls `func` in `instance` with the arguments of JSON `input`, and returns its result as one
/// line of JSON. A top-level `result<T, E>` that is `err` is the task's
/// [`TaskError::Guest`], its message E's JSON (a string as it is).
pub(crate) fn call_wit(
    store: &mut Store<TaskState>,
    instance: &Instance,
    func: &WitFunc,
    input: &[u8],
) -> Result<Vec<u8>, Failure> {
    let args = arguments(&func.params, input).map_err(|message| TaskError::BadInput { message })?;
    let wasm_func = instance
        .get_func(&mut *store, func.index)
        .ok_or_else(|| TaskError::Host("a component task is missing from the instance".into()))?;
    let mut results = vec![Val::Bool(false); usize::from(func.result.is_some())];
    if let Err(error) = wasm_func.call(&mut *store, &args, &mut results) {
        // wasmtime's hostcall fuel (`new_store` sets it from the output limit) stops a result
        // too large to copy out; its error type is private, its text is not.
        if error.downcast_ref::<wasmtime::Trap>().is_none()
            && format!("{error:#}").contains("too much data is being copied")
        {
            let limit = store.data().limits.max_output;
            return Err(TaskError::OutputLimit { limit }.into());
        }
        return Err(Failure::Wasm(error));
    }
    let output = match (&func.result, results.first()) {
        (Some(Type::Result(ty)), Some(Val::Result(outcome))) => match outcome {
            Ok(value) => optional_json(ty.ok().as_ref(), value.as_deref()),
            Err(value) => {
                let message = match optional_json(ty.err().as_ref(), value.as_deref()) {
                    Value::String(text) => text,
                    Value::Null => "error".to_owned(),
                    other => other.to_string(),
                };
                return Err(TaskError::Guest { message }.into());
            }
        },
        (Some(ty), Some(value)) => to_json(ty, value),
        _ => Value::Null,
    };
    let line = crate::text::to_json_line(&output)
        .map_err(|error| TaskError::Host(format!("output cannot be encoded: {error}")))?;
    let limit = store.data().limits.max_output;
    if line.len() as u64 > limit {
        return Err(TaskError::OutputLimit { limit }.into());
    }
    Ok(line)
}

/// The arguments of a call from its JSON input: none for `null` or `[]`; for one parameter the
/// value itself; for several an array of them in order, or an object keyed by their names.
fn arguments(params: &[(String, Type)], input: &[u8]) -> Result<Vec<Val>, String> {
    let value: Value =
        serde_json::from_slice(input).map_err(|error| format!("input is not JSON: {error}"))?;
    let names = || {
        params
            .iter()
            .map(|(name, ty)| format!("{name}: {}", wit(ty)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (params, value) {
        ([], Value::Null) => Ok(Vec::new()),
        ([], Value::Array(values)) if values.is_empty() => Ok(Vec::new()),
        ([], other) => Err(format!(
            "the task takes no arguments (null or []), got {}",
            preview(&other)
        )),
        ([(name, ty)], value) => Ok(vec![from_json(ty, &value, &mut Path::param(name))?]),
        (params, Value::Array(values)) => {
            if values.len() != params.len() {
                return Err(format!(
                    "the task takes {} arguments ({}) as one JSON array or an object by name; \
                     got an array of {}",
                    params.len(),
                    names(),
                    values.len()
                ));
            }
            params
                .iter()
                .zip(&values)
                .map(|((name, ty), value)| from_json(ty, value, &mut Path::param(name)))
                .collect()
        }
        (params, Value::Object(mut fields)) => {
            let args = params
                .iter()
                .map(|(name, ty)| match fields.remove(name) {
                    Some(value) => from_json(ty, &value, &mut Path::param(name)),
                    None => Err(format!(
                        "argument `{name}` is missing (the task takes {})",
                        names()
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            match fields.keys().next() {
                Some(extra) => Err(format!(
                    "the task has no parameter `{extra}` (it takes {})",
                    names()
                )),
                None => Ok(args),
            }
        }
        (params, other) => Err(format!(
            "the task takes {} arguments ({}) as one JSON array or an object by name; got {}",
            params.len(),
            names(),
            preview(&other)
        )),
    }
}

/// Where in an argument a value is, for messages: `parameter `s`.rect.x`, `[2]`.
struct Path(String);

impl Path {
    fn param(name: &str) -> Self {
        Self(format!("parameter `{name}`"))
    }

    /// Runs `f` with `step` appended to the path.
    fn with<T>(&mut self, step: std::fmt::Arguments<'_>, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.0.len();
        let _ = self.0.write_fmt(step);
        let out = f(self);
        self.0.truncate(len);
        out
    }

    fn error(&self, message: impl std::fmt::Display) -> String {
        format!("{}: {message}", self.0)
    }
}

/// An integer of Rust type `$t` (WIT type `$name`) from a JSON value.
macro_rules! int {
    ($value:expr, $path:expr, $t:ty, $name:literal) => {
        integer(
            $value,
            $path,
            $name,
            i128::from(<$t>::MIN),
            i128::from(<$t>::MAX),
        )? as $t
    };
}

/// The value of type `ty` a JSON value stands for.
fn from_json(ty: &Type, value: &Value, path: &mut Path) -> Result<Val, String> {
    let expected = |what: &str| path.error(format!("expected {what}, got {}", preview(value)));
    Ok(match ty {
        Type::Bool => Val::Bool(value.as_bool().ok_or_else(|| expected("true or false"))?),
        // Each range-checked by `integer`: the casts cannot truncate.
        Type::S8 => Val::S8(int!(value, path, i8, "s8")),
        Type::U8 => Val::U8(int!(value, path, u8, "u8")),
        Type::S16 => Val::S16(int!(value, path, i16, "s16")),
        Type::U16 => Val::U16(int!(value, path, u16, "u16")),
        Type::S32 => Val::S32(int!(value, path, i32, "s32")),
        Type::U32 => Val::U32(int!(value, path, u32, "u32")),
        Type::S64 => Val::S64(int!(value, path, i64, "s64")),
        Type::U64 => Val::U64(int!(value, path, u64, "u64")),
        // f32 is the nearest single-precision number, as a cast gives.
        Type::Float32 => Val::Float32(float(value).ok_or_else(|| expected("a number"))? as f32),
        Type::Float64 => Val::Float64(float(value).ok_or_else(|| expected("a number"))?),
        Type::Char => {
            let text = value
                .as_str()
                .ok_or_else(|| expected("a one-character string"))?;
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(expected("a one-character string")),
            }
        }
        Type::String => Val::String(value.as_str().ok_or_else(|| expected("a string"))?.into()),
        Type::List(list) => {
            let items = value.as_array().ok_or_else(|| expected("an array"))?;
            let item = list.ty();
            Val::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| path.with(format_args!("[{i}]"), |p| from_json(&item, v, p)))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Tuple(tuple) => {
            let items = value.as_array().ok_or_else(|| expected("an array"))?;
            if items.len() != tuple.types().len() {
                return Err(expected(&format!(
                    "an array of {} ({})",
                    tuple.types().len(),
                    wit(ty)
                )));
            }
            Val::Tuple(
                tuple
                    .types()
                    .zip(items)
                    .enumerate()
                    .map(|(i, (t, v))| path.with(format_args!("[{i}]"), |p| from_json(&t, v, p)))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Record(record) => {
            let object = value
                .as_object()
                .ok_or_else(|| expected("an object with the record's fields"))?;
            let mut fields = Vec::with_capacity(record.fields().len());
            for field in record.fields() {
                let val = match object.get(field.name) {
                    Some(v) => path.with(format_args!(".{}", field.name), |p| {
                        from_json(&field.ty, v, p)
                    })?,
                    // An absent optional field is `none`.
                    None if matches!(field.ty, Type::Option(_)) => Val::Option(None),
                    None => return Err(path.error(format!("field `{}` is missing", field.name))),
                };
                fields.push((field.name.to_owned(), val));
            }
            if let Some(extra) = object
                .keys()
                .find(|key| !record.fields().any(|field| field.name == key.as_str()))
            {
                let known: Vec<&str> = record.fields().map(|field| field.name).collect();
                return Err(path.error(format!(
                    "the record has no field `{extra}` (it has {})",
                    known.join(", ")
                )));
            }
            Val::Record(fields)
        }
        Type::Variant(variant) => {
            let cases = || {
                variant
                    .cases()
                    .map(|case| case.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let (name, payload) = case_of(value).ok_or_else(|| {
                expected(&format!(
                    "a case name or an object of one case and its value ({})",
                    cases()
                ))
            })?;
            let case = variant
                .cases()
                .find(|case| case.name == name)
                .ok_or_else(|| path.error(format!("no case `{name}` (cases: {})", cases())))?;
            let payload = match (&case.ty, payload) {
                (Some(ty), Some(v)) => Some(Box::new(
                    path.with(format_args!(".{name}"), |p| from_json(ty, v, p))?,
                )),
                (Some(_), None) => {
                    return Err(
                        path.error(format!("case `{name}` needs a value: {{\"{name}\": …}}"))
                    );
                }
                (None, None | Some(Value::Null)) => None,
                (None, Some(_)) => {
                    return Err(path.error(format!("case `{name}` takes no value")));
                }
            };
            Val::Variant(name.to_owned(), payload)
        }
        Type::Enum(cases) => {
            let name = value.as_str().ok_or_else(|| expected("a case name"))?;
            if !cases.names().any(|case| case == name) {
                let names: Vec<&str> = cases.names().collect();
                return Err(path.error(format!("no case `{name}` (cases: {})", names.join(", "))));
            }
            Val::Enum(name.to_owned())
        }
        Type::Option(option) => {
            let inner = option.ty();
            match value {
                Value::Null => Val::Option(None),
                // `option<option<T>>`: `null` is the outer none; the inner value is spelled
                // `{"some": v}` (`{"some": null}` is some(none)).
                _ if matches!(inner, Type::Option(_)) => {
                    let v = value
                        .as_object()
                        .filter(|object| object.len() == 1)
                        .and_then(|object| object.get("some"))
                        .ok_or_else(|| expected("null or {\"some\": …}"))?;
                    Val::Option(Some(Box::new(
                        path.with(format_args!(".some"), |p| from_json(&inner, v, p))?,
                    )))
                }
                _ => Val::Option(Some(Box::new(from_json(&inner, value, path)?))),
            }
        }
        Type::Result(result) => {
            let (name, payload) = case_of(value)
                .filter(|(name, _)| matches!(*name, "ok" | "err"))
                .ok_or_else(|| expected("{\"ok\": …} or {\"err\": …}"))?;
            let ty = if name == "ok" {
                result.ok()
            } else {
                result.err()
            };
            let payload = match (ty, payload) {
                (Some(ty), Some(v)) => Some(Box::new(
                    path.with(format_args!(".{name}"), |p| from_json(&ty, v, p))?,
                )),
                (Some(_), None) => {
                    return Err(path.error(format!("`{name}` needs a value: {{\"{name}\": …}}")));
                }
                (None, None | Some(Value::Null)) => None,
                (None, Some(_)) => return Err(path.error(format!("`{name}` takes no value"))),
            };
            Val::Result(if name == "ok" {
                Ok(payload)
            } else {
                Err(payload)
            })
        }
        Type::Flags(flags) => {
            let items = value
                .as_array()
                .ok_or_else(|| expected("an array of flag names"))?;
            let mut set = Vec::with_capacity(items.len());
            for item in items {
                let name = item
                    .as_str()
                    .ok_or_else(|| expected("an array of flag names"))?;
                if !flags.names().any(|flag| flag == name) {
                    let names: Vec<&str> = flags.names().collect();
                    return Err(
                        path.error(format!("no flag `{name}` (flags: {})", names.join(", ")))
                    );
                }
                if !set.iter().any(|known| known == name) {
                    set.push(name.to_owned());
                }
            }
            Val::Flags(set)
        }
        // Refused at load (`unsupported`): no task of these types exists.
        _ => return Err(path.error(format!("{} cannot be given as JSON", wit(ty)))),
    })
}

/// An integer within `min..=max` (the range of WIT type `name`), from a JSON integer.
fn integer(value: &Value, path: &Path, name: &str, min: i128, max: i128) -> Result<i128, String> {
    let expected = || {
        path.error(format!(
            "expected an integer ({name}), got {}",
            preview(value)
        ))
    };
    let number = value.as_number().ok_or_else(expected)?;
    let n = match (number.as_i64(), number.as_u64()) {
        (Some(n), _) => i128::from(n),
        (None, Some(n)) => i128::from(n),
        (None, None) if number.as_f64().is_some_and(|f| f.fract() != 0.0) => {
            return Err(expected());
        }
        (None, None) => {
            return Err(path.error(format!(
                "{number} is out of range for {name} ({min} to {max})"
            )));
        }
    };
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(path.error(format!(
            "{number} is out of range for {name} ({min} to {max})"
        )))
    }
}

/// A float from a JSON number, or from `"nan"`, `"inf"`, `"-inf"` (JSON has no spelling of
/// its own for them; the host writes them so).
fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => match text.as_str() {
            "nan" | "NaN" => Some(f64::NAN),
            "inf" | "+inf" | "infinity" | "Infinity" => Some(f64::INFINITY),
            "-inf" | "-infinity" | "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// A case and its payload: `"name"`, or `{"name": payload}`.
fn case_of(value: &Value) -> Option<(&str, Option<&Value>)> {
    match value {
        Value::String(name) => Some((name, None)),
        Value::Object(object) if object.len() == 1 => object
            .iter()
            .next()
            .map(|(name, v)| (name.as_str(), Some(v))),
        _ => None,
    }
}

/// The JSON of an optional payload of type `ty` (`null` without one).
fn optional_json(ty: Option<&Type>, value: Option<&Val>) -> Value {
    match (ty, value) {
        (Some(ty), Some(value)) => to_json(ty, value),
        _ => Value::Null,
    }
}

/// The JSON of `value`, of type `ty`, as [`from_json`] reads it back.
fn to_json(ty: &Type, value: &Val) -> Value {
    match value {
        Val::Bool(v) => Value::Bool(*v),
        Val::S8(v) => (*v).into(),
        Val::U8(v) => (*v).into(),
        Val::S16(v) => (*v).into(),
        Val::U16(v) => (*v).into(),
        Val::S32(v) => (*v).into(),
        Val::U32(v) => (*v).into(),
        Val::S64(v) => (*v).into(),
        Val::U64(v) => (*v).into(),
        // `{:?}`: the shortest decimal that reads back as the same number of its own width,
        // always with a point or an exponent (7.0, 1e300), so that a float stays a float.
        Val::Float32(v) => float_json(f64::from(*v), v.is_finite().then(|| format!("{v:?}"))),
        Val::Float64(v) => float_json(*v, v.is_finite().then(|| format!("{v:?}"))),
        Val::Char(c) => Value::String(c.to_string()),
        Val::String(text) => Value::String(text.clone()),
        Val::List(items) => {
            let item = match ty {
                Type::List(list) => Some(list.ty()),
                _ => None,
            };
            Value::Array(
                items
                    .iter()
                    .map(|v| item.as_ref().map_or(Value::Null, |t| to_json(t, v)))
                    .collect(),
            )
        }
        Val::Tuple(items) => match ty {
            Type::Tuple(tuple) => Value::Array(
                tuple
                    .types()
                    .zip(items)
                    .map(|(t, v)| to_json(&t, v))
                    .collect(),
            ),
            _ => Value::Null,
        },
        Val::Record(fields) => match ty {
            Type::Record(record) => Value::Object(
                record
                    .fields()
                    .zip(fields)
                    .map(|(field, (name, v))| (name.clone(), to_json(&field.ty, v)))
                    .collect::<Map<_, _>>(),
            ),
            _ => Value::Null,
        },
        Val::Variant(name, payload) => {
            let case_ty = match ty {
                Type::Variant(variant) => variant
                    .cases()
                    .find(|case| case.name == name)
                    .and_then(|case| case.ty),
                _ => None,
            };
            match payload {
                Some(v) => single(name, optional_json(case_ty.as_ref(), Some(v))),
                None => Value::String(name.clone()),
            }
        }
        Val::Enum(name) => Value::String(name.clone()),
        Val::Option(None) => Value::Null,
        Val::Option(Some(v)) => match ty {
            Type::Option(option) => {
                let inner = option.ty();
                let json = to_json(&inner, v);
                if matches!(inner, Type::Option(_)) {
                    single("some", json)
                } else {
                    json
                }
            }
            _ => Value::Null,
        },
        Val::Result(outcome) => {
            let (ok, err) = match ty {
                Type::Result(result) => (result.ok(), result.err()),
                _ => (None, None),
            };
            match outcome {
                Ok(v) => single("ok", optional_json(ok.as_ref(), v.as_deref())),
                Err(v) => single("err", optional_json(err.as_ref(), v.as_deref())),
            }
        }
        Val::Flags(names) => Value::Array(names.iter().cloned().map(Value::String).collect()),
        // Types refused at load: no task returns them.
        _ => Value::Null,
    }
}

/// `{"key": value}`.
fn single(key: &str, value: Value) -> Value {
    let mut object = Map::new();
    object.insert(key.to_owned(), value);
    Value::Object(object)
}

/// A float's JSON: its shortest decimal that reads back as the same number (`shortest`, its
/// own type's), or `"nan"`, `"inf"`, `"-inf"`.
fn float_json(value: f64, shortest: Option<String>) -> Value {
    if value.is_nan() {
        return Value::String("nan".into());
    }
    if value.is_infinite() {
        return Value::String(if value > 0.0 { "inf" } else { "-inf" }.into());
    }
    shortest
        .and_then(|text| text.parse::<Number>().ok())
        .map_or(Value::Null, Value::Number)
}

/// The start of a JSON value, for messages.
fn preview(value: &Value) -> String {
    let text = value.to_string();
    let shown: String = text.chars().take(60).collect();
    let shown = crate::text::printable(shown.as_bytes());
    if shown.len() < text.len() {
        format!("{shown}…")
    } else {
        shown
    }
}

/// A type as WIT spells it, structurally: a record or variant is written out with its fields
/// or cases (the component keeps no type names).
pub(crate) fn wit(ty: &Type) -> String {
    let list = |types: &mut dyn Iterator<Item = Type>| {
        types.map(|t| wit(&t)).collect::<Vec<_>>().join(", ")
    };
    match ty {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::List(l) => format!("list<{}>", wit(&l.ty())),
        Type::Map(m) => format!("map<{}, {}>", wit(&m.key()), wit(&m.value())),
        Type::FixedLengthList(l) => format!("list<{}, {}>", wit(&l.ty()), l.len()),
        Type::Record(r) => {
            let fields: Vec<String> = r
                .fields()
                .map(|field| format!("{}: {}", field.name, wit(&field.ty)))
                .collect();
            format!("record {{ {} }}", fields.join(", "))
        }
        Type::Tuple(t) => format!("tuple<{}>", list(&mut t.types())),
        Type::Variant(v) => {
            let cases: Vec<String> = v
                .cases()
                .map(|case| match &case.ty {
                    Some(ty) => format!("{}({})", case.name, wit(ty)),
                    None => case.name.to_owned(),
                })
                .collect();
            format!("variant {{ {} }}", cases.join(", "))
        }
        Type::Enum(e) => format!("enum {{ {} }}", e.names().collect::<Vec<_>>().join(", ")),
        Type::Option(o) => format!("option<{}>", wit(&o.ty())),
        Type::Result(r) => match (r.ok(), r.err()) {
            (None, None) => "result".into(),
            (Some(ok), None) => format!("result<{}>", wit(&ok)),
            (None, Some(err)) => format!("result<_, {}>", wit(&err)),
            (Some(ok), Some(err)) => format!("result<{}, {}>", wit(&ok), wit(&err)),
        },
        Type::Flags(f) => format!("flags {{ {} }}", f.names().collect::<Vec<_>>().join(", ")),
        Type::Own(_) => "own<resource>".into(),
        Type::Borrow(_) => "borrow<resource>".into(),
        Type::Future(_) => "future".into(),
        Type::Stream(_) => "stream".into(),
        Type::ErrorContext => "error-context".into(),
    }
}

/// Why a task cannot take or return a value of type `ty` as JSON, if it cannot: a resource
/// handle, a future, a stream or an error context (they are not data), a map or a fixed-length
/// list (not enabled), or nesting deeper than [`MAX_TYPE_DEPTH`].
pub(crate) fn unsupported(ty: &Type, depth: usize) -> Option<String> {
    if depth > MAX_TYPE_DEPTH {
        return Some(format!("types nested more than {MAX_TYPE_DEPTH} deep"));
    }
    let inner = |ty: &Type| unsupported(ty, depth + 1);
    match ty {
        Type::Own(_) | Type::Borrow(_) => {
            Some("a resource handle (host or guest state, not data)".into())
        }
        Type::Future(_) => Some("a future".into()),
        Type::Stream(_) => Some("a stream".into()),
        Type::ErrorContext => Some("an error-context".into()),
        Type::Map(_) => Some("a map".into()),
        Type::FixedLengthList(_) => Some("a fixed-length list".into()),
        Type::List(l) => inner(&l.ty()),
        Type::Option(o) => inner(&o.ty()),
        Type::Record(r) => r.fields().find_map(|field| inner(&field.ty)),
        Type::Tuple(t) => t.types().find_map(|t| inner(&t)),
        Type::Variant(v) => v.cases().find_map(|case| case.ty.as_ref().and_then(inner)),
        Type::Result(r) => r
            .ok()
            .as_ref()
            .and_then(inner)
            .or_else(|| r.err().as_ref().and_then(inner)),
        _ => None,
    }
}
