//! Okta as a load [`Target`]: groups, users (with their first groups as `groupIds`), group
//! memberships, apps and app group assignments, and the custom profile properties.
//!
//! Shaped by Okta's own bulk-migration guide and the reference (okta-api.md,
//! stormpath-export.md §5):
//! - **Groups first, then users** created with `activate=false` (STAGED; `activate=true` for a
//!   user with a password who is to be ACTIVE: no email goes to a user with a password) and,
//!   when the groups are known, `groupIds` (at most 20): one call makes the user and its first
//!   memberships.
//!   The lifecycle the payload asks for (`status`) is reached afterwards with Okta's lifecycle
//!   calls, `sendEmail=false` always: idm never sends an activation email.
//! - **Snapshot.** Users (every status: a DEPROVISIONED login still blocks a create), groups,
//!   group members, apps, app groups and the profile schema are read with paged lists into
//!   indexes of ids; a user is the same person when the login matches with the same email, or
//!   when only the email matches; a login held by another email is a conflict.
//! - **Lost responses.** A create whose answer was lost, or refused as a duplicate, is looked
//!   up by login (users), name (groups) or label (apps) before it is sent again.
//! - Memberships are `PUT /api/v1/groups/{g}/users/{u}` and app assignments
//!   `PUT /api/v1/apps/{a}/groups/{g}`, one call each: Okta has no bulk call for either.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};
use url::Url;

use super::{BASE_PROPERTIES, encode_query, next_link, parse_base_url, same_origin};
use crate::http::{Client, Request, Response};
use crate::provider::target::{AttributeDef, EdgeShape, End, Found, Needs, Target};
use crate::provider::{ApiError, Created};
use crate::record::{Kind, Record};
use crate::secrets::Secret;

/// Most `groupIds` one create takes (okta-api.md §4.4, `E0000093` beyond).
pub const GROUP_IDS_MAX: usize = 20;

/// How many times a create whose outcome is unknown is looked up and sent again.
const CREATE_ATTEMPTS: u32 = 3;

/// A user as the index keeps it.
#[derive(Debug, Clone)]
struct UserEntry {
    id: String,
    email: String,
}

/// What the org holds, as ids and keys.
#[derive(Debug, Default)]
struct Org {
    /// Lower-cased login → user.
    by_login: HashMap<String, UserEntry>,
    /// Lower-cased email → user id (the first of that email).
    by_email: HashMap<String, String>,
    /// User id → status.
    users: HashMap<String, String>,
    /// Lower-cased group name → id.
    groups_by_name: HashMap<String, String>,
    /// Group id → type (`OKTA_GROUP`, `BUILT_IN`, `APP_GROUP`).
    groups: HashMap<String, String>,
    /// Members of each group, when read.
    members: HashMap<String, HashSet<String>>,
    /// App label → id.
    apps_by_label: HashMap<String, String>,
    apps: HashSet<String>,
    /// Groups assigned to each app, when read.
    app_groups: HashMap<String, HashSet<String>>,
    /// Profile property names (base and custom); `None` until read.
    properties: Option<HashSet<String>>,
    /// (group, user) made with a user's create (`groupIds`).
    with_create: HashSet<(String, String)>,
    /// Users this run created active (`activate=true`: they had a password).
    created_active: HashSet<String>,
}

/// The Okta org as a load target.
pub struct OktaTarget {
    client: Client,
    base: Url,
    auth: Secret,
    /// Leave created users STAGED instead of bringing them to the status they are mapped to.
    keep_staged: bool,
    org: RwLock<Org>,
    calls: AtomicU64,
}

fn nonempty<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn lower(s: &str) -> String {
    s.trim().to_lowercase()
}

/// The lifecycle class of an Okta status: what idm can ask for.
fn class(status: &str) -> &'static str {
    match status {
        "STAGED" => "STAGED",
        "SUSPENDED" => "SUSPENDED",
        "DEPROVISIONED" => "DEPROVISIONED",
        // ACTIVE, PROVISIONED (activated, no password yet), RECOVERY, PASSWORD_EXPIRED,
        // LOCKED_OUT: activated
        _ => "ACTIVE",
    }
}

impl OktaTarget {
    /// `base_url` is the org; the token goes out as `SSWS <token>`.
    pub fn new(
        base_url: &str,
        token: &Secret,
        client: Client,
        keep_staged: bool,
    ) -> Result<OktaTarget, ApiError> {
        let base =
            parse_base_url(base_url).map_err(|e| ApiError::new("okta url", None, e.to_string()))?;
        let t = token.expose().trim();
        let auth = if t.starts_with("SSWS ") || t.starts_with("Bearer ") {
            Secret::new(t)
        } else {
            Secret::new(format!("SSWS {t}"))
        };
        Ok(OktaTarget {
            client,
            base,
            auth,
            keep_staged,
            org: RwLock::new(Org::default()),
            calls: AtomicU64::new(0),
        })
    }

    fn org(&self) -> std::sync::RwLockReadGuard<'_, Org> {
        self.org.read().unwrap_or_else(|p| p.into_inner())
    }

    fn org_mut(&self) -> std::sync::RwLockWriteGuard<'_, Org> {
        self.org.write().unwrap_or_else(|p| p.into_inner())
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut u = self.base.clone();
        u.set_path(&format!(
            "{}{}",
            self.base.path().trim_end_matches('/'),
            path
        ));
        let q = encode_query(query);
        u.set_query(if query.is_empty() { None } else { Some(&q) });
        u
    }

    fn send(&self, what: &str, req: Request) -> Result<Response, ApiError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.client
            .execute(req.auth_header(&self.auth))
            .map_err(|e| ApiError::from_http(what, &e))
    }

    fn json(what: &str, resp: &Response) -> Result<Value, ApiError> {
        if resp.body().iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(resp.body()).map_err(|e| {
            ApiError::new(
                what,
                Some(resp.status),
                format!("response is not JSON: {e}"),
            )
        })
    }

    /// Every object of a paged list, following `Link: rel="next"` verbatim.
    fn list(&self, what: &str, first: Url, mut each: impl FnMut(Value)) -> Result<(), ApiError> {
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let resp = self.send(what, Request::get(url.as_str()))?;
            match Self::json(what, &resp)? {
                Value::Array(items) => items.into_iter().for_each(&mut each),
                _ => {
                    return Err(ApiError::new(
                        what,
                        Some(resp.status),
                        "expected a JSON array",
                    ));
                }
            }
            if let Some(n) = next_link(&resp.headers_all("link"), &url) {
                if !same_origin(&n, &self.base) {
                    return Err(ApiError::new(
                        what,
                        None,
                        "the next page is on another host: not following it with the token",
                    ));
                }
                if n != url {
                    next = Some(n);
                }
            }
        }
        Ok(())
    }

    fn add_user(org: &mut Org, u: &Value) {
        let Some(id) = nonempty(u, "/id") else {
            return;
        };
        let status = nonempty(u, "/status").unwrap_or("ACTIVE").to_string();
        let email = nonempty(u, "/profile/email").map(lower).unwrap_or_default();
        if let Some(login) = nonempty(u, "/profile/login") {
            org.by_login.insert(
                lower(login),
                UserEntry {
                    id: id.to_string(),
                    email: email.clone(),
                },
            );
        }
        if !email.is_empty() {
            org.by_email.entry(email).or_insert_with(|| id.to_string());
        }
        org.users.insert(id.to_string(), status);
    }

    fn read_users(&self, org: &mut Org) -> Result<(), ApiError> {
        // the plain list hides DEPROVISIONED users, whose logins still block a create
        for filter in [None, Some("status eq \"DEPROVISIONED\"")] {
            let mut q = vec![("limit", "200")];
            if let Some(f) = filter {
                q.push(("filter", f));
            }
            let mut page = Vec::new();
            self.list("GET /api/v1/users", self.url("/api/v1/users", &q), |u| {
                page.push(u)
            })?;
            for u in &page {
                Self::add_user(org, u);
            }
        }
        Ok(())
    }

    fn read_groups(&self, org: &mut Org, members: bool) -> Result<(), ApiError> {
        let mut groups = Vec::new();
        self.list(
            "GET /api/v1/groups",
            self.url("/api/v1/groups", &[("limit", "200")]),
            |g| groups.push(g),
        )?;
        for g in &groups {
            let Some(id) = nonempty(g, "/id") else {
                continue;
            };
            let ty = nonempty(g, "/type").unwrap_or("OKTA_GROUP").to_string();
            if let Some(name) = nonempty(g, "/profile/name") {
                org.groups_by_name
                    .entry(lower(name))
                    .or_insert(id.to_string());
            }
            org.groups.insert(id.to_string(), ty);
        }
        if members {
            let ids: Vec<String> = org
                .groups
                .iter()
                .filter(|(_, t)| *t == "OKTA_GROUP")
                .map(|(id, _)| id.clone())
                .collect();
            for g in ids {
                let mut set = HashSet::new();
                self.list(
                    "GET /api/v1/groups/{id}/users",
                    self.url(&format!("/api/v1/groups/{g}/users"), &[("limit", "200")]),
                    |u| {
                        if let Some(id) = nonempty(&u, "/id") {
                            set.insert(id.to_string());
                        }
                    },
                )?;
                org.members.insert(g, set);
            }
        }
        Ok(())
    }

    fn read_apps(&self, org: &mut Org, groups: bool) -> Result<(), ApiError> {
        let mut apps = Vec::new();
        self.list(
            "GET /api/v1/apps",
            self.url("/api/v1/apps", &[("limit", "200")]),
            |a| apps.push(a),
        )?;
        for a in &apps {
            let Some(id) = nonempty(a, "/id") else {
                continue;
            };
            org.apps.insert(id.to_string());
            if let Some(label) = nonempty(a, "/label") {
                org.apps_by_label
                    .entry(label.to_string())
                    .or_insert(id.to_string());
            }
        }
        if groups {
            let ids: Vec<String> = org.apps.iter().cloned().collect();
            for app in ids {
                let mut set = HashSet::new();
                self.list(
                    "GET /api/v1/apps/{id}/groups",
                    self.url(&format!("/api/v1/apps/{app}/groups"), &[("limit", "200")]),
                    |g| {
                        if let Some(id) = nonempty(&g, "/id") {
                            set.insert(id.to_string());
                        }
                    },
                )?;
                org.app_groups.insert(app, set);
            }
        }
        Ok(())
    }

    fn schema(&self) -> Result<Value, ApiError> {
        const WHAT: &str = "GET /api/v1/meta/schemas/user/default";
        let resp = self.send(
            WHAT,
            Request::get(self.url("/api/v1/meta/schemas/user/default", &[]).as_str()),
        )?;
        Self::json(WHAT, &resp)
    }

    /// The custom properties of the schema, with their type.
    fn custom_properties(&self) -> Result<Map<String, Value>, ApiError> {
        let schema = self.schema()?;
        Ok(schema
            .pointer("/definitions/custom/properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default())
    }

    /// A user by login, every status included.
    fn find_user_by_login(&self, login: &str) -> Result<Option<String>, ApiError> {
        let filter = format!("profile.login eq \"{}\"", login.replace('"', "\\\""));
        let mut found = None;
        self.list(
            "GET /api/v1/users",
            self.url("/api/v1/users", &[("filter", &filter)]),
            |u| {
                if found.is_none()
                    && nonempty(&u, "/profile/login").is_some_and(|l| l.eq_ignore_ascii_case(login))
                {
                    found = nonempty(&u, "/id").map(str::to_string);
                }
            },
        )?;
        Ok(found)
    }

    fn find_group_by_name(&self, name: &str) -> Result<Option<String>, ApiError> {
        let mut found = None;
        self.list(
            "GET /api/v1/groups",
            self.url("/api/v1/groups", &[("q", name)]),
            |g| {
                if found.is_none()
                    && nonempty(&g, "/profile/name").is_some_and(|n| lower(n) == lower(name))
                {
                    found = nonempty(&g, "/id").map(str::to_string);
                }
            },
        )?;
        Ok(found)
    }

    fn find_app_by_label(&self, label: &str) -> Result<Option<String>, ApiError> {
        let mut found = None;
        self.list(
            "GET /api/v1/apps",
            self.url("/api/v1/apps", &[("q", label)]),
            |a| {
                if found.is_none() && nonempty(&a, "/label") == Some(label) {
                    found = nonempty(&a, "/id").map(str::to_string);
                }
            },
        )?;
        Ok(found)
    }

    /// Send a create; when its outcome is unknown or it reports a duplicate, `lookup`
    /// decides whether the object is there, and it is sent again only when it is not.
    fn create_checked(
        &self,
        what: &str,
        req: impl Fn() -> Request,
        lookup: impl Fn() -> Result<Option<String>, ApiError>,
    ) -> Result<Created, ApiError> {
        let mut lost_once = false;
        for _ in 0..CREATE_ATTEMPTS {
            match self.send(what, req().not_idempotent()) {
                Ok(resp) => {
                    let body = Self::json(what, &resp)?;
                    let id = nonempty(&body, "/id").ok_or_else(|| {
                        ApiError::new(what, Some(resp.status), "no `id` in the answer")
                    })?;
                    return Ok(Created::New(id.to_string()));
                }
                Err(e) if e.outcome_unknown => {
                    if let Some(id) = lookup()? {
                        return Ok(Created::New(id));
                    }
                    lost_once = true;
                }
                Err(e) if e.is_duplicate() => {
                    return match lookup()? {
                        Some(id) if lost_once => Ok(Created::New(id)),
                        Some(id) => Ok(Created::Existing(id)),
                        None => Err(e),
                    };
                }
                Err(e) => return Err(e),
            }
        }
        let mut e = ApiError::new(
            what,
            None,
            format!("no answer after {CREATE_ATTEMPTS} attempts and not found by lookup"),
        );
        e.outcome_unknown = true;
        Err(e)
    }

    /// One lifecycle call (`activate`, `suspend`, …), never sending an email.
    fn lifecycle(&self, id: &str, op: &str) -> Result<(), ApiError> {
        let what = format!("POST /api/v1/users/{{id}}/lifecycle/{op}");
        let query: &[(&str, &str)] = match op {
            "activate" | "deactivate" | "reactivate" => &[("sendEmail", "false")],
            _ => &[],
        };
        let url = self.url(&format!("/api/v1/users/{id}/lifecycle/{op}"), query);
        match self.send(&what, Request::post(url.as_str())) {
            // already where the call would take it (a create sent active whose answer was
            // lost, a retried activation that had taken effect): done
            Err(e) if op == "activate" && e.code.as_deref() == Some("E0000016") => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Ok(()),
        }
    }

    /// The status a user of this run was created with: ACTIVE with a password (see `create`),
    /// else STAGED (a create found after a lost answer included: it was sent with
    /// activate=false, or it is active and the activate call is then done at once).
    fn created_as(&self, id: &str) -> &'static str {
        if self.org().created_active.contains(id) {
            "ACTIVE"
        } else {
            "STAGED"
        }
    }

    /// The status a payload asks for.
    fn wanted<'d>(&self, data: &'d Value) -> &'d str {
        nonempty(data, "/status").unwrap_or("STAGED")
    }

    /// The lifecycle calls from `current` to `wanted` (lifecycle classes).
    fn steps(&self, current: &str, wanted: &str) -> &'static [&'static str] {
        let wanted = if self.keep_staged && current == "STAGED" {
            "STAGED"
        } else {
            class(wanted)
        };
        match (class(current), wanted) {
            (a, b) if a == b => &[],
            ("STAGED", "ACTIVE") | ("DEPROVISIONED", "ACTIVE") => &["activate"],
            ("STAGED", "SUSPENDED") | ("DEPROVISIONED", "SUSPENDED") => &["activate", "suspend"],
            ("ACTIVE", "SUSPENDED") => &["suspend"],
            ("SUSPENDED", "ACTIVE") => &["unsuspend"],
            (_, "DEPROVISIONED") => &["deactivate"],
            // activated users cannot go back to STAGED: the closest is to leave them as they are
            (_, "STAGED") => &[],
            _ => &[],
        }
    }

    /// The calls that take a user from `current` to `wanted` (lifecycle classes).
    fn transition(&self, id: &str, current: &str, wanted: &str) -> Result<String, ApiError> {
        let steps = self.steps(current, wanted);
        for step in steps {
            self.lifecycle(id, step)?;
        }
        let now = match steps.last() {
            Some(&"deactivate") => "DEPROVISIONED",
            Some(&"suspend") => "SUSPENDED",
            Some(_) => "ACTIVE",
            None => current,
        };
        Ok(now.to_string())
    }
}

impl Target for OktaTarget {
    fn name(&self) -> &'static str {
        "okta"
    }

    fn base_url(&self) -> &str {
        self.base.as_str()
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn authenticate(&self) -> Result<(), ApiError> {
        const WHAT: &str = "GET /api/v1/users";
        self.send(
            WHAT,
            Request::get(self.url("/api/v1/users", &[("limit", "1")]).as_str()),
        )
        .map(|_| ())
    }

    fn check(&self, rec: &Record) -> Result<(), String> {
        let data = &rec.data;
        match rec.kind {
            Kind::User => {
                nonempty(data, "/profile/login")
                    .ok_or("field `profile.login`: a user needs one")?;
                nonempty(data, "/profile/email")
                    .ok_or("field `profile.email`: a user needs one")?;
            }
            Kind::Group => {
                nonempty(data, "/profile/name").ok_or("field `profile.name`: a group needs one")?;
            }
            Kind::App => {
                nonempty(data, "/label").ok_or("field `label`: an app needs one")?;
                nonempty(data, "/signOnMode").ok_or("field `signOnMode`: an app needs one")?;
            }
            _ => {}
        }
        Ok(())
    }

    fn label(&self, kind: &Kind, data: &Value) -> String {
        match kind {
            Kind::User => nonempty(data, "/profile/login"),
            Kind::Group => nonempty(data, "/profile/name"),
            _ => nonempty(data, "/label"),
        }
        .unwrap_or_default()
        .to_string()
    }

    fn unique_key(&self, kind: &Kind, data: &Value) -> Option<String> {
        match kind {
            Kind::User => nonempty(data, "/profile/login").map(|l| format!("login:{}", lower(l))),
            Kind::Group => nonempty(data, "/profile/name").map(lower),
            Kind::App => nonempty(data, "/label").map(str::to_string),
            _ => None,
        }
    }

    fn read(&self, needs: Needs) -> Result<(), ApiError> {
        let mut org = Org::default();
        if needs.users || needs.memberships {
            self.read_users(&mut org)?;
            let mut props: HashSet<String> =
                BASE_PROPERTIES.iter().map(|s| s.to_string()).collect();
            props.extend(self.custom_properties()?.keys().cloned());
            org.properties = Some(props);
        }
        if needs.groups || needs.memberships || needs.assignments {
            self.read_groups(&mut org, needs.memberships)?;
        }
        if needs.apps || needs.assignments {
            self.read_apps(&mut org, needs.assignments)?;
        }
        *self.org_mut() = org;
        Ok(())
    }

    fn exists(&self, kind: &Kind, id: &str) -> bool {
        let org = self.org();
        match kind {
            Kind::User => org.users.contains_key(id),
            Kind::Group => org.groups.contains_key(id),
            Kind::App => org.apps.contains(id),
            _ => false,
        }
    }

    fn key_is_unique(&self, kind: &Kind, how: &str) -> bool {
        // logins are unique in an org, emails are not
        !(*kind == Kind::User && how == "email")
    }

    fn find(&self, kind: &Kind, data: &Value) -> Found {
        let org = self.org();
        match kind {
            Kind::User => {
                let email = nonempty(data, "/profile/email").map(lower);
                if let Some(login) = nonempty(data, "/profile/login")
                    && let Some(u) = org.by_login.get(&lower(login))
                {
                    if email.as_deref() == Some(u.email.as_str()) {
                        return Found::Same {
                            id: u.id.clone(),
                            how: "login and email",
                        };
                    }
                    return Found::Conflict {
                        id: u.id.clone(),
                        reason: format!(
                            "login `{login}` belongs to an existing account with another email (id {}): a different person, never adopted; give one of them another login",
                            u.id
                        ),
                    };
                }
                match email.and_then(|e| org.by_email.get(&e).cloned()) {
                    Some(id) => Found::Same { id, how: "email" },
                    None => Found::None,
                }
            }
            Kind::Group => match nonempty(data, "/profile/name")
                .and_then(|n| org.groups_by_name.get(&lower(n)))
            {
                Some(id) => Found::Same {
                    id: id.clone(),
                    how: "name",
                },
                None => Found::None,
            },
            Kind::App => match nonempty(data, "/label").and_then(|l| org.apps_by_label.get(l)) {
                Some(id) => Found::Same {
                    id: id.clone(),
                    how: "label",
                },
                None => Found::None,
            },
            _ => Found::None,
        }
    }

    fn missing_attributes(&self, data: &Value) -> Vec<String> {
        let org = self.org();
        let (Some(known), Some(profile)) = (
            &org.properties,
            data.get("profile").and_then(Value::as_object),
        ) else {
            return Vec::new();
        };
        profile
            .keys()
            .filter(|k| !known.contains(*k))
            .cloned()
            .collect()
    }

    fn list_attributes(&self) -> Result<Vec<(String, Option<String>)>, ApiError> {
        let mut names: Vec<(String, Option<String>)> = BASE_PROPERTIES
            .iter()
            .map(|n| (n.to_string(), None))
            .collect();
        names.extend(
            self.custom_properties()?
                .into_iter()
                .map(|(k, _)| (k, None)),
        );
        Ok(names)
    }

    fn create_attribute(&self, attr: &AttributeDef) -> Result<Option<String>, ApiError> {
        const WHAT: &str = "POST /api/v1/meta/schemas/user/default";
        let mut prop = json!({
            "title": attr.title,
            "description": attr.title,
            "type": attr.value_type,
            "required": false,
            "permissions": [{"principal": "SELF",
                "action": if attr.hidden { "HIDE" } else { "READ_WRITE" }}],
        });
        if let Some(items) = attr.item_type {
            prop["items"] = json!({"type": items});
            prop["union"] = json!("DISABLE");
        }
        let body = json!({"definitions": {"custom": {"id": "#custom", "type": "object",
            "properties": {attr.name.clone(): prop}, "required": []}}});
        let url = self.url("/api/v1/meta/schemas/user/default", &[]);
        match self.send(WHAT, Request::post_json(url.as_str(), &body)) {
            Ok(_) => Ok(None),
            Err(e) => {
                // a lost answer or a retried create: it may be there now
                if (e.outcome_unknown || e.status.is_some_and(|s| s >= 500))
                    && self.custom_properties()?.contains_key(&attr.name)
                {
                    return Ok(None);
                }
                Err(e)
            }
        }
    }

    fn create(&self, kind: &Kind, data: &Value, with: &[String]) -> Result<Created, ApiError> {
        match kind {
            Kind::User => {
                const WHAT: &str = "POST /api/v1/users";
                let login = nonempty(data, "/profile/login")
                    .unwrap_or_default()
                    .to_string();
                let mut body = Map::new();
                for key in ["profile", "credentials"] {
                    if let Some(v) = data.get(key) {
                        body.insert(key.into(), v.clone());
                    }
                }
                let with: Vec<&String> = with.iter().take(GROUP_IDS_MAX).collect();
                if !with.is_empty() {
                    body.insert("groupIds".into(), json!(with));
                }
                // A user with a password (or an imported hash) who is to be ACTIVE is created
                // active: Okta sends no email to a user who has a password (okta-api.md §4.4),
                // and the activate call is saved. Everyone else is created STAGED.
                let has_password = data
                    .pointer("/credentials/password")
                    .is_some_and(|p| p.get("value").is_some() || p.get("hash").is_some());
                let active_now = has_password
                    && !self.keep_staged
                    && nonempty(data, "/status").map(class) == Some("ACTIVE");
                let activate = if active_now { "true" } else { "false" };
                let url = self.url("/api/v1/users", &[("activate", activate)]);
                let body = Value::Object(body);
                let created = self.create_checked(
                    WHAT,
                    || Request::post_json(url.as_str(), &body),
                    || self.find_user_by_login(&login),
                )?;
                let mut org = self.org_mut();
                let id = match &created {
                    Created::New(id) | Created::Existing(id) => id.clone(),
                };
                let status = match created {
                    Created::New(_) if !active_now => "STAGED",
                    _ => "ACTIVE",
                };
                if active_now && matches!(created, Created::New(_)) {
                    org.created_active.insert(id.clone());
                }
                org.users.entry(id.clone()).or_insert(status.to_string());
                if matches!(created, Created::New(_)) {
                    for g in with {
                        org.with_create.insert((g.clone(), id.clone()));
                        org.members.entry(g.clone()).or_default().insert(id.clone());
                    }
                }
                Ok(created)
            }
            Kind::Group => {
                const WHAT: &str = "POST /api/v1/groups";
                let name = nonempty(data, "/profile/name")
                    .unwrap_or_default()
                    .to_string();
                let body = json!({"profile": data.get("profile").cloned().unwrap_or(Value::Null)});
                let url = self.url("/api/v1/groups", &[]);
                let created = self.create_checked(
                    WHAT,
                    || Request::post_json(url.as_str(), &body),
                    || self.find_group_by_name(&name),
                )?;
                let id = match &created {
                    Created::New(id) | Created::Existing(id) => id.clone(),
                };
                let mut org = self.org_mut();
                org.groups.insert(id.clone(), "OKTA_GROUP".into());
                org.members.entry(id).or_default();
                Ok(created)
            }
            Kind::App => {
                const WHAT: &str = "POST /api/v1/apps";
                let label = nonempty(data, "/label").unwrap_or_default().to_string();
                let url = self.url("/api/v1/apps", &[]);
                let created = self.create_checked(
                    WHAT,
                    || Request::post_json(url.as_str(), data),
                    || self.find_app_by_label(&label),
                )?;
                let id = match &created {
                    Created::New(id) | Created::Existing(id) => id.clone(),
                };
                let mut org = self.org_mut();
                org.apps.insert(id.clone());
                org.app_groups.entry(id).or_default();
                Ok(created)
            }
            other => Err(ApiError::new(
                "create",
                None,
                format!("okta does not create `{other}` objects"),
            )),
        }
    }

    fn create_edges(&self, kind: &Kind) -> Option<(Kind, usize, &'static str)> {
        (*kind == Kind::User).then_some((Kind::Membership, GROUP_IDS_MAX, "groupIds"))
    }

    fn settles(&self, kind: &Kind, id: &str, data: &Value) -> bool {
        *kind == Kind::User
            && !self
                .steps(self.created_as(id), self.wanted(data))
                .is_empty()
    }

    fn settle(&self, kind: &Kind, id: &str, data: &Value) -> Result<(), ApiError> {
        if *kind != Kind::User {
            return Ok(());
        }
        let now = self.transition(id, self.created_as(id), self.wanted(data))?;
        self.org_mut().users.insert(id.to_string(), now);
        Ok(())
    }

    fn update(&self, kind: &Kind, id: &str, data: &Value) -> Result<(), ApiError> {
        match kind {
            Kind::User => {
                let url = self.url(&format!("/api/v1/users/{id}"), &[]);
                // partial: only the profile (a hash can only be set while STAGED, and
                // re-sending credentials would reset a password the person may have changed)
                let body = json!({"profile": data.get("profile").cloned().unwrap_or(Value::Null)});
                let resp = self.send(
                    "POST /api/v1/users/{id}",
                    Request::post_json(url.as_str(), &body),
                )?;
                let current = Self::json("POST /api/v1/users/{id}", &resp)?;
                let status = nonempty(&current, "/status")
                    .unwrap_or("ACTIVE")
                    .to_string();
                if let Some(wanted) = nonempty(data, "/status") {
                    let now = self.transition(id, &status, wanted)?;
                    self.org_mut().users.insert(id.to_string(), now);
                }
                Ok(())
            }
            Kind::Group => {
                let url = self.url(&format!("/api/v1/groups/{id}"), &[]);
                let body = json!({"profile": data.get("profile").cloned().unwrap_or(Value::Null)});
                self.send(
                    "PUT /api/v1/groups/{id}",
                    Request::put_json(url.as_str(), &body),
                )
                .map(|_| ())
            }
            Kind::App => {
                let url = self.url(&format!("/api/v1/apps/{id}"), &[]);
                self.send(
                    "PUT /api/v1/apps/{id}",
                    Request::put_json(url.as_str(), data),
                )
                .map(|_| ())
            }
            other => Err(ApiError::new(
                "update",
                None,
                format!("okta does not update `{other}` objects"),
            )),
        }
    }

    fn delete(&self, kind: &Kind, _id: &str) -> Result<(), ApiError> {
        Err(ApiError::new(
            "delete",
            None,
            format!("idm never deletes okta `{kind}` objects"),
        ))
    }

    fn current(&self, kind: &Kind, id: &str) -> Result<Option<Value>, ApiError> {
        let (path, what) = match kind {
            Kind::User => (format!("/api/v1/users/{id}"), "GET /api/v1/users/{id}"),
            Kind::Group => (format!("/api/v1/groups/{id}"), "GET /api/v1/groups/{id}"),
            Kind::App => (format!("/api/v1/apps/{id}"), "GET /api/v1/apps/{id}"),
            _ => return Ok(None),
        };
        let resp = self.send(what, Request::get(self.url(&path, &[]).as_str()))?;
        let mut v = Self::json(what, &resp)?;
        if *kind == Kind::User
            && let Some(s) = nonempty(&v, "/status").map(class)
        {
            // compared in lifecycle classes: PROVISIONED (activated, no password yet) is what
            // ACTIVE becomes without a password
            v["status"] = json!(s);
        }
        Ok(Some(v))
    }

    fn list_objects(
        &self,
        kind: &Kind,
        each: &mut dyn FnMut(String, Value),
    ) -> Result<(), ApiError> {
        let mut emit = |mut v: Value| {
            let Some(id) = nonempty(&v, "/id").map(str::to_string) else {
                return;
            };
            if *kind == Kind::User
                && let Some(s) = nonempty(&v, "/status").map(class)
            {
                v["status"] = json!(s);
            }
            each(id, v);
        };
        let (path, what, filters): (&str, &str, &[Option<&str>]) = match kind {
            Kind::User => (
                "/api/v1/users",
                "GET /api/v1/users",
                &[None, Some("status eq \"DEPROVISIONED\"")],
            ),
            Kind::Group => ("/api/v1/groups", "GET /api/v1/groups", &[None]),
            Kind::App => ("/api/v1/apps", "GET /api/v1/apps", &[None]),
            _ => return Ok(()),
        };
        for filter in filters {
            let mut q = vec![("limit", "200")];
            if let Some(f) = filter {
                q.push(("filter", f));
            }
            self.list(what, self.url(path, &q), &mut emit)?;
        }
        Ok(())
    }

    fn comparable(&self, kind: &Kind, payload: &Value) -> Value {
        let mut p = payload.clone();
        if *kind == Kind::User
            && let Some(obj) = p.as_object_mut()
        {
            // write-only: Okta shows `credentials.password` back as `{}`
            obj.shift_remove("credentials");
            if let Some(s) = obj.get("status").and_then(Value::as_str) {
                let c = class(s);
                obj.insert("status".into(), json!(c));
            }
        }
        p
    }

    fn edge_shape(&self, kind: &Kind, assignee: End) -> Result<EdgeShape, &'static str> {
        match (kind, assignee) {
            (Kind::Membership, _) => Ok(EdgeShape {
                parent: End::Group,
                child: End::User,
                batch: 1,
                reads_per_batch: 0,
            }),
            (Kind::AppAssignment, End::Group) => Ok(EdgeShape {
                parent: End::App,
                child: End::Group,
                batch: 1,
                reads_per_batch: 0,
            }),
            (Kind::AppAssignment, _) => Err(
                "direct user assignment: idm assigns okta apps to groups only; give the user a group that has the app",
            ),
            _ => Err("not an edge okta takes"),
        }
    }

    fn has_edge(&self, kind: &Kind, parent: &str, child: &str) -> Option<bool> {
        let org = self.org();
        let sets = match kind {
            Kind::Membership => &org.members,
            Kind::AppAssignment => &org.app_groups,
            _ => return None,
        };
        sets.get(parent).map(|s| s.contains(child))
    }

    fn edge_made_at_create(&self, kind: &Kind, parent: &str, child: &str) -> bool {
        *kind == Kind::Membership
            && self
                .org()
                .with_create
                .contains(&(parent.to_string(), child.to_string()))
    }

    fn edges_of(&self, kind: &Kind, parent: &str) -> Result<HashSet<String>, ApiError> {
        let (path, what) = match kind {
            Kind::Membership => (
                format!("/api/v1/groups/{parent}/users"),
                "GET /api/v1/groups/{id}/users",
            ),
            _ => (
                format!("/api/v1/apps/{parent}/groups"),
                "GET /api/v1/apps/{id}/groups",
            ),
        };
        let mut out = HashSet::new();
        self.list(what, self.url(&path, &[("limit", "200")]), |o| {
            if let Some(id) = nonempty(&o, "/id") {
                out.insert(id.to_string());
            }
        })?;
        Ok(out)
    }

    fn add_edges(
        &self,
        kind: &Kind,
        parent: &str,
        children: &[String],
        _parent_is_new: bool,
    ) -> Result<(), ApiError> {
        for child in children {
            match kind {
                Kind::Membership => {
                    let url = self.url(&format!("/api/v1/groups/{parent}/users/{child}"), &[]);
                    self.send(
                        "PUT /api/v1/groups/{id}/users/{id}",
                        Request::put(url.as_str()),
                    )?;
                }
                Kind::AppAssignment => {
                    let url = self.url(&format!("/api/v1/apps/{parent}/groups/{child}"), &[]);
                    self.send(
                        "PUT /api/v1/apps/{id}/groups/{id}",
                        Request::put_json(url.as_str(), &json!({})),
                    )?;
                }
                other => {
                    return Err(ApiError::new(
                        "add edges",
                        None,
                        format!("okta does not take `{other}` edges"),
                    ));
                }
            }
            let mut org = self.org_mut();
            let sets = match kind {
                Kind::Membership => &mut org.members,
                _ => &mut org.app_groups,
            };
            sets.entry(parent.to_string())
                .or_default()
                .insert(child.clone());
        }
        Ok(())
    }
}
