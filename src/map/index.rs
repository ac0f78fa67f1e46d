//! The one cross-record memory idm-map keeps: which emails and email prefixes it has seen.
//!
//! Duplicate emails (OneLogin refuses the second user with a 422) and shared email prefixes
//! (people who sign in with the part before `@` collide) can only be found by remembering
//! earlier users. Everything else streams, so this index is the whole of idm-map's memory
//! growth, and it is kept to 24 bytes a user:
//! - it stores 64-bit hashes of the lowercased email and prefix, not the strings. A hash
//!   collision between two different emails is possible in principle (about 3 in 100 million at
//!   a million users) and would be reported as a duplicate naming the other user, so it is
//!   visible, never silent;
//! - each hash maps to where the first user's id is, in [`SortedIndex`]: 12 bytes an entry,
//!   in sorted arrays with no load-factor slack (a hash table doubles at a power of two: a
//!   million users cost it 70 MB);
//! - the ids themselves go to an unlinked temporary file (0600), read back only to name the
//!   first user of a duplicate; if no temporary file can be made they stay in memory.

use std::fs::File;
use std::hash::{DefaultHasher, Hasher};

use crate::table::SortedIndex;

/// Ids of users, each written once (a 4-byte length, then the id) to an unlinked temporary
/// file through a small buffer; an id is known by its offset.
#[derive(Default)]
struct IdSpill {
    /// `None` until the first flush; stays `None` (ids kept in `buf`) if none can be made.
    file: Option<File>,
    no_file: bool,
    /// Bytes in the file; `buf` holds what comes after.
    flushed: u64,
    buf: Vec<u8>,
}

/// An id too far into the spill for a 32-bit offset (past 4 GiB of ids).
const TOO_FAR: u32 = u32::MAX;
const SPILL_BUFFER: usize = 64 * 1024;

impl IdSpill {
    fn push(&mut self, id: &str) -> u32 {
        let at = self.flushed + self.buf.len() as u64;
        let len = u32::try_from(id.len()).unwrap_or(u32::MAX);
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(&id.as_bytes()[..len as usize]);
        if self.buf.len() >= SPILL_BUFFER && !self.no_file {
            self.flush();
        }
        u32::try_from(at)
            .ok()
            .filter(|&a| a != TOO_FAR)
            .unwrap_or(TOO_FAR)
    }

    fn flush(&mut self) {
        use std::io::Write;
        if self.file.is_none() {
            match tempfile::tempfile() {
                Ok(f) => self.file = Some(f),
                Err(e) => {
                    tracing::debug!("email index: no temporary file ({e}); ids stay in memory");
                    self.no_file = true;
                    return;
                }
            }
        }
        let Some(file) = &mut self.file else { return };
        match file.write_all(&self.buf) {
            Ok(()) => {
                self.flushed += self.buf.len() as u64;
                self.buf.clear();
            }
            Err(e) => {
                tracing::debug!("email index: writing ids failed ({e}); ids stay in memory");
                self.no_file = true;
            }
        }
    }

    fn get(&self, at: u32) -> String {
        if at == TOO_FAR {
            return "an earlier user".to_string();
        }
        let at = u64::from(at);
        let mut len = [0u8; 4];
        if self.read(at, &mut len).is_none() {
            return "an earlier user".to_string();
        }
        let mut id = vec![0u8; u32::from_le_bytes(len) as usize];
        match self.read(at + 4, &mut id) {
            Some(()) => String::from_utf8_lossy(&id).into_owned(),
            None => "an earlier user".to_string(),
        }
    }

    /// Read `out.len()` bytes at `at`, from the file or the buffer (never across both: an id
    /// is flushed whole with its length).
    fn read(&self, at: u64, out: &mut [u8]) -> Option<()> {
        if at >= self.flushed {
            let start = usize::try_from(at - self.flushed).ok()?;
            out.copy_from_slice(self.buf.get(start..start + out.len())?);
            return Some(());
        }
        use std::os::unix::fs::FileExt;
        self.file.as_ref()?.read_exact_at(out, at).ok()
    }
}

/// Case-insensitive hash of a string (Unicode lowercase), stable across runs.
fn fold_hash(domain: u8, s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    h.write_u8(domain);
    for c in s.chars() {
        for l in c.to_lowercase() {
            h.write_u32(l as u32);
        }
    }
    h.finish()
}

/// What the index says about a new user's email.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// First user with this email; `shares_prefix_with` names an earlier user whose email has
    /// the same local part, if any.
    New { shares_prefix_with: Option<String> },
    /// An earlier user already has this email.
    Duplicate { first: String },
}

/// Emails and prefixes seen so far.
#[derive(Default)]
pub struct EmailIndex {
    emails: SortedIndex,
    prefixes: SortedIndex,
    ids: IdSpill,
}

impl EmailIndex {
    /// Look an email up without recording it.
    pub fn check(&self, email: &str) -> Option<String> {
        self.emails
            .get(fold_hash(b'e', email))
            .map(|i| self.ids.get(i))
    }

    /// Record `user_id`'s email unless an earlier user has it.
    pub fn insert(&mut self, email: &str, user_id: &str) -> Seen {
        let eh = fold_hash(b'e', email);
        if let Some(i) = self.emails.get(eh) {
            return Seen::Duplicate {
                first: self.ids.get(i),
            };
        }
        let slot = self.ids.push(user_id);
        self.emails.insert(eh, slot);
        let local = email.split('@').next().unwrap_or(email);
        let ph = fold_hash(b'p', local);
        match self.prefixes.get(ph) {
            Some(first) => Seen::New {
                shares_prefix_with: Some(self.ids.get(first)),
            },
            None => {
                self.prefixes.insert(ph, slot);
                Seen::New {
                    shares_prefix_with: None,
                }
            }
        }
    }

    /// Number of distinct emails recorded.
    pub fn len(&self) -> usize {
        self.emails.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_name_the_first_user_case_insensitively() {
        let mut idx = EmailIndex::default();
        assert_eq!(
            idx.insert("Susan@Example.com", "00u1"),
            Seen::New {
                shares_prefix_with: None
            }
        );
        assert_eq!(
            idx.insert("susan@example.COM", "00u2"),
            Seen::Duplicate {
                first: "00u1".into()
            }
        );
        assert_eq!(
            idx.insert("susan@other.org", "00u3"),
            Seen::New {
                shares_prefix_with: Some("00u1".into())
            }
        );
        assert_eq!(
            idx.insert("bob@example.com", "00u4"),
            Seen::New {
                shares_prefix_with: None
            }
        );
        assert_eq!(idx.check("BOB@example.com").as_deref(), Some("00u4"));
        assert_eq!(idx.len(), 3);
    }

    #[test]
    fn many_users_across_merged_runs_and_spilled_ids() {
        // more than three runs, so lookups go to the sorted arrays and the ids to the file
        let n = 3 * crate::table::SORTED_RUN + 1234;
        let mut idx = EmailIndex::default();
        for i in 0..n {
            let seen = idx.insert(&format!("user{i}@example.com"), &format!("id-{i}"));
            assert_eq!(
                seen,
                Seen::New {
                    shares_prefix_with: None
                }
            );
        }
        assert_eq!(idx.len(), n);
        assert!(idx.ids.flushed > 0, "ids were spilled");
        for i in [
            0,
            1,
            crate::table::SORTED_RUN - 1,
            crate::table::SORTED_RUN,
            2 * crate::table::SORTED_RUN + 7,
            n - 1,
        ] {
            assert_eq!(
                idx.insert(&format!("USER{i}@example.com"), "again"),
                Seen::Duplicate {
                    first: format!("id-{i}")
                }
            );
            assert_eq!(
                idx.insert(&format!("user{i}@other.org"), "other"),
                Seen::New {
                    shares_prefix_with: Some(format!("id-{i}"))
                }
            );
        }
        assert!(idx.check("nobody@example.com").is_none());
        // the arrays are sorted and hold every key merged so far
        assert!(idx.emails.is_sorted());
        assert_eq!(idx.emails.len(), n + 6);
    }
}
