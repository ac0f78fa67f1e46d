//! Custom attribute definitions (v2, onelogin-api.md §7) and the v1 user endpoints still in
//! use (§8): the nested-array custom attribute list, set_custom_attributes, the two
//! set-password endpoints, set_state, add/remove roles, and the v1 login check that lets a
//! test prove an imported password hash really works.
//!
//! The v2 definitions are served at both `/api/2/users/custom_attributes` and
//! `/api/2/custom_attributes`, wrapped (`{"user_field":{…}}`) or not, because OneLogin's own
//! docs and SDKs disagree on both; v1 endpoints answer in the v1 status envelope (shape C).

use serde_json::{Map, Value, json};
use sha2::Digest as _;

use super::http::{ApiErr, Reply, check_params_strict, json_object, path_id, v1_ok};
use super::model::{Attr, F_EMAIL, F_FIRSTNAME, F_LASTNAME, F_USERNAME};
use super::users::password_record;
use super::{OneLogin, check_password, now, template};
use crate::sandbox::api::{SimRequest, SimResponse};

/// Longest custom attribute shortname accepted.
pub(crate) const MAX_SHORTNAME_CHARS: usize = 64;

/// `/api/2/users/custom_attributes[/{id}]` and `/api/2/custom_attributes[/{id}]`.
pub(super) fn v2(ol: &OneLogin, req: &SimRequest, m: &str, rest: &[&str], route: &str) -> Reply {
    check_params_strict(&req.query, &[])?;
    match (m, rest) {
        ("GET", []) => {
            let t = ol.read();
            let list: Vec<Value> = t.attrs.iter().map(Attr::to_json).collect();
            Ok(SimResponse::json(200, route, &list))
        }
        ("POST", []) => {
            let def = definition(req)?;
            let mut t = ol.write();
            let name = required(&def, "name")?;
            let shortname = required(&def, "shortname")?;
            check_shortname(&shortname)?;
            if t.attrs
                .iter()
                .any(|a| a.shortname.eq_ignore_ascii_case(&shortname))
            {
                return Err(ApiErr::invalid("Shortname has already been taken"));
            }
            let position = position(&def)?;
            let attr = Attr {
                id: t.next_attr_id,
                name,
                shortname,
                position,
            };
            t.next_attr_id += 1;
            let out = SimResponse::json(201, route, &attr.to_json());
            t.attrs.push(attr);
            t.sort_attrs();
            Ok(out)
        }
        ("GET", [id]) => {
            let id = path_id(id)?;
            let t = ol.read();
            let a = t.attrs.iter().find(|a| a.id == id);
            let a = a.ok_or_else(ApiErr::not_found)?;
            Ok(SimResponse::json(200, route, &a.to_json()))
        }
        ("PUT", [id]) => {
            let id = path_id(id)?;
            let def = definition(req)?;
            let mut t = ol.write();
            let idx = t.attrs.iter().position(|a| a.id == id);
            let idx = idx.ok_or_else(ApiErr::not_found)?;
            if let Some(name) = optional(&def, "name")? {
                t.attrs[idx].name = name;
            }
            if let Some(short) = optional(&def, "shortname")? {
                check_shortname(&short)?;
                if t.attrs
                    .iter()
                    .any(|a| a.id != id && a.shortname.eq_ignore_ascii_case(&short))
                {
                    return Err(ApiErr::invalid("Shortname has already been taken"));
                }
                t.attrs[idx].shortname = short;
            }
            if def.contains_key("position") {
                t.attrs[idx].position = position(&def)?;
            }
            let out = SimResponse::json(200, route, &t.attrs[idx].to_json());
            t.sort_attrs();
            Ok(out)
        }
        ("DELETE", [id]) => {
            let id = path_id(id)?;
            let mut t = ol.write();
            let before = t.attrs.len();
            t.attrs.retain(|a| a.id != id);
            if t.attrs.len() == before {
                return Err(ApiErr::not_found());
            }
            // Deleting a field removes every user's value of it.
            for u in t.users.values_mut() {
                if !u.custom.is_empty() {
                    u.set_custom(id, None);
                }
            }
            Ok(SimResponse::empty(204, route))
        }
        _ => Err(ApiErr::a(404, "Not Found")),
    }
}

/// The definition of a create/update body, wrapped in `user_field` or not.
fn definition(req: &SimRequest) -> Result<Map<String, Value>, ApiErr> {
    let mut body = json_object(req)?;
    match body.remove("user_field") {
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(ApiErr::invalid("User field must be an object")),
        None => Ok(body),
    }
}

fn optional(def: &Map<String, Value>, k: &str) -> Result<Option<String>, ApiErr> {
    match def.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Err(ApiErr::invalid(format!(
            "{} can't be blank",
            super::users::humanize(k)
        ))),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiErr::invalid(format!(
            "{} must be a string",
            super::users::humanize(k)
        ))),
    }
}

fn required(def: &Map<String, Value>, k: &str) -> Result<String, ApiErr> {
    optional(def, k)?
        .ok_or_else(|| ApiErr::invalid(format!("{} can't be blank", super::users::humanize(k))))
}

fn position(def: &Map<String, Value>) -> Result<Option<i64>, ApiErr> {
    match def.get("position") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(p) if p >= 1 => Ok(Some(p)),
            _ => Err(ApiErr::invalid(
                "Position must be an integer greater than 0",
            )),
        },
    }
}

/// Letters, digits and `_`, not starting with a digit, at most 64 characters.
fn check_shortname(s: &str) -> Result<(), ApiErr> {
    let ok = s.len() <= MAX_SHORTNAME_CHARS
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ApiErr::invalid(format!(
            "Shortname is invalid (letters, digits and _ only, not starting with a digit, at most {MAX_SHORTNAME_CHARS} characters)"
        )))
    }
}

/// Everything under `/api/1/`, already authorized.
pub(super) fn v1(ol: &OneLogin, req: &SimRequest, m: &str, rest: &[&str]) -> SimResponse {
    let route = format!("{m} /api/1/{}", template(rest));
    let reply = match (m, rest) {
        ("GET", ["users", "custom_attributes"]) => {
            let t = ol.read();
            let names: Vec<&str> = t.attrs.iter().map(|a| a.shortname.as_str()).collect();
            let mut body = v1_ok();
            body["data"] = json!([names]);
            Ok(SimResponse::json(200, &route, &body))
        }
        ("PUT", ["users", "set_password_using_salt", id]) => {
            set_password(ol, req, id, true, &route)
        }
        ("PUT", ["users", "set_password_clear_text", id]) => {
            set_password(ol, req, id, false, &route)
        }
        ("PUT", ["users", id, "set_custom_attributes"]) => set_custom(ol, req, id, &route),
        ("PUT", ["users", id, "set_state"]) => set_state(ol, req, id, &route),
        ("PUT", ["users", id, "add_roles"]) => user_roles(ol, req, id, true, &route),
        ("PUT", ["users", id, "remove_roles"]) => user_roles(ol, req, id, false, &route),
        ("GET", ["users", id, "roles"]) => get_user_roles(ol, id, &route),
        ("POST", ["login", "auth"]) => login(ol, req, &route),
        _ => Err(ApiErr::c(404, "No Route Exists")),
    };
    reply.unwrap_or_else(|e| e.into_c().into_response(&route))
}

fn id_incorrect() -> ApiErr {
    ApiErr::c(
        400,
        json!({"attribute": "id", "description": "ID is incorrect"}),
    )
}

fn v1_user_id(ol: &OneLogin, id: &str) -> Result<u64, ApiErr> {
    let id = id.parse::<u64>().map_err(|_| id_incorrect())?;
    if ol.read().users.contains_key(&id) {
        Ok(id)
    } else {
        Err(id_incorrect())
    }
}

/// v1 reports validation failures as 400 in its envelope.
fn v1_validation(e: ApiErr) -> ApiErr {
    match e.into_c() {
        ApiErr::C { message, .. } => ApiErr::c(400, message),
        other => other,
    }
}

fn v1_body(req: &SimRequest) -> Result<Map<String, Value>, ApiErr> {
    json_object(req).map_err(ApiErr::into_c)
}

fn v1_str<'a>(body: &'a Map<String, Value>, k: &str) -> Result<Option<&'a str>, ApiErr> {
    match body.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiErr::c(400, format!("{k} must be a string"))),
    }
}

/// `PUT /api/1/users/set_password_using_salt/{id}` and `…/set_password_clear_text/{id}`.
fn set_password(ol: &OneLogin, req: &SimRequest, id: &str, salted: bool, route: &str) -> Reply {
    let id = v1_user_id(ol, id)?;
    let body = v1_body(req)?;
    let password = v1_str(&body, "password")?
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiErr::c(400, "password is missing"))?;
    let confirmation = v1_str(&body, "password_confirmation")?;
    if confirmation != Some(password) {
        return Err(ApiErr::c(
            400,
            "Validation failed: Password doesn't match confirmation, The two passwords don't match",
        ));
    }
    let mut t = ol.write();
    let stored = if salted {
        let algorithm = v1_str(&body, "password_algorithm")?;
        if algorithm != Some("salt+sha256") {
            return Err(ApiErr::c(
                400,
                "password_algorithm is incorrect, it must be salt+sha256",
            ));
        }
        let salt = v1_str(&body, "password_salt")?.unwrap_or("");
        password_record(&mut t, password, algorithm, salt, false).map_err(v1_validation)?
    } else {
        let validate = match body.get("validate_policy") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ApiErr::c(400, "validate_policy must be a boolean")),
        };
        password_record(&mut t, password, None, "", validate).map_err(v1_validation)?
    };
    let stamp = now();
    if let Some(u) = t.users.get_mut(&id) {
        u.password = Some(Box::new(stored));
        u.times[super::model::T_PASSWORD_CHANGED] = Some(stamp.clone().into());
        u.times[super::model::T_UPDATED] = Some(stamp.into());
        if u.status == 7 {
            u.status = 1;
        }
    }
    Ok(SimResponse::json(200, route, &v1_ok()))
}

/// `PUT /api/1/users/{id}/set_custom_attributes` with `{"custom_attributes":{…}}`.
fn set_custom(ol: &OneLogin, req: &SimRequest, id: &str, route: &str) -> Reply {
    let id = v1_user_id(ol, id)?;
    let body = v1_body(req)?;
    let Some(Value::Object(values)) = body.get("custom_attributes") else {
        return Err(ApiErr::c(400, "custom_attributes is empty"));
    };
    if values.is_empty() {
        return Err(ApiErr::c(400, "custom_attributes is empty"));
    }
    let mut t = ol.write();
    let mut updates = Vec::new();
    for (k, v) in values {
        let Some(attr) = t.attr_by_shortname(k) else {
            let valid: Vec<&str> = t.attrs.iter().map(|a| a.shortname.as_str()).collect();
            return Err(ApiErr::c(
                400,
                format!(
                    "input custom_attributes is not valid. Valid custom_attributes -> [{} ]",
                    valid.join(" ")
                ),
            ));
        };
        let value = match v {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        updates.push((attr.id, value));
    }
    let stamp = now();
    if let Some(u) = t.users.get_mut(&id) {
        for (attr, value) in updates {
            u.set_custom(attr, value);
        }
        u.times[super::model::T_UPDATED] = Some(stamp.into());
    }
    Ok(SimResponse::json(200, route, &v1_ok()))
}

/// `PUT /api/1/users/{id}/set_state` with `{"state": n}`.
fn set_state(ol: &OneLogin, req: &SimRequest, id: &str, route: &str) -> Reply {
    let id = v1_user_id(ol, id)?;
    let body = v1_body(req)?;
    let state = match body.get("state").and_then(Value::as_i64) {
        Some(s @ 0..=3) => s,
        _ => return Err(ApiErr::c(400, "state is incorrect")),
    };
    let mut t = ol.write();
    if let Some(u) = t.users.get_mut(&id) {
        if u.state == state {
            return Err(ApiErr::c(400, "user is already in this state"));
        }
        u.state = state;
    }
    Ok(SimResponse::json(200, route, &v1_ok()))
}

/// `PUT /api/1/users/{id}/add_roles` / `remove_roles` with `{"role_id_array":[…]}`.
fn user_roles(ol: &OneLogin, req: &SimRequest, id: &str, add: bool, route: &str) -> Reply {
    let id = v1_user_id(ol, id)?;
    let body = v1_body(req)?;
    let roles: Vec<u64> = match body.get("role_id_array") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_u64).collect(),
        _ => return Err(ApiErr::c(400, "role_id_array is empty")),
    };
    if roles.is_empty() {
        return Err(ApiErr::c(400, "role_id_array is empty"));
    }
    let mut t = ol.write();
    if add {
        let all: Vec<u64> = t.roles.keys().copied().collect();
        if roles.iter().any(|r| !t.roles.contains_key(r)) {
            return Err(ApiErr::c(
                400,
                format!("role_id_array should be a subset of -> {all:?}"),
            ));
        }
        let stamp = now();
        for r in roles {
            t.add_role_users(r, &[id], &stamp);
        }
    } else {
        let has = t
            .users
            .get(&id)
            .map(|u| u.role_ids.clone())
            .unwrap_or_default();
        if roles.iter().any(|r| !has.contains(r)) {
            return Err(ApiErr::c(
                400,
                "input role_id_array is not included as user roles",
            ));
        }
        for r in roles {
            t.remove_role_users(r, &[id]);
        }
    }
    Ok(SimResponse::json(200, route, &v1_ok()))
}

fn get_user_roles(ol: &OneLogin, id: &str, route: &str) -> Reply {
    let id = v1_user_id(ol, id)?;
    let t = ol.read();
    let roles = t
        .users
        .get(&id)
        .map(|u| u.role_ids.clone())
        .unwrap_or_default();
    // The spec's `getUserRoles_200_response`: a flat list of role ids.
    let mut body = v1_ok();
    body["data"] = json!(roles);
    Ok(SimResponse::json(200, route, &body))
}

/// `POST /api/1/login/auth` (Create Session Login Token): checks a user's password, so a
/// test can prove that a password set in clear or imported as a hash logs the user in.
/// Only an active (status 1), approved (state 1) user with a password may; anything else is
/// the same 401, as a login form does not say which part was wrong. `subdomain` is required
/// and must be the account's (the texts of the missing/wrong-subdomain errors are ours).
fn login(ol: &OneLogin, req: &SimRequest, route: &str) -> Reply {
    let body = v1_body(req)?;
    let who = v1_str(&body, "username_or_email")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiErr::c(400, "username_or_email is missing"))?;
    let password = v1_str(&body, "password")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiErr::c(400, "password is missing"))?;
    let subdomain = v1_str(&body, "subdomain")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiErr::c(400, "subdomain is missing"))?;
    if !subdomain.trim().eq_ignore_ascii_case(&ol.cfg.subdomain) {
        return Err(ApiErr::c(400, "Invalid subdomain"));
    }
    let t = ol.read();
    let key = who.trim().to_lowercase();
    let user = t
        .by_username
        .get(&key)
        .or_else(|| t.by_email.get(&key))
        .and_then(|id| t.users.get(id));
    let failed = || ApiErr::c(401, "Authentication Failed: Invalid user credentials");
    let user = user.ok_or_else(failed)?.clone();
    let account_id = t.account_id;
    // verify without holding the lock (a bcrypt check takes ~0.1 s)
    drop(t);
    let stored = user.password.as_ref().ok_or_else(failed)?;
    if user.status != 1 || user.state != 1 || check_password(stored, password) != Some(true) {
        return Err(failed());
    }
    let expires = time::OffsetDateTime::now_utc() + time::Duration::minutes(2);
    let mut out = v1_ok();
    out["data"] = json!([{
        "status": "Authenticated",
        "user": {
            "id": user.id, "username": user.str(F_USERNAME), "email": user.str(F_EMAIL),
            "firstname": user.str(F_FIRSTNAME), "lastname": user.str(F_LASTNAME),
        },
        "return_to_url": null,
        "expires_at": super::fmt_time(expires),
        "session_token": session_token(account_id, user.id),
    }]);
    Ok(SimResponse::json(200, route, &out))
}

/// A one-time session token: 40 hex characters, never derived from the password.
fn session_token(account_id: u64, user_id: u64) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(1);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let digest = sha2::Sha256::digest(format!("{account_id}:{user_id}:{n}").as_bytes());
    hex::encode(&digest[..20])
}
