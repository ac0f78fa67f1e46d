//! The edge phases: memberships and app assignments, one generic phase for every target.
//!
//! An edge's ends are resolved through this run's outcomes and the journal (so input order
//! does not matter). It is skipped when it is already done: the journal has it between the
//! same target ids and the tenant does not say otherwise, or the tenant already has it. Edges
//! are grouped by the end the target batches on ([`EdgeShape::parent`]: a OneLogin role takes
//! many users per call, an Okta group one) and written by N workers. A refused batch is split
//! into smaller ones, so one bad id fails only its own edge, and a batch refused for its size
//! lowers the size of every later call.
//!
//! An end that failed in this run fails its edges too, naming it (so `--retry-from` takes
//! them again with it); an end that is nowhere (neither in the input nor in the journal) is a
//! `failed` result: the input is inconsistent. Edges of what idm-map rejected never get here:
//! idm-map drops them and says why, once.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::atomic::Ordering;

use anyhow::Context as _;

use super::sort::{Sorted, Sorter};
use super::spool::{SpoolRecords, edge_ends};
use super::{Emitter, Loader, Overlay, Res, fatal};
use crate::journal::Event;
use crate::provider::target::End;
use crate::record::Kind;
use crate::record::result::{Failure, Op, Outcome, Status};

/// One edge waiting to be written.
struct Pending {
    child: String,
    source: String,
    id: String,
    label: String,
}

impl Pending {
    /// The edge as spooled, with its parent's facts (`new`, batch size).
    fn encode(&self, parent_new: bool, batch: usize) -> Vec<u8> {
        let fields = [&self.child, &self.source, &self.id, &self.label];
        let mut out = Vec::with_capacity(9 + fields.iter().map(|f| f.len() + 4).sum::<usize>());
        out.push(u8::from(parent_new));
        out.extend_from_slice(&(batch as u64).to_le_bytes());
        for f in fields {
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(f.as_bytes());
        }
        out
    }

    fn decode(bytes: &[u8]) -> io::Result<(bool, usize, Pending)> {
        let bad = || io::Error::other("a spooled edge does not decode");
        let (&new, mut rest) = bytes.split_first().ok_or_else(bad)?;
        let batch = rest.get(..8).ok_or_else(bad)?;
        let batch = u64::from_le_bytes(batch.try_into().map_err(|_| bad())?) as usize;
        rest = &rest[8..];
        let mut field = || -> io::Result<String> {
            let len = rest.get(..4).ok_or_else(bad)?;
            let len = u32::from_le_bytes(len.try_into().map_err(|_| bad())?) as usize;
            let text = rest.get(4..4 + len).ok_or_else(bad)?;
            let text = String::from_utf8(text.to_vec()).map_err(|_| bad())?;
            rest = &rest[4 + len..];
            Ok(text)
        };
        let pending = Pending {
            child: field()?,
            source: field()?,
            id: field()?,
            label: field()?,
        };
        Ok((new == 1, batch, pending))
    }
}

/// The spooled edges as jobs: consecutive edges of one parent in chunks of its batch size
/// (exact-size chunks, in input order within a parent, parents in order of their ids).
struct Batches {
    sorted: Sorted,
    /// The first edge of the next job, read ahead.
    next: Option<(String, bool, usize, Pending)>,
    /// The parent of the last job, with its facts as its first edge gave them.
    parent: Option<(String, bool, usize)>,
}

impl Batches {
    fn read(&mut self) -> io::Result<Option<(String, bool, usize, Pending)>> {
        let Some(item) = self.sorted.next() else {
            return Ok(None);
        };
        let (parent, payload) = item?;
        let parent = String::from_utf8(parent.into())
            .map_err(|_| io::Error::other("a spooled edge's parent is not text"))?;
        let (new, batch, pending) = Pending::decode(&payload)?;
        Ok(Some((parent, new, batch, pending)))
    }
}

impl Iterator for Batches {
    type Item = io::Result<(String, bool, Vec<Pending>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let first = match self.next.take() {
            Some(f) => f,
            None => match self.read() {
                Ok(Some(f)) => f,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            },
        };
        let (parent, mut new, mut batch, pending) = first;
        match &self.parent {
            Some((p, n, b)) if *p == parent => (new, batch) = (*n, *b),
            _ => self.parent = Some((parent.clone(), new, batch)),
        }
        let mut chunk = vec![pending];
        while chunk.len() < batch {
            match self.read() {
                Ok(Some(item)) if item.0 == parent => chunk.push(item.3),
                Ok(Some(item)) => {
                    self.next = Some(item);
                    break;
                }
                Ok(None) => break,
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok((parent, new, chunk)))
    }
}

impl Loader<'_> {
    fn edge_event(&self, kind: &Kind, source: &str, id: &str, ends: &str) -> Event {
        Event::Edge {
            kind: kind.as_str().to_string(),
            source: source.to_string(),
            id: id.to_string(),
            target: self.target.name().into(),
            target_id: Some(ends.to_string()),
        }
    }

    /// Whether the target makes this edge with the create of `child` (a source id).
    fn made_with_create(
        &self,
        kind: &Kind,
        source: &str,
        child: &str,
        parent: &str,
    ) -> std::io::Result<bool> {
        match &self.create_edges {
            Some(ce) if ce.edge == *kind => {
                Ok(ce.parents(source, child)?.iter().any(|p| p == parent))
            }
            _ => Ok(false),
        }
    }

    /// The reason of an edge made with its child's create.
    fn with_create(&self) -> String {
        let field = self.create_edges.as_ref().map_or("", |ce| ce.field);
        format!("with the user's create ({field})")
    }

    fn word(&self, end: End) -> &'static str {
        match end {
            End::Group => self.target.group_word(),
            other => other.as_str(),
        }
    }

    /// Memberships or app assignments. Returns the number of writes planned.
    pub fn edges(
        &self,
        kind: Kind,
        records: SpoolRecords,
        overlay: &Overlay,
        emitter: &mut Emitter,
    ) -> anyhow::Result<u64> {
        let name = self.target.name();
        // edges to write, by parent target id (with whether it is new and its batch size)
        let mut batches = Sorter::default();
        // parent key (target id, or source id while pending) → edges planned
        let mut planned: HashMap<String, (u64, usize)> = HashMap::new();
        let mut unsupported: BTreeMap<&'static str, u64> = BTreeMap::new();
        for item in records {
            let item = item?;
            let rec = &item.record;
            let Some(ends) = edge_ends(rec) else {
                continue; // checked on input
            };
            let new = |op: Op, status: Status| {
                Outcome::new(kind.clone(), &rec.source, &rec.id, op, status)
            };
            let resolved: Vec<(Res, String)> = ends
                .iter()
                .map(|(end, sid)| {
                    let (res, label) = self.resolve(overlay, &end.kind(), &rec.source, sid)?;
                    let label = if label.is_empty() {
                        format!("{}:{sid}", rec.source)
                    } else {
                        label
                    };
                    Ok((res, label))
                })
                .collect::<std::io::Result<_>>()
                .context("reading the run's objects")?;
            let label = format!("{} ← {}", resolved[0].1, resolved[1].1);
            if let Some(line) = item.superseded_by {
                emitter.emit(new(Op::Skip, self.status()).label(label).reason(format!(
                    "superseded: input line {line} has the same {kind} again (the last one is loaded)"
                )))?;
                continue;
            }
            let shape = match self.target.edge_shape(&kind, ends[1].0) {
                Ok(s) => s,
                Err(reason) => {
                    *unsupported.entry(reason).or_default() += 1;
                    emitter.emit(new(Op::Skip, self.status()).label(label).reason(reason))?;
                    continue;
                }
            };
            if let Some(o) = self.unresolved(&ends, &resolved, new(Op::Assign, Status::Failed)) {
                emitter.emit(o.label(label))?;
                continue;
            }
            let parent_at = usize::from(ends[0].0 != shape.parent);
            let (parent, child) = (&resolved[parent_at].0, &resolved[1 - parent_at].0);
            // planned with the child's create (Okta's `groupIds`): no call of its own
            if let (Res::Id { id: pid, .. }, Res::Pending) = (parent, child)
                && self
                    .made_with_create(&kind, &rec.source, &ends[1 - parent_at].1, pid)
                    .context("reading the index of memberships")?
            {
                emitter.emit(
                    new(Op::Assign, Status::Planned)
                        .label(label)
                        .reason(self.with_create()),
                )?;
                continue;
            }
            let (Res::Id { id: pid, new: pnew }, Res::Id { id: cid, new: cnew }) = (parent, child)
            else {
                // an end is only planned: so is the edge
                let key = ends[parent_at].1.clone();
                let e = planned.entry(key).or_insert((0, shape.batch));
                e.0 += 1;
                emitter.emit(new(Op::Assign, Status::Planned).label(label))?;
                continue;
            };
            let ends_id = format!("{pid}/{cid}");
            if self.target.edge_made_at_create(&kind, pid, cid) {
                if self.opts.apply {
                    self.note(&[self.edge_event(&kind, &rec.source, &rec.id, &ends_id)])?;
                }
                emitter.emit(
                    new(Op::Assign, self.status())
                        .label(label)
                        .target(Some(ends_id))
                        .reason(self.with_create()),
                )?;
                continue;
            }
            let in_tenant = self.target.has_edge(&kind, pid, cid);
            let done = match self
                .state
                .edge(kind.as_str(), name, &rec.source, &rec.id)
                .context("reading the state journal")?
            {
                Some(Some(t)) => t == ends_id && in_tenant != Some(false),
                // an older journal without target ids: trust it unless an end is new
                Some(None) => !pnew && !cnew && in_tenant != Some(false),
                None => false,
            };
            if done {
                emitter.emit(
                    new(Op::Skip, self.status())
                        .label(label)
                        .target(Some(ends_id))
                        .reason("already loaded"),
                )?;
                continue;
            }
            if in_tenant == Some(true) {
                if self.opts.apply {
                    self.note(&[self.edge_event(&kind, &rec.source, &rec.id, &ends_id)])?;
                }
                let reason = format!(
                    "the {} already has the {}",
                    self.word(shape.parent),
                    self.word(shape.child)
                );
                emitter.emit(
                    new(Op::Skip, self.status())
                        .label(label)
                        .target(Some(ends_id))
                        .reason(reason),
                )?;
                continue;
            }
            if self.opts.apply {
                let pending = Pending {
                    child: cid.clone(),
                    source: rec.source.clone(),
                    id: rec.id.clone(),
                    label,
                };
                batches
                    .push(pid.as_bytes(), &pending.encode(*pnew, shape.batch.max(1)))
                    .context("spooling edges")?;
            } else {
                let e = planned.entry(pid.clone()).or_insert((0, shape.batch));
                e.0 += 1;
                emitter.emit(
                    new(Op::Assign, Status::Planned)
                        .label(label)
                        .target(Some(ends_id)),
                )?;
            }
        }
        for (reason, n) in unsupported {
            tracing::warn!("{n} {kind} records skipped: {reason}");
        }
        if !self.opts.apply {
            return Ok(planned
                .values()
                .map(|(n, batch)| n.div_ceil((*batch).max(1) as u64))
                .sum());
        }
        let mut failed_read = None;
        let jobs = Batches {
            sorted: batches.finish().context("spooling edges")?,
            next: None,
            parent: None,
        }
        .map_while(|r| match r {
            Ok(job) => Some(job),
            Err(e) => {
                failed_read = Some(e);
                None
            }
        });
        let kind_ref = &kind;
        // a job is up to a batch of edges (a thousand for a OneLogin role): a short queue
        super::pool::run(
            self.opts.workers,
            self.opts.workers.div_ceil(4),
            jobs,
            |(parent, is_new, chunk)| self.add(kind_ref, &parent, is_new, chunk),
            |outs: Option<anyhow::Result<Vec<Outcome>>>| -> anyhow::Result<()> {
                let Some(outs) = outs else {
                    return emitter.flush().context("writing results");
                };
                for o in outs? {
                    emitter.emit(o)?;
                }
                Ok(())
            },
        )?;
        if let Some(e) = failed_read {
            return Err(anyhow::Error::new(e).context("reading the spooled edges"));
        }
        Ok(0)
    }

    /// The result of an edge whose ends are not both known or planned.
    fn unresolved(
        &self,
        ends: &[(End, String); 2],
        resolved: &[(Res, String)],
        failed: Outcome,
    ) -> Option<Outcome> {
        for ((end, sid), (res, label)) in ends.iter().zip(resolved) {
            let word = self.word(*end);
            match res {
                Res::Failed => {
                    // failed, not skipped: `--retry-from` must take the edge again with its end
                    let mut o = failed;
                    o.error = Some(Failure::local(format!(
                        "{word} `{label}` was not loaded (see its result)"
                    )));
                    return Some(o);
                }
                Res::Unknown => {
                    let mut o = failed;
                    o.error = Some(Failure::local(format!(
                        "{word} `{sid}` is neither in this input nor in the state journal: load it first (was it rejected by idm-map?)"
                    )));
                    return Some(o);
                }
                _ => {}
            }
        }
        None
    }

    /// Add one chunk of edges to `parent`, in pieces of at most the batch size the target
    /// has taken so far. When the API refuses a piece, it is split into pieces of the next
    /// smaller size of [`SPLIT_SIZES`] and each is tried: a bad id fails only its own edge (in
    /// a few calls, not one per edge), and when every smaller piece is taken the refusal was
    /// the size, so no later call is that large ([`Loader::edge_batch`]).
    fn add(
        &self,
        kind: &Kind,
        parent: &str,
        is_new: bool,
        chunk: Vec<Pending>,
    ) -> anyhow::Result<Vec<Outcome>> {
        let most = self.edge_batch.load(Ordering::Relaxed).max(1);
        if chunk.len() > most {
            return self.add_in_pieces(kind, parent, is_new, chunk, most);
        }
        let children: Vec<String> = chunk.iter().map(|p| p.child.clone()).collect();
        let outcome = |p: &Pending, status: Status| {
            Outcome::new(kind.clone(), &p.source, &p.id, Op::Assign, status)
                .label(p.label.clone())
                .target(Some(format!("{parent}/{}", p.child)))
        };
        match self.target.add_edges(kind, parent, &children, is_new) {
            Ok(()) => {
                let events: Vec<Event> = chunk
                    .iter()
                    .map(|p| {
                        self.edge_event(kind, &p.source, &p.id, &format!("{parent}/{}", p.child))
                    })
                    .collect();
                self.note(&events)?;
                Ok(chunk.iter().map(|p| outcome(p, Status::Ok)).collect())
            }
            Err(e) if e.is_fatal() => Err(fatal(e)),
            Err(_) if chunk.len() > 1 => {
                let refused = chunk.len();
                let size = smaller(refused);
                let outs = self.add_in_pieces(kind, parent, is_new, chunk, size)?;
                if outs.iter().all(|o| o.status == Status::Ok)
                    && self.edge_batch.fetch_min(size, Ordering::Relaxed) > size
                {
                    tracing::info!(
                        "the target refused {refused} {kind} edges in one call and took them {size} at a time: at most {size} a call from now on"
                    );
                }
                Ok(outs)
            }
            Err(e) => Ok(chunk
                .iter()
                .map(|p| {
                    let mut o = outcome(p, Status::Failed);
                    o.error = Some(Failure::from(&e));
                    o
                })
                .collect()),
        }
    }
}

impl Loader<'_> {
    /// Split `chunk` into pieces of at most `size` edges and add each.
    fn add_in_pieces(
        &self,
        kind: &Kind,
        parent: &str,
        is_new: bool,
        mut chunk: Vec<Pending>,
        size: usize,
    ) -> anyhow::Result<Vec<Outcome>> {
        let mut outs = Vec::with_capacity(chunk.len());
        while !chunk.is_empty() {
            let rest = chunk.split_off(chunk.len().min(size));
            outs.extend(self.add(kind, parent, is_new, chunk)?);
            chunk = rest;
        }
        Ok(outs)
    }
}

/// The sizes a refused batch is split into, largest first: the APIs' maxima are not all
/// documented, and these are the sizes APIs commonly take.
const SPLIT_SIZES: [usize; 9] = [500, 200, 100, 50, 20, 10, 5, 2, 1];

/// The largest of [`SPLIT_SIZES`] below `n` (`n` > 1).
fn smaller(n: usize) -> usize {
    SPLIT_SIZES.into_iter().find(|s| *s < n).unwrap_or(1)
}

#[cfg(test)]
mod split_tests {
    use super::smaller;

    #[test]
    fn a_refused_batch_is_split_into_the_next_smaller_size() {
        assert_eq!(smaller(1000), 500);
        assert_eq!(smaller(501), 500);
        assert_eq!(smaller(500), 200);
        assert_eq!(smaller(137), 100);
        assert_eq!(smaller(100), 50);
        assert_eq!(smaller(3), 2);
        assert_eq!(smaller(2), 1);
    }
}
