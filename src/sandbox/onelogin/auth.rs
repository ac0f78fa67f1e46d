//! OAuth2 tokens, revocation, the rate-limit endpoint and bearer checks (onelogin-api.md §2, §5).
//!
//! Clients send credentials four ways (OneLogin's own `client_id:…, client_secret:…` header,
//! HTTP Basic, a form body, a JSON body) and all four are accepted. The same token comes
//! back until it expires or is revoked, as the v2 endpoint documents; `token_ttl` shortens
//! its life so tests can force expiry mid-run.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::Rng as _;
use serde_json::{Value, json};

use super::http::{ApiErr, Reply, v1_ok};
use super::model::{Tenant, Token};
use super::{OneLogin, now};
use crate::sandbox::api::{RateSnapshot, SimRequest, SimResponse};

/// Client credentials and other fields found in a token or revoke request.
#[derive(Default)]
struct Creds {
    client_id: Option<String>,
    client_secret: Option<String>,
    fields: serde_json::Map<String, Value>,
}

fn parse_creds(req: &SimRequest) -> Creds {
    let mut c = Creds::default();
    let is_form = req
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().contains("x-www-form-urlencoded"));
    let json: Option<Value> = if is_form {
        None
    } else {
        serde_json::from_slice(&req.body).ok()
    };
    match json {
        Some(Value::Object(m)) => c.fields = m,
        _ => {
            for (k, v) in url::form_urlencoded::parse(&req.body) {
                c.fields
                    .insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
    }
    let field = |c: &Creds, k: &str| c.fields.get(k).and_then(Value::as_str).map(str::to_string);
    c.client_id = field(&c, "client_id");
    c.client_secret = field(&c, "client_secret");
    if let Some(h) = req.header("authorization").map(str::trim) {
        if let Some(b) = h
            .strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
        {
            let decoded = B64
                .decode(b.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            if let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
                c.client_id = Some(id.to_string());
                c.client_secret = Some(secret.to_string());
            }
        } else {
            // OneLogin's own format: `client_id:<id>, client_secret:<secret>`.
            for part in h.split(',') {
                if let Some((k, v)) = part.split_once(':') {
                    match k.trim().to_ascii_lowercase().as_str() {
                        "client_id" => c.client_id = Some(v.trim().to_string()),
                        "client_secret" => c.client_secret = Some(v.trim().to_string()),
                        _ => {}
                    }
                }
            }
        }
    }
    c
}

/// Constant-time-ish comparison is not needed in a simulator; plain equality on both parts.
fn creds_ok(ol: &OneLogin, c: &Creds) -> Result<(), ApiErr> {
    match (&c.client_id, &c.client_secret) {
        (None, _) | (_, None) => Err(ApiErr::c(400, "The authorization information is missing")),
        (Some(id), Some(secret)) if *id == ol.cfg.client_id && *secret == ol.cfg.client_secret => {
            Ok(())
        }
        _ => Err(ApiErr::c(401, "Authentication Failure")),
    }
}

/// `POST /auth/oauth2/v2/token`.
pub(super) fn token(ol: &OneLogin, req: &SimRequest) -> Reply {
    let c = parse_creds(req);
    match c.fields.get("grant_type").and_then(Value::as_str) {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(ApiErr::c(
                400,
                format!("grant_type {other} is not supported, use client_credentials"),
            ));
        }
        None => return Err(ApiErr::c(400, "grant_type is missing")),
    }
    creds_ok(ol, &c)?;
    let mut t = ol.write();
    let now_instant = Instant::now();
    let live = t
        .token
        .as_ref()
        .filter(|tok| tok.expires > now_instant)
        .cloned();
    let tok = match live {
        Some(tok) => tok,
        None => {
            let bytes: [u8; 32] = t.rng.random();
            let tok = Token {
                access_token: hex::encode(bytes),
                created_at: now(),
                expires: now_instant + ol.cfg.token_ttl,
            };
            t.token = Some(tok.clone());
            tok
        }
    };
    let expires_in = tok
        .expires
        .saturating_duration_since(now_instant)
        .as_millis()
        .div_ceil(1000);
    let body = json!({
        "access_token": tok.access_token,
        "created_at": tok.created_at,
        "expires_in": expires_in,
        "refresh_token": "deprecated",
        "token_type": "bearer",
        "account_id": t.account_id,
    });
    Ok(SimResponse::json(200, "POST /auth/oauth2/v2/token", &body))
}

/// `POST /auth/oauth2/revoke`: client credentials plus `{"access_token": …}`.
pub(super) fn revoke(ol: &OneLogin, req: &SimRequest) -> Reply {
    let c = parse_creds(req);
    let Some(access) = c
        .fields
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
    else {
        return Err(ApiErr::c(400, "Access Token Missing"));
    };
    creds_ok(ol, &c)?;
    let mut t = ol.write();
    if t.token
        .as_ref()
        .is_some_and(|tok| tok.access_token == access)
    {
        t.token = None;
    }
    Ok(SimResponse::json(200, "POST /auth/oauth2/revoke", &v1_ok()))
}

/// `GET /auth/rate_limit` in the v1 envelope; a nominal 5000/hour window when the server
/// enforces no limit.
pub(super) fn rate_limit(rate: Option<RateSnapshot>, route: &str) -> SimResponse {
    let r = rate.unwrap_or(RateSnapshot {
        limit: 5000,
        remaining: 5000,
        reset_secs: 3600,
    });
    let mut body = v1_ok();
    body["data"] = json!({
        "X-RateLimit-Limit": r.limit,
        "X-RateLimit-Remaining": r.remaining,
        "X-RateLimit-Reset": r.reset_secs,
    });
    SimResponse::json(200, route, &body)
}

/// The bearer token of a request: `Bearer x`, `bearer x` or the legacy `bearer:x`.
pub(super) fn bearer(req: &SimRequest) -> Option<&str> {
    let h = req.header("authorization")?.trim();
    let scheme = h.get(..6)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let rest = &h[6..];
    if !(rest.starts_with(':') || rest.starts_with(' ')) {
        return None;
    }
    let token = rest.strip_prefix(':').unwrap_or(rest).trim();
    (!token.is_empty()).then_some(token)
}

pub(super) fn bearer_valid(t: &Tenant, req: &SimRequest) -> bool {
    let Some(given) = bearer(req) else {
        return false;
    };
    t.token
        .as_ref()
        .is_some_and(|tok| tok.access_token == given && tok.expires > Instant::now())
}
