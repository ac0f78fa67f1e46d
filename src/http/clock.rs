//! Time for the HTTP layer, behind a trait so tests never sleep.
//!
//! Everything in [`crate::http`] that waits (the governor quota, the server's rate-limit
//! window, retry backoff) asks a [`Clock`] for the time and asks it to sleep. [`RealClock`] is
//! the wall clock; [`FakeClock`] advances its time instantly when asked to sleep and records
//! every sleep, so a test can drive minutes of rate limiting and backoff in microseconds and
//! then assert exactly how long the client would have waited.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A monotonic clock that can sleep, plus the Unix time for servers that speak epochs.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Time elapsed since an arbitrary fixed start; never goes backwards.
    fn now(&self) -> Duration;
    /// Block the calling thread for `d` (a fake clock just advances).
    fn sleep(&self, d: Duration);
    /// Seconds since the Unix epoch (fractional), for `X-Rate-Limit-Reset` epochs.
    fn unix_now(&self) -> f64;
}

/// The real clock: `Instant` for durations, `SystemTime` for epochs, `thread::sleep`.
#[derive(Debug)]
pub struct RealClock {
    start: Instant,
}

impl RealClock {
    pub fn new() -> RealClock {
        RealClock {
            start: Instant::now(),
        }
    }
}

impl Default for RealClock {
    fn default() -> Self {
        RealClock::new()
    }
}

impl Clock for RealClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn sleep(&self, d: Duration) {
        if !d.is_zero() {
            std::thread::sleep(d);
        }
    }

    fn unix_now(&self) -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }
}

/// A clock for tests: `sleep` advances time at once and is recorded.
#[derive(Debug)]
pub struct FakeClock {
    state: Mutex<FakeState>,
    unix_base: f64,
}

#[derive(Debug, Default)]
struct FakeState {
    now: Duration,
    sleeps: Vec<Duration>,
}

impl FakeClock {
    /// A fake clock at monotonic time zero whose Unix time is `unix_base` seconds.
    pub fn new(unix_base: f64) -> FakeClock {
        FakeClock {
            state: Mutex::new(FakeState::default()),
            unix_base,
        }
    }

    /// Move time forward without recording a sleep (time passing while a request is in flight).
    pub fn advance(&self, d: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.now += d;
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.sleeps.clone()
    }

    /// The sum of every sleep so far.
    pub fn slept(&self) -> Duration {
        self.sleeps().iter().sum()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.now
    }

    fn sleep(&self, d: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.now += d;
        s.sleeps.push(d);
    }

    fn unix_now(&self) -> f64 {
        self.unix_base + self.now().as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_clock_advances_on_sleep_and_records_it() {
        let c = FakeClock::new(1_000.0);
        c.sleep(Duration::from_millis(1500));
        c.advance(Duration::from_millis(500));
        assert_eq!(c.now(), Duration::from_secs(2));
        assert_eq!(c.sleeps(), vec![Duration::from_millis(1500)]);
        assert!((c.unix_now() - 1_002.0).abs() < 1e-9);
    }

    #[test]
    fn real_clock_is_monotonic() {
        let c = RealClock::new();
        let a = c.now();
        c.sleep(Duration::ZERO);
        assert!(c.now() >= a);
        assert!(c.unix_now() > 1.6e9);
    }
}
