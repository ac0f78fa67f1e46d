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

use crate::table::DiskTable;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum Event {
    /// An object of `kind` from `source` with id `id` exists in `target` as `target_id`;
    /// `hash` is the [`payload_hash`] of what was last written for it; `origin` says whether
    /// this migration created it (`created`) or found it there (`adopted`).
    Map {
        kind: String,
        source: String,
        id: String,
        target: String,
        target_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hash: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<String>,
    },
    /// A custom attribute `shortname` exists in `target` (created by us or found there).
    Attr {
        target: String,
        shortname: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target_id: Option<String>,
    },
    /// An edge (`membership` `<group>/<user>`, `app_assignment` `<app>/<group>`) is done in
    /// `target`, between the objects `target_id` names (`<parent id>/<child id>` there).
    Edge {
        kind: String,
        source: String,
        id: String,
        target: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target_id: Option<String>,
    },
    /// A create of this object is about to be sent to `target`. Its `map` event follows once
    /// the answer is in; an intent without one (a run killed in between) tells the next run
    /// that an object found in the tenant under this one's name may be this migration's own.
    Intent {
        kind: String,
        source: String,
        id: String,
        target: String,
    },
    /// An export of `kinds` from `source` completed; the next `--since last` starts at `at`.
    Bookmark { source: String, at: String },
    /// The journal describes this tenant: `side` is `source` or `target`, `service` the
    /// system (`okta`), `url` its base URL (normalized), `tenant_id` a stable identity the API
    /// exposes, when it does. Written once per side; a tool given another tenant refuses.
    Tenant {
        side: String,
        service: String,
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tenant_id: Option<String>,
    },
}

/// Where an object lives in the target, and the hash of what was written there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub target_id: String,
    pub hash: Option<String>,
    /// This migration created the object (else it was in the tenant before and was adopted).
    pub created: bool,
}

/// A tenant the journal is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub service: String,
    pub url: String,
    pub tenant_id: Option<String>,
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

/// The key of an object or edge in the state's tables (and of an intent).
fn object_key(kind: &str, target: &str, source: &str, id: &str) -> String {
    format!("{kind}\u{0}{target}\u{0}{source}\u{0}{id}")
}

fn encode_mapping(m: &Mapping) -> Vec<u8> {
    let mut v = Vec::with_capacity(5 + m.target_id.len() + m.hash.as_ref().map_or(0, String::len));
    v.push(u8::from(m.created) | if m.hash.is_some() { 2 } else { 0 });
    v.extend_from_slice(&(m.target_id.len() as u32).to_le_bytes());
    v.extend_from_slice(m.target_id.as_bytes());
    if let Some(h) = &m.hash {
        v.extend_from_slice(h.as_bytes());
    }
    v
}

fn bad_record() -> io::Error {
    io::Error::other("the state's table holds a bad record")
}

fn decode_mapping(v: &[u8]) -> io::Result<Mapping> {
    let (&flags, rest) = v.split_first().ok_or_else(bad_record)?;
    let len: [u8; 4] = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad_record)?;
    let len = u32::from_le_bytes(len) as usize;
    let target_id = rest.get(4..4 + len).ok_or_else(bad_record)?;
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| bad_record());
    Ok(Mapping {
        target_id: text(target_id)?,
        hash: if flags & 2 != 0 {
            Some(text(&rest[4 + len..])?)
        } else {
            None
        },
        created: flags & 1 != 0,
    })
}

fn encode_edge(ends: Option<&str>) -> Vec<u8> {
    match ends {
        None => vec![0],
        Some(e) => {
            let mut v = Vec::with_capacity(1 + e.len());
            v.push(1);
            v.extend_from_slice(e.as_bytes());
            v
        }
    }
}

fn decode_edge(v: &[u8]) -> io::Result<Option<String>> {
    match v.split_first() {
        Some((0, _)) => Ok(None),
        Some((1, ends)) => String::from_utf8(ends.to_vec())
            .map(Some)
            .map_err(|_| bad_record()),
        _ => Err(bad_record()),
    }
}

/// Keys → values on disk ([`DiskTable`]), made on the first insert.
#[derive(Default)]
struct Table(Option<DiskTable>);

impl Table {
    fn put(&mut self, key: &str, value: &[u8]) -> io::Result<()> {
        let table = match &mut self.0 {
            Some(t) => t,
            None => self.0.insert(DiskTable::new()?),
        };
        table.insert(key.as_bytes(), value)
    }

    fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        match &self.0 {
            Some(t) => t.get(key.as_bytes()),
            None => Ok(None),
        }
    }

    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, DiskTable::len)
    }

    fn iter(&self) -> impl Iterator<Item = io::Result<(Vec<u8>, Vec<u8>)>> + '_ {
        self.0.iter().flat_map(DiskTable::iter)
    }

    /// Every entry, sorted (to compare two states).
    fn sorted(&self) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut all = self.iter().collect::<io::Result<Vec<_>>>()?;
        all.sort();
        Ok(all)
    }
}

/// The journal folded into tables.
///
/// Mappings and edges, one per object and per edge of a migration (millions), are kept in
/// [`DiskTable`]s: unlinked temporary files hold them, memory about 1.5 bytes a key, and a
/// lookup reads one record back. Lookups can therefore fail with an I/O error, which the
/// caller treats as fatal: guessing "not there" could create an object twice. The rest
/// (attributes, tenants, bookmarks, intents without their `map`) is small and in memory.
#[derive(Default)]
pub struct State {
    /// `kind target source id` → mapping. The last event for a key wins.
    ids: Table,
    /// target → provisioned attribute shortnames.
    attrs: FastMap<String, FastSet<String>>,
    /// `kind target source id` → `<parent>/<child>` target ids, when recorded.
    edges: Table,
    /// side (`source`, `target`) → the tenant the journal belongs to (the last binding wins).
    tenants: FastMap<String, Binding>,
    /// source → timestamp of the last completed export.
    bookmarks: FastMap<String, String>,
    /// `kind target source id` of creates sent whose `map` event never came.
    intents: FastSet<String>,
    /// Events folded so far.
    events: u64,
}

impl PartialEq for State {
    fn eq(&self, other: &State) -> bool {
        let tables = |s: &State| Ok::<_, io::Error>((s.ids.sorted()?, s.edges.sorted()?));
        self.events == other.events
            && self.attrs == other.attrs
            && self.tenants == other.tenants
            && self.bookmarks == other.bookmarks
            && self.intents == other.intents
            && matches!((tables(self), tables(other)), (Ok(a), Ok(b)) if a == b)
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lossy = |t: &Table| -> Vec<(String, String)> {
            t.sorted()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    (
                        String::from_utf8_lossy(&k).replace('\u{0}', " "),
                        String::from_utf8_lossy(&v).into_owned(),
                    )
                })
                .collect()
        };
        f.debug_struct("State")
            .field("ids", &lossy(&self.ids))
            .field("attrs", &self.attrs)
            .field("edges", &lossy(&self.edges))
            .field("tenants", &self.tenants)
            .field("bookmarks", &self.bookmarks)
            .field("intents", &self.intents)
            .field("events", &self.events)
            .finish()
    }
}

impl State {
    /// Fold one event in.
    pub fn apply(&mut self, event: Event) -> io::Result<()> {
        match event {
            Event::Map {
                kind,
                source,
                id,
                target,
                target_id,
                hash,
                origin,
            } => {
                let created = created(origin.as_deref(), hash.is_some());
                let mapping = Mapping {
                    target_id,
                    hash,
                    created,
                };
                self.put_mapping(&kind, &target, &source, &id, &mapping)
            }
            Event::Attr {
                target, shortname, ..
            } => {
                self.put_attr(&target, shortname);
                Ok(())
            }
            Event::Edge {
                kind,
                source,
                id,
                target,
                target_id,
            } => self.put_edge(&kind, &target, &source, &id, target_id.as_deref()),
            Event::Intent {
                kind,
                source,
                id,
                target,
            } => self.put_intent(&kind, &target, &source, &id),
            Event::Bookmark { source, at } => {
                self.put_bookmark(&source, at);
                Ok(())
            }
            Event::Tenant {
                side,
                service,
                url,
                tenant_id,
            } => {
                self.put_tenant(
                    side,
                    Binding {
                        service,
                        url,
                        tenant_id,
                    },
                );
                Ok(())
            }
        }
    }

    fn put_tenant(&mut self, side: String, binding: Binding) {
        self.events += 1;
        // the last binding wins: `--rebind-state` appends a new one
        self.tenants.insert(side, binding);
    }

    fn put_mapping(
        &mut self,
        kind: &str,
        target: &str,
        source: &str,
        id: &str,
        m: &Mapping,
    ) -> io::Result<()> {
        self.events += 1;
        let key = object_key(kind, target, source, id);
        if !self.intents.is_empty() {
            self.intents.remove(&key);
        }
        self.ids.put(&key, &encode_mapping(m))
    }

    fn put_intent(&mut self, kind: &str, target: &str, source: &str, id: &str) -> io::Result<()> {
        self.events += 1;
        // an intent after the object's map (an update's re-create) changes nothing known
        let key = object_key(kind, target, source, id);
        if self.ids.get(&key)?.is_none() {
            self.intents.insert(key);
        }
        Ok(())
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

    fn put_edge(
        &mut self,
        kind: &str,
        target: &str,
        source: &str,
        id: &str,
        ends: Option<&str>,
    ) -> io::Result<()> {
        self.events += 1;
        self.edges
            .put(&object_key(kind, target, source, id), &encode_edge(ends))
    }

    fn put_bookmark(&mut self, source: &str, at: String) {
        self.events += 1;
        self.bookmarks.insert(source.to_string(), at);
    }

    /// Where `source:id` of `kind` lives in `target`, if it was created or found there.
    pub fn mapping(
        &self,
        kind: &str,
        target: &str,
        source: &str,
        id: &str,
    ) -> io::Result<Option<Mapping>> {
        match self.ids.get(&object_key(kind, target, source, id))? {
            Some(v) => decode_mapping(&v).map(Some),
            None => Ok(None),
        }
    }

    /// A create of `source:id` was sent to `target` and its answer never journaled.
    pub fn intended(&self, kind: &str, target: &str, source: &str, id: &str) -> bool {
        !self.intents.is_empty() && self.intents.contains(&object_key(kind, target, source, id))
    }

    /// The target id of `source:id`, if known.
    pub fn target_id(
        &self,
        kind: &str,
        target: &str,
        source: &str,
        id: &str,
    ) -> io::Result<Option<String>> {
        Ok(self.mapping(kind, target, source, id)?.map(|m| m.target_id))
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
    pub fn has_edge(&self, kind: &str, target: &str, source: &str, id: &str) -> io::Result<bool> {
        Ok(self.edge(kind, target, source, id)?.is_some())
    }

    /// A done edge: `Some(Some("<parent>/<child>"))` with the target ids it was made between,
    /// `Some(None)` when an older journal did not record them.
    pub fn edge(
        &self,
        kind: &str,
        target: &str,
        source: &str,
        id: &str,
    ) -> io::Result<Option<Option<String>>> {
        match self.edges.get(&object_key(kind, target, source, id))? {
            Some(v) => decode_edge(&v).map(Some),
            None => Ok(None),
        }
    }

    /// The tenant the journal is bound to on `side` (`source` or `target`).
    pub fn tenant(&self, side: &str) -> Option<&Binding> {
        self.tenants.get(side)
    }

    /// The bookmark of the last completed export from `source`.
    pub fn bookmark(&self, source: &str) -> Option<&str> {
        self.bookmarks.get(source).map(String::as_str)
    }

    /// Every mapping into `target`: `(kind, source, id, mapping)`, read back from disk.
    pub fn mappings<'s>(
        &'s self,
        target: &'s str,
    ) -> impl Iterator<Item = io::Result<(String, String, String, Mapping)>> + 's {
        self.ids.iter().filter_map(move |entry| {
            let (key, value) = match entry {
                Ok(e) => e,
                Err(e) => return Some(Err(e)),
            };
            let parts: Vec<&[u8]> = key.splitn(4, |b| *b == 0).collect();
            let [kind, t, source, id] = parts[..] else {
                return Some(Err(bad_record()));
            };
            if t != target.as_bytes() {
                return None;
            }
            let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| bad_record());
            Some((|| {
                Ok((
                    text(kind)?,
                    text(source)?,
                    text(id)?,
                    decode_mapping(&value)?,
                ))
            })())
        })
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

/// Whether a mapping's object was created by this migration. Journals from before `origin`
/// was written count a mapping with a hash as created (only creates and updates wrote one).
fn created(origin: Option<&str>, has_hash: bool) -> bool {
    match origin {
        Some(o) => o == "created",
        None => has_hash,
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

/// The journal belongs to another tenant than the one a tool was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "state journal `{path}` belongs to {side} {service} `{bound}`, not `{given}`: \
     use another `--state` for this tenant (or `--rebind-state` if the tenant really moved)"
)]
pub struct OtherTenant {
    pub path: String,
    pub side: String,
    pub service: String,
    pub bound: String,
    pub given: String,
}

/// What [`check_tenant`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantCheck {
    /// The journal is bound to this tenant.
    Same,
    /// The journal holds no binding for this side yet (new, or from before bindings): the
    /// caller binds it with this event when it writes.
    Unbound(Event),
}

/// Compare the tenant a tool was given with the one the journal belongs to. `rebind` accepts
/// another tenant (the event to append is returned, as for an unbound journal).
pub fn check_tenant(
    path: &Path,
    state: &State,
    side: &str,
    service: &str,
    url: &str,
    rebind: bool,
) -> Result<TenantCheck, OtherTenant> {
    let given = crate::secrets::normalize_url(url);
    let event = Event::Tenant {
        side: side.to_string(),
        service: service.to_string(),
        url: given.clone(),
        tenant_id: None,
    };
    match state.tenant(side) {
        Some(b) if b.service == service && b.url == given => Ok(TenantCheck::Same),
        Some(_) if rebind => Ok(TenantCheck::Unbound(event)),
        Some(b) => Err(OtherTenant {
            path: path.display().to_string(),
            side: side.to_string(),
            service: b.service.clone(),
            bound: b.url.clone(),
            given: format!("{service} {given}"),
        }),
        None => Ok(TenantCheck::Unbound(event)),
    }
}

/// Errors of the journal, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("state journal `{path}`: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "state journal `{path}` is in use by another `--apply` (another idm-load is writing this migration): wait for it to finish"
    )]
    Owned { path: PathBuf },
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

    /// Own the migration's apply: one process at a time may write objects through this
    /// journal (two concurrent applies would each decide `create` for the same object).
    /// Refuses at once, naming the journal, when another process owns it; released on drop
    /// and by the system when the process dies (kill -9 included).
    pub fn own(&self) -> Result<Owner, JournalError> {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".owner");
        let path = self.path.with_file_name(name);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(|source| JournalError::Io {
            path: path.clone(),
            source,
        })?;
        match file.try_lock() {
            Ok(()) => Ok(Owner { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(JournalError::Owned {
                path: self.path.clone(),
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(JournalError::Io { path, source }),
        }
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

/// Ownership of a journal's apply ([`Journal::own`]), held until dropped.
#[derive(Debug)]
pub struct Owner {
    _file: File,
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
        let corrupt = |reason: String| JournalError::Corrupt {
            path: path.to_path_buf(),
            line: number,
            reason,
        };
        let event = match RawEvent::parse_plain(text) {
            Some(event) => event,
            None => serde_json::from_slice(text).map_err(|e| corrupt(e.to_string()))?,
        };
        match event.apply_to(&mut state) {
            Ok(()) => {}
            Err(Fault::Corrupt(reason)) => return Err(corrupt(reason)),
            Err(Fault::Io(source)) => {
                return Err(JournalError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    Ok(state)
}

/// Why a line could not be folded in.
enum Fault {
    /// The line is not a valid event.
    Corrupt(String),
    /// The state's tables could not be written or read.
    Io(io::Error),
}

impl From<String> for Fault {
    fn from(reason: String) -> Fault {
        Fault::Corrupt(reason)
    }
}

impl From<io::Error> for Fault {
    fn from(e: io::Error) -> Fault {
        Fault::Io(e)
    }
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
    #[serde(borrow, default)]
    origin: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    side: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    service: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    url: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tenant_id: Option<Cow<'a, str>>,
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
            origin: None,
            side: None,
            service: None,
            url: None,
            tenant_id: None,
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
                "origin" => (9, &mut event.origin),
                "side" => (10, &mut event.side),
                "service" => (11, &mut event.service),
                "url" => (12, &mut event.url),
                "tenant_id" => (13, &mut event.tenant_id),
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

    fn apply_to(self, state: &mut State) -> Result<(), Fault> {
        fn need<'c>(field: Option<Cow<'c, str>>, name: &str) -> Result<Cow<'c, str>, String> {
            field.ok_or_else(|| format!("missing field `{name}`"))
        }
        match &*self.ev {
            "map" => {
                let (kind, target) = (need(self.kind, "kind")?, need(self.target, "target")?);
                let source = need(self.source, "source")?;
                let id = need(self.id, "id")?;
                let hash = self.hash.map(Cow::into_owned);
                let mapping = Mapping {
                    target_id: need(self.target_id, "target_id")?.into_owned(),
                    created: created(self.origin.as_deref(), hash.is_some()),
                    hash,
                };
                state.put_mapping(&kind, &target, &source, &id, &mapping)?;
            }
            "attr" => {
                let target = need(self.target, "target")?;
                state.put_attr(&target, need(self.shortname, "shortname")?.into_owned());
            }
            "edge" => {
                let (kind, target) = (need(self.kind, "kind")?, need(self.target, "target")?);
                let source = need(self.source, "source")?;
                let id = need(self.id, "id")?;
                state.put_edge(&kind, &target, &source, &id, self.target_id.as_deref())?;
            }
            "intent" => {
                let (kind, target) = (need(self.kind, "kind")?, need(self.target, "target")?);
                let (source, id) = (need(self.source, "source")?, need(self.id, "id")?);
                state.put_intent(&kind, &target, &source, &id)?;
            }
            "bookmark" => {
                let source = need(self.source, "source")?;
                state.put_bookmark(&source, need(self.at, "at")?.into_owned());
            }
            "tenant" => {
                let side = need(self.side, "side")?.into_owned();
                let binding = Binding {
                    service: need(self.service, "service")?.into_owned(),
                    url: need(self.url, "url")?.into_owned(),
                    tenant_id: self.tenant_id.map(Cow::into_owned),
                };
                state.put_tenant(side, binding);
            }
            other => {
                return Err(Fault::Corrupt(format!(
                    "unknown event `{other}`, expected one of `map`, `intent`, `attr`, `edge`, `bookmark`, `tenant`"
                )));
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
            origin: Some("created".into()),
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
                target_id: Some("77/1001".into()),
            },
            Event::Bookmark {
                source: "okta".into(),
                at: "2026-01-01T00:00:00.000Z".into(),
            },
            Event::Tenant {
                side: "target".into(),
                service: "onelogin".into(),
                url: "https://acme.onelogin.com".into(),
                tenant_id: None,
            },
        ];
        let mut expected = State::default();
        {
            let (journal, state) = Journal::open(&path).unwrap();
            assert_eq!(state, State::default());
            for e in &events {
                journal.append(e).unwrap();
                expected.apply(e.clone()).unwrap();
            }
        }
        let (_, state) = Journal::open(&path).unwrap();
        assert_eq!(state, expected);
        assert_eq!(
            state
                .target_id("user", "onelogin", "okta", "00u2")
                .unwrap()
                .as_deref(),
            Some("1002")
        );
        assert!(state.has_attr("onelogin", "cost_center"));
        assert!(
            state
                .has_edge("membership", "onelogin", "okta", "00g1/00u1")
                .unwrap()
        );
        assert_eq!(state.bookmark("okta"), Some("2026-01-01T00:00:00.000Z"));
        assert_eq!(
            state
                .edge("membership", "onelogin", "okta", "00g1/00u1")
                .unwrap(),
            Some(Some("77/1001".to_string()))
        );
        assert_eq!(
            state.tenant("target").map(|b| b.url.as_str()),
            Some("https://acme.onelogin.com")
        );
        assert!(
            state
                .mapping("user", "onelogin", "okta", "00u1")
                .unwrap()
                .unwrap()
                .created
        );
        assert_eq!(state.event_count(), 6);
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

    #[test]
    fn a_journal_refuses_another_tenant_until_rebound() {
        // a rehearsal's journal pointed at production made every membership `skip`
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ndjson");
        let (journal, state) = Journal::open(&path).unwrap();
        let rehearsal = "https://rehearsal.onelogin.com/";
        let TenantCheck::Unbound(event) =
            check_tenant(&path, &state, "target", "onelogin", rehearsal, false).unwrap()
        else {
            panic!("a new journal is unbound");
        };
        journal.append(&event).unwrap();
        let state = journal.replay().unwrap();
        assert_eq!(
            check_tenant(
                &path,
                &state,
                "target",
                "onelogin",
                "https://REHEARSAL.onelogin.com",
                false
            ),
            Ok(TenantCheck::Same)
        );
        let err = check_tenant(
            &path,
            &state,
            "target",
            "onelogin",
            "https://prod.onelogin.com",
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("https://rehearsal.onelogin.com"), "{err}");
        assert!(err.contains("https://prod.onelogin.com"), "{err}");
        assert!(
            err.contains("--state") && err.contains("--rebind-state"),
            "{err}"
        );
        // the source side is bound separately
        assert!(matches!(
            check_tenant(
                &path,
                &state,
                "source",
                "okta",
                "https://acme.okta.com",
                false
            ),
            Ok(TenantCheck::Unbound(_))
        ));
        let TenantCheck::Unbound(rebind) = check_tenant(
            &path,
            &state,
            "target",
            "onelogin",
            "https://prod.onelogin.com",
            true,
        )
        .unwrap() else {
            panic!("--rebind-state accepts the new tenant");
        };
        journal.append(&rebind).unwrap();
        let state = journal.replay().unwrap();
        assert_eq!(
            check_tenant(
                &path,
                &state,
                "target",
                "onelogin",
                "https://prod.onelogin.com",
                false
            ),
            Ok(TenantCheck::Same)
        );
    }

    #[test]
    fn one_apply_owns_a_journal_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ndjson");
        let (first, _) = Journal::open(&path).unwrap();
        let (second, _) = Journal::open(&path).unwrap();
        let owner = first.own().unwrap();
        let err = second.own().unwrap_err();
        assert!(matches!(err, JournalError::Owned { .. }), "{err}");
        assert!(err.to_string().contains("in use by another"), "{err}");
        // appends are not blocked by ownership
        second.append(&map_event(1)).unwrap();
        drop(owner);
        second.own().expect("released on drop");
    }
}
