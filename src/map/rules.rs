//! The mapping file (`--mapping FILE`): a migration's own corrections to the standard mapping.
//!
//! Every tenant has fields the standard table gets wrong for it (the job title lives in a
//! custom `jobTitle`, the company is a constant, a custom key must keep an existing shortname).
//! Rather than forking the mapping, the user writes a small JSON file (schema:
//! `schemas/mapping.schema.json`):
//!
//! ```json
//! {
//!   "users": {
//!     "fields": {
//!       "title":      { "from": "profile.jobTitle" },
//!       "comment":    { "drop": true },
//!       "company":    { "default": "Acme" },
//!       "department": { "constant": "Engineering" }
//!     },
//!     "custom_attributes": { "costCenter": "cost_centre", "nickName": null }
//!   }
//! }
//! ```
//!
//! - `fields` are keyed by OneLogin user field. `from` takes the value from another path of the
//!   source object (dotted, e.g. `profile.jobTitle`; when empty there, `default` applies and
//!   the field is otherwise left out); `drop` leaves the field out; `constant` always sets it;
//!   `default` sets it only when the mapping left it empty. `state` and `status` take integers.
//! - `custom_attributes` renames a source profile key's shortname (the name is used as given
//!   and must already be a valid shortname) or, with `null`, drops the key.
//!
//! The file is checked completely before the first record: an unknown field, a bad shortname
//! or a contradictory rule is an error that names it.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::Trace;
use super::normalize::scalar_text;
use super::target::TargetAdapter;

/// What the mapping file says about one custom attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomRule {
    Rename(String),
    Drop,
}

/// What the mapping file says about one user field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldRule {
    /// Take the value from this JSON pointer into the source object, else the default.
    From {
        path: String,
        pointer: String,
        default: Option<Value>,
    },
    Drop,
    Constant(Value),
    Default(Value),
}

/// The parsed, checked mapping file.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub fields: Vec<(String, FieldRule)>,
    pub custom: HashMap<String, CustomRule>,
    /// The payload object the fields live in (`profile` for Okta), or the top level.
    pub container: Option<&'static str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    users: Option<Users>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Users {
    #[serde(default)]
    fields: serde_json::Map<String, Value>,
    #[serde(default)]
    custom_attributes: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFieldRule {
    from: Option<String>,
    #[serde(default)]
    drop: bool,
    constant: Option<Value>,
    default: Option<Value>,
}

impl Rules {
    /// Parse and check a mapping file's text against the target's fields.
    pub fn parse(text: &str, target: &mut dyn TargetAdapter) -> Result<Rules, String> {
        let file: File = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut rules = Rules {
            container: target.fields_container(),
            ..Rules::default()
        };
        let Some(users) = file.users else {
            return Ok(rules);
        };
        let known: Vec<&str> = target.user_fields().iter().map(|(n, _)| *n).collect();
        for (field, raw) in users.fields {
            if !known.contains(&field.as_str()) {
                return Err(format!(
                    "`users.fields.{field}`: unknown {} user field (known: {})",
                    target.name(),
                    known.join(", ")
                ));
            }
            let raw: RawFieldRule =
                serde_json::from_value(raw).map_err(|e| format!("`users.fields.{field}`: {e}"))?;
            let ops = usize::from(raw.from.is_some())
                + usize::from(raw.drop)
                + usize::from(raw.constant.is_some());
            if ops > 1 {
                return Err(format!(
                    "`users.fields.{field}`: use only one of `from`, `drop`, `constant`"
                ));
            }
            if let Some(d) = &raw.default {
                if raw.drop || raw.constant.is_some() {
                    return Err(format!(
                        "`users.fields.{field}`: `default` cannot go with `drop` or `constant`"
                    ));
                }
                target.check_field_value(&field, "default", d)?;
            }
            let rule = if let Some(path) = raw.from {
                let path = path.trim().to_string();
                if path.is_empty() || path.split('.').any(str::is_empty) {
                    return Err(format!(
                        "`users.fields.{field}.from`: `{path}` is not a dotted path such as `profile.jobTitle`"
                    ));
                }
                let pointer = path
                    .split('.')
                    .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
                    .collect();
                FieldRule::From {
                    path,
                    pointer,
                    default: raw.default,
                }
            } else if raw.drop {
                FieldRule::Drop
            } else if let Some(c) = raw.constant {
                target.check_field_value(&field, "constant", &c)?;
                FieldRule::Constant(c)
            } else if let Some(d) = raw.default {
                FieldRule::Default(d)
            } else {
                return Err(format!(
                    "`users.fields.{field}`: give one of `from`, `drop`, `constant`, `default`"
                ));
            };
            rules.fields.push((field, rule));
        }
        for (key, v) in users.custom_attributes {
            let rule = match v {
                Value::Null => CustomRule::Drop,
                Value::String(name) => {
                    if !target.is_valid_attribute_name(&name) {
                        let hint = target
                            .attribute_name(&name)
                            .map(|n| format!(" (did you mean `{n}`?)"))
                            .unwrap_or_default();
                        return Err(format!(
                            "`users.custom_attributes.{key}`: `{name}` is not a valid shortname{hint}"
                        ));
                    }
                    if target.is_reserved_name(&name) {
                        return Err(format!(
                            "`users.custom_attributes.{key}`: `{name}` is taken by a standard field or named attribute"
                        ));
                    }
                    CustomRule::Rename(name)
                }
                _ => {
                    return Err(format!(
                        "`users.custom_attributes.{key}` must be a shortname or null"
                    ));
                }
            };
            rules.custom.insert(key, rule);
        }
        Ok(rules)
    }

    /// Read, parse and check a mapping file.
    pub fn load(path: &Path, target: &mut dyn TargetAdapter) -> Result<Rules, super::ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| super::ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Rules::parse(&text, target).map_err(|reason| super::ConfigError::Invalid {
            what: "mapping file",
            path: path.display().to_string(),
            reason,
        })
    }

    /// Apply the field rules to a user payload built from `source` (the source object).
    pub fn apply_to_user(
        &self,
        payload: &mut Map<String, Value>,
        source: &Value,
        trace: &mut Trace,
    ) {
        if self.fields.is_empty() {
            return;
        }
        let payload = match self.container {
            None => payload,
            Some(c) => match payload
                .entry(c)
                .or_insert_with(|| Value::Object(Map::new()))
            {
                Value::Object(inner) => inner,
                _ => return,
            },
        };
        for (field, rule) in &self.fields {
            match rule {
                FieldRule::Drop => {
                    payload.shift_remove(field);
                    trace.note(field, || "(dropped by --mapping)".into());
                }
                FieldRule::Constant(v) => {
                    payload.insert(field.clone(), v.clone());
                    trace.note(field, || "--mapping constant".into());
                }
                FieldRule::Default(v) => {
                    if !payload.contains_key(field) {
                        payload.insert(field.clone(), v.clone());
                        trace.note(field, || "--mapping default".into());
                    }
                }
                FieldRule::From {
                    path,
                    pointer,
                    default,
                } => {
                    let found = source.pointer(pointer).and_then(scalar_text);
                    match (found, default) {
                        (Some(text), _) => {
                            payload.insert(field.clone(), Value::String(text.into_owned()));
                            trace.note(field, || format!("{path} (--mapping from)"));
                        }
                        (None, Some(d)) => {
                            payload.insert(field.clone(), d.clone());
                            trace.note(field, || format!("--mapping default ({path} is empty)"));
                        }
                        (None, None) => {
                            payload.shift_remove(field);
                            trace.note(field, || format!("(left out: {path} is empty)"));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn onelogin() -> Box<dyn TargetAdapter> {
        crate::map::target::adapter("onelogin", None).unwrap()
    }

    #[test]
    fn rules_apply_rename_drop_default_constant() {
        let rules = Rules::parse(
            r#"{"users": {"fields": {
                "title": {"from": "profile.jobTitle"},
                "comment": {"drop": true},
                "company": {"default": "Acme"},
                "department": {"constant": "Engineering"},
                "phone": {"from": "profile.cell", "default": "n/a"},
                "state": {"constant": 0}
            }, "custom_attributes": {"costCenter": "cost_centre", "nickName": null}}}"#,
            onelogin().as_mut(),
        )
        .unwrap();
        let mut payload =
            json!({"title": "Eng", "comment": "x", "department": "Ops", "phone": "1"})
                .as_object()
                .unwrap()
                .clone();
        let source = json!({"profile": {"jobTitle": "Engineer"}});
        rules.apply_to_user(&mut payload, &source, &mut Trace::off());
        assert_eq!(
            Value::Object(payload),
            json!({"title": "Engineer", "department": "Engineering", "phone": "n/a",
                   "company": "Acme", "state": 0})
        );
        assert_eq!(
            rules.custom.get("costCenter"),
            Some(&CustomRule::Rename("cost_centre".into()))
        );
        assert_eq!(rules.custom.get("nickName"), Some(&CustomRule::Drop));
    }

    #[test]
    fn bad_mapping_files_are_refused_with_the_field_named() {
        for (text, want) in [
            (
                r#"{"users":{"fields":{"titel":{"drop":true}}}}"#,
                "`users.fields.titel`: unknown",
            ),
            (
                r#"{"users":{"fields":{"title":{"drop":true,"constant":"x"}}}}"#,
                "only one of",
            ),
            (r#"{"users":{"fields":{"title":{}}}}"#, "give one of"),
            (
                r#"{"users":{"fields":{"title":{"constant":""}}}}"#,
                "non-empty string",
            ),
            (
                r#"{"users":{"fields":{"state":{"constant":"1"}}}}"#,
                "must be 0, 1, 2 or 3",
            ),
            (
                r#"{"users":{"fields":{"title":{"from":"profile."}}}}"#,
                "dotted path",
            ),
            (
                r#"{"users":{"custom_attributes":{"costCenter":"Cost Center"}}}"#,
                "did you mean `cost_center`",
            ),
            (
                r#"{"users":{"custom_attributes":{"x":"email"}}}"#,
                "taken by a standard",
            ),
            (
                r#"{"users":{"custom_attributes":{"x":1}}}"#,
                "a shortname or null",
            ),
            (r#"{"groups":{}}"#, "unknown field `groups`"),
        ] {
            let err = Rules::parse(text, onelogin().as_mut()).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
