//! Ordered spools: records read at the same time by several threads come out in a fixed order.
//!
//! idm-export reads independent kinds at once (users while the members of groups are listed)
//! and lists the members of several groups at once, but writes kinds in their fixed order and
//! each group's members together, in the order the groups were listed. Each kind has a
//! [`KindSpool`]: an ordered list of *segments* (one per reader of the kind: one for a plain
//! listing, one per group or app for a fan-out). Readers fill segments in any order; one
//! consumer drains them in order.
//!
//! Why it is shaped so:
//! - **Memory stays flat.** Only the segment the consumer is draining right now (the head of
//!   the kind being written) goes through memory, and its writer waits when more than
//!   [`HEAD_BYTES`] are queued. Everything else is appended to the kind's anonymous temporary
//!   file (created 0600 and unlinked: nothing is left behind, even after kill -9) in chunks of
//!   whole lines and read back when its turn comes. A million users streamed live cost one
//!   buffer; memberships read while the users stream wait on disk, not in memory.
//! - **Whole lines, counted.** A chunk always ends at a line end and carries its line count,
//!   so the consumer writes records without parsing them again and still counts them for the
//!   stream's end marker.
//! - **A cut-short segment is never taken for a whole one.** A segment is complete only when
//!   its writer says so ([`SegmentWriter::done`]); one dropped without it (its reader failed)
//!   stops the consumer, which then reports the reader's error.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Bytes a writer gathers before it hands a chunk on.
pub const CHUNK_BYTES: usize = 64 * 1024;
/// Bytes of the head segment that may wait in memory for the consumer.
pub const HEAD_BYTES: usize = 1024 * 1024;

/// Where a chunk's bytes are.
enum Chunk {
    Mem { bytes: Vec<u8>, lines: u64 },
    File { offset: u64, len: usize, lines: u64 },
}

#[derive(Default)]
struct Segment {
    chunks: VecDeque<Chunk>,
    mem_bytes: usize,
    /// The writer finished it.
    done: bool,
    /// The writer went away without finishing it.
    broken: bool,
}

#[derive(Default)]
struct State {
    /// Segments not drained yet; the front one is the head.
    segments: VecDeque<Segment>,
    /// The id of `segments[0]`.
    base: u64,
    /// Ids handed out so far.
    next: u64,
    /// No more segments will be opened.
    closed: bool,
    /// The consumer is draining this kind now: its head segment may go through memory.
    active: bool,
    file: Option<File>,
    file_len: u64,
}

/// The spool of one kind. Shared (`Arc`) by its writers and its consumer.
pub struct KindSpool {
    state: Mutex<State>,
    changed: Condvar,
    /// Set when the export fails: writers stop waiting, the consumer stops reading.
    abort: Arc<AtomicBool>,
}

/// What the consumer gets next.
pub enum Next {
    /// Whole lines, and how many.
    Lines(Vec<u8>, u64),
    /// Every segment was drained and the kind is closed.
    End,
    /// A segment was cut short (its reader failed), or the export was aborted.
    Broken,
}

impl KindSpool {
    pub fn new(abort: Arc<AtomicBool>) -> Arc<KindSpool> {
        Arc::new(KindSpool {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            abort,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }

    /// Wake everyone waiting (after the abort flag was set).
    pub fn wake(&self) {
        self.changed.notify_all();
    }

    /// A writer for the next segment: what it writes comes after every segment opened before.
    pub fn open(self: &Arc<KindSpool>) -> SegmentWriter {
        let mut st = self.lock();
        let id = st.next;
        st.next += 1;
        st.segments.push_back(Segment::default());
        SegmentWriter {
            spool: self.clone(),
            id,
            buf: Vec::with_capacity(CHUNK_BYTES),
            lines: 0,
            finished: false,
        }
    }

    /// No segment will be opened any more: once the open ones are drained, the kind ends.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// The consumer starts on this kind: from now its head segment may skip the file.
    pub fn activate(&self) {
        self.lock().active = true;
        self.changed.notify_all();
    }

    /// Hand a chunk of whole lines of segment `id` on.
    fn push(&self, id: u64, bytes: Vec<u8>, lines: u64) -> io::Result<()> {
        let mut st = self.lock();
        loop {
            if self.aborted() {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "the export was stopped",
                ));
            }
            let head = st.active && id == st.base;
            let idx = (id - st.base) as usize;
            if !head {
                // not drained now: to the file, in order
                let offset = st.file_len;
                let file = match &mut st.file {
                    Some(f) => f,
                    None => st.file.insert(tempfile::tempfile()?),
                };
                file.seek(SeekFrom::Start(offset))?;
                file.write_all(&bytes)?;
                st.file_len += bytes.len() as u64;
                st.segments[idx].chunks.push_back(Chunk::File {
                    offset,
                    len: bytes.len(),
                    lines,
                });
                break;
            }
            if st.segments[idx].mem_bytes < HEAD_BYTES {
                st.segments[idx].mem_bytes += bytes.len();
                st.segments[idx]
                    .chunks
                    .push_back(Chunk::Mem { bytes, lines });
                break;
            }
            // the consumer is behind: wait for it (flow control of a live stream)
            st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        drop(st);
        self.changed.notify_all();
        Ok(())
    }

    fn finish(&self, id: u64, complete: bool) {
        let mut st = self.lock();
        if id >= st.base {
            let idx = (id - st.base) as usize;
            if complete {
                st.segments[idx].done = true;
            } else {
                st.segments[idx].broken = true;
            }
        }
        drop(st);
        self.changed.notify_all();
    }

    /// The next chunk of lines, in segment order; waits for writers.
    pub fn next(&self) -> io::Result<Next> {
        let mut st = self.lock();
        loop {
            if self.aborted() {
                return Ok(Next::Broken);
            }
            let Some(head) = st.segments.front_mut() else {
                if st.closed {
                    return Ok(Next::End);
                }
                st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                continue;
            };
            match head.chunks.pop_front() {
                Some(Chunk::Mem { bytes, lines }) => {
                    head.mem_bytes -= bytes.len();
                    drop(st);
                    self.changed.notify_all();
                    return Ok(Next::Lines(bytes, lines));
                }
                Some(Chunk::File { offset, len, lines }) => {
                    let mut bytes = vec![0; len];
                    let file = st
                        .file
                        .as_mut()
                        .ok_or_else(|| io::Error::other("spool chunk without its file"))?;
                    file.seek(SeekFrom::Start(offset))?;
                    file.read_exact(&mut bytes)?;
                    return Ok(Next::Lines(bytes, lines));
                }
                None if head.done => {
                    st.segments.pop_front();
                    st.base += 1;
                    // the new head's writer may now go through memory
                    self.changed.notify_all();
                }
                None if head.broken => return Ok(Next::Broken),
                None => st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }
}

/// Writes one segment: whole lines, handed on in chunks.
pub struct SegmentWriter {
    spool: Arc<KindSpool>,
    id: u64,
    buf: Vec<u8>,
    lines: u64,
    finished: bool,
}

impl SegmentWriter {
    /// Append one line (its newline added).
    #[cfg(test)]
    pub fn line(&mut self, line: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(line);
        self.buf.push(b'\n');
        self.lines += 1;
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// The buffer, to serialize one line into directly; follow with [`SegmentWriter::end_line`].
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// End the line serialized into [`SegmentWriter::buffer`].
    pub fn end_line(&mut self) -> io::Result<()> {
        self.buf.push(b'\n');
        self.lines += 1;
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Hand what is gathered on now (a page is complete: let the consumer see it).
    pub fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
        let lines = std::mem::take(&mut self.lines);
        self.spool.push(self.id, bytes, lines)
    }

    /// The segment is complete.
    pub fn done(mut self) -> io::Result<()> {
        self.flush()?;
        self.finished = true;
        self.spool.finish(self.id, true);
        Ok(())
    }
}

impl Drop for SegmentWriter {
    fn drop(&mut self) {
        if !self.finished {
            self.spool.finish(self.id, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(spool: &KindSpool) -> (String, u64, bool) {
        let mut text = String::new();
        let mut lines = 0;
        loop {
            match spool.next().unwrap() {
                Next::Lines(b, n) => {
                    text.push_str(std::str::from_utf8(&b).unwrap());
                    lines += n;
                }
                Next::End => return (text, lines, true),
                Next::Broken => return (text, lines, false),
            }
        }
    }

    #[test]
    fn segments_come_out_in_the_order_they_were_opened() {
        let spool = KindSpool::new(Arc::new(AtomicBool::new(false)));
        let mut a = spool.open();
        let mut b = spool.open();
        let mut c = spool.open();
        // written out of order, from several threads, large enough to spill
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 0..5000 {
                    c.line(format!("c{i}").as_bytes()).unwrap();
                }
                c.done().unwrap();
            });
            s.spawn(|| {
                for i in 0..5000 {
                    b.line(format!("b{i}").as_bytes()).unwrap();
                }
                b.done().unwrap();
            });
        });
        spool.activate();
        spool.close();
        let consumer = std::thread::spawn({
            let spool = spool.clone();
            move || drain(&spool)
        });
        for i in 0..200_000 {
            a.line(format!("a{i}").as_bytes()).unwrap();
        }
        a.done().unwrap();
        let (text, lines, complete) = consumer.join().unwrap();
        assert!(complete);
        assert_eq!(lines, 210_000);
        let got: Vec<&str> = text.lines().collect();
        assert_eq!(got[0], "a0");
        assert_eq!(got[199_999], "a199999");
        assert_eq!(got[200_000], "b0");
        assert_eq!(got[205_000], "c0");
        assert_eq!(got[209_999], "c4999");
    }

    #[test]
    fn a_segment_dropped_unfinished_stops_the_consumer() {
        let spool = KindSpool::new(Arc::new(AtomicBool::new(false)));
        let mut a = spool.open();
        a.line(b"x").unwrap();
        a.flush().unwrap();
        let b = spool.open();
        b.done().unwrap();
        drop(a);
        spool.close();
        spool.activate();
        let (text, lines, complete) = drain(&spool);
        assert!(!complete);
        assert_eq!((text.as_str(), lines), ("x\n", 1));
    }

    #[test]
    fn the_head_waits_for_a_slow_consumer_instead_of_growing() {
        let abort = Arc::new(AtomicBool::new(false));
        let spool = KindSpool::new(abort.clone());
        spool.activate();
        let mut w = spool.open();
        let writer = std::thread::spawn(move || {
            let line = vec![b'x'; 1000];
            for _ in 0..10_000 {
                if w.line(&line).is_err() {
                    return false;
                }
            }
            w.done().is_ok()
        });
        // nothing is drained: the writer must block at HEAD_BYTES, then be released by abort
        while spool.lock().segments[0].mem_bytes + CHUNK_BYTES <= HEAD_BYTES {
            std::thread::yield_now();
        }
        assert!(spool.lock().segments[0].mem_bytes <= HEAD_BYTES + CHUNK_BYTES);
        abort.store(true, Ordering::Relaxed);
        spool.wake();
        assert!(!writer.join().unwrap());
    }
}
