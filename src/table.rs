//! A key → value table on disk, with a compact index in memory.
//!
//! idm-load remembers something about every object of a run (where it lives in the target,
//! its label) until the edges that name it are written. Held as a hash map of strings that
//! costs a few hundred bytes an object: 300 MB at a million users. Here the records go to an
//! unlinked temporary file (0600, gone even after kill -9) and memory keeps 8 bytes an entry:
//! a 32-bit hash of the key and where its record is, in sorted arrays with no load-factor
//! slack (the latest entries in a small hash map until they are merged in, as idm-map's email
//! index does). A lookup reads the record back (from the page cache, in practice) and checks
//! the whole key, so two keys with one hash are told apart, never confused: the hash only
//! has to make such reads rare (a million keys make one lookup in 4,000 read a stranger).
//!
//! Records are 8-byte aligned so a 32-bit slot addresses 32 GiB of them.
//!
//! [`SortedIndex`] is the same idea without the file, for values that fit 32 bits.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};

/// Entries gathered in a hash map before they are merged into the sorted arrays.
const RUN: usize = 1 << 16;
/// Recent entries sharing a hash with another, searched one by one, before a merge.
const COLLIDED: usize = 256;
/// Bytes buffered before they are written to the file.
const BUFFER: usize = 64 * 1024;

/// A hasher for keys that are already 32-bit hashes: spread over 64 bits (the hash map takes
/// its buckets from the low bits and its tags from the high ones).
#[derive(Default)]
struct Spread(u64);

impl Hasher for Spread {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// 32-bit hashes → 32-bit slots; a hash may have several slots (keys that collide).
#[derive(Default)]
struct MultiIndex {
    keys: Vec<u32>,
    vals: Vec<u32>,
    recent: HashMap<u32, u32, BuildHasherDefault<Spread>>,
    /// Recent entries whose hash `recent` already holds for another key (rare).
    collided: Vec<(u32, u32)>,
}

/// Where an entry of the index is, to replace its slot.
#[derive(Clone, Copy)]
enum At {
    Sorted(usize),
    Recent,
    Collided(usize),
}

impl MultiIndex {
    /// Every slot of `hash`, with where it is.
    fn slots(&self, hash: u32) -> impl Iterator<Item = (At, u32)> + '_ {
        let start = self.keys.partition_point(|k| *k < hash);
        let sorted = self.keys[start..]
            .iter()
            .take_while(move |k| **k == hash)
            .enumerate()
            .map(move |(i, _)| (At::Sorted(start + i), self.vals[start + i]));
        let recent = self.recent.get(&hash).map(|v| (At::Recent, *v));
        let collided = self
            .collided
            .iter()
            .enumerate()
            .filter(move |(_, (k, _))| *k == hash)
            .map(|(i, (_, v))| (At::Collided(i), *v));
        sorted.chain(recent).chain(collided)
    }

    fn replace(&mut self, hash: u32, at: At, slot: u32) {
        match at {
            At::Sorted(i) => self.vals[i] = slot,
            At::Recent => {
                self.recent.insert(hash, slot);
            }
            At::Collided(i) => self.collided[i].1 = slot,
        }
    }

    fn push(&mut self, hash: u32, slot: u32) {
        match self.recent.entry(hash) {
            std::collections::hash_map::Entry::Occupied(_) => self.collided.push((hash, slot)),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(slot);
            }
        }
        // `collided` is searched in full: keep it short
        if self.recent.len() >= RUN || self.collided.len() >= COLLIDED {
            self.merge();
        }
    }

    /// Merge the recent entries into the sorted arrays.
    fn merge(&mut self) {
        let mut run: Vec<(u32, u32)> = self.recent.drain().collect();
        run.append(&mut self.collided);
        run.sort_unstable_by_key(|e| e.0);
        merge_sorted(&mut self.keys, &mut self.vals, &run);
    }

    fn len(&self) -> usize {
        self.keys.len() + self.recent.len() + self.collided.len()
    }
}

/// Append-only bytes in an unlinked temporary file, read back by offset.
struct Spill {
    file: File,
    /// Bytes in the file; `buf` holds what comes after.
    flushed: u64,
    buf: Vec<u8>,
}

impl Spill {
    fn new() -> io::Result<Spill> {
        Ok(Spill {
            file: tempfile::tempfile()?,
            flushed: 0,
            buf: Vec::with_capacity(BUFFER),
        })
    }

    fn end(&self) -> u64 {
        self.flushed + self.buf.len() as u64
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= BUFFER {
            self.file.write_all(&self.buf)?;
            self.flushed += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }

    /// Fill `out` from offset `at` (from the file, the buffer, or both).
    fn read(&self, at: u64, out: &mut [u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let end = at + out.len() as u64;
        if end > self.end() {
            return Err(io::Error::other("table: a record past the end"));
        }
        let in_file = usize::try_from(self.flushed.saturating_sub(at).min(out.len() as u64))
            .map_err(io::Error::other)?;
        if in_file > 0 {
            self.file.read_exact_at(&mut out[..in_file], at)?;
        }
        if in_file < out.len() {
            let start =
                usize::try_from(at + in_file as u64 - self.flushed).map_err(io::Error::other)?;
            let rest = out.len() - in_file;
            out[in_file..].copy_from_slice(&self.buf[start..start + rest]);
        }
        Ok(())
    }
}

/// A 32-bit hash of a key, stable within a run.
fn hash(key: &[u8]) -> u32 {
    let mut h = std::hash::DefaultHasher::new();
    h.write(key);
    let h = h.finish();
    (h ^ (h >> 32)) as u32
}

/// Byte keys → byte values, the last insert of a key winning; see the module doc.
pub struct DiskTable {
    index: MultiIndex,
    data: Spill,
    /// Testing hook: a hash function that collides on purpose.
    hasher: fn(&[u8]) -> u32,
}

impl DiskTable {
    /// An empty table with its temporary file.
    pub fn new() -> io::Result<DiskTable> {
        Ok(DiskTable {
            index: MultiIndex::default(),
            data: Spill::new()?,
            hasher: hash,
        })
    }

    /// Entries (distinct keys).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Set `key` to `value`.
    pub fn insert(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        let h = (self.hasher)(key);
        let existing = self.find(h, key)?;
        let at = self.data.end();
        let slot = u32::try_from(at / 8)
            .map_err(|_| io::Error::other("table: more than 32 GiB of records"))?;
        let key_len = u32::try_from(key.len()).map_err(io::Error::other)?;
        let val_len = u32::try_from(value.len()).map_err(io::Error::other)?;
        self.data.append(&key_len.to_le_bytes())?;
        self.data.append(&val_len.to_le_bytes())?;
        self.data.append(key)?;
        self.data.append(value)?;
        let pad = (8 - (key.len() + value.len()) % 8) % 8;
        self.data.append(&[0u8; 8][..pad])?;
        match existing {
            Some((where_, _)) => self.index.replace(h, where_, slot),
            None => self.index.push(h, slot),
        }
        Ok(())
    }

    /// The value of `key`, if it has one.
    pub fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        Ok(self.find((self.hasher)(key), key)?.map(|(_, v)| v))
    }

    /// Every entry, as `(key, value)`, in the file's order (a replaced key comes where its
    /// last value was written).
    pub fn iter(&self) -> impl Iterator<Item = io::Result<(Vec<u8>, Vec<u8>)>> + '_ {
        let mut at = 0u64;
        std::iter::from_fn(move || {
            loop {
                if at >= self.data.end() {
                    return None;
                }
                let record = self.record(at);
                let slot = at / 8;
                match record {
                    Ok((key, value)) => {
                        at += (8 + key.len() + value.len()).div_ceil(8) as u64 * 8;
                        // a replaced record is not an entry any more
                        let live = self
                            .index
                            .slots((self.hasher)(&key))
                            .any(|(_, s)| u64::from(s) == slot);
                        if live {
                            return Some(Ok((key, value)));
                        }
                    }
                    Err(e) => {
                        at = self.data.end(); // stop after the error
                        return Some(Err(e));
                    }
                }
            }
        })
    }

    /// The key and value of the record at `at`.
    fn record(&self, at: u64) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let mut lens = [0u8; 8];
        self.data.read(at, &mut lens)?;
        let key_len = u32::from_le_bytes([lens[0], lens[1], lens[2], lens[3]]) as usize;
        let val_len = u32::from_le_bytes([lens[4], lens[5], lens[6], lens[7]]) as usize;
        let mut record = vec![0u8; key_len + val_len];
        self.data.read(at + 8, &mut record)?;
        let value = record.split_off(key_len);
        Ok((record, value))
    }

    /// The index entry and value of `key`.
    fn find(&self, h: u32, key: &[u8]) -> io::Result<Option<(At, Vec<u8>)>> {
        for (where_, slot) in self.index.slots(h) {
            let at = u64::from(slot) * 8;
            let mut lens = [0u8; 8];
            self.data.read(at, &mut lens)?;
            let key_len = u32::from_le_bytes([lens[0], lens[1], lens[2], lens[3]]) as usize;
            let val_len = u32::from_le_bytes([lens[4], lens[5], lens[6], lens[7]]) as usize;
            if key_len != key.len() {
                continue;
            }
            let mut record = vec![0u8; key_len + val_len];
            self.data.read(at + 8, &mut record)?;
            if &record[..key_len] == key {
                record.drain(..key_len);
                return Ok(Some((where_, record)));
            }
        }
        Ok(None)
    }
}

/// Merge `run` (sorted by key) into the sorted arrays `keys`/`vals`, in place from the back.
/// The arrays grow by exactly the run: a doubling `Vec` would keep up to twice their room.
fn merge_sorted<K: Copy + Default + Ord>(keys: &mut Vec<K>, vals: &mut Vec<u32>, run: &[(K, u32)]) {
    let (n, m) = (keys.len(), run.len());
    keys.reserve_exact(m);
    vals.reserve_exact(m);
    keys.resize(n + m, K::default());
    vals.resize(n + m, 0);
    let (mut i, mut j, mut w) = (n, m, n + m);
    while j > 0 {
        w -= 1;
        if i > 0 && keys[i - 1] > run[j - 1].0 {
            keys[w] = keys[i - 1];
            vals[w] = vals[i - 1];
            i -= 1;
        } else {
            (keys[w], vals[w]) = run[j - 1];
            j -= 1;
        }
    }
}

// ---- A sorted index of 64-bit hashes: for keys whose values fit 32 bits and need no file ----

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct Passthrough(u64);

impl Hasher for Passthrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Entries gathered in a hash map before they are merged into the sorted arrays.
pub(crate) const SORTED_RUN: usize = 1 << 14;

/// 64-bit hashes to 32-bit values, 12 bytes an entry (idm-map's email index, the CSV source's
/// logins and ids seen): the latest entries in a small hash map, the
/// rest in two sorted arrays (keys, values) that each full run is merged into, in place from
/// the back. Keys are inserted once (the caller looks them up first).
#[derive(Default)]
pub(crate) struct SortedIndex {
    keys: Vec<u64>,
    vals: Vec<u32>,
    recent: HashMap<u64, u32, BuildHasherDefault<Passthrough>>,
}

impl SortedIndex {
    pub(crate) fn get(&self, key: u64) -> Option<u32> {
        if let Some(v) = self.recent.get(&key) {
            return Some(*v);
        }
        self.keys.binary_search(&key).ok().map(|i| self.vals[i])
    }

    pub(crate) fn insert(&mut self, key: u64, val: u32) {
        self.recent.insert(key, val);
        if self.recent.len() >= SORTED_RUN {
            self.merge();
        }
    }

    fn merge(&mut self) {
        let mut run: Vec<(u64, u32)> = self.recent.drain().collect();
        run.sort_unstable_by_key(|e| e.0);
        merge_sorted(&mut self.keys, &mut self.vals, &run);
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len() + self.recent.len()
    }

    /// Whether the merged keys are strictly sorted (tests).
    #[cfg(test)]
    pub(crate) fn is_sorted(&self) -> bool {
        self.keys.windows(2).all(|w| w[0] < w[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_after_many_inserts_across_merges_and_flushes() {
        let mut t = DiskTable::new().unwrap();
        let n = 3 * RUN + 777;
        for i in 0..n {
            t.insert(
                format!("user/okta/{i}").as_bytes(),
                format!("id-{i}").as_bytes(),
            )
            .unwrap();
        }
        assert_eq!(t.len(), n);
        assert!(t.data.flushed > 0, "records went to the file");
        assert!(!t.index.keys.is_empty(), "entries were merged");
        for i in [0, 1, RUN - 1, RUN, 2 * RUN + 3, n - 1] {
            let got = t.get(format!("user/okta/{i}").as_bytes()).unwrap();
            assert_eq!(got, Some(format!("id-{i}").into_bytes()), "key {i}");
        }
        assert_eq!(t.get(b"user/okta/nobody").unwrap(), None);
        // the last insert wins, whether the key is in the sorted arrays or recent
        t.insert(b"user/okta/5", b"again").unwrap();
        t.insert(format!("user/okta/{}", n - 1).as_bytes(), b"last")
            .unwrap();
        assert_eq!(t.get(b"user/okta/5").unwrap(), Some(b"again".to_vec()));
        assert_eq!(
            t.get(format!("user/okta/{}", n - 1).as_bytes()).unwrap(),
            Some(b"last".to_vec())
        );
        assert_eq!(t.len(), n, "a replaced key is not a new entry");
        // empty values and odd lengths keep the records aligned
        t.insert(b"e", b"").unwrap();
        t.insert(b"odd-key", b"x").unwrap();
        assert_eq!(t.get(b"e").unwrap(), Some(Vec::new()));
        assert_eq!(t.get(b"odd-key").unwrap(), Some(b"x".to_vec()));
        // iteration gives each key once, with its last value
        let all: Vec<(Vec<u8>, Vec<u8>)> = t.iter().map(Result::unwrap).collect();
        assert_eq!(all.len(), t.len());
        let five: Vec<&Vec<u8>> = all
            .iter()
            .filter(|(k, _)| k == b"user/okta/5")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(five, vec![&b"again".to_vec()]);
    }

    #[test]
    fn keys_with_one_hash_are_told_apart() {
        // 17-bit hashes: 200,000 keys share them one to three to a hash, in every place an
        // entry can be (the sorted arrays, the recent map, the collided list); each lookup
        // must check the key it reads back
        let mut t = DiskTable::new().unwrap();
        t.hasher = |k| hash(k) & 0x1_ffff;
        let n = 200_000;
        for i in 0..n {
            t.insert(format!("k{i}").as_bytes(), format!("v{i}").as_bytes())
                .unwrap();
        }
        assert_eq!(t.len(), n);
        assert!(!t.index.keys.is_empty(), "entries were merged");
        assert!(
            t.index.keys.windows(2).any(|w| w[0] == w[1]),
            "the sorted arrays hold colliding hashes"
        );
        for i in 0..n {
            assert_eq!(
                t.get(format!("k{i}").as_bytes()).unwrap(),
                Some(format!("v{i}").into_bytes()),
                "key {i}"
            );
        }
        t.insert(b"k42", b"new").unwrap();
        assert_eq!(t.get(b"k42").unwrap(), Some(b"new".to_vec()));
        assert_eq!(t.get(b"k41").unwrap(), Some(b"v41".to_vec()));
        assert_eq!(t.get(b"missing").unwrap(), None);
        assert_eq!(t.len(), n);
    }
}
