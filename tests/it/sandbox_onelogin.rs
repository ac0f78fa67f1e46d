//! The simulated OneLogin account over real HTTP, as a migration *source* (every list walked
//! by cursor adds up to exactly the account) and as a password checker (`/api/1/login/auth`
//! against passwords set in clear or as hashes), with its rate-limit reporting.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use idm::password::{Algorithm, Digest, Hash, SaltOrder};
use idm::sandbox::seed::SeedConfig;
use idm::sandbox::{Sandbox, SandboxConfig, Side};
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn token(sb: &Sandbox) -> String {
    let r: Value = client()
        .post(format!("{}/auth/oauth2/v2/token", sb.onelogin_url()))
        .basic_auth(sb.onelogin_client_id(), Some(sb.onelogin_client_secret()))
        .json(&json!({ "grant_type": "client_credentials" }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    r["access_token"].as_str().unwrap().to_string()
}

fn call(sb: &Sandbox, tok: &str, method: &str, path: &str, body: Option<Value>) -> Response {
    let url = format!("{}{path}", sb.onelogin_url());
    let rb = match method {
        "GET" => client().get(url),
        "PUT" => client().put(url),
        "POST" => client().post(url),
        other => panic!("{other}"),
    };
    let rb = rb.bearer_auth(tok);
    match body {
        Some(b) => rb.json(&b),
        None => rb,
    }
    .send()
    .unwrap()
}

/// Walk a v2 list by `After-Cursor`; returns the items and the number of pages.
fn walk(sb: &Sandbox, tok: &str, path: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut target = path.to_string();
    let mut pages = 0;
    loop {
        let r = call(sb, tok, "GET", &target, None);
        assert_eq!(r.status(), 200, "{target}");
        let h = |k: &str| r.headers().get(k).map(|v| v.to_str().unwrap().to_string());
        let total: usize = h("Total-Count").unwrap().parse().unwrap();
        let after = h("After-Cursor");
        let page: Vec<Value> = r.json().unwrap();
        pages += 1;
        items.extend(page);
        match after {
            Some(c) => {
                // the cursor carries the query (limit, filters) of the first request
                let base = path.split('?').next().unwrap();
                let c: String = url::form_urlencoded::byte_serialize(c.as_bytes()).collect();
                target = format!("{base}?cursor={c}");
            }
            None => {
                assert_eq!(items.len(), total, "{path}: Total-Count");
                return (items, pages);
            }
        }
    }
}

fn ids(items: &[Value]) -> BTreeSet<u64> {
    items.iter().map(|i| i["id"].as_u64().unwrap()).collect()
}

#[test]
fn a_source_account_lists_completely_by_cursor() {
    let sb = Sandbox::start(SandboxConfig {
        seed: SeedConfig {
            users: 10,
            groups: 2,
            apps: 1,
            seed: 6,
        },
        onelogin_users: 260,
        ..SandboxConfig::default()
    })
    .unwrap();
    let tok = token(&sb);
    let dump = sb.dump(Side::OneLogin);
    let of = |kind: &str| -> Vec<&Value> { dump.iter().filter(|r| r["kind"] == kind).collect() };

    let (users, pages) = walk(&sb, &tok, "/api/2/users");
    assert!(pages >= 6, "{pages} user pages");
    let dumped_users: BTreeSet<u64> = of("user")
        .iter()
        .map(|r| r["data"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids(&users), dumped_users);
    assert_eq!(users.len(), dumped_users.len(), "each user once");
    assert!(users.len() > 260);
    // every state and every status a source can hold
    let states: BTreeSet<i64> = users.iter().map(|u| u["state"].as_i64().unwrap()).collect();
    let statuses: BTreeSet<i64> = users
        .iter()
        .map(|u| u["status"].as_i64().unwrap())
        .collect();
    assert_eq!(states, BTreeSet::from([0, 1, 2, 3]));
    assert_eq!(statuses, BTreeSet::from([0, 1, 2, 3, 4, 5, 7, 8]));
    assert!(
        users.iter().any(|u| u["email"].is_null()),
        "a username-only user"
    );
    assert!(
        users
            .iter()
            .any(|u| u["custom_attributes"]["badge_number"].is_string())
    );
    // the list is the same as each user's own GET
    let one = &users[123];
    let got: Value = call(
        &sb,
        &tok,
        "GET",
        &format!("/api/2/users/{}", one["id"]),
        None,
    )
    .json()
    .unwrap();
    assert_eq!(&got, one);

    let (roles, role_pages) = walk(&sb, &tok, "/api/2/roles");
    assert!(role_pages >= 2, "{role_pages} role pages");
    assert_eq!(
        ids(&roles),
        ids(&of("role")
            .iter()
            .map(|r| r["data"].clone())
            .collect::<Vec<_>>())
    );
    // role users and role apps, each role walked by cursor
    let mut memberships = BTreeSet::new();
    let mut role_apps = BTreeSet::new();
    for role in &roles {
        let rid = role["id"].as_u64().unwrap();
        let (members, _) = walk(&sb, &tok, &format!("/api/2/roles/{rid}/users"));
        for m in members {
            assert_eq!(m["assigned"], true);
            memberships.insert((rid, m["id"].as_u64().unwrap()));
        }
        let (apps, _) = walk(&sb, &tok, &format!("/api/2/roles/{rid}/apps"));
        for a in apps {
            role_apps.insert((rid, a["id"].as_u64().unwrap()));
        }
    }
    let dumped_members: BTreeSet<(u64, u64)> = of("membership")
        .iter()
        .map(|r| {
            (
                r["data"]["role_id"].as_u64().unwrap(),
                r["data"]["user_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(memberships, dumped_members);
    assert!(memberships.len() > 300, "{} memberships", memberships.len());
    let dumped_role_apps: BTreeSet<(u64, u64)> = of("role_app")
        .iter()
        .map(|r| {
            (
                r["data"]["role_id"].as_u64().unwrap(),
                r["data"]["app_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(role_apps, dumped_role_apps);

    let (apps, _) = walk(&sb, &tok, "/api/2/apps?limit=5");
    assert_eq!(
        ids(&apps),
        ids(&of("app")
            .iter()
            .map(|r| r["data"].clone())
            .collect::<Vec<_>>())
    );
    assert!(apps.len() >= 13);
    // custom attribute definitions: a bare array, as the reference says (not paged)
    let attrs: Vec<Value> = call(&sb, &tok, "GET", "/api/2/users/custom_attributes", None)
        .json()
        .unwrap();
    assert_eq!(attrs.len(), of("attribute").len());
    let v1: Value = call(&sb, &tok, "GET", "/api/1/users/custom_attributes", None)
        .json()
        .unwrap();
    assert_eq!(v1["data"][0].as_array().unwrap().len(), attrs.len());
    // the same seed gives the same source account
    let again = Sandbox::start(SandboxConfig {
        seed: SeedConfig {
            users: 10,
            groups: 2,
            apps: 1,
            seed: 6,
        },
        onelogin_users: 260,
        ..SandboxConfig::default()
    })
    .unwrap();
    assert_eq!(again.dump(Side::OneLogin), dump);
}

#[test]
fn login_checks_passwords_set_in_clear_or_as_hashes() {
    let sb = Sandbox::start(SandboxConfig::default()).unwrap();
    let tok = token(&sb);
    let login = |who: &str, pw: &str| {
        client()
            .post(format!("{}/api/1/login/auth", sb.onelogin_url()))
            .bearer_auth(&tok)
            .json(&json!({ "username_or_email": who, "password": pw, "subdomain": sb.onelogin_subdomain() }))
            .send()
            .unwrap()
    };
    // a hash made by idm::password, imported on create
    let h = Hash::compute(
        Algorithm::Salted {
            digest: Digest::Sha256,
            order: SaltOrder::Prefix,
            iterations: 1,
        },
        b"s4lt",
        "From-Stormpath-1",
    )
    .unwrap();
    let ol = h.to_onelogin().unwrap();
    let mut body = json!({ "email": "hashed@example.org", "username": "hashed" });
    for (k, v) in ol.v2_fields().as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = call(&sb, &tok, "POST", "/api/2/users", Some(body));
    assert_eq!(r.status(), 201);
    let created: Value = r.json().unwrap();
    assert_eq!(created["status"], 1);
    let r = login("hashed", "From-Stormpath-1");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    assert_eq!(v["status"]["type"], "success");
    assert_eq!(v["data"][0]["status"], "Authenticated");
    assert_eq!(v["data"][0]["user"]["username"], "hashed");
    assert_eq!(login("hashed", "from-stormpath-1").status(), 401);

    // the v1 endpoint with the same hash on another user
    let uid = call(
        &sb,
        &tok,
        "POST",
        "/api/2/users",
        Some(json!({ "email": "v1@example.org" })),
    )
    .json::<Value>()
    .unwrap()["id"]
        .as_u64()
        .unwrap();
    assert_eq!(
        login("v1@example.org", "From-Stormpath-1").status(),
        401,
        "no password yet"
    );
    let r = call(
        &sb,
        &tok,
        "PUT",
        &format!("/api/1/users/set_password_using_salt/{uid}"),
        Some(ol.v1_body()),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(login("v1@example.org", "From-Stormpath-1").status(), 200);
    // then in clear
    let r = call(
        &sb,
        &tok,
        "PUT",
        &format!("/api/1/users/set_password_clear_text/{uid}"),
        Some(json!({ "password": "Plain-Text-2", "password_confirmation": "Plain-Text-2" })),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(login("v1@example.org", "From-Stormpath-1").status(), 401);
    assert_eq!(login("v1@example.org", "Plain-Text-2").status(), 200);
    // suspended users cannot
    call(
        &sb,
        &tok,
        "PUT",
        &format!("/api/2/users/{uid}"),
        Some(json!({ "status": 2 })),
    );
    assert_eq!(login("v1@example.org", "Plain-Text-2").status(), 401);
    // sign-ins are counted apart from writes
    let stats = sb.stats(Side::OneLogin);
    assert_eq!(stats["sign_ins"], 7);
}

#[test]
fn rate_limit_headers_and_endpoint_agree() {
    let sb = Sandbox::start(SandboxConfig {
        onelogin_rate_limit: Some("5000/hour".parse().unwrap()),
        ..SandboxConfig::default()
    })
    .unwrap();
    let tok = token(&sb);
    let r = call(&sb, &tok, "GET", "/api/2/users?limit=1", None);
    let h = |r: &Response, k: &str| -> u64 { r.headers()[k].to_str().unwrap().parse().unwrap() };
    assert_eq!(h(&r, "X-RateLimit-Limit"), 5000);
    let remaining = h(&r, "X-RateLimit-Remaining");
    let reset = h(&r, "X-RateLimit-Reset");
    // Reset counts seconds remaining, not an epoch
    assert!((1..=3600).contains(&reset), "{reset}");
    let body: Value = call(&sb, &tok, "GET", "/auth/rate_limit", None)
        .json()
        .unwrap();
    assert_eq!(body["status"]["code"], 200);
    assert_eq!(body["data"]["X-RateLimit-Limit"], 5000);
    let reset2 = body["data"]["X-RateLimit-Reset"].as_u64().unwrap();
    assert!(reset2 <= 3600);
    // the token endpoint is not metered
    token(&sb);
    let r = call(&sb, &tok, "GET", "/api/2/roles", None);
    // (unless the hour turned between the calls, each call took one from the same window)
    if reset2 <= reset {
        assert_eq!(body["data"]["X-RateLimit-Remaining"], remaining - 1);
        assert_eq!(h(&r, "X-RateLimit-Remaining"), remaining - 2);
        let by: BTreeMap<String, Value> =
            serde_json::from_value(sb.stats(Side::OneLogin)["by_bucket"].clone()).unwrap();
        assert_eq!(by["account"]["peak_per_window"], 3);
    }
}

#[test]
fn the_connector_catalogue_matches_the_okta_seeds_vendor_apps_exactly_or_nearly() {
    let sb = Sandbox::start(SandboxConfig {
        seed: SeedConfig {
            users: 5,
            groups: 2,
            apps: 24,
            seed: 1,
        },
        ..SandboxConfig::default()
    })
    .unwrap();
    let tok = token(&sb);
    let (catalogue, pages) = walk(&sb, &tok, "/api/2/connectors");
    assert!(pages >= 3);
    let names: Vec<String> = catalogue
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_lowercase())
        .collect();
    let first_word = |s: &str| {
        s.split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or("")
            .to_string()
    };
    let (mut exact, mut near) = (0, 0);
    for rec in sb.dump(Side::Okta).iter().filter(|r| r["kind"] == "app") {
        let app = &rec["data"];
        let label = app["label"].as_str().unwrap().to_lowercase();
        let custom = label.starts_with("example")
            || label.starts_with("intranet")
            || label.starts_with("legacy");
        if custom {
            continue;
        }
        if names.contains(&label) {
            exact += 1;
        } else {
            // a near miss: a catalogue name that starts with the label's first word
            let word = first_word(&label);
            assert!(
                names.iter().any(|n| first_word(n) == word),
                "no connector near `{label}`"
            );
            near += 1;
        }
    }
    assert!(exact >= 5 && near >= 3, "{exact} exact, {near} near misses");
}
