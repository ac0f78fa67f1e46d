//! Pass one: every record and journal event of every input is looked at once and folded into
//! counts, capped tables and small per-object maps; no record is kept.
//!
//! What is kept grows with the number of *distinct things a person reads* (kinds, reasons,
//! groups, apps, attribute names), each capped, never with the number of users. The one
//! exception is a set of 64-bit hashes of the mapped objects' keys (8 bytes and change per
//! object), which lets pass two ([`super::resolve`]) name the exported objects that idm-map
//! left out.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Map, Value};

use crate::record::Record;

/// The pipeline stage a record belongs to, told from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// A source object as exported: no `target`.
    Export,
    /// A target payload: `target` set.
    Mapped,
    /// `result` records with status `planned`.
    Plan,
    /// `result` records with status `ok` or `failed`.
    Results,
    /// `verify` records.
    Verify,
    /// State journal events (`{"ev": …}` lines).
    Journal,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Export,
        Stage::Mapped,
        Stage::Plan,
        Stage::Results,
        Stage::Verify,
        Stage::Journal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Export => "export",
            Stage::Mapped => "mapped",
            Stage::Plan => "plan",
            Stage::Results => "results",
            Stage::Verify => "verify",
            Stage::Journal => "journal",
        }
    }

    /// The stage of a record; `None` for an end marker (it belongs to its file, not a stage).
    pub fn of_record(rec: &Record) -> Option<Stage> {
        match rec.kind.as_str() {
            END_KIND => None,
            "result" => match rec.data.get("status").and_then(Value::as_str) {
                Some("planned") => Some(Stage::Plan),
                _ => Some(Stage::Results),
            },
            "verify" => Some(Stage::Verify),
            _ if rec.target.is_some() => Some(Stage::Mapped),
            _ => Some(Stage::Export),
        }
    }
}

/// The kind of the record a stream may end with.
pub const END_KIND: &str = "end";

/// Kinds whose export → mapped passage is checked (edges are too many and carry no name).
const OBJECT_KINDS: [&str; 4] = ["user", "group", "app", "attribute"];

/// One row of a table about a single object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The object's kind (a result's `of`).
    pub kind: String,
    pub source: String,
    pub id: String,
    /// What a person recognises (email, name); filled by pass two when the record had none.
    pub label: Option<String>,
    /// The table's own columns, already safe to show.
    pub cells: Vec<String>,
}

/// The first `cap` rows of something, and how many there were in all.
#[derive(Debug, Clone)]
pub struct Capped<T> {
    pub rows: Vec<T>,
    pub total: u64,
    cap: usize,
}

impl<T> Capped<T> {
    pub fn new(cap: usize) -> Capped<T> {
        Capped {
            rows: Vec::new(),
            total: 0,
            cap,
        }
    }

    pub fn push_with(&mut self, row: impl FnOnce() -> T) {
        self.total += 1;
        if self.rows.len() < self.cap {
            self.rows.push(row());
        }
    }

    /// Rows counted but not kept.
    pub fn more(&self) -> u64 {
        self.total - self.rows.len() as u64
    }
}

/// Counts by key, each key with its first example; at most `cap` keys, the rest counted apart.
#[derive(Debug, Clone)]
pub struct Tally<K: Ord> {
    pub map: BTreeMap<K, (u64, Item)>,
    pub overflow: u64,
    cap: usize,
}

impl<K: Ord> Tally<K> {
    pub fn new(cap: usize) -> Tally<K> {
        Tally {
            map: BTreeMap::new(),
            overflow: 0,
            cap,
        }
    }

    pub fn add(&mut self, key: K, example: impl FnOnce() -> Item) {
        if let Some((n, _)) = self.map.get_mut(&key) {
            *n += 1;
        } else if self.map.len() < self.cap {
            self.map.insert(key, (1, example()));
        } else {
            self.overflow += 1;
        }
    }

    pub fn total(&self) -> u64 {
        self.map.values().map(|(n, _)| n).sum::<u64>() + self.overflow
    }
}

/// What one input file held.
#[derive(Debug, Clone, Default)]
pub struct FileScan {
    /// The name as given (`stdin` for `-`).
    pub name: String,
    /// A regular file that pass two may read again (stdin and pipes cannot be).
    pub rereadable: bool,
    /// Records (or events) per stage.
    pub stages: BTreeMap<Stage, u64>,
    /// Records per kind (end markers included), for checking an end marker's counts.
    pub kinds: BTreeMap<String, u64>,
    pub records: u64,
    pub events: u64,
    pub unreadable: u64,
    pub ends: Vec<EndMarker>,
}

impl FileScan {
    /// The stages, in pipeline order, joined: `export`, `mapped + results`.
    pub fn stage_names(&self) -> String {
        if self.stages.is_empty() {
            return if self.ends.is_empty() {
                "empty".into()
            } else {
                "end marker only".into()
            };
        }
        self.stages
            .keys()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// An `end` record: whether the stream says it is complete, and its other facts.
#[derive(Debug, Clone, Default)]
pub struct EndMarker {
    pub line: u64,
    pub complete: Option<bool>,
    /// `counts` when it is an object of numbers (nested objects one level deep, dotted).
    pub counts: Vec<(String, u64)>,
    /// Every other scalar field, masked when it looks secret.
    pub facts: Vec<(String, String)>,
}

/// A line that was neither a record nor a journal event.
#[derive(Debug, Clone)]
pub struct BadLine {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// A group: its name and size as the records tell.
#[derive(Debug, Clone, Default)]
pub struct GroupInfo {
    pub name: Option<String>,
    /// Okta's `type` (`OKTA_GROUP`, `APP_GROUP`, `BUILT_IN`).
    pub group_type: Option<String>,
    /// Members counted from export-stage and mapped-stage memberships.
    pub members_export: u64,
    pub members_mapped: u64,
    /// A mapped record of the group was seen.
    pub mapped: bool,
    pub result: Option<String>,
}

/// An app: its sign-on mode and how far it got.
#[derive(Debug, Clone, Default)]
pub struct AppInfo {
    pub label: Option<String>,
    pub mode: Option<String>,
    pub status: Option<String>,
    pub exported: bool,
    /// Mapped for a target; `connector` is the OneLogin connector it was given.
    pub mapped: bool,
    pub connector: Option<String>,
    /// Assignments from the export (mapped ones are the same edges).
    pub to_groups: u64,
    pub to_users: u64,
    pub assign_mapped: u64,
    /// `op status` of its load result, and its planned op.
    pub result: Option<(String, String)>,
    pub planned: Option<String>,
    pub verify: Option<String>,
}

/// Per attribute name: how many users have a value, and one sample as it may be shown.
#[derive(Debug, Clone, Default)]
pub struct AttrStat {
    pub users: u64,
    pub sample: Option<String>,
}

/// Custom attribute coverage over the users of one stage.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    pub users: u64,
    pub names: BTreeMap<String, AttrStat>,
    /// Values of names beyond the cap (not shown, counted).
    pub overflow: u64,
}

impl Coverage {
    fn observe(&mut self, name: &str, value: &Value, cap: usize) {
        match value {
            Value::Null => return,
            Value::String(s) if s.trim().is_empty() => return,
            Value::Array(a) if a.is_empty() => return,
            Value::Object(o) if o.is_empty() => return,
            _ => {}
        }
        if !self.names.contains_key(name) {
            if self.names.len() >= cap {
                self.overflow += 1;
                return;
            }
            self.names.insert(name.to_string(), AttrStat::default());
        }
        let Some(stat) = self.names.get_mut(name) else {
            return;
        };
        stat.users += 1;
        if stat.sample.is_none() {
            let sample = match value {
                Value::String(s) => shown_value(name, s),
                other => shown_value(name, &other.to_string()),
            };
            stat.sample = Some(sample);
        }
    }
}

/// Everything pass one learned.
#[derive(Debug)]
pub struct Scan {
    pub rows: usize,
    pub files: Vec<FileScan>,
    /// stage → kind → records; results and verify records count under their `of`.
    pub records: BTreeMap<Stage, BTreeMap<String, u64>>,
    /// stage → sources and targets seen (a handful each).
    pub sources: BTreeMap<Stage, BTreeSet<String>>,
    pub targets: BTreeMap<Stage, BTreeSet<String>>,
    /// (stage, of, column) → results; column is the op, or `failed`.
    pub outcomes: BTreeMap<(Stage, String, String), u64>,
    /// (of, status) → verify records.
    pub verify: BTreeMap<(String, String), u64>,
    /// ev → events; (ev, kind) → events of map and edge.
    pub journal: BTreeMap<String, u64>,
    pub journal_kinds: BTreeMap<(String, String), u64>,
    /// target → attributes provisioned (journal `attr` events).
    pub journal_attrs: BTreeMap<String, BTreeSet<String>>,
    pub bookmarks: BTreeMap<String, String>,
    /// The last tenant-binding event's scalar fields.
    pub tenant: Option<Vec<(String, String)>>,
    /// (source, status) → exported users.
    pub user_status: BTreeMap<(String, String), u64>,

    pub bad_lines: Capped<BadLine>,
    pub failures: Capped<Item>,
    pub failure_kinds: Tally<(Stage, String, String, String)>,
    pub skips: Tally<(Stage, String, String)>,
    /// Objects already in the target, from the results (and, apart, from the plan).
    pub preexisting: Capped<Item>,
    pub preexisting_plan: Capped<Item>,
    pub updates: Capped<Item>,
    pub warnings: Tally<(String, String)>,
    pub verify_problems: Capped<Item>,
    /// Exported objects idm-map left out, by kind (filled by pass two).
    pub unmapped: Capped<Item>,
    pub unmapped_by_kind: BTreeMap<String, u64>,
    /// Why the unmapped ones could not be listed, when they could not.
    pub unmapped_note: Option<String>,

    /// Keyed by [`object_key`] (source and id).
    pub groups: HashMap<String, GroupInfo>,
    pub groups_overflow: u64,
    pub apps: HashMap<String, AppInfo>,
    pub apps_overflow: u64,
    pub coverage_mapped: Coverage,
    pub coverage_export: Coverage,
    /// Export `attribute` records (custom schema properties): names.
    pub attr_defs: BTreeSet<String>,
    /// Mapped `attribute` records: source property name → target shortname.
    pub attr_shortnames: BTreeMap<String, String>,
    /// Load results for attributes: property name → `op status`.
    pub attr_results: BTreeMap<String, String>,

    /// Hashes of the mapped objects' (kind, source, id), and the (kind, source) pairs mapped.
    pub mapped_keys: HashSet<u64>,
    pub mapped_kinds: BTreeSet<(String, String)>,
    /// Reused to build map keys without allocating per record.
    scratch: String,
}

/// How many distinct groups, apps and attribute names are tracked one by one.
const GROUPS_CAP: usize = 200_000;
const APPS_CAP: usize = 20_000;
const ATTRS_CAP: usize = 2_000;
const TALLY_CAP: usize = 1_000;
const SMALL_CAP: usize = 200;

impl Scan {
    /// An empty scan whose tables keep at most `rows` rows each.
    pub fn new(rows: usize) -> Scan {
        Scan {
            rows,
            files: Vec::new(),
            records: BTreeMap::new(),
            sources: BTreeMap::new(),
            targets: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            verify: BTreeMap::new(),
            journal: BTreeMap::new(),
            journal_kinds: BTreeMap::new(),
            journal_attrs: BTreeMap::new(),
            bookmarks: BTreeMap::new(),
            tenant: None,
            user_status: BTreeMap::new(),
            bad_lines: Capped::new(rows),
            failures: Capped::new(rows),
            failure_kinds: Tally::new(TALLY_CAP),
            skips: Tally::new(TALLY_CAP),
            preexisting: Capped::new(rows),
            preexisting_plan: Capped::new(rows),
            updates: Capped::new(rows),
            warnings: Tally::new(TALLY_CAP),
            verify_problems: Capped::new(rows),
            unmapped: Capped::new(rows),
            unmapped_by_kind: BTreeMap::new(),
            unmapped_note: None,
            groups: HashMap::new(),
            groups_overflow: 0,
            apps: HashMap::new(),
            apps_overflow: 0,
            coverage_mapped: Coverage::default(),
            coverage_export: Coverage::default(),
            attr_defs: BTreeSet::new(),
            attr_shortnames: BTreeMap::new(),
            attr_results: BTreeMap::new(),
            mapped_keys: HashSet::new(),
            mapped_kinds: BTreeSet::new(),
            scratch: String::new(),
        }
    }

    /// Start a new input file; later observations belong to it.
    pub fn begin_file(&mut self, name: String, rereadable: bool) {
        self.files.push(FileScan {
            name,
            rereadable,
            ..FileScan::default()
        });
    }

    fn file(&mut self) -> &mut FileScan {
        if self.files.is_empty() {
            self.begin_file("stdin".into(), false);
        }
        let last = self.files.len() - 1;
        &mut self.files[last]
    }

    /// A line that is neither a record nor a journal event.
    pub fn bad_line(&mut self, line: u64, reason: &str) {
        let file = self.file();
        file.unreadable += 1;
        let name = file.name.clone();
        self.bad_lines.push_with(|| BadLine {
            file: name,
            line,
            reason: reason.to_string(),
        });
    }

    /// What the stream markers of the current file said (see [`crate::record::stream`]): a
    /// whole stream counts as a complete end, a cut one as an incomplete end with its reason.
    pub fn verdict(&mut self, line: u64, completeness: &crate::record::stream::Completeness) {
        use crate::record::stream::Completeness;
        let (complete, why) = match completeness {
            Completeness::Unmarked => return,
            Completeness::Complete => (
                true,
                "every begin marker has its end, with the right count".to_string(),
            ),
            Completeness::Incomplete(why) => (false, why.clone()),
        };
        let file = self.file();
        if file.ends.len() < SMALL_CAP {
            file.ends.push(EndMarker {
                line,
                complete: Some(complete),
                counts: Vec::new(),
                facts: vec![("stream".to_string(), why)],
            });
        }
    }

    /// One record.
    pub fn record(&mut self, line: u64, rec: &Record) {
        let kind = rec.kind.as_str();
        {
            let file = self.file();
            file.records += 1;
            bump(&mut file.kinds, kind);
        }
        let Some(stage) = Stage::of_record(rec) else {
            let end = end_marker(line, &rec.data);
            let file = self.file();
            if file.ends.len() < SMALL_CAP {
                file.ends.push(end);
            }
            return;
        };
        *self.file().stages.entry(stage).or_default() += 1;
        note_small(self.sources.entry(stage).or_default(), &rec.source);
        if let Some(t) = &rec.target {
            note_small(self.targets.entry(stage).or_default(), t);
        }
        match stage {
            Stage::Plan | Stage::Results => self.result(stage, rec),
            Stage::Verify => self.verified(rec),
            Stage::Export | Stage::Mapped => self.object(stage, kind, rec),
            Stage::Journal => {}
        }
    }

    fn object(&mut self, stage: Stage, kind: &str, rec: &Record) {
        bump(self.records.entry(stage).or_default(), kind);
        for w in &rec.warnings {
            self.warnings.add((kind.to_string(), pattern(w)), || Item {
                kind: kind.to_string(),
                source: rec.source.clone(),
                id: rec.id.clone(),
                label: record_label(rec),
                cells: vec![w.clone()],
            });
        }
        if stage == Stage::Mapped && OBJECT_KINDS.contains(&kind) {
            self.mapped_keys
                .insert(key_hash(kind, &rec.source, &rec.id));
            if !self
                .mapped_kinds
                .iter()
                .any(|(k, s)| k == kind && *s == rec.source)
            {
                self.mapped_kinds
                    .insert((kind.to_string(), rec.source.clone()));
            }
        }
        let d = &rec.data;
        match kind {
            "user" => self.user(stage, rec),
            "group" => {
                if let Some(g) = self.group_mut(&rec.source, &rec.id) {
                    if g.name.is_none() {
                        g.name = str_at(d, &["profile", "name"])
                            .or_else(|| str_at(d, &["name"]))
                            .map(str::to_string);
                    }
                    if g.group_type.is_none() {
                        g.group_type = str_at(d, &["type"]).map(str::to_string);
                    }
                    g.mapped |= stage == Stage::Mapped;
                }
            }
            "membership" => {
                let group = str_at(d, &["group_id"])
                    .map(str::to_string)
                    .or_else(|| rec.id.split('/').next().map(str::to_string));
                if let Some(gid) = group
                    && let Some(g) = self.group_mut(&rec.source, &gid)
                {
                    match stage {
                        Stage::Export => g.members_export += 1,
                        _ => g.members_mapped += 1,
                    }
                }
            }
            "app" => {
                if let Some(app) = self.app_mut(&rec.source, &rec.id) {
                    if app.label.is_none() {
                        app.label = str_at(d, &["label"])
                            .or_else(|| str_at(d, &["name"]))
                            .map(str::to_string);
                    }
                    match stage {
                        Stage::Export => {
                            app.exported = true;
                            app.mode = str_at(d, &["signOnMode"])
                                .or_else(|| str_at(d, &["sign_on_mode"]))
                                .map(str::to_string)
                                .or_else(|| d.get("auth_method").and_then(onelogin_auth_method))
                                .or(app.mode.take());
                            app.status = str_at(d, &["status"])
                                .map(str::to_string)
                                .or(app.status.take());
                        }
                        _ => {
                            app.mapped = true;
                            app.connector = d.get("connector_id").and_then(scalar);
                        }
                    }
                }
            }
            "app_assignment" => {
                let app_id = str_at(d, &["app_id"])
                    .map(str::to_string)
                    .or_else(|| rec.id.split('/').next().map(str::to_string));
                let to_user = d.get("user_id").is_some() || str_at(d, &["scope"]) == Some("USER");
                if let Some(aid) = app_id
                    && let Some(app) = self.app_mut(&rec.source, &aid)
                {
                    match (stage, to_user) {
                        (Stage::Export, true) => app.to_users += 1,
                        (Stage::Export, false) => app.to_groups += 1,
                        _ => app.assign_mapped += 1,
                    }
                }
            }
            "attribute" => match stage {
                Stage::Export => note_capped(&mut self.attr_defs, &rec.id, ATTRS_CAP),
                _ => {
                    if let Some(short) = str_at(d, &["shortname"])
                        && self.attr_shortnames.len() < ATTRS_CAP
                    {
                        self.attr_shortnames
                            .insert(rec.id.clone(), short.to_string());
                    }
                }
            },
            _ => {}
        }
    }

    fn user(&mut self, stage: Stage, rec: &Record) {
        let d = &rec.data;
        match stage {
            Stage::Export => {
                if let Some(status) = d.get("status").and_then(scalar) {
                    let key = (rec.source.clone(), status);
                    if self.user_status.contains_key(&key) || self.user_status.len() < SMALL_CAP {
                        *self.user_status.entry(key).or_default() += 1;
                    }
                }
                self.coverage_export.users += 1;
                let custom = match rec.source.as_str() {
                    "okta" => d.get("profile"),
                    "stormpath" => d.get("customData"),
                    "onelogin" => d.get("custom_attributes"),
                    _ => None,
                };
                if let Some(Value::Object(fields)) = custom {
                    for (name, value) in fields {
                        let base = match rec.source.as_str() {
                            "okta" => OKTA_BASE_PROFILE.contains(&name.as_str()),
                            // the custom data resource's own metadata
                            "stormpath" => {
                                ["href", "createdAt", "modifiedAt"].contains(&name.as_str())
                            }
                            _ => false,
                        };
                        if base {
                            continue;
                        }
                        self.coverage_export.observe(name, value, ATTRS_CAP);
                    }
                }
            }
            _ => {
                self.coverage_mapped.users += 1;
                let (custom, skip_base) = match rec.target.as_deref() {
                    Some("okta") => (d.get("profile"), true),
                    _ => (d.get("custom_attributes"), false),
                };
                if let Some(Value::Object(fields)) = custom {
                    for (name, value) in fields {
                        if skip_base && OKTA_BASE_PROFILE.contains(&name.as_str()) {
                            continue;
                        }
                        self.coverage_mapped.observe(name, value, ATTRS_CAP);
                    }
                }
            }
        }
    }

    fn result(&mut self, stage: Stage, rec: &Record) {
        let d = &rec.data;
        let of = str_at(d, &["of"]).unwrap_or("unknown").to_string();
        let op = str_at(d, &["op"]).unwrap_or("unknown").to_string();
        let status = str_at(d, &["status"]).unwrap_or("unknown").to_string();
        let failed = status == "failed";
        bump(self.records.entry(stage).or_default(), &of);
        let column = if failed { "failed".into() } else { op.clone() };
        *self
            .outcomes
            .entry((stage, of.clone(), column))
            .or_default() += 1;
        let label = str_at(d, &["label"]).map(str::to_string);
        let target_id = d.get("target_id").and_then(scalar).unwrap_or_default();
        let reason = str_at(d, &["reason"]).map(str::to_string);
        let item = |cells: Vec<String>| Item {
            kind: of.clone(),
            source: rec.source.clone(),
            id: rec.id.clone(),
            label: label.clone(),
            cells,
        };
        if failed {
            let err = d.get("error");
            let http = err
                .and_then(|e| e.get("status"))
                .and_then(scalar)
                .unwrap_or_default();
            let field = err
                .and_then(|e| e.get("field"))
                .and_then(scalar)
                .unwrap_or_default();
            let message = err
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
                .or(reason.as_deref())
                .unwrap_or("(no message)")
                .to_string();
            self.failure_kinds
                .add((stage, of.clone(), http.clone(), pattern(&message)), || {
                    item(vec![op.clone(), field.clone(), message.clone()])
                });
            self.failures.push_with(|| {
                let op = match stage {
                    Stage::Plan => format!("{op} (plan)"),
                    _ => op.clone(),
                };
                let mut error = String::new();
                if !http.is_empty() {
                    error.push_str(&http);
                    error.push(' ');
                }
                if !field.is_empty() {
                    error.push_str(&format!("field `{field}`: "));
                }
                error.push_str(&message);
                item(vec![op, error])
            });
        } else if op == "skip" {
            let why = reason.clone().unwrap_or_else(|| "(no reason given)".into());
            self.skips.add((stage, of.clone(), pattern(&why)), || {
                item(vec![why.clone()])
            });
        }
        if let Some(r) = &reason
            && is_preexisting(r)
        {
            let list = match stage {
                Stage::Plan => &mut self.preexisting_plan,
                _ => &mut self.preexisting,
            };
            list.push_with(|| {
                item(vec![
                    stage.as_str().into(),
                    op.clone(),
                    target_id.clone(),
                    r.clone(),
                ])
            });
        }
        if op == "update"
            && let Some(Value::Object(changes)) = d.get("changes")
        {
            self.updates.push_with(|| {
                item(vec![
                    stage.as_str().into(),
                    status.clone(),
                    changes_text(changes),
                ])
            });
        }
        let summary = outcome_words(&op, &status);
        match of.as_str() {
            "group" if stage == Stage::Results => {
                if let Some(g) = self.group_mut(&rec.source, &rec.id) {
                    g.result = Some(summary);
                }
            }
            "app" => {
                if let Some(app) = self.app_mut(&rec.source, &rec.id) {
                    match stage {
                        Stage::Plan => app.planned = Some(op),
                        _ => app.result = Some((op, status)),
                    }
                }
            }
            "attribute" if self.attr_results.len() < ATTRS_CAP => {
                self.attr_results.insert(rec.id.clone(), summary);
            }
            _ => {}
        }
    }

    fn verified(&mut self, rec: &Record) {
        let d = &rec.data;
        let of = str_at(d, &["of"]).unwrap_or("unknown").to_string();
        let status = str_at(d, &["status"]).unwrap_or("unknown").to_string();
        bump(self.records.entry(Stage::Verify).or_default(), &of);
        *self.verify.entry((of.clone(), status.clone())).or_default() += 1;
        if of == "app"
            && let Some(app) = self.app_mut(&rec.source, &rec.id)
        {
            app.verify = Some(status.clone());
        }
        // not_migrated is an upstream reject, already under "Exported but not mapped"
        if status != "match" && status != "not_migrated" {
            let reason = str_at(d, &["reason"]).unwrap_or_default().to_string();
            let changes = match d.get("changes") {
                Some(Value::Object(c)) => changes_text(c),
                _ => String::new(),
            };
            self.verify_problems.push_with(|| Item {
                kind: of,
                source: rec.source.clone(),
                id: rec.id.clone(),
                label: str_at(d, &["label"]).map(str::to_string),
                cells: vec![status, reason, changes],
            });
        }
    }

    /// One journal event (a JSON object with `ev`).
    pub fn event(&mut self, ev: &Map<String, Value>) {
        let name = ev
            .get("ev")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        {
            let file = self.file();
            file.events += 1;
            *file.stages.entry(Stage::Journal).or_default() += 1;
        }
        if let Some(s) = ev.get("source").and_then(Value::as_str) {
            note_small(self.sources.entry(Stage::Journal).or_default(), s);
        }
        if let Some(t) = ev.get("target").and_then(Value::as_str) {
            note_small(self.targets.entry(Stage::Journal).or_default(), t);
        }
        match name.as_str() {
            "map" | "edge" => {
                let kind = ev
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_string();
                *self.journal_kinds.entry((name.clone(), kind)).or_default() += 1;
            }
            "attr" => {
                let target = ev
                    .get("target")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_string();
                if let Some(short) = ev.get("shortname").and_then(Value::as_str) {
                    note_capped(
                        self.journal_attrs.entry(target).or_default(),
                        short,
                        ATTRS_CAP,
                    );
                }
            }
            "bookmark" => {
                if let (Some(s), Some(at)) = (
                    ev.get("source").and_then(Value::as_str),
                    ev.get("at").and_then(Value::as_str),
                ) && (self.bookmarks.contains_key(s) || self.bookmarks.len() < SMALL_CAP)
                {
                    self.bookmarks.insert(s.to_string(), at.to_string());
                }
            }
            "tenant" | "binding" | "bind" => {
                self.tenant = Some(scalar_fields(ev, &["ev"]));
            }
            _ => {}
        }
        if self.journal.contains_key(&name) || self.journal.len() < SMALL_CAP {
            *self.journal.entry(name).or_default() += 1;
        }
    }

    fn group_mut(&mut self, source: &str, id: &str) -> Option<&mut GroupInfo> {
        set_object_key(&mut self.scratch, source, id);
        entry_capped(
            &mut self.groups,
            &self.scratch,
            GROUPS_CAP,
            &mut self.groups_overflow,
        )
    }

    fn app_mut(&mut self, source: &str, id: &str) -> Option<&mut AppInfo> {
        set_object_key(&mut self.scratch, source, id);
        entry_capped(
            &mut self.apps,
            &self.scratch,
            APPS_CAP,
            &mut self.apps_overflow,
        )
    }

    /// Records of all files, end markers included.
    pub fn total_records(&self) -> u64 {
        self.files.iter().map(|f| f.records).sum()
    }

    pub fn total_events(&self) -> u64 {
        self.files.iter().map(|f| f.events).sum()
    }

    pub fn total_unreadable(&self) -> u64 {
        self.files.iter().map(|f| f.unreadable).sum()
    }

    /// Whether any input had records of `stage`.
    pub fn has(&self, stage: Stage) -> bool {
        self.files.iter().any(|f| f.stages.contains_key(&stage))
    }
}

/// The key of a group or app in [`Scan`]'s maps: source and id, joined by a NUL (which
/// neither contains).
pub fn object_key(source: &str, id: &str) -> String {
    let mut k = String::new();
    set_object_key(&mut k, source, id);
    k
}

fn set_object_key(buf: &mut String, source: &str, id: &str) {
    buf.clear();
    buf.push_str(source);
    buf.push('\0');
    buf.push_str(id);
}

/// (source, id) of an [`object_key`].
pub fn split_object_key(key: &str) -> (&str, &str) {
    key.split_once('\0').unwrap_or(("", key))
}

/// The entry for `key`, created when there is room; counted in `overflow` when not.
fn entry_capped<'a, V: Default>(
    map: &'a mut HashMap<String, V>,
    key: &str,
    cap: usize,
    overflow: &mut u64,
) -> Option<&'a mut V> {
    if !map.contains_key(key) {
        if map.len() >= cap {
            *overflow += 1;
            return None;
        }
        map.insert(key.to_string(), V::default());
    }
    map.get_mut(key)
}

/// Add one to `key`'s count, allocating the key only the first time.
pub fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// Base properties of Okta's user profile: not custom attributes.
pub const OKTA_BASE_PROFILE: [&str; 31] = [
    "login",
    "email",
    "secondEmail",
    "firstName",
    "lastName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
    "title",
    "displayName",
    "nickName",
    "profileUrl",
    "primaryPhone",
    "mobilePhone",
    "streetAddress",
    "city",
    "state",
    "zipCode",
    "postalAddress",
    "countryCode",
    "preferredLanguage",
    "locale",
    "timezone",
    "userType",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "managerId",
    "manager",
];

/// A stable 64-bit hash of an object's key.
pub fn key_hash(kind: &str, source: &str, id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (kind, source, id).hash(&mut h);
    h.finish()
}

/// An outcome in words: `created`, `already there`, `planned: create`, `create failed`.
pub fn outcome_words(op: &str, status: &str) -> String {
    match (op, status) {
        (op, "failed") => format!("{op} failed"),
        (op, "planned") => format!("planned: {op}"),
        ("create", _) => "created".into(),
        ("update", _) => "updated".into(),
        ("assign", _) => "assigned".into(),
        ("provision", _) => "provisioned".into(),
        ("skip", _) => "already there".into(),
        (op, status) => format!("{op} {status}"),
    }
}

/// Whether a reason says the object was in the target before this migration touched it.
pub fn is_preexisting(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("already in the tenant") || r.contains("adopted") || r.contains("already existed")
}

/// A message with its particulars taken out, so messages of one kind count together:
/// values in backticks become `` `…` ``, numbers `N`.
pub fn pattern(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_tick = false;
    let mut last_digit = false;
    for c in message.chars() {
        if c == '`' {
            if in_tick {
                out.push_str("…`");
            } else {
                out.push('`');
            }
            in_tick = !in_tick;
            last_digit = false;
            continue;
        }
        if in_tick {
            continue;
        }
        // a number on its own is a particular (`5 tries`, `id 123`); digits inside a word
        // are part of it (`v2`, `sha256`)
        let in_word = out.chars().last().is_some_and(char::is_alphabetic);
        if c.is_ascii_digit() && (last_digit || !in_word) {
            if !last_digit {
                out.push('N');
            }
            last_digit = true;
            continue;
        }
        last_digit = false;
        out.push(c);
    }
    if in_tick {
        out.push_str("…`");
    }
    out
}

/// A value as the report may show it: masked when its name or the value looks secret, as
/// idm-attrs masks its samples. Names are compared in their normalized (snake case) form.
pub fn shown_value(name: &str, value: &str) -> String {
    let short = crate::map::normalize::normalize_name(name).unwrap_or_else(|| name.to_string());
    crate::attrs::shown_sample(&short, value)
}

/// `field: from → to; …` for a `changes` object, every value through [`shown_value`].
pub fn changes_text(changes: &Map<String, Value>) -> String {
    const MAX_FIELDS: usize = 12;
    let mut parts: Vec<String> = changes
        .iter()
        .take(MAX_FIELDS)
        .map(|(field, change)| {
            let side = |k: &str| match change.get(k) {
                None | Some(Value::Null) => "∅".to_string(),
                Some(Value::String(s)) => shown_value(field, s),
                Some(v) => shown_value(field, &v.to_string()),
            };
            format!("{field}: {} → {}", side("from"), side("to"))
        })
        .collect();
    if changes.len() > MAX_FIELDS {
        parts.push(format!("and {} more fields", changes.len() - MAX_FIELDS));
    }
    parts.join("; ")
}

/// What a person recognises a record by: an email, a login, a name.
pub fn record_label(rec: &Record) -> Option<String> {
    const PATHS: [&[&str]; 10] = [
        &["label"],
        &["profile", "email"],
        &["profile", "login"],
        &["email"],
        &["username"],
        &["login"],
        &["profile", "name"],
        &["name"],
        &["shortname"],
        &["title"],
    ];
    PATHS
        .iter()
        .find_map(|p| str_at(&rec.data, p))
        .map(str::to_string)
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|s| !s.trim().is_empty())
}

/// A OneLogin app's `auth_method` in words (the codes OneLogin documents).
fn onelogin_auth_method(v: &Value) -> Option<String> {
    let name = match v.as_u64()? {
        0 => "Password",
        1 => "OpenId",
        2 => "SAML",
        3 => "API",
        4 => "Google",
        6 => "Forms Based App",
        7 => "WSFED",
        8 => "OpenId Connect",
        n => return Some(format!("auth_method {n}")),
    };
    Some(name.to_string())
}

/// A string, number or boolean as text; `None` for null and containers.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The scalar fields of an object (minus `skip`), each through [`shown_value`].
fn scalar_fields(obj: &Map<String, Value>, skip: &[&str]) -> Vec<(String, String)> {
    obj.iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .filter_map(|(k, v)| scalar(v).map(|s| (k.clone(), shown_value(k, &s))))
        .take(SMALL_CAP)
        .collect()
}

fn end_marker(line: u64, data: &Value) -> EndMarker {
    let mut end = EndMarker {
        line,
        ..EndMarker::default()
    };
    let Some(obj) = data.as_object() else {
        return end;
    };
    end.complete = obj.get("complete").and_then(Value::as_bool);
    if let Some(Value::Object(counts)) = obj.get("counts") {
        for (k, v) in counts {
            match v {
                Value::Number(n) => end.counts.extend(n.as_u64().map(|n| (k.clone(), n))),
                Value::Object(inner) => {
                    for (k2, v2) in inner {
                        if let Some(n) = v2.as_u64() {
                            end.counts.push((format!("{k}.{k2}"), n));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    end.facts = scalar_fields(obj, &["complete"]);
    end
}

fn note_small(set: &mut BTreeSet<String>, value: &str) {
    note_capped(set, value, 20);
}

fn note_capped(set: &mut BTreeSet<String>, value: &str, cap: usize) {
    if set.len() < cap && !set.contains(value) {
        set.insert(value.to_string());
    }
}
