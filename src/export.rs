//! idm-export: stream every object of a [`Source`] out as export records, kind by kind.
//!
//! The order is fixed (attribute, group, user, membership, app, app_assignment) so that a
//! reader downstream meets definitions before the objects that use them and objects before
//! the edges between them (idm-map drops the edges of groups it skips and of users it rejects,
//! so it must have seen them first). Records go to one output stream and, with
//! `--snapshot-dir`, also to one timestamped file per kind.
//!
//! A source that can [`Source::fork`] (Okta) is read in parallel *lanes*, each on its own
//! handle sharing one client (one quota per bucket): the schema, groups then their members,
//! users, apps then their assignments. Each lane depends on nothing the others read, and each
//! reads its own rate-limit buckets, so the export takes about as long as its busiest bucket
//! rather than the sum of all. What the lanes read goes through one ordered spool per kind
//! ([`spool`]): the kind being written streams through memory, the others wait on disk until
//! their turn, so the output order is the fixed one above, memory stays flat, and each group's
//! members (or app's assignments) come together, in the order the groups were listed, even
//! when several are listed at once.
//!
//! The bookmark for `--since last` is the time the export *started* (on the source's clock),
//! written to the journal only when the whole export completed and covered both users and
//! groups: a change made while the export ran is picked up again by the next catch-up run
//! rather than lost, and a failed or partial export never moves the bookmark.

mod spool;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::Progress;
use crate::provider::{ExportOptions, Part, Sink, Source, SourceError};
use crate::record::schema::{CompileError, Schemas};
use crate::record::{Kind, Record, RecordWriter};

/// The order kinds are exported in.
pub const ORDER: [Kind; 6] = [
    Kind::Attribute,
    Kind::Group,
    Kind::User,
    Kind::Membership,
    Kind::App,
    Kind::AppAssignment,
];

/// The kinds read one after another on one handle when a source reads in parallel: an edge
/// kind is listed per parent, with the parent ids its parent kind's pass remembered.
const LANES: [&[Kind]; 4] = [
    &[Kind::Attribute],
    &[Kind::Group, Kind::Membership],
    &[Kind::User],
    &[Kind::App, Kind::AppAssignment],
];

/// What `--objects` accepts for a kind: plural names as in the issue, singular record kinds,
/// and `schema` / `attributes` for the custom attribute definitions.
pub fn parse_objects(list: &str) -> Result<Vec<Kind>, String> {
    let mut wanted = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let kind = match name.to_ascii_lowercase().as_str() {
            "schema" | "attribute" | "attributes" => Kind::Attribute,
            "group" | "groups" => Kind::Group,
            "user" | "users" => Kind::User,
            "membership" | "memberships" => Kind::Membership,
            "app" | "apps" => Kind::App,
            "app_assignment" | "app_assignments" => Kind::AppAssignment,
            "all" => return Ok(ORDER.to_vec()),
            _ => {
                return Err(format!(
                    "unknown object kind `{name}`: expected users, groups, memberships, apps, app_assignments or schema"
                ));
            }
        };
        if !wanted.contains(&kind) {
            wanted.push(kind);
        }
    }
    if wanted.is_empty() {
        return Err("no object kinds given".into());
    }
    Ok(ORDER
        .iter()
        .filter(|k| wanted.contains(k))
        .cloned()
        .collect())
}

/// `--since`: the journal's bookmark or an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    Last,
    At(String),
}

/// Parse `--since`: `last`, an RFC 3339 instant (any offset) or a date (midnight UTC).
pub fn parse_since(s: &str) -> Result<Since, String> {
    if s.trim().eq_ignore_ascii_case("last") {
        return Ok(Since::Last);
    }
    normalize_time(s).map(Since::At)
}

/// An instant as Okta writes and filters them: UTC with milliseconds, `2026-01-01T00:00:00.000Z`.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// An RFC 3339 instant (or a `YYYY-MM-DD` date) in the form of [`format_time`].
pub fn normalize_time(s: &str) -> Result<String, String> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(format_time(t));
    }
    let date_fmt = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(s, &date_fmt) {
        return Ok(format_time(d.midnight().assume_utc()));
    }
    Err(format!(
        "invalid time `{s}`: expected RFC 3339 such as `2026-01-01T00:00:00Z`, or `last`"
    ))
}

/// `20261122T081500Z`, for snapshot file names.
pub fn file_stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Errors of an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The cause is the `source()`, not part of the message: `{err:#}` prints the chain, and a
    /// closed pipe is found in it (`| head` is not a failure).
    #[error("exporting {kind}s")]
    Source {
        kind: Kind,
        #[source]
        cause: SourceError,
    },
    #[error("{0} cannot export `{1}`")]
    Unsupported(&'static str, Kind),
    #[error(transparent)]
    Schemas(#[from] CompileError),
    #[error("snapshot directory `{path}`: {source}")]
    Snapshot {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What an export did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Records written per kind, in export order.
    pub counts: BTreeMap<String, u64>,
    /// When the export started, on the source's clock (`--since last` starts here next time).
    pub started: String,
    /// The snapshot files written.
    pub snapshots: Vec<PathBuf>,
    /// Records written with a warning because they do not match their schema.
    pub invalid: u64,
}

impl Summary {
    /// Records of `kind` written.
    pub fn count(&self, kind: &Kind) -> u64 {
        self.counts.get(kind.as_str()).copied().unwrap_or(0)
    }

    /// What the export wrote, for its summary line:
    /// `exported 1,528 records (12 attributes, 26 groups, 300 users, 1,190 memberships)`.
    pub fn line(&self) -> String {
        use crate::cli::status::count;
        let total: u64 = self.counts.values().sum();
        let kinds: Vec<String> = ORDER
            .iter()
            .filter_map(|k| {
                let n = *self.counts.get(k.as_str())?;
                let noun = k.as_str().replace('_', " ");
                Some(match n {
                    1 => format!("1 {noun}"),
                    _ => format!("{} {noun}s", count(n)),
                })
            })
            .collect();
        let mut line = format!(
            "exported {} record{} ({})",
            count(total),
            if total == 1 { "" } else { "s" },
            kinds.join(", ")
        );
        if self.invalid > 0 {
            line.push_str(&format!(
                ", {} not matching their schema (each carries a warning)",
                count(self.invalid)
            ));
        }
        line
    }
}

/// True when an export of `kinds` may move the `--since last` bookmark.
pub fn bookmarks(kinds: &[Kind]) -> bool {
    kinds.contains(&Kind::User) && kinds.contains(&Kind::Group)
}

/// Where one kind's records go.
struct KindSink<'a> {
    schemas: &'static Schemas,
    invalid: u64,
    out: &'a mut RecordWriter,
    snapshot: Option<RecordWriter>,
    count: u64,
    records_bar: Progress,
    parents_bar: Option<Progress>,
    label: String,
    /// What the source lists this kind by (`groups` for memberships).
    parents: &'static str,
    show_progress: bool,
}

impl Sink for KindSink<'_> {
    fn record(&mut self, mut record: Record) -> Result<(), SourceError> {
        // The source's object is its truth: a record that does not match our schema is still
        // written, whole, with a warning for a person, never dropped; idm-map decides.
        if let Err(e) = self.schemas.validate_record(&record) {
            tracing::warn!("{}: does not match `{}`: {e}", record.label(), e.schema);
            record
                .warnings
                .push(format!("does not match schema `{}`: {e}", e.schema));
            self.invalid += 1;
        }
        self.out.write(&record)?;
        if let Some(s) = &mut self.snapshot {
            s.write(&record)?;
        }
        self.count += 1;
        self.records_bar.inc(1);
        Ok(())
    }

    fn parents(&mut self, done: u64, total: u64) {
        if !self.show_progress {
            return;
        }
        let bar = self.parents_bar.get_or_insert_with(|| {
            self.records_bar.finish_and_clear();
            // memberships are listed group by group: the total known is the groups'
            crate::cli::progress(&format!("{} ({})", self.label, self.parents), Some(total))
        });
        bar.set_position(done);
    }
}

/// Export `kinds` (in [`ORDER`]) from `source` to `out`, and to per-kind files in
/// `snapshot_dir` when given. `progress` shows bars on a terminal (see [`crate::cli::progress`]).
pub fn export(
    source: &mut dyn Source,
    kinds: &[Kind],
    opts: &ExportOptions,
    out: &mut RecordWriter,
    snapshot_dir: Option<&Path>,
    progress: bool,
) -> Result<Summary, ExportError> {
    let supported = source.kinds();
    if let Some(k) = kinds.iter().find(|k| !supported.contains(k)) {
        return Err(ExportError::Unsupported(source.name(), k.clone()));
    }
    let schemas = Schemas::try_get()?;
    let started_local = OffsetDateTime::now_utc();
    let stamp = file_stamp(started_local);
    if let Some(dir) = snapshot_dir {
        create_private_dir(dir).map_err(|source| ExportError::Snapshot {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    if source.fork().is_some() {
        let run = Parallel {
            source: &*source,
            kinds,
            opts,
            schemas,
            snapshot_dir,
            stamp: &stamp,
            progress,
        };
        let (counts, snapshots, invalid, skew) = run.run(out)?;
        return Ok(Summary {
            counts,
            started: format_time(started_local + skew),
            snapshots,
            invalid,
        });
    }
    let mut counts = BTreeMap::new();
    let mut snapshots = Vec::new();
    let mut invalid = 0;
    for kind in ORDER.iter().filter(|k| kinds.contains(k)) {
        let snapshot = match snapshot_dir {
            Some(dir) => {
                let path = dir.join(format!("{}_{}_{}.ndjson", source.name(), kind, stamp));
                let w =
                    RecordWriter::create(Some(&path)).map_err(|source| ExportError::Snapshot {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                snapshots.push(path);
                Some(w)
            }
            None => None,
        };
        let label = format!("{kind}s");
        let records_bar = if progress {
            crate::cli::progress(&label, None)
        } else {
            Progress::hidden()
        };
        let mut sink = KindSink {
            schemas,
            invalid: 0,
            out: &mut *out,
            snapshot,
            count: 0,
            records_bar,
            parents_bar: None,
            parents: match kind {
                Kind::AppAssignment => "apps",
                _ => "groups",
            },
            label,
            show_progress: progress,
        };
        let wrap = |cause| ExportError::Source {
            kind: kind.clone(),
            cause,
        };
        source.export(kind, opts, &mut sink).map_err(wrap)?;
        if let Some(s) = sink.snapshot.take() {
            s.finish().map_err(|e| wrap(SourceError::Io(e)))?;
        }
        sink.records_bar.finish_and_clear();
        if let Some(b) = &sink.parents_bar {
            b.finish_and_clear();
        }
        tracing::info!("exported {} {kind} records", sink.count);
        counts.insert(kind.to_string(), sink.count);
        invalid += sink.invalid;
        // let a reader downstream start on this kind while the next one is fetched
        out.flush().map_err(|e| wrap(SourceError::Io(e)))?;
    }
    Ok(Summary {
        counts,
        started: format_time(started_local + source.clock_skew()),
        snapshots,
        invalid,
    })
}

/// Records the lanes read and how many of them did not match their schema.
#[derive(Default)]
struct Counts {
    read: AtomicU64,
    invalid: AtomicU64,
}

/// Writes one segment of a kind's spool: checks each record against its schema (a record that
/// does not match is written with a warning, never dropped) and serializes it.
struct SegmentSink {
    schemas: &'static Schemas,
    spool: Arc<spool::KindSpool>,
    /// Opened on the first record after a part was taken (so the order holds).
    segment: Option<spool::SegmentWriter>,
    counts: Arc<Counts>,
}

impl SegmentSink {
    fn new(schemas: &'static Schemas, spool: Arc<spool::KindSpool>, counts: Arc<Counts>) -> Self {
        SegmentSink {
            schemas,
            spool,
            segment: None,
            counts,
        }
    }

    fn finish(&mut self) -> Result<(), SourceError> {
        match self.segment.take() {
            Some(seg) => seg.done().map_err(SourceError::Io),
            None => Ok(()),
        }
    }
}

impl Sink for SegmentSink {
    fn record(&mut self, mut record: Record) -> Result<(), SourceError> {
        if let Err(e) = self.schemas.validate_record(&record) {
            tracing::warn!("{}: does not match `{}`: {e}", record.label(), e.schema);
            record
                .warnings
                .push(format!("does not match schema `{}`: {e}", e.schema));
            self.counts.invalid.fetch_add(1, Ordering::Relaxed);
        }
        self.counts.read.fetch_add(1, Ordering::Relaxed);
        let spool = &self.spool;
        let seg = self.segment.get_or_insert_with(|| spool.open());
        serde_json::to_writer(&mut *seg.buffer(), &record).map_err(std::io::Error::other)?;
        seg.end_line()?;
        Ok(())
    }

    fn part(&mut self) -> Option<Box<dyn Part>> {
        // what this sink took so far comes before the part
        if self.finish().is_err() {
            return None;
        }
        Some(Box::new(PartSink(SegmentSink {
            schemas: self.schemas,
            segment: Some(self.spool.open()),
            spool: self.spool.clone(),
            counts: self.counts.clone(),
        })))
    }
}

/// A parent's share of a kind, filled on a worker thread.
struct PartSink(SegmentSink);

impl Sink for PartSink {
    fn record(&mut self, record: Record) -> Result<(), SourceError> {
        self.0.record(record)
    }
}

impl Part for PartSink {
    fn done(mut self: Box<Self>) -> Result<(), SourceError> {
        self.0.finish()
    }
}

/// An export read in lanes (see the module docs).
struct Parallel<'a> {
    source: &'a dyn Source,
    kinds: &'a [Kind],
    opts: &'a ExportOptions,
    schemas: &'static Schemas,
    snapshot_dir: Option<&'a Path>,
    stamp: &'a str,
    progress: bool,
}

type Written = (BTreeMap<String, u64>, Vec<PathBuf>, u64, time::Duration);

impl Parallel<'_> {
    fn run(&self, out: &mut RecordWriter) -> Result<Written, ExportError> {
        let abort = Arc::new(AtomicBool::new(false));
        let order: Vec<Kind> = ORDER
            .iter()
            .filter(|k| self.kinds.contains(k))
            .cloned()
            .collect();
        let spools: Vec<(Kind, Arc<spool::KindSpool>)> = order
            .iter()
            .map(|k| (k.clone(), spool::KindSpool::new(abort.clone())))
            .collect();
        let spool_of = |k: &Kind| {
            spools
                .iter()
                .find(|(kind, _)| kind == k)
                .map(|(_, s)| s.clone())
        };
        let counts = Arc::new(Counts::default());
        // the first failure of a lane: (kind, cause)
        let failure: Mutex<Option<(Kind, SourceError)>> = Mutex::new(None);
        let stop_all = || {
            abort.store(true, Ordering::Relaxed);
            for (_, s) in &spools {
                s.wake();
            }
        };
        let mut skews = Vec::new();
        let written = std::thread::scope(|scope| {
            let mut lanes = Vec::new();
            for lane in LANES {
                let mine: Vec<Kind> = lane.iter().filter(|k| order.contains(k)).cloned().collect();
                if mine.is_empty() {
                    continue;
                }
                let Some(mut fork) = self.source.fork() else {
                    unreachable!("checked by the caller")
                };
                let lane_spools: Vec<Arc<spool::KindSpool>> =
                    mine.iter().filter_map(&spool_of).collect();
                let counts = counts.clone();
                let failure = &failure;
                let stop_all = &stop_all;
                let opts = self.opts;
                let schemas = self.schemas;
                lanes.push(scope.spawn(move || {
                    for (kind, spool) in mine.iter().zip(&lane_spools) {
                        let mut sink = SegmentSink::new(schemas, spool.clone(), counts.clone());
                        let result = fork
                            .export(kind, opts, &mut sink)
                            .and_then(|()| sink.finish());
                        drop(sink);
                        spool.close();
                        if let Err(cause) = result {
                            let mut first = failure.lock().unwrap_or_else(|e| e.into_inner());
                            if first.is_none() && !is_stopped(&cause) {
                                *first = Some((kind.clone(), cause));
                            }
                            drop(first);
                            stop_all();
                            for s in &lane_spools {
                                s.close();
                            }
                            break;
                        }
                    }
                    fork.clock_skew()
                }));
            }
            let written = self.consume(&order, &spools, out);
            if written.is_err() {
                stop_all();
            }
            for lane in lanes {
                match lane.join() {
                    Ok(skew) => skews.push(skew),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            written
        });
        let failure = failure.into_inner().unwrap_or_else(|e| e.into_inner());
        if (failure.is_some() || written.is_err()) && counts.read.load(Ordering::Relaxed) > 0 {
            // records were read, maybe none written yet (a kind before the failed one may
            // still have been on its way): the stream says it was cut short all the same
            let _ = out.begin();
        }
        let (counts_by_kind, snapshots) = match (written, failure) {
            (_, Some((kind, cause))) => return Err(ExportError::Source { kind, cause }),
            (Err(e), None) => return Err(e),
            (Ok(w), None) => w,
        };
        // the lanes' clocks agree (one server); any that saw a skew says it
        let skew = skews
            .into_iter()
            .find(|s| !s.is_zero())
            .unwrap_or(time::Duration::ZERO);
        Ok((
            counts_by_kind,
            snapshots,
            counts.invalid.load(Ordering::Relaxed),
            skew,
        ))
    }

    /// Drain the spools in order into `out` (and the snapshot files).
    fn consume(
        &self,
        order: &[Kind],
        spools: &[(Kind, Arc<spool::KindSpool>)],
        out: &mut RecordWriter,
    ) -> Result<(BTreeMap<String, u64>, Vec<PathBuf>), ExportError> {
        let mut counts = BTreeMap::new();
        let mut snapshots = Vec::new();
        for (kind, spool) in spools.iter().filter(|(k, _)| order.contains(k)) {
            let wrap = |cause| ExportError::Source {
                kind: kind.clone(),
                cause,
            };
            let mut snapshot = match self.snapshot_dir {
                Some(dir) => {
                    let name = format!("{}_{}_{}.ndjson", self.source.name(), kind, self.stamp);
                    let path = dir.join(name);
                    let w = RecordWriter::create(Some(&path)).map_err(|source| {
                        ExportError::Snapshot {
                            path: dir.to_path_buf(),
                            source,
                        }
                    })?;
                    snapshots.push(path);
                    Some(w)
                }
                None => None,
            };
            let bar = if self.progress {
                crate::cli::progress(&format!("{kind}s"), None)
            } else {
                Progress::hidden()
            };
            spool.activate();
            let mut written = 0u64;
            loop {
                match spool.next().map_err(|e| wrap(SourceError::Io(e)))? {
                    spool::Next::Lines(bytes, lines) => {
                        out.write_lines(&bytes, lines)
                            .map_err(|e| wrap(SourceError::Io(e)))?;
                        if let Some(s) = &mut snapshot {
                            s.write_lines(&bytes, lines)
                                .map_err(|e| wrap(SourceError::Io(e)))?;
                        }
                        written += lines;
                        bar.inc(lines);
                    }
                    spool::Next::End => break,
                    spool::Next::Broken => {
                        // the lane's own error is what the caller reports
                        return Err(wrap(SourceError::Invalid(format!(
                            "the listing of `{kind}` records stopped before its end"
                        ))));
                    }
                }
            }
            if let Some(s) = snapshot.take() {
                s.finish().map_err(|e| wrap(SourceError::Io(e)))?;
            }
            bar.finish_and_clear();
            tracing::info!("exported {written} {kind} records");
            counts.insert(kind.to_string(), written);
            // let a reader downstream start on this kind while the next one is written
            out.flush().map_err(|e| wrap(SourceError::Io(e)))?;
        }
        Ok((counts, snapshots))
    }
}

/// The error of a lane stopped because another failed (not a failure of its own).
fn is_stopped(e: &SourceError) -> bool {
    matches!(e, SourceError::Io(io) if io.kind() == std::io::ErrorKind::Interrupted)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

pub mod subset;

#[cfg(test)]
mod tests;
