//! Client tests over a scripted transport and a fake clock: no sockets, no real sleeps.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::*;

/// method, url, headers, body of a request that was sent.
type Seen = (String, String, Vec<(String, String)>, Option<Vec<u8>>);

/// Answers requests from a script, records what was sent.
struct Script {
    answers: Mutex<VecDeque<Result<WireResponse, WireError>>>,
    seen: Mutex<Vec<Seen>>,
    clock: Arc<FakeClock>,
    times: Mutex<Vec<Duration>>,
}

impl Script {
    fn new(clock: Arc<FakeClock>, answers: Vec<Result<WireResponse, WireError>>) -> Arc<Script> {
        Arc::new(Script {
            answers: Mutex::new(answers.into()),
            seen: Mutex::new(Vec::new()),
            clock,
            times: Mutex::new(Vec::new()),
        })
    }
    fn sent(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Transport for Script {
    fn send(&self, req: &WireRequest) -> Result<WireResponse, WireError> {
        self.seen.lock().unwrap().push((
            req.method.clone(),
            req.url.to_string(),
            req.headers.clone(),
            req.body.clone(),
        ));
        self.times.lock().unwrap().push(self.clock.now());
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Ok(ok("[]")))
    }
}

fn ok(body: &str) -> WireResponse {
    WireResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn status(code: u16, body: &str) -> WireResponse {
    WireResponse {
        status: code,
        headers: Vec::new(),
        body: body.as_bytes().to_vec(),
    }
}

fn wire(kind: TransportKind) -> Result<WireResponse, WireError> {
    Err(WireError {
        kind,
        reason: "scripted".into(),
    })
}

fn client(
    service: Service,
    answers: Vec<Result<WireResponse, WireError>>,
) -> (Client, Arc<Script>, Arc<FakeClock>) {
    let clock = Arc::new(FakeClock::new(1_700_000_000.0));
    let script = Script::new(clock.clone(), answers);
    let mut opts = ClientOptions::new(service);
    opts.clock = clock.clone();
    opts.transport = Some(script.clone());
    opts.max_retries = 3;
    (Client::new(opts).unwrap(), script, clock)
}

#[test]
fn rate_parses_the_documented_forms() {
    let r = |s: &str| s.parse::<Rate>().unwrap();
    assert_eq!(r("600/min").count, 600);
    assert_eq!(r("600/min").per, Duration::from_secs(60));
    assert_eq!(r("5000/hour").per, Duration::from_secs(3600));
    assert_eq!(r("3600/h").per, Duration::from_secs(3600));
    assert_eq!(r("10/s").per, Duration::from_secs(1));
    assert_eq!(r("100/sec").per, Duration::from_secs(1));
    assert_eq!(r(" 20 / Minute ").count, 20);
    assert_eq!(r("600/min").to_string(), "600/min");
    for bad in ["600", "0/min", "x/min", "10/fortnight", "-1/s", ""] {
        let err = bad.parse::<Rate>().unwrap_err();
        assert!(err.contains(&format!("`{bad}`")), "{err}");
    }
}

#[test]
fn success_returns_status_headers_and_json() {
    let mut resp = ok(r#"[{"id":"00u1"}]"#);
    resp.headers
        .push(("link".into(), "<http://x/a>; rel=\"self\"".into()));
    resp.headers
        .push(("link".into(), "<http://x/b>; rel=\"next\"".into()));
    let (c, script, _) = client(Service::Okta, vec![Ok(resp)]);
    let token = Secret::new("tok-123");
    let r = c
        .execute(
            Request::get("http://127.0.0.1:9/api/v1/users?limit=2")
                .auth_header(&Secret::new(format!("SSWS {}", token.expose()))),
        )
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.headers_all("Link").len(), 2);
    assert_eq!(r.header("LINK"), Some("<http://x/a>; rel=\"self\""));
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v[0]["id"], "00u1");
    let seen = script.seen.lock().unwrap();
    let (method, url, headers, body) = &seen[0];
    assert_eq!(method, "GET");
    assert_eq!(url, "http://127.0.0.1:9/api/v1/users?limit=2");
    assert!(headers.contains(&("authorization".into(), "SSWS tok-123".into())));
    assert!(headers.contains(&("accept".into(), "application/json".into())));
    assert!(body.is_none());
}

#[test]
fn bodies_and_content_types() {
    let (c, script, _) = client(Service::OneLogin, vec![]);
    c.execute(Request::post_json(
        "http://h/a",
        &serde_json::json!({"a": 1}),
    ))
    .unwrap();
    c.execute(Request::post_form(
        "http://h/t",
        &[("grant_type", "client_credentials"), ("x", "a b&c")],
    ))
    .unwrap();
    c.execute(Request::put("http://h/p")).unwrap();
    c.execute(Request::delete_json("http://h/d", &[1, 2]))
        .unwrap();
    c.execute(Request::get("http://h/g").bearer(&Secret::new("bt")))
        .unwrap();
    let seen = script.seen.lock().unwrap();
    let ct = |i: usize| {
        seen[i]
            .2
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(seen[0].3.as_deref(), Some(&br#"{"a":1}"#[..]));
    assert_eq!(ct(0).as_deref(), Some("application/json"));
    assert_eq!(
        seen[1].3.as_deref(),
        Some(&b"grant_type=client_credentials&x=a+b%26c"[..])
    );
    assert_eq!(ct(1).as_deref(), Some("application/x-www-form-urlencoded"));
    // a PUT without a body still has one, empty: Content-Length 0
    assert_eq!(seen[2].3.as_deref(), Some(&b""[..]));
    assert_eq!(seen[3].0, "DELETE");
    assert_eq!(seen[3].3.as_deref(), Some(&b"[1,2]"[..]));
    assert!(
        seen[4]
            .2
            .contains(&("authorization".into(), "Bearer bt".into()))
    );
}

#[test]
fn transient_failures_are_retried_with_backoff() {
    let (c, script, clock) = client(
        Service::Okta,
        vec![
            Ok(status(500, "{}")),
            wire(TransportKind::Reset),
            wire(TransportKind::Timeout),
            Ok(ok("[]")),
        ],
    );
    let r = c.execute(Request::get("http://h/api/v1/users")).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(script.sent(), 4);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 3);
    // half to full of 0.5 s, 1 s, 2 s
    for (i, s) in sleeps.iter().enumerate() {
        let full = retry::BASE_BACKOFF * (1 << i);
        assert!(*s >= full / 2 && *s <= full, "{i}: {s:?}");
    }
}

#[test]
fn retries_run_out_with_a_clear_error() {
    let (c, script, _) = client(
        Service::Okta,
        vec![
            Ok(status(503, "")),
            Ok(status(503, "")),
            Ok(status(503, "")),
            Ok(status(
                503,
                r#"{"errorCode":"E0000009","errorSummary":"Internal Server Error","errorCauses":[]}"#,
            )),
            Ok(ok("[]")),
        ],
    );
    let err = c
        .execute(Request::get("http://h/api/v1/users"))
        .unwrap_err();
    assert_eq!(script.sent(), 4); // first try + 3 retries
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.api_message().as_deref(), Some("Internal Server Error"));
    assert!(!err.outcome_unknown());
    assert_eq!(
        err.to_string(),
        "GET `http://h/api/v1/users`: HTTP 503: Internal Server Error (gave up after 4 tries)"
    );
}

#[test]
fn client_errors_are_returned_at_once() {
    for code in [400u16, 401, 403, 404, 409, 422] {
        let (c, script, clock) = client(
            Service::OneLogin,
            vec![Ok(status(
                code,
                r#"{"message":"nope","statusCode":400,"name":"BadRequestError"}"#,
            ))],
        );
        let err = c.execute(Request::get("http://h/api/2/users")).unwrap_err();
        assert_eq!(err.status(), Some(code));
        assert_eq!(err.api_message().as_deref(), Some("nope"));
        assert_eq!(script.sent(), 1);
        assert!(clock.sleeps().is_empty());
    }
}

fn okta_429(remaining: &str, reset: &str) -> Result<WireResponse, WireError> {
    let mut r = status(
        429,
        r#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorCauses":[]}"#,
    );
    r.headers = vec![
        ("x-rate-limit-limit".into(), "600".into()),
        ("x-rate-limit-remaining".into(), remaining.into()),
        ("x-rate-limit-reset".into(), reset.into()),
    ];
    Ok(r)
}

fn gaps(script: &Script) -> Vec<Duration> {
    let t = script.times.lock().unwrap().clone();
    t.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn a_429_in_an_exhausted_window_waits_until_the_okta_reset() {
    // the window had two requests left (one of them held back for clock skew); ours used
    // one; the next one gets a 429 anyway (another client used the last)
    let mut last = ok("[]");
    last.headers = vec![
        ("x-rate-limit-limit".into(), "600".into()),
        ("x-rate-limit-remaining".into(), "2".into()),
        ("x-rate-limit-reset".into(), "1700000042".into()),
    ];
    let (c, script, _) = client(
        Service::Okta,
        vec![Ok(last), okta_429("0", "1700000042"), Ok(ok("[]"))],
    );
    c.execute(Request::get("http://h/api/v1/users")).unwrap();
    c.execute(Request::get("http://h/api/v1/users?after=1"))
        .unwrap();
    assert_eq!(script.sent(), 3);
    let waited = gaps(&script)[1];
    assert!(
        waited >= Duration::from_millis(42_100) && waited <= Duration::from_secs(43),
        "{waited:?}"
    );
}

#[test]
fn repeated_429s_wait_for_the_reset_after_two_brief_backoffs() {
    // Remaining 0 with no sign of exhaustion before: maybe a concurrency limit, so the first
    // two back off briefly; the third in a row sits out the window
    let (c, script, _) = client(
        Service::Okta,
        vec![
            okta_429("0", "1700000042"),
            okta_429("0", "1700000042"),
            okta_429("0", "1700000042"),
            Ok(ok("[]")),
        ],
    );
    c.execute(Request::get("http://h/api/v1/users")).unwrap();
    let g = gaps(&script);
    assert!(
        g[0] >= Duration::from_secs(1) && g[0] < Duration::from_secs(2),
        "{g:?}"
    );
    assert!(
        g[1] >= Duration::from_secs(1) && g[1] < Duration::from_secs(2),
        "{g:?}"
    );
    let reset_at = Duration::from_secs(42);
    let t = script.times.lock().unwrap().clone();
    assert!(
        t[3] >= reset_at && t[3] <= reset_at + Duration::from_secs(1),
        "{t:?}"
    );
}

#[test]
fn a_429_with_room_left_in_the_window_backs_off_instead() {
    // Okta's concurrency limit (or an injected fault): the window is not exhausted
    let (c, script, _) = client(
        Service::Okta,
        vec![okta_429("512", "1700000055"), Ok(ok("[]"))],
    );
    c.execute(Request::get("http://h/api/v1/users")).unwrap();
    let waited = gaps(&script)[0];
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
}

#[test]
fn a_429_waits_the_onelogin_seconds_remaining() {
    let tmr = || {
        let mut r = status(429, r#"{"message":"Too many requests"}"#);
        r.headers = vec![
            ("x-ratelimit-limit".into(), "5000".into()),
            ("x-ratelimit-remaining".into(), "0".into()),
            ("x-ratelimit-reset".into(), "7".into()),
        ];
        Ok(r)
    };
    let (c, script, _) = client(Service::OneLogin, vec![tmr(), tmr(), tmr(), Ok(ok("{}"))]);
    c.execute(Request::get("http://h/api/2/users")).unwrap();
    let waited = gaps(&script)[2];
    assert!(
        waited >= Duration::from_millis(7_100) && waited <= Duration::from_secs(8),
        "{waited:?}"
    );
}

#[test]
fn creates_are_not_resent_when_they_may_have_taken_effect() {
    for answer in [
        Ok(status(500, "{}")),
        Ok(status(502, "")),
        wire(TransportKind::Timeout),
        wire(TransportKind::Reset),
        wire(TransportKind::Other),
    ] {
        let (c, script, _) = client(Service::OneLogin, vec![answer, Ok(ok("{}"))]);
        let err = c
            .execute(
                Request::post_json("http://h/api/2/users", &serde_json::json!({})).not_idempotent(),
            )
            .unwrap_err();
        assert!(err.outcome_unknown(), "{err}");
        assert!(err.to_string().contains("may have taken effect"), "{err}");
        assert_eq!(script.sent(), 1);
    }
}

#[test]
fn creates_are_retried_when_nothing_happened() {
    let mut tmr = status(429, "{}");
    tmr.headers = vec![
        ("x-ratelimit-limit".into(), "5000".into()),
        ("x-ratelimit-remaining".into(), "0".into()),
        ("x-ratelimit-reset".into(), "1".into()),
    ];
    let (c, script, _) = client(
        Service::OneLogin,
        vec![wire(TransportKind::Connect), Ok(tmr), Ok(ok(r#"{"id":5}"#))],
    );
    let r = c
        .execute(
            Request::post_json("http://h/api/2/users", &serde_json::json!({})).not_idempotent(),
        )
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(script.sent(), 3);
}

#[test]
fn errors_never_show_secrets_or_userinfo() {
    let (c, _, _) = client(
        Service::Okta,
        vec![Ok(status(
            401,
            r#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorCauses":[]}"#,
        ))],
    );
    let secret = Secret::new("SSWS very-secret-token");
    let req = Request::get("http://user:pw@h/api/v1/users").auth_header(&secret);
    assert!(!format!("{req:?}").contains("very-secret"));
    let err = c.execute(req).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("very-secret"), "{text}");
    assert!(!text.contains("pw@"), "{text}");
    assert_eq!(err.status(), Some(401));
}

#[test]
fn bad_urls_are_refused_before_sending() {
    let (c, script, _) = client(Service::Okta, vec![]);
    let err = c.execute(Request::get("not a url")).unwrap_err();
    assert!(matches!(err, HttpError::InvalidUrl { .. }), "{err}");
    let err = c.execute(Request::get("ftp://h/x")).unwrap_err();
    assert!(err.to_string().contains("only http and https"), "{err}");
    assert_eq!(script.sent(), 0);
}

#[test]
fn server_headers_slow_the_client_down_at_max_capacity() {
    // The server says Limit 600, Remaining 300: at 50% we must wait for the reset.
    let mut half = ok("[]");
    half.headers = vec![
        ("x-rate-limit-limit".into(), "600".into()),
        ("x-rate-limit-remaining".into(), "300".into()),
        ("x-rate-limit-reset".into(), "1700000030".into()),
    ];
    let clock = Arc::new(FakeClock::new(1_700_000_000.0));
    let script = Script::new(clock.clone(), vec![Ok(half), Ok(ok("[]"))]);
    let mut opts = ClientOptions::new(Service::Okta);
    opts.clock = clock.clone();
    opts.transport = Some(script.clone());
    opts.max_capacity_pct = 50;
    let c = Client::new(opts).unwrap();
    c.execute(Request::get("http://h/api/v1/users")).unwrap();
    c.execute(Request::get("http://h/api/v1/users?after=x"))
        .unwrap();
    let times = script.times.lock().unwrap().clone();
    // the new window is taken to begin a little after the reset the server announced
    assert_eq!(times[1] - times[0], Duration::from_millis(30_100));
}

#[test]
fn workers_sharing_a_client_share_one_quota() {
    let clock = Arc::new(FakeClock::new(0.0));
    let script = Script::new(clock.clone(), vec![]);
    let mut opts = ClientOptions::new(Service::OneLogin);
    opts.clock = clock.clone();
    opts.transport = Some(script.clone());
    opts.rate = Some("50/s".parse().unwrap());
    let c = Client::new(opts).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            let c = c.clone();
            s.spawn(move || {
                for _ in 0..50 {
                    c.execute(Request::get("http://h/api/2/users")).unwrap();
                }
            });
        }
    });
    // The grants of one GCRA quota are 20 ms apart in its (fake) time, so the 200th comes at
    // least 3.98 s after the first, however the threads interleave. (Recorded send times are
    // not compared pairwise: with one fake clock, a thread's sleep moves time for all.)
    assert_eq!(script.sent(), 200);
    assert!(
        clock.now() >= Duration::from_millis(3_980),
        "{:?}",
        clock.now()
    );
}

#[test]
fn http_dates_parse() {
    assert_eq!(
        parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
        Some(784_111_777.0)
    );
    assert_eq!(parse_http_date("yesterday"), None);
}

#[test]
fn reqwest_transport_reports_refused_connections_as_connect_errors() {
    // a port that was just free: connecting fails at once, nothing is sent
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = ReqwestTransport::new(Duration::from_secs(5)).unwrap();
    let err = t
        .send(&WireRequest {
            method: "GET".into(),
            url: url::Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap(),
            headers: Vec::new(),
            body: None,
            timeout: Duration::from_secs(5),
        })
        .unwrap_err();
    assert_eq!(err.kind, TransportKind::Connect, "{}", err.reason);
}

/// A one-connection server on 127.0.0.1: reads the request, then does what `then` says.
fn one_shot_server(then: fn(std::net::TcpStream)) -> (u16, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            then(stream);
        }
    });
    (port, handle)
}

fn wire_get(port: u16, timeout: Duration) -> Result<WireResponse, WireError> {
    let t = ReqwestTransport::new(timeout).unwrap();
    t.send(&WireRequest {
        method: "POST".into(),
        url: url::Url::parse(&format!("http://127.0.0.1:{port}/api/2/users")).unwrap(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: Some(b"{}".to_vec()),
        timeout,
    })
}

#[test]
fn a_connection_closed_after_the_request_is_a_reset_not_a_connect_error() {
    // the request reached the server: a create may have happened, so this must not be
    // classified as "nothing was sent"
    let (port, handle) = one_shot_server(drop);
    let err = wire_get(port, Duration::from_secs(5)).unwrap_err();
    handle.join().unwrap();
    assert_eq!(err.kind, TransportKind::Reset, "{}", err.reason);
}

#[test]
fn a_server_that_never_answers_times_out() {
    let (port, handle) = one_shot_server(|stream| {
        // hold the connection open, answer nothing, until the client gives up
        use std::io::Read;
        let mut s = stream;
        let mut buf = [0u8; 16];
        let _ = s.read(&mut buf);
    });
    let err = wire_get(port, Duration::from_millis(300)).unwrap_err();
    assert_eq!(err.kind, TransportKind::Timeout, "{}", err.reason);
    drop(handle);
}

#[test]
fn real_responses_come_back_with_every_header_line() {
    let (port, handle) = one_shot_server(|mut stream| {
        use std::io::Write;
        let body = b"[1]";
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLink: <http://a/1>; rel=\"self\"\r\nLink: <http://a/2>; rel=\"next\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(body);
    });
    let c = Client::new(ClientOptions::new(Service::Okta)).unwrap();
    let r = c
        .execute(Request::get(format!(
            "http://127.0.0.1:{port}/api/v1/users"
        )))
        .unwrap();
    handle.join().unwrap();
    assert_eq!(r.headers_all("link").len(), 2);
    assert_eq!(r.json::<Vec<u8>>().unwrap(), vec![1]);
}
