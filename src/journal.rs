//! The state journal: one append-only NDJSON file shared by the tools of a migration.
//!
//! Each line is one [`Event`]: an id mapping (source id → target id, with a hash of the payload
//! that was written), a provisioned custom attribute, a completed edge, or an export bookmark.
//! Reading folds the events into a [`State`] of maps; writing appends one line at a time.
//!
//! Why it is shaped so:
//! - Appending is O(1): a line is written with one `write` on an `O_APPEND` file while an
//!   exclusive lock (std `File::lock`) is held, so two processes never interleave lines.
//! - A crash (kill -9) can leave a torn last line. Readers ignore it; the next writer cuts it
//!   off, under the lock, before it appends.
//! - [`Journal::lock`] holds the lock across a check-then-act section (read what other
//!   processes appended, then create only what is still missing): two `idm-attrs --apply`
//!   sharing a journal do not create the same attribute twice.
//! - The file is created 0600: it holds identifiers of people. It never holds secrets.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum Event {
    /// An object of `kind` from `source` with id `id` exists in `target` as `target_id`;
    /// `hash` is the [`payload_hash`] of what was last written for it.
    Map {
        kind: String,
        source: String,
        id: String,
        target: String,
        target_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hash: Option<String>,
    },
    /// A custom attribute `shortname` exists in `target` (created by us or found there).
    Attr {
        target: String,
        shortname: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target_id: Option<String>,
    },
    /// An edge (`membership` `<group>/<user>`, `app_assignment` `<app>/<group>`) is done in
    /// `target`.
    Edge {
        kind: String,
        source: String,
        id: String,
        target: String,
    },
    /// An export of `kinds` from `source` completed; the next `--since last` starts at `at`.
    Bookmark { source: String, at: String },
}

/// Where an object lives in the target, and the hash of what was written there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub target_id: String,
    pub hash: Option<String>,
}

/// The journal folded into maps.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct State {
    /// (kind, target, source, source id) → mapping. The last event for a key wins.
    ids: HashMap<(String, String, String, String), Mapping>,
    /// target → provisioned attribute shortnames.
    attrs: HashMap<String, HashSet<String>>,
    /// (kind, target, source, edge id).
    edges: HashSet<(String, String, String, String)>,
    /// source → timestamp of the last completed export.
    bookmarks: HashMap<String, String>,
    /// Events folded so far.
    events: u64,
}

impl State {
    /// Fold one event in.
    pub fn apply(&mut self, event: Event) {
        self.events += 1;
        match event {
            Event::Map {
                kind,
                source,
                id,
                target,
                target_id,
                hash,
            } => {
                self.ids
                    .insert((kind, target, source, id), Mapping { target_id, hash });
            }
            Event::Attr {
                target, shortname, ..
            } => {
                self.attrs.entry(target).or_default().insert(shortname);
            }
            Event::Edge {
                kind,
                source,
                id,
                target,
            } => {
                self.edges.insert((kind, target, source, id));
            }
            Event::Bookmark { source, at } => {
                self.bookmarks.insert(source, at);
            }
        }
    }

    /// Where `source:id` of `kind` lives in `target`, if it was created or found there.
    pub fn mapping(&self, kind: &str, target: &str, source: &str, id: &str) -> Option<&Mapping> {
        // The key is owned; build it once per lookup. Lookups are per record, not per byte.
        self.ids.get(&(
            kind.to_string(),
            target.to_string(),
            source.to_string(),
            id.to_string(),
        ))
    }

    /// The target id of `source:id`, if known.
    pub fn target_id(&self, kind: &str, target: &str, source: &str, id: &str) -> Option<&str> {
        self.mapping(kind, target, source, id)
            .map(|m| m.target_id.as_str())
    }

    /// True when the attribute is known to exist in `target`.
    pub fn has_attr(&self, target: &str, shortname: &str) -> bool {
        self.attrs
            .get(target)
            .is_some_and(|s| s.contains(shortname))
    }

    /// The attributes known to exist in `target`.
    pub fn attrs(&self, target: &str) -> impl Iterator<Item = &str> {
        self.attrs
            .get(target)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// True when the edge is done in `target`.
    pub fn has_edge(&self, kind: &str, target: &str, source: &str, id: &str) -> bool {
        self.edges.contains(&(
            kind.to_string(),
            target.to_string(),
            source.to_string(),
            id.to_string(),
        ))
    }

    /// The bookmark of the last completed export from `source`.
    pub fn bookmark(&self, source: &str) -> Option<&str> {
        self.bookmarks.get(source).map(String::as_str)
    }

    /// How many id mappings are known.
    pub fn mapping_count(&self) -> usize {
        self.ids.len()
    }

    /// How many events were folded in.
    pub fn event_count(&self) -> u64 {
        self.events
    }
}

/// The hash of a payload, to tell 'unchanged' from 'changed' on a later run: the first 16
/// bytes of SHA-256 over its compact JSON, in hex. Key order is as serialized, so callers hash
/// payloads built the same way (idm-map's output) and compare like with like.
pub fn payload_hash(payload: &serde_json::Value) -> String {
    let bytes = serde_json::to_vec(payload).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    hex::encode(&digest[..16])
}

/// Errors of the journal, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("state journal `{path}`: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("state journal `{path}` line {line}: not a journal event: {reason}")]
    Corrupt {
        path: PathBuf,
        line: u64,
        reason: String,
    },
}

/// An open journal. Cheap to share behind an `Arc`: appends take the file lock each time.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Open (creating it 0600 if needed) and fold the journal at `path`.
    pub fn open(path: &Path) -> Result<(Journal, State), JournalError> {
        let io_err = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(io_err)?;
        let journal = Journal {
            path: path.to_path_buf(),
            file,
        };
        let state = journal.replay()?;
        Ok((journal, state))
    }

    /// Fold the journal at `path` without creating it (a missing file is an empty state).
    pub fn read(path: &Path) -> Result<State, JournalError> {
        match File::open(path) {
            Ok(file) => fold(path, file, State::default()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(JournalError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read the whole journal again (e.g. after taking the lock, to see other writers' events).
    pub fn replay(&self) -> Result<State, JournalError> {
        let file = self.file.try_clone().map_err(|source| self.io(source))?;
        fold(&self.path, file, State::default())
    }

    /// Append one event (takes and releases the lock).
    pub fn append(&self, event: &Event) -> Result<(), JournalError> {
        self.append_all(std::slice::from_ref(event))
    }

    /// Append several events under one lock, one line each, in one write.
    pub fn append_all(&self, events: &[Event]) -> Result<(), JournalError> {
        let guard = self.lock()?;
        guard.append_all(events)
    }

    /// Hold the exclusive lock until the guard is dropped: a check-then-act section.
    pub fn lock(&self) -> Result<JournalLock<'_>, JournalError> {
        self.file.lock().map_err(|source| self.io(source))?;
        Ok(JournalLock { journal: self })
    }

    fn io(&self, source: io::Error) -> JournalError {
        JournalError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Cut a torn last line (no trailing newline) left by a crashed writer. Lock held.
    fn cut_torn_tail(&self) -> io::Result<()> {
        let mut file = &self.file;
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(());
        }
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] == b'\n' {
            return Ok(());
        }
        // Find the last newline by scanning back in blocks.
        let mut end = len;
        let mut block = vec![0u8; 64 * 1024];
        let keep = loop {
            if end == 0 {
                break 0;
            }
            let start = end.saturating_sub(block.len() as u64);
            let n = (end - start) as usize;
            file.seek(SeekFrom::Start(start))?;
            file.read_exact(&mut block[..n])?;
            if let Some(i) = block[..n].iter().rposition(|&b| b == b'\n') {
                break start + i as u64 + 1;
            }
            end = start;
        };
        self.file.set_len(keep)
    }
}

/// The journal's exclusive lock, held until dropped.
pub struct JournalLock<'a> {
    journal: &'a Journal,
}

impl JournalLock<'_> {
    /// The journal as it is now, with every other writer's events.
    pub fn replay(&self) -> Result<State, JournalError> {
        self.journal.replay()
    }

    /// Append events while holding the lock.
    pub fn append_all(&self, events: &[Event]) -> Result<(), JournalError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(128 * events.len());
        for event in events {
            serde_json::to_writer(&mut buf, event)
                .map_err(|e| self.journal.io(io::Error::other(e)))?;
            buf.push(b'\n');
        }
        self.journal
            .cut_torn_tail()
            .map_err(|e| self.journal.io(e))?;
        (&self.journal.file)
            .write_all(&buf)
            .map_err(|e| self.journal.io(e))
    }

    /// Append one event while holding the lock.
    pub fn append(&self, event: &Event) -> Result<(), JournalError> {
        self.append_all(std::slice::from_ref(event))
    }
}

impl Drop for JournalLock<'_> {
    fn drop(&mut self) {
        let _ = self.journal.file.unlock();
    }
}

/// Fold every complete line of `file` into `state`. A last line without a newline is a torn
/// write and is ignored; any other bad line is an error (the journal is ours: corruption is
/// not something to guess around).
fn fold(path: &Path, mut file: File, mut state: State) -> Result<State, JournalError> {
    file.seek(SeekFrom::Start(0))
        .map_err(|source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(256);
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| JournalError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 || line.last() != Some(&b'\n') {
            break; // end, or a torn tail
        }
        number += 1;
        let text = &line[..line.len() - 1];
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let event: Event = serde_json::from_slice(text).map_err(|e| JournalError::Corrupt {
            path: path.to_path_buf(),
            line: number,
            reason: e.to_string(),
        })?;
        state.apply(event);
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_event(i: u32) -> Event {
        Event::Map {
            kind: "user".into(),
            source: "okta".into(),
            id: format!("00u{i}"),
            target: "onelogin".into(),
            target_id: format!("{}", 1000 + i),
            hash: Some(format!("h{i}")),
        }
    }

    #[test]
    fn replay_equals_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ndjson");
        let events = vec![
            map_event(1),
            map_event(2),
            Event::Attr {
                target: "onelogin".into(),
                shortname: "cost_center".into(),
                target_id: Some("7".into()),
            },
            Event::Edge {
                kind: "membership".into(),
                source: "okta".into(),
                id: "00g1/00u1".into(),
                target: "onelogin".into(),
            },
            Event::Bookmark {
                source: "okta".into(),
                at: "2026-01-01T00:00:00.000Z".into(),
            },
        ];
        let mut expected = State::default();
        {
            let (journal, state) = Journal::open(&path).unwrap();
            assert_eq!(state, State::default());
            for e in &events {
                journal.append(e).unwrap();
                expected.apply(e.clone());
            }
        }
        let (_, state) = Journal::open(&path).unwrap();
        assert_eq!(state, expected);
        assert_eq!(
            state.target_id("user", "onelogin", "okta", "00u2"),
            Some("1002")
        );
        assert!(state.has_attr("onelogin", "cost_center"));
        assert!(state.has_edge("membership", "onelogin", "okta", "00g1/00u1"));
        assert_eq!(state.bookmark("okta"), Some("2026-01-01T00:00:00.000Z"));
        assert_eq!(state.event_count(), 5);
    }

    #[test]
    fn torn_tail_is_ignored_on_read_and_cut_by_the_next_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ndjson");
        let (journal, _) = Journal::open(&path).unwrap();
        journal.append(&map_event(1)).unwrap();
        drop(journal);
        // a writer killed mid-line
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"ev":"map","kind":"user","sou"#).unwrap();
        drop(f);

        let state = Journal::read(&path).unwrap();
        assert_eq!(state.mapping_count(), 1);

        let (journal, _) = Journal::open(&path).unwrap();
        journal.append(&map_event(2)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            !text.contains("\"sou\n") && !text.contains(r#""sou{"#),
            "{text}"
        );
        assert_eq!(Journal::read(&path).unwrap().mapping_count(), 2);
    }

    #[test]
    fn corrupt_middle_line_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ndjson");
        std::fs::write(
            &path,
            "{\"ev\":\"bookmark\",\"source\":\"okta\",\"at\":\"x\"}\nnonsense\n",
        )
        .unwrap();
        let err = Journal::read(&path).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn journal_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ndjson");
        Journal::open(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn lock_section_sees_other_writers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ndjson");
        let (a, _) = Journal::open(&path).unwrap();
        let (b, _) = Journal::open(&path).unwrap();
        b.append(&Event::Attr {
            target: "onelogin".into(),
            shortname: "x".into(),
            target_id: None,
        })
        .unwrap();
        let guard = a.lock().unwrap();
        assert!(guard.replay().unwrap().has_attr("onelogin", "x"));
    }

    #[test]
    fn payload_hash_tells_changed_from_unchanged() {
        let a = serde_json::json!({"email": "a@x", "firstname": "A"});
        let b = serde_json::json!({"email": "a@x", "firstname": "B"});
        assert_eq!(payload_hash(&a), payload_hash(&a.clone()));
        assert_ne!(payload_hash(&a), payload_hash(&b));
        assert_eq!(payload_hash(&a).len(), 32);
    }
}
