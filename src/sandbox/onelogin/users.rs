//! `/api/2/users`: list with filters and pagination, create, partial update, get, delete
//! (onelogin-api.md §6), plus the user validation shared with the v1 endpoints.
//!
//! Validation is deliberately strict where the reference is silent, so a tool that passes
//! here is unlikely to fail on a real account: string fields are limited to
//! [`MAX_FIELD_CHARS`] characters, custom attribute values to [`MAX_CUSTOM_CHARS`], only
//! defined custom attribute shortnames are accepted, and hashed passwords must be the exact
//! lower-case hex digest OneLogin documents.

use std::collections::HashSet;

use rand::Rng as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::CreateRoles;
use super::http::{
    ApiErr, ListQuery, PageRule, Reply, check_params, json_object, list_query, matches_pattern,
    page_response, path_id, sort_param, to_bytes,
};
use super::model::{
    F_EMAIL, F_EXTERNAL_ID, F_FIRSTNAME, F_LASTNAME, F_MEMBER_OF, F_SAMACCOUNTNAME, F_USERNAME,
    OPT_INT_FIELDS, Password, STR_FIELDS, T_ACTIVATED, T_CREATED, T_LAST_LOGIN, T_PASSWORD_CHANGED,
    T_UPDATED, Tenant, User,
};
use super::{OneLogin, fmt_time, now};
use crate::sandbox::api::{SimRequest, SimResponse};

/// Longest value of a standard string field (username, email, names, …), in characters.
pub(crate) const MAX_FIELD_CHARS: usize = 255;
/// Longest custom attribute value, in characters.
pub(crate) const MAX_CUSTOM_CHARS: usize = 4000;
/// Shortest clear-text password the simulated default user policy accepts.
pub(crate) const MIN_PASSWORD_CHARS: usize = 8;
/// Longest salt `password_salt`/`salt` may have (v1 docs: ≤ 40).
pub(crate) const MAX_SALT_CHARS: usize = 40;

const LIST_PARAMS: &[&str] = &[
    "created_since",
    "created_until",
    "updated_since",
    "updated_until",
    "last_login_since",
    "last_login_until",
    "firstname",
    "lastname",
    "email",
    "username",
    "samaccountname",
    "directory_id",
    "external_id",
    "app_id",
    "user_ids",
    "fields",
    "sort",
    "role_ids",
    "member_of",
    "group_id",
];
const WRITE_PARAMS: &[&str] = &["mappings", "validate_policy"];
const SORTABLE: &[&str] = &["id", "firstname", "lastname", "username", "email"];

pub(super) fn route(ol: &OneLogin, req: &SimRequest, m: &str, rest: &[&str], route: &str) -> Reply {
    match (m, rest) {
        ("GET", []) => list(ol, req, route),
        ("POST", []) => create(ol, req, route),
        ("GET", [id]) => get(ol, path_id(id)?, route),
        ("PUT", [id]) => update(ol, req, path_id(id)?, route),
        ("DELETE", [id]) => delete(ol, path_id(id)?, route),
        ("GET", [id, "apps"]) => user_apps(ol, path_id(id)?, route),
        _ => Err(ApiErr::a(404, "Not Found")),
    }
}

fn get(ol: &OneLogin, id: u64, route: &str) -> Reply {
    let t = ol.read();
    let u = t.users.get(&id).ok_or_else(ApiErr::not_found)?;
    Ok(SimResponse::json(200, route, &u.view(&t.attrs)))
}

/// Query options of create and update.
struct WriteOpts {
    validate_policy: bool,
}

fn write_opts(req: &SimRequest) -> Result<WriteOpts, ApiErr> {
    check_params(&req.query, WRITE_PARAMS)?;
    if let Some(m) = req.query_param("mappings")
        && !matches!(m, "async" | "sync" | "disabled")
    {
        return Err(ApiErr::field(
            "mappings",
            format!("invalid value in \"mappings\": {m}"),
        ));
    }
    let validate_policy = match req.query_param("validate_policy") {
        None | Some("true") => true,
        Some("false") => false,
        Some(v) => {
            return Err(ApiErr::field(
                "validate_policy",
                format!("invalid value in \"validate_policy\": {v}"),
            ));
        }
    };
    Ok(WriteOpts { validate_policy })
}

fn create(ol: &OneLogin, req: &SimRequest, route: &str) -> Reply {
    let opts = write_opts(req)?;
    let body = json_object(req)?;
    let mut t = ol.write();
    let stamp = now();
    let step = t.rng.random_range(1..=5);
    let id = t.next_user_id;
    let mut user = User::new(id, &stamp);
    apply(&mut t, &mut user, &body, true, opts.validate_policy, &stamp)?;
    let roles = match ol.cfg.create_roles {
        CreateRoles::Take => create_roles(&t, &body)?,
        CreateRoles::Ignore => Vec::new(),
        CreateRoles::Refuse if body.contains_key("role_ids") => {
            return Err(ApiErr::bad_request("found unpermitted parameter: role_ids"));
        }
        CreateRoles::Refuse => Vec::new(),
    };
    check_unique(&t, &user, &ol.cfg.subdomain)?;
    t.next_user_id += step;
    t.insert_user(user);
    for role in roles {
        t.add_role_users(role, &[id], &stamp);
    }
    let out = SimResponse::json(201, route, &t.users[&id].view(&t.attrs));
    Ok(out)
}

/// The roles a create's `role_ids` gives the new user: an array of existing role ids (the
/// user resource's `role_ids` is a plain field of the OpenAPI description, not read-only).
/// Anything else is a 422 and no user is made.
fn create_roles(t: &Tenant, body: &serde_json::Map<String, Value>) -> Result<Vec<u64>, ApiErr> {
    let ids = match body.get("role_ids") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(ids)) => ids,
        Some(_) => return Err(ApiErr::invalid("Role ids must be an array")),
    };
    let mut roles = Vec::with_capacity(ids.len());
    for v in ids {
        let role = v
            .as_u64()
            .ok_or_else(|| ApiErr::invalid("Role ids must be integers"))?;
        if !t.roles.contains_key(&role) {
            return Err(ApiErr::invalid(format!(
                "The associated Role with ID {role} could not be found"
            )));
        }
        roles.push(role);
    }
    Ok(roles)
}

fn update(ol: &OneLogin, req: &SimRequest, id: u64, route: &str) -> Reply {
    let opts = write_opts(req)?;
    let body = json_object(req)?;
    let mut t = ol.write();
    let old = t.users.get(&id).ok_or_else(ApiErr::not_found)?.clone();
    if id == t.owner_id {
        return Err(ApiErr::invalid("The account owner cannot be modified"));
    }
    let stamp = now();
    let mut user = old.clone();
    apply(
        &mut t,
        &mut user,
        &body,
        false,
        opts.validate_policy,
        &stamp,
    )?;
    check_unique(&t, &user, &ol.cfg.subdomain)?;
    user.times[T_UPDATED] = Some(stamp.into());
    t.reindex(&old, &user);
    let out = SimResponse::json(200, route, &user.view(&t.attrs));
    t.users.insert(id, user);
    Ok(out)
}

fn delete(ol: &OneLogin, id: u64, route: &str) -> Reply {
    let mut t = ol.write();
    if !t.users.contains_key(&id) {
        return Err(ApiErr::not_found());
    }
    if id == t.owner_id {
        return Err(ApiErr::invalid("The account owner cannot be deleted"));
    }
    t.remove_user(id);
    Ok(SimResponse::empty(204, route))
}

fn user_apps(ol: &OneLogin, id: u64, route: &str) -> Reply {
    let t = ol.read();
    let u = t.users.get(&id).ok_or_else(ApiErr::not_found)?;
    let mut app_ids: Vec<u64> = u
        .role_ids
        .iter()
        .filter_map(|r| t.roles.get(r))
        .flat_map(|r| r.apps.iter().copied())
        .collect();
    app_ids.sort_unstable();
    app_ids.dedup();
    let apps: Vec<Value> = app_ids
        .iter()
        .filter_map(|a| t.apps.get(a))
        .map(|a| {
            let full = a.to_json(false);
            serde_json::json!({
                "id": a.id, "name": a.name, "icon_url": full["icon_url"], "extension": false,
                "login_id": null, "provisioning_status": null, "provisioning_state": null,
                "provisioning_enabled": a.provisioning_enabled,
            })
        })
        .collect();
    Ok(SimResponse::json(200, route, &apps))
}

/// "external_id" → "External id", as Rails words its validation messages.
pub(crate) fn humanize(field: &str) -> String {
    let s = field.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => s,
    }
}

/// Apply the fields of a create or update body to `user`, validating each.
pub(crate) fn apply(
    t: &mut Tenant,
    user: &mut User,
    body: &Map<String, Value>,
    creating: bool,
    validate_policy: bool,
    stamp: &str,
) -> Result<(), ApiErr> {
    for (k, v) in body {
        if let Some(i) = STR_FIELDS.iter().position(|f| f == k) {
            let s = match v {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                // The API returns manager ids as integers at times; accept them as written.
                Value::Number(n) if k.starts_with("manager_") => Some(n.to_string()),
                _ => return Err(ApiErr::invalid(format!("{} must be a string", humanize(k)))),
            };
            if let Some(s) = &s
                && s.chars().count() > MAX_FIELD_CHARS
            {
                return Err(ApiErr::invalid(format!(
                    "{} is too long (maximum is {MAX_FIELD_CHARS} characters)",
                    humanize(k)
                )));
            }
            // An empty username or email is no username or email.
            let s = s.filter(|s| !((i == F_EMAIL || i == F_USERNAME) && s.trim().is_empty()));
            user.set_str(i, s);
        } else if let Some(i) = OPT_INT_FIELDS.iter().position(|f| f == k) {
            user.opt_ints[i] =
                match v {
                    Value::Null => None,
                    v => Some(v.as_i64().ok_or_else(|| {
                        ApiErr::invalid(format!("{} is not a number", humanize(k)))
                    })?),
                };
        } else if k == "state" {
            match v.as_i64() {
                Some(s @ 0..=3) => user.state = s,
                _ => return Err(ApiErr::invalid("State is not included in the list")),
            }
        } else if k == "status" {
            match v.as_i64() {
                Some(s @ (0..=5 | 7 | 8)) => user.status = s,
                _ => return Err(ApiErr::invalid("Status is not included in the list")),
            }
        } else if k == "custom_attributes" {
            apply_custom(t, user, v)?;
        }
        // Everything else (read-only fields, `role_ids` (taken by a create only, see
        // `create_roles`), password fields handled below, unknown keys) is ignored, as a
        // Rails API ignores unpermitted parameters.
    }
    if let Some(email) = user.str(F_EMAIL)
        && !email_ok(email)
    {
        return Err(ApiErr::invalid("Email is invalid"));
    }
    if user.str(F_EMAIL).is_none() && user.str(F_USERNAME).is_none() {
        return Err(ApiErr::invalid("Username and email can't both be blank"));
    }
    let had_password = user.password.is_some();
    apply_password(t, user, body, validate_policy, stamp)?;
    let status_given = body.contains_key("status");
    if !status_given {
        if creating {
            user.status = if user.password.is_some() { 1 } else { 7 };
        } else if !had_password && user.password.is_some() && user.status == 7 {
            user.status = 1;
        }
    }
    if creating && user.status == 1 {
        user.times[T_ACTIVATED] = Some(stamp.into());
    }
    Ok(())
}

fn email_ok(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

fn apply_custom(t: &Tenant, user: &mut User, v: &Value) -> Result<(), ApiErr> {
    let Value::Object(map) = v else {
        if v.is_null() {
            return Ok(());
        }
        return Err(ApiErr::invalid("Custom attributes must be an object"));
    };
    for (name, value) in map {
        let Some(attr) = t.attr_by_shortname(name) else {
            return Err(ApiErr::field(
                format!("custom_attributes.{name}"),
                format!("Validation failed: Custom attribute {name} is not defined"),
            ));
        };
        let value = match value {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            _ => {
                return Err(ApiErr::field(
                    format!("custom_attributes.{name}"),
                    format!("Validation failed: Custom attribute {name} must be a string"),
                ));
            }
        };
        if value
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_CUSTOM_CHARS)
        {
            return Err(ApiErr::field(
                format!("custom_attributes.{name}"),
                format!(
                    "Validation failed: Custom attribute {name} is too long (maximum is {MAX_CUSTOM_CHARS} characters)"
                ),
            ));
        }
        user.set_custom(attr.id, value);
    }
    Ok(())
}

fn str_field<'a>(body: &'a Map<String, Value>, k: &str) -> Result<Option<&'a str>, ApiErr> {
    match body.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiErr::invalid(format!("{} must be a string", humanize(k)))),
    }
}

/// The password fields of a v2 body (`password`, `password_confirmation`,
/// `password_algorithm`, `salt`).
fn apply_password(
    t: &mut Tenant,
    user: &mut User,
    body: &Map<String, Value>,
    validate_policy: bool,
    stamp: &str,
) -> Result<(), ApiErr> {
    let password = str_field(body, "password")?;
    let confirmation = str_field(body, "password_confirmation")?;
    let algorithm = str_field(body, "password_algorithm")?;
    let salt = str_field(body, "salt")?;
    let Some(password) = password else {
        if algorithm.is_some() || confirmation.is_some() {
            return Err(ApiErr::invalid("Password can't be blank"));
        }
        return Ok(());
    };
    if confirmation != Some(password) {
        return Err(ApiErr::invalid(
            "Password confirmation doesn't match Password",
        ));
    }
    let stored = password_record(t, password, algorithm, salt.unwrap_or(""), validate_policy)?;
    user.password = Some(Box::new(stored));
    user.times[T_PASSWORD_CHANGED] = Some(stamp.into());
    Ok(())
}

/// Validate a password (clear or hashed) and turn it into what the account stores.
pub(crate) fn password_record(
    t: &mut Tenant,
    password: &str,
    algorithm: Option<&str>,
    salt: &str,
    validate_policy: bool,
) -> Result<Password, ApiErr> {
    match algorithm {
        None => {
            if validate_policy && password.chars().count() < MIN_PASSWORD_CHARS {
                return Err(ApiErr::invalid(format!(
                    "Password is too short (minimum is {MIN_PASSWORD_CHARS} characters)"
                )));
            }
            let salt_bytes: [u8; 8] = t.rng.random();
            let salt = hex::encode(salt_bytes);
            let hash = hex::encode(Sha256::digest(format!("{salt}{password}").as_bytes()));
            Ok(Password {
                algorithm: "salt+sha256".into(),
                salt,
                hash,
            })
        }
        Some(alg @ ("salt+sha256" | "sha256+salt")) => {
            let is_hex = password.len() == 64
                && password
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !is_hex {
                return Err(ApiErr::invalid(
                    "Password must be the lower-case hex SHA-256 digest for this password algorithm",
                ));
            }
            if salt.chars().count() > MAX_SALT_CHARS {
                return Err(ApiErr::invalid(format!(
                    "Salt is too long (maximum is {MAX_SALT_CHARS} characters)"
                )));
            }
            Ok(Password {
                algorithm: alg.into(),
                salt: salt.into(),
                hash: password.into(),
            })
        }
        Some("bcrypt") => {
            // the whole `$2…$` string (our reading; the reference leaves the format open)
            if crate::password::Hash::from_onelogin("bcrypt", password, salt).is_err() {
                return Err(ApiErr::invalid(
                    "Password must be a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)",
                ));
            }
            Ok(Password {
                algorithm: "bcrypt".into(),
                salt: salt.into(),
                hash: password.into(),
            })
        }
        Some(_) => Err(ApiErr::invalid(
            "Password algorithm is not included in the list",
        )),
    }
}

/// Duplicate email or username: 422 with the message real accounts send
/// (`Validation failed: Email must be unique within <subdomain>`).
pub(crate) fn check_unique(t: &Tenant, user: &User, subdomain: &str) -> Result<(), ApiErr> {
    let taken = |idx: &std::collections::HashMap<String, u64>, v: Option<&str>| {
        v.and_then(|v| idx.get(&v.to_lowercase()))
            .is_some_and(|id| *id != user.id)
    };
    let mut problems = Vec::new();
    if taken(&t.by_email, user.str(F_EMAIL)) {
        problems.push(format!("Email must be unique within {subdomain}"));
    }
    if taken(&t.by_username, user.str(F_USERNAME)) {
        problems.push(format!("Username must be unique within {subdomain}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiErr::invalid(problems.join(", ")))
    }
}

/// One filter of `GET /api/2/users`.
enum Pred {
    Str(usize, String),
    Custom(u64, String),
    Since(usize, String),
    Until(usize, String),
    OptInt(usize, i64),
    Ids(HashSet<u64>),
    AnyRole(HashSet<u64>),
}

impl Pred {
    fn matches(&self, u: &User) -> bool {
        match self {
            Pred::Str(i, p) => u.str(*i).is_some_and(|v| matches_pattern(p, v)),
            Pred::Custom(a, p) => u.custom_value(*a).is_some_and(|v| matches_pattern(p, v)),
            Pred::Since(i, s) => u.times[*i].as_deref().is_some_and(|v| v >= s.as_str()),
            Pred::Until(i, s) => u.times[*i].as_deref().is_some_and(|v| v <= s.as_str()),
            Pred::OptInt(i, n) => u.opt_ints[*i] == Some(*n),
            Pred::Ids(ids) => ids.contains(&u.id),
            Pred::AnyRole(roles) => u.role_ids.iter().any(|r| roles.contains(r)),
        }
    }
}

/// A filter timestamp in the stored format, so comparisons are string comparisons.
fn parse_time(field: &str, v: &str) -> Result<String, ApiErr> {
    let bad = || ApiErr::field(field, format!("Invalid date format for {field}: {v}"));
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(fmt_time(t.to_offset(time::UtcOffset::UTC)));
    }
    let date =
        time::Date::parse(v, format_description!("[year]-[month]-[day]")).map_err(|_| bad())?;
    Ok(fmt_time(date.midnight().assume_utc()))
}

fn parse_ids(field: &str, v: &str) -> Result<HashSet<u64>, ApiErr> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| ApiErr::bad_request(format!("Invalid {field}: {v}")))
        })
        .collect()
}

fn filters(t: &Tenant, q: &ListQuery) -> Result<Vec<Pred>, ApiErr> {
    let mut preds = Vec::new();
    for (k, v) in &q.params {
        let k = k.as_str();
        let pred = match k {
            "firstname" => Pred::Str(F_FIRSTNAME, v.clone()),
            "lastname" => Pred::Str(F_LASTNAME, v.clone()),
            "email" => Pred::Str(F_EMAIL, v.clone()),
            "username" => Pred::Str(F_USERNAME, v.clone()),
            "samaccountname" => Pred::Str(F_SAMACCOUNTNAME, v.clone()),
            "external_id" => Pred::Str(F_EXTERNAL_ID, v.clone()),
            "member_of" => Pred::Str(F_MEMBER_OF, v.clone()),
            "created_since" => Pred::Since(T_CREATED, parse_time(k, v)?),
            "created_until" => Pred::Until(T_CREATED, parse_time(k, v)?),
            "updated_since" => Pred::Since(T_UPDATED, parse_time(k, v)?),
            "updated_until" => Pred::Until(T_UPDATED, parse_time(k, v)?),
            "last_login_since" => Pred::Since(T_LAST_LOGIN, parse_time(k, v)?),
            "last_login_until" => Pred::Until(T_LAST_LOGIN, parse_time(k, v)?),
            "group_id" | "directory_id" => {
                let i = OPT_INT_FIELDS.iter().position(|f| *f == k).unwrap_or(0);
                let n = v
                    .parse::<i64>()
                    .map_err(|_| ApiErr::bad_request(format!("Invalid {k}: {v}")))?;
                Pred::OptInt(i, n)
            }
            "user_ids" => Pred::Ids(parse_ids(k, v)?),
            "role_ids" => Pred::AnyRole(parse_ids(k, v)?),
            "app_id" => {
                let app = v
                    .parse::<u64>()
                    .map_err(|_| ApiErr::bad_request(format!("Invalid app_id: {v}")))?;
                let roles = t
                    .roles
                    .values()
                    .filter(|r| r.apps.contains(&app))
                    .map(|r| r.id)
                    .collect();
                Pred::AnyRole(roles)
            }
            _ => match k.strip_prefix("custom_attributes.") {
                Some(short) => {
                    let attr = t.attr_by_shortname(short).ok_or_else(|| {
                        ApiErr::field(k, format!("Invalid custom attribute: {short}"))
                    })?;
                    Pred::Custom(attr.id, v.clone())
                }
                None => continue,
            },
        };
        preds.push(pred);
    }
    Ok(preds)
}

fn list(ol: &OneLogin, req: &SimRequest, route: &str) -> Reply {
    let q = list_query(
        req,
        PageRule {
            default: 50,
            max: 100,
        },
    )?;
    check_params(&q.params, LIST_PARAMS)?;
    let sort = sort_param(&q, SORTABLE)?;
    let fields: Option<Vec<String>> = q
        .get("fields")
        .map(|f| f.split(',').map(|s| s.trim().to_string()).collect());
    let t = ol.read();
    let preds = filters(&t, &q)?;
    let (total, page_ids): (usize, Vec<u64>) = if preds.is_empty() && sort.is_none() {
        let start = q.offset().min(t.order.len());
        let end = (start + q.limit).min(t.order.len());
        (t.order.len(), t.order[start..end].to_vec())
    } else {
        let mut ids: Vec<u64> = candidates(&t, &preds)
            .into_iter()
            .filter(|id| {
                t.users
                    .get(id)
                    .is_some_and(|u| preds.iter().all(|p| p.matches(u)))
            })
            .collect();
        if let Some((field, desc)) = &sort {
            sort_ids(&t, &mut ids, field, *desc);
        }
        let start = q.offset().min(ids.len());
        let end = (start + q.limit).min(ids.len());
        (ids.len(), ids[start..end].to_vec())
    };
    let items = page_ids
        .iter()
        .filter_map(|id| t.users.get(id))
        .map(|u| match &fields {
            None => to_bytes(&u.view(&t.attrs)),
            Some(fields) => {
                let mut v = serde_json::to_value(u.view(&t.attrs)).unwrap_or(Value::Null);
                if let Value::Object(m) = &mut v {
                    m.retain(|k, _| k == "id" || fields.iter().any(|f| f == k));
                }
                to_bytes(&v)
            }
        })
        .collect();
    Ok(page_response(req, route, &q, total, items))
}

/// The ids worth checking: an exact email or username filter goes through its index.
fn candidates(t: &Tenant, preds: &[Pred]) -> Vec<u64> {
    for p in preds {
        match p {
            Pred::Str(i, v) if (*i == F_EMAIL || *i == F_USERNAME) && !v.contains('*') => {
                let idx = if *i == F_EMAIL {
                    &t.by_email
                } else {
                    &t.by_username
                };
                return idx.get(&v.to_lowercase()).copied().into_iter().collect();
            }
            Pred::Ids(ids) => {
                let mut v: Vec<u64> = ids.iter().copied().collect();
                v.sort_unstable();
                return v;
            }
            _ => {}
        }
    }
    t.order.clone()
}

fn sort_ids(t: &Tenant, ids: &mut [u64], field: &str, desc: bool) {
    let key = |id: &u64| -> (Option<String>, u64) {
        let u = t.users.get(id);
        let s = match field {
            "id" => None,
            f => {
                let i = STR_FIELDS.iter().position(|x| *x == f).unwrap_or(0);
                u.and_then(|u| u.str(i)).map(str::to_lowercase)
            }
        };
        (s, *id)
    };
    ids.sort_by_cached_key(key);
    if desc {
        ids.reverse();
    }
}
