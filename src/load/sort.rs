//! A stable external sort of `(key, payload)` byte records, for the edges of a load.
//!
//! Edges are written in batches per parent (a OneLogin role takes 100 users a call), so they
//! must be grouped by parent; a million users with three roles each are 3,000,000 edges,
//! hundreds of MB if held per parent in memory. Records are gathered in a chunk of at most
//! [`CHUNK_BYTES`], each full chunk sorted by key and written to an unlinked temporary file
//! (a run), and the runs are merged. Equal keys keep their insertion order (runs are merged
//! with ties going to the earlier run), so the batches are what the in-memory grouping made.
//! Memory stays flat: one chunk while gathering, a small read buffer per run while merging
//! (3,000,000 edges of ~100 bytes make ~75 runs: 2.4 MB of buffers).
//! A small input (one chunk) never touches the disk.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// Bytes of records held in memory before a sorted run is written.
pub const CHUNK_BYTES: usize = 4 << 20;
/// The read buffer of each run while merging.
const RUN_BUFFER: usize = 32 * 1024;

type Item = (Box<[u8]>, Box<[u8]>);
/// The next record of a run while merging: (key, run, payload); ties go to the earlier run.
type Head = Reverse<(Box<[u8]>, usize, Box<[u8]>)>;

/// Gathers records; [`Sorter::finish`] gives them back sorted.
pub struct Sorter {
    chunk: Vec<Item>,
    bytes: usize,
    limit: usize,
    runs: Vec<File>,
}

impl Default for Sorter {
    fn default() -> Self {
        Sorter::with_chunk_bytes(CHUNK_BYTES)
    }
}

impl Sorter {
    /// A sorter that writes a run every `limit` bytes of records (tests use small limits).
    pub fn with_chunk_bytes(limit: usize) -> Sorter {
        Sorter {
            chunk: Vec::new(),
            bytes: 0,
            limit: limit.max(1),
            runs: Vec::new(),
        }
    }

    pub fn push(&mut self, key: &[u8], payload: &[u8]) -> io::Result<()> {
        // the records' bytes and their boxes' headers
        self.bytes += key.len() + payload.len() + 48;
        self.chunk.push((key.into(), payload.into()));
        if self.bytes >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        self.chunk.sort_by(|a, b| a.0.cmp(&b.0)); // stable
        let mut out = BufWriter::with_capacity(256 * 1024, tempfile::tempfile()?);
        for (k, p) in self.chunk.drain(..) {
            write_item(&mut out, &k, &p)?;
        }
        self.runs
            .push(out.into_inner().map_err(|e| e.into_error())?);
        self.chunk = Vec::new();
        self.bytes = 0;
        Ok(())
    }

    /// Every record, by key, equal keys in the order they were pushed.
    pub fn finish(mut self) -> io::Result<Sorted> {
        if self.runs.is_empty() {
            self.chunk.sort_by(|a, b| a.0.cmp(&b.0));
            return Ok(Sorted::Memory(self.chunk.into_iter()));
        }
        if !self.chunk.is_empty() {
            self.spill()?;
        }
        let mut readers = Vec::with_capacity(self.runs.len());
        let mut heap = BinaryHeap::new();
        for (i, mut run) in self.runs.into_iter().enumerate() {
            run.seek(SeekFrom::Start(0))?;
            let mut r = BufReader::with_capacity(RUN_BUFFER, run);
            if let Some((k, p)) = read_item(&mut r)? {
                heap.push(Reverse((k, i, p)));
            }
            readers.push(r);
        }
        Ok(Sorted::Runs { readers, heap })
    }
}

fn write_item(out: &mut impl Write, key: &[u8], payload: &[u8]) -> io::Result<()> {
    let len = |n: usize| u32::try_from(n).map_err(io::Error::other);
    out.write_all(&len(key.len())?.to_le_bytes())?;
    out.write_all(&len(payload.len())?.to_le_bytes())?;
    out.write_all(key)?;
    out.write_all(payload)
}

/// One record; `None` at the clean end of a run.
fn read_item(input: &mut impl Read) -> io::Result<Option<Item>> {
    let mut lens = [0u8; 8];
    match input.read_exact(&mut lens) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let key_len = u32::from_le_bytes([lens[0], lens[1], lens[2], lens[3]]) as usize;
    let payload_len = u32::from_le_bytes([lens[4], lens[5], lens[6], lens[7]]) as usize;
    let mut key = vec![0u8; key_len];
    input.read_exact(&mut key)?;
    let mut payload = vec![0u8; payload_len];
    input.read_exact(&mut payload)?;
    Ok(Some((key.into(), payload.into())))
}

/// The records of a [`Sorter`], in order.
pub enum Sorted {
    Memory(std::vec::IntoIter<Item>),
    Runs {
        readers: Vec<BufReader<File>>,
        heap: BinaryHeap<Head>,
    },
}

impl Iterator for Sorted {
    type Item = io::Result<Item>;

    fn next(&mut self) -> Option<io::Result<Item>> {
        match self {
            Sorted::Memory(items) => items.next().map(Ok),
            Sorted::Runs { readers, heap } => {
                let Reverse((key, i, payload)) = heap.pop()?;
                match read_item(&mut readers[i]) {
                    Ok(Some((k, p))) => heap.push(Reverse((k, i, p))),
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
                Some(Ok((key, payload)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(limit: usize, items: &[(String, String)]) -> Vec<(String, String)> {
        let mut s = Sorter::with_chunk_bytes(limit);
        for (k, p) in items {
            s.push(k.as_bytes(), p.as_bytes()).unwrap();
        }
        let on_disk = !s.runs.is_empty();
        let out: Vec<(String, String)> = s
            .finish()
            .unwrap()
            .map(|r| {
                let (k, p) = r.unwrap();
                (
                    String::from_utf8(k.into()).unwrap(),
                    String::from_utf8(p.into()).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            on_disk,
            limit < 1 << 20,
            "the small limit spills, the big one not"
        );
        out
    }

    #[test]
    fn runs_on_disk_give_the_stable_in_memory_order() {
        // 20,000 records over 37 parents, interleaved; payloads number the input order
        let items: Vec<(String, String)> = (0..20_000)
            .map(|i| (format!("role-{}", (i * 7919) % 37), format!("edge-{i}")))
            .collect();
        let mut expected = items.clone();
        expected.sort_by(|a, b| a.0.cmp(&b.0)); // stable
        assert_eq!(sorted(4096, &items), expected);
        assert_eq!(sorted(64 << 20, &items), expected);
        // an empty input
        assert!(sorted(64 << 20, &[]).is_empty());
    }
}
