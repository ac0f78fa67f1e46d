//! `idm-export --from onelogin` against the sandbox's OneLogin account as a migration source:
//! the export is the account (every kind, whole objects, every state and status), pages are
//! walked by cursor, `--since last` takes only changed users, the server's quota is kept, and
//! idm-map takes every record of it `--to onelogin` or says why not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use idm::http::{Client, ClientOptions, Service};
use idm::provider::onelogin::OneLoginClient;
use idm::record::schema::Schemas;
use idm::sandbox::seed::SeedConfig;
use idm::sandbox::{Sandbox, SandboxConfig, Side};
use idm::secrets::Secret;
use serde_json::{Value, json};

use crate::util::{Ran, Tool, records};

/// A sandbox whose OneLogin account holds `users` generated users (and a small Okta org).
fn sandbox(users: u64, cfg: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    let mut c = SandboxConfig {
        seed: SeedConfig {
            users: 5,
            groups: 2,
            apps: 1,
            seed: 6,
        },
        onelogin_users: users,
        ..SandboxConfig::default()
    };
    cfg(&mut c);
    Sandbox::start(c).expect("the sandbox starts")
}

/// The account's API, for changing it between exports.
fn api(sb: &Sandbox) -> OneLoginClient {
    let http = Client::new(ClientOptions::new(Service::OneLogin)).unwrap();
    OneLoginClient::new(
        sb.onelogin_url(),
        sb.onelogin_client_id(),
        Secret::new(sb.onelogin_client_secret()),
        http,
    )
}

/// Runs of the tools in one temp dir sharing one journal.
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

    fn export(&self, sb: &Sandbox, args: &[&str]) -> Tool {
        Tool::new("idm-export")
            .onelogin(sb)
            .env_remove("IDM_OKTA_URL")
            .env("IDM_STATE", self.state())
            .dir(self.dir.path())
            .args(["--from", "onelogin"])
            .args(args)
    }

    fn ok(&self, sb: &Sandbox, args: &[&str]) -> Ran {
        let ran = self.export(sb, args).run();
        ran.expect(0);
        ran
    }
}

/// `(kind, id) → data` of what the dump says an export must hold: roles are groups, role
/// users memberships (`<role>/<user>`), role apps app assignments (`<app>/<role>`).
fn expected(dump: &[Value]) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for e in dump {
        let id = e["id"].as_str().unwrap().to_string();
        let d = &e["data"];
        let (kind, id, data) = match e["kind"].as_str().unwrap() {
            "user" => ("user", id, d.clone()),
            "role" => ("group", id, d.clone()),
            "app" => ("app", id, d.clone()),
            "attribute" => ("attribute", id, d.clone()),
            "membership" => {
                let (r, u) = (d["role_id"].to_string(), d["user_id"].to_string());
                (
                    "membership",
                    format!("{r}/{u}"),
                    json!({"group_id": r, "user_id": u}),
                )
            }
            "role_app" => {
                let (r, a) = (d["role_id"].to_string(), d["app_id"].to_string());
                (
                    "app_assignment",
                    format!("{a}/{r}"),
                    json!({"app_id": a, "group_id": r}),
                )
            }
            other => panic!("dump kind `{other}`"),
        };
        assert!(
            out.insert((kind.to_string(), id.clone()), data).is_none(),
            "{kind} {id} twice in the dump"
        );
    }
    out
}

/// `(kind, id) → data` of exported records; every record once.
fn exported(recs: &[Value]) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for r in recs {
        assert_eq!(r["source"], "onelogin", "{r}");
        let key = (
            r["kind"].as_str().unwrap().to_string(),
            r["id"].as_str().unwrap().to_string(),
        );
        assert!(
            out.insert(key.clone(), r["data"].clone()).is_none(),
            "{key:?} exported twice"
        );
    }
    out
}

fn ids(recs: &[Value], kind: &str) -> BTreeSet<String> {
    recs.iter()
        .filter(|r| r["kind"] == kind)
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Same keys, then the same objects (the first difference named, not two huge maps).
fn assert_same(got: &BTreeMap<(String, String), Value>, want: &BTreeMap<(String, String), Value>) {
    let got_keys: BTreeSet<_> = got.keys().collect();
    let want_keys: BTreeSet<_> = want.keys().collect();
    let missing: Vec<_> = want_keys.difference(&got_keys).take(5).collect();
    let extra: Vec<_> = got_keys.difference(&want_keys).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    for (key, data) in want {
        assert_eq!(&got[key], data, "{key:?} is not whole");
    }
}

fn route_count(sb: &Sandbox, route: &str) -> u64 {
    sb.stats(Side::OneLogin)["by_route"][route]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn an_export_is_the_account_whole_in_every_kind_state_and_status() {
    let sb = sandbox(260, |_| {});
    let dump = sb.dump(Side::OneLogin);
    let run = Run::new();
    let ran = run.ok(&sb, &[]);
    let recs = ran.records();
    assert_same(&exported(&recs), &expected(&dump));
    for kind in [
        "attribute",
        "group",
        "user",
        "membership",
        "app",
        "app_assignment",
    ] {
        assert!(!ids(&recs, kind).is_empty(), "no {kind}");
    }
    // every state and every status a OneLogin account can hold
    let users: Vec<&Value> = recs.iter().filter(|r| r["kind"] == "user").collect();
    let states: BTreeSet<i64> = users
        .iter()
        .map(|u| u["data"]["state"].as_i64().unwrap())
        .collect();
    let statuses: BTreeSet<i64> = users
        .iter()
        .map(|u| u["data"]["status"].as_i64().unwrap())
        .collect();
    assert_eq!(states, BTreeSet::from([0, 1, 2, 3]));
    assert_eq!(statuses, BTreeSet::from([0, 1, 2, 3, 4, 5, 7, 8]));
    // kinds in the fixed order, every record valid against its export schema, none warned
    let order = [
        "attribute",
        "group",
        "user",
        "membership",
        "app",
        "app_assignment",
    ];
    let ranks: Vec<usize> = recs
        .iter()
        .map(|r| order.iter().position(|k| r["kind"] == *k).unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "kinds out of order");
    let schemas = Schemas::get();
    for r in &recs {
        schemas
            .validate_value(r)
            .unwrap_or_else(|e| panic!("{}: {e}", r["id"]));
        assert!(r.get("warnings").is_none(), "{r}");
    }
    // the stream is marked complete, the journal bound to this account with a bookmark
    assert!(ran.stdout.lines().last().unwrap().contains("\"end\""));
    let journal = std::fs::read_to_string(run.state()).unwrap();
    assert!(
        journal.contains(r#""side":"source","service":"onelogin""#),
        "{journal}"
    );
    assert!(
        journal.contains(r#""ev":"bookmark","source":"onelogin""#),
        "{journal}"
    );
    // few calls: app assignments came from the app objects, not from each role again
    assert_eq!(route_count(&sb, "GET /api/2/roles/{id}/apps"), 0);
    assert_eq!(
        route_count(&sb, "GET /api/2/apps/{id}"),
        ids(&recs, "app").len() as u64
    );
}

#[test]
fn small_pages_are_walked_by_cursor_to_the_same_records() {
    let sb = sandbox(120, |_| {});
    let run = Run::new();
    let whole = run.ok(&sb, &[]).records();
    let before = sb.stats(Side::OneLogin);
    let paged = run.ok(&sb, &["--page-size", "7"]).records();
    let after = sb.stats(Side::OneLogin);
    let calls = |route: &str| {
        after["by_route"][route].as_u64().unwrap_or(0)
            - before["by_route"][route].as_u64().unwrap_or(0)
    };
    let users = ids(&whole, "user").len() as u64;
    let roles = ids(&whole, "group").len() as u64;
    let apps = ids(&whole, "app").len() as u64;
    assert_eq!(calls("GET /api/2/users"), users.div_ceil(7));
    assert_eq!(calls("GET /api/2/roles"), roles.div_ceil(7));
    assert_eq!(calls("GET /api/2/apps"), apps.div_ceil(7));
    // each role's users: at least one page per role, more for the big ones
    let members = ids(&whole, "membership").len() as u64;
    assert!(calls("GET /api/2/roles/{id}/users") >= roles.max(members.div_ceil(7)));
    assert!(
        users > 7 * 10 && roles > 7 && apps > 7,
        "{users} {roles} {apps}"
    );
    assert_eq!(exported(&paged), exported(&whole));
    // apps and assignments alone: assignments listed per role (no app objects were read)
    let alone = run
        .ok(&sb, &["--objects", "app_assignments", "--page-size", "7"])
        .records();
    assert_eq!(ids(&alone, "app_assignment"), ids(&whole, "app_assignment"));
    assert!(route_count(&sb, "GET /api/2/roles/{id}/apps") >= roles);
}

/// Change a user's title through the API, as an admin would.
fn touch(api: &OneLoginClient, id: &str) {
    api.update_user(
        id.parse().unwrap(),
        &json!({"title": "Changed for the catch-up test"}),
    )
    .unwrap();
}

#[test]
fn since_last_exports_only_the_users_changed_since_the_last_export() {
    let sb = sandbox(150, |_| {});
    let run = Run::new();
    // no bookmark yet: a usage error that says what to do
    let first_try = run.export(&sb, &["--since", "last"]).run();
    first_try.expect(2);
    assert!(
        first_try.stderr.contains("run a full export first"),
        "{}",
        first_try.show()
    );
    let first = run.ok(&sb, &[]).records();
    let users: Vec<String> = ids(&first, "user").into_iter().collect();
    // (the account owner cannot be changed through the API)
    let changed: BTreeSet<String> = first
        .iter()
        .filter(|r| r["kind"] == "user" && r["data"]["username"] != "owner")
        .step_by(13)
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert!(changed.len() >= 10);
    let client = api(&sb);
    for id in &changed {
        touch(&client, id);
    }
    let second = run.ok(&sb, &["--since", "last"]).records();
    assert_eq!(ids(&second, "user"), changed);
    // roles, apps and the edges between them come whole: a delta's edges need them
    for kind in ["attribute", "group", "membership", "app", "app_assignment"] {
        assert_eq!(ids(&second, kind), ids(&first, kind), "{kind}");
    }
    let changed_user = second.iter().find(|r| r["kind"] == "user").unwrap();
    assert_eq!(
        changed_user["data"]["title"],
        "Changed for the catch-up test"
    );
    // the catch-up run moved the bookmark to its start: nothing changed since, but the
    // filter goes by whole seconds, so users changed in the bookmark's own second come again
    let journal = std::fs::read_to_string(run.state()).unwrap();
    let bookmark = journal
        .lines()
        .rfind(|l| l.contains(r#""ev":"bookmark""#))
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["at"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .unwrap();
    let second_of = |t: &str| t[..19].to_string();
    let same_second: BTreeSet<String> = second
        .iter()
        .filter(|r| r["kind"] == "user")
        .filter(|r| second_of(r["data"]["updated_at"].as_str().unwrap()) >= second_of(&bookmark))
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let third = run.ok(&sb, &["--since", "last"]).records();
    assert_eq!(ids(&third, "user"), same_second, "bookmark {bookmark}");
    // an explicit time works too
    let all = run
        .ok(&sb, &["--since", "2000-01-01", "--objects", "users"])
        .records();
    assert_eq!(ids(&all, "user").len(), users.len());
    let journal = std::fs::read_to_string(run.state()).unwrap();
    assert_eq!(
        journal.matches(r#""ev":"bookmark""#).count(),
        3,
        "{journal}"
    );
}

#[test]
fn map_to_onelogin_takes_every_record_or_says_why() {
    let sb = sandbox(260, |_| {});
    // an OIDC app too, so its settings travel
    let created = api(&sb)
        .create_app(&json!({
            "connector_id": 108419, "name": "Customer Portal", "description": "self-service",
            "configuration": {"redirect_uri": "https://portal.example/cb",
                              "login_url": "https://portal.example/login",
                              "oidc_application_type": 0, "token_endpoint_auth_method": 1}
        }))
        .unwrap();
    let portal = created.id().to_string();
    let run = Run::new();
    let export = run.ok(&sb, &[]);
    assert!(
        !export.stdout.contains("client_secret"),
        "a secret in the export"
    );
    let recs = export.records();

    // as it is: users without an address and apps without a connector are rejected, by name
    let plain = Tool::new("idm-map")
        .args(["--to", "onelogin"])
        .stdin(export.stdout.clone())
        .run();
    plain.expect(3);
    let no_email: BTreeSet<String> = recs
        .iter()
        .filter(|r| r["kind"] == "user")
        .filter(|r| {
            let addr = |k: &str| r["data"][k].as_str().is_some_and(|s| s.contains('@'));
            !addr("email") && !addr("username")
        })
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert!(no_email.len() >= 10, "{no_email:?}");
    let mut rejected = BTreeSet::new();
    for line in plain.stderr.lines() {
        let Some((_, rest)) = line.split_once("(onelogin:") else {
            continue;
        };
        let (id, reason) = rest.split_once("): ").unwrap();
        if no_email.contains(id) {
            assert!(reason.starts_with("missing email"), "{line}");
        } else {
            assert!(
                ids(&recs, "app").contains(id) && reason.starts_with("no connector for app"),
                "{line}"
            );
        }
        rejected.insert(id.to_string());
    }
    let want: BTreeSet<String> = no_email.union(&ids(&recs, "app")).cloned().collect();
    assert_eq!(rejected, want);
    assert!(plain.records().iter().all(|r| r["target"] == "onelogin"));

    // with a connector map from the export itself and a domain for username-only users:
    // everything maps, and every mapped record is a valid OneLogin payload
    let connectors: serde_json::Map<String, Value> = recs
        .iter()
        .filter(|r| r["kind"] == "app")
        .map(|r| {
            (
                r["data"]["name"].as_str().unwrap().to_string(),
                r["data"]["connector_id"].clone(),
            )
        })
        .collect();
    let map_file = run.dir.path().join("connectors.json");
    std::fs::write(&map_file, Value::Object(connectors).to_string()).unwrap();
    let mapped = Tool::new("idm-map")
        .args(["--to", "onelogin", "--email-domain", "example.net"])
        .arg("--connectors")
        .arg(&map_file)
        .stdin(export.stdout.clone())
        .run();
    mapped.expect(0);
    let out = mapped.records();
    assert_eq!(out.len(), recs.len(), "{}", mapped.show());
    let schemas = Schemas::get();
    for r in &out {
        assert_eq!(r["target"], "onelogin");
        schemas
            .validate_value(r)
            .unwrap_or_else(|e| panic!("{}: {e}", r["id"]));
    }
    let by = |kind: &str, id: &str| -> Value {
        out.iter()
            .find(|r| r["kind"] == kind && r["id"] == id)
            .unwrap_or_else(|| panic!("no mapped {kind} {id}"))
            .clone()
    };
    let source = |kind: &str, pick: &dyn Fn(&Value) -> bool| -> Value {
        recs.iter()
            .find(|r| r["kind"] == kind && pick(&r["data"]))
            .unwrap()
            .clone()
    };
    // a user keeps its fields, custom attributes and sign-in name
    let badge = source("user", &|d| {
        d["custom_attributes"]["badge_number"].is_string() && d["email"].is_string()
    });
    let m = by("user", badge["id"].as_str().unwrap());
    for key in ["email", "username", "firstname", "lastname"] {
        assert_eq!(m["data"][key], badge["data"][key], "{key}");
    }
    assert_eq!(
        m["data"]["custom_attributes"]["badge_number"],
        badge["data"]["custom_attributes"]["badge_number"]
    );
    assert_eq!(m["data"]["external_id"], badge["id"]);
    // state and status: unlicensed is suspended, security questions active, both warned
    let unlicensed = source("user", &|d| d["state"] == 3 && d["status"] == 1);
    let m = by("user", unlicensed["id"].as_str().unwrap());
    assert_eq!(
        (&m["data"]["state"], &m["data"]["status"]),
        (&json!(1), &json!(2))
    );
    assert!(
        m["warnings"].to_string().contains("state 3 (unlicensed)"),
        "{m}"
    );
    let questions = source("user", &|d| d["status"] == 8 && d["state"] == 1);
    let m = by("user", questions["id"].as_str().unwrap());
    assert_eq!(m["data"]["status"], 1);
    assert!(m["warnings"].to_string().contains("status 8"), "{m}");
    // a username-only user keeps the username and gets username@domain as the address
    let lone = recs
        .iter()
        .find(|r| r["kind"] == "user" && r["id"] == no_email.iter().next().unwrap().as_str())
        .unwrap();
    let m = by("user", lone["id"].as_str().unwrap());
    assert_eq!(m["data"]["username"], lone["data"]["username"]);
    assert_eq!(
        m["data"]["email"],
        format!("{}@example.net", lone["data"]["username"].as_str().unwrap())
    );
    // roles keep their names, apps their connector, name and settings
    let role = source("group", &|_| true);
    assert_eq!(
        by("group", role["id"].as_str().unwrap())["data"],
        json!({"name": role["data"]["name"]})
    );
    let saml = source("app", &|d| d["auth_method"] == 2);
    let m = by("app", saml["id"].as_str().unwrap());
    assert_eq!(m["data"]["connector_id"], saml["data"]["connector_id"]);
    assert_eq!(m["data"]["name"], saml["data"]["name"]);
    assert_eq!(
        m["data"]["configuration"]["signature_algorithm"],
        saml["data"]["configuration"]["signature_algorithm"]
    );
    let m = by("app", &portal);
    assert_eq!(m["data"]["connector_id"], 108419);
    assert_eq!(
        m["data"]["configuration"],
        json!({"redirect_uri": "https://portal.example/cb", "login_url": "https://portal.example/login",
               "oidc_application_type": 0, "token_endpoint_auth_method": 1})
    );
    assert_eq!(m["data"]["description"], "self-service");
    // edges pass through with the source's ids
    let edge = source("membership", &|_| true);
    assert_eq!(
        by("membership", edge["id"].as_str().unwrap())["data"],
        edge["data"]
    );
    let attr = source("attribute", &|_| true);
    assert_eq!(
        by("attribute", attr["id"].as_str().unwrap())["data"]["shortname"],
        attr["data"]["shortname"]
    );
}

#[test]
fn the_accounts_own_quota_is_kept_without_a_client_side_one() {
    // 20 calls per 10 s; the export needs about twice that: it must slow down, not hit 429s
    let sb = sandbox(40, |c| {
        c.onelogin_rate_limit = Some("20/10s".parse().unwrap());
    });
    let run = Run::new();
    let recs = run.ok(&sb, &["--rate-limit", "none"]).records();
    assert!(!ids(&recs, "user").is_empty());
    let stats = sb.stats(Side::OneLogin);
    assert!(stats["requests"].as_u64().unwrap() > 20, "{stats}");
    assert_eq!(stats["over_limit"], 0, "{stats}");
    assert!(stats["by_status"].get("429").is_none(), "{stats}");
}

#[test]
fn faults_on_the_way_do_not_change_the_export() {
    let sb = sandbox(120, |c| {
        c.faults = "500=0.08,reset=0.03".parse().unwrap();
    });
    let dump = sb.dump(Side::OneLogin);
    let run = Run::new();
    let ran = run
        .export(&sb, &["--retries", "10"])
        .env("IDM_TEST_RETRY_SLEEP_MS", "5")
        .run();
    ran.expect(0);
    let injected: u64 = sb.stats(Side::OneLogin)["faults"]
        .as_object()
        .map(|f| f.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    assert!(injected > 0, "no fault was injected");
    assert_same(&exported(&ran.records()), &expected(&dump));
}

#[test]
fn another_account_bad_credentials_and_okta_flags_are_refused() {
    let sb = sandbox(20, |_| {});
    let run = Run::new();
    let snaps = run.dir.path().join("snaps");
    run.ok(&sb, &["--snapshot-dir", snaps.to_str().unwrap()]);
    let mut names: Vec<String> = std::fs::read_dir(&snaps)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for kind in [
        "app",
        "app_assignment",
        "attribute",
        "group",
        "membership",
        "user",
    ] {
        assert_eq!(
            names
                .iter()
                .filter(|n| n.starts_with(&format!("onelogin_{kind}_2")))
                .count(),
            1,
            "{kind}: {names:?}"
        );
    }
    // the journal belongs to this account: another one is refused before anything is read
    let other = sandbox(20, |_| {});
    let refused = run.export(&other, &[]).run();
    refused.expect(1);
    assert!(refused.stderr.contains("onelogin"), "{}", refused.show());
    assert!(records(&refused.stdout).is_empty());
    run.ok(&other, &["--rebind-state"]);
    // a wrong secret: fatal, named, never echoed, no bookmark
    let before = std::fs::read_to_string(run.state()).unwrap();
    let bad = run
        .export(&other, &[])
        .env("IDM_ONELOGIN_CLIENT_SECRET", "wrong-secret-0123456789")
        .run();
    bad.expect(1);
    assert!(
        bad.stderr.contains("IDM_ONELOGIN_CLIENT_SECRET"),
        "{}",
        bad.show()
    );
    assert!(!bad.stderr.contains("wrong-secret"), "{}", bad.show());
    assert!(bad.stdout.is_empty(), "{}", bad.show());
    assert_eq!(std::fs::read_to_string(run.state()).unwrap(), before);
    // Okta's hidden-user flag means nothing here
    let flag = run.export(&other, &["--include-deprovisioned"]).run();
    flag.expect(2);
    assert!(flag.stderr.contains("--from okta"), "{}", flag.show());
}
