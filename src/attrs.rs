//! idm-attrs: discover the custom attributes mapped users need, report them, and create the
//! missing ones in the target before any user reaches idm-load.
//!
//! A OneLogin user create fails with 422 when its payload names a custom attribute the tenant
//! does not have, so every attribute must exist before the first user is loaded. That needs
//! the whole stream, but the tool also sits in a pipeline (`idm-map | idm-attrs | idm-load`)
//! and passes every record on unchanged. So it works in three steps:
//!
//! 1. [`Spooler`] copies every good input line, byte for byte, to an anonymous temporary file
//!    (0600 and already unlinked: it vanishes on every exit path, `kill -9` included) while
//!    [`Discovery`] counts, per shortname, the users that have it and keeps one sample value.
//!    Memory: one line at a time plus one entry per distinct attribute.
//! 2. [`provision`] compares the discovered set with the target's definitions and, with
//!    `apply`, creates the missing ones inside the journal's lock, so two processes sharing a
//!    journal never create the same attribute twice (the second one lists the tenant after the
//!    first has finished and finds everything there).
//! 3. The spool is copied to stdout (or, with `--list`, one `attribute` record per discovered
//!    attribute is written instead).
//!
//! The target is behind the small [`AttrTarget`] trait so the logic is tested without a network.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Seek, SeekFrom, Write};

use serde_json::{Value, json};

use crate::journal::{Event, Journal};
use crate::provider::target::{AttributeDef, Target};
use crate::record::{Kind, Record, RecordReader, Rejects};

/// Per-attribute facts gathered from the users.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttrStats {
    /// Users whose payload has the attribute with a non-null value.
    pub users: u64,
    /// The first non-empty value seen.
    pub sample: Option<String>,
    /// The `source` of the first user that has it.
    pub source: String,
    /// The JSON type of its values (`string`, `boolean`, `integer`, `number`, `array`), as
    /// declared by an `attribute` record or inferred from the values.
    pub value_type: Option<&'static str>,
    /// For arrays: the items' type.
    pub item_type: Option<&'static str>,
    /// Values of more than one type were seen: made a string.
    pub mixed: bool,
    /// The type came from an `attribute` record (values are not inferred over it).
    pub declared: bool,
    /// The `attribute` record says the source hides it from the user: no sample is shown,
    /// and a target with permissions creates it hidden.
    pub hidden: bool,
}

impl AttrStats {
    /// Fold the type of one more value in.
    fn see(&mut self, value: &Value) {
        if self.declared {
            return;
        }
        let (ty, items) = value_type(value);
        match (self.value_type, ty) {
            (None, t) => {
                self.value_type = Some(t);
                self.item_type = items;
            }
            (Some(a), b) if a == b => {
                if self.item_type != items {
                    self.item_type = Some("string");
                }
            }
            (Some("integer"), "number") | (Some("number"), "integer") => {
                self.value_type = Some("number");
            }
            _ => {
                self.mixed = true;
                self.value_type = Some("string");
                self.item_type = None;
            }
        }
    }
}

/// The type of a value as a schema property would declare it, and its items' type.
fn value_type(value: &Value) -> (&'static str, Option<&'static str>) {
    match value {
        Value::Bool(_) => ("boolean", None),
        Value::Number(n) if n.is_i64() || n.is_u64() => ("integer", None),
        Value::Number(_) => ("number", None),
        Value::Array(items) => {
            let item = items
                .iter()
                .map(|v| value_type(v).0)
                .fold(None, |acc, t| match (acc, t) {
                    (None, t) => Some(t),
                    (Some(a), b) if a == b => Some(a),
                    (Some("integer"), "number") | (Some("number"), "integer") => Some("number"),
                    _ => Some("string"),
                });
            ("array", Some(item.unwrap_or("string")))
        }
        _ => ("string", None),
    }
}

/// The custom attributes of a mapped user payload, as `target` holds them: OneLogin's
/// `custom_attributes` object; the profile properties Okta has no base property for.
pub fn custom_fields<'a>(target: &str, data: &'a Value) -> Vec<(&'a str, &'a Value)> {
    match target {
        "okta" => data
            .get("profile")
            .and_then(Value::as_object)
            .map(|p| {
                p.iter()
                    .filter(|(k, _)| !crate::provider::okta::BASE_PROPERTIES.contains(&k.as_str()))
                    .map(|(k, v)| (k.as_str(), v))
                    .collect()
            })
            .unwrap_or_default(),
        _ => data
            .get("custom_attributes")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default(),
    }
}

/// The custom attributes that mapped users carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Users seen (mapped for the target).
    pub users: u64,
    /// User records not mapped for the target (their attributes are not looked at).
    pub unmapped_users: u64,
    /// shortname → stats, sorted by shortname.
    pub attrs: BTreeMap<String, AttrStats>,
}

impl Discovery {
    /// Look at one record: users mapped for `target` contribute their custom attributes;
    /// the `attribute` records of idm-map declare types.
    pub fn observe(&mut self, rec: &Record, target: &str) {
        if rec.kind == Kind::Attribute && rec.target.as_deref() == Some(target) {
            let name = rec
                .data
                .get("name")
                .or_else(|| rec.data.get("shortname"))
                .and_then(Value::as_str);
            let ty = rec.data.get("type").and_then(Value::as_str);
            if let (Some(name), Some(ty)) = (name, ty) {
                let (value_type, item_type) = declared_type(ty, rec.data.pointer("/items/type"));
                if let Some(value_type) = value_type {
                    let stats = self
                        .attrs
                        .entry(name.to_string())
                        .or_insert_with(|| AttrStats {
                            source: rec.source.clone(),
                            ..AttrStats::default()
                        });
                    stats.value_type = Some(value_type);
                    stats.item_type = item_type;
                    stats.declared = true;
                    stats.mixed = false;
                    stats.hidden = rec.data.get("hidden").and_then(Value::as_bool) == Some(true);
                }
            }
            return;
        }
        if rec.kind != Kind::User {
            return;
        }
        if rec.target.as_deref() != Some(target) {
            self.unmapped_users += 1;
            return;
        }
        self.users += 1;
        for (name, value) in custom_fields(target, &rec.data) {
            if value.is_null() || name.trim().is_empty() {
                continue;
            }
            let stats = match self.attrs.get_mut(name) {
                Some(s) => s,
                None => self
                    .attrs
                    .entry(name.to_string())
                    .or_insert_with(|| AttrStats {
                        source: rec.source.clone(),
                        ..AttrStats::default()
                    }),
            };
            stats.users += 1;
            stats.see(value);
            if stats.sample.is_none() {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if !text.is_empty() {
                    stats.sample = Some(text);
                }
            }
        }
    }

    /// Percentage of users that have `stats`' attribute, one decimal.
    pub fn coverage(&self, stats: &AttrStats) -> f64 {
        if self.users == 0 {
            return 0.0;
        }
        (stats.users as f64 * 1000.0 / self.users as f64).round() / 10.0
    }
}

/// A declared type as idm knows them (`None`: not one).
fn declared_type(ty: &str, items: Option<&Value>) -> (Option<&'static str>, Option<&'static str>) {
    let known = |t: &str| -> Option<&'static str> {
        ["string", "boolean", "integer", "number", "array"]
            .into_iter()
            .find(|k| *k == t)
    };
    let item = items.and_then(Value::as_str).and_then(known);
    (known(ty), item)
}

/// The display name OneLogin shows for a shortname: words split on `_`, each capitalized
/// (`employee_number` → `Employee Number`).
pub fn display_name(shortname: &str) -> String {
    let words: Vec<String> = shortname
        .split(|c: char| c == '_' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect();
    if words.is_empty() {
        shortname.to_string()
    } else {
        words.join(" ")
    }
}

pub use crate::secrets::{looks_secret, shown_sample};

/// A custom attribute definition in the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub shortname: String,
    pub id: Option<String>,
}

/// Why a create failed, as the API said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateError {
    pub status: Option<u16>,
    pub message: String,
    /// The whole run cannot go on (bad credentials, API unreachable): not this attribute's
    /// fault, so it stops the run instead of being reported as one failure.
    pub fatal: bool,
}

/// Where custom attribute definitions live (a OneLogin tenant; a fake in tests).
pub trait AttrTarget {
    /// The name of the target system (`onelogin`), for the journal.
    fn name(&self) -> &str;
    /// Every definition the tenant has. A failure here is fatal (it is the check itself).
    fn list(&mut self) -> anyhow::Result<Vec<Existing>>;
    /// Create one definition; its id on success.
    fn create(&mut self, def: &AttributeDef) -> Result<Option<String>, CreateError>;
}

/// A load [`Target`]'s custom attribute definitions as an [`AttrTarget`], through its shared
/// client (quota, retries, token refresh; a create whose answer was lost is looked up before
/// it is sent again).
pub struct TargetAttrs<'a> {
    target: &'a dyn Target,
}

impl<'a> TargetAttrs<'a> {
    pub fn new(target: &'a dyn Target) -> TargetAttrs<'a> {
        TargetAttrs { target }
    }
}

impl AttrTarget for TargetAttrs<'_> {
    fn name(&self) -> &str {
        self.target.name()
    }

    fn list(&mut self) -> anyhow::Result<Vec<Existing>> {
        let name = self.target.name();
        let defs = self
            .target
            .list_attributes()
            .map_err(|e| anyhow::anyhow!("listing {name} custom attributes: {e}"))?;
        Ok(defs
            .into_iter()
            .map(|(shortname, id)| Existing { shortname, id })
            .collect())
    }

    fn create(&mut self, def: &AttributeDef) -> Result<Option<String>, CreateError> {
        self.target.create_attribute(def).map_err(|e| CreateError {
            fatal: e.is_fatal(),
            status: e.status,
            message: e.message,
        })
    }
}

/// What happened to one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrState {
    /// It was there before (or another writer created it first).
    Existed,
    /// Not there; `--apply` would create it.
    WouldCreate,
    /// Not known: no target connection.
    Unknown,
    /// Created now.
    Created { id: Option<String> },
    /// The create failed.
    Failed(CreateError),
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrReport {
    pub shortname: String,
    pub name: String,
    pub users: u64,
    pub coverage: f64,
    pub sample: Option<String>,
    pub source: String,
    /// The type a create declares (targets with typed properties, such as Okta).
    pub value_type: &'static str,
    pub item_type: Option<&'static str>,
    /// Values of more than one type were seen.
    pub mixed: bool,
    /// Hidden from the user in the source (created hidden where the target can).
    pub hidden: bool,
    pub outcome: AttrState,
}

impl AttrReport {
    /// True when the attribute exists in the target now; `None` when unknown.
    pub fn exists(&self) -> Option<bool> {
        match self.outcome {
            AttrState::Existed | AttrState::Created { .. } => Some(true),
            AttrState::WouldCreate | AttrState::Failed(_) => Some(false),
            AttrState::Unknown => None,
        }
    }

    /// The `attribute` record `--list` writes.
    pub fn to_record(&self, target: &str) -> Record {
        let mut data = json!({
            "shortname": self.shortname,
            "name": self.name,
            "count": self.users,
            "coverage": self.coverage,
            "exists": self.exists(),
        });
        if let AttrState::Failed(e) = &self.outcome {
            data["error"] = json!({"status": e.status, "field": null, "message": e.message});
        }
        let mut rec = Record::new(Kind::Attribute, &self.source, &self.shortname, data);
        rec.target = Some(target.to_string());
        rec
    }
}

impl AttrReport {
    /// The `result` record of `--results`: `provision` (planned, ok or failed) for what is
    /// missing, `skip` for what exists; `target_id` is not known for existing ones listed
    /// without `--apply`.
    pub fn to_result(&self, apply: bool, target: &str) -> Record {
        use crate::record::result::{Failure, Op, Outcome as Res, Status};
        let new = |op, status| Res::new(Kind::Attribute, &self.source, &self.shortname, op, status);
        let done = if apply { Status::Ok } else { Status::Planned };
        let res = match &self.outcome {
            AttrState::Existed => new(Op::Skip, done).reason("exists"),
            AttrState::WouldCreate => new(Op::Provision, Status::Planned),
            AttrState::Unknown => {
                new(Op::Provision, Status::Planned).reason("not checked: no target connection")
            }
            AttrState::Created { id } => new(Op::Provision, Status::Ok).target(id.clone()),
            AttrState::Failed(e) => Res::failed(
                Kind::Attribute,
                &self.source,
                &self.shortname,
                Op::Provision,
                Failure {
                    status: e.status,
                    field: None,
                    message: e.message.clone(),
                },
            ),
        };
        res.in_target(target).to_record()
    }
}

/// Compare the discovered attributes with the target and, with `apply`, create the missing
/// ones. With `apply` the whole check-then-create runs under the journal's lock and every
/// attribute found or created is recorded in it (once).
pub fn provision(
    discovery: &Discovery,
    target: Option<&mut dyn AttrTarget>,
    journal: Option<&Journal>,
    apply: bool,
) -> anyhow::Result<Vec<AttrReport>> {
    let mut reports: Vec<AttrReport> = discovery
        .attrs
        .iter()
        .map(|(shortname, stats)| AttrReport {
            shortname: shortname.clone(),
            name: display_name(shortname),
            users: stats.users,
            coverage: discovery.coverage(stats),
            sample: stats.sample.as_ref().map(|s| {
                if stats.hidden {
                    "(hidden)".to_string()
                } else {
                    shown_sample(shortname, s)
                }
            }),
            source: stats.source.clone(),
            value_type: stats.value_type.unwrap_or("string"),
            item_type: stats.item_type,
            mixed: stats.mixed,
            hidden: stats.hidden,
            outcome: AttrState::Unknown,
        })
        .collect();
    let Some(target) = target else {
        anyhow::ensure!(!apply, "`--apply` needs a target connection");
        return Ok(reports);
    };
    if reports.is_empty() && !apply {
        return Ok(reports);
    }
    let lock = match (apply, journal) {
        (true, Some(j)) => Some(j.lock()?),
        (true, None) => anyhow::bail!("`--apply` needs the state journal"),
        (false, _) => None,
    };
    let known = match &lock {
        Some(l) => Some(l.replay()?),
        None => None,
    };
    let mut existing: BTreeMap<String, Option<String>> = target
        .list()?
        .into_iter()
        .map(|e| (e.shortname, e.id))
        .collect();
    let tname = target.name().to_string();
    for report in &mut reports {
        if existing.contains_key(&report.shortname) {
            report.outcome = AttrState::Existed;
        } else if !apply {
            report.outcome = AttrState::WouldCreate;
        } else {
            let def = AttributeDef {
                name: report.shortname.clone(),
                title: report.name.clone(),
                value_type: report.value_type,
                item_type: report.item_type,
                hidden: report.hidden,
            };
            report.outcome = match target.create(&def) {
                Ok(id) => {
                    existing.insert(report.shortname.clone(), id.clone());
                    AttrState::Created { id }
                }
                Err(e) if e.fatal => {
                    anyhow::bail!("creating `{}`: {}", report.shortname, e.message)
                }
                Err(e) => {
                    // a duplicate, a lost response or a 5xx after the server acted: check
                    // whether it exists now before calling it failed
                    let found = target
                        .list()?
                        .into_iter()
                        .find(|x| x.shortname == report.shortname);
                    match found {
                        Some(x) => {
                            existing.insert(x.shortname, x.id);
                            AttrState::Existed
                        }
                        None => AttrState::Failed(e),
                    }
                }
            };
        }
        if let (Some(state), Some(id)) = (&known, existing.get(&report.shortname))
            && !state.has_attr(&tname, &report.shortname)
            && let Some(l) = &lock
        {
            // written at once: a crash later must not forget what was created
            l.append(&Event::Attr {
                target: tname.clone(),
                shortname: report.shortname.clone(),
                target_id: id.clone(),
            })?;
        }
    }
    drop(lock);
    Ok(reports)
}

/// Totals of a report, for the summary lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub discovered: usize,
    pub existed: usize,
    pub would_create: usize,
    pub created: usize,
    pub failed: usize,
    pub unknown: usize,
}

/// Count the outcomes.
pub fn totals(reports: &[AttrReport]) -> Totals {
    let mut t = Totals {
        discovered: reports.len(),
        ..Totals::default()
    };
    for r in reports {
        match r.outcome {
            AttrState::Existed => t.existed += 1,
            AttrState::WouldCreate => t.would_create += 1,
            AttrState::Created { .. } => t.created += 1,
            AttrState::Failed(_) => t.failed += 1,
            AttrState::Unknown => t.unknown += 1,
        }
    }
    t
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The report for people: a table, what `--apply` would create (or what failed), and the
/// plain summary as the last lines.
pub fn render_report(discovery: &Discovery, reports: &[AttrReport], apply: bool) -> String {
    let mut out = String::new();
    let t = totals(reports);
    if !reports.is_empty() {
        let width = reports
            .iter()
            .map(|r| r.shortname.chars().count())
            .max()
            .unwrap_or(9)
            .max(9);
        out.push_str(&format!(
            "{:<width$}  {:>9}  {:>8}  {:<7}  sample\n",
            "shortname", "users", "coverage", "exists"
        ));
        for r in reports {
            let exists = match r.exists() {
                Some(true) if matches!(r.outcome, AttrState::Created { .. }) => "created",
                Some(true) => "yes",
                Some(false) if matches!(r.outcome, AttrState::Failed(_)) => "failed",
                Some(false) => "no",
                None => "?",
            };
            let sample = r.sample.as_deref().unwrap_or("");
            out.push_str(&format!(
                "{:<width$}  {:>9}  {:>7.1}%  {:<7}  {}\n",
                r.shortname, r.users, r.coverage, exists, sample
            ));
        }
        out.push('\n');
    }
    if discovery.unmapped_users > 0 {
        out.push_str(&format!(
            "{} not mapped for the target were not looked at: run idm-map first\n",
            plural(discovery.unmapped_users as usize, "user record")
        ));
    }
    let missing: Vec<&AttrReport> = reports
        .iter()
        .filter(|r| r.outcome == AttrState::WouldCreate)
        .collect();
    if !missing.is_empty() {
        out.push_str("--apply would create:\n");
        for r in &missing {
            out.push_str(&format!("  {} ({})\n", r.shortname, r.name));
        }
    }
    for r in reports {
        if let AttrState::Failed(e) = &r.outcome {
            let status = e.status.map(|s| format!(" ({s})")).unwrap_or_default();
            out.push_str(&format!(
                "failed to create `{}`{status}: {}\n",
                r.shortname, e.message
            ));
        }
    }
    out.push_str(&format!(
        "Discovered {} across {}\n",
        plural(t.discovered, "custom attribute"),
        plural(discovery.users as usize, "user"),
    ));
    if apply {
        out.push_str(&format!(
            "✓ Created {}\n",
            plural(t.created, "new attribute")
        ));
    } else if t.unknown > 0 {
        out.push_str(&format!(
            "ℹ {} not checked: no target connection configured\n",
            plural(t.unknown, "attribute")
        ));
    } else {
        out.push_str(&format!(
            "ℹ Would create {} (run with --apply)\n",
            plural(t.would_create, "new attribute")
        ));
    }
    if t.failed > 0 {
        out.push_str(&format!("✗ {} failed\n", plural(t.failed, "attribute")));
    }
    let verb = if t.existed == 1 { "exists" } else { "exist" };
    out.push_str(&format!(
        "ℹ {} already {verb}\n",
        plural(t.existed, "attribute")
    ));
    out
}

/// Copies every good input line to an anonymous temporary file while discovering.
pub struct Spooler {
    file: File,
    out: BufWriter<File>,
    pub discovery: Discovery,
    /// Lines spooled.
    pub lines: u64,
}

impl Spooler {
    /// A spool in the system's temporary directory.
    pub fn new() -> io::Result<Spooler> {
        let file = tempfile::tempfile()?;
        let out = BufWriter::with_capacity(256 * 1024, file.try_clone()?);
        Ok(Spooler {
            file,
            out,
            discovery: Discovery::default(),
            lines: 0,
        })
    }

    /// Read the whole input: good lines are spooled whole and observed, bad ones rejected.
    pub fn read_all<R: BufRead>(
        &mut self,
        reader: &mut RecordReader<R>,
        rejects: &mut Rejects,
        target: &str,
    ) -> io::Result<()> {
        let bar = crate::cli::progress("reading", None);
        while let Some(entry) = reader.next_good(rejects)? {
            self.out.write_all(reader.raw())?;
            self.out.write_all(b"\n")?;
            self.discovery.observe(&entry.record, target);
            self.lines += 1;
            bar.inc(1);
        }
        bar.finish_and_clear();
        Ok(())
    }

    /// Copy the spooled lines, unchanged, to `out`.
    pub fn replay(mut self, out: &mut dyn Write) -> io::Result<u64> {
        self.out.flush()?;
        drop(self.out);
        self.file.seek(SeekFrom::Start(0))?;
        io::copy(&mut self.file, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, attrs: Value) -> Record {
        let mut r = Record::new(
            Kind::User,
            "okta",
            id,
            json!({"email": format!("{id}@x"), "custom_attributes": attrs}),
        );
        r.target = Some("onelogin".into());
        r
    }

    fn discovery() -> Discovery {
        let mut d = Discovery::default();
        d.observe(
            &user("a", json!({"employee_number": "12", "cost_center": ""})),
            "onelogin",
        );
        d.observe(
            &user(
                "b",
                json!({"employee_number": 7, "api_token": "x", "nothing": null}),
            ),
            "onelogin",
        );
        d.observe(&user("c", json!({})), "onelogin");
        // not mapped for onelogin: not counted
        let mut other = user("d", json!({"zzz": "1"}));
        other.target = Some("okta".into());
        d.observe(&other, "onelogin");
        d
    }

    #[test]
    fn discovery_counts_users_and_keeps_the_first_non_empty_sample() {
        let d = discovery();
        assert_eq!(d.users, 3);
        assert_eq!(d.unmapped_users, 1);
        assert_eq!(
            d.attrs.keys().collect::<Vec<_>>(),
            ["api_token", "cost_center", "employee_number"]
        );
        let en = &d.attrs["employee_number"];
        assert_eq!(en.users, 2);
        assert_eq!(en.sample.as_deref(), Some("12"));
        assert_eq!(d.coverage(en), 66.7);
        assert_eq!(d.attrs["cost_center"].sample, None);
    }

    #[test]
    fn display_names_come_from_shortnames() {
        assert_eq!(display_name("employee_number"), "Employee Number");
        assert_eq!(display_name("_2fa_code"), "2fa Code");
        assert_eq!(display_name("city"), "City");
        assert_eq!(display_name("__"), "__");
    }

    #[test]
    fn secret_looking_samples_are_masked() {
        assert!(looks_secret("api_token", "short"));
        assert!(looks_secret("recovery_password", "x"));
        assert!(looks_secret("notes", "ghp_a1B2c3D4e5F6g7H8i9J0k1L2"));
        assert!(looks_secret("x", "5f4dcc3b5aa765d61d8327deb882cf99"));
        assert!(!looks_secret("employee_number", "12345"));
        assert!(!looks_secret("display_name", "Jane Doe-Smith the Third"));
        assert!(!looks_secret("manager_email", "jane.doe.1234@example.com"));
        assert!(!looks_secret("spinner_color", "blue"));
        let shown = shown_sample("api_token", "abcdefghijklmnop");
        assert!(!shown.contains("efghijkl"), "{shown}");
        assert_eq!(shown_sample("note", "a\nb"), "a\\nb");
    }

    /// A tenant in memory that can fail creates.
    struct Fake {
        defs: Vec<Existing>,
        creates: Vec<String>,
        fail: Option<(&'static str, CreateError)>,
        /// Creates succeed on the server but the response is lost (the next create of the
        /// same shortname sees a duplicate).
        lose: Option<&'static str>,
    }

    impl AttrTarget for Fake {
        fn name(&self) -> &str {
            "onelogin"
        }
        fn list(&mut self) -> anyhow::Result<Vec<Existing>> {
            Ok(self.defs.clone())
        }
        fn create(&mut self, def: &AttributeDef) -> Result<Option<String>, CreateError> {
            let shortname = def.name.as_str();
            if let Some((s, e)) = &self.fail
                && *s == shortname
            {
                return Err(e.clone());
            }
            self.creates.push(shortname.to_string());
            let id = Some(format!("{}", 100 + self.defs.len()));
            self.defs.push(Existing {
                shortname: shortname.into(),
                id: id.clone(),
            });
            if self.lose == Some(shortname) {
                return Err(CreateError {
                    status: Some(422),
                    message: "Shortname has already been taken".into(),
                    fatal: false,
                });
            }
            Ok(id)
        }
    }

    fn fake(existing: &[&str]) -> Fake {
        Fake {
            defs: existing
                .iter()
                .enumerate()
                .map(|(i, s)| Existing {
                    shortname: s.to_string(),
                    id: Some(i.to_string()),
                })
                .collect(),
            creates: Vec::new(),
            fail: None,
            lose: None,
        }
    }

    #[test]
    fn dry_run_reports_without_writing() {
        let d = discovery();
        let mut t = fake(&["employee_number"]);
        let reports = provision(&d, Some(&mut t), None, false).unwrap();
        assert!(t.creates.is_empty());
        let outcomes: Vec<_> = reports.iter().map(|r| r.outcome.clone()).collect();
        assert_eq!(
            outcomes,
            [
                AttrState::WouldCreate,
                AttrState::WouldCreate,
                AttrState::Existed
            ]
        );
        let text = render_report(&d, &reports, false);
        let last: Vec<&str> = text.lines().rev().take(3).collect();
        assert_eq!(
            last,
            [
                "ℹ 1 attribute already exists",
                "ℹ Would create 2 new attributes (run with --apply)",
                "Discovered 3 custom attributes across 3 users",
            ]
        );
        assert!(text.contains("--apply would create:\n  api_token (Api Token)\n"));
        assert!(!text.contains("| x"), "{text}");
    }

    #[test]
    fn apply_creates_the_missing_once_and_records_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ndjson");
        let (journal, _) = Journal::open(&path).unwrap();
        let d = discovery();
        let mut t = fake(&["employee_number"]);
        t.lose = Some("cost_center");
        t.fail = Some((
            "api_token",
            CreateError {
                status: Some(400),
                message: "Shortname is invalid".into(),
                fatal: false,
            },
        ));
        let reports = provision(&d, Some(&mut t), Some(&journal), true).unwrap();
        assert_eq!(t.creates, ["cost_center"]);
        let tot = totals(&reports);
        assert_eq!((tot.created, tot.existed, tot.failed), (0, 2, 1));
        let state = Journal::read(&path).unwrap();
        assert!(state.has_attr("onelogin", "cost_center"));
        assert!(state.has_attr("onelogin", "employee_number"));
        assert!(!state.has_attr("onelogin", "api_token"));
        let text = render_report(&d, &reports, true);
        assert!(text.contains("failed to create `api_token` (400): Shortname is invalid"));
        assert!(
            text.ends_with(
                "✓ Created 0 new attributes\n✗ 1 attribute failed\nℹ 2 attributes already exist\n"
            ),
            "{text}"
        );

        // second run: nothing is created, nothing new is journaled
        t.fail = None;
        let events_before = Journal::read(&path).unwrap().event_count();
        let mut t2 = fake(&["employee_number", "cost_center", "api_token"]);
        let reports = provision(&d, Some(&mut t2), Some(&journal), true).unwrap();
        assert!(t2.creates.is_empty());
        assert_eq!(totals(&reports).existed, 3);
        // api_token is new to the journal
        assert_eq!(
            Journal::read(&path).unwrap().event_count(),
            events_before + 1
        );
    }

    #[test]
    fn list_records_carry_counts_coverage_and_existence() {
        let d = discovery();
        let mut t = fake(&["cost_center"]);
        let reports = provision(&d, Some(&mut t), None, false).unwrap();
        let rec = reports[1].to_record("onelogin");
        assert_eq!(rec.kind, Kind::Attribute);
        assert_eq!(rec.id, "cost_center");
        assert_eq!(
            rec.data,
            json!({"shortname": "cost_center", "name": "Cost Center", "count": 1,
                   "coverage": 33.3, "exists": true})
        );
        let none = provision(&d, None, None, false).unwrap();
        assert_eq!(none[0].to_record("onelogin").data["exists"], Value::Null);
    }

    #[test]
    fn spool_replays_input_byte_for_byte() {
        let input = "{\"kind\":\"user\",\"source\":\"okta\",\"id\":\"a\",\"target\":\"onelogin\",\"data\":{\"custom_attributes\":{\"x\":\"1\"}}}\n{ \"kind\" : \"group\", \"source\":\"okta\",\"id\":\"g\",\"data\":{}}\n";
        let mut spool = Spooler::new().unwrap();
        let mut reader = RecordReader::new(input.as_bytes());
        let mut rejects = Rejects::stderr_only();
        spool
            .read_all(&mut reader, &mut rejects, "onelogin")
            .unwrap();
        assert_eq!(spool.discovery.attrs["x"].users, 1);
        let mut out = Vec::new();
        spool.replay(&mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), input);
    }
}
