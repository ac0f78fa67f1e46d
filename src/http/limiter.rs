//! The client-side quota, corrected by what the server says about its own window.
//!
//! Three gates, all shared by every thread that uses one [`crate::http::Client`]:
//!
//! 1. A governor GCRA quota of `rate × max_capacity_pct`, when `--rate-limit` gives one.
//!    Requests are spaced evenly, so N workers keep it fully used. The burst is 1 at 100%;
//!    below, it is small (2% of the quota, at most 10) and never more than the share left to
//!    others, so a caller that lost time to a slow answer catches up while no window can hold
//!    more than `rate`. Governor is async-agnostic; from blocking code we loop on `check()` and
//!    sleep `wait_time_from(now)`.
//! 2. The server's window per bucket (`X-Rate-Limit-*` for Okta, `X-RateLimit-*` for OneLogin).
//!    We keep `remaining - reserve` requests for ourselves, where `reserve` is the share of
//!    the server's `limit` that `--max-capacity` leaves to others, spread what is left evenly
//!    over the time to the reset (so we slow down before the quota runs out, not after a 429),
//!    and wait for the reset when nothing is left. Each send counts down the estimate at once;
//!    each response can only lower it (`min`), which stays right with requests in flight. One
//!    request of each window is held back and the reset is taken a little late, so a clock a
//!    few milliseconds off the server's never lands a request in a window already used up.
//! 3. The server's limit on requests in flight. Okta answers 429 with `X-Rate-Limit-Limit: 0`
//!    past its concurrent-request limit; each such answer lowers our own cap on requests in
//!    flight to one less than were in flight then, so a fan-out of N connections settles at
//!    what the org serves at once.
//!
//! **Learned quotas** (no `--rate-limit`): the limits are the server's, used fully. Until a
//! bucket's first answer says what its window is, only one request of that bucket is out at a
//! time (the first requests stay conservative); a bucket whose answers carry no rate-limit
//! headers at all is paced by a conservative fallback rate (the documented default).
//!
//! Okta limits per endpoint bucket, so Okta windows are keyed by its bucket table (okta-api.md §8);
//! OneLogin limits per account, so it has one window.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use super::clock::Clock;
use super::{Rate, Service};

/// Adapts our [`Clock`] to governor's clock trait (instants are durations since start).
#[derive(Clone, Debug)]
struct GovClock(Arc<dyn Clock>);

impl GovernorClock for GovClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        self.0.now()
    }
}

type Gcra = RateLimiter<NotKeyed, InMemoryState, GovClock, NoOpMiddleware<Duration>>;

/// How late, after the reset the server announced, a new window is taken to have begun.
const RESET_MARGIN: Duration = Duration::from_millis(100);

/// What the server said about one bucket, as seen from our clock.
#[derive(Debug, Clone)]
struct Window {
    limit: u64,
    /// Our estimate of requests left: the server's count, minus what we sent since.
    remaining: i64,
    /// When the window resets, on our monotonic clock.
    reset_at: Duration,
    /// The server's reset value as sent, to tell a new window from the current one.
    reset_raw: u64,
    /// The earliest time the next request of this bucket may go out (pacing).
    next_send: Duration,
}

/// What we know of one bucket.
#[derive(Debug, Default)]
struct Bucket {
    window: Option<Window>,
    /// The limit of the last window seen (kept after the window ends), for estimates.
    learned_limit: Option<u64>,
    /// Learned mode: a request is out and nothing is known yet; the others wait for its answer.
    probing: bool,
    /// An answer came without rate-limit headers while no window was known: the fallback
    /// paces the bucket until one is.
    silent: bool,
}

/// Requests in flight and the cap the server taught us.
#[derive(Debug)]
struct Shared {
    buckets: HashMap<String, Bucket>,
    in_flight: usize,
    cap: usize,
    /// Callers waiting for a probe's answer (what the tests wait for).
    awaiting_probe: usize,
}

/// Rate-limit headers of one response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateHeaders {
    pub limit: u64,
    pub remaining: u64,
    pub reset: u64,
}

/// The gates. One per client, shared by its clones.
pub struct Limiter {
    service: Service,
    pct: u8,
    clock: Arc<dyn Clock>,
    gcra: Option<Gcra>,
    /// Learned mode: the first request of an unknown bucket goes alone.
    learn: bool,
    /// Learned mode: the pace of buckets the server says nothing about.
    fallback: Option<Gcra>,
    shared: Mutex<Shared>,
    /// Signalled when a request is answered (a probe's answer, a slot in flight freed).
    changed: Condvar,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("service", &self.service)
            .field("pct", &self.pct)
            .field("quota", &self.gcra.is_some())
            .field("learn", &self.learn)
            .finish()
    }
}

/// The interval between requests for `rate` at `pct` percent: `per × 100 / (count × pct)`.
pub fn interval(rate: Rate, pct: u8) -> Duration {
    let denom = u128::from(rate.count) * u128::from(pct.clamp(1, 100));
    if denom == 0 {
        return rate.per;
    }
    let nanos = rate.per.as_nanos() * 100 / denom;
    Duration::from_nanos(u64::try_from(nanos.max(1)).unwrap_or(u64::MAX))
}

/// The burst the quota allows: none (1) at 100%, else up to 2% of the quota (at most 10) but
/// never more than the share left to others, so `quota + burst` stays within `rate`. A burst
/// lets a single caller catch up after a slow answer without ever exceeding the window.
pub fn burst(rate: Rate, pct: u8) -> u32 {
    let pct = u64::from(pct.clamp(1, 100));
    let quota = u64::from(rate.count) * pct / 100;
    let headroom = u64::from(rate.count) - quota;
    (quota / 50).min(headroom).clamp(1, 10) as u32
}

/// Requests of `limit` the server must keep for others at `pct` percent of capacity.
pub fn reserve(limit: u64, pct: u8) -> u64 {
    let others = 100 - u64::from(pct.clamp(1, 100));
    (limit * others).div_ceil(100)
}

fn gcra(rate: Rate, pct: u8, clock: &Arc<dyn Clock>) -> Option<Gcra> {
    Quota::with_period(interval(rate, pct)).map(|q| {
        let q = q.allow_burst(NonZeroU32::new(burst(rate, pct)).unwrap_or(NonZeroU32::MIN));
        RateLimiter::direct_with_clock(q, GovClock(clock.clone()))
    })
}

/// A request let out by [`Limiter::acquire`]. Say what its answer was with
/// [`Permit::answered`]; dropping it unanswered (a transport error) frees its slot all the same.
pub struct Permit<'a> {
    limiter: &'a Limiter,
    bucket: String,
    probe: bool,
}

impl Permit<'_> {
    /// The request was answered, with these rate-limit headers (if any; the window itself is
    /// folded in by [`Limiter::observe`]). An answer without any while no window is known
    /// makes the bucket one the server says nothing about: the fallback paces it until a
    /// window is known again.
    pub fn answered(self, headers: Option<&RateHeaders>) {
        if headers.is_none() {
            let mut shared = self.limiter.lock();
            let b = shared.buckets.entry(self.bucket.clone()).or_default();
            if b.window.is_none() && self.limiter.learn {
                if !b.silent {
                    tracing::debug!(
                        "rate limit: `{}` answers without rate-limit headers; pacing it at the default",
                        self.bucket
                    );
                }
                b.silent = true;
            }
        }
        // the slot and the probe are released on drop
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut shared = self.limiter.lock();
        shared.in_flight = shared.in_flight.saturating_sub(1);
        if self.probe
            && let Some(b) = shared.buckets.get_mut(&self.bucket)
        {
            b.probing = false;
        }
        drop(shared);
        self.limiter.changed.notify_all();
    }
}

impl Limiter {
    pub fn new(service: Service, rate: Option<Rate>, pct: u8, clock: Arc<dyn Clock>) -> Limiter {
        let gcra = rate.and_then(|r| gcra(r, pct, &clock));
        Limiter {
            service,
            pct: pct.clamp(1, 100),
            clock,
            gcra,
            learn: false,
            fallback: None,
            shared: Mutex::new(Shared {
                buckets: HashMap::new(),
                in_flight: 0,
                cap: usize::MAX,
                awaiting_probe: 0,
            }),
            changed: Condvar::new(),
        }
    }

    /// Learned mode (no client quota): the first request of a bucket goes alone until the
    /// server says what the window is; buckets whose answers never say are paced at `fallback`.
    pub fn learning(mut self, fallback: Option<Rate>) -> Limiter {
        self.learn = true;
        self.fallback = fallback.and_then(|r| gcra(r, self.pct, &self.clock));
        self
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bucket a request counts against.
    pub fn bucket(&self, method: &str, path: &str) -> String {
        match self.service {
            Service::OneLogin => String::new(),
            Service::Okta => okta_bucket(method, path),
        }
    }

    /// Block until a request to `bucket` may go out, and count it. Keep the permit until the
    /// answer is in: it holds the request's slot in flight.
    pub fn acquire(&self, bucket: &str) -> Permit<'_> {
        if let Some(gcra) = &self.gcra {
            wait_gcra(gcra, &*self.clock);
        }
        let mut paced_by_fallback = false;
        loop {
            let mut shared = self.lock();
            // the server's cap on requests in flight
            while shared.in_flight >= shared.cap {
                shared = self.changed.wait(shared).unwrap_or_else(|e| e.into_inner());
            }
            let now = self.clock.now();
            let b = shared.buckets.entry(bucket.to_string()).or_default();
            if b.window.as_ref().is_some_and(|w| now >= w.reset_at) {
                b.window = None;
            }
            let wait = match &mut b.window {
                Some(w) => {
                    // one request of the window is held back (see the module docs)
                    let reserve = reserve(w.limit, self.pct) as i64 + 1;
                    let available = w.remaining - reserve;
                    if available <= 0 {
                        Some(w.reset_at - now)
                    } else if w.next_send > now {
                        Some(w.next_send - now)
                    } else {
                        let gap = (w.reset_at - now) / available.min(u32::MAX as i64) as u32;
                        w.next_send = now + gap;
                        w.remaining -= 1;
                        None
                    }
                }
                None if !self.learn => None,
                None if b.silent => {
                    if !paced_by_fallback && let Some(f) = &self.fallback {
                        drop(shared);
                        wait_gcra(f, &*self.clock);
                        paced_by_fallback = true;
                        continue;
                    }
                    None
                }
                None if b.probing => {
                    // the first request of this bucket is out: wait for its answer
                    shared.awaiting_probe += 1;
                    let mut shared = self.changed.wait(shared).unwrap_or_else(|e| e.into_inner());
                    shared.awaiting_probe -= 1;
                    continue;
                }
                None => {
                    b.probing = true;
                    shared.in_flight += 1;
                    return Permit {
                        limiter: self,
                        bucket: bucket.to_string(),
                        probe: true,
                    };
                }
            };
            match wait {
                None => {
                    shared.in_flight += 1;
                    return Permit {
                        limiter: self,
                        bucket: bucket.to_string(),
                        probe: false,
                    };
                }
                Some(d) => {
                    drop(shared);
                    tracing::debug!(
                        "rate limit: waiting {:.2}s for the server's window",
                        d.as_secs_f64()
                    );
                    self.clock.sleep(d.max(Duration::from_micros(1)));
                }
            }
        }
    }

    /// A 429 said the server's limit on requests in flight was passed (Okta: `Limit: 0`):
    /// from now on at most one request less than were in flight then.
    pub fn concurrency_refused(&self) {
        let mut shared = self.lock();
        let cap = shared.in_flight.saturating_sub(1).max(1);
        if cap < shared.cap {
            tracing::info!("the server refused requests in flight: at most {cap} at once from now");
            shared.cap = cap;
        }
    }

    /// The cap on requests in flight learned from the server (`None`: none was needed).
    pub fn concurrency_cap(&self) -> Option<usize> {
        let cap = self.lock().cap;
        (cap != usize::MAX).then_some(cap)
    }

    /// True unless the window we were told about for `bucket` is used up (to our count). A
    /// bucket we know nothing about has room.
    pub fn has_room(&self, bucket: &str) -> bool {
        let shared = self.lock();
        match shared.buckets.get(bucket).and_then(|b| b.window.as_ref()) {
            Some(w) if self.clock.now() < w.reset_at => {
                w.remaining > reserve(w.limit, self.pct) as i64
            }
            _ => true,
        }
    }

    /// The limit the server last gave for `bucket`, per its window.
    pub fn learned_limit(&self, bucket: &str) -> Option<u64> {
        self.lock()
            .buckets
            .get(bucket)
            .and_then(|b| b.learned_limit)
    }

    /// Read the rate-limit headers of a response for `bucket`.
    pub fn headers(&self, get: impl Fn(&str) -> Option<String>) -> Option<RateHeaders> {
        let (l, r, s) = match self.service {
            Service::Okta => (
                "x-rate-limit-limit",
                "x-rate-limit-remaining",
                "x-rate-limit-reset",
            ),
            Service::OneLogin => (
                "x-ratelimit-limit",
                "x-ratelimit-remaining",
                "x-ratelimit-reset",
            ),
        };
        let num = |name: &str| get(name).and_then(|v| v.trim().parse::<u64>().ok());
        Some(RateHeaders {
            limit: num(l)?,
            remaining: num(r)?,
            reset: num(s)?,
        })
    }

    /// How long from now until the window of these headers resets. Okta sends an epoch
    /// (compared with the server's `Date` when it disagrees with our clock by more than 2 s);
    /// OneLogin sends seconds remaining. Capped at an hour and a bit.
    pub fn until_reset(&self, h: &RateHeaders, server_date: Option<f64>) -> Duration {
        let secs = match self.service {
            Service::OneLogin => h.reset as f64,
            Service::Okta => {
                let local = self.clock.unix_now();
                let now = match server_date {
                    // the Date header has whole seconds: only trust it for real skew
                    Some(d) if (d - local).abs() > 2.0 => d,
                    _ => local,
                };
                h.reset as f64 - now
            }
        };
        Duration::from_secs_f64(secs.clamp(0.0, 3_700.0))
    }

    /// Fold a response's rate-limit headers into the bucket's window.
    pub fn observe(&self, bucket: &str, h: &RateHeaders, server_date: Option<f64>) {
        if h.limit == 0 {
            // Okta's concurrent-request answer says nothing about the window
            return;
        }
        let now = self.clock.now();
        let reset_at = now + self.until_reset(h, server_date) + RESET_MARGIN;
        let mut shared = self.lock();
        let b = shared.buckets.entry(bucket.to_string()).or_default();
        b.silent = false;
        b.learned_limit = Some(h.limit);
        let remaining = i64::try_from(h.remaining).unwrap_or(i64::MAX);
        if let Some(w) = &mut b.window
            && now < w.reset_at
        {
            match self.compare_window(w, h, reset_at) {
                // a late answer from a window that is over says nothing about this one
                std::cmp::Ordering::Less => return,
                std::cmp::Ordering::Equal => {
                    w.remaining = w.remaining.min(remaining);
                    w.limit = h.limit;
                    return;
                }
                std::cmp::Ordering::Greater => {}
            }
        }
        b.window = Some(Window {
            limit: h.limit,
            remaining,
            reset_at,
            reset_raw: h.reset,
            next_send: now,
        });
        drop(shared);
        self.changed.notify_all();
    }

    /// Is the window of `h` older than, the same as, or newer than `w`? Okta names windows by
    /// their reset epoch; OneLogin's seconds-remaining resets within 2 s of ours are the same.
    fn compare_window(
        &self,
        w: &Window,
        h: &RateHeaders,
        reset_at: Duration,
    ) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match self.service {
            Service::Okta => h.reset.cmp(&w.reset_raw),
            Service::OneLogin => {
                let slack = Duration::from_secs(2);
                if reset_at + slack < w.reset_at {
                    Ordering::Less
                } else if reset_at > w.reset_at + slack {
                    Ordering::Greater
                } else {
                    Ordering::Equal
                }
            }
        }
    }
}

/// Sleep until the GCRA lets one request out, and take it.
fn wait_gcra(gcra: &Gcra, clock: &dyn Clock) {
    while let Err(not_until) = gcra.check() {
        let wait = not_until.wait_time_from(clock.now());
        clock.sleep(wait.max(Duration::from_micros(1)));
    }
}

/// Okta's rate-limit bucket of a request, after the table of okta-api.md §8: collections and
/// `{id}` sub-trees of apps, groups and users are separate buckets (user reads and writes
/// too); other `/api/v1` paths share one. Paths outside it are templated.
pub fn okta_bucket(method: &str, path: &str) -> String {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let b = match segs.as_slice() {
        ["api", "v1", "apps"] => "/api/v1/apps",
        ["api", "v1", "apps", ..] => "/api/v1/apps/{id}",
        ["api", "v1", "groups"] => "/api/v1/groups",
        ["api", "v1", "groups", ..] => "/api/v1/groups/{id}",
        ["api", "v1", "users"] => "/api/v1/users",
        ["api", "v1", "users", ..] if method.eq_ignore_ascii_case("GET") => {
            "GET /api/v1/users/{id}"
        }
        ["api", "v1", "users", ..] => "/api/v1/users/{id}",
        ["api", "v1", "logs", ..] => "/api/v1/logs",
        // authentication has limits of its own (the sandbox models it so too)
        ["api", "v1", "authn", ..] => "/api/v1/authn",
        ["api", "v1", ..] => "/api/v1",
        _ => return template_path(path),
    };
    b.to_string()
}

/// `/api/v1/groups/00g1ab/users` → `/api/v1/groups/{id}/users`: a segment with a digit or an
/// upper-case letter is an id, except the API version right after `api` (`v1`, `2`).
pub fn template_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        let is_version = out.last() == Some(&"api");
        let looks_like_id = seg
            .chars()
            .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || c == '@' || c == '%');
        out.push(if looks_like_id && !is_version {
            "{id}"
        } else {
            seg
        });
    }
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::clock::FakeClock;

    fn rate(count: u32, secs: u64) -> Rate {
        Rate {
            count,
            per: Duration::from_secs(secs),
        }
    }

    #[test]
    fn interval_and_reserve_follow_max_capacity() {
        assert_eq!(interval(rate(600, 60), 100), Duration::from_millis(100));
        assert_eq!(interval(rate(600, 60), 50), Duration::from_millis(200));
        assert_eq!(reserve(600, 50), 300);
        assert_eq!(reserve(600, 100), 0);
        assert_eq!(reserve(5000, 75), 1250);
        assert_eq!(reserve(7, 50), 4);
    }

    #[test]
    fn paths_are_templated_into_buckets() {
        assert_eq!(template_path("/api/v1/users"), "/api/v1/users");
        assert_eq!(
            template_path("/api/v1/groups/00g1emaKYZTWRYYRRTSK/users"),
            "/api/v1/groups/{id}/users"
        );
        assert_eq!(
            template_path("/api/v1/meta/schemas/user/default"),
            "/api/v1/meta/schemas/user/default"
        );
        assert_eq!(template_path("/api/2/users/12345"), "/api/2/users/{id}");
        assert_eq!(okta_bucket("GET", "/api/v1/users"), "/api/v1/users");
        assert_eq!(okta_bucket("POST", "/api/v1/users"), "/api/v1/users");
        assert_eq!(
            okta_bucket("GET", "/api/v1/users/00u1/groups"),
            "GET /api/v1/users/{id}"
        );
        assert_eq!(
            okta_bucket("POST", "/api/v1/users/00u1"),
            "/api/v1/users/{id}"
        );
        assert_eq!(
            okta_bucket("GET", "/api/v1/groups/00g1/users"),
            "/api/v1/groups/{id}"
        );
        assert_eq!(
            okta_bucket("GET", "/api/v1/meta/schemas/user/default"),
            "/api/v1"
        );
    }

    /// Count the requests the limiter lets out in each window of `window` length.
    fn per_window(times: &[Duration], window: Duration) -> Vec<usize> {
        let mut counts = Vec::new();
        for t in times {
            let i = (t.as_nanos() / window.as_nanos()) as usize;
            if counts.len() <= i {
                counts.resize(i + 1, 0);
            }
            counts[i] += 1;
        }
        counts
    }

    #[test]
    fn quota_spaces_requests_and_never_exceeds_a_window() {
        let clock = Arc::new(FakeClock::new(0.0));
        let lim = Limiter::new(Service::Okta, Some(rate(600, 60)), 50, clock.clone());
        let mut times = Vec::new();
        for _ in 0..1000 {
            lim.acquire("/api/v1/users");
            times.push(clock.now());
        }
        // 300/min with a burst of 6: no window of 60 s, at any offset, holds more than 306,
        // far below the server's 600
        for w in times.windows(307) {
            assert!(w[306] - w[0] >= Duration::from_secs(60));
        }
        let counts = per_window(&times, Duration::from_secs(60));
        assert_eq!(&counts[..3], &[305, 300, 300]);
    }

    #[test]
    fn a_burst_only_when_it_cannot_exceed_the_rate() {
        assert_eq!(burst(rate(600, 60), 100), 1);
        assert_eq!(burst(rate(600, 60), 50), 6);
        assert_eq!(burst(rate(600, 60), 99), 6);
        assert_eq!(burst(rate(5000, 3600), 80), 10);
        assert_eq!(burst(rate(10, 1), 50), 1);
        for (count, pct) in [(600, 50), (600, 99), (5000, 80), (100, 90), (7, 60)] {
            let r = rate(count, 60);
            let quota = u64::from(count) * pct as u64 / 100;
            assert!(quota + u64::from(burst(r, pct)) <= u64::from(count) + 1);
        }
    }

    #[test]
    fn a_slow_caller_catches_up_and_uses_the_quota_fully() {
        // one caller (idm-export walks pages one by one) whose every 10th answer takes a
        // second: the burst makes up for it, so a minute still carries >= 95% of the quota
        let clock = Arc::new(FakeClock::new(0.0));
        let lim = Limiter::new(Service::Okta, Some(rate(600, 60)), 50, clock.clone());
        let mut times = Vec::new();
        for i in 0..2000 {
            lim.acquire("/api/v1/users");
            times.push(clock.now());
            clock.advance(if i % 10 == 9 {
                Duration::from_secs(1)
            } else {
                Duration::from_millis(20)
            });
        }
        let counts = per_window(&times, Duration::from_secs(60));
        for (i, c) in counts[1..counts.len() - 1].iter().enumerate() {
            assert!((285..=306).contains(c), "window {}: {c}", i + 1);
        }
    }

    #[test]
    fn quota_is_shared_by_threads_and_fully_used() {
        let clock = Arc::new(FakeClock::new(0.0));
        let lim = Arc::new(Limiter::new(
            Service::OneLogin,
            Some(rate(100, 1)),
            100,
            clock.clone(),
        ));
        let times = Arc::new(Mutex::new(Vec::new()));
        std::thread::scope(|s| {
            for _ in 0..4 {
                let lim = lim.clone();
                let times = times.clone();
                let clock = clock.clone();
                s.spawn(move || {
                    for _ in 0..50 {
                        lim.acquire("");
                        times.lock().unwrap().push(clock.now());
                    }
                });
            }
        });
        // one quota for all: 200 grants at 100/s span at least 1.99 s of the quota's time
        assert_eq!(times.lock().unwrap().len(), 200);
        assert!(
            clock.now() >= Duration::from_millis(1_990),
            "{:?}",
            clock.now()
        );
    }

    #[test]
    fn learned_the_first_request_of_a_bucket_goes_alone_until_its_answer() {
        let clock = Arc::new(FakeClock::new(1_000.0));
        let lim = Limiter::new(Service::Okta, None, 100, clock.clone()).learning(None);
        let probe = lim.acquire("/api/v1/users");
        // another bucket is not held up by this one's probe
        drop(lim.acquire("/api/v1/groups"));
        std::thread::scope(|s| {
            let second = s.spawn(|| {
                let p = lim.acquire("/api/v1/users");
                let left = lim.lock().buckets["/api/v1/users"]
                    .window
                    .as_ref()
                    .map(|w| w.remaining);
                drop(p);
                left
            });
            while lim.lock().awaiting_probe == 0 {
                std::thread::yield_now();
            }
            // the probe's answer says what the window is; the second request counts in it
            let h = RateHeaders {
                limit: 600,
                remaining: 599,
                reset: 1_060,
            };
            lim.observe("/api/v1/users", &h, None);
            probe.answered(Some(&h));
            assert_eq!(second.join().unwrap(), Some(598));
        });
        assert_eq!(lim.learned_limit("/api/v1/users"), Some(600));
    }

    #[test]
    fn learned_a_bucket_that_never_says_is_paced_by_the_fallback() {
        let clock = Arc::new(FakeClock::new(0.0));
        let lim =
            Limiter::new(Service::OneLogin, None, 100, clock.clone()).learning(Some(rate(60, 60)));
        lim.acquire("").answered(None);
        let start = clock.now();
        for _ in 0..10 {
            lim.acquire("").answered(None);
        }
        // one a second, not all at once (and the first request was not held back)
        assert!(
            clock.now() - start >= Duration::from_secs(9),
            "{:?}",
            clock.now()
        );
    }

    #[test]
    fn a_refused_request_in_flight_caps_the_requests_in_flight() {
        let clock = Arc::new(FakeClock::new(0.0));
        let lim = Limiter::new(Service::Okta, None, 100, clock.clone());
        let held: Vec<Permit<'_>> = (0..5).map(|_| lim.acquire("b")).collect();
        assert_eq!(lim.concurrency_cap(), None);
        lim.concurrency_refused();
        assert_eq!(lim.concurrency_cap(), Some(4));
        std::thread::scope(|s| {
            // 5 in flight, 4 allowed: the sixth goes out only once two were answered
            let sixth = s.spawn(|| {
                let p = lim.acquire("b");
                let in_flight = lim.lock().in_flight;
                drop(p);
                in_flight
            });
            let mut held = held;
            held.pop();
            held.pop();
            assert!(sixth.join().unwrap() <= 4);
            drop(held);
        });
        assert_eq!(lim.lock().in_flight, 0);
    }

    #[test]
    fn remaining_at_the_reserve_waits_for_the_reset() {
        let clock = Arc::new(FakeClock::new(1_000.0));
        let lim = Limiter::new(Service::Okta, None, 50, clock.clone());
        // Limit 600, 302 left: one request may still go, then we are at the 50% mark (plus
        // the one held back for a clock a little off the server's)
        let h = RateHeaders {
            limit: 600,
            remaining: 302,
            reset: 1_030,
        };
        lim.observe("/api/v1/users", &h, None);
        lim.acquire("/api/v1/users");
        assert_eq!(clock.slept(), Duration::ZERO);
        lim.acquire("/api/v1/users");
        assert_eq!(clock.slept(), Duration::from_secs(30) + RESET_MARGIN);
        // other buckets are not held up
        let before = clock.slept();
        lim.acquire("/api/v1/groups");
        assert_eq!(clock.slept(), before);
    }

    #[test]
    fn requests_are_spread_over_what_is_left_of_the_window() {
        let clock = Arc::new(FakeClock::new(0.0));
        let lim = Limiter::new(Service::OneLogin, None, 100, clock.clone());
        // 10 requests left (and one held back) and 20 s to go: one every 2 s, not 10 at once
        let h = RateHeaders {
            limit: 5000,
            remaining: 11,
            reset: 20,
        };
        lim.observe("", &h, None);
        for _ in 0..5 {
            lim.acquire("");
        }
        let s = clock.now().as_secs_f64();
        assert!((7.9..=8.1).contains(&s), "{s}");
    }

    #[test]
    fn responses_only_lower_the_estimate_within_a_window() {
        let clock = Arc::new(FakeClock::new(0.0));
        let lim = Limiter::new(Service::Okta, None, 100, clock.clone());
        let h = |remaining| RateHeaders {
            limit: 10,
            remaining,
            reset: 60,
        };
        lim.observe("b", &h(4), None); // 3 for us, 1 held back
        lim.acquire("b"); // estimate 3
        lim.observe("b", &h(4), None); // a stale answer sent before ours
        lim.acquire("b");
        lim.acquire("b"); // estimate 1 now: the one held back
        lim.acquire("b");
        assert_eq!(clock.now(), Duration::from_secs(60) + RESET_MARGIN);
        // a later epoch starts a new window
        lim.observe("b", &h(9).clone_with_reset(120), None);
        let t = clock.now();
        lim.acquire("b");
        assert_eq!(clock.now(), t);
    }

    impl RateHeaders {
        fn clone_with_reset(mut self, reset: u64) -> RateHeaders {
            self.reset = reset;
            self
        }
    }

    #[test]
    fn a_late_answer_from_the_previous_window_is_ignored() {
        // regression: a response of the old window (Remaining 301, earlier reset) arriving
        // after the new window began made the client wait a whole window at 50%
        let clock = Arc::new(FakeClock::new(1_000.0));
        let lim = Limiter::new(Service::Okta, None, 50, clock.clone());
        let h = |remaining, reset| RateHeaders {
            limit: 600,
            remaining,
            reset,
        };
        lim.observe("b", &h(599, 1_060), None);
        lim.observe("b", &h(301, 1_000), None);
        lim.acquire("b");
        lim.acquire("b");
        // paced (299 requests over 60 s), not held for the window
        assert!(
            clock.slept() < Duration::from_secs(1),
            "{:?}",
            clock.slept()
        );
        let ol = Limiter::new(Service::OneLogin, None, 50, clock.clone());
        let h = |remaining, reset| RateHeaders {
            limit: 5000,
            remaining,
            reset,
        };
        ol.observe("", &h(4999, 3600), None);
        ol.observe("", &h(2501, 0), None);
        let before = clock.slept();
        ol.acquire("");
        ol.acquire("");
        assert!(
            clock.slept() - before < Duration::from_secs(2),
            "{:?}",
            clock.slept()
        );
    }

    #[test]
    fn okta_reset_uses_the_date_header_only_for_real_skew() {
        let clock = Arc::new(FakeClock::new(1_000.5));
        let lim = Limiter::new(Service::Okta, None, 100, clock);
        let h = RateHeaders {
            limit: 600,
            remaining: 0,
            reset: 1_030,
        };
        assert_eq!(
            lim.until_reset(&h, Some(1_000.0)),
            Duration::from_secs_f64(29.5)
        );
        // the server's clock is 100 s behind ours
        assert_eq!(lim.until_reset(&h, Some(900.0)), Duration::from_secs(130));
        // a reset in the past is now
        assert_eq!(lim.until_reset(&h, Some(2_000.0)), Duration::ZERO);
    }

    #[test]
    fn header_names_follow_the_service() {
        let clock: Arc<dyn Clock> = Arc::new(FakeClock::new(0.0));
        let okta = Limiter::new(Service::Okta, None, 100, clock.clone());
        let ol = Limiter::new(Service::OneLogin, None, 100, clock);
        let okta_headers = |n: &str| match n {
            "x-rate-limit-limit" => Some("600".to_string()),
            "x-rate-limit-remaining" => Some("599".to_string()),
            "x-rate-limit-reset" => Some("1700000000".to_string()),
            _ => None,
        };
        assert_eq!(
            okta.headers(okta_headers),
            Some(RateHeaders {
                limit: 600,
                remaining: 599,
                reset: 1_700_000_000
            })
        );
        assert_eq!(ol.headers(okta_headers), None);
        assert_eq!(ol.bucket("GET", "/api/2/users/5"), "");
    }
}
