//! A small worker pool: N threads take jobs from a bounded queue and hand results back to the
//! calling thread, which consumes them as they complete.
//!
//! The calling thread keeps the output (a `RecordWriter` is not `Send`) and every piece of
//! mutable bookkeeping, so workers only need shared references. Both queues are bounded, so
//! a feeder reading a spool of a million records never gets far ahead of the workers, nor the
//! workers ahead of the writer: memory stays flat. When the consumer fails (a fatal API error, a closed stdout) the feeder stops,
//! the workers finish the jobs they hold, and the error is returned.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Run `work` on every job with `workers` threads; `sink` gets each result on this thread as
/// `Some(result)`, and `None` whenever no result is waiting and at the end (time to flush
/// output). At most `queued` jobs wait for a worker and twice that many results for `sink`
/// (a job of a thousand edges is a few hundred KB: big jobs want a short queue).
pub fn run<J, R, E>(
    workers: usize,
    queued: usize,
    jobs: impl Iterator<Item = J> + Send,
    work: impl Fn(J) -> R + Sync,
    mut sink: impl FnMut(Option<R>) -> Result<(), E>,
) -> Result<(), E>
where
    J: Send,
    R: Send,
{
    let workers = workers.max(1);
    let stop = AtomicBool::new(false);
    let queued = queued.max(1);
    let (job_tx, job_rx) = mpsc::sync_channel::<J>(queued);
    let job_rx = Arc::new(Mutex::new(job_rx));
    // bounded too: workers faster than the writer wait, rather than queue every result
    let (res_tx, res_rx) = mpsc::sync_channel::<R>(queued * 2);
    let work = &work;
    let stop = &stop;
    thread::scope(|scope| {
        scope.spawn(move || {
            for job in jobs {
                if stop.load(Ordering::Relaxed) || job_tx.send(job).is_err() {
                    break;
                }
            }
        });
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let res_tx = res_tx.clone();
            scope.spawn(move || {
                loop {
                    let job = {
                        let rx = job_rx.lock().unwrap_or_else(|p| p.into_inner());
                        rx.recv()
                    };
                    let Ok(job) = job else { break };
                    if stop.load(Ordering::Relaxed) {
                        continue; // drain without working
                    }
                    if res_tx.send(work(job)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(res_tx);
        let mut failure = None;
        loop {
            let next = match res_rx.try_recv() {
                Ok(r) => Some(r),
                Err(mpsc::TryRecvError::Disconnected) => break,
                Err(mpsc::TryRecvError::Empty) => {
                    if failure.is_none()
                        && let Err(e) = sink(None)
                    {
                        stop.store(true, Ordering::Relaxed);
                        failure = Some(e);
                    }
                    match res_rx.recv_timeout(Duration::from_millis(200)) {
                        Ok(r) => Some(r),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            if let Some(r) = next
                && failure.is_none()
                && let Err(e) = sink(Some(r))
            {
                stop.store(true, Ordering::Relaxed);
                failure = Some(e);
            }
        }
        match failure {
            Some(e) => Err(e),
            None => sink(None),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_is_worked_once() {
        let mut seen = Vec::new();
        let r: Result<(), ()> = run(
            4,
            8,
            0..1000u32,
            |j| j * 2,
            |r| {
                seen.extend(r);
                Ok(())
            },
        );
        assert!(r.is_ok());
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).map(|j| j * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_failing_sink_stops_the_feed() {
        let worked = std::sync::atomic::AtomicU32::new(0);
        let r = run(
            2,
            1,
            0..100_000u32,
            |j| {
                worked.fetch_add(1, Ordering::Relaxed);
                j
            },
            |r| if r == Some(10) { Err("boom") } else { Ok(()) },
        );
        assert_eq!(r, Err("boom"));
        assert!(worked.load(Ordering::Relaxed) < 100_000);
    }
}
