//! The simulated OneLogin API (placeholder until the OneLogin module lands).
//!
//! This file only fixes the interface the server codes against: every route answers 501.
//! The real module replaces it whole.

use std::time::Duration;

use serde_json::{Value, json};

use super::api::{RateSnapshot, SimRequest, SimResponse};

/// How the OneLogin tenant is set up.
#[derive(Debug, Clone)]
pub struct OneLoginConfig {
    pub seed: u64,
    pub token_ttl: Duration,
    pub client_id: String,
    pub client_secret: String,
    pub subdomain: String,
}

/// A user the OneLogin tenant already has because the Okta seed has it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollidingUser {
    pub email: String,
    pub username: String,
    pub firstname: String,
    pub lastname: String,
}

/// Objects of the Okta seed that the OneLogin tenant should already contain, so that
/// idempotency is always exercised (the server/seed computes them from the Okta tenant).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collisions {
    pub users: Vec<CollidingUser>,
    pub role_names: Vec<String>,
    pub attribute_shortnames: Vec<String>,
}

/// The simulated OneLogin account.
#[derive(Debug)]
pub struct OneLogin {
    _cfg: OneLoginConfig,
    _collisions: Collisions,
}

impl OneLogin {
    pub fn new(cfg: OneLoginConfig, collisions: Collisions) -> OneLogin {
        OneLogin {
            _cfg: cfg,
            _collisions: collisions,
        }
    }

    /// Every OneLogin route incl. /auth/oauth2/v2/token and /auth/rate_limit.
    /// `rate` is the current window when a limit is configured, else None.
    pub fn handle(&self, req: &SimRequest, _rate: Option<RateSnapshot>) -> SimResponse {
        SimResponse::json(
            501,
            format!("{} {}", req.method, req.path),
            &json!({"statusCode": 501, "name": "NotImplementedError", "message": "not implemented"}),
        )
    }

    /// `{"kind","id","data"}` envelopes, data as the API returns it.
    pub fn dump(&self) -> Vec<Value> {
        Vec::new()
    }

    pub fn reset(&self) {}
}
