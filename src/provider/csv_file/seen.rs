//! The logins and ids seen so far in the first read, to name a row that repeats one.
//!
//! This is the only memory of the CSV source that grows with the rows, so it is compact: a
//! 64-bit hash of each key with the line of its first row, 12 bytes an entry in
//! [`SortedIndex`] (sorted arrays, no hash-table slack), instead of a hash map of 128-bit
//! hashes (75 bytes a row, measured). Two different logins with one 64-bit hash (about 3 in
//! 100 million at a million rows) would reject the second row naming the first one's line:
//! visible, never silent.

use std::hash::Hasher;

use crate::table::SortedIndex;

/// Keys seen so far → the line of the row that had each first.
#[derive(Default)]
pub struct Seen {
    lines: SortedIndex,
}

/// A line too far down the file for 32 bits (past four billion lines).
const FAR: u32 = u32::MAX;

impl Seen {
    /// The line of the first row with `key`, if one had it.
    pub fn first(&self, key: &str) -> Option<u64> {
        self.lines.get(hash(key)).map(u64::from)
    }

    /// Record `key` at `line` (a key already seen keeps its first line).
    pub fn insert(&mut self, key: &str, line: u64) {
        let h = hash(key);
        if self.lines.get(h).is_none() {
            self.lines.insert(h, u32::try_from(line).unwrap_or(FAR));
        }
    }

    /// Keys recorded.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lines.len()
    }
}

/// A hash stable within a run (SipHash with fixed keys).
fn hash(key: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    h.write(key.as_bytes());
    h.write_u8(0xff);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_lines_survive_many_merged_runs() {
        // enough keys that most lookups go to the merged sorted arrays, not the recent map
        let n = 200_000u64;
        let mut seen = Seen::default();
        for i in 0..n {
            let key = format!("user{i}@example.com");
            assert_eq!(seen.first(&key), None, "{key} not seen yet");
            seen.insert(&key, i + 2);
        }
        assert_eq!(seen.len(), n as usize);
        for i in [0, 1, 65_535, 65_536, 131_071, n - 1] {
            assert_eq!(seen.first(&format!("user{i}@example.com")), Some(i + 2));
        }
        // a repeat keeps the first line
        seen.insert("user7@example.com", 999_999);
        assert_eq!(seen.first("user7@example.com"), Some(9));
        assert_eq!(seen.len(), n as usize);
        assert_eq!(seen.first("nobody@example.com"), None);
    }
}
