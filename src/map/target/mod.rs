//! Target adapters: canonical identities, groups, apps and attribute definitions turned into a
//! target's API payloads. One per target (OneLogin now, Okta next); none knows any source.

pub mod okta;
pub mod onelogin;

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::Trace;
use super::canonical::{App, Field, Group, Identity};
use super::connectors::Connectors;
use super::rules::CustomRule;
use super::source::AttributeIn;

/// What to do with array and object values of custom fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Complex {
    /// Leave them out, with one warning per field and a count (the reference drops them
    /// silently).
    #[default]
    Exclude,
    /// Join nested keys down to each scalar leaf (`foo.bar.baz` → `foo_bar_baz`); arrays
    /// become their compact JSON text.
    Flatten,
    /// Put all complex values of a user, as one compact JSON object keyed by source field
    /// name, into one custom attribute.
    Stringify,
}

/// A user payload and what was learned building it.
#[derive(Debug, Default)]
pub struct UserOut {
    pub payload: Map<String, Value>,
    pub warnings: Vec<String>,
    /// Complex source fields left out by `--complex exclude` (for the per-field summary).
    pub excluded: Vec<String>,
    /// The source had a password the target cannot take (a warning says why): the user will
    /// set one (counted for idm-map's closing notes).
    pub password_dropped: bool,
}

/// Everything a user payload needs besides the identity.
pub struct UserContext<'r> {
    pub complex: Complex,
    pub custom_rules: &'r HashMap<String, CustomRule>,
}

/// What becomes of a custom attribute definition.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeOut {
    /// This payload, under this name.
    Payload(Map<String, Value>),
    /// Not a custom attribute in this target; the reason goes to stderr.
    Skipped(String),
}

/// Shapes payloads for one target.
pub trait TargetAdapter: Send {
    /// The `target` of the records it writes (`onelogin`).
    fn name(&self) -> &'static str;

    /// The user fields a mapping file may name (`users.fields.<name>`), with the canonical
    /// field each is built from (`None`: a field of the target alone, such as `state`).
    fn user_fields(&self) -> Vec<(&'static str, Option<Field>)>;
    /// Check a value a mapping file gives a field (`state` takes integers in OneLogin).
    fn check_field_value(&self, field: &str, what: &str, value: &Value) -> Result<(), String>;
    /// The object of the payload the mapping file's fields live in (`profile` in Okta), or
    /// `None` for the top level.
    fn fields_container(&self) -> Option<&'static str> {
        None
    }
    /// Whether a custom attribute name is valid here as given.
    fn is_valid_attribute_name(&self, name: &str) -> bool;
    /// The name a source field's custom attribute gets (`costCenter` → `cost_center`).
    fn attribute_name(&mut self, source_name: &str) -> Option<String>;
    /// Whether a name is taken by a standard field or a named attribute.
    fn is_reserved_name(&self, name: &str) -> bool;
    /// Whether a name is a custom attribute the target fills from a standard source field
    /// (OneLogin's "named attributes", such as `employee_number`).
    fn is_named_attribute(&self, _name: &str) -> bool {
        false
    }

    /// The user payload of one identity.
    fn user(
        &mut self,
        who: &mut Identity<'_>,
        cx: &UserContext<'_>,
        trace: &mut Trace,
    ) -> Result<UserOut, String>;
    /// Last checks after the mapping file's rules applied: limits, required fields.
    fn finish_user(&self, payload: &mut Map<String, Value>) -> Result<(), String>;
    /// The value two users may not share in this target, with its name (`email`).
    fn unique_key<'p>(&self, payload: &'p Map<String, Value>) -> Option<(&'static str, &'p str)>;

    /// The payload of a group.
    fn group(&mut self, group: &Group<'_>, trace: &mut Trace)
    -> Result<Map<String, Value>, String>;
    /// The payload of an app; second value: warnings.
    fn app(
        &mut self,
        app: &App<'_>,
        connectors: &Connectors,
        trace: &mut Trace,
    ) -> Result<(Map<String, Value>, Vec<String>), String>;
    /// The payload of a custom attribute definition, already named for this target.
    fn attribute(
        &mut self,
        name: String,
        def: &AttributeIn<'_>,
        complex: Complex,
        trace: &mut Trace,
    ) -> AttributeOut;
}

/// The adapter for `--to NAME`; `login_domain` makes logins that are not email addresses
/// into `login@DOMAIN` where the target requires email-form logins.
pub fn adapter(name: &str, login_domain: Option<&str>) -> Option<Box<dyn TargetAdapter>> {
    match name {
        "onelogin" => Some(Box::new(onelogin::OneLogin::default())),
        "okta" => Some(Box::new(okta::Okta::new(login_domain.map(str::to_string)))),
        _ => None,
    }
}
