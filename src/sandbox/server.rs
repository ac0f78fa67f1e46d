//! The transport: two HTTP/1.1 listeners on 127.0.0.1 (one per simulated service), rate
//! limits and their headers, faults, stats and the `/__admin/*` endpoints.
//!
//! Built directly on hyper 1 (`hyper::server::conn::http1` + `hyper-util`'s tokio glue)
//! rather than axum: the API modules already do their own routing, and the one thing the
//! sandbox needs from its server that a framework hides is control over the connection.
//! A `lost` fault must commit a write and then close the connection with no response at
//! all; with hyper, a service that returns `Err` does exactly that. `reset` returns `Err`
//! before handling. Everything else is a plain `Response`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::api::{RateSnapshot, SimRequest, SimResponse};
use super::faults::{FaultKind, FaultRule, Faults};
use super::limits::{Admission, Limiter};
use super::okta::{self, Okta};
use super::onelogin::OneLogin;

const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Which simulated service a port serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Okta,
    OneLogin,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Okta => "okta",
            Side::OneLogin => "onelogin",
        }
    }
}

/// Request counters of one port.
#[derive(Debug, Default)]
struct Counts {
    requests: u64,
    writes: u64,
    token_requests: u64,
    sign_ins: u64,
    by_route: BTreeMap<String, u64>,
    by_status: BTreeMap<u16, u64>,
    faults: BTreeMap<String, u64>,
}

/// `POST /auth/oauth2/v2/token` (and the legacy v1 path): a credential exchange, not a write.
fn is_token_request(req: &SimRequest) -> bool {
    req.method == "POST"
        && matches!(
            req.path.as_str(),
            "/auth/oauth2/v2/token" | "/auth/oauth2/token"
        )
}

/// A user's sign-in (Okta's primary authentication, OneLogin's session login token): it
/// checks a password and changes nothing a migration wrote, so it is not a write either.
fn is_sign_in(req: &SimRequest) -> bool {
    req.method == "POST" && matches!(req.path.as_str(), "/api/v1/authn" | "/api/1/login/auth")
}

/// Requests being served right now, and the most there have been at once.
#[derive(Debug, Default)]
struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
    /// Requests answered 429 because `limit` were already in flight.
    rejected: AtomicU64,
}

/// Holds one in-flight slot until dropped (whatever way the request ends).
struct Slot<'a>(&'a InFlight);

impl std::ops::Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One simulated service with its transport state.
#[derive(Debug)]
pub(crate) struct Port {
    pub(crate) side: Side,
    pub(crate) limiter: Limiter,
    pub(crate) faults: Faults,
    /// Most requests served at once; more get a 429 (Okta's concurrent-request limit).
    concurrency: Option<usize>,
    in_flight: InFlight,
    counts: Mutex<Counts>,
}

impl Port {
    pub(crate) fn new(side: Side, limiter: Limiter, faults: Faults) -> Port {
        Port {
            side,
            limiter,
            faults,
            concurrency: None,
            in_flight: InFlight::default(),
            counts: Mutex::new(Counts::default()),
        }
    }

    /// Refuse requests beyond `limit` in flight.
    pub(crate) fn with_concurrency(mut self, limit: Option<usize>) -> Port {
        self.concurrency = limit;
        self
    }

    /// Take an in-flight slot; `Err` (the slot released) when the concurrency limit is hit.
    fn enter(&self) -> Result<Slot<'_>, ()> {
        let n = self.in_flight.now.fetch_add(1, Ordering::SeqCst) + 1;
        let slot = Slot(&self.in_flight);
        if self.concurrency.is_some_and(|limit| n > limit) {
            self.in_flight.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(());
        }
        self.in_flight.peak.fetch_max(n, Ordering::SeqCst);
        Ok(slot)
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, req: &SimRequest, route: &str, status: Option<u16>, fault: Option<FaultKind>) {
        let mut c = self.counts();
        c.requests += 1;
        // Fetching an OAuth token changes nothing in the tenant: it is counted on its own so
        // that "a second run sends no write" means what it says.
        if is_token_request(req) {
            c.token_requests += 1;
        } else if is_sign_in(req) {
            c.sign_ins += 1;
        } else if req.is_write() {
            c.writes += 1;
        }
        match c.by_route.get_mut(route) {
            Some(n) => *n += 1,
            None => {
                c.by_route.insert(route.to_string(), 1);
            }
        }
        if let Some(s) = status {
            *c.by_status.entry(s).or_insert(0) += 1;
        }
        if let Some(f) = fault {
            *c.faults.entry(f.as_str().to_string()).or_insert(0) += 1;
        }
    }

    /// The stats document of `GET /__admin/stats`.
    pub(crate) fn stats(&self) -> Value {
        let c = self.counts();
        let mut v = json!({
            "side": self.side.as_str(),
            "requests": c.requests,
            "writes": c.writes,
            "token_requests": c.token_requests,
            "sign_ins": c.sign_ins,
            "in_flight": self.in_flight.now.load(Ordering::SeqCst),
            "peak_in_flight": self.in_flight.peak.load(Ordering::SeqCst),
            "concurrency": {
                "limit": self.concurrency,
                "rejected": self.in_flight.rejected.load(Ordering::Relaxed),
            },
            "by_route": c.by_route,
            "by_status": c.by_status.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<String, u64>>(),
            "faults": c.faults,
        });
        if let (Value::Object(m), Value::Object(l)) = (&mut v, self.limiter.stats()) {
            m.extend(l);
        }
        v
    }

    pub(crate) fn reset(&self) {
        *self.counts() = Counts::default();
        self.limiter.reset();
        self.faults.reset();
        // requests in flight finish and release their slots; the peak starts over from them
        let now = self.in_flight.now.load(Ordering::SeqCst);
        self.in_flight.peak.store(now, Ordering::SeqCst);
        self.in_flight.rejected.store(0, Ordering::Relaxed);
    }
}

/// Everything the listeners share. (Not `Debug`: the OneLogin module need not be.)
pub(crate) struct Shared {
    pub(crate) okta: Arc<Okta>,
    pub(crate) onelogin: Arc<OneLogin>,
    pub(crate) okta_port: Port,
    pub(crate) onelogin_port: Port,
}

impl Shared {
    pub(crate) fn port(&self, side: Side) -> &Port {
        match side {
            Side::Okta => &self.okta_port,
            Side::OneLogin => &self.onelogin_port,
        }
    }

    /// `GET /__admin/stats` of one port; Okta's adds the notifications it would have sent.
    pub(crate) fn stats(&self, side: Side) -> Value {
        let mut v = self.port(side).stats();
        if side == Side::Okta {
            v["emails"] = self.okta.emails_sent();
        }
        v
    }

    /// Both tenants back to their seeded state, counters zeroed, scripted faults dropped.
    pub(crate) fn reset(&self) {
        self.okta.reset();
        self.onelogin.reset();
        self.okta_port.reset();
        self.onelogin_port.reset();
    }

    /// The NDJSON of `GET /__admin/dump`.
    pub(crate) fn dump_ndjson(&self, side: Side) -> Vec<u8> {
        match side {
            Side::Okta => {
                let mut out = Vec::new();
                self.okta.dump_ndjson(&mut out);
                out
            }
            Side::OneLogin => {
                // streamed object by object: a dump of 100k users never exists as values
                let mut out = Vec::new();
                let _ = self.onelogin.write_dump(&mut out);
                out
            }
        }
    }
}

/// A generic route template for answers given before an API module saw the request
/// (rate limits, faults): path segments that look like ids become `{id}`.
pub(crate) fn template_route(method: &str, path: &str) -> String {
    let raw: Vec<&str> = path.split('/').collect();
    let segs: Vec<&str> = raw
        .iter()
        .enumerate()
        .map(|(n, s)| {
            // `/api/2/...`: a version, not an id
            let version = n > 0 && raw[n - 1] == "api";
            let idlike = !version
                && !s.is_empty()
                && (s.bytes().all(|b| b.is_ascii_digit())
                    || (s.len() >= 15 && s.bytes().any(|b| b.is_ascii_digit())));
            if idlike { "{id}" } else { s }
        })
        .collect();
    format!("{method} {}", segs.join("/"))
}

/// Decode `%XX` escapes of a path (not `+`: that is only a space in queries).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn rate_headers(side: Side, limited: bool, a: &Admission, resp: &mut SimResponse) {
    match side {
        Side::Okta => {
            resp.headers
                .push(("x-rate-limit-limit".into(), a.limit.to_string()));
            resp.headers
                .push(("x-rate-limit-remaining".into(), a.remaining.to_string()));
            resp.headers
                .push(("x-rate-limit-reset".into(), a.reset_epoch.to_string()));
        }
        Side::OneLogin if limited => {
            resp.headers
                .push(("x-ratelimit-limit".into(), a.limit.to_string()));
            resp.headers
                .push(("x-ratelimit-remaining".into(), a.remaining.to_string()));
            resp.headers
                .push(("x-ratelimit-reset".into(), a.reset_secs.to_string()));
        }
        Side::OneLogin => {}
    }
}

fn onelogin_error(status: u16, name: &str, message: &str, route: &str) -> SimResponse {
    SimResponse::json(
        status,
        route,
        &json!({ "statusCode": status, "name": name, "message": message }),
    )
}

/// The connection is to be closed without an answer.
#[derive(Debug)]
pub(crate) struct Drop;

impl std::fmt::Display for Drop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Drop {}

fn to_hyper(resp: SimResponse) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder
        .body(Full::new(Bytes::from(resp.body)))
        .unwrap_or_else(|_| {
            let mut r = Response::new(Full::new(Bytes::from_static(b"bad response")));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
}

async fn handle(
    shared: Arc<Shared>,
    side: Side,
    local: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Drop> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(_) => {
            return Ok(to_hyper(SimResponse::json(
                413,
                "",
                &json!({ "message": "request body too large" }),
            )));
        }
    };
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let host = parts
        .headers
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| local.to_string());
    let sim = SimRequest {
        method: parts.method.as_str().to_ascii_uppercase(),
        path: percent_decode(parts.uri.path()),
        query: url::form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect(),
        raw_query,
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
        base_url: format!("http://{host}"),
    };
    if sim.path.starts_with("/__admin/") {
        return Ok(to_hyper(admin(&shared, side, &sim)));
    }
    let port = shared.port(side);
    let Ok(_slot) = port.enter() else {
        // over the concurrent-request limit: 429 whose headers say 0 and 0, Reset an estimate
        let mut resp = okta::rate_limited(&template_route(&sim.method, &sim.path));
        let reset = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() + 1)
            .unwrap_or(0);
        resp.headers.push(("x-rate-limit-limit".into(), "0".into()));
        resp.headers
            .push(("x-rate-limit-remaining".into(), "0".into()));
        resp.headers
            .push(("x-rate-limit-reset".into(), reset.to_string()));
        port.record(&sim, &resp.route, Some(429), None);
        return Ok(to_hyper(resp));
    };
    let fault = port.faults.decide(&sim.method, &sim.path);
    let kind = fault.map(|f| f.kind);
    if kind == Some(FaultKind::Reset) {
        port.record(&sim, &template_route(&sim.method, &sim.path), None, kind);
        return Err(Drop);
    }
    if let Some(f) = fault
        && f.kind == FaultKind::Slow
    {
        tokio::time::sleep(f.delay).await;
    }
    // OneLogin's token endpoint is not metered: a client must be able to get a token to
    // learn that it is over its quota.
    let bucket = match side {
        Side::Okta => Some(okta::bucket(&sim.method, &sim.path)),
        Side::OneLogin if sim.path.starts_with("/auth/oauth2/") => None,
        Side::OneLogin => Some("account"),
    };
    let limited = port.limiter.enforced();
    let admission = match bucket {
        Some(b) => port.limiter.admit(b),
        None => port.limiter.peek("account"),
    };
    let route = || template_route(&sim.method, &sim.path);
    let mut resp = if !admission.admitted || kind == Some(FaultKind::TooManyRequests) {
        match side {
            Side::Okta => okta::rate_limited(&route()),
            Side::OneLogin => {
                onelogin_error(429, "TooManyRequestsError", "Too many requests", &route())
            }
        }
    } else if kind == Some(FaultKind::ServerError) {
        match side {
            Side::Okta => okta::internal_error(&route()),
            Side::OneLogin => onelogin_error(
                500,
                "InternalServerError",
                "Internal Server Error",
                &route(),
            ),
        }
    } else {
        let answer = || match side {
            Side::Okta => shared.okta.handle(&sim),
            Side::OneLogin => {
                let snapshot = limited.then_some(RateSnapshot {
                    limit: admission.limit,
                    remaining: admission.remaining,
                    reset_secs: admission.reset_secs,
                });
                shared.onelogin.handle(&sim, snapshot)
            }
        };
        // a sign-in may verify a bcrypt or PBKDF2 hash (~0.1 s): off the async workers
        if is_sign_in(&sim) {
            tokio::task::block_in_place(answer)
        } else {
            answer()
        }
    };
    let mut shown = admission;
    if !admission.admitted || kind == Some(FaultKind::TooManyRequests) {
        shown.remaining = 0;
    }
    rate_headers(side, limited || !admission.admitted, &shown, &mut resp);
    if kind == Some(FaultKind::Lost) {
        // handled (a write is committed); the client never hears of it
        port.record(&sim, &resp.route, None, kind);
        return Err(Drop);
    }
    port.record(&sim, &resp.route, Some(resp.status), kind);
    Ok(to_hyper(resp))
}

fn admin(shared: &Shared, side: Side, req: &SimRequest) -> SimResponse {
    let route = format!("{} {}", req.method, req.path);
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/__admin/dump") => {
            let mut r = SimResponse::json_bytes(200, route, shared.dump_ndjson(side));
            r.headers = vec![("content-type".into(), "application/x-ndjson".into())];
            r
        }
        ("GET", "/__admin/stats") => SimResponse::json(200, route, &shared.stats(side)),
        ("POST", "/__admin/reset") => {
            shared.reset();
            SimResponse::json(200, route, &json!({ "reset": true }))
        }
        ("POST", "/__admin/faults") => {
            let rules: Result<Vec<FaultRule>, _> = match serde_json::from_slice::<Value>(&req.body)
            {
                Ok(Value::Array(a)) => a.into_iter().map(serde_json::from_value).collect(),
                Ok(v) => serde_json::from_value(v).map(|r| vec![r]),
                Err(e) => Err(e),
            };
            match rules {
                Ok(rules) => {
                    let n = rules.len();
                    for r in rules {
                        shared.port(side).faults.script(r);
                    }
                    SimResponse::json(200, route, &json!({ "scripted": n }))
                }
                Err(e) => SimResponse::json(
                    400,
                    route,
                    &json!({ "message": format!("bad fault rule: {e}") }),
                ),
            }
        }
        ("DELETE", "/__admin/faults") => {
            shared.port(side).faults.reset();
            SimResponse::empty(204, route)
        }
        _ => SimResponse::json(
            404,
            route,
            &json!({ "message": format!("no admin endpoint `{} {}`", req.method, req.path) }),
        ),
    }
}

/// Accept connections on `listener` until `stop` fires.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    side: Side,
    mut stop: watch::Receiver<bool>,
) {
    let local = match listener.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.changed() => break,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { handle(shared, side, local, req).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_templated_generically() {
        assert_eq!(
            template_route("GET", "/api/2/users/123"),
            "GET /api/2/users/{id}"
        );
        assert_eq!(
            template_route(
                "PUT",
                "/api/v1/groups/00g1emaKYZTWRYYRRTSK/users/00u1emaKYZTWRYYRRTSK"
            ),
            "PUT /api/v1/groups/{id}/users/{id}"
        );
        assert_eq!(template_route("GET", "/api/v1/users"), "GET /api/v1/users");
    }

    #[test]
    fn paths_are_percent_decoded() {
        assert_eq!(
            percent_decode("/api/v1/users/a%40b.com"),
            "/api/v1/users/a@b.com"
        );
        assert_eq!(percent_decode("/x%2"), "/x%2");
        assert_eq!(percent_decode("/a+b"), "/a+b");
    }
}
