//! The simulated Okta org over real HTTP on 127.0.0.1: pagination by `Link` headers,
//! DEPROVISIONED visibility, determinism, rate limits, faults, error objects and writes.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use idm::sandbox::seed::SeedConfig;
use idm::sandbox::{FaultKind, FaultRule, Sandbox, SandboxConfig, Side};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

fn start(users: u64, seed: u64) -> Sandbox {
    Sandbox::start(SandboxConfig {
        seed: SeedConfig {
            users,
            groups: 8,
            apps: 4,
            seed,
        },
        ..SandboxConfig::default()
    })
    .expect("sandbox starts")
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn authed(sb: &Sandbox, rb: RequestBuilder) -> RequestBuilder {
    rb.header("Authorization", format!("SSWS {}", sb.okta_token()))
        .header("Accept", "application/json")
}

fn get(sb: &Sandbox, path: &str) -> Response {
    authed(sb, client().get(format!("{}{path}", sb.okta_url())))
        .send()
        .expect("request")
}

fn post(sb: &Sandbox, path: &str, body: &Value) -> Response {
    authed(sb, client().post(format!("{}{path}", sb.okta_url())))
        .json(body)
        .send()
        .expect("request")
}

fn put_empty(sb: &Sandbox, path: &str) -> Response {
    authed(sb, client().put(format!("{}{path}", sb.okta_url())))
        .header("Content-Length", "0")
        .send()
        .expect("request")
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The `rel="next"` URL among the response's `Link` header lines.
fn next_link(resp: &Response) -> Option<String> {
    links(resp)
        .into_iter()
        .find(|(_, rel)| rel == "next")
        .map(|(u, _)| u)
}

fn links(resp: &Response) -> Vec<(String, String)> {
    resp.headers()
        .get_all("link")
        .iter()
        .flat_map(|v| {
            v.to_str()
                .unwrap()
                .split(',')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter_map(|part| {
            let url = part.split('<').nth(1)?.split('>').next()?.to_string();
            let rel = part.split("rel=\"").nth(1)?.split('"').next()?.to_string();
            Some((url, rel))
        })
        .collect()
}

/// Follow `next` links from `first` and collect every item.
fn walk(sb: &Sandbox, first: &str) -> (Vec<Value>, usize) {
    let mut url = format!("{}{first}", sb.okta_url());
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let resp = authed(sb, client().get(&url)).send().unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        assert!(
            links(&resp).iter().any(|(_, r)| r == "self"),
            "no self link"
        );
        let next = next_link(&resp);
        let page: Vec<Value> = resp.json().unwrap();
        pages += 1;
        items.extend(page);
        match next {
            Some(n) => url = n,
            None => break,
        }
    }
    (items, pages)
}

fn dump_of(sb: &Sandbox) -> Vec<Value> {
    let text = client()
        .get(format!("{}/__admin/dump", sb.okta_url()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn dump_users(sb: &Sandbox) -> Vec<Value> {
    dump_of(sb)
        .into_iter()
        .filter(|r| r["kind"] == "user")
        .map(|r| r["data"].clone())
        .collect()
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

fn assert_error(resp: Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    let body: Value = resp.json().unwrap();
    for k in ["errorCode", "errorSummary", "errorLink", "errorId"] {
        assert!(body[k].is_string(), "error object without `{k}`: {body}");
    }
    assert!(
        body["errorCauses"].is_array(),
        "errorCauses not an array: {body}"
    );
    assert_eq!(body["errorCode"], code, "{body}");
    body
}

/// Compare two NDJSON texts, showing only the first differing line.
fn assert_same_lines(a: &str, b: &str) {
    for (n, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        assert!(x == y, "line {} differs:\n{x}\n{y}", n + 1);
    }
    assert_eq!(a.lines().count(), b.lines().count());
}

fn stats(sb: &Sandbox) -> Value {
    client()
        .get(format!("{}/__admin/stats", sb.okta_url()))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn link_walk_returns_exactly_the_seeded_non_deprovisioned_users() {
    let sb = start(450, 3);
    let all = dump_users(&sb);
    assert_eq!(all.len(), 450);
    let expected: Vec<String> = ids(&all
        .iter()
        .filter(|u| u["status"] != "DEPROVISIONED")
        .cloned()
        .collect::<Vec<_>>());
    assert!(expected.len() < 450, "the seed has DEPROVISIONED users");

    // default page size 200: 3 pages, the last without a next link
    let (users, pages) = walk(&sb, "/api/v1/users");
    assert_eq!(pages, 3);
    assert_eq!(ids(&users), expected);
    // the walk sees exactly the API's objects
    let by_id: std::collections::HashMap<&str, &Value> =
        all.iter().map(|u| (u["id"].as_str().unwrap(), u)).collect();
    for u in &users {
        assert_eq!(u, by_id[u["id"].as_str().unwrap()]);
    }

    // a small limit, carried into every next link
    let (users, pages) = walk(&sb, "/api/v1/users?limit=37");
    assert_eq!(ids(&users), expected);
    assert_eq!(pages, expected.len().div_ceil(37));

    // more than the maximum is clamped to 200
    let resp = get(&sb, "/api/v1/users?limit=1000");
    let page: Vec<Value> = resp.json().unwrap();
    assert_eq!(page.len(), 200);
}

#[test]
fn filter_and_search_show_deprovisioned_users_and_q_hides_them() {
    let sb = start(120, 5);
    let deprov: Vec<String> = ids(&dump_users(&sb)
        .into_iter()
        .filter(|u| u["status"] == "DEPROVISIONED")
        .collect::<Vec<_>>());
    assert!(!deprov.is_empty());
    let f = enc(r#"status eq "DEPROVISIONED""#);
    let (found, _) = walk(&sb, &format!("/api/v1/users?filter={f}&limit=2"));
    assert_eq!(ids(&found), deprov);
    let (found, _) = walk(&sb, &format!("/api/v1/users?search={f}"));
    assert_eq!(ids(&found), deprov);
    // search values are case-insensitive, filter values are not
    let lower = enc(r#"status eq "deprovisioned""#);
    let (found, _) = walk(&sb, &format!("/api/v1/users?search={lower}"));
    assert_eq!(ids(&found), deprov);
    let (found, _) = walk(&sb, &format!("/api/v1/users?filter={lower}"));
    assert!(found.is_empty());

    // q: startsWith on names and email, no DEPROVISIONED, no pagination
    let some = dump_users(&sb)
        .into_iter()
        .find(|u| u["status"] == "DEPROVISIONED")
        .unwrap();
    let first = some["profile"]["firstName"].as_str().unwrap();
    let resp = get(&sb, &format!("/api/v1/users?q={}&limit=200", enc(first)));
    assert!(next_link(&resp).is_none());
    let page: Vec<Value> = resp.json().unwrap();
    assert!(page.iter().all(|u| u["status"] != "DEPROVISIONED"));
    assert!(!page.iter().any(|u| u["id"] == some["id"]));

    // unsupported filters and search + filter together
    for bad in [
        r#"profile.city eq "x""#,
        r#"status sw "A""#,
        r#"lastUpdated zz "x""#,
    ] {
        assert_error(
            get(&sb, &format!("/api/v1/users?filter={}", enc(bad))),
            400,
            "E0000031",
        );
    }
    assert_error(
        get(&sb, &format!("/api/v1/users?filter={f}&search={f}")),
        400,
        "E0000033",
    );
    // search reaches custom attributes, filter does not
    let (contractors, _) = walk(
        &sb,
        &format!(
            "/api/v1/users?search={}",
            enc("profile.isContractor eq true")
        ),
    );
    assert!(!contractors.is_empty());
    assert!(
        contractors
            .iter()
            .all(|u| u["profile"]["isContractor"] == true)
    );

    // sortBy/sortOrder with search, across pages
    let all = enc("status pr");
    let (sorted, pages) = walk(
        &sb,
        &format!("/api/v1/users?search={all}&sortBy=profile.lastName&sortOrder=desc&limit=25"),
    );
    assert!(pages > 1);
    assert_eq!(sorted.len(), 120, "search includes DEPROVISIONED");
    let names: Vec<String> = sorted
        .iter()
        .map(|u| u["profile"]["lastName"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(names.windows(2).all(|w| w[0] >= w[1]), "sorted descending");
}

#[test]
fn same_seed_gives_an_identical_dump_and_another_seed_does_not() {
    let a = start(60, 11);
    let b = start(60, 11);
    let c = start(60, 12);
    let text = |sb: &Sandbox| {
        client()
            .get(format!("{}/__admin/dump", sb.okta_url()))
            .send()
            .unwrap()
            .text()
            .unwrap()
            .replace(sb.okta_url(), "http://ORG")
    };
    let (ta, tb, tc) = (text(&a), text(&b), text(&c));
    assert_same_lines(&ta, &tb);
    assert!(ta != tc, "another seed gives another tenant");
    let kinds: BTreeSet<String> = ta
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let want: BTreeSet<String> = [
        "user",
        "group",
        "membership",
        "app",
        "app_assignment",
        "attribute",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(kinds, want);
}

#[test]
fn over_the_limit_gives_429_e0000047_with_headers_and_stats_count_it() {
    let sb = Sandbox::start(SandboxConfig {
        okta_rate_limit: Some("5/min".parse().unwrap()),
        ..SandboxConfig::default()
    })
    .unwrap();
    // 11 requests: whatever the clock, one fixed window gets at least 6
    let mut limited = None;
    for _ in 0..11 {
        let r = get(&sb, "/api/v1/users?limit=1");
        let h = |n: &str| r.headers().get(n).unwrap().to_str().unwrap().to_string();
        assert_eq!(h("x-rate-limit-limit"), "5");
        let reset: u64 = h("x-rate-limit-reset").parse().unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        // read after the response: at a window's last instant the clock may already be there
        assert!(
            reset >= now && reset <= now + 61,
            "reset {reset} is not epoch seconds of the window end"
        );
        assert_eq!(reset % 60, 0, "windows are aligned to the minute");
        if r.status() == 429 {
            assert_eq!(h("x-rate-limit-remaining"), "0");
            limited = Some(r);
        }
    }
    let r = limited.expect("some request was limited");
    let body = assert_error(r, 429, "E0000047");
    assert_eq!(
        body["errorSummary"],
        "API call exceeded rate limit due to too many requests."
    );
    // another bucket has its own quota
    assert_eq!(get(&sb, "/api/v1/groups").status(), 200);
    let s = stats(&sb);
    assert!(s["over_limit"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(s["over_limit"], s["by_status"]["429"]);
    assert!(
        s["by_bucket"]["/api/v1/users"]["peak_per_window"]
            .as_u64()
            .unwrap()
            <= 5
    );
    assert_eq!(s["requests"], 12);
}

#[test]
fn rate_limit_headers_are_on_every_response_even_errors() {
    let sb = start(5, 1);
    let r = client()
        .get(format!("{}/api/v1/users", sb.okta_url()))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    for h in [
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
    ] {
        assert!(r.headers().contains_key(h), "401 without {h}");
    }
    assert_error(r, 401, "E0000011");
    let r = client()
        .get(format!("{}/api/v1/users", sb.okta_url()))
        .header("Authorization", format!("Bearer {}", sb.okta_token()))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "Bearer works too");
    assert_error(
        get(&sb, "/api/v1/users/nobody@nowhere.example"),
        404,
        "E0000007",
    );
    assert_error(get(&sb, "/api/v1/users?after=%2F%2F"), 400, "E0000029");
}

#[test]
fn scripted_faults_of_every_kind() {
    let sb = start(10, 1);
    let group = |name: &str| json!({ "profile": { "name": name } });
    let names = |sb: &Sandbox| -> Vec<String> {
        dump_of(sb)
            .into_iter()
            .filter(|r| r["kind"] == "group")
            .map(|r| r["data"]["profile"]["name"].as_str().unwrap().to_string())
            .collect()
    };

    sb.script_fault(
        Side::Okta,
        FaultRule::new(FaultKind::ServerError).method("POST"),
    );
    assert_error(post(&sb, "/api/v1/groups", &group("A")), 500, "E0000009");
    assert!(
        !names(&sb).contains(&"A".to_string()),
        "a 500 commits nothing"
    );

    sb.script_fault(Side::Okta, FaultRule::new(FaultKind::TooManyRequests));
    assert_error(get(&sb, "/api/v1/groups"), 429, "E0000047");

    sb.script_fault(
        Side::Okta,
        FaultRule::new(FaultKind::Reset).path("/api/v1/groups"),
    );
    let r = authed(
        &sb,
        client().post(format!("{}/api/v1/groups", sb.okta_url())),
    )
    .json(&group("B"))
    .send();
    assert!(r.is_err(), "reset must close the connection");
    assert!(
        !names(&sb).contains(&"B".to_string()),
        "a reset commits nothing"
    );

    // lost: committed, then no answer; the naive retry meets the object it created
    sb.script_fault(
        Side::Okta,
        FaultRule::new(FaultKind::Lost)
            .method("POST")
            .path("/api/v1/groups"),
    );
    let r = authed(
        &sb,
        client().post(format!("{}/api/v1/groups", sb.okta_url())),
    )
    .json(&group("C"))
    .send();
    assert!(
        r.is_err(),
        "lost must close the connection without a response"
    );
    assert!(
        names(&sb).contains(&"C".to_string()),
        "a lost write is committed"
    );
    let retry = post(&sb, "/api/v1/groups", &group("C"));
    let body = assert_error(retry, 400, "E0000001");
    assert!(
        body["errorCauses"][0]["errorSummary"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );

    // slow: scripted through the admin endpoint, as a test of the binary would
    let r = client()
        .post(format!("{}/__admin/faults", sb.okta_url()))
        .json(&json!([{ "kind": "slow", "path": "/api/v1/apps", "delay_ms": 400 }]))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = Instant::now();
    assert_eq!(get(&sb, "/api/v1/apps").status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(400));

    let s = stats(&sb);
    for k in ["500", "429", "reset", "lost", "slow"] {
        assert_eq!(s["faults"][k], 1, "{k}: {s}");
    }
}

#[test]
fn random_faults_are_injected_at_the_configured_rates() {
    let sb = Sandbox::start(SandboxConfig {
        faults: "500=0.3".parse().unwrap(),
        ..SandboxConfig::default()
    })
    .unwrap();
    let errors = (0..100)
        .filter(|_| get(&sb, "/api/v1/groups").status() == 500)
        .count();
    assert!((10..60).contains(&errors), "{errors} of 100 at 30%");
}

#[test]
fn create_user_staged_duplicates_group_ids_and_hashes() {
    let sb = start(20, 2);
    let everyone = dump_of(&sb)
        .into_iter()
        .find(|r| r["kind"] == "group" && r["data"]["type"] == "BUILT_IN")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let groups: Vec<Value> = get(&sb, "/api/v1/groups").json().unwrap();
    let okta_group = groups.iter().find(|g| g["type"] == "OKTA_GROUP").unwrap()["id"].clone();
    let app_group = groups.iter().find(|g| g["type"] == "APP_GROUP").unwrap()["id"].clone();

    let body = json!({
        "profile": { "firstName": "Isaac", "lastName": "Brock", "email": "isaac.brock@example.com",
                     "login": "isaac.brock@example.com", "badgeNumber": 7, "skills": ["rust"] },
        "groupIds": [okta_group],
        "credentials": { "password": { "hash": {
            "algorithm": "SHA-512", "salt": "TXlTYWx0", "saltOrder": "PREFIX",
            "value": "QrozP8a+KfoHu6mPFysxLoO5LMQsd2Fw6IclZUf8xQjetJOCGS93vm68h+VaFX0LHSiF/GxQkykq1vofmx6NGA==" } } }
    });
    let r = post(&sb, "/api/v1/users?activate=false", &body);
    assert_eq!(r.status(), 200, "create user is 200, not 201");
    let user: Value = r.json().unwrap();
    let uid = user["id"].as_str().unwrap().to_string();
    assert!(uid.starts_with("00u") && uid.len() == 20);
    assert_eq!(user["status"], "STAGED");
    assert_eq!(user["credentials"]["password"], json!({}));
    assert_eq!(user["credentials"]["provider"]["type"], "IMPORT");
    assert_eq!(
        sb.okta().imported_hash(&uid).unwrap()["algorithm"],
        "SHA-512"
    );
    // groupIds and Everyone memberships are real
    for g in [okta_group.as_str().unwrap(), everyone.as_str()] {
        let (members, _) = walk(&sb, &format!("/api/v1/groups/{g}/users"));
        assert!(ids(&members).contains(&uid), "not a member of {g}");
    }

    // duplicate login, case-insensitively
    let mut dup = body.clone();
    dup["profile"]["login"] = json!("ISAAC.BROCK@example.com");
    let err = assert_error(
        post(&sb, "/api/v1/users?activate=false", &dup),
        400,
        "E0000001",
    );
    assert_eq!(
        err["errorCauses"][0]["errorSummary"],
        "login: An object with this field already exists in the current organization"
    );

    // more than 20 groupIds
    let mut many = body.clone();
    many["profile"]["login"] = json!("other.person@example.com");
    many["groupIds"] = json!(vec![okta_group.clone(); 21]);
    assert_error(
        post(&sb, "/api/v1/users?activate=false", &many),
        400,
        "E0000093",
    );
    // app groups are managed by their app
    many["groupIds"] = json!([app_group]);
    assert_error(post(&sb, "/api/v1/users", &many), 400, "E0000001");
    // unknown custom attribute, bad hash
    let mut bad = many.clone();
    bad["groupIds"] = json!([]);
    bad["profile"]["noSuchAttribute"] = json!("x");
    assert_error(post(&sb, "/api/v1/users", &bad), 400, "E0000001");
    bad["profile"]
        .as_object_mut()
        .unwrap()
        .remove("noSuchAttribute");
    bad["credentials"]["password"]["hash"]["algorithm"] = json!("SHA-3");
    assert_error(post(&sb, "/api/v1/users", &bad), 400, "E0000001");
    // not JSON
    let r = authed(
        &sb,
        client().post(format!("{}/api/v1/users", sb.okta_url())),
    )
    .header("Content-Type", "application/json")
    .body("{not json")
    .send()
    .unwrap();
    assert_error(r, 400, "E0000003");

    // activate=true with a password → ACTIVE; without → PROVISIONED
    let mut active = many.clone();
    active["groupIds"] = json!([]);
    active["credentials"] = json!({ "password": { "value": "Tlpwent2m99" } });
    let u: Value = post(&sb, "/api/v1/users", &active).json().unwrap();
    assert_eq!(u["status"], "ACTIVE");
    assert_eq!(u["credentials"]["provider"]["type"], "OKTA");
    let mut prov = active.clone();
    prov["profile"]["login"] = json!("third.person@example.com");
    prov.as_object_mut().unwrap().remove("credentials");
    let u: Value = post(&sb, "/api/v1/users", &prov).json().unwrap();
    assert_eq!(u["status"], "PROVISIONED");

    // a hash cannot be set on a user that is not STAGED
    let active_id = ids(&get(
        &sb,
        &format!(
            "/api/v1/users?filter={}",
            enc(r#"profile.login eq "other.person@example.com""#)
        ),
    )
    .json::<Vec<Value>>()
    .unwrap())[0]
        .clone();
    let r = post(
        &sb,
        &format!("/api/v1/users/{active_id}"),
        &json!({ "credentials": body["credentials"] }),
    );
    assert_error(r, 403, "E0000038");
}

#[test]
fn partial_update_bumps_last_updated_for_incremental_exports() {
    let sb = start(30, 4);
    let users: Vec<Value> = get(&sb, "/api/v1/users?limit=3").json().unwrap();
    let u = &users[2];
    let id = u["id"].as_str().unwrap();
    let max_seeded = dump_users(&sb)
        .iter()
        .map(|u| u["lastUpdated"].as_str().unwrap().to_string())
        .max()
        .unwrap();
    let r = post(
        &sb,
        &format!("/api/v1/users/{id}"),
        &json!({ "profile": { "title": "Chief Tester" } }),
    );
    assert_eq!(r.status(), 200);
    let updated: Value = r.json().unwrap();
    assert_eq!(updated["profile"]["title"], "Chief Tester");
    assert_eq!(
        updated["profile"]["login"], u["profile"]["login"],
        "partial: other fields kept"
    );
    let f = enc(&format!(r#"lastUpdated gt "{max_seeded}""#));
    let (changed, _) = walk(&sb, &format!("/api/v1/users?filter={f}"));
    assert_eq!(ids(&changed), vec![id.to_string()]);
    // get by id and by login
    let login = u["profile"]["login"].as_str().unwrap();
    let by_login: Value = get(&sb, &format!("/api/v1/users/{}", enc(login)))
        .json()
        .unwrap();
    assert_eq!(by_login["id"], id);
    assert_eq!(by_login["profile"]["title"], "Chief Tester");
}

#[test]
fn memberships_only_for_okta_groups() {
    let sb = start(20, 2);
    let groups: Vec<Value> = get(&sb, "/api/v1/groups").json().unwrap();
    let users: Vec<Value> = get(&sb, "/api/v1/users").json().unwrap();
    let uid = users[0]["id"].as_str().unwrap();
    for g in &groups {
        let gid = g["id"].as_str().unwrap();
        let r = put_empty(&sb, &format!("/api/v1/groups/{gid}/users/{uid}"));
        if g["type"] == "OKTA_GROUP" {
            assert_eq!(r.status(), 204);
            let (members, _) = walk(&sb, &format!("/api/v1/groups/{gid}/users?limit=1"));
            assert!(ids(&members).contains(&uid.to_string()));
        } else {
            assert_error(r, 403, "E0000006");
        }
    }
    assert_error(
        put_empty(&sb, &format!("/api/v1/groups/00gNOPE/users/{uid}")),
        404,
        "E0000007",
    );
    // a PUT without a body must still say `Content-Length: 0` (okta-api.md §1)
    let gid = groups.iter().find(|g| g["type"] == "OKTA_GROUP").unwrap()["id"]
        .as_str()
        .unwrap();
    let addr = sb.okta_url().trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "PUT /api/v1/groups/{gid}/users/{uid} HTTP/1.1\r\nHost: x\r\nAuthorization: SSWS {}\r\nConnection: close\r\n\r\n",
        sb.okta_token()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 411"), "{answer}");

    // a new group is an OKTA_GROUP, and its name is unique
    let r = post(
        &sb,
        "/api/v1/groups",
        &json!({ "profile": { "name": "West Coast", "description": "x" } }),
    );
    assert_eq!(r.status(), 200);
    let g: Value = r.json().unwrap();
    assert_eq!(g["type"], "OKTA_GROUP");
    assert_eq!(g["objectClass"], json!(["okta:user_group"]));
    let q: Vec<Value> = get(&sb, "/api/v1/groups?q=west").json().unwrap();
    assert_eq!(ids(&q), vec![g["id"].as_str().unwrap().to_string()]);
    let s = enc(r#"type eq "BUILT_IN""#);
    let builtin: Vec<Value> = get(&sb, &format!("/api/v1/groups?search={s}"))
        .json()
        .unwrap();
    assert_eq!(builtin.len(), 1);
    assert_eq!(builtin[0]["profile"]["name"], "Everyone");
}

#[test]
fn group_members_page_at_1000_by_default() {
    let sb = start(1300, 6);
    let groups: Vec<Value> = get(&sb, "/api/v1/groups").json().unwrap();
    let everyone = groups
        .iter()
        .find(|g| g["profile"]["name"] == "Everyone")
        .unwrap();
    let path = format!("/api/v1/groups/{}/users", everyone["id"].as_str().unwrap());
    let r = get(&sb, &path);
    assert!(next_link(&r).is_some());
    let first: Vec<Value> = r.json().unwrap();
    assert_eq!(first.len(), 1000);
    let (all, pages) = walk(&sb, &path);
    assert_eq!(pages, 2);
    let expected = dump_of(&sb)
        .into_iter()
        .filter(|r| r["kind"] == "membership" && r["data"]["group_id"] == everyone["id"])
        .count();
    assert_eq!(all.len(), expected);
}

#[test]
fn apps_have_their_sign_on_modes_settings_and_assignments() {
    let sb = start(40, 8);
    let apps: Vec<Value> = get(&sb, "/api/v1/apps").json().unwrap();
    let modes: BTreeSet<&str> = apps
        .iter()
        .map(|a| a["signOnMode"].as_str().unwrap())
        .collect();
    assert_eq!(
        modes,
        ["AUTO_LOGIN", "BOOKMARK", "OPENID_CONNECT", "SAML_2_0"]
            .into_iter()
            .collect()
    );
    for a in &apps {
        let s = &a["settings"];
        match a["signOnMode"].as_str().unwrap() {
            "SAML_2_0" => {
                for k in [
                    "ssoAcsUrl",
                    "audience",
                    "assertionSigned",
                    "responseSigned",
                    "honorForceAuthn",
                    "requestCompressed",
                    "allowMultipleAcsEndpoints",
                ] {
                    assert!(!s["signOn"][k].is_null(), "SAML without {k}");
                }
            }
            "OPENID_CONNECT" => {
                assert_eq!(a["name"], "oidc_client");
                assert!(s["oauthClient"]["grant_types"].is_array());
                assert!(a["credentials"]["oauthClient"]["client_id"].is_string());
            }
            "BOOKMARK" => assert!(s["app"]["url"].is_string()),
            _ => assert!(s["signOn"]["loginUrl"].is_string()),
        }
        let id = a["id"].as_str().unwrap();
        let groups: Vec<Value> = get(&sb, &format!("/api/v1/apps/{id}/groups"))
            .json()
            .unwrap();
        let dumped = dump_of(&sb)
            .into_iter()
            .filter(|r| {
                r["kind"] == "app_assignment"
                    && r["data"]["app_id"] == id
                    && r["data"]["group_id"].is_string()
            })
            .count();
        assert_eq!(groups.len(), dumped);
        assert!(!groups.is_empty());
        let (users, _) = walk(&sb, &format!("/api/v1/apps/{id}/users?limit=7"));
        assert!(
            users.iter().any(|u| u["scope"] == "USER"),
            "direct assignments"
        );
        let uniq: BTreeSet<String> = ids(&users).into_iter().collect();
        assert_eq!(uniq.len(), users.len(), "no user twice");
    }
    assert_error(get(&sb, "/api/v1/apps/0oaNOPE"), 404, "E0000007");
}

#[test]
fn schema_custom_definitions_are_the_custom_keys_users_carry() {
    let sb = start(200, 9);
    let schema: Value = get(&sb, "/api/v1/meta/schemas/user/default")
        .json()
        .unwrap();
    let base: BTreeSet<String> = schema["definitions"]["base"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(base.len(), 31);
    let custom: BTreeSet<String> = schema["definitions"]["custom"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let carried: BTreeSet<String> = dump_users(&sb)
        .iter()
        .flat_map(|u| {
            u["profile"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        })
        .filter(|k| !base.contains(k))
        .collect();
    assert_eq!(custom, carried);

    // partial update: add one, remove one (null), leave the rest
    let r = post(
        &sb,
        "/api/v1/meta/schemas/user/default",
        &json!({ "definitions": { "custom": { "id": "#custom", "type": "object", "properties": {
            "salesforceUserName": { "title": "Salesforce username", "type": "string", "maxLength": 20 },
            "hireDate": null } } } }),
    );
    assert_eq!(r.status(), 200);
    let after: Value = get(&sb, "/api/v1/meta/schemas/user/default")
        .json()
        .unwrap();
    let props = after["definitions"]["custom"]["properties"]
        .as_object()
        .unwrap();
    assert!(props.contains_key("salesforceUserName"));
    assert!(!props.contains_key("hireDate"));
    assert_eq!(props.len(), custom.len());
    // the new attribute can be set on a user right away
    let r = post(
        &sb,
        "/api/v1/users?activate=false",
        &json!({ "profile": { "firstName": "A", "lastName": "B", "email": "a.b@example.com",
                              "login": "a.b@example.com", "salesforceUserName": "ab" } }),
    );
    assert_eq!(r.status(), 200);
}

#[test]
fn admin_reset_restores_the_seed_and_zeroes_stats() {
    let sb = start(15, 2);
    let before = dump_of(&sb);
    let r = post(
        &sb,
        "/api/v1/groups",
        &json!({ "profile": { "name": "Temp" } }),
    );
    assert_eq!(r.status(), 200);
    let s = stats(&sb);
    assert_eq!(s["writes"], 1);
    assert_eq!(s["by_route"]["POST /api/v1/groups"], 1);
    assert_ne!(dump_of(&sb), before);
    let r = client()
        .post(format!("{}/__admin/reset", sb.onelogin_url()))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "reset works from either port");
    assert_eq!(dump_of(&sb), before);
    let s = stats(&sb);
    assert_eq!(s["requests"], 0);
    assert_eq!(s["writes"], 0);
    // routes are templated in the stats
    get(
        &sb,
        &format!(
            "/api/v1/users/{}",
            before.iter().find(|r| r["kind"] == "user").unwrap()["id"]
                .as_str()
                .unwrap()
        ),
    );
    assert_eq!(stats(&sb)["by_route"]["GET /api/v1/users/{id}"], 1);
}

#[test]
fn fixture_round_trips_a_dump() {
    let sb = start(25, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("okta.ndjson");
    let text = client()
        .get(format!("{}/__admin/dump", sb.okta_url()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    std::fs::write(&path, &text).unwrap();
    let loaded = Sandbox::start(SandboxConfig {
        okta_fixture: Some(path),
        ..SandboxConfig::default()
    })
    .unwrap();
    let again = client()
        .get(format!("{}/__admin/dump", loaded.okta_url()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_same_lines(&again, &text);
    let (users, _) = walk(&loaded, "/api/v1/users");
    assert!(!users.is_empty());
}
