//! The object phases: groups, users and apps, decided one by one and carried out by workers.
//!
//! Each object is decided against the journal and the snapshot ([`Loader::decide`]):
//! - known to the journal and still in the tenant: `skip` when the payload is unchanged;
//!   `update` when this migration created it (a cut-over carries source changes over) or with
//!   `--update-existing`; otherwise `skip`, named in the summary for a person to decide;
//! - else matched with the tenant ([`Target::find`]): the same object is adopted (`skip`, or
//!   `update` with `--update-existing`), a conflict fails with its reason, nothing is `create`.
//!
//! An update reads the object as the tenant holds it first, so its result says what changes
//! (`changes`, secrets masked) and an object that already carries every value is skipped
//! without a write.

use std::collections::HashMap;

use anyhow::Context as _;

use super::spool::{SpoolRecords, Spooled};
use super::{Emitter, Loader, Overlay, Res, fatal};
use crate::journal::{Event, payload_hash};
use crate::provider::target::Found;
use crate::provider::{ApiError, Created};
use crate::record::result::{Failure, Op, Outcome, Status, changes};
use crate::record::{Kind, Record};

/// How an object was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Create,
    /// Delete the tenant's object of the same name (that idm did not create) and create anew.
    Replace {
        old: String,
        name: String,
    },
    Update(String),
    Skip {
        id: String,
        reason: String,
        /// Journal the mapping (an object found in the tenant, now ours to track).
        adopt: bool,
    },
    Conflict(String),
}

impl Decision {
    /// Write calls it costs.
    fn writes(&self) -> u64 {
        match self {
            Decision::Create | Decision::Update(_) => 1,
            Decision::Replace { .. } => 2,
            Decision::Skip { .. } | Decision::Conflict(_) => 0,
        }
    }
}

impl Loader<'_> {
    /// Create an object, its intent journaled first: a run killed before the answer is
    /// journaled leaves the next run the knowledge that the object it finds is its own.
    fn create_intended(&self, rec: &Record) -> anyhow::Result<Result<Created, ApiError>> {
        self.note(&[self.intent_event(rec)])?;
        let with = self
            .edges_with(rec)
            .context("reading the index of memberships")?;
        Ok(self.target.create(&rec.kind, &rec.data, &with))
    }

    fn intent_event(&self, rec: &Record) -> Event {
        Event::Intent {
            kind: rec.kind.as_str().to_string(),
            source: rec.source.clone(),
            id: rec.id.clone(),
            target: self.target.name().into(),
        }
    }

    fn map_event(&self, rec: &Record, id: &str, hash: Option<&str>, created: bool) -> Event {
        Event::Map {
            kind: rec.kind.as_str().to_string(),
            source: rec.source.clone(),
            id: rec.id.clone(),
            target: self.target.name().into(),
            target_id: id.to_string(),
            hash: hash.map(str::to_string),
            origin: Some(if created { "created" } else { "adopted" }.into()),
        }
    }

    /// A failed result, or the error itself when it ends the run.
    fn failure(&self, base: Outcome, e: ApiError) -> anyhow::Result<Outcome> {
        if e.is_fatal() {
            return Err(fatal(e));
        }
        let mut o = base;
        o.status = Status::Failed;
        o.error = Some(Failure::from(&e));
        Ok(o)
    }

    /// Decide an object against the journal and the snapshot.
    pub fn decide(&self, rec: &Record, hash: &str, label: &str) -> std::io::Result<Decision> {
        let kind = &rec.kind;
        let target = self.target;
        let mapped = self
            .state
            .mapping(kind.as_str(), target.name(), &rec.source, &rec.id)?;
        if let Some(m) = mapped
            && target.exists(kind, &m.target_id)
        {
            let id = m.target_id;
            if m.hash.as_deref() == Some(hash) {
                return Ok(Decision::Skip {
                    id,
                    reason: "unchanged since the last load".into(),
                    adopt: false,
                });
            }
            if m.created || self.opts.update_existing {
                return Ok(Decision::Update(id));
            }
            self.needs_decision(label);
            return Ok(Decision::Skip {
                id,
                reason: "was in the tenant before the migration: `--update-existing` updates it"
                    .into(),
                adopt: false,
            });
        }
        if *kind == Kind::Group
            && self.opts.cleanup_groups
            && let Found::Same { id, .. } = target.find(kind, &rec.data)
        {
            return Ok(Decision::Replace {
                old: id,
                name: label.to_string(),
            });
        }
        let found = target.find(kind, &rec.data);
        let claimed = match &found {
            Found::Same { id, .. } => self.claim(kind, id, rec)?,
            _ => None,
        };
        Ok(match found {
            // found by a key the tenant does not hold unique (Okta's email), on an account
            // another source object holds: not this one's; its own key is free, so create it
            Found::Same { how, .. } if claimed.is_some() && !target.key_is_unique(kind, how) => {
                Decision::Create
            }
            // the account an earlier load made or adopted for another source object: taking it
            // would give this one that one's access
            Found::Same { id, how } if let Some((src, sid)) = claimed => {
                Decision::Conflict(format!(
                    "the tenant's {kind} with the same {how} (id {id}) belongs to {src}:{sid}, loaded before; two source {kind}s claim one account: keep one at the source or change the other's {how}"
                ))
            }
            // found under this one's name after an earlier run sent its create and died before
            // the answer was journaled: this migration's own, finished with an update
            Found::Same { id, .. }
                if self
                    .state
                    .intended(kind.as_str(), target.name(), &rec.source, &rec.id) =>
            {
                Decision::Update(id)
            }
            Found::Same { id, .. } if self.opts.update_existing => Decision::Update(id),
            Found::Same { id, how } => Decision::Skip {
                id,
                reason: format!("already in the tenant (same {how})"),
                adopt: true,
            },
            Found::Conflict { reason, .. } => Decision::Conflict(reason),
            Found::None => Decision::Create,
        })
    }

    /// Settle a new object. When that takes calls, the create is journaled first, without a
    /// hash: a run killed in between finds it changed and finishes it with an update, rather
    /// than adopting a half-made object as if it had been in the tenant before.
    fn settle_journaled(&self, rec: &Record, id: &str) -> anyhow::Result<Result<(), ApiError>> {
        if self.target.settles(&rec.kind, id, &rec.data) {
            self.note(&[self.map_event(rec, id, None, true)])?;
        }
        Ok(self.target.settle(&rec.kind, id, &rec.data))
    }

    /// Claim the tenant's `id` for `rec`: the other source object the journal, or this run,
    /// already gave it to, if any; otherwise `rec` holds it from now on. Check and claim are
    /// one step, so two workers never adopt one account for two source objects.
    fn claim(
        &self,
        kind: &Kind,
        id: &str,
        rec: &Record,
    ) -> std::io::Result<Option<(String, String)>> {
        let key = format!("{kind}\u{0}{id}");
        self.with_claims(|table| {
            if let Some(owner) = table.get(key.as_bytes())? {
                let owner = String::from_utf8_lossy(&owner);
                let (src, sid) = owner.split_once('\u{0}').unwrap_or((&owner, ""));
                if src != rec.source || sid != rec.id {
                    return Ok(Some((src.to_string(), sid.to_string())));
                }
                return Ok(None);
            }
            table.insert(
                key.as_bytes(),
                format!("{}\u{0}{}", rec.source, rec.id).as_bytes(),
            )?;
            Ok(None)
        })
    }

    fn needs_decision(&self, label: &str) {
        self.decisions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(format!("`{label}`"));
    }

    /// Groups, users or apps: decide and (with `--apply`) create or update, with N workers.
    /// Returns the number of writes planned.
    pub fn objects(
        &self,
        kind: Kind,
        records: SpoolRecords,
        overlay: &mut Overlay,
        emitter: &mut Emitter,
    ) -> anyhow::Result<u64> {
        let mut writes = 0u64;
        // Two input objects that would be one in the target (two groups whose names differ
        // only in case): the first is loaded, the others follow it.
        let mut first_of: HashMap<String, (String, String)> = HashMap::new();
        let mut aliases: Vec<(Record, String, String)> = Vec::new();
        let work = |item: Spooled| -> anyhow::Result<(Outcome, u64)> { self.object(item) };
        let dedup = records.filter_map(|item| {
            let item = match item {
                Ok(i) => i,
                Err(e) => return Some(Err(e)),
            };
            if item.superseded_by.is_none()
                && matches!(kind, Kind::Group | Kind::App)
                && let Some(key) = self.target.unique_key(&kind, &item.record.data)
            {
                let rec = &item.record;
                if let Some((src, id)) = first_of.get(&key) {
                    aliases.push((item.record, src.clone(), id.clone()));
                    return None;
                }
                first_of.insert(key, (rec.source.clone(), rec.id.clone()));
            }
            Some(Ok(item))
        });
        let mut failed_read = None;
        let jobs = dedup.map_while(|r| match r {
            Ok(i) => Some(i),
            Err(e) => {
                failed_read = Some(e);
                None
            }
        });
        super::pool::run(
            self.opts.workers,
            self.opts.workers * 2,
            jobs,
            work,
            |o: Option<anyhow::Result<(Outcome, u64)>>| -> anyhow::Result<()> {
                let Some(o) = o else {
                    return emitter.flush().context("writing results");
                };
                let (o, w) = o?;
                writes += w;
                let res = match (&o.status, &o.target_id, o.op) {
                    (Status::Failed, _, _) => Res::Failed,
                    (_, Some(t), op) => Res::Id {
                        id: t.clone(),
                        new: op == Op::Create,
                    },
                    (Status::Planned, None, Op::Create) => Res::Pending,
                    _ => Res::Failed,
                };
                let label = o.label.clone().unwrap_or_default();
                overlay
                    .insert(o.of.clone(), &o.source, &o.id, res, label)
                    .context("remembering the run's objects")?;
                emitter.emit(o).context("writing results")
            },
        )?;
        jobs_guard(&mut failed_read)?;
        // the followers take their leader's place in the target
        for (rec, src, id) in aliases {
            let label = self.target.label(&kind, &rec.data);
            let (res, leader) = overlay
                .get(&kind, &src, &id)
                .context("reading the run's objects")?
                .unwrap_or((Res::Unknown, String::new()));
            let word = match kind {
                Kind::Group => self.target.group_word(),
                _ => kind.as_str(),
            };
            let reason = format!(
                "same {word} as {src}:{id} in this input (`{label}`; names match with case and spaces folded): loaded once, as that one"
            );
            tracing::warn!("{}:{}: {reason}", rec.source, rec.id);
            let mut o = Outcome::new(kind.clone(), &rec.source, &rec.id, Op::Skip, self.status())
                .label(label.clone())
                .reason(reason);
            if let Res::Id { id: tid, .. } = &res {
                o = o.target(Some(tid.clone()));
                if self.opts.apply {
                    self.note(&[self.map_event(&rec, tid, None, false)])?;
                }
            }
            let res = match res {
                Res::Id { id, .. } => Res::Id { id, new: false },
                other => other,
            };
            // its edges are shown with the name the target has
            let shown = if leader.is_empty() { label } else { leader };
            overlay
                .insert(kind.clone(), &rec.source, &rec.id, res, shown)
                .context("remembering the run's objects")?;
            emitter.emit(o)?;
        }
        Ok(writes)
    }

    /// Decide and carry out one object: its outcome and the writes it costs (plan).
    fn object(&self, item: Spooled) -> anyhow::Result<(Outcome, u64)> {
        let rec = &item.record;
        let kind = &rec.kind;
        let label = self.target.label(kind, &rec.data);
        let new = |op: Op, status: Status| {
            Outcome::new(kind.clone(), &rec.source, &rec.id, op, status).label(label.clone())
        };
        if let Some(line) = item.superseded_by {
            let reason = format!(
                "superseded: input line {line} has the same {kind} again (the last one is loaded)"
            );
            return Ok((new(Op::Skip, self.status()).reason(reason), 0));
        }
        if *kind == Kind::User {
            let missing = self.target.missing_attributes(&rec.data);
            if !missing.is_empty() {
                self.missing_attrs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(missing);
            }
        }
        let hash = payload_hash(&rec.data);
        let decision = self
            .decide(rec, &hash, &label)
            .context("reading the state journal")?;
        let writes = decision.writes();
        let apply = self.opts.apply;
        let outcome = match decision {
            Decision::Conflict(reason) => {
                let mut o = new(Op::Create, Status::Failed);
                o.error = Some(Failure::local(reason));
                o
            }
            Decision::Skip { id, reason, adopt } => {
                if adopt && apply {
                    self.note(&[self.map_event(rec, &id, None, false)])?;
                }
                new(Op::Skip, self.status()).target(Some(id)).reason(reason)
            }
            Decision::Create if !apply => new(Op::Create, Status::Planned),
            Decision::Replace { old, name } => {
                let reason = format!(
                    "replaces the existing {} `{name}` (id {old}) (`--cleanup-roles`)",
                    self.target.group_word()
                );
                if !apply {
                    new(Op::Create, Status::Planned).reason(reason)
                } else {
                    match self.target.delete(kind, &old) {
                        Err(e) if e.status != Some(404) => {
                            return Ok((self.failure(new(Op::Create, Status::Ok), e)?, 0));
                        }
                        _ => {}
                    }
                    match self.target.create(kind, &rec.data, &[]) {
                        Ok(c) => {
                            let id = c.id();
                            self.note(&[self.map_event(rec, &id, Some(&hash), true)])?;
                            new(Op::Create, Status::Ok).target(Some(id)).reason(reason)
                        }
                        Err(e) => self.failure(new(Op::Create, Status::Ok), e)?,
                    }
                }
            }
            Decision::Create => match self.create_intended(rec)? {
                Ok(Created::New(id)) => match self.settle_journaled(rec, &id)? {
                    Ok(()) => {
                        self.note(&[self.map_event(rec, &id, Some(&hash), true)])?;
                        new(Op::Create, Status::Ok).target(Some(id))
                    }
                    Err(e) if e.is_fatal() => return Err(fatal(e)),
                    Err(e) => {
                        // created, not settled: journaled without a hash, so the next run
                        // finds it changed and finishes the job with an update
                        self.note(&[self.map_event(rec, &id, None, true)])?;
                        let mut o = new(Op::Create, Status::Failed).target(Some(id));
                        let mut f = Failure::from(&e);
                        f.message = format!("created, but {}: {}", e.what, f.message);
                        o.error = Some(f);
                        o
                    }
                },
                Ok(Created::Existing(id)) if self.opts.update_existing => {
                    self.update(rec, &hash, &id, &label, false)?.0
                }
                Ok(Created::Existing(id)) => {
                    self.note(&[self.map_event(rec, &id, None, false)])?;
                    new(Op::Skip, Status::Ok)
                        .target(Some(id))
                        .reason("already in the tenant (the create was refused as a duplicate)")
                }
                Err(e) => self.failure(new(Op::Create, Status::Ok), e)?,
            },
            Decision::Update(id) => {
                let created = self
                    .state
                    .mapping(kind.as_str(), self.target.name(), &rec.source, &rec.id)
                    .context("reading the state journal")?
                    .is_some_and(|m| m.created && m.target_id == id)
                    || self
                        .state
                        .intended(kind.as_str(), self.target.name(), &rec.source, &rec.id);
                let (o, w) = self.update(rec, &hash, &id, &label, created)?;
                return Ok((o, w));
            }
        };
        Ok((outcome, writes))
    }

    /// The parents of the edges the target makes with this object's create (Okta's
    /// `groupIds`, OneLogin's `role_ids`), resolved before the users' phase.
    fn edges_with(&self, rec: &Record) -> std::io::Result<Vec<String>> {
        match &self.create_edges {
            Some(ce) if ce.of == rec.kind => ce.parents(&rec.source, &rec.id),
            _ => Ok(Vec::new()),
        }
    }

    /// Read what the tenant holds, then update only when something differs.
    fn update(
        &self,
        rec: &Record,
        hash: &str,
        id: &str,
        label: &str,
        created: bool,
    ) -> anyhow::Result<(Outcome, u64)> {
        let kind = &rec.kind;
        let new = |op: Op, status: Status| {
            Outcome::new(kind.clone(), &rec.source, &rec.id, op, status)
                .label(label)
                .target(Some(id))
        };
        let diff = match self.target.current(kind, id) {
            Ok(Some(cur)) => Some(changes(&rec.data, &cur)),
            Ok(None) => None,
            Err(e) if e.status == Some(404) => None,
            Err(e) => return Ok((self.failure(new(Op::Update, Status::Ok), e)?, 0)),
        };
        if let Some(d) = &diff
            && d.is_empty()
        {
            if self.opts.apply {
                self.note(&[self.map_event(rec, id, Some(hash), created)])?;
            }
            return Ok((
                new(Op::Skip, self.status()).reason("already up to date in the tenant"),
                0,
            ));
        }
        let with_changes = |o: Outcome| match &diff {
            Some(d) => o.changes(d.clone()),
            None => o,
        };
        if !self.opts.apply {
            return Ok((with_changes(new(Op::Update, Status::Planned)), 1));
        }
        match self.target.update(kind, id, &rec.data) {
            Ok(()) => {
                self.note(&[self.map_event(rec, id, Some(hash), created)])?;
                Ok((with_changes(new(Op::Update, Status::Ok)), 0))
            }
            Err(e) if *kind == Kind::User && e.is_account_owner() => {
                tracing::warn!("user `{}` is the account owner: not modified", rec.label());
                self.owners
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(label.to_string());
                self.note(&[self.map_event(rec, id, None, false)])?;
                Ok((
                    new(Op::Skip, Status::Ok).reason("account owner: never modified"),
                    0,
                ))
            }
            Err(e) => Ok((self.failure(new(Op::Update, Status::Ok), e)?, 0)),
        }
    }
}

/// A read error of the spool that stopped the feed: it ends the run.
fn jobs_guard(failed: &mut Option<std::io::Error>) -> anyhow::Result<()> {
    match failed.take() {
        Some(e) => Err(anyhow::Error::new(e).context("reading the spool")),
        None => Ok(()),
    }
}
