//! `result` records: what idm-load and idm-attrs print, one per object and per edge.
//!
//! ```json
//! {"kind":"result","source":"okta","id":"00u1","data":{"of":"user","op":"update",
//!  "status":"ok","label":"ann@acme.com","target_id":"1234",
//!  "changes":{"title":{"from":"Engineer","to":"Lead"}},"error":null},"target":"onelogin"}
//! ```
//!
//! `label` is what a person recognises (an email, a role name, `role ← user`), `changes` what
//! an update changes. A failed result carries the target's error (HTTP status, field,
//! message) so a person can act on it, and `--retry-from` can pick exactly the failed ones out
//! of a results file. The type lives with the records, not with a tool: idm-load, idm-attrs,
//! idm-verify and idm-report all speak it.

use std::collections::HashSet;
use std::fmt;
use std::io::BufRead;

use serde_json::{Map, Value, json};

use crate::record::{Kind, Record, RecordReader};

/// What was (or would be) done to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Create,
    Update,
    Skip,
    Assign,
    Provision,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Skip => "skip",
            Op::Assign => "assign",
            Op::Provision => "provision",
        }
    }
}

/// Whether it is planned, done, or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Planned,
    Ok,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::Ok => "ok",
            Status::Failed => "failed",
        }
    }
}

/// The error of a failed result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: Option<u16>,
    pub field: Option<String>,
    pub message: String,
}

impl Failure {
    /// A failure found by idm itself (no HTTP status).
    pub fn local(message: impl Into<String>) -> Failure {
        Failure {
            status: None,
            field: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.status {
            write!(f, "{s} ")?;
        }
        f.write_str(&self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field `{field}`)")?;
        }
        Ok(())
    }
}

/// What an update changes: field → (from, to), values already masked where secret.
pub type Changes = Map<String, Value>;

/// One result, before it becomes a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The kind of the input record (`user`, `group`, `membership`, …).
    pub of: Kind,
    pub source: String,
    pub id: String,
    pub op: Op,
    pub status: Status,
    /// What a person recognises the object by.
    pub label: Option<String>,
    pub target_id: Option<String>,
    /// For an update: each field that differs.
    pub changes: Option<Changes>,
    pub error: Option<Failure>,
    pub reason: Option<String>,
    /// The system the result is about (the record's `target`).
    pub target: Option<String>,
}

impl Outcome {
    pub fn new(of: Kind, source: &str, id: &str, op: Op, status: Status) -> Outcome {
        Outcome {
            of,
            source: source.to_string(),
            id: id.to_string(),
            op,
            status,
            label: None,
            target_id: None,
            changes: None,
            error: None,
            reason: None,
            target: None,
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Outcome {
        let label = label.into();
        if !label.is_empty() {
            self.label = Some(label);
        }
        self
    }

    pub fn changes(mut self, changes: Changes) -> Outcome {
        self.changes = Some(changes);
        self
    }

    pub fn in_target(mut self, target: &str) -> Outcome {
        self.target = Some(target.to_string());
        self
    }

    pub fn target(mut self, target_id: Option<impl ToString>) -> Outcome {
        self.target_id = target_id.map(|t| t.to_string());
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Outcome {
        self.reason = Some(reason.into());
        self
    }

    /// A failed result for `op` with `error`.
    pub fn failed(of: Kind, source: &str, id: &str, op: Op, error: Failure) -> Outcome {
        let mut o = Outcome::new(of, source, id, op, Status::Failed);
        o.error = Some(error);
        o
    }

    /// The `result` record.
    pub fn to_record(&self) -> Record {
        let mut data = Map::new();
        data.insert("of".into(), json!(self.of.as_str()));
        data.insert("op".into(), json!(self.op.as_str()));
        data.insert("status".into(), json!(self.status.as_str()));
        if let Some(l) = &self.label {
            data.insert("label".into(), json!(l));
        }
        data.insert("target_id".into(), json!(self.target_id));
        if let Some(c) = &self.changes {
            data.insert("changes".into(), Value::Object(c.clone()));
        }
        let error = match &self.error {
            None => Value::Null,
            Some(e) => json!({"status": e.status, "field": e.field, "message": e.message}),
        };
        data.insert("error".into(), error);
        if let Some(r) = &self.reason {
            data.insert("reason".into(), json!(r));
        }
        let mut rec = Record::new(
            Kind::Result,
            self.source.clone(),
            self.id.clone(),
            Value::Object(data),
        );
        rec.target = self.target.clone();
        rec
    }
}

/// Mask what must not be shown in `changes`.
fn shown(field: &str, v: &Value) -> Value {
    let f = field.to_ascii_lowercase();
    let secret = ["password", "salt", "secret", "hash", "credentials", "token"]
        .iter()
        .any(|s| f.contains(s));
    match v {
        Value::Null => Value::Null,
        _ if secret => json!("********"),
        Value::String(s) if crate::secrets::looks_secret(field, s) => json!("********"),
        other => other.clone(),
    }
}

/// Two values the same for a person: equal JSON, or equal text for scalars (an API that
/// answers `"42"` for `42`), with null and absent alike.
fn same(a: &Value, b: Option<&Value>) -> bool {
    let b = b.unwrap_or(&Value::Null);
    if a == b {
        return true;
    }
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(x) => Some(x.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    };
    matches!((text(a), text(b)), (Some(x), Some(y)) if x == y)
}

/// Each field of `payload` whose value differs from `current`, by its dotted path
/// (`custom_attributes.cost_center`, `profile.title`, `settings.signOn.ssoAcsUrl`). Objects are
/// compared field by field, recursively: a field `current` has and the payload does not (a
/// default the server added) is no difference.
pub fn changes(payload: &Value, current: &Value) -> Changes {
    let mut out = Map::new();
    diff_into(&mut out, "", payload, Some(current));
    out
}

fn diff_into(out: &mut Changes, path: &str, want: &Value, have: Option<&Value>) {
    match (want, have) {
        (Value::Object(w), Some(Value::Object(h))) => {
            for (k, v) in w {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_into(out, &p, v, h.get(k));
            }
        }
        (Value::Object(w), _) if path.is_empty() => {
            for (k, v) in w {
                diff_into(out, k, v, None);
            }
        }
        _ if same(want, have) => {}
        _ => {
            let from = have.unwrap_or(&Value::Null);
            out.insert(
                path.to_string(),
                json!({"from": shown(path, from), "to": shown(path, want)}),
            );
        }
    }
}

/// Why a results file cannot be used for `--retry-from`.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error(transparent)]
    Read(#[from] crate::record::ReadError),
    #[error("line {0}: a failed result without `of`")]
    NoKind(u64),
}

/// The `(kind, source, id)` of every failed result in a results file, for `--retry-from`.
pub fn failed_keys<R: BufRead>(
    reader: RecordReader<R>,
) -> Result<HashSet<(String, String, String)>, ResultsError> {
    let mut keys = HashSet::new();
    for entry in reader {
        let entry = entry?;
        let rec = entry.record;
        if rec.kind != Kind::Result {
            continue;
        }
        let data = &rec.data;
        if data.get("status").and_then(Value::as_str) == Some("failed") {
            let of = data
                .get("of")
                .and_then(Value::as_str)
                .ok_or(ResultsError::NoKind(entry.line))?;
            keys.insert((of.to_string(), rec.source, rec.id));
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_result_record_has_the_contract_shape() {
        let o = Outcome::failed(
            Kind::User,
            "okta",
            "00u1",
            Op::Create,
            Failure {
                status: Some(422),
                field: Some("phone".into()),
                message: "Validation failed: Phone is invalid".into(),
            },
        )
        .in_target("onelogin");
        crate::record::schema::validate_record(&o.to_record()).unwrap();
        let text = serde_json::to_string(&o.to_record()).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"result","source":"okta","id":"00u1","data":{"of":"user","op":"create","status":"failed","target_id":null,"error":{"status":422,"field":"phone","message":"Validation failed: Phone is invalid"}},"target":"onelogin"}"#
        );
    }

    #[test]
    fn skip_carries_reason_and_target() {
        let o = Outcome::new(Kind::Group, "okta", "00g1", Op::Skip, Status::Ok)
            .target(Some(77u64))
            .reason("already loaded");
        let rec = o.to_record();
        crate::record::schema::validate_record(&rec).unwrap();
        assert_eq!(rec.data["target_id"], "77");
        assert_eq!(rec.data["reason"], "already loaded");
        assert_eq!(rec.data["error"], Value::Null);
    }

    #[test]
    fn retry_keys_are_the_failed_ones_only() {
        let ok = Outcome::new(Kind::User, "okta", "a", Op::Create, Status::Ok).to_record();
        let bad =
            Outcome::failed(Kind::User, "okta", "b", Op::Create, Failure::local("x")).to_record();
        let edge = Outcome::failed(
            Kind::Membership,
            "okta",
            "g/b",
            Op::Assign,
            Failure::local("y"),
        )
        .to_record();
        let text = [ok, bad, edge]
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect::<String>();
        let keys = failed_keys(RecordReader::new(text.as_bytes())).unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys.contains(&("user".into(), "okta".into(), "b".into())));
        assert!(keys.contains(&("membership".into(), "okta".into(), "g/b".into())));
    }
}
