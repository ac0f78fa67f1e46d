//! idm-verify: prove a migration worked. The mapped records say what should be in the
//! target; the journal says where each object went; the target is read in bulk; one `verify`
//! record per object and edge says what was found:
//!
//! - `match`: in the target with the values mapped;
//! - `differs`: in the target with other values (`changes`: each field as the target holds it,
//!   `from`, and as mapped, `to`; secrets masked);
//! - `missing`: not in the target;
//! - `unexpected`: created by this migration but no longer in the source (a journal mapping
//!   of `origin: created` whose source record is not in the input);
//! - `not_migrated`: rejected or skipped upstream (an exported record idm-map did not map, an
//!   edge the target cannot take), with the reason.
//!
//! The input may hold the export too (`cat export.ndjson mapped.ndjson | idm-verify`): its
//! records without a mapped counterpart are the `not_migrated` ones. Read-only; the listings
//! are spooled to a temporary file with an index of offsets, so memory is an index of ids, not
//! a copy of the tenant.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::journal::State;
use crate::load::spool::edge_ends;
use crate::provider::target::{Found, Needs, Target};
use crate::record::result::{Changes, changes};
use crate::record::{Kind, Record, RecordReader, RecordWriter, Rejects};
use crate::table::DiskTable;

/// What verification found for one object or edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    Match,
    Differs,
    Missing,
    Unexpected,
    NotMigrated,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Differs => "differs",
            Verdict::Missing => "missing",
            Verdict::Unexpected => "unexpected",
            Verdict::NotMigrated => "not_migrated",
        }
    }

    /// Whether it says the migration is not as it should be.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            Verdict::Differs | Verdict::Missing | Verdict::Unexpected
        )
    }
}

/// Counts of a verification.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// (kind, verdict) → count.
    pub counts: BTreeMap<(String, Verdict), u64>,
    pub rejected: u64,
    /// `differs` of objects that were in the tenant before the migration: decisions for a
    /// person, not failures.
    pub preexisting_differs: u64,
}

impl Summary {
    /// What the migration did not make as mapped (pre-existing objects left as they were
    /// excepted): the exit code says it.
    pub fn problems(&self) -> u64 {
        self.counts
            .iter()
            .filter(|((_, v), _)| v.is_problem())
            .map(|(_, n)| n)
            .sum::<u64>()
            - self.preexisting_differs
    }

    /// `verified: user: 120 match, 1 differs; membership: 300 match`.
    pub fn line(&self) -> String {
        let mut by_kind: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for ((kind, v), n) in &self.counts {
            by_kind.entry(kind).or_default().push(format!(
                "{} {}",
                crate::cli::status::count(*n),
                v.as_str()
            ));
        }
        if by_kind.is_empty() {
            return "verified: nothing to verify".into();
        }
        let parts: Vec<String> = by_kind
            .into_iter()
            .map(|(k, v)| format!("{k}: {}", v.join(", ")))
            .collect();
        format!("verified: {}", parts.join("; "))
    }
}

fn key(kind: &str, source: &str, id: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    kind.hash(&mut h);
    source.hash(&mut h);
    id.hash(&mut h);
    h.finish()
}

/// Records spooled to a temporary file, read back in order.
struct Spool {
    out: BufWriter<File>,
}

impl Spool {
    fn new() -> io::Result<Spool> {
        Ok(Spool {
            out: BufWriter::new(tempfile::tempfile()?),
        })
    }

    fn push(&mut self, raw: &[u8]) -> io::Result<()> {
        self.out.write_all(raw)?;
        self.out.write_all(b"\n")
    }

    fn records(self) -> io::Result<impl Iterator<Item = io::Result<Record>>> {
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok(BufReader::new(file).lines().map(|l| {
            let l = l?;
            serde_json::from_str::<Record>(&l).map_err(io::Error::other)
        }))
    }
}

/// Lines found by a 64-bit key, on disk ([`DiskTable`]: about 1.5 bytes a line in memory); a
/// key written twice keeps its last line.
struct LineTable(DiskTable);

impl LineTable {
    fn new() -> io::Result<LineTable> {
        Ok(LineTable(DiskTable::new()?))
    }

    fn push(&mut self, key: u64, line: &[u8]) -> io::Result<()> {
        self.0.insert(&key.to_le_bytes(), line)
    }

    fn get(&self, key: u64) -> io::Result<Option<Vec<u8>>> {
        self.0.get(&key.to_le_bytes())
    }
}

/// A set of 64-bit keys, on disk ([`DiskTable`]): a lookup is exact (a key read back, never
/// a filter's guess), and memory stays about 1.5 bytes a key.
struct KeySet(DiskTable);

impl KeySet {
    fn new() -> io::Result<KeySet> {
        Ok(KeySet(DiskTable::new()?))
    }

    fn insert(&mut self, key: u64) -> io::Result<()> {
        self.0.insert(&key.to_le_bytes(), &[])
    }

    fn contains(&self, key: u64) -> io::Result<bool> {
        Ok(self.0.get(&key.to_le_bytes())?.is_some())
    }
}

/// The target's objects of one kind, spooled, found by id.
struct Listing(LineTable);

fn id_hash(id: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

impl Listing {
    fn read(target: &dyn Target, kind: &Kind) -> anyhow::Result<Listing> {
        let mut table = LineTable::new()?;
        let mut failed = None;
        target
            .list_objects(kind, &mut |id, obj| {
                if failed.is_some() {
                    return;
                }
                let written = serde_json::to_vec(&obj)
                    .map_err(io::Error::other)
                    .and_then(|line| table.push(id_hash(&id), &line));
                if let Err(e) = written {
                    failed = Some(e);
                }
            })
            .map_err(anyhow::Error::new)?;
        if let Some(e) = failed {
            return Err(anyhow::Error::new(e).context("spooling the target's objects"));
        }
        Ok(Listing(table))
    }

    fn get(&self, id: &str) -> io::Result<Option<Value>> {
        Ok(self
            .0
            .get(id_hash(id))?
            .and_then(|line| serde_json::from_slice(&line).ok()))
    }
}

/// Where each verified object went, for its edges (by [`key`]): on disk, about 1.5 bytes an
/// object in memory.
struct SeenTable(LineTable);

impl SeenTable {
    fn insert(&mut self, key: u64, seen: &Seen) -> io::Result<()> {
        let line = serde_json::to_vec(&(&seen.target_id, &seen.label)).map_err(io::Error::other)?;
        self.0.push(key, &line)
    }

    fn get(&self, key: u64) -> io::Result<Option<Seen>> {
        let Some(line) = self.0.get(key)? else {
            return Ok(None);
        };
        let (target_id, label): (Option<String>, String) =
            serde_json::from_slice(&line).map_err(io::Error::other)?;
        Ok(Some(Seen { target_id, label }))
    }
}

/// Where a verified object is in the target, and what a person calls it.
#[derive(Debug, Clone)]
struct Seen {
    target_id: Option<String>,
    label: String,
}

/// Writes verify records and counts them.
struct Out<'a> {
    out: &'a mut RecordWriter,
    summary: &'a mut Summary,
    target: &'static str,
}

impl Out<'_> {
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        of: &Kind,
        source: &str,
        id: &str,
        verdict: Verdict,
        label: &str,
        target_id: Option<&str>,
        changes: Option<Changes>,
        reason: Option<String>,
    ) -> io::Result<()> {
        *self
            .summary
            .counts
            .entry((of.as_str().to_string(), verdict))
            .or_default() += 1;
        let mut data = serde_json::Map::new();
        data.insert("of".into(), json!(of.as_str()));
        if !label.is_empty() {
            data.insert("label".into(), json!(label));
        }
        data.insert("target_id".into(), json!(target_id));
        data.insert("status".into(), json!(verdict.as_str()));
        if let Some(c) = changes {
            data.insert("changes".into(), Value::Object(c));
        }
        if let Some(r) = reason {
            data.insert("reason".into(), json!(r));
        }
        let mut rec = Record::new(Kind::Verify, source, id, Value::Object(data));
        rec.target = Some(self.target.to_string());
        self.out.write(&rec)
    }
}

/// A label for an exported record a target adapter never saw: its email, login or name.
fn export_label(rec: &Record) -> String {
    let d = &rec.data;
    [
        "/profile/login",
        "/profile/email",
        "/email",
        "/username",
        "/login",
        "/profile/name",
        "/name",
        "/label",
    ]
    .iter()
    .find_map(|p| d.pointer(p).and_then(Value::as_str))
    .unwrap_or_default()
    .to_string()
}

/// What the input holds: mapped objects and edges (spooled), exported records (spooled), and
/// the keys of what was mapped.
struct Inputs {
    objects: Spool,
    edges: Spool,
    exported: Spool,
    /// Every mapped record, by [`key`].
    mapped_keys: KeySet,
    mapped_kinds: HashSet<(String, String)>,
}

/// Read the input once: mapped records for this target are spooled by phase, exported ones
/// kept for `not_migrated`; records mapped for another target are rejected.
fn read_input<R: BufRead>(
    name: &str,
    input: &mut RecordReader<R>,
    rejects: &mut Rejects,
) -> anyhow::Result<Inputs> {
    let mut objects = Spool::new()?;
    let mut edges = Spool::new()?;
    let mut exported = Spool::new()?;
    let mut mapped_keys = KeySet::new()?;
    let mut mapped_kinds: HashSet<(String, String)> = HashSet::new();
    while let Some(entry) = input.next_good(rejects)? {
        let rec = &entry.record;
        if !matches!(
            rec.kind,
            Kind::User | Kind::Group | Kind::App | Kind::Membership | Kind::AppAssignment
        ) {
            continue;
        }
        match rec.target.as_deref() {
            Some(t) if t == name => {
                mapped_keys.insert(key(rec.kind.as_str(), &rec.source, &rec.id))?;
                mapped_kinds.insert((rec.kind.as_str().to_string(), rec.source.clone()));
                if matches!(rec.kind, Kind::Membership | Kind::AppAssignment) {
                    edges.push(input.raw())?;
                } else {
                    objects.push(input.raw())?;
                }
            }
            Some(other) => {
                rejects.reject(
                    entry.line,
                    Some(&rec.label()),
                    input.raw(),
                    &format!("record is mapped for `{other}`, not `{name}`"),
                )?;
            }
            None => exported.push(input.raw())?,
        }
    }
    if let crate::record::stream::Completeness::Incomplete(why) = input.completeness() {
        anyhow::bail!("the input is incomplete: {why}; nothing verified");
    }
    Ok(Inputs {
        objects,
        edges,
        exported,
        mapped_keys,
        mapped_kinds,
    })
}

/// Verify the records of `input` against `target`. Results go to `out`.
pub fn run<R: BufRead>(
    target: &dyn Target,
    state: &State,
    input: &mut RecordReader<R>,
    rejects: &mut Rejects,
    out: &mut RecordWriter,
) -> anyhow::Result<Summary> {
    let name = target.name();
    let inputs = read_input(name, input, rejects)?;
    let mut summary = Summary {
        rejected: rejects.count(),
        ..Summary::default()
    };
    target.authenticate().map_err(crate::load::fatal)?;
    target
        .read(Needs {
            groups: true,
            users: true,
            apps: true,
            memberships: true,
            assignments: true,
        })
        .map_err(crate::load::fatal)?;
    let mut listings: HashMap<&'static str, Listing> = HashMap::new();
    for kind in [Kind::User, Kind::Group, Kind::App] {
        let l = Listing::read(target, &kind)
            .with_context(|| format!("listing the target's {kind}s"))?;
        listings.insert(kind_name(&kind), l);
    }
    let mut out = Out {
        out,
        summary: &mut summary,
        target: name,
    };
    let seen = verify_objects(target, state, inputs.objects, &mut listings, &mut out)?;
    verify_edges(target, state, inputs.edges, &seen, &mut out)?;
    not_migrated(inputs.exported, &inputs.mapped_keys, &mut out)?;
    unexpected(
        target,
        state,
        &inputs.mapped_keys,
        &inputs.mapped_kinds,
        &mut listings,
        &mut out,
    )?;
    Ok(summary)
}

/// Objects: where each went, and whether it is there as mapped. Returns where each went, for
/// the edges.
fn verify_objects(
    target: &dyn Target,
    state: &State,
    objects: Spool,
    listings: &mut HashMap<&'static str, Listing>,
    out: &mut Out<'_>,
) -> anyhow::Result<SeenTable> {
    let name = target.name();
    let mut seen = SeenTable(LineTable::new()?);
    for rec in objects.records()? {
        let rec = rec?;
        let kind = &rec.kind;
        let label = target.label(kind, &rec.data);
        let mapping = state.mapping(kind.as_str(), name, &rec.source, &rec.id)?;
        let (tid, adopted) = match &mapping {
            Some(m) => (Some(m.target_id.clone()), false),
            None => match target.find(kind, &rec.data) {
                Found::Same { id, .. } => (Some(id), true),
                _ => (None, false),
            },
        };
        let listing = listings
            .get_mut(kind_name(kind))
            .expect("every object kind is listed");
        let current = match &tid {
            Some(t) => listing.get(t)?,
            None => None,
        };
        let k = key(kind.as_str(), &rec.source, &rec.id);
        match (&tid, current) {
            (Some(t), Some(cur)) => {
                let want = target.comparable(kind, &rec.data);
                let diff = changes(&want, &cur);
                // an object that was in the tenant before the migration was adopted as it is
                // (idm-load changes it only with --update-existing): a difference is a
                // decision for a person, not a failure of the migration
                let preexisting = adopted || mapping.is_some_and(|m| !m.created);
                let (verdict, reason) = if diff.is_empty() {
                    (
                        Verdict::Match,
                        adopted.then(|| {
                            "in the target, not in the journal (adopted by name or email)"
                                .to_string()
                        }),
                    )
                } else if preexisting {
                    (
                        Verdict::Differs,
                        Some(
                            "was in the tenant before the migration and kept as it was: `idm-load --update-existing` updates it"
                                .to_string(),
                        ),
                    )
                } else {
                    (Verdict::Differs, None)
                };
                if verdict == Verdict::Differs && preexisting {
                    out.summary.preexisting_differs += 1;
                }
                let diff = (!diff.is_empty()).then_some(diff);
                out.emit(
                    kind,
                    &rec.source,
                    &rec.id,
                    verdict,
                    &label,
                    Some(t),
                    diff,
                    reason,
                )?;
                seen.insert(
                    k,
                    &Seen {
                        target_id: Some(t.clone()),
                        label,
                    },
                )?;
            }
            (Some(t), None) => {
                let reason = if mapping.is_some_and(|m| m.created) {
                    "created by this migration, no longer in the target"
                } else {
                    "the journal maps it to an object the target no longer has"
                };
                out.emit(
                    kind,
                    &rec.source,
                    &rec.id,
                    Verdict::Missing,
                    &label,
                    Some(t),
                    None,
                    Some(reason.into()),
                )?;
                seen.insert(
                    k,
                    &Seen {
                        target_id: None,
                        label,
                    },
                )?;
            }
            (None, _) => {
                out.emit(
                    kind,
                    &rec.source,
                    &rec.id,
                    Verdict::Missing,
                    &label,
                    None,
                    None,
                    Some(format!(
                        "not in the target and not in the journal: was it loaded? (`idm-load --to {name} --apply`)"
                    )),
                )?;
                seen.insert(
                    k,
                    &Seen {
                        target_id: None,
                        label,
                    },
                )?;
            }
        }
    }
    Ok(seen)
}

/// Edges: both ends where they should be, and the edge between them.
fn verify_edges(
    target: &dyn Target,
    state: &State,
    edges: Spool,
    seen: &SeenTable,
    out: &mut Out<'_>,
) -> anyhow::Result<()> {
    let name = target.name();
    let mut live: HashMap<(String, String), HashSet<String>> = HashMap::new();
    for rec in edges.records()? {
        let rec = rec?;
        let kind = &rec.kind;
        let Some(ends) = edge_ends(&rec) else {
            continue;
        };
        let resolve = |end: &crate::provider::target::End, sid: &str| -> io::Result<Seen> {
            let k = end.kind();
            if let Some(s) = seen.get(key(k.as_str(), &rec.source, sid))? {
                return Ok(s);
            }
            let tid = state
                .target_id(k.as_str(), name, &rec.source, sid)?
                .filter(|t| target.exists(&k, t));
            Ok(Seen {
                target_id: tid,
                label: format!("{}:{sid}", rec.source),
            })
        };
        let a = resolve(&ends[0].0, &ends[0].1)?;
        let b = resolve(&ends[1].0, &ends[1].1)?;
        let label = format!("{} ← {}", a.label, b.label);
        let shape = match target.edge_shape(kind, ends[1].0) {
            Ok(s) => s,
            Err(reason) => {
                out.emit(
                    kind,
                    &rec.source,
                    &rec.id,
                    Verdict::NotMigrated,
                    &label,
                    None,
                    None,
                    Some(reason.into()),
                )?;
                continue;
            }
        };
        let (Some(ta), Some(tb)) = (&a.target_id, &b.target_id) else {
            let which = if a.target_id.is_none() { &a } else { &b };
            out.emit(
                kind,
                &rec.source,
                &rec.id,
                Verdict::Missing,
                &label,
                None,
                None,
                Some(format!("`{}` is not in the target", which.label)),
            )?;
            continue;
        };
        let (parent, child) = if ends[0].0 == shape.parent {
            (ta, tb)
        } else {
            (tb, ta)
        };
        let has = match target.has_edge(kind, parent, child) {
            Some(h) => h,
            None => {
                let set = match live.entry((kind.as_str().to_string(), parent.clone())) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(target.edges_of(kind, parent).map_err(crate::load::fatal)?)
                    }
                };
                set.contains(child.as_str())
            }
        };
        let tid = format!("{parent}/{child}");
        let verdict = if has {
            Verdict::Match
        } else {
            Verdict::Missing
        };
        out.emit(
            kind,
            &rec.source,
            &rec.id,
            verdict,
            &label,
            Some(&tid),
            None,
            None,
        )?;
    }
    Ok(())
}

/// Exported but not mapped: rejected or skipped upstream.
fn not_migrated(exported: Spool, mapped_keys: &KeySet, out: &mut Out<'_>) -> anyhow::Result<()> {
    for rec in exported.records()? {
        let rec = rec?;
        if mapped_keys.contains(key(rec.kind.as_str(), &rec.source, &rec.id))? {
            continue;
        }
        let reason = match rec.kind {
            Kind::Membership | Kind::AppAssignment => {
                "idm-map dropped it with its group, user or app (skipped or rejected there)"
            }
            _ => {
                "not mapped: idm-map rejected or skipped it (its reason is on idm-map's stderr and in --rejects)"
            }
        };
        let label = export_label(&rec);
        out.emit(
            &rec.kind,
            &rec.source,
            &rec.id,
            Verdict::NotMigrated,
            &label,
            None,
            None,
            Some(reason.into()),
        )?;
    }
    Ok(())
}

/// Created by this migration and no longer in the source (only kinds the input holds: a delta
/// of users says nothing of groups).
fn unexpected(
    target: &dyn Target,
    state: &State,
    mapped_keys: &KeySet,
    mapped_kinds: &HashSet<(String, String)>,
    listings: &mut HashMap<&'static str, Listing>,
    out: &mut Out<'_>,
) -> anyhow::Result<()> {
    let name = target.name();
    let mut gone = Vec::new();
    for mapping in state.mappings(name) {
        let (kind, source, id, m) = mapping?;
        let (kind, source, id) = (kind.as_str(), source.as_str(), id.as_str());
        if !m.created
            || !matches!(kind, "user" | "group" | "app")
            || !mapped_kinds.contains(&(kind.to_string(), source.to_string()))
            || mapped_keys.contains(key(kind, source, id))?
        {
            continue;
        }
        gone.push((
            Kind::from(kind),
            source.to_string(),
            id.to_string(),
            m.target_id.clone(),
        ));
    }
    gone.sort_by(|a, b| (a.0.as_str(), &a.1, &a.2).cmp(&(b.0.as_str(), &b.1, &b.2)));
    for (kind, source, id, tid) in gone {
        let listing = listings
            .get_mut(kind_name(&kind))
            .expect("every object kind is listed");
        if let Some(cur) = listing.get(&tid)? {
            let label = target.label(&kind, &cur);
            out.emit(
                &kind,
                &source,
                &id,
                Verdict::Unexpected,
                &label,
                Some(&tid),
                None,
                Some("created by this migration, no longer in the source".into()),
            )?;
        }
    }
    Ok(())
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::User => "user",
        Kind::Group => "group",
        _ => "app",
    }
}
