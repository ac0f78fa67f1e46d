//! idm-map: exported records in, target API payloads out, one record at a time.
//!
//! Each record goes source adapter → canonical model → target adapter:
//!
//! ```text
//! source record ──source::SourceAdapter──▶ canonical::Identity ──target::TargetAdapter──▶ payload
//! ```
//!
//! so a new source (Stormpath, CSV, OneLogin) or target (Okta) is one adapter, not one per
//! pair. Around that core, [`Mapper`] does what needs more than one record: the duplicate-email
//! and shared-prefix [`index`], the per-field count of excluded complex values, and the ids of
//! skipped groups (so their memberships are skipped too). It never holds more than one user.
//!
//! Every input record is accounted for: mapped (written with `target` set), passed through
//! (unknown kinds, `result` records, records already mapped, written byte for byte), skipped
//! with a reason on stderr (`Everyone` and its edges), or rejected with a reason (stderr and
//! `--rejects`). See docs/map.md for the rules and where they differ from the reference.

pub mod canonical;
pub mod connectors;
pub mod index;
pub mod normalize;
pub mod rules;
pub mod source;
pub mod suggest;
pub mod target;

use std::collections::{BTreeMap, HashSet};
use std::io::{self, BufRead, Write};

use serde_json::{Map, Value};

use crate::record::schema::Schemas;
use crate::record::{Kind, Record, RecordReader, RecordWriter, Rejects};

pub use connectors::Connectors;

/// A configuration file of idm-map (`--mapping`, `--connectors`) that cannot be used, naming
/// the file and what is wrong in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error("{what} `{path}`: {reason}")]
    Invalid {
        what: &'static str,
        path: String,
        reason: String,
    },
}
pub use rules::Rules;
pub use source::SourceOptions;
pub use target::{Complex, TargetAdapter};

/// The systems idm-map can write payloads for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Onelogin,
    Okta,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Onelogin => "onelogin",
            Target::Okta => "okta",
        }
    }

    /// Its payload adapter.
    pub fn adapter(self) -> Box<dyn TargetAdapter> {
        self.adapter_with(None)
    }

    /// Its payload adapter, with the domain that makes logins email addresses.
    pub fn adapter_with(self, login_domain: Option<&str>) -> Box<dyn TargetAdapter> {
        target::adapter(self.as_str(), login_domain).expect("every target has an adapter")
    }
}

/// Everything that shapes a mapping run, checked before the first record.
#[derive(Debug, Clone)]
pub struct Options {
    pub target: Target,
    pub complex: Complex,
    pub email_domain: Option<String>,
    pub include_everyone: bool,
    pub rules: Rules,
    pub connectors: Connectors,
    /// Print, for the record with this id, where every target field came from.
    pub explain: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            target: Target::Onelogin,
            complex: Complex::Exclude,
            email_domain: None,
            include_everyone: false,
            rules: Rules::default(),
            connectors: Connectors::default(),
            explain: None,
        }
    }
}

/// Provenance of target fields, collected only for the record `--explain` asked about.
#[derive(Debug, Default)]
pub struct Trace {
    lines: Option<Vec<(String, String)>>,
}

impl Trace {
    /// A trace that records nothing (the common case: costs one branch per field).
    pub fn off() -> Trace {
        Trace { lines: None }
    }

    pub fn on() -> Trace {
        Trace {
            lines: Some(Vec::new()),
        }
    }

    /// True when this trace records (callers skip building field names otherwise).
    pub fn enabled(&self) -> bool {
        self.lines.is_some()
    }

    /// Note that target `field` came from `from()` (only evaluated when tracing).
    pub fn note(&mut self, field: &str, from: impl FnOnce() -> String) {
        if let Some(lines) = &mut self.lines {
            match lines.iter_mut().find(|(f, _)| f == field) {
                Some(line) => line.1 = from(),
                None => lines.push((field.to_string(), from())),
            }
        }
    }

    /// The traced lines, in the order fields were first written.
    pub fn lines(&self) -> &[(String, String)] {
        self.lines.as_deref().unwrap_or(&[])
    }
}

/// What happened to one input record.
#[derive(Debug)]
pub enum Disposition {
    /// Mapped: write this record.
    Mapped(Record),
    /// Not for idm-map: write the input line unchanged.
    Passed,
    /// Deliberately not migrated; the reason goes to stderr.
    Skipped(String),
    /// Cannot be migrated as it is; the reason goes to stderr and the line to `--rejects`.
    Rejected(String),
}

/// Counts of a finished run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub mapped: u64,
    pub passed: u64,
    pub skipped: u64,
    pub rejected: u64,
    /// Rejected because they were not records at all (bad JSON, bad envelope).
    pub unreadable: u64,
}

/// The streaming mapper: feed it records in input order.
pub struct Mapper {
    opts: Options,
    source_opts: SourceOptions,
    target: Box<dyn TargetAdapter>,
    emails: index::EmailIndex,
    /// complex source field (its path: `profile.address`) → users it was excluded from
    excluded: BTreeMap<String, u64>,
    skipped_groups: HashSet<String>,
    skipped_edges: u64,
    /// Users, groups and apps this run rejected: their edges are dropped here, with the
    /// reason said once, rather than failing in idm-load.
    rejected: HashSet<(Kind, String)>,
    rejected_edges: u64,
    /// How many users, groups and apps an earlier run rejected ([`Mapper::rejected_before`]).
    rejected_before: u64,
    shared_prefixes: u64,
    /// Users whose source password the target cannot take.
    passwords_dropped: u64,
    explained: bool,
}

impl Mapper {
    pub fn new(opts: Options) -> Mapper {
        Mapper {
            source_opts: SourceOptions {
                email_domain: opts.email_domain.clone(),
            },
            target: opts.target.adapter_with(opts.email_domain.as_deref()),
            opts,
            emails: index::EmailIndex::default(),
            excluded: BTreeMap::new(),
            skipped_groups: HashSet::new(),
            skipped_edges: 0,
            rejected: HashSet::new(),
            rejected_edges: 0,
            rejected_before: 0,
            shared_prefixes: 0,
            passwords_dropped: 0,
            explained: false,
        }
    }

    /// A user, group or app an earlier run rejected (a cut-over's delta names the edges of
    /// people the full migration rejected, without the people): its edges are dropped as if
    /// it had been rejected in this run, unless this run maps it.
    pub fn rejected_before(&mut self, kind: Kind, id: &str) {
        if matches!(kind, Kind::User | Kind::Group | Kind::App)
            && self.rejected.insert((kind, id.to_string()))
        {
            self.rejected_before += 1;
        }
    }

    /// Map one record.
    pub fn map(&mut self, rec: Record) -> Disposition {
        let mut trace = if self.opts.explain.as_deref() == Some(rec.id.as_str()) {
            Trace::on()
        } else {
            Trace::off()
        };
        let label = rec.label();
        let kind = rec.kind.clone();
        let id = matches!(kind, Kind::User | Kind::Group | Kind::App).then(|| rec.id.clone());
        let mut outcome = self.map_traced(rec, &mut trace);
        // every record written is checked against the target's payload schema
        if let Disposition::Mapped(rec) = &outcome
            && let Err(e) = Schemas::get().validate_record(rec)
        {
            outcome = Disposition::Rejected(format!("mapped {} is invalid: {e}", rec.kind));
        }
        match (id, &outcome) {
            (Some(id), Disposition::Rejected(_)) => {
                self.rejected.insert((kind.clone(), id));
            }
            // rejected by an earlier run and mapped now (fixed at the source since)
            (Some(id), _) if self.rejected_before > 0 => {
                self.rejected.remove(&(kind.clone(), id));
            }
            _ => {}
        }
        if trace.lines.is_some() {
            self.explained = true;
            explain(&label, &kind, &outcome, &trace);
        }
        outcome
    }

    fn map_traced(&mut self, rec: Record, trace: &mut Trace) -> Disposition {
        if rec.target.is_some() {
            return Disposition::Passed;
        }
        let known = matches!(
            rec.kind,
            Kind::User
                | Kind::Group
                | Kind::App
                | Kind::Attribute
                | Kind::Membership
                | Kind::AppAssignment
        );
        if !known {
            return Disposition::Passed;
        }
        let Some(src) = source::adapter(&rec.source) else {
            return Disposition::Rejected(format!(
                "no source adapter for `{}` (idm-map reads {})",
                rec.source,
                source::NAMES
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        // what we read is checked too: an export that is not what the source returns is
        // refused with the field named, rather than mapped on guesses
        if let Err(e) = Schemas::get().validate_record(&rec) {
            let article = if rec.source.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            return Disposition::Rejected(format!(
                "not {article} {} {} export: {e}",
                rec.source, rec.kind
            ));
        }
        let result = match rec.kind {
            Kind::User => self.user(src, rec, trace),
            Kind::Group => self.group(src, rec, trace),
            Kind::App => self.app(src, rec, trace),
            Kind::Attribute => self.attribute(src, rec, trace),
            _ => self.edge(rec),
        };
        match result {
            Ok(outcome) => outcome,
            Err(reason) => Disposition::Rejected(reason),
        }
    }

    fn finish_record(
        &self,
        mut rec: Record,
        data: Map<String, Value>,
        warnings: Vec<String>,
    ) -> Record {
        rec.data = Value::Object(data);
        rec.target = Some(self.opts.target.as_str().to_string());
        rec.warnings.extend(warnings);
        rec
    }

    fn user(
        &mut self,
        src: &dyn source::SourceAdapter,
        rec: Record,
        trace: &mut Trace,
    ) -> Result<Disposition, String> {
        let out = {
            let mut who = src.identity(&rec.id, &rec.data, &self.source_opts)?;
            let cx = target::UserContext {
                complex: self.opts.complex,
                custom_rules: &self.opts.rules.custom,
            };
            let mut out = self.target.user(&mut who, &cx, trace)?;
            self.opts
                .rules
                .apply_to_user(&mut out.payload, &rec.data, trace);
            self.target.finish_user(&mut out.payload)?;
            out
        };
        let target::UserOut {
            payload,
            mut warnings,
            excluded,
            password_dropped,
        } = out;
        if let Some((what, key)) = self.target.unique_key(&payload) {
            match self.emails.insert(key, &rec.id) {
                index::Seen::Duplicate { first } => {
                    // the address itself stays out of the message: it reaches stderr, and the
                    // line number and both ids name the two people
                    return Err(format!(
                        "the same {what} is already used by {}:{first} ({} {what}s are unique)",
                        rec.source,
                        self.target.name()
                    ));
                }
                index::Seen::New {
                    shares_prefix_with: Some(other),
                } => {
                    self.shared_prefixes += 1;
                    let prefix = key.split('@').next().unwrap_or(key);
                    warnings.push(format!(
                        "{what} prefix `{prefix}` is shared with {}:{other}: users signing in with the prefix alone will collide",
                        rec.source
                    ));
                }
                index::Seen::New { .. } => {}
            }
        }
        for name in excluded {
            *self.excluded.entry(name).or_insert(0) += 1;
        }
        self.passwords_dropped += u64::from(password_dropped);
        Ok(Disposition::Mapped(
            self.finish_record(rec, payload, warnings),
        ))
    }

    fn group(
        &mut self,
        src: &dyn source::SourceAdapter,
        rec: Record,
        trace: &mut Trace,
    ) -> Result<Disposition, String> {
        let payload = {
            let group = src.group(&rec.id, &rec.data);
            if group.built_in && !self.opts.include_everyone {
                self.skipped_groups.insert(rec.id.clone());
                let name = group.name.as_ref().map_or("Everyone", |n| &n.value);
                return Ok(Disposition::Skipped(format!(
                    "skipped BUILT_IN group `{name}` and its memberships (use --include-everyone to migrate it as a role)"
                )));
            }
            self.target.group(&group, trace)?
        };
        Ok(Disposition::Mapped(self.finish_record(
            rec,
            payload,
            Vec::new(),
        )))
    }

    fn app(
        &mut self,
        src: &dyn source::SourceAdapter,
        rec: Record,
        trace: &mut Trace,
    ) -> Result<Disposition, String> {
        let (payload, warnings) = {
            let (app, mut warnings) = src.app(&rec.id, &rec.data);
            let (payload, more) = self.target.app(&app, &self.opts.connectors, trace)?;
            warnings.extend(more);
            (payload, warnings)
        };
        Ok(Disposition::Mapped(
            self.finish_record(rec, payload, warnings),
        ))
    }

    fn attribute(
        &mut self,
        src: &dyn source::SourceAdapter,
        rec: Record,
        trace: &mut Trace,
    ) -> Result<Disposition, String> {
        let payload = {
            let def = src.attribute(&rec.id, &rec.data);
            let name = match self.opts.rules.custom.get(def.name) {
                Some(rules::CustomRule::Drop) => {
                    return Ok(Disposition::Skipped(format!(
                        "custom attribute `{}` dropped by --mapping",
                        def.name
                    )));
                }
                Some(rules::CustomRule::Rename(to)) => {
                    trace.note("shortname", || "--mapping custom_attributes rename".into());
                    to.clone()
                }
                None => {
                    trace.note("shortname", || format!("id `{}` normalized", def.name));
                    self.target.attribute_name(def.name).ok_or_else(|| {
                        format!("attribute name `{}` gives no usable shortname", def.name)
                    })?
                }
            };
            if src.is_consumed_key(def.name) && !self.target.is_named_attribute(&name) {
                return Ok(Disposition::Skipped(format!(
                    "custom attribute `{}` feeds a standard field, not a custom attribute",
                    def.name
                )));
            }
            match self.target.attribute(name, &def, self.opts.complex, trace) {
                target::AttributeOut::Payload(p) => p,
                target::AttributeOut::Skipped(reason) => return Ok(Disposition::Skipped(reason)),
            }
        };
        Ok(Disposition::Mapped(self.finish_record(
            rec,
            payload,
            Vec::new(),
        )))
    }

    /// Memberships and app assignments pass through with `target` set (idm-load resolves their
    /// ids), except those of skipped groups and of users, groups and apps rejected here.
    fn edge(&mut self, mut rec: Record) -> Result<Disposition, String> {
        if let Some(g) = rec.data.get("group_id").and_then(Value::as_str)
            && self.skipped_groups.contains(g)
        {
            self.skipped_edges += 1;
            return Ok(Disposition::Skipped(String::new()));
        }
        if !self.rejected.is_empty() {
            for (key, kind) in [
                ("group_id", Kind::Group),
                ("user_id", Kind::User),
                ("app_id", Kind::App),
            ] {
                if let Some(id) = rec.data.get(key).and_then(Value::as_str)
                    && self.rejected.contains(&(kind, id.to_string()))
                {
                    self.rejected_edges += 1;
                    return Ok(Disposition::Skipped(String::new()));
                }
            }
        }
        let Value::Object(data) = std::mem::take(&mut rec.data) else {
            return Err("field `data` is not an object".into());
        };
        Ok(Disposition::Mapped(self.finish_record(
            rec,
            data,
            Vec::new(),
        )))
    }

    /// Things to tell a person at the end of the run (one line each).
    pub fn closing_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for (field, count) in &self.excluded {
            notes.push(format!(
                "excluded complex field `{field}` from {count} user{} (use --complex flatten or stringify to keep it)",
                if *count == 1 { "" } else { "s" }
            ));
        }
        if self.skipped_edges > 0 {
            notes.push(format!(
                "skipped {} membership{} or app assignment{} of skipped groups",
                self.skipped_edges,
                if self.skipped_edges == 1 { "" } else { "s" },
                if self.skipped_edges == 1 { "" } else { "s" },
            ));
        }
        if self.rejected_edges > 0 {
            notes.push(format!(
                "skipped {} membership{} or app assignment{} of users, groups or apps rejected above or by an earlier run (they would only fail in idm-load)",
                self.rejected_edges,
                if self.rejected_edges == 1 { "" } else { "s" },
                if self.rejected_edges == 1 { "" } else { "s" },
            ));
        }
        if self.shared_prefixes > 0 {
            notes.push(format!(
                "{} user{} an email prefix with an earlier user (see their warnings)",
                self.shared_prefixes,
                if self.shared_prefixes == 1 {
                    " shares"
                } else {
                    "s share"
                }
            ));
        }
        if self.passwords_dropped > 0 {
            notes.push(format!(
                "{} a password hash {} cannot take: they will set a password (see their warnings)",
                if self.passwords_dropped == 1 {
                    "1 user has".to_string()
                } else {
                    format!("{} users have", self.passwords_dropped)
                },
                self.target.name(),
            ));
        }
        if let Some(id) = &self.opts.explain
            && !self.explained
        {
            notes.push(format!("--explain `{id}`: no record with that id"));
        }
        notes
    }
}

/// Print where every field of one record came from, to stderr.
fn explain(label: &str, kind: &Kind, outcome: &Disposition, trace: &Trace) {
    let tool = crate::cli::tool();
    let mut err = io::stderr().lock();
    let state = match outcome {
        Disposition::Mapped(_) => "mapped".to_string(),
        Disposition::Passed => "passed through unchanged".to_string(),
        Disposition::Skipped(r) => format!("skipped: {r}"),
        Disposition::Rejected(r) => format!("rejected: {r}"),
    };
    let _ = writeln!(err, "{tool}: explain {kind} {label} ({state})");
    let width = trace
        .lines()
        .iter()
        .map(|(f, _)| f.len())
        .max()
        .unwrap_or(0);
    for (field, from) in trace.lines() {
        let _ = writeln!(err, "  {field:<width$}  <- {from}");
    }
    if let Disposition::Mapped(rec) = outcome {
        for w in &rec.warnings {
            let _ = writeln!(err, "  warning: {w}");
        }
    }
}

/// Tell a person something on stderr as `idm-map: message`, unless `-q` silenced warnings.
pub fn note(message: &str) {
    if tracing::enabled!(tracing::Level::WARN) {
        crate::cli::say(message);
    }
}

impl Summary {
    /// The run's summary line, counts by outcome:
    /// `mapped 2,650 records (30 passed through, 10 skipped, 10 rejected, 0 unreadable lines)`.
    pub fn line(&self) -> String {
        use crate::cli::status::count;
        format!(
            "mapped {} record{} ({} passed through, {} skipped, {} rejected, {} unreadable line{})",
            count(self.mapped),
            if self.mapped == 1 { "" } else { "s" },
            count(self.passed),
            count(self.skipped),
            count(self.rejected),
            count(self.unreadable),
            if self.unreadable == 1 { "" } else { "s" },
        )
    }
}

/// Read the rejects file of an earlier run into `mapper` ([`Mapper::rejected_before`]): every
/// line that names a user, group or app. Lines that were rejected for not being records at
/// all name nothing and are passed over. Returns how many records it named.
pub fn read_rejected(path: &std::path::Path, mapper: &mut Mapper) -> Result<u64, ConfigError> {
    let read_err = |e: io::Error| ConfigError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut named = 0;
    for line in io::BufReader::new(file).lines() {
        let line = line.map_err(read_err)?;
        #[derive(serde::Deserialize)]
        struct Named {
            kind: Kind,
            id: String,
        }
        if let Ok(Named { kind, id }) = serde_json::from_str::<Named>(&line) {
            mapper.rejected_before(kind, &id);
            named += 1;
        }
    }
    Ok(named)
}

/// Map a whole stream: read records, write mapped ones, report the rest. The output is flushed
/// by the caller ([`RecordWriter::finish`]), the rejects file too ([`Rejects::finish`]).
pub fn run<R: BufRead>(
    mapper: &mut Mapper,
    reader: &mut RecordReader<R>,
    writer: &mut RecordWriter,
    rejects: &mut Rejects,
    progress: &crate::cli::Progress,
) -> io::Result<Summary> {
    let mut summary = Summary::default();
    let before = rejects.count();
    while let Some(entry) = reader.next_good(rejects)? {
        // a marked input makes a marked output (see crate::record::stream)
        if reader.is_marked() {
            writer.mark(crate::cli::tool())?;
        }
        progress.inc(1);
        let label = entry.record.label();
        match mapper.map(entry.record) {
            Disposition::Mapped(rec) => {
                writer.write(&rec)?;
                summary.mapped += 1;
            }
            Disposition::Passed => {
                writer.write_raw(reader.raw())?;
                summary.passed += 1;
            }
            Disposition::Skipped(reason) => {
                summary.skipped += 1;
                if !reason.is_empty() {
                    note(&format!("line {} ({label}): {reason}", entry.line));
                }
            }
            Disposition::Rejected(reason) => {
                summary.rejected += 1;
                rejects.reject(entry.line, Some(&label), reader.raw(), &reason)?;
            }
        }
    }
    if reader.is_marked() {
        writer.mark(crate::cli::tool())?;
    }
    summary.unreadable = rejects.count() - before - summary.rejected;
    Ok(summary)
}

#[cfg(test)]
mod tests;
