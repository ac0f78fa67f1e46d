//! A key → value table on disk, with a compact index in memory.
//!
//! idm-load remembers something about every object of a run (where it lives in the target,
//! its label) until the edges that name it are written. Held as a hash map of strings that
//! costs a few hundred bytes an object: 300 MB at a million users. Here the records go to
//! unlinked temporary files (0600, gone even after kill -9) and memory keeps about 1.5 bytes
//! an entry, whatever the table's size:
//!
//! - The latest entries (at most [`LIVE_MAX`]) are *live*: their records in a file in the
//!   order written, and in memory a 32-bit hash of each key and where its record is, in
//!   sorted arrays with no load-factor slack (the latest of them in a small hash map until
//!   they are merged in, as idm-map's email index does).
//! - When the live part is full it is written out as a *segment*: its records sorted by hash,
//!   in blocks of [`BLOCK`]. Memory keeps the first hash of each block (0.4 bytes an entry)
//!   and a Bloom filter of the keys (1 byte an entry), so a lookup reads one block of a
//!   segment that probably has the key, and rarely one that has not. More than
//!   [`MAX_SEGMENTS`] segments are merged into one, the newest value of a key winning.
//!
//! A lookup reads records back (from the page cache, in practice) and checks the whole key,
//! so two keys with one hash are told apart, never confused: the hash only has to make such
//! reads rare. Live records are 8-byte aligned so a 32-bit slot addresses 32 GiB of them.
//!
//! [`SortedIndex`] is the first idea without the file, for values that fit 32 bits.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

/// Entries gathered in a hash map before they are merged into the sorted arrays.
const RUN: usize = 1 << 14;
/// Recent entries sharing a hash with another, searched one by one, before a merge.
const COLLIDED: usize = 256;
/// Bytes buffered before they are written to the file.
const BUFFER: usize = 64 * 1024;
/// Live entries at most: 0.5 MB of index, and a segment is written.
const LIVE_MAX: usize = 1 << 16;
/// Segments at most before they are merged into one.
const MAX_SEGMENTS: usize = 6;
/// Entries in a block of a segment (one lookup reads a block: about 2 KB).
const BLOCK: usize = 32;
/// Bloom filter bits a key (about 2 % of lookups of an absent key read a block).
const BLOOM_BITS: usize = 8;
/// Bloom filter probes a key.
const BLOOM_PROBES: u64 = 6;

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

/// A Bloom filter of a segment's keys (its own hash of the key, not the table's).
struct Bloom {
    bits: Vec<u64>,
}

impl Bloom {
    fn new(keys: usize) -> Bloom {
        Bloom {
            bits: vec![0; (keys.max(1) * BLOOM_BITS).div_ceil(64)],
        }
    }

    /// The bits of `key`: double hashing over one 64-bit hash.
    fn probes(&self, key: &[u8]) -> impl Iterator<Item = usize> + use<> {
        let mut h = std::hash::DefaultHasher::new();
        h.write(b"bloom");
        h.write(key);
        let a = h.finish();
        let b = a.rotate_left(29) | 1;
        let n = self.bits.len() as u64 * 64;
        (0..BLOOM_PROBES).map(move |i| (a.wrapping_add(i.wrapping_mul(b)) % n) as usize)
    }

    fn add(&mut self, key: &[u8]) {
        for bit in self.probes(key) {
            self.bits[bit / 64] |= 1 << (bit % 64);
        }
    }

    fn may_have(&self, key: &[u8]) -> bool {
        self.probes(key)
            .all(|bit| self.bits[bit / 64] & (1 << (bit % 64)) != 0)
    }
}

/// One entry of a segment: the table's hash of the key, the key, the value.
type Entry = (u32, Vec<u8>, Vec<u8>);

/// Entries sorted by hash in an unlinked temporary file, a key at most once. Each record is
/// the hash, the key's and the value's lengths (32 bits each), the key and the value.
struct Segment {
    file: File,
    len: usize,
    end: u64,
    /// The first hash of each block, and where the block starts.
    firsts: Vec<u32>,
    starts: Vec<u64>,
    bloom: Bloom,
}

impl Segment {
    /// Write `entries` (sorted by hash; `most`: how many there can be, for the filter).
    fn write(entries: impl Iterator<Item = io::Result<Entry>>, most: usize) -> io::Result<Segment> {
        let mut out = io::BufWriter::with_capacity(BUFFER, tempfile::tempfile()?);
        let (mut len, mut end) = (0usize, 0u64);
        let (mut firsts, mut starts) = (Vec::new(), Vec::new());
        let mut bloom = Bloom::new(most);
        for entry in entries {
            let (h, key, value) = entry?;
            if len % BLOCK == 0 {
                firsts.push(h);
                starts.push(end);
            }
            let key_len = u32::try_from(key.len()).map_err(io::Error::other)?;
            let val_len = u32::try_from(value.len()).map_err(io::Error::other)?;
            out.write_all(&h.to_le_bytes())?;
            out.write_all(&key_len.to_le_bytes())?;
            out.write_all(&val_len.to_le_bytes())?;
            out.write_all(&key)?;
            out.write_all(&value)?;
            end += 12 + key.len() as u64 + value.len() as u64;
            bloom.add(&key);
            len += 1;
        }
        firsts.shrink_to_fit();
        starts.shrink_to_fit();
        Ok(Segment {
            file: out.into_inner().map_err(io::IntoInnerError::into_error)?,
            len,
            end,
            firsts,
            starts,
            bloom,
        })
    }

    /// The value of `key` (whose hash is `h`), if the segment has it.
    fn get(&self, h: u32, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        if !self.bloom.may_have(key) {
            return Ok(None);
        }
        // the block before the first one starting at `h` or later may end with `h`
        let mut block = self.firsts.partition_point(|f| *f < h).saturating_sub(1);
        let mut buf = Vec::new();
        while block < self.starts.len() {
            let from = self.starts[block];
            let to = self.starts.get(block + 1).copied().unwrap_or(self.end);
            buf.resize(usize::try_from(to - from).map_err(io::Error::other)?, 0);
            self.file.read_exact_at(&mut buf, from)?;
            let mut rest = &buf[..];
            while !rest.is_empty() {
                let (eh, k, v, tail) = split_entry(rest)?;
                if eh > h {
                    return Ok(None);
                }
                if eh == h && k == key {
                    return Ok(Some(v.to_vec()));
                }
                rest = tail;
            }
            block += 1;
        }
        Ok(None)
    }

    /// Every entry, in order, read in large chunks.
    fn entries(&self) -> SegmentReader<'_> {
        SegmentReader {
            seg: self,
            at: 0,
            buf: Vec::new(),
            pos: 0,
        }
    }
}

/// A segment record in place: `(hash, key, value, what follows)`.
type Split<'a> = (u32, &'a [u8], &'a [u8], &'a [u8]);

/// One record at the start of `bytes`.
fn split_entry(bytes: &[u8]) -> io::Result<Split<'_>> {
    let bad = || io::Error::other("table: a segment record does not decode");
    let head = bytes.get(..12).ok_or_else(bad)?;
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let (h, key_len, val_len) = (word(0), word(4) as usize, word(8) as usize);
    let key = bytes.get(12..12 + key_len).ok_or_else(bad)?;
    let value = bytes
        .get(12 + key_len..12 + key_len + val_len)
        .ok_or_else(bad)?;
    Ok((h, key, value, &bytes[12 + key_len + val_len..]))
}

/// A segment's entries in order.
struct SegmentReader<'a> {
    seg: &'a Segment,
    /// Where `buf` ends in the file.
    at: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl Iterator for SegmentReader<'_> {
    type Item = io::Result<Entry>;

    fn next(&mut self) -> Option<io::Result<Entry>> {
        loop {
            if let Ok((h, k, v, _)) = split_entry(&self.buf[self.pos..]) {
                self.pos += 12 + k.len() + v.len();
                return Some(Ok((h, k.to_vec(), v.to_vec())));
            }
            if self.at >= self.seg.end {
                return (self.pos < self.buf.len()).then(|| {
                    self.pos = self.buf.len();
                    Err(io::Error::other("table: a segment ends inside a record"))
                });
            }
            // keep the partial record, read the next chunk (at least one whole record)
            self.buf.drain(..self.pos);
            self.pos = 0;
            let want = (self.seg.end - self.at).min(BUFFER.max(self.buf.len()) as u64) as usize;
            let have = self.buf.len();
            self.buf.resize(have + want, 0);
            if let Err(e) = self.seg.file.read_exact_at(&mut self.buf[have..], self.at) {
                self.at = self.seg.end;
                self.buf.clear();
                return Some(Err(e));
            }
            self.at += want as u64;
        }
    }
}

/// Byte keys → byte values, the last insert of a key winning; see the module doc.
pub struct DiskTable {
    /// The live entries.
    index: MultiIndex,
    data: Spill,
    /// Oldest first; a newer one's value of a key wins.
    segments: Vec<Segment>,
    /// Copies of keys in segments that a newer value replaced (so `len` counts keys once).
    shadowed: usize,
    /// Testing hooks: a hash function that collides on purpose, a smaller live part.
    hasher: fn(&[u8]) -> u32,
    live_max: usize,
}

impl DiskTable {
    /// An empty table with its temporary file.
    pub fn new() -> io::Result<DiskTable> {
        Ok(DiskTable {
            index: MultiIndex::default(),
            data: Spill::new()?,
            segments: Vec::new(),
            shadowed: 0,
            hasher: hash,
            live_max: LIVE_MAX,
        })
    }

    /// Entries (distinct keys).
    pub fn len(&self) -> usize {
        self.index.len() + self.segments.iter().map(|s| s.len).sum::<usize>() - self.shadowed
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Set `key` to `value`.
    pub fn insert(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        let h = (self.hasher)(key);
        let existing = self.find(h, key)?;
        if existing.is_none() && self.in_segments(h, key, self.segments.len())?.is_some() {
            self.shadowed += 1;
        }
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
        if self.index.len() >= self.live_max {
            self.write_segment()?;
        }
        Ok(())
    }

    /// The value of `key`, if it has one.
    pub fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        let h = (self.hasher)(key);
        if let Some((_, v)) = self.find(h, key)? {
            return Ok(Some(v));
        }
        self.in_segments(h, key, self.segments.len())
    }

    /// The value of `key` in the newest of the first `newer_than` segments that has it.
    fn in_segments(&self, h: u32, key: &[u8], newer_than: usize) -> io::Result<Option<Vec<u8>>> {
        for seg in self.segments[..newer_than].iter().rev() {
            if let Some(v) = seg.get(h, key)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// Every entry once, as `(key, value)` with its last value: the live ones in the order
    /// written (a replaced key where its last value was written), then each segment's, newest
    /// first, in hash order.
    pub fn iter(&self) -> impl Iterator<Item = io::Result<(Vec<u8>, Vec<u8>)>> + '_ {
        let segments = (0..self.segments.len()).rev().flat_map(move |i| {
            self.segments[i].entries().filter_map(move |entry| {
                let (h, key, value) = match entry {
                    Ok(e) => e,
                    Err(e) => return Some(Err(e)),
                };
                // a key a newer layer has is that layer's entry
                let newer = match self.find(h, &key) {
                    Ok(Some(_)) => Ok(true),
                    Ok(None) => newer_segments_have(&self.segments[i + 1..], h, &key),
                    Err(e) => Err(e),
                };
                let newer = match newer {
                    Ok(n) => n,
                    Err(e) => return Some(Err(e)),
                };
                (!newer).then_some(Ok((key, value)))
            })
        });
        self.live().chain(segments)
    }

    /// The live entries in the order written.
    fn live(&self) -> impl Iterator<Item = io::Result<(Vec<u8>, Vec<u8>)>> + '_ {
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

    /// Write the live entries out as a segment (sorted by hash) and start a new live part;
    /// merge the segments when there are too many.
    fn write_segment(&mut self) -> io::Result<()> {
        self.index.merge();
        let index = std::mem::take(&mut self.index);
        let entries = index.keys.iter().zip(&index.vals).map(|(h, slot)| {
            let (key, value) = self.record(u64::from(*slot) * 8)?;
            Ok((*h, key, value))
        });
        let seg = Segment::write(entries, index.keys.len())?;
        drop(index);
        self.segments.push(seg);
        self.data = Spill::new()?;
        if self.segments.len() > MAX_SEGMENTS {
            self.merge_segments()?;
        }
        Ok(())
    }

    /// Merge every segment into one, the newest value of a key winning.
    fn merge_segments(&mut self) -> io::Result<()> {
        let most = self.segments.iter().map(|s| s.len).sum();
        let mut readers: Vec<(SegmentReader<'_>, Option<Entry>)> = Vec::new();
        for seg in &self.segments {
            let mut r = seg.entries();
            let head = r.next().transpose()?;
            readers.push((r, head));
        }
        let mut group: Vec<(usize, Entry)> = Vec::new();
        let mut pending: std::collections::VecDeque<Entry> = Default::default();
        let merged = std::iter::from_fn(|| -> Option<io::Result<Entry>> {
            loop {
                if let Some(e) = pending.pop_front() {
                    return Some(Ok(e));
                }
                let h = readers
                    .iter()
                    .filter_map(|(_, head)| head.as_ref().map(|e| e.0))
                    .min()?;
                // every entry of this hash, from every segment (segment index: newer wins)
                group.clear();
                for (i, (r, head)) in readers.iter_mut().enumerate() {
                    while head.as_ref().is_some_and(|e| e.0 == h) {
                        group.extend(head.take().map(|e| (i, e)));
                        match r.next().transpose() {
                            Ok(next) => *head = next,
                            Err(e) => return Some(Err(e)),
                        }
                    }
                }
                group.sort_by(|(ia, a), (ib, b)| a.1.cmp(&b.1).then(ib.cmp(ia)));
                group.dedup_by(|later, first| later.1.1 == first.1.1);
                pending.extend(group.drain(..).map(|(_, e)| e));
            }
        });
        let seg = Segment::write(merged, most)?;
        self.segments = vec![seg];
        self.shadowed = 0;
        Ok(())
    }

    /// The key and value of the live record at `at`.
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

    /// The live index entry and value of `key`.
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

/// Whether any of `segments` has `key`.
fn newer_segments_have(segments: &[Segment], h: u32, key: &[u8]) -> io::Result<bool> {
    for seg in segments {
        if seg.get(h, key)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
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
        let mut t = small(usize::MAX, hash);
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

    /// A table whose live part holds `live` entries, hashing with `hasher`.
    fn small(live: usize, hasher: fn(&[u8]) -> u32) -> DiskTable {
        let mut t = DiskTable::new().unwrap();
        t.live_max = live;
        t.hasher = hasher;
        t
    }

    /// Every entry of the table, sorted, checking each key comes once.
    fn entries(t: &DiskTable) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut all: Vec<_> = t.iter().map(Result::unwrap).collect();
        all.sort();
        let n = all.len();
        all.dedup_by(|a, b| a.0 == b.0);
        assert_eq!(all.len(), n, "a key came twice");
        all
    }

    #[test]
    fn segments_keep_every_key_and_its_last_value() {
        for hasher in [hash as fn(&[u8]) -> u32, |k: &[u8]| hash(k) & 0x3ff] {
            let mut t = small(97, hasher);
            let mut want = std::collections::BTreeMap::new();
            let n: usize = 5_000;
            for i in 0..n {
                let (k, v) = (format!("k{i}"), format!("v{i}"));
                t.insert(k.as_bytes(), v.as_bytes()).unwrap();
                want.insert(k.into_bytes(), v.into_bytes());
                // replace keys that are by now in an old segment, a recent one, or live
                if i % 7 == 0 {
                    for j in [i / 2, i.saturating_sub(120), i.saturating_sub(3)] {
                        let (k, v) = (format!("k{j}"), format!("w{j}-{i}"));
                        t.insert(k.as_bytes(), v.as_bytes()).unwrap();
                        want.insert(k.into_bytes(), v.into_bytes());
                    }
                }
                assert_eq!(t.len(), want.len(), "after insert {i}");
            }
            assert!(!t.segments.is_empty(), "entries went to segments");
            assert!(t.segments.len() <= MAX_SEGMENTS, "segments were merged");
            for (k, v) in &want {
                assert_eq!(
                    t.get(k).unwrap().as_ref(),
                    Some(v),
                    "{:?}",
                    String::from_utf8_lossy(k)
                );
            }
            for absent in ["k-1", "k5000", "", "v1"] {
                assert_eq!(t.get(absent.as_bytes()).unwrap(), None, "{absent}");
            }
            let all = entries(&t);
            assert_eq!(all, want.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_merge_keeps_the_newest_value_of_a_key_in_several_segments() {
        let mut t = small(10, hash);
        // one key rewritten into every segment, then merged
        for round in 0..(MAX_SEGMENTS + 3) {
            for i in 0..10 {
                t.insert(format!("k{i}").as_bytes(), format!("r{round}").as_bytes())
                    .unwrap();
            }
            assert_eq!(t.len(), 10, "round {round}");
        }
        assert_eq!(t.get(b"k3").unwrap(), Some(b"r8".to_vec()));
        assert_eq!(entries(&t).len(), 10);
        assert!(entries(&t).iter().all(|(_, v)| v == b"r8"));
    }

    #[test]
    fn a_bloom_filter_never_forgets_a_key() {
        let mut b = Bloom::new(1000);
        for i in 0..1000 {
            b.add(format!("key {i}").as_bytes());
        }
        assert!((0..1000).all(|i| b.may_have(format!("key {i}").as_bytes())));
        let strangers = (0..10_000)
            .filter(|i| b.may_have(format!("other {i}").as_bytes()))
            .count();
        assert!(strangers < 500, "{strangers} false positives in 10,000");
    }

    #[test]
    fn keys_with_one_hash_are_told_apart() {
        // 17-bit hashes: 200,000 keys share them one to three to a hash, in every place an
        // entry can be (the sorted arrays, the recent map, the collided list); each lookup
        // must check the key it reads back
        let mut t = small(usize::MAX, |k| hash(k) & 0x1_ffff);
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
