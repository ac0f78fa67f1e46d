//! A OneLogin account as a [`Source`]: custom attribute definitions, roles (as groups), users of
//! every state and status, role users (as memberships), apps and role apps (as app
//! assignments), each record's `data` the object as the v2 API returns it.
//!
//! Why it is shaped so (see `shared/reference/onelogin-api.md` §4–§10):
//! - **Cursor pages, one at a time.** Every list goes through the client's [`super::Pages`],
//!   which follows `After-Cursor` until it is absent; the ids of roles (for their users) and
//!   the (app, role) pairs of app objects are all that is kept between kinds.
//! - **Whole objects.** A user or role in a list is the whole object. An app in a list is a
//!   summary, so each app is read again by id (`GET /api/2/apps/{id}`): its `configuration`,
//!   `parameters`, `sso` and `role_ids` are what a target needs to recreate it.
//! - **Few calls.** The account's quota is per hour (5000 by default), so nothing is listed
//!   twice: app assignments come from the `role_ids` of the app objects already read, and only
//!   when apps were not exported in the same run from `GET /api/2/roles/{id}/apps` per role.
//! - **Custom attribute values are never lost silently.** Whether list items carry
//!   `custom_attributes` is UNCONFIRMED (one SDK user only saw them when asked for with
//!   `fields`). When the account defines custom attributes and the first user of a listing has
//!   no `custom_attributes`, the listing starts again asking for every field it saw plus
//!   `custom_attributes`; if that still leaves them out, each user is read by id (one call per
//!   user, said once on stderr).
//! - **`--since`.** Users: `updated_since` (the bookmark cut to whole seconds, which can only
//!   widen the window). Roles, memberships, apps and app assignments are exported whole: they
//!   are few, a delta's edges need their roles, and OneLogin has no change filter for them (a
//!   role assignment does not move a user's `updated_at` either).
//! - **Read-only**, and a role or app deleted while the export runs is skipped with a warning
//!   rather than failing the whole export.
//! - **No secrets in records.** An app's `sso.client_secret` (OneLogin shows it only when the app
//!   is created) is left out should an account return it, with a warning on the record.

use serde_json::{Value, json};

use super::{ApiError, OneLoginClient, id_of};
use crate::provider::{ExportOptions, Sink, Source, SourceError};
use crate::record::{Kind, Record};

/// Largest `limit` per list (reference §4; the server clamps larger ones anyway). Users: the
/// spec's 100 (the docs say 50 per page; a server that sends 50 is followed by cursor just the
/// same).
const MAX_USERS: u32 = 100;
const MAX_ROLES: u32 = 650;
const MAX_ROLE_USERS: u32 = 100;
const MAX_ROLE_APPS: u32 = 100;
const MAX_APPS: u32 = 1000;

/// The user fields of the v2 user resource (reference §6.1), asked for by name when the list
/// must be told to include `custom_attributes`.
const USER_FIELDS: &[&str] = &[
    "id",
    "username",
    "email",
    "firstname",
    "lastname",
    "title",
    "department",
    "company",
    "comment",
    "phone",
    "state",
    "status",
    "group_id",
    "role_ids",
    "directory_id",
    "trusted_idp_id",
    "external_id",
    "distinguished_name",
    "member_of",
    "samaccountname",
    "userprincipalname",
    "manager_ad_id",
    "manager_user_id",
    "preferred_locale_code",
    "invalid_login_attempts",
    "activated_at",
    "created_at",
    "updated_at",
    "last_login",
    "password_changed_at",
    "invitation_sent_at",
    "locked_until",
    "custom_attributes",
];

/// A OneLogin account, read through one [`OneLoginClient`].
pub struct OneLoginSource {
    client: OneLoginClient,
    /// Role ids seen by the group pass (memberships and role apps are listed per role).
    role_ids: Option<Vec<u64>>,
    /// (app, role) pairs from the `role_ids` of every app object the app pass read; `None`
    /// when it did not run or an app had no `role_ids`.
    app_roles: Option<Vec<(u64, u64)>>,
    /// How many custom attributes the account defines, once known.
    attribute_count: Option<usize>,
}

impl OneLoginSource {
    pub fn new(client: OneLoginClient) -> OneLoginSource {
        OneLoginSource {
            client,
            role_ids: None,
            app_roles: None,
            attribute_count: None,
        }
    }

    /// The client (its call count, for tests and figures).
    pub fn client(&self) -> &OneLoginClient {
        &self.client
    }

    fn export_attributes(&mut self, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let defs = definitions(&self.client)?;
        self.attribute_count = Some(defs.len());
        for def in defs {
            let id = object_id(&def, "custom attribute")?;
            sink.record(Record::new(
                Kind::Attribute,
                "onelogin",
                id.to_string(),
                def,
            ))?;
        }
        Ok(())
    }

    fn export_groups(
        &mut self,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        let mut ids = Vec::new();
        let limit = opts.page_size.clamp(1, MAX_ROLES);
        for role in self.client.list_roles().limit(limit) {
            let role = role.map_err(api)?;
            let id = object_id(&role, "role")?;
            ids.push(id);
            sink.record(Record::new(Kind::Group, "onelogin", id.to_string(), role))?;
        }
        self.role_ids = Some(ids);
        Ok(())
    }

    /// Every role id (listing roles again only if the group pass did not run).
    fn role_ids(&mut self, opts: &ExportOptions) -> Result<Vec<u64>, SourceError> {
        if let Some(ids) = &self.role_ids {
            return Ok(ids.clone());
        }
        let limit = opts.page_size.clamp(1, MAX_ROLES);
        let mut ids = Vec::new();
        for role in self.client.list_roles().limit(limit) {
            ids.push(object_id(&role.map_err(api)?, "role")?);
        }
        self.role_ids = Some(ids.clone());
        Ok(ids)
    }

    fn export_users(
        &mut self,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        let limit = opts.page_size.clamp(1, MAX_USERS);
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(since) = &opts.since {
            params.push(("updated_since", whole_seconds(since)));
        }
        let client = &self.client;
        let mut pages = client.list_users(&as_pairs(&params)).limit(limit);
        let first = match pages.next() {
            None => return Ok(()),
            Some(first) => first.map_err(api)?,
        };
        // The list may leave `custom_attributes` out: harmless when the account has none.
        let complete = first.get("custom_attributes").is_some()
            || match self.attribute_count {
                Some(n) => n == 0,
                None => definitions(client)?.is_empty(),
            };
        if complete {
            emit_user(first, sink)?;
            for user in pages {
                emit_user(user.map_err(api)?, sink)?;
            }
            return Ok(());
        }
        // Start again asking for every field: the documented ones, any other the list showed,
        // and the custom attribute values.
        let mut fields: Vec<&str> = USER_FIELDS.to_vec();
        if let Some(seen) = first.as_object() {
            for key in seen.keys() {
                if !fields.contains(&key.as_str()) {
                    fields.push(key);
                }
            }
        }
        params.push(("fields", fields.join(",")));
        drop(pages);
        let mut warned = false;
        for user in client.list_users(&as_pairs(&params)).limit(limit) {
            let user = user.map_err(api)?;
            if user.get("custom_attributes").is_some() {
                emit_user(user, sink)?;
                continue;
            }
            if !warned {
                warned = true;
                tracing::warn!(
                    "the user list leaves `custom_attributes` out even when asked for: reading each user by id (one call per user)"
                );
            }
            let id = object_id(&user, "user")?;
            match client.get_object(&format!("/api/2/users/{id}")) {
                Ok(whole) => emit_user(whole, sink)?,
                // deleted since its page was read: gone from the account too
                Err(e) if e.status == Some(404) => {
                    tracing::warn!("user `{id}` was deleted during the export: not exported");
                }
                Err(e) => return Err(api(e)),
            }
        }
        Ok(())
    }

    fn export_memberships(
        &mut self,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        let roles = self.role_ids(opts)?;
        let total = roles.len() as u64;
        let limit = opts.page_size.clamp(1, MAX_ROLE_USERS);
        for (i, rid) in roles.iter().enumerate() {
            let path = format!("/api/2/roles/{rid}/users");
            for member in self.client.pages(&path, &[]).limit(limit) {
                let member = match member {
                    Ok(m) => m,
                    Err(e) if e.status == Some(404) => {
                        tracing::warn!(
                            "role `{rid}` was deleted during the export: its members are not exported"
                        );
                        break;
                    }
                    Err(e) => return Err(api(e)),
                };
                // without `include_unassigned` every entry should be assigned; one that says
                // otherwise is no member
                if member.get("assigned") == Some(&Value::Bool(false)) {
                    continue;
                }
                let uid = object_id(&member, "role user")?;
                let data = json!({"group_id": rid.to_string(), "user_id": uid.to_string()});
                sink.record(Record::new(
                    Kind::Membership,
                    "onelogin",
                    format!("{rid}/{uid}"),
                    data,
                ))?;
            }
            sink.parents(i as u64 + 1, total);
        }
        Ok(())
    }

    fn export_apps(
        &mut self,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        let limit = opts.page_size.clamp(1, MAX_APPS);
        let mut pairs: Option<Vec<(u64, u64)>> = Some(Vec::new());
        for summary in self.client.list_apps().limit(limit) {
            let summary = summary.map_err(api)?;
            let id = object_id(&summary, "app")?;
            let mut app = match self.client.get_object(&format!("/api/2/apps/{id}")) {
                Ok(app) => app,
                Err(e) if e.status == Some(404) => {
                    tracing::warn!("app `{id}` was deleted during the export: not exported");
                    continue;
                }
                Err(e) => return Err(api(e)),
            };
            match (app.get("role_ids"), &mut pairs) {
                (Some(Value::Array(roles)), Some(pairs)) => {
                    for r in roles {
                        let rid = id_of(r).ok_or_else(|| {
                            SourceError::Invalid(format!(
                                "onelogin app `{id}` has a role id that is not a number"
                            ))
                        })?;
                        pairs.push((id, rid));
                    }
                }
                // an app without `role_ids`: its roles are listed per role instead
                _ => pairs = None,
            }
            // OneLogin shows an OIDC client secret only in the create answer; should an
            // account show it here too, it stays out of the records all the same
            let secret = app
                .get_mut("sso")
                .and_then(Value::as_object_mut)
                .and_then(|sso| sso.remove("client_secret"));
            let mut record = Record::new(Kind::App, "onelogin", id.to_string(), app);
            if secret.is_some() {
                record
                    .warnings
                    .push("`sso.client_secret` left out: secrets never go into records".into());
            }
            sink.record(record)?;
        }
        self.app_roles = pairs;
        Ok(())
    }

    fn export_app_assignments(
        &mut self,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        if let Some(pairs) = self.app_roles.take() {
            for (aid, rid) in &pairs {
                sink.record(assignment(*aid, *rid))?;
            }
            self.app_roles = Some(pairs);
            return Ok(());
        }
        let roles = self.role_ids(opts)?;
        let total = roles.len() as u64;
        let limit = opts.page_size.clamp(1, MAX_ROLE_APPS);
        for (i, rid) in roles.iter().enumerate() {
            let path = format!("/api/2/roles/{rid}/apps");
            for app in self.client.pages(&path, &[]).limit(limit) {
                let app = match app {
                    Ok(a) => a,
                    Err(e) if e.status == Some(404) => {
                        tracing::warn!(
                            "role `{rid}` was deleted during the export: its apps are not exported"
                        );
                        break;
                    }
                    Err(e) => return Err(api(e)),
                };
                // objects per the docs; bare ids per the migration wizard's reading
                let aid = id_of(app.get("id").unwrap_or(&app)).ok_or_else(|| {
                    SourceError::Invalid(format!(
                        "onelogin role `{rid}` lists an app without an `id`"
                    ))
                })?;
                sink.record(assignment(aid, *rid))?;
            }
            sink.parents(i as u64 + 1, total);
        }
        Ok(())
    }
}

impl Source for OneLoginSource {
    fn name(&self) -> &'static str {
        "onelogin"
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
            other => Err(SourceError::Unsupported("onelogin", other.to_string())),
        }
    }

    fn clock_skew(&self) -> time::Duration {
        match self.client.server_clock_offset() {
            // the Date header has whole seconds: a second less keeps bookmarks on the safe side
            Some(s) if s.abs() > 2.0 => time::Duration::seconds_f64(s - 1.0),
            _ => time::Duration::ZERO,
        }
    }
}

fn emit_user(user: Value, sink: &mut dyn Sink) -> Result<(), SourceError> {
    let id = object_id(&user, "user")?;
    sink.record(Record::new(Kind::User, "onelogin", id.to_string(), user))
}

/// The account's custom attribute definitions, as the API returns them (a bare array; an
/// enveloped `{"data": [...]}` is accepted too).
fn definitions(client: &OneLoginClient) -> Result<Vec<Value>, SourceError> {
    const WHAT: &str = "GET /api/2/users/custom_attributes";
    match client
        .get_object("/api/2/users/custom_attributes")
        .map_err(api)?
    {
        Value::Array(items) => Ok(items),
        Value::Object(mut map) => match map.remove("data") {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(unexpected(WHAT, "expected a JSON array")),
        },
        Value::Null => Ok(Vec::new()),
        _ => Err(unexpected(WHAT, "expected a JSON array")),
    }
}

fn assignment(app: u64, role: u64) -> Record {
    Record::new(
        Kind::AppAssignment,
        "onelogin",
        format!("{app}/{role}"),
        json!({"app_id": app.to_string(), "group_id": role.to_string()}),
    )
}

fn as_pairs<'a>(params: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    params.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// An instant as `updated_since` takes it, cut to whole seconds (`2026-01-01T00:00:00Z`, the
/// reference's example form); cutting can only widen the window.
fn whole_seconds(at: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(at, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        // already checked by the caller (`--since`); sent as given otherwise
        Err(_) => at.to_string(),
    }
}

/// The numeric id of an object (record ids are its digits). The object itself is not quoted
/// in the error: it holds people's names and emails.
fn object_id(obj: &Value, what: &str) -> Result<u64, SourceError> {
    obj.get("id").and_then(id_of).ok_or_else(|| {
        SourceError::Invalid(format!("onelogin returned a {what} without a numeric `id`"))
    })
}

fn api(e: ApiError) -> SourceError {
    SourceError::Input(Box::new(e))
}

fn unexpected(what: &str, reason: &str) -> SourceError {
    SourceError::Unexpected {
        url: what.to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::{Value, json};

    use super::*;
    use crate::http::{
        Client, ClientOptions, Service, Transport, WireError, WireRequest, WireResponse,
    };
    use crate::secrets::Secret;

    /// How the scripted account lists users.
    #[derive(Clone, Copy, PartialEq)]
    enum Lists {
        /// `custom_attributes` in every list item.
        Whole,
        /// `custom_attributes` only when `fields` asks for it.
        OnlyWhenAsked,
        /// never in lists (only `GET /api/2/users/{id}` has it).
        Never,
    }

    /// A scripted OneLogin: 5 users in pages of 2, one custom attribute (or none), roles 7
    /// (deleted while exporting: its users answer 404) and 8, apps with and without
    /// `role_ids`. Records every path and query it was asked.
    struct Fake {
        lists: Lists,
        attributes: bool,
        app_role_ids: bool,
        seen: Mutex<Vec<String>>,
    }

    impl Fake {
        fn new(lists: Lists, attributes: bool) -> Arc<Fake> {
            Arc::new(Fake {
                lists,
                attributes,
                app_role_ids: true,
                seen: Mutex::new(Vec::new()),
            })
        }

        fn user(&self, id: u64, with_custom: bool) -> Value {
            let mut u = json!({"id": id, "username": format!("u{id}"), "email": format!("u{id}@x.io"),
                               "state": 1, "status": 1, "extra_field": "kept"});
            if with_custom {
                u["custom_attributes"] = json!({"badge": format!("B-{id}")});
            }
            u
        }

        fn seen(&self) -> Vec<String> {
            self.seen.lock().unwrap().clone()
        }
    }

    fn reply(
        status: u16,
        headers: Vec<(&str, String)>,
        body: &Value,
    ) -> Result<WireResponse, WireError> {
        Ok(WireResponse {
            status,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            body: serde_json::to_vec(body).unwrap(),
        })
    }

    /// `items` paged 2 at a time by a numeric cursor.
    fn paged(items: Vec<Value>, cursor: Option<&str>) -> Result<WireResponse, WireError> {
        let page: usize = cursor.map_or(0, |c| c.parse().unwrap());
        let slice: Vec<Value> = items.iter().skip(page * 2).take(2).cloned().collect();
        let mut headers = vec![("total-count", items.len().to_string())];
        if (page + 1) * 2 < items.len() {
            headers.push(("after-cursor", (page + 1).to_string()));
        }
        reply(200, headers, &Value::Array(slice))
    }

    impl Transport for Fake {
        fn send(&self, req: &WireRequest) -> Result<WireResponse, WireError> {
            let path = req.url.path().to_string();
            let query: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
            let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let q = req.url.query().map(|q| format!("?{q}")).unwrap_or_default();
            self.seen
                .lock()
                .unwrap()
                .push(format!("{} {path}{q}", req.method));
            if path == "/auth/oauth2/v2/token" {
                return reply(
                    200,
                    vec![],
                    &json!({"access_token": "t", "expires_in": 36000}),
                );
            }
            let fields = param("fields").unwrap_or_default();
            match path.as_str() {
                "/api/2/users/custom_attributes" => {
                    let defs = if self.attributes {
                        json!([{"id": 9, "name": "Badge", "shortname": "badge", "position": 1}])
                    } else {
                        json!([])
                    };
                    reply(200, vec![], &defs)
                }
                "/api/2/users" => {
                    let custom = match self.lists {
                        Lists::Whole => true,
                        Lists::OnlyWhenAsked => fields.split(',').any(|f| f == "custom_attributes"),
                        Lists::Never => false,
                    };
                    let users = (1..=5)
                        .map(|i| self.user(i, custom && self.attributes))
                        .collect();
                    paged(users, param("cursor").as_deref())
                }
                "/api/2/roles" => paged(
                    vec![
                        json!({"id": 7, "name": "Gone"}),
                        json!({"id": 8, "name": "Kept"}),
                    ],
                    param("cursor").as_deref(),
                ),
                "/api/2/roles/7/users" => reply(
                    404,
                    vec![],
                    &json!({"message": "The resource with the given id could not be found", "name": "NotFoundError", "statusCode": 404}),
                ),
                "/api/2/roles/8/users" => paged(
                    vec![
                        json!({"id": 1, "assigned": true}),
                        json!({"id": 2, "assigned": true}),
                        json!({"id": 3, "assigned": false}),
                    ],
                    param("cursor").as_deref(),
                ),
                "/api/2/roles/8/apps" => paged(
                    vec![json!({"id": 50, "name": "A"}), json!(51)],
                    param("cursor").as_deref(),
                ),
                "/api/2/apps" => paged(
                    vec![
                        json!({"id": 50, "name": "A"}),
                        json!({"id": 51, "name": "B"}),
                    ],
                    param("cursor").as_deref(),
                ),
                "/api/2/apps/50" | "/api/2/apps/51" => {
                    let id: u64 = path.rsplit('/').next().unwrap().parse().unwrap();
                    let mut app = json!({"id": id, "name": "x", "connector_id": 1,
                                         "sso": {"client_id": "c", "client_secret": "s3cr3t"}});
                    if self.app_role_ids {
                        app["role_ids"] = json!([8]);
                    }
                    reply(200, vec![], &app)
                }
                p if p.starts_with("/api/2/users/") => {
                    let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
                    reply(200, vec![], &self.user(id, self.attributes))
                }
                _ => reply(404, vec![], &json!({"message": "Not Found"})),
            }
        }
    }

    fn source(fake: Arc<Fake>) -> OneLoginSource {
        let mut opts = ClientOptions::new(Service::OneLogin);
        opts.transport = Some(fake);
        opts.max_retries = 0;
        let http = Client::new(opts).unwrap();
        OneLoginSource::new(OneLoginClient::new(
            "http://onelogin.test",
            "id",
            Secret::new("s"),
            http,
        ))
    }

    #[derive(Default)]
    struct Collect(Vec<Record>);

    impl Sink for Collect {
        fn record(&mut self, record: Record) -> Result<(), SourceError> {
            self.0.push(record);
            Ok(())
        }
    }

    fn export(src: &mut OneLoginSource, kind: Kind) -> Vec<Record> {
        let mut sink = Collect::default();
        let opts = ExportOptions {
            page_size: 2,
            ..ExportOptions::default()
        };
        src.export(&kind, &opts, &mut sink).unwrap();
        sink.0
    }

    fn user_gets(fake: &Fake) -> usize {
        fake.seen()
            .iter()
            .filter(|s| s.starts_with("GET /api/2/users/") && !s.contains("custom_attributes"))
            .count()
    }

    #[test]
    fn custom_attribute_values_are_asked_for_when_lists_leave_them_out() {
        let fake = Fake::new(Lists::OnlyWhenAsked, true);
        let mut src = source(fake.clone());
        let users = export(&mut src, Kind::User);
        assert_eq!(users.len(), 5);
        for u in &users {
            assert_eq!(u.data["custom_attributes"]["badge"], format!("B-{}", u.id));
            assert_eq!(u.data["extra_field"], "kept");
        }
        // the second listing names every documented field and the unknown one the first showed
        let asked = fake
            .seen()
            .into_iter()
            .find(|s| s.contains("fields="))
            .unwrap();
        for f in [
            "custom_attributes",
            "extra_field",
            "preferred_locale_code",
            "role_ids",
        ] {
            assert!(asked.contains(f), "{asked}");
        }
        assert_eq!(user_gets(&fake), 0);
    }

    #[test]
    fn each_user_is_read_by_id_when_lists_never_carry_the_values() {
        let fake = Fake::new(Lists::Never, true);
        let mut src = source(fake.clone());
        let users = export(&mut src, Kind::User);
        let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3", "4", "5"]);
        assert!(
            users
                .iter()
                .all(|u| u.data["custom_attributes"]["badge"].is_string())
        );
        assert_eq!(user_gets(&fake), 5);
    }

    #[test]
    fn no_relisting_when_the_account_has_no_custom_attributes_or_lists_are_whole() {
        for (lists, attributes) in [(Lists::Never, false), (Lists::Whole, true)] {
            let fake = Fake::new(lists, attributes);
            let mut src = source(fake.clone());
            assert_eq!(export(&mut src, Kind::User).len(), 5);
            let listings = fake
                .seen()
                .iter()
                .filter(|s| s.starts_with("GET /api/2/users?"))
                .count();
            // 5 users in pages of 2, listed once
            assert_eq!(listings, 3, "{:?}", fake.seen());
            assert!(!fake.seen().iter().any(|s| s.contains("fields=")));
        }
    }

    #[test]
    fn a_role_deleted_during_the_export_is_skipped_and_unassigned_entries_left_out() {
        let fake = Fake::new(Lists::Whole, true);
        let mut src = source(fake);
        let groups = export(&mut src, Kind::Group);
        assert_eq!(groups.len(), 2);
        let members: Vec<(String, Value)> = export(&mut src, Kind::Membership)
            .into_iter()
            .map(|r| (r.id, r.data))
            .collect();
        assert_eq!(
            members,
            vec![
                ("8/1".to_string(), json!({"group_id": "8", "user_id": "1"})),
                ("8/2".to_string(), json!({"group_id": "8", "user_id": "2"})),
            ]
        );
    }

    #[test]
    fn app_assignments_come_from_app_objects_or_else_from_each_role() {
        // after the app pass: from `role_ids`, no role apps call
        let fake = Fake::new(Lists::Whole, true);
        let mut src = source(fake.clone());
        let apps = export(&mut src, Kind::App);
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0].data["sso"], json!({"client_id": "c"}));
        assert!(apps[0].warnings[0].contains("`sso.client_secret` left out"));
        let ids: Vec<String> = export(&mut src, Kind::AppAssignment)
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["50/8", "51/8"]);
        assert!(
            !fake
                .seen()
                .iter()
                .any(|s| s.contains("/apps?") && s.contains("roles"))
        );
        // without it (or with an app lacking `role_ids`): per role, objects and bare ids alike
        for app_role_ids in [true, false] {
            let fake = Arc::new(Fake {
                lists: Lists::Whole,
                attributes: true,
                app_role_ids,
                seen: Mutex::new(Vec::new()),
            });
            let mut src = source(fake.clone());
            if !app_role_ids {
                export(&mut src, Kind::App);
            }
            let recs = export(&mut src, Kind::AppAssignment);
            let ids: Vec<&str> = recs.iter().map(|r| r.id.as_str()).collect();
            assert_eq!(ids, ["50/8", "51/8"]);
            assert_eq!(recs[0].data, json!({"app_id": "50", "group_id": "8"}));
            assert!(
                fake.seen()
                    .iter()
                    .any(|s| s.starts_with("GET /api/2/roles/8/apps"))
            );
        }
    }

    #[test]
    fn since_is_sent_as_whole_seconds() {
        assert_eq!(
            whole_seconds("2026-03-04T05:06:07.890Z"),
            "2026-03-04T05:06:07Z"
        );
        assert_eq!(
            whole_seconds("2026-03-04T06:06:07+01:00"),
            "2026-03-04T05:06:07Z"
        );
        let fake = Fake::new(Lists::Whole, true);
        let mut src = source(fake.clone());
        let mut sink = Collect::default();
        let opts = ExportOptions {
            since: Some("2026-03-04T05:06:07.890Z".into()),
            ..ExportOptions::default()
        };
        src.export(&Kind::User, &opts, &mut sink).unwrap();
        assert!(
            fake.seen()
                .iter()
                .any(|s| s.contains("updated_since=2026-03-04T05%3A06%3A07Z")),
            "{:?}",
            fake.seen()
        );
    }
}
