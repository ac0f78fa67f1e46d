//! examples/migration.mk driven as a person would drive it: a project file with the tenants'
//! addresses, secrets in the environment, `make plan`, `make apply`, a re-run that does
//! nothing, an apply killed half-way and resumed, and cut-overs, one of which fails and is run
//! again. The sandbox's own counters say what was written.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use idm::sandbox::{Sandbox, SandboxConfig, Side};
use serde_json::{Value, json};

use crate::util::bin;

/// A working directory with the kit and a project file, and the tenants it names.
struct Kit {
    sb: Sandbox,
    dir: tempfile::TempDir,
}

impl Kit {
    fn new(users: u64, seed: u64) -> Kit {
        let mut cfg = SandboxConfig::default();
        cfg.seed.users = users;
        cfg.seed.seed = seed;
        let sb = Sandbox::start(cfg).expect("the sandbox starts");
        let dir = tempfile::tempdir().unwrap();
        let kit = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/migration.mk");
        std::fs::copy(kit, dir.path().join("migration.mk")).unwrap();
        // what a person writes once: addresses and ids, never a secret
        std::fs::write(
            dir.path().join("idm.toml"),
            format!(
                "state = \"state.ndjson\"\n\n[okta]\nurl = \"{}\"\nrate_limit = \"none\"\n\n\
                 [onelogin]\nurl = \"{}\"\nclient_id = \"{}\"\nrate_limit = \"none\"\n",
                sb.okta_url(),
                sb.onelogin_url(),
                sb.onelogin_client_id()
            ),
        )
        .unwrap();
        Kit { sb, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let bin_dir = Path::new(bin("idm-load")).parent().unwrap();
        let mut cmd = Command::new("make");
        cmd.arg("-f")
            .arg("migration.mk")
            .args(args)
            .arg(format!("IDM_BIN={}", bin_dir.display()))
            .current_dir(self.dir.path())
            .env("IDM_OKTA_TOKEN", self.sb.okta_token())
            .env(
                "IDM_ONELOGIN_CLIENT_SECRET",
                self.sb.onelogin_client_secret(),
            )
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        // the project file alone says where the tenants are
        for var in [
            "IDM_OKTA_URL",
            "IDM_ONELOGIN_URL",
            "IDM_ONELOGIN_CLIENT_ID",
            "IDM_STATE",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    fn make(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn make_ok(&self, args: &[&str]) -> String {
        let out = self.make(args);
        assert!(out.status.success(), "make {args:?}: {}", show(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every request either tenant has answered.
    fn requests(&self) -> u64 {
        [Side::Okta, Side::OneLogin]
            .iter()
            .map(|s| self.sb.stats(*s)["requests"].as_u64().unwrap())
            .sum()
    }

    fn writes(&self) -> u64 {
        self.sb.stats(Side::OneLogin)["writes"].as_u64().unwrap()
    }

    fn records(&self, name: &str) -> Vec<Value> {
        crate::util::records(&std::fs::read_to_string(self.path(name)).unwrap())
    }

    /// The OneLogin users by email, and the role names of each.
    fn target_users(&self) -> Vec<(String, Value)> {
        self.sb
            .dump(Side::OneLogin)
            .into_iter()
            .filter(|r| r["kind"] == "user")
            .map(|r| {
                let email = r["data"]["email"].as_str().unwrap_or("").to_lowercase();
                (email, r["data"].clone())
            })
            .collect()
    }

    /// `(role name, user email)` of every OneLogin membership.
    fn target_memberships(&self) -> BTreeSet<(String, String)> {
        let dump = self.sb.dump(Side::OneLogin);
        let name = |kind: &str, key: &str, id: &Value| {
            dump.iter()
                .find(|r| r["kind"] == kind && r["data"]["id"] == *id)
                .map(|r| r["data"][key].as_str().unwrap_or("").to_lowercase())
                .unwrap_or_default()
        };
        dump.iter()
            .filter(|r| r["kind"] == "membership")
            .map(|r| {
                (
                    name("role", "name", &r["data"]["role_id"]),
                    name("user", "email", &r["data"]["user_id"]),
                )
            })
            .collect()
    }

    /// A call on the source Okta org, as its admin would make it.
    fn okta(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let client = reqwest::blocking::Client::new();
        let mut req = client
            .request(method, format!("{}{path}", self.sb.okta_url()))
            .header("Authorization", format!("SSWS {}", self.sb.okta_token()))
            .header("Accept", "application/json");
        req = match body {
            Some(body) => req.json(&body),
            // Okta wants a length even when there is no body
            None => req.header("Content-Length", "0"),
        };
        let r = req.send().unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().unwrap_or(Value::Null)
    }
}

fn show(out: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn users_created(results: &[Value]) -> BTreeSet<String> {
    results
        .iter()
        .filter(|r| r["data"]["of"] == "user" && r["data"]["op"] == "create")
        .map(|r| r["data"]["label"].as_str().unwrap().to_lowercase())
        .collect()
}

fn assert_no_duplicates(kit: &Kit) {
    let users = kit.target_users();
    let emails: BTreeSet<&String> = users.iter().map(|(e, _)| e).collect();
    assert_eq!(emails.len(), users.len(), "a user is in the tenant twice");
}

#[test]
fn plan_apply_then_a_rerun_does_nothing_and_cutovers_carry_the_changes() {
    let kit = Kit::new(60, 11);
    kit.make_ok(&["plan"]);
    for f in [
        "migration/export.ndjson",
        "migration/mapped.ndjson",
        "migration/plan.ndjson",
        "migration/attributes.txt",
        "connectors.json",
    ] {
        assert!(kit.path(f).exists(), "{f}");
    }
    assert_eq!(kit.writes(), 0, "a plan writes nothing");
    let planned = users_created(&kit.records("migration/plan.ndjson"));
    assert!(planned.len() > 20, "{planned:?}");

    kit.make_ok(&["apply"]);
    let created = users_created(&kit.records("migration/results.ndjson"));
    assert_eq!(created, planned, "the apply did what the plan said");
    let emails: BTreeSet<String> = kit.target_users().into_iter().map(|(e, _)| e).collect();
    assert!(created.is_subset(&emails));
    assert_no_duplicates(&kit);
    // the target read back matches, and the sign-off page is made from the files
    kit.make_ok(&["verify", "report"]);
    assert!(kit.path("migration/report.html").exists());
    let verified = kit.records("migration/verify.ndjson");
    assert!(
        verified.iter().any(|r| r["kind"] == "verify"),
        "no verify records"
    );

    // nothing changed: make runs no tool, and no tenant hears from it
    let before = kit.requests();
    assert_eq!(kit.make(&["-q", "apply"]).status.code(), Some(0));
    let again = kit.make_ok(&["apply"]);
    assert!(
        again.contains("Nothing to be done") || again.contains("up to date"),
        "{again}"
    );
    kit.make_ok(&["plan"]);
    assert_eq!(kit.requests(), before, "a re-run called the tenants");

    // at the source, after the migration: a migrated user changes, a new user joins a group
    let results = kit.records("migration/results.ndjson");
    let moved = results
        .iter()
        .find(|r| r["data"]["of"] == "user" && r["data"]["op"] == "create")
        .unwrap();
    let (moved_id, moved_email) = (
        moved["id"].as_str().unwrap(),
        moved["data"]["label"].as_str().unwrap().to_lowercase(),
    );
    kit.okta(
        reqwest::Method::POST,
        &format!("/api/v1/users/{moved_id}"),
        Some(json!({"profile": {"title": "Head of Cut-overs"}})),
    );
    let new = kit.okta(
        reqwest::Method::POST,
        "/api/v1/users?activate=true",
        Some(
            json!({"profile": {"firstName": "Nia", "lastName": "Newcomer",
            "email": "nia.newcomer@example.com", "login": "nia.newcomer@example.com"}}),
        ),
    );
    let groups = kit.okta(reqwest::Method::GET, "/api/v1/groups?limit=50", None);
    let group = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["type"] == "OKTA_GROUP")
        .unwrap();
    let group_name = group["profile"]["name"].as_str().unwrap().to_lowercase();
    kit.okta(
        reqwest::Method::PUT,
        &format!(
            "/api/v1/groups/{}/users/{}",
            group["id"].as_str().unwrap(),
            new["id"].as_str().unwrap()
        ),
        None,
    );

    // a cut-over whose load fails keeps its delta; the next one loads it
    let writes = kit.writes();
    let failed = kit.make(&["cutover", "LOAD_FLAGS=--rate-limit never"]);
    assert!(!failed.status.success(), "{}", show(&failed));
    assert_eq!(kit.writes(), writes);
    assert!(kit.path("migration/delta.ndjson").exists());
    let out = kit.make(&["cutover"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the last delta was not loaded"),
        "{}",
        show(&out)
    );
    assert!(!kit.path("migration/delta.ndjson").exists());
    let users = kit.target_users();
    let title = |email: &str| {
        users
            .iter()
            .find(|(e, _)| e == email)
            .map(|(_, u)| u["title"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(title(&moved_email), "Head of Cut-overs");
    assert!(users.iter().any(|(e, _)| e == "nia.newcomer@example.com"));
    assert!(
        kit.target_memberships()
            .contains(&(group_name, "nia.newcomer@example.com".into())),
        "the new member is not in the role"
    );
    assert_no_duplicates(&kit);

    // and a cut-over with nothing new writes nothing
    let writes = kit.writes();
    kit.make_ok(&["cutover"]);
    assert_eq!(kit.writes(), writes);
}

#[test]
fn an_apply_killed_half_way_is_finished_by_make_apply() {
    let kit = Kit::new(60, 12);
    kit.make_ok(&["plan"]);
    let planned = users_created(&kit.records("migration/plan.ndjson"));
    let attrs_before = kit.writes();
    // slow enough to be caught in the middle: one worker at 10 writes a second
    let mut running = kit
        .command(&["apply", "LOAD_FLAGS=--workers 1 --rate-limit 10/s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = running.id();
    let deadline = Instant::now() + Duration::from_secs(120);
    // kill make and the tools it started once the load is well under way
    loop {
        assert!(
            running.try_wait().unwrap().is_none(),
            "the apply ended before it could be interrupted"
        );
        if kit.writes() >= attrs_before + 40 {
            break;
        }
        assert!(Instant::now() < deadline, "the load did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = running.wait();
    assert!(!kit.path("migration/results.ndjson").exists());
    let partial = kit.target_users().len();

    let out = kit.make(&["apply"]);
    assert!(out.status.success(), "{}", show(&out));
    let emails: BTreeSet<String> = kit.target_users().into_iter().map(|(e, _)| e).collect();
    assert!(emails.len() > partial, "the resumed apply added nobody");
    let missing: Vec<&String> = planned.difference(&emails).collect();
    assert!(missing.is_empty(), "not migrated: {missing:?}");
    assert_no_duplicates(&kit);
    // the journal knows every planned user: another apply is a no-op
    let writes = kit.writes();
    std::fs::remove_file(kit.path("migration/results.ndjson")).unwrap();
    kit.make_ok(&["apply"]);
    assert_eq!(kit.writes(), writes, "a finished migration wrote again");
}
