//! The one blocking HTTP client every tool uses.
//!
//! Every request goes through [`Client::execute`]: wait on the limiter (a governor quota of
//! `--rate-limit × --max-capacity` when one is given, the server's own rate-limit windows
//! always, and the server's limit on requests in flight once it told us; see [`limiter`]),
//! send with a timeout, classify the outcome, and retry what is transient:
//!
//! | outcome | what happens |
//! |---|---|
//! | 2xx, 3xx | returned |
//! | 429 | wait until the server's reset (+ jitter), retry; while the window still has room (a concurrency limit), back off instead |
//! | 5xx, timeout, reset | capped exponential backoff with jitter, retry |
//! | connect error | backoff, retry (nothing was sent) |
//! | other 4xx (401 included) | returned at once as [`HttpError::Status`] |
//!
//! A request marked [`Request::not_idempotent`] (a create) is never sent twice when the first
//! attempt may have taken effect: after a timeout, a reset or a 5xx it fails with
//! [`HttpError::outcome_unknown`] so the caller can look the object up first. 429 and connect
//! errors are still retried: the server did nothing.
//!
//! One [`Client`] is shared (it is an `Arc` inside) by all worker threads of a tool, so they
//! share one quota. Time comes from a [`clock::Clock`], so tests drive minutes of rate
//! limiting with no real sleeps; the wire is a [`Transport`], reqwest (rustls) unless a test
//! scripts one.

pub mod clock;
pub mod error;
pub mod limiter;
pub mod retry;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use clock::{Clock, FakeClock, RealClock};
pub use error::{ErrorBody, HttpError, TransportKind, parse_error_body};
use limiter::Limiter;
pub use limiter::RateHeaders;

use crate::secrets::Secret;

/// A request rate: `count` requests per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl FromStr for Rate {
    type Err = String;

    /// `600/min`, `5000/hour`, `10/s`, `100/sec`, `3600/h`, `20000/day`.
    fn from_str(s: &str) -> Result<Rate, String> {
        let bad = || format!("invalid rate `{s}`: expected COUNT/UNIT such as `600/min`");
        let (count, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(format!("invalid rate `{s}`: the count must be at least 1"));
        }
        let per = match unit.trim().to_ascii_lowercase().as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hour" | "hours" => 3_600,
            "d" | "day" | "days" => 86_400,
            _ => return Err(bad()),
        };
        Ok(Rate {
            count,
            per: Duration::from_secs(per),
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s".to_string(),
            60 => "min".to_string(),
            3_600 => "hour".to_string(),
            86_400 => "day".to_string(),
            n => format!("{n}s"),
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// Which API a client talks to: picks the rate-limit header names and their meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `X-Rate-Limit-{Limit,Remaining,Reset}`, Reset = Unix epoch seconds, per endpoint bucket.
    Okta,
    /// `X-RateLimit-{Limit,Remaining,Reset}`, Reset = seconds remaining, per account.
    OneLogin,
}

/// Reads a successful response's body as it arrives (a page of big roles is never held
/// whole). An error it returns is a failure to read the body (the request may be retried);
/// what the body says is the caller's to keep.
pub type BodyReader<'r> = &'r mut dyn FnMut(&mut dyn std::io::BufRead) -> std::io::Result<()>;

/// Sends one request and returns the raw response. reqwest in production; tests may script it.
pub trait Transport: Send + Sync {
    fn send(&self, req: &WireRequest) -> Result<WireResponse, WireError>;

    /// [`Transport::send`], but the body of a successful (< 400) answer goes to `read` as it
    /// arrives and is not kept in the response.
    fn send_reading(
        &self,
        req: &WireRequest,
        read: BodyReader<'_>,
    ) -> Result<WireResponse, WireError> {
        let mut resp = self.send(req)?;
        if resp.status < 400 {
            let body = std::mem::take(&mut resp.body);
            read(&mut &body[..]).map_err(|e| WireError {
                kind: TransportKind::Reset,
                reason: format!("reading the response body: {e}"),
            })?;
        }
        Ok(resp)
    }
}

/// A request as it goes on the wire.
pub struct WireRequest {
    pub method: String,
    pub url: url::Url,
    /// Headers in order; may include credentials (never print them).
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: Duration,
}

/// A response as it came off the wire; header names lower-case.
#[derive(Debug, Clone, Default)]
pub struct WireResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A failure on the wire.
#[derive(Debug, Clone)]
pub struct WireError {
    pub kind: TransportKind,
    pub reason: String,
}

/// How a [`Client`] behaves.
#[derive(Clone)]
pub struct ClientOptions {
    pub service: Service,
    /// The client-side quota; `None` relies on the server's headers alone.
    pub rate: Option<Rate>,
    /// Learned quotas (no `--rate-limit`): the first request of a bucket goes alone until the
    /// server says what its window is (see [`limiter`]).
    pub learn: bool,
    /// With `learn`: the pace of a service whose answers carry no rate-limit headers.
    pub fallback: Option<Rate>,
    /// Use at most this share (1..=100) of the quota and of the server's window.
    pub max_capacity_pct: u8,
    /// Timeout of each attempt (connect + send + whole response).
    pub timeout: Duration,
    /// Retries after the first attempt for transient failures.
    pub max_retries: u32,
    /// Where time comes from; a [`FakeClock`] in tests.
    pub clock: Arc<dyn Clock>,
    /// The wire; `None` is reqwest with rustls.
    pub transport: Option<Arc<dyn Transport>>,
}

impl ClientOptions {
    /// Defaults for `service`: no quota, 100%, 30 s timeout, 6 retries, real clock, reqwest.
    pub fn new(service: Service) -> ClientOptions {
        ClientOptions {
            service,
            rate: None,
            learn: false,
            fallback: None,
            max_capacity_pct: 100,
            timeout: Duration::from_secs(30),
            max_retries: 6,
            clock: Arc::new(RealClock::new()),
            transport: None,
        }
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions::new(Service::Okta)
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("service", &self.service)
            .field("rate", &self.rate)
            .field("learn", &self.learn)
            .field("fallback", &self.fallback)
            .field("max_capacity_pct", &self.max_capacity_pct)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

/// The shared blocking client. Cheap to clone; clones share one quota.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    opts: ClientOptions,
    transport: Arc<dyn Transport>,
    limiter: Limiter,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("opts", &self.inner.opts)
            .finish()
    }
}

/// The body of a request.
#[derive(Debug, Clone)]
enum Body {
    None,
    /// POST/PUT without a body still sends `Content-Length: 0` (Okta answers 411 otherwise).
    Empty,
    Json(Vec<u8>),
    Form(Vec<u8>),
}

/// One request, built with the constructors and the header methods.
#[derive(Clone)]
pub struct Request {
    method: &'static str,
    url: String,
    headers: Vec<(String, String)>,
    body: Body,
    idempotent: bool,
    encode_error: Option<String>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // headers may hold credentials: names only
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &redact_url(&self.url))
            .field("headers", &names)
            .field("idempotent", &self.idempotent)
            .finish()
    }
}

impl Request {
    fn new(method: &'static str, url: impl Into<String>, body: Body) -> Request {
        Request {
            method,
            url: url.into(),
            headers: vec![("accept".into(), "application/json".into())],
            body,
            idempotent: true,
            encode_error: None,
        }
    }

    fn with_json(method: &'static str, url: impl Into<String>, body: &impl Serialize) -> Request {
        match serde_json::to_vec(body) {
            Ok(bytes) => Request::new(method, url, Body::Json(bytes)),
            Err(e) => {
                let mut r = Request::new(method, url, Body::Empty);
                r.encode_error = Some(e.to_string());
                r
            }
        }
    }

    pub fn get(url: impl Into<String>) -> Request {
        Request::new("GET", url, Body::None)
    }

    /// POST without a body (`Content-Length: 0`), e.g. Okta lifecycle operations.
    pub fn post(url: impl Into<String>) -> Request {
        Request::new("POST", url, Body::Empty)
    }

    /// PUT without a body (`Content-Length: 0`), e.g. Okta group membership.
    pub fn put(url: impl Into<String>) -> Request {
        Request::new("PUT", url, Body::Empty)
    }

    pub fn post_json(url: impl Into<String>, body: &impl Serialize) -> Request {
        Request::with_json("POST", url, body)
    }

    pub fn put_json(url: impl Into<String>, body: &impl Serialize) -> Request {
        Request::with_json("PUT", url, body)
    }

    pub fn delete(url: impl Into<String>) -> Request {
        Request::new("DELETE", url, Body::None)
    }

    /// DELETE with a JSON body (OneLogin's `DELETE /api/2/roles/{id}/users` wants an array).
    pub fn delete_json(url: impl Into<String>, body: &impl Serialize) -> Request {
        Request::with_json("DELETE", url, body)
    }

    /// POST `application/x-www-form-urlencoded`.
    pub fn post_form(url: impl Into<String>, pairs: &[(&str, &str)]) -> Request {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            ser.append_pair(k, v);
        }
        Request::new("POST", url, Body::Form(ser.finish().into_bytes()))
    }

    /// Add a header (replacing one of the same name).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(k, _)| *k != name);
        self.headers.push((name, value.into()));
        self
    }

    /// `Authorization: Bearer <secret>`.
    pub fn bearer(self, token: &Secret) -> Request {
        self.header("authorization", format!("Bearer {}", token.expose()))
    }

    /// `Authorization: <secret>` as given (e.g. `SSWS <token>`, `client_id:…, client_secret:…`).
    pub fn auth_header(self, value: &Secret) -> Request {
        self.header("authorization", value.expose().to_string())
    }

    /// A create: never resend after the request may have taken effect (see the module docs).
    pub fn not_idempotent(mut self) -> Request {
        self.idempotent = false;
        self
    }

    pub fn method(&self) -> &str {
        self.method
    }

    /// The URL, without userinfo.
    pub fn url(&self) -> String {
        redact_url(&self.url)
    }
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    method: &'static str,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// The first value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order (Okta sends one `Link` line per relation).
    pub fn headers_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Parse the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::Decode {
            method: self.method.to_string(),
            url: self.url.clone(),
            reason: e.to_string(),
        })
    }

    /// The URL that was requested (without userinfo).
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// The URL as it may be shown: without `user:password@`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if !u.username().is_empty() || u.password().is_some() {
                let _ = u.set_username("");
                let _ = u.set_password(None);
            }
            // query values may be people's data (`?email=ann@acme.com`, a filter on a login):
            // the names stay, the values go
            if u.query().is_some() {
                let names: Vec<String> = u.query_pairs().map(|(k, _)| k.into_owned()).collect();
                let masked = names
                    .iter()
                    .map(|k| format!("{k}=…"))
                    .collect::<Vec<_>>()
                    .join("&");
                u.set_query(Some(&masked));
            }
            u.to_string()
        }
        Err(_) => raw.split('@').next_back().unwrap_or(raw).to_string(),
    }
}

impl Client {
    /// Build a client. Fails only if the TLS backend cannot be set up.
    pub fn new(opts: ClientOptions) -> Result<Client, HttpError> {
        let transport: Arc<dyn Transport> = match &opts.transport {
            Some(t) => t.clone(),
            None => Arc::new(ReqwestTransport::new(opts.timeout)?),
        };
        let mut limiter = Limiter::new(
            opts.service,
            opts.rate,
            opts.max_capacity_pct,
            opts.clock.clone(),
        );
        if opts.learn {
            limiter = limiter.learning(opts.fallback);
        }
        Ok(Client {
            inner: Arc::new(Inner {
                opts,
                transport,
                limiter,
            }),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    /// Fold what the server said about its window outside a response's headers (OneLogin's
    /// `GET /auth/rate_limit` body) into the window of the bucket `method path` counts against.
    pub fn learn_window(&self, method: &str, path: &str, h: &RateHeaders) {
        let bucket = self.inner.limiter.bucket(method, path);
        self.inner.limiter.observe(&bucket, h, None);
    }

    /// The rate the server gave for requests like `method path` (its last window's limit per
    /// the service's window length: a minute for Okta, an hour for OneLogin), once known.
    pub fn learned_rate(&self, method: &str, path: &str) -> Option<Rate> {
        let bucket = self.inner.limiter.bucket(method, path);
        let limit = self.inner.limiter.learned_limit(&bucket)?;
        Some(Rate {
            count: u32::try_from(limit).ok()?.max(1),
            per: Duration::from_secs(match self.inner.opts.service {
                Service::Okta => 60,
                Service::OneLogin => 3_600,
            }),
        })
    }

    /// The limit on requests in flight the server taught this client, if it had to.
    pub fn concurrency_cap(&self) -> Option<usize> {
        self.inner.limiter.concurrency_cap()
    }

    /// Send a request: wait on the quota, retry what is transient, return the response or
    /// the error (see the module docs for the rules).
    pub fn execute(&self, req: Request) -> Result<Response, HttpError> {
        self.execute_with(req, None)
    }

    /// [`Client::execute`], with a successful answer's body given to `read` as it arrives
    /// (the response returned has none). `read` may be called again if reading fails and
    /// the request is retried.
    pub fn execute_reading(
        &self,
        req: Request,
        read: BodyReader<'_>,
    ) -> Result<Response, HttpError> {
        self.execute_with(req, Some(read))
    }

    fn execute_with(
        &self,
        req: Request,
        mut read: Option<BodyReader<'_>>,
    ) -> Result<Response, HttpError> {
        let inner = &*self.inner;
        let shown_url = redact_url(&req.url);
        let method = req.method;
        let url = url::Url::parse(&req.url).map_err(|e| HttpError::InvalidUrl {
            url: shown_url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HttpError::InvalidUrl {
                url: shown_url,
                reason: "only http and https are supported".into(),
            });
        }
        if let Some(reason) = req.encode_error {
            return Err(HttpError::Encode {
                method: method.into(),
                url: shown_url,
                reason,
            });
        }
        let mut headers = req.headers;
        let body = match req.body {
            Body::None => None,
            Body::Empty => Some(Vec::new()),
            Body::Json(b) => {
                headers.push(("content-type".into(), "application/json".into()));
                Some(b)
            }
            Body::Form(b) => {
                headers.push((
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
                Some(b)
            }
        };
        let wire = WireRequest {
            method: method.to_string(),
            url: url.clone(),
            headers,
            body,
            timeout: inner.opts.timeout,
        };
        let bucket = inner.limiter.bucket(method, url.path());
        let max = inner.opts.max_retries;
        let mut attempt: u32 = 0;
        let mut in_a_row_429: u32 = 0;
        loop {
            attempt += 1;
            let retries_left = max.saturating_sub(attempt - 1);
            let permit = inner.limiter.acquire(&bucket);
            let outcome = match read.as_mut() {
                Some(read) => inner.transport.send_reading(&wire, &mut **read),
                None => inner.transport.send(&wire),
            };
            let (wait, reason) = match outcome {
                Ok(resp) => {
                    let rate = inner.limiter.headers(|n| header_of(&resp.headers, n));
                    let date = header_of(&resp.headers, "date").and_then(|d| parse_http_date(&d));
                    let status = resp.status;
                    // A 429's headers are not folded into the window: they may speak of a
                    // concurrency limit, not the window (see below). A real exhaustion shows
                    // in the answers before it anyway, with Remaining going to 0.
                    if let Some(h) = &rate
                        && status != 429
                    {
                        inner.limiter.observe(&bucket, h, date);
                    }
                    // Okta's answer past its limit on requests in flight: Limit 0
                    if status == 429
                        && inner.opts.service == Service::Okta
                        && rate.is_some_and(|h| h.limit == 0)
                    {
                        inner.limiter.concurrency_refused();
                    }
                    permit.answered(rate.as_ref());
                    if status < 400 {
                        return Ok(Response {
                            status,
                            method,
                            url: shown_url,
                            headers: resp.headers,
                            body: resp.body,
                        });
                    }
                    let fail = |outcome_unknown: bool| {
                        let api = parse_error_body(&resp.body);
                        HttpError::Status {
                            method: method.into(),
                            url: shown_url.clone(),
                            status,
                            message: api.message,
                            field: api.field,
                            code: api.code,
                            attempts: attempt,
                            outcome_unknown,
                        }
                    };
                    if status == 429 {
                        if retries_left == 0 {
                            return Err(fail(false));
                        }
                        // An exhausted window waits for its reset. But a 429 that contradicts
                        // the window (Remaining > 0, or our own count of the window says there
                        // is room) is about something else, like Okta's concurrency limit: the
                        // first two in a row back off briefly rather than sit out the window.
                        in_a_row_429 += 1;
                        let brief = retry::backoff(in_a_row_429 - 1).max(Duration::from_secs(1));
                        let wait = match &rate {
                            Some(h) if h.remaining > 0 => brief,
                            Some(_) if in_a_row_429 <= 2 && inner.limiter.has_room(&bucket) => {
                                brief
                            }
                            Some(h) => {
                                retry::after_429(Some(inner.limiter.until_reset(h, date)), 0)
                            }
                            None => retry::after_429(None, attempt - 1),
                        };
                        (wait, format!("HTTP {status}"))
                    } else if status >= 500 {
                        in_a_row_429 = 0;
                        if !req.idempotent {
                            return Err(fail(true));
                        }
                        if retries_left == 0 {
                            return Err(fail(false));
                        }
                        (retry::backoff(attempt - 1), format!("HTTP {status}"))
                    } else {
                        return Err(fail(false));
                    }
                }
                Err(e) => {
                    drop(permit);
                    in_a_row_429 = 0;
                    let nothing_sent =
                        matches!(e.kind, TransportKind::Connect | TransportKind::Invalid);
                    let fail = |outcome_unknown: bool| HttpError::Transport {
                        method: method.into(),
                        url: shown_url.clone(),
                        kind: e.kind,
                        reason: e.reason.clone(),
                        attempts: attempt,
                        outcome_unknown,
                    };
                    if !nothing_sent && !req.idempotent {
                        return Err(fail(true));
                    }
                    // a request that cannot be built fails the same way every time
                    if retries_left == 0 || e.kind == TransportKind::Invalid {
                        return Err(fail(false));
                    }
                    (retry::backoff(attempt - 1), e.kind.to_string())
                }
            };
            let wait = retry::pinned_sleep().unwrap_or(wait);
            tracing::warn!(
                "{method} {shown_url}: {reason}, retrying in {:.1}s ({} tries remaining)",
                wait.as_secs_f64(),
                retries_left
            );
            inner.opts.clock.sleep(wait);
        }
    }
}

fn header_of(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// An HTTP `Date` (`Sun, 06 Nov 1994 08:49:37 GMT`) as Unix seconds.
pub fn parse_http_date(s: &str) -> Option<f64> {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let dt = time::PrimitiveDateTime::parse(s.trim(), &fmt).ok()?;
    Some(dt.assume_utc().unix_timestamp() as f64)
}

/// The production wire: reqwest's blocking client with rustls.
struct ReqwestTransport {
    client: reqwest::blocking::Client,
}

impl ReqwestTransport {
    fn new(timeout: Duration) -> Result<ReqwestTransport, HttpError> {
        let client = reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(64)
            .user_agent(concat!("idm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Build(e.to_string()))?;
        Ok(ReqwestTransport { client })
    }
}

/// The most of a response's `Content-Length` reserved up front (a larger body still reads).
const MAX_BODY_HINT: u64 = 64 << 20;

impl ReqwestTransport {
    /// Send the request; the answer with its status and headers, its body still to read.
    fn start(
        &self,
        req: &WireRequest,
    ) -> Result<(reqwest::blocking::Response, WireResponse), WireError> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|e| WireError {
            kind: TransportKind::Other,
            reason: e.to_string(),
        })?;
        let mut rb = self
            .client
            .request(method, req.url.clone())
            .timeout(req.timeout);
        for (k, v) in &req.headers {
            let mut value = reqwest::header::HeaderValue::from_str(v).map_err(|_| WireError {
                kind: TransportKind::Invalid,
                reason: format!(
                    "the value of header `{k}` holds a character no HTTP header may hold (a line break?)"
                ),
            })?;
            if k == "authorization" {
                value.set_sensitive(true);
            }
            rb = rb.header(k.as_str(), value);
        }
        if let Some(body) = &req.body {
            rb = rb.body(body.clone());
        }
        let resp = rb.send().map_err(wire_error)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        Ok((
            resp,
            WireResponse {
                status,
                headers,
                body: Vec::new(),
            },
        ))
    }
}

/// The whole body, in one buffer of the announced size (`bytes()` then `to_vec()` held it
/// twice).
fn read_body(mut resp: reqwest::blocking::Response) -> Result<Vec<u8>, WireError> {
    let hint = resp.content_length().unwrap_or(0).min(MAX_BODY_HINT);
    let mut body = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    std::io::Read::read_to_end(&mut resp, &mut body).map_err(body_error)?;
    Ok(body)
}

impl Transport for ReqwestTransport {
    fn send(&self, req: &WireRequest) -> Result<WireResponse, WireError> {
        let (resp, mut out) = self.start(req)?;
        out.body = read_body(resp)?;
        Ok(out)
    }

    fn send_reading(
        &self,
        req: &WireRequest,
        read: BodyReader<'_>,
    ) -> Result<WireResponse, WireError> {
        let (resp, mut out) = self.start(req)?;
        if out.status < 400 {
            let mut body = std::io::BufReader::with_capacity(BODY_CHUNK, resp);
            read(&mut body).map_err(body_error)?;
        } else {
            out.body = read_body(resp)?;
        }
        Ok(out)
    }
}

/// Bytes read at a time from a body given to a [`BodyReader`].
const BODY_CHUNK: usize = 64 * 1024;

/// Classify a failure to read a body: a timeout, else the connection broke mid-answer.
fn body_error(e: std::io::Error) -> WireError {
    let kind = if e.kind() == std::io::ErrorKind::TimedOut {
        TransportKind::Timeout
    } else {
        TransportKind::Reset
    };
    let reason = e.to_string();
    match e
        .into_inner()
        .map(|inner| inner.downcast::<reqwest::Error>())
    {
        Some(Ok(re)) => wire_error(*re),
        _ => WireError {
            kind,
            reason: format!("reading the response body: {reason}"),
        },
    }
}

/// Classify a reqwest error. Only a connect failure proves nothing was sent.
fn wire_error(e: reqwest::Error) -> WireError {
    let kind = if e.is_connect() {
        TransportKind::Connect
    } else if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_request() || e.is_body() || e.is_decode() || is_reset(&e) {
        TransportKind::Reset
    } else {
        TransportKind::Other
    };
    // the innermost cause says what happened ("connection refused"); the URL is ours to show
    let mut src = std::error::Error::source(&e);
    let mut last = None;
    while let Some(s) = src {
        last = Some(s.to_string());
        src = s.source();
    }
    let mut reason = e.without_url().to_string();
    if let Some(l) = last
        && !reason.contains(&l)
    {
        reason = format!("{reason}: {l}");
    }
    WireError { kind, reason }
}

fn is_reset(e: &reqwest::Error) -> bool {
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe
            ) {
                return true;
            }
        }
        src = s.source();
    }
    false
}

#[cfg(test)]
mod tests;
