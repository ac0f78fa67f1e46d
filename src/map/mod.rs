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
mod fast;
pub mod index;
pub mod normalize;
mod pipeline;
pub mod rules;
pub mod shape;
pub mod source;
pub mod suggest;
pub mod target;

use std::collections::{BTreeMap, HashSet};
use std::io::{self, BufRead, Write};

use crate::record::{Kind, Record};

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
pub use pipeline::run;
pub use rules::Rules;
pub use shape::{Shaped, Shaper};
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

/// The streaming mapper: feed it records in input order. It shapes each record with its own
/// [`Shaper`] ([`Mapper::map`]), or settles records shaped by worker threads ([`run`]).
pub struct Mapper {
    shaper: Shaper,
    emails: index::EmailIndex,
    /// complex source field (its path: `profile.address`) → users it was excluded from
    excluded: BTreeMap<String, u64>,
    /// Built-in groups left out, by [`object_key`].
    skipped_groups: HashSet<u64>,
    skipped_edges: u64,
    /// Users, groups and apps this run rejected: their edges are dropped here, with the
    /// reason said once, rather than failing in idm-load. Kept as 64-bit hashes of kind and
    /// id ([`rejected_key`]): a tenth of the memory of the strings when many are rejected.
    rejected: HashSet<u64>,
    rejected_edges: u64,
    /// How many users, groups and apps an earlier run rejected ([`Mapper::rejected_before`]).
    rejected_before: u64,
    shared_prefixes: u64,
    /// Users whose source password the target cannot take.
    passwords_dropped: u64,
    explained: bool,
}

/// A user, group or app as a key of [`Mapper::rejected`] and [`Mapper::skipped_groups`]: a
/// hash that is the same in every run
/// (a mapped object's id colliding with a rejected one's in 64 bits has odds of about one in
/// ten million even with a million of each; it would drop that object's edges, counted with
/// the others).
pub(super) fn object_key(kind: &Kind, id: &str) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    kind.as_str().hash(&mut h);
    id.hash(&mut h);
    h.finish()
}

/// What became of a shaped record once the records before it had their say.
#[derive(Debug)]
pub enum Settled {
    /// Write this line (without its newline).
    Write(Vec<u8>),
    /// Write the input line unchanged.
    Passed,
    Skipped(String),
    Rejected(String),
}

impl Mapper {
    pub fn new(opts: Options) -> Mapper {
        Mapper {
            shaper: Shaper::new(opts),
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

    /// A shaper for another thread, with this mapper's options.
    pub fn shaper(&self) -> Shaper {
        Shaper::new(self.shaper.opts.clone())
    }

    /// A user, group or app an earlier run rejected (a cut-over's delta names the edges of
    /// people the full migration rejected, without the people): its edges are dropped as if
    /// it had been rejected in this run, unless this run maps it.
    pub fn rejected_before(&mut self, kind: Kind, id: &str) {
        if matches!(kind, Kind::User | Kind::Group | Kind::App)
            && self.rejected.insert(object_key(&kind, id))
        {
            self.rejected_before += 1;
        }
    }

    /// Map one record.
    pub fn map(&mut self, rec: Record) -> Disposition {
        let shaped = self.shaper.shape(rec);
        self.dispose(shaped)
    }

    /// Map one record, tracing where its fields came from into `trace`.
    #[cfg(test)]
    pub(crate) fn map_traced(&mut self, rec: Record, trace: &mut Trace) -> Disposition {
        let mut shaped = self.shaper.shape_with(rec, Trace::on());
        if let Some(t) = shaped.trace.take() {
            *trace = t;
        }
        self.dispose(shaped)
    }

    /// Settle one shaped record and say what became of it as a record.
    fn dispose(&mut self, mut shaped: Shaped) -> Disposition {
        match self.settle(&mut shaped) {
            Settled::Write(line) => Disposition::Mapped(
                serde_json::from_slice(&line).expect("a line the mapper wrote is a record"),
            ),
            Settled::Passed => Disposition::Passed,
            Settled::Skipped(reason) => Disposition::Skipped(reason),
            Settled::Rejected(reason) => Disposition::Rejected(reason),
        }
    }

    /// Settle a shaped record, in input order: the email index, the objects whose edges go,
    /// the counts; and `--explain`.
    pub fn settle(&mut self, shaped: &mut Shaped) -> Settled {
        let outcome = std::mem::replace(&mut shaped.outcome, shape::Outcome::Passed);
        let settled = match outcome {
            shape::Outcome::Passed => Settled::Passed,
            shape::Outcome::Rejected(reason) => Settled::Rejected(reason),
            shape::Outcome::Skipped(reason) => Settled::Skipped(reason),
            shape::Outcome::BuiltIn(reason) => {
                self.skipped_groups
                    .insert(object_key(&Kind::Group, &shaped.id));
                Settled::Skipped(reason)
            }
            shape::Outcome::Mapped {
                line,
                has_warnings,
                user,
                edge,
            } => match (user, edge) {
                (Some(facts), _) => self.settle_user(shaped, line, has_warnings, facts),
                (None, Some(ends)) if self.edge_goes(&ends) => Settled::Skipped(String::new()),
                _ => Settled::Write(line),
            },
        };
        if matches!(shaped.kind, Kind::User | Kind::Group | Kind::App) {
            match &settled {
                Settled::Rejected(_) => {
                    self.rejected.insert(object_key(&shaped.kind, &shaped.id));
                }
                // rejected by an earlier run and mapped now (fixed at the source since)
                _ if self.rejected_before > 0 => {
                    self.rejected.remove(&object_key(&shaped.kind, &shaped.id));
                }
                _ => {}
            }
        }
        if let Some(trace) = &shaped.trace {
            self.explained = true;
            explain(&shaped.label(), &shaped.kind, &settled, trace);
        }
        settled
    }

    fn settle_user(
        &mut self,
        shaped: &Shaped,
        mut line: Vec<u8>,
        has_warnings: bool,
        facts: shape::UserFacts,
    ) -> Settled {
        if let Some((what, key)) = &facts.key {
            match self.emails.insert(key, &shaped.id) {
                index::Seen::Duplicate { first } => {
                    // the address itself stays out of the message: it reaches stderr, and the
                    // line number and both ids name the two people
                    return Settled::Rejected(format!(
                        "the same {what} is already used by {}:{first} ({} {what}s are unique)",
                        shaped.source,
                        self.shaper.target.name()
                    ));
                }
                index::Seen::New {
                    shares_prefix_with: Some(other),
                } => {
                    self.shared_prefixes += 1;
                    let prefix = key.split('@').next().unwrap_or(key);
                    shape::add_warning(
                        &mut line,
                        has_warnings,
                        &format!(
                            "{what} prefix `{prefix}` is shared with {}:{other}: users signing in with the prefix alone will collide",
                            shaped.source
                        ),
                    );
                }
                index::Seen::New { .. } => {}
            }
        }
        for name in facts.excluded {
            *self.excluded.entry(name).or_insert(0) += 1;
        }
        self.passwords_dropped += u64::from(facts.password_dropped);
        Settled::Write(line)
    }

    /// Whether a membership or app assignment goes with a skipped group or a user, group or
    /// app rejected here or before (counted).
    fn edge_goes(&mut self, ends: &shape::EdgeEnds) -> bool {
        if let Some(g) = ends.group
            && self.skipped_groups.contains(&g)
        {
            self.skipped_edges += 1;
            return true;
        }
        if !self.rejected.is_empty() {
            for key in [ends.group, ends.user, ends.app].into_iter().flatten() {
                if self.rejected.contains(&key) {
                    self.rejected_edges += 1;
                    return true;
                }
            }
        }
        false
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
                self.shaper.target.name(),
            ));
        }
        if let Some(id) = &self.shaper.opts.explain
            && !self.explained
        {
            notes.push(format!("--explain `{id}`: no record with that id"));
        }
        notes
    }
}

/// Print where every field of one record came from, to stderr.
fn explain(label: &str, kind: &Kind, settled: &Settled, trace: &Trace) {
    let tool = crate::cli::tool();
    let mut err = io::stderr().lock();
    let state = match settled {
        Settled::Write(_) => "mapped".to_string(),
        Settled::Passed => "passed through unchanged".to_string(),
        Settled::Skipped(r) => format!("skipped: {r}"),
        Settled::Rejected(r) => format!("rejected: {r}"),
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
    if let Settled::Write(line) = settled
        && let Ok(rec) = serde_json::from_slice::<Record>(line)
    {
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

#[cfg(test)]
mod tests;
