//! The two newer sources end to end, through every tool, into the sandbox's targets: a seeded
//! OneLogin account into an empty Okta org, and a 10,000-row staging file with bad rows into
//! OneLogin and into Okta. What is checked is the target as its own dump shows it, against the
//! source as its dump (or the generator) says it is: every person the tools did not reject
//! with a reason is there once, roles/groups by name, every membership whose ends arrived, the
//! exit codes of docs/, and a second apply that sends no write.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use idm::http::{Client, ClientOptions, Service};
use idm::provider::onelogin::OneLoginClient;
use idm::sandbox::seed::SeedConfig;
use idm::sandbox::{Sandbox, SandboxConfig, Side};
use idm::secrets::Secret;
use serde_json::{Value, json};

use crate::source_csv::{Generated, HEADER, generate};
use crate::util::{Ran, Tool, records};

/// What `--email-domain` gives to OneLogin usernames that are not addresses.
const DOMAIN: &str = "migrated.example";

/// A sandbox whose Okta org is empty (only `Everyone`, no custom schema) and whose OneLogin
/// account holds its seeded own objects plus `onelogin_users` generated users with roles and
/// apps in proportion.
fn sandbox(onelogin_users: u64) -> Sandbox {
    Sandbox::start(SandboxConfig {
        seed: SeedConfig {
            users: 0,
            groups: 0,
            apps: 0,
            seed: 16,
        },
        onelogin_users,
        ..SandboxConfig::default()
    })
    .expect("the sandbox starts")
}

/// One migration's working directory and journal, its source sandbox (none for a file) and
/// its target sandbox.
struct Mig {
    dir: tempfile::TempDir,
    source: Option<Sandbox>,
    target: Sandbox,
}

impl Mig {
    fn new(source: Option<Sandbox>, target: Sandbox) -> Mig {
        Mig {
            dir: tempfile::tempdir().unwrap(),
            source,
            target,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A tool with the tenants in its environment (no client-side quota) and the journal:
    /// OneLogin is the source's account when there is a source sandbox, else the target's.
    fn tool(&self, name: &str) -> Tool {
        Tool::new(name)
            .onelogin(self.source.as_ref().unwrap_or(&self.target))
            .okta(&self.target)
            .env("IDM_STATE", self.path("state.ndjson"))
            .env("IDM_TEST_RETRY_SLEEP_MS", "5")
            .dir(self.dir.path())
    }

    fn file(&self, name: &str) -> Vec<Value> {
        records(&std::fs::read_to_string(self.path(name)).unwrap())
    }
}

fn writes(sb: &Sandbox, side: Side) -> u64 {
    sb.stats(side)["writes"].as_u64().unwrap()
}

fn of_kind<'a>(recs: &'a [Value], kind: &str) -> impl Iterator<Item = &'a Value> {
    recs.iter().filter(move |r| r["kind"] == kind)
}

fn str_of(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// `idm-map: line N (SOURCE:ID): reason` lines: id → reason, each id once.
fn named(stderr: &str, tool: &str, source: &str) -> BTreeMap<String, String> {
    let prefix = format!("{tool}: line ");
    let mut out = BTreeMap::new();
    for line in stderr.lines().filter(|l| l.starts_with(&prefix)) {
        let (_, rest) = line
            .split_once(&format!("({source}:"))
            .unwrap_or_else(|| panic!("a named line without its record: {line}"));
        let (id, reason) = rest.split_once("): ").unwrap();
        assert!(!reason.trim().is_empty(), "no reason: {line}");
        assert!(
            out.insert(id.to_string(), reason.to_string()).is_none(),
            "{id} named twice"
        );
    }
    out
}

/// The numbers of a summary line: `... mapped 832 records (0 passed through, 33 skipped, …)`.
fn summary(stderr: &str, tool: &str, words: &[&str]) -> Vec<u64> {
    let line = stderr
        .lines()
        .rfind(|l| l.starts_with(&format!("{tool}: ")) && l.contains(words[0]))
        .unwrap_or_else(|| panic!("no summary line in {stderr}"));
    words
        .iter()
        .map(|w| {
            let before = &line[..line
                .find(w)
                .unwrap_or_else(|| panic!("`{w}` not in {line}"))];
            let digits: String = before
                .trim_end()
                .rsplit(' ')
                .next()
                .unwrap()
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            digits.parse().unwrap_or_else(|_| panic!("`{w}` in {line}"))
        })
        .collect()
}

/// Every `skip` result says why; no result failed.
fn assert_results_explained(ran: &Ran) {
    for r in ran.records() {
        let d = &r["data"];
        assert_ne!(d["status"], "failed", "{r}");
        if d["op"] == "skip" {
            assert!(
                d["reason"].as_str().is_some_and(|s| !s.trim().is_empty()),
                "a skip without a reason: {r}"
            );
        }
    }
}

// ---------- the Okta org as its dump shows it ----------

/// One Okta user: lower-cased email, status, the whole profile.
struct OktaUser {
    email: String,
    status: String,
    profile: Value,
}

/// Users by lower-cased login, groups by name, memberships as (group name, login).
struct OktaOrg {
    users: BTreeMap<String, OktaUser>,
    groups: BTreeSet<String>,
    members: BTreeSet<(String, String)>,
}

fn okta_org(sb: &Sandbox) -> OktaOrg {
    let dump = sb.dump(Side::Okta);
    let mut users = BTreeMap::new();
    let mut login_of = BTreeMap::new();
    for u in of_kind(&dump, "user") {
        let p = &u["data"]["profile"];
        let login = p["login"].as_str().unwrap().to_lowercase();
        let user = OktaUser {
            email: p["email"].as_str().unwrap().to_lowercase(),
            status: u["data"]["status"].as_str().unwrap().to_string(),
            profile: p.clone(),
        };
        login_of.insert(str_of(&u["data"]["id"]), login.clone());
        assert!(
            users.insert(login.clone(), user).is_none(),
            "login `{login}` twice in the org"
        );
    }
    let mut groups = BTreeSet::new();
    let mut name_of = BTreeMap::new();
    for g in of_kind(&dump, "group") {
        if g["data"]["type"] == "BUILT_IN" {
            continue;
        }
        let name = g["data"]["profile"]["name"].as_str().unwrap().to_string();
        name_of.insert(str_of(&g["data"]["id"]), name.clone());
        assert!(groups.insert(name.clone()), "group `{name}` twice");
    }
    let members = of_kind(&dump, "membership")
        .filter_map(|m| {
            Some((
                name_of.get(&str_of(&m["data"]["group_id"]))?.clone(),
                login_of[&str_of(&m["data"]["user_id"])].clone(),
            ))
        })
        .collect();
    OktaOrg {
        users,
        groups,
        members,
    }
}

// ---------- a OneLogin account as its dump shows it ----------

/// Users by id (the whole object), roles by id (name), memberships as (role id, user id).
struct OneLoginAccount {
    users: BTreeMap<String, Value>,
    roles: BTreeMap<String, String>,
    members: BTreeSet<(String, String)>,
}

fn onelogin_account(sb: &Sandbox) -> OneLoginAccount {
    let dump = sb.dump(Side::OneLogin);
    OneLoginAccount {
        users: of_kind(&dump, "user")
            .map(|u| (str_of(&u["id"]), u["data"].clone()))
            .collect(),
        roles: of_kind(&dump, "role")
            .map(|r| (str_of(&r["id"]), r["data"]["name"].as_str().unwrap().into()))
            .collect(),
        members: of_kind(&dump, "membership")
            .map(|m| (str_of(&m["data"]["role_id"]), str_of(&m["data"]["user_id"])))
            .collect(),
    }
}

// ---------- OneLogin → Okta ----------

/// The Okta status a OneLogin user ends in (docs/map.md "OneLogin as a source", docs/load.md
/// "Okta: statuses and lifecycle"). A OneLogin export carries no password, so an account that
/// can sign in becomes PROVISIONED (it sets a password through an activation link) and a
/// suspended one STAGED (Okta suspends only active users).
fn okta_status(state: i64, status: i64) -> &'static str {
    match (state, status) {
        (2, _) => "DEPROVISIONED",
        (3, _) | (_, 2) | (0, _) | (_, 0) => "STAGED",
        (1, 1 | 3 | 4 | 5 | 7 | 8) => "PROVISIONED",
        other => panic!("no status for {other:?}"),
    }
}

/// `(login, email)` idm-map gives a OneLogin user with `--email-domain`.
fn okta_identity(u: &Value) -> (String, String) {
    let addr = |k: &str| {
        u[k].as_str()
            .filter(|s| s.contains('@'))
            .map(str::to_lowercase)
    };
    let username = u["username"].as_str().map(str::to_lowercase);
    let login = match (&username, addr("email")) {
        (Some(name), _) if name.contains('@') => name.clone(),
        (Some(name), _) => format!("{name}@{DOMAIN}"),
        (None, Some(email)) => email,
        (None, None) => panic!("a source user without a username or email: {u}"),
    };
    let email = addr("email")
        .or_else(|| addr("username"))
        .unwrap_or_else(|| login.clone());
    (login, email)
}

#[test]
fn onelogin_to_an_empty_okta_org_every_mappable_user_role_and_membership_arrives() {
    let mig = Mig::new(
        Some(sandbox(400)),
        Sandbox::start(SandboxConfig {
            seed: SeedConfig {
                users: 0,
                groups: 0,
                apps: 0,
                seed: 1,
            },
            ..SandboxConfig::default()
        })
        .expect("the target sandbox starts"),
    );
    // two people Okta cannot take (a first name over its 50 characters), one of them in a
    // role: idm-map must reject them by name, and their membership must not be expected
    let source_sb = mig.source.as_ref().unwrap();
    let api = OneLoginClient::new(
        source_sb.onelogin_url(),
        source_sb.onelogin_client_id(),
        Secret::new(source_sb.onelogin_client_secret()),
        Client::new(ClientOptions::new(Service::OneLogin)).unwrap(),
    );
    let long = "Bartholomew-Maximilian-Alexander-Christopher-Fitzgerald";
    let mut too_long = BTreeSet::new();
    for who in ["long.one", "long.two"] {
        let created = api
            .create_user(
                &json!({"username": who, "email": format!("{who}@src.example"),
                                 "firstname": long, "lastname": "Doe"}),
            )
            .unwrap();
        too_long.insert(created.id().to_string());
    }
    let source = onelogin_account(source_sb);
    let role = source.roles.keys().next().unwrap().parse().unwrap();
    let in_role: u64 = too_long.iter().next().unwrap().parse().unwrap();
    api.add_role_users(role, &[in_role]).unwrap();
    let source = onelogin_account(source_sb);
    assert!(source.users.len() > 400 && source.roles.len() > 50);

    // export: the account whole, read-only
    let export = mig
        .tool("idm-export")
        .args(["--from", "onelogin", "-o", "export.ndjson"])
        .run();
    export.expect(0);
    let exported = mig.file("export.ndjson");
    assert_eq!(of_kind(&exported, "user").count(), source.users.len());
    assert_eq!(
        writes(source_sb, Side::OneLogin),
        2 + 1,
        "only the test's own writes"
    );

    // map: apps Okta cannot create and the two long names are rejected with a reason (exit 3)
    let map = mig
        .tool("idm-map")
        .args(["--to", "okta", "--email-domain", DOMAIN])
        .args(["-i", "export.ndjson", "-o", "mapped.ndjson"])
        .args(["--rejects", "map-rejects.ndjson"])
        .run();
    map.expect(3);
    let rejected = named(&map.stderr, "idm-map", "onelogin");
    let rejected_users: BTreeSet<String> = rejected
        .keys()
        .filter(|id| source.users.contains_key(*id))
        .cloned()
        .collect();
    assert_eq!(rejected_users, too_long, "{}", map.show());
    for id in &too_long {
        assert!(
            rejected[id].contains("profile.firstName") && rejected[id].contains("limit of 50"),
            "{id}: {}",
            rejected[id]
        );
    }
    // the rejects file holds exactly the records named on stderr
    let in_rejects: BTreeSet<String> = mig
        .file("map-rejects.ndjson")
        .iter()
        .map(|r| str_of(&r["id"]))
        .collect();
    assert_eq!(in_rejects, rejected.keys().cloned().collect());
    // every exported record is mapped, or named with its reason, or an edge of something
    // named (counted on the line that says why those were skipped)
    let mapped = mig.file("mapped.ndjson");
    let key = |r: &Value| (str_of(&r["kind"]), str_of(&r["id"]));
    let mapped_keys: BTreeSet<(String, String)> = mapped.iter().map(key).collect();
    assert_eq!(mapped_keys.len(), mapped.len());
    let mut edges_skipped = 0u64;
    for r in &exported {
        let (kind, id) = key(r);
        if mapped_keys.contains(&(kind.clone(), id.clone())) || rejected.contains_key(&id) {
            continue;
        }
        let ends: Vec<String> = ["group_id", "user_id", "app_id"]
            .iter()
            .filter_map(|k| r["data"].get(*k).map(str_of))
            .collect();
        assert!(
            matches!(kind.as_str(), "membership" | "app_assignment")
                && ends.iter().any(|e| rejected.contains_key(e)),
            "{kind} {id} neither mapped nor explained"
        );
        edges_skipped += 1;
    }
    assert!(edges_skipped > 0);
    assert!(
        map.stderr.contains(&format!(
            "skipped {edges_skipped} memberships or app assignments of users, groups or apps rejected above"
        )),
        "{}",
        map.show()
    );
    let counts = summary(
        &map.stderr,
        "idm-map",
        &["records (", "skipped", "rejected"],
    );
    assert_eq!(
        counts,
        [mapped.len() as u64, edges_skipped, rejected.len() as u64],
        "the summary line"
    );
    assert_eq!(counts.iter().sum::<u64>(), exported.len() as u64);

    // attrs: the account's custom attributes become Okta profile properties
    mig.tool("idm-attrs")
        .args([
            "--to",
            "okta",
            "--apply",
            "-i",
            "mapped.ndjson",
            "-o",
            "ready.ndjson",
        ])
        .run()
        .expect(0);
    let attr_writes = writes(&mig.target, Side::Okta);
    assert!(attr_writes > 0);
    // the plan writes nothing; the apply exits 0 (upstream rejects are not failures here)
    let plan = mig
        .tool("idm-load")
        .args(["--to", "okta", "-i", "ready.ndjson"])
        .run();
    plan.expect(0);
    assert_eq!(writes(&mig.target, Side::Okta), attr_writes);
    let apply = mig
        .tool("idm-load")
        .args([
            "--to",
            "okta",
            "--apply",
            "--workers",
            "4",
            "-i",
            "ready.ndjson",
        ])
        .run();
    apply.expect(0);
    assert_results_explained(&apply);

    // every mappable user, once, by login and email, in the status the tables give
    let org = okta_org(&mig.target);
    let want: BTreeMap<String, &Value> = source
        .users
        .iter()
        .filter(|(id, _)| !rejected_users.contains(*id))
        .map(|(_, u)| (okta_identity(u).0, u))
        .collect();
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        org.users.keys().collect::<Vec<_>>(),
        "the org's users are the source's mappable users"
    );
    let mut customs = 0;
    for (login, u) in &want {
        let got = &org.users[login];
        assert_eq!(got.email, okta_identity(u).1, "{login}: email");
        let status = okta_status(u["state"].as_i64().unwrap(), u["status"].as_i64().unwrap());
        assert_eq!(got.status, status, "{login}: status from {u}");
        // the person's fields and custom attribute values came along
        for (okta, onelogin) in [
            ("firstName", "firstname"),
            ("lastName", "lastname"),
            ("title", "title"),
            ("department", "department"),
            ("organization", "company"),
        ] {
            let want = u[onelogin].as_str().filter(|s| !s.is_empty());
            assert_eq!(got.profile[okta].as_str(), want, "{login}: {okta}");
        }
        for (name, value) in u["custom_attributes"].as_object().unwrap() {
            if value.as_str().is_some_and(|v| !v.is_empty()) {
                assert_eq!(&got.profile[name], value, "{login}: {name}");
                customs += 1;
            }
        }
    }
    assert!(customs > 100, "{customs} custom values");
    assert_eq!(
        source.users.len(),
        org.users.len() + rejected_users.len(),
        "source users = arrived + rejected with a reason"
    );
    // roles as groups, by name
    let roles: BTreeSet<String> = source
        .roles
        .iter()
        .filter(|(id, _)| !rejected.contains_key(*id))
        .map(|(_, name)| name.clone())
        .collect();
    assert_eq!(roles.len(), source.roles.len(), "no role was rejected");
    assert_eq!(org.groups, roles);
    // every role membership whose ends were mapped, and no other
    let login_of: BTreeMap<&String, String> = source
        .users
        .iter()
        .map(|(id, u)| (id, okta_identity(u).0))
        .collect();
    let want_members: BTreeSet<(String, String)> = source
        .members
        .iter()
        .filter(|(_, user)| !rejected_users.contains(user))
        .map(|(role, user)| (source.roles[role].clone(), login_of[user].clone()))
        .collect();
    assert!(want_members.len() < source.members.len(), "a dropped edge");
    assert_eq!(org.members, want_members, "memberships");
    assert_eq!(mig.target.stats(Side::Okta)["emails"]["total"], 0);

    // a second apply writes nothing, and says why for each record
    let before = writes(&mig.target, Side::Okta);
    let again = mig
        .tool("idm-load")
        .args([
            "--to",
            "okta",
            "--apply",
            "--workers",
            "4",
            "-i",
            "ready.ndjson",
        ])
        .run();
    again.expect(0);
    assert_eq!(
        writes(&mig.target, Side::Okta),
        before,
        "a re-run sends zero writes"
    );
    assert_results_explained(&again);
    assert!(
        again.records().iter().all(|r| r["data"]["op"] == "skip"),
        "{}",
        again.show()
    );
    // and the source was only read
    assert_eq!(writes(source_sb, Side::OneLogin), 3);
}

// ---------- CSV → OneLogin, CSV → Okta ----------

const ROWS: usize = 10_000;

/// Generate the staging file, export it (exit 3: every bad row named by its line on stderr
/// and written whole to `--rejects`), map it for `to` and provision its attributes: the
/// generator's account of the file, for `ready.ndjson` in the migration's directory.
fn csv_prepare(mig: &Mig, to: &str) -> Generated {
    let g = generate(ROWS, false, false);
    assert!(g.bad.len() > 100 && g.good.len() + g.bad.len() == ROWS);
    std::fs::write(mig.path("users.csv"), &g.bytes).unwrap();
    let export = mig
        .tool("idm-export")
        .args([
            "--from",
            "csv",
            "-i",
            "users.csv",
            "--allow-plaintext-passwords",
        ])
        .args(["--rejects", "rejects.csv", "-o", "export.ndjson"])
        .run();
    export.expect(3);
    let lines: BTreeSet<u64> = export
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("idm-export: line "))
        .map(|l| l.split(':').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        lines,
        g.bad.keys().copied().collect(),
        "every bad row named by its line"
    );
    let mut rejects = format!("{HEADER}\n").into_bytes();
    for bad in g.bad.values() {
        rejects.extend_from_slice(&bad.bytes);
        rejects.push(b'\n');
    }
    assert!(
        std::fs::read(mig.path("rejects.csv")).unwrap() == rejects,
        "--rejects holds the header and every bad row"
    );
    let exported = mig.file("export.ndjson");
    assert_eq!(of_kind(&exported, "user").count(), g.good.len());

    let map = mig
        .tool("idm-map")
        .args(["--to", to, "-i", "export.ndjson", "-o", "mapped.ndjson"])
        .run();
    map.expect(0);
    // nothing a person loses is left unsaid: the only named record is the list column that
    // OneLogin cannot hold (`--complex exclude`), and no user, group or edge is dropped
    let named = named(&map.stderr, "idm-map", "csv");
    assert!(
        named.keys().all(|id| id == "scores"),
        "{:?}",
        named.keys().collect::<Vec<_>>()
    );
    let mapped = mig.file("mapped.ndjson");
    for kind in ["user", "group", "membership"] {
        assert_eq!(
            of_kind(&mapped, kind).count(),
            of_kind(&exported, kind).count(),
            "{kind}"
        );
    }
    mig.tool("idm-attrs")
        .args([
            "--to",
            to,
            "--apply",
            "-i",
            "mapped.ndjson",
            "-o",
            "ready.ndjson",
        ])
        .run()
        .expect(0);
    g
}

/// `idm-load --to TO --apply`, timed (the figure is printed for the report), exit 0.
fn csv_load(mig: &Mig, to: &str) -> Ran {
    let started = Instant::now();
    let ran = mig
        .tool("idm-load")
        .args([
            "--to",
            to,
            "--apply",
            "--workers",
            "8",
            "-i",
            "ready.ndjson",
        ])
        .run();
    eprintln!(
        "csv → {to}: idm-load --apply of {ROWS} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    ran.expect(0);
    assert_results_explained(&ran);
    ran
}

/// No account of a bad row's login or email reached the target.
fn assert_no_bad_row(addresses: impl Iterator<Item = String>) {
    for a in addresses {
        let local = a.split('@').next().unwrap();
        let bad = ["bad", "dup"].iter().any(|p| {
            local
                .strip_prefix(p)
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        });
        assert!(!bad, "`{a}`, of a rejected row, arrived");
    }
}

#[test]
fn a_ten_thousand_row_csv_into_onelogin_every_good_row_arrives() {
    let target = sandbox(0);
    let before = onelogin_account(&target);
    let mig = Mig::new(None, target);
    let g = csv_prepare(&mig, "onelogin");
    csv_load(&mig, "onelogin");

    let after = onelogin_account(&mig.target);
    let email_of = |u: &Value| u["email"].as_str().unwrap_or_default().to_lowercase();
    // every good row is a new account, and no other account is new
    let new: BTreeMap<String, &Value> = after
        .users
        .iter()
        .filter(|(id, _)| !before.users.contains_key(*id))
        .map(|(_, u)| (email_of(u), u))
        .collect();
    assert_eq!(
        new.keys().cloned().collect::<BTreeSet<_>>(),
        g.good,
        "the new accounts are the good rows"
    );
    assert_eq!(new.len(), after.users.len() - before.users.len());
    for (email, u) in &new {
        assert_eq!(u["username"].as_str().unwrap().to_lowercase(), *email);
        let i = &email["user".len()..email.find('@').unwrap()];
        if i != "17" {
            assert_eq!(u["firstname"], format!("First{i}"), "{email}");
        }
        assert_eq!(u["lastname"], format!("Last{i}"), "{email}");
        // ACTIVE every third row, no status (STAGED: Unactivated) otherwise; typed values as
        // text, the list column excluded (OneLogin holds none)
        let i: usize = i.parse().unwrap();
        assert_eq!(
            (&u["state"], &u["status"]),
            (&json!(1), &json!(if i.is_multiple_of(3) { 1 } else { 0 })),
            "{email}"
        );
        let custom = &u["custom_attributes"];
        assert_eq!(custom["age"], (i % 90).to_string(), "{email}");
        assert_eq!(custom["vip"], i.is_multiple_of(2).to_string(), "{email}");
        assert!(custom.get("scores").is_none(), "{email}");
    }
    assert_no_bad_row(after.users.values().map(email_of));
    assert_no_bad_row(
        after
            .users
            .values()
            .map(|u| u["username"].as_str().unwrap_or_default().to_lowercase()),
    );
    // the file's groups are roles, and every row's membership is there
    let role_names: BTreeSet<String> = after.roles.values().cloned().collect();
    assert!(g.groups.is_subset(&role_names), "{role_names:?}");
    let members: BTreeSet<(String, String)> = after
        .members
        .iter()
        .filter(|(role, _)| g.groups.contains(&after.roles[role]))
        .filter(|(_, user)| !before.users.contains_key(user))
        .map(|(role, user)| (after.roles[role].clone(), email_of(&after.users[user])))
        .collect();
    assert_eq!(members, g.members, "memberships");

    let writes_before = writes(&mig.target, Side::OneLogin);
    let again = mig
        .tool("idm-load")
        .args([
            "--to",
            "onelogin",
            "--apply",
            "--workers",
            "8",
            "-i",
            "ready.ndjson",
        ])
        .run();
    again.expect(0);
    assert_eq!(
        writes(&mig.target, Side::OneLogin),
        writes_before,
        "a re-run sends zero writes"
    );
    assert_results_explained(&again);
}

#[test]
fn a_ten_thousand_row_csv_into_an_empty_okta_org_every_good_row_arrives() {
    let mig = Mig::new(None, sandbox(0));
    let g = csv_prepare(&mig, "okta");
    csv_load(&mig, "okta");

    let org = okta_org(&mig.target);
    assert_eq!(
        org.users.keys().cloned().collect::<BTreeSet<_>>(),
        g.good,
        "the org's users are the good rows, by login"
    );
    for (login, user) in &org.users {
        assert_eq!(&user.email, login);
        // the generator's row `i`: ACTIVE every third row, a bcrypt hash every eleventh;
        // an active user without a password is PROVISIONED, no status is STAGED
        let i: usize = login["user".len()..login.find('@').unwrap()]
            .parse()
            .unwrap();
        let want = match (i.is_multiple_of(3), i.is_multiple_of(11)) {
            (true, true) => "ACTIVE",
            (true, false) => "PROVISIONED",
            (false, _) => "STAGED",
        };
        assert_eq!(user.status, want, "{login}");
        // typed custom values, the list column kept (Okta holds arrays)
        let p = &user.profile;
        let row = json!({"age": i % 90, "vip": i.is_multiple_of(2),
                         "scores": if i.is_multiple_of(5) { json!([1, 2.5]) } else { Value::Null }});
        for name in ["age", "vip", "scores"] {
            assert_eq!(p[name], row[name], "{login}: {name}");
        }
        if i != 17 {
            assert_eq!(p["firstName"], format!("First{i}"), "{login}");
        }
        assert_eq!(p["lastName"], format!("Last{i}"), "{login}");
    }
    assert_no_bad_row(org.users.values().map(|u| u.email.clone()));
    assert_eq!(org.groups, g.groups);
    assert_eq!(org.members, g.members, "memberships");
    assert_eq!(mig.target.stats(Side::Okta)["emails"]["total"], 0);

    let writes_before = writes(&mig.target, Side::Okta);
    let again = mig
        .tool("idm-load")
        .args([
            "--to",
            "okta",
            "--apply",
            "--workers",
            "8",
            "-i",
            "ready.ndjson",
        ])
        .run();
    again.expect(0);
    assert_eq!(
        writes(&mig.target, Side::Okta),
        writes_before,
        "a re-run sends zero writes"
    );
    assert_results_explained(&again);
}
