//! idm-map's run over a whole stream, on every core: the input is cut into batches of whole
//! lines, worker threads parse and shape them ([`Shaper`]: the costly part, one record at a
//! time), and the calling thread settles the shaped records in input order ([`Mapper::settle`]:
//! the email index, the edges of skipped and rejected objects, the counts) and writes them.
//!
//! The output is byte for byte what one thread would write: batches are settled in the order
//! they were read, each through its own reply channel. Memory stays flat: at most
//! [`IN_FLIGHT`] batches per worker are read ahead, each about [`BATCH_BYTES`] of input.

use std::io::{self, BufRead};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};
use std::sync::{Arc, Mutex};

use super::{Mapper, Settled, Shaped, Shaper, Summary, note};
use crate::record::{Batch, Parsed, Record, RecordReader, RecordWriter, Rejects, parse_line};

/// Input bytes per batch: enough lines to make a batch worth a trip between threads.
const BATCH_BYTES: usize = 128 * 1024;
/// Batches read ahead per worker.
const IN_FLIGHT: usize = 3;
/// Workers at most: the settling thread keeps up with about this many.
const MAX_WORKERS: usize = 4;

/// One line, parsed and shaped by a worker.
enum Line {
    Blank,
    TooLong,
    Bad(String),
    Marker(Record),
    Shaped(Shaped),
}

/// A batch back from a worker: its lines, and what each became.
struct Done {
    batch: Batch,
    lines: Vec<Line>,
}

type Work = (Batch, Sender<Done>);

/// Map a whole stream: read records, write mapped ones, report the rest. The output is flushed
/// by the caller ([`RecordWriter::finish`]), the rejects file too ([`Rejects::finish`]).
pub fn run<R: BufRead>(
    mapper: &mut Mapper,
    reader: &mut RecordReader<R>,
    writer: &mut RecordWriter,
    rejects: &mut Rejects,
    progress: &crate::cli::Progress,
) -> io::Result<Summary> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_WORKERS);
    let (work_tx, work_rx) = sync_channel::<Work>(workers * IN_FLIGHT);
    let work_rx = Arc::new(Mutex::new(work_rx));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let shaper = mapper.shaper();
            let queue = Arc::clone(&work_rx);
            std::thread::Builder::new()
                .name("idm-map-shape".into())
                .spawn_scoped(scope, move || shape_batches(shaper, &queue))
                .map_err(|e| io::Error::other(format!("cannot start a mapping thread: {e}")))?;
        }
        // the work queue closes when this returns, whatever it returns, so the workers end
        settle_batches(
            mapper,
            reader,
            writer,
            rejects,
            progress,
            work_tx,
            workers * IN_FLIGHT,
        )
    })
}

/// A worker: take batches until the queue closes, parse and shape every line.
fn shape_batches(mut shaper: Shaper, queue: &Mutex<Receiver<Work>>) {
    loop {
        let next = queue.lock().map(|rx| rx.recv());
        let Ok(Ok((batch, reply))) = next else { return };
        let lines = (0..batch.len())
            .map(|i| {
                let (_, raw, too_long) = batch.line(i);
                if too_long {
                    return Line::TooLong;
                }
                if let Some(shaped) = shaper.shape_raw(raw) {
                    return Line::Shaped(shaped);
                }
                match parse_line(raw) {
                    Parsed::Blank => Line::Blank,
                    Parsed::Bad(reason) => Line::Bad(reason),
                    Parsed::Record(rec) if rec.kind.as_str() == crate::record::stream::KIND => {
                        Line::Marker(rec)
                    }
                    Parsed::Record(rec) => Line::Shaped(shaper.shape(rec)),
                }
            })
            .collect();
        // the settling thread is gone when it failed: nothing more to do
        if reply.send(Done { batch, lines }).is_err() {
            return;
        }
    }
}

/// The calling thread: keep `ahead` batches with the workers, settle and write each in turn.
fn settle_batches<R: BufRead>(
    mapper: &mut Mapper,
    reader: &mut RecordReader<R>,
    writer: &mut RecordWriter,
    rejects: &mut Rejects,
    progress: &crate::cli::Progress,
    work: std::sync::mpsc::SyncSender<Work>,
    ahead: usize,
) -> io::Result<Summary> {
    let mut summary = Summary::default();
    let before = rejects.count();
    let mut pending = std::collections::VecDeque::with_capacity(ahead);
    let mut input_done = false;
    // batches settled, kept to be filled again: their buffers are the size of a batch already
    let mut spare: Vec<Batch> = Vec::with_capacity(ahead);
    loop {
        while !input_done && pending.len() < ahead {
            let mut batch = spare.pop().unwrap_or_default();
            if !reader.fill_batch(&mut batch, BATCH_BYTES)? {
                input_done = true;
                break;
            }
            let (reply, done) = channel();
            work.send((batch, reply))
                .map_err(|_| io::Error::other("the mapping threads stopped"))?;
            pending.push_back(done);
        }
        let Some(done) = pending.pop_front() else {
            break;
        };
        let done: Done = done
            .recv()
            .map_err(|_| io::Error::other("a mapping thread failed"))?;
        spare.push(settle_batch(
            mapper,
            reader,
            writer,
            rejects,
            progress,
            done,
            &mut summary,
        )?);
    }
    if reader.is_marked() {
        writer.mark(crate::cli::tool())?;
    }
    summary.unreadable = rejects.count() - before - summary.rejected;
    Ok(summary)
}

fn settle_batch<R: BufRead>(
    mapper: &mut Mapper,
    reader: &mut RecordReader<R>,
    writer: &mut RecordWriter,
    rejects: &mut Rejects,
    progress: &crate::cli::Progress,
    done: Done,
    summary: &mut Summary,
) -> io::Result<Batch> {
    let Done { batch, lines } = done;
    for (i, line) in lines.into_iter().enumerate() {
        let (number, raw, _) = batch.line(i);
        let mut shaped = match line {
            Line::Blank => continue,
            Line::TooLong => {
                rejects.reject(number, None, &[], &Batch::too_long_reason())?;
                continue;
            }
            Line::Bad(reason) => {
                reader.counted();
                rejects.reject(number, None, raw, &reason)?;
                continue;
            }
            Line::Marker(rec) => {
                if let Err(reason) = reader.marker(number, &rec) {
                    rejects.reject(number, None, raw, &reason)?;
                }
                continue;
            }
            Line::Shaped(shaped) => shaped,
        };
        reader.counted();
        // a marked input makes a marked output (see crate::record::stream)
        if reader.is_marked() {
            writer.mark(crate::cli::tool())?;
        }
        progress.inc(1);
        match mapper.settle(&mut shaped) {
            Settled::Write(line) => {
                writer.write_raw(&line)?;
                summary.mapped += 1;
            }
            Settled::Passed => {
                writer.write_raw(raw)?;
                summary.passed += 1;
            }
            Settled::Skipped(reason) => {
                summary.skipped += 1;
                if !reason.is_empty() {
                    note(&format!("line {number} ({}): {reason}", shaped.label()));
                }
            }
            Settled::Rejected(reason) => {
                summary.rejected += 1;
                rejects.reject(number, Some(&shaped.label()), raw, &reason)?;
            }
        }
    }
    Ok(batch)
}
