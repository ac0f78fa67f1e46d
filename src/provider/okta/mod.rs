//! The Okta management API as a [`Source`]: users, groups, memberships, apps, app
//! assignments and the user schema's custom attributes.
//!
//! Shaped by what the reference says Okta does (`shared/reference/okta-api.md`):
//! - Pages are followed only through the `Link: <…>; rel="next"` header, verbatim; a cursor
//!   is never built. The first request carries `limit`, later ones whatever Okta put in the link.
//!   A next link to another origin is refused (the token must not leave the org).
//! - Plain `GET /api/v1/users` hides DEPROVISIONED users, so `--include-deprovisioned` adds a
//!   second listing with `filter=status eq "DEPROVISIONED"`. With `--since`, the
//!   `lastUpdated gt` filter returns every status, so DEPROVISIONED ones are dropped here
//!   unless asked for.
//! - Memberships come from `GET /api/v1/groups/{id}/users` per group, app assignments from
//!   `GET /api/v1/apps/{id}/groups` and the direct (`scope: USER`) entries of
//!   `GET /api/v1/apps/{id}/users`. Group and app ids seen while exporting groups and apps are
//!   remembered (ids only) so they are not listed twice. Members are asked for `--page-size`
//!   at a time (200 by default, the reference's recommendation; up to 1000, the listing's own
//!   default): a page of 1000 full user objects costs some 8 MB parsed, per connection of the
//!   fan-out, which would break the flat-memory aim for a fifth of the calls. App users are
//!   asked 500 at a time (their maximum; the objects are small).
//! - **In parallel.** [`Source::fork`] hands idm-export another handle on the same client, so
//!   independent kinds (users, groups and their members, apps and their assignments) are read
//!   at once, each within its own rate-limit bucket. Listings that fan out per group or app use
//!   [`FAN_OUT`] connections when the sink takes parts ([`Sink::part`]): each parent's pages go
//!   to its own part, so the parents' records still come out whole and in listing order. The
//!   client keeps them within the org's limits (each bucket's window, and the concurrent-request
//!   limit it learns from a 429 with `X-Rate-Limit-Limit: 0`).
//! - Pages are parsed one at a time and handed on: memory is one page per connection,
//!   whatever the tenant.
//!
//! The token goes out as `Authorization: SSWS <token>` (or as given when it already starts
//! with `SSWS ` or `Bearer `, for OAuth access tokens).

pub mod target;

use serde_json::{Map, Value};
use url::Url;

pub use target::OktaTarget;

/// Every base property of Okta's default user profile (okta-api.md §4.3): what needs no
/// custom schema property.
pub const BASE_PROPERTIES: &[&str] = &[
    "login",
    "email",
    "firstName",
    "lastName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
    "title",
    "displayName",
    "nickName",
    "profileUrl",
    "secondEmail",
    "mobilePhone",
    "primaryPhone",
    "streetAddress",
    "city",
    "state",
    "zipCode",
    "countryCode",
    "postalAddress",
    "preferredLanguage",
    "locale",
    "timezone",
    "userType",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "managerId",
    "manager",
];

use super::{ExportOptions, Part, Sink, Source, SourceError, encode_query, next_link};
use crate::http::{Client, Request, parse_http_date};
use crate::record::{Kind, Record};
use crate::secrets::Secret;

/// Largest `limit` per endpoint (reference §3); smaller requests are sent as asked.
const MAX_USERS: u32 = 200;
const MAX_APPS: u32 = 200;
const MAX_APP_GROUPS: u32 = 200;
const MIN_APP_GROUPS: u32 = 20;
const MAX_APP_USERS: u32 = 500;
const MAX_GROUPS: u32 = 10_000;
/// Most group members per page idm asks for: Okta's default for the listing (reference §3;
/// no maximum is stated).
const GROUP_MEMBERS: u32 = 1000;
/// The usual page size; at or above it the per-parent listings take their largest pages.
const USUAL_PAGE: u32 = 200;

/// Lists one parent's (a group's, an app's) records into a sink, on a handle of its own.
type ListParent<'a> = dyn Fn(&mut Okta, &str, &mut dyn Sink) -> Result<(), SourceError> + Sync + 'a;

/// Parents (groups, apps) listed at once when the sink takes parts: within the smallest
/// org's concurrent-request limit (15) with the other lanes running.
pub const FAN_OUT: usize = 4;

/// An Okta org.
pub struct Okta {
    client: Client,
    base: Url,
    auth: Secret,
    group_ids: Option<Vec<String>>,
    app_ids: Option<Vec<String>>,
    /// Server time minus local time, from the first `Date` header, when it is off by > 2 s.
    skew_secs: Option<f64>,
}

impl Okta {
    /// `base_url` is the org (`https://acme.okta.com`, `http://127.0.0.1:PORT`); a bare host
    /// gets `https://`.
    pub fn new(base_url: &str, token: &Secret, client: Client) -> Result<Okta, SourceError> {
        let base = parse_base_url(base_url)?;
        let t = token.expose().trim();
        let auth = if t.starts_with("SSWS ") || t.starts_with("Bearer ") {
            Secret::new(t)
        } else {
            Secret::new(format!("SSWS {t}"))
        };
        Ok(Okta {
            client,
            base,
            auth,
            group_ids: None,
            app_ids: None,
            skew_secs: None,
        })
    }

    /// The org's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Another handle on the org, sharing the client (and so its quotas): for another thread.
    fn fork_okta(&self) -> Okta {
        Okta {
            client: self.client.clone(),
            base: self.base.clone(),
            auth: self.auth.clone(),
            group_ids: None,
            app_ids: None,
            skew_secs: self.skew_secs,
        }
    }

    /// List every parent with `list`, on [`FAN_OUT`] connections when `sink` takes parts (each
    /// parent's records in a part of their own, in parent order), else one by one into `sink`.
    fn fan_out(
        &mut self,
        parents: &[String],
        sink: &mut dyn Sink,
        list: &ListParent<'_>,
    ) -> Result<(), SourceError> {
        let total = parents.len() as u64;
        let first = if parents.len() > 1 { sink.part() } else { None };
        let Some(first) = first else {
            for (i, parent) in parents.iter().enumerate() {
                list(self, parent, sink)?;
                sink.parents(i as u64 + 1, total);
            }
            return Ok(());
        };
        let failed: std::sync::Mutex<Option<SourceError>> = std::sync::Mutex::new(None);
        let stop = std::sync::atomic::AtomicBool::new(false);
        // parts are taken here, in parent order, and handed to the workers through a short
        // queue: taking them ahead of the workers would only spool more to disk
        let (tx, rx) = std::sync::mpsc::sync_channel::<(&str, Box<dyn Part>)>(FAN_OUT);
        let rx = std::sync::Mutex::new(rx);
        std::thread::scope(|scope| {
            for _ in 0..FAN_OUT.min(parents.len()) {
                let mut me = self.fork_okta();
                let (rx, failed, stop) = (&rx, &failed, &stop);
                scope.spawn(move || {
                    loop {
                        let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok((parent, mut part)) = job else {
                            return;
                        };
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            continue; // dropped unfinished: the export fails anyway
                        }
                        let result = list(&mut me, parent, &mut *part).and_then(|()| part.done());
                        if let Err(e) = result {
                            stop.store(true, std::sync::atomic::Ordering::Relaxed);
                            let mut f = failed.lock().unwrap_or_else(|e| e.into_inner());
                            f.get_or_insert(e);
                        }
                    }
                });
            }
            let mut next = Some(first);
            for (i, parent) in parents.iter().enumerate() {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let part = match next.take() {
                    Some(p) => p,
                    None => match sink.part() {
                        Some(p) => p,
                        None => break,
                    },
                };
                if tx.send((parent.as_str(), part)).is_err() {
                    break;
                }
                sink.parents(i as u64 + 1, total);
            }
            drop(tx);
        });
        match failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
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

    /// GET `first` and every page after it, handing each page's objects to `each`.
    pub fn pages(
        &mut self,
        first: Url,
        mut each: impl FnMut(&mut Self, Vec<Value>) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let mut next = Some(first);
        let mut seen_last: Option<Url> = None;
        while let Some(url) = next.take() {
            let resp = self
                .client
                .execute(Request::get(url.as_str()).auth_header(&self.auth))?;
            if self.skew_secs.is_none()
                && let Some(server) = resp.header("date").and_then(parse_http_date)
            {
                let local = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
                let skew = server - local;
                self.skew_secs = Some(if skew.abs() > 2.0 { skew } else { 0.0 });
            }
            let page: Vec<Value> = match serde_json::from_slice(resp.body()) {
                Ok(Value::Array(items)) => items,
                Ok(other) => {
                    return Err(SourceError::Unexpected {
                        url: resp.url().to_string(),
                        reason: format!(
                            "expected a JSON array of objects, got {}",
                            json_type(&other)
                        ),
                    });
                }
                Err(e) => {
                    return Err(SourceError::Unexpected {
                        url: resp.url().to_string(),
                        reason: format!("not JSON: {e}"),
                    });
                }
            };
            let link = next_link(&resp.headers_all("link"), &url);
            each(self, page)?;
            if let Some(n) = link {
                if !same_origin(&n, &self.base) {
                    return Err(SourceError::Unexpected {
                        url: url.to_string(),
                        reason: format!(
                            "the next page `{n}` is not on `{}`; not following it with the token",
                            self.base
                        ),
                    });
                }
                if n == url || seen_last.as_ref() == Some(&n) {
                    return Err(SourceError::Unexpected {
                        url: url.to_string(),
                        reason: "the next page link points back to the same page".into(),
                    });
                }
                seen_last = Some(url);
                next = Some(n);
            }
        }
        Ok(())
    }

    fn export_attributes(&mut self, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let url = self.url("/api/v1/meta/schemas/user/default", &[]);
        let resp = self
            .client
            .execute(Request::get(url.as_str()).auth_header(&self.auth))?;
        let schema: Value = resp.json()?;
        let props = schema
            .pointer("/definitions/custom/properties")
            .cloned()
            .unwrap_or(Value::Null);
        match props {
            Value::Object(map) => {
                for (name, def) in map {
                    sink.record(Record::new(Kind::Attribute, "okta", name, def))?;
                }
                Ok(())
            }
            Value::Null => Ok(()),
            other => Err(SourceError::Unexpected {
                url: url.to_string(),
                reason: format!(
                    "`definitions.custom.properties` is {}, not an object",
                    json_type(&other)
                ),
            }),
        }
    }

    fn export_groups(
        &mut self,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        // Every group, even with `--since`: a delta's edges need their groups to resolve, and
        // idm-map must see the built-in `Everyone` to skip its edges (unchanged groups are a
        // `skip` in idm-load and cost one page here). Ids are remembered for memberships,
        // unless those are filtered by `--since` (they need their own listing).
        let unfiltered = ExportOptions {
            since: None,
            ..opts.clone()
        };
        let (first, _) = self.groups_url(&unfiltered, "lastUpdated");
        let mut ids = Vec::new();
        let keep = opts.since.is_none();
        self.pages(first, |_, page| {
            for obj in page {
                let id = object_id(&obj, "group")?;
                if keep {
                    ids.push(id.clone());
                }
                sink.record(Record::new(Kind::Group, "okta", id, obj))?;
            }
            Ok(())
        })?;
        if keep {
            self.group_ids = Some(ids);
        }
        Ok(())
    }

    fn export_users(
        &mut self,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        let limit = opts.page_size.clamp(1, MAX_USERS).to_string();
        let mut listings: Vec<Option<String>> = Vec::new();
        match &opts.since {
            // the filter returns every status; DEPROVISIONED ones are dropped below if unwanted
            Some(s) => listings.push(Some(format!("lastUpdated gt \"{s}\""))),
            None => {
                listings.push(None); // hides DEPROVISIONED
                if opts.include_deprovisioned {
                    listings.push(Some("status eq \"DEPROVISIONED\"".to_string()));
                }
            }
        }
        for filter in listings {
            let mut q = vec![("limit", limit.as_str())];
            if let Some(f) = &filter {
                q.push(("filter", f.as_str()));
            }
            let first = self.url("/api/v1/users", &q);
            self.pages(first, |_, page| {
                for obj in page {
                    if !opts.include_deprovisioned && is_deprovisioned(&obj) {
                        continue;
                    }
                    let id = object_id(&obj, "user")?;
                    sink.record(Record::new(Kind::User, "okta", id, obj))?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// The first page of the group listing; with `--since`, filtered on `changed_attr`
    /// (`lastUpdated`, or `lastMembershipUpdated` for memberships). Also returns the filter.
    fn groups_url(&self, opts: &ExportOptions, changed_attr: &str) -> (Url, Option<String>) {
        let limit = opts.page_size.clamp(1, MAX_GROUPS).to_string();
        let filter = opts
            .since
            .as_ref()
            .map(|s| format!("{changed_attr} gt \"{s}\""));
        let mut q = vec![("limit", limit.as_str())];
        if let Some(f) = &filter {
            q.push(("filter", f));
        }
        (self.url("/api/v1/groups", &q), filter)
    }

    /// Every group id (listing groups again only if the group pass did not run).
    fn group_ids(&mut self, opts: &ExportOptions) -> Result<Vec<String>, SourceError> {
        if opts.since.is_none()
            && let Some(ids) = &self.group_ids
        {
            return Ok(ids.clone());
        }
        let (first, filter) = self.groups_url(opts, "lastMembershipUpdated");
        let ids = self.collect_ids(first, "group");
        match ids {
            // an org (or simulator) without the lastMembershipUpdated filter: all groups
            Err(SourceError::Http(e)) if filter.is_some() && e.status() == Some(400) => {
                tracing::warn!(
                    "groups cannot be filtered by `lastMembershipUpdated` ({e}); exporting the memberships of every group"
                );
                let unfiltered = ExportOptions {
                    since: None,
                    ..opts.clone()
                };
                let (first, _) = self.groups_url(&unfiltered, "lastMembershipUpdated");
                self.collect_ids(first, "group")
            }
            other => other,
        }
    }

    fn app_ids(&mut self, opts: &ExportOptions) -> Result<Vec<String>, SourceError> {
        if let Some(ids) = &self.app_ids {
            return Ok(ids.clone());
        }
        let limit = opts.page_size.clamp(1, MAX_APPS).to_string();
        let first = self.url("/api/v1/apps", &[("limit", limit.as_str())]);
        let ids = self.collect_ids(first, "app")?;
        self.app_ids = Some(ids.clone());
        Ok(ids)
    }

    fn collect_ids(&mut self, first: Url, what: &'static str) -> Result<Vec<String>, SourceError> {
        let mut ids = Vec::new();
        self.pages(first, |_, page| {
            for obj in page {
                ids.push(object_id(&obj, what)?);
            }
            Ok(())
        })?;
        Ok(ids)
    }

    fn export_memberships(
        &mut self,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        let groups = self.group_ids(opts)?;
        let limit = opts.page_size.clamp(1, GROUP_MEMBERS).to_string();
        let include_deprovisioned = opts.include_deprovisioned;
        let list = |me: &mut Okta, gid: &str, sink: &mut dyn Sink| {
            let first = me.url(
                &format!("/api/v1/groups/{}/users", path_segment(gid)),
                &[("limit", limit.as_str())],
            );
            me.pages(first, |_, page| {
                for user in page {
                    if !include_deprovisioned && is_deprovisioned(&user) {
                        continue;
                    }
                    let uid = object_id(&user, "group member")?;
                    let data = serde_json::json!({"group_id": gid, "user_id": uid});
                    sink.record(Record::new(
                        Kind::Membership,
                        "okta",
                        format!("{gid}/{uid}"),
                        data,
                    ))?;
                }
                Ok(())
            })
        };
        self.fan_out(&groups, sink, &list)
    }

    fn export_apps(
        &mut self,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        let limit = opts.page_size.clamp(1, MAX_APPS).to_string();
        let first = self.url("/api/v1/apps", &[("limit", limit.as_str())]);
        let mut ids = Vec::new();
        self.pages(first, |_, page| {
            for obj in page {
                let id = object_id(&obj, "app")?;
                ids.push(id.clone());
                sink.record(Record::new(Kind::App, "okta", id, obj))?;
            }
            Ok(())
        })?;
        self.app_ids = Some(ids);
        Ok(())
    }

    fn export_app_assignments(
        &mut self,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        let apps = self.app_ids(opts)?;
        let (group_limit, user_limit) = if opts.page_size >= USUAL_PAGE {
            (MAX_APP_GROUPS, MAX_APP_USERS)
        } else {
            (
                opts.page_size.clamp(MIN_APP_GROUPS, MAX_APP_GROUPS),
                opts.page_size.clamp(1, MAX_APP_USERS),
            )
        };
        let (group_limit, user_limit) = (group_limit.to_string(), user_limit.to_string());
        let list = |me: &mut Okta, app_id: &str, sink: &mut dyn Sink| {
            let seg = path_segment(app_id);
            let first = me.url(
                &format!("/api/v1/apps/{seg}/groups"),
                &[("limit", group_limit.as_str())],
            );
            me.pages(first, |_, page| {
                for obj in page {
                    let gid = object_id(&obj, "app group assignment")?;
                    let data = with_ids(obj, app_id, "group_id", &gid);
                    sink.record(Record::new(
                        Kind::AppAssignment,
                        "okta",
                        format!("{app_id}/{gid}"),
                        data,
                    ))?;
                }
                Ok(())
            })?;
            let first = me.url(
                &format!("/api/v1/apps/{seg}/users"),
                &[("limit", user_limit.as_str())],
            );
            me.pages(first, |_, page| {
                for obj in page {
                    // users assigned through a group come with the group assignment
                    if obj.get("scope").and_then(Value::as_str) == Some("GROUP") {
                        continue;
                    }
                    let uid = object_id(&obj, "app user")?;
                    let data = with_ids(obj, app_id, "user_id", &uid);
                    sink.record(Record::new(
                        Kind::AppAssignment,
                        "okta",
                        format!("{app_id}/{uid}"),
                        data,
                    ))?;
                }
                Ok(())
            })
        };
        self.fan_out(&apps, sink, &list)
    }
}

impl Source for Okta {
    fn name(&self) -> &'static str {
        "okta"
    }

    fn fork(&self) -> Option<Box<dyn Source + Send>> {
        Some(Box::new(self.fork_okta()))
    }

    fn kinds(&self) -> Vec<Kind> {
        vec![
            Kind::Attribute,
            Kind::Group,
            Kind::User,
            Kind::Membership,
            Kind::App,
            Kind::AppAssignment,
        ]
    }

    fn export(
        &mut self,
        kind: &Kind,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        match kind {
            Kind::Attribute => self.export_attributes(sink),
            Kind::Group => self.export_groups(opts, sink),
            Kind::User => self.export_users(opts, sink),
            Kind::Membership => self.export_memberships(opts, sink),
            Kind::App => self.export_apps(opts, sink),
            Kind::AppAssignment => self.export_app_assignments(opts, sink),
            other => Err(SourceError::Unsupported("okta", other.to_string())),
        }
    }

    fn clock_skew(&self) -> time::Duration {
        match self.skew_secs {
            // the Date header has whole seconds: a second less keeps bookmarks on the safe side
            Some(s) if s != 0.0 => time::Duration::seconds_f64(s - 1.0),
            _ => time::Duration::ZERO,
        }
    }
}

/// Parse the org URL; a bare host gets `https://`. The path is kept (a proxy prefix).
pub fn parse_base_url(raw: &str) -> Result<Url, SourceError> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    let bad = |reason: String| SourceError::Config {
        what: "okta url",
        value: crate::http::redact_url(raw),
        reason,
    };
    let mut u = Url::parse(&with_scheme).map_err(|e| bad(e.to_string()))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad("expected an http or https url".into()));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host".into()));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad(
            "credentials do not belong in the url: use `IDM_OKTA_TOKEN`".into(),
        ));
    }
    u.set_query(None);
    u.set_fragment(None);
    Ok(u)
}

pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn is_deprovisioned(user: &Value) -> bool {
    user.get("status").and_then(Value::as_str) == Some("DEPROVISIONED")
}

fn object_id(obj: &Value, what: &str) -> Result<String, SourceError> {
    match obj.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(SourceError::Invalid(format!(
            "okta returned a {what} without an `id`: {}",
            truncate(&obj.to_string(), 200)
        ))),
    }
}

/// The assignment object whole, with `app_id` and `group_id`/`user_id` added.
fn with_ids(obj: Value, app_id: &str, key: &str, id: &str) -> Value {
    match obj {
        Value::Object(mut m) => {
            m.insert("app_id".into(), Value::String(app_id.into()));
            m.insert(key.into(), Value::String(id.into()));
            Value::Object(m)
        }
        other => {
            let mut m = Map::new();
            m.insert("value".into(), other);
            m.insert("app_id".into(), Value::String(app_id.into()));
            m.insert(key.into(), Value::String(id.into()));
            Value::Object(m)
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests;
