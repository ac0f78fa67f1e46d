//! idm-load: plan, then idempotently and resumably load mapped records into OneLogin.
//!
//! The shape of a run:
//!
//! 1. **Spool** ([`input`]): every input record is checked and written to a temporary file
//!    of its phase, so input order does not matter and memory stays flat.
//! 2. **Snapshot** ([`tenant`]): the tenant's roles, apps, users and custom attributes are
//!    read in bulk with paged lists (never one lookup per user) into indexes of ids.
//! 3. **Phases**, in the order OneLogin needs: roles, users, memberships, apps, role → app
//!    assignments. Each object is decided against the state journal and the snapshot:
//!    `create`, `update` (only with `--update-existing` and when the payload hash differs),
//!    or `skip`. Without `--apply` the decisions are printed as `planned` results and no
//!    write is sent; with it they are carried out by N workers sharing one HTTP client
//!    (one quota) and one token.
//!
//! Why it is safe to kill and re-run:
//! - A create's id mapping goes into the journal the moment its response arrives, before
//!   its result is printed. A create whose response was lost is looked up (by email,
//!   username or name) before it is sent again ([`crate::provider::onelogin`]).
//! - An object created by a run that died before journaling it is found in the snapshot
//!   (same email, username or name) and adopted, not created twice.
//! - Edges are resolved through the journal and the snapshot, not through input order; a
//!   membership that is already there is skipped, and adding one twice is harmless.
//! - Role apps are set by `PUT`, which replaces the set: the current set is read and merged
//!   first, so apps assigned by other means are kept.
//!
//! One bad record never stops the run: a 4xx becomes a `failed` result with the API's status,
//! field and message. Only what makes every further call pointless (the API unreachable,
//! credentials refused) is fatal.

pub mod input;
pub mod pool;
pub mod result;
pub mod tenant;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, BufRead};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

use crate::http::Rate;
use crate::journal::{Event, Journal, State, payload_hash};
use crate::provider::onelogin::{ApiError, Created, OneLoginClient, ROLE_USERS_CHUNK, id_of};
use crate::record::{Kind, Record, RecordReader, RecordWriter, Rejects};
use input::{Assignee, Only, Phase, Spool, assignment_ends, membership_ends};
use result::{Failure, Op, Outcome, Status};
use tenant::{Needs, Tenant};

/// The target name in journal events and result records.
pub const TARGET: &str = "onelogin";

/// A run that needs more than this at the configured quota gets a pointer to idm-csv.
const MANY_HOURS: Duration = Duration::from_secs(2 * 3600);

/// What a run does.
#[derive(Debug, Clone)]
pub struct Options {
    /// Carry the plan out (else print it).
    pub apply: bool,
    /// Worker threads for creates and updates.
    pub workers: usize,
    /// Update objects that exist and whose payload changed.
    pub update_existing: bool,
    /// Delete same-named roles that idm did not create and create them anew.
    pub cleanup_roles: bool,
    /// `--retry-from`: only these `(kind, source, id)`.
    pub only: Only,
    /// The quota, for the time estimate.
    pub rate: Option<Rate>,
    /// Percentage of the quota idm may use.
    pub max_capacity_pct: u8,
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
    pub warnings: Vec<String>,
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

    /// One line per kind: `user: 10 create, 2 skip, 1 failed`.
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
    if opts.apply {
        lines.push(format!("API calls used: {}", summary.calls));
    } else {
        let total = summary.planned_writes;
        let mut line = format!(
            "estimate: {total} write calls (the plan read the tenant with {} calls)",
            summary.calls
        );
        if let Some(t) = estimate(total, opts.rate, opts.max_capacity_pct) {
            let rate = opts.rate.map(|r| r.to_string()).unwrap_or_default();
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Res {
    Id(u64),
    /// Planned for creation (plan mode).
    Pending,
    Failed,
    Unknown,
}

type Overlay = HashMap<(Kind, String, String), Res>;

/// Writes outcomes and counts them.
struct Emitter<'a> {
    out: &'a mut RecordWriter,
    summary: &'a mut Summary,
    dirty: bool,
    /// Shown only when stderr is a terminal.
    bar: indicatif::ProgressBar,
}

impl Emitter<'_> {
    fn emit(&mut self, o: &Outcome) -> io::Result<()> {
        *self
            .summary
            .counts
            .entry((o.of.as_str().to_string(), o.op, o.status))
            .or_default() += 1;
        self.dirty = true;
        self.bar.inc(1);
        self.out.write(&o.to_record())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.dirty {
            self.dirty = false;
            self.out.flush()?;
        }
        Ok(())
    }
}

struct Loader<'a> {
    client: &'a OneLoginClient,
    /// `None` in plan mode: nothing is written.
    journal: Option<&'a Journal>,
    /// Serializes appends of this process (the file lock only excludes other processes).
    journal_guard: Mutex<()>,
    state: State,
    tenant: Tenant,
    opts: &'a Options,
    /// Custom attribute shortnames users carry that the tenant lacks.
    missing_attrs: Mutex<BTreeSet<String>>,
    owners: Mutex<Vec<String>>,
}

/// Load (or plan) the records of `input`. Results go to `out`; bad lines to `rejects`.
/// `journal` is required with `opts.apply` (events are appended to it) and unused without.
pub fn run<R: BufRead>(
    client: &OneLoginClient,
    journal: Option<&Journal>,
    state: State,
    opts: &Options,
    input: RecordReader<R>,
    rejects: &mut Rejects,
    out: &mut RecordWriter,
) -> anyhow::Result<Summary> {
    if opts.apply && journal.is_none() {
        anyhow::bail!("`--apply` needs the state journal open for writing");
    }
    let mut spool = Spool::read(input, rejects, &opts.only).context("reading the input")?;
    let mut summary = Summary {
        rejected: rejects.count(),
        ..Summary::default()
    };
    let has = |p: Phase| spool.count(p) > 0;
    let needs = Needs {
        roles: has(Phase::Roles) || has(Phase::Memberships) || has(Phase::RoleApps),
        users: has(Phase::Users) || has(Phase::Memberships),
        apps: has(Phase::Apps) || has(Phase::RoleApps),
    };
    client.authenticate().map_err(fatal)?;
    let tenant = Tenant::read(client, needs).map_err(fatal)?;
    let loader = Loader {
        client,
        journal,
        journal_guard: Mutex::new(()),
        state,
        tenant,
        opts,
        missing_attrs: Mutex::new(BTreeSet::new()),
        owners: Mutex::new(Vec::new()),
    };
    let mut overlay = Overlay::new();
    let total: u64 = Phase::ALL.iter().map(|p| spool.count(*p)).sum();
    let label = if opts.apply { "loading" } else { "planning" };
    let mut emitter = Emitter {
        out,
        summary: &mut summary,
        dirty: false,
        bar: crate::cli::progress(label, Some(total)),
    };
    let mut writes = 0u64;
    for (phase, kind) in [
        (Phase::Roles, Kind::Group),
        (Phase::Users, Kind::User),
        (Phase::Apps, Kind::App),
    ] {
        if phase == Phase::Apps {
            // memberships need roles and users only; apps come after them
            writes +=
                loader.memberships(spool.records(Phase::Memberships)?, &overlay, &mut emitter)?;
        }
        writes += loader.objects(kind, spool.records(phase)?, &mut overlay, &mut emitter)?;
    }
    writes += loader.role_apps(spool.records(Phase::RoleApps)?, &overlay, &mut emitter)?;
    emitter.flush().context("writing results")?;
    emitter.bar.finish_and_clear();
    summary.planned_writes = writes;
    summary.calls = client.calls();
    if spool.ignored > 0 {
        tracing::info!("{} records of other kinds ignored", spool.ignored);
    }
    let missing = loader
        .missing_attrs
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().take(10).map(|s| format!("`{s}`")).collect();
        summary.warnings.push(format!(
            "{} custom attributes are not defined in the tenant ({}{}): run `idm-attrs --apply` first",
            missing.len(),
            names.join(", "),
            if missing.len() > 10 { ", …" } else { "" }
        ));
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
    Ok(summary)
}

/// An API error that ends the run (exit 1).
fn fatal(e: ApiError) -> anyhow::Error {
    anyhow::Error::new(e)
}

/// How an existing object was decided.
enum Decision {
    Create,
    Update(u64),
    Skip {
        id: u64,
        reason: String,
        adopt: bool,
    },
}

impl Loader<'_> {
    fn note(&self, events: &[Event]) -> anyhow::Result<()> {
        let Some(journal) = self.journal else {
            return Ok(()); // a plan writes nothing
        };
        let _g = self.journal_guard.lock().unwrap_or_else(|p| p.into_inner());
        journal.append_all(events).map_err(anyhow::Error::new)
    }

    fn map_event(&self, kind: &Kind, rec: &Record, id: u64, hash: Option<&str>) -> Event {
        Event::Map {
            kind: kind.as_str().to_string(),
            source: rec.source.clone(),
            id: rec.id.clone(),
            target: TARGET.into(),
            target_id: id.to_string(),
            hash: hash.map(str::to_string),
        }
    }

    fn edge_event(&self, kind: &Kind, source: &str, id: &str) -> Event {
        Event::Edge {
            kind: kind.as_str().to_string(),
            source: source.to_string(),
            id: id.to_string(),
            target: TARGET.into(),
        }
    }

    fn status(&self) -> Status {
        if self.opts.apply {
            Status::Ok
        } else {
            Status::Planned
        }
    }

    /// Where a source object lives: this run's outcomes first, then the journal.
    fn resolve(&self, overlay: &Overlay, kind: Kind, source: &str, id: &str) -> Res {
        if let Some(r) = overlay.get(&(kind.clone(), source.to_string(), id.to_string())) {
            return *r;
        }
        match self.state.target_id(kind.as_str(), TARGET, source, id) {
            Some(t) => t.parse().map(Res::Id).unwrap_or(Res::Unknown),
            None => Res::Unknown,
        }
    }

    /// A failed result, or the error itself when it ends the run.
    fn failure(&self, of: &Kind, rec: &Record, op: Op, e: ApiError) -> anyhow::Result<Outcome> {
        if e.is_unreachable() || e.is_auth() {
            return Err(fatal(e));
        }
        Ok(Outcome::failed(
            of.clone(),
            &rec.source,
            &rec.id,
            op,
            Failure::from(&e),
        ))
    }

    /// Decide an object against the journal and the snapshot.
    fn decide(
        &self,
        kind: &Kind,
        rec: &Record,
        hash: &str,
        exists: impl Fn(u64) -> bool,
        found: Option<(u64, &str)>,
    ) -> Decision {
        if let Some(m) = self
            .state
            .mapping(kind.as_str(), TARGET, &rec.source, &rec.id)
            && let Ok(id) = m.target_id.parse::<u64>()
            && exists(id)
        {
            if m.hash.as_deref() == Some(hash) {
                return Decision::Skip {
                    id,
                    reason: "unchanged since the last load".into(),
                    adopt: false,
                };
            }
            if self.opts.update_existing {
                return Decision::Update(id);
            }
            let reason = match m.hash {
                Some(_) => "changed since the last load: `--update-existing` updates it",
                None => "already in the tenant",
            };
            return Decision::Skip {
                id,
                reason: reason.into(),
                adopt: false,
            };
        }
        if let Some((id, how)) = found {
            if self.opts.update_existing {
                return Decision::Update(id);
            }
            return Decision::Skip {
                id,
                reason: format!("already in the tenant (same {how})"),
                adopt: true,
            };
        }
        Decision::Create
    }

    /// Roles, users or apps: decide and (with `--apply`) create or update, with N workers.
    /// Returns the number of writes planned.
    fn objects(
        &self,
        kind: Kind,
        records: input::SpoolRecords,
        overlay: &mut Overlay,
        emitter: &mut Emitter,
    ) -> anyhow::Result<u64> {
        let mut writes = 0u64;
        let work = |rec: io::Result<Record>| -> anyhow::Result<Outcome> {
            let rec = rec?;
            match kind {
                Kind::Group => self.role(&rec),
                Kind::User => self.user(&rec),
                _ => self.app(&rec),
            }
        };
        pool::run(
            self.opts.workers,
            records,
            work,
            |o: Option<anyhow::Result<Outcome>>| -> anyhow::Result<()> {
                let Some(o) = o else {
                    return emitter.flush().context("writing results");
                };
                let o = o?;
                let res = match (&o.status, &o.target_id) {
                    (Status::Failed, _) => Res::Failed,
                    (_, Some(t)) => t.parse().map(Res::Id).unwrap_or(Res::Unknown),
                    (Status::Planned, None) => Res::Pending,
                    (Status::Ok, None) => Res::Unknown,
                };
                if o.status == Status::Planned && matches!(o.op, Op::Create | Op::Update) {
                    writes +=
                        1 + u64::from(o.reason.as_deref().is_some_and(|r| r.contains("replaces")));
                }
                overlay.insert((o.of.clone(), o.source.clone(), o.id.clone()), res);
                emitter.emit(&o).context("writing results")
            },
        )?;
        Ok(writes)
    }

    /// Carry out (or plan) a decision for one object.
    fn carry_out(
        &self,
        kind: &Kind,
        rec: &Record,
        hash: &str,
        decision: Decision,
        create: impl Fn() -> Result<Created, ApiError>,
        update: impl Fn(u64) -> Result<(), ApiError>,
    ) -> anyhow::Result<Outcome> {
        let new =
            |op: Op, status: Status| Outcome::new(kind.clone(), &rec.source, &rec.id, op, status);
        match decision {
            Decision::Skip { id, reason, adopt } => {
                if adopt && self.opts.apply {
                    self.note(&[self.map_event(kind, rec, id, None)])?;
                }
                Ok(new(Op::Skip, self.status()).target(Some(id)).reason(reason))
            }
            Decision::Create if !self.opts.apply => {
                Ok(new(Op::Create, Status::Planned).target(None::<u64>))
            }
            Decision::Update(id) if !self.opts.apply => {
                Ok(new(Op::Update, Status::Planned).target(Some(id)))
            }
            Decision::Create => match create() {
                Ok(Created::New(id)) => {
                    self.note(&[self.map_event(kind, rec, id, Some(hash))])?;
                    Ok(new(Op::Create, Status::Ok).target(Some(id)))
                }
                Ok(Created::Existing(id)) if self.opts.update_existing => {
                    self.update_now(kind, rec, hash, id, &update)
                }
                Ok(Created::Existing(id)) => {
                    self.note(&[self.map_event(kind, rec, id, None)])?;
                    Ok(new(Op::Skip, Status::Ok)
                        .target(Some(id))
                        .reason("already in the tenant (the create was refused as a duplicate)"))
                }
                Err(e) => self.failure(kind, rec, Op::Create, e),
            },
            Decision::Update(id) => self.update_now(kind, rec, hash, id, &update),
        }
    }

    fn update_now(
        &self,
        kind: &Kind,
        rec: &Record,
        hash: &str,
        id: u64,
        update: &impl Fn(u64) -> Result<(), ApiError>,
    ) -> anyhow::Result<Outcome> {
        let new = |op: Op| Outcome::new(kind.clone(), &rec.source, &rec.id, op, Status::Ok);
        match update(id) {
            Ok(()) => {
                self.note(&[self.map_event(kind, rec, id, Some(hash))])?;
                Ok(new(Op::Update).target(Some(id)))
            }
            Err(e) if *kind == Kind::User && e.is_account_owner() => {
                tracing::warn!("user `{}` is the account owner: not modified", rec.label());
                self.owners
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(rec.label());
                self.note(&[self.map_event(kind, rec, id, None)])?;
                Ok(new(Op::Skip)
                    .target(Some(id))
                    .reason("account owner: never modified"))
            }
            Err(e) => self.failure(kind, rec, Op::Update, e),
        }
    }

    fn role(&self, rec: &Record) -> anyhow::Result<Outcome> {
        let kind = Kind::Group;
        let name = rec
            .data
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim();
        let hash = payload_hash(&rec.data);
        let found = self.tenant.roles_by_name.get(name).map(|id| (*id, "name"));
        let mapped = self
            .state
            .target_id(kind.as_str(), TARGET, &rec.source, &rec.id)
            .and_then(|t| t.parse::<u64>().ok());
        if self.opts.cleanup_roles
            && let Some((old, _)) = found
            && mapped != Some(old)
        {
            let reason =
                format!("replaces the existing role `{name}` (id {old}) (`--cleanup-roles`)");
            if !self.opts.apply {
                return Ok(
                    Outcome::new(kind, &rec.source, &rec.id, Op::Create, Status::Planned)
                        .reason(reason),
                );
            }
            if let Err(e) = self.client.delete_role(old)
                && e.status != Some(404)
            {
                return self.failure(&kind, rec, Op::Create, e);
            }
            return match self.client.create_role(name) {
                Ok(c) => {
                    self.note(&[self.map_event(&kind, rec, c.id(), Some(&hash))])?;
                    Ok(
                        Outcome::new(kind, &rec.source, &rec.id, Op::Create, Status::Ok)
                            .target(Some(c.id()))
                            .reason(reason),
                    )
                }
                Err(e) => self.failure(&kind, rec, Op::Create, e),
            };
        }
        let decision = self.decide(
            &kind,
            rec,
            &hash,
            |id| self.tenant.role_ids.contains(&id),
            found,
        );
        self.carry_out(
            &kind,
            rec,
            &hash,
            decision,
            || self.client.create_role(name),
            |id| self.client.update_role(id, name),
        )
    }

    fn user(&self, rec: &Record) -> anyhow::Result<Outcome> {
        let kind = Kind::User;
        let data = &rec.data;
        let email = data.get("email").and_then(Value::as_str);
        let username = data.get("username").and_then(Value::as_str);
        if let Some(attrs) = data.get("custom_attributes").and_then(Value::as_object) {
            let unknown: Vec<&String> = attrs
                .keys()
                .filter(|k| !self.tenant.attributes.contains(*k))
                .collect();
            if !unknown.is_empty() {
                let mut missing = self.missing_attrs.lock().unwrap_or_else(|p| p.into_inner());
                missing.extend(unknown.into_iter().cloned());
            }
        }
        let hash = payload_hash(data);
        let found = self.tenant.find_user(email, username);
        let decision = self.decide(
            &kind,
            rec,
            &hash,
            |id| self.tenant.user_ids.contains(&id),
            found,
        );
        self.carry_out(
            &kind,
            rec,
            &hash,
            decision,
            || self.client.create_user(data),
            |id| self.client.update_user(id, data),
        )
    }

    fn app(&self, rec: &Record) -> anyhow::Result<Outcome> {
        let kind = Kind::App;
        let data = &rec.data;
        let name = data.get("name").and_then(Value::as_str).unwrap_or_default();
        let connector = data.get("connector_id").and_then(id_of).unwrap_or_default();
        let hash = payload_hash(data);
        let found = self
            .tenant
            .apps_by_name
            .get(&(name.to_string(), connector))
            .map(|id| (*id, "name and connector"));
        let decision = self.decide(
            &kind,
            rec,
            &hash,
            |id| self.tenant.app_ids.contains(&id),
            found,
        );
        self.carry_out(
            &kind,
            rec,
            &hash,
            decision,
            || self.client.create_app(data),
            |id| self.client.update_app(id, data),
        )
    }

    /// The result of an edge whose ends are not both known.
    fn unresolved(
        &self,
        kind: &Kind,
        rec: &Record,
        ends: [(&str, &str, Res); 2],
    ) -> Option<Outcome> {
        for (what, id, res) in ends {
            let message = match res {
                Res::Failed => format!("{what} `{id}` was not loaded (see its result)"),
                Res::Unknown => format!(
                    "{what} `{id}` is neither in this input nor in the state journal \
                     (rejected by an earlier stage?)"
                ),
                _ => continue,
            };
            return Some(Outcome::failed(
                kind.clone(),
                &rec.source,
                &rec.id,
                Op::Assign,
                Failure::local(message),
            ));
        }
        None
    }

    /// Memberships: resolved through the journal, added in bulk (raw arrays, chunked) per
    /// role. Returns the number of writes planned.
    fn memberships(
        &self,
        records: input::SpoolRecords,
        overlay: &Overlay,
        emitter: &mut Emitter,
    ) -> anyhow::Result<u64> {
        let kind = Kind::Membership;
        // role → (user id, source, edge id); role keys of planned roles are their source ids
        let mut batches: HashMap<u64, Vec<(u64, String, String)>> = HashMap::new();
        let mut planned: HashMap<String, u64> = HashMap::new();
        for rec in records {
            let rec = rec?;
            let Some((g, u)) = membership_ends(&rec) else {
                continue; // checked on input
            };
            if self
                .state
                .has_edge(kind.as_str(), TARGET, &rec.source, &rec.id)
            {
                emitter.emit(
                    &Outcome::new(kind.clone(), &rec.source, &rec.id, Op::Skip, self.status())
                        .reason("already loaded"),
                )?;
                continue;
            }
            let role = self.resolve(overlay, Kind::Group, &rec.source, &g);
            let user = self.resolve(overlay, Kind::User, &rec.source, &u);
            if let Some(o) = self.unresolved(&kind, &rec, [("role", &g, role), ("user", &u, user)])
            {
                emitter.emit(&o)?;
                continue;
            }
            match (role, user) {
                (Res::Id(r), Res::Id(uid)) => {
                    if self
                        .tenant
                        .role_members
                        .get(&r)
                        .is_some_and(|m| m.contains(&uid))
                    {
                        if self.opts.apply {
                            self.note(&[self.edge_event(&kind, &rec.source, &rec.id)])?;
                        }
                        emitter.emit(
                            &Outcome::new(
                                kind.clone(),
                                &rec.source,
                                &rec.id,
                                Op::Skip,
                                self.status(),
                            )
                            .target(Some(format!("{r}/{uid}")))
                            .reason("already a member"),
                        )?;
                    } else if self.opts.apply {
                        batches.entry(r).or_default().push((
                            uid,
                            rec.source.clone(),
                            rec.id.clone(),
                        ));
                    } else {
                        *planned.entry(r.to_string()).or_default() += 1;
                        emitter.emit(
                            &Outcome::new(
                                kind.clone(),
                                &rec.source,
                                &rec.id,
                                Op::Assign,
                                Status::Planned,
                            )
                            .target(Some(format!("{r}/{uid}"))),
                        )?;
                    }
                }
                _ => {
                    *planned.entry(g.clone()).or_default() += 1;
                    emitter.emit(&Outcome::new(
                        kind.clone(),
                        &rec.source,
                        &rec.id,
                        Op::Assign,
                        Status::Planned,
                    ))?;
                }
            }
        }
        let writes = planned
            .values()
            .map(|n| n.div_ceil(ROLE_USERS_CHUNK as u64))
            .sum();
        if !self.opts.apply {
            return Ok(writes);
        }
        // Exact-size chunks (splitting off the tail instead would leave every chunk with the
        // capacity of all that followed it: quadratic memory for a big role).
        let mut jobs = Vec::new();
        for (role, members) in batches {
            let mut members = members.into_iter();
            loop {
                let chunk: Vec<_> = members.by_ref().take(ROLE_USERS_CHUNK).collect();
                if chunk.is_empty() {
                    break;
                }
                jobs.push((role, chunk));
            }
        }
        pool::run(
            self.opts.workers,
            jobs.into_iter(),
            |(role, chunk)| self.add_members(role, chunk),
            |outs: Option<anyhow::Result<Vec<Outcome>>>| -> anyhow::Result<()> {
                let Some(outs) = outs else {
                    return emitter.flush().context("writing results");
                };
                for o in outs? {
                    emitter.emit(&o)?;
                }
                Ok(())
            },
        )?;
        Ok(0)
    }

    /// Add one chunk of members; when the API refuses the chunk, each member is tried alone so
    /// one bad id fails only its own edge.
    fn add_members(
        &self,
        role: u64,
        chunk: Vec<(u64, String, String)>,
    ) -> anyhow::Result<Vec<Outcome>> {
        let kind = Kind::Membership;
        let ids: Vec<u64> = chunk.iter().map(|(u, _, _)| *u).collect();
        match self.client.add_role_users(role, &ids) {
            Ok(()) => {
                let events: Vec<Event> = chunk
                    .iter()
                    .map(|(_, s, id)| self.edge_event(&kind, s, id))
                    .collect();
                self.note(&events)?;
                Ok(chunk
                    .iter()
                    .map(|(u, s, id)| {
                        Outcome::new(kind.clone(), s, id, Op::Assign, Status::Ok)
                            .target(Some(format!("{role}/{u}")))
                    })
                    .collect())
            }
            Err(e) if e.is_unreachable() || e.is_auth() => Err(fatal(e)),
            Err(_) if chunk.len() > 1 => {
                let mut outs = Vec::with_capacity(chunk.len());
                for one in chunk {
                    outs.extend(self.add_members(role, vec![one])?);
                }
                Ok(outs)
            }
            Err(e) => Ok(chunk
                .iter()
                .map(|(_, s, id)| {
                    Outcome::failed(kind.clone(), s, id, Op::Assign, Failure::from(&e))
                })
                .collect()),
        }
    }

    /// Role → app assignments: merged with the role's current apps, then set with one `PUT`
    /// per role. Direct user assignments have no OneLogin v2 equivalent and are skipped with
    /// a reason. Returns the number of writes planned.
    fn role_apps(
        &self,
        records: input::SpoolRecords,
        overlay: &Overlay,
        emitter: &mut Emitter,
    ) -> anyhow::Result<u64> {
        let kind = Kind::AppAssignment;
        let mut batches: HashMap<u64, Vec<(u64, String, String)>> = HashMap::new();
        let mut planned_roles: BTreeSet<String> = BTreeSet::new();
        let mut current: HashMap<u64, BTreeSet<u64>> = HashMap::new();
        let mut direct = 0u64;
        for rec in records {
            let rec = rec?;
            let Some((app, assignee)) = assignment_ends(&rec) else {
                continue;
            };
            let g = match assignee {
                Assignee::User(_) => {
                    direct += 1;
                    emitter.emit(&Outcome::new(kind.clone(), &rec.source, &rec.id, Op::Skip, self.status())
                        .reason("direct user assignment: OneLogin API v2 assigns apps through roles only; give the user a role that has the app"))?;
                    continue;
                }
                Assignee::Group(g) => g,
            };
            if self
                .state
                .has_edge(kind.as_str(), TARGET, &rec.source, &rec.id)
            {
                emitter.emit(
                    &Outcome::new(kind.clone(), &rec.source, &rec.id, Op::Skip, self.status())
                        .reason("already loaded"),
                )?;
                continue;
            }
            let a = self.resolve(overlay, Kind::App, &rec.source, &app);
            let r = self.resolve(overlay, Kind::Group, &rec.source, &g);
            if let Some(o) = self.unresolved(&kind, &rec, [("app", &app, a), ("role", &g, r)]) {
                emitter.emit(&o)?;
                continue;
            }
            let (Res::Id(app_id), Res::Id(role_id)) = (a, r) else {
                planned_roles.insert(g);
                emitter.emit(&Outcome::new(
                    kind.clone(),
                    &rec.source,
                    &rec.id,
                    Op::Assign,
                    Status::Planned,
                ))?;
                continue;
            };
            let has = if self.opts.apply {
                self.tenant
                    .role_apps
                    .get(&role_id)
                    .is_some_and(|s| s.contains(&app_id))
            } else {
                self.current_apps(role_id, &mut current)
                    .map_err(fatal)?
                    .contains(&app_id)
            };
            if has {
                if self.opts.apply {
                    self.note(&[self.edge_event(&kind, &rec.source, &rec.id)])?;
                }
                emitter.emit(
                    &Outcome::new(kind.clone(), &rec.source, &rec.id, Op::Skip, self.status())
                        .target(Some(format!("{role_id}/{app_id}")))
                        .reason("the role already has the app"),
                )?;
            } else if self.opts.apply {
                batches.entry(role_id).or_default().push((
                    app_id,
                    rec.source.clone(),
                    rec.id.clone(),
                ));
            } else {
                planned_roles.insert(role_id.to_string());
                emitter.emit(
                    &Outcome::new(
                        kind.clone(),
                        &rec.source,
                        &rec.id,
                        Op::Assign,
                        Status::Planned,
                    )
                    .target(Some(format!("{role_id}/{app_id}"))),
                )?;
            }
        }
        if direct > 0 {
            tracing::warn!(
                "{direct} direct user app assignments skipped: OneLogin API v2 assigns apps through roles only"
            );
        }
        if !self.opts.apply {
            // a read of the current set and one PUT per role
            return Ok(planned_roles.len() as u64);
        }
        pool::run(
            self.opts.workers,
            batches.into_iter(),
            |(role, apps)| self.set_apps(role, apps),
            |outs: Option<anyhow::Result<Vec<Outcome>>>| -> anyhow::Result<()> {
                let Some(outs) = outs else {
                    return emitter.flush().context("writing results");
                };
                for o in outs? {
                    emitter.emit(&o)?;
                }
                Ok(())
            },
        )?;
        Ok(0)
    }

    /// The apps a role has now (read once per role; a role created by this run has none).
    fn current_apps<'c>(
        &self,
        role: u64,
        cache: &'c mut HashMap<u64, BTreeSet<u64>>,
    ) -> Result<&'c BTreeSet<u64>, ApiError> {
        if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(role) {
            let apps = match self.tenant.role_apps.get(&role) {
                Some(s) => s.iter().copied().collect(),
                None if self.tenant.role_ids.contains(&role) => {
                    self.client.role_apps(role)?.into_iter().collect()
                }
                None => BTreeSet::new(),
            };
            slot.insert(apps);
        }
        Ok(&cache[&role])
    }

    fn set_apps(
        &self,
        role: u64,
        apps: Vec<(u64, String, String)>,
    ) -> anyhow::Result<Vec<Outcome>> {
        let kind = Kind::AppAssignment;
        let fail = |e: ApiError| -> anyhow::Result<Vec<Outcome>> {
            if e.is_unreachable() || e.is_auth() {
                return Err(fatal(e));
            }
            Ok(apps
                .iter()
                .map(|(_, s, id)| {
                    Outcome::failed(kind.clone(), s, id, Op::Assign, Failure::from(&e))
                })
                .collect())
        };
        // Read the set now (not from the snapshot): PUT replaces it, so it must be current. A
        // role created by this run has none yet, and nobody else knows its id.
        let mut set: BTreeSet<u64> = if self.tenant.role_ids.contains(&role) {
            match self.client.role_apps(role) {
                Ok(v) => v.into_iter().collect(),
                Err(e) => return fail(e),
            }
        } else {
            BTreeSet::new()
        };
        let before = set.len();
        set.extend(apps.iter().map(|(a, _, _)| *a));
        if set.len() != before {
            let all: Vec<u64> = set.into_iter().collect();
            if let Err(e) = self.client.set_role_apps(role, &all) {
                return fail(e);
            }
        }
        let events: Vec<Event> = apps
            .iter()
            .map(|(_, s, id)| self.edge_event(&kind, s, id))
            .collect();
        self.note(&events)?;
        Ok(apps
            .iter()
            .map(|(a, s, id)| {
                Outcome::new(kind.clone(), s, id, Op::Assign, Status::Ok)
                    .target(Some(format!("{role}/{a}")))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_follows_the_quota() {
        let rate = Some(Rate {
            count: 5000,
            per: Duration::from_secs(3600),
        });
        assert_eq!(estimate(5000, rate, 100), Some(Duration::from_secs(3600)));
        assert_eq!(estimate(2500, rate, 50), Some(Duration::from_secs(3600)));
        assert_eq!(estimate(1, None, 100), None);
        assert_eq!(human(Duration::from_secs(7500)), "2 h 05 min");
        assert_eq!(human(Duration::from_secs(61)), "2 min");
        assert_eq!(human(Duration::from_secs(9)), "9 s");
    }

    #[test]
    fn summary_lines_group_by_kind() {
        let mut s = Summary::default();
        s.counts.insert(("user".into(), Op::Create, Status::Ok), 3);
        s.counts
            .insert(("user".into(), Op::Create, Status::Failed), 1);
        s.counts.insert(("group".into(), Op::Skip, Status::Ok), 2);
        assert_eq!(s.failed(), 1);
        assert_eq!(
            s.lines(),
            vec!["group: 2 skip", "user: 3 create, 1 create failed"]
        );
    }
}
