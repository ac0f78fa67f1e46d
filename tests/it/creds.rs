//! idm-creds and the secret lookup, end to end.
//!
//! Keyring tests (`keyring_*`) talk to a real Secret Service, so they are `#[ignore]`d in a
//! plain `cargo test`. `make test` runs them with `--ignored` under `scripts/with-keyring.sh`,
//! which starts a private D-Bus session with an unlocked gnome-keyring and sets
//! `IDM_TEST_KEYRING=1`; run any other way they fail (they never pass silently). Each test uses its own keyring service name
//! (`IDM_KEYRING_SERVICE`) and config directory (`XDG_CONFIG_HOME`), so tests run in parallel
//! and never touch a person's real entries.
//!
//! The `test` command is checked against a tiny scripted HTTP server on 127.0.0.1 that answers
//! one request with a canned response and hands the request back for inspection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;

use idm::creds::{AuditLog, Index};
use idm::secrets::{self, EntryName, KeyringStore, Origin, Store};

const BIN: &str = env!("CARGO_BIN_EXE_idm-creds");

/// Secrets the tests store; each is grepped for in every output.
const OKTA_TOKEN: &str = "00Tk-okta-test-token-5f2c9a71e4b8d036";
const ONELOGIN_SECRET: &str = "ol-test-client-secret-8e1d4b7a2c9f6035";

fn require_keyring() {
    if std::env::var("IDM_TEST_KEYRING").as_deref() != Ok("1") {
        panic!(
            "this test needs a Secret Service: run it with `make test` (or \
             `scripts/with-keyring.sh cargo test --test it -- --ignored keyring_`), which starts \
             an unlocked gnome-keyring in a private D-Bus session and sets IDM_TEST_KEYRING=1"
        );
    }
}

/// One test's private world: a config directory and a keyring service name.
struct World {
    config: tempfile::TempDir,
    service: String,
}

impl World {
    fn new() -> World {
        static N: AtomicU32 = AtomicU32::new(0);
        World {
            config: tempfile::tempdir().expect("temp dir"),
            service: format!(
                "idm-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ),
        }
    }

    fn idm_dir(&self) -> PathBuf {
        self.config.path().join("idm")
    }

    fn store(&self) -> KeyringStore {
        KeyringStore::new(
            self.service.clone(),
            Some(AuditLog::at(self.idm_dir().join("audit.log"))),
        )
    }

    /// A command for `bin` with this world's environment and no secrets in it.
    fn cmd(&self, bin: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .env("XDG_CONFIG_HOME", self.config.path())
            .env("IDM_KEYRING_SERVICE", &self.service)
            .env_remove("RUST_LOG");
        for var in [
            "IDM_OKTA_TOKEN",
            "IDM_ONELOGIN_CLIENT_SECRET",
            "IDM_OKTA_URL",
            "IDM_ONELOGIN_URL",
            "IDM_ONELOGIN_CLIENT_ID",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Run idm-creds with `stdin` piped in.
    fn creds(&self, args: &[&str], stdin: &str) -> Run {
        Run::new(self.cmd(BIN, args), stdin)
    }

    /// Every file idm-creds keeps, concatenated (audit log, index).
    fn files(&self) -> String {
        let mut all = String::new();
        if let Ok(entries) = std::fs::read_dir(self.idm_dir()) {
            for entry in entries.flatten() {
                all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        all
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Leave no entries behind if the keyring outlives the test (a developer's session).
        if std::env::var("IDM_TEST_KEYRING").as_deref() == Ok("1") {
            let store = KeyringStore::new(self.service.clone(), None);
            let index = Index::at(self.idm_dir().join("keyring-index"));
            for name in index.entries(&self.service).unwrap_or_default() {
                let _ = store.delete(&name);
            }
        }
    }
}

/// A finished command: what it was, its status and both output streams.
struct Run {
    what: String,
    out: Output,
}

impl Run {
    fn new(mut cmd: Command, stdin: &str) -> Run {
        // Program and arguments only: the environment holds test secrets, and a failing
        // test must not print them.
        let what = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(stdin.as_bytes()).expect("write stdin");
        drop(pipe);
        let out = child.wait_with_output().expect("wait");
        Run { what, out }
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    fn describe(&self) -> String {
        format!(
            "command: {}\nstatus: {:?}\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.code(),
            self.stdout(),
            self.stderr()
        )
    }

    fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(self.code(), Some(code), "{}", self.describe());
        self
    }

    fn expect_no_secrets(&self) -> &Run {
        for secret in [OKTA_TOKEN, ONELOGIN_SECRET] {
            assert!(
                !self.stdout().contains(secret) && !self.stderr().contains(secret),
                "secret leaked\n{}",
                self.describe()
            );
            assert!(!self.what.contains(secret), "secret in argv: {}", self.what);
        }
        self
    }
}

#[test]
#[ignore = "needs a Secret Service: `make test` runs it under scripts/with-keyring.sh"]
fn keyring_round_trip_set_get_reveal_list_delete() {
    require_keyring();
    let w = World::new();
    let tenant = "https://Acme.okta.com/";

    w.creds(&["set", "okta", "token"], &format!("{OKTA_TOKEN}\n"))
        .expect_code(0)
        .expect_no_secrets();
    w.creds(
        &["set", "okta", "token", "--url", tenant],
        "tenant-token-0123456789",
    )
    .expect_code(0);
    w.creds(&["set", "onelogin", "client_secret"], ONELOGIN_SECRET)
        .expect_code(0)
        .expect_no_secrets();

    let got = w.creds(&["get", "okta", "token"], "");
    got.expect_code(0).expect_no_secrets();
    assert_eq!(got.stdout().trim(), secrets::mask(OKTA_TOKEN));
    let revealed = w.creds(&["get", "okta", "token", "--reveal"], "");
    assert_eq!(revealed.expect_code(0).stdout(), format!("{OKTA_TOKEN}\n"));
    let tenant_value = w.creds(
        &[
            "get",
            "okta",
            "token",
            "--url",
            "https://acme.okta.com",
            "--reveal",
        ],
        "",
    );
    assert_eq!(
        tenant_value.expect_code(0).stdout(),
        "tenant-token-0123456789\n"
    );

    let list = w.creds(&["list"], "");
    list.expect_code(0).expect_no_secrets();
    let rows: Vec<Vec<String>> = list
        .stdout()
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["okta", "token", "-", &secrets::mask(OKTA_TOKEN)],
            ["okta", "token", "https://acme.okta.com", "tena…6789"],
            [
                "onelogin",
                "client_secret",
                "-",
                &secrets::mask(ONELOGIN_SECRET)
            ],
        ]
        .map(|r| r.map(str::to_string).to_vec()),
        "{}",
        list.describe()
    );

    // Scripts must say --force; without it nothing is deleted.
    w.creds(&["delete", "okta", "token"], "").expect_code(2);
    w.creds(&["get", "okta", "token"], "").expect_code(0);
    w.creds(&["delete", "okta", "token", "--force"], "")
        .expect_code(0);
    let gone = w.creds(&["get", "okta", "token"], "");
    gone.expect_code(1);
    assert!(
        gone.stderr().contains("no `okta:token` in the keyring"),
        "{}",
        gone.describe()
    );
    assert!(
        w.store()
            .get(&EntryName::new("okta", "token", None))
            .unwrap()
            .is_none()
    );
    let list = w.creds(&["list"], "");
    assert_eq!(list.stdout().lines().count(), 3, "{}", list.describe());

    // The audit log saw every access, and neither it nor the index holds a value.
    let audit = w.creds(&["audit", "--json"], "");
    audit.expect_code(0).expect_no_secrets();
    let actions: Vec<(String, String, String)> = audit
        .stdout()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("audit line is JSON");
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            (field("action"), field("entry"), field("outcome"))
        })
        .collect();
    let set = (
        "set".to_string(),
        "okta:token".to_string(),
        "ok".to_string(),
    );
    let delete = (
        "delete".to_string(),
        "okta:token".to_string(),
        "ok".to_string(),
    );
    assert!(actions.contains(&set), "{actions:?}");
    assert!(actions.contains(&delete), "{actions:?}");
    assert_eq!(actions.first(), Some(&set), "{actions:?}");
    let files = w.files();
    assert!(
        files.contains("okta:token@https://acme.okta.com"),
        "{files}"
    );
    assert!(!files.contains(OKTA_TOKEN) && !files.contains(ONELOGIN_SECRET));
    let last = w.creds(&["audit", "--limit", "1", "--json"], "");
    assert_eq!(last.expect_code(0).stdout().lines().count(), 1);
}

#[test]
#[ignore = "needs a Secret Service: `make test` runs it under scripts/with-keyring.sh"]
fn keyring_resolve_takes_the_secret_when_the_environment_has_none() {
    require_keyring();
    let w = World::new();
    w.creds(&["set", "okta", "token"], OKTA_TOKEN)
        .expect_code(0);
    w.creds(
        &["set", "okta", "token", "--url", "https://acme.okta.com"],
        "tenant-token-0123456789",
    )
    .expect_code(0);

    // Through the library, exactly as every tool calls it. This is the only test in this file
    // that changes the process environment, and no other test reads it in-process.
    // SAFETY: no other thread of this test binary reads these variables.
    unsafe {
        std::env::set_var("IDM_KEYRING_SERVICE", &w.service);
        std::env::set_var("XDG_CONFIG_HOME", w.config.path());
        std::env::remove_var("IDM_OKTA_TOKEN");
    }
    let (generic, origin) = secrets::resolve("okta", "token", None).expect("resolve");
    assert_eq!(generic.expose(), OKTA_TOKEN);
    assert_eq!(origin, Origin::Keyring);
    let (tenant, _) =
        secrets::resolve("okta", "token", Some("https://acme.okta.com/")).expect("resolve");
    assert_eq!(tenant.expose(), "tenant-token-0123456789");
    let (other, _) =
        secrets::resolve("okta", "token", Some("https://other.okta.com")).expect("resolve");
    assert_eq!(other.expose(), OKTA_TOKEN);
    let missing = secrets::resolve("onelogin", "client_secret", None).unwrap_err();
    let msg = missing.to_string();
    assert!(msg.contains("`IDM_ONELOGIN_CLIENT_SECRET`"), "{msg}");
    assert!(
        msg.contains("`idm-creds set onelogin client_secret`"),
        "{msg}"
    );
    // The environment wins over the keyring.
    unsafe { std::env::set_var("IDM_OKTA_TOKEN", "from-the-environment-0123") };
    let (env, origin) = secrets::resolve("okta", "token", None).expect("resolve");
    unsafe { std::env::remove_var("IDM_OKTA_TOKEN") };
    assert_eq!(
        (env.expose(), origin),
        ("from-the-environment-0123", Origin::Env)
    );

    // Through a binary: `show` reports the keyring entry a tool would use, masked.
    let show = w.creds(&["show", "--okta-url", "https://acme.okta.com"], "");
    show.expect_code(0).expect_no_secrets();
    assert!(
        show.stdout()
            .contains("(keyring entry `okta:token@https://acme.okta.com`)"),
        "{}",
        show.describe()
    );
    let show = w.creds(&["show"], "");
    assert!(
        show.stdout().contains(&format!(
            "{}  (keyring entry `okta:token`)",
            secrets::mask(OKTA_TOKEN)
        )),
        "{}",
        show.describe()
    );
    // The reads were audited under the tool's name.
    let log = std::fs::read_to_string(w.idm_dir().join("audit.log")).expect("audit log");
    assert!(log.contains(r#""action":"read","outcome":"ok""#), "{log}");
}

#[test]
#[ignore = "needs a Secret Service: `make test` runs it under scripts/with-keyring.sh"]
fn keyring_test_command_uses_the_stored_token() {
    require_keyring();
    let w = World::new();
    w.creds(&["set", "okta", "token"], OKTA_TOKEN)
        .expect_code(0);
    let server = Stub::serve(
        200,
        &[
            ("X-Rate-Limit-Limit", "600"),
            ("X-Rate-Limit-Remaining", "599"),
        ],
        "[]",
    );
    let run = w.creds(&["test", "okta", "--url", &server.url], "");
    run.expect_code(0).expect_no_secrets();
    assert!(
        run.stdout().contains("accepted the token"),
        "{}",
        run.describe()
    );
    assert!(run.stdout().contains("599 of 600"), "{}", run.describe());
    assert!(
        run.stderr().contains("keyring entry `okta:token"),
        "{}",
        run.describe()
    );
    let request = server.request();
    assert!(
        request.starts_with("GET /api/v1/users?limit=1 HTTP/1.1"),
        "{request}"
    );
    assert!(
        request.to_ascii_lowercase().contains(&format!(
            "authorization: ssws {}",
            OKTA_TOKEN.to_ascii_lowercase()
        )),
        "{request}"
    );
}

#[test]
#[ignore = "needs a Secret Service: `make test` runs it under scripts/with-keyring.sh"]
fn keyring_no_tool_prints_a_secret_in_help_or_output() {
    require_keyring();
    let w = World::new();
    // --help of every tool, with the secrets in the environment: clap's `env` fallbacks must
    // not show their values.
    let tools = [
        env!("CARGO_BIN_EXE_idm-export"),
        env!("CARGO_BIN_EXE_idm-map"),
        env!("CARGO_BIN_EXE_idm-attrs"),
        env!("CARGO_BIN_EXE_idm-load"),
        env!("CARGO_BIN_EXE_idm-csv"),
        env!("CARGO_BIN_EXE_idm-sandbox"),
        BIN,
    ];
    for tool in tools {
        // Help only: without arguments some tools start working (idm-sandbox serves).
        for args in [&["--help"][..], &["-h"][..]] {
            let mut cmd = w.cmd(tool, args);
            cmd.env("IDM_OKTA_TOKEN", OKTA_TOKEN)
                .env("IDM_ONELOGIN_CLIENT_SECRET", ONELOGIN_SECRET);
            Run::new(cmd, "").expect_no_secrets();
        }
    }
    for sub in ["set", "get", "list", "delete", "test", "show", "audit"] {
        let mut cmd = w.cmd(BIN, &[sub, "--help"]);
        cmd.env("IDM_OKTA_TOKEN", OKTA_TOKEN)
            .env("IDM_ONELOGIN_CLIENT_SECRET", ONELOGIN_SECRET);
        Run::new(cmd, "").expect_code(0).expect_no_secrets();
    }

    #[cfg(target_os = "linux")]
    argv_of_a_waiting_set_holds_no_secret(&w);

    // Every idm-creds command that does not reveal, with values in the keyring and in the
    // environment, failing and succeeding.
    w.creds(&["set", "okta", "token"], OKTA_TOKEN)
        .expect_no_secrets();
    let server = Stub::serve(
        401,
        &[],
        r#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"x","errorCauses":[]}"#,
    );
    let onelogin = Stub::serve(200, &[], r#"{"access_token":"at-123","expires_in":36000}"#);
    let runs: Vec<Vec<&str>> = vec![
        vec!["get", "okta", "token"],
        vec!["get", "onelogin", "client_secret"],
        vec!["list"],
        vec!["show"],
        vec![
            "show",
            "--okta-url",
            &server.url,
            "--onelogin-url",
            &onelogin.url,
        ],
        vec!["test", "okta", "--url", &server.url],
        vec![
            "test",
            "onelogin",
            "--url",
            &onelogin.url,
            "--client-id",
            "cid",
        ],
        vec!["test", "okta", "--url", "http://127.0.0.1:1"],
        vec!["audit"],
        vec!["audit", "--json"],
        vec!["-v", "get", "okta", "token"],
        vec!["-vvv", "show"],
    ];
    for args in &runs {
        w.creds(args, "").expect_no_secrets();
        let mut with_env = w.cmd(BIN, args);
        with_env
            .env("IDM_OKTA_TOKEN", OKTA_TOKEN)
            .env("IDM_ONELOGIN_CLIENT_SECRET", ONELOGIN_SECRET);
        Run::new(with_env, "").expect_no_secrets();
    }
    let files = w.files();
    assert!(
        !files.contains(OKTA_TOKEN) && !files.contains(ONELOGIN_SECRET),
        "{files}"
    );
}

/// `idm-creds set` reads the value from stdin: while it waits there, its argv as `ps` shows it
/// (/proc/PID/cmdline) holds no secret.
#[cfg(target_os = "linux")]
fn argv_of_a_waiting_set_holds_no_secret(w: &World) {
    let mut child = w
        .cmd(BIN, &["-v", "set", "onelogin", "client_secret"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn idm-creds set");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    stderr.read_line(&mut first).expect("read stderr");
    assert!(first.contains("reading the value from stdin"), "{first}");
    let cmdline = match std::fs::read(format!("/proc/{}/cmdline", child.id())) {
        Ok(bytes) => bytes,
        Err(e) => panic!("cannot read the argv of idm-creds set: {e}"),
    };
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        cmdline.contains("set onelogin client_secret"),
        "argv: `{cmdline}`"
    );
    assert!(!cmdline.contains(ONELOGIN_SECRET), "argv: `{cmdline}`");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(ONELOGIN_SECRET.as_bytes()).expect("write");
    drop(stdin);
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("read stderr");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{first}{rest}");
    assert!(!rest.contains(ONELOGIN_SECRET), "{rest}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(ONELOGIN_SECRET));
}

// ---- `idm-creds test` against a scripted server (no keyring needed: secrets from env) ----

/// A one-shot HTTP server: answers the first request with a canned response.
struct Stub {
    url: String,
    request: mpsc::Receiver<String>,
}

impl Stub {
    fn serve(status: u16, headers: &[(&str, &str)], body: &str) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let mut response = format!(
            "HTTP/1.1 {status} Status\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(body);
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream);
            let mut request = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                let end = line == "\r\n";
                request.push_str(&line);
                if end {
                    break;
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            request.push_str(&String::from_utf8_lossy(&body));
            let mut stream = reader.into_inner();
            let _ = stream.write_all(response.as_bytes());
            let _ = tx.send(request);
        });
        Stub { url, request: rx }
    }

    fn request(&self) -> String {
        self.request.recv().expect("the stub got a request")
    }
}

fn test_cmd(args: &[&str], env: &[(&str, &str)]) -> Run {
    let w = World::new();
    let mut cmd = w.cmd(BIN, args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::new(cmd, "")
}

#[test]
fn test_okta_names_a_rejected_token() {
    let server = Stub::serve(
        401,
        &[],
        r#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"oae1","errorCauses":[]}"#,
    );
    let run = test_cmd(
        &["test", "okta", "--url", &server.url],
        &[("IDM_OKTA_TOKEN", OKTA_TOKEN)],
    );
    run.expect_code(1).expect_no_secrets();
    assert!(
        run.stderr()
            .contains("rejected the token (HTTP 401: E0000011 Invalid token provided)"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr().contains("from env `IDM_OKTA_TOKEN`"),
        "{}",
        run.describe()
    );
    assert!(server.request().contains(&format!("SSWS {OKTA_TOKEN}")));
}

#[test]
fn test_okta_names_a_wrong_url() {
    let server = Stub::serve(404, &[], "<html>not found</html>");
    let run = test_cmd(
        &["test", "okta", "--url", &server.url],
        &[("IDM_OKTA_TOKEN", OKTA_TOKEN)],
    );
    run.expect_code(1).expect_no_secrets();
    assert!(run.stderr().contains("HTTP 404"), "{}", run.describe());
    assert!(run.stderr().contains("wrong URL"), "{}", run.describe());
}

#[test]
fn test_okta_notices_a_web_page_that_is_not_okta() {
    let server = Stub::serve(200, &[], "<html>welcome</html>");
    let run = test_cmd(
        &["test", "okta", "--url", &server.url],
        &[("IDM_OKTA_TOKEN", OKTA_TOKEN)],
    );
    run.expect_code(1);
    assert!(
        run.stderr().contains("not with Okta's JSON"),
        "{}",
        run.describe()
    );
}

#[test]
fn test_names_an_unreachable_host_and_an_unknown_one() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let run = test_cmd(
        &["test", "okta", "--url", &url],
        &[("IDM_OKTA_TOKEN", OKTA_TOKEN)],
    );
    run.expect_code(1).expect_no_secrets();
    assert!(
        run.stderr().contains(&format!("cannot reach `{url}`")),
        "{}",
        run.describe()
    );
    // `.invalid` never resolves (RFC 6761).
    let run = test_cmd(
        &["test", "onelogin", "--url", "https://acme.idm-test.invalid"],
        &[
            ("IDM_ONELOGIN_CLIENT_SECRET", ONELOGIN_SECRET),
            ("IDM_ONELOGIN_CLIENT_ID", "cid"),
        ],
    );
    run.expect_code(1).expect_no_secrets();
    assert!(
        run.stderr().contains("cannot resolve the host"),
        "{}",
        run.describe()
    );
    assert!(run.stderr().contains("region"), "{}", run.describe());
}

#[test]
fn test_onelogin_sends_basic_credentials_and_names_a_rejection() {
    let ok = Stub::serve(
        200,
        &[],
        r#"{"access_token":"at-xyz","created_at":"2026-01-01T00:00:00.000Z","expires_in":36000,"refresh_token":"deprecated","token_type":"bearer","account_id":555}"#,
    );
    let env = [
        ("IDM_ONELOGIN_CLIENT_SECRET", ONELOGIN_SECRET),
        ("IDM_ONELOGIN_URL", ok.url.as_str()),
    ];
    let run = test_cmd(&["test", "onelogin", "--client-id", "cid-123"], &env);
    run.expect_code(0).expect_no_secrets();
    assert!(
        run.stdout()
            .contains("issued an access token for client id `cid-123`"),
        "{}",
        run.describe()
    );
    let request = ok.request();
    assert!(
        request.starts_with("POST /auth/oauth2/v2/token HTTP/1.1"),
        "{request}"
    );
    use base64::Engine;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("cid-123:{ONELOGIN_SECRET}"));
    assert!(request.contains(&format!("Basic {basic}")), "{request}");
    assert!(
        request.contains(r#""grant_type":"client_credentials""#),
        "{request}"
    );

    let bad = Stub::serve(
        401,
        &[],
        r#"{"status":{"error":true,"code":401,"type":"Unauthorized","message":"Authentication Failure"}}"#,
    );
    let env = [
        ("IDM_ONELOGIN_CLIENT_SECRET", ONELOGIN_SECRET),
        ("IDM_ONELOGIN_CLIENT_ID", "cid-123"),
    ];
    let run = test_cmd(&["test", "onelogin", "--url", &bad.url], &env);
    run.expect_code(1).expect_no_secrets();
    assert!(
        run.stderr()
            .contains("rejected the client credentials (HTTP 401: Authentication Failure)"),
        "{}",
        run.describe()
    );
}

#[test]
fn test_without_url_or_client_id_is_a_usage_error() {
    let run = test_cmd(&["test", "okta"], &[("IDM_OKTA_TOKEN", OKTA_TOKEN)]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("`IDM_OKTA_URL`"),
        "{}",
        run.describe()
    );
    let run = test_cmd(
        &["test", "onelogin", "--url", "http://127.0.0.1:1"],
        &[("IDM_ONELOGIN_CLIENT_SECRET", ONELOGIN_SECRET)],
    );
    run.expect_code(2);
    assert!(
        run.stderr().contains("`IDM_ONELOGIN_CLIENT_ID`"),
        "{}",
        run.describe()
    );
}

#[test]
fn values_never_come_from_argv() {
    // There is no way to pass a value as an argument: one given by mistake is refused without
    // being echoed, and nothing is stored.
    let w = World::new();
    let run = w.creds(&["set", "okta", "token", OKTA_TOKEN], "");
    run.expect_code(2);
    assert!(!run.stderr().contains(OKTA_TOKEN), "{}", run.describe());
    assert!(
        run.stderr().contains("never taken from the command line"),
        "{}",
        run.describe()
    );
    assert!(!w.idm_dir().join("keyring-index").exists());
}

// ---- `idm-creds test` against the sandbox's simulated Okta and OneLogin ----

fn sandbox() -> idm::sandbox::Sandbox {
    let mut cfg = idm::sandbox::SandboxConfig::default();
    cfg.seed.users = 3;
    cfg.seed.groups = 1;
    cfg.seed.apps = 1;
    idm::sandbox::Sandbox::start(cfg).expect("start the sandbox")
}

#[test]
fn sandbox_okta_accepts_its_token_and_refuses_another() {
    let sb = sandbox();
    let good = test_cmd(
        &["test", "okta", "--url", sb.okta_url()],
        &[("IDM_OKTA_TOKEN", sb.okta_token())],
    );
    good.expect_code(0);
    assert!(
        good.stdout().contains("accepted the token"),
        "{}",
        good.describe()
    );
    assert!(!good.stdout().contains(sb.okta_token()));

    let bad = test_cmd(
        &["test", "okta", "--url", sb.okta_url()],
        &[("IDM_OKTA_TOKEN", OKTA_TOKEN)],
    );
    bad.expect_code(1).expect_no_secrets();
    assert!(
        bad.stderr()
            .contains("rejected the token (HTTP 401: E0000011"),
        "{}",
        bad.describe()
    );

    // The OneLogin listener is not an Okta org: its answer says so.
    let wrong = test_cmd(
        &["test", "okta", "--url", sb.onelogin_url()],
        &[("IDM_OKTA_TOKEN", sb.okta_token())],
    );
    wrong.expect_code(1);
    assert!(
        wrong.stderr().contains("wrong URL") || wrong.stderr().contains("rejected the token"),
        "{}",
        wrong.describe()
    );
    assert!(!wrong.stderr().contains(sb.okta_token()));
}

#[test]
fn sandbox_onelogin_issues_a_token_for_good_credentials_only() {
    let sb = sandbox();
    let good = test_cmd(
        &[
            "test",
            "onelogin",
            "--url",
            sb.onelogin_url(),
            "--client-id",
            sb.onelogin_client_id(),
        ],
        &[("IDM_ONELOGIN_CLIENT_SECRET", sb.onelogin_client_secret())],
    );
    good.expect_code(0);
    assert!(
        good.stdout().contains("issued an access token"),
        "{}",
        good.describe()
    );
    assert!(!good.stdout().contains(sb.onelogin_client_secret()));

    let bad = test_cmd(
        &[
            "test",
            "onelogin",
            "--url",
            sb.onelogin_url(),
            "--client-id",
            sb.onelogin_client_id(),
        ],
        &[("IDM_ONELOGIN_CLIENT_SECRET", ONELOGIN_SECRET)],
    );
    bad.expect_code(1).expect_no_secrets();
    assert!(
        bad.stderr()
            .contains("rejected the client credentials (HTTP 401"),
        "{}",
        bad.describe()
    );
}

#[test]
#[ignore = "needs a Secret Service: `make test` runs it under scripts/with-keyring.sh"]
fn keyring_test_command_finds_the_tenant_entry_for_the_sandbox() {
    require_keyring();
    let w = World::new();
    let sb = sandbox();
    // A wrong generic token and the right one for this tenant: the tenant entry must win.
    w.creds(&["set", "okta", "token"], OKTA_TOKEN)
        .expect_code(0);
    w.creds(
        &["set", "okta", "token", "--url", sb.okta_url()],
        sb.okta_token(),
    )
    .expect_code(0);
    w.creds(
        &[
            "set",
            "onelogin",
            "client_secret",
            "--url",
            sb.onelogin_url(),
        ],
        sb.onelogin_client_secret(),
    )
    .expect_code(0);
    let okta = w.creds(&["test", "okta", "--url", sb.okta_url()], "");
    okta.expect_code(0);
    assert!(
        okta.stdout().contains("accepted the token"),
        "{}",
        okta.describe()
    );
    let mut cmd = w.cmd(BIN, &["test", "onelogin"]);
    cmd.env("IDM_ONELOGIN_URL", sb.onelogin_url())
        .env("IDM_ONELOGIN_CLIENT_ID", sb.onelogin_client_id());
    let onelogin = Run::new(cmd, "");
    onelogin.expect_code(0);
    for run in [&okta, &onelogin] {
        assert!(!run.stdout().contains(sb.okta_token()));
        assert!(!run.stderr().contains(sb.onelogin_client_secret()));
    }
    // Against another URL, the generic (wrong) token is used, and refused.
    let other = w.creds(
        &[
            "test",
            "okta",
            "--url",
            &format!("{}/", sb.okta_url().replace("127.0.0.1", "localhost")),
        ],
        "",
    );
    other.expect_code(1);
    assert!(
        other.stderr().contains("keyring entry `okta:token`"),
        "{}",
        other.describe()
    );
}

// ---- a full pipeline with the secrets in the keyring only ----

/// Sandbox credentials that are easy to grep for.
const PIPELINE_OKTA_TOKEN: &str = "00PipelineOktaToken-c41f9e2b7d5a8036";
const PIPELINE_ONELOGIN_ID: &str = "pipeline-client-id-0042";
const PIPELINE_ONELOGIN_SECRET: &str = "PipelineOneLoginSecret-9b3e7c1a5d2f";

#[test]
#[ignore = "needs a Secret Service: `make test` runs it under scripts/with-keyring.sh"]
fn keyring_full_pipeline_leaks_no_secret_to_outputs_journal_or_logs() {
    require_keyring();
    let w = World::new();
    let mut cfg = idm::sandbox::SandboxConfig::default();
    cfg.seed.users = 12;
    cfg.seed.groups = 3;
    cfg.seed.apps = 2;
    cfg.okta_token = Some(PIPELINE_OKTA_TOKEN.to_string());
    cfg.onelogin_client_id = Some(PIPELINE_ONELOGIN_ID.to_string());
    cfg.onelogin_client_secret = Some(PIPELINE_ONELOGIN_SECRET.to_string());
    let sb = idm::sandbox::Sandbox::start(cfg).expect("start the sandbox");

    // The secrets go into the keyring, for these tenants, through stdin; nowhere else.
    w.creds(
        &["set", "okta", "token", "--url", sb.okta_url()],
        PIPELINE_OKTA_TOKEN,
    )
    .expect_code(0);
    w.creds(
        &[
            "set",
            "onelogin",
            "client_secret",
            "--url",
            sb.onelogin_url(),
        ],
        PIPELINE_ONELOGIN_SECRET,
    )
    .expect_code(0);

    let work = tempfile::tempdir().expect("work dir");
    let path = |name: &str| work.path().join(name).to_string_lossy().into_owned();
    let (export, mapped, results) = (
        path("export.ndjson"),
        path("mapped.ndjson"),
        path("results.ndjson"),
    );
    let (ready, attr_results, csv) = (
        path("ready.ndjson"),
        path("attr-results.ndjson"),
        path("bulk_upload.csv"),
    );
    let (state, rejects) = (path("idm-state.ndjson"), path("rejects.ndjson"));
    let steps: Vec<(&str, Vec<&str>, &[i32])> = vec![
        (
            env!("CARGO_BIN_EXE_idm-export"),
            vec![
                "-vvv",
                "--okta-url",
                sb.okta_url(),
                "--state",
                &state,
                "-o",
                &export,
            ],
            // 3: records the export's own schema check rejects; the run still counts.
            &[0, 3],
        ),
        (
            env!("CARGO_BIN_EXE_idm-map"),
            vec!["-vvv", "-i", &export, "-o", &mapped, "--rejects", &rejects],
            &[0, 3],
        ),
        (
            env!("CARGO_BIN_EXE_idm-attrs"),
            vec![
                "-vvv",
                "--to",
                "onelogin",
                "--apply",
                "--url",
                sb.onelogin_url(),
                "--client-id",
                PIPELINE_ONELOGIN_ID,
                "--state",
                &state,
                "-i",
                &mapped,
                "-o",
                &ready,
                "--results",
                &attr_results,
            ],
            &[0],
        ),
        (
            // with a connection, idm-csv checks the tenant has the custom attributes
            env!("CARGO_BIN_EXE_idm-csv"),
            vec![
                "-vvv",
                "--url",
                sb.onelogin_url(),
                "--client-id",
                PIPELINE_ONELOGIN_ID,
                "-i",
                &ready,
                "-o",
                &csv,
            ],
            &[0, 3],
        ),
        (
            env!("CARGO_BIN_EXE_idm-load"),
            vec![
                "-vvv",
                "--url",
                sb.onelogin_url(),
                "--client-id",
                PIPELINE_ONELOGIN_ID,
                "--state",
                &state,
                "-i",
                &ready,
                "-o",
                &results,
            ],
            &[0, 3],
        ),
        (
            env!("CARGO_BIN_EXE_idm-load"),
            vec![
                "-vvv",
                "--apply",
                "--url",
                sb.onelogin_url(),
                "--client-id",
                PIPELINE_ONELOGIN_ID,
                "--state",
                &state,
                "-i",
                &ready,
                "-o",
                &results,
            ],
            &[0, 3],
        ),
    ];
    let mut streams = String::new();
    for (bin, args, codes) in &steps {
        // Trace logging everywhere (reqwest and hyper included) is the most a user can ask
        // for; even then nothing may show a secret.
        let mut cmd = w.cmd(bin, args);
        cmd.env("RUST_LOG", "trace");
        // the sandbox has no quota: do not pace at OneLogin's default 5000/hour
        cmd.env("IDM_ONELOGIN_RATE_LIMIT", "100000/hour");
        let run = Run::new(cmd, "");
        assert!(
            codes.contains(&run.code().unwrap_or(-1)),
            "{}",
            run.describe()
        );
        for secret in [PIPELINE_OKTA_TOKEN, PIPELINE_ONELOGIN_SECRET] {
            assert!(!run.what.contains(secret), "secret in argv: {}", run.what);
            assert!(
                !run.stdout().contains(secret),
                "secret leaked\n{}",
                run.describe()
            );
            assert!(
                !run.stderr().contains(secret),
                "secret leaked on stderr of {}",
                run.what
            );
        }
        streams.push_str(&run.stdout());
        streams.push_str(&run.stderr());
    }

    // The pipeline did real work with the keyring's secrets.
    let exported = std::fs::read_to_string(&export).expect("export file");
    assert!(
        exported.lines().any(|l| l.contains(r#""kind":"user""#)),
        "no users exported"
    );
    let loaded = std::fs::read_to_string(&results).expect("results file");
    assert!(
        loaded.contains(r#""status":"ok""#),
        "nothing loaded:\n{loaded}"
    );
    let audit = std::fs::read_to_string(w.idm_dir().join("audit.log")).expect("audit log");
    assert!(
        std::fs::read_to_string(&csv)
            .expect("csv file")
            .lines()
            .count()
            > 1,
        "no users in the CSV"
    );
    for (tool, entry) in [
        ("idm-export", format!("okta:token@{}", sb.okta_url())),
        (
            "idm-attrs",
            format!("onelogin:client_secret@{}", sb.onelogin_url()),
        ),
        (
            "idm-csv",
            format!("onelogin:client_secret@{}", sb.onelogin_url()),
        ),
        (
            "idm-load",
            format!("onelogin:client_secret@{}", sb.onelogin_url()),
        ),
    ] {
        assert!(
            audit.lines().any(|l| l.contains(&format!(
                r#""tool":"{tool}","action":"read","outcome":"ok""#
            )) && l.contains(&format!(r#""entry":"{entry}""#))),
            "{tool} did not read {entry} from the keyring:\n{audit}"
        );
    }

    // Every file of the run: outputs, journal, rejects, audit log and index.
    let mut files = w.files();
    for entry in std::fs::read_dir(work.path()).expect("work dir").flatten() {
        files.push_str(&String::from_utf8_lossy(
            &std::fs::read(entry.path()).unwrap_or_default(),
        ));
    }
    assert!(files.contains("okta"), "the files were read");
    for secret in [PIPELINE_OKTA_TOKEN, PIPELINE_ONELOGIN_SECRET] {
        assert!(!files.contains(secret), "a file of the run holds a secret");
        assert!(!streams.contains(secret));
    }
}
