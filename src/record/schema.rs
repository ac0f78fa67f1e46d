//! JSON Schemas for records and journal events, compiled once and checked per record.
//!
//! The schemas in `schemas/` (JSON Schema draft 2020-12) are the written contract between the
//! tools: what `idm-export` emits, what `idm-map` turns it into, what `idm-load` reports, and
//! what the state journal holds. They are embedded with `include_str!` so an installed binary
//! needs no files beside it, and compiled once per process ([`Schemas::get`]).
//!
//! Why it is shaped so:
//! - A record is checked in two parts: the envelope, then `data` against the schema chosen from
//!   `kind` + `target` (the target's API payload, after map) or `kind` + `source` (the source's
//!   object, after export). Validating `data` in place avoids copying a large object into a
//!   new JSON value on a million-record stream; only the small envelope is rebuilt.
//! - Kinds without a schema (a kind this build does not know, a CSV source's `app`)
//!   are checked against the envelope only: tools pass them through, they do not guess.
//! - An error is one line naming the field, `data.email: `x` is not a valid email`, with the
//!   path also available as a JSON pointer. Values of fields that may hold secrets (passwords,
//!   salts, client secrets, tokens) are never echoed.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::{Map, Value};

use super::{Kind, Record};
use crate::journal::Event;

/// Every embedded schema: its path under `schemas/` and its text.
pub const FILES: &[(&str, &str)] = &[
    (
        OKTA_TARGET_USER,
        include_str!("../../schemas/okta-target/user.schema.json"),
    ),
    (
        OKTA_TARGET_GROUP,
        include_str!("../../schemas/okta-target/group.schema.json"),
    ),
    (
        OKTA_TARGET_APP,
        include_str!("../../schemas/okta-target/app.schema.json"),
    ),
    (
        OKTA_TARGET_ATTRIBUTE,
        include_str!("../../schemas/okta-target/attribute.schema.json"),
    ),
    (ENVELOPE, include_str!("../../schemas/envelope.schema.json")),
    (RESULT, include_str!("../../schemas/result.schema.json")),
    (VERIFY, include_str!("../../schemas/verify.schema.json")),
    (
        EVENT,
        include_str!("../../schemas/journal-event.schema.json"),
    ),
    (
        OKTA_USER,
        include_str!("../../schemas/okta/user.schema.json"),
    ),
    (
        OKTA_GROUP,
        include_str!("../../schemas/okta/group.schema.json"),
    ),
    (
        OKTA_MEMBERSHIP,
        include_str!("../../schemas/okta/membership.schema.json"),
    ),
    (OKTA_APP, include_str!("../../schemas/okta/app.schema.json")),
    (
        OKTA_APP_ASSIGNMENT,
        include_str!("../../schemas/okta/app_assignment.schema.json"),
    ),
    (
        OKTA_ATTRIBUTE,
        include_str!("../../schemas/okta/attribute.schema.json"),
    ),
    (
        ONELOGIN_USER,
        include_str!("../../schemas/onelogin/user.schema.json"),
    ),
    (
        ONELOGIN_ROLE,
        include_str!("../../schemas/onelogin/role.schema.json"),
    ),
    (
        ONELOGIN_APP,
        include_str!("../../schemas/onelogin/app.schema.json"),
    ),
    (
        ONELOGIN_ATTRIBUTE,
        include_str!("../../schemas/onelogin/attribute.schema.json"),
    ),
    (
        ONELOGIN_EXPORT_USER,
        include_str!("../../schemas/onelogin/export/user.schema.json"),
    ),
    (
        ONELOGIN_EXPORT_GROUP,
        include_str!("../../schemas/onelogin/export/group.schema.json"),
    ),
    (
        ONELOGIN_EXPORT_MEMBERSHIP,
        include_str!("../../schemas/onelogin/export/membership.schema.json"),
    ),
    (
        ONELOGIN_EXPORT_APP,
        include_str!("../../schemas/onelogin/export/app.schema.json"),
    ),
    (
        ONELOGIN_EXPORT_APP_ASSIGNMENT,
        include_str!("../../schemas/onelogin/export/app_assignment.schema.json"),
    ),
    (
        ONELOGIN_EXPORT_ATTRIBUTE,
        include_str!("../../schemas/onelogin/export/attribute.schema.json"),
    ),
    (
        MAPPING_CONFIG,
        include_str!("../../schemas/mapping.schema.json"),
    ),
    (
        CONNECTORS_CONFIG,
        include_str!("../../schemas/connectors.schema.json"),
    ),
    (
        STORMPATH_USER,
        include_str!("../../schemas/stormpath/user.schema.json"),
    ),
    (
        STORMPATH_GROUP,
        include_str!("../../schemas/stormpath/group.schema.json"),
    ),
    (
        STORMPATH_MEMBERSHIP,
        include_str!("../../schemas/stormpath/membership.schema.json"),
    ),
    (
        STORMPATH_APP,
        include_str!("../../schemas/stormpath/app.schema.json"),
    ),
    (
        STORMPATH_APP_ASSIGNMENT,
        include_str!("../../schemas/stormpath/app_assignment.schema.json"),
    ),
    (
        STORMPATH_ATTRIBUTE,
        include_str!("../../schemas/stormpath/attribute.schema.json"),
    ),
    (CSV_USER, include_str!("../../schemas/csv/user.schema.json")),
    (
        CSV_GROUP,
        include_str!("../../schemas/csv/group.schema.json"),
    ),
    (
        CSV_MEMBERSHIP,
        include_str!("../../schemas/csv/membership.schema.json"),
    ),
    (
        CSV_ATTRIBUTE,
        include_str!("../../schemas/csv/attribute.schema.json"),
    ),
    (
        CSV_COLUMNS,
        include_str!("../../schemas/csv/columns.schema.json"),
    ),
];

pub const ENVELOPE: &str = "envelope.schema.json";
pub const RESULT: &str = "result.schema.json";
pub const VERIFY: &str = "verify.schema.json";
pub const EVENT: &str = "journal-event.schema.json";
pub const OKTA_USER: &str = "okta/user.schema.json";
pub const OKTA_GROUP: &str = "okta/group.schema.json";
pub const OKTA_MEMBERSHIP: &str = "okta/membership.schema.json";
pub const OKTA_APP: &str = "okta/app.schema.json";
pub const OKTA_APP_ASSIGNMENT: &str = "okta/app_assignment.schema.json";
pub const OKTA_ATTRIBUTE: &str = "okta/attribute.schema.json";
pub const ONELOGIN_USER: &str = "onelogin/user.schema.json";
pub const ONELOGIN_ROLE: &str = "onelogin/role.schema.json";
pub const ONELOGIN_APP: &str = "onelogin/app.schema.json";
pub const ONELOGIN_ATTRIBUTE: &str = "onelogin/attribute.schema.json";
/// OneLogin objects as `idm-export --from onelogin` writes them (the files above are payloads).
pub const ONELOGIN_EXPORT_USER: &str = "onelogin/export/user.schema.json";
pub const ONELOGIN_EXPORT_GROUP: &str = "onelogin/export/group.schema.json";
pub const ONELOGIN_EXPORT_MEMBERSHIP: &str = "onelogin/export/membership.schema.json";
pub const ONELOGIN_EXPORT_APP: &str = "onelogin/export/app.schema.json";
pub const ONELOGIN_EXPORT_APP_ASSIGNMENT: &str = "onelogin/export/app_assignment.schema.json";
pub const ONELOGIN_EXPORT_ATTRIBUTE: &str = "onelogin/export/attribute.schema.json";
pub const OKTA_TARGET_USER: &str = "okta-target/user.schema.json";
pub const OKTA_TARGET_GROUP: &str = "okta-target/group.schema.json";
pub const OKTA_TARGET_APP: &str = "okta-target/app.schema.json";
pub const OKTA_TARGET_ATTRIBUTE: &str = "okta-target/attribute.schema.json";
/// idm-map's `--mapping FILE` (not a record; check it with [`Schemas::check`]).
pub const MAPPING_CONFIG: &str = "mapping.schema.json";
/// idm-map's `--connectors FILE` (not a record; check it with [`Schemas::check`]).
pub const CONNECTORS_CONFIG: &str = "connectors.schema.json";
pub const STORMPATH_USER: &str = "stormpath/user.schema.json";
pub const STORMPATH_GROUP: &str = "stormpath/group.schema.json";
pub const STORMPATH_MEMBERSHIP: &str = "stormpath/membership.schema.json";
pub const STORMPATH_APP: &str = "stormpath/app.schema.json";
pub const STORMPATH_APP_ASSIGNMENT: &str = "stormpath/app_assignment.schema.json";
pub const STORMPATH_ATTRIBUTE: &str = "stormpath/attribute.schema.json";
pub const CSV_USER: &str = "csv/user.schema.json";
pub const CSV_GROUP: &str = "csv/group.schema.json";
pub const CSV_MEMBERSHIP: &str = "csv/membership.schema.json";
pub const CSV_ATTRIBUTE: &str = "csv/attribute.schema.json";
/// idm-export's `--columns FILE` for CSV sources (not a record; check it with [`Schemas::check`]).
pub const CSV_COLUMNS: &str = "csv/columns.schema.json";

/// The schema `data` of a record is checked against, by file name under `schemas/`; `None`
/// when only the envelope is checked.
///
/// - `result` records: `result.schema.json`, whatever their source.
/// - With a `target`: the target's payload (`onelogin/user`, `onelogin/role` for groups,
///   `onelogin/app`, `onelogin/attribute`). Edges (`membership`, `app_assignment`) are passed
///   through by map unchanged, so they keep their source schema.
/// - Without a target: the source's export (`okta/<kind>`, `stormpath/<kind>`, `csv/<kind>`,
///   `onelogin/export/<kind>`).
pub fn data_schema(kind: &Kind, source: &str, target: Option<&str>) -> Option<&'static str> {
    if *kind == Kind::Result {
        return Some(RESULT);
    }
    if *kind == Kind::Verify {
        return Some(VERIFY);
    }
    let edge = matches!(kind, Kind::Membership | Kind::AppAssignment);
    match (target, source) {
        (Some("onelogin"), _) if !edge => match kind {
            Kind::User => Some(ONELOGIN_USER),
            Kind::Group => Some(ONELOGIN_ROLE),
            Kind::App => Some(ONELOGIN_APP),
            Kind::Attribute => Some(ONELOGIN_ATTRIBUTE),
            _ => None,
        },
        (Some("okta"), _) if !edge => match kind {
            Kind::User => Some(OKTA_TARGET_USER),
            Kind::Group => Some(OKTA_TARGET_GROUP),
            Kind::App => Some(OKTA_TARGET_APP),
            Kind::Attribute => Some(OKTA_TARGET_ATTRIBUTE),
            _ => None,
        },
        (Some(_), _) if !edge => None,
        (_, "okta") => match kind {
            Kind::User => Some(OKTA_USER),
            Kind::Group => Some(OKTA_GROUP),
            Kind::Membership => Some(OKTA_MEMBERSHIP),
            Kind::App => Some(OKTA_APP),
            Kind::AppAssignment => Some(OKTA_APP_ASSIGNMENT),
            Kind::Attribute => Some(OKTA_ATTRIBUTE),
            _ => None,
        },
        (_, "stormpath") => match kind {
            Kind::User => Some(STORMPATH_USER),
            Kind::Group => Some(STORMPATH_GROUP),
            Kind::Membership => Some(STORMPATH_MEMBERSHIP),
            Kind::App => Some(STORMPATH_APP),
            Kind::AppAssignment => Some(STORMPATH_APP_ASSIGNMENT),
            Kind::Attribute => Some(STORMPATH_ATTRIBUTE),
            _ => None,
        },
        (_, "onelogin") => match kind {
            Kind::User => Some(ONELOGIN_EXPORT_USER),
            Kind::Group => Some(ONELOGIN_EXPORT_GROUP),
            Kind::Membership => Some(ONELOGIN_EXPORT_MEMBERSHIP),
            Kind::App => Some(ONELOGIN_EXPORT_APP),
            Kind::AppAssignment => Some(ONELOGIN_EXPORT_APP_ASSIGNMENT),
            Kind::Attribute => Some(ONELOGIN_EXPORT_ATTRIBUTE),
            _ => None,
        },
        (_, "csv") => match kind {
            Kind::User => Some(CSV_USER),
            Kind::Group => Some(CSV_GROUP),
            Kind::Membership => Some(CSV_MEMBERSHIP),
            Kind::Attribute => Some(CSV_ATTRIBUTE),
            _ => None,
        },
        _ => None,
    }
}

/// A record or event that does not match its schema. Displays as one line,
/// `data.profile.login: required field is missing`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SchemaError {
    /// Where, in dotted form from the record's root: `data.credentials.emails[0].value`.
    /// `record`, `data` or `event` when the problem is the whole object.
    pub path: String,
    /// The same place as a JSON pointer: `/data/credentials/emails/0/value`.
    pub pointer: String,
    /// What is wrong, lowercase, user values in backticks.
    pub message: String,
    /// The schema that refused it, by file name under `schemas/`.
    pub schema: &'static str,
}

impl SchemaError {
    /// The path inside `data` (`profile.login`), or `None` when the error is not in `data`.
    /// Suits the `field` of a result record's error.
    pub fn data_field(&self) -> Option<&str> {
        self.path.strip_prefix("data.")
    }
}

/// A schema that did not compile: a defect of this build, caught by the tests.
#[derive(Debug, thiserror::Error)]
#[error("embedded schema `{file}` does not compile: {reason}")]
pub struct CompileError {
    pub file: &'static str,
    pub reason: String,
}

/// All schemas, each compiled on first use: compiling one costs milliseconds and megabytes
/// (the `jsonschema` crate's schema checks), and most tools use only a few of them.
pub struct Schemas {
    validators: Vec<(&'static str, &'static str, OnceLock<Compiled>)>,
}

type Compiled = Result<(Value, Validator), String>;

static SCHEMAS: OnceLock<Schemas> = OnceLock::new();

impl Schemas {
    /// The schemas, shared by the whole process; each is compiled when first used.
    ///
    /// # Panics
    /// Only if the envelope schema does not compile, which is a defect of the build that
    /// `tests/schemas.rs` catches; tools that want to report it call [`Schemas::try_get`].
    pub fn get() -> &'static Schemas {
        match Schemas::try_get() {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Schemas::get`], with a broken embedded schema as an error. Compiles the
    /// envelope schema, which every check uses, so a tool fails before its first record.
    pub fn try_get() -> Result<&'static Schemas, CompileError> {
        let schemas = SCHEMAS.get_or_init(Schemas::lazy);
        schemas.compiled(ENVELOPE).map(|_| schemas)
    }

    /// Every embedded schema compiled now (tests; tools use [`Schemas::get`]).
    pub fn compile() -> Result<Schemas, CompileError> {
        let schemas = Schemas::lazy();
        for &(file, _) in FILES {
            schemas.compiled(file)?;
        }
        Ok(schemas)
    }

    fn lazy() -> Schemas {
        Schemas {
            validators: FILES
                .iter()
                .map(|&(file, text)| (file, text, OnceLock::new()))
                .collect(),
        }
    }

    /// The schema document and its validator, compiled on first use. `file` is one of the
    /// names in [`FILES`]; `data_schema` and the constants hand out only those.
    fn compiled(&self, file: &str) -> Result<(&Value, &Validator), CompileError> {
        let Some((name, text, cell)) = self.validators.iter().find(|(name, _, _)| *name == file)
        else {
            unreachable!("schema `{file}` is not embedded")
        };
        match cell.get_or_init(|| compile_one(name, text).map_err(|e| e.reason)) {
            Ok((doc, validator)) => Ok((doc, validator)),
            Err(reason) => Err(CompileError {
                file: name,
                reason: reason.clone(),
            }),
        }
    }

    /// Check a record: its envelope, then its `data` against the schema for its kind, source
    /// and target (see [`data_schema`]), then that an edge's id agrees with its data.
    pub fn validate_record(&self, record: &Record) -> Result<(), SchemaError> {
        if !envelope_passes(record) {
            self.check_at(ENVELOPE, &envelope_of(record), "", "", "record")?;
        }
        if let Some(file) = data_schema(&record.kind, &record.source, record.target.as_deref()) {
            self.check_at(file, &record.data, "/data", "data", "data")?;
        }
        check_edge_id(record)
    }

    /// Check one parsed line as it is (any extra envelope field is an error), then its `data`
    /// as [`Schemas::validate_record`] does.
    pub fn validate_value(&self, line: &Value) -> Result<(), SchemaError> {
        self.check_at(ENVELOPE, line, "", "", "record")?;
        let record: Record = serde_json::from_value(line.clone()).map_err(|e| SchemaError {
            path: "record".into(),
            pointer: String::new(),
            message: format!("not an envelope: {e}"),
            schema: ENVELOPE,
        })?;
        if let Some(file) = data_schema(&record.kind, &record.source, record.target.as_deref()) {
            self.check_at(file, &record.data, "/data", "data", "data")?;
        }
        check_edge_id(&record)
    }

    /// Check a journal event.
    pub fn validate_event(&self, event: &Event) -> Result<(), SchemaError> {
        let value = serde_json::to_value(event).map_err(|e| SchemaError {
            path: "event".into(),
            pointer: String::new(),
            message: format!("cannot be written as JSON: {e}"),
            schema: EVENT,
        })?;
        self.validate_event_value(&value)
    }

    /// Check one parsed journal line.
    pub fn validate_event_value(&self, event: &Value) -> Result<(), SchemaError> {
        self.check_at(EVENT, event, "", "", "event")
    }

    /// Check any value against the schema `file` (a name from [`FILES`]), e.g. a payload
    /// before it is sent.
    pub fn check(&self, file: &'static str, instance: &Value) -> Result<(), SchemaError> {
        self.check_at(file, instance, "", "", "value")
    }

    /// Check a value with the compiled schema alone, never the quick checks (their tests).
    #[cfg(test)]
    pub(crate) fn check_with_schema(
        &self,
        file: &'static str,
        instance: &Value,
    ) -> Result<(), SchemaError> {
        self.check_compiled(file, instance, "", "", "value")
    }

    /// Check `instance` against the schema `file`; `pointer`/`dotted` say where `instance`
    /// sits in the record and `whole` names it when the error is about all of it. The hot
    /// shapes are asked of [`super::quick`] first: the schema only when it is not sure.
    fn check_at(
        &self,
        file: &'static str,
        instance: &Value,
        pointer: &str,
        dotted: &str,
        whole: &str,
    ) -> Result<(), SchemaError> {
        if super::quick::passes(file, instance) {
            return Ok(());
        }
        self.check_compiled(file, instance, pointer, dotted, whole)
    }

    fn check_compiled(
        &self,
        file: &'static str,
        instance: &Value,
        pointer: &str,
        dotted: &str,
        whole: &str,
    ) -> Result<(), SchemaError> {
        let (doc, validator) = self.compiled(file).map_err(|e| SchemaError {
            path: whole.to_string(),
            pointer: String::new(),
            message: e.to_string(),
            schema: file,
        })?;
        // `is_valid` does not build errors; the slower `validate` runs only on failure.
        if validator.is_valid(instance) {
            return Ok(());
        }
        match validator.validate(instance) {
            Ok(()) => Ok(()),
            Err(err) => Err(to_schema_error(
                &err,
                instance,
                (pointer, dotted, whole),
                (file, doc),
            )),
        }
    }
}

/// Check a record with the process-wide schemas.
pub fn validate_record(record: &Record) -> Result<(), SchemaError> {
    Schemas::get().validate_record(record)
}

/// Check a journal event with the process-wide schemas.
pub fn validate_event(event: &Event) -> Result<(), SchemaError> {
    Schemas::get().validate_event(event)
}

fn compile_one(file: &'static str, text: &str) -> Result<(Value, Validator), CompileError> {
    let fail = |reason: String| CompileError { file, reason };
    let schema: Value = serde_json::from_str(text).map_err(|e| fail(e.to_string()))?;
    let build = |schema: &Value, draft| {
        jsonschema::options()
            .with_draft(draft)
            .should_validate_formats(true)
            .should_ignore_unknown_formats(false)
            .build(schema)
            .map_err(|e| e.to_string())
    };
    if let Some(lean) = as_draft7(&schema)
        && let Ok(validator) = build(&lean, jsonschema::Draft::Draft7)
    {
        return Ok((lean, validator));
    }
    let validator =
        build(&schema, jsonschema::Draft::Draft202012).map_err(|e| fail(e.to_string()))?;
    Ok((schema, validator))
}

/// The same schema for draft 7, when it means exactly the same there; `None` otherwise.
///
/// Why: the `jsonschema` crate checks every schema against its draft's meta-schema before
/// compiling it, and the 2020-12 meta-schema (a web of `$dynamicRef`s) costs it about 5 MB
/// per schema checked, kept for the life of the process: some 50 MB before idm-map's first
/// record. Draft 7's meta-schema is plain. The schemas in `schemas/` stay 2020-12 (the
/// published contract); what is compiled is their draft 7 reading, used only when no keyword
/// changes meaning between the two: `dependentRequired` and `dependentSchemas` are draft 7's
/// `dependencies` (arrays of names, subschemas), and a schema with a keyword draft 7 lacks or reads otherwise (a `$ref` beside other
/// assertions, `prefixItems`, `unevaluated*`, dynamic or recursive references, anchors,
/// `minContains`/`maxContains`, array-form `items`) keeps 2020-12.
fn as_draft7(schema: &Value) -> Option<Value> {
    const ANNOTATIONS: &[&str] = &[
        "$ref",
        "description",
        "title",
        "$comment",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
    ];
    const NOT_IN_DRAFT7: &[&str] = &[
        "prefixItems",
        "unevaluatedProperties",
        "unevaluatedItems",
        "$dynamicRef",
        "$dynamicAnchor",
        "$recursiveRef",
        "$recursiveAnchor",
        "$anchor",
        "$vocabulary",
        "minContains",
        "maxContains",
        "dependencies",
    ];
    fn walk(node: &Value, top: bool) -> Option<Value> {
        match node {
            Value::Object(map) => {
                if map.contains_key("$ref")
                    && map.keys().any(|k| !ANNOTATIONS.contains(&k.as_str()))
                {
                    return None;
                }
                if map.keys().any(|k| NOT_IN_DRAFT7.contains(&k.as_str()))
                    || map.get("items").is_some_and(Value::is_array)
                {
                    return None;
                }
                let mut out = Map::with_capacity(map.len());
                for (k, v) in map {
                    match k.as_str() {
                        "$schema" if top => {}
                        "$id" if !top => return None,
                        // data, not subschemas: copied as they are
                        "const" | "enum" | "examples" | "default" | "required" => {
                            out.insert(k.clone(), v.clone());
                        }
                        // draft 7 has both as `dependencies` (arrays of names, subschemas)
                        "dependentRequired" | "dependentSchemas" => {
                            let Value::Object(m) = v else { return None };
                            let deps = out
                                .entry("dependencies")
                                .or_insert_with(|| Value::Object(Map::new()));
                            let Value::Object(deps) = deps else {
                                return None;
                            };
                            for (name, d) in m {
                                let d = if k == "dependentSchemas" {
                                    walk(d, false)?
                                } else {
                                    d.clone()
                                };
                                if deps.insert(name.clone(), d).is_some() {
                                    return None;
                                }
                            }
                        }
                        // maps of names to subschemas
                        "properties" | "patternProperties" | "$defs" | "definitions" => {
                            let Value::Object(m) = v else { return None };
                            let mut sub = Map::with_capacity(m.len());
                            for (name, s) in m {
                                sub.insert(name.clone(), walk(s, false)?);
                            }
                            out.insert(k.clone(), Value::Object(sub));
                        }
                        _ => {
                            out.insert(k.clone(), walk(v, false)?);
                        }
                    }
                }
                Some(Value::Object(out))
            }
            Value::Array(items) => items
                .iter()
                .map(|v| walk(v, false))
                .collect::<Option<Vec<_>>>()
                .map(Value::Array),
            other => Some(other.clone()),
        }
    }
    walk(schema, true)
}

/// The envelope without its `data` (an empty object stands in): cheap to build per record.
/// The rules of envelope.schema.json on a parsed record, checked without building the
/// envelope as a JSON value (idm-map checks every record twice). `true`: the schema passes
/// it; `false` sends it to the schema itself, for its message. A test keeps the two equal.
fn envelope_passes(record: &Record) -> bool {
    let mut kind = record.kind.as_str().bytes();
    let kind_ok = kind.next().is_some_and(|c| c.is_ascii_lowercase())
        && kind.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
    kind_ok
        && matches!(
            record.source.as_str(),
            "okta" | "onelogin" | "stormpath" | "csv" | "idm"
        )
        && !record.id.is_empty()
        && record.data.is_object()
        && record
            .target
            .as_deref()
            .is_none_or(|t| matches!(t, "onelogin" | "okta"))
        && record.warnings.iter().all(|w| !w.is_empty())
}

fn envelope_of(record: &Record) -> Value {
    let mut map = Map::with_capacity(6);
    map.insert(
        "kind".into(),
        Value::String(record.kind.as_str().to_string()),
    );
    map.insert("source".into(), Value::String(record.source.clone()));
    map.insert("id".into(), Value::String(record.id.clone()));
    // `data` is checked on its own; an object stands in for it, anything else is kept so the
    // envelope schema reports it.
    let data = match &record.data {
        Value::Object(_) => Value::Object(Map::new()),
        other => other.clone(),
    };
    map.insert("data".into(), data);
    if let Some(target) = &record.target {
        map.insert("target".into(), Value::String(target.clone()));
    }
    if !record.warnings.is_empty() {
        map.insert(
            "warnings".into(),
            Value::Array(
                record
                    .warnings
                    .iter()
                    .map(|w| Value::String(w.clone()))
                    .collect(),
            ),
        );
    }
    Value::Object(map)
}

/// Edges name their ends twice, in the id and in `data`; the two must agree, or idm-load
/// would record one edge in the journal and create another.
fn check_edge_id(record: &Record) -> Result<(), SchemaError> {
    let text = |key: &str| record.data.get(key).and_then(Value::as_str);
    let (expected, schema) = match record.kind {
        Kind::Membership => match (text("group_id"), text("user_id")) {
            (Some(g), Some(u)) => (format!("{g}/{u}"), OKTA_MEMBERSHIP),
            _ => return Ok(()),
        },
        Kind::AppAssignment => match (text("app_id"), text("group_id").or(text("user_id"))) {
            (Some(a), Some(o)) => (format!("{a}/{o}"), OKTA_APP_ASSIGNMENT),
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    if record.id == expected {
        return Ok(());
    }
    Err(SchemaError {
        path: "id".into(),
        pointer: "/id".into(),
        message: format!(
            "`{}` does not match its data (expected `{expected}`)",
            record.id
        ),
        schema,
    })
}

/// Turn the first validation error into a one-line [`SchemaError`].
fn to_schema_error(
    err: &ValidationError<'_>,
    root: &Value,
    (base_pointer, base_dotted, whole): (&str, &str, &str),
    (schema, doc): (&'static str, &Value),
) -> SchemaError {
    let mut segments: Vec<String> = err
        .instance_path
        .as_str()
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let message = match &err.kind {
        ValidationErrorKind::Required { property } => {
            segments.push(property.as_str().unwrap_or_default().to_string());
            "required field is missing".to_string()
        }
        ValidationErrorKind::AdditionalProperties { unexpected } if !unexpected.is_empty() => {
            segments.push(unexpected[0].clone());
            match unexpected.len() {
                1 => "unknown field (not allowed here)".to_string(),
                n => format!("unknown field (not allowed here; and {} more)", n - 1),
            }
        }
        ValidationErrorKind::FalseSchema | ValidationErrorKind::Not { .. } => {
            "not allowed here".to_string()
        }
        _ => describe(err, &segments, doc),
    };
    let (pointer, dotted) = render_path(root, &segments, base_pointer, base_dotted, whole);
    SchemaError {
        path: dotted,
        pointer,
        message,
        schema,
    }
}

/// The message for an error whose place is already in `segments`.
fn describe(err: &ValidationError<'_>, segments: &[String], doc: &Value) -> String {
    let secret = segments.iter().any(|s| is_secret_name(s));
    let value = || show(&err.instance, secret);
    match &err.kind {
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            format!("expected {expected}, found {}", type_name(&err.instance))
        }
        ValidationErrorKind::Format { format } => format!("{} is not a valid {format}", value()),
        ValidationErrorKind::Enum { options } => {
            let same_type = options
                .as_array()
                .is_some_and(|o| o.iter().any(|v| type_name(v) == type_name(&err.instance)));
            if same_type {
                format!("{} is not one of {}", value(), show_long(options))
            } else {
                format!(
                    "expected one of {}, found {} {}",
                    show_long(options),
                    type_name(&err.instance),
                    value()
                )
            }
        }
        ValidationErrorKind::Constant { expected_value } => {
            format!("{} is not {}", value(), show_long(expected_value))
        }
        ValidationErrorKind::MinLength { limit } => {
            if err.instance.as_str().is_some_and(str::is_empty) {
                "must not be empty".to_string()
            } else {
                format!("{} is shorter than {limit} characters", value())
            }
        }
        ValidationErrorKind::MaxLength { limit } => {
            let n = err.instance.as_str().map_or(0, |s| s.chars().count());
            format!("{} is {n} characters long, more than {limit}", value())
        }
        ValidationErrorKind::Pattern { pattern } => {
            if err.instance.as_str().is_some_and(|s| s.trim().is_empty()) {
                return "must not be blank".to_string();
            }
            // The compiled pattern is rewritten for the regex engine; show the schema's own.
            let written = keyword_at(doc, err.schema_path.as_str())
                .and_then(Value::as_str)
                .unwrap_or(pattern);
            format!(
                "{} does not match `{}`",
                value(),
                truncate(&one_line(written), 80)
            )
        }
        ValidationErrorKind::Minimum { limit } => {
            format!("{} is less than the minimum of {limit}", value())
        }
        ValidationErrorKind::Maximum { limit } => {
            format!("{} is more than the maximum of {limit}", value())
        }
        ValidationErrorKind::MinProperties { .. } => "must not be empty".to_string(),
        ValidationErrorKind::PropertyNames { error } => {
            format!("invalid key: {}", describe(error, segments, doc))
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            let missing: Option<Vec<String>> = context
                .iter()
                .map(|branch| match branch.first().map(|e| &e.kind) {
                    Some(ValidationErrorKind::Required { property }) => {
                        Some(format!("`{}`", property.as_str().unwrap_or_default()))
                    }
                    _ => None,
                })
                .collect();
            match missing {
                Some(names) if !names.is_empty() => {
                    format!("needs one of {}", names.join(", "))
                }
                _ => "matches none of the allowed forms".to_string(),
            }
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            "matches more than one of the allowed forms".to_string()
        }
        _ => {
            let text = if secret {
                err.masked().to_string()
            } else {
                err.to_string()
            };
            lowercase_first(&truncate(&one_line(&text), 160))
        }
    }
}

/// The schema value at `pointer` (a schema path from an error), following local `$ref`s.
fn keyword_at<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut node = doc;
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        if seg == "$ref" {
            let target = node.get("$ref")?.as_str()?.strip_prefix('#')?;
            node = doc.pointer(target)?;
        } else if let Value::Array(items) = node {
            node = items.get(seg.parse::<usize>().ok()?)?;
        } else {
            node = node.get(seg.as_str())?;
        }
    }
    Some(node)
}

/// Both forms of a path: the pointer, and the dotted form in which array indices are
/// `[n]` (told apart from object keys that look like numbers by walking the instance).
fn render_path(
    root: &Value,
    segments: &[String],
    base_pointer: &str,
    base_dotted: &str,
    whole: &str,
) -> (String, String) {
    let mut pointer = base_pointer.to_string();
    let mut dotted = base_dotted.to_string();
    let mut node = Some(root);
    for seg in segments {
        pointer.push('/');
        pointer.push_str(&seg.replace('~', "~0").replace('/', "~1"));
        match node {
            Some(Value::Array(items)) => {
                dotted.push_str(&format!("[{seg}]"));
                node = seg.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            other => {
                if !dotted.is_empty() {
                    dotted.push('.');
                }
                dotted.push_str(seg);
                node = other.and_then(|v| v.get(seg.as_str()));
            }
        }
    }
    if dotted.is_empty() {
        dotted = whole.into();
    }
    (pointer, dotted)
}

/// Field names whose values may be secrets: passwords and their hashes and salts, client
/// secrets, tokens, private keys, recovery answers.
fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains("password")
        || name.contains("secret")
        || name.contains("private")
        || name.ends_with("salt")
        || name.ends_with("token")
        || name == "hash"
        || name == "answer"
}

/// A value for a message: strings as their text, others as compact JSON, in backticks,
/// shortened; secrets are not shown.
fn show(value: &Value, secret: bool) -> String {
    if secret {
        return "the value".to_string();
    }
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!("`{}`", truncate(&one_line(&text), 80))
}

/// A schema value (a list of allowed values) for a message, less shortened than user values.
fn show_long(value: &Value) -> String {
    format!("`{}`", truncate(&one_line(&value.to_string()), 200))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(kind: &str, target: Option<&str>, id: &str, data: Value) -> Record {
        let mut r = Record::new(Kind::from(kind), "okta", id, data);
        r.target = target.map(str::to_string);
        r
    }

    #[test]
    fn the_fast_envelope_check_agrees_with_the_envelope_schema() {
        let schemas = Schemas::get();
        let (_, validator) = schemas.compiled(ENVELOPE).unwrap();
        let base = || Record::new(Kind::User, "okta", "00u1", json!({}));
        let mut cases = vec![base()];
        for kind in [
            "group",
            "app_assignment",
            "x9_",
            "stream",
            "User",
            "9a",
            "a-b",
            "é",
            "a\n",
        ] {
            let mut r = base();
            r.kind = Kind::from(kind);
            cases.push(r);
        }
        for source in ["onelogin", "stormpath", "csv", "idm", "ldap", "", "OKTA"] {
            let mut r = base();
            r.source = source.into();
            cases.push(r);
        }
        for id in ["", " ", "é"] {
            let mut r = base();
            r.id = id.into();
            cases.push(r);
        }
        for data in [
            json!(null),
            json!([]),
            json!("x"),
            json!(1),
            json!({"a": 1}),
        ] {
            let mut r = base();
            r.data = data;
            cases.push(r);
        }
        for target in ["onelogin", "okta", "csv", ""] {
            let mut r = base();
            r.target = Some(target.into());
            cases.push(r);
        }
        for warnings in [
            vec!["w".to_string()],
            vec![String::new()],
            vec!["a".into(), "".into()],
        ] {
            let mut r = base();
            r.warnings = warnings;
            cases.push(r);
        }
        for r in cases {
            assert_eq!(
                envelope_passes(&r),
                validator.is_valid(&envelope_of(&r)),
                "{r:?}"
            );
        }
    }

    #[test]
    fn every_embedded_schema_compiles() {
        Schemas::compile().unwrap();
    }

    #[test]
    fn dispatch_follows_kind_source_and_target() {
        assert_eq!(data_schema(&Kind::User, "okta", None), Some(OKTA_USER));
        assert_eq!(
            data_schema(&Kind::User, "okta", Some("onelogin")),
            Some(ONELOGIN_USER)
        );
        assert_eq!(
            data_schema(&Kind::Group, "okta", Some("onelogin")),
            Some(ONELOGIN_ROLE)
        );
        assert_eq!(
            data_schema(&Kind::Membership, "okta", Some("onelogin")),
            Some(OKTA_MEMBERSHIP)
        );
        assert_eq!(data_schema(&Kind::Result, "csv", None), Some(RESULT));
        assert_eq!(
            data_schema(&Kind::User, "stormpath", None),
            Some(STORMPATH_USER)
        );
        assert_eq!(
            data_schema(&Kind::Membership, "csv", Some("onelogin")),
            Some(CSV_MEMBERSHIP)
        );
        assert_eq!(data_schema(&Kind::App, "csv", None), None);
        assert_eq!(data_schema(&Kind::from("policy"), "okta", None), None);
    }

    #[test]
    fn errors_name_the_field_and_hide_secrets() {
        let s = Schemas::get();
        let bad = record(
            "user",
            Some("onelogin"),
            "00u1",
            json!({"email": "nope", "username": "a"}),
        );
        let err = s.validate_record(&bad).unwrap_err();
        assert_eq!(err.path, "data.email");
        assert_eq!(err.pointer, "/data/email");
        assert_eq!(err.to_string(), "data.email: `nope` is not a valid email");
        assert_eq!(err.data_field(), Some("email"));

        let secret = record(
            "user",
            Some("onelogin"),
            "00u1",
            json!({"email": "a@example.com", "username": "a", "password": "hunter2",
                   "password_confirmation": "hunter2", "password_algorithm": "md5"}),
        );
        let err = s.validate_record(&secret).unwrap_err().to_string();
        assert!(err.starts_with("data.password_algorithm: "), "{err}");
        assert!(!err.contains("md5") && !err.contains("hunter2"), "{err}");
    }

    #[test]
    fn array_indices_and_numeric_keys_are_told_apart() {
        let s = Schemas::get();
        let user = record(
            "user",
            None,
            "00u1",
            json!({"id": "00u1", "status": "ACTIVE", "profile": {"login": "a"},
                   "credentials": {"emails": [{"value": 7}]}}),
        );
        let err = s.validate_record(&user).unwrap_err();
        assert_eq!(err.path, "data.credentials.emails[0].value", "{err}");
        assert_eq!(err.pointer, "/data/credentials/emails/0/value");
        assert_eq!(err.message, "expected string, found integer");
    }

    #[test]
    fn edge_ids_must_agree_with_data() {
        let s = Schemas::get();
        let good = record(
            "membership",
            None,
            "00g1/00u1",
            json!({"group_id": "00g1", "user_id": "00u1"}),
        );
        s.validate_record(&good).unwrap();
        let bad = record(
            "membership",
            None,
            "00g1/00u2",
            json!({"group_id": "00g1", "user_id": "00u1"}),
        );
        let err = s.validate_record(&bad).unwrap_err().to_string();
        assert_eq!(
            err,
            "id: `00g1/00u2` does not match its data (expected `00g1/00u1`)"
        );
    }

    #[test]
    fn record_schemas_compile_as_their_draft_7_reading() {
        // the hot schemas (every record's envelope and data) must take the lean path, or the
        // 2020-12 meta-schema check costs tens of MB again (see `as_draft7`)
        for &(file, text) in FILES {
            let schema: Value = serde_json::from_str(text).unwrap();
            let lean = as_draft7(&schema);
            if file.ends_with("mapping.schema.json") {
                // a `$ref` beside `properties`: draft 7 would ignore the properties
                assert!(lean.is_none(), "{file}");
                continue;
            }
            let lean = lean.unwrap_or_else(|| panic!("{file} has no draft 7 reading"));
            assert!(lean.get("$schema").is_none(), "{file}");
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft7)
                .should_validate_formats(true)
                .should_ignore_unknown_formats(false)
                .build(&lean)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }

    #[test]
    fn draft_7_reading_keeps_dependent_required_and_refuses_what_it_would_change() {
        let s = serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {"a": {"type": "string"}, "dependencies": {"type": "string"}},
            "dependentRequired": {"a": ["b"]},
            "dependentSchemas": {"c": {"properties": {"d": false}}}
        });
        let lean = as_draft7(&s).unwrap();
        let v = jsonschema::draft7::new(&lean).unwrap();
        assert!(!v.is_valid(&serde_json::json!({"a": "x"})));
        assert!(v.is_valid(&serde_json::json!({"a": "x", "b": 1})));
        assert!(!v.is_valid(&serde_json::json!({"c": 1, "d": 2})));
        assert!(v.is_valid(&serde_json::json!({"d": 2})));
        for changed in [
            serde_json::json!({"$ref": "#/$defs/x", "required": ["a"], "$defs": {"x": {}}}),
            serde_json::json!({"prefixItems": [{"type": "string"}]}),
            serde_json::json!({"properties": {"a": {"unevaluatedProperties": false}}}),
            serde_json::json!({"items": [{"type": "string"}]}),
        ] {
            assert!(as_draft7(&changed).is_none(), "{changed}");
        }
    }

    #[test]
    fn unknown_kinds_are_checked_as_envelopes_only() {
        let s = Schemas::get();
        s.validate_record(&record("policy", None, "p1", json!({"anything": [1]})))
            .unwrap();
        let mut bad = record("policy", None, "p1", json!({}));
        bad.source = "okat".into();
        let err = s.validate_record(&bad).unwrap_err();
        assert_eq!(err.path, "source", "{err}");
    }

    #[test]
    fn events_are_checked() {
        let s = Schemas::get();
        s.validate_event(&Event::Bookmark {
            source: "okta".into(),
            at: "2026-01-01T00:00:00.000Z".into(),
        })
        .unwrap();
        let err = s
            .validate_event(&Event::Bookmark {
                source: "okta".into(),
                at: "yesterday".into(),
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "at: `yesterday` is not a valid date-time");
    }
}
