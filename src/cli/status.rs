//! What a person watching a run sees on stderr: progress, status lines and every other line.
//!
//! The display is chosen once per process:
//! - **bars**: stderr is a terminal that takes escape codes (`NO_COLOR` unset or empty, `TERM`
//!   not `dumb`). One indicatif bar at a time (the steps of a tool follow each other); every
//!   other line (logs, rejects, summaries) goes through [`write_stderr`], which hides the bar
//!   while it writes, so no line is ever torn. A bar is cleared when its step ends. (One bar
//!   rather than a `MultiProgress`: removing finished bars from one left stale lines behind.)
//! - **lines**: anything else (a file, a pipe, a CI log, a terminal with `NO_COLOR` or
//!   `TERM=dumb`): plain text only. A step that runs longer than `--stats-interval` prints one
//!   status line per interval, as rclone's `--stats` does:
//!   `idm-load: loading: 1,204/20,000 (6 %), 41/s, eta 6 min`. The line comes from a timer
//!   thread that waits on a channel, so it stops the moment its step ends, and a stalled step
//!   (a long 429 wait) still says where it is.
//! - **off**: `-q`, or `--stats-interval 0` where there is no terminal.
//!
//! Rates and times are rounded for people (`41/s`, `4.2/s`, `30/min`; `eta 6 min`). A step paced
//! by a quota (idm-load's writes) passes it to [`Progress::with_quota`]: until the step has run
//! long enough to measure its own rate, its ETA is the one the quota allows, not a guess from
//! the first, unpaced items.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::http::Rate;

/// `--stats-interval` when neither the flag nor `IDM_STATS_INTERVAL` sets it.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// Before this much time and [`WARMUP_ITEMS`] items, a step's own rate is not trusted for the
/// ETA (the quota's is used when there is one).
const WARMUP: Duration = Duration::from_secs(3);
const WARMUP_ITEMS: u64 = 10;

/// The span of the rate shown on status lines: recent enough to follow a step that slows down
/// when it reaches the quota, long enough not to jump with every page.
const RATE_WINDOW: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
struct Settings {
    quiet: bool,
    interval: Duration,
    color: bool,
    bars: bool,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();
/// The bar on the terminal now, with the id of its [`Progress`].
static CURRENT: Mutex<Option<(u64, ProgressBar)>> = Mutex::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Choose the display from `-q`, `--stats-interval`, the terminal and the environment. The
/// first call wins; the entry wrapper makes it before the tool runs.
pub fn configure(quiet: bool, interval: Duration) {
    let _ = SETTINGS.set(detect(quiet, interval));
}

fn settings() -> Settings {
    *SETTINGS.get_or_init(|| detect(false, DEFAULT_INTERVAL))
}

fn detect(quiet: bool, interval: Duration) -> Settings {
    let plain = plain_text(
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("TERM").as_deref(),
    );
    let fancy = io::stderr().is_terminal() && !plain;
    Settings {
        quiet,
        interval,
        color: fancy,
        bars: fancy && !quiet,
    }
}

/// True when the environment asks for text without escape codes: `NO_COLOR` set to anything
/// but the empty string (no-color.org), or `TERM=dumb`.
pub fn plain_text(no_color: Option<&std::ffi::OsStr>, term: Option<&std::ffi::OsStr>) -> bool {
    no_color.is_some_and(|v| !v.is_empty()) || term.is_some_and(|t| t == "dumb")
}

/// Whether lines to stderr may carry colour.
pub fn color() -> bool {
    settings().color
}

/// Whether `-q` asked for errors only.
pub fn quiet() -> bool {
    settings().quiet
}

/// Write whole lines to stderr, with any progress bar hidden while they are written (a line
/// written under a bar would be torn by its next redraw).
pub fn write_stderr(bytes: &[u8]) {
    let write = || {
        let mut err = io::stderr().lock();
        // stderr is where errors go: when it is gone, there is nobody left to tell
        let _ = err.write_all(bytes);
        let _ = err.flush();
    };
    // the handle is cloned out so the lock is not held while writing
    let bar = CURRENT
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|(_, b)| b.clone());
    match bar {
        Some(b) if !b.is_finished() => b.suspend(write),
        _ => write(),
    }
}

/// Tell a person something: `idm-load: {message}` on its own line of stderr.
pub fn say(message: &str) {
    write_stderr(format!("{}: {message}\n", super::tool()).as_bytes());
}

/// A progress display for one step of a run: a bar on a terminal, status lines at intervals
/// elsewhere, nothing with `-q`. Cheap to clone (clones show the same step); the display ends
/// with [`Progress::finish_and_clear`] or when the last clone is dropped.
#[derive(Clone, Default)]
pub struct Progress {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    id: u64,
    shared: Arc<Shared>,
    bar: Option<ProgressBar>,
    ticker: Mutex<Option<Ticker>>,
}

/// What the bar's formatters and the status thread read.
struct Shared {
    label: String,
    started: Instant,
    pos: AtomicU64,
    /// [`NO_LEN`] while the total is unknown.
    len: AtomicU64,
    /// Items per second the quota allows, when the step is paced by one.
    ceiling: Mutex<Option<f64>>,
}

const NO_LEN: u64 = u64::MAX;

impl Shared {
    fn len(&self) -> Option<u64> {
        Some(self.len.load(Ordering::Relaxed)).filter(|&n| n != NO_LEN)
    }

    fn ceiling(&self) -> Option<f64> {
        *self.ceiling.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The status line for `rate` items per second.
    fn line(&self, rate: f64, now: Instant) -> String {
        let pos = self.pos.load(Ordering::Relaxed);
        let len = self.len();
        let eta = eta(pos, len, rate, now - self.started, self.ceiling());
        status_line(&self.label, pos, len, rate, eta)
    }
}

impl Progress {
    /// A display that shows nothing.
    pub fn hidden() -> Progress {
        Progress { inner: None }
    }

    /// The display of a step called `label` (`loading`, `users`) of `total` items, when known.
    pub fn new(label: &str, total: Option<u64>) -> Progress {
        let s = settings();
        if s.quiet || (!s.bars && s.interval.is_zero()) {
            return Progress::hidden();
        }
        let shared = Arc::new(Shared {
            label: label.to_string(),
            started: Instant::now(),
            pos: AtomicU64::new(0),
            len: AtomicU64::new(total.unwrap_or(NO_LEN)),
            ceiling: Mutex::new(None),
        });
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let (bar, ticker) = if s.bars {
            let b = bar(&shared, total);
            *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = Some((id, b.clone()));
            (Some(b), None)
        } else {
            (
                None,
                Ticker::start(shared.clone(), s.interval, Arc::new(say)),
            )
        };
        Progress {
            inner: Some(Arc::new(Inner {
                id,
                shared,
                bar,
                ticker: Mutex::new(ticker),
            })),
        }
    }

    /// The step is paced by `rate` (of which `pct` % is used): its ETA is the quota's until
    /// its own rate can be measured. `None` changes nothing.
    pub fn with_quota(self, rate: Option<Rate>, pct: u8) -> Progress {
        if let (Some(inner), Some(rate)) = (&self.inner, rate) {
            let per_sec =
                rate.count as f64 * f64::from(pct.clamp(1, 100)) / 100.0 / rate.per.as_secs_f64();
            if per_sec.is_finite() && per_sec > 0.0 {
                *inner
                    .shared
                    .ceiling
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(per_sec);
            }
        }
        self
    }

    /// `n` more items done.
    pub fn inc(&self, n: u64) {
        if let Some(i) = &self.inner {
            i.shared.pos.fetch_add(n, Ordering::Relaxed);
            if let Some(b) = &i.bar {
                b.inc(n);
            }
        }
    }

    /// `n` items done in all.
    pub fn set_position(&self, n: u64) {
        if let Some(i) = &self.inner {
            i.shared.pos.store(n, Ordering::Relaxed);
            if let Some(b) = &i.bar {
                b.set_position(n);
            }
        }
    }

    /// The step has `n` items in all.
    pub fn set_length(&self, n: u64) {
        if let Some(i) = &self.inner {
            i.shared.len.store(n, Ordering::Relaxed);
            if let Some(b) = &i.bar {
                b.set_length(n);
            }
        }
    }

    /// Items done so far (0 for a hidden display).
    pub fn position(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |i| i.shared.pos.load(Ordering::Relaxed))
    }

    /// The step is over: the bar goes away, the status lines stop (at once).
    pub fn finish_and_clear(&self) {
        if let Some(i) = &self.inner {
            i.finish();
        }
    }
}

impl Inner {
    fn finish(&self) {
        let ticker = self.ticker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = ticker {
            t.stop();
        }
        if let Some(b) = &self.bar {
            if !b.is_finished() {
                b.finish_and_clear();
            }
            let mut current = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
            if current.as_ref().is_some_and(|(id, _)| *id == self.id) {
                *current = None;
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The terminal bar of a step: count, rate and ETA with the same rounding as status lines.
fn bar(shared: &Arc<Shared>, total: Option<u64>) -> ProgressBar {
    let count = |s: &ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = w.write_str(&counts(s.pos(), s.len()));
    };
    let rate = |s: &ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = w.write_str(&human_rate(s.per_sec()));
    };
    let quota = shared.clone();
    let eta_key = move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
        if let Some(e) = eta(s.pos(), s.len(), s.per_sec(), s.elapsed(), quota.ceiling()) {
            let _ = write!(w, ", eta {}", human_eta(e));
        }
    };
    let (bar, template) = match total {
        Some(n) => (
            ProgressBar::new(n),
            "{prefix:>14} {bar:30} {idm_count}, {idm_rate}{idm_eta}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{prefix:>14} {spinner} {idm_count}, {idm_rate}",
        ),
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("idm_count", count)
        .with_key("idm_rate", rate)
        .with_key("idm_eta", eta_key);
    let bar = bar.with_style(style).with_prefix(shared.label.clone());
    bar.set_draw_target(ProgressDrawTarget::stderr());
    // redrawn while nothing arrives (a 429 wait), so the ETA and the spinner stay alive
    bar.enable_steady_tick(Duration::from_millis(500));
    bar
}

/// The thread that prints a status line every interval until its step ends.
struct Ticker {
    stop: mpsc::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

type Out = Arc<dyn Fn(&str) + Send + Sync>;

impl Ticker {
    fn start(shared: Arc<Shared>, interval: Duration, out: Out) -> Option<Ticker> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("idm-status".into())
            .spawn(move || {
                let mut window = Window::new(shared.started);
                // a message or a dropped sender ends the step; only a timeout prints
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    let now = Instant::now();
                    window.push(now, shared.pos.load(Ordering::Relaxed));
                    out(&shared.line(window.rate(), now));
                }
            })
            .ok()?;
        Some(Ticker {
            stop,
            thread: Some(thread),
        })
    }

    fn stop(mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Positions at past ticks, for the rate over the last [`RATE_WINDOW`].
struct Window {
    samples: VecDeque<(Instant, u64)>,
}

impl Window {
    fn new(started: Instant) -> Window {
        Window {
            samples: VecDeque::from([(started, 0)]),
        }
    }

    fn push(&mut self, at: Instant, pos: u64) {
        self.samples.push_back((at, pos));
        // keep the newest sample that is at least a window old, drop the older ones
        while self.samples.len() > 2 && at.duration_since(self.samples[1].0) >= RATE_WINDOW {
            self.samples.pop_front();
        }
    }

    fn rate(&self) -> f64 {
        let (Some(&(t0, p0)), Some(&(t1, p1))) = (self.samples.front(), self.samples.back()) else {
            return 0.0;
        };
        let secs = t1.duration_since(t0).as_secs_f64();
        if secs <= 0.0 {
            0.0
        } else {
            p1.saturating_sub(p0) as f64 / secs
        }
    }
}

/// When the step will be done: from its measured `rate` once it has run a while, before that
/// from the quota's `ceiling` (items per second) when there is one.
pub fn eta(
    pos: u64,
    len: Option<u64>,
    rate: f64,
    elapsed: Duration,
    ceiling: Option<f64>,
) -> Option<Duration> {
    let remaining = len?.saturating_sub(pos);
    if remaining == 0 {
        return None;
    }
    let measured = elapsed >= WARMUP && pos >= WARMUP_ITEMS && rate > 0.0;
    let per_sec = if measured {
        rate
    } else {
        ceiling
            .filter(|c| *c > 0.0)
            .or((rate > 0.0).then_some(rate))?
    };
    let secs = remaining as f64 / per_sec;
    // beyond a year it is not an estimate any more
    (secs.is_finite() && secs < 3.2e7).then(|| Duration::from_secs_f64(secs))
}

/// `loading: 1,204/20,000 (6 %), 41/s, eta 6 min` (without the tool's prefix).
pub fn status_line(
    label: &str,
    pos: u64,
    len: Option<u64>,
    rate: f64,
    eta: Option<Duration>,
) -> String {
    let mut line = format!("{label}: {}, {}", counts(pos, len), human_rate(rate));
    if let Some(e) = eta {
        let _ = write!(line, ", eta {}", human_eta(e));
    }
    line
}

/// `1,204/20,000 (6 %)`, or `1,204` without a total.
pub fn counts(pos: u64, len: Option<u64>) -> String {
    match len {
        Some(len) => {
            let pct = if len == 0 {
                100
            } else {
                (u128::from(pos.min(len)) * 100 / u128::from(len)) as u64
            };
            format!("{}/{} ({pct} %)", count(pos), count(len))
        }
        None => count(pos),
    }
}

/// `20,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate for people: `1,204/s`, `41/s`, `4.2/s`, `30/min`, `12/h`.
pub fn human_rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        return "0/s".into();
    }
    if per_sec >= 9.95 {
        format!("{}/s", count(per_sec.round() as u64))
    } else if per_sec >= 0.995 {
        format!("{per_sec:.1}/s")
    } else if per_sec * 60.0 >= 0.995 {
        format!("{}/min", (per_sec * 60.0).round() as u64)
    } else {
        format!("{}/h", ((per_sec * 3600.0).round() as u64).max(1))
    }
}

/// A time still to come, coarse: `40 s`, `6 min`, `2 h 05 min`.
pub fn human_eta(d: Duration) -> String {
    let s = d.as_secs_f64().ceil() as u64;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s.div_ceil(60))
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600).div_ceil(60).min(59))
    }
}

/// A time spent, for summaries: `0.08 s`, `4.2 s`, `42 s`, `3 min 12 s`, `2 h 05 min`.
pub fn human_elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s < 1 {
        format!("{:.2} s", d.as_secs_f64())
    } else if s < 10 {
        format!("{:.1} s", d.as_secs_f64())
    } else if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    }
}

/// `--stats-interval`: `10s`, `10`, `500ms`, `2m`, or `0` for no status lines.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let t = s.trim().to_ascii_lowercase();
    let bad =
        || format!("invalid interval `{s}`: expected seconds such as `10s`, `2m`, `500ms` or `0`");
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => t.split_at(i),
        None => (t.as_str(), "s"),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" | "sec" | "secs" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_rates_are_rounded_for_people() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1204), "1,204");
        assert_eq!(count(20_000), "20,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(counts(1204, Some(20_000)), "1,204/20,000 (6 %)");
        assert_eq!(counts(7, Some(0)), "7/0 (100 %)");
        assert_eq!(counts(12, None), "12");
        assert_eq!(human_rate(41.3), "41/s");
        assert_eq!(human_rate(1204.4), "1,204/s");
        assert_eq!(human_rate(4.23), "4.2/s");
        assert_eq!(human_rate(0.5), "30/min");
        assert_eq!(human_rate(5000.0 / 3600.0), "1.4/s");
        assert_eq!(human_rate(0.001), "4/h");
        assert_eq!(human_rate(0.0), "0/s");
        assert_eq!(human_rate(f64::NAN), "0/s");
    }

    #[test]
    fn times_are_rounded_for_people() {
        assert_eq!(human_eta(Duration::from_secs_f64(39.2)), "40 s");
        assert_eq!(human_eta(Duration::from_secs(330)), "6 min");
        assert_eq!(human_eta(Duration::from_secs(7500)), "2 h 05 min");
        assert_eq!(human_elapsed(Duration::from_millis(83)), "0.08 s");
        assert_eq!(human_elapsed(Duration::from_millis(4230)), "4.2 s");
        assert_eq!(human_elapsed(Duration::from_secs(42)), "42 s");
        assert_eq!(human_elapsed(Duration::from_secs(192)), "3 min 12 s");
        assert_eq!(human_elapsed(Duration::from_secs(7500)), "2 h 05 min");
    }

    #[test]
    fn the_status_line_reads_like_rclone_stats() {
        let line = status_line(
            "loading",
            1204,
            Some(20_000),
            41.0,
            Some(Duration::from_secs(360)),
        );
        assert_eq!(line, "loading: 1,204/20,000 (6 %), 41/s, eta 6 min");
        assert_eq!(
            status_line("users", 300, None, 2.0, None),
            "users: 300, 2.0/s"
        );
    }

    #[test]
    fn the_eta_follows_the_quota_until_the_rate_is_measured() {
        let quota = Some(5000.0 / 3600.0); // 1.39/s
        // the first items go out in a burst: their rate says nothing yet
        let early = eta(5, Some(20_000), 50.0, Duration::from_millis(500), quota).unwrap();
        assert!(early > Duration::from_secs(3 * 3600), "{early:?}");
        // measured: the step's own rate
        let later = eta(10_000, Some(20_000), 100.0, Duration::from_secs(60), quota).unwrap();
        assert_eq!(later, Duration::from_secs(100));
        // no quota and nothing measured: no estimate rather than a made-up one
        assert_eq!(eta(0, Some(10), 0.0, Duration::ZERO, None), None);
        // done, or no total: nothing to estimate
        assert_eq!(eta(10, Some(10), 5.0, Duration::from_secs(9), quota), None);
        assert_eq!(eta(3, None, 5.0, Duration::from_secs(9), quota), None);
    }

    #[test]
    fn the_rate_window_follows_a_step_that_slows_down() {
        let t0 = Instant::now();
        let mut w = Window::new(t0);
        // 100/s for a minute, then 1/s for a minute: the rate shown is the recent one
        w.push(t0 + Duration::from_secs(60), 6000);
        assert_eq!(w.rate(), 100.0);
        for i in 1..=6u64 {
            w.push(t0 + Duration::from_secs(60 + 10 * i), 6000 + 10 * i);
        }
        let r = w.rate();
        assert!((0.9..=1.1).contains(&r), "{r}");
    }

    #[test]
    fn plain_text_when_no_color_or_a_dumb_terminal() {
        use std::ffi::OsStr;
        assert!(plain_text(Some(OsStr::new("1")), None));
        assert!(!plain_text(Some(OsStr::new("")), None));
        assert!(plain_text(None, Some(OsStr::new("dumb"))));
        assert!(!plain_text(None, Some(OsStr::new("xterm-256color"))));
        assert!(!plain_text(None, None));
    }

    #[test]
    fn intervals_parse_with_or_without_a_unit() {
        assert_eq!(parse_interval("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_interval("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_interval("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("0"), Ok(Duration::ZERO));
        assert!(parse_interval("soon").unwrap_err().contains("`soon`"));
        assert!(parse_interval("-1").is_err());
        assert!(parse_interval("3 weeks").is_err());
    }

    #[test]
    fn status_lines_come_at_intervals_and_stop_at_once() {
        let shared = Arc::new(Shared {
            label: "loading".into(),
            started: Instant::now(),
            pos: AtomicU64::new(0),
            len: AtomicU64::new(40),
            ceiling: Mutex::new(None),
        });
        let (tx, rx) = mpsc::channel::<String>();
        let tx = Mutex::new(tx);
        let out: Out = Arc::new(move |line: &str| {
            let _ = tx.lock().unwrap().send(line.to_string());
        });
        let ticker = Ticker::start(shared.clone(), Duration::from_millis(20), out).unwrap();
        shared.pos.store(12, Ordering::Relaxed);
        // driven by the ticker, not by the test's clock: wait for two lines
        let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let second = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        for line in [&first, &second] {
            assert!(line.starts_with("loading: "), "{line}");
            assert!(line.contains("/40 ("), "{line}");
        }
        // a long interval: stopping must not wait for it
        let slow =
            Ticker::start(shared, Duration::from_secs(3600), Arc::new(|_: &str| {})).unwrap();
        let asked = Instant::now();
        slow.stop();
        ticker.stop();
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "{:?}",
            asked.elapsed()
        );
    }
}
