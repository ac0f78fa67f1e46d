//! The operator's view: what a person running the tools sees on stderr, on a terminal and in a
//! log file. Plain text under `NO_COLOR` (checked on a real pseudo-terminal, through util-linux
//! `script`), status lines at intervals and a summary line at the end when stderr is a file,
//! and errors that name their fix at once: a closed port, a wrong URL, refused credentials, an
//! export fed to idm-load unmapped.

use std::fs::File;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use idm::sandbox::{FaultKind, FaultRule, Sandbox, SandboxConfig, Side};
use serde_json::json;

use crate::util::{Tool, bin, sandbox};

/// `'…'` for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Run `tool args` on a pseudo-terminal (util-linux `script`, part of every Debian system),
/// with `env`; what the terminal received, and the tool's exit code.
fn on_a_terminal(tool: &str, args: &[&str], env: &[(&str, &str)]) -> (String, Option<i32>) {
    let line: Vec<String> = std::iter::once(bin(tool))
        .chain(args.iter().copied())
        .map(quote)
        .collect();
    let mut cmd = Command::new("script");
    cmd.args(["-qfec", &line.join(" "), "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .env_remove("IDM_STATE")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .expect("util-linux `script` (Debian's bsdutils) runs the tool on a pseudo-terminal");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

#[test]
fn no_color_and_a_dumb_terminal_give_plain_text_on_a_terminal() {
    let sb = sandbox(30);
    // a 500 on the first page of groups: the retry is logged as a warning
    let fault = || FaultRule {
        method: Some("GET".into()),
        path: Some("/api/v1/groups".into()),
        ..FaultRule::new(FaultKind::ServerError)
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export.ndjson");
    let state = dir.path().join("state.ndjson");
    let args = [
        "--okta-url",
        sb.okta_url(),
        "-o",
        out.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--rate-limit",
        "none",
    ];
    let token = ("IDM_OKTA_TOKEN", sb.okta_token());
    let pinned = ("IDM_TEST_RETRY_SLEEP_MS", "1");

    // the control: a terminal that takes colour gets escape codes (bars, a coloured warning),
    // so the pseudo-terminal is really one and the checks below can fail
    sb.script_fault(Side::Okta, fault());
    let (fancy, code) = on_a_terminal("idm-export", &args, &[token, pinned]);
    assert_eq!(code, Some(0), "{fancy}");
    assert!(
        fancy.contains('\x1b'),
        "no escape code on a terminal:\n{fancy}"
    );
    assert!(fancy.contains("warning"), "{fancy}");

    for plain in [("NO_COLOR", "1"), ("TERM", "dumb")] {
        sb.script_fault(Side::Okta, fault());
        let (text, code) = on_a_terminal("idm-export", &args, &[token, pinned, plain]);
        assert_eq!(code, Some(0), "{text}");
        assert!(
            !text.contains('\x1b'),
            "{plain:?}: escape codes on the terminal:\n{}",
            text.escape_debug()
        );
        let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("idm-export: warning: GET ") && l.contains("HTTP 500")),
            "{plain:?}: the retry warning, prefixed:\n{text}"
        );
        let last = lines.iter().rev().find(|l| !l.is_empty()).unwrap();
        assert!(
            last.starts_with("idm-export: exported ") && last.contains(" users"),
            "{plain:?}: ends with the summary:\n{text}"
        );
    }
}

/// `n` users mapped for OneLogin, without groups or custom attributes.
fn mapped_users(n: usize, prefix: &str) -> String {
    (0..n)
        .map(|i| {
            json!({"kind": "user", "source": "okta", "id": format!("{prefix}{i}"),
                   "target": "onelogin",
                   "data": {"email": format!("{prefix}{i}@operator.example"),
                            "username": format!("{prefix}{i}"),
                            "firstname": "Op", "lastname": format!("Erator{i}"),
                            "state": 1, "status": 1}})
            .to_string()
                + "\n"
        })
        .collect()
}

fn load_command(sb: &Sandbox, dir: &Path) -> Command {
    let mut cmd = Command::new(bin("idm-load"));
    cmd.env("IDM_ONELOGIN_URL", sb.onelogin_url())
        .env("IDM_ONELOGIN_CLIENT_ID", sb.onelogin_client_id())
        .env("IDM_ONELOGIN_CLIENT_SECRET", sb.onelogin_client_secret())
        .env("IDM_STATE", dir.join("state.ndjson"))
        .env_remove("RUST_LOG")
        .env_remove("IDM_STATS_INTERVAL")
        .env_remove("NO_COLOR")
        .current_dir(dir);
    cmd
}

#[test]
fn a_long_load_logged_to_a_file_prints_status_lines_and_ends_with_the_summary() {
    // 26 creates at one call a second: about half a minute, long enough for two status lines
    // at the default interval of 10 s
    let sb = Sandbox::start(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ready.ndjson");
    std::fs::write(&input, mapped_users(26, "op.slow")).unwrap();
    let log = dir.path().join("load.log");
    let started = Instant::now();
    let status = load_command(&sb, dir.path())
        .args(["--apply", "--rate-limit", "60/min", "-i"])
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("results.ndjson"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&log).unwrap())
        .status()
        .unwrap();
    let took = started.elapsed();
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(
        !text.contains('\x1b'),
        "escape codes in a log file:\n{text}"
    );
    let status_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("idm-load: loading: "))
        .collect();
    assert!(
        status_lines.len() >= 2,
        "two status lines in {took:?} at 10 s intervals:\n{text}"
    );
    for l in &status_lines {
        // `idm-load: loading: 9/26 (34 %), 1.0/s, eta 17 s`
        assert!(l.contains("/26 (") && l.contains(" %), "), "{l}");
        assert!(l.contains("/s") || l.contains("/min"), "{l}");
    }
    assert!(
        status_lines.iter().any(|l| l.contains(", eta ")),
        "an ETA while loading:\n{text}"
    );
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "idm-load: applied 26 results (26 create; 0 failed, 0 rejected input lines; "
        ),
        "the last line is the summary:\n{text}"
    );
    assert!(
        last.contains(" API calls) in ") && last.ends_with(" s"),
        "{last}"
    );
}

#[test]
fn every_tool_ends_with_one_summary_line_and_q_silences_it() {
    let sb = sandbox(30);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.ndjson");
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (export, mapped, ready) = (
        path("export.ndjson"),
        path("mapped.ndjson"),
        path("ready.ndjson"),
    );
    // (tool, args, its summary line, whether it talks to the services)
    let steps: Vec<(&str, Vec<&str>, &str, bool)> = vec![
        (
            "idm-export",
            vec!["-o", &export],
            "idm-export: exported ",
            true,
        ),
        (
            "idm-map",
            vec!["-i", &export, "-o", &mapped],
            "idm-map: mapped ",
            false,
        ),
        (
            "idm-attrs",
            vec!["-i", &mapped, "-o", &ready],
            "idm-attrs: passed on ",
            true,
        ),
        (
            "idm-load",
            vec!["-i", &ready, "-o", "/dev/null"],
            "idm-load: planned ",
            true,
        ),
        // without a connection: the tenant lacks the attributes the CSV has columns for
        (
            "idm-csv",
            vec!["-i", &mapped, "-o", "/dev/null"],
            "idm-csv: wrote ",
            false,
        ),
    ];
    let run = |tool: &str, args: &[&str], services: bool| {
        let t = Tool::new(tool).args(args).env("IDM_STATE", &state);
        let t = if services {
            t.okta(&sb).onelogin(&sb)
        } else {
            t
        };
        t.run()
    };
    for (tool, args, summary, services) in &steps {
        let ran = run(tool, args, *services);
        assert!(matches!(ran.code, Some(0 | 3)), "{}", ran.show());
        let last = ran.stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with(summary) && last.contains(" in ") && last.ends_with(" s"),
            "{tool} does not end with its summary line:\n{}",
            ran.show()
        );
        let quiet_args: Vec<&str> = args.iter().copied().chain(["-q"]).collect();
        let quiet = run(tool, &quiet_args, *services);
        assert_eq!(quiet.code, ran.code, "{}", quiet.show());
        assert!(
            !quiet.stderr.contains(summary),
            "-q silences the summary:\n{}",
            quiet.show()
        );
    }
}

/// A port that was free a moment ago: nothing listens there.
fn closed_port() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

#[test]
fn a_closed_port_fails_in_seconds_with_exit_1_and_one_line() {
    let url = closed_port();
    for (tool, flag) in [
        ("idm-load", "--onelogin-url"),
        ("idm-attrs", "--onelogin-url"),
        ("idm-csv", "--onelogin-url"),
        ("idm-export", "--okta-url"),
    ] {
        let started = Instant::now();
        let run = Tool::new(tool)
            .args([flag, &url])
            .env("IDM_ONELOGIN_CLIENT_ID", "cid")
            .env("IDM_ONELOGIN_CLIENT_SECRET", "not-used")
            .env("IDM_OKTA_TOKEN", "not-used")
            .run();
        let took = started.elapsed();
        run.expect(1);
        assert!(took < Duration::from_secs(5), "{tool} took {took:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.show());
        assert!(
            run.stderr.contains(&format!("cannot reach `{url}`")),
            "{}",
            run.show()
        );
    }
}

#[test]
fn a_wrong_onelogin_url_names_the_url_not_the_secret() {
    let sb = Sandbox::start(SandboxConfig::default()).unwrap();
    let secret = sb.onelogin_client_secret().to_string();
    let load = |url: &str, secret: &str| {
        Tool::new("idm-load")
            .env("IDM_ONELOGIN_URL", url)
            .env("IDM_ONELOGIN_CLIENT_ID", sb.onelogin_client_id())
            .env("IDM_ONELOGIN_CLIENT_SECRET", secret)
            .env("IDM_OKTA_URL", sb.okta_url())
            .env("IDM_STATE", "/nonexistent/state.ndjson")
            .run()
    };
    // a path after the host: OneLogin refuses the token request there with a 401
    let with_path = format!("{}/api/2", sb.onelogin_url());
    let run = load(&with_path, &secret);
    run.expect(1);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.show());
    assert!(
        run.stderr.contains(&format!("`{with_path}`")),
        "{}",
        run.show()
    );
    assert!(
        run.stderr.contains("path after the host (`/api/2`)"),
        "{}",
        run.show()
    );
    assert!(
        !run.stderr.contains("secret"),
        "blames the secret:\n{}",
        run.show()
    );

    // the Okta org given as the OneLogin URL
    let run = load(sb.okta_url(), &secret);
    run.expect(1);
    assert!(run.stderr.contains("answers like Okta"), "{}", run.show());
    assert!(run.stderr.contains("IDM_OKTA_URL"), "{}", run.show());
    assert!(!run.stderr.contains("secret"), "{}", run.show());

    // the right URL and a wrong secret: the credential and the URL are named
    let run = load(sb.onelogin_url(), "wrong-secret-value");
    run.expect(1);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.show());
    assert!(
        run.stderr.contains(&format!("`{}`", sb.onelogin_url())),
        "{}",
        run.show()
    );
    assert!(
        run.stderr.contains("IDM_ONELOGIN_CLIENT_SECRET"),
        "{}",
        run.show()
    );
    assert!(!run.stderr.contains("wrong-secret-value"), "{}", run.show());
    assert!(!run.stderr.contains(&secret));
}

#[test]
fn an_unmapped_export_fed_to_idm_load_is_one_usage_error() {
    let sb = Sandbox::start(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // what idm-export writes: no `target`
    let export: String = (0..500)
        .map(|i| {
            json!({"kind": "user", "source": "okta", "id": format!("00u{i}"),
                   "data": {"id": format!("00u{i}"), "profile": {"login": format!("u{i}@x.org")}}})
            .to_string()
                + "\n"
        })
        .collect();
    let out = load_command(&sb, dir.path())
        .args(["--rate-limit", "none"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = crate::util::feed(out, export.into_bytes())
        .wait_with_output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("`idm-map --to onelogin`"), "{stderr}");
    assert_eq!(sb.stats(Side::OneLogin)["writes"], 0);
}
