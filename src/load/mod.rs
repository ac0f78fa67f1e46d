//! idm-load: plan, then idempotently and resumably load mapped records into a target.
//!
//! This is the engine; a target (OneLogin, Okta) is a [`Target`] it drives. The shape of a run:
//!
//! 1. **Spool** ([`spool`]): every input record is checked and written to a temporary file
//!    of its phase, so input order does not matter and memory stays flat.
//! 2. **Snapshot**: the target reads its tenant in bulk (paged lists, never one lookup per
//!    user) into indexes of ids ([`Target::read`]).
//! 3. **Preflight** ([`preflight`]): with `--apply`, what the plan can already tell will fail
//!    (records not mapped for this target, custom attributes the tenant lacks, edges whose ends
//!    are nowhere, accounts that belong to someone else) stops the run before the first write,
//!    unless `--force`.
//! 4. **Phases**, in the order every target needs: groups, users, memberships, apps, app
//!    assignments. Objects ([`objects`]) are decided against the journal and the snapshot:
//!    `create`, `update` (what this migration created, when the payload changed; anything
//!    else only with `--update-existing`) or `skip`. Edges ([`edges`]) are resolved through
//!    this run and the journal and written in the largest batches the target takes. Without
//!    `--apply` the decisions are printed as `planned` results and no write is sent; with it N
//!    workers carry them out, sharing one HTTP client (one quota) and one token.
//!
//! Why it is safe to kill and re-run:
//! - A create's id mapping goes into the journal the moment its response arrives, before its
//!   result is printed. A create whose response was lost is looked up before it is sent again
//!   (by the target).
//! - An object created by a run that died before journaling it is found in the snapshot
//!   (same email, same name) and adopted, not created twice.
//! - Edges are journaled with the target ids they were made between: an edge whose end was
//!   re-created, or that the tenant no longer has, is made again.
//! - One writer owns a journal's apply at a time ([`crate::journal::Journal::own`]).
//!
//! One bad record never stops the run: a 4xx becomes a `failed` result with the API's status,
//! field and message. Only what makes every further call pointless (the API unreachable,
//! credentials refused) is fatal.

pub mod edges;
pub mod objects;
pub mod pool;
pub mod sort;
pub mod spool;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;

use crate::http::Rate;
use crate::journal::{Event, Journal, State};
use crate::provider::ApiError;
use crate::provider::target::{Needs, Target};
use crate::record::result::{Op, Outcome, Status};
use crate::record::{Kind, RecordReader, RecordWriter, Rejects};
use spool::{Only, Phase, Spool};

/// A run that needs more than this at the configured quota gets a pointer to idm-csv.
const MANY_HOURS: Duration = Duration::from_secs(2 * 3600);

/// What a run does.
#[derive(Debug, Clone)]
pub struct Options {
    /// Carry the plan out (else print it).
    pub apply: bool,
    /// Write what can be written although the preflight found predictable failures.
    pub force: bool,
    /// Load an input whose stream markers say it was cut short.
    pub allow_incomplete: bool,
    /// Worker threads for creates and updates.
    pub workers: usize,
    /// Update objects that were in the tenant before the migration (the migration's own are
    /// always updated when their payload changed).
    pub update_existing: bool,
    /// Delete same-named groups that idm did not create and create them anew.
    pub cleanup_groups: bool,
    /// `--retry-from`: only these `(kind, source, id)`.
    pub only: Only,
    /// The quota, for the time estimate.
    pub rate: Option<Rate>,
    /// Percentage of the quota idm may use.
    pub max_capacity_pct: u8,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            apply: false,
            force: false,
            allow_incomplete: false,
            workers: 4,
            update_existing: false,
            cleanup_groups: false,
            only: None,
            rate: None,
            max_capacity_pct: 100,
        }
    }
}

/// Counts of a run, for the summary and the exit code.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// (kind, op, status) → count.
    pub counts: BTreeMap<(String, Op, Status), u64>,
    /// Write calls the plan needs (plan) or that remained to do (apply).
    pub planned_writes: u64,
    /// Records rejected on input.
    pub rejected: u64,
    /// API calls made by this run.
    pub calls: u64,
    /// The quota of the time estimate: `--rate-limit`, else what the server said.
    pub rate: Option<Rate>,
    /// Things a person should read, one line each.
    pub warnings: Vec<String>,
    /// Objects that need a person's decision (pre-existing accounts an update would only
    /// touch with `--update-existing`), by label.
    pub decisions: Vec<String>,
}

impl Summary {
    /// Failed results.
    pub fn failed(&self) -> u64 {
        self.counts
            .iter()
            .filter(|((_, _, s), _)| *s == Status::Failed)
            .map(|(_, n)| n)
            .sum()
    }

    /// One line per kind: `user: 10 create, 2 skip, 1 create failed`.
    pub fn lines(&self) -> Vec<String> {
        let mut by_kind: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for ((kind, op, status), n) in &self.counts {
            let what = match status {
                Status::Failed => format!("{n} {} failed", op.as_str()),
                _ => format!("{n} {}", op.as_str()),
            };
            by_kind.entry(kind).or_default().push(what);
        }
        by_kind
            .into_iter()
            .map(|(k, v)| format!("{k}: {}", v.join(", ")))
            .collect()
    }
}

/// The stderr report of a run: counts per kind, warnings, and (for a plan) the estimate of
/// calls and time at the configured quota, with a pointer to idm-csv when that is long.
pub fn report(summary: &Summary, opts: &Options) -> Vec<String> {
    let mut lines = Vec::new();
    let mode = if opts.apply { "loaded" } else { "plan" };
    if summary.counts.is_empty() {
        lines.push(format!("{mode}: nothing to do"));
    }
    for l in summary.lines() {
        lines.push(format!("{mode}: {l}"));
    }
    if summary.rejected > 0 {
        lines.push(format!("{} input records rejected", summary.rejected));
    }
    lines.extend(summary.warnings.iter().cloned());
    if !summary.decisions.is_empty() {
        let shown: Vec<&str> = summary
            .decisions
            .iter()
            .take(10)
            .map(String::as_str)
            .collect();
        lines.push(format!(
            "{} objects were in the tenant before the migration and differ from the source; they change only with `--update-existing`: {}{}",
            summary.decisions.len(),
            shown.join(", "),
            if summary.decisions.len() > 10 { ", …" } else { "" }
        ));
    }
    if opts.apply {
        lines.push(format!("API calls used: {}", summary.calls));
    } else {
        let total = summary.planned_writes;
        let mut line = format!(
            "estimate: {total} write calls (the plan read the tenant with {} calls)",
            summary.calls
        );
        if let Some(t) = estimate(total, summary.rate, opts.max_capacity_pct) {
            let rate = summary.rate.map(|r| r.to_string()).unwrap_or_default();
            line.push_str(&format!(
                ", about {} at {rate} with {} % of the quota",
                human(t),
                opts.max_capacity_pct
            ));
            if t >= MANY_HOURS {
                lines.push(line);
                line = "that is many hours: `idm-csv` writes users to a bulk-upload CSV for OneLogin's import instead".to_string();
            }
        }
        lines.push(line);
        lines.push("nothing written: add --apply to do this".to_string());
    }
    lines
}

/// How long `calls` take at `rate` with `pct` % of it.
pub fn estimate(calls: u64, rate: Option<Rate>, pct: u8) -> Option<Duration> {
    let rate = rate?;
    let per_sec = rate.count as f64 * f64::from(pct.clamp(1, 100)) / 100.0 / rate.per.as_secs_f64();
    if per_sec <= 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(calls as f64 / per_sec))
}

/// `2 h 05 min`, `12 min`, `40 s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} min", s.div_ceil(60))
    } else {
        format!("{s} s")
    }
}

/// Where an object of this run lives, as far as this run knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Res {
    /// In the target as `id`; `new` when this run created it.
    Id {
        id: String,
        new: bool,
    },
    /// Planned for creation (plan mode).
    Pending,
    /// Its own result failed or was skipped for a reason the edge repeats.
    Failed,
    Unknown,
}

/// What this run knows of each object: (kind, source, id) → where it lives and its label.
/// On disk ([`crate::table::DiskTable`]): a million users would take hundreds of MB as a hash map of
/// strings.
#[derive(Default)]
pub struct Overlay {
    /// Made on the first insert.
    table: Option<crate::table::DiskTable>,
}

fn overlay_key(kind: &Kind, source: &str, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(kind.as_str().len() + source.len() + id.len() + 2);
    key.extend_from_slice(kind.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(source.as_bytes());
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key
}

impl Overlay {
    pub fn insert(
        &mut self,
        kind: Kind,
        source: &str,
        id: &str,
        res: Res,
        label: String,
    ) -> io::Result<()> {
        let (tag, tid) = match &res {
            Res::Id { id, new: false } => (0u8, id.as_str()),
            Res::Id { id, new: true } => (1, id.as_str()),
            Res::Pending => (2, ""),
            Res::Failed => (3, ""),
            Res::Unknown => (4, ""),
        };
        let mut value = Vec::with_capacity(5 + tid.len() + label.len());
        value.push(tag);
        value.extend_from_slice(&u32::try_from(tid.len()).unwrap_or(0).to_le_bytes());
        value.extend_from_slice(tid.as_bytes());
        value.extend_from_slice(label.as_bytes());
        let table = match &mut self.table {
            Some(t) => t,
            None => self.table.insert(crate::table::DiskTable::new()?),
        };
        table.insert(&overlay_key(&kind, source, id), &value)
    }

    pub fn get(&self, kind: &Kind, source: &str, id: &str) -> io::Result<Option<(Res, String)>> {
        let Some(table) = &self.table else {
            return Ok(None);
        };
        let Some(value) = table.get(&overlay_key(kind, source, id))? else {
            return Ok(None);
        };
        let bad = || io::Error::other("the run's table of objects holds a bad record");
        let (&tag, rest) = value.split_first().ok_or_else(bad)?;
        let len = rest
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(bad)?;
        let tid = rest.get(4..4 + len).ok_or_else(bad)?;
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| bad());
        let res = match tag {
            0 | 1 => Res::Id {
                id: text(tid)?,
                new: tag == 1,
            },
            2 => Res::Pending,
            3 => Res::Failed,
            4 => Res::Unknown,
            _ => return Err(bad()),
        };
        Ok(Some((res, text(&rest[4 + len..])?)))
    }
}

/// Writes outcomes and counts them.
pub struct Emitter<'a> {
    out: &'a mut RecordWriter,
    summary: &'a mut Summary,
    target: &'static str,
    dirty: bool,
    /// A bar on a terminal, status lines elsewhere.
    bar: crate::cli::Progress,
}

impl Emitter<'_> {
    pub fn emit(&mut self, o: Outcome) -> io::Result<()> {
        *self
            .summary
            .counts
            .entry((o.of.as_str().to_string(), o.op, o.status))
            .or_default() += 1;
        self.dirty = true;
        self.bar.inc(1);
        self.out.write(&o.in_target(self.target).to_record())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if self.dirty {
            self.dirty = false;
            self.out.flush()?;
        }
        Ok(())
    }
}

/// The edges a target makes with a create (Okta's `groupIds`): for each child of this run
/// (by source and id), the target ids of its first parents, in input order.
pub struct CreateEdges {
    /// The kind of object whose create makes them (`user`).
    pub of: Kind,
    /// The kind of edge (`membership`).
    pub edge: Kind,
    /// The field of the create that carries them (`groupIds`, `role_ids`).
    pub field: &'static str,
    /// `source` NUL `child id` → the parents' target ids, one a line: on disk (about 1.5
    /// bytes a child in memory), so a million users' memberships never sit in memory.
    parents: crate::table::DiskTable,
}

impl CreateEdges {
    /// The target ids of the parents `child` is created with.
    pub fn parents(&self, source: &str, child: &str) -> std::io::Result<Vec<String>> {
        Ok(self
            .parents
            .get(&create_edges_key(source, child))?
            .map(|v| {
                String::from_utf8_lossy(&v)
                    .split('\n')
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default())
    }
}

fn create_edges_key(source: &str, child: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(source.len() + child.len() + 1);
    key.extend_from_slice(source.as_bytes());
    key.push(0);
    key.extend_from_slice(child.as_bytes());
    key
}

/// What every phase shares.
pub struct Loader<'a> {
    pub target: &'a dyn Target,
    /// `None` in plan mode: nothing is written.
    journal: Option<&'a Journal>,
    /// Serializes appends of this process (the file lock only excludes other processes).
    journal_guard: Mutex<()>,
    pub state: State,
    pub opts: &'a Options,
    /// Custom attributes users carry that the tenant lacks.
    missing_attrs: Mutex<BTreeSet<String>>,
    owners: Mutex<Vec<String>>,
    decisions: Mutex<Vec<String>>,
    create_edges: Option<CreateEdges>,
    /// (kind, target id) → the source object an earlier load or this run mapped to it: an
    /// account is never adopted for a second person. Built from the journal on first use,
    /// then kept up with this run's claims and `map` events.
    claimed: Mutex<Option<crate::table::DiskTable>>,
    /// The most edges one call has been found to take (lowered when the target refuses a
    /// batch whose edges it then takes in smaller ones); unbounded until then.
    edge_batch: std::sync::atomic::AtomicUsize,
}

impl Loader<'_> {
    pub fn note(&self, events: &[Event]) -> anyhow::Result<()> {
        let Some(journal) = self.journal else {
            return Ok(()); // a plan writes nothing
        };
        {
            let _g = self.journal_guard.lock().unwrap_or_else(|p| p.into_inner());
            journal.append_all(events).map_err(anyhow::Error::new)?;
        }
        // what this run maps is claimed at once: a later record of the run that finds the
        // same account (by a weaker key, after a cut-off run) sees whose it is
        let name = self.target.name();
        for event in events {
            if let Event::Map {
                kind,
                source,
                id,
                target,
                target_id,
                ..
            } = event
                && target == name
            {
                self.with_claims(|table| {
                    table.insert(
                        format!("{kind}\u{0}{target_id}").as_bytes(),
                        format!("{source}\u{0}{id}").as_bytes(),
                    )
                })
                .context("keeping the accounts this run claimed")?;
            }
        }
        Ok(())
    }

    /// Run `f` on the claims table, built from the journal's mappings on first use.
    pub fn with_claims<T>(
        &self,
        f: impl FnOnce(&mut crate::table::DiskTable) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let mut claimed = self.claimed.lock().unwrap_or_else(|p| p.into_inner());
        let table = match &mut *claimed {
            Some(t) => t,
            None => {
                let mut table = crate::table::DiskTable::new()?;
                for m in self.state.mappings(self.target.name()) {
                    let (k, src, sid, m) = m?;
                    table.insert(
                        format!("{k}\u{0}{}", m.target_id).as_bytes(),
                        format!("{src}\u{0}{sid}").as_bytes(),
                    )?;
                }
                claimed.insert(table)
            }
        };
        f(table)
    }

    pub fn status(&self) -> Status {
        if self.opts.apply {
            Status::Ok
        } else {
            Status::Planned
        }
    }

    /// Where a source object lives: this run's outcomes first, then the journal (checked
    /// against the tenant, so an object deleted there is not taken for present).
    pub fn resolve(
        &self,
        overlay: &Overlay,
        kind: &Kind,
        source: &str,
        id: &str,
    ) -> io::Result<(Res, String)> {
        if let Some(known) = overlay.get(kind, source, id)? {
            return Ok(known);
        }
        let name = self.target.name();
        Ok(
            match self.state.target_id(kind.as_str(), name, source, id)? {
                Some(t) if self.target.exists(kind, &t) => {
                    (Res::Id { id: t, new: false }, String::new())
                }
                _ => (Res::Unknown, String::new()),
            },
        )
    }
}

/// Load (or plan) the records of `input`. Results go to `out`; bad lines to `rejects`.
/// `journal` is required with `opts.apply` (events are appended to it) and unused without.
pub fn run<R: BufRead>(
    target: &dyn Target,
    journal: Option<&Journal>,
    state: State,
    opts: &Options,
    input: &mut RecordReader<R>,
    rejects: &mut Rejects,
    out: &mut RecordWriter,
) -> anyhow::Result<Summary> {
    if opts.apply && journal.is_none() {
        anyhow::bail!("`--apply` needs the state journal open for writing");
    }
    let mut spool = Spool::read(input, target, rejects, &opts.only).context("reading the input")?;
    if let crate::record::stream::Completeness::Incomplete(why) = input.completeness()
        && !opts.allow_incomplete
    {
        anyhow::bail!(
            "the input is incomplete: {why}; nothing read from or written to the tenant (`--allow-incomplete` loads it anyway)"
        );
    }
    let mut summary = Summary {
        rejected: rejects.count(),
        ..Summary::default()
    };
    if spool.repeated() > 0 {
        summary.warnings.push(format!(
            "{} objects appear more than once in the input (same kind, source and id): the last line of each is loaded, the earlier ones are skipped",
            spool.repeated()
        ));
    }
    let has = |p: Phase| spool.count(p) > 0;
    let needs = Needs {
        groups: has(Phase::Groups),
        users: has(Phase::Users),
        apps: has(Phase::Apps),
        memberships: has(Phase::Memberships),
        assignments: has(Phase::Assignments),
    };
    // the edges' ends are checked against the input's objects first; the index of those
    // objects is then freed, before the tenant's snapshot takes its memory
    let edge_lines = if opts.apply && !opts.force {
        preflight::check_edges(&state, target.name(), &spool)?
    } else {
        Vec::new()
    };
    spool.forget_objects();
    target.authenticate().map_err(fatal)?;
    target.read(needs).map_err(fatal)?;
    let loader = Loader {
        target,
        journal,
        journal_guard: Mutex::new(()),
        state,
        opts,
        missing_attrs: Mutex::new(BTreeSet::new()),
        owners: Mutex::new(Vec::new()),
        decisions: Mutex::new(Vec::new()),
        create_edges: None,
        claimed: Mutex::new(None),
        edge_batch: std::sync::atomic::AtomicUsize::new(usize::MAX),
    };
    let mut loader = loader;
    if opts.apply && !opts.force {
        let found = preflight::check(&loader, &spool, summary.rejected, edge_lines)?;
        if !found.is_empty() {
            return Err(anyhow::Error::new(preflight::Refused(found)));
        }
    }
    let mut overlay = Overlay::default();
    let total: u64 = Phase::ALL.iter().map(|p| spool.count(*p)).sum();
    let label = if opts.apply { "loading" } else { "planning" };
    let mut emitter = Emitter {
        out,
        summary: &mut summary,
        target: target.name(),
        dirty: false,
        bar: crate::cli::progress(label, Some(total))
            .with_quota(opts.rate.filter(|_| opts.apply), opts.max_capacity_pct),
    };
    let mut writes = 0u64;
    for (phase, kind) in [
        (Phase::Groups, Kind::Group),
        (Phase::Users, Kind::User),
        (Phase::Apps, Kind::App),
    ] {
        if phase == Phase::Users
            && let Some((edge, max, field)) = target.create_edges(&Kind::User)
            && edge == Kind::Membership
        {
            loader.create_edges = Some(create_edges_index(&loader, &spool, &overlay, max, field)?);
        }
        if phase == Phase::Apps {
            // memberships need groups and users only; apps come after them
            writes += loader.edges(
                Kind::Membership,
                spool.records(Phase::Memberships)?,
                &overlay,
                &mut emitter,
            )?;
        }
        writes += loader.objects(kind, spool.records(phase)?, &mut overlay, &mut emitter)?;
    }
    writes += loader.edges(
        Kind::AppAssignment,
        spool.records(Phase::Assignments)?,
        &overlay,
        &mut emitter,
    )?;
    emitter.flush().context("writing results")?;
    emitter.bar.finish_and_clear();
    summary.planned_writes = writes;
    summary.calls = target.calls();
    summary.rate = opts.rate.or_else(|| target.learned_rate());
    if spool.ignored > 0 {
        tracing::info!("{} records of other kinds ignored", spool.ignored);
    }
    let missing = loader
        .missing_attrs
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    if !missing.is_empty() {
        summary
            .warnings
            .push(preflight::missing_attributes_line(&missing));
    }
    for owner in loader
        .owners
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
        summary.warnings.push(format!(
            "user `{owner}` is the account owner: it is never modified (skipped)"
        ));
    }
    summary.decisions = loader
        .decisions
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    Ok(summary)
}

/// For each user of the input, the target ids of its first `max` groups that are known by
/// now (memberships in input order). The memberships are sorted by user on disk (a stable
/// sort: input order within a user) and each user's groups written to a [`DiskTable`]:
/// memory stays flat however many.
///
/// [`DiskTable`]: crate::table::DiskTable
fn create_edges_index(
    loader: &Loader,
    spool: &Spool,
    overlay: &Overlay,
    max: usize,
    field: &'static str,
) -> anyhow::Result<CreateEdges> {
    let mut by_child = sort::Sorter::default();
    for item in spool.records(Phase::Memberships)? {
        let item = item?;
        if item.superseded_by.is_some() {
            continue;
        }
        let rec = &item.record;
        let Some((g, u)) = spool::membership_ends(rec) else {
            continue;
        };
        if let (Res::Id { id, .. }, _) = loader.resolve(overlay, &Kind::Group, &rec.source, &g)? {
            by_child.push(&create_edges_key(&rec.source, &u), id.as_bytes())?;
        }
    }
    let mut parents = crate::table::DiskTable::new().context("temporary index file")?;
    let mut flush = |key: &[u8], list: &mut Vec<Vec<u8>>| -> std::io::Result<()> {
        if !list.is_empty() {
            parents.insert(key, &list.join(&b'\n'))?;
            list.clear();
        }
        Ok(())
    };
    let mut current: Option<Box<[u8]>> = None;
    let mut list: Vec<Vec<u8>> = Vec::new();
    for item in by_child.finish()? {
        let (key, parent) = item?;
        if current.as_deref() != Some(&*key) {
            if let Some(k) = &current {
                flush(k, &mut list)?;
            }
            current = Some(key);
        }
        if list.len() < max && !list.iter().any(|p| **p == *parent) {
            list.push(parent.to_vec());
        }
    }
    if let Some(k) = &current {
        flush(k, &mut list)?;
    }
    Ok(CreateEdges {
        of: Kind::User,
        edge: Kind::Membership,
        field,
        parents,
    })
}

/// An API error that ends the run (exit 1).
pub fn fatal(e: ApiError) -> anyhow::Error {
    anyhow::Error::new(e)
}

pub mod preflight;
