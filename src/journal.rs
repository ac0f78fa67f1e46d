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

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
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

/// A fast, non-randomized hasher (the multiply-rotate scheme rustc uses) for the state's maps.
/// SipHash's flood resistance buys nothing here: the keys come from our own journal, and
/// hashing was the largest single cost of a fold.
#[derive(Default, Clone, Copy)]
struct FoldHasher(u64);

impl FoldHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for FoldHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // spread the high bits down: hashbrown takes its bucket index from the low bits
        self.0 ^ (self.0 >> 29)
    }
}

type Fast = BuildHasherDefault<FoldHasher>;
type FastMap<K, V> = HashMap<K, V, Fast>;
type FastSet<T> = HashSet<T, Fast>;

/// Maps keyed by id, grouped by (kind, target, source): those three take a handful of values,
/// so grouping stores them once instead of once per object, and lets lookups borrow `&str`s
/// instead of building an owned key per call.
type Grouped<V> = FastMap<String, FastMap<String, FastMap<String, V>>>;

/// The group for (kind, target, source), created on first use without allocating when it
/// exists already (the common case while folding).
fn group_mut<'a, V: Default>(
    map: &'a mut Grouped<V>,
    kind: &str,
    target: &str,
    source: &str,
) -> &'a mut V {
    fn level<'m, T: Default>(map: &'m mut FastMap<String, T>, key: &str) -> &'m mut T {
        if !map.contains_key(key) {
            map.insert(key.to_string(), T::default());
        }
        // just inserted or already there
        map.get_mut(key).unwrap_or_else(|| unreachable!())
    }
    level(level(level(map, kind), target), source)
}

fn group<'a, V>(map: &'a Grouped<V>, kind: &str, target: &str, source: &str) -> Option<&'a V> {
    map.get(kind)?.get(target)?.get(source)
}

/// How many more entries to reserve in a map that is full (`len == capacity`) when `scale`
/// times as much input is expected in all; `None` to let it grow as usual.
fn projected_growth(len: usize, capacity: usize, scale: f64) -> Option<usize> {
    if len < 1024 || len < capacity || scale <= 1.0 {
        return None;
    }
    // a little headroom so the projection's error does not cost one more doubling
    let want = (len as f64 * scale * 1.05) as usize;
    want.checked_sub(len).filter(|&more| more > 0)
}

/// The journal folded into maps.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct State {
    /// kind → target → source → source id → mapping. The last event for a key wins.
    ids: Grouped<FastMap<String, Mapping>>,
    /// target → provisioned attribute shortnames.
    attrs: FastMap<String, FastSet<String>>,
    /// kind → target → source → edge ids.
    edges: Grouped<FastSet<String>>,
    /// source → timestamp of the last completed export.
    bookmarks: FastMap<String, String>,
    /// Events folded so far.
    events: u64,
}

impl State {
    /// Fold one event in.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Map {
                kind,
                source,
                id,
                target,
                target_id,
                hash,
            } => self.put_mapping(
                &kind,
                &target,
                &source,
                id,
                Mapping { target_id, hash },
                1.0,
            ),
            Event::Attr {
                target, shortname, ..
            } => self.put_attr(&target, shortname),
            Event::Edge {
                kind,
                source,
                id,
                target,
            } => self.put_edge(&kind, &target, &source, id, 1.0),
            Event::Bookmark { source, at } => self.put_bookmark(&source, at),
        }
    }

    /// `scale` is how much of the journal is still to come (total bytes / bytes read so far,
    /// 1.0 when unknown): a map about to grow is sized for its projected final length at once,
    /// rather than rehashed at every doubling.
    fn put_mapping(
        &mut self,
        kind: &str,
        target: &str,
        source: &str,
        id: String,
        m: Mapping,
        scale: f64,
    ) {
        self.events += 1;
        let map = group_mut(&mut self.ids, kind, target, source);
        if let Some(more) = projected_growth(map.len(), map.capacity(), scale) {
            map.reserve(more);
        }
        map.insert(id, m);
    }

    fn put_attr(&mut self, target: &str, shortname: String) {
        self.events += 1;
        match self.attrs.get_mut(target) {
            Some(set) => {
                set.insert(shortname);
            }
            None => {
                let mut set = FastSet::default();
                set.insert(shortname);
                self.attrs.insert(target.to_string(), set);
            }
        }
    }

    fn put_edge(&mut self, kind: &str, target: &str, source: &str, id: String, scale: f64) {
        self.events += 1;
        let set = group_mut(&mut self.edges, kind, target, source);
        if let Some(more) = projected_growth(set.len(), set.capacity(), scale) {
            set.reserve(more);
        }
        set.insert(id);
    }

    fn put_bookmark(&mut self, source: &str, at: String) {
        self.events += 1;
        self.bookmarks.insert(source.to_string(), at);
    }

    /// Where `source:id` of `kind` lives in `target`, if it was created or found there.
    pub fn mapping(&self, kind: &str, target: &str, source: &str, id: &str) -> Option<&Mapping> {
        group(&self.ids, kind, target, source)?.get(id)
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
        group(&self.edges, kind, target, source).is_some_and(|ids| ids.contains(id))
    }

    /// The bookmark of the last completed export from `source`.
    pub fn bookmark(&self, source: &str) -> Option<&str> {
        self.bookmarks.get(source).map(String::as_str)
    }

    /// How many id mappings are known.
    pub fn mapping_count(&self) -> usize {
        self.ids
            .values()
            .flat_map(FastMap::values)
            .flat_map(FastMap::values)
            .map(FastMap::len)
            .sum()
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
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(256);
    let mut number = 0u64;
    let mut done = 0u64;
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
        done += n as u64;
        let scale = total as f64 / done as f64;
        let text = &line[..line.len() - 1];
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let corrupt = |reason: String| JournalError::Corrupt {
            path: path.to_path_buf(),
            line: number,
            reason,
        };
        let event = match RawEvent::parse_plain(text) {
            Some(event) => event,
            None => serde_json::from_slice(text).map_err(|e| corrupt(e.to_string()))?,
        };
        event.apply_to(&mut state, scale).map_err(corrupt)?;
    }
    Ok(state)
}

/// An event as read during a fold: every field optional and borrowed from the line, so
/// reading allocates only what the state keeps (ids and values), and serde need not buffer
/// the line the way it must for the internally tagged [`Event`]. [`RawEvent::apply_to`]
/// enforces the same required fields as [`Event`].
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(borrow)]
    ev: Cow<'a, str>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    target: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    target_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    hash: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    shortname: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    at: Option<Cow<'a, str>>,
}

impl<'a> RawEvent<'a> {
    /// The fast path for the lines the journal writes: one flat object whose values are
    /// strings without escapes, or null. Anything else (escapes, other value types, duplicate
    /// keys, bad syntax) returns `None`, and serde_json parses the line or names its fault.
    fn parse_plain(line: &'a [u8]) -> Option<RawEvent<'a>> {
        if line.contains(&b'\\') {
            return None;
        }
        let text = std::str::from_utf8(line).ok()?;
        let bytes = text.as_bytes();
        let mut at = 0;
        let skip_ws = |at: &mut usize| {
            while *at < bytes.len() && matches!(bytes[*at], b' ' | b'\t' | b'\r' | b'\n') {
                *at += 1;
            }
        };
        // a string starting at `at` (on its opening quote), without escapes or control bytes
        let string = |at: &mut usize| -> Option<&'a str> {
            if bytes.get(*at) != Some(&b'"') {
                return None;
            }
            let start = *at + 1;
            let len = bytes[start..].iter().position(|&b| b == b'"' || b < 0x20)?;
            if bytes[start + len] != b'"' {
                return None;
            }
            *at = start + len + 1;
            Some(&text[start..start + len])
        };
        let mut event = RawEvent {
            ev: Cow::Borrowed(""),
            kind: None,
            source: None,
            id: None,
            target: None,
            target_id: None,
            hash: None,
            shortname: None,
            at: None,
        };
        let mut ev = None;
        let mut seen = 0u16;
        skip_ws(&mut at);
        if bytes.get(at) != Some(&b'{') {
            return None;
        }
        at += 1;
        loop {
            skip_ws(&mut at);
            let key = string(&mut at)?;
            skip_ws(&mut at);
            if bytes.get(at) != Some(&b':') {
                return None;
            }
            at += 1;
            skip_ws(&mut at);
            let value = if bytes[at..].starts_with(b"null") {
                at += 4;
                None
            } else {
                Some(Cow::Borrowed(string(&mut at)?))
            };
            let (bit, slot) = match key {
                "ev" => (0, &mut ev),
                "kind" => (1, &mut event.kind),
                "source" => (2, &mut event.source),
                "id" => (3, &mut event.id),
                "target" => (4, &mut event.target),
                "target_id" => (5, &mut event.target_id),
                "hash" => (6, &mut event.hash),
                "shortname" => (7, &mut event.shortname),
                "at" => (8, &mut event.at),
                _ => return None,
            };
            if seen & (1 << bit) != 0 {
                return None;
            }
            seen |= 1 << bit;
            *slot = value;
            skip_ws(&mut at);
            match bytes.get(at) {
                Some(b',') => at += 1,
                Some(b'}') => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
        skip_ws(&mut at);
        if at != bytes.len() {
            return None;
        }
        event.ev = ev?;
        Some(event)
    }

    fn apply_to(self, state: &mut State, scale: f64) -> Result<(), String> {
        fn need<'c>(field: Option<Cow<'c, str>>, name: &str) -> Result<Cow<'c, str>, String> {
            field.ok_or_else(|| format!("missing field `{name}`"))
        }
        match &*self.ev {
            "map" => {
                let (kind, target) = (need(self.kind, "kind")?, need(self.target, "target")?);
                let source = need(self.source, "source")?;
                let id = need(self.id, "id")?.into_owned();
                let mapping = Mapping {
                    target_id: need(self.target_id, "target_id")?.into_owned(),
                    hash: self.hash.map(Cow::into_owned),
                };
                state.put_mapping(&kind, &target, &source, id, mapping, scale);
            }
            "attr" => {
                let target = need(self.target, "target")?;
                state.put_attr(&target, need(self.shortname, "shortname")?.into_owned());
            }
            "edge" => {
                let (kind, target) = (need(self.kind, "kind")?, need(self.target, "target")?);
                let source = need(self.source, "source")?;
                let id = need(self.id, "id")?.into_owned();
                state.put_edge(&kind, &target, &source, id, scale);
            }
            "bookmark" => {
                let source = need(self.source, "source")?;
                state.put_bookmark(&source, need(self.at, "at")?.into_owned());
            }
            other => {
                return Err(format!(
                    "unknown event `{other}`, expected one of `map`, `attr`, `edge`, `bookmark`"
                ));
            }
        }
        Ok(())
    }
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

    fn raw_fields(e: &RawEvent<'_>) -> Vec<Option<String>> {
        [
            Some(&e.ev),
            e.kind.as_ref(),
            e.source.as_ref(),
            e.id.as_ref(),
            e.target.as_ref(),
            e.target_id.as_ref(),
            e.hash.as_ref(),
            e.shortname.as_ref(),
            e.at.as_ref(),
        ]
        .into_iter()
        .map(|f| f.map(|c| c.to_string()))
        .collect()
    }

    #[test]
    fn plain_fast_path_agrees_with_serde_or_steps_aside() {
        let lines: &[&str] = &[
            r#"{"ev":"map","kind":"user","source":"okta","id":"00u1","target":"onelogin","target_id":"7","hash":"ab"}"#,
            r#" { "ev" : "attr" , "target":"onelogin","shortname":"x","target_id":null } "#,
            r#"{"ev":"bookmark","source":"okta","at":"2026-01-01T00:00:00.000Z","extra":"kept out"}"#,
            r#"{"ev":"edge","kind":"membership","source":"okta","id":"a\/b","target":"onelogin"}"#,
            r#"{"ev":"map","id":"1","id":"2"}"#,
            r#"{"ev":"map","target_id":7}"#,
            r#"{"ev":null}"#,
            r#"{"ev":"map"} trailing"#,
            r#"{"ev":"map","#,
            "{\"ev\":\"map\",\"id\":\"tab\there\"}",
            r#"{"ev":"map","id":"é😀"}"#,
            r#"[1]"#,
            "",
        ];
        for line in lines {
            let serde: Result<RawEvent, _> = serde_json::from_str(line);
            match RawEvent::parse_plain(line.as_bytes()) {
                Some(fast) => {
                    let serde =
                        serde.unwrap_or_else(|e| panic!("{line}: fast path accepted, serde: {e}"));
                    assert_eq!(raw_fields(&fast), raw_fields(&serde), "{line}");
                }
                None => {
                    // stepping aside is always allowed; it must happen for what serde refuses
                }
            }
        }
        // the lines the journal writes take the fast path
        let written = serde_json::to_string(&map_event(3)).unwrap();
        assert!(RawEvent::parse_plain(written.as_bytes()).is_some());
        // what serde refuses, the fast path refuses too
        for bad in [
            r#"{"ev":"map","id":"1","id":"2"}"#,
            r#"{"ev":null}"#,
            r#"{"ev":"map"} x"#,
        ] {
            assert!(serde_json::from_str::<RawEvent>(bad).is_err(), "{bad}");
            assert!(RawEvent::parse_plain(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn plain_fast_path_matches_serde_on_written_events(
            id in "[^\\\\]{0,12}",
            target_id in proptest::option::of("[ -~]{0,8}"),
        ) {
            let event = Event::Attr { target: id.clone(), shortname: id.clone(), target_id };
            let line = serde_json::to_string(&event).unwrap();
            let serde: RawEvent = serde_json::from_str(&line).unwrap();
            if let Some(fast) = RawEvent::parse_plain(line.as_bytes()) {
                proptest::prop_assert_eq!(raw_fields(&fast), raw_fields(&serde));
            } else {
                // only escapes make it step aside
                proptest::prop_assert!(line.contains('\\'), "{}", line);
            }
        }
    }
}
