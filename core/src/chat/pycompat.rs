//! The Python `str` and `dict` methods Hugging Face chat templates call (`.strip()`,
//! `.startswith()`, `.items()`, ...), which minijinja does not have: it routes unknown
//! methods to [`call_method`]. Semantics follow CPython for the arguments templates use.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

fn bad_args(method: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("bad arguments to .{method}()"),
    )
}

fn opt_str<'a>(args: &'a [Value], i: usize, method: &str) -> Result<Option<&'a str>, Error> {
    match args.get(i) {
        None => Ok(None),
        Some(v) if v.is_none() || v.is_undefined() => Ok(None),
        Some(v) => v.as_str().map(Some).ok_or_else(|| bad_args(method)),
    }
}

fn req_str<'a>(args: &'a [Value], i: usize, method: &str) -> Result<&'a str, Error> {
    opt_str(args, i, method)?.ok_or_else(|| bad_args(method))
}

/// Python's `strip` family: `chars = None` means whitespace.
fn strip<'a>(s: &'a str, chars: Option<&str>, left: bool, right: bool) -> &'a str {
    let is_strip = |c: char| match chars {
        None => c.is_whitespace(),
        Some(set) => set.contains(c),
    };
    let s = if left {
        s.trim_start_matches(is_strip)
    } else {
        s
    };
    if right {
        s.trim_end_matches(is_strip)
    } else {
        s
    }
}

/// `startswith`/`endswith` take a string or a tuple of strings.
fn affix_match(arg: &Value, method: &str, test: impl Fn(&str) -> bool) -> Result<bool, Error> {
    if let Some(s) = arg.as_str() {
        return Ok(test(s));
    }
    if arg.kind() == ValueKind::Seq {
        for item in arg.try_iter()? {
            if test(item.as_str().ok_or_else(|| bad_args(method))?) {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    Err(bad_args(method))
}

fn split(s: &str, sep: Option<&str>, maxsplit: i64) -> Result<Value, Error> {
    let limit = if maxsplit < 0 {
        usize::MAX
    } else {
        maxsplit as usize + 1
    };
    let parts: Vec<Value> = match sep {
        Some("") => return Err(Error::new(ErrorKind::InvalidOperation, "empty separator")),
        Some(sep) => s.splitn(limit, sep).map(Value::from).collect(),
        None => {
            // Whitespace split: runs of whitespace separate, no empty strings.
            let mut out = Vec::new();
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if out.len() + 1 == limit {
                    out.push(Value::from(rest));
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                let (word, tail) = rest.split_at(end);
                out.push(Value::from(word));
                rest = tail.trim_start();
            }
            out
        }
    };
    Ok(Value::from(parts))
}

fn str_method(s: &str, method: &str, args: &[Value]) -> Result<Value, Error> {
    Ok(match method {
        "strip" => Value::from(strip(s, opt_str(args, 0, method)?, true, true)),
        "lstrip" => Value::from(strip(s, opt_str(args, 0, method)?, true, false)),
        "rstrip" => Value::from(strip(s, opt_str(args, 0, method)?, false, true)),
        "startswith" => {
            let arg = args.first().ok_or_else(|| bad_args(method))?;
            Value::from(affix_match(arg, method, |p| s.starts_with(p))?)
        }
        "endswith" => {
            let arg = args.first().ok_or_else(|| bad_args(method))?;
            Value::from(affix_match(arg, method, |p| s.ends_with(p))?)
        }
        "split" => {
            let maxsplit = args.get(1).and_then(Value::as_i64).unwrap_or(-1);
            split(s, opt_str(args, 0, method)?, maxsplit)?
        }
        "splitlines" => Value::from(s.lines().map(Value::from).collect::<Vec<_>>()),
        "upper" => Value::from(s.to_uppercase()),
        "lower" => Value::from(s.to_lowercase()),
        "capitalize" => {
            let mut cs = s.chars();
            let first: String = cs
                .next()
                .map(|c| c.to_uppercase().collect())
                .unwrap_or_default();
            Value::from(first + &cs.as_str().to_lowercase())
        }
        "title" => {
            let mut out = String::with_capacity(s.len());
            let mut prev_cased = false;
            for c in s.chars() {
                if prev_cased {
                    out.extend(c.to_lowercase());
                } else {
                    out.extend(c.to_uppercase());
                }
                prev_cased = c.is_alphabetic();
            }
            Value::from(out)
        }
        "replace" => {
            let (old, new) = (req_str(args, 0, method)?, req_str(args, 1, method)?);
            match args.get(2).and_then(Value::as_i64) {
                Some(n) if n >= 0 => Value::from(s.replacen(old, new, n as usize)),
                _ => Value::from(s.replace(old, new)),
            }
        }
        "find" => {
            let needle = req_str(args, 0, method)?;
            // Python counts code points, not bytes.
            let at = s
                .find(needle)
                .map(|b| s.get(..b).map_or(0, |head| head.chars().count()) as i64);
            Value::from(at.unwrap_or(-1))
        }
        "count" => Value::from(s.matches(req_str(args, 0, method)?).count()),
        "join" => {
            let items = args.first().ok_or_else(|| bad_args(method))?;
            let mut out = String::new();
            for (i, item) in items.try_iter()?.enumerate() {
                if i > 0 {
                    out.push_str(s);
                }
                out.push_str(item.as_str().ok_or_else(|| bad_args(method))?);
            }
            Value::from(out)
        }
        "isspace" => Value::from(!s.is_empty() && s.chars().all(char::is_whitespace)),
        "isdigit" => Value::from(!s.is_empty() && s.chars().all(|c| c.is_ascii_digit())),
        "isalpha" => Value::from(!s.is_empty() && s.chars().all(char::is_alphabetic)),
        "islower" => {
            Value::from(s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase))
        }
        "isupper" => {
            Value::from(s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase))
        }
        _ => return Err(Error::from(ErrorKind::UnknownMethod)),
    })
}

fn map_method(
    state: &mut State,
    map: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    match method {
        "items" => state.apply_filter("items", std::slice::from_ref(map)),
        "keys" => Ok(Value::from(map.try_iter()?.collect::<Vec<_>>())),
        "values" => {
            let mut out = Vec::new();
            for k in map.try_iter()? {
                out.push(map.get_item(&k)?);
            }
            Ok(Value::from(out))
        }
        "get" => {
            let key = args.first().ok_or_else(|| bad_args(method))?;
            let v = map.get_item(key)?;
            Ok(if v.is_undefined() {
                args.get(1).cloned().unwrap_or(Value::from(()))
            } else {
                v
            })
        }
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

/// The unknown-method callback installed in every chat template environment.
pub fn call_method(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if let Some(s) = value.as_str() {
        return str_method(s, method, args);
    }
    match value.kind() {
        ValueKind::Map => map_method(state, value, method, args),
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}
