//! Source adapters: each source's objects, as its export writes them, read into the canonical
//! model of [`super::canonical`]. One per source (Okta, OneLogin, Stormpath exports, CSV
//! staging files); none knows any target.

pub mod csv;
pub mod okta;
pub mod onelogin;
pub mod stormpath;

use serde_json::Value;

use super::canonical::{App, Group, Identity, Password};
use crate::password::Hash;

/// Options that change how users are read, whatever the source.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// Turn a login that is not an email address into `login@DOMAIN` (like the Stormpath
    /// importer's `@emailnotprovided.local`).
    pub email_domain: Option<String>,
}

/// A custom attribute definition as a source describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeIn<'a> {
    /// The property's name in the source (`costCenter`).
    pub name: &'a str,
    /// A display name, when the source has one.
    pub title: Option<&'a str>,
    /// `string`, `boolean`, `integer`, `number`, `array`, `object`, when known.
    pub value_type: Option<&'a str>,
    /// For arrays: the items' type.
    pub item_type: Option<&'a str>,
    /// The source hides it from the user (Okta's `HIDE` permission; Stormpath API keys).
    pub hidden: bool,
}

/// Reads one source's records into the canonical model.
pub trait SourceAdapter: Send + Sync {
    /// The `source` of the records it reads (`okta`).
    fn name(&self) -> &'static str;
    /// A user, as exported.
    fn identity<'a>(
        &self,
        id: &'a str,
        data: &'a Value,
        opts: &SourceOptions,
    ) -> Result<Identity<'a>, String>;
    /// A group, as exported.
    fn group<'a>(&self, id: &'a str, data: &'a Value) -> Group<'a>;
    /// An app, as exported; second value: warnings.
    fn app<'a>(&self, id: &'a str, data: &'a Value) -> (App<'a>, Vec<String>);
    /// A custom attribute definition, as exported.
    fn attribute<'a>(&self, id: &'a str, data: &'a Value) -> AttributeIn<'a>;
    /// Whether a profile key feeds a standard field (and so is no custom attribute).
    fn is_consumed_key(&self, key: &str) -> bool;
}

/// The adapter for records whose `source` is `name`.
pub fn adapter(name: &str) -> Option<&'static dyn SourceAdapter> {
    match name {
        "okta" => Some(&okta::Okta),
        "onelogin" => Some(&onelogin::OneLogin),
        "stormpath" => Some(&stormpath::Stormpath),
        "csv" => Some(&csv::Csv),
        _ => None,
    }
}

/// The sources idm-map reads, for messages.
pub const NAMES: &[&str] = &["okta", "onelogin", "stormpath", "csv"];

/// The modular-crypt string at `from` (a Stormpath account's `password`, a staging file's
/// `password_hash`), parsed; `None` when there is none. What cannot be read says why, never
/// quoting the value.
pub fn mcf_password(value: Option<&Value>, from: &'static str) -> Option<Password> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(match Hash::parse_mcf(s) {
            Ok(hash) => Password::Hash { hash, from },
            Err(e) => Password::Unreadable {
                from,
                why: e.to_string(),
            },
        }),
        Some(_) => Some(Password::Unreadable {
            from,
            why: "not a string".into(),
        }),
    }
}
