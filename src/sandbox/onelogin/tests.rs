//! Unit tests: drive `OneLogin::handle` with `SimRequest`s, no sockets.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::*;
use crate::sandbox::api::SimRequest;

const CID: &str = "test-client";
const CSECRET: &str = "test-secret-value";

fn cfg(ttl: Duration) -> OneLoginConfig {
    OneLoginConfig {
        seed: 7,
        token_ttl: ttl,
        client_id: CID.into(),
        client_secret: CSECRET.into(),
        subdomain: "acme-sandbox".into(),
        source_users: 0,
        max_ids: super::DEFAULT_MAX_IDS,
        create_roles: super::CreateRoles::Take,
    }
}

fn collisions() -> Collisions {
    Collisions {
        users: vec![
            CollidingUser {
                email: "dana.scully@example.org".into(),
                username: "dana.scully@example.org".into(),
                firstname: "Dana".into(),
                lastname: "Scully".into(),
            },
            CollidingUser {
                email: "fox@example.org".into(),
                username: "fmulder".into(),
                firstname: "Fox".into(),
                lastname: "Mulder".into(),
            },
        ],
        role_names: vec!["Engineering".into(), "Default".into()],
        attribute_shortnames: vec!["employee_number".into(), "cost_center".into()],
    }
}

fn sim() -> OneLogin {
    OneLogin::new(cfg(Duration::from_secs(36000)), collisions())
}

fn request(
    method: &str,
    target: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> SimRequest {
    let (path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    SimRequest {
        method: method.into(),
        path: path.into(),
        raw_query: raw_query.into(),
        query: url::form_urlencoded::parse(raw_query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_lowercase(), v.to_string()))
            .collect(),
        body: body
            .map(|b| serde_json::to_vec(b).unwrap())
            .unwrap_or_default(),
        base_url: "http://127.0.0.1:9".into(),
    }
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
    route: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn send(ol: &OneLogin, req: SimRequest) -> Resp {
    let r = ol.handle(&req, None);
    Resp {
        status: r.status,
        headers: r.headers,
        body: if r.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&r.body).expect("response body is JSON")
        },
        route: r.route,
    }
}

fn get_token(ol: &OneLogin) -> String {
    let r = send(
        ol,
        request(
            "POST",
            "/auth/oauth2/v2/token",
            Some(&json!({"grant_type": "client_credentials"})),
            &[(
                "Authorization",
                &format!("client_id:{CID}, client_secret:{CSECRET}"),
            )],
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["access_token"].as_str().unwrap().to_string()
}

/// An authorized API call.
fn call(ol: &OneLogin, method: &str, target: &str, body: Option<Value>) -> Resp {
    let token = get_token(ol);
    send(
        ol,
        request(
            method,
            target,
            body.as_ref(),
            &[("Authorization", &format!("Bearer {token}"))],
        ),
    )
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn create_user(ol: &OneLogin, body: Value) -> Resp {
    call(ol, "POST", "/api/2/users", Some(body))
}

// ---------------------------------------------------------------- tokens

#[test]
fn token_accepts_all_four_credential_styles_and_returns_the_same_token() {
    let ol = sim();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CID}:{CSECRET}"));
    let grant = json!({"grant_type": "client_credentials"});
    let styles = [
        request(
            "POST",
            "/auth/oauth2/v2/token",
            Some(&grant),
            &[(
                "Authorization",
                &format!("client_id:{CID}, client_secret:{CSECRET}"),
            )],
        ),
        request(
            "POST",
            "/auth/oauth2/v2/token",
            Some(&grant),
            &[("Authorization", &format!("Basic {basic}"))],
        ),
        SimRequest {
            body: format!("grant_type=client_credentials&client_id={CID}&client_secret={CSECRET}")
                .into_bytes(),
            ..request(
                "POST",
                "/auth/oauth2/v2/token",
                None,
                &[("Content-Type", "application/x-www-form-urlencoded")],
            )
        },
        request(
            "POST",
            "/auth/oauth2/v2/token",
            Some(
                &json!({"grant_type": "client_credentials", "client_id": CID, "client_secret": CSECRET}),
            ),
            &[("Content-Type", "application/json")],
        ),
    ];
    let mut tokens = Vec::new();
    for req in styles {
        let r = send(&ol, req);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["token_type"], "bearer");
        assert_eq!(r.body["expires_in"].as_u64(), Some(36000));
        assert!(r.body["account_id"].is_u64());
        assert!(r.body.get("data").is_none(), "flat response, no envelope");
        tokens.push(r.body["access_token"].as_str().unwrap().to_string());
    }
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
    assert_eq!(tokens[0].len(), 64);
}

#[test]
fn token_rejects_bad_credentials_and_grant_type() {
    let ol = sim();
    let r = send(
        &ol,
        request(
            "POST",
            "/auth/oauth2/v2/token",
            Some(&json!({"grant_type": "client_credentials"})),
            &[(
                "Authorization",
                &format!("client_id:{CID}, client_secret:wrong"),
            )],
        ),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.body["status"]["error"], true);
    assert_eq!(r.body["status"]["code"], 401);
    let r = send(
        &ol,
        request(
            "POST",
            "/auth/oauth2/v2/token",
            Some(&json!({"grant_type": "password"})),
            &[(
                "Authorization",
                &format!("client_id:{CID}, client_secret:{CSECRET}"),
            )],
        ),
    );
    assert_eq!(r.status, 400);
    let r = send(&ol, request("GET", "/auth/oauth2/v2/token", None, &[]));
    assert_eq!(r.status, 404);
    assert_eq!(r.body["status"]["message"], "No Route Exists");
}

#[test]
fn api_without_valid_bearer_is_401_shape_a() {
    let ol = sim();
    for headers in [
        vec![],
        vec![("Authorization", "Bearer not-a-token")],
        vec![("Authorization", "Basic abc")],
    ] {
        let r = send(&ol, request("GET", "/api/2/users", None, &headers));
        assert_eq!(r.status, 401);
        assert_eq!(
            r.body,
            json!({"message": "Unauthorized", "statusCode": 401, "name": "UnauthorizedError"})
        );
    }
    // v1 endpoints answer in the v1 envelope.
    let r = send(
        &ol,
        request("GET", "/api/1/users/custom_attributes", None, &[]),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.body["status"]["type"], "Unauthorized");
}

#[test]
fn bearer_forms_accepted() {
    let ol = sim();
    let token = get_token(&ol);
    for h in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("bearer:{token}"),
        format!("bearer: {token}"),
    ] {
        let r = send(
            &ol,
            request(
                "GET",
                "/api/2/users?limit=1",
                None,
                &[("Authorization", &h)],
            ),
        );
        assert_eq!(r.status, 200, "{h}");
    }
}

#[test]
fn tokens_expire_and_a_new_one_is_issued() {
    let ol = OneLogin::new(cfg(Duration::from_secs(36000)), collisions());
    let first = get_token(&ol);
    // Force expiry as `token_ttl` would after the time passes.
    if let Some(t) = ol.write().token.as_mut() {
        t.expires = std::time::Instant::now();
    }
    let r = send(
        &ol,
        request(
            "GET",
            "/api/2/users",
            None,
            &[("Authorization", &format!("Bearer {first}"))],
        ),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.body["name"], "UnauthorizedError");
    let second = get_token(&ol);
    assert_ne!(first, second);

    // A zero TTL makes every token expire at once: the next call is refused.
    let ol = OneLogin::new(cfg(Duration::ZERO), collisions());
    let token = get_token(&ol);
    let r = send(
        &ol,
        request(
            "GET",
            "/api/2/users",
            None,
            &[("Authorization", &format!("Bearer {token}"))],
        ),
    );
    assert_eq!(r.status, 401);
}

#[test]
fn revoke_invalidates_the_token() {
    let ol = sim();
    let token = get_token(&ol);
    let creds = format!("client_id:{CID}, client_secret:{CSECRET}");
    let r = send(
        &ol,
        request(
            "POST",
            "/auth/oauth2/revoke",
            Some(&json!({})),
            &[("Authorization", &creds)],
        ),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.body["status"]["message"], "Access Token Missing");
    let r = send(
        &ol,
        request(
            "POST",
            "/auth/oauth2/revoke",
            Some(&json!({"access_token": token})),
            &[("Authorization", &creds)],
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"]["message"], "Success");
    let r = send(
        &ol,
        request(
            "GET",
            "/api/2/users",
            None,
            &[("Authorization", &format!("Bearer {token}"))],
        ),
    );
    assert_eq!(r.status, 401);
    assert_ne!(get_token(&ol), token);
}

#[test]
fn rate_limit_reports_the_window() {
    let ol = sim();
    let r = call(&ol, "GET", "/auth/rate_limit", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"]["X-RateLimit-Limit"], 5000);
    let token = get_token(&ol);
    let req = request(
        "GET",
        "/auth/rate_limit",
        None,
        &[("Authorization", &format!("Bearer {token}"))],
    );
    let snap = RateSnapshot {
        limit: 100,
        remaining: 7,
        reset_secs: 832,
    };
    let resp = ol.handle(&req, Some(snap));
    let body: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(
        body["data"],
        json!({"X-RateLimit-Limit": 100, "X-RateLimit-Remaining": 7, "X-RateLimit-Reset": 832})
    );
    assert_eq!(body["status"]["code"], 200);
}

// ---------------------------------------------------------------- users

#[test]
fn pagination_walks_every_user_once_with_headers() {
    let ol = sim();
    for i in 0..120 {
        let r = create_user(
            &ol,
            json!({"email": format!("p{i}@example.net"), "username": format!("p{i}")}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let total = ol.read().users.len();
    let mut seen = Vec::new();
    let mut target = "/api/2/users?limit=50".to_string();
    let mut pages = 0;
    loop {
        let r = call(&ol, "GET", &target, None);
        assert_eq!(r.status, 200);
        assert_eq!(r.route, "GET /api/2/users");
        pages += 1;
        let items = r.body.as_array().expect("bare array");
        assert_eq!(r.header("Total-Count"), Some(total.to_string().as_str()));
        assert_eq!(
            r.header("Total-Pages"),
            Some(total.div_ceil(50).to_string().as_str())
        );
        assert_eq!(r.header("Current-Page"), Some(pages.to_string().as_str()));
        assert_eq!(
            r.header("Page-Items"),
            Some(items.len().to_string().as_str())
        );
        assert_eq!(r.header("Before-Cursor").is_some(), pages > 1);
        seen.extend(items.iter().map(|u| u["id"].as_u64().unwrap()));
        match r.header("After-Cursor") {
            Some(c) => {
                let enc: String = url::form_urlencoded::byte_serialize(c.as_bytes()).collect();
                target = format!("/api/2/users?cursor={enc}");
            }
            None => break,
        }
    }
    assert_eq!(pages, total.div_ceil(50));
    let mut dedup = seen.clone();
    dedup.sort_unstable();
    dedup.dedup();
    assert_eq!(dedup.len(), total);
    assert_eq!(seen.len(), total);

    // `page` works too, and a limit above the maximum is clamped to 100.
    let r = call(&ol, "GET", "/api/2/users?limit=500&page=2", None);
    assert_eq!(r.body.as_array().unwrap().len(), 100.min(total - 100));
    assert_eq!(r.header("Current-Page"), Some("2"));
}

#[test]
fn unknown_query_param_is_400() {
    let ol = sim();
    let r = call(&ol, "GET", "/api/2/users?first_login=x", None);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!({"message": "query parameter(s) not allowed: first_login", "statusCode": 400, "name": "BadRequestError"})
    );
    let r = call(&ol, "GET", "/api/2/users?sort=created_at", None);
    assert_eq!(r.status, 422);
    assert_eq!(r.body["name"], "UnprocessableEntityFieldError");
    assert_eq!(r.body["field"], "created_at");
}

#[test]
fn a_users_create_takes_role_ids_unless_the_account_ignores_them() {
    let refused = {
        let mut config = cfg(Duration::from_secs(36000));
        config.create_roles = super::CreateRoles::Refuse;
        let ol = OneLogin::new(config, collisions());
        let r = create_user(&ol, json!({"email": "refused@example.net", "role_ids": []}));
        assert_eq!(r.status, 400, "{}", r.body);
        create_user(&ol, json!({"email": "refused@example.net"})).status
    };
    assert_eq!(refused, 201, "refused with role_ids, made without");
    for taken in [true, false] {
        let mut config = cfg(Duration::from_secs(36000));
        config.create_roles = if taken {
            super::CreateRoles::Take
        } else {
            super::CreateRoles::Ignore
        };
        let ol = OneLogin::new(config, collisions());
        let role = call(&ol, "POST", "/api/2/roles", Some(json!({"name": "R"})));
        let rid = role.body["id"].as_u64().unwrap();
        let r = create_user(&ol, json!({"email": "with@example.net", "role_ids": [rid]}));
        assert_eq!(r.status, 201, "{}", r.body);
        let uid = r.body["id"].as_u64().unwrap();
        let want = if taken { json!([rid]) } else { json!([]) };
        assert_eq!(r.body["role_ids"], want);
        let members = call(&ol, "GET", &format!("/api/2/roles/{rid}/users"), None);
        let ids: Vec<u64> = members
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids.contains(&uid), taken);
        // a role that is not there: 422 and no user, where they are taken
        let r = create_user(
            &ol,
            json!({"email": "no@example.net", "role_ids": [rid + 999]}),
        );
        if taken {
            assert_eq!(r.status, 422, "{}", r.body);
            assert!(
                r.body["message"].as_str().unwrap().contains("Role"),
                "{}",
                r.body
            );
            let found = call(&ol, "GET", "/api/2/users?email=no@example.net", None);
            assert_eq!(found.body, json!([]));
        } else {
            assert_eq!(r.status, 201, "{}", r.body);
        }
    }
}

#[test]
fn create_user_201_status_7_without_password() {
    let ol = sim();
    let r = create_user(
        &ol,
        json!({"email": "new@example.net", "username": "new.user", "firstname": "Néw",
               "lastname": "Üser", "external_id": "00u1", "state": 1,
               "custom_attributes": {"employee_number": "42"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.route, "POST /api/2/users");
    assert!(r.body["id"].is_u64());
    assert_eq!(r.body["status"], 7);
    assert_eq!(r.body["state"], 1);
    assert_eq!(r.body["firstname"], "Néw");
    assert_eq!(r.body["custom_attributes"]["employee_number"], "42");
    assert_eq!(r.body["custom_attributes"]["cost_center"], Value::Null);
    assert!(r.body.get("password").is_none());
    let id = r.body["id"].as_u64().unwrap();
    let got = call(&ol, "GET", &format!("/api/2/users/{id}"), None);
    assert_eq!(got.status, 200);
    assert_eq!(got.route, "GET /api/2/users/{id}");
    assert_eq!(got.body, r.body);

    let r = create_user(
        &ol,
        json!({"email": "pw@example.net", "password": "Sup3r-secret!",
               "password_confirmation": "Sup3r-secret!"}),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.body["status"], 1);
    let id = r.body["id"].as_u64().unwrap();
    assert_eq!(ol.verify_password(id, "Sup3r-secret!"), Some(true));
    assert_eq!(ol.verify_password(id, "wrong"), Some(false));

    // Status and state are stored as sent.
    let r = create_user(
        &ol,
        json!({"email": "s@example.net", "status": 0, "state": 0}),
    );
    assert_eq!(
        (r.body["status"].as_i64(), r.body["state"].as_i64()),
        (Some(0), Some(0))
    );
    let r = create_user(&ol, json!({"email": "s6@example.net", "status": 6}));
    assert_eq!(r.status, 422);
}

#[test]
fn duplicate_email_or_username_is_422_with_the_real_message() {
    let ol = sim();
    // A colliding user of the seed.
    let r = create_user(
        &ol,
        json!({"email": "Dana.Scully@example.org", "username": "dscully"}),
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        r.body,
        json!({"message": "Validation failed: Email must be unique within acme-sandbox",
               "statusCode": 422, "name": "UnprocessableEntityError"})
    );
    let r = create_user(
        &ol,
        json!({"email": "other@example.org", "username": "FMULDER"}),
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        r.body["message"],
        "Validation failed: Username must be unique within acme-sandbox"
    );
    // The lookup a loader does next finds it.
    let r = call(&ol, "GET", "/api/2/users?email=fox@example.org", None);
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["username"], "fmulder");
}

#[test]
fn unknown_custom_attribute_and_long_fields_are_422() {
    let ol = sim();
    let r = create_user(
        &ol,
        json!({"email": "a@example.net", "custom_attributes": {"nope": "x"}}),
    );
    assert_eq!(r.status, 422);
    assert!(
        r.body["message"].as_str().unwrap().contains("nope"),
        "{}",
        r.body
    );
    let r = create_user(
        &ol,
        json!({"email": "a@example.net", "custom_attributes": {"cost_center": 10}}),
    );
    assert_eq!(r.status, 422);
    let r = create_user(
        &ol,
        json!({"email": "a@example.net", "firstname": "x".repeat(256)}),
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        r.body["message"],
        "Validation failed: Firstname is too long (maximum is 255 characters)"
    );
    let r = create_user(&ol, json!({"email": "not-an-email"}));
    assert_eq!(r.status, 422);
    let r = create_user(&ol, json!({"firstname": "Nobody"}));
    assert_eq!(r.status, 422);
    let r = create_user(&ol, json!({"username": "ünïcode-only"}));
    assert_eq!(r.status, 201, "username alone is enough");
    // Nothing of the failed creates was kept.
    let r = call(&ol, "GET", "/api/2/users?email=a@example.net", None);
    assert_eq!(r.body, json!([]));
}

#[test]
fn put_is_a_partial_update_and_the_owner_is_protected() {
    let ol = sim();
    let r = create_user(
        &ol,
        json!({"email": "u@example.net", "username": "u1", "title": "Eng",
               "custom_attributes": {"employee_number": "1", "cost_center": "CC"}}),
    );
    let id = r.body["id"].as_u64().unwrap();
    let r = call(
        &ol,
        "PUT",
        &format!("/api/2/users/{id}"),
        Some(json!({"department": "R&D", "custom_attributes": {"employee_number": "2"}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.route, "PUT /api/2/users/{id}");
    assert_eq!(r.body["title"], "Eng");
    assert_eq!(r.body["department"], "R&D");
    assert_eq!(r.body["custom_attributes"]["employee_number"], "2");
    assert_eq!(r.body["custom_attributes"]["cost_center"], "CC");
    // Email change re-indexes; the old address is free again.
    let r = call(
        &ol,
        "PUT",
        &format!("/api/2/users/{id}"),
        Some(json!({"email": "u2@example.net"})),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        call(&ol, "GET", "/api/2/users?email=u@example.net", None).body,
        json!([])
    );
    assert_eq!(
        create_user(&ol, json!({"email": "u@example.net"})).status,
        201
    );
    // Duplicates on update.
    let r = call(
        &ol,
        "PUT",
        &format!("/api/2/users/{id}"),
        Some(json!({"email": "fox@example.org"})),
    );
    assert_eq!(r.status, 422);

    let owner = ol.read().owner_id;
    let r = call(
        &ol,
        "PUT",
        &format!("/api/2/users/{owner}"),
        Some(json!({"title": "x"})),
    );
    assert_eq!(r.status, 422);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("account owner")
    );
    let r = call(&ol, "PUT", "/api/2/users/1", Some(json!({"title": "x"})));
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body["message"],
        "The resource with the given id could not be found"
    );
}

#[test]
fn list_filters() {
    let ol = sim();
    let mut ids = Vec::new();
    for (i, email) in [
        "katinka.b@corp.test",
        "katinka.c@corp.test",
        "zed@other.test",
    ]
    .iter()
    .enumerate()
    {
        let r = create_user(
            &ol,
            json!({"email": email, "username": format!("f{i}"), "external_id": format!("00u{i}"),
                   "custom_attributes": {"cost_center": if i < 2 { "CC1" } else { "CC2" }}}),
        );
        ids.push(r.body["id"].as_u64().unwrap());
    }
    let count = |q: &str| {
        let r = call(&ol, "GET", &format!("/api/2/users?{q}"), None);
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        r.body.as_array().unwrap().len()
    };
    assert_eq!(count("email=katinka*"), 2);
    assert_eq!(count("email=*@corp.test"), 2);
    assert_eq!(count("email=KATINKA.B@corp.test"), 1);
    assert_eq!(count("email=katinka"), 0);
    assert_eq!(count("username=f2"), 1);
    assert_eq!(count("external_id=00u1"), 1);
    assert_eq!(count("custom_attributes.cost_center=CC1"), 2);
    assert_eq!(count(&format!("user_ids={},{}", ids[0], ids[2])), 2);
    assert_eq!(count("created_since=2099-01-01T00:00:00Z"), 0);
    assert!(count("created_since=2024-01-01") >= 3);
    assert_eq!(
        count("created_until=2023-03-01T09:00:00Z"),
        1,
        "only the owner"
    );
    let r = call(
        &ol,
        "GET",
        "/api/2/users?email=zed@other.test&fields=email,custom_attributes",
        None,
    );
    let keys: Vec<&String> = r.body[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "email", "custom_attributes"]);
    let r = call(&ol, "GET", "/api/2/users?custom_attributes.nope=1", None);
    assert_eq!(r.status, 422);
    let r = call(&ol, "GET", "/api/2/users?sort=-email&email=katinka*", None);
    assert_eq!(r.body[0]["email"], "katinka.c@corp.test");
}

#[test]
fn delete_user_and_user_apps() {
    let ol = sim();
    let id = create_user(&ol, json!({"email": "d@example.net"})).body["id"]
        .as_u64()
        .unwrap();
    let r = call(&ol, "DELETE", &format!("/api/2/users/{id}"), None);
    assert_eq!(r.status, 204);
    assert_eq!(
        call(&ol, "GET", &format!("/api/2/users/{id}"), None).status,
        404
    );
    let owner = ol.read().owner_id;
    let r = call(&ol, "GET", &format!("/api/2/users/{owner}/apps"), None);
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "Intranet")
    );
    let r = call(&ol, "DELETE", &format!("/api/2/users/{owner}"), None);
    assert_eq!(r.status, 422);
}

// ---------------------------------------------------------------- custom attributes

#[test]
fn custom_attribute_create_list_delete() {
    let ol = sim();
    let r = call(&ol, "GET", "/api/2/users/custom_attributes", None);
    assert_eq!(r.status, 200);
    let before = r.body.as_array().unwrap().len();
    assert!(
        r.body
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["shortname"] == "employee_number")
    );
    assert!(r.body[0].get("position").is_some());

    let r = call(
        &ol,
        "POST",
        "/api/2/users/custom_attributes",
        Some(json!({"user_field": {"name": "Employee ID", "shortname": "employee_id"}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_u64().unwrap();
    assert_eq!(r.body["shortname"], "employee_id");
    // Unwrapped and on the docs' path too.
    let r = call(
        &ol,
        "POST",
        "/api/2/custom_attributes",
        Some(json!({"name": "Desk", "shortname": "desk"})),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.route, "POST /api/2/custom_attributes");
    // Duplicate.
    let r = call(
        &ol,
        "POST",
        "/api/2/users/custom_attributes",
        Some(json!({"user_field": {"name": "x", "shortname": "Employee_ID"}})),
    );
    assert_eq!(r.status, 422);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("has already been taken")
    );
    let r = call(
        &ol,
        "POST",
        "/api/2/users/custom_attributes",
        Some(json!({"user_field": {"name": "x"}})),
    );
    assert_eq!(r.status, 422);
    let r = call(&ol, "GET", "/api/2/users/custom_attributes", None);
    assert_eq!(r.body.as_array().unwrap().len(), before + 2);

    // v1 envelope with its nested array.
    let r = call(&ol, "GET", "/api/1/users/custom_attributes", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"]["type"], "success");
    let names = r.body["data"][0].as_array().unwrap();
    assert!(names.contains(&json!("employee_id")));
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);

    // A value set on a user disappears with the definition.
    let uid = create_user(
        &ol,
        json!({"email": "ca@example.net", "custom_attributes": {"employee_id": "E1"}}),
    )
    .body["id"]
        .as_u64()
        .unwrap();
    let r = call(
        &ol,
        "DELETE",
        &format!("/api/2/users/custom_attributes/{id}"),
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.route, "DELETE /api/2/users/custom_attributes/{id}");
    let u = call(&ol, "GET", &format!("/api/2/users/{uid}"), None);
    assert!(u.body["custom_attributes"].get("employee_id").is_none());
    let r = call(
        &ol,
        "DELETE",
        &format!("/api/2/users/custom_attributes/{id}"),
        None,
    );
    assert_eq!(r.status, 404);
}

#[test]
fn v1_set_custom_attributes() {
    let ol = sim();
    let uid = create_user(&ol, json!({"email": "v1@example.net"})).body["id"]
        .as_u64()
        .unwrap();
    let path = format!("/api/1/users/{uid}/set_custom_attributes");
    let r = call(
        &ol,
        "PUT",
        &path,
        Some(json!({"custom_attributes": {"cost_center": "9"}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(
        &ol,
        "PUT",
        &path,
        Some(json!({"custom_attributes": {"bogus": "9"}})),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.body["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("input custom_attributes is not valid")
    );
    let u = call(&ol, "GET", &format!("/api/2/users/{uid}"), None);
    assert_eq!(u.body["custom_attributes"]["cost_center"], "9");
}

// ---------------------------------------------------------------- passwords

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[test]
fn salted_sha256_is_verified_for_real() {
    // The example of OneLogin's docs.
    assert_eq!(
        sha256_hex("hellopassword"),
        "b1c788abac15390de987ad17b65ac73c9b475d428a51f245c645a442fddd078b"
    );
    let ol = sim();
    let uid = create_user(&ol, json!({"email": "hash@example.net"})).body["id"]
        .as_u64()
        .unwrap();
    let path = format!("/api/1/users/set_password_using_salt/{uid}");
    let good = sha256_hex("hellopassword");
    let r = call(
        &ol,
        "PUT",
        &path,
        Some(json!({"password": good, "password_confirmation": good,
                    "password_algorithm": "salt+sha256", "password_salt": "hello"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, v1_ok_body());
    assert_eq!(r.route, "PUT /api/1/users/set_password_using_salt/{id}");
    assert_eq!(ol.verify_password(uid, "password"), Some(true));
    assert_eq!(ol.verify_password(uid, "Password"), Some(false));
    // The user is now active and can log in with the clear-text password.
    let login = |pw: &str| {
        call(
            &ol,
            "POST",
            "/api/1/login/auth",
            Some(
                json!({"username_or_email": "hash@example.net", "password": pw, "subdomain": "acme-sandbox"}),
            ),
        )
    };
    assert_eq!(login("password").status, 200);
    assert_eq!(login("password").body["data"][0]["status"], "Authenticated");
    assert_eq!(login("nope").status, 401);

    // Salt appended instead of prepended: accepted (a server cannot tell), but the password
    // no longer works, which is what a test must catch.
    let wrong = sha256_hex("passwordhello");
    let r = call(
        &ol,
        "PUT",
        &path,
        Some(json!({"password": wrong, "password_confirmation": wrong,
                    "password_algorithm": "salt+sha256", "password_salt": "hello"})),
    );
    assert_eq!(r.status, 200);
    assert_eq!(ol.verify_password(uid, "password"), Some(false));
    assert_eq!(login("password").status, 401);

    // Not lower-case hex, mismatched confirmation, other algorithms, long salt: 400 v1.
    let upper = good.to_uppercase();
    let b64 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"hellopassword"));
    for body in [
        json!({"password": upper, "password_confirmation": upper, "password_algorithm": "salt+sha256", "password_salt": "hello"}),
        json!({"password": b64, "password_confirmation": b64, "password_algorithm": "salt+sha256", "password_salt": "hello"}),
        json!({"password": good, "password_confirmation": wrong, "password_algorithm": "salt+sha256", "password_salt": "hello"}),
        json!({"password": good, "password_confirmation": good, "password_algorithm": "sha1", "password_salt": "hello"}),
        json!({"password": good, "password_confirmation": good, "password_algorithm": "salt+sha256", "password_salt": "s".repeat(41)}),
    ] {
        let r = call(&ol, "PUT", &path, Some(body.clone()));
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.body["status"]["error"], true);
    }
    let r = call(
        &ol,
        "PUT",
        "/api/1/users/set_password_using_salt/5",
        Some(json!({})),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["status"]["message"]["description"],
        "ID is incorrect"
    );
}

fn v1_ok_body() -> Value {
    json!({"status": {"error": false, "code": 200, "type": "success", "message": "Success"}})
}

#[test]
fn clear_text_password_and_v2_hash_import() {
    let ol = sim();
    let uid = create_user(&ol, json!({"email": "clear@example.net"})).body["id"]
        .as_u64()
        .unwrap();
    let path = format!("/api/1/users/set_password_clear_text/{uid}");
    let r = call(
        &ol,
        "PUT",
        &path,
        Some(json!({"password": "abc", "password_confirmation": "abc"})),
    );
    assert_eq!(r.status, 200, "policy not enforced by default");
    assert_eq!(ol.verify_password(uid, "abc"), Some(true));
    let r = call(
        &ol,
        "PUT",
        &path,
        Some(json!({"password": "abc", "password_confirmation": "abc", "validate_policy": true})),
    );
    assert_eq!(r.status, 400);

    let hash = sha256_hex("s4ltpw1");
    let r = create_user(
        &ol,
        json!({"email": "v2hash@example.net", "password": hash, "password_confirmation": hash,
               "password_algorithm": "salt+sha256", "salt": "s4lt"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_u64().unwrap();
    assert_eq!(ol.verify_password(id, "pw1"), Some(true));
    let r = create_user(
        &ol,
        json!({"email": "v2short@example.net", "password": "short", "password_confirmation": "short"}),
    );
    assert_eq!(r.status, 422, "v2 validates the policy by default");
    let r = call(
        &ol,
        "POST",
        "/api/2/users?validate_policy=false",
        Some(
            json!({"email": "v2short@example.net", "password": "short", "password_confirmation": "short"}),
        ),
    );
    assert_eq!(r.status, 201);
}

// ---------------------------------------------------------------- roles

#[test]
fn roles_create_and_raw_array_users() {
    let ol = sim();
    let r = call(
        &ol,
        "POST",
        "/api/2/roles",
        Some(json!({"name": "Migrated"})),
    );
    assert_eq!(r.status, 201);
    let rid = r.body["id"].as_u64().expect("a single object with id");
    assert_eq!(r.body.as_object().unwrap().len(), 1);
    let u1 = create_user(&ol, json!({"email": "r1@example.net"})).body["id"]
        .as_u64()
        .unwrap();
    let u2 = create_user(&ol, json!({"email": "r2@example.net"})).body["id"]
        .as_u64()
        .unwrap();
    let users = format!("/api/2/roles/{rid}/users");

    let r = call(&ol, "POST", &users, Some(json!([u1, u2])));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!([{"id": u1}, {"id": u2}]));
    assert_eq!(r.route, "POST /api/2/roles/{id}/users");

    let expected = json!({"status": 400, "error": "BadRequestError", "description": "Expected array in request"});
    let r = call(&ol, "DELETE", &users, Some(json!({"user_id": [u1]})));
    assert_eq!(r.status, 400);
    assert_eq!(r.body, expected);
    let r = call(&ol, "POST", &users, Some(json!({"users": [u1]})));
    assert_eq!(r.body, expected);

    let r = call(&ol, "GET", &users, None);
    assert_eq!(r.status, 200);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["assigned"], true);
    assert!(list[0]["added_by"]["id"].is_u64());
    assert_eq!(r.header("Total-Count"), Some("2"));
    let u = call(&ol, "GET", &format!("/api/2/users/{u1}"), None);
    assert_eq!(u.body["role_ids"], json!([rid]));

    let r = call(&ol, "DELETE", &users, Some(json!([u1])));
    assert_eq!(r.status, 204);
    assert_eq!(
        call(&ol, "GET", &users, None)
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let u = call(&ol, "GET", &format!("/api/2/users/{u1}"), None);
    assert_eq!(u.body["role_ids"], json!([]));

    let r = call(&ol, "POST", &users, Some(json!([999])));
    assert_eq!(r.status, 404);
    let r = call(
        &ol,
        "POST",
        &users,
        Some(json!((0..101).collect::<Vec<u64>>())),
    );
    assert_eq!(r.status, 400);
    let r = call(&ol, "POST", "/api/2/roles/1/users", Some(json!([u1])));
    assert_eq!(r.status, 404);
    let r = call(
        &ol,
        "POST",
        "/api/2/roles",
        Some(json!({"title": "no name"})),
    );
    assert_eq!(r.status, 422);
}

#[test]
fn roles_list_filters_and_role_apps_put_replaces() {
    let ol = sim();
    let r = call(&ol, "GET", "/api/2/roles?name=Engineering", None);
    assert_eq!(r.body.as_array().unwrap().len(), 1, "colliding role seeded");
    let r = call(&ol, "GET", "/api/2/roles?role_name=Default", None);
    assert_eq!(
        r.body.as_array().unwrap().len(),
        1,
        "collision with a default role not doubled"
    );
    let r = call(&ol, "GET", "/api/2/roles?name=*e*", None);
    assert!(r.body.as_array().unwrap().len() >= 3);

    let a1 = call(
        &ol,
        "POST",
        "/api/2/apps",
        Some(json!({"connector_id": 29935, "name": "B1"})),
    )
    .body["id"]
        .as_u64()
        .unwrap();
    let a2 = call(
        &ol,
        "POST",
        "/api/2/apps",
        Some(json!({"connector_id": 29935, "name": "B2"})),
    )
    .body["id"]
        .as_u64()
        .unwrap();
    let rid = call(&ol, "POST", "/api/2/roles", Some(json!({"name": "Apps"}))).body["id"]
        .as_u64()
        .unwrap();
    let apps = format!("/api/2/roles/{rid}/apps");
    let r = call(&ol, "PUT", &apps, Some(json!([a1, a2])));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!([{"id": a1}, {"id": a2}]));
    let r = call(&ol, "PUT", &apps, Some(json!([a2])));
    assert_eq!(r.status, 200);
    let r = call(&ol, "GET", &apps, None);
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["id"], a2);
    assert_eq!(r.body[0]["name"], "B2");
    assert!(r.body[0]["icon_url"].is_string());
    let app = call(&ol, "GET", &format!("/api/2/apps/{a1}"), None);
    assert_eq!(app.body["role_ids"], json!([]));
    let app = call(&ol, "GET", &format!("/api/2/apps/{a2}"), None);
    assert_eq!(app.body["role_ids"], json!([rid]));
    let r = call(&ol, "PUT", &apps, Some(json!({"apps": [a1]})));
    assert_eq!(r.status, 400);
    assert_eq!(r.body["description"], "Expected array in request");
    let r = call(&ol, "PUT", &apps, Some(json!([123])));
    assert_eq!(r.status, 404);
    let r = call(&ol, "GET", &format!("{apps}?assigned=false"), None);
    assert!(r.body.as_array().unwrap().iter().all(|a| a["id"] != a2));

    let r = call(&ol, "DELETE", &format!("/api/2/roles/{rid}"), None);
    assert_eq!(r.status, 204);
    let app = call(&ol, "GET", &format!("/api/2/apps/{a2}"), None);
    assert_eq!(app.body["role_ids"], json!([]));
}

// ---------------------------------------------------------------- apps

#[test]
fn the_connector_catalogue_pages_and_has_near_misses() {
    let ol = sim();
    // default page size 50: the catalogue spans pages, walked by cursor
    let mut seen = Vec::new();
    let mut target = "/api/2/connectors".to_string();
    let mut pages = 0;
    loop {
        let r = call(&ol, "GET", &target, None);
        assert_eq!(r.status, 200);
        pages += 1;
        seen.extend(r.body.as_array().unwrap().iter().cloned());
        match r.headers.iter().find(|(k, _)| k == "After-Cursor") {
            Some((_, c)) => target = format!("/api/2/connectors?cursor={}", url_encode(c)),
            None => break,
        }
    }
    assert!(pages >= 3, "{pages} pages");
    assert!(seen.len() >= 100, "{} connectors", seen.len());
    let ids: std::collections::BTreeSet<u64> =
        seen.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), seen.len(), "each connector once");
    let names: Vec<&str> = seen.iter().map(|c| c["name"].as_str().unwrap()).collect();
    // exact and near-miss names of the Okta seed's vendor apps
    for name in [
        "Salesforce",
        "Salesforce Sandbox",
        "Slack",
        "Zoom",
        "Confluence",
        "Workday",
        "Expensify",
        "ADP Workforce Now",
        "Dropbox",
        "Dropbox Business",
        "ServiceNow",
        "Atlassian Cloud",
    ] {
        assert!(names.contains(&name), "{name}");
    }
    // `name` matches part of a name
    let r = call(&ol, "GET", "/api/2/connectors?name=salesforce", None);
    assert_eq!(r.body.as_array().unwrap().len(), 3);
}

#[test]
fn connectors_and_app_create() {
    let ol = sim();
    let r = call(&ol, "GET", "/api/2/connectors", None);
    assert_eq!(r.status, 200);
    let list = r.body.as_array().unwrap();
    assert!(list.iter().any(|c| c["allows_new_parameters"] == true));
    assert!(list.iter().any(|c| c["allows_new_parameters"] == false));
    let r = call(&ol, "GET", "/api/2/connectors?name=saml%20custom", None);
    let names: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"SAML Custom Connector (Advanced)"),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .all(|n| n.to_lowercase().contains("saml custom"))
    );
    let r = call(&ol, "GET", "/api/2/connectors?auth_method=99", None);
    assert_eq!(r.status, 422);
    assert_eq!(r.body["message"], "invalid value in \"auth_method\"");

    let r = call(&ol, "POST", "/api/2/apps", Some(json!({"name": "x"})));
    assert_eq!(r.status, 422);
    let r = call(
        &ol,
        "POST",
        "/api/2/apps",
        Some(json!({"connector_id": 108419})),
    );
    assert_eq!(r.status, 422);
    let r = call(
        &ol,
        "POST",
        "/api/2/apps",
        Some(
            json!({"connector_id": 108419, "name": "OIDC", "configuration": {"login_url": "https://x"}}),
        ),
    );
    assert_eq!(r.status, 422, "OIDC needs a redirect_uri");
    let r = call(
        &ol,
        "POST",
        "/api/2/apps",
        Some(
            json!({"connector_id": 108419, "name": "My OIDC app", "description": "migrated",
                    "configuration": {"redirect_uri": "https://app.example.com/cb", "token_endpoint_auth_method": 1},
                    "parameters": {"employee_number": {"label": "Employee Number",
                        "user_attribute_mappings": "custom_attribute_employee_number",
                        "include_in_saml_assertion": true}},
                    "sso": {"client_id": "ignored"}}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["id"].as_u64().unwrap();
    assert!(r.body["sso"]["client_secret"].is_string());
    assert_ne!(r.body["sso"]["client_id"], "ignored");
    assert_eq!(r.body["auth_method"], 8);
    assert_eq!(
        r.body["parameters"]["employee_number"]["label"],
        "Employee Number"
    );
    assert!(r.body["parameters"]["employee_number"]["id"].is_u64());
    let got = call(&ol, "GET", &format!("/api/2/apps/{id}"), None);
    assert!(got.body["sso"].get("client_secret").is_none());
    assert_eq!(got.body["sso"]["client_id"], r.body["sso"]["client_id"]);

    // New parameters only where the connector allows them.
    let r = call(
        &ol,
        "POST",
        "/api/2/apps",
        Some(
            json!({"connector_id": 40617, "name": "SFDC", "parameters": {"dept": {"label": "Dept"}}}),
        ),
    );
    assert_eq!(r.status, 422);
    let r = call(
        &ol,
        "POST",
        "/api/2/apps",
        Some(json!({"connector_id": 110016, "name": "SAML", "signon_mode": "SAML_2_0"})),
    );
    assert_eq!(r.status, 422, "signon_mode is not an API field");
    let r = call(
        &ol,
        "POST",
        "/api/2/apps",
        Some(
            json!({"connector_id": 110016, "name": "SAML", "configuration": {"signature_algorithm": "MD5"}}),
        ),
    );
    assert_eq!(r.status, 422);
    let r = call(
        &ol,
        "POST",
        "/api/2/apps",
        Some(
            json!({"connector_id": 110016, "name": "SAML", "configuration": {"signature_algorithm": "SHA-256"}}),
        ),
    );
    assert_eq!(r.status, 200);
    assert!(
        r.body["sso"]["acs_url"]
            .as_str()
            .unwrap()
            .contains("acme-sandbox")
    );

    // Name filter: exact unless `*`.
    assert_eq!(
        call(&ol, "GET", "/api/2/apps?name=My%20OIDC", None).body,
        json!([])
    );
    assert_eq!(
        call(&ol, "GET", "/api/2/apps?name=My%20OIDC*", None)
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = call(&ol, "GET", "/api/2/apps?name=my%20oidc%20app", None);
    assert_eq!(r.body[0]["auth_method_description"], "OpenId Connect");

    // Update, then delete.
    let r = call(
        &ol,
        "PUT",
        &format!("/api/2/apps/{id}"),
        Some(
            json!({"visible": false, "parameters": {"employee_number": {"label": "changed", "skip_if_blank": true}}}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["visible"], false);
    assert_eq!(r.body["description"], "migrated");
    assert_eq!(
        r.body["parameters"]["employee_number"]["label"],
        "Employee Number"
    );
    assert_eq!(
        r.body["parameters"]["employee_number"]["skip_if_blank"],
        true
    );
    assert_eq!(
        call(&ol, "DELETE", &format!("/api/2/apps/{id}"), None).status,
        204
    );
    assert_eq!(
        call(&ol, "GET", &format!("/api/2/apps/{id}"), None).status,
        404
    );
}

// ---------------------------------------------------------------- dump, reset, routes

#[test]
fn dump_is_deterministic_and_reset_restores() {
    let a = sim();
    let b = sim();
    assert_eq!(a.dump(), b.dump());
    let other = OneLogin::new(
        OneLoginConfig {
            seed: 8,
            ..cfg(Duration::from_secs(60))
        },
        collisions(),
    );
    assert_ne!(a.dump(), other.dump());

    let dump = a.dump();
    let kinds: std::collections::BTreeSet<&str> =
        dump.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["app", "attribute", "membership", "role", "role_app", "user"]
            .into_iter()
            .collect()
    );
    let owner = a.read().owner_id;
    let owner_env = dump
        .iter()
        .find(|e| e["kind"] == "user" && e["id"].as_str() == Some(owner.to_string().as_str()))
        .unwrap();
    assert_eq!(owner_env["data"]["username"], "owner");
    assert!(
        dump.iter()
            .any(|e| e["kind"] == "user" && e["data"]["email"] == "fox@example.org")
    );
    let m = dump.iter().find(|e| e["kind"] == "membership").unwrap();
    assert!(m["data"]["role_id"].is_u64() && m["data"]["user_id"].is_u64());
    let ra = dump.iter().find(|e| e["kind"] == "role_app").unwrap();
    assert!(ra["data"]["app_id"].is_u64());
    assert!(
        dump.iter()
            .any(|e| e["kind"] == "attribute" && e["data"]["shortname"] == "cost_center")
    );
    // Dumped apps never carry an OIDC client secret.
    assert!(
        dump.iter()
            .all(|e| e["data"]["sso"].get("client_secret").is_none())
    );

    let token = get_token(&a);
    create_user(&a, json!({"email": "reset@example.net"}));
    assert_ne!(a.dump(), b.dump());
    a.reset();
    assert_eq!(a.dump(), b.dump());
    let r = send(
        &a,
        request(
            "GET",
            "/api/2/users",
            None,
            &[("Authorization", &format!("Bearer {token}"))],
        ),
    );
    assert_eq!(r.status, 401, "tokens are reset too");
}

#[test]
fn routes_are_templated_and_unknown_routes_404() {
    let ol = sim();
    let r = call(&ol, "GET", "/api/2/roles/123/users", None);
    assert_eq!(r.route, "GET /api/2/roles/{id}/users");
    assert_eq!(r.status, 404);
    let r = call(&ol, "GET", "/api/2/nothing", None);
    assert_eq!(r.status, 404);
    assert_eq!(r.body["name"], "NotFoundError");
    let r = call(&ol, "PATCH", "/api/2/users", None);
    assert_eq!(r.status, 404);
    let r = call(&ol, "POST", "/api/2/users", Some(json!([1])));
    assert_eq!(r.status, 400);
}

#[test]
fn write_dump_streams_the_same_envelopes_as_dump() {
    let ol = sim();
    create_user(
        &ol,
        json!({"email": "stream@example.net", "custom_attributes": {"cost_center": "7"}}),
    );
    let mut buf = Vec::new();
    ol.write_dump(&mut buf).unwrap();
    let lines: Vec<Value> = buf
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines, ol.dump());
}

#[test]
fn v1_user_roles_and_state() {
    let ol = sim();
    let uid = create_user(&ol, json!({"email": "v1r@example.net"})).body["id"]
        .as_u64()
        .unwrap();
    let rid = call(&ol, "POST", "/api/2/roles", Some(json!({"name": "V1"}))).body["id"]
        .as_u64()
        .unwrap();
    let r = call(
        &ol,
        "PUT",
        &format!("/api/1/users/{uid}/add_roles"),
        Some(json!({"role_id_array": [rid]})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&ol, "GET", &format!("/api/1/users/{uid}/roles"), None);
    assert_eq!(r.body["data"], json!([rid]));
    let r = call(
        &ol,
        "PUT",
        &format!("/api/1/users/{uid}/add_roles"),
        Some(json!({"role_id_array": [1]})),
    );
    assert_eq!(r.status, 400);
    let r = call(
        &ol,
        "PUT",
        &format!("/api/1/users/{uid}/remove_roles"),
        Some(json!({"role_id_array": [rid]})),
    );
    assert_eq!(r.status, 200);
    let r = call(
        &ol,
        "PUT",
        &format!("/api/1/users/{uid}/remove_roles"),
        Some(json!({"role_id_array": [rid]})),
    );
    assert_eq!(
        r.body["status"]["message"],
        "input role_id_array is not included as user roles"
    );
    let r = call(
        &ol,
        "PUT",
        &format!("/api/1/users/{uid}/set_state"),
        Some(json!({"state": 3})),
    );
    assert_eq!(r.status, 200);
    let r = call(
        &ol,
        "PUT",
        &format!("/api/1/users/{uid}/set_state"),
        Some(json!({"state": 3})),
    );
    assert_eq!(r.body["status"]["message"], "user is already in this state");
    assert_eq!(
        call(&ol, "GET", &format!("/api/2/users/{uid}"), None).body["state"],
        3
    );
}

#[test]
fn login_checks_subdomain_status_state_and_every_stored_form() {
    let ol = sim();
    let login = |who: &str, pw: &str, sub: Option<&str>| {
        let mut body = json!({"username_or_email": who, "password": pw});
        if let Some(s) = sub {
            body["subdomain"] = json!(s);
        }
        call(&ol, "POST", "/api/1/login/auth", Some(body))
    };
    // cleartext set on create
    let r = create_user(
        &ol,
        json!({"email": "clear.login@example.net", "username": "clear.login",
               "password": "Sup3r-secret!", "password_confirmation": "Sup3r-secret!"}),
    );
    assert_eq!(r.status, 201);
    let ok = login("clear.login", "Sup3r-secret!", Some("acme-sandbox"));
    assert_eq!(ok.status, 200, "{}", ok.body);
    let data = &ok.body["data"][0];
    assert_eq!(data["status"], "Authenticated");
    assert_eq!(data["user"]["email"], "clear.login@example.net");
    let token = data["session_token"].as_str().unwrap();
    assert_eq!(token.len(), 40);
    assert!(data["expires_at"].as_str().unwrap().ends_with('Z'));
    // by email too, case-insensitively
    assert_eq!(
        login(
            "CLEAR.LOGIN@example.net",
            "Sup3r-secret!",
            Some("acme-sandbox")
        )
        .status,
        200
    );
    // subdomain required, and the account's
    let r = login("clear.login", "Sup3r-secret!", None);
    assert_eq!(
        (r.status, &r.body["status"]["message"]),
        (400, &json!("subdomain is missing"))
    );
    assert_eq!(
        login("clear.login", "Sup3r-secret!", Some("other")).status,
        400
    );
    // wrong password, unknown user: the same 401
    for (who, pw) in [
        ("clear.login", "sup3r-secret!"),
        ("nobody", "Sup3r-secret!"),
    ] {
        let r = login(who, pw, Some("acme-sandbox"));
        assert_eq!(r.status, 401);
        assert_eq!(
            r.body["status"]["message"],
            "Authentication Failed: Invalid user credentials"
        );
    }

    // bcrypt imported on create (the whole string), verified for real
    let bcrypt = "$2a$10$N9qo8uLOickgx2ZMRZoMyeKDO7gYklv7H8hCFMp67/9ylzbDl451y";
    let r = create_user(
        &ol,
        json!({"email": "bcrypt@example.net", "password": bcrypt, "password_confirmation": bcrypt,
               "password_algorithm": "bcrypt"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_u64().unwrap();
    assert_eq!(ol.verify_password(id, "Correct-Horse-1"), Some(true));
    assert_eq!(
        login(
            "bcrypt@example.net",
            "Correct-Horse-1",
            Some("acme-sandbox")
        )
        .status,
        200
    );
    // a malformed bcrypt string is refused
    let r = create_user(
        &ol,
        json!({"email": "bad.bcrypt@example.net", "password": &bcrypt[..59], "password_confirmation": &bcrypt[..59],
               "password_algorithm": "bcrypt"}),
    );
    assert_eq!(r.status, 422);

    // only status 1 and state 1 log in
    for (field, value) in [("status", 2), ("status", 3), ("state", 0), ("state", 3)] {
        let r = call(
            &ol,
            "PUT",
            &format!("/api/2/users/{id}"),
            Some(json!({field: value})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            login(
                "bcrypt@example.net",
                "Correct-Horse-1",
                Some("acme-sandbox")
            )
            .status,
            401,
            "{field} {value}"
        );
        call(
            &ol,
            "PUT",
            &format!("/api/2/users/{id}"),
            Some(json!({field: 1})),
        );
    }
    assert_eq!(
        login(
            "bcrypt@example.net",
            "Correct-Horse-1",
            Some("acme-sandbox")
        )
        .status,
        200
    );
    // a user without a password (status 7) cannot
    let r = create_user(&ol, json!({"email": "nopw@example.net"}));
    assert_eq!(r.body["status"], 7);
    assert_eq!(
        login("nopw@example.net", "anything", Some("acme-sandbox")).status,
        401
    );
}
