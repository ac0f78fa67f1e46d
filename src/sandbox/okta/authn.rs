//! `POST /api/v1/authn`, Okta's primary authentication (`{"username", "password"}`), so a
//! test can prove that a user migrated into Okta — with a cleartext password or an imported
//! hash of any of the six algorithms — can still sign in.
//!
//! Shapes follow Okta's Authentication API: 200 `SUCCESS` with a one-time `sessionToken` and
//! the user under `_embedded`; 200 `PASSWORD_EXPIRED` (with a `stateToken` and a
//! `changePassword` link) when the password is right but expired; 200 `LOCKED_OUT` for a
//! locked user; 401 `E0000004` "Authentication failed" for everything else — an unknown
//! login, a wrong password, a user that cannot sign in (STAGED, PROVISIONED, RECOVERY,
//! SUSPENDED, DEPROVISIONED), a FEDERATION/SOCIAL user, or a password import hook, which
//! this simulator cannot call. The endpoint takes no API token.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use super::{Okta, Res, body_json, error, malformed, validation};
use crate::sandbox::api::{SimRequest, SimResponse};
use crate::sandbox::seed::{Mix, iso_millis, now_iso};

static TOKEN_SEQ: AtomicU64 = AtomicU64::new(1);

/// An opaque token shaped like Okta's (`00` + 40 URL-safe characters).
fn token(user_id: &str) -> String {
    let n = TOKEN_SEQ.fetch_add(1, Ordering::Relaxed);
    let mut mix = Mix::new(&[n, user_id.len() as u64, 0xA07]);
    let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
    let body: String = (0..40)
        .map(|_| alphabet[mix.below(alphabet.len() as u64) as usize] as char)
        .collect();
    format!("00{body}")
}

/// Five minutes from now, as Okta writes `expiresAt`.
fn expires_at() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    iso_millis(now + 5 * 60 * 1000)
}

impl Okta {
    pub(super) fn authn(&self, req: &SimRequest, route: &str) -> Res {
        let Some(body) = body_json(req).filter(Value::is_object) else {
            return malformed(route);
        };
        let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
        let (username, password) = (text("username"), text("password"));
        if username.trim().is_empty() {
            return validation("username", "The field cannot be left blank", route);
        }
        if password.is_empty() {
            return validation("password", "The field cannot be left blank", route);
        }
        let failed = || error(401, "E0000004", "Authentication failed", &[], route);
        // read what to check, then verify without holding the lock: a bcrypt check takes
        // ~0.1 s at cost 10 and must not stall every other request
        let st = self.read();
        // a login, or its unambiguous short name (not an id: people sign in with logins)
        let Some((id, rec)) = st
            .user_by_key(username)
            .filter(|(id, _)| id.as_str() != username)
            .map(|(i, r)| (i.clone(), r.clone()))
        else {
            return failed();
        };
        let secret = st.secrets.get(&id).cloned();
        drop(st);
        let mut user = rec.value();
        let embedded = |user: &Value| {
            let p = &user["profile"];
            json!({ "user": {
                "id": id,
                "passwordChanged": user["passwordChanged"],
                "profile": {
                    "login": p["login"], "firstName": p["firstName"], "lastName": p["lastName"],
                    "locale": p.get("locale").cloned().unwrap_or(json!("en_US")),
                    "timeZone": p.get("timezone").cloned().unwrap_or(json!("America/Los_Angeles")),
                }
            }})
        };
        let b = &self.base_url;
        match rec.status.as_str() {
            "LOCKED_OUT" => {
                return SimResponse::json(
                    200,
                    route,
                    &json!({
                        "status": "LOCKED_OUT",
                        "_links": { "next": { "name": "unlock", "href": format!("{b}/api/v1/authn/recovery/unlock"),
                                              "hints": { "allow": ["POST"] } } }
                    }),
                );
            }
            "ACTIVE" | "PASSWORD_EXPIRED" => {}
            _ => return failed(),
        }
        let verified = secret.is_some_and(|h| h.verify(password));
        if !verified {
            return failed();
        }
        if rec.status == "PASSWORD_EXPIRED" {
            let mut out = json!({
                "stateToken": token(&id),
                "expiresAt": expires_at(),
                "status": "PASSWORD_EXPIRED",
                "_embedded": embedded(&user),
                "_links": {
                    "next": { "name": "changePassword", "href": format!("{b}/api/v1/authn/credentials/change_password"),
                              "hints": { "allow": ["POST"] } },
                    "cancel": { "href": format!("{b}/api/v1/authn/cancel"), "hints": { "allow": ["POST"] } }
                }
            });
            out["_embedded"]["policy"] = json!({ "complexity": {
                "minLength": 8, "minLowerCase": 1, "minUpperCase": 1, "minNumber": 1,
                "minSymbol": 0, "excludeUsername": true } });
            return SimResponse::json(200, route, &out);
        }
        // a sign-in records lastLogin (and changes nothing else of the user, as it is now)
        let mut st = self.write();
        if let Some(current) = st.users.get(&id).map(|u| u.value()) {
            user = current;
            user["lastLogin"] = json!(now_iso());
            st.insert_user(&user);
        }
        drop(st);
        SimResponse::json(
            200,
            route,
            &json!({
                "expiresAt": expires_at(),
                "status": "SUCCESS",
                "sessionToken": token(&id),
                "_embedded": embedded(&user),
            }),
        )
    }
}
