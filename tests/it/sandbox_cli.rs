//! The `idm-sandbox` binary: the ready line and ready file, `--emit-export`, usage errors.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};

use assert_cmd::prelude::*;
use idm::record::Record;
use idm::sandbox::seed::SeedConfig;
use idm::sandbox::{Sandbox, SandboxConfig, Side};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_idm-sandbox");

/// Kills the server when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn prints_one_ready_line_and_writes_a_private_ready_file() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let mut child = Command::new(BIN)
        .args(["--users", "12", "--seed", "4", "--ready-file"])
        .arg(&ready)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let v: Value = serde_json::from_str(&line).expect("a JSON ready line");
    for k in [
        "okta_url",
        "okta_token",
        "onelogin_url",
        "onelogin_client_id",
        "onelogin_client_secret",
    ] {
        assert!(
            v[k].as_str().is_some_and(|s| !s.is_empty()),
            "no {k} in {line}"
        );
    }
    assert!(
        v["okta_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(
        v["onelogin_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let file = std::fs::read_to_string(&ready).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&file).unwrap(), v);
    let mode = std::fs::metadata(&ready).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the ready file holds credentials");

    let users: Vec<Value> = reqwest::blocking::Client::new()
        .get(format!("{}/api/v1/users", v["okta_url"].as_str().unwrap()))
        .header(
            "Authorization",
            format!("SSWS {}", v["okta_token"].as_str().unwrap()),
        )
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        !users.is_empty() && users.len() < 12,
        "12 seeded, DEPROVISIONED hidden"
    );
    drop(server);
}

#[test]
fn emit_export_writes_the_api_objects_as_export_records() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export.ndjson");
    Command::new(BIN)
        .args([
            "--users",
            "60",
            "--groups",
            "6",
            "--apps",
            "5",
            "--seed",
            "9",
            "--emit-export",
        ])
        .arg(&out)
        .assert()
        .success();
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "exports hold people's data");
    let text = std::fs::read_to_string(&out).unwrap();
    let records: Vec<Record> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("an export envelope"))
        .collect();
    assert!(records.iter().all(|r| r.source == "okta"));
    let order = [
        "attribute",
        "group",
        "user",
        "membership",
        "app",
        "app_assignment",
    ];
    let ranks: Vec<usize> = records
        .iter()
        .map(|r| order.iter().position(|k| r.kind.as_str() == *k).unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "export order");

    // the same seed served by the API: export data is the API's objects, whole
    let sb = Sandbox::start(SandboxConfig {
        seed: SeedConfig {
            users: 60,
            groups: 6,
            apps: 5,
            seed: 9,
        },
        ..SandboxConfig::default()
    })
    .unwrap();
    let norm = |v: &Value, base: &str| -> String { v.to_string().replace(base, "http://ORG") };
    let dump: BTreeSet<String> = sb
        .dump(Side::Okta)
        .into_iter()
        .filter(|r| r["kind"] != "user" || r["data"]["status"] != "DEPROVISIONED")
        .map(|r| {
            format!(
                "{} {} {}",
                r["kind"],
                r["id"],
                norm(&r["data"], sb.okta_url())
            )
        })
        .collect();
    // App assignments are exported as idm-export writes them (the Okta assignment object
    // plus the edge's ids); the dump has the edge's ids only: compare those.
    let edge_ids = |r: &Record| -> Value {
        let mut ids = serde_json::Map::new();
        for key in ["app_id", "group_id", "user_id"] {
            if let Some(v) = r.data.get(key) {
                ids.insert(key.into(), v.clone());
            }
        }
        Value::Object(ids)
    };
    let exported: BTreeSet<String> = records
        .iter()
        .map(|r| {
            let data = if r.kind.as_str() == "app_assignment" {
                assert!(
                    r.data.get("id").is_some(),
                    "an assignment object: {:?}",
                    r.data
                );
                edge_ids(r)
            } else {
                r.data.clone()
            };
            format!(
                "\"{}\" \"{}\" {}",
                r.kind,
                r.id,
                norm(&data, "http://127.0.0.1:0")
            )
        })
        .collect();
    assert_eq!(exported.len(), records.len(), "no record twice");
    let only_dump: Vec<_> = dump.difference(&exported).take(3).collect();
    let only_export: Vec<_> = exported.difference(&dump).take(3).collect();
    assert!(
        only_dump.is_empty() && only_export.is_empty(),
        "only in dump: {only_dump:?}\nonly in export: {only_export:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r.kind.as_str() == "membership" && r.id.contains('/'))
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    for args in [
        vec!["--faults", "boom=0.1"],
        vec!["--okta-rate-limit", "600"],
        vec!["--include-deprovisioned"],
    ] {
        Command::new(BIN)
            .args(&args)
            .assert()
            .code(2)
            .stdout(predicates::str::is_empty());
    }
    let out = Command::new(BIN)
        .args(["--okta-fixture", "/nonexistent/okta.ndjson"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("idm-sandbox: cannot open the okta fixture `/nonexistent/okta.ndjson`"),
        "{err}"
    );
}

#[test]
fn help_shows_example_pipelines_and_exit_codes() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("$ idm-sandbox"), "{help}");
    assert!(help.contains("Exit codes:"), "{help}");
}

/// Start the binary with `args`; the ready line and the server (killed on drop).
fn serve(args: &[&str]) -> (Value, Server) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    (
        serde_json::from_str(&line).expect("a JSON ready line"),
        server,
    )
}

fn okta_get(ready: &Value, path: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .get(format!("{}{path}", ready["okta_url"].as_str().unwrap()))
        .header(
            "Authorization",
            format!("SSWS {}", ready["okta_token"].as_str().unwrap()),
        )
        .send()
        .unwrap()
}

#[test]
fn users_0_alone_is_an_empty_org_to_migrate_into() {
    let (ready, _server) = serve(&["--users", "0"]);
    assert_eq!(ready["onelogin_subdomain"], "idm-sandbox");
    let groups: Vec<Value> = okta_get(&ready, "/api/v1/groups").json().unwrap();
    let names: Vec<&str> = groups
        .iter()
        .map(|g| g["profile"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Everyone"]);
    let apps: Vec<Value> = okta_get(&ready, "/api/v1/apps").json().unwrap();
    assert!(apps.is_empty());
    let users: Vec<Value> = okta_get(&ready, "/api/v1/users").json().unwrap();
    assert!(users.is_empty());
    let schema: Value = okta_get(&ready, "/api/v1/meta/schemas/user/default")
        .json()
        .unwrap();
    assert_eq!(
        schema["definitions"]["custom"]["properties"],
        serde_json::json!({})
    );
    // groups and apps may still be asked for
    let (ready, _server) = serve(&["--users", "0", "--groups", "2", "--apps", "1"]);
    let groups: Vec<Value> = okta_get(&ready, "/api/v1/groups").json().unwrap();
    assert_eq!(groups.len(), 3);
    let apps: Vec<Value> = okta_get(&ready, "/api/v1/apps").json().unwrap();
    assert_eq!(apps.len(), 1);
}

#[test]
fn rate_tiers_and_concurrency_flags() {
    let (ready, _server) = serve(&[
        "--users",
        "3",
        "--okta-rate-limit",
        "tier:enterprise",
        "--okta-concurrency",
        "5",
        "--onelogin-users",
        "30",
    ]);
    let r = okta_get(&ready, "/api/v1/users/00uNOBODY");
    assert_eq!(r.headers()["x-rate-limit-limit"], "1000");
    let r = okta_get(&ready, "/api/v1/apps");
    assert_eq!(r.headers()["x-rate-limit-limit"], "100");
    let stats: Value = reqwest::blocking::get(format!(
        "{}/__admin/stats",
        ready["okta_url"].as_str().unwrap()
    ))
    .unwrap()
    .json()
    .unwrap();
    assert_eq!(stats["tier"], "enterprise");
    assert_eq!(stats["concurrency"]["limit"], 5);
    assert_eq!(stats["emails"]["total"], 0);
    // a source-sized OneLogin account
    let dump = reqwest::blocking::get(format!(
        "{}/__admin/dump",
        ready["onelogin_url"].as_str().unwrap()
    ))
    .unwrap()
    .text()
    .unwrap();
    let users = dump
        .lines()
        .filter(|l| l.starts_with("{\"kind\":\"user\""))
        .count();
    assert!(users > 30, "{users}");
    for bad in [
        &["--okta-rate-limit", "tier:platinum"][..],
        &["--okta-concurrency", "0"][..],
    ] {
        Command::new(BIN).args(bad).assert().code(2);
    }
}
