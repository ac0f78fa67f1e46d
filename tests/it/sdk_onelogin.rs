//! Fidelity through a real client nobody here wrote: the official `onelogin` 4.x Python SDK
//! creates, lists and updates users, roles, role users, role apps and custom attributes
//! against the sandbox over HTTP (tests/python/onelogin_sdk.py), and what it saw is compared
//! with the sandbox's own dump.
//!
//! Needs the venv of `make pyenv`; `make test` sets IDM_TEST_PYTHON to it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use idm::sandbox::{Sandbox, SandboxConfig, Side};
use serde_json::Value;

fn python() -> String {
    std::env::var("IDM_TEST_PYTHON").unwrap_or_else(|_| {
        panic!(
            "IDM_TEST_PYTHON is not set: run `make pyenv` (or `make test`), or set it to \
             target/py-venv/bin/python"
        )
    })
}

fn of_kind<'a>(dump: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    dump.iter().filter(move |e| e["kind"] == kind)
}

fn ids(v: &Value) -> BTreeSet<u64> {
    v.as_array()
        .expect("an array of ids")
        .iter()
        .map(|i| i.as_u64().expect("an id"))
        .collect()
}

#[test]
#[ignore = "needs the Python SDK venv: `make test` runs it with IDM_TEST_PYTHON set"]
fn official_onelogin_sdk_creates_lists_and_updates() {
    let python = python();
    let sb = Sandbox::start(SandboxConfig::default()).expect("sandbox starts");
    let before = sb.dump(Side::OneLogin);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/onelogin_sdk.py");
    let out = Command::new(&python)
        .arg(&script)
        .env("IDM_ONELOGIN_URL", sb.onelogin_url())
        .env("IDM_ONELOGIN_CLIENT_ID", sb.onelogin_client_id())
        .env("IDM_ONELOGIN_CLIENT_SECRET", sb.onelogin_client_secret())
        .env("IDM_ONELOGIN_SUBDOMAIN", sb.onelogin_subdomain())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{python}`: {e} (run `make pyenv`)"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "onelogin_sdk.py failed:\n{stderr}");
    let seen: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("onelogin_sdk.py printed no JSON ({e}):\n{stderr}"));

    // Every page walked by the SDK adds up to exactly the users of the account.
    assert_eq!(
        seen["users_before"].as_u64(),
        Some(of_kind(&before, "user").count() as u64)
    );
    let after = sb.dump(Side::OneLogin);
    let users: Vec<&Value> = of_kind(&after, "user").collect();
    assert_eq!(seen["users_after"].as_u64(), Some(users.len() as u64));
    for (i, id) in ids(&seen["created_user_ids"]).iter().enumerate() {
        let u = users
            .iter()
            .find(|u| u["data"]["id"].as_u64() == Some(*id))
            .unwrap_or_else(|| panic!("created user {id} not in the dump"));
        let expected = if seen["password_user_id"].as_u64() == Some(*id) {
            1
        } else {
            7
        };
        assert_eq!(
            u["data"]["status"], expected,
            "status 7 until a password is set"
        );
        assert_eq!(u["data"]["firstname"], "Zoë");
        assert!(
            u["data"]["custom_attributes"]["sdk_field"].is_string(),
            "user {i}: {}",
            u["data"]
        );
    }
    let first = ids(&seen["created_user_ids"]).into_iter().next().unwrap();
    let updated = users
        .iter()
        .find(|u| u["data"]["id"].as_u64() == Some(first))
        .unwrap();
    assert_eq!(updated["data"]["department"], "R&D");
    assert_eq!(
        updated["data"]["lastname"], "SDK0",
        "PUT is a partial update"
    );

    // Role members and role apps as the SDK left them.
    let role = seen["role_id"].as_u64().unwrap();
    let members: BTreeSet<u64> = of_kind(&after, "membership")
        .filter(|m| m["data"]["role_id"].as_u64() == Some(role))
        .map(|m| m["data"]["user_id"].as_u64().unwrap())
        .collect();
    assert_eq!(members, ids(&seen["role_members"]));
    let apps: BTreeSet<u64> = of_kind(&after, "role_app")
        .filter(|m| m["data"]["role_id"].as_u64() == Some(role))
        .map(|m| m["data"]["app_id"].as_u64().unwrap())
        .collect();
    assert_eq!(apps, ids(&seen["role_apps"]));
    assert!(seen["connectors"].as_u64().unwrap() >= 100);
    assert_eq!(
        seen["role_count"].as_u64(),
        Some(of_kind(&after, "role").count() as u64)
    );
    assert_eq!(
        seen["attribute_count"].as_u64(),
        Some(of_kind(&after, "attribute").count() as u64)
    );
    assert!(
        of_kind(&after, "attribute").any(|a| a["data"]["shortname"] == "sdk_field"),
        "the attribute the SDK created is defined"
    );
}
