//! Sets of OneLogin ids packed for a tenant of millions: a user's or a role member's id
//! takes one or two bytes, not the 8 of a `u64` or the 30 or so of a hash set's entry.
//!
//! Ids are kept sorted, in blocks of [`BLOCK`]: each block's first id is stored whole, the
//! others as LEB128 gaps from the one before. OneLogin gives ids in ascending order with small
//! gaps (a tenant's users are a few ids apart), so a gap is almost always one byte. A lookup
//! binary-searches the blocks' first ids and decodes one block. Ids added later (a run's
//! creates) sit in a small hash set until enough of them are merged in.

use std::collections::HashSet;

/// Ids a block holds; a lookup decodes at most this many gaps.
const BLOCK: usize = 64;

/// The fewest ids added before they are merged into the packed blocks; above it, a set
/// merges when its new ids reach 1/64 of it, so a merge (which re-encodes the set) costs
/// at most 64 ids re-encoded per id added.
const MIN_RUN: usize = 1 << 12;

/// A set of ids: packed sorted blocks, and the ids added since the last merge.
#[derive(Debug, Default)]
pub struct IdSet {
    /// The first id of each block.
    firsts: Vec<u64>,
    /// Where each block's gaps start in `gaps`.
    starts: Vec<usize>,
    /// The gaps of every block after its first id, LEB128.
    gaps: Vec<u8>,
    /// Ids in the packed blocks.
    packed: usize,
    /// Ids added since the last merge.
    recent: HashSet<u64>,
}

impl IdSet {
    pub fn contains(&self, id: &u64) -> bool {
        self.recent.contains(id) || self.packed_contains(*id)
    }

    fn packed_contains(&self, id: u64) -> bool {
        let block = self.firsts.partition_point(|&f| f <= id);
        let Some(b) = block.checked_sub(1) else {
            return false;
        };
        let mut at = self.firsts[b];
        if at == id {
            return true;
        }
        for gap in self.gaps_of(b) {
            at += gap;
            if at >= id {
                return at == id;
            }
        }
        false
    }

    /// From sorted ids (a repeated id is kept once).
    pub fn from_sorted(ids: impl IntoIterator<Item = u64>) -> IdSet {
        let mut set = IdSet::default();
        let mut last = None;
        for id in ids {
            if last == Some(id) {
                continue;
            }
            if set.packed % BLOCK == 0 {
                set.firsts.push(id);
                set.starts.push(set.gaps.len());
            } else {
                let gap = id - last.unwrap_or(id);
                put_gap(&mut set.gaps, gap);
            }
            set.packed += 1;
            last = Some(id);
        }
        set.firsts.shrink_to_fit();
        set.starts.shrink_to_fit();
        set.gaps.shrink_to_fit();
        set
    }

    pub fn insert(&mut self, id: u64) {
        if self.contains(&id) {
            return;
        }
        self.recent.insert(id);
        if self.recent.len() >= MIN_RUN.max(self.packed / 64) {
            self.merge();
        }
    }

    /// Fold the recent ids into the packed blocks.
    fn merge(&mut self) {
        let mut run: Vec<u64> = self.recent.drain().collect();
        run.sort_unstable();
        let merged = IdSet::from_sorted(MergeSorted {
            a: self.iter_packed().peekable(),
            b: run.into_iter().peekable(),
        });
        let recent = std::mem::take(&mut self.recent);
        *self = IdSet { recent, ..merged };
    }

    /// The packed ids, ascending.
    fn iter_packed(&self) -> impl Iterator<Item = u64> + '_ {
        self.firsts.iter().enumerate().flat_map(move |(b, &first)| {
            std::iter::once(first).chain(self.gaps_of(b).scan(first, |at, gap| {
                *at += gap;
                Some(*at)
            }))
        })
    }

    /// The gaps of block `b`.
    fn gaps_of(&self, b: usize) -> Gaps<'_> {
        let end = self.starts.get(b + 1).copied().unwrap_or(self.gaps.len());
        Gaps {
            bytes: &self.gaps[self.starts[b]..end],
        }
    }

    pub fn len(&self) -> usize {
        self.packed + self.recent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the set takes on the heap, about.
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.firsts.capacity() * 8
            + self.starts.capacity() * std::mem::size_of::<usize>()
            + self.gaps.capacity()
            + self.recent.capacity() * 9
    }
}

impl FromIterator<u64> for IdSet {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> IdSet {
        let mut builder = IdBuilder::default();
        for id in iter {
            builder.push(id);
        }
        builder.finish()
    }
}

fn put_gap(out: &mut Vec<u8>, mut gap: u64) {
    while gap >= 0x80 {
        out.push((gap as u8) | 0x80);
        gap >>= 7;
    }
    out.push(gap as u8);
}

/// The LEB128 gaps of one block.
struct Gaps<'a> {
    bytes: &'a [u8],
}

impl Iterator for Gaps<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let mut gap = 0u64;
        let mut shift = 0;
        loop {
            let (&byte, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            gap |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(gap);
            }
            shift += 7;
        }
    }
}

/// Two ascending iterators as one.
struct MergeSorted<A: Iterator<Item = u64>, B: Iterator<Item = u64>> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A: Iterator<Item = u64>, B: Iterator<Item = u64>> Iterator for MergeSorted<A, B> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        match (self.a.peek(), self.b.peek()) {
            (Some(x), Some(y)) if x <= y => self.a.next(),
            (Some(_), Some(_)) | (None, Some(_)) => self.b.next(),
            (Some(_), None) => self.a.next(),
            (None, None) => None,
        }
    }
}

/// Ids as they are decoded from a page, in any order: 4 bytes each while they all fit 32
/// bits, then sorted and packed into an [`IdSet`].
#[derive(Default)]
pub struct IdBuilder {
    narrow: Vec<u32>,
    wide: Option<Vec<u64>>,
}

impl IdBuilder {
    pub fn push(&mut self, id: u64) {
        if self.wide.is_none() {
            if let Ok(n) = u32::try_from(id) {
                self.narrow.push(n);
                return;
            }
            self.wide = Some(self.narrow.drain(..).map(u64::from).collect());
            self.narrow = Vec::new();
        }
        self.wide.get_or_insert_default().push(id);
    }

    pub fn finish(self) -> IdSet {
        match self.wide {
            Some(mut wide) => {
                wide.sort_unstable();
                IdSet::from_sorted(wide)
            }
            None => {
                let mut narrow = self.narrow;
                narrow.sort_unstable();
                IdSet::from_sorted(narrow.into_iter().map(u64::from))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn a_million_close_ids_take_about_a_byte_each() {
        let set = IdSet::from_sorted((0..1_000_000u64).map(|i| 36_000_000 + i * 3));
        assert_eq!(set.len(), 1_000_000);
        assert!(set.contains(&36_000_000) && set.contains(&(36_000_000 + 999_999 * 3)));
        assert!(!set.contains(&36_000_001) && !set.contains(&35_999_999));
        let bytes = set.heap_bytes();
        assert!(bytes < 1_300_000, "{bytes} bytes for a million ids");
    }

    #[test]
    fn ids_past_32_bits_and_large_gaps_are_kept_exactly() {
        let ids = [0u64, 1, 127, 128, 16_511, 1 << 33, (1 << 40) + 5, u64::MAX];
        let set: IdSet = ids.iter().rev().copied().chain(ids).collect();
        assert_eq!(set.len(), ids.len());
        for id in ids {
            assert!(set.contains(&id), "{id}");
        }
        for id in [2u64, 129, (1 << 33) + 1, u64::MAX - 1] {
            assert!(!set.contains(&id), "{id}");
        }
    }

    proptest! {
        // each case makes thousands of inserts and merges twice: fewer cases than the default
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn inserts_and_lookups_agree_with_a_btreeset(
            start in prop::collection::vec(0u64..50_000, 0..3_000),
            added in prop::collection::vec(prop_oneof![0u64..50_000, any::<u64>()], 0..9_000),
            probes in prop::collection::vec(0u64..60_000, 0..300),
        ) {
            let mut set: IdSet = start.iter().copied().collect();
            let mut model: BTreeSet<u64> = start.iter().copied().collect();
            for id in added {
                set.insert(id);
                model.insert(id);
                prop_assert_eq!(set.len(), model.len());
            }
            for id in probes.iter().chain(model.iter()) {
                prop_assert_eq!(set.contains(id), model.contains(id), "{}", id);
            }
            if !set.recent.is_empty() {
                set.merge();
            }
            let packed: Vec<u64> = set.iter_packed().collect();
            let want: Vec<u64> = model.into_iter().collect();
            prop_assert_eq!(packed, want);
        }
    }
}
