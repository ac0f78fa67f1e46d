//! The Okta source over a scripted transport: which URLs it asks for, how it follows links,
//! what it makes of the answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::*;
use crate::http::{
    ClientOptions, FakeClock, Service, Transport, WireError, WireRequest, WireResponse,
};

const BASE: &str = "http://okta.test";

/// Answers by path + query; records every URL and the Authorization header.
#[derive(Default)]
struct Routes {
    pages: HashMap<String, (Value, Vec<String>)>,
    asked: Mutex<Vec<String>>,
    auth: Mutex<Vec<String>>,
}

impl Routes {
    fn page(&mut self, path_query: &str, body: Value, next: Option<&str>) {
        let mut links = vec![format!("<{BASE}{path_query}>; rel=\"self\"")];
        if let Some(n) = next {
            links.push(format!("<{n}>; rel=\"next\""));
        }
        self.pages.insert(path_query.to_string(), (body, links));
    }
    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl Transport for Routes {
    fn send(&self, req: &WireRequest) -> Result<WireResponse, WireError> {
        let pq = match req.url.query() {
            Some(q) => format!("{}?{q}", req.url.path()),
            None => req.url.path().to_string(),
        };
        self.asked.lock().unwrap().push(pq.clone());
        if let Some((_, v)) = req.headers.iter().find(|(k, _)| k == "authorization") {
            self.auth.lock().unwrap().push(v.clone());
        }
        Ok(match self.pages.get(&pq) {
            Some((body, links)) => WireResponse {
                status: 200,
                headers: links.iter().map(|l| ("link".to_string(), l.clone())).collect(),
                body: serde_json::to_vec(body).unwrap(),
            },
            None => WireResponse {
                status: 404,
                headers: Vec::new(),
                body: br#"{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: x (User)","errorCauses":[]}"#.to_vec(),
            },
        })
    }
}

fn okta(routes: Routes) -> (Okta, Arc<Routes>) {
    let routes = Arc::new(routes);
    let mut opts = ClientOptions::new(Service::Okta);
    opts.transport = Some(routes.clone());
    opts.clock = Arc::new(FakeClock::new(0.0));
    let client = Client::new(opts).unwrap();
    (
        Okta::new(BASE, &Secret::new("tok"), client).unwrap(),
        routes,
    )
}

#[derive(Default)]
struct Collect {
    records: Vec<Record>,
    parents: Vec<(u64, u64)>,
}

impl Sink for Collect {
    fn record(&mut self, record: Record) -> Result<(), SourceError> {
        self.records.push(record);
        Ok(())
    }
    fn parents(&mut self, done: u64, total: u64) {
        self.parents.push((done, total));
    }
}

fn user(id: &str, status: &str) -> Value {
    json!({"id": id, "status": status, "profile": {"login": format!("{id}@x.test")}})
}

fn run(o: &mut Okta, kind: Kind, opts: &ExportOptions) -> Collect {
    let mut c = Collect::default();
    o.export(&kind, opts, &mut c).unwrap();
    c
}

fn ids(c: &Collect) -> Vec<&str> {
    c.records.iter().map(|r| r.id.as_str()).collect()
}

#[test]
fn users_follow_next_links_verbatim_and_skip_deprovisioned() {
    let mut r = Routes::default();
    r.page(
        "/api/v1/users?limit=2",
        json!([user("00u1", "ACTIVE"), user("00u2", "STAGED")]),
        Some(&format!(
            "{BASE}/api/v1/users?after=opaque%2Bcursor&limit=2"
        )),
    );
    r.page(
        "/api/v1/users?after=opaque%2Bcursor&limit=2",
        json!([user("00u3", "SUSPENDED")]),
        None,
    );
    let (mut o, routes) = okta(r);
    let opts = ExportOptions {
        page_size: 2,
        ..ExportOptions::default()
    };
    let c = run(&mut o, Kind::User, &opts);
    assert_eq!(ids(&c), ["00u1", "00u2", "00u3"]);
    assert_eq!(
        routes.asked(),
        [
            "/api/v1/users?limit=2",
            "/api/v1/users?after=opaque%2Bcursor&limit=2"
        ]
    );
    // whole and unmodified
    assert_eq!(c.records[0].data, user("00u1", "ACTIVE"));
    assert_eq!(c.records[0].source, "okta");
    assert_eq!(c.records[0].kind, Kind::User);
    assert!(routes.auth.lock().unwrap().iter().all(|a| a == "SSWS tok"));
}

#[test]
fn deprovisioned_users_come_from_a_status_filter_when_asked_for() {
    let mut r = Routes::default();
    r.page(
        "/api/v1/users?limit=200",
        json!([user("00u1", "ACTIVE")]),
        None,
    );
    r.page(
        "/api/v1/users?limit=200&filter=status%20eq%20%22DEPROVISIONED%22",
        json!([user("00u9", "DEPROVISIONED")]),
        None,
    );
    let (mut o, routes) = okta(r);
    let without = run(&mut o, Kind::User, &ExportOptions::default());
    assert_eq!(ids(&without), ["00u1"]);
    assert_eq!(routes.asked().len(), 1);
    let opts = ExportOptions {
        include_deprovisioned: true,
        ..ExportOptions::default()
    };
    let with = run(&mut o, Kind::User, &opts);
    assert_eq!(ids(&with), ["00u1", "00u9"]);
}

#[test]
fn since_filters_users_by_last_updated_and_keeps_every_group() {
    let mut r = Routes::default();
    r.page(
        "/api/v1/users?limit=200&filter=lastUpdated%20gt%20%222026-01-01T00%3A00%3A00.000Z%22",
        json!([user("00u1", "ACTIVE"), user("00u2", "DEPROVISIONED")]),
        None,
    );
    // groups are listed whole: a delta's edges need them
    r.page(
        "/api/v1/groups?limit=200",
        json!([{"id": "00g1", "profile": {"name": "G"}}]),
        None,
    );
    let (mut o, _) = okta(r);
    let opts = ExportOptions {
        since: Some("2026-01-01T00:00:00.000Z".into()),
        ..ExportOptions::default()
    };
    assert_eq!(ids(&run(&mut o, Kind::User, &opts)), ["00u1"]);
    assert_eq!(ids(&run(&mut o, Kind::Group, &opts)), ["00g1"]);
    let all = ExportOptions {
        include_deprovisioned: true,
        ..opts
    };
    assert_eq!(ids(&run(&mut o, Kind::User, &all)), ["00u1", "00u2"]);
}

#[test]
fn memberships_per_group_from_the_group_pass() {
    let mut r = Routes::default();
    r.page(
        "/api/v1/groups?limit=200",
        json!([{"id": "00g1"}, {"id": "00g2"}]),
        None,
    );
    r.page(
        "/api/v1/groups/00g1/users?limit=200",
        json!([user("00u1", "ACTIVE"), user("00u9", "DEPROVISIONED")]),
        Some(&format!(
            "{BASE}/api/v1/groups/00g1/users?after=00u9&limit=200"
        )),
    );
    r.page(
        "/api/v1/groups/00g1/users?after=00u9&limit=200",
        json!([user("00u2", "ACTIVE")]),
        None,
    );
    r.page("/api/v1/groups/00g2/users?limit=200", json!([]), None);
    let (mut o, routes) = okta(r);
    let opts = ExportOptions::default();
    run(&mut o, Kind::Group, &opts);
    let c = run(&mut o, Kind::Membership, &opts);
    assert_eq!(ids(&c), ["00g1/00u1", "00g1/00u2"]);
    assert_eq!(
        c.records[0].data,
        json!({"group_id": "00g1", "user_id": "00u1"})
    );
    assert_eq!(c.parents, [(1, 2), (2, 2)]);
    // groups were listed once, by the group pass
    let group_lists = routes
        .asked()
        .iter()
        .filter(|u| u.starts_with("/api/v1/groups?"))
        .count();
    assert_eq!(group_lists, 1);
}

#[test]
fn memberships_alone_list_the_groups_themselves() {
    let mut r = Routes::default();
    r.page("/api/v1/groups?limit=200", json!([{"id": "00g1"}]), None);
    r.page(
        "/api/v1/groups/00g1/users?limit=200",
        json!([user("00u1", "ACTIVE")]),
        None,
    );
    let (mut o, _) = okta(r);
    let c = run(&mut o, Kind::Membership, &ExportOptions::default());
    assert_eq!(ids(&c), ["00g1/00u1"]);
}

#[test]
fn app_assignments_are_group_assignments_and_direct_users() {
    let mut r = Routes::default();
    r.page(
        "/api/v1/apps?limit=200",
        json!([{"id": "0oa1", "label": "A"}]),
        None,
    );
    r.page(
        "/api/v1/apps/0oa1/groups?limit=200",
        json!([{"id": "00g1", "priority": 0}]),
        None,
    );
    r.page(
        "/api/v1/apps/0oa1/users?limit=500",
        json!([
            {"id": "00u1", "scope": "USER", "credentials": {"userName": "a"}},
            {"id": "00u2", "scope": "GROUP"}
        ]),
        None,
    );
    let (mut o, _) = okta(r);
    let opts = ExportOptions::default();
    let apps = run(&mut o, Kind::App, &opts);
    assert_eq!(ids(&apps), ["0oa1"]);
    let c = run(&mut o, Kind::AppAssignment, &opts);
    assert_eq!(ids(&c), ["0oa1/00g1", "0oa1/00u1"]);
    assert_eq!(
        c.records[0].data,
        json!({"id": "00g1", "priority": 0, "app_id": "0oa1", "group_id": "00g1"})
    );
    assert_eq!(
        c.records[1].data,
        json!({"id": "00u1", "scope": "USER", "credentials": {"userName": "a"}, "app_id": "0oa1", "user_id": "00u1"})
    );
}

#[test]
fn page_sizes_are_clamped_per_endpoint() {
    let mut r = Routes::default();
    r.page("/api/v1/apps?limit=200", json!([{"id": "0oa1"}]), None);
    r.page("/api/v1/apps/0oa1/groups?limit=20", json!([]), None);
    r.page("/api/v1/apps/0oa1/users?limit=5", json!([]), None);
    r.page("/api/v1/users?limit=200", json!([]), None);
    let (mut o, routes) = okta(r);
    let small = ExportOptions {
        page_size: 5,
        ..ExportOptions::default()
    };
    let big = ExportOptions {
        page_size: 1000,
        ..ExportOptions::default()
    };
    run(&mut o, Kind::App, &big);
    run(&mut o, Kind::AppAssignment, &small);
    run(&mut o, Kind::User, &big);
    assert!(!routes.asked().iter().any(|u| u.contains("limit=1000")));
}

#[test]
fn custom_attributes_come_from_the_user_schema() {
    let mut r = Routes::default();
    r.page(
        "/api/v1/meta/schemas/user/default",
        json!({"definitions": {
            "base": {"properties": {"login": {"title": "Username"}}},
            "custom": {"properties": {
                "costCenter": {"title": "Cost center", "type": "string"},
                "badge": {"title": "Badge", "type": "integer"}
            }}
        }}),
        None,
    );
    let (mut o, _) = okta(r);
    let c = run(&mut o, Kind::Attribute, &ExportOptions::default());
    assert_eq!(ids(&c), ["costCenter", "badge"]);
    assert_eq!(
        c.records[0].data,
        json!({"title": "Cost center", "type": "string"})
    );
}

#[test]
fn a_next_link_to_another_host_is_not_followed() {
    let mut r = Routes::default();
    r.page(
        "/api/v1/users?limit=200",
        json!([user("00u1", "ACTIVE")]),
        Some("https://evil.test/api/v1/users?after=1"),
    );
    let (mut o, routes) = okta(r);
    let mut c = Collect::default();
    let err = o
        .export(&Kind::User, &ExportOptions::default(), &mut c)
        .unwrap_err();
    assert!(err.to_string().contains("evil.test"), "{err}");
    assert_eq!(routes.asked().len(), 1);
}

#[test]
fn a_link_back_to_the_same_page_is_an_error_not_a_loop() {
    let mut r = Routes::default();
    r.page(
        "/api/v1/users?limit=200",
        json!([]),
        Some(&format!("{BASE}/api/v1/users?limit=200")),
    );
    let (mut o, _) = okta(r);
    let mut c = Collect::default();
    let err = o
        .export(&Kind::User, &ExportOptions::default(), &mut c)
        .unwrap_err();
    assert!(err.to_string().contains("same page"), "{err}");
}

#[test]
fn api_errors_and_odd_bodies_are_clear() {
    let mut r = Routes::default();
    r.page("/api/v1/apps?limit=200", json!({"not": "a list"}), None);
    r.page(
        "/api/v1/users?limit=200",
        json!([{"status": "ACTIVE"}]),
        None,
    );
    let (mut o, _) = okta(r);
    let mut c = Collect::default();
    let err = o
        .export(&Kind::App, &ExportOptions::default(), &mut c)
        .unwrap_err();
    assert!(err.to_string().contains("expected a JSON array"), "{err}");
    let err = o
        .export(&Kind::User, &ExportOptions::default(), &mut c)
        .unwrap_err();
    assert!(err.to_string().contains("without an `id`"), "{err}");
    let err = o
        .export(&Kind::Group, &ExportOptions::default(), &mut c)
        .unwrap_err();
    assert_eq!(err.to_string().split(": ").nth(1), Some("HTTP 404"));
}

#[test]
fn base_urls() {
    assert_eq!(
        parse_base_url("acme.okta.com").unwrap().as_str(),
        "https://acme.okta.com/"
    );
    assert_eq!(
        parse_base_url("http://127.0.0.1:8080/").unwrap().as_str(),
        "http://127.0.0.1:8080/"
    );
    assert!(parse_base_url("ftp://x").is_err());
    let err = parse_base_url("https://u:secret@acme.okta.com").unwrap_err();
    assert!(!err.to_string().contains("secret@"), "{err}");
    let o = Okta::new(
        "http://h/",
        &Secret::new("Bearer abc"),
        Client::new(ClientOptions::default()).unwrap(),
    )
    .unwrap();
    assert_eq!(o.auth.expose(), "Bearer abc");
    assert_eq!(
        o.url("/api/v1/users", &[("limit", "2")]).as_str(),
        "http://h/api/v1/users?limit=2"
    );
}
