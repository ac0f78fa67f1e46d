//! idm-attrs end to end: the real binary against the OneLogin simulator of idm-sandbox.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use idm::sandbox::{FaultKind, FaultRule, Sandbox, SandboxConfig, Side};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_idm-attrs");

fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default()).expect("start the sandbox")
}

/// The shortnames the simulated tenant defines now.
fn tenant_attrs(sb: &Sandbox) -> Vec<String> {
    sb.dump(Side::OneLogin)
        .into_iter()
        .filter(|r| r["kind"] == "attribute")
        .filter_map(|r| r["data"]["shortname"].as_str().map(String::from))
        .collect()
}

fn writes(sb: &Sandbox) -> u64 {
    sb.stats(Side::OneLogin)["writes"].as_u64().unwrap_or(0)
}

/// Mapped users: some attributes the tenant has, some it does not, one with a secret value.
/// Lines are written with odd spacing on purpose (pass-through must keep the bytes).
fn mapped(existing: &[String], users: usize) -> (String, BTreeMap<String, u64>) {
    let mut names: Vec<String> = existing.iter().take(2).cloned().collect();
    names.extend(["employee_number", "cost_center", "api_token"].map(String::from));
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut text = String::from(
        "{\"kind\":\"group\",\"source\":\"okta\",\"id\":\"00g1\",\"data\":{\"name\":\"Sales\"},\"target\":\"onelogin\"}\n",
    );
    for i in 0..users {
        let mut custom = serde_json::Map::new();
        for (j, name) in names.iter().enumerate() {
            if (i + j) % (j + 2) == 0 {
                let value = if name == "api_token" {
                    json!(format!("tok_{i}x9Q2mZ7pL4kR8vW1sD3f"))
                } else {
                    json!(format!("v{i}"))
                };
                custom.insert(name.clone(), value);
                *expected.entry(name.clone()).or_default() += 1;
            }
        }
        custom.insert("unset".into(), Value::Null);
        let user = json!({"kind": "user", "source": "okta", "id": format!("00u{i}"),
            "data": {"email": format!("u{i}@example.com"), "custom_attributes": custom},
            "target": "onelogin"});
        text.push_str(&user.to_string().replacen(",", ", ", 1));
        text.push('\n');
    }
    text.push_str("{\"kind\":\"membership\",\"source\":\"okta\",\"id\":\"00g1/00u0\",\"data\":{\"group_id\":\"00g1\",\"user_id\":\"00u0\"},\"target\":\"onelogin\"}\n");
    (text, expected)
}

fn command(sb: &Sandbox, state: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .arg("--state")
        .arg(state)
        .env("IDM_ONELOGIN_URL", sb.onelogin_url())
        .env("IDM_ONELOGIN_CLIENT_ID", sb.onelogin_client_id())
        .env("IDM_ONELOGIN_CLIENT_SECRET", sb.onelogin_client_secret())
        .env("IDM_TEST_RETRY_SLEEP_MS", "5")
        // the default 5000/hour quota paces one call per 0.72 s
        .env("IDM_ONELOGIN_RATE_LIMIT", "100000/min")
        .env_remove("IDM_REJECTS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn spawn(mut cmd: Command, input: &str) -> Child {
    let child = cmd.spawn().expect("spawn idm-attrs");
    crate::util::feed(child, input.as_bytes().to_vec())
}

fn run(cmd: Command, input: &str) -> Output {
    spawn(cmd, input).wait_with_output().unwrap()
}

fn explain(out: &Output) -> String {
    format!(
        "status: {}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    )
}

fn list_records(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn seeded_tenant_discovery_matches_the_users_and_reports_existing_ones() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.ndjson");
    let existing = tenant_attrs(&sb);
    assert!(
        existing.len() >= 2,
        "the seeded tenant has attributes: {existing:?}"
    );
    let (input, expected) = mapped(&existing, 40);

    let out = run(command(&sb, &state, &["--list"]), &input);
    assert!(out.status.success(), "{}", explain(&out));
    let records = list_records(&out);
    let got: BTreeMap<String, u64> = records
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["data"]["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    for r in &records {
        let name = r["data"]["shortname"].as_str().unwrap();
        assert_eq!(r["kind"], "attribute");
        assert_eq!(r["target"], "onelogin");
        assert_eq!(
            r["data"]["exists"],
            json!(existing.iter().any(|e| e == name)),
            "{name}"
        );
        let coverage = expected[name] as f64 * 100.0 / 40.0;
        assert!(
            (r["data"]["coverage"].as_f64().unwrap() - coverage).abs() < 0.051,
            "{r}"
        );
        let rec: idm::record::Record = serde_json::from_value(r.clone()).unwrap();
        idm::record::schema::validate_record(&rec).unwrap_or_else(|e| panic!("{r}: {e}"));
    }
    assert!(!records[0]["data"]["name"].as_str().unwrap().is_empty());
    // a dry run writes nothing, not even the journal
    assert_eq!(writes(&sb), 0);
    assert!(!state.exists());

    // the report on stderr: existing flagged, the secret masked, the plain summary last
    let out = run(command(&sb, &state, &[]), &input);
    assert!(out.status.success(), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("x9Q2mZ7pL4kR8vW1sD3f"),
        "secret sample shown:\n{stderr}"
    );
    let missing = expected.keys().filter(|k| !existing.contains(k)).count();
    // the run's summary line, then (from the bottom up) the report's plain summary
    let mut lines = stderr.lines().rev();
    let summary = lines.next().unwrap_or_default();
    assert!(
        summary.starts_with("idm-attrs: passed on 42 records (5 custom attributes: "),
        "{stderr}"
    );
    let tail: Vec<&str> = lines.take(3).collect();
    assert_eq!(
        tail,
        [
            "idm-attrs: ℹ 2 attributes already exist".to_string(),
            format!("idm-attrs: ℹ Would create {missing} new attributes (run with --apply)"),
            "idm-attrs: Discovered 5 custom attributes across 40 users".to_string(),
        ]
    );
    assert!(
        stderr.contains("employee_number (Employee Number)"),
        "{stderr}"
    );
    assert_eq!(
        out.stdout,
        input.as_bytes(),
        "pass-through is byte-identical"
    );
}

#[test]
fn apply_creates_what_is_missing_and_a_second_run_writes_nothing() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.ndjson");
    let existing = tenant_attrs(&sb);
    let (input, expected) = mapped(&existing, 30);

    let out = run(command(&sb, &state, &["--apply"]), &input);
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(
        out.stdout,
        input.as_bytes(),
        "pass-through is byte-identical"
    );
    let now: BTreeSet<String> = tenant_attrs(&sb).into_iter().collect();
    for name in expected.keys() {
        assert!(now.contains(name), "`{name}` not created: {now:?}");
    }
    let created = expected.keys().filter(|k| !existing.contains(k)).count() as u64;
    assert_eq!(writes(&sb), created);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("✓ Created {created} new attributes")),
        "{stderr}"
    );
    let created_names = sb
        .dump(Side::OneLogin)
        .into_iter()
        .filter(|r| r["kind"] == "attribute" && r["data"]["shortname"] == "employee_number")
        .map(|r| r["data"]["name"].clone())
        .collect::<Vec<_>>();
    assert_eq!(created_names, [json!("Employee Number")]);
    let journal = std::fs::read_to_string(&state).unwrap();
    for name in expected.keys() {
        assert!(
            journal.contains(&format!("\"shortname\":\"{name}\"")),
            "{name} not journaled:\n{journal}"
        );
    }

    let out = run(command(&sb, &state, &["--apply"]), &input);
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(writes(&sb), created, "a second run sends no write");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), journal);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // the report, then the run's summary line
    assert!(
        stderr.contains(
            "✓ Created 0 new attributes\nidm-attrs: ℹ 5 attributes already exist\nidm-attrs: passed on "
        ),
        "{stderr}"
    );
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("(5 custom attributes: 5 exist, 0 created, 0 failed; 0 rejected lines) in "),
        "{stderr}"
    );
}

#[test]
fn faults_leave_the_same_end_state_without_duplicates() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.ndjson");
    let existing = tenant_attrs(&sb);
    let (input, expected) = mapped(&existing, 20);
    let rule = |kind, method: &str, skip| FaultRule {
        method: Some(method.into()),
        path: Some("/api/2/users/custom_attributes".into()),
        skip,
        ..FaultRule::new(kind)
    };
    sb.script_fault(Side::OneLogin, rule(FaultKind::TooManyRequests, "GET", 0));
    sb.script_fault(Side::OneLogin, rule(FaultKind::Lost, "POST", 0));
    sb.script_fault(Side::OneLogin, rule(FaultKind::ServerError, "POST", 1));
    let out = run(command(&sb, &state, &["--apply"]), &input);
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(out.stdout, input.as_bytes());
    let faults = &sb.stats(Side::OneLogin)["faults"];
    assert_eq!(faults["lost"], 1, "{faults}");
    assert_eq!(faults["500"], 1, "{faults}");
    let now = tenant_attrs(&sb);
    for name in expected.keys() {
        assert_eq!(
            now.iter().filter(|n| *n == name).count(),
            1,
            "`{name}` must exist exactly once: {now:?}"
        );
    }
    assert_eq!(
        now.len(),
        existing.len() + expected.keys().filter(|k| !existing.contains(k)).count()
    );
}

#[test]
fn two_processes_sharing_a_journal_create_each_attribute_once() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.ndjson");
    let existing = tenant_attrs(&sb);
    let (input, expected) = mapped(&existing, 25);
    let a = spawn(command(&sb, &state, &["--apply"]), &input);
    let b = spawn(command(&sb, &state, &["--apply"]), &input);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", explain(&a));
    assert!(b.status.success(), "{}", explain(&b));
    let missing = expected.keys().filter(|k| !existing.contains(k)).count() as u64;
    // no create was even attempted twice: one POST per missing attribute
    let posts = sb.stats(Side::OneLogin)["writes"].as_u64().unwrap();
    assert_eq!(posts, missing);
    let journal = std::fs::read_to_string(&state).unwrap();
    for name in expected.keys() {
        let n = journal
            .matches(&format!("\"shortname\":\"{name}\""))
            .count();
        assert_eq!(n, 1, "{name} journaled {n} times:\n{journal}");
    }
}

#[test]
fn a_failed_create_exits_3_and_keeps_every_record() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.ndjson");
    let input = "{\"kind\":\"user\",\"source\":\"okta\",\"id\":\"u1\",\"data\":{\"email\":\"a@x.io\",\"custom_attributes\":{\"bad-name\":\"1\",\"good_name\":\"2\"}},\"target\":\"onelogin\"}\n";
    let results = dir.path().join("results.ndjson");
    let out = run(
        command(
            &sb,
            &state,
            &["--apply", "--results", results.to_str().unwrap()],
        ),
        input,
    );
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out));
    let results: Vec<idm::record::Record> = std::fs::read_to_string(&results)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for r in &results {
        idm::record::schema::validate_record(r).unwrap_or_else(|e| panic!("{r:?}: {e}"));
    }
    let summary: Vec<(&str, &Value, &Value, &Value)> = results
        .iter()
        .map(|r| {
            (
                r.id.as_str(),
                &r.data["op"],
                &r.data["status"],
                &r.data["error"]["status"],
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "bad-name",
                &json!("provision"),
                &json!("failed"),
                &json!(422)
            ),
            ("good_name", &json!("provision"), &json!("ok"), &Value::Null),
        ]
    );
    assert_eq!(
        out.stdout,
        input.as_bytes(),
        "the user is passed on, not dropped"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("failed to create `bad-name` (422): Validation failed: Shortname is invalid"),
        "{stderr}"
    );
    assert!(stderr.contains("✗ 1 attribute failed"), "{stderr}");
    assert!(tenant_attrs(&sb).contains(&"good_name".to_string()));
}

#[test]
fn apply_without_a_connection_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--apply", "--state"])
        .arg(dir.path().join("s.ndjson"))
        .env_remove("IDM_ONELOGIN_URL")
        .env_remove("IDM_ONELOGIN_CLIENT_ID")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`--apply` needs a OneLogin connection"));
}

#[test]
fn without_a_connection_the_report_says_nothing_was_checked() {
    let (input, _) = mapped(&[], 4);
    let out = Command::new(BIN)
        .env_remove("IDM_ONELOGIN_URL")
        .env_remove("IDM_ONELOGIN_CLIENT_ID")
        .arg("--list")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map(|c| spawn_feed(c, &input))
        .unwrap();
    assert!(out.status.success(), "{}", explain(&out));
    let records = list_records(&out);
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r["data"]["exists"].is_null()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not checked: no target connection"));
}

fn spawn_feed(mut child: Child, input: &str) -> Output {
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The seeded tenant, the whole way: the sandbox's Okta export, mapped by idm-map, then
/// idm-attrs --list. The discovered set must equal the set computed here from the mapped
/// users, and the attributes the OneLogin account already has must be reported as existing.
#[test]
fn seeded_export_mapped_by_idm_map_is_discovered_exactly() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export.ndjson");
    let mapped_path = dir.path().join("mapped.ndjson");
    let status = Command::new(env!("CARGO_BIN_EXE_idm-sandbox"))
        .arg("--emit-export")
        .arg(&export)
        .status()
        .unwrap();
    assert!(status.success());
    let map = Command::new(env!("CARGO_BIN_EXE_idm-map"))
        .args(["--to", "onelogin", "-i"])
        .arg(&export)
        .arg("-o")
        .arg(&mapped_path)
        .arg("--rejects")
        .arg(dir.path().join("map-rejects.ndjson"))
        .output()
        .unwrap();
    // 3: the seed is messy on purpose (duplicate emails, apps without connectors)
    assert!(
        matches!(map.status.code(), Some(0 | 3)),
        "{}",
        explain(&map)
    );
    let input = std::fs::read_to_string(&mapped_path).unwrap();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut users = 0u64;
    for line in input.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        if r["kind"] == "user" && r["target"] == "onelogin" {
            users += 1;
            for (k, v) in r["data"]["custom_attributes"]
                .as_object()
                .into_iter()
                .flatten()
            {
                if !v.is_null() {
                    *expected.entry(k.clone()).or_default() += 1;
                }
            }
        }
    }
    assert!(
        users > 0 && !expected.is_empty(),
        "the seed has users with custom attributes"
    );
    let state = dir.path().join("state.ndjson");
    let out = run(command(&sb, &state, &["--list"]), &input);
    assert!(out.status.success(), "{}", explain(&out));
    let records = list_records(&out);
    let got: BTreeMap<String, u64> = records
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["data"]["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    let tenant: BTreeSet<String> = tenant_attrs(&sb).into_iter().collect();
    let mut pre_existing = 0;
    for r in &records {
        let name = r["id"].as_str().unwrap();
        let exists = tenant.contains(name);
        pre_existing += usize::from(exists);
        assert_eq!(r["data"]["exists"], json!(exists), "{name}");
    }
    assert!(
        pre_existing > 0,
        "the seeded account already has some of them: {tenant:?}"
    );
    assert_eq!(writes(&sb), 0);
}
