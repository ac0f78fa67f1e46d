//! idm-load against idm-sandbox: the real binary, a simulated OneLogin on 127.0.0.1.
//!
//! Every check of the final tenant reads the sandbox's own dump (`Sandbox::dump`), never
//! idm's journal or results, so a bug in idm cannot hide itself. Write counts come from the
//! sandbox's stats; the token request (a POST) is not counted as a write of data.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use idm::sandbox::onelogin::CreateRoles;
use idm::sandbox::{FaultKind, FaultRule, Sandbox, SandboxConfig, Side};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_idm-load");

/// A sandbox and a work directory with the journal, input and outputs.
struct Env {
    sb: Sandbox,
    dir: tempfile::TempDir,
}

impl Env {
    fn new(cfg: SandboxConfig) -> Env {
        Env {
            sb: Sandbox::start(cfg).expect("sandbox starts"),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("IDM_ONELOGIN_URL", self.sb.onelogin_url())
            .env("IDM_ONELOGIN_CLIENT_ID", self.sb.onelogin_client_id())
            .env(
                "IDM_ONELOGIN_CLIENT_SECRET",
                self.sb.onelogin_client_secret(),
            )
            .env("IDM_STATE", self.path("state.ndjson"))
            .env("IDM_TEST_RETRY_SLEEP_MS", "1")
            .env_remove("RUST_LOG")
            .current_dir(self.dir.path());
        cmd
    }

    /// Run idm-load on `input` and return its output.
    fn run(&self, input: &Path, args: &[&str]) -> Run {
        let mut all = vec!["--input", input.to_str().unwrap()];
        if !args.contains(&"--rate-limit") {
            all.extend_from_slice(&["--rate-limit", "none"]);
        }
        all.extend_from_slice(args);
        let out = self.command(&all).output().expect("idm-load runs");
        Run::from(out, &all)
    }

    /// Write requests the sandbox saw, the token requests left out.
    fn writes(&self) -> u64 {
        route_counts(&self.sb.stats(Side::OneLogin))
            .iter()
            .filter(|(route, _)| is_write(route) && !route.contains("/auth/oauth2"))
            .map(|(_, n)| n)
            .sum()
    }

    fn token_requests(&self) -> u64 {
        route_counts(&self.sb.stats(Side::OneLogin))
            .iter()
            .filter(|(route, _)| route.contains("/auth/oauth2") && route.contains("token"))
            .map(|(_, n)| n)
            .sum()
    }

    fn tenant(&self) -> Tenant {
        Tenant::from_dump(&self.sb.dump(Side::OneLogin))
    }

    /// A connector id of the sandbox's catalogue, asked over the API like a user would.
    fn connector_id(&self) -> u64 {
        let http = reqwest::blocking::Client::new();
        let token: Value = http
            .post(format!("{}/auth/oauth2/v2/token", self.sb.onelogin_url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.sb.onelogin_client_id()),
                ("client_secret", self.sb.onelogin_client_secret()),
            ])
            .send()
            .and_then(|r| r.json())
            .expect("token");
        let connectors: Value = http
            .get(format!("{}/api/2/connectors", self.sb.onelogin_url()))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .send()
            .and_then(|r| r.json())
            .expect("connectors");
        connectors[0]["id"].as_u64().expect("a connector")
    }
}

fn route_counts(stats: &Value) -> BTreeMap<String, u64> {
    stats["by_route"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

fn is_write(route: &str) -> bool {
    ["POST ", "PUT ", "PATCH ", "DELETE "]
        .iter()
        .any(|m| route.starts_with(m))
}

/// What one run printed, with a readable dump on failure.
struct Run {
    code: Option<i32>,
    results: Vec<Value>,
    stderr: String,
    what: String,
}

impl Run {
    fn from(out: Output, args: &[&str]) -> Run {
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let results = stdout
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON: {e}: {l}"))
            })
            .filter(|r| r["kind"] != "stream")
            .collect();
        Run {
            code: out.status.code(),
            results,
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
            what: format!("idm-load {}", args.join(" ")),
        }
    }

    fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "{}\nstderr:\n{}\nfailed results: {:#?}",
            self.what,
            self.stderr,
            self.with_status("failed")
        );
        self
    }

    fn with_status(&self, status: &str) -> Vec<&Value> {
        self.results
            .iter()
            .filter(|r| r["data"]["status"] == status)
            .collect()
    }

    fn result(&self, of: &str, id: &str) -> &Value {
        self.results
            .iter()
            .find(|r| r["data"]["of"] == of && r["id"] == id)
            .unwrap_or_else(|| panic!("no result for {of} {id}"))
    }
}

/// The OneLogin tenant as the sandbox dumps it, by names and emails.
#[derive(Debug, Default, PartialEq)]
struct Tenant {
    /// email → user objects with that email (more than one is a duplicate).
    users: BTreeMap<String, Vec<Value>>,
    users_total: usize,
    /// role name → ids.
    roles: BTreeMap<String, Vec<u64>>,
    /// (role name, user email).
    members: BTreeSet<(String, String)>,
    /// app name → app objects.
    apps: BTreeMap<String, Vec<Value>>,
    /// (role name, app name).
    role_apps: BTreeSet<(String, String)>,
}

impl Tenant {
    fn from_dump(dump: &[Value]) -> Tenant {
        let mut t = Tenant::default();
        let mut user_email = BTreeMap::new();
        let mut role_name = BTreeMap::new();
        let mut app_name = BTreeMap::new();
        for e in dump {
            let id = e["id"].as_str().unwrap_or_default().to_string();
            let d = &e["data"];
            match e["kind"].as_str().unwrap_or_default() {
                "user" => {
                    t.users_total += 1;
                    let email = d["email"].as_str().unwrap_or_default().to_lowercase();
                    user_email.insert(id, email.clone());
                    t.users.entry(email).or_default().push(d.clone());
                }
                "role" => {
                    let name = d["name"].as_str().unwrap_or_default().to_string();
                    role_name.insert(id, name.clone());
                    t.roles
                        .entry(name)
                        .or_default()
                        .push(d["id"].as_u64().unwrap());
                }
                "app" => {
                    let name = d["name"].as_str().unwrap_or_default().to_string();
                    app_name.insert(id, name.clone());
                    t.apps.entry(name).or_default().push(d.clone());
                }
                _ => {}
            }
        }
        for e in dump {
            let d = &e["data"];
            let role = |d: &Value| role_name[&d["role_id"].as_u64().unwrap().to_string()].clone();
            match e["kind"].as_str().unwrap_or_default() {
                "membership" => {
                    let u = user_email[&d["user_id"].as_u64().unwrap().to_string()].clone();
                    t.members.insert((role(d), u));
                }
                "role_app" => {
                    let a = app_name[&d["app_id"].as_u64().unwrap().to_string()].clone();
                    t.role_apps.insert((role(d), a));
                }
                _ => {}
            }
        }
        t
    }
}

/// A migration to load: mapped records, and what the tenant must hold afterwards.
struct Migration {
    records: Vec<Value>,
    users: usize,
    groups: usize,
    apps: usize,
}

impl Migration {
    /// `users` users in `groups` roles (3 memberships each), `apps` apps each assigned to
    /// one role, and one direct user assignment (no OneLogin equivalent).
    fn new(users: usize, groups: usize, apps: usize, connector: u64) -> Migration {
        let mut records = Vec::new();
        let rec = |kind: &str, id: String, data: Value| json!({"kind": kind, "source": "okta", "id": id, "data": data, "target": "onelogin"});
        for g in 0..groups {
            records.push(rec("group", group_id(g), json!({"name": role_name(g)})));
        }
        for i in 0..users {
            records.push(rec("user", user_id(i), user_payload(i)));
        }
        for i in 0..users {
            for k in 0..3.min(groups) {
                let g = (i + k) % groups;
                records.push(rec(
                    "membership",
                    format!("{}/{}", group_id(g), user_id(i)),
                    json!({"group_id": group_id(g), "user_id": user_id(i)}),
                ));
            }
        }
        for a in 0..apps {
            records.push(rec(
                "app",
                app_id(a),
                json!({"connector_id": connector, "name": app_name(a), "description": "migrated", "visible": true}),
            ));
            let g = a % groups;
            records.push(rec(
                "app_assignment",
                format!("{}/{}", app_id(a), group_id(g)),
                json!({"id": group_id(g), "app_id": app_id(a), "group_id": group_id(g), "priority": 0}),
            ));
        }
        if apps > 0 && users > 0 {
            records.push(rec(
                "app_assignment",
                format!("{}/{}", app_id(0), user_id(0)),
                json!({"id": user_id(0), "app_id": app_id(0), "user_id": user_id(0), "scope": "USER"}),
            ));
        }
        Migration {
            records,
            users,
            groups,
            apps,
        }
    }

    fn write(&self, path: &Path, reverse: bool) {
        let mut f = std::fs::File::create(path).unwrap();
        let mut recs: Vec<&Value> = self.records.iter().collect();
        if reverse {
            recs.reverse(); // edges before their ends: order must not matter
        }
        for r in recs {
            writeln!(f, "{r}").unwrap();
        }
    }

    /// Edges (memberships, role apps and direct assignments) and objects: one result each.
    fn result_count(&self) -> usize {
        self.records.len()
    }

    /// Assert that `after` is `before` plus exactly this migration.
    fn check(&self, before: &Tenant, after: &Tenant) {
        assert_eq!(
            after.users_total,
            before.users_total + self.users,
            "user count: exactly the migrated users were added"
        );
        for i in 0..self.users {
            let email = user_email(i);
            let found = after.users.get(&email).map(Vec::as_slice).unwrap_or(&[]);
            assert_eq!(found.len(), 1, "user {email}: {found:#?}");
            let u = &found[0];
            let want = user_payload(i);
            for field in ["username", "firstname", "lastname", "title", "department"] {
                assert_eq!(u[field], want[field], "user {email} field {field}");
            }
            assert_eq!(
                u["custom_attributes"]["badge_number"], want["custom_attributes"]["badge_number"],
                "user {email} custom attribute"
            );
        }
        for g in 0..self.groups {
            let ids = after.roles.get(&role_name(g)).cloned().unwrap_or_default();
            assert_eq!(ids.len(), 1, "role {}: {ids:?}", role_name(g));
        }
        let mut want_members = BTreeSet::new();
        for i in 0..self.users {
            for k in 0..3.min(self.groups) {
                want_members.insert((role_name((i + k) % self.groups), user_email(i)));
            }
        }
        let got_members: BTreeSet<_> = after
            .members
            .iter()
            .filter(|(r, _)| r.starts_with("Load Role "))
            .cloned()
            .collect();
        assert_eq!(
            got_members, want_members,
            "memberships of the migrated roles"
        );
        assert_eq!(
            after
                .members
                .iter()
                .filter(|(r, _)| !r.starts_with("Load Role "))
                .count(),
            before.members.len(),
            "memberships of the tenant's own roles untouched"
        );
        for a in 0..self.apps {
            let apps = after
                .apps
                .get(&app_name(a))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            assert_eq!(apps.len(), 1, "app {}: {apps:#?}", app_name(a));
            assert_eq!(apps[0]["description"], "migrated");
        }
        let want_role_apps: BTreeSet<_> = (0..self.apps)
            .map(|a| (role_name(a % self.groups), app_name(a)))
            .collect();
        let got_role_apps: BTreeSet<_> = after
            .role_apps
            .iter()
            .filter(|(r, _)| r.starts_with("Load Role "))
            .cloned()
            .collect();
        assert_eq!(got_role_apps, want_role_apps, "role apps");
    }
}

fn user_id(i: usize) -> String {
    format!("00uload{i:05}")
}
fn group_id(g: usize) -> String {
    format!("00gload{g:03}")
}
fn app_id(a: usize) -> String {
    format!("0oaload{a:03}")
}
fn user_email(i: usize) -> String {
    format!("load.user{i}@example.org")
}
fn role_name(g: usize) -> String {
    format!("Load Role {g}")
}
fn app_name(a: usize) -> String {
    format!("Load App {a}")
}
fn user_payload(i: usize) -> Value {
    json!({
        "email": user_email(i), "username": format!("load.user{i}"),
        "firstname": format!("First{i}"), "lastname": format!("Last{i}"),
        "title": "Engineer", "department": format!("Dept {}", i % 4),
        "external_id": user_id(i), "state": 1, "status": 1,
        "custom_attributes": {"badge_number": format!("L-{i}")}
    })
}

fn config() -> SandboxConfig {
    SandboxConfig::default()
}

#[test]
fn plan_sends_no_writes_and_apply_yields_the_tenant_and_a_second_apply_writes_nothing() {
    let env = Env::new(config());
    let m = Migration::new(40, 5, 3, env.connector_id());
    let input = env.path("in.ndjson");
    m.write(&input, true);
    let before = env.tenant();

    let plan = env.run(&input, &[]);
    plan.expect_code(0);
    assert_eq!(env.writes(), 0, "plan sends no write request");
    assert_eq!(plan.results.len(), m.result_count());
    assert!(
        plan.results
            .iter()
            .all(|r| r["data"]["status"] == "planned")
    );
    assert_eq!(plan.result("user", &user_id(3))["data"]["op"], "create");
    assert_eq!(
        plan.result("membership", &format!("{}/{}", group_id(1), user_id(0)))["data"]["op"],
        "assign"
    );
    assert!(plan.stderr.contains("estimate:"), "{}", plan.stderr);
    assert!(!Path::new(&env.path("state.ndjson")).exists() || env.tenant() == before);

    let apply = env.run(&input, &["--apply", "--workers", "8"]);
    apply.expect_code(0);
    assert_eq!(apply.results.len(), m.result_count());
    m.check(&before, &env.tenant());
    let direct = apply.result("app_assignment", &format!("{}/{}", app_id(0), user_id(0)));
    assert_eq!(direct["data"]["op"], "skip");
    assert!(
        direct["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("direct user assignment")
    );

    let writes = env.writes();
    let again = env.run(&input, &["--apply"]);
    again.expect_code(0);
    assert_eq!(env.writes(), writes, "a second apply sends no write");
    assert!(
        again.results.iter().all(|r| r["data"]["op"] == "skip"),
        "{:#?}",
        again.results
    );
    m.check(&before, &env.tenant());

    // and the plan of a finished migration is all skips
    let replan = env.run(&input, &[]);
    assert!(replan.results.iter().all(|r| r["data"]["op"] == "skip"));
}

#[test]
fn faults_and_lost_responses_leave_the_same_tenant_without_duplicates() {
    let mut cfg = config();
    cfg.faults = "429=0.05,500=0.02,reset=0.02,lost=0.02".parse().unwrap();
    let env = Env::new(cfg);
    let m = Migration::new(60, 4, 3, env.connector_id());
    let input = env.path("in.ndjson");
    m.write(&input, false);
    let before = env.tenant();
    env.run(&input, &["--apply", "--workers", "6"])
        .expect_code(0);
    m.check(&before, &env.tenant());
    let faults = &env.sb.stats(Side::OneLogin)["faults"];
    assert!(
        faults["lost"].as_u64().unwrap_or(0) > 0,
        "lost faults happened: {faults}"
    );
}

#[test]
fn a_lost_user_create_is_found_not_duplicated() {
    let env = Env::new(config());
    let m = Migration::new(5, 2, 0, 0);
    let input = env.path("in.ndjson");
    m.write(&input, false);
    let before = env.tenant();
    // every create of a user commits and then loses its answer, once each for three users
    let mut rule = FaultRule::new(FaultKind::Lost)
        .method("POST")
        .path("/api/2/users");
    rule.times = 3;
    env.sb.script_fault(Side::OneLogin, rule);
    let run = env.run(&input, &["--apply", "--workers", "1"]);
    run.expect_code(0);
    assert!(
        run.results
            .iter()
            .filter(|r| r["data"]["of"] == "user")
            .all(|r| r["data"]["op"] == "create")
    );
    m.check(&before, &env.tenant());
}

#[test]
fn killed_at_random_points_and_resumed_ends_with_the_same_tenant() {
    let env = Env::new(config());
    let m = Migration::new(150, 5, 3, env.connector_id());
    let input = env.path("in.ndjson");
    m.write(&input, false);
    let before = env.tenant();
    let mut seed: u64 = std::env::var("IDM_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234);
    eprintln!("kill points from seed {seed} (IDM_TEST_SEED)");
    let total = m.result_count() as u64;
    let mut kills = 0;
    for _ in 0..5 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let k = 1 + (seed >> 33) % (total / 3);
        let args = [
            "--input",
            input.to_str().unwrap(),
            "--apply",
            "--workers",
            "4",
            "--rate-limit",
            "300/s",
        ];
        let mut child = env
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = 0u64;
        for line in BufReader::new(stdout).lines() {
            if line.is_err() {
                break;
            }
            lines += 1;
            if lines >= k {
                child.kill().unwrap(); // SIGKILL
                kills += 1;
                break;
            }
        }
        let _ = child.wait();
        eprintln!("run killed after {lines} result lines (aimed at {k})");
    }
    assert!(kills >= 3, "most runs were killed mid-way");
    let done = env.run(&input, &["--apply", "--workers", "4"]);
    done.expect_code(0);
    m.check(&before, &env.tenant());
    let writes = env.writes();
    env.run(&input, &["--apply"]).expect_code(0);
    assert_eq!(
        env.writes(),
        writes,
        "nothing left to write after the resume"
    );
}

#[test]
fn an_expiring_token_is_refreshed_once_not_per_worker() {
    let mut cfg = config();
    cfg.token_ttl = Duration::from_secs(2);
    let env = Env::new(cfg);
    let m = Migration::new(400, 4, 0, 0);
    let input = env.path("in.ndjson");
    m.write(&input, false);
    let before = env.tenant();
    let tokens_before = env.token_requests();
    let started = Instant::now();
    // paced at 100 calls a second so the run outlives the 2 s token
    env.run(
        &input,
        &["--apply", "--workers", "8", "--rate-limit", "100/s"],
    )
    .expect_code(0);
    let secs = started.elapsed().as_secs_f64();
    let tokens = env.token_requests() - tokens_before;
    let expiries = (secs / 2.0).ceil() as u64;
    eprintln!("{secs:.1}s, {tokens} token requests, at most {expiries} expiries");
    assert!(secs > 2.5, "the run outlived one token ({secs:.1}s)");
    assert!(
        tokens <= expiries + 1,
        "one token request per expiry, not one per worker: {tokens} in {secs:.1}s"
    );
    m.check(&before, &env.tenant());
}

#[test]
fn a_422_fails_one_record_the_rest_goes_on_and_retry_from_reruns_only_it() {
    let env = Env::new(config());
    let mut m = Migration::new(10, 3, 0, 0);
    let bad = user_id(4);
    for r in &mut m.records {
        if r["kind"] == "user" && r["id"] == bad {
            r["data"]["title"] = json!("x".repeat(300));
        }
    }
    let input = env.path("in.ndjson");
    m.write(&input, false);
    let first = env.run(&input, &["--apply", "-o", "first.ndjson"]);
    first.expect_code(3);
    let results: Vec<Value> =
        crate::util::records(&std::fs::read_to_string(env.path("first.ndjson")).unwrap());
    let failed: BTreeSet<(String, String)> = results
        .iter()
        .filter(|r| r["data"]["status"] == "failed")
        .map(|r| {
            (
                r["data"]["of"].as_str().unwrap().to_string(),
                r["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let user = results.iter().find(|r| r["id"] == bad).unwrap();
    assert_eq!(user["data"]["status"], "failed");
    assert_eq!(user["data"]["error"]["status"], 422);
    assert!(
        user["data"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too long"),
        "{user}"
    );
    // the user and its three memberships failed; everything else is done
    assert_eq!(failed.len(), 4, "{failed:#?}");
    assert_eq!(results.len(), m.result_count());
    assert_eq!(
        results
            .iter()
            .filter(|r| r["data"]["status"] == "ok")
            .count(),
        m.result_count() - 4
    );

    // fix the record and retry only the failed ones
    for r in &mut m.records {
        if r["kind"] == "user" && r["id"] == bad {
            r["data"]["title"] = json!("Engineer");
        }
    }
    m.write(&input, false);
    let writes = env.writes();
    let retry = env.run(
        &input,
        &[
            "--apply",
            "--retry-from",
            env.path("first.ndjson").to_str().unwrap(),
        ],
    );
    retry.expect_code(0);
    let retried: BTreeSet<(String, String)> = retry
        .results
        .iter()
        .map(|r| {
            (
                r["data"]["of"].as_str().unwrap().to_string(),
                r["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(retried, failed, "only the failed records were re-run");
    assert!(retry.results.iter().all(|r| r["data"]["status"] == "ok"));
    // one user create, which carries its three roles (`role_ids`)
    assert_eq!(env.writes() - writes, 1);
    let t = env.tenant();
    assert_eq!(t.users[&user_email(4)].len(), 1);
    assert!(t.members.contains(&(role_name(4 % 3), user_email(4))));
}

#[test]
fn the_account_owner_is_never_modified() {
    let env = Env::new(config());
    let before = env.tenant();
    let (owner_email, owner) = before
        .users
        .iter()
        .find(|(_, us)| us[0]["username"] == "owner")
        .map(|(e, us)| (e.clone(), us[0].clone()))
        .expect("the sandbox has an account owner");
    let input = env.path("in.ndjson");
    let rec = json!({"kind": "user", "source": "okta", "id": "00uowner", "target": "onelogin",
        "data": {"email": owner_email, "username": "owner", "firstname": "Changed", "lastname": "Name"}});
    std::fs::write(&input, format!("{rec}\n")).unwrap();
    let run = env.run(&input, &["--apply", "--update-existing"]);
    run.expect_code(0);
    let r = run.result("user", "00uowner");
    assert_eq!(r["data"]["op"], "skip");
    assert!(
        r["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("account owner"),
        "{r}"
    );
    assert!(run.stderr.contains("account owner"), "{}", run.stderr);
    let after = env.tenant();
    assert_eq!(
        after.users[&owner_email][0]["firstname"],
        owner["firstname"]
    );
}

#[test]
fn bad_input_lines_are_rejected_with_line_and_field_and_the_rest_loads() {
    let env = Env::new(config());
    let input = env.path("in.ndjson");
    let good = json!({"kind": "user", "source": "okta", "id": "00ugood", "target": "onelogin",
        "data": {"email": "good@example.org", "username": "good"}});
    let no_target =
        json!({"kind": "user", "source": "okta", "id": "00uraw", "data": {"profile": {}}});
    std::fs::write(&input, format!("{good}\nnot json\n{no_target}\n")).unwrap();
    // the preflight refuses input it cannot load; `--force` loads the rest
    let run = env.run(
        &input,
        &["--apply", "--force", "--rejects", "rejects.ndjson"],
    );
    run.expect_code(3);
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
    assert!(
        run.stderr.contains("line 3 (okta:00uraw)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.results.len(), 1);
    assert_eq!(run.result("user", "00ugood")["data"]["status"], "ok");
    let rejects = std::fs::read_to_string(env.path("rejects.ndjson")).unwrap();
    assert_eq!(rejects.lines().count(), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path("state.ndjson"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn wrong_credentials_are_fatal_and_never_echo_the_secret() {
    let env = Env::new(config());
    let input = env.path("in.ndjson");
    std::fs::write(&input, "").unwrap();
    let out = env
        .command(&["--input", input.to_str().unwrap()])
        .env("IDM_ONELOGIN_CLIENT_SECRET", "definitely-wrong-secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("401"), "{stderr}");
    assert!(!stderr.contains("definitely-wrong-secret"), "{stderr}");
}

#[test]
fn cleanup_roles_replaces_a_same_named_role_idm_did_not_create() {
    let env = Env::new(config());
    let before = env.tenant();
    let old_ids = before
        .roles
        .get("Employee")
        .cloned()
        .expect("the sandbox has a role `Employee`");
    let old_members = before
        .members
        .iter()
        .filter(|(r, _)| r == "Employee")
        .count();
    assert!(old_members > 0, "the old role has members of its own");
    let m = Migration::new(6, 1, 0, 0);
    let mut records = m.records.clone();
    for r in &mut records {
        if r["kind"] == "group" {
            r["data"]["name"] = json!("Employee");
        }
    }
    let input = env.path("in.ndjson");
    std::fs::write(
        &input,
        records.iter().map(|r| format!("{r}\n")).collect::<String>(),
    )
    .unwrap();

    // without the flag the existing role is adopted as it is
    let plan = env.run(&input, &[]);
    assert_eq!(plan.result("group", &group_id(0))["data"]["op"], "skip");
    // with it, the plan says the role is replaced, and nothing is written yet
    let plan = env.run(&input, &["--cleanup-roles"]);
    let r = plan.result("group", &group_id(0));
    assert_eq!(r["data"]["op"], "create");
    assert!(
        r["data"]["reason"].as_str().unwrap().contains("replaces"),
        "{r}"
    );
    assert_eq!(env.writes(), 0);

    env.run(&input, &["--apply", "--cleanup-roles"])
        .expect_code(0);
    let after = env.tenant();
    let ids = after.roles.get("Employee").cloned().unwrap_or_default();
    assert_eq!(ids.len(), 1, "one role `Employee`: {ids:?}");
    assert_ne!(ids, old_ids, "the old role was replaced");
    let members: BTreeSet<String> = after
        .members
        .iter()
        .filter(|(r, _)| r == "Employee")
        .map(|(_, e)| e.clone())
        .collect();
    let want: BTreeSet<String> = (0..6).map(user_email).collect();
    assert_eq!(members, want, "exactly the migrated members");
    // a second run keeps the role idm created
    let writes = env.writes();
    env.run(&input, &["--apply", "--cleanup-roles"])
        .expect_code(0);
    assert_eq!(env.writes(), writes);
}

#[test]
fn without_a_quota_the_account_says_its_limit_and_the_plan_is_estimated_by_it() {
    let mut cfg = config();
    cfg.onelogin_rate_limit = Some("1200/hour".parse().unwrap());
    let env = Env::new(cfg);
    let m = Migration::new(10, 2, 1, env.connector_id());
    let input = env.path("in.ndjson");
    m.write(&input, true);
    // no --rate-limit, no IDM_ONELOGIN_RATE_LIMIT: the limit is learned
    let mut cmd = env.command(&["--input", input.to_str().unwrap()]);
    cmd.env_remove("IDM_ONELOGIN_RATE_LIMIT");
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("at 1200/hour"), "{stderr}");
    let stats = env.sb.stats(Side::OneLogin);
    assert_eq!(route_counts(&stats)["GET /auth/rate_limit"], 1, "{stats}");
    assert_eq!(stats["over_limit"], 0, "{stats}");
}

/// Apply `m` (written to `in.ndjson`) into a fresh tenant: exit 0, a result for every record,
/// none failed, and the tenant holds what `m` asks for. Returns the run and the input.
fn apply_whole(env: &Env, m: &Migration, args: &[&str]) -> (Run, PathBuf) {
    let input = env.path("in.ndjson");
    m.write(&input, false);
    let before = env.tenant();
    let apply = env.run(&input, &[&["--apply"], args].concat());
    apply.expect_code(0);
    assert_eq!(apply.results.len(), m.result_count());
    assert!(
        apply.with_status("failed").is_empty(),
        "{:#?}",
        apply.results
    );
    m.check(&before, &env.tenant());
    (apply, input)
}

/// Role users: 2 roles of 600 members each, loaded by one worker into an account that takes
/// at most `max_ids` ids a call; returns the `POST /api/2/roles/{id}/users` calls.
fn role_user_calls(max_ids: usize) -> u64 {
    let env = Env::new(SandboxConfig {
        onelogin_max_ids: max_ids,
        // every membership goes by role
        onelogin_create_roles: CreateRoles::Ignore,
        ..config()
    });
    let m = Migration::new(600, 2, 0, env.connector_id());
    apply_whole(&env, &m, &["--workers", "1"]);
    route_counts(&env.sb.stats(Side::OneLogin))["POST /api/2/roles/{id}/users"]
}

/// 300 users, each in the same 3 roles, loaded into an account that takes `role_ids` with a
/// user's create, ignores them or refuses them: every membership arrives either way, a re-run
/// writes nothing; returns the role-users calls, the user creates and the stderr of the
/// first run.
fn memberships_with_creates(how: CreateRoles) -> (u64, u64, String) {
    let taken = how == CreateRoles::Take;
    let env = Env::new(SandboxConfig {
        onelogin_create_roles: how,
        ..config()
    });
    let m = Migration::new(300, 3, 0, env.connector_id());
    let (apply, input) = apply_whole(&env, &m, &["-v"]);
    let with_create = apply
        .results
        .iter()
        .filter(|r| {
            r["data"]["of"] == "membership"
                && r["data"]["reason"] == "with the user's create (role_ids)"
        })
        .count();
    let memberships = m
        .records
        .iter()
        .filter(|r| r["kind"] == "membership")
        .count();
    assert_eq!(with_create, if taken { memberships } else { 0 });
    let routes = route_counts(&env.sb.stats(Side::OneLogin));
    let count = |route: &str| routes.get(route).copied().unwrap_or(0);
    let (calls, creates) = (
        count("POST /api/2/roles/{id}/users"),
        count("POST /api/2/users"),
    );
    let writes = env.writes();
    let again = env.run(&input, &["--apply"]);
    again.expect_code(0);
    assert_eq!(env.writes(), writes, "a re-run writes nothing");
    (calls, creates, apply.stderr)
}

#[test]
fn memberships_go_with_the_users_create_where_the_account_takes_role_ids() {
    let (calls, creates, _) = memberships_with_creates(CreateRoles::Take);
    assert_eq!((calls, creates), (0, 300));
    // an account that ignores them: the first create's answer shows no roles, and every
    // membership is added by role, in batches
    let (calls, creates, stderr) = memberships_with_creates(CreateRoles::Ignore);
    assert!(calls >= 9, "{calls}");
    assert_eq!(creates, 300);
    assert!(
        stderr.contains("does not take `role_ids` with a user's create (its answer"),
        "{stderr}"
    );
    // one that refuses them: a refused create is sent again without them (one create more
    // for each of the 4 workers at most, before the first refusal stops the others), and
    // every membership goes by role as above
    let (calls, creates, stderr) = memberships_with_creates(CreateRoles::Refuse);
    assert!(calls >= 9, "{calls}");
    assert!((301..=304).contains(&creates), "{creates}");
    assert!(
        stderr.contains("does not take `role_ids` with a user's create (it refused them"),
        "{stderr}"
    );
}

#[test]
fn role_users_go_in_the_largest_batches_the_account_takes() {
    // 1,000 ids a call: one call a role
    assert_eq!(role_user_calls(1000), 2);
    // 100: the first role's 600 are refused, then 500 (split 200 + 200 + 100), then the
    // first 200, whose two halves of 100 are taken: 100 a call from then on (the second 200
    // goes as 2 x 100, then the 100, then the last 100 of the 600); the second role is sent
    // 100 at a time from the start
    assert_eq!(role_user_calls(100), 3 + 2 + 2 + 1 + 1 + 6);
    // 150: the same calls (the sizes tried go down by steps: a limit between two steps is
    // met at the lower one)
    assert_eq!(role_user_calls(150), 3 + 2 + 2 + 1 + 1 + 6);
}
