//! Transport-neutral requests and responses for the simulated APIs.
//!
//! The server turns each HTTP request into a [`SimRequest`], hands it to the API module of the
//! port it arrived on, and writes the [`SimResponse`] back (or, when a fault says so, drops it:
//! a `lost` fault commits the write and then closes the connection without an answer).

use serde::Serialize;

/// One HTTP request, as the API modules see it.
#[derive(Debug, Clone, Default)]
pub struct SimRequest {
    /// Upper-case method: `GET`, `POST`, …
    pub method: String,
    /// The path without the query string, percent-decoded: `/api/v1/users/00u1`.
    pub path: String,
    /// The raw query string without `?` (empty when none), for building `Link` URLs.
    pub raw_query: String,
    /// Decoded query pairs in order.
    pub query: Vec<(String, String)>,
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The base URL the client used, e.g. `http://127.0.0.1:41234`, for absolute links.
    pub base_url: String,
}

impl SimRequest {
    /// The first value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// True for POST, PUT, PATCH and DELETE.
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
    }
}

/// One HTTP response from an API module.
#[derive(Debug, Clone)]
pub struct SimResponse {
    pub status: u16,
    /// Extra headers; a name may repeat (Okta sends one `Link` line per relation).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The route with ids templated, for stats: `GET /api/2/users/{id}`.
    pub route: String,
}

impl SimResponse {
    /// A JSON response (`Content-Type: application/json`).
    pub fn json(status: u16, route: impl Into<String>, body: &impl Serialize) -> SimResponse {
        SimResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec()),
            route: route.into(),
        }
    }

    /// A response with pre-serialized JSON bytes (pages built from cached objects).
    pub fn json_bytes(status: u16, route: impl Into<String>, body: Vec<u8>) -> SimResponse {
        SimResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
            route: route.into(),
        }
    }

    /// A response without a body (204).
    pub fn empty(status: u16, route: impl Into<String>) -> SimResponse {
        SimResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            route: route.into(),
        }
    }

    /// Add a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> SimResponse {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// The rate-limit window as the server sees it when a request arrives, for endpoints that
/// report it in their body (OneLogin's `GET /auth/rate_limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSnapshot {
    /// Requests allowed per window.
    pub limit: u64,
    /// Requests left in the current window.
    pub remaining: u64,
    /// Seconds until the window resets.
    pub reset_secs: u64,
}
