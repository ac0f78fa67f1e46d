//! A migration the way admins run it, through every tool, against the sandbox: nothing may be
//! lost silently. Rehearsal then production with one working directory, the preflight of
//! `--apply`, upstream rejects, cut-over deltas, a failed export, concurrent applies, accounts
//! of other people, and edges of re-created users.

use std::path::PathBuf;

use idm::journal::Journal;
use idm::sandbox::{FaultKind, FaultRule, Sandbox, SandboxConfig, Side};
use serde_json::{Value, json};

use crate::util::{Ran, Tool};

/// One migration's working directory and its sandbox (Okta source, OneLogin target).
pub struct Mig {
    pub dir: tempfile::TempDir,
    pub sb: Sandbox,
    pub state: PathBuf,
}

fn seeded(users: u64) -> Sandbox {
    let mut cfg = SandboxConfig::default();
    cfg.seed.users = users;
    cfg.seed.groups = 4;
    cfg.seed.apps = 3;
    cfg.seed.seed = 7;
    Sandbox::start(cfg).expect("the sandbox starts")
}

impl Mig {
    pub fn new(users: u64) -> Mig {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("idm-state.ndjson");
        Mig {
            dir,
            sb: seeded(users),
            state,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn tool(&self, name: &str) -> Tool {
        Tool::new(name)
            .okta(&self.sb)
            .onelogin(&self.sb)
            .env("IDM_STATE", &self.state)
            .env("IDM_TEST_RETRY_SLEEP_MS", "5")
            .dir(self.dir.path())
    }

    /// export → map (with a connector for every app) → attrs --apply: `ready.ndjson`.
    pub fn prepare(&self) {
        self.tool("idm-export")
            .args(["-o", "export.ndjson"])
            .run()
            .expect(0);
        let export = std::fs::read_to_string(self.path("export.ndjson")).unwrap();
        let connectors: serde_json::Map<String, Value> = crate::util::records(&export)
            .iter()
            .filter(|r| r["kind"] == "app")
            .map(|r| {
                let label = r["data"]["label"].as_str().unwrap().to_string();
                (
                    label,
                    json!({"saml_2_0": 110016, "openid_connect": 108419, "default": 30112}),
                )
            })
            .collect();
        std::fs::write(
            self.path("connectors.json"),
            Value::Object(connectors).to_string(),
        )
        .unwrap();
        let map = self
            .tool("idm-map")
            .args([
                "--to",
                "onelogin",
                "--connectors",
                "connectors.json",
                "-i",
                "export.ndjson",
                "-o",
                "mapped.ndjson",
            ])
            .run();
        assert!(matches!(map.code, Some(0 | 3)), "{}", map.show());
        self.tool("idm-attrs")
            .args(["--apply", "-i", "mapped.ndjson", "-o", "ready.ndjson"])
            .run()
            .expect(0);
    }

    pub fn load(&self, args: &[&str]) -> Ran {
        self.tool("idm-load")
            .args(["-i", "ready.ndjson"])
            .args(args)
            .run()
    }

    fn writes(&self) -> u64 {
        self.sb.stats(Side::OneLogin)["writes"].as_u64().unwrap()
    }
}

fn of<'a>(results: &'a [Value], of: &str, status: &str) -> Vec<&'a Value> {
    results
        .iter()
        .filter(|r| r["data"]["of"] == of && r["data"]["status"] == status)
        .collect()
}

fn count(dump: &[Value], kind: &str) -> usize {
    dump.iter().filter(|r| r["kind"] == kind).count()
}

#[test]
fn a_rehearsal_journal_is_refused_by_production_and_a_new_one_completes_it() {
    // rehearsal into one tenant, then the same working directory pointed at a fresh one:
    // production got its users but none of its memberships, reported as `skip`
    let rehearsal = Mig::new(60);
    rehearsal.prepare();
    rehearsal.load(&["--apply"]).expect(0);
    let memberships = count(&rehearsal.sb.dump(Side::OneLogin), "membership");

    let production = seeded(60);
    let prod_tool = |name: &str| {
        Tool::new(name)
            .onelogin(&production)
            .env("IDM_STATE", &rehearsal.state)
            .dir(rehearsal.dir.path())
    };
    for args in [
        &["-i", "ready.ndjson"][..],
        &["-i", "ready.ndjson", "--apply"][..],
    ] {
        let refused = prod_tool("idm-load").args(args).run();
        refused.expect(1);
        assert!(
            refused.stderr.contains(rehearsal.sb.onelogin_url())
                && refused.stderr.contains(production.onelogin_url())
                && refused.stderr.contains("--rebind-state"),
            "{}",
            refused.show()
        );
    }
    assert_eq!(production.stats(Side::OneLogin)["writes"], 0);
    // its own journal: production is complete
    let fresh = rehearsal.path("production-state.ndjson");
    prod_tool("idm-attrs")
        .args(["--apply", "-i", "mapped.ndjson", "-o", "/dev/null"])
        .env("IDM_STATE", &fresh)
        .run()
        .expect(0);
    prod_tool("idm-load")
        .args(["-i", "ready.ndjson", "--apply"])
        .env("IDM_STATE", &fresh)
        .run()
        .expect(0);
    assert_eq!(
        count(&production.dump(Side::OneLogin), "membership"),
        memberships
    );
}

#[test]
fn the_preflight_refuses_missing_attributes_with_zero_writes_and_force_writes_the_rest() {
    let mig = Mig::new(40);
    mig.prepare();
    // idm-attrs skipped: the mapped records name attributes the tenant lacks
    let refused = mig
        .tool("idm-load")
        .args(["-i", "mapped.ndjson", "--apply"])
        .env("IDM_STATE", mig.path("other-state.ndjson"))
        .run();
    let fresh = seeded(40);
    let refused_fresh = Tool::new("idm-load")
        .onelogin(&fresh)
        .env("IDM_STATE", mig.path("fresh-state.ndjson"))
        .dir(mig.dir.path())
        .args(["-i", "mapped.ndjson", "--apply"])
        .run();
    refused_fresh.expect(1);
    assert!(
        refused_fresh
            .stderr
            .contains("custom attributes are not defined")
            && refused_fresh.stderr.contains("idm-attrs --apply"),
        "{}",
        refused_fresh.show()
    );
    assert_eq!(fresh.stats(Side::OneLogin)["writes"], 0, "zero writes");
    // (the first tenant has its attributes: no refusal there)
    refused.expect(0);
    let forced = Tool::new("idm-load")
        .onelogin(&fresh)
        .env("IDM_STATE", mig.path("fresh-state.ndjson"))
        .dir(mig.dir.path())
        .args(["-i", "mapped.ndjson", "--apply", "--force"])
        .run();
    forced.expect(3);
    let records = forced.records();
    assert!(!of(&records, "user", "failed").is_empty());
    assert!(!of(&records, "group", "ok").is_empty());
}

#[test]
fn upstream_rejects_leave_idm_load_at_exit_0_and_a_rerun_writes_nothing() {
    // the seeded tenant has duplicate emails: idm-map rejects those users, and their
    // memberships must not become `failed` results in idm-load
    let mig = Mig::new(120);
    mig.prepare();
    let map_stderr = mig
        .tool("idm-map")
        .args([
            "--to",
            "onelogin",
            "--connectors",
            "connectors.json",
            "-i",
            "export.ndjson",
        ])
        .run();
    map_stderr.expect(3);
    let first = mig.load(&["--apply"]);
    first.expect(0);
    assert!(
        first
            .records()
            .iter()
            .all(|r| r["data"]["status"] != "failed"),
        "{}",
        first.show()
    );
    let writes = mig.writes();
    let again = mig.load(&["--apply"]);
    again.expect(0);
    assert_eq!(mig.writes(), writes, "a re-run writes nothing");
}

/// An Okta API call with the sandbox's token.
fn okta(sb: &Sandbox, method: &str, path: &str, body: Option<Value>) -> Value {
    let client = reqwest::blocking::Client::new();
    let url = format!("{}{path}", sb.okta_url());
    let mut req = client
        .request(method.parse().unwrap(), url)
        .header("Authorization", format!("SSWS {}", sb.okta_token()))
        .header("Accept", "application/json");
    req = match body {
        Some(b) => req.json(&b),
        None => req.header("Content-Length", "0"),
    };
    let resp = req.send().unwrap();
    assert!(
        resp.status().is_success(),
        "{method} {path}: {}",
        resp.status()
    );
    resp.json().unwrap_or(Value::Null)
}

/// A OneLogin API call with a fresh token.
pub fn onelogin(sb: &Sandbox, method: &str, path: &str) -> reqwest::blocking::Response {
    let client = reqwest::blocking::Client::new();
    let token: Value = client
        .post(format!("{}/auth/oauth2/v2/token", sb.onelogin_url()))
        .basic_auth(sb.onelogin_client_id(), Some(sb.onelogin_client_secret()))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    client
        .request(
            method.parse().unwrap(),
            format!("{}{path}", sb.onelogin_url()),
        )
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .unwrap()
}

#[test]
fn a_cut_over_updates_a_user_this_migration_created() {
    let mig = Mig::new(40);
    mig.prepare();
    let results = mig.load(&["--apply"]).records();
    // a user the migration created (not one that was in the tenant before), and its Okta id
    let created = results
        .iter()
        .find(|r| r["data"]["of"] == "user" && r["data"]["op"] == "create")
        .unwrap();
    let okta_id = created["id"].as_str().unwrap().to_string();
    okta(
        &mig.sb,
        "POST",
        &format!("/api/v1/users/{okta_id}"),
        Some(json!({"profile": {"title": "Chief Cut-over Officer"}})),
    );
    mig.tool("idm-export")
        .args(["--since", "last", "-o", "delta.ndjson"])
        .run()
        .expect(0);
    let map = mig
        .tool("idm-map")
        .args([
            "--to",
            "onelogin",
            "--connectors",
            "connectors.json",
            "-i",
            "delta.ndjson",
            "-o",
            "delta-mapped.ndjson",
        ])
        .run();
    assert!(matches!(map.code, Some(0 | 3)), "{}", map.show());
    let plan = mig
        .tool("idm-load")
        .args(["-i", "delta-mapped.ndjson"])
        .run();
    plan.expect(0);
    let planned = plan
        .records()
        .into_iter()
        .find(|r| r["id"] == okta_id.as_str())
        .unwrap_or_else(|| panic!("the changed user is not in the plan: {}", plan.show()));
    assert_eq!(planned["data"]["op"], "update", "{planned}");
    assert_eq!(
        planned["data"]["changes"]["title"]["to"], "Chief Cut-over Officer",
        "{planned}"
    );
    mig.tool("idm-load")
        .args(["-i", "delta-mapped.ndjson", "--apply"])
        .run()
        .expect(0);
    let target_id = planned["data"]["target_id"].as_str().unwrap();
    let user: Value = onelogin(&mig.sb, "GET", &format!("/api/2/users/{target_id}"))
        .json()
        .unwrap();
    assert_eq!(user["title"], "Chief Cut-over Officer");
}

/// `idm-map --to onelogin` from `export.ndjson` to `mapped.ndjson`.
fn map_to_onelogin(mig: &Mig) -> Ran {
    mig.tool("idm-map")
        .args([
            "--to",
            "onelogin",
            "-i",
            "export.ndjson",
            "-o",
            "mapped.ndjson",
        ])
        .run()
}

/// idm-attrs and idm-load both refuse `file` as incomplete (exit 1, the reason said).
fn attrs_and_load_refuse_incomplete(mig: &Mig, file: &str) {
    for tool in ["idm-attrs", "idm-load"] {
        let refused = mig.tool(tool).args(["-i", file, "--apply"]).run();
        refused.expect(1);
        assert!(
            refused.stderr.contains("the input is incomplete"),
            "{}",
            refused.show()
        );
    }
}

/// `file` is a stream cut short: its begin marker, no end marker.
fn assert_cut_short(mig: &Mig, file: &str) {
    let text = std::fs::read_to_string(mig.path(file)).unwrap();
    assert!(
        text.contains(r#""id":"begin""#) && !text.contains(r#""id":"end""#),
        "{file}: {text}"
    );
}

#[test]
fn a_failed_export_is_never_loaded_as_a_whole_tenant() {
    // with Okta failing mid-export, the pipeline ended with idm-load exit 0 and a tenant
    // without memberships or apps
    let mig = Mig::new(40);
    mig.sb.script_fault(
        Side::Okta,
        FaultRule::new(FaultKind::ServerError)
            .path("/api/v1/groups/*")
            .times(1000),
    );
    let export = mig
        .tool("idm-export")
        .args(["--retries", "1", "-o", "export.ndjson"])
        .run();
    export.expect(1);
    assert_cut_short(&mig, "export.ndjson");
    let map = map_to_onelogin(&mig);
    map.expect(1);
    assert!(map.stderr.contains("incomplete"), "{}", map.show());
    attrs_and_load_refuse_incomplete(&mig, "mapped.ndjson");
    assert_eq!(mig.writes(), 0);
}

#[test]
fn an_export_cut_off_before_its_first_record_stays_incomplete_down_the_pipeline() {
    // an export that failed before it wrote a record (its listings run in parallel, so a
    // failing one can end it first) left a lone begin marker; idm-map wrote an empty file,
    // which read as a whole, empty tenant, and idm-attrs passed it with exit 0
    let mig = Mig::new(5);
    std::fs::write(
        mig.path("export.ndjson"),
        "{\"kind\":\"stream\",\"source\":\"idm\",\"id\":\"begin\",\"data\":{\"tool\":\"idm-export\"}}\n",
    )
    .unwrap();
    let map = map_to_onelogin(&mig);
    map.expect(1);
    assert_cut_short(&mig, "mapped.ndjson");
    attrs_and_load_refuse_incomplete(&mig, "mapped.ndjson");
    // taken anyway, idm-attrs passes it on still cut short: the load refuses it as well
    let taken = mig
        .tool("idm-attrs")
        .args([
            "-i",
            "mapped.ndjson",
            "--allow-incomplete",
            "-o",
            "ready.ndjson",
        ])
        .run();
    taken.expect(0);
    assert_cut_short(&mig, "ready.ndjson");
    mig.tool("idm-load")
        .args(["-i", "ready.ndjson", "--apply", "-o", "results.ndjson"])
        .run()
        .expect(1);
    // and its results say they are not a whole run
    assert_cut_short(&mig, "results.ndjson");
    assert_eq!(mig.writes(), 0);
}

#[test]
fn a_second_apply_on_one_journal_refuses_while_the_first_owns_it() {
    // two applies at once duplicated apps and roles: the journal lock covered single appends
    let mig = Mig::new(30);
    mig.prepare();
    let (journal, _) = Journal::open(&mig.state).unwrap();
    let owner = journal.own().unwrap();
    let before = mig.writes();
    let second = mig.load(&["--apply"]);
    second.expect(1);
    assert!(
        second.stderr.contains("in use by another"),
        "{}",
        second.show()
    );
    assert_eq!(mig.writes(), before);
    drop(owner);
    mig.load(&["--apply"]).expect(0);
}

#[test]
fn an_account_of_another_person_is_never_adopted() {
    // a username match with another email adopted someone else's account
    let mig = Mig::new(30);
    mig.prepare();
    let ready = crate::util::records(&std::fs::read_to_string(mig.path("ready.ndjson")).unwrap());
    // the other person, created by hand in the tenant with the username of a migrated user
    // that is not in the tenant yet
    let client = reqwest::blocking::Client::new();
    let token: Value = client
        .post(format!("{}/auth/oauth2/v2/token", mig.sb.onelogin_url()))
        .basic_auth(
            mig.sb.onelogin_client_id(),
            Some(mig.sb.onelogin_client_secret()),
        )
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let (victim, other_id) = ready
        .iter()
        .filter(|r| r["kind"] == "user" && r["data"]["username"].is_string())
        .find_map(|victim| {
            let resp = client
                .post(format!("{}/api/2/users", mig.sb.onelogin_url()))
                .bearer_auth(token["access_token"].as_str().unwrap())
                .json(&json!({"email": "someone.else@elsewhere.example",
                              "username": victim["data"]["username"],
                              "firstname": "Someone", "lastname": "Else"}))
                .send()
                .unwrap();
            if !resp.status().is_success() {
                return None; // that username is taken already: the next one
            }
            let other: Value = resp.json().unwrap();
            Some((victim, other["id"].as_u64()?))
        })
        .expect("a migrated username free in the tenant");
    let before = mig.writes();
    let refused = mig.load(&["--apply"]);
    refused.expect(1);
    assert!(
        refused.stderr.contains("belongs to another person"),
        "{}",
        refused.show()
    );
    assert_eq!(mig.writes(), before, "the preflight wrote nothing");
    let forced = mig.load(&["--apply", "--force"]);
    forced.expect(3);
    let records = forced.records();
    let failed = of(&records, "user", "failed");
    assert_eq!(failed.len(), 1, "{}", forced.show());
    assert_eq!(failed[0]["id"], victim["id"]);
    let after: Value = onelogin(&mig.sb, "GET", &format!("/api/2/users/{other_id}"))
        .json()
        .unwrap();
    assert_eq!(after["email"], "someone.else@elsewhere.example");
}

#[test]
fn a_user_deleted_in_the_target_comes_back_with_its_memberships() {
    let mig = Mig::new(40);
    mig.prepare();
    let first = mig.load(&["--apply"]);
    first.expect(0);
    let results = first.records();
    let (user, target_id) = results
        .iter()
        .filter(|r| r["data"]["of"] == "membership" && r["data"]["op"] == "assign")
        .find_map(|m| {
            let user = m["id"].as_str()?.split('/').nth(1)?.to_string();
            let created = results
                .iter()
                .find(|r| r["id"] == user.as_str() && r["data"]["op"] == "create")?;
            Some((user, created["data"]["target_id"].as_str()?.to_string()))
        })
        .expect("a created user with a membership");
    let resp = onelogin(&mig.sb, "DELETE", &format!("/api/2/users/{target_id}"));
    assert!(resp.status().is_success());
    let again = mig.load(&["--apply"]);
    again.expect(0);
    let records = again.records();
    let recreated = records.iter().find(|r| r["id"] == user.as_str()).unwrap();
    assert_eq!(recreated["data"]["op"], "create", "{recreated}");
    let edges: Vec<&Value> = records
        .iter()
        .filter(|r| {
            r["data"]["of"] == "membership"
                && r["id"]
                    .as_str()
                    .is_some_and(|id| id.ends_with(&format!("/{user}")))
        })
        .collect();
    assert!(!edges.is_empty());
    for e in edges {
        assert_eq!(e["data"]["op"], "assign", "{e}");
        assert_eq!(e["data"]["status"], "ok", "{e}");
    }
}
