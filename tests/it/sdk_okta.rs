//! Fidelity through a client no one here wrote: the official Okta Python SDK (okta 3.x)
//! lists every user, group, member and app of the sandbox and must see exactly the seeded
//! tenant. Needs `IDM_TEST_PYTHON` (set by `make test`, installed by `make pyenv`).

use std::collections::BTreeMap;
use std::process::Command;

use idm::sandbox::seed::SeedConfig;
use idm::sandbox::{Sandbox, SandboxConfig, Side};
use serde_json::{Value, json};

fn python() -> String {
    std::env::var("IDM_TEST_PYTHON").unwrap_or_else(|_| {
        panic!(
            "IDM_TEST_PYTHON is not set: run `make pyenv` and then `make test` \
             (or set IDM_TEST_PYTHON=target/py-venv/bin/python)"
        )
    })
}

/// What the SDK must see, computed from the sandbox's own dump.
fn expectations(sb: &Sandbox, page_limit: usize) -> Value {
    let dump = sb.dump(Side::Okta);
    let of = |kind: &'static str| dump.iter().filter(move |r| r["kind"] == kind);
    let users: Vec<&Value> = of("user").map(|r| &r["data"]).collect();
    let visible: Vec<&str> = users
        .iter()
        .filter(|u| u["status"] != "DEPROVISIONED")
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    let deprovisioned: Vec<&str> = users
        .iter()
        .filter(|u| u["status"] == "DEPROVISIONED")
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    let logins: BTreeMap<&str, &Value> = users
        .iter()
        .map(|u| (u["id"].as_str().unwrap(), &u["profile"]["login"]))
        .collect();
    let groups: BTreeMap<&str, Value> = of("group")
        .map(|r| {
            (
                r["id"].as_str().unwrap(),
                json!({ "name": r["data"]["profile"]["name"], "type": r["data"]["type"] }),
            )
        })
        .collect();
    let mut members: BTreeMap<&str, u64> = groups.keys().map(|g| (*g, 0)).collect();
    for m in of("membership") {
        *members
            .get_mut(m["data"]["group_id"].as_str().unwrap())
            .unwrap() += 1;
    }
    let apps: BTreeMap<&str, Value> = of("app")
        .map(|r| {
            (
                r["id"].as_str().unwrap(),
                json!({ "label": r["data"]["label"], "signOnMode": r["data"]["signOnMode"] }),
            )
        })
        .collect();
    let mut app_groups: BTreeMap<&str, u64> = apps.keys().map(|a| (*a, 0)).collect();
    for a in of("app_assignment").filter(|a| a["data"]["group_id"].is_string()) {
        *app_groups
            .get_mut(a["data"]["app_id"].as_str().unwrap())
            .unwrap() += 1;
    }
    let custom: Vec<&Value> = of("attribute").map(|r| &r["id"]).collect();
    json!({
        "page_limit": page_limit,
        "users": visible,
        "deprovisioned": deprovisioned,
        "logins": logins,
        "groups": groups,
        "members": members,
        "apps": apps,
        "app_groups": app_groups,
        "custom_attributes": custom,
    })
}

#[test]
#[ignore = "needs the Python SDK venv: `make test` runs it with IDM_TEST_PYTHON set"]
fn okta_sdk_lists_exactly_the_seeded_tenant() {
    let python = python();
    let sb = Sandbox::start(SandboxConfig {
        seed: SeedConfig {
            users: 130,
            groups: 9,
            apps: 6,
            seed: 21,
        },
        ..SandboxConfig::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let expect = dir.path().join("expect.json");
    std::fs::write(&expect, expectations(&sb, 17).to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/okta_sdk.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(&expect)
        .env("IDM_OKTA_URL", sb.okta_url())
        .env("IDM_OKTA_TOKEN", sb.okta_token())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{python}`: {e} (run `make pyenv`)"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "okta_sdk.py failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    let seen: Value = serde_json::from_str(stdout.trim()).expect("a JSON summary line");
    assert!(seen["users"].as_u64().unwrap() > 100);
    assert!(seen["deprovisioned"].as_u64().unwrap() > 0);
    assert_eq!(seen["groups"], 10);
    assert_eq!(seen["apps"], 6);
    // the SDK really went through the sandbox, page by page
    let stats = sb.stats(Side::Okta);
    assert!(stats["by_route"]["GET /api/v1/users"].as_u64().unwrap() >= 8);
    assert!(
        stats["by_route"]["GET /api/v1/groups/{id}/users"]
            .as_u64()
            .unwrap()
            >= 10
    );
}

/// One Okta import object per algorithm for `password`, made with idm::password.
fn hashes_for(password: &str) -> Value {
    use idm::password::{Algorithm, BcryptVariant, Digest, Hash, Prf, SaltOrder};
    let salted = |digest, order| Algorithm::Salted {
        digest,
        order,
        iterations: 1,
    };
    let cases = [
        (
            "bcrypt",
            Algorithm::Bcrypt {
                variant: BcryptVariant::B,
                cost: 5,
            },
            vec![42u8; 16],
        ),
        (
            "sha512",
            salted(Digest::Sha512, SaltOrder::Prefix),
            b"salt".to_vec(),
        ),
        (
            "sha256",
            salted(Digest::Sha256, SaltOrder::Postfix),
            b"salt".to_vec(),
        ),
        (
            "sha1",
            salted(Digest::Sha1, SaltOrder::Prefix),
            b"s1".to_vec(),
        ),
        ("md5", salted(Digest::Md5, SaltOrder::Prefix), Vec::new()),
        (
            "pbkdf2",
            Algorithm::Pbkdf2 {
                prf: Prf::HmacSha512,
                iterations: 5000,
            },
            b"NaCl".to_vec(),
        ),
    ];
    let mut out = serde_json::Map::new();
    for (name, algorithm, salt) in cases {
        let h = Hash::compute(algorithm, &salt, password).unwrap();
        out.insert(name.into(), h.to_okta().unwrap());
    }
    Value::Object(out)
}

#[test]
#[ignore = "needs the Python SDK venv: `make test` runs it with IDM_TEST_PYTHON set"]
fn okta_sdk_migrates_into_an_empty_org_and_the_users_sign_in() {
    let python = python();
    let sb = Sandbox::start(SandboxConfig {
        seed: SeedConfig {
            users: 0,
            groups: 0,
            apps: 0,
            seed: 9,
        },
        ..SandboxConfig::default()
    })
    .unwrap();
    let password = "Kept-Through-Migration1";
    let dir = tempfile::tempdir().unwrap();
    let given = dir.path().join("given.json");
    std::fs::write(
        &given,
        json!({ "hashes": hashes_for(password) }).to_string(),
    )
    .unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/okta_target_sdk.py"
    );
    let out = Command::new(&python)
        .arg(script)
        .arg(&given)
        .env("IDM_OKTA_URL", sb.okta_url())
        .env("IDM_OKTA_TOKEN", sb.okta_token())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{python}`: {e} (run `make pyenv`)"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "okta_target_sdk.py failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    let made: Value = serde_json::from_str(stdout.trim()).expect("a JSON summary line");
    let client = reqwest::blocking::Client::new();
    let sign_in = |login: &str, pw: &str| {
        client
            .post(format!("{}/api/v1/authn", sb.okta_url()))
            .json(&json!({ "username": login, "password": pw }))
            .send()
            .unwrap()
    };
    // every imported algorithm signs its user in, unless the SDK suspended or deactivated it
    for (name, user) in made["users"].as_object().unwrap() {
        let login = user["login"].as_str().unwrap();
        let r = sign_in(login, password);
        let expect = if matches!(name.as_str(), "md5" | "sha512") {
            401
        } else {
            200
        };
        assert_eq!(r.status(), expect, "{name}");
        if expect == 200 {
            let body: Value = r.json().unwrap();
            assert_eq!(body["status"], "SUCCESS", "{name}");
            assert_eq!(sign_in(login, "kept-through-migration1").status(), 401);
        }
    }
    assert_eq!(made["users"].as_object().unwrap().len(), 6);
    // no email went out, and the dump holds what the SDK wrote
    let stats = sb.stats(Side::Okta);
    assert_eq!(stats["emails"]["total"], 0, "{}", stats["emails"]);
    let dump = sb.dump(Side::Okta);
    let engineering = made["groups"]["Engineering"].as_str().unwrap();
    let members = dump
        .iter()
        .filter(|r| r["kind"] == "membership" && r["data"]["group_id"] == engineering)
        .count();
    assert_eq!(members, 6);
    let names: Vec<&str> = dump
        .iter()
        .filter(|r| r["kind"] == "group")
        .map(|r| r["data"]["profile"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Everyone", "Engineering", "Sales EMEA"]);
    let assignments = dump
        .iter()
        .filter(|r| r["kind"] == "app_assignment")
        .count();
    assert_eq!(assignments, 5);
    let custom = dump.iter().filter(|r| r["kind"] == "attribute").count();
    assert_eq!(custom, 3);
}

#[test]
#[ignore = "needs the Python SDK venv: `make test` runs it with IDM_TEST_PYTHON set"]
fn okta_sdk_lists_the_migrated_org_as_idm_load_reported() {
    // an org-to-org migration into an empty org, then the official SDK reads the target
    let python = python();
    let o = crate::okta_target::OrgToOrg::new(60, |_| {});
    o.prepare();
    let run = o.load(&["--apply"]);
    run.expect(0);
    let dir = tempfile::tempdir().unwrap();
    let expect = dir.path().join("expect.json");
    let want = expectations(&o.target, 7);
    std::fs::write(&expect, want.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/okta_sdk.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(&expect)
        .env("IDM_OKTA_URL", o.target.okta_url())
        .env("IDM_OKTA_TOKEN", o.target.okta_token())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{python}`: {e} (run `make pyenv`)"));
    assert!(
        out.status.success(),
        "okta_sdk.py failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // what the SDK saw is what idm-load reported: every user and group it created, by id
    let results = run.records();
    let reported = |of: &str| -> std::collections::BTreeSet<String> {
        results
            .iter()
            .filter(|r| r["data"]["of"] == of && r["data"]["op"] == "create")
            .map(|r| r["data"]["target_id"].as_str().unwrap().to_string())
            .collect()
    };
    let users: std::collections::BTreeSet<String> = want["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(reported("user"), users);
    let groups: std::collections::BTreeSet<String> = want["groups"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, g)| g["type"] != "BUILT_IN")
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(reported("group"), groups);
}
