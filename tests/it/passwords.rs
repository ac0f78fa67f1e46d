//! Password hashes carried end to end: people sign in to the target with the password they had
//! in the source. Stormpath's reference fixture into Okta and into OneLogin, and a staging file
//! with one row per hash form into Okta; each migrated user with a convertible hash signs in
//! with the original password and fails with a wrong one; users whose hash the target cannot
//! take exist without a password and are counted in idm-map's closing note. No hash appears in
//! any stream or file but the records and the target.

use std::collections::BTreeMap;
use std::path::Path;

use idm::sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

use crate::map_sources::{COLUMNS, Row, rows};
use crate::util::{Tool, fixture};

fn empty_sandbox() -> Sandbox {
    let mut c = SandboxConfig::default();
    c.seed.users = 0;
    c.seed.groups = 0;
    c.seed.apps = 0;
    Sandbox::start(c).expect("the sandbox starts")
}

/// Okta primary authentication: whether `login` signs in with `password`.
fn okta_signs_in(sb: &Sandbox, login: &str, password: &str) -> bool {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/authn", sb.okta_url()))
        .json(&json!({"username": login, "password": password}))
        .send()
        .unwrap();
    let ok = resp.status().is_success();
    let body: Value = resp.json().unwrap_or(Value::Null);
    ok && body["status"] == "SUCCESS"
}

/// OneLogin's session login token: whether `login` signs in with `password`.
fn onelogin_signs_in(sb: &Sandbox, login: &str, password: &str) -> bool {
    let client = reqwest::blocking::Client::new();
    let token: Value = client
        .post(format!("{}/auth/oauth2/v2/token", sb.onelogin_url()))
        .basic_auth(sb.onelogin_client_id(), Some(sb.onelogin_client_secret()))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let resp = client
        .post(format!("{}/api/1/login/auth", sb.onelogin_url()))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&json!({"username_or_email": login, "password": password,
                      "subdomain": "idm-sandbox"}))
        .send()
        .unwrap();
    resp.status().is_success()
}

/// export (the given args) → map → attrs --apply → load --apply into `sb` as `to`; returns
/// (idm-map's stderr, every stream and file as text).
fn migrate(dir: &Path, sb: &Sandbox, export: &[&str], to: &str) -> (String, String) {
    let state = dir.join(format!("state-{to}.ndjson"));
    let exported = Tool::new("idm-export").args(export).dir(dir).run();
    exported.expect(0);
    let mapped = Tool::new("idm-map")
        .args(["--to", to, "--email-domain", "emailnotprovided.local"])
        .stdin(exported.stdout.clone())
        .dir(dir)
        .run();
    assert!(matches!(mapped.code, Some(0 | 3)), "{}", mapped.show());
    let with = |t: Tool| match to {
        "okta" => t.okta(sb),
        _ => t.onelogin(sb),
    };
    let ready = with(Tool::new("idm-attrs"))
        .args(["--to", to, "--apply"])
        .env("IDM_STATE", &state)
        .stdin(mapped.stdout.clone())
        .run();
    ready.expect(0);
    let load = with(Tool::new("idm-load"))
        .args(["--to", to, "--apply"])
        .env("IDM_STATE", &state)
        .stdin(ready.stdout.clone())
        .run();
    assert!(matches!(load.code, Some(0 | 3)), "{}", load.show());
    let journal = std::fs::read_to_string(&state).unwrap_or_default();
    // what a person sees: every stderr, the results and the journal (the records before them
    // hold the hashes by design: they are the migration's data)
    let seen = [
        exported.stderr,
        mapped.stderr.clone(),
        ready.stderr,
        load.stdout,
        load.stderr,
        journal,
    ]
    .join("\n");
    (mapped.stderr, seen)
}

fn assert_no_hash(seen: &str, hashes: &[&str]) {
    for h in hashes {
        assert!(
            !seen.contains(h),
            "a hash reached a stream or file a person reads: {h}"
        );
    }
}

#[test]
fn stormpath_users_sign_in_to_okta_and_onelogin_with_their_old_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let tree = fixture("stormpath/reference");
    let export = ["--from", "stormpath", "--dir", tree.to_str().unwrap()];
    let hashes = [
        "N9qo8uLOickgx2ZMRZoMyeKDO7gYklv7H8hCFMp67",
        "mA6A6p7ZLPT2mu4gFTj0v6WqbIQfs06aSZ4c8jy7ZDQ",
        "yl9FDWmVVzMOvrPcKEJkBpbMAWMIvIh4M5sjAcG7mFs",
    ];
    // Okta imports bcrypt and salted SHA-256: Alice and Robert sign in
    let okta = empty_sandbox();
    let (notes, seen) = migrate(dir.path(), &okta, &export, "okta");
    assert_no_hash(&seen, &hashes);
    assert!(okta_signs_in(&okta, "alice@example.com", "Correct-Horse-1"));
    assert!(!okta_signs_in(&okta, "alice@example.com", "Wrong-Horse-1"));
    assert!(okta_signs_in(&okta, "bob@example.net", "Bob-Net-3"));
    assert!(!okta_signs_in(&okta, "bob@example.net", "bob-net-3"));
    // Bob (accBobCust) had no password: he exists, and cannot sign in
    let dump = okta.dump(idm::sandbox::Side::Okta);
    assert!(
        dump.iter().any(|r| r["kind"] == "user"
            && r["data"]["profile"]["login"] == "bob@emailnotprovided.local")
    );
    assert!(notes.contains("a password hash okta cannot take") || !notes.is_empty());
    // OneLogin takes salted SHA-256 only: Robert signs in, Alice's bcrypt is named
    let onelogin = Sandbox::start(SandboxConfig::default()).unwrap();
    let (notes, seen) = migrate(dir.path(), &onelogin, &export, "onelogin");
    assert_no_hash(&seen, &hashes);
    assert!(onelogin_signs_in(&onelogin, "bob@example.net", "Bob-Net-3"));
    assert!(!onelogin_signs_in(
        &onelogin,
        "bob@example.net",
        "Bob-Net-4"
    ));
    assert!(!onelogin_signs_in(
        &onelogin,
        "alice@example.com",
        "Correct-Horse-1"
    ));
    assert!(
        notes.contains("a password hash onelogin cannot take"),
        "{notes}"
    );
}

/// The staging file of `rows`, with every user ACTIVE (so that they may sign in).
fn active_staging_file(dir: &Path, rows: &[Row]) -> std::path::PathBuf {
    let path = dir.join("staff.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    let mut header: Vec<&str> = COLUMNS.to_vec();
    header.extend(["password", "status"]);
    w.write_record(&header).unwrap();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = header
            .iter()
            .map(|c| match *c {
                "login" | "email" => row.login.to_string(),
                "firstName" => "Ann".into(),
                "lastName" => format!("Row{i}"),
                "groups" => "Staff".into(),
                "status" => "ACTIVE".into(),
                other => row.cells.get(other).cloned().unwrap_or_default(),
            })
            .collect();
        w.write_record(&cells).unwrap();
    }
    w.flush().unwrap();
    path
}

#[test]
fn a_staging_file_with_every_hash_form_signs_in_to_okta() {
    let dir = tempfile::tempdir().unwrap();
    // a cleartext password meets Okta's policy here (the shared row holds its username)
    let rows: Vec<Row> = rows()
        .into_iter()
        .map(|mut r| {
            if r.cells.contains_key("password") {
                r.cells
                    .insert("password", " Plain Text Kept 13 ".to_string());
                r.password = " Plain Text Kept 13 ";
            }
            r
        })
        .collect();
    let file = active_staging_file(dir.path(), &rows);
    let okta = empty_sandbox();
    let (notes, seen) = migrate(
        dir.path(),
        &okta,
        &[
            "--from",
            "csv",
            "--allow-plaintext-passwords",
            "-i",
            file.to_str().unwrap(),
        ],
        "okta",
    );
    // what Okta cannot take: an HMAC (stormpath1) and a hash that does not parse
    let refused: BTreeMap<&str, bool> = rows
        .iter()
        .map(|r| {
            let no = r.login.starts_with("stormpath1") || r.login.starts_with("malformed");
            (r.login, no)
        })
        .collect();
    for row in &rows {
        let signs_in = okta_signs_in(&okta, row.login, row.password);
        if refused[row.login] {
            assert!(
                !signs_in,
                "{} signed in without a migrated password",
                row.login
            );
        } else {
            assert!(
                signs_in,
                "{} cannot sign in with its old password",
                row.login
            );
            assert!(
                !okta_signs_in(&okta, row.login, "not-the-password"),
                "{} signs in with any password",
                row.login
            );
        }
    }
    assert!(
        notes.contains("2 users have a password hash okta cannot take"),
        "{notes}"
    );
    // a user with a password is created active in one call; only the two without one are
    // created STAGED and activated after (without an email)
    let stats = okta.stats(idm::sandbox::Side::Okta);
    assert_eq!(
        stats["by_route"]["POST /api/v1/users/{id}/lifecycle/activate"], 2,
        "{}",
        stats["by_route"]
    );
    assert_eq!(stats["emails"]["activation"], 0, "{}", stats["emails"]);
    let digests: Vec<String> = rows
        .iter()
        .filter_map(|r| r.cells.get("password_value").cloned())
        .collect();
    let digests: Vec<&str> = digests.iter().map(String::as_str).collect();
    assert_no_hash(&seen, &digests);
    assert!(
        !seen.contains("Plain Text Kept"),
        "a cleartext password was shown"
    );
}

#[test]
fn an_update_never_sends_the_source_password_again() {
    let dir = tempfile::tempdir().unwrap();
    let tree = fixture("stormpath/reference");
    let export = ["--from", "stormpath", "--dir", tree.to_str().unwrap()];
    let onelogin = Sandbox::start(SandboxConfig::default()).unwrap();
    migrate(dir.path(), &onelogin, &export, "onelogin");
    assert!(onelogin_signs_in(&onelogin, "bob@example.net", "Bob-Net-3"));
    // after the migration, Robert sets a new password in OneLogin
    let client = reqwest::blocking::Client::new();
    let token: Value = client
        .post(format!("{}/auth/oauth2/v2/token", onelogin.onelogin_url()))
        .basic_auth(
            onelogin.onelogin_client_id(),
            Some(onelogin.onelogin_client_secret()),
        )
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = onelogin
        .dump(idm::sandbox::Side::OneLogin)
        .into_iter()
        .find(|r| r["kind"] == "user" && r["data"]["email"] == "bob@example.net")
        .unwrap()["data"]["id"]
        .clone();
    let set = client
        .put(format!(
            "{}/api/1/users/set_password_clear_text/{id}",
            onelogin.onelogin_url()
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&json!({"password": "Chosen-Later-7", "password_confirmation": "Chosen-Later-7"}))
        .send()
        .unwrap();
    assert!(set.status().is_success(), "{}", set.status());
    assert!(onelogin_signs_in(
        &onelogin,
        "bob@example.net",
        "Chosen-Later-7"
    ));
    // the source changes (every user gets a department): the users are updated...
    let mapping = dir.path().join("mapping.json");
    std::fs::write(
        &mapping,
        r#"{"users": {"fields": {"department": {"constant": "Moved"}}}}"#,
    )
    .unwrap();
    let exported = Tool::new("idm-export").args(export).dir(dir.path()).run();
    let mapped = Tool::new("idm-map")
        .args([
            "--to",
            "onelogin",
            "--email-domain",
            "emailnotprovided.local",
        ])
        .arg("--mapping")
        .arg(&mapping)
        .stdin(exported.stdout.clone())
        .run();
    let load = Tool::new("idm-load")
        .onelogin(&onelogin)
        .args(["--to", "onelogin", "--apply"])
        .env("IDM_STATE", dir.path().join("state-onelogin.ndjson"))
        .stdin(mapped.stdout.clone())
        .run();
    assert!(matches!(load.code, Some(0 | 3)), "{}", load.show());
    let updated = load
        .records()
        .into_iter()
        .find(|r| r["data"]["label"] == "bob@example.net")
        .unwrap();
    assert_eq!(updated["data"]["op"], "update", "{updated}");
    let dump = onelogin.dump(idm::sandbox::Side::OneLogin);
    let bob = dump
        .iter()
        .find(|r| r["kind"] == "user" && r["data"]["email"] == "bob@example.net")
        .unwrap();
    assert_eq!(bob["data"]["department"], "Moved");
    // ...and the password is still the one he chose
    assert!(onelogin_signs_in(
        &onelogin,
        "bob@example.net",
        "Chosen-Later-7"
    ));
    assert!(!onelogin_signs_in(
        &onelogin,
        "bob@example.net",
        "Bob-Net-3"
    ));
}
