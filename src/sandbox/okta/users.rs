//! User writes of the simulated Okta org, as a migration into Okta makes them: create (with
//! `activate`, `provider`, `nextLogin`, `groupIds` and every kind of credential), partial
//! (`POST`) and full (`PUT`) updates, and the lifecycle transitions with their status rules.
//!
//! Besides the user JSON, a write keeps what a sign-in is later checked against
//! (`State::secrets`): the parsed imported hash, or a salted digest of a cleartext password.
//! `POST /api/v1/authn` ([`super::authn`]) verifies against it with `crate::password`, so a
//! test can prove that a migrated hash still lets its user in. Notifications Okta would have
//! sent are counted (`State::emails`) so a test can assert that a migration sent none.

use serde_json::{Map, Value, json};

use super::{
    MAX_GROUP_IDS, Okta, Res, State, body_json, error, malformed, not_found, okta_id, validation,
};
use crate::password::{Algorithm, Digest, Hash, SaltOrder};
use crate::sandbox::api::{SimRequest, SimResponse};
use crate::sandbox::seed::{self, now_iso};

const KIND_CREATED_USER: u64 = 11;
const KIND_ACTIVATION_TOKEN: u64 = 13;

/// A `credentials.password` as a create or update gives it.
enum PasswordKind {
    None,
    /// Cleartext, already checked against the password policy.
    Value(String),
    /// An import: Okta's object as sent, and parsed.
    Hash(Value, Hash),
    /// `{"hook": {"type": "default"}}`: a password import inline hook verifies the first
    /// sign-in (not simulated: such users cannot sign in here).
    Hook,
}

impl PasswordKind {
    fn is_some(&self) -> bool {
        !matches!(self, PasswordKind::None)
    }
}

/// Notifications the org would have sent, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Emails {
    /// Activation emails to users: creating an active user without a password, or a
    /// lifecycle activation with `sendEmail` true (the default), password or not.
    pub activation: u64,
    /// Deactivation notices to admins (`deactivate?sendEmail=true`).
    pub deactivation: u64,
}

/// A boolean query parameter; anything but `true`/`false` is a 400.
fn bool_param(req: &SimRequest, name: &str, default: bool, route: &str) -> Result<bool, Res> {
    match req.query_param(name) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(validation(name, "must be true or false", route)),
    }
}

/// What a sign-in is checked against for a cleartext password: a salted SHA-256 (this is a
/// simulator; the salt is the user id).
fn cleartext_secret(user_id: &str, value: &str) -> Option<Hash> {
    Hash::compute(
        Algorithm::Salted {
            digest: Digest::Sha256,
            order: SaltOrder::Prefix,
            iterations: 1,
        },
        user_id.as_bytes(),
        value,
    )
    .ok()
}

/// Check `credentials.password`; the error is the cause text (field `password`).
fn check_password(password: &Value, login: &str) -> Result<PasswordKind, String> {
    let Value::Object(p) = password else {
        return Err("password must be an object".into());
    };
    let given = ["value", "hash", "hook"]
        .iter()
        .filter(|k| p.get(**k).is_some_and(|v| !v.is_null()))
        .count();
    if given > 1 {
        return Err("give only one of `value`, `hash` or `hook`".into());
    }
    if let Some(hash) = p.get("hash").filter(|v| !v.is_null()) {
        let parsed = Hash::from_okta(hash).map_err(|e| format!("hash {e}"))?;
        return Ok(PasswordKind::Hash(hash.clone(), parsed));
    }
    if let Some(v) = p.get("value").filter(|v| !v.is_null()) {
        let v = v.as_str().ok_or("password value must be a string")?;
        let n = v.chars().count();
        let ok = (8..=72).contains(&n)
            && v.chars().any(|c| c.is_lowercase())
            && v.chars().any(|c| c.is_uppercase())
            && v.chars().any(|c| c.is_ascii_digit())
            && !login.split('@').next().is_some_and(|part| {
                part.len() >= 3 && v.to_lowercase().contains(&part.to_lowercase())
            });
        if !ok {
            return Err("Password requirements were not met. Password requirements: at least 8 characters, a lowercase letter, an uppercase letter, a number, no parts of your username.".into());
        }
        return Ok(PasswordKind::Value(v.to_string()));
    }
    if let Some(hook) = p.get("hook").filter(|v| !v.is_null()) {
        if hook.get("type").and_then(Value::as_str) != Some("default") {
            return Err("hook type must be `default`".into());
        }
        return Ok(PasswordKind::Hook);
    }
    if p.is_empty() {
        return Ok(PasswordKind::None);
    }
    Err("password must have one of `value`, `hash` or `hook`".into())
}

/// `credentials.recovery_question`: a question and an answer of at least 4 characters.
fn check_recovery(rq: &Value) -> Result<Option<String>, String> {
    match rq {
        Value::Null => Ok(None),
        Value::Object(m) => {
            let q = m
                .get("question")
                .and_then(Value::as_str)
                .filter(|q| !q.trim().is_empty())
                .ok_or("The security question cannot be left blank")?;
            let a = m
                .get("answer")
                .and_then(Value::as_str)
                .ok_or("The security question answer cannot be left blank")?;
            if a.trim().chars().count() < 4 {
                return Err("The security question answer must be at least 4 characters".into());
            }
            Ok(Some(q.to_string()))
        }
        _ => Err("recovery_question must be an object".into()),
    }
}

impl Okta {
    pub(super) fn create_user(&self, req: &SimRequest, route: &str) -> Res {
        let Some(body) = body_json(req).filter(Value::is_object) else {
            return malformed(route);
        };
        let activate = match bool_param(req, "activate", true, route) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let with_provider = match bool_param(req, "provider", false, route) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let expire = match req.query_param("nextLogin") {
            None => false,
            Some("changePassword") if activate => true,
            Some("changePassword") => {
                return validation(
                    "nextLogin",
                    "nextLogin=changePassword is only allowed with activate=true",
                    route,
                );
            }
            Some(_) => return validation("nextLogin", "must be changePassword", route),
        };
        let Some(profile) = body.get("profile").and_then(Value::as_object).cloned() else {
            return validation("profile", "The field cannot be left blank", route);
        };
        let group_ids: Vec<String> = match body.get("groupIds") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => {
                let ids: Option<Vec<String>> =
                    a.iter().map(|v| v.as_str().map(str::to_string)).collect();
                match ids {
                    Some(ids) => ids,
                    None => {
                        return validation(
                            "groupIds",
                            "groupIds must be an array of strings",
                            route,
                        );
                    }
                }
            }
            Some(_) => {
                return validation("groupIds", "groupIds must be an array of strings", route);
            }
        };
        if group_ids.len() > MAX_GROUP_IDS {
            return error(
                400,
                "E0000093",
                "Target count limit exceeded",
                &["The number of group targets is too large.".to_string()],
                route,
            );
        }
        let login = profile
            .get("login")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let creds = match body.get("credentials") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(c)) => c.clone(),
            Some(_) => {
                return validation("credentials", "credentials must be an object", route);
            }
        };
        let password = match creds.get("password") {
            None | Some(Value::Null) => PasswordKind::None,
            Some(p) => match check_password(p, &login) {
                Ok(k) => k,
                Err(cause) => return validation("password", &cause, route),
            },
        };
        let question = match check_recovery(creds.get("recovery_question").unwrap_or(&Value::Null))
        {
            Ok(q) => q,
            Err(cause) => return validation("recovery_question", &cause, route),
        };
        // FEDERATION and SOCIAL users sign in elsewhere: they take no password or question,
        // and need `provider=true` (the provider object is otherwise read-only)
        let provider = match (
            with_provider,
            creds.get("provider").filter(|p| !p.is_null()),
        ) {
            (true, None) => {
                return validation(
                    "provider",
                    "provider=true needs credentials.provider with type FEDERATION or SOCIAL",
                    route,
                );
            }
            (true, Some(p)) => {
                let ty = p.get("type").and_then(Value::as_str).unwrap_or("");
                if !matches!(ty, "FEDERATION" | "SOCIAL") {
                    return validation(
                        "provider",
                        "provider type must be FEDERATION or SOCIAL",
                        route,
                    );
                }
                if password.is_some() || question.is_some() {
                    return validation(
                        "credentials",
                        &format!("a {ty} user cannot have a password or a recovery question"),
                        route,
                    );
                }
                let name = p.get("name").and_then(Value::as_str).unwrap_or(ty);
                Some(json!({ "type": ty, "name": name }))
            }
            (false, Some(_)) => {
                return validation(
                    "provider",
                    "set provider=true to create a user with an authentication provider",
                    route,
                );
            }
            (false, None) => None,
        };
        let mut st = self.write();
        if let Err((field, cause)) = self.check_profile(&st, &profile) {
            return validation(&field, &cause, route);
        }
        if st.logins.contains_key(&login.to_lowercase()) {
            return validation(
                "login",
                "An object with this field already exists in the current organization",
                route,
            );
        }
        for g in &group_ids {
            match st.groups.get(g) {
                None => return not_found(g, "UserGroup", route),
                Some(rec) if rec.value["type"] != "OKTA_GROUP" => {
                    return validation(
                        "groupIds",
                        &format!(
                            "Group `{g}` is not an OKTA_GROUP; its membership cannot be managed"
                        ),
                        route,
                    );
                }
                Some(_) => {}
            }
        }
        let now = now_iso();
        let has_password = password.is_some();
        let status = if !activate {
            "STAGED"
        } else if provider.is_some() {
            "ACTIVE"
        } else if has_password && expire {
            "PASSWORD_EXPIRED"
        } else if has_password {
            "ACTIVE"
        } else {
            // the user is sent an activation email to set a password
            st.emails.activation += 1;
            "PROVISIONED"
        };
        let id = okta_id("00u", st.seed, KIND_CREATED_USER, st.next_user);
        st.next_user += 1;
        let mut credentials = Map::new();
        if has_password {
            credentials.insert("password".into(), json!({}));
        }
        if let Some(q) = &question {
            credentials.insert("recovery_question".into(), json!({ "question": q }));
        }
        let provider = match (&password, provider) {
            (_, Some(p)) => p,
            // our reading: a hook user, like a hash user, has an imported password
            (PasswordKind::Hash(..) | PasswordKind::Hook, None) => {
                json!({ "type": "IMPORT", "name": "IMPORT" })
            }
            _ => json!({ "type": "OKTA", "name": "OKTA" }),
        };
        credentials.insert("provider".into(), provider);
        let staged = status == "STAGED";
        let user = json!({
            "id": id,
            "status": status,
            "created": now,
            "activated": if staged { Value::Null } else { json!(now) },
            "statusChanged": if staged { Value::Null } else { json!(now) },
            "lastLogin": null,
            "lastUpdated": now,
            "passwordChanged": if has_password { json!(now) } else { Value::Null },
            "type": body.get("type").filter(|t| t.is_object()).cloned().unwrap_or(json!({ "id": seed::USER_TYPE_ID })),
            "profile": Value::Object(profile),
            "credentials": Value::Object(credentials),
            "_links": { "self": { "href": format!("{}/api/v1/users/{}", self.base_url, id) } }
        });
        st.insert_user(&user);
        store_password(&mut st, &id, password);
        if let Some(everyone) = st.everyone.clone() {
            st.add_member(&everyone, &id);
        }
        for g in &group_ids {
            st.add_member(g, &id);
            st.touch_group_membership(g);
        }
        drop(st);
        let mut out = user;
        self.full_user(&mut out);
        SimResponse::json(200, route, &out)
    }

    pub(super) fn update_user(
        &self,
        req: &SimRequest,
        key: &str,
        replace: bool,
        route: &str,
    ) -> Res {
        let Some(body) = body_json(req).filter(Value::is_object) else {
            return malformed(route);
        };
        let mut st = self.write();
        let Some((id, rec)) = st.user_by_key(key).map(|(i, r)| (i.clone(), r.clone())) else {
            return not_found(key, "User", route);
        };
        let mut user = rec.value();
        let now = now_iso();
        if let Some(p) = body.get("profile") {
            let Some(p) = p.as_object() else {
                return validation("profile", "profile must be an object", route);
            };
            let mut profile = if replace {
                Map::new()
            } else {
                user["profile"].as_object().cloned().unwrap_or_default()
            };
            for (k, v) in p {
                profile.insert(k.clone(), v.clone());
            }
            if let Err((field, cause)) = self.check_profile(&st, &profile) {
                return validation(&field, &cause, route);
            }
            let new_login = profile
                .get("login")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_lowercase();
            if let Some(other) = st.logins.get(&new_login)
                && *other != id
            {
                return validation(
                    "login",
                    "An object with this field already exists in the current organization",
                    route,
                );
            }
            user["profile"] = Value::Object(profile);
        } else if replace {
            return validation("profile", "The field cannot be left blank", route);
        }
        let creds = body.get("credentials").cloned().unwrap_or(Value::Null);
        let mut new_password = PasswordKind::None;
        if let Some(p) = creds.get("password").filter(|p| !p.is_null()) {
            let login = user["profile"]["login"].as_str().unwrap_or("").to_string();
            match check_password(p, &login) {
                Ok(k @ (PasswordKind::Hash(..) | PasswordKind::Hook)) => {
                    // the spec: a hashed password is taken on update only while STAGED
                    if rec.status != "STAGED" {
                        return error(
                            403,
                            "E0000038",
                            "This operation is not allowed in the user's current status.",
                            &[],
                            route,
                        );
                    }
                    user["credentials"]["password"] = json!({});
                    user["credentials"]["provider"] = json!({ "type": "IMPORT", "name": "IMPORT" });
                    user["passwordChanged"] = json!(now);
                    new_password = k;
                }
                Ok(PasswordKind::None) => {}
                Ok(k @ PasswordKind::Value(_)) => {
                    user["credentials"]["password"] = json!({});
                    user["credentials"]["provider"] = json!({ "type": "OKTA", "name": "OKTA" });
                    user["passwordChanged"] = json!(now);
                    new_password = k;
                }
                Err(cause) => return validation("password", &cause, route),
            }
        }
        if let Some(rq) = creds.get("recovery_question") {
            match check_recovery(rq) {
                Ok(Some(q)) => user["credentials"]["recovery_question"] = json!({ "question": q }),
                Ok(None) => {}
                Err(cause) => return validation("recovery_question", &cause, route),
            }
        }
        user["lastUpdated"] = json!(now);
        st.logins.remove(&rec.login.to_lowercase());
        st.insert_user(&user);
        if new_password.is_some() {
            store_password(&mut st, &id, new_password);
        }
        drop(st);
        self.full_user(&mut user);
        SimResponse::json(200, route, &user)
    }

    /// `POST /api/v1/users/{id}/lifecycle/{action}`: activate, deactivate, suspend, unsuspend,
    /// unlock.
    pub(super) fn lifecycle(&self, req: &SimRequest, key: &str, action: &str, route: &str) -> Res {
        let not_allowed = || {
            error(
                403,
                "E0000038",
                "This operation is not allowed in the user's current status.",
                &[],
                route,
            )
        };
        let send_email_default = action == "activate";
        let send_email = match bool_param(req, "sendEmail", send_email_default, route) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let mut st = self.write();
        let Some((id, rec)) = st.user_by_key(key).map(|(i, r)| (i.clone(), r.clone())) else {
            return not_found(key, "User", route);
        };
        let mut user = rec.value();
        let status = rec.status.as_str();
        let next = match action {
            "activate" => match status {
                "ACTIVE" => {
                    return error(
                        403,
                        "E0000016",
                        "Activation failed because the user is already active",
                        &[],
                        route,
                    );
                }
                // the spec: only STAGED or DEPROVISIONED users are activated
                "STAGED" | "DEPROVISIONED" => {
                    let federated = matches!(
                        user["credentials"]["provider"]["type"].as_str(),
                        Some("FEDERATION" | "SOCIAL")
                    );
                    if user["credentials"].get("password").is_some() || federated {
                        "ACTIVE"
                    } else {
                        "PROVISIONED"
                    }
                }
                _ => return not_allowed(),
            },
            "deactivate" if status != "DEPROVISIONED" => "DEPROVISIONED",
            "suspend" if status == "ACTIVE" => "SUSPENDED",
            "unsuspend" if status == "SUSPENDED" => "ACTIVE",
            "unlock" if matches!(status, "LOCKED_OUT" | "ACTIVE") => "ACTIVE",
            "unlock" => {
                return error(
                    403,
                    "E0000032",
                    "Unlock is not allowed for this user.",
                    &[],
                    route,
                );
            }
            _ => return not_allowed(),
        };
        let now = now_iso();
        if next != status {
            user["status"] = json!(next);
            user["statusChanged"] = json!(now);
            user["lastUpdated"] = json!(now);
            if action == "activate" {
                user["activated"] = json!(now);
            }
            st.insert_user(&user);
        }
        match (action, send_email) {
            ("activate", true) => st.emails.activation += 1,
            ("deactivate", true) => st.emails.deactivation += 1,
            _ => {}
        }
        if action == "activate"
            && let Some(everyone) = st.everyone.clone()
        {
            st.add_member(&everyone, &id);
        }
        let n = st.next_user;
        let seed = st.seed;
        drop(st);
        if action == "activate" && !send_email {
            let token = okta_id("tok", seed, KIND_ACTIVATION_TOKEN, n ^ id.len() as u64);
            return SimResponse::json(
                200,
                route,
                &json!({ "activationUrl": format!("{}/welcome/{token}", self.base_url), "activationToken": token }),
            );
        }
        SimResponse::json(200, route, &json!({}))
    }

    /// Notifications the org would have sent so far (`/__admin/stats` → `emails`).
    pub fn emails_sent(&self) -> Value {
        let e = self.read().emails.clone();
        json!({
            "activation": e.activation,
            "deactivation": e.deactivation,
            "total": e.activation + e.deactivation,
        })
    }
}

/// Keep what a sign-in is checked against: the imported hash (and Okta's object, for
/// [`Okta::imported_hash`]), or a digest of the cleartext. A hook leaves nothing to check.
fn store_password(st: &mut State, id: &str, password: PasswordKind) {
    match password {
        PasswordKind::Hash(object, parsed) => {
            st.hashes.insert(id.to_string(), object);
            st.secrets.insert(id.to_string(), parsed);
        }
        PasswordKind::Value(v) => {
            st.hashes.remove(id);
            match cleartext_secret(id, &v) {
                Some(h) => st.secrets.insert(id.to_string(), h),
                None => st.secrets.remove(id),
            };
        }
        PasswordKind::Hook => {
            st.hashes.remove(id);
            st.secrets.remove(id);
        }
        PasswordKind::None => {}
    }
}
