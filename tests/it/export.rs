//! idm-export against the sandbox: the real binary, a real (simulated) Okta on 127.0.0.1.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use idm::sandbox::seed::SeedConfig;
use idm::sandbox::{FaultKind, FaultRule, Sandbox, SandboxConfig, Side};
use serde_json::Value;

fn sandbox(users: u64, cfg: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    let mut c = SandboxConfig {
        seed: SeedConfig {
            users,
            groups: 12,
            apps: 5,
            seed: 7,
        },
        ..SandboxConfig::default()
    };
    cfg(&mut c);
    Sandbox::start(c).expect("sandbox starts")
}

/// Runs idm-export in a temp dir with the sandbox's URL and token in the environment.
struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Run {
        Run {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state.ndjson")
    }

    fn cmd(&self, sb: &Sandbox, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_idm-export"));
        c.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("IDM_OKTA_URL", sb.okta_url())
            .env("IDM_OKTA_TOKEN", sb.okta_token())
            .env("IDM_STATE", self.state())
            .args(args);
        c
    }

    fn ok(&self, sb: &Sandbox, args: &[&str]) -> Vec<Value> {
        self.ok_env(sb, args, &[])
    }

    fn ok_env(&self, sb: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Vec<Value> {
        let mut c = self.cmd(sb, args);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", show(&c, &out));
        parse(&out.stdout)
    }
}

fn show(c: &Command, out: &Output) -> String {
    format!(
        "command: {c:?}\nstatus: {}\nstdout (head): {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(2000)]),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The records of an export (its stream markers left out).
fn parse(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|r| r["kind"] != "stream")
        .collect()
}

fn ids(records: &[Value], kind: &str) -> BTreeSet<String> {
    records
        .iter()
        .filter(|r| r["kind"] == kind)
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn deprovisioned(dump: &[Value]) -> BTreeSet<String> {
    dump.iter()
        .filter(|r| r["kind"] == "user" && r["data"]["status"] == "DEPROVISIONED")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_kind_equals_the_sandbox_dump() {
    let sb = sandbox(300, |_| {});
    let dump = sb.dump(Side::Okta);
    let run = Run::new();
    let out = run.ok(&sb, &["--include-deprovisioned", "--rate-limit", "none"]);
    for kind in [
        "attribute",
        "group",
        "user",
        "membership",
        "app",
        "app_assignment",
    ] {
        let want = ids(&dump, kind);
        assert!(!want.is_empty(), "the seed has no {kind}");
        assert_eq!(ids(&out, kind), want, "{kind}");
    }
    assert!(
        !deprovisioned(&dump).is_empty(),
        "the seed has no DEPROVISIONED user"
    );
    // kinds come in the fixed order, each record whole with the envelope
    let order = [
        "attribute",
        "group",
        "user",
        "membership",
        "app",
        "app_assignment",
    ];
    let ranks: Vec<usize> = out
        .iter()
        .map(|r| order.iter().position(|k| r["kind"] == *k).unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "kinds out of order");
    let user = out.iter().find(|r| r["kind"] == "user").unwrap();
    assert_eq!(user["source"], "okta");
    let id = user["id"].as_str().unwrap();
    let in_dump = dump
        .iter()
        .find(|r| r["kind"] == "user" && r["id"] == id)
        .unwrap();
    assert_eq!(user["data"], in_dump["data"], "user data is not whole");
}

#[test]
fn deprovisioned_users_only_with_the_flag() {
    let sb = sandbox(200, |_| {});
    let dump = sb.dump(Side::Okta);
    let gone = deprovisioned(&dump);
    let all = ids(&dump, "user");
    let run = Run::new();
    let without = run.ok(
        &sb,
        &["--objects", "users,memberships", "--rate-limit", "none"],
    );
    let want: BTreeSet<String> = all.difference(&gone).cloned().collect();
    assert_eq!(ids(&without, "user"), want);
    // no membership of a user that was left out
    for m in ids(&without, "membership") {
        let user = m.split('/').nth(1).unwrap();
        assert!(
            !gone.contains(user),
            "membership {m} of a deprovisioned user"
        );
    }
    let with = run.ok(
        &sb,
        &[
            "--objects",
            "users",
            "--include-deprovisioned",
            "--rate-limit",
            "none",
        ],
    );
    assert_eq!(ids(&with, "user"), all);
}

/// Records as text with the sandbox's URL (in `_links`) replaced, sorted.
fn normalized(records: &[Value], sb: &Sandbox) -> Vec<String> {
    let base = sb.okta_url().trim_end_matches('/');
    let mut lines: Vec<String> = records
        .iter()
        .map(|r| r.to_string().replace(base, "http://okta.test"))
        .collect();
    lines.sort();
    lines
}

#[test]
fn faults_do_not_change_the_output() {
    let run = Run::new();
    let clean_sb = sandbox(250, |_| {});
    let clean = run.ok(
        &clean_sb,
        &["--include-deprovisioned", "--rate-limit", "none"],
    );
    let clean = normalized(&clean, &clean_sb);
    drop(clean_sb);
    // another tenant: another journal (a journal belongs to one source tenant)
    let run = Run::new();
    let faulty_sb = sandbox(250, |c| {
        c.faults = "429=0.1,500=0.05,reset=0.02".parse().unwrap();
    });
    let faulty = run.ok_env(
        &faulty_sb,
        &[
            "--include-deprovisioned",
            "--rate-limit",
            "none",
            "--retries",
            "10",
        ],
        &[("IDM_TEST_RETRY_SLEEP_MS", "5")],
    );
    let faulty = normalized(&faulty, &faulty_sb);
    let stats = faulty_sb.stats(Side::Okta);
    let injected: u64 = stats["faults"]
        .as_object()
        .map(|f| f.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    assert!(injected > 0, "no fault was injected: {stats}");
    assert_eq!(clean.len(), faulty.len());
    let first_diff = clean.iter().zip(&faulty).find(|(a, b)| a != b);
    assert!(first_diff.is_none(), "outputs differ: {first_diff:?}");
}

#[test]
fn injected_429s_back_off_briefly_instead_of_sitting_out_the_window() {
    // The sandbox's injected 429s say Remaining 0, like Okta's concurrency limit. Waiting for
    // the window's reset each time would make a faulty export take minutes: the first two
    // 429s in a row of a request back off for seconds, as the retry log shows.
    let sb = sandbox(100, |_| {});
    // skip 1: the first request is the reachability check (`GET /api/v1/users?limit=1`)
    sb.script_fault(
        Side::Okta,
        FaultRule::new(FaultKind::TooManyRequests)
            .path("/api/v1/users")
            .skip(1)
            .times(2),
    );
    let run = Run::new();
    let mut c = run.cmd(&sb, &["--objects", "users", "--rate-limit", "none"]);
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", show(&c, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let waits: Vec<f64> = stderr
        .lines()
        .filter(|l| l.contains("HTTP 429, retrying in "))
        .map(|line| {
            line.split("retrying in ")
                .nth(1)
                .and_then(|r| r.split('s').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unparsable retry line: {line}"))
        })
        .collect();
    assert_eq!(waits.len(), 2, "{stderr}");
    assert!(waits.iter().all(|w| *w < 5.0), "{stderr}");
    assert_eq!(sb.stats(Side::Okta)["faults"]["429"], 2);
}

#[test]
fn max_capacity_50_keeps_to_half_of_a_600_per_minute_limit() {
    // 3000 users in pages of 5: 600 requests to one bucket at 300/min last two minutes, so
    // at least one whole clock-aligned minute window runs at full speed.
    let sb = sandbox(3000, |c| {
        c.okta_rate_limit = Some("600/min".parse().unwrap());
    });
    let run = Run::new();
    let out = run.ok(
        &sb,
        &[
            "--objects",
            "users",
            "--page-size",
            "5",
            "--rate-limit",
            "600/min",
            "--max-capacity",
            "50",
        ],
    );
    assert!(!out.is_empty());
    let stats = sb.stats(Side::Okta);
    assert_eq!(stats["over_limit"], 0, "{stats}");
    let peak = stats["peak_per_window"].as_u64().unwrap();
    eprintln!(
        "peak {peak} per 60 s window of 600, {} requests",
        stats["requests"]
    );
    assert!(
        (285..=315).contains(&peak),
        "peak {peak} per minute: {stats}"
    );
}

/// POST /api/v1/users/{id} with a partial profile, as an admin would change a user.
fn touch_user(sb: &Sandbox, id: &str) {
    let client = idm::http::Client::new(idm::http::ClientOptions::default()).unwrap();
    let token = idm::secrets::Secret::new(format!("SSWS {}", sb.okta_token()));
    let url = format!("{}/api/v1/users/{id}", sb.okta_url().trim_end_matches('/'));
    let body = serde_json::json!({"profile": {"title": "Changed for the catch-up test"}});
    client
        .execute(idm::http::Request::post_json(url, &body).auth_header(&token))
        .unwrap();
}

#[test]
fn since_last_exports_exactly_the_changed_users() {
    let sb = sandbox(150, |_| {});
    let run = Run::new();
    // no bookmark yet: a usage error that says what to do
    let mut c = run.cmd(&sb, &["--since", "last"]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&c, &out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("run a full export first"));

    let first = run.ok(&sb, &["--objects", "users,groups", "--rate-limit", "none"]);
    let users: Vec<String> = ids(&first, "user").into_iter().collect();
    let changed: BTreeSet<String> = users.iter().step_by(17).cloned().collect();
    assert!(changed.len() >= 5);
    for id in &changed {
        touch_user(&sb, id);
    }
    let second = run.ok(
        &sb,
        &[
            "--since",
            "last",
            "--objects",
            "users,groups",
            "--rate-limit",
            "none",
        ],
    );
    assert_eq!(ids(&second, "user"), changed);
    // groups always come whole: a delta's edges need them (and `Everyone` must be known to
    // idm-map, or its app assignments fail at every catch-up)
    assert_eq!(ids(&second, "group"), ids(&first, "group"));
    // the catch-up run moved the bookmark: nothing changed since
    let third = run.ok(&sb, &["--since", "last", "--rate-limit", "none"]);
    assert!(ids(&third, "user").is_empty(), "{third:?}");
    // an explicit time works too
    let all = run.ok(
        &sb,
        &[
            "--since",
            "2000-01-01T00:00:00Z",
            "--objects",
            "users",
            "--rate-limit",
            "none",
        ],
    );
    assert!(ids(&all, "user").len() >= changed.len());
}

#[test]
fn snapshots_and_output_files_are_private() {
    let sb = sandbox(60, |_| {});
    let run = Run::new();
    let snap = run.dir.path().join("snaps");
    let out_file = run.dir.path().join("export.ndjson");
    run.ok(
        &sb,
        &[
            "--rate-limit",
            "none",
            "--snapshot-dir",
            snap.to_str().unwrap(),
            "-o",
            out_file.to_str().unwrap(),
        ],
    );
    let mut names: Vec<String> = std::fs::read_dir(&snap)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 6, "{names:?}");
    for kind in [
        "attribute",
        "group",
        "user",
        "membership",
        "app",
        "app_assignment",
    ] {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(&format!("okta_{kind}_")) && n.ends_with(".ndjson")),
            "{kind}: {names:?}"
        );
    }
    let all = parse(&std::fs::read(&out_file).unwrap());
    let users_file = names.iter().find(|n| n.starts_with("okta_user_")).unwrap();
    let users = parse(&std::fs::read(snap.join(users_file)).unwrap());
    assert_eq!(ids(&users, "user"), ids(&all, "user"));
    assert_mode_600(&out_file);
    assert_mode_600(&snap.join(users_file));
    assert_mode_600(&run.state());
}

fn assert_mode_600(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

#[test]
fn a_bad_token_is_fatal_and_not_echoed() {
    let sb = sandbox(10, |_| {});
    let run = Run::new();
    let mut c = run.cmd(&sb, &["--objects", "users"]);
    c.env("IDM_OKTA_TOKEN", "wrong-token-0123456789");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&c, &out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains("wrong-token"), "{err}");
    assert!(out.stdout.is_empty());
    // and no bookmark for a failed export
    let state = std::fs::read_to_string(run.state()).unwrap_or_default();
    assert!(!state.contains("bookmark"), "{state}");
}

#[test]
fn no_token_and_bad_flags_say_what_is_wrong() {
    let sb = sandbox(10, |_| {});
    let run = Run::new();
    let mut c = run.cmd(&sb, &[]);
    c.env_remove("IDM_OKTA_TOKEN");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&c, &out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("IDM_OKTA_TOKEN"));
    for args in [
        &["--objects", "roles"][..],
        &["--since", "yesterday"],
        &["--max-capacity", "0"],
        &["--rate-limit", "fast"],
    ] {
        let mut c = run.cmd(&sb, args);
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", show(&c, &out));
    }
}

#[test]
fn requests_per_thousand_users_stay_near_the_floor() {
    let sb = sandbox(2000, |_| {});
    let run = Run::new();
    run.ok(&sb, &["--objects", "users", "--rate-limit", "none"]);
    let stats = sb.stats(Side::Okta);
    let requests = stats["requests"].as_u64().unwrap();
    // 2000 users (some DEPROVISIONED, hidden) in pages of 200: at most 10 pages, after the
    // one reachability check (`GET /api/v1/users?limit=1`)
    assert!(requests <= 11, "{requests} requests: {stats}");
}

#[test]
fn numbers_survive_export_and_map_byte_for_byte() {
    // `51.769999999999996` came out of idm-export as `51.77`
    let seeded = sandbox(5, |_| {});
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("okta.ndjson");
    let mut lines = Vec::new();
    let mut patched = false;
    for rec in seeded.dump(Side::Okta) {
        let mut line = serde_json::to_string(&rec).unwrap();
        if !patched && rec["kind"] == "user" && rec["data"]["status"] == "ACTIVE" {
            let close = line.find("\"profile\":{").unwrap() + "\"profile\":{".len();
            line.insert_str(
                close,
                r#""score":51.769999999999996,"big":123456789012345678901234567890,"ratio":1.0,"tiny":1e-7,"#,
            );
            patched = true;
        }
        lines.push(line);
    }
    assert!(patched);
    std::fs::write(&fixture, lines.join("\n") + "\n").unwrap();
    let sb = Sandbox::start(SandboxConfig {
        okta_fixture: Some(fixture),
        ..SandboxConfig::default()
    })
    .unwrap();
    let export = crate::util::Tool::new("idm-export")
        .okta(&sb)
        .env("IDM_STATE", dir.path().join("state.ndjson"))
        .run();
    export.expect(0);
    for literal in [
        "51.769999999999996",
        "123456789012345678901234567890",
        "\"ratio\":1.0",
        "1e-7",
    ] {
        assert!(
            export.stdout.contains(literal),
            "{literal} lost in the export"
        );
    }
    let mapped = crate::util::Tool::new("idm-map")
        .args(["--to", "onelogin"])
        .stdin(export.stdout.clone())
        .run();
    let user = mapped
        .records()
        .into_iter()
        .find(|r| r["data"]["custom_attributes"]["score"].is_string())
        .unwrap_or_else(|| panic!("no mapped user with the numbers: {}", mapped.show()));
    let custom = &user["data"]["custom_attributes"];
    assert_eq!(custom["score"], "51.769999999999996");
    assert_eq!(custom["big"], "123456789012345678901234567890");
    assert_eq!(custom["ratio"], "1.0");
    assert_eq!(custom["tiny"], "1e-7");
}
