//! Custom attribute names and values, shaped the way OneLogin stores them.
//!
//! OneLogin custom attributes are flat `shortname → string` pairs, while an Okta profile holds
//! camelCase keys with strings, numbers, booleans and arrays (and, from other sources, nested
//! objects). This module holds the pure functions that bridge the two:
//!
//! - [`normalize_name`]: the reference toolkit's shortname rule, kept exactly so users who come
//!   from it get the same attribute names (`employeeNumber` → `employee_number`), including
//!   a `_` the cut at 64 characters leaves at the end (tenants migrated by it have such
//!   names); a name that already is a shortname is kept as it is, so normalizing is idempotent.
//! - [`scalar_text`]: a scalar value as the string OneLogin will store.
//! - [`flatten`]: nested objects down to scalar leaves (`foo.bar.baz` → `foo_bar_baz`), for
//!   `--complex flatten`.
//!
//! They allocate only what they return, because they run for every key of every user.

use std::borrow::Cow;

use serde_json::Value;

/// The longest shortname we produce (the reference's limit).
pub const MAX_SHORTNAME_CHARS: usize = 64;

/// Normalize a source field name into a custom attribute shortname, or `None` when nothing
/// usable is left.
///
/// The steps (from the reference toolkit, see mapping.md):
/// 1. trim; empty gives `None`;
/// 2. `_` before a capitalized word that follows any character (`fooBar` → `foo_Bar`), then
///    between a lowercase letter or digit and an uppercase letter (`abc1D` → `abc1_D`);
/// 3. every run of characters outside `[0-9A-Za-z]` becomes one `_`;
/// 4. strip `_` at both ends, lowercase; empty gives `None`;
/// 5. a leading digit gets a `_` prefix;
/// 6. keep the first 64 characters (a `_` the cut leaves at the end stays, as in the
///    reference).
///
/// A name that already is a shortname ([`is_valid_shortname`]) is returned as it is.
pub fn normalize_name(name: &str) -> Option<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return None;
    }
    if is_valid_shortname(trimmed) {
        return Some(trimmed.to_string());
    }
    let chars: Vec<char> = trimmed.chars().collect();
    let split = split_camel_words(&chars);
    let split = split_lower_upper(&split);

    // 3 + 4: collapse runs of other characters into `_`, lowercase, trim `_`.
    let mut out = String::with_capacity(split.len());
    let mut pending_sep = false;
    for c in split {
        if c.is_ascii_alphanumeric() {
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_sep = true;
        }
    }
    if out.is_empty() {
        return None;
    }
    // 5
    if out.as_bytes()[0].is_ascii_digit() {
        out.insert(0, '_');
    }
    // 6 (the string is ASCII now, so bytes are characters)
    if out.len() > MAX_SHORTNAME_CHARS {
        out.truncate(MAX_SHORTNAME_CHARS);
    }
    Some(out)
}

/// Python's `re.sub('(.)([A-Z][a-z]+)', r'\1_\2', s)`: non-overlapping, left to right, where
/// `.` is any character but a newline and the classes are ASCII.
fn split_camel_words(chars: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len() + 4);
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\n'
            && i + 2 < chars.len()
            && chars[i + 1].is_ascii_uppercase()
            && chars[i + 2].is_ascii_lowercase()
        {
            let mut end = i + 3;
            while end < chars.len() && chars[end].is_ascii_lowercase() {
                end += 1;
            }
            out.push(chars[i]);
            out.push('_');
            out.extend_from_slice(&chars[i + 1..end]);
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Python's `re.sub('([a-z0-9])([A-Z])', r'\1_\2', s)`.
fn split_lower_upper(chars: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len() + 4);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if (c.is_ascii_lowercase() || c.is_ascii_digit())
            && i + 1 < chars.len()
            && chars[i + 1].is_ascii_uppercase()
        {
            out.push(c);
            out.push('_');
            out.push(chars[i + 1]);
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// True when `name` is a shortname [`normalize_name`] could have produced (only a name cut
/// at the limit may end in `_`).
pub fn is_valid_shortname(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_SHORTNAME_CHARS
        && !bytes[0].is_ascii_digit()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
        && (!name.ends_with('_') || bytes.len() == MAX_SHORTNAME_CHARS)
        && (!name.starts_with('_') || bytes.get(1).is_some_and(u8::is_ascii_digit))
        && !name.contains("__")
}

/// The string OneLogin stores for a scalar, or `None` for null, blank strings and complex
/// values. Booleans are `true`/`false` (JSON's spelling; the reference writes Python's
/// `True`/`False`), numbers are written as JSON writes them.
pub fn scalar_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(Cow::Borrowed(s.as_str())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// True for arrays and objects.
pub fn is_complex(value: &Value) -> bool {
    matches!(value, Value::Array(_) | Value::Object(_))
}

/// Flatten one complex value found under the source field `name` into `(joined name, text)`
/// pairs, calling `emit` for each, in document order:
///
/// - object keys are joined with `_` down to each scalar leaf (`foo.bar.baz` → `foo_bar_baz`);
/// - an array becomes one pair whose text is the array's compact JSON (OneLogin values are
///   strings), so no element is lost;
/// - empty objects, empty arrays, nulls and blank strings produce nothing.
///
/// The joined names are not normalized here; the caller normalizes them like any other name.
pub fn flatten(name: &str, value: &Value, emit: &mut dyn FnMut(String, String)) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let joined = if name.is_empty() {
                    key.clone()
                } else {
                    format!("{name}_{key}")
                };
                flatten(&joined, child, emit);
            }
        }
        Value::Array(items) if items.is_empty() => {}
        Value::Array(_) => emit(name.to_string(), compact_json(value)),
        other => {
            if let Some(text) = scalar_text(other) {
                emit(name.to_string(), text.into_owned());
            }
        }
    }
}

/// Compact JSON text of a value (what `--complex stringify` and arrays under `flatten` store).
pub fn compact_json(value: &Value) -> String {
    // serializing a Value cannot fail: its keys are strings
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_follow_the_reference_rules() {
        let cases: &[(&str, Option<&str>)] = &[
            // camelCase → snake_case
            ("employeeNumber", Some("employee_number")),
            ("costCenter", Some("cost_center")),
            ("fooBarBaz", Some("foo_bar_baz")),
            // acronyms
            ("HTTPServer", Some("http_server")),
            ("userID", Some("user_id")),
            ("abc1D", Some("abc1_d")),
            ("getHTTPResponseCode", Some("get_http_response_code")),
            // step 1: trim, empty
            ("  city  ", Some("city")),
            ("   ", None),
            ("", None),
            // step 3: invalid characters, runs collapse
            ("cost-center", Some("cost_center")),
            ("cost  center!!", Some("cost_center")),
            ("a__b", Some("a_b")),
            ("Größe", Some("gr_e")),
            ("名前", None),
            // step 4: strip and lowercase
            ("__private__", Some("private")),
            ("EMAIL", Some("email")),
            // step 5: leading digit
            ("2fa", Some("_2fa")),
            ("123", Some("_123")),
            ("_9lives", Some("_9lives")),
            // already normalized names are unchanged
            ("second_email", Some("second_email")),
            ("zip_code", Some("zip_code")),
        ];
        for (input, want) in cases {
            assert_eq!(
                normalize_name(input).as_deref(),
                *want,
                "normalize_name({input:?})"
            );
        }
    }

    #[test]
    fn names_are_cut_at_64_characters_keeping_a_trailing_underscore() {
        let long = "a".repeat(70);
        assert_eq!(normalize_name(&long).unwrap().len(), 64);
        // the cut lands right after a separator: the reference keeps `…_`, and tenants it
        // migrated have attributes of that name
        let name = format!("{}_b", "a".repeat(63));
        let got = normalize_name(&name).unwrap();
        assert_eq!(got, format!("{}_", "a".repeat(63)));
        assert!(is_valid_shortname(&got));
        assert_eq!(normalize_name(&got).unwrap(), got);
        let digits = "1".repeat(70);
        let got = normalize_name(&digits).unwrap();
        assert_eq!(got.len(), 64);
        assert!(got.starts_with("_1"));
    }

    #[test]
    fn newline_does_not_start_a_capitalized_word() {
        // Python's `.` does not match `\n`; the result is the same once runs collapse
        assert_eq!(normalize_name("a\nBcd").as_deref(), Some("a_bcd"));
    }

    #[test]
    fn scalars_become_text() {
        assert_eq!(scalar_text(&json!("x")).as_deref(), Some("x"));
        assert_eq!(scalar_text(&json!(" ")), None);
        assert_eq!(scalar_text(&json!(null)), None);
        assert_eq!(scalar_text(&json!(true)).as_deref(), Some("true"));
        assert_eq!(scalar_text(&json!(false)).as_deref(), Some("false"));
        assert_eq!(scalar_text(&json!(3.5)).as_deref(), Some("3.5"));
        assert_eq!(scalar_text(&json!(42)).as_deref(), Some("42"));
        assert_eq!(scalar_text(&json!([1])), None);
    }

    fn flat(name: &str, value: Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        flatten(name, &value, &mut |k, v| out.push((k, v)));
        out
    }

    #[test]
    fn flatten_joins_keys_down_to_leaves() {
        assert_eq!(
            flat("foo", json!({"bar": {"baz": "john"}})),
            vec![("foo_bar_baz".to_string(), "john".to_string())]
        );
        assert_eq!(
            flat("tags", json!(["a", "b", 3])),
            vec![("tags".to_string(), r#"["a","b",3]"#.to_string())]
        );
        assert_eq!(
            flat(
                "o",
                json!({"empty": {}, "none": null, "list": [], "n": 1, "b": false})
            ),
            vec![
                ("o_n".to_string(), "1".to_string()),
                ("o_b".to_string(), "false".to_string())
            ]
        );
        assert!(flat("e", json!({})).is_empty());
    }

    #[test]
    fn valid_shortnames_are_recognized() {
        for ok in ["city", "employee_number", "_2fa", "a1"] {
            assert!(is_valid_shortname(ok), "{ok}");
        }
        for bad in [
            "",
            "City",
            "2fa",
            "a_",
            "_a",
            "a__b",
            "a-b",
            &"a".repeat(65),
        ] {
            assert!(!is_valid_shortname(bad), "{bad}");
        }
    }
}
