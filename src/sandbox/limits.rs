//! Rate limits the way the real services count them: fixed windows aligned to the clock
//! (a `600/min` window starts at second 0 of each minute), one counter per bucket.
//!
//! Okta limits each endpoint bucket separately (okta-api.md §8) and reports the window's end
//! as epoch seconds; OneLogin has one account-wide counter and reports seconds remaining.
//! Both shapes come from the same [`Admission`]. The limiter also keeps what the stats show:
//! requests that arrived while a quota was exhausted (`over_limit`) and the most requests
//! admitted in one window (`peak_per_window`), overall and per bucket.
//!
//! A limit is either one [`RateSpec`] for every bucket, or an Okta [`OktaTier`]: the
//! per-minute default of each bucket for that kind of org (okta-api.md §8,
//! stormpath-export.md §5.2), so a load is paced against the numbers a real org enforces.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// What `X-Rate-Limit-Limit` says when no limit is configured: large enough that no client
/// paces itself against it.
pub const UNLIMITED: u64 = 1_000_000;

/// `N` requests per `window_secs`, parsed from `600/min`, `5000/hour`, `10/s`, `100/30s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSpec {
    pub limit: u64,
    pub window_secs: u64,
}

impl FromStr for RateSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("rate limit `{s}` is not N/min, N/hour or N/sec");
        let (n, per) = s.trim().split_once('/').ok_or_else(bad)?;
        let limit: u64 = n.trim().parse().map_err(|_| bad())?;
        let per = per.trim();
        let digits: String = per.chars().take_while(char::is_ascii_digit).collect();
        let count: u64 = if digits.is_empty() {
            1
        } else {
            digits.parse().map_err(|_| bad())?
        };
        let unit = match &per[digits.len()..] {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hr" | "hour" => 3600,
            _ => return Err(bad()),
        };
        if limit == 0 || count == 0 {
            return Err(bad());
        }
        Ok(RateSpec {
            limit,
            window_secs: count * unit,
        })
    }
}

impl fmt::Display for RateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.limit, self.window_secs)
    }
}

/// An Okta org type, with its default per-minute management limits and its limit on
/// concurrent requests (okta-api.md §8, stormpath-export.md §5.2–5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OktaTier {
    /// Developer edition, free.
    Developer,
    /// Developer edition, paid.
    DeveloperPaid,
    OneApp,
    Enterprise,
    Workforce,
}

impl OktaTier {
    const ALL: [(&'static str, OktaTier); 5] = [
        ("developer", OktaTier::Developer),
        ("developer-paid", OktaTier::DeveloperPaid),
        ("one-app", OktaTier::OneApp),
        ("enterprise", OktaTier::Enterprise),
        ("workforce", OktaTier::Workforce),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map(|(n, _)| *n)
            .unwrap_or("developer")
    }

    fn column(self) -> usize {
        match self {
            OktaTier::Developer => 0,
            OktaTier::DeveloperPaid => 1,
            OktaTier::OneApp => 2,
            OktaTier::Enterprise => 3,
            OktaTier::Workforce => 4,
        }
    }

    /// Requests per minute allowed in `bucket` (a name of `okta::bucket`). Buckets the
    /// table does not name (group members, schema, authn) get "most other" — the
    /// reference's guess for sub-resources, UNCONFIRMED.
    pub fn per_minute(self, bucket: &str) -> u64 {
        let row: [u64; 5] = match bucket {
            "/api/v1/apps" => [20, 25, 25, 100, 100],
            "/api/v1/apps/{id}" => [100, 300, 300, 600, 500],
            "/api/v1/groups" => [100, 300, 300, 600, 500],
            "/api/v1/groups/{id}" => [100, 300, 300, 600, 1000],
            "/api/v1/users" => [100, 300, 300, 600, 600],
            "GET /api/v1/users/{idOrLogin}" => [100, 300, 300, 1000, 2000],
            "/api/v1/users/{id}" => [100, 300, 300, 600, 600],
            "/api/v1/logs" => [20, 25, 25, 50, 120],
            _ => [100, 300, 300, 600, 1200],
        };
        row[self.column()]
    }

    /// Requests an org of this type serves at once (stormpath-export.md §5.3).
    pub fn concurrency(self) -> usize {
        [15, 35, 35, 75, 75][self.column()]
    }
}

impl FromStr for OktaTier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let name = s.trim().trim_start_matches("tier:");
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                format!(
                    "unknown okta tier `{name}`: use developer, developer-paid, one-app, enterprise or workforce"
                )
            })
    }
}

/// `--okta-rate-limit`: one limit for every bucket (`600/min`) or a tier's defaults
/// (`tier:developer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OktaRateLimit {
    Uniform(RateSpec),
    Tier(OktaTier),
}

impl FromStr for OktaRateLimit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().starts_with("tier:") {
            s.parse().map(OktaRateLimit::Tier)
        } else {
            s.parse().map(OktaRateLimit::Uniform)
        }
    }
}

/// The outcome for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub admitted: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Epoch seconds at the end of the window (Okta's `X-Rate-Limit-Reset`).
    pub reset_epoch: u64,
    /// Seconds until the window ends (OneLogin's `X-RateLimit-Reset`).
    pub reset_secs: u64,
}

#[derive(Debug, Default)]
struct Counters {
    windows: HashMap<&'static str, (u64, u64)>,
    peak_by_bucket: BTreeMap<&'static str, u64>,
    over_by_bucket: BTreeMap<&'static str, u64>,
    /// Per bucket: the start of its first window with traffic, and (windows, requests
    /// admitted) of the windows that closed after it. The first window is left out (a client
    /// starts in the middle of it): what is left measures how much of the limit a client used.
    first_window: HashMap<&'static str, u64>,
    full_windows: BTreeMap<&'static str, (u64, u64)>,
    total: (u64, u64),
    peak: u64,
    over_limit: u64,
}

/// The limiter of one port.
#[derive(Debug)]
pub struct Limiter {
    spec: Option<RateSpec>,
    tier: Option<OktaTier>,
    counters: Mutex<Counters>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Limiter {
    pub fn new(spec: Option<RateSpec>) -> Limiter {
        Limiter {
            spec,
            tier: None,
            counters: Mutex::new(Counters::default()),
        }
    }

    /// Per-minute limits per bucket as an Okta org of `tier` has them.
    pub fn for_tier(tier: OktaTier) -> Limiter {
        Limiter {
            spec: None,
            tier: Some(tier),
            counters: Mutex::new(Counters::default()),
        }
    }

    pub fn spec(&self) -> Option<RateSpec> {
        self.spec
    }

    /// True when some limit is enforced.
    pub fn enforced(&self) -> bool {
        self.spec.is_some() || self.tier.is_some()
    }

    fn window_secs(&self) -> u64 {
        match (self.tier, self.spec) {
            (Some(_), _) => 60,
            (None, Some(s)) => s.window_secs,
            (None, None) => 60,
        }
    }

    fn limit(&self, bucket: &str) -> u64 {
        match (self.tier, self.spec) {
            (Some(t), _) => t.per_minute(bucket),
            (None, Some(s)) => s.limit,
            (None, None) => UNLIMITED,
        }
    }

    /// Count a request in `bucket` and say whether it may proceed.
    pub fn admit(&self, bucket: &'static str) -> Admission {
        self.admit_at(bucket, now_secs())
    }

    fn admit_at(&self, bucket: &'static str, now: u64) -> Admission {
        let w = self.window_secs();
        let start = now - now % w;
        let end = start + w;
        let limit = self.limit(bucket);
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        c.first_window.entry(bucket).or_insert(start);
        let entry = *c.windows.entry(bucket).or_insert((start, 0));
        if entry.0 != start {
            if c.first_window.get(bucket) != Some(&entry.0) {
                let full = c.full_windows.entry(bucket).or_insert((0, 0));
                full.0 += 1;
                full.1 += entry.1;
            }
            c.windows.insert(bucket, (start, 0));
        }
        let entry = c.windows.get_mut(bucket).expect("just inserted");
        let admitted = entry.1 < limit;
        let count = if admitted {
            entry.1 += 1;
            entry.1
        } else {
            entry.1
        };
        if admitted {
            let peak = c.peak_by_bucket.entry(bucket).or_insert(0);
            *peak = (*peak).max(count);
            if c.total.0 != start {
                c.total = (start, 0);
            }
            c.total.1 += 1;
            c.peak = c.peak.max(c.total.1);
        } else {
            c.over_limit += 1;
            *c.over_by_bucket.entry(bucket).or_insert(0) += 1;
        }
        Admission {
            admitted,
            limit,
            remaining: limit.saturating_sub(count),
            reset_epoch: end,
            reset_secs: (end - now).max(1),
        }
    }

    /// The current window of `bucket` without counting a request.
    pub fn peek(&self, bucket: &str) -> Admission {
        let now = now_secs();
        let w = self.window_secs();
        let start = now - now % w;
        let limit = self.limit(bucket);
        let c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let used = c
            .windows
            .get(bucket)
            .filter(|(s, _)| *s == start)
            .map(|(_, n)| *n)
            .unwrap_or(0);
        Admission {
            admitted: used < limit,
            limit,
            remaining: limit.saturating_sub(used),
            reset_epoch: start + w,
            reset_secs: (start + w - now).max(1),
        }
    }

    pub fn reset(&self) {
        *self.counters.lock().unwrap_or_else(|e| e.into_inner()) = Counters::default();
    }

    /// `over_limit`, `peak_per_window` and per-bucket figures for the stats.
    pub fn stats(&self) -> Value {
        let c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let mut by_bucket = serde_json::Map::new();
        let limit_of = |b: &str| self.enforced().then(|| self.limit(b));
        for (b, peak) in &c.peak_by_bucket {
            let (windows, admitted) = c.full_windows.get(b).copied().unwrap_or((0, 0));
            by_bucket.insert(
                b.to_string(),
                json!({ "peak_per_window": peak, "over_limit": c.over_by_bucket.get(b).copied().unwrap_or(0),
                        "limit": limit_of(b), "full_windows": windows,
                        "full_windows_admitted": admitted }),
            );
        }
        for (b, over) in &c.over_by_bucket {
            by_bucket.entry(b.to_string()).or_insert_with(
                || json!({ "peak_per_window": 0, "over_limit": over, "limit": limit_of(b) }),
            );
        }
        json!({
            "over_limit": c.over_limit,
            "peak_per_window": c.peak,
            "window_secs": self.window_secs(),
            "limit": self.spec.map(|s| s.limit),
            "tier": self.tier.map(OktaTier::name),
            "by_bucket": by_bucket,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(
            "600/min".parse::<RateSpec>().unwrap(),
            RateSpec {
                limit: 600,
                window_secs: 60
            }
        );
        assert_eq!("5000/hour".parse::<RateSpec>().unwrap().window_secs, 3600);
        assert_eq!("10/30s".parse::<RateSpec>().unwrap().window_secs, 30);
        for bad in ["600", "x/min", "600/fortnight", "0/min"] {
            assert!(bad.parse::<RateSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn full_windows_after_the_first_measure_what_a_client_used() {
        let l = Limiter::for_tier("tier:developer".parse().unwrap());
        let t = 1_700_000_000 - 1_700_000_000 % 60;
        // the first window is entered late, the next two are used 20/20 and 15/20
        for (window, n) in [(0, 3), (1, 20), (2, 15), (3, 1)] {
            for _ in 0..n {
                assert!(l.admit_at("/api/v1/apps", t + 60 * window + 5).admitted);
            }
        }
        let b = &l.stats()["by_bucket"]["/api/v1/apps"];
        assert_eq!(b["full_windows"], 2, "{b}");
        assert_eq!(b["full_windows_admitted"], 35, "{b}");
    }

    #[test]
    fn tiers_give_each_bucket_its_own_default() {
        let l = Limiter::for_tier("tier:developer".parse().unwrap());
        let t = 1_700_000_000 - 1_700_000_000 % 60;
        // developer (free): 20/min on app create/list, 100/min on user create/list
        for _ in 0..20 {
            assert!(l.admit_at("/api/v1/apps", t).admitted);
        }
        let over = l.admit_at("/api/v1/apps", t);
        assert!(!over.admitted);
        assert_eq!(over.limit, 20);
        let users = l.admit_at("/api/v1/users", t);
        assert!(users.admitted);
        assert_eq!(users.limit, 100);
        assert_eq!(users.remaining, 99);
        let s = l.stats();
        assert_eq!(s["tier"], "developer");
        assert_eq!(s["by_bucket"]["/api/v1/apps"]["over_limit"], 1);
        assert_eq!(s["by_bucket"]["/api/v1/apps"]["peak_per_window"], 20);
        assert_eq!(s["by_bucket"]["/api/v1/apps"]["limit"], 20);
        let w: OktaTier = "workforce".parse().unwrap();
        assert_eq!(w.per_minute("GET /api/v1/users/{idOrLogin}"), 2000);
        assert_eq!(w.per_minute("/api/v1"), 1200);
        assert_eq!(w.concurrency(), 75);
        assert!("tier:gold".parse::<OktaTier>().is_err());
        assert_eq!(
            "600/min".parse::<OktaRateLimit>().unwrap(),
            OktaRateLimit::Uniform(RateSpec {
                limit: 600,
                window_secs: 60
            })
        );
        assert_eq!(
            "tier:enterprise".parse::<OktaRateLimit>().unwrap(),
            OktaRateLimit::Tier(OktaTier::Enterprise)
        );
    }

    #[test]
    fn windows_are_fixed_aligned_and_per_bucket() {
        let l = Limiter::new(Some("3/min".parse().unwrap()));
        let t = 1_700_000_020; // 40 s into a minute
        for n in 0..3 {
            let a = l.admit_at("users", t);
            assert!(a.admitted);
            assert_eq!(a.remaining, 2 - n);
            assert_eq!(a.reset_epoch, 1_700_000_040);
            assert_eq!(a.reset_secs, 20);
        }
        assert!(!l.admit_at("users", t + 5).admitted);
        assert!(l.admit_at("groups", t + 5).admitted, "other bucket");
        assert!(l.admit_at("users", t + 20).admitted, "next window");
        let s = l.stats();
        assert_eq!(s["over_limit"], 1);
        assert_eq!(s["peak_per_window"], 4);
        assert_eq!(s["by_bucket"]["users"]["peak_per_window"], 3);
    }
}
