//! The OneLogin API client: OAuth2 token, v2 users, roles, apps, connectors and custom
//! attribute definitions, over the one shared [`crate::http::Client`].
//!
//! Why it is shaped so:
//! - **One token for every worker.** The token lives behind a mutex with a generation number.
//!   A worker that gets a 401 invalidates only the generation it used; the first worker to ask
//!   again fetches a new token while the others wait on the lock, so N workers seeing the same
//!   expired token cause exactly one refresh (OneLogin returns the same token until it expires,
//!   and a storm of token requests would eat the account's hourly quota).
//! - **Creates are checked before they are retried.** A create whose response was lost (the
//!   HTTP layer reports `outcome_unknown`) may have been committed: the object is looked up
//!   (users by email then username, roles and apps by name, attributes by shortname) and only
//!   created again when it is not there. A duplicate error is treated the same way, so a
//!   create is idempotent from the caller's point of view ([`Created`]).
//! - **Lenient parsing where the sources disagree** (see `onelogin-api.md`): role create may
//!   answer an object or an array, role apps may be objects or bare ids, ids may be numbers or
//!   strings, error bodies come in several shapes (the HTTP layer extracts the message).
//! - **Lists stream.** [`Pages`] holds one page at a time and follows `After-Cursor`, so
//!   listing 100 000 users costs the memory of one page.

use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::http::{BodyReader, Client, Request, Response};

pub mod ids;
pub mod source;
pub mod target;

pub use super::{ApiError, Created};
use crate::secrets::Secret;
pub use source::OneLoginSource;
pub use target::OneLoginTarget;

/// Page size asked for on list calls (the server clamps it to its own maximum).
pub const PAGE_LIMIT: u32 = 100;

/// Most user ids sent in one `POST /api/2/roles/{id}/users`. The API's maximum is not
/// documented (OneLogin's own migration tool sends 50): the load sends this many first, and
/// when a batch is refused and its ids are then taken in smaller batches, it keeps to the
/// smaller size for the rest of the run (see `load::edges`). 1000 is the largest page size
/// any OneLogin list takes.
pub const ROLE_USERS_BATCH: usize = 1000;

/// How many times a create whose outcome is unknown is looked up and sent again.
const CREATE_ATTEMPTS: u32 = 3;

/// A custom user attribute definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomAttribute {
    pub id: u64,
    pub name: String,
    pub shortname: String,
}

struct Token {
    value: Secret,
    refresh_at: Instant,
}

struct TokenSlot {
    current: Option<Token>,
    generation: u64,
}

/// A OneLogin API client. `Send + Sync`: share one per run (`&OneLoginClient` or `Arc`).
pub struct OneLoginClient {
    base: String,
    client_id: String,
    client_secret: Secret,
    http: Client,
    token: Mutex<TokenSlot>,
    token_fetches: AtomicU64,
    calls: AtomicU64,
    /// The server's clock minus ours, in seconds, from the first `Date` header seen.
    server_offset: OnceLock<f64>,
}

impl OneLoginClient {
    /// A client for the account at `base_url` (`https://acme.onelogin.com`, or the sandbox's
    /// `http://127.0.0.1:PORT`). No request is sent until the first call.
    pub fn new(
        base_url: &str,
        client_id: &str,
        client_secret: Secret,
        http: Client,
    ) -> OneLoginClient {
        OneLoginClient {
            base: base_url.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret,
            http,
            token: Mutex::new(TokenSlot {
                current: None,
                generation: 0,
            }),
            token_fetches: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            server_offset: OnceLock::new(),
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// How many API calls this client made (token requests included; retries made inside
    /// the HTTP layer count once).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// How many tokens this client fetched (1 for a run without expiry).
    pub fn token_fetches(&self) -> u64 {
        self.token_fetches.load(Ordering::Relaxed)
    }

    /// How far the account's clock is ahead of ours in seconds (negative: behind), from the
    /// `Date` header of the first API answer; `None` before one arrived or without the header.
    /// Exports take their `--since` bookmark on the server's clock with it.
    pub fn server_clock_offset(&self) -> Option<f64> {
        self.server_offset.get().copied()
    }

    // ---- token -------------------------------------------------------------------------

    /// Fetch a token now (checks the credentials early, before any record is read). When the
    /// quota is learned (no `--rate-limit`), also ask the account for its limit
    /// (`GET /auth/rate_limit`), so the first calls are paced by it rather than by a guess.
    pub fn authenticate(&self) -> Result<(), ApiError> {
        self.token()?;
        if self.http.options().learn {
            self.learn_rate_limit();
        }
        Ok(())
    }

    /// `GET /auth/rate_limit`: the account's limit, what is left and the seconds to the reset,
    /// in the v1 envelope's `data` (onelogin-api.md §5). Folded into the client's window; a
    /// failure only means the response headers (or the fallback rate) pace us instead.
    pub fn learn_rate_limit(&self) -> Option<crate::http::RateHeaders> {
        const WHAT: &str = "GET /auth/rate_limit";
        let body = match self.get_json("/auth/rate_limit", WHAT) {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!("{WHAT}: {e}; pacing by the response headers");
                return None;
            }
        };
        let data = body.get("data")?;
        let num = |k: &str| data.get(k).and_then(id_of);
        let h = crate::http::RateHeaders {
            limit: num("X-RateLimit-Limit")?,
            remaining: num("X-RateLimit-Remaining")?,
            reset: num("X-RateLimit-Reset")?,
        };
        if h.limit == 0 {
            return None;
        }
        tracing::info!(
            "onelogin: the account allows {} calls per window, {} left, {} s to the reset",
            h.limit,
            h.remaining,
            h.reset
        );
        self.http.learn_window("GET", "/auth/rate_limit", &h);
        Some(h)
    }

    /// The account's rate as the server gave it (per hour), once learned.
    pub fn learned_rate(&self) -> Option<crate::http::Rate> {
        self.http.learned_rate("GET", "/api/2/users")
    }

    /// The current token and its generation; fetches one when there is none or it is about
    /// to expire. The lock is held while fetching: the other workers wait for that token.
    fn token(&self) -> Result<(Secret, u64), ApiError> {
        let mut slot = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = &slot.current
            && Instant::now() < t.refresh_at
        {
            return Ok((t.value.clone(), slot.generation));
        }
        let token = self.fetch_token()?;
        slot.generation += 1;
        let value = token.value.clone();
        slot.current = Some(token);
        Ok((value, slot.generation))
    }

    /// Forget the token of `generation` (it got a 401). A newer token is kept.
    fn invalidate(&self, generation: u64) {
        let mut slot = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if slot.generation == generation {
            slot.current = None;
        }
    }

    fn fetch_token(&self) -> Result<Token, ApiError> {
        const WHAT: &str = "POST /auth/oauth2/v2/token";
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.client_id,
            self.client_secret.expose()
        ));
        let auth = Secret::new(format!("Basic {basic}"));
        let req = Request::post_json(
            self.url("/auth/oauth2/v2/token"),
            &json!({"grant_type": "client_credentials"}),
        )
        .auth_header(&auth);
        self.token_fetches.fetch_add(1, Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
        let resp = match self.http.execute(req) {
            Ok(resp) => resp,
            Err(e) => {
                let mut err = ApiError::from_http(WHAT, &e);
                if matches!(err.status, Some(400 | 401 | 403)) {
                    err.message = format!(
                        "{} (check the client id and `IDM_ONELOGIN_CLIENT_SECRET`)",
                        err.message
                    );
                }
                return Err(err);
            }
        };
        let body = json_body(WHAT, &resp)?;
        let value = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    WHAT,
                    Some(resp.status),
                    "token response without `access_token`",
                )
            })?;
        // OneLogin says 36000 s; without it assume an hour (as OneLogin's own tool does).
        // No early refresh: OneLogin hands out the *same* token until it expires, so asking
        // early would only cost a call. The token is renewed once our (later) estimate of its
        // expiry passes, or on a 401 in the moment between the server's expiry and ours.
        let ttl = body
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(3600);
        let refresh_at = Instant::now() + Duration::from_secs(ttl);
        Ok(Token {
            value: Secret::new(value),
            refresh_at,
        })
    }

    // ---- sending -----------------------------------------------------------------------

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Send a request built by `build` with the shared token; on a 401 the token is
    /// refreshed (once for all workers) and the request sent once more.
    fn send(&self, what: &str, build: impl Fn(&Secret) -> Request) -> Result<Response, ApiError> {
        self.send_with(what, build, None)
    }

    /// [`Self::send`], a successful answer's body given to `read` as it arrives.
    fn send_reading(
        &self,
        what: &str,
        build: impl Fn(&Secret) -> Request,
        read: BodyReader<'_>,
    ) -> Result<Response, ApiError> {
        self.send_with(what, build, Some(read))
    }

    fn send_with(
        &self,
        what: &str,
        build: impl Fn(&Secret) -> Request,
        mut read: Option<BodyReader<'_>>,
    ) -> Result<Response, ApiError> {
        let mut refreshed = false;
        loop {
            let (token, generation) = self.token()?;
            self.calls.fetch_add(1, Ordering::Relaxed);
            let result = match read.as_mut() {
                Some(read) => self.http.execute_reading(build(&token), &mut **read),
                None => self.http.execute(build(&token)),
            };
            if self.server_offset.get().is_none()
                && let Ok(resp) = &result
                && let Some(server) = resp.header("date").and_then(crate::http::parse_http_date)
            {
                let local = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
                let _ = self.server_offset.set(server - local);
            }
            let err = match result {
                Ok(resp) if resp.status < 400 => return Ok(resp),
                Ok(resp) => error_from_response(what, &resp),
                Err(e) => ApiError::from_http(what, &e),
            };
            if err.status == Some(401) && !refreshed {
                refreshed = true;
                self.invalidate(generation);
                continue;
            }
            return Err(err);
        }
    }

    /// One object by its path (`/api/2/users/42`).
    pub fn get_object(&self, path: &str) -> Result<Value, ApiError> {
        let what = format!("GET {}", crate::http::limiter::template_path(path));
        self.get_json(path, &what)
    }

    fn get_json(&self, path: &str, what: &str) -> Result<Value, ApiError> {
        let url = self.url(path);
        let resp = self.send(what, |t| Request::get(&url).bearer(t))?;
        json_body(what, &resp)
    }

    /// A create: not retried by the HTTP layer when its outcome is unknown.
    fn post_create(&self, path: &str, what: &str, body: &Value) -> Result<Value, ApiError> {
        let url = self.url(path);
        let resp = self.send(what, |t| {
            Request::post_json(&url, body).bearer(t).not_idempotent()
        })?;
        json_body(what, &resp)
    }

    /// Run `create`; when its outcome is unknown or it reports a duplicate, `lookup` decides
    /// whether the object is there, and the create is sent again only when it is not.
    fn create_checked(
        &self,
        create: impl Fn() -> Result<Value, ApiError>,
        lookup: impl Fn() -> Result<Option<u64>, ApiError>,
        what: &str,
    ) -> Result<Created<u64>, ApiError> {
        self.create_answered(create, lookup, what).map(|(c, _)| c)
    }

    /// [`Self::create_checked`], with the create's answer when it came back (`None` when
    /// the object was found by `lookup` instead).
    fn create_answered(
        &self,
        create: impl Fn() -> Result<Value, ApiError>,
        lookup: impl Fn() -> Result<Option<u64>, ApiError>,
        what: &str,
    ) -> Result<(Created<u64>, Option<Value>), ApiError> {
        let mut lost_once = false;
        for _ in 0..CREATE_ATTEMPTS {
            match create() {
                Ok(body) => {
                    let id = created_id(&body)
                        .ok_or_else(|| ApiError::new(what, None, "response without an `id`"))?;
                    return Ok((Created::New(id), Some(body)));
                }
                Err(e) if e.outcome_unknown => {
                    if let Some(id) = lookup()? {
                        return Ok((Created::New(id), None));
                    }
                    lost_once = true;
                }
                Err(e) if e.is_duplicate() => {
                    return match lookup()? {
                        // After a lost attempt the duplicate is our own earlier create.
                        Some(id) if lost_once => Ok((Created::New(id), None)),
                        Some(id) => Ok((Created::Existing(id), None)),
                        None => Err(e),
                    };
                }
                Err(e) => return Err(e),
            }
        }
        Err(ApiError {
            what: what.to_string(),
            status: None,
            field: None,
            code: None,
            message: format!("no answer after {CREATE_ATTEMPTS} attempts and not found by lookup"),
            outcome_unknown: true,
        })
    }

    // ---- lists -------------------------------------------------------------------------

    /// A paged list of `path` with `params`, one item at a time.
    pub fn pages(&self, path: &str, params: &[(&str, &str)]) -> Pages<'_> {
        self.pages_with(path, params, decode_values)
    }

    /// A paged list of `path` whose items are decoded as `T`s, page by page.
    pub fn pages_of<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Pages<'_, T> {
        self.pages_with(path, params, decode_typed::<T>)
    }

    fn pages_with<T>(
        &self,
        path: &str,
        params: &[(&str, &str)],
        decode: Decode<T>,
    ) -> Pages<'_, T> {
        Pages {
            decode,
            client: self,
            path: path.to_string(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cursor: None,
            started: false,
            done: false,
            buffer: VecDeque::new(),
            total: None,
            limit: PAGE_LIMIT,
        }
    }

    /// All users (`params` may filter or project, e.g. `[("fields", "id,email,username")]`).
    pub fn list_users(&self, params: &[(&str, &str)]) -> Pages<'_> {
        self.pages("/api/2/users", params)
    }

    /// All roles (with `users` and `apps` when the server includes them).
    pub fn list_roles(&self) -> Pages<'_> {
        self.pages("/api/2/roles", &[])
    }

    /// All apps (summary objects).
    pub fn list_apps(&self) -> Pages<'_> {
        self.pages("/api/2/apps", &[])
    }

    /// All connectors.
    pub fn list_connectors(&self) -> Pages<'_> {
        self.pages("/api/2/connectors", &[])
    }

    /// The users of a role (objects with `id`).
    pub fn role_users(&self, role_id: u64) -> Pages<'_> {
        self.pages(&format!("/api/2/roles/{role_id}/users"), &[])
    }

    // ---- custom attributes -------------------------------------------------------------

    /// The account's custom user attribute definitions.
    pub fn list_custom_attributes(&self) -> Result<Vec<CustomAttribute>, ApiError> {
        const WHAT: &str = "GET /api/2/users/custom_attributes";
        let body = self.get_json("/api/2/users/custom_attributes", WHAT)?;
        let items =
            list_items(&body).ok_or_else(|| ApiError::new(WHAT, None, "expected a JSON array"))?;
        Ok(items
            .iter()
            .filter_map(|item| {
                Some(CustomAttribute {
                    id: id_of(item.get("id")?)?,
                    name: str_field(item, "name").unwrap_or_default().to_string(),
                    shortname: str_field(item, "shortname")?.to_string(),
                })
            })
            .collect())
    }

    /// Create the custom attribute `shortname` (label `name`) and return its id. One that
    /// already exists (duplicate error, or a lost answer) is looked up instead.
    pub fn create_custom_attribute(&self, shortname: &str, name: &str) -> Result<u64, ApiError> {
        const WHAT: &str = "POST /api/2/users/custom_attributes";
        let body = json!({"user_field": {"name": name, "shortname": shortname}});
        let created = self.create_checked(
            || self.post_create("/api/2/users/custom_attributes", WHAT, &body),
            || {
                Ok(self
                    .list_custom_attributes()?
                    .into_iter()
                    .find(|a| a.shortname == shortname)
                    .map(|a| a.id))
            },
            WHAT,
        )?;
        Ok(created.id())
    }

    // ---- users -------------------------------------------------------------------------

    /// Create a user from a v2 payload. A lost answer or a duplicate email/username is
    /// resolved by looking the user up by email, then username.
    pub fn create_user(&self, payload: &Value) -> Result<Created<u64>, ApiError> {
        self.create_user_with_roles(payload, &[]).map(|(c, _)| c)
    }

    /// Create a user given `roles` (`role_ids` in the create). Returns, besides the user,
    /// the roles the create's answer shows the user has among those asked: `None` when no
    /// answer came back (the user was found by lookup), and then nothing is known of them.
    pub fn create_user_with_roles(
        &self,
        payload: &Value,
        roles: &[u64],
    ) -> Result<(Created<u64>, Option<Vec<u64>>), ApiError> {
        const WHAT: &str = "POST /api/2/users";
        let with_roles;
        let body = if roles.is_empty() {
            payload
        } else {
            let mut b = payload.clone();
            if let Some(obj) = b.as_object_mut() {
                obj.insert("role_ids".into(), json!(roles));
            }
            with_roles = b;
            &with_roles
        };
        let email = str_field(payload, "email");
        let username = str_field(payload, "username");
        let (created, answer) = self.create_answered(
            || self.post_create("/api/2/users", WHAT, body),
            || self.find_user(email, username),
            WHAT,
        )?;
        let taken = answer.map(|a| {
            let has: Vec<u64> = a
                .get("role_ids")
                .and_then(Value::as_array)
                .map(|ids| ids.iter().filter_map(id_of).collect())
                .unwrap_or_default();
            roles.iter().copied().filter(|r| has.contains(r)).collect()
        });
        Ok((created, taken))
    }

    /// Update a user (partial: only the fields in `payload` change).
    pub fn update_user(&self, id: u64, payload: &Value) -> Result<(), ApiError> {
        let what = "PUT /api/2/users/{id}";
        let url = self.url(&format!("/api/2/users/{id}"));
        self.send(what, |t| Request::put_json(&url, payload).bearer(t))
            .map(|_| ())
    }

    /// The user with this email or, failing that, this username.
    pub fn find_user(
        &self,
        email: Option<&str>,
        username: Option<&str>,
    ) -> Result<Option<u64>, ApiError> {
        if let Some(email) = email.filter(|e| !e.is_empty())
            && let Some(id) = self.find_user_by_email(email)?
        {
            return Ok(Some(id));
        }
        match username.filter(|u| !u.is_empty()) {
            Some(username) => self.find_user_by_username(username),
            None => Ok(None),
        }
    }

    /// The id of the user whose email is `email` (exact, case-insensitive), if any.
    pub fn find_user_by_email(&self, email: &str) -> Result<Option<u64>, ApiError> {
        self.find_user_by("email", email)
    }

    /// The id of the user whose username is `username` (exact, case-insensitive), if any.
    pub fn find_user_by_username(&self, username: &str) -> Result<Option<u64>, ApiError> {
        self.find_user_by("username", username)
    }

    fn find_user_by(&self, field: &str, value: &str) -> Result<Option<u64>, ApiError> {
        // A `*` in the value would be a wildcard: filter client-side on the exact value.
        for user in self.list_users(&[(field, value), ("fields", "id,email,username")]) {
            let user = user?;
            if str_field(&user, field).is_some_and(|v| v.eq_ignore_ascii_case(value))
                && let Some(id) = user.get("id").and_then(id_of)
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    // ---- roles -------------------------------------------------------------------------

    /// Create a role named `name` (or find the one a lost create made).
    pub fn create_role(&self, name: &str) -> Result<Created<u64>, ApiError> {
        const WHAT: &str = "POST /api/2/roles";
        let body = json!({ "name": name });
        self.create_checked(
            || self.post_create("/api/2/roles", WHAT, &body),
            || self.find_role(name),
            WHAT,
        )
    }

    /// Rename a role.
    pub fn update_role(&self, id: u64, name: &str) -> Result<(), ApiError> {
        let url = self.url(&format!("/api/2/roles/{id}"));
        let body = json!({ "name": name });
        self.send("PUT /api/2/roles/{id}", |t| {
            Request::put_json(&url, &body).bearer(t)
        })
        .map(|_| ())
    }

    /// Delete a role.
    pub fn delete_role(&self, id: u64) -> Result<(), ApiError> {
        let url = self.url(&format!("/api/2/roles/{id}"));
        self.send("DELETE /api/2/roles/{id}", |t| {
            Request::delete(&url).bearer(t)
        })
        .map(|_| ())
    }

    /// The id of the role named exactly `name`, if any.
    pub fn find_role(&self, name: &str) -> Result<Option<u64>, ApiError> {
        // The docs filter with `name`, the spec with `role_name`: check names client-side.
        for role in self.pages("/api/2/roles", &[("name", name)]) {
            let role = role?;
            if str_field(&role, "name") == Some(name)
                && let Some(id) = role.get("id").and_then(id_of)
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Add users to a role: raw arrays of ids, [`ROLE_USERS_BATCH`] per call. Adding a
    /// member twice is harmless, so these calls are retried like reads.
    pub fn add_role_users(&self, role_id: u64, user_ids: &[u64]) -> Result<(), ApiError> {
        let url = self.url(&format!("/api/2/roles/{role_id}/users"));
        for chunk in user_ids.chunks(ROLE_USERS_BATCH) {
            self.send("POST /api/2/roles/{id}/users", |t| {
                Request::post_json(&url, &chunk).bearer(t)
            })?;
        }
        Ok(())
    }

    /// Remove users from a role (raw array body; an object body is refused by the API).
    pub fn remove_role_users(&self, role_id: u64, user_ids: &[u64]) -> Result<(), ApiError> {
        let url = self.url(&format!("/api/2/roles/{role_id}/users"));
        for chunk in user_ids.chunks(ROLE_USERS_BATCH) {
            self.send("DELETE /api/2/roles/{id}/users", |t| {
                Request::delete_json(&url, &chunk).bearer(t)
            })?;
        }
        Ok(())
    }

    /// The ids of the apps assigned to a role (objects or bare ids are both accepted).
    pub fn role_apps(&self, role_id: u64) -> Result<Vec<u64>, ApiError> {
        self.pages(&format!("/api/2/roles/{role_id}/apps"), &[])
            .map(|item| {
                let item = item?;
                id_of(item.get("id").unwrap_or(&item)).ok_or_else(|| {
                    ApiError::new("GET /api/2/roles/{id}/apps", None, "app without an `id`")
                })
            })
            .collect()
    }

    /// Replace the set of apps of a role with `app_ids` (the API replaces, it does not add:
    /// callers merge with [`OneLoginClient::role_apps`] first).
    pub fn set_role_apps(&self, role_id: u64, app_ids: &[u64]) -> Result<(), ApiError> {
        let url = self.url(&format!("/api/2/roles/{role_id}/apps"));
        self.send("PUT /api/2/roles/{id}/apps", |t| {
            Request::put_json(&url, &app_ids).bearer(t)
        })
        .map(|_| ())
    }

    // ---- apps --------------------------------------------------------------------------

    /// Create an app from a v2 payload (`connector_id`, `name`, …), or find the one a lost
    /// create made (by exact name and connector).
    pub fn create_app(&self, payload: &Value) -> Result<Created<u64>, ApiError> {
        const WHAT: &str = "POST /api/2/apps";
        let name = str_field(payload, "name").unwrap_or_default();
        let connector = payload.get("connector_id").and_then(id_of);
        self.create_checked(
            || self.post_create("/api/2/apps", WHAT, payload),
            || self.find_app(name, connector),
            WHAT,
        )
    }

    /// Update an app.
    pub fn update_app(&self, id: u64, payload: &Value) -> Result<(), ApiError> {
        let url = self.url(&format!("/api/2/apps/{id}"));
        self.send("PUT /api/2/apps/{id}", |t| {
            Request::put_json(&url, payload).bearer(t)
        })
        .map(|_| ())
    }

    /// The id of the app named exactly `name` (and of `connector_id`, when given), if any.
    pub fn find_app(&self, name: &str, connector_id: Option<u64>) -> Result<Option<u64>, ApiError> {
        if name.is_empty() {
            return Ok(None);
        }
        for app in self.pages("/api/2/apps", &[("name", name)]) {
            let app = app?;
            let same_connector = match connector_id {
                Some(c) => app.get("connector_id").and_then(id_of) == Some(c),
                None => true,
            };
            if str_field(&app, "name") == Some(name)
                && same_connector
                && let Some(id) = app.get("id").and_then(id_of)
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }
}

/// A paged v2 list, one item at a time: follows `After-Cursor` until it is absent or empty.
pub struct Pages<'a, T = Value> {
    client: &'a OneLoginClient,
    path: String,
    params: Vec<(String, String)>,
    cursor: Option<String>,
    started: bool,
    done: bool,
    buffer: VecDeque<T>,
    total: Option<u64>,
    limit: u32,
    /// A page's items and the cursor of its envelope, if any, from its body.
    decode: Decode<T>,
}

/// Decodes a page's body: its items and the cursor of its envelope, if any.
type Decode<T> = fn(&mut dyn BufRead) -> Result<(Vec<T>, Option<String>), PageError>;

/// Why a page could not be decoded: its body could not be read (the request is retried), or
/// it is not what a list answers.
enum PageError {
    Read(std::io::Error),
    Bad(String),
}

impl PageError {
    fn json(e: serde_json::Error) -> PageError {
        if e.is_io() {
            PageError::Read(e.into())
        } else {
            PageError::Bad(format!("response is not JSON: {e}"))
        }
    }
}

/// The first byte of the body that is not white space, without taking it; `None`: the body
/// is empty or blank.
fn first_byte(body: &mut dyn BufRead) -> Result<Option<u8>, PageError> {
    loop {
        let buf = body.fill_buf().map_err(PageError::Read)?;
        if buf.is_empty() {
            return Ok(None);
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let b = buf[i];
                body.consume(i);
                return Ok(Some(b));
            }
            None => {
                let n = buf.len();
                body.consume(n);
            }
        }
    }
}

/// A page as JSON values.
fn decode_values(body: &mut dyn BufRead) -> Result<(Vec<Value>, Option<String>), PageError> {
    let body: Value = match first_byte(body)? {
        None => Value::Null,
        Some(_) => serde_json::from_reader(body).map_err(PageError::json)?,
    };
    let cursor = envelope_cursor(&body);
    // the items are moved out of the page, not copied
    let items = take_list_items(body).ok_or(PageError::Bad("expected a JSON array".into()))?;
    Ok((items, cursor))
}

/// A page decoded straight into `T`s as it arrives, without a tree of JSON values or the
/// whole body: a page of roles with their users holds a value per member (tens of MB for a
/// large tenant).
fn decode_typed<T: serde::de::DeserializeOwned>(
    body: &mut dyn BufRead,
) -> Result<(Vec<T>, Option<String>), PageError> {
    #[derive(serde::Deserialize)]
    #[serde(bound = "T: serde::de::DeserializeOwned")]
    struct Envelope<T> {
        data: Option<Vec<T>>,
        pagination: Option<Value>,
    }
    match first_byte(body)? {
        Some(b'[') => serde_json::from_reader(body)
            .map(|items| (items, None))
            .map_err(PageError::json),
        Some(b'{') => {
            let env: Envelope<T> = serde_json::from_reader(body).map_err(PageError::json)?;
            let cursor = env
                .pagination
                .map(|p| json!({ "pagination": p }))
                .and_then(|b| envelope_cursor(&b));
            Ok((
                env.data
                    .ok_or(PageError::Bad("expected a JSON array".into()))?,
                cursor,
            ))
        }
        _ => Err(PageError::Bad("expected a JSON array".into())),
    }
}

impl<T> Pages<'_, T> {
    /// Ask for `limit` items per page instead of [`PAGE_LIMIT`] (the server clamps it).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit.max(1);
        self
    }

    /// `Total-Count` of the list, once the first page has been read (when the server sends it).
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    fn fetch(&mut self) -> Result<(), ApiError> {
        let what = format!("GET {}", self.path);
        let mut url = url::Url::parse(&self.client.url(&self.path))
            .map_err(|e| ApiError::new(&what, None, format!("bad URL: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &self.limit.to_string());
            for (k, v) in &self.params {
                q.append_pair(k, v);
            }
            if let Some(c) = &self.cursor {
                q.append_pair("cursor", c);
            }
        }
        let url = url.to_string();
        // the page is decoded as it arrives; a body cut short is read again with its request
        let decode = self.decode;
        let mut page = None;
        let resp =
            self.client
                .send_reading(
                    &what,
                    |t| Request::get(&url).bearer(t),
                    &mut |body| match decode(body) {
                        Err(PageError::Read(e)) => Err(e),
                        Err(PageError::Bad(why)) => {
                            page = Some(Err(why));
                            Ok(())
                        }
                        Ok(items) => {
                            page = Some(Ok(items));
                            Ok(())
                        }
                    },
                )?;
        let (items, envelope_cursor) = page
            .unwrap_or_else(|| Err("the answer has no body".into()))
            .map_err(|e| ApiError::new(&what, Some(resp.status), e))?;
        if self.total.is_none() {
            self.total = resp
                .header("Total-Count")
                .and_then(|v| v.trim().parse().ok());
        }
        let next = resp
            .header("After-Cursor")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .or(envelope_cursor);
        let empty = items.is_empty();
        self.buffer.extend(items);
        // A server repeating the same cursor would loop forever; an empty page ends too.
        self.done = next.is_none() || next == self.cursor || empty;
        self.cursor = next;
        Ok(())
    }
}

impl<T> Iterator for Pages<'_, T> {
    type Item = Result<T, ApiError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Some(Ok(item));
            }
            if self.done && self.started {
                return None;
            }
            self.started = true;
            if let Err(e) = self.fetch() {
                self.done = true;
                return Some(Err(e));
            }
            if self.buffer.is_empty() && self.done {
                return None;
            }
        }
    }
}

/// The items of a list body: a bare array (v2), or `{"data": [...]}` (defensive).
fn list_items(body: &Value) -> Option<&Vec<Value>> {
    match body {
        Value::Array(items) => Some(items),
        Value::Object(map) => map.get("data").and_then(Value::as_array),
        _ => None,
    }
}

/// The items of a list body, owned: see [`list_items`].
fn take_list_items(body: Value) -> Option<Vec<Value>> {
    match body {
        Value::Array(items) => Some(items),
        Value::Object(mut map) => match map.swap_remove("data") {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        },
        _ => None,
    }
}

/// The next cursor of an enveloped list (`pagination.after_cursor|next_cursor|cursor`).
fn envelope_cursor(body: &Value) -> Option<String> {
    let p = body.get("pagination")?;
    ["after_cursor", "next_cursor", "cursor"]
        .iter()
        .find_map(|k| p.get(*k).and_then(Value::as_str))
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

/// A numeric id from a number or a string of digits.
pub fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The id of a created object: `{"id":1}`, `[{"id":1}]` (role create per the docs), or a
/// `data`/`user` envelope.
fn created_id(body: &Value) -> Option<u64> {
    match body {
        Value::Array(items) => items.first().and_then(created_id),
        Value::Object(map) => map
            .get("id")
            .and_then(id_of)
            .or_else(|| map.get("data").and_then(created_id))
            .or_else(|| map.get("user").and_then(created_id)),
        _ => None,
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn json_body(what: &str, resp: &Response) -> Result<Value, ApiError> {
    let body = resp.body();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            what,
            Some(resp.status),
            format!("response is not JSON: {e}"),
        )
    })
}

/// An error from a response the HTTP layer handed back with an error status.
fn error_from_response(what: &str, resp: &Response) -> ApiError {
    let body: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
    let mut err = ApiError::new(what, Some(resp.status), error_message(&body, resp.status));
    err.field = str_field(&body, "field").map(str::to_string);
    err
}

/// The message of any of OneLogin's error shapes: `message`, `description`,
/// `status.message` (a string or `{attribute, description}`), `error`, `name`.
pub fn error_message(body: &Value, status: u16) -> String {
    let text = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Object(o) => o
                .get("description")
                .or_else(|| o.get("message"))
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => None,
        }
    };
    body.get("message")
        .and_then(text)
        .or_else(|| body.get("description").and_then(text))
        .or_else(|| {
            body.get("status")
                .and_then(|s| s.get("message"))
                .and_then(text)
        })
        .or_else(|| body.get("error").and_then(text))
        .or_else(|| body.get("name").and_then(text))
        .unwrap_or_else(|| format!("HTTP {status}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_of_every_shape() {
        let a = json!({"message":"Unauthorized","statusCode":401,"name":"UnauthorizedError"});
        assert_eq!(error_message(&a, 401), "Unauthorized");
        let b = json!({"status":400,"error":"BadRequestError","description":"Expected array in request"});
        assert_eq!(error_message(&b, 400), "Expected array in request");
        let c = json!({"status":{"error":true,"code":400,"type":"bad request","message":{"attribute":"id","description":"ID is incorrect"}}});
        assert_eq!(error_message(&c, 400), "ID is incorrect");
        let d = json!({"error":true,"code":422,"type":"UnprocessableEntityError","message":"Validation failed: Value has already been taken"});
        assert_eq!(
            error_message(&d, 422),
            "Validation failed: Value has already been taken"
        );
        assert_eq!(error_message(&Value::Null, 502), "HTTP 502");
    }

    #[test]
    fn duplicates_and_account_owner_are_recognised() {
        let dup = ApiError::new(
            "POST /api/2/users",
            Some(422),
            "Validation failed: Email must be unique within acme",
        );
        assert!(dup.is_duplicate());
        assert!(dup.is_per_object());
        let taken = ApiError::new("x", Some(400), "Shortname has already been taken");
        assert!(taken.is_duplicate());
        let conflict = ApiError::new("x", Some(409), "Conflict");
        assert!(conflict.is_duplicate());
        let other = ApiError::new("x", Some(422), "Validation failed: Phone is invalid");
        assert!(!other.is_duplicate());
        let owner = ApiError::new(
            "x",
            Some(422),
            "Validation failed: The account owner cannot be modified",
        );
        assert!(owner.is_account_owner());
        let down = ApiError::new("x", None, "connection refused");
        assert!(down.is_unreachable() && !down.is_per_object());
        assert!(ApiError::new("x", Some(401), "Unauthorized").is_auth());
    }

    #[test]
    fn created_ids_in_every_shape() {
        assert_eq!(created_id(&json!({"id": 12})), Some(12));
        assert_eq!(created_id(&json!([{"id": 13}])), Some(13));
        assert_eq!(created_id(&json!({"id": "14"})), Some(14));
        assert_eq!(created_id(&json!({"data": {"id": 15}})), Some(15));
        assert_eq!(created_id(&json!({"user": [{"id": 16}]})), Some(16));
        assert_eq!(created_id(&json!({"name": "x"})), None);
    }

    #[test]
    fn list_bodies_and_cursors() {
        let bare = json!([{"id": 1}]);
        assert_eq!(list_items(&bare).map(Vec::len), Some(1));
        let env = json!({"data": [{"id": 1}, {"id": 2}], "pagination": {"next_cursor": "abc"}});
        assert_eq!(list_items(&env).map(Vec::len), Some(2));
        assert_eq!(envelope_cursor(&env).as_deref(), Some("abc"));
        assert_eq!(list_items(&json!("x")), None);
    }

    use std::sync::{Arc, Barrier};

    use crate::http::{
        ClientOptions, Service, Transport, TransportKind, WireError, WireRequest, WireResponse,
    };

    /// A tiny OneLogin over a scripted transport: tokens with generations, users with paged
    /// lists, a switch that drops the answer of the next create after committing it.
    #[derive(Default)]
    struct Fake {
        inner: Mutex<FakeState>,
        /// When set, requests with a stale token wait here until all workers have one.
        stale_barrier: Option<Barrier>,
    }

    #[derive(Default)]
    struct FakeState {
        token_gen: u64,
        token_requests: u64,
        /// The server forgot the current token (it expired).
        expired: bool,
        users: Vec<(u64, String, String)>,
        lose_next_create: bool,
        creates: u64,
    }

    fn resp(
        status: u16,
        headers: Vec<(&str, String)>,
        body: Value,
    ) -> Result<WireResponse, WireError> {
        Ok(WireResponse {
            status,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            body: serde_json::to_vec(&body).unwrap(),
        })
    }

    impl Transport for Fake {
        fn send(&self, req: &WireRequest) -> Result<WireResponse, WireError> {
            let path = req.url.path().to_string();
            let query: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
            let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            if path == "/auth/oauth2/v2/token" {
                let mut st = self.inner.lock().unwrap();
                let auth = req
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("authorization"));
                let expected = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode("id:s3cret")
                );
                if auth.map(|(_, v)| v.as_str()) != Some(expected.as_str()) {
                    return resp(401, vec![], json!({"message": "Authentication Failure"}));
                }
                st.token_requests += 1;
                st.token_gen += 1;
                st.expired = false;
                return resp(
                    200,
                    vec![],
                    json!({"access_token": format!("tok{}", st.token_gen), "expires_in": 36000, "token_type": "bearer"}),
                );
            }
            let bearer = req
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let valid = {
                let st = self.inner.lock().unwrap();
                !st.expired && bearer == format!("Bearer tok{}", st.token_gen)
            };
            if !valid {
                if let Some(b) = &self.stale_barrier {
                    b.wait();
                }
                return resp(
                    401,
                    vec![],
                    json!({"message":"Unauthorized","statusCode":401,"name":"UnauthorizedError"}),
                );
            }
            let mut st = self.inner.lock().unwrap();
            match (req.method.as_str(), path.as_str()) {
                ("GET", "/api/2/users") => {
                    let matches: Vec<&(u64, String, String)> = st
                        .users
                        .iter()
                        .filter(|(_, e, u)| {
                            param("email").is_none_or(|x| &x == e)
                                && param("username").is_none_or(|x| &x == u)
                        })
                        .collect();
                    let page: usize = param("cursor").map(|c| c.parse().unwrap()).unwrap_or(0);
                    let per = 2;
                    let items: Vec<Value> = matches
                        .iter()
                        .skip(page * per)
                        .take(per)
                        .map(|(id, e, u)| json!({"id": id, "email": e, "username": u}))
                        .collect();
                    let mut headers = vec![("Total-Count", matches.len().to_string())];
                    if (page + 1) * per < matches.len() {
                        headers.push(("After-Cursor", (page + 1).to_string()));
                    }
                    resp(200, headers, Value::Array(items))
                }
                ("POST", "/api/2/users") => {
                    let body: Value = serde_json::from_slice(req.body.as_deref().unwrap()).unwrap();
                    let email = body["email"].as_str().unwrap().to_string();
                    if st.users.iter().any(|(_, e, _)| *e == email) {
                        return resp(
                            422,
                            vec![],
                            json!({"message":"Validation failed: Email must be unique within acme","statusCode":422,"name":"UnprocessableEntityError"}),
                        );
                    }
                    st.creates += 1;
                    let id = 1000 + st.users.len() as u64;
                    st.users.push((
                        id,
                        email,
                        body["username"].as_str().unwrap_or("").to_string(),
                    ));
                    if std::mem::take(&mut st.lose_next_create) {
                        return Err(WireError {
                            kind: TransportKind::Reset,
                            reason: "lost".into(),
                        });
                    }
                    resp(201, vec![], json!({"id": id}))
                }
                _ => resp(
                    404,
                    vec![],
                    json!({"message":"The resource with the given id could not be found","name":"NotFoundError","statusCode":404}),
                ),
            }
        }
    }

    fn fake_client(fake: Arc<Fake>) -> OneLoginClient {
        let mut opts = ClientOptions::new(Service::OneLogin);
        opts.transport = Some(fake);
        opts.max_retries = 0;
        let http = Client::new(opts).unwrap();
        OneLoginClient::new("http://onelogin.test/", "id", Secret::new("s3cret"), http)
    }

    #[test]
    fn n_workers_on_an_expired_token_cause_one_refresh() {
        const WORKERS: usize = 8;
        let fake = Arc::new(Fake {
            stale_barrier: Some(Barrier::new(WORKERS)),
            ..Fake::default()
        });
        let client = fake_client(fake.clone());
        client.authenticate().unwrap();
        fake.inner.lock().unwrap().expired = true;
        std::thread::scope(|s| {
            for _ in 0..WORKERS {
                s.spawn(|| client.find_user_by_email("nobody@x").unwrap());
            }
        });
        // one token at the start, one refresh for all eight workers
        assert_eq!(fake.inner.lock().unwrap().token_requests, 2);
        assert_eq!(client.token_fetches(), 2);
    }

    #[test]
    fn bad_credentials_say_which_setting_to_check() {
        let fake = Arc::new(Fake::default());
        let mut opts = ClientOptions::new(Service::OneLogin);
        opts.transport = Some(fake);
        let http = Client::new(opts).unwrap();
        let client = OneLoginClient::new("http://x", "id", Secret::new("wrong"), http);
        let err = client.authenticate().unwrap_err();
        assert_eq!(err.status, Some(401));
        assert!(
            err.to_string().contains("IDM_ONELOGIN_CLIENT_SECRET"),
            "{err}"
        );
        assert!(!err.to_string().contains("wrong"), "{err}");
    }

    #[test]
    fn a_lost_create_is_looked_up_not_repeated() {
        let fake = Arc::new(Fake::default());
        let client = fake_client(fake.clone());
        fake.inner.lock().unwrap().lose_next_create = true;
        let created = client
            .create_user(&json!({"email": "a@x", "username": "a"}))
            .unwrap();
        assert_eq!(created, Created::New(1000));
        let st = fake.inner.lock().unwrap();
        assert_eq!(st.creates, 1);
        assert_eq!(st.users.len(), 1);
    }

    #[test]
    fn a_duplicate_is_the_existing_user() {
        let fake = Arc::new(Fake::default());
        fake.inner
            .lock()
            .unwrap()
            .users
            .push((7, "a@x".into(), "a".into()));
        let client = fake_client(fake.clone());
        let created = client.create_user(&json!({"email": "a@x"})).unwrap();
        assert_eq!(created, Created::Existing(7));
    }

    #[test]
    fn lists_follow_after_cursor_to_the_end() {
        let fake = Arc::new(Fake::default());
        for i in 0..5u64 {
            fake.inner
                .lock()
                .unwrap()
                .users
                .push((i, format!("u{i}@x"), format!("u{i}")));
        }
        let client = fake_client(fake);
        let mut pages = client.list_users(&[]);
        let ids: Vec<u64> = pages
            .by_ref()
            .map(|u| id_of(&u.unwrap()["id"]).unwrap())
            .collect();
        assert_eq!(ids, vec![0, 1, 2, 3, 4]);
        assert_eq!(pages.total(), Some(5));
        // 1 token + 3 pages
        assert_eq!(client.calls(), 4);
    }

    #[test]
    fn error_display_names_the_call_not_the_secret() {
        let e = ApiError::new("POST /api/2/users", Some(422), "Validation failed");
        assert_eq!(e.to_string(), "POST /api/2/users: 422 Validation failed");
    }
}
