//! The simulated OneLogin API: a pure request → response handler over one in-memory account.
//!
//! Built from ../shared/reference/onelogin-api.md (its §12 checklist is the scope) and the
//! OneLogin OpenAPI spec, with the spec's known defects corrected the way real clients saw the
//! live API: roles create returns one object, role users/apps take raw arrays, v2 errors are
//! `{"message","statusCode","name"}`, custom attributes live at `/api/2/users/custom_attributes`.
//! The server (rate limits, faults, stats, sockets) is elsewhere; this module does everything
//! that is about the API itself, including authentication.
//!
//! Layout: [`model`] holds the account and its indexes, [`seed`] builds the starting account,
//! [`http`] the error shapes and pagination, and one module per API area: [`auth`] (tokens,
//! revoke, rate limit, login check), [`users`], [`attributes`] (custom attribute definitions
//! and the v1 user endpoints), [`roles`], [`apps`] (apps and connectors).

mod apps;
mod attributes;
mod auth;
mod http;
mod model;
mod roles;
mod seed;
mod users;

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::sandbox::api::{RateSnapshot, SimRequest, SimResponse};
use http::ApiErr;
use model::Tenant;

/// How the simulated account is set up. `Debug` redacts the client secret.
#[derive(Clone)]
pub struct OneLoginConfig {
    /// Seeds every generated id, name and token, so the same seed gives the same account.
    pub seed: u64,
    /// Lifetime of an access token (OneLogin: 10 hours); tests set it low to force expiry.
    pub token_ttl: std::time::Duration,
    pub client_id: String,
    pub client_secret: String,
    /// The account's subdomain, quoted in duplicate-user errors.
    pub subdomain: String,
    /// Generated users on top of the seeded few, for an account that is a migration's
    /// *source*: every state and status, custom attribute values, and roles and apps in
    /// proportion, so every list pages (see `seed`).
    pub source_users: u64,
    /// Most ids one role users/admins/apps call may carry; more get a 400. No source gives the
    /// real limit (OneLogin's migration wizard sends 50 at a time), so the default is a
    /// cautious [`DEFAULT_MAX_IDS`].
    pub max_ids: usize,
    /// What a user's create does with `role_ids` (the roles the new user is given). The user
    /// resource of the OpenAPI description lists it as a writable field; no page says a
    /// create honours it, so the other two model accounts that ignore it (as they ignore
    /// fields they do not know) or refuse it.
    pub create_roles: CreateRoles,
}

/// What a user's create does with `role_ids`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CreateRoles {
    /// The new user is given those roles.
    #[default]
    Take,
    /// They are ignored: the new user has no role.
    Ignore,
    /// The create is refused (400 `found unpermitted parameter: role_ids`).
    Refuse,
}

/// The default of [`OneLoginConfig::max_ids`].
pub const DEFAULT_MAX_IDS: usize = 100;

impl std::fmt::Debug for OneLoginConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneLoginConfig")
            .field("seed", &self.seed)
            .field("token_ttl", &self.token_ttl)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("subdomain", &self.subdomain)
            .field("source_users", &self.source_users)
            .field("max_ids", &self.max_ids)
            .field("create_roles", &self.create_roles)
            .finish()
    }
}

/// A user of the Okta seed that the OneLogin account already has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollidingUser {
    pub email: String,
    pub username: String,
    pub firstname: String,
    pub lastname: String,
}

/// Objects of the Okta seed the OneLogin tenant already contains (idempotency is always
/// exercised); the server computes them from the Okta tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collisions {
    pub users: Vec<CollidingUser>,
    pub role_names: Vec<String>,
    pub attribute_shortnames: Vec<String>,
}

/// The simulated OneLogin account. `Send + Sync`; every method takes `&self`.
pub struct OneLogin {
    cfg: OneLoginConfig,
    /// Kept to re-seed on reset: regenerating is deterministic and costs less memory than a
    /// second copy of a large account.
    collisions: Collisions,
    state: RwLock<Tenant>,
}

/// Names the account and its size; never the client secret or tokens.
impl std::fmt::Debug for OneLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.read();
        f.debug_struct("OneLogin")
            .field("subdomain", &self.cfg.subdomain)
            .field("users", &t.users.len())
            .field("roles", &t.roles.len())
            .field("apps", &t.apps.len())
            .finish_non_exhaustive()
    }
}

impl OneLogin {
    /// Seed the account: the account owner, default roles, some users, roles, apps and custom
    /// attributes of its own, and the given collisions.
    pub fn new(cfg: OneLoginConfig, collisions: Collisions) -> OneLogin {
        OneLogin {
            state: RwLock::new(seed::tenant(&cfg, &collisions)),
            collisions,
            cfg,
        }
    }

    /// Every OneLogin route incl. POST /auth/oauth2/v2/token, /auth/oauth2/revoke and
    /// GET /auth/rate_limit. `rate` is the current window when the server enforces a limit,
    /// else None (then report a nominal 5000/hour window).
    pub fn handle(&self, req: &SimRequest, rate: Option<RateSnapshot>) -> SimResponse {
        let path = req.path.trim_end_matches('/');
        let segs: Vec<&str> = path.split('/').skip(1).collect();
        let m = req.method.as_str();
        match segs.as_slice() {
            ["auth", "oauth2", "v2", "token"] => {
                let route = format!("{m} /auth/oauth2/v2/token");
                if m != "POST" {
                    return no_route(&route);
                }
                auth::token(self, req).unwrap_or_else(|e| e.into_response(&route))
            }
            ["auth", "oauth2", "revoke"] => {
                let route = format!("{m} /auth/oauth2/revoke");
                if m != "POST" {
                    return no_route(&route);
                }
                auth::revoke(self, req).unwrap_or_else(|e| e.into_response(&route))
            }
            ["auth", "rate_limit"] => {
                let route = format!("{m} /auth/rate_limit");
                if m != "GET" {
                    return no_route(&route);
                }
                if !self.authorized(req) {
                    return ApiErr::c(401, "Authentication Failure").into_response(&route);
                }
                auth::rate_limit(rate, &route)
            }
            ["api", "1", rest @ ..] => {
                if !self.authorized(req) {
                    let route = format!("{m} /api/1/{}", template(rest));
                    return ApiErr::c(401, "Authentication Failure").into_response(&route);
                }
                attributes::v1(self, req, m, rest)
            }
            ["api", "2", rest @ ..] => {
                if !self.authorized(req) {
                    let route = format!("{m} /api/2/{}", template(rest));
                    return ApiErr::a(401, "Unauthorized").into_response(&route);
                }
                self.v2(req, m, rest)
            }
            _ => ApiErr::a(404, "Not Found").into_response(&format!("{m} (unmatched)")),
        }
    }

    fn v2(&self, req: &SimRequest, m: &str, rest: &[&str]) -> SimResponse {
        let route = format!("{m} /api/2/{}", template(rest));
        let reply = match (m, rest) {
            (_, ["users", "custom_attributes", ..]) => {
                attributes::v2(self, req, m, &rest[2..], &route)
            }
            (_, ["custom_attributes", ..]) => attributes::v2(self, req, m, &rest[1..], &route),
            (_, ["users", ..]) => users::route(self, req, m, &rest[1..], &route),
            (_, ["roles", ..]) => roles::route(self, req, m, &rest[1..], &route),
            (_, ["apps", ..]) => apps::route(self, req, m, &rest[1..], &route),
            ("GET", ["connectors"]) => apps::connectors(req, &route),
            _ => Err(ApiErr::a(404, "Not Found")),
        };
        reply.unwrap_or_else(|e| e.into_response(&route))
    }

    /// `{"kind","id","data"}` envelopes, data as the API itself returns it. Kinds: `user`,
    /// `role`, `membership` (`{role_id, user_id}`), `app`, `role_app` (`{role_id, app_id}`),
    /// `attribute` (custom attribute definition). Deterministic order.
    pub fn dump(&self) -> Vec<Value> {
        let t = self.read();
        let mut out = Vec::with_capacity(t.users.len() + t.roles.len() * 4 + t.apps.len() + 8);
        for id in &t.order {
            if let Some(u) = t.users.get(id) {
                let data = serde_json::to_value(u.view(&t.attrs)).unwrap_or(Value::Null);
                out.push(json!({"kind": "user", "id": id.to_string(), "data": data}));
            }
        }
        let _ = non_user_envelopes(&t, &mut |v| {
            out.push(v);
            Ok(())
        });
        out
    }

    /// The same envelopes as [`OneLogin::dump`], written as NDJSON without building every
    /// user as a JSON value first: at 100k users `dump` holds several hundred MB of
    /// `Value`s, this holds one line at a time (plus the read lock for the duration).
    pub fn write_dump(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let t = self.read();
        for id in &t.order {
            if let Some(u) = t.users.get(id) {
                write!(out, "{{\"kind\":\"user\",\"id\":\"{id}\",\"data\":")?;
                serde_json::to_writer(&mut *out, &u.view(&t.attrs))?;
                out.write_all(b"}\n")?;
            }
        }
        non_user_envelopes(&t, &mut |v| {
            serde_json::to_writer(&mut *out, &v)?;
            out.write_all(b"\n")
        })
    }

    /// Back to the seeded state (tokens too).
    pub fn reset(&self) {
        let fresh = seed::tenant(&self.cfg, &self.collisions);
        *self.write() = fresh;
    }

    /// Would `password` log this user in? `None` when the user does not exist or has no
    /// password. Every stored form (clear text, salted SHA-256 imports, bcrypt) is checked
    /// for real with `crate::password`, so a hash computed the wrong way (salt appended,
    /// Base64, upper-case hex) gives `Some(false)`.
    pub fn verify_password(&self, user_id: u64, password: &str) -> Option<bool> {
        let t = self.read();
        let stored = t.users.get(&user_id)?.password.as_ref()?;
        check_password(stored, password)
    }

    /// The id of a user by email (case-insensitive), for tests that check what a tool wrote.
    pub fn user_id_by_email(&self, email: &str) -> Option<u64> {
        self.read().by_email.get(&email.to_lowercase()).copied()
    }

    fn read(&self) -> RwLockReadGuard<'_, Tenant> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tenant> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn authorized(&self, req: &SimRequest) -> bool {
        auth::bearer_valid(&self.read(), req)
    }
}

/// Every dump envelope but the users, in dump order, one at a time.
fn non_user_envelopes(
    t: &Tenant,
    emit: &mut dyn FnMut(Value) -> std::io::Result<()>,
) -> std::io::Result<()> {
    for role in t.roles.values() {
        emit(json!({"kind": "role", "id": role.id.to_string(), "data": role.to_json()}))?;
    }
    for role in t.roles.values() {
        for uid in role.users.keys() {
            emit(
                json!({"kind": "membership", "id": format!("{}/{uid}", role.id),
                "data": {"role_id": role.id, "user_id": uid}}),
            )?;
        }
    }
    for app in t.apps.values() {
        emit(json!({"kind": "app", "id": app.id.to_string(), "data": app.to_json(false)}))?;
    }
    for role in t.roles.values() {
        for aid in &role.apps {
            emit(
                json!({"kind": "role_app", "id": format!("{}/{aid}", role.id),
                "data": {"role_id": role.id, "app_id": aid}}),
            )?;
        }
    }
    for a in &t.attrs {
        emit(json!({"kind": "attribute", "id": a.id.to_string(), "data": a.to_json()}))?;
    }
    Ok(())
}

/// Check a clear-text password against a stored one (`None`: the stored form is not one
/// the password module reads, which the write paths never let in).
fn check_password(stored: &model::Password, password: &str) -> Option<bool> {
    crate::password::Hash::from_onelogin(&stored.algorithm, &stored.hash, &stored.salt)
        .ok()
        .map(|h| h.verify(password))
}

/// 404 in the v1 envelope, as OneLogin answers a wrong method on its auth endpoints.
fn no_route(route: &str) -> SimResponse {
    ApiErr::c(404, "No Route Exists").into_response(route)
}

/// Path segments with numeric ids replaced by `{id}`, for stats.
fn template(segs: &[&str]) -> String {
    segs.iter()
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// ISO 8601 UTC with milliseconds, as OneLogin writes timestamps.
fn fmt_time(t: OffsetDateTime) -> String {
    let f =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.format(&f)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

fn now() -> String {
    fmt_time(OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests;
