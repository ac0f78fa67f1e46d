//! The `role` column: which role names each user has, from the memberships in the stream.
//!
//! A membership names a group and a user by their source ids; the role name comes from the
//! group record. Groups are few and kept in memory (an id → name table). Memberships are not:
//! a tenant of 1,000,000 users with 3 groups each has 3,000,000 of them, and an in-memory map
//! keyed by user id would cost ~100 bytes each (~300 MB). So memberships are collected as
//! `(user key, group number)` pairs in chunks of [`CHUNK_ENTRIES`], each chunk sorted and
//! written to an anonymous temporary file (a "run"), and the runs are merged into one file
//! sorted by user key. A sparse index (the first user key of every block of at least
//! [`BLOCK_ENTRIES`] entries, blocks starting on a user boundary) makes each lookup one short
//! read. Memory stays flat: one chunk (~15 MB) while collecting, the sparse index
//! (~50 bytes per block: ~2.5 MB for 3,000,000 memberships) and one block while looking up.
//! Small inputs (one chunk) never touch the disk.
//!
//! Users are looked up in input order, so the CSV keeps the order of the mapped stream.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// Memberships held in memory before a sorted run is written to disk.
pub const CHUNK_ENTRIES: usize = 256 * 1024;
/// Minimum memberships per block of the sparse index.
pub const BLOCK_ENTRIES: usize = 64;

type Entry = (Box<str>, u32);

/// Collects groups and memberships while the stream is read.
pub struct RoleIndex {
    groups: HashMap<String, u32>,
    names: Vec<Option<String>>,
    chunk: Vec<Entry>,
    chunk_limit: usize,
    runs: Vec<File>,
}

impl Default for RoleIndex {
    fn default() -> Self {
        RoleIndex::with_chunk_limit(CHUNK_ENTRIES)
    }
}

impl RoleIndex {
    /// An index that spills a sorted run every `chunk_limit` memberships (tests use small
    /// limits to exercise the on-disk path).
    pub fn with_chunk_limit(chunk_limit: usize) -> RoleIndex {
        RoleIndex {
            groups: HashMap::new(),
            names: Vec::new(),
            chunk: Vec::new(),
            chunk_limit: chunk_limit.max(1),
            runs: Vec::new(),
        }
    }

    fn intern(&mut self, group_key: &str) -> u32 {
        if let Some(&n) = self.groups.get(group_key) {
            return n;
        }
        let n = self.names.len() as u32;
        self.groups.insert(group_key.to_string(), n);
        self.names.push(None);
        n
    }

    /// A group record: `group_key` (`source` + id) is the role `name`. A later record wins.
    pub fn set_group(&mut self, group_key: &str, name: &str) {
        let n = self.intern(group_key) as usize;
        self.names[n] = Some(name.to_string());
    }

    /// A membership record: `user_key` is in `group_key`.
    pub fn add_membership(&mut self, user_key: &str, group_key: &str) -> io::Result<()> {
        let group = self.intern(group_key);
        self.chunk.push((user_key.into(), group));
        if self.chunk.len() >= self.chunk_limit {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        self.chunk.sort_unstable();
        self.chunk.dedup();
        let mut out = BufWriter::new(tempfile::tempfile()?);
        for (user, group) in self.chunk.drain(..) {
            write_entry(&mut out, &user, group)?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        self.runs.push(file);
        Ok(())
    }

    /// Sort and merge what was collected into a lookup table.
    pub fn finish(mut self) -> io::Result<RoleLookup> {
        let store = if self.runs.is_empty() {
            self.chunk.sort_unstable();
            self.chunk.dedup();
            let total = self.chunk.len() as u64;
            (Store::Memory(std::mem::take(&mut self.chunk)), total)
        } else {
            if !self.chunk.is_empty() {
                self.spill()?;
            }
            merge(std::mem::take(&mut self.runs))?
        };
        Ok(RoleLookup {
            groups: self.groups,
            names: self.names,
            store: store.0,
            total: store.1,
            used: 0,
        })
    }
}

enum Store {
    Memory(Vec<Entry>),
    Disk {
        file: File,
        /// First user key of each block and the block's offset.
        index: Vec<(Box<str>, u64)>,
        end: u64,
        /// The last block read: its number and entries.
        cached: Option<(usize, Vec<Entry>)>,
        buf: Vec<u8>,
    },
}

/// Looks up the role names of a user.
pub struct RoleLookup {
    groups: HashMap<String, u32>,
    names: Vec<Option<String>>,
    store: Store,
    total: u64,
    used: u64,
}

impl RoleLookup {
    /// True when a group record named the group.
    pub fn group_has_name(&self, group_key: &str) -> bool {
        self.groups
            .get(group_key)
            .is_some_and(|&n| self.names[n as usize].is_some())
    }

    /// The sorted, deduplicated role names of `user_key` (memberships of groups without a
    /// name are left out: they are reported as rejects by the caller).
    pub fn roles_of(&mut self, user_key: &str, out: &mut Vec<String>) -> io::Result<()> {
        out.clear();
        let mut groups: Vec<u32> = Vec::new();
        match &mut self.store {
            Store::Memory(entries) => collect(entries, user_key, &mut groups),
            Store::Disk {
                file,
                index,
                end,
                cached,
                buf,
            } => {
                let i = index.partition_point(|(k, _)| k.as_ref() <= user_key);
                if i > 0 {
                    let block = i - 1;
                    if cached.as_ref().is_none_or(|(b, _)| *b != block) {
                        let start = index[block].1;
                        let stop = index.get(block + 1).map_or(*end, |e| e.1);
                        buf.resize((stop - start) as usize, 0);
                        file.seek(SeekFrom::Start(start))?;
                        file.read_exact(buf)?;
                        let entries = decode_block(buf)?;
                        *cached = Some((block, entries));
                    }
                    if let Some((_, entries)) = cached {
                        collect(entries, user_key, &mut groups);
                    }
                }
            }
        }
        self.used += groups.len() as u64;
        for g in groups {
            if let Some(Some(name)) = self.names.get(g as usize) {
                out.push(name.clone());
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(())
    }

    /// Distinct memberships collected.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Memberships whose user was looked up (written or rejected).
    pub fn used(&self) -> u64 {
        self.used.min(self.total)
    }
}

fn collect(entries: &[Entry], user_key: &str, groups: &mut Vec<u32>) {
    let start = entries.partition_point(|(k, _)| k.as_ref() < user_key);
    groups.extend(
        entries[start..]
            .iter()
            .take_while(|(k, _)| k.as_ref() == user_key)
            .map(|(_, g)| *g),
    );
}

fn write_entry(out: &mut impl Write, user: &str, group: u32) -> io::Result<()> {
    out.write_all(&(user.len() as u32).to_le_bytes())?;
    out.write_all(user.as_bytes())?;
    out.write_all(&group.to_le_bytes())
}

fn entry_len(user: &str) -> u64 {
    8 + user.len() as u64
}

/// Read one entry; `None` at a clean end of the run.
fn read_entry(input: &mut impl Read) -> io::Result<Option<Entry>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut user = vec![0u8; u32::from_le_bytes(len) as usize];
    input.read_exact(&mut user)?;
    let mut group = [0u8; 4];
    input.read_exact(&mut group)?;
    let user =
        String::from_utf8(user).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(Some((user.into_boxed_str(), u32::from_le_bytes(group))))
}

fn decode_block(mut bytes: &[u8]) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    while let Some(entry) = read_entry(&mut bytes)? {
        entries.push(entry);
    }
    Ok(entries)
}

/// k-way merge of sorted runs into one deduplicated file with a sparse index.
fn merge(runs: Vec<File>) -> io::Result<(Store, u64)> {
    let mut readers = Vec::with_capacity(runs.len());
    for mut run in runs {
        run.seek(SeekFrom::Start(0))?;
        readers.push(BufReader::with_capacity(64 * 1024, run));
    }
    let mut heap = BinaryHeap::new();
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some((user, group)) = read_entry(r)? {
            heap.push(Reverse((user, group, i)));
        }
    }
    let mut out = BufWriter::with_capacity(256 * 1024, tempfile::tempfile()?);
    let mut index: Vec<(Box<str>, u64)> = Vec::new();
    let mut offset = 0u64;
    let mut in_block = 0usize;
    let mut total = 0u64;
    let mut prev: Option<Entry> = None;
    while let Some(Reverse((user, group, i))) = heap.pop() {
        if let Some((next_user, next_group)) = read_entry(&mut readers[i])? {
            heap.push(Reverse((next_user, next_group, i)));
        }
        if prev
            .as_ref()
            .is_some_and(|(pu, pg)| **pu == *user && *pg == group)
        {
            continue; // the same membership twice
        }
        let new_user = prev.as_ref().is_none_or(|(pu, _)| **pu != *user);
        if index.is_empty() || (new_user && in_block >= BLOCK_ENTRIES) {
            index.push((user.clone(), offset));
            in_block = 0;
        }
        write_entry(&mut out, &user, group)?;
        offset += entry_len(&user);
        in_block += 1;
        total += 1;
        prev = Some((user, group));
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    Ok((
        Store::Disk {
            file,
            index,
            end: offset,
            cached: None,
            buf: Vec::new(),
        },
        total,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(limit: usize, memberships: &[(&str, &str)]) -> RoleLookup {
        let mut idx = RoleIndex::with_chunk_limit(limit);
        for g in ["g1", "g2", "g3"] {
            idx.set_group(g, &format!("Role {g}"));
        }
        for (u, g) in memberships {
            idx.add_membership(u, g).unwrap();
        }
        idx.finish().unwrap()
    }

    fn roles(lookup: &mut RoleLookup, user: &str) -> Vec<String> {
        let mut out = Vec::new();
        lookup.roles_of(user, &mut out).unwrap();
        out
    }

    #[test]
    fn memory_and_disk_paths_give_the_same_answers() {
        // 300 users, each in 1-3 groups, inserted in an interleaved order, with duplicates
        let mut pairs: Vec<(String, String)> = Vec::new();
        for round in 0..3 {
            for u in 0..300 {
                if u % 3 >= round {
                    pairs.push((format!("u{u:03}"), format!("g{}", round + 1)));
                }
            }
        }
        pairs.push(("u007".into(), "g1".into()));
        pairs.push(("ghost".into(), "g9".into())); // a group with no record
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(u, g)| (u.as_str(), g.as_str()))
            .collect();
        let mut memory = build(usize::MAX, &refs);
        let mut disk = build(7, &refs);
        assert!(matches!(memory.store, Store::Memory(_)));
        assert!(matches!(disk.store, Store::Disk { .. }));
        assert_eq!(memory.total(), 601);
        assert_eq!(disk.total(), 601);
        for u in (0..300).rev().chain(0..300) {
            let user = format!("u{u:03}");
            let want: Vec<String> = (1..=u % 3 + 1).map(|g| format!("Role g{g}")).collect();
            assert_eq!(roles(&mut memory, &user), want, "{user}");
            assert_eq!(roles(&mut disk, &user), want, "{user}");
        }
        assert!(roles(&mut disk, "nobody").is_empty());
        assert!(roles(&mut disk, "a").is_empty());
        assert!(roles(&mut disk, "zzz").is_empty());
        // the ghost's membership resolves to no name
        assert!(roles(&mut disk, "ghost").is_empty());
        assert!(!disk.group_has_name("g9"));
        assert!(disk.group_has_name("g2"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Any memberships, any chunk size: the same roles as a plain map would give.
        #[test]
        fn external_sort_agrees_with_a_map(
            pairs in proptest::collection::vec((0u8..40, 0u8..6), 0..400),
            limit in 1usize..50,
        ) {
            let mut idx = RoleIndex::with_chunk_limit(limit);
            for g in 0..5u8 {
                idx.set_group(&format!("g{g}"), &format!("R{}", g % 4));
            }
            let mut want: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
                Default::default();
            for (u, g) in &pairs {
                let user = format!("user{u}");
                idx.add_membership(&user, &format!("g{g}")).unwrap();
                let entry = want.entry(user).or_default();
                if *g < 5 {
                    entry.insert(format!("R{}", g % 4));
                }
            }
            let mut lookup = idx.finish().unwrap();
            for u in (0..45u8).rev() {
                let user = format!("user{u}");
                let expected: Vec<String> =
                    want.get(&user).map(|s| s.iter().cloned().collect()).unwrap_or_default();
                proptest::prop_assert_eq!(roles(&mut lookup, &user), expected);
            }
        }
    }

    #[test]
    fn same_name_twice_is_one_role() {
        let mut idx = RoleIndex::default();
        idx.set_group("a", "Sales");
        idx.set_group("b", "Sales");
        idx.set_group("c", "Admins");
        for g in ["a", "b", "c"] {
            idx.add_membership("u1", g).unwrap();
        }
        let mut lookup = idx.finish().unwrap();
        assert_eq!(roles(&mut lookup, "u1"), ["Admins", "Sales"]);
    }
}
