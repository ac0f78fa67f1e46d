//! The simulated Okta management API: an in-memory tenant and a pure request → response
//! handler over it.
//!
//! Built from `shared/reference/okta-api.md` (its §10 checklist): SSWS/Bearer auth, cursor
//! pagination with one `Link` header line per relation, DEPROVISIONED users hidden from plain
//! lists, the `filter`/`search` subsets with 400 `E0000031` for anything else, create-user
//! with `activate`, `groupIds` (≤ 20) and hashed-password import, OKTA_GROUP-only membership
//! writes, apps of four sign-on modes with their group/user sub-lists, the user schema with
//! partial updates, and the full error object on every error.
//!
//! Users are kept as their serialized JSON (the collection form) plus a few indexed fields,
//! so a list page is a concatenation of cached bytes — that is what makes thousands of pages
//! a second possible — and 100k users cost about their JSON size. Objects are reparsed only
//! when written or searched on a field that is not indexed. Ids sort in creation order, so
//! the `after` cursor is the last id of a page and survives writes between pages.

mod apps;
mod authn;
pub mod filter;
mod groups;
mod users;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, BufRead};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::{Map, Value, json};

use self::filter::{Expr, Op};
use super::api::{SimRequest, SimResponse};
use super::onelogin::{CollidingUser, Collisions};
use super::seed::{self, Generator, Mix, attribute_data, now_iso, okta_id};

/// The 31 base profile attributes of the default user schema, with their length limits.
const BASE_ATTRIBUTES: &[(&str, &str, Option<usize>)] = &[
    ("login", "Username", Some(100)),
    ("email", "Primary email", Some(100)),
    ("firstName", "First name", Some(50)),
    ("lastName", "Last name", Some(50)),
    ("middleName", "Middle name", None),
    ("honorificPrefix", "Honorific prefix", None),
    ("honorificSuffix", "Honorific suffix", None),
    ("title", "Title", None),
    ("displayName", "Display name", None),
    ("nickName", "Nickname", None),
    ("profileUrl", "Profile Url", None),
    ("secondEmail", "Secondary email", Some(100)),
    ("mobilePhone", "Mobile phone", Some(100)),
    ("primaryPhone", "Primary phone", Some(100)),
    ("streetAddress", "Street address", Some(1024)),
    ("city", "City", Some(128)),
    ("state", "State", Some(128)),
    ("zipCode", "Zip code", Some(50)),
    ("countryCode", "Country code", Some(2)),
    ("postalAddress", "Postal Address", Some(4096)),
    ("preferredLanguage", "Preferred language", None),
    ("locale", "Locale", None),
    ("timezone", "Time zone", None),
    ("userType", "User type", None),
    ("employeeNumber", "Employee number", None),
    ("costCenter", "Cost center", None),
    ("organization", "Organization", None),
    ("division", "Division", None),
    ("department", "Department", None),
    ("managerId", "ManagerId", None),
    ("manager", "Manager", None),
];

const MAX_GROUP_IDS: usize = 20;

/// The rate-limit bucket of a request (okta-api.md §8): limits apply per bucket.
pub fn bucket(method: &str, path: &str) -> &'static str {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "v1", "apps"] => "/api/v1/apps",
        ["api", "v1", "apps", ..] => "/api/v1/apps/{id}",
        ["api", "v1", "groups"] => "/api/v1/groups",
        ["api", "v1", "groups", ..] => "/api/v1/groups/{id}",
        ["api", "v1", "users"] => "/api/v1/users",
        ["api", "v1", "users", ..] if method == "GET" => "GET /api/v1/users/{idOrLogin}",
        ["api", "v1", "users", ..] => "/api/v1/users/{id}",
        ["api", "v1", "logs", ..] => "/api/v1/logs",
        // authentication has limits of its own; no source here gives them, so the bucket
        // takes the "most other" figures
        ["api", "v1", "authn", ..] => "/api/v1/authn",
        _ => "/api/v1",
    }
}

static ERROR_SEQ: AtomicU64 = AtomicU64::new(1);

/// An Okta error response: the full error object with `errorCode`, `errorSummary`,
/// `errorLink`, `errorId` and `errorCauses` (always an array).
pub fn error(
    status: u16,
    code: &str,
    summary: &str,
    causes: &[String],
    route: &str,
) -> SimResponse {
    let n = ERROR_SEQ.fetch_add(1, Ordering::Relaxed);
    let mut mix = Mix::new(&[n, 0xE220]);
    let error_id: String = std::iter::once("oae".to_string())
        .chain((0..22).map(|_| {
            let c = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                [mix.below(62) as usize];
            (c as char).to_string()
        }))
        .collect();
    let causes: Vec<Value> = causes
        .iter()
        .map(|c| json!({ "errorSummary": c }))
        .collect();
    SimResponse::json(
        status,
        route,
        &json!({
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": error_id,
            "errorCauses": causes,
        }),
    )
}

/// The 429 an over-limit request gets.
pub fn rate_limited(route: &str) -> SimResponse {
    error(
        429,
        "E0000047",
        "API call exceeded rate limit due to too many requests.",
        &[],
        route,
    )
}

/// The 500 of an injected server fault.
pub fn internal_error(route: &str) -> SimResponse {
    let mut r = error(500, "E0000009", "Internal Server Error", &[], route);
    // the spec's example has errorLink E0000000 for this one
    if let Ok(mut v) = serde_json::from_slice::<Value>(&r.body) {
        v["errorLink"] = json!("E0000000");
        r.body = serde_json::to_vec(&v).unwrap_or_default();
    }
    r
}

/// A user: cached JSON (collection form) plus the fields `filter` can use.
#[derive(Debug)]
struct UserRec {
    json: Vec<u8>,
    status: String,
    last_updated: String,
    created: String,
    login: String,
    email: Option<String>,
    first: Option<String>,
    last: Option<String>,
}

impl UserRec {
    fn from_value(v: &Value) -> UserRec {
        let s = |p: &str| filter::lookup(v, p).and_then(|x| x.as_str().map(str::to_string));
        UserRec {
            json: serde_json::to_vec(v).unwrap_or_default(),
            status: s("status").unwrap_or_default(),
            last_updated: s("lastUpdated").unwrap_or_default(),
            created: s("created").unwrap_or_default(),
            login: s("profile.login").unwrap_or_default(),
            email: s("profile.email"),
            first: s("profile.firstName"),
            last: s("profile.lastName"),
        }
    }

    fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }

    fn deprovisioned(&self) -> bool {
        self.status == "DEPROVISIONED"
    }

    /// The fields a `filter` may name.
    fn filter_field(&self, id: &str, attr: &str) -> Option<Value> {
        let s = |x: &str| Some(Value::String(x.to_string()));
        let o = |x: &Option<String>| x.as_deref().map(|v| Value::String(v.to_string()));
        match attr {
            "id" => s(id),
            "status" => s(&self.status),
            "lastUpdated" => s(&self.last_updated),
            "profile.login" => s(&self.login),
            "profile.email" => o(&self.email),
            "profile.firstName" => o(&self.first),
            "profile.lastName" => o(&self.last),
            _ => None,
        }
    }
}

/// A group or app: the object and its serialized form.
#[derive(Debug)]
struct ObjRec {
    value: Value,
    json: Vec<u8>,
}

impl ObjRec {
    fn new(value: Value) -> ObjRec {
        let json = serde_json::to_vec(&value).unwrap_or_default();
        ObjRec { value, json }
    }
}

/// The tenant. Cloning is cheap: objects are shared until written.
#[derive(Debug, Clone, Default)]
struct State {
    users: BTreeMap<String, Arc<UserRec>>,
    /// lower-cased login → user id
    logins: HashMap<String, String>,
    groups: BTreeMap<String, Arc<ObjRec>>,
    members: BTreeMap<String, BTreeSet<String>>,
    apps: BTreeMap<String, Arc<ObjRec>>,
    /// app → assigned group ids in priority order
    app_groups: BTreeMap<String, Vec<String>>,
    /// app → directly assigned user ids
    app_users: BTreeMap<String, BTreeSet<String>>,
    custom: Map<String, Value>,
    schema_created: String,
    schema_updated: String,
    /// imported password hashes as Okta's objects (what a test checks after a load)
    hashes: HashMap<String, Value>,
    /// user id → what a sign-in is checked against (an imported hash, or a digest of a
    /// cleartext password); users without a password or with a hook have none
    secrets: HashMap<String, crate::password::Hash>,
    /// notifications the org would have sent
    emails: users::Emails,
    everyone: Option<String>,
    seed: u64,
    next_user: u64,
    next_group: u64,
    next_app: u64,
}

impl State {
    fn insert_user(&mut self, v: &Value) {
        let rec = UserRec::from_value(v);
        let id = v["id"].as_str().unwrap_or_default().to_string();
        self.logins.insert(rec.login.to_lowercase(), id.clone());
        self.users.insert(id, Arc::new(rec));
    }

    fn user_by_key(&self, key: &str) -> Option<(&String, &Arc<UserRec>)> {
        if let Some(kv) = self.users.get_key_value(key) {
            return Some(kv);
        }
        let lower = key.to_lowercase();
        if let Some(id) = self.logins.get(&lower) {
            return self.users.get_key_value(id);
        }
        // an unambiguous login short name
        let mut found = None;
        for (login, id) in &self.logins {
            if login.split('@').next() == Some(lower.as_str()) {
                if found.is_some() {
                    return None;
                }
                found = Some(id);
            }
        }
        found.and_then(|id| self.users.get_key_value(id))
    }

    fn add_member(&mut self, group: &str, user: &str) {
        self.members
            .entry(group.to_string())
            .or_default()
            .insert(user.to_string());
    }

    fn touch_group_membership(&mut self, group: &str) {
        if let Some(g) = self.groups.get(group) {
            let mut v = g.value.clone();
            v["lastMembershipUpdated"] = json!(now_iso());
            self.groups
                .insert(group.to_string(), Arc::new(ObjRec::new(v)));
        }
    }
}

/// The simulated Okta org. `Send + Sync`; reads share a lock, writes take it briefly.
#[derive(Debug)]
pub struct Okta {
    token: String,
    base_url: String,
    state: RwLock<State>,
    initial: State,
}

type Res = SimResponse;

fn not_found(what: &str, kind: &str, route: &str) -> Res {
    error(
        404,
        "E0000007",
        &format!("Not found: Resource not found: {what} ({kind})"),
        &[],
        route,
    )
}

fn validation(field: &str, cause: &str, route: &str) -> Res {
    error(
        400,
        "E0000001",
        &format!("Api validation failed: {field}"),
        &[format!("{field}: {cause}")],
        route,
    )
}

fn bad_filter(route: &str) -> Res {
    error(400, "E0000031", "Invalid filter parameter", &[], route)
}

fn malformed(route: &str) -> Res {
    error(
        400,
        "E0000003",
        "The request body was not well-formed.",
        &[],
        route,
    )
}

/// Percent-encode a query component (everything but RFC 3986 unreserved characters).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `Link` header lines: `self` as requested, `next` with every other parameter kept and
/// `after` set to the cursor.
fn link_headers(req: &SimRequest, next_after: Option<&str>) -> Vec<(String, String)> {
    let base = format!("{}{}", req.base_url, req.path);
    let mut out = Vec::new();
    let self_url = if req.raw_query.is_empty() {
        base.clone()
    } else {
        format!("{base}?{}", req.raw_query)
    };
    out.push(("link".to_string(), format!("<{self_url}>; rel=\"self\"")));
    if let Some(after) = next_after {
        let mut parts: Vec<String> = vec![format!("after={}", encode(after))];
        for (k, v) in &req.query {
            if k != "after" {
                parts.push(format!("{}={}", encode(k), encode(v)));
            }
        }
        out.push((
            "link".to_string(),
            format!("<{base}?{}>; rel=\"next\"", parts.join("&")),
        ));
    }
    out
}

fn page_response(route: &str, items: &[&[u8]], links: Vec<(String, String)>) -> Res {
    let len: usize = items.iter().map(|i| i.len() + 1).sum::<usize>() + 2;
    let mut body = Vec::with_capacity(len);
    body.push(b'[');
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.push(b']');
    let mut r = SimResponse::json_bytes(200, route, body);
    r.headers.extend(links);
    r
}

/// Parse `limit`: absent → `default`, above `max` → `max`, not a positive number → error.
/// The query of a user or group list: `q`, `filter` or `search` (never both of the last two:
/// 400 E0000033), the page size and the cursor.
struct ListParams<'a> {
    q: Option<&'a str>,
    filter_s: Option<&'a str>,
    search_s: Option<&'a str>,
    limit: usize,
    after: Option<&'a str>,
}

/// Read [`ListParams`]; `q` has its own default page size.
fn list_params<'a>(
    req: &'a SimRequest,
    route: &str,
    default_with_q: usize,
    default: usize,
    max: usize,
) -> Result<ListParams<'a>, Res> {
    let q = req.query_param("q");
    let filter_s = req.query_param("filter");
    let search_s = req.query_param("search");
    if filter_s.is_some() && search_s.is_some() {
        return Err(error(
            400,
            "E0000033",
            "Bad request. Can't specify a search query and filter in the same request.",
            &[],
            route,
        ));
    }
    let limit = parse_limit(
        req,
        if q.is_some() { default_with_q } else { default },
        max,
        route,
    )?;
    let after = parse_after(req, route)?;
    Ok(ListParams {
        q,
        filter_s,
        search_s,
        limit,
        after,
    })
}

fn parse_limit(req: &SimRequest, default: usize, max: usize, route: &str) -> Result<usize, Res> {
    match req.query_param("limit") {
        None => Ok(default),
        Some(s) => match s.trim().parse::<i64>() {
            Ok(n) if n >= 1 => Ok((n as usize).min(max)),
            Ok(-1) => Ok(max),
            _ => Err(validation(
                "limit",
                "limit must be a positive integer",
                route,
            )),
        },
    }
}

/// The `after` cursor: an id this server handed out (opaque to clients).
fn parse_after<'a>(req: &'a SimRequest, route: &str) -> Result<Option<&'a str>, Res> {
    match req.query_param("after") {
        None => Ok(None),
        Some(a)
            if !a.is_empty() && a.len() <= 64 && a.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Ok(Some(a))
        }
        Some(_) => Err(error(
            400,
            "E0000029",
            "Invalid paging request.",
            &[],
            route,
        )),
    }
}

fn after_range(after: Option<&str>) -> (Bound<String>, Bound<String>) {
    match after {
        Some(a) => (Bound::Excluded(a.to_string()), Bound::Unbounded),
        None => (Bound::Unbounded, Bound::Unbounded),
    }
}

/// Check a `filter`/`search` expression against what the endpoint accepts.
fn check_expr(expr: &Expr, allowed: &dyn Fn(&str, Op) -> bool) -> bool {
    expr.terms().iter().all(|(attr, op, _)| allowed(attr, *op))
}

fn body_json(req: &SimRequest) -> Option<Value> {
    if req.body.iter().all(|b| b.is_ascii_whitespace()) {
        return Some(json!({}));
    }
    serde_json::from_slice(&req.body).ok()
}

/// A request body that is not JSON is refused as Okta refuses it: 415 with `E0000012`
/// "Unsupported media type". (Okta's error table lists E0000012 under 404; the status a real
/// org sends for a `text/plain` body is 415, and that is what clients see.) An empty body
/// needs no content type.
fn unsupported_media_type(req: &SimRequest, route: &str) -> Option<Res> {
    if !matches!(req.method.as_str(), "POST" | "PUT" | "PATCH")
        || req.body.iter().all(u8::is_ascii_whitespace)
    {
        return None;
    }
    let json = req.header("content-type").is_some_and(|ct| {
        let essence = ct.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("application/json")
    });
    (!json).then(|| {
        error(
            415,
            "E0000012",
            "Unsupported media type",
            &[format!(
                "Content-Type `{}` is not supported; send `application/json`",
                req.header("content-type").unwrap_or("(none)")
            )],
            route,
        )
    })
}

impl Okta {
    /// The seeded tenant. `base_url` is the org URL written into `_links`.
    pub fn seeded(generator: &Generator, token: &str, base_url: &str) -> Okta {
        let cfg = generator.config();
        let mut st = State {
            seed: cfg.seed,
            next_user: cfg.users,
            next_group: cfg.groups + 1,
            next_app: cfg.apps,
            schema_created: seed::iso_millis(1_546_300_800_000 - 60 * 86_400_000),
            schema_updated: seed::iso_millis(1_546_300_800_000 + 100 * 86_400_000),
            ..State::default()
        };
        for (name, def) in generator.custom_attributes() {
            st.custom.insert(name, def);
        }
        for g in 0..=cfg.groups {
            let v = generator.group(g);
            let id = generator.group_ids()[g as usize].clone();
            st.members.insert(id.clone(), BTreeSet::new());
            st.groups.insert(id, Arc::new(ObjRec::new(v)));
        }
        st.everyone = generator.group_ids().first().cloned();
        for i in 0..cfg.users {
            let v = generator.user(i);
            st.insert_user(&v);
            let uid = generator.user_id(i);
            for g in generator.user_group_indices(i) {
                st.add_member(&generator.group_ids()[g as usize], &uid);
            }
        }
        for a in 0..cfg.apps {
            let id = generator.app_id(a);
            st.apps
                .insert(id.clone(), Arc::new(ObjRec::new(generator.app(a))));
            st.app_groups.insert(
                id.clone(),
                generator
                    .app_group_indices(a)
                    .into_iter()
                    .map(|g| generator.group_ids()[g as usize].clone())
                    .collect(),
            );
            st.app_users.insert(
                id,
                generator
                    .app_user_indices(a)
                    .into_iter()
                    .map(|i| generator.user_id(i))
                    .collect(),
            );
        }
        Okta::from_state(st, token, base_url)
    }

    /// A tenant loaded from NDJSON in the dump's format (`{"kind","id","data"}`; export
    /// records with `source` work too). Errors name the line.
    pub fn from_fixture(input: impl BufRead, token: &str, base_url: &str) -> io::Result<Okta> {
        let mut st = State {
            schema_created: now_iso(),
            schema_updated: now_iso(),
            ..State::default()
        };
        let bad = |line: usize, msg: String| {
            io::Error::new(io::ErrorKind::InvalidData, format!("line {line}: {msg}"))
        };
        for (n, line) in input.lines().enumerate() {
            let line = line?;
            let n = n + 1;
            if line.trim().is_empty() {
                continue;
            }
            let rec: Value =
                serde_json::from_str(&line).map_err(|e| bad(n, format!("not JSON: {e}")))?;
            let kind = rec["kind"].as_str().unwrap_or_default();
            let data = &rec["data"];
            let field = |name: &str| -> io::Result<String> {
                data[name]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(n, format!("`{kind}` record without `data.{name}`")))
            };
            match kind {
                "user" => {
                    field("id")?;
                    st.insert_user(data);
                }
                "group" => {
                    let id = field("id")?;
                    if data["type"] == "BUILT_IN" && data["profile"]["name"] == "Everyone" {
                        st.everyone = Some(id.clone());
                    }
                    st.members.entry(id.clone()).or_default();
                    st.groups.insert(id, Arc::new(ObjRec::new(data.clone())));
                }
                "membership" => {
                    let (g, u) = (field("group_id")?, field("user_id")?);
                    st.add_member(&g, &u);
                }
                "app" => {
                    let id = field("id")?;
                    st.apps.insert(id, Arc::new(ObjRec::new(data.clone())));
                }
                "app_assignment" => {
                    let app = field("app_id")?;
                    if let Some(g) = data["group_id"].as_str() {
                        st.app_groups.entry(app).or_default().push(g.to_string());
                    } else {
                        let u = field("user_id")?;
                        st.app_users.entry(app).or_default().insert(u);
                    }
                }
                "attribute" => {
                    let name = rec["id"]
                        .as_str()
                        .or_else(|| data["name"].as_str())
                        .ok_or_else(|| bad(n, "`attribute` record without `id`".into()))?
                        .to_string();
                    let mut def = data.clone();
                    if let Value::Object(m) = &mut def {
                        m.shift_remove("name");
                    }
                    st.custom.insert(name, def);
                }
                other => return Err(bad(n, format!("unknown kind `{other}`"))),
            }
        }
        st.next_user = st.users.len() as u64;
        st.next_group = st.groups.len() as u64;
        st.next_app = st.apps.len() as u64;
        Ok(Okta::from_state(st, token, base_url))
    }

    fn from_state(st: State, token: &str, base_url: &str) -> Okta {
        Okta {
            token: token.to_string(),
            base_url: base_url.trim_end_matches('/').to_string(),
            initial: st.clone(),
            state: RwLock::new(st),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Restore the state the tenant started with.
    pub fn reset(&self) {
        *self.write() = self.initial.clone();
    }

    /// Number of users (all statuses).
    pub fn user_count(&self) -> usize {
        self.read().users.len()
    }

    /// The password hash imported for a user, if any (never returned by the API).
    pub fn imported_hash(&self, user_id: &str) -> Option<Value> {
        self.read().hashes.get(user_id).cloned()
    }

    /// What the OneLogin tenant should already hold so that a load meets existing data:
    /// the first three ACTIVE users (email, login as username), the first two OKTA_GROUP
    /// names as role names, the first two custom attributes by their OneLogin shortname.
    pub fn collisions(&self) -> Collisions {
        let st = self.read();
        let users = st
            .users
            .values()
            .filter(|u| u.status == "ACTIVE")
            .take(3)
            .map(|u| CollidingUser {
                email: u.email.clone().unwrap_or_default(),
                username: u.login.clone(),
                firstname: u.first.clone().unwrap_or_default(),
                lastname: u.last.clone().unwrap_or_default(),
            })
            .collect();
        let role_names = st
            .groups
            .values()
            .filter(|g| g.value["type"] == "OKTA_GROUP")
            .filter_map(|g| g.value["profile"]["name"].as_str().map(str::to_string))
            .take(2)
            .collect();
        let attribute_shortnames = st.custom.keys().take(2).map(|k| snake_case(k)).collect();
        Collisions {
            users,
            role_names,
            attribute_shortnames,
        }
    }

    /// The tenant as `{"kind","id","data"}` values (see [`Okta::dump_ndjson`]).
    pub fn dump(&self) -> Vec<Value> {
        let mut buf = Vec::new();
        self.dump_ndjson(&mut buf);
        buf.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| serde_json::from_slice(l).ok())
            .collect()
    }

    /// The tenant as NDJSON envelopes `{"kind","id","data"}`, in export order: attribute,
    /// group, user (every status), membership, app, app_assignment.
    pub fn dump_ndjson(&self, out: &mut Vec<u8>) {
        let st = self.read();
        let line = |out: &mut Vec<u8>, kind: &str, id: &str, data: &[u8]| {
            out.extend_from_slice(b"{\"kind\":");
            out.extend_from_slice(json!(kind).to_string().as_bytes());
            out.extend_from_slice(b",\"id\":");
            out.extend_from_slice(json!(id).to_string().as_bytes());
            out.extend_from_slice(b",\"data\":");
            out.extend_from_slice(data);
            out.extend_from_slice(b"}\n");
        };
        for (name, def) in &st.custom {
            let data = attribute_data(name, def).to_string();
            line(out, "attribute", name, data.as_bytes());
        }
        for (id, g) in &st.groups {
            line(out, "group", id, &g.json);
        }
        for (id, u) in &st.users {
            line(out, "user", id, &u.json);
        }
        for (g, users) in &st.members {
            for u in users {
                let data = json!({ "group_id": g, "user_id": u }).to_string();
                line(out, "membership", &format!("{g}/{u}"), data.as_bytes());
            }
        }
        for (id, a) in &st.apps {
            line(out, "app", id, &a.json);
        }
        for (app, groups) in &st.app_groups {
            for g in groups {
                let data = json!({ "app_id": app, "group_id": g }).to_string();
                line(
                    out,
                    "app_assignment",
                    &format!("{app}/{g}"),
                    data.as_bytes(),
                );
            }
        }
        for (app, users) in &st.app_users {
            for u in users {
                let data = json!({ "app_id": app, "user_id": u }).to_string();
                line(
                    out,
                    "app_assignment",
                    &format!("{app}/{u}"),
                    data.as_bytes(),
                );
            }
        }
    }

    /// `SSWS <token>` or `Bearer <token>`. The space is optional: the official Python SDK
    /// (okta 3.x) sends `SSWS<token>` without it, and it works against real orgs.
    fn authorized(&self, req: &SimRequest) -> bool {
        let Some(h) = req.header("authorization") else {
            return false;
        };
        let h = h.trim();
        let token = ["SSWS", "Bearer"].iter().find_map(|scheme| {
            let head = h.get(..scheme.len())?;
            head.eq_ignore_ascii_case(scheme)
                .then(|| h[scheme.len()..].trim())
        });
        token.is_some_and(|t| !t.is_empty() && t == self.token)
    }

    /// Answer one request.
    pub fn handle(&self, req: &SimRequest) -> SimResponse {
        let segs: Vec<&str> = req
            .path
            .trim_end_matches('/')
            .trim_start_matches('/')
            .split('/')
            .collect();
        let m = req.method.as_str();
        let route = route_of(m, &segs);
        let r = route.as_str();
        // primary authentication is public: an end user signs in without an API token
        let sign_in = segs.as_slice() == ["api", "v1", "authn"];
        if !sign_in && !self.authorized(req) {
            return error(401, "E0000011", "Invalid token provided", &[], r);
        }
        // okta-api.md §1: a POST or PUT without a body must still say `Content-Length: 0`
        if matches!(m, "POST" | "PUT")
            && req.header("content-length").is_none()
            && req.header("transfer-encoding").is_none()
        {
            return error(
                411,
                "E0000003",
                "Length Required: send `Content-Length: 0` with a POST or PUT that has no body",
                &[],
                r,
            );
        }
        if let Some(refused) = unsupported_media_type(req, r) {
            return refused;
        }
        match (m, segs.as_slice()) {
            ("POST", ["api", "v1", "authn"]) => self.authn(req, r),
            ("GET", ["api", "v1", "users"]) => self.list_users(req, r),
            ("POST", ["api", "v1", "users"]) => self.create_user(req, r),
            ("GET", ["api", "v1", "users", id]) => self.get_user(id, r),
            ("POST", ["api", "v1", "users", id]) => self.update_user(req, id, false, r),
            ("PUT", ["api", "v1", "users", id]) => self.update_user(req, id, true, r),
            ("GET", ["api", "v1", "users", id, "groups"]) => self.user_groups(id, r),
            (
                "POST",
                [
                    "api",
                    "v1",
                    "users",
                    id,
                    "lifecycle",
                    action @ ("activate" | "deactivate" | "suspend" | "unsuspend" | "unlock"),
                ],
            ) => self.lifecycle(req, id, action, r),
            ("GET", ["api", "v1", "groups"]) => self.list_groups(req, r),
            ("POST", ["api", "v1", "groups"]) => self.create_group(req, r),
            ("GET", ["api", "v1", "groups", id]) => self.get_group(id, r),
            ("PUT", ["api", "v1", "groups", id]) => self.replace_group(req, id, r),
            ("DELETE", ["api", "v1", "groups", id]) => self.delete_group(id, r),
            ("GET", ["api", "v1", "groups", id, "users"]) => self.group_users(req, id, r),
            ("PUT", ["api", "v1", "groups", g, "users", u]) => self.set_member(g, u, true, r),
            ("DELETE", ["api", "v1", "groups", g, "users", u]) => self.set_member(g, u, false, r),
            ("GET", ["api", "v1", "apps"]) => self.list_apps(req, r),
            ("POST", ["api", "v1", "apps"]) => self.create_app(req, r),
            ("GET", ["api", "v1", "apps", id]) => self.get_app(id, r),
            ("GET", ["api", "v1", "apps", id, "groups"]) => self.app_groups(req, id, r),
            ("GET", ["api", "v1", "apps", a, "groups", g]) => self.get_app_group(a, g, r),
            ("PUT", ["api", "v1", "apps", a, "groups", g]) => self.assign_app_group(req, a, g, r),
            ("DELETE", ["api", "v1", "apps", a, "groups", g]) => self.unassign_app_group(a, g, r),
            ("GET", ["api", "v1", "apps", id, "users"]) => self.app_users(req, id, r),
            ("GET", ["api", "v1", "meta", "schemas", "user", "default"]) => self.get_schema(r),
            ("POST", ["api", "v1", "meta", "schemas", "user", "default"]) => {
                self.update_schema(req, r)
            }
            _ if route_exists(&segs) => error(
                405,
                "E0000022",
                "The endpoint does not support the provided HTTP method",
                &[],
                r,
            ),
            _ => not_found(&req.path, "Resource", r),
        }
    }

    // ---- users ----

    fn list_users(&self, req: &SimRequest, route: &str) -> Res {
        let ListParams {
            q,
            filter_s,
            search_s,
            limit,
            after,
        } = match list_params(req, route, 10, 200, 200) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let filter_expr = match filter_s.map(filter::parse) {
            Some(Ok(e)) => {
                let ok = check_expr(&e, &|attr, op| {
                    matches!(
                        attr,
                        "status"
                            | "lastUpdated"
                            | "id"
                            | "profile.login"
                            | "profile.email"
                            | "profile.firstName"
                            | "profile.lastName"
                    ) && (op == Op::Eq || (op.is_order() && attr == "lastUpdated"))
                }) && e.terms().iter().all(|(_, _, v)| v.is_string());
                if !ok {
                    return bad_filter(route);
                }
                Some(e)
            }
            Some(Err(_)) => return bad_filter(route),
            None => None,
        };
        let search_expr = match search_s.map(filter::parse) {
            Some(Ok(e)) => {
                let ok = check_expr(&e, &|attr, op| {
                    let known = matches!(
                        attr,
                        "id" | "status"
                            | "created"
                            | "activated"
                            | "statusChanged"
                            | "lastUpdated"
                            | "type.id"
                    ) || (attr.starts_with("profile.") && attr.len() > 8);
                    let co_ok = matches!(
                        attr,
                        "profile.firstName"
                            | "profile.lastName"
                            | "profile.email"
                            | "profile.login"
                    );
                    known && (op != Op::Co || co_ok)
                });
                if !ok {
                    return bad_filter(route);
                }
                Some(e)
            }
            Some(Err(_)) => return bad_filter(route),
            None => None,
        };
        let st = self.read();
        let q_lower = q.map(str::to_lowercase);
        let keep = |id: &str, u: &UserRec| -> bool {
            if let Some(q) = &q_lower {
                let sw = |s: &Option<String>| {
                    s.as_deref()
                        .is_some_and(|s| s.to_lowercase().starts_with(q.as_str()))
                };
                return !u.deprovisioned() && (sw(&u.first) || sw(&u.last) || sw(&u.email));
            }
            if let Some(e) = &filter_expr {
                return e.matches(&mut |a| u.filter_field(id, a), false);
            }
            if let Some(e) = &search_expr {
                let mut parsed: Option<Value> = None;
                return e.matches(
                    &mut |a| {
                        if let Some(v) = u.filter_field(id, a) {
                            return Some(v);
                        }
                        let obj = parsed.get_or_insert_with(|| u.value());
                        filter::lookup(obj, a)
                    },
                    true,
                );
            }
            !u.deprovisioned()
        };
        // `sortBy` (search only): sort every match, ties by id; the cursor is still the last
        // id of the page, found again in the sorted order
        if let (Some(_), Some(sort_by)) = (&search_expr, req.query_param("sortBy")) {
            let desc = req
                .query_param("sortOrder")
                .is_some_and(|o| o.eq_ignore_ascii_case("desc"));
            let mut hits: Vec<(Option<Value>, &String, &Arc<UserRec>)> = st
                .users
                .iter()
                .filter(|(id, u)| keep(id, u))
                .map(|(id, u)| {
                    let key = u
                        .filter_field(id, sort_by)
                        .or_else(|| filter::lookup(&u.value(), sort_by));
                    (key, id, u)
                })
                .collect();
            hits.sort_by(|a, b| {
                let ord = sort_key_cmp(&a.0, &b.0);
                let ord = if desc { ord.reverse() } else { ord };
                ord.then_with(|| a.1.cmp(b.1))
            });
            let start = match after {
                Some(a) => hits
                    .iter()
                    .position(|h| h.1 == a)
                    .map(|p| p + 1)
                    .unwrap_or(hits.len()),
                None => 0,
            };
            let page: Vec<&[u8]> = hits
                .iter()
                .skip(start)
                .take(limit)
                .map(|h| h.2.json.as_slice())
                .collect();
            let more = start + page.len() < hits.len();
            let next = if more {
                hits.get(start + page.len() - 1).map(|h| h.1.as_str())
            } else {
                None
            };
            return page_response(route, &page, link_headers(req, next));
        }
        let mut items: Vec<&[u8]> = Vec::with_capacity(limit);
        let mut last_id: Option<&str> = None;
        let mut more = false;
        for (id, u) in st.users.range::<String, _>(after_range(after)) {
            if !keep(id, u) {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(&u.json);
            last_id = Some(id);
        }
        // `q` does not paginate
        let next = if more && q.is_none() { last_id } else { None };
        page_response(route, &items, link_headers(req, next))
    }

    fn full_user(&self, v: &mut Value) {
        let id = v["id"].as_str().unwrap_or_default().to_string();
        let status = v["status"].as_str().unwrap_or_default().to_string();
        let b = &self.base_url;
        let mut links = Map::new();
        links.insert(
            "self".into(),
            json!({ "href": format!("{b}/api/v1/users/{id}") }),
        );
        if matches!(status.as_str(), "STAGED" | "DEPROVISIONED" | "PROVISIONED") {
            links.insert(
                "activate".into(),
                json!({ "href": format!("{b}/api/v1/users/{id}/lifecycle/activate"), "method": "POST" }),
            );
        }
        if status != "DEPROVISIONED" {
            links.insert(
                "deactivate".into(),
                json!({ "href": format!("{b}/api/v1/users/{id}/lifecycle/deactivate"), "method": "POST" }),
            );
        }
        let transition = match status.as_str() {
            "ACTIVE" => Some("suspend"),
            "SUSPENDED" => Some("unsuspend"),
            "LOCKED_OUT" => Some("unlock"),
            _ => None,
        };
        if let Some(t) = transition {
            links.insert(
                t.into(),
                json!({ "href": format!("{b}/api/v1/users/{id}/lifecycle/{t}"), "method": "POST" }),
            );
        }
        links.insert(
            "schema".into(),
            json!({ "href": format!("{b}/api/v1/meta/schemas/user/osc1sandbox0default0") }),
        );
        links.insert(
            "type".into(),
            json!({ "href": format!("{b}/api/v1/meta/types/user/{}", seed::USER_TYPE_ID) }),
        );
        v["_links"] = Value::Object(links);
    }

    fn get_user(&self, key: &str, route: &str) -> Res {
        let st = self.read();
        match st.user_by_key(key) {
            Some((_, u)) => {
                let mut v = u.value();
                self.full_user(&mut v);
                SimResponse::json(200, route, &v)
            }
            None => not_found(key, "User", route),
        }
    }

    /// Check a profile against the schema; returns `(field, cause)` on the first problem.
    fn check_profile(
        &self,
        st: &State,
        profile: &Map<String, Value>,
    ) -> Result<(), (String, String)> {
        let text = |k: &str| profile.get(k).and_then(Value::as_str).unwrap_or("");
        for k in ["login", "email", "firstName", "lastName"] {
            if text(k).trim().is_empty() {
                return Err((k.into(), "The field cannot be left blank".into()));
            }
        }
        let login_len = text("login").chars().count();
        if !(5..=100).contains(&login_len) {
            return Err((
                "login".into(),
                "The field must be between 5 and 100 characters".into(),
            ));
        }
        let email = text("email");
        let valid_email = email.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        }) && !email.contains(char::is_whitespace);
        if !valid_email {
            return Err(("email".into(), "Does not match required pattern".into()));
        }
        for (k, v) in profile {
            if k.chars().any(|c| c.len_utf8() == 4)
                || v.as_str()
                    .is_some_and(|s| s.chars().any(|c| c.len_utf8() == 4))
            {
                return Err((
                    k.clone(),
                    "4-byte UTF-8 characters are not supported".into(),
                ));
            }
            if let Some((_, _, max)) = BASE_ATTRIBUTES.iter().find(|(n, _, _)| n == k) {
                match v {
                    Value::Null => {}
                    Value::String(s) => {
                        if let Some(max) = max
                            && s.chars().count() > *max
                        {
                            return Err((
                                k.clone(),
                                format!("The field cannot exceed {max} characters"),
                            ));
                        }
                    }
                    _ => return Err((k.clone(), "Property value must be a string".into())),
                }
                continue;
            }
            let Some(def) = st.custom.get(k) else {
                return Err((
                    k.clone(),
                    format!("Property name '{k}' is not defined in profile"),
                ));
            };
            // an untyped definition (the seed's nested object) takes any value
            let Some(ty) = def["type"].as_str() else {
                continue;
            };
            let ok = match (ty, v) {
                (_, Value::Null) => true,
                ("string", Value::String(_)) => true,
                ("boolean", Value::Bool(_)) => true,
                ("integer", Value::Number(n)) => n.is_i64() || n.is_u64(),
                ("number", Value::Number(_)) => true,
                ("array", Value::Array(_)) => true,
                ("object", Value::Object(_)) => true,
                _ => false,
            };
            if !ok {
                return Err((k.clone(), format!("Property value must be of type {ty}")));
            }
        }
        Ok(())
    }

    fn user_groups(&self, key: &str, route: &str) -> Res {
        let st = self.read();
        let Some((id, _)) = st.user_by_key(key) else {
            return not_found(key, "User", route);
        };
        let items: Vec<&[u8]> = st
            .members
            .iter()
            .filter(|(_, users)| users.contains(id))
            .filter_map(|(g, _)| st.groups.get(g).map(|r| r.json.as_slice()))
            .collect();
        page_response(route, &items, Vec::new())
    }

    // ---- groups ----

    fn list_groups(&self, req: &SimRequest, route: &str) -> Res {
        let ListParams {
            q,
            filter_s,
            search_s,
            limit,
            after,
        } = match list_params(req, route, 300, 10_000, 10_000) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let dates = ["created", "lastUpdated", "lastMembershipUpdated"];
        let expr = match (filter_s, search_s) {
            (Some(f), _) => match filter::parse(f) {
                Ok(e)
                    if check_expr(&e, &|a, op| {
                        (matches!(a, "id" | "type") && op == Op::Eq)
                            || (matches!(a, "lastUpdated" | "lastMembershipUpdated")
                                && (op == Op::Eq || op.is_order()))
                    }) =>
                {
                    Some((e, false))
                }
                _ => return bad_filter(route),
            },
            (_, Some(s)) => match filter::parse(s) {
                Ok(e)
                    if check_expr(&e, &|a, op| {
                        matches!(a, "id" | "type")
                            || dates.contains(&a)
                            || (a.starts_with("profile.") && a.len() > 8 && !op.is_order())
                    }) =>
                {
                    Some((e, true))
                }
                _ => return bad_filter(route),
            },
            _ => None,
        };
        let st = self.read();
        let q_lower = q.map(str::to_lowercase);
        let mut items: Vec<&[u8]> = Vec::new();
        let mut last = None;
        let mut more = false;
        for (id, g) in st.groups.range::<String, _>(after_range(after)) {
            let keep = match (&q_lower, &expr) {
                (Some(q), _) => g.value["profile"]["name"]
                    .as_str()
                    .is_some_and(|n| n.to_lowercase().starts_with(q.as_str())),
                (_, Some((e, fold))) => e.matches(&mut |a| filter::lookup(&g.value, a), *fold),
                _ => true,
            };
            if !keep {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(&g.json);
            last = Some(id.as_str());
        }
        let next = if more && q.is_none() { last } else { None };
        page_response(route, &items, link_headers(req, next))
    }

    fn get_group(&self, id: &str, route: &str) -> Res {
        match self.read().groups.get(id) {
            Some(g) => SimResponse::json_bytes(200, route, g.json.clone()),
            None => not_found(id, "UserGroup", route),
        }
    }

    fn group_users(&self, req: &SimRequest, gid: &str, route: &str) -> Res {
        let limit = match parse_limit(req, 1000, 1000, route) {
            Ok(l) => l,
            Err(e) => return e,
        };
        let after = match parse_after(req, route) {
            Ok(a) => a,
            Err(e) => return e,
        };
        let st = self.read();
        let Some(members) = st.members.get(gid).filter(|_| st.groups.contains_key(gid)) else {
            return not_found(gid, "UserGroup", route);
        };
        let mut items: Vec<&[u8]> = Vec::new();
        let mut last = None;
        let mut more = false;
        for uid in members.range::<String, _>(after_range(after)) {
            let Some(u) = st.users.get(uid) else { continue };
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(&u.json);
            last = Some(uid.as_str());
        }
        page_response(
            route,
            &items,
            link_headers(req, if more { last } else { None }),
        )
    }

    // ---- apps ----

    fn list_apps(&self, req: &SimRequest, route: &str) -> Res {
        let limit = match parse_limit(req, 200, 200, route) {
            Ok(l) => l,
            Err(e) => return e,
        };
        let after = match parse_after(req, route) {
            Ok(a) => a,
            Err(e) => return e,
        };
        let expr = match req.query_param("filter").map(filter::parse) {
            None => None,
            Some(Ok(e))
                if check_expr(&e, &|a, op| {
                    op == Op::Eq
                        && matches!(
                            a,
                            "id" | "status"
                                | "name"
                                | "credentials.signing.kid"
                                | "settings.slo.enabled"
                        )
                }) =>
            {
                Some(e)
            }
            Some(_) => return bad_filter(route),
        };
        let q = req.query_param("q").map(str::to_lowercase);
        let st = self.read();
        let mut items: Vec<&[u8]> = Vec::new();
        let mut last = None;
        let mut more = false;
        for (id, a) in st.apps.range::<String, _>(after_range(after)) {
            if let Some(q) = &q {
                let sw = |k: &str| {
                    a.value[k]
                        .as_str()
                        .is_some_and(|s| s.to_lowercase().starts_with(q.as_str()))
                };
                if !(sw("name") || sw("label")) {
                    continue;
                }
            }
            if let Some(e) = &expr
                && !e.matches(&mut |x| filter::lookup(&a.value, x), false)
            {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(&a.json);
            last = Some(id.as_str());
        }
        page_response(
            route,
            &items,
            link_headers(req, if more { last } else { None }),
        )
    }

    fn get_app(&self, id: &str, route: &str) -> Res {
        match self.read().apps.get(id) {
            Some(a) => SimResponse::json_bytes(200, route, a.json.clone()),
            None => not_found(id, "AppInstance", route),
        }
    }

    fn app_groups(&self, req: &SimRequest, app: &str, route: &str) -> Res {
        let limit = match parse_limit(req, 20, 200, route) {
            Ok(l) => l.max(20),
            Err(e) => return e,
        };
        let after = match parse_after(req, route) {
            Ok(a) => a,
            Err(e) => return e,
        };
        let st = self.read();
        let Some(a) = st.apps.get(app) else {
            return not_found(app, "AppInstance", route);
        };
        let groups = st.app_groups.get(app).cloned().unwrap_or_default();
        let start = match after {
            Some(c) => groups
                .iter()
                .position(|g| g == c)
                .map(|p| p + 1)
                .unwrap_or(groups.len()),
            None => 0,
        };
        let b = &self.base_url;
        let updated = a.value["lastUpdated"].clone();
        let page: Vec<Vec<u8>> = groups
            .iter()
            .enumerate()
            .skip(start)
            .take(limit)
            .map(|(priority, g)| {
                serde_json::to_vec(&json!({
                    "id": g,
                    "lastUpdated": updated,
                    "priority": priority,
                    "profile": {},
                    "_links": {
                        "app": { "href": format!("{b}/api/v1/apps/{app}") },
                        "self": { "href": format!("{b}/api/v1/apps/{app}/groups/{g}") },
                        "group": { "href": format!("{b}/api/v1/groups/{g}") }
                    }
                }))
                .unwrap_or_default()
            })
            .collect();
        let more = start + page.len() < groups.len();
        let next = if more {
            groups.get(start + page.len() - 1).map(String::as_str)
        } else {
            None
        };
        let refs: Vec<&[u8]> = page.iter().map(Vec::as_slice).collect();
        page_response(route, &refs, link_headers(req, next))
    }

    fn app_users(&self, req: &SimRequest, app: &str, route: &str) -> Res {
        let limit = match parse_limit(req, 50, 500, route) {
            Ok(l) => l,
            Err(e) => return e,
        };
        let after = match parse_after(req, route) {
            Ok(a) => a,
            Err(e) => return e,
        };
        let st = self.read();
        if !st.apps.contains_key(app) {
            return not_found(app, "AppInstance", route);
        }
        // The app's users are the union of direct and group assignments; each source is
        // sorted, so the first `limit + 1` of the union lie in the first `limit + 1` of each.
        let mut union: BTreeMap<&str, &str> = BTreeMap::new();
        let empty = BTreeSet::new();
        for g in st.app_groups.get(app).into_iter().flatten() {
            let members = st.members.get(g).unwrap_or(&empty);
            for u in members
                .range::<String, _>(after_range(after))
                .take(limit + 1)
            {
                union.entry(u.as_str()).or_insert("GROUP");
            }
        }
        if let Some(direct) = st.app_users.get(app) {
            for u in direct
                .range::<String, _>(after_range(after))
                .take(limit + 1)
            {
                union.insert(u.as_str(), "USER");
            }
        }
        let b = &self.base_url;
        let mut page = Vec::new();
        let mut last = None;
        let mut more = false;
        for (uid, scope) in union {
            let Some(u) = st.users.get(uid) else { continue };
            if u.deprovisioned() {
                continue;
            }
            if page.len() == limit {
                more = true;
                break;
            }
            page.push(
                serde_json::to_vec(&json!({
                    "id": uid,
                    "externalId": null,
                    "created": u.created,
                    "lastUpdated": u.last_updated,
                    "scope": scope,
                    "status": if u.status == "ACTIVE" { "ACTIVE" } else { "PROVISIONED" },
                    "statusChanged": u.last_updated,
                    "passwordChanged": null,
                    "syncState": "DISABLED",
                    "credentials": { "userName": u.login },
                    "profile": {},
                    "_links": {
                        "app": { "href": format!("{b}/api/v1/apps/{app}") },
                        "user": { "href": format!("{b}/api/v1/users/{uid}") }
                    }
                }))
                .unwrap_or_default(),
            );
            last = Some(uid);
        }
        let refs: Vec<&[u8]> = page.iter().map(Vec::as_slice).collect();
        page_response(
            route,
            &refs,
            link_headers(req, if more { last } else { None }),
        )
    }

    // ---- schema ----

    fn schema(&self, st: &State) -> Value {
        let b = &self.base_url;
        let perm = json!([{ "principal": "SELF", "action": "READ_WRITE" }]);
        let mut base = Map::new();
        for (name, title, max) in BASE_ATTRIBUTES {
            let mut p = Map::new();
            p.insert("title".into(), json!(title));
            p.insert("type".into(), json!("string"));
            let required = matches!(*name, "login" | "email" | "firstName" | "lastName");
            p.insert("required".into(), json!(required));
            p.insert("mutability".into(), json!("READ_WRITE"));
            p.insert("scope".into(), json!("NONE"));
            match *name {
                "login" => {
                    p.insert("minLength".into(), json!(5));
                }
                "firstName" | "lastName" => {
                    p.insert("minLength".into(), json!(1));
                }
                "email" | "secondEmail" => {
                    p.insert("format".into(), json!("email"));
                }
                "countryCode" => {
                    p.insert("format".into(), json!("country-code"));
                }
                "locale" => {
                    p.insert("format".into(), json!("locale"));
                }
                "preferredLanguage" => {
                    p.insert("format".into(), json!("language-code"));
                }
                "profileUrl" => {
                    p.insert("format".into(), json!("uri"));
                }
                "timezone" => {
                    p.insert("format".into(), json!("timezone"));
                }
                _ => {}
            }
            if let Some(max) = max {
                p.insert("maxLength".into(), json!(max));
            }
            if *name == "login" {
                // no `unique` here: okta-api.md shows "UNIQUE_VALIDATED", but the official
                // SDK's model only accepts a boolean and fails on the string
                p.insert("pattern".into(), json!(".+"));
            }
            p.insert("permissions".into(), perm.clone());
            p.insert("master".into(), json!({ "type": "PROFILE_MASTER" }));
            base.insert(name.to_string(), Value::Object(p));
        }
        json!({
            "id": format!("{b}/meta/schemas/user/osc1sandbox0default0"),
            "$schema": "http://json-schema.org/draft-04/schema#",
            "name": "user",
            "title": "User",
            "description": "Okta user profile template",
            "created": st.schema_created,
            "lastUpdated": st.schema_updated,
            "definitions": {
                "custom": {
                    "id": "#custom",
                    "type": "object",
                    "properties": Value::Object(st.custom.clone()),
                    "required": []
                },
                "base": {
                    "id": "#base",
                    "type": "object",
                    "properties": Value::Object(base),
                    "required": ["login", "firstName", "lastName", "email"]
                }
            },
            "type": "object",
            "properties": {
                "profile": { "allOf": [ { "$ref": "#/definitions/custom" }, { "$ref": "#/definitions/base" } ] }
            },
            "_links": {
                "self": { "rel": "self", "href": format!("{b}/api/v1/meta/schemas/user/osc1sandbox0default0"), "method": "GET" },
                "type": { "rel": "self", "href": format!("{b}/api/v1/meta/types/user/{}", seed::USER_TYPE_ID), "method": "GET" }
            }
        })
    }

    fn get_schema(&self, route: &str) -> Res {
        let st = self.read();
        SimResponse::json(200, route, &self.schema(&st))
    }

    fn update_schema(&self, req: &SimRequest, route: &str) -> Res {
        let Some(body) = body_json(req).filter(Value::is_object) else {
            return malformed(route);
        };
        let props = body
            .get("definitions")
            .and_then(|d| d.get("custom"))
            .and_then(|c| c.get("properties"));
        let props = match props {
            None => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(_) => return validation("properties", "properties must be an object", route),
        };
        let mut st = self.write();
        for (name, def) in &props {
            if BASE_ATTRIBUTES.iter().any(|(n, _, _)| n == name) {
                return validation(
                    name,
                    &format!("Property name '{name}' is already defined in the base schema"),
                    route,
                );
            }
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return validation(name, "Property name must be alphanumeric", route);
            }
            match def {
                Value::Null => {}
                Value::Object(d) => {
                    if d.get("title")
                        .and_then(Value::as_str)
                        .is_none_or(|t| t.trim().is_empty())
                    {
                        return validation(
                            &format!("{name}.title"),
                            "The field cannot be left blank",
                            route,
                        );
                    }
                    let ty = d.get("type").and_then(Value::as_str).unwrap_or("");
                    if !matches!(ty, "string" | "boolean" | "integer" | "number" | "array") {
                        return validation(
                            &format!("{name}.type"),
                            &format!("Property type `{ty}` is not supported"),
                            route,
                        );
                    }
                    if ty == "array" {
                        let item = d
                            .get("items")
                            .and_then(|i| i.get("type"))
                            .and_then(Value::as_str);
                        if !matches!(item, Some("string" | "integer" | "number")) {
                            return validation(
                                &format!("{name}.items"),
                                "An array property needs `items` with a type of string, integer or number",
                                route,
                            );
                        }
                    }
                    // a property keeps its type: Okta refuses to change it (stormpath-export.md §5.4)
                    if let Some(old) = st.custom.get(name)
                        && let Some(old_ty) = old.get("type").and_then(Value::as_str)
                    {
                        let old_item = old.get("items").and_then(|i| i.get("type"));
                        let new_item = d.get("items").and_then(|i| i.get("type"));
                        if old_ty != ty || (ty == "array" && old_item != new_item) {
                            return validation(
                                &format!("{name}.type"),
                                &format!(
                                    "The type of an existing property cannot be changed (it is `{old_ty}`)"
                                ),
                                route,
                            );
                        }
                    }
                }
                _ => return validation(name, "Property definition must be an object", route),
            }
        }
        for (name, def) in props {
            if def.is_null() {
                st.custom.remove(&name);
            } else {
                let mut d = def.as_object().cloned().unwrap_or_default();
                d.entry("required").or_insert(json!(false));
                d.entry("mutability").or_insert(json!("READ_WRITE"));
                d.entry("scope").or_insert(json!("NONE"));
                d.entry("permissions")
                    .or_insert(json!([{ "principal": "SELF", "action": "READ_WRITE" }]));
                d.entry("master")
                    .or_insert(json!({ "type": "PROFILE_MASTER" }));
                st.custom.insert(name, Value::Object(d));
            }
        }
        st.schema_updated = now_iso();
        SimResponse::json(200, route, &self.schema(&st))
    }
}

/// Order of `sortBy` keys: absent last, numbers numerically, strings case-insensitively.
fn sort_key_cmp(a: &Option<Value>, b: &Option<Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None | Some(Value::Null), None | Some(Value::Null)) => Ordering::Equal,
        (None | Some(Value::Null), _) => Ordering::Greater,
        (_, None | Some(Value::Null)) => Ordering::Less,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(x), Some(y)) => {
            let s = |v: &Value| {
                v.as_str()
                    .map(str::to_lowercase)
                    .unwrap_or_else(|| v.to_string())
            };
            s(x).cmp(&s(y))
        }
    }
}

/// `costCenter` → `cost_center`: how a custom attribute name becomes a OneLogin shortname.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (n, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if n > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The route with ids templated, for stats.
fn route_of(method: &str, segs: &[&str]) -> String {
    let templ: Vec<&str> = segs
        .iter()
        .enumerate()
        .map(|(n, s)| match (n, segs.get(n.wrapping_sub(1))) {
            (3, Some(&"users" | &"groups" | &"apps")) => "{id}",
            (5, Some(&"users" | &"groups")) => "{id}",
            _ => s,
        })
        .collect();
    format!("{method} /{}", templ.join("/"))
}

/// True when some method is served on this path (so another method is a 405, not a 404).
fn route_exists(segs: &[&str]) -> bool {
    matches!(
        segs,
        ["api", "v1", "users"]
            | ["api", "v1", "users", _]
            | ["api", "v1", "users", _, "groups"]
            | ["api", "v1", "groups"]
            | ["api", "v1", "groups", _]
            | ["api", "v1", "groups", _, "users"]
            | ["api", "v1", "groups", _, "users", _]
            | ["api", "v1", "users", _, "lifecycle", _]
            | ["api", "v1", "apps"]
            | ["api", "v1", "apps", _]
            | ["api", "v1", "apps", _, "groups"]
            | ["api", "v1", "apps", _, "groups", _]
            | ["api", "v1", "apps", _, "users"]
            | ["api", "v1", "authn"]
            | ["api", "v1", "meta", "schemas", "user", "default"]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::seed::SeedConfig;

    fn okta(users: u64) -> Okta {
        let g = Generator::new(
            SeedConfig {
                users,
                ..SeedConfig::default()
            },
            "http://okta.test",
        );
        Okta::seeded(&g, "tok", "http://okta.test")
    }

    fn req(method: &str, path_query: &str, body: Value) -> SimRequest {
        let (path, q) = path_query.split_once('?').unwrap_or((path_query, ""));
        let body_bytes = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let body_len = body_bytes.len();
        SimRequest {
            method: method.into(),
            path: path.into(),
            raw_query: q.into(),
            query: url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect(),
            headers: vec![
                ("authorization".into(), "SSWS tok".into()),
                ("content-length".into(), body_len.to_string()),
                ("content-type".into(), "application/json".into()),
            ],
            body: body_bytes,
            base_url: "http://okta.test".into(),
        }
    }

    fn json_of(r: &SimResponse) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn buckets_follow_the_rate_limit_table() {
        assert_eq!(bucket("GET", "/api/v1/users"), "/api/v1/users");
        assert_eq!(bucket("POST", "/api/v1/users"), "/api/v1/users");
        assert_eq!(
            bucket("GET", "/api/v1/users/00u1"),
            "GET /api/v1/users/{idOrLogin}"
        );
        assert_eq!(bucket("POST", "/api/v1/users/00u1"), "/api/v1/users/{id}");
        assert_eq!(
            bucket("GET", "/api/v1/groups/00g1/users"),
            "/api/v1/groups/{id}"
        );
        assert_eq!(
            bucket("GET", "/api/v1/meta/schemas/user/default"),
            "/api/v1"
        );
    }

    #[test]
    fn routes_are_templated() {
        let o = okta(3);
        let r = o.handle(&req("GET", "/api/v1/groups/00gX/users", Value::Null));
        assert_eq!(r.route, "GET /api/v1/groups/{id}/users");
        let r = o.handle(&req("PUT", "/api/v1/groups/00gX/users/00uY", Value::Null));
        assert_eq!(r.route, "PUT /api/v1/groups/{id}/users/{id}");
    }

    #[test]
    fn wrong_token_is_401_e0000011() {
        let o = okta(3);
        let mut r = req("GET", "/api/v1/users", Value::Null);
        r.headers = vec![("authorization".into(), "SSWS nope".into())];
        let resp = o.handle(&r);
        assert_eq!(resp.status, 401);
        assert_eq!(json_of(&resp)["errorCode"], "E0000011");
        r.headers = vec![("authorization".into(), "Bearer tok".into())];
        assert_eq!(o.handle(&r).status, 200);
    }

    #[test]
    fn unsupported_filters_are_e0000031() {
        let o = okta(10);
        for f in [
            r#"profile.city eq "x""#,
            r#"status gt "ACTIVE""#,
            r#"profile.login sw "a""#,
            "status eq",
        ] {
            let r = o.handle(&req(
                "GET",
                &format!("/api/v1/users?filter={}", encode(f)),
                Value::Null,
            ));
            assert_eq!(r.status, 400, "{f}");
            assert_eq!(json_of(&r)["errorCode"], "E0000031", "{f}");
        }
        let r = o.handle(&req(
            "GET",
            &format!(
                "/api/v1/users?filter={}&search={}",
                encode(r#"status eq "ACTIVE""#),
                encode(r#"status eq "ACTIVE""#)
            ),
            Value::Null,
        ));
        assert_eq!(json_of(&r)["errorCode"], "E0000033");
    }

    #[test]
    fn hashes_are_checked_on_create() {
        let o = okta(3);
        let create = |n: usize, hash: Value| {
            o.handle(&req(
                "POST",
                "/api/v1/users?activate=false",
                json!({"profile": {"login": format!("hash{n}@example.com"), "email": format!("hash{n}@example.com"),
                                   "firstName": "H", "lastName": "Ash"},
                       "credentials": {"password": {"hash": hash}}}),
            ))
        };
        let ok = [
            json!({"algorithm":"BCRYPT","workFactor":10,"salt":"rwh3vH166HCH/NT9XV5FYu","value":"qaMqvAPULkbiQzkTCWo5XDcvzpk8Tna"}),
            json!({"algorithm":"SHA-512","salt":"TXlTYWx0","saltOrder":"PREFIX","value":"QrozP8a+KfoHu6mPFysxLoO5LMQsd2Fw6IclZUf8xQjetJOCGS93vm68h+VaFX0LHSiF/GxQkykq1vofmx6NGA=="}),
            json!({"algorithm":"SHA-1","salt":"UEO3wsAsgzQ=","saltOrder":"POSTFIX","value":"xjrauE6J6kbjcvMjWSSc+PsBBls="}),
            json!({"algorithm":"MD5","salt":"TXlTYWx0","saltOrder":"PREFIX","value":"jqACjUUFXM1XE6NiLALAbA=="}),
        ];
        for (n, h) in ok.iter().enumerate() {
            let r = create(n, h.clone());
            assert_eq!(r.status, 200, "{h}: {}", String::from_utf8_lossy(&r.body));
            assert_eq!(json_of(&r)["credentials"]["provider"]["type"], "IMPORT");
        }
        let bad = [
            json!({"algorithm":"SHA-3","value":"x"}),
            json!({"algorithm":"SHA-256","value":"jqACjUUFXM1XE6NiLALAbA=="}),
            json!({"algorithm":"MD5","salt":"TXlTYWx0","value":"jqACjUUFXM1XE6NiLALAbA=="}),
            json!({"algorithm":"BCRYPT","workFactor":31,"salt":"rwh3vH166HCH/NT9XV5FYu","value":"qaMqvAPULkbiQzkTCWo5XDcvzpk8Tna"}),
            json!({"algorithm":"PBKDF2","digestAlgorithm":"SHA256_HMAC","iterationCount":1000,"keySize":16,"salt":"TXlTYWx0","value":"jqACjUUFXM1XE6NiLALAbA=="}),
        ];
        for (n, h) in bad.iter().enumerate() {
            let r = create(10 + n, h.clone());
            assert_eq!(r.status, 400, "{h}");
            let e = json_of(&r);
            assert_eq!(e["errorCode"], "E0000001", "{h}");
            // the cause names the field and never echoes the hash
            let cause = e["errorCauses"][0]["errorSummary"].as_str().unwrap();
            assert!(cause.starts_with("password: hash "), "{cause}");
            assert!(
                !cause.contains("jqACjU") && !cause.contains("rwh3vH"),
                "{cause}"
            );
        }
    }

    #[test]
    fn schema_post_merges_and_null_removes() {
        let o = okta(3);
        let body = json!({"definitions":{"custom":{"id":"#custom","type":"object","properties":{
            "salesforceUserName":{"title":"Salesforce username","type":"string","maxLength":20},
            "skills": null}}}});
        let r = o.handle(&req("POST", "/api/v1/meta/schemas/user/default", body));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let props = &json_of(&r)["definitions"]["custom"]["properties"];
        assert!(props.get("salesforceUserName").is_some());
        assert!(props.get("skills").is_none());
        assert!(props.get("badgeNumber").is_some());
        let r = o.handle(&req(
            "POST",
            "/api/v1/meta/schemas/user/default",
            json!({"definitions":{"custom":{"properties":{"x":{"type":"string"}}}}}),
        ));
        assert_eq!(json_of(&r)["errorCode"], "E0000001");
    }

    #[test]
    fn fixture_errors_name_the_line() {
        let text = "{\"kind\":\"group\",\"id\":\"00g1\",\"data\":{\"id\":\"00g1\",\"type\":\"OKTA_GROUP\",\"profile\":{\"name\":\"A\"}}}\n\nnot json\n";
        let err = Okta::from_fixture(text.as_bytes(), "t", "http://o").unwrap_err();
        assert!(err.to_string().starts_with("line 3: not JSON"), "{err}");
        let text = "{\"kind\":\"membership\",\"id\":\"x\",\"data\":{\"group_id\":\"00g1\"}}\n";
        let err = Okta::from_fixture(text.as_bytes(), "t", "http://o").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 1: `membership` record without `data.user_id`"
        );
        let text = "{\"kind\":\"widget\",\"id\":\"x\",\"data\":{}}\n";
        let err = Okta::from_fixture(text.as_bytes(), "t", "http://o").unwrap_err();
        assert_eq!(err.to_string(), "line 1: unknown kind `widget`");
    }

    #[test]
    fn reset_restores_the_seed() {
        let o = okta(5);
        let before = o.dump();
        let r = o.handle(&req(
            "POST",
            "/api/v1/groups",
            json!({"profile": {"name": "New"}}),
        ));
        assert_eq!(r.status, 200);
        assert_ne!(o.dump(), before);
        o.reset();
        assert_eq!(o.dump(), before);
    }
}
