//! The simulated Okta org as the *target* of a migration, over real HTTP: an empty org,
//! every user create a migration sends, imported hashes of all six algorithms that still
//! sign their users in (`POST /api/v1/authn`), lifecycle rules, group and app writes, the
//! schema, the concurrent-request limit, tier rate limits, and two defects (a filter that
//! overflowed the stack, non-JSON bodies).

use std::time::{Duration, Instant};

use idm::password::{Algorithm, BcryptVariant, Digest, Hash, Prf, SaltOrder};
use idm::sandbox::seed::SeedConfig;
use idm::sandbox::{FaultKind, FaultRule, OktaTier, Sandbox, SandboxConfig, Side};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

fn start_with(cfg: SandboxConfig) -> Sandbox {
    Sandbox::start(cfg).expect("sandbox starts")
}

/// A target org: empty unless asked otherwise.
fn empty_org() -> Sandbox {
    start_with(SandboxConfig {
        seed: SeedConfig {
            users: 0,
            groups: 0,
            apps: 0,
            seed: 3,
        },
        ..SandboxConfig::default()
    })
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn authed(sb: &Sandbox, rb: RequestBuilder) -> RequestBuilder {
    rb.header("Authorization", format!("SSWS {}", sb.okta_token()))
        .header("Accept", "application/json")
}

fn url(sb: &Sandbox, path: &str) -> String {
    format!("{}{path}", sb.okta_url())
}

fn get(sb: &Sandbox, path: &str) -> Response {
    authed(sb, client().get(url(sb, path))).send().unwrap()
}

fn post(sb: &Sandbox, path: &str, body: &Value) -> Response {
    authed(sb, client().post(url(sb, path)))
        .json(body)
        .send()
        .unwrap()
}

fn post_empty(sb: &Sandbox, path: &str) -> Response {
    authed(sb, client().post(url(sb, path)))
        .header("Content-Length", "0")
        .send()
        .unwrap()
}

fn put(sb: &Sandbox, path: &str, body: &Value) -> Response {
    authed(sb, client().put(url(sb, path)))
        .json(body)
        .send()
        .unwrap()
}

fn put_empty(sb: &Sandbox, path: &str) -> Response {
    authed(sb, client().put(url(sb, path)))
        .header("Content-Length", "0")
        .send()
        .unwrap()
}

fn delete(sb: &Sandbox, path: &str) -> Response {
    authed(sb, client().delete(url(sb, path))).send().unwrap()
}

/// `POST /api/v1/authn` as an end user sends it: no API token.
fn sign_in(sb: &Sandbox, username: &str, password: &str) -> Response {
    client()
        .post(url(sb, "/api/v1/authn"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .unwrap()
}

fn ok(resp: Response) -> Value {
    let status = resp.status();
    let text = resp.text().unwrap();
    assert!(status.is_success(), "{status}: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// Assert an Okta error: status, code, and the causes' texts.
fn err(resp: Response, status: u16, code: &str) -> Vec<String> {
    let got = resp.status().as_u16();
    let body: Value = resp.json().unwrap();
    assert_eq!(got, status, "{body}");
    assert_eq!(body["errorCode"], code, "{body}");
    assert_eq!(body["errorLink"], code);
    assert!(body["errorId"].as_str().is_some_and(|s| !s.is_empty()));
    body["errorCauses"]
        .as_array()
        .expect("errorCauses is an array")
        .iter()
        .map(|c| c["errorSummary"].as_str().unwrap().to_string())
        .collect()
}

fn person(login: &str) -> Value {
    json!({ "firstName": "Test", "lastName": "Person", "email": login, "login": login })
}

fn emails(sb: &Sandbox) -> Value {
    sb.stats(Side::Okta)["emails"].clone()
}

#[test]
fn an_empty_org_has_only_everyone() {
    let sb = empty_org();
    assert_eq!(ok(get(&sb, "/api/v1/users")), json!([]));
    let groups = ok(get(&sb, "/api/v1/groups"));
    assert_eq!(groups.as_array().unwrap().len(), 1);
    assert_eq!(groups[0]["profile"]["name"], "Everyone");
    assert_eq!(groups[0]["type"], "BUILT_IN");
    assert_eq!(ok(get(&sb, "/api/v1/apps")), json!([]));
    let schema = ok(get(&sb, "/api/v1/meta/schemas/user/default"));
    assert_eq!(schema["definitions"]["custom"]["properties"], json!({}));
    assert!(schema["definitions"]["base"]["properties"]["login"].is_object());
    // no users means no custom attributes, whatever the group and app counts
    let sb = start_with(SandboxConfig {
        seed: SeedConfig {
            users: 0,
            groups: 3,
            apps: 2,
            seed: 1,
        },
        ..SandboxConfig::default()
    });
    assert_eq!(ok(get(&sb, "/api/v1/groups")).as_array().unwrap().len(), 4);
    assert_eq!(ok(get(&sb, "/api/v1/apps")).as_array().unwrap().len(), 2);
    let schema = ok(get(&sb, "/api/v1/meta/schemas/user/default"));
    assert_eq!(schema["definitions"]["custom"]["properties"], json!({}));
}

#[test]
fn create_user_statuses_providers_and_validation() {
    let sb = empty_org();
    let pw = json!({ "password": { "value": "Tr1cky-Secret" } });
    // activate defaults to true: with a password, ACTIVE and no email
    let u = ok(post(
        &sb,
        "/api/v1/users",
        &json!({ "profile": person("ann@example.com"), "credentials": pw }),
    ));
    assert_eq!(u["status"], "ACTIVE");
    assert_eq!(u["credentials"]["password"], json!({}));
    assert_eq!(u["credentials"]["provider"]["type"], "OKTA");
    assert!(u["activated"].is_string());
    assert_eq!(emails(&sb)["total"], 0);
    // without one: PROVISIONED, and the user would get an activation email
    let u = ok(post(
        &sb,
        "/api/v1/users",
        &json!({ "profile": person("bob@example.com") }),
    ));
    assert_eq!(u["status"], "PROVISIONED");
    assert!(u["credentials"].get("password").is_none());
    assert_eq!(emails(&sb)["activation"], 1);
    // activate=false: STAGED, activated null
    let u = ok(post(
        &sb,
        "/api/v1/users?activate=false",
        &json!({ "profile": person("cat@example.com"), "credentials": pw }),
    ));
    assert_eq!(
        (u["status"].as_str(), &u["activated"]),
        (Some("STAGED"), &Value::Null)
    );
    // nextLogin=changePassword: the password is created expired
    let u = ok(post(
        &sb,
        "/api/v1/users?activate=true&nextLogin=changePassword",
        &json!({ "profile": person("dan@example.com"), "credentials": pw }),
    ));
    assert_eq!(u["status"], "PASSWORD_EXPIRED");
    let causes = err(
        post(
            &sb,
            "/api/v1/users?activate=false&nextLogin=changePassword",
            &json!({ "profile": person("dana@example.com"), "credentials": pw }),
        ),
        400,
        "E0000001",
    );
    assert!(causes[0].starts_with("nextLogin: "), "{causes:?}");
    // a FEDERATION user: provider=true, no password
    let fed = json!({ "profile": person("eve@example.com"),
                      "credentials": { "provider": { "type": "FEDERATION", "name": "FEDERATION" } } });
    let u = ok(post(&sb, "/api/v1/users?provider=true", &fed));
    assert_eq!(u["status"], "ACTIVE");
    assert_eq!(u["credentials"]["provider"]["type"], "FEDERATION");
    err(
        post(
            &sb,
            "/api/v1/users",
            &json!({ "profile": person("eve2@example.com"), "credentials": fed["credentials"] }),
        ),
        400,
        "E0000001",
    );
    let mut fed_pw = fed.clone();
    fed_pw["profile"] = person("eve3@example.com");
    fed_pw["credentials"]["password"] = json!({ "value": "Tr1cky-Secret" });
    err(
        post(&sb, "/api/v1/users?provider=true", &fed_pw),
        400,
        "E0000001",
    );
    // a password import hook: IMPORT, but nothing here can verify it
    let u = ok(post(
        &sb,
        "/api/v1/users",
        &json!({ "profile": person("hook@example.com"),
                 "credentials": { "password": { "hook": { "type": "default" } } } }),
    ));
    assert_eq!(u["credentials"]["provider"]["type"], "IMPORT");
    assert_eq!(
        sign_in(&sb, "hook@example.com", "Tr1cky-Secret").status(),
        401
    );
    // duplicate login, case-insensitive, with Okta's cause text
    let causes = err(
        post(
            &sb,
            "/api/v1/users",
            &json!({ "profile": person("ANN@example.com") }),
        ),
        400,
        "E0000001",
    );
    assert_eq!(
        causes,
        ["login: An object with this field already exists in the current organization"]
    );
    // unknown custom attribute, bad email, weak password, short recovery answer
    let mut p = person("fay@example.com");
    p["costCentre"] = json!("x");
    err(
        post(&sb, "/api/v1/users", &json!({ "profile": p })),
        400,
        "E0000001",
    );
    let mut p = person("gus@example.com");
    p["email"] = json!("not-an-email");
    err(
        post(&sb, "/api/v1/users", &json!({ "profile": p })),
        400,
        "E0000001",
    );
    err(
        post(
            &sb,
            "/api/v1/users",
            &json!({ "profile": person("hal@example.com"), "credentials": { "password": { "value": "short" } } }),
        ),
        400,
        "E0000001",
    );
    err(
        post(
            &sb,
            "/api/v1/users",
            &json!({ "profile": person("ivy@example.com"),
                     "credentials": { "recovery_question": { "question": "Pet?", "answer": "x" } } }),
        ),
        400,
        "E0000001",
    );
}

#[test]
fn group_ids_on_create_at_most_twenty_and_only_existing_okta_groups() {
    let sb = empty_org();
    let ids: Vec<String> = (0..21)
        .map(|n| {
            ok(post(
                &sb,
                "/api/v1/groups",
                &json!({ "profile": { "name": format!("G{n}") } }),
            ))["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let causes = err(
        post(
            &sb,
            "/api/v1/users",
            &json!({ "profile": person("many@example.com"), "groupIds": ids }),
        ),
        400,
        "E0000093",
    );
    assert_eq!(causes, ["The number of group targets is too large."]);
    let u = ok(post(
        &sb,
        "/api/v1/users?activate=false",
        &json!({ "profile": person("twenty@example.com"), "groupIds": ids[..20] }),
    ));
    let uid = u["id"].as_str().unwrap();
    let groups = ok(get(&sb, &format!("/api/v1/users/{uid}/groups")));
    // the twenty plus Everyone
    assert_eq!(groups.as_array().unwrap().len(), 21);
    err(
        post(
            &sb,
            "/api/v1/users",
            &json!({ "profile": person("ghost@example.com"), "groupIds": ["00gDOESNOTEXIST0000"] }),
        ),
        404,
        "E0000007",
    );
    let everyone = ok(get(&sb, "/api/v1/groups?q=Everyone"))[0]["id"].clone();
    err(
        post(
            &sb,
            "/api/v1/users",
            &json!({ "profile": person("builtin@example.com"), "groupIds": [everyone] }),
        ),
        400,
        "E0000001",
    );
}

/// One hash of each of Okta's six algorithms for `password`, made with idm::password.
fn six_hashes(password: &str) -> Vec<(String, Value)> {
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
                cost: 4,
            },
            vec![9u8; 16],
        ),
        (
            "sha512",
            salted(Digest::Sha512, SaltOrder::Prefix),
            b"pepper".to_vec(),
        ),
        (
            "sha256",
            salted(Digest::Sha256, SaltOrder::Postfix),
            b"pepper".to_vec(),
        ),
        ("sha1", salted(Digest::Sha1, SaltOrder::Prefix), Vec::new()),
        (
            "md5",
            salted(Digest::Md5, SaltOrder::Postfix),
            b"s".to_vec(),
        ),
        (
            "pbkdf2",
            Algorithm::Pbkdf2 {
                prf: Prf::HmacSha256,
                iterations: 4096,
            },
            b"NaCl".to_vec(),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, algorithm, salt)| {
            let h = Hash::compute(algorithm, &salt, password).unwrap();
            (name.to_string(), h.to_okta().unwrap())
        })
        .collect()
}

#[test]
fn imported_hashes_of_all_six_algorithms_sign_their_users_in() {
    let sb = empty_org();
    let password = "Migrated-Pa55";
    for (name, hash) in six_hashes(password) {
        let login = format!("{name}@example.com");
        // a migration's way: STAGED with the hash, then activated without an email
        let u = ok(post(
            &sb,
            "/api/v1/users?activate=false",
            &json!({ "profile": person(&login), "credentials": { "password": { "hash": hash } } }),
        ));
        assert_eq!(u["status"], "STAGED", "{name}");
        assert_eq!(u["credentials"]["provider"]["type"], "IMPORT", "{name}");
        assert_eq!(u["credentials"]["password"], json!({}), "{name}");
        let id = u["id"].as_str().unwrap().to_string();
        assert_eq!(sb.okta().imported_hash(&id), Some(hash.clone()), "{name}");
        // the hash never comes back from the API
        let text = get(&sb, &format!("/api/v1/users/{id}")).text().unwrap();
        assert!(!text.contains(hash["value"].as_str().unwrap()), "{name}");
        // STAGED users cannot sign in yet
        assert_eq!(sign_in(&sb, &login, password).status(), 401, "{name}");
        let token = ok(post_empty(
            &sb,
            &format!("/api/v1/users/{id}/lifecycle/activate?sendEmail=false"),
        ));
        assert!(token["activationToken"].is_string(), "{name}");
        assert_eq!(
            ok(get(&sb, &format!("/api/v1/users/{id}")))["status"],
            "ACTIVE"
        );
        let r = ok(sign_in(&sb, &login, password));
        assert_eq!(r["status"], "SUCCESS", "{name}");
        assert!(r["sessionToken"].as_str().is_some_and(|t| t.len() > 20));
        assert_eq!(r["_embedded"]["user"]["id"], id.as_str());
        assert_eq!(r["_embedded"]["user"]["profile"]["login"], login.as_str());
        let wrong = sign_in(&sb, &login, "migrated-Pa55");
        assert_eq!(wrong.status(), 401, "{name}");
        err(wrong, 401, "E0000004");
        // the short name signs in too
        let short = login.split('@').next().unwrap();
        assert_eq!(ok(sign_in(&sb, short, password))["status"], "SUCCESS");
        assert!(
            ok(get(&sb, &format!("/api/v1/users/{id}")))["lastLogin"].is_string(),
            "{name}"
        );
    }
    // the migration sent no email, and sign-ins are not writes
    assert_eq!(emails(&sb)["total"], 0, "{}", emails(&sb));
    let stats = sb.stats(Side::Okta);
    assert_eq!(stats["sign_ins"], 24);
    assert_eq!(stats["writes"], 12);
}

#[test]
fn hashes_only_while_staged_and_full_versus_partial_updates() {
    let sb = empty_org();
    let hash = six_hashes("Another-Pa55")[1].1.clone();
    let u = ok(post(
        &sb,
        "/api/v1/users",
        &json!({ "profile": person("upd@example.com"), "credentials": { "password": { "value": "Tr1cky-Secret" } } }),
    ));
    let id = u["id"].as_str().unwrap().to_string();
    err(
        post(
            &sb,
            &format!("/api/v1/users/{id}"),
            &json!({ "credentials": { "password": { "hash": hash } } }),
        ),
        403,
        "E0000038",
    );
    // a staged user takes one, and signs in with it once active
    let s = ok(post(
        &sb,
        "/api/v1/users?activate=false",
        &json!({ "profile": person("staged@example.com") }),
    ));
    let sid = s["id"].as_str().unwrap().to_string();
    let s = ok(post(
        &sb,
        &format!("/api/v1/users/{sid}"),
        &json!({ "credentials": { "password": { "hash": hash } } }),
    ));
    assert_eq!(s["credentials"]["provider"]["type"], "IMPORT");
    ok(post_empty(
        &sb,
        &format!("/api/v1/users/{sid}/lifecycle/activate?sendEmail=false"),
    ));
    assert_eq!(
        ok(sign_in(&sb, "staged@example.com", "Another-Pa55"))["status"],
        "SUCCESS"
    );
    // a new cleartext password on an active user replaces the old one
    ok(post(
        &sb,
        &format!("/api/v1/users/{id}"),
        &json!({ "credentials": { "password": { "value": "N3w-Password" } } }),
    ));
    assert_eq!(
        sign_in(&sb, "upd@example.com", "Tr1cky-Secret").status(),
        401
    );
    assert_eq!(
        ok(sign_in(&sb, "upd@example.com", "N3w-Password"))["status"],
        "SUCCESS"
    );
    // POST keeps what it does not mention; PUT drops it
    let u = ok(post(
        &sb,
        &format!("/api/v1/users/{id}"),
        &json!({ "profile": { "title": "Engineer" } }),
    ));
    assert_eq!(u["profile"]["firstName"], "Test");
    assert_eq!(u["profile"]["title"], "Engineer");
    let mut p = person("upd@example.com");
    p["lastName"] = json!("Replaced");
    let u = ok(put(
        &sb,
        &format!("/api/v1/users/{id}"),
        &json!({ "profile": p }),
    ));
    assert_eq!(u["profile"]["lastName"], "Replaced");
    assert!(u["profile"].get("title").is_none());
    err(
        put(
            &sb,
            &format!("/api/v1/users/{id}"),
            &json!({ "profile": { "title": "x" } }),
        ),
        400,
        "E0000001",
    );
}

#[test]
fn lifecycle_transitions_follow_the_status_rules() {
    let sb = empty_org();
    let pw = "Tr1cky-Secret";
    let u = ok(post(
        &sb,
        "/api/v1/users?activate=false",
        &json!({ "profile": person("life@example.com"), "credentials": { "password": { "value": pw } } }),
    ));
    let id = u["id"].as_str().unwrap().to_string();
    let life = |action: &str| post_empty(&sb, &format!("/api/v1/users/{id}/lifecycle/{action}"));
    let status = || ok(get(&sb, &format!("/api/v1/users/{id}")))["status"].clone();
    err(life("suspend"), 403, "E0000038");
    err(life("unsuspend"), 403, "E0000038");
    err(life("unlock"), 403, "E0000032");
    // activate with the default sendEmail=true: an email, counted
    assert_eq!(ok(life("activate")), json!({}));
    assert_eq!(status(), "ACTIVE");
    assert_eq!(emails(&sb)["activation"], 1);
    err(life("activate"), 403, "E0000016");
    assert_eq!(
        ok(sign_in(&sb, "life@example.com", pw))["status"],
        "SUCCESS"
    );
    ok(life("suspend"));
    assert_eq!(status(), "SUSPENDED");
    let user = ok(get(&sb, &format!("/api/v1/users/{id}")));
    assert!(user["_links"]["unsuspend"]["href"].is_string());
    err(sign_in(&sb, "life@example.com", pw), 401, "E0000004");
    err(life("activate"), 403, "E0000038");
    ok(life("unsuspend"));
    assert_eq!(status(), "ACTIVE");
    assert_eq!(
        ok(sign_in(&sb, "life@example.com", pw))["status"],
        "SUCCESS"
    );
    ok(life("deactivate"));
    assert_eq!(status(), "DEPROVISIONED");
    err(sign_in(&sb, "life@example.com", pw), 401, "E0000004");
    err(life("deactivate"), 403, "E0000038");
    err(life("suspend"), 403, "E0000038");
    // a deprovisioned user can be activated again, silently
    ok(life("activate?sendEmail=false"));
    assert_eq!(status(), "ACTIVE");
    ok(post_empty(
        &sb,
        &format!("/api/v1/users/{id}/lifecycle/deactivate?sendEmail=true"),
    ));
    assert_eq!(emails(&sb)["deactivation"], 1);
    // unknown user and unknown action
    err(
        post_empty(&sb, "/api/v1/users/00uNOBODY00000000000/lifecycle/suspend"),
        404,
        "E0000007",
    );
    assert_eq!(life("explode").status(), 405);
}

#[test]
fn authn_answers_password_expired_and_locked_out_and_needs_no_token() {
    let sb = empty_org();
    let pw = "Tr1cky-Secret";
    ok(post(
        &sb,
        "/api/v1/users?nextLogin=changePassword",
        &json!({ "profile": person("exp@example.com"), "credentials": { "password": { "value": pw } } }),
    ));
    let r = ok(sign_in(&sb, "exp@example.com", pw));
    assert_eq!(r["status"], "PASSWORD_EXPIRED");
    assert!(r["stateToken"].is_string());
    assert!(r.get("sessionToken").is_none());
    assert_eq!(r["_links"]["next"]["name"], "changePassword");
    // the wrong password is still a 401, expired or not
    err(
        sign_in(&sb, "exp@example.com", "nope-Nope1"),
        401,
        "E0000004",
    );
    // unknown users look like wrong passwords; blank fields are validation errors
    err(sign_in(&sb, "nobody@example.com", pw), 401, "E0000004");
    err(sign_in(&sb, "", pw), 400, "E0000001");
    // authn takes no API token, but a token does not hurt
    let r = authed(&sb, client().post(url(&sb, "/api/v1/authn")))
        .json(&json!({ "username": "exp@example.com", "password": pw }))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // seeded users: a LOCKED_OUT one answers its status
    let sb = start_with(SandboxConfig {
        seed: SeedConfig {
            users: 10,
            groups: 1,
            apps: 0,
            seed: 5,
        },
        ..SandboxConfig::default()
    });
    let locked: Vec<Value> = sb
        .dump(Side::Okta)
        .into_iter()
        .filter(|r| r["kind"] == "user" && r["data"]["status"] == "LOCKED_OUT")
        .collect();
    let login = locked[0]["data"]["profile"]["login"].as_str().unwrap();
    let r = ok(sign_in(&sb, login, "whatever"));
    assert_eq!(r["status"], "LOCKED_OUT");
}

#[test]
fn groups_create_rename_delete_and_membership() {
    let sb = start_with(SandboxConfig {
        seed: SeedConfig {
            users: 5,
            groups: 5,
            apps: 1,
            seed: 2,
        },
        ..SandboxConfig::default()
    });
    let g = ok(post(
        &sb,
        "/api/v1/groups",
        &json!({ "profile": { "name": "Migrated", "description": "from OneLogin" } }),
    ));
    assert_eq!(g["type"], "OKTA_GROUP");
    let gid = g["id"].as_str().unwrap().to_string();
    // duplicate names are refused, case-insensitively (our conservative choice)
    err(
        post(
            &sb,
            "/api/v1/groups",
            &json!({ "profile": { "name": "MIGRATED" } }),
        ),
        400,
        "E0000001",
    );
    // rename
    let r = ok(put(
        &sb,
        &format!("/api/v1/groups/{gid}"),
        &json!({ "profile": { "name": "Migrated (renamed)", "description": null } }),
    ));
    assert_eq!(r["profile"]["name"], "Migrated (renamed)");
    assert_eq!(
        ok(get(&sb, &format!("/api/v1/groups/{gid}")))["profile"]["name"],
        "Migrated (renamed)"
    );
    let dump = sb.dump(Side::Okta);
    let of_type = |t: &str| -> String {
        dump.iter()
            .find(|r| r["kind"] == "group" && r["data"]["type"] == t)
            .map(|r| r["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let (app_group, everyone, other) = (
        of_type("APP_GROUP"),
        of_type("BUILT_IN"),
        of_type("OKTA_GROUP"),
    );
    let other_name = ok(get(&sb, &format!("/api/v1/groups/{other}")))["profile"]["name"].clone();
    err(
        put(
            &sb,
            &format!("/api/v1/groups/{gid}"),
            &json!({ "profile": { "name": other_name } }),
        ),
        400,
        "E0000001",
    );
    err(
        put(
            &sb,
            &format!("/api/v1/groups/{app_group}"),
            &json!({ "profile": { "name": "x" } }),
        ),
        403,
        "E0000006",
    );
    err(
        put(
            &sb,
            &format!("/api/v1/groups/{gid}"),
            &json!({ "profile": { "name": "" } }),
        ),
        400,
        "E0000001",
    );
    // membership: OKTA_GROUP only, idempotent
    let uid = dump
        .iter()
        .find(|r| r["kind"] == "user")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .unwrap();
    for _ in 0..2 {
        assert_eq!(
            put_empty(&sb, &format!("/api/v1/groups/{gid}/users/{uid}")).status(),
            204
        );
    }
    assert_eq!(
        ok(get(&sb, &format!("/api/v1/groups/{gid}/users")))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    err(
        put_empty(&sb, &format!("/api/v1/groups/{app_group}/users/{uid}")),
        403,
        "E0000006",
    );
    assert_eq!(
        delete(&sb, &format!("/api/v1/groups/{gid}/users/{uid}")).status(),
        204
    );
    assert_eq!(
        ok(get(&sb, &format!("/api/v1/groups/{gid}/users"))),
        json!([])
    );
    // delete: 204, then gone; Everyone cannot be deleted
    put_empty(&sb, &format!("/api/v1/groups/{gid}/users/{uid}"));
    assert_eq!(delete(&sb, &format!("/api/v1/groups/{gid}")).status(), 204);
    err(get(&sb, &format!("/api/v1/groups/{gid}")), 404, "E0000007");
    err(
        delete(&sb, &format!("/api/v1/groups/{gid}")),
        404,
        "E0000007",
    );
    err(
        delete(&sb, &format!("/api/v1/groups/{everyone}")),
        403,
        "E0000006",
    );
    assert!(
        !sb.dump(Side::Okta)
            .iter()
            .any(|r| r["kind"] == "membership" && r["data"]["group_id"] == gid.as_str())
    );
}

#[test]
fn apps_are_created_with_validation_and_take_group_assignments() {
    let sb = start_with(SandboxConfig {
        seed: SeedConfig {
            users: 0,
            groups: 2,
            apps: 0,
            seed: 4,
        },
        ..SandboxConfig::default()
    });
    // bookmark
    let causes = err(
        post(
            &sb,
            "/api/v1/apps",
            &json!({ "name": "bookmark", "label": "Wiki", "signOnMode": "BOOKMARK", "settings": { "app": {} } }),
        ),
        400,
        "E0000001",
    );
    assert!(causes[0].starts_with("settings.app.url: "), "{causes:?}");
    let bm = ok(post(
        &sb,
        "/api/v1/apps",
        &json!({ "name": "bookmark", "label": "Wiki", "signOnMode": "BOOKMARK",
                 "settings": { "app": { "url": "https://wiki.example.com/" } } }),
    ));
    assert_eq!(bm["status"], "ACTIVE");
    assert_eq!(bm["settings"]["app"]["requestIntegration"], false);
    assert!(bm["id"].as_str().unwrap().starts_with("0oa"));
    // labels are unique
    err(
        post(
            &sb,
            "/api/v1/apps",
            &json!({ "name": "bookmark", "label": "wiki", "signOnMode": "BOOKMARK",
                     "settings": { "app": { "url": "https://wiki.example.com/" } } }),
        ),
        400,
        "E0000040",
    );
    // SAML 2.0: the five required booleans, an ACS URL and an audience
    let mut saml = json!({ "label": "Payroll", "signOnMode": "SAML_2_0", "settings": { "signOn": {
        "ssoAcsUrl": "https://payroll.example.com/saml/acs", "audience": "https://payroll.example.com",
        "assertionSigned": true, "responseSigned": true, "requestCompressed": false,
        "honorForceAuthn": false, "allowMultipleAcsEndpoints": false,
        "attributeStatements": [{ "type": "EXPRESSION", "name": "email",
            "namespace": "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified", "values": ["user.email"] }] } } });
    for missing in ["assertionSigned", "ssoAcsUrl", "audience"] {
        let mut body = saml.clone();
        body["settings"]["signOn"]
            .as_object_mut()
            .unwrap()
            .remove(missing);
        let causes = err(post(&sb, "/api/v1/apps", &body), 400, "E0000001");
        assert!(causes[0].contains(missing), "{causes:?}");
    }
    saml["settings"]["signOn"]["signatureAlgorithm"] = json!("RSA_MD5");
    err(post(&sb, "/api/v1/apps", &saml), 400, "E0000001");
    saml["settings"]["signOn"]["signatureAlgorithm"] = json!("RSA_SHA256");
    let app = ok(post(&sb, "/api/v1/apps?activate=false", &saml));
    assert_eq!(app["status"], "INACTIVE");
    assert!(app["name"].as_str().unwrap().starts_with("sandbox_payroll"));
    assert_eq!(
        app["settings"]["signOn"]["recipient"],
        "https://payroll.example.com/saml/acs"
    );
    assert!(app["credentials"]["signing"]["kid"].is_string());
    // OIDC: oidc_client, grant types, redirect URIs for browser flows
    let oidc = json!({ "name": "oidc_client", "label": "Portal", "signOnMode": "OPENID_CONNECT",
        "credentials": { "oauthClient": { "token_endpoint_auth_method": "client_secret_basic" } },
        "settings": { "oauthClient": { "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": ["https://portal.example.com/callback"], "application_type": "web" } } });
    for (path, value) in [
        ("grant_types", json!([])),
        ("grant_types", json!(["magic"])),
        ("redirect_uris", json!([])),
        ("response_types", json!(["token"])),
    ] {
        let mut body = oidc.clone();
        body["settings"]["oauthClient"][path] = value;
        err(post(&sb, "/api/v1/apps", &body), 400, "E0000001");
    }
    let mut no_creds = oidc.clone();
    no_creds.as_object_mut().unwrap().remove("credentials");
    err(post(&sb, "/api/v1/apps", &no_creds), 400, "E0000001");
    let mut service = oidc.clone();
    service["settings"]["oauthClient"]["application_type"] = json!("service");
    err(post(&sb, "/api/v1/apps", &service), 400, "E0000001");
    let client_app = ok(post(&sb, "/api/v1/apps", &oidc));
    let aid = client_app["id"].as_str().unwrap().to_string();
    assert_eq!(
        client_app["credentials"]["oauthClient"]["client_id"],
        aid.as_str()
    );
    assert!(client_app["credentials"]["oauthClient"]["client_secret"].is_string());
    assert_eq!(
        client_app["settings"]["oauthClient"]["response_types"],
        json!(["code"])
    );
    // the secret is shown once
    let again = ok(get(&sb, &format!("/api/v1/apps/{aid}")));
    assert!(
        again["credentials"]["oauthClient"]
            .get("client_secret")
            .is_none()
    );
    // other sign-on modes are not simulated
    err(
        post(
            &sb,
            "/api/v1/apps",
            &json!({ "label": "Old", "signOnMode": "WS_FEDERATION" }),
        ),
        400,
        "E0000001",
    );
    // group assignments
    let groups = ok(get(&sb, "/api/v1/groups"));
    let g1 = groups[1]["id"].as_str().unwrap().to_string();
    let g2 = groups[2]["id"].as_str().unwrap().to_string();
    let a = ok(put(
        &sb,
        &format!("/api/v1/apps/{aid}/groups/{g1}"),
        &json!({}),
    ));
    assert_eq!(
        (a["id"].as_str(), a["priority"].as_u64()),
        (Some(g1.as_str()), Some(0))
    );
    let a = ok(put_empty(&sb, &format!("/api/v1/apps/{aid}/groups/{g2}")));
    assert_eq!(a["priority"], 1);
    // again, at the front: it moves
    let a = ok(put(
        &sb,
        &format!("/api/v1/apps/{aid}/groups/{g2}"),
        &json!({ "priority": 0 }),
    ));
    assert_eq!(a["priority"], 0);
    let listed = ok(get(&sb, &format!("/api/v1/apps/{aid}/groups")));
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [g2.as_str(), g1.as_str()]);
    assert_eq!(
        ok(get(&sb, &format!("/api/v1/apps/{aid}/groups/{g1}")))["priority"],
        1
    );
    err(
        put_empty(
            &sb,
            &format!("/api/v1/apps/{aid}/groups/00gNOPE000000000000"),
        ),
        404,
        "E0000007",
    );
    err(
        put_empty(&sb, "/api/v1/apps/0oaNOPE000000000000/groups/{g1}"),
        404,
        "E0000007",
    );
    assert_eq!(
        delete(&sb, &format!("/api/v1/apps/{aid}/groups/{g1}")).status(),
        204
    );
    err(
        delete(&sb, &format!("/api/v1/apps/{aid}/groups/{g1}")),
        404,
        "E0000007",
    );
    assert_eq!(
        ok(get(&sb, &format!("/api/v1/apps/{aid}/groups")))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(ok(get(&sb, "/api/v1/apps")).as_array().unwrap().len(), 3);
}

#[test]
fn schema_properties_of_every_type_null_removes_and_types_stay() {
    let sb = empty_org();
    let path = "/api/v1/meta/schemas/user/default";
    let def = |ty: &str| json!({ "title": ty, "type": ty });
    let mut props = serde_json::Map::new();
    for ty in ["string", "boolean", "number", "integer"] {
        props.insert(format!("a_{ty}"), def(ty));
    }
    props.insert(
        "a_array".into(),
        json!({ "title": "tags", "type": "array", "items": { "type": "string" }, "union": "DISABLE" }),
    );
    let body = |props: Value| json!({ "definitions": { "custom": { "id": "#custom", "type": "object", "properties": props } } });
    let schema = ok(post(&sb, path, &body(Value::Object(props))));
    let custom = &schema["definitions"]["custom"]["properties"];
    assert_eq!(custom.as_object().unwrap().len(), 5);
    assert_eq!(custom["a_array"]["items"]["type"], "string");
    // users may now carry them, typed
    ok(post(
        &sb,
        "/api/v1/users?activate=false",
        &json!({ "profile": { "login": "typed@example.com", "email": "typed@example.com", "firstName": "T",
                 "lastName": "Y", "a_string": "s", "a_boolean": true, "a_number": 1.5, "a_integer": 3,
                 "a_array": ["x"] } }),
    ));
    err(
        post(
            &sb,
            "/api/v1/users",
            &json!({ "profile": { "login": "typed2@example.com", "email": "typed2@example.com", "firstName": "T",
                     "lastName": "Y", "a_integer": 1.5 } }),
        ),
        400,
        "E0000001",
    );
    // an array needs an item type; a type cannot change; object is not a type
    err(
        post(
            &sb,
            path,
            &body(json!({ "tags": { "title": "t", "type": "array" } })),
        ),
        400,
        "E0000001",
    );
    let causes = err(
        post(&sb, path, &body(json!({ "a_string": def("integer") }))),
        400,
        "E0000001",
    );
    assert!(causes[0].contains("cannot be changed"), "{causes:?}");
    err(
        post(
            &sb,
            path,
            &body(
                json!({ "a_array": { "title": "tags", "type": "array", "items": { "type": "integer" } } }),
            ),
        ),
        400,
        "E0000001",
    );
    err(
        post(&sb, path, &body(json!({ "o": def("object") }))),
        400,
        "E0000001",
    );
    // the same definition again is fine (idempotent), a new title too
    let mut retitled = def("string");
    retitled["title"] = json!("A string");
    ok(post(&sb, path, &body(json!({ "a_string": retitled }))));
    // null removes
    let schema = ok(post(&sb, path, &body(json!({ "a_boolean": null }))));
    assert!(
        schema["definitions"]["custom"]["properties"]
            .get("a_boolean")
            .is_none()
    );
    assert_eq!(
        schema["definitions"]["custom"]["properties"]
            .as_object()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn deeply_nested_filters_are_400_and_the_server_survives() {
    // regression: ~2,000 nested parentheses overflowed the stack and killed the process
    let sb = empty_org();
    let deep = format!(
        "{}status eq \"ACTIVE\"{}",
        "(".repeat(2000),
        ")".repeat(2000)
    );
    for endpoint in [
        "/api/v1/users?filter=",
        "/api/v1/users?search=",
        "/api/v1/groups?search=",
    ] {
        let q: String = url::form_urlencoded::byte_serialize(deep.as_bytes()).collect();
        err(get(&sb, &format!("{endpoint}{q}")), 400, "E0000031");
    }
    assert_eq!(get(&sb, "/api/v1/users").status(), 200, "still serving");
    // a long flat chain is not nesting and works
    let chain = vec![r#"status eq "ACTIVE""#; 500].join(" or ");
    let q: String = url::form_urlencoded::byte_serialize(chain.as_bytes()).collect();
    assert_eq!(get(&sb, &format!("/api/v1/users?filter={q}")).status(), 200);
}

#[test]
fn json_bodies_must_say_application_json() {
    let sb = empty_org();
    let body = json!({ "profile": person("plain@example.com") }).to_string();
    for ct in ["text/plain", "application/x-www-form-urlencoded"] {
        let r = authed(&sb, client().post(url(&sb, "/api/v1/users")))
            .header("Content-Type", ct)
            .body(body.clone())
            .send()
            .unwrap();
        err(r, 415, "E0000012");
    }
    let r = authed(&sb, client().post(url(&sb, "/api/v1/users?activate=false")))
        .header("Content-Type", "application/json; charset=UTF-8")
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // nothing was created by the refused ones
    assert_eq!(ok(get(&sb, "/api/v1/users")).as_array().unwrap().len(), 1);
    // an empty body needs no content type
    let r = authed(&sb, client().post(url(&sb, "/api/v1/authn")))
        .header("Content-Type", "text/plain")
        .body(r#"{"username":"a","password":"b"}"#)
        .send()
        .unwrap();
    err(r, 415, "E0000012");
}

/// Wait (with a deadline) until the Okta port has `n` requests in flight.
fn wait_in_flight(sb: &Sandbox, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = sb.stats(Side::Okta)["in_flight"].as_u64().unwrap();
        if now >= n {
            return;
        }
        assert!(Instant::now() < deadline, "{now} in flight, waited for {n}");
        std::thread::yield_now();
    }
}

#[test]
fn the_concurrent_request_limit_gives_429_with_limit_zero() {
    let sb = start_with(SandboxConfig {
        seed: SeedConfig {
            users: 3,
            groups: 1,
            apps: 0,
            seed: 1,
        },
        okta_concurrency: Some(2),
        ..SandboxConfig::default()
    });
    // two requests held in flight by a slow answer
    sb.script_fault(
        Side::Okta,
        FaultRule {
            delay_ms: Some(3000),
            ..FaultRule::new(FaultKind::Slow)
                .path("/api/v1/groups")
                .times(2)
        },
    );
    let held: Vec<_> = (0..2)
        .map(|_| {
            let (u, t) = (sb.okta_url().to_string(), sb.okta_token().to_string());
            std::thread::spawn(move || {
                client()
                    .get(format!("{u}/api/v1/groups"))
                    .header("Authorization", format!("SSWS {t}"))
                    .send()
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    wait_in_flight(&sb, 2);
    let r = get(&sb, "/api/v1/users");
    assert_eq!(r.status(), 429);
    let h = |k: &str| r.headers()[k].to_str().unwrap().to_string();
    assert_eq!(
        (h("x-rate-limit-limit"), h("x-rate-limit-remaining")),
        ("0".into(), "0".into())
    );
    assert!(h("x-rate-limit-reset").parse::<u64>().unwrap() > 1_600_000_000);
    err(r, 429, "E0000047");
    for t in held {
        assert_eq!(t.join().unwrap(), 200);
    }
    // the slots are free again
    assert_eq!(get(&sb, "/api/v1/users").status(), 200);
    let stats = sb.stats(Side::Okta);
    assert_eq!(stats["concurrency"]["limit"], 2);
    assert_eq!(stats["concurrency"]["rejected"], 1);
    assert_eq!(stats["peak_in_flight"], 2);
    assert_eq!(stats["in_flight"], 0);
}

#[test]
fn tier_limits_apply_each_buckets_default() {
    let sb = start_with(SandboxConfig {
        seed: SeedConfig {
            users: 3,
            groups: 1,
            apps: 1,
            seed: 1,
        },
        okta_rate_tier: Some(OktaTier::Developer),
        ..SandboxConfig::default()
    });
    let r = get(&sb, "/api/v1/users");
    assert_eq!(r.headers()["x-rate-limit-limit"], "100");
    // developer (free): 20 app lists a minute. Within 41 requests at least 21 fall into one
    // fixed window, so a 429 must come whatever second the test starts in.
    let mut refused = None;
    for n in 1..=41 {
        let r = get(&sb, "/api/v1/apps");
        if r.status() == 429 {
            refused = Some(n);
            assert_eq!(r.headers()["x-rate-limit-limit"], "20");
            assert_eq!(r.headers()["x-rate-limit-remaining"], "0");
            err(r, 429, "E0000047");
            break;
        }
        assert_eq!(r.headers()["x-rate-limit-limit"], "20");
    }
    assert!(refused.is_some(), "no 429 in 41 app lists");
    // other buckets are not affected
    assert_eq!(get(&sb, "/api/v1/groups").status(), 200);
    let stats = sb.stats(Side::Okta);
    assert_eq!(stats["tier"], "developer");
    let apps = &stats["by_bucket"]["/api/v1/apps"];
    assert_eq!(apps["limit"], 20);
    assert_eq!(apps["over_limit"], 1);
    assert!(apps["peak_per_window"].as_u64().unwrap() <= 20);
    assert_eq!(stats["by_bucket"]["/api/v1/groups"]["limit"], 100);
}
