//! idm-export: stream every object of a [`Source`] out as export records, kind by kind.
//!
//! The order is fixed (attribute, group, user, membership, app, app_assignment) so that a
//! reader downstream meets definitions before the objects that use them and objects before
//! the edges between them. Records go to one output stream and, with `--snapshot-dir`, also to
//! one timestamped file per kind. Nothing is held: a record is written as soon as its page
//! arrives.
//!
//! The bookmark for `--since last` is the time the export *started* (on the source's clock),
//! written to the journal only when the whole export completed and covered both users and
//! groups: a change made while the export ran is picked up again by the next catch-up run
//! rather than lost, and a failed or partial export never moves the bookmark.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::Progress;
use crate::provider::{ExportOptions, Sink, Source, SourceError};
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
