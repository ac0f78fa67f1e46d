//! The one cross-record memory idm-map keeps: which emails and email prefixes it has seen.
//!
//! Duplicate emails (OneLogin refuses the second user with a 422) and shared email prefixes
//! (people who sign in with the part before `@` collide) can only be found by remembering
//! earlier users. Everything else streams, so this index is the whole of idm-map's memory
//! growth: it stores 64-bit hashes of the lowercased email and prefix (not the strings) and one
//! copy of the first user's id, about 60 bytes per user. A hash collision between two different
//! emails is possible in principle (about 3 in 100 million at a million users) and would be
//! reported as a duplicate naming the other user, so it is visible, never silent.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher, Hasher};

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

type HashIndex = HashMap<u64, u32, BuildHasherDefault<Passthrough>>;

/// Ids of users, stored once, back to back.
#[derive(Default)]
struct IdArena {
    bytes: String,
    ends: Vec<u32>,
}

impl IdArena {
    fn push(&mut self, id: &str) -> u32 {
        self.bytes.push_str(id);
        self.ends.push(self.bytes.len() as u32);
        (self.ends.len() - 1) as u32
    }

    fn get(&self, i: u32) -> &str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
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
pub enum Seen<'a> {
    /// First user with this email; `shares_prefix_with` names an earlier user whose email has
    /// the same local part, if any.
    New { shares_prefix_with: Option<&'a str> },
    /// An earlier user already has this email.
    Duplicate { first: &'a str },
}

/// Emails and prefixes seen so far.
#[derive(Default)]
pub struct EmailIndex {
    emails: HashIndex,
    prefixes: HashIndex,
    ids: IdArena,
}

impl EmailIndex {
    /// Look an email up without recording it.
    pub fn check(&self, email: &str) -> Option<&str> {
        self.emails
            .get(&fold_hash(b'e', email))
            .map(|i| self.ids.get(*i))
    }

    /// Record `user_id`'s email unless an earlier user has it.
    pub fn insert(&mut self, email: &str, user_id: &str) -> Seen<'_> {
        let eh = fold_hash(b'e', email);
        if let Some(&i) = self.emails.get(&eh) {
            return Seen::Duplicate {
                first: self.ids.get(i),
            };
        }
        let slot = self.ids.push(user_id);
        self.emails.insert(eh, slot);
        let local = email.split('@').next().unwrap_or(email);
        let ph = fold_hash(b'p', local);
        match self.prefixes.get(&ph) {
            Some(&first) => Seen::New {
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
        self.emails.is_empty()
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
            Seen::Duplicate { first: "00u1" }
        );
        assert_eq!(
            idx.insert("susan@other.org", "00u3"),
            Seen::New {
                shares_prefix_with: Some("00u1")
            }
        );
        assert_eq!(
            idx.insert("bob@example.com", "00u4"),
            Seen::New {
                shares_prefix_with: None
            }
        );
        assert_eq!(idx.check("BOB@example.com"), Some("00u4"));
        assert_eq!(idx.len(), 3);
    }
}
