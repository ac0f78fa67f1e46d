//! Reading idm-load's input: checking each record and spooling it by phase.
//!
//! Records arrive in any order, but a target needs groups before memberships, users before
//! memberships and apps before app assignments. Rather than holding records in memory, every
//! good record is written to one anonymous temporary file per phase (created 0600 and
//! unlinked: nothing is left behind, even after kill -9) and read back phase by phase.
//!
//! A record that cannot be loaded (not mapped for this target, missing what the target needs,
//! an edge without its ends) is rejected here with its line number and the field at fault, and
//! the rest goes on.
//!
//! An input that is the wrong kind of stream (an export that was never mapped, records mapped
//! for another target) would fail record by record, thousands of times over. So the first
//! failures are held back: when the first [`FIRST_FAILURES`] loadable records all fail for one
//! reason, or no record of the input is mapped for the target, the read stops with one usage
//! error naming the fix, and nothing is rejected.
//!
//! The same source object twice in one stream (two lines with one kind, source and id) is
//! noticed: the last line wins, deterministically, and the earlier ones are skipped with a
//! reason naming the line that supersedes them. To notice it, each record's key is hashed and
//! sorted with its line on disk (an external sort: flat memory), and only the keys that do
//! repeat are kept, with the line of their last occurrence; 8 bytes per object stay for the
//! preflight.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};

use serde_json::Value;

use super::sort::Sorter;
use crate::provider::target::{End, Target};
use crate::record::{Kind, Record, RecordReader, Rejects};

/// The phases of a load, in apply order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Groups,
    Users,
    Memberships,
    Apps,
    Assignments,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::Groups,
        Phase::Users,
        Phase::Memberships,
        Phase::Apps,
        Phase::Assignments,
    ];

    pub fn of(kind: &Kind) -> Option<Phase> {
        Some(match kind {
            Kind::Group => Phase::Groups,
            Kind::User => Phase::Users,
            Kind::Membership => Phase::Memberships,
            Kind::App => Phase::Apps,
            Kind::AppAssignment => Phase::Assignments,
            _ => return None,
        })
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How many failures in a row, before any record passes, make an input the wrong kind of
/// stream when they share one reason.
pub const FIRST_FAILURES: usize = 20;

/// A failed record held back until the input is known to be the right kind of stream.
struct Held {
    line: u64,
    label: String,
    raw: Vec<u8>,
    reason: String,
}

/// The failures seen before the first record that passes.
#[derive(Default)]
struct Triage {
    held: Vec<Held>,
    /// A record passed, or the first failures differed: rejects are said as they come.
    settled: bool,
    /// Records whose `target` is the one loaded into.
    mapped: u64,
}

impl Triage {
    /// Say the held failures after all: the input is worth loading.
    fn settle(&mut self, rejects: &mut Rejects) -> io::Result<()> {
        self.settled = true;
        for h in std::mem::take(&mut self.held) {
            rejects.reject(h.line, Some(&h.label), &h.raw, &h.reason)?;
        }
        Ok(())
    }

    /// The input is the wrong kind of stream: one usage error instead of a reject per record.
    fn refuse(&self, target: &str, all_read: bool) -> Option<io::Error> {
        let first = self.held.first()?;
        let message = if self.mapped == 0 && all_read {
            format!(
                "no record of the input is mapped for `{target}`: pipe it through `idm-map --to {target}` first (line {}: {}); nothing read from or written to the tenant",
                first.line, first.reason
            )
        } else if self.held.len() >= FIRST_FAILURES
            && self.held.iter().all(|h| h.reason == first.reason)
        {
            format!(
                "the first {} records all fail the same way, so the input is not what idm-load takes: {}; nothing read from or written to the tenant",
                self.held.len(),
                first.reason
            )
        } else {
            return None;
        };
        Some(io::Error::new(
            io::ErrorKind::InvalidInput,
            crate::cli::UsageError(message),
        ))
    }
}

/// Which records to take (`--retry-from`): `(kind, source, id)` of the failed ones.
pub type Only = Option<HashSet<(String, String, String)>>;

fn key_hash(rec: &Record) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    rec.kind.as_str().hash(&mut h);
    rec.source.hash(&mut h);
    rec.id.hash(&mut h);
    h.finish()
}

/// The checked input, spooled by phase.
pub struct Spool {
    files: Vec<File>,
    counts: [u64; 5],
    /// Records of kinds idm-load does not load (`attribute`, `result`, …), ignored.
    pub ignored: u64,
    /// Keys seen more than once → the input line of their last occurrence.
    repeated: HashMap<u64, u64>,
    /// `(kind, source, id)` of the objects in the input, as sorted hashes: an edge end that
    /// is neither here nor in the journal cannot be resolved (the preflight says so).
    present: Vec<u64>,
}

impl Spool {
    /// Read every record of `reader`: good ones are spooled, bad ones go to `rejects`.
    pub fn read<R: BufRead>(
        reader: &mut RecordReader<R>,
        target: &dyn Target,
        rejects: &mut Rejects,
        only: &Only,
    ) -> io::Result<Spool> {
        let mut writers = Vec::with_capacity(5);
        for _ in 0..5 {
            writers.push(BufWriter::with_capacity(256 * 1024, tempfile::tempfile()?));
        }
        let mut spool = Spool {
            files: Vec::new(),
            counts: [0; 5],
            ignored: 0,
            repeated: HashMap::new(),
            present: Vec::new(),
        };
        // every record's key hash with its line (and whether it is an object), sorted on
        // disk afterwards to find the repeated keys: memory stays flat however many
        let mut keys = Sorter::default();
        let mut triage = Triage::default();
        while let Some(entry) = reader.next_good(rejects)? {
            let rec = &entry.record;
            let Some(phase) = Phase::of(&rec.kind) else {
                spool.ignored += 1;
                continue;
            };
            if let Some(only) = only
                && !only.contains(&(
                    rec.kind.as_str().to_string(),
                    rec.source.clone(),
                    rec.id.clone(),
                ))
            {
                continue;
            }
            if rec.target.as_deref() == Some(target.name()) {
                triage.mapped += 1;
            }
            if let Err(reason) = check(rec, target) {
                if triage.settled {
                    rejects.reject(entry.line, Some(&rec.label()), reader.raw(), &reason)?;
                    continue;
                }
                triage.held.push(Held {
                    line: entry.line,
                    label: rec.label(),
                    raw: reader.raw().to_vec(),
                    reason,
                });
                if triage.held.len() >= FIRST_FAILURES {
                    if let Some(e) = triage.refuse(target.name(), false) {
                        return Err(e);
                    }
                    triage.settle(rejects)?;
                }
                continue;
            }
            if !triage.settled {
                triage.settle(rejects)?;
            }
            let object = matches!(rec.kind, Kind::User | Kind::Group | Kind::App);
            let mut seen = [0u8; 9];
            seen[..8].copy_from_slice(&entry.line.to_le_bytes());
            seen[8] = u8::from(object);
            keys.push(&key_hash(rec).to_be_bytes(), &seen)?;
            // the line number goes first, so a superseded line can name its successor
            let out = &mut writers[phase.index()];
            write!(out, "{}\t", entry.line)?;
            out.write_all(reader.raw())?;
            out.write_all(b"\n")?;
            spool.counts[phase.index()] += 1;
        }
        if !triage.settled {
            if let Some(e) = triage.refuse(target.name(), true) {
                return Err(e);
            }
            triage.settle(rejects)?;
        }
        spool.sort_keys(keys)?;
        for w in writers {
            spool
                .files
                .push(w.into_inner().map_err(|e| e.into_error())?);
        }
        Ok(spool)
    }

    /// Find the keys that repeat and the objects present, from every record's key.
    fn sort_keys(&mut self, keys: Sorter) -> io::Result<()> {
        let objects =
            self.count(Phase::Groups) + self.count(Phase::Users) + self.count(Phase::Apps);
        self.present
            .reserve_exact(usize::try_from(objects).unwrap_or(0));
        // (key, times seen, last line, an object)
        let mut run: Option<(u64, u64, u64, bool)> = None;
        let mut end_run = |run: Option<(u64, u64, u64, bool)>| {
            if let Some((key, times, last, object)) = run {
                if times > 1 {
                    self.repeated.insert(key, last);
                }
                if object {
                    self.present.push(key);
                }
            }
        };
        let bad = || io::Error::other("reading the spool's keys: a bad record");
        for item in keys.finish()? {
            let (key, seen) = item?;
            let key = u64::from_be_bytes(key.as_ref().try_into().map_err(|_| bad())?);
            let line = u64::from_le_bytes(
                seen.get(..8)
                    .ok_or_else(bad)?
                    .try_into()
                    .map_err(|_| bad())?,
            );
            let object = seen.get(8) == Some(&1);
            match &mut run {
                Some((k, times, last, obj)) if *k == key => {
                    *times += 1;
                    *last = line;
                    *obj |= object;
                }
                _ => end_run(run.replace((key, 1, line, object))),
            }
        }
        end_run(run);
        Ok(())
    }

    /// How many records the phase has.
    pub fn count(&self, phase: Phase) -> u64 {
        self.counts[phase.index()]
    }

    /// How many keys appear more than once.
    pub fn repeated(&self) -> usize {
        self.repeated.len()
    }

    /// Free the index of the objects present ([`Spool::has`] answers no afterwards).
    pub fn forget_objects(&mut self) {
        self.present = Vec::new();
    }

    /// Whether the input holds the object `source:id` of `kind`.
    pub fn has(&self, kind: &Kind, source: &str, id: &str) -> bool {
        self.present
            .binary_search(&end_hash(kind, source, id))
            .is_ok()
    }

    /// Read the records of `phase` back (each call starts from the beginning).
    pub fn records(&self, phase: Phase) -> io::Result<SpoolRecords<'_>> {
        let mut file = self.files[phase.index()].try_clone()?;
        file.seek(SeekFrom::Start(0))?;
        Ok(SpoolRecords {
            reader: BufReader::with_capacity(256 * 1024, file),
            line: Vec::new(),
            repeated: &self.repeated,
        })
    }
}

fn end_hash(kind: &Kind, source: &str, id: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    kind.as_str().hash(&mut h);
    source.hash(&mut h);
    id.hash(&mut h);
    h.finish()
}

/// One spooled record.
pub struct Spooled {
    /// The input line it came from.
    pub line: u64,
    pub record: Record,
    /// Set when a later input line has the same kind, source and id: its line number.
    pub superseded_by: Option<u64>,
}

/// The records of one phase, as they were spooled.
pub struct SpoolRecords<'a> {
    reader: BufReader<File>,
    line: Vec<u8>,
    repeated: &'a HashMap<u64, u64>,
}

impl Iterator for SpoolRecords<'_> {
    type Item = io::Result<Spooled>;

    fn next(&mut self) -> Option<io::Result<Spooled>> {
        self.line.clear();
        match self.reader.read_until(b'\n', &mut self.line) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(e)),
        }
        // The spool holds lines that parsed once; a failure here is an I/O problem.
        let bad = |what: &str| io::Error::other(format!("reading the spool: {what}"));
        let text = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
        let Some(tab) = text.iter().position(|&b| b == b'\t') else {
            return Some(Err(bad("no line number")));
        };
        let line = std::str::from_utf8(&text[..tab])
            .ok()
            .and_then(|s| s.parse().ok());
        let record: Option<Record> = serde_json::from_slice(&text[tab + 1..]).ok();
        let (Some(line), Some(record)) = (line, record) else {
            return Some(Err(bad("a line does not parse")));
        };
        let superseded_by = self
            .repeated
            .get(&key_hash(&record))
            .copied()
            .filter(|last| *last != line);
        Some(Ok(Spooled {
            line,
            record,
            superseded_by,
        }))
    }
}

/// Why `rec` cannot be loaded into `target`, if it cannot.
pub fn check(rec: &Record, target: &dyn Target) -> Result<(), String> {
    let name = target.name();
    match rec.target.as_deref() {
        Some(t) if t == name => {}
        Some(other) => {
            return Err(format!(
                "record is mapped for `{other}`, not `{name}`: map it with `idm-map --to {name}`"
            ));
        }
        None => {
            return Err(format!(
                "record is not mapped (no `target`): pipe it through `idm-map --to {name}`"
            ));
        }
    }
    if rec.id.trim().is_empty() {
        return Err("field `id`: empty".into());
    }
    crate::record::schema::validate_record(rec).map_err(|e| e.to_string())?;
    if !rec.data.is_object() {
        return Err("field `data`: expected a JSON object".into());
    }
    match rec.kind {
        Kind::Membership => {
            membership_ends(rec)
                .ok_or("fields `group_id` and `user_id`: a membership needs both")?;
        }
        Kind::AppAssignment => {
            assignment_ends(rec).ok_or(
                "fields `app_id` and `group_id` or `user_id`: an assignment needs both ends",
            )?;
        }
        _ => target.check(rec)?,
    }
    Ok(())
}

fn nonempty<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    data.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The `(group, user)` source ids of a membership (`data`, else the `<group>/<user>` id).
pub fn membership_ends(rec: &Record) -> Option<(String, String)> {
    let from_data = nonempty(&rec.data, "group_id").zip(nonempty(&rec.data, "user_id"));
    match from_data {
        Some((g, u)) => Some((g.to_string(), u.to_string())),
        None => rec
            .id
            .split_once('/')
            .filter(|(g, u)| !g.is_empty() && !u.is_empty())
            .map(|(g, u)| (g.to_string(), u.to_string())),
    }
}

/// The `(app, assignee)` source ids of an app assignment; the assignee is a group or a user.
pub fn assignment_ends(rec: &Record) -> Option<(String, End, String)> {
    let app = nonempty(&rec.data, "app_id")?.to_string();
    if let Some(g) = nonempty(&rec.data, "group_id") {
        return Some((app, End::Group, g.to_string()));
    }
    nonempty(&rec.data, "user_id").map(|u| (app, End::User, u.to_string()))
}

/// Both ends of an edge record, as `(end, source id)` pairs: a membership's group and user, an
/// assignment's app and assignee.
pub fn edge_ends(rec: &Record) -> Option<[(End, String); 2]> {
    match rec.kind {
        Kind::Membership => membership_ends(rec).map(|(g, u)| [(End::Group, g), (End::User, u)]),
        Kind::AppAssignment => assignment_ends(rec).map(|(a, end, x)| [(End::App, a), (end, x)]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fake::Fake;
    use super::*;

    fn read(lines: &[String]) -> (io::Result<Spool>, u64) {
        let input = lines.join("\n");
        let mut reader = RecordReader::new(input.as_bytes());
        let mut rejects = Rejects::stderr_only();
        let spool = Spool::read(&mut reader, &Fake::default(), &mut rejects, &None);
        (spool, rejects.count())
    }

    fn exported(i: usize) -> String {
        json!({"kind": "user", "source": "okta", "id": format!("u{i}"),
               "data": {"id": format!("u{i}"), "profile": {"login": format!("u{i}@x.org")}}})
        .to_string()
    }

    fn mapped(i: usize) -> String {
        json!({"kind": "user", "source": "okta", "id": format!("u{i}"), "target": "onelogin",
               "data": {"email": format!("u{i}@x.org"), "username": format!("u{i}")}})
        .to_string()
    }

    fn usage_message(result: io::Result<Spool>) -> String {
        let err = result.err().expect("a usage error");
        let inner = err.get_ref().expect("a message");
        assert!(inner.is::<crate::cli::UsageError>(), "{err}");
        err.to_string()
    }

    #[test]
    fn an_unmapped_export_is_one_usage_error_not_a_reject_per_record() {
        let lines: Vec<String> = (0..5000).map(exported).collect();
        let (spool, rejected) = read(&lines);
        let msg = usage_message(spool);
        assert!(msg.contains("the first 20 records all fail"), "{msg}");
        assert!(msg.contains("idm-map --to onelogin"), "{msg}");
        assert_eq!(rejected, 0, "nothing was said record by record");
    }

    #[test]
    fn a_short_input_with_nothing_mapped_for_the_target_is_one_usage_error() {
        let lines: Vec<String> = (0..3).map(exported).collect();
        let msg = usage_message(read(&lines).0);
        assert!(
            msg.contains("no record of the input is mapped for `onelogin`"),
            "{msg}"
        );
    }

    #[test]
    fn failures_before_the_first_good_record_are_still_rejected_one_by_one() {
        // five unmapped records, then mapped ones: an input worth loading, with five rejects
        let mut lines: Vec<String> = (0..5).map(exported).collect();
        lines.extend((5..40).map(mapped));
        let (spool, rejected) = read(&lines);
        let spool = spool.expect("loaded");
        assert_eq!(rejected, 5);
        assert_eq!(spool.count(Phase::Users), 35);
        // and twenty-odd failures of different kinds are not taken for a wrong stream
        let mut mixed: Vec<String> = (0..FIRST_FAILURES).map(exported).collect();
        mixed[3] = json!({"kind": "user", "source": "okta", "id": "", "target": "onelogin",
                          "data": {}})
        .to_string();
        mixed.push(mapped(99));
        let (spool, rejected) = read(&mixed);
        assert!(spool.is_ok());
        assert_eq!(rejected, FIRST_FAILURES as u64);
    }
}
