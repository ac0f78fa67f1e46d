//! Fault injection: random faults at configured rates (seeded, so a run can be replayed) and
//! scripted faults that hit exactly the request a test names.
//!
//! The kinds are the failures a migration tool must survive on a real network:
//! - `429`: a rate-limit answer although the quota is not exhausted (concurrency limits);
//! - `500`: a server error, nothing committed;
//! - `reset`: the connection closes before the request is handled, nothing committed;
//! - `slow`: the answer comes late (client timeouts);
//! - `lost`: the request is handled — a write **is committed** — and then the connection
//!   closes without an answer. This is the case that makes naive retries create duplicates.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::seed::Mix;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FaultKind {
    #[serde(rename = "429")]
    TooManyRequests,
    #[serde(rename = "500")]
    ServerError,
    #[serde(rename = "reset")]
    Reset,
    #[serde(rename = "slow")]
    Slow,
    #[serde(rename = "lost")]
    Lost,
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::TooManyRequests => "429",
            FaultKind::ServerError => "500",
            FaultKind::Reset => "reset",
            FaultKind::Slow => "slow",
            FaultKind::Lost => "lost",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim() {
            "429" => FaultKind::TooManyRequests,
            "500" => FaultKind::ServerError,
            "reset" => FaultKind::Reset,
            "slow" => FaultKind::Slow,
            "lost" => FaultKind::Lost,
            other => {
                return Err(format!(
                    "unknown fault `{other}` (use 429, 500, reset, slow or lost)"
                ));
            }
        })
    }
}

/// Random fault rates, e.g. `429=0.05,500=0.02,reset=0.01,slow=0.01,lost=0.01`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultRates(pub Vec<(FaultKind, f64)>);

impl FromStr for FaultRates {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        let mut total = 0.0;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("fault `{part}` is not KIND=RATE"))?;
            let kind: FaultKind = k.parse()?;
            let rate: f64 = v
                .trim()
                .parse()
                .ok()
                .filter(|r: &f64| (0.0..=1.0).contains(r))
                .ok_or_else(|| format!("fault rate `{v}` is not a number between 0 and 1"))?;
            total += rate;
            out.push((kind, rate));
        }
        if total > 1.0 {
            return Err(format!("fault rates add up to {total}, more than 1"));
        }
        Ok(FaultRates(out))
    }
}

/// A scripted fault: hit the next `times` requests that match `method` and `path` (both
/// optional; a path ending in `*` is a prefix), after letting `skip` matching ones through.
/// As JSON (`POST /__admin/faults`): `{"kind":"lost","method":"POST","path":"/api/v1/users"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    pub kind: FaultKind,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default = "one")]
    pub times: u32,
    #[serde(default)]
    pub skip: u32,
    /// Delay of a `slow` fault; the sandbox's default when absent.
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

fn one() -> u32 {
    1
}

impl FaultRule {
    /// A rule that hits the next request of any kind once.
    pub fn new(kind: FaultKind) -> FaultRule {
        FaultRule {
            kind,
            method: None,
            path: None,
            times: 1,
            skip: 0,
            delay_ms: None,
        }
    }

    /// Only requests with this method.
    pub fn method(mut self, method: &str) -> FaultRule {
        self.method = Some(method.to_string());
        self
    }

    /// Only requests to this path (`*` at the end: a prefix).
    pub fn path(mut self, path: &str) -> FaultRule {
        self.path = Some(path.to_string());
        self
    }

    /// Hit this many matching requests.
    pub fn times(mut self, times: u32) -> FaultRule {
        self.times = times;
        self
    }

    /// Let this many matching requests through first.
    pub fn skip(mut self, skip: u32) -> FaultRule {
        self.skip = skip;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        let path_ok = match self.path.as_deref() {
            None => true,
            Some(p) => match p.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => p == path,
            },
        };
        method_ok && path_ok
    }
}

/// A fault to apply to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// For `slow`: how long to wait before answering.
    pub delay: Duration,
}

/// The fault source of one port.
#[derive(Debug)]
pub struct Faults {
    rates: FaultRates,
    slow: Duration,
    rng: Mutex<Mix>,
    seed: u64,
    scripted: Mutex<Vec<FaultRule>>,
}

impl Faults {
    pub fn new(rates: FaultRates, seed: u64, slow: Duration) -> Faults {
        Faults {
            rates,
            slow,
            rng: Mutex::new(Mix::new(&[seed, 0xFA17])),
            seed,
            scripted: Mutex::new(Vec::new()),
        }
    }

    /// Add a scripted rule (rules are tried in the order they were added).
    pub fn script(&self, rule: FaultRule) {
        if rule.times > 0 {
            self.scripted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(rule);
        }
    }

    /// Drop scripted rules and restart the random sequence.
    pub fn reset(&self) {
        self.scripted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = Mix::new(&[self.seed, 0xFA17]);
    }

    /// The fault for this request, if any: scripted rules first, then the random rates.
    pub fn decide(&self, method: &str, path: &str) -> Option<Fault> {
        let delay_of =
            |rule_ms: Option<u64>| rule_ms.map(Duration::from_millis).unwrap_or(self.slow);
        {
            let mut rules = self.scripted.lock().unwrap_or_else(|e| e.into_inner());
            let mut hit = None;
            for (n, rule) in rules.iter_mut().enumerate() {
                if !rule.matches(method, path) {
                    continue;
                }
                if rule.skip > 0 {
                    rule.skip -= 1;
                    continue;
                }
                rule.times -= 1;
                hit = Some((n, rule.kind, rule.delay_ms));
                break;
            }
            if let Some((n, kind, ms)) = hit {
                if rules[n].times == 0 {
                    rules.remove(n);
                }
                return Some(Fault {
                    kind,
                    delay: delay_of(ms),
                });
            }
        }
        if self.rates.0.is_empty() {
            return None;
        }
        let u = self.rng.lock().unwrap_or_else(|e| e.into_inner()).unit();
        let mut acc = 0.0;
        for (kind, rate) in &self.rates.0 {
            acc += rate;
            if u < acc {
                return Some(Fault {
                    kind: *kind,
                    delay: delay_of(None),
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_reject_nonsense() {
        let r: FaultRates = "429=0.05,500=0.02,reset=0.01,slow=0.01,lost=0.01"
            .parse()
            .unwrap();
        assert_eq!(r.0.len(), 5);
        assert_eq!(r.0[4], (FaultKind::Lost, 0.01));
        assert!("boom=0.1".parse::<FaultRates>().is_err());
        assert!("429=2".parse::<FaultRates>().is_err());
        assert!("429=0.6,500=0.6".parse::<FaultRates>().is_err());
        assert!("429".parse::<FaultRates>().is_err());
    }

    #[test]
    fn scripted_rules_hit_exactly_the_named_requests() {
        let f = Faults::new(FaultRates::default(), 1, Duration::from_millis(5));
        f.script(
            FaultRule::new(FaultKind::Lost)
                .method("POST")
                .path("/api/v1/users")
                .skip(1)
                .times(2),
        );
        assert_eq!(f.decide("GET", "/api/v1/users"), None);
        assert_eq!(f.decide("POST", "/api/v1/users"), None, "skipped");
        assert_eq!(
            f.decide("POST", "/api/v1/users").map(|x| x.kind),
            Some(FaultKind::Lost)
        );
        assert_eq!(
            f.decide("post", "/api/v1/users").map(|x| x.kind),
            Some(FaultKind::Lost)
        );
        assert_eq!(f.decide("POST", "/api/v1/users"), None, "used up");
        f.script(FaultRule::new(FaultKind::Slow).path("/api/2/*"));
        assert_eq!(
            f.decide("GET", "/api/2/users").map(|x| x.delay),
            Some(Duration::from_millis(5))
        );
    }

    #[test]
    fn random_faults_follow_the_rates_and_the_seed() {
        let rates: FaultRates = "500=0.2".parse().unwrap();
        let a = Faults::new(rates.clone(), 9, Duration::ZERO);
        let b = Faults::new(rates, 9, Duration::ZERO);
        let seq_a: Vec<bool> = (0..2000).map(|_| a.decide("GET", "/").is_some()).collect();
        let seq_b: Vec<bool> = (0..2000).map(|_| b.decide("GET", "/").is_some()).collect();
        assert_eq!(seq_a, seq_b);
        let hits = seq_a.iter().filter(|h| **h).count();
        assert!((300..500).contains(&hits), "{hits} hits for 20% of 2000");
    }
}
