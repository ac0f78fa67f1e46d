//! Records: the envelope every tool reads and writes, one JSON object per line.
//!
//! ```json
//! {"kind":"user","source":"okta","id":"00u1ab","data":{…},"target":"onelogin","warnings":[]}
//! ```
//!
//! `data` stays a [`serde_json::Value`]: after export it is the source's object whole and
//! unmodified, after map it is the target's API payload. The envelope fields are checked when
//! a line is read; `data` is checked against the per-kind schemas in [`schema`].

mod quick;
pub mod reader;
pub mod result;
pub mod schema;
pub mod stream;
pub mod writer;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use reader::{Batch, Entry, Parsed, ReadError, RecordReader, Rejects, parse_line};
pub use writer::{RecordWriter, create_private_file};

/// What a record describes. Kinds this build does not know are kept as [`Kind::Other`] so that
/// tools can pass them through unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Kind {
    User,
    Group,
    Membership,
    App,
    AppAssignment,
    Attribute,
    Result,
    Verify,
    Other(String),
}

impl Kind {
    /// The kind's name as written in records.
    pub fn as_str(&self) -> &str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Membership => "membership",
            Kind::App => "app",
            Kind::AppAssignment => "app_assignment",
            Kind::Attribute => "attribute",
            Kind::Result => "result",
            Kind::Verify => "verify",
            Kind::Other(name) => name,
        }
    }
}

impl From<String> for Kind {
    fn from(s: String) -> Kind {
        match s.as_str() {
            "user" => Kind::User,
            "group" => Kind::Group,
            "membership" => Kind::Membership,
            "app" => Kind::App,
            "app_assignment" => Kind::AppAssignment,
            "attribute" => Kind::Attribute,
            "result" => Kind::Result,
            "verify" => Kind::Verify,
            _ => Kind::Other(s),
        }
    }
}

impl From<&str> for Kind {
    fn from(s: &str) -> Kind {
        Kind::from(s.to_string())
    }
}

impl From<Kind> for String {
    fn from(k: Kind) -> String {
        match k {
            Kind::Other(name) => name,
            known => known.as_str().to_string(),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One record: the envelope of DESIGN.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub kind: Kind,
    /// The system the object came from: `okta`, `onelogin`, `stormpath`, `csv`.
    pub source: String,
    /// The object's id in the source (memberships: `<group_id>/<user_id>`).
    pub id: String,
    /// The object itself: source-native after export, target-native after map.
    pub data: Value,
    /// Set by idm-map: the system `data` is shaped for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Things a person should read about this record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Record {
    /// A record without target or warnings.
    pub fn new(
        kind: Kind,
        source: impl Into<String>,
        id: impl Into<String>,
        data: Value,
    ) -> Record {
        Record {
            kind,
            source: source.into(),
            id: id.into(),
            data,
            target: None,
            warnings: Vec::new(),
        }
    }

    /// `source:id`, the way messages name a record.
    pub fn label(&self) -> String {
        format!("{}:{}", self.source, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_round_trips_and_omits_empty_optional_fields() {
        let rec = Record::new(
            Kind::User,
            "okta",
            "00u1",
            json!({"profile": {"login": "a"}}),
        );
        let text = serde_json::to_string(&rec).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"user","source":"okta","id":"00u1","data":{"profile":{"login":"a"}}}"#
        );
        let back: Record = serde_json::from_str(&text).unwrap();
        assert_eq!(back, rec);
    }

    #[test]
    fn unknown_kinds_are_kept_verbatim() {
        let rec: Record =
            serde_json::from_str(r#"{"kind":"policy","source":"okta","id":"p1","data":{}}"#)
                .unwrap();
        assert_eq!(rec.kind, Kind::Other("policy".into()));
        assert!(
            serde_json::to_string(&rec)
                .unwrap()
                .contains(r#""kind":"policy""#)
        );
    }

    #[test]
    fn unknown_envelope_fields_are_refused() {
        let err = serde_json::from_str::<Record>(
            r#"{"kind":"user","source":"okta","id":"1","data":{},"extra":1}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("extra"), "{err}");
    }
}
