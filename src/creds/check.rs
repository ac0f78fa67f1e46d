//! `idm-creds test`: one authenticated call, and what its failure means.
//!
//! A person who runs `test` wants to know which setting to fix, so every failure of the shared
//! HTTP client is turned into one of: the URL is malformed, its host does not resolve (wrong
//! subdomain or region), nothing answers, the credentials were refused (with the API's own
//! error, e.g. Okta's `E0000011`), the path does not exist (wrong URL), or the answer is not the
//! API's JSON (a web page at that URL). Any text that comes back from a server is scrubbed of
//! the secret before it is shown.

use std::time::Duration;

use crate::http;
use crate::secrets::Secret;

/// Why `idm-creds test` failed, phrased as what to fix.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("bad URL `{url}`: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot resolve the host of `{url}`: check the URL{hint} ({detail})")]
    Dns {
        url: String,
        hint: &'static str,
        detail: String,
    },
    #[error("cannot reach `{url}`: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("`{url}` rejected the {what} (HTTP {status}{detail}): {fix}")]
    BadCredentials {
        url: String,
        what: &'static str,
        status: u16,
        detail: String,
        fix: String,
    },
    #[error("`{url}` answered HTTP 404 for `{path}`: wrong URL{hint}")]
    NotFound {
        url: String,
        path: &'static str,
        hint: &'static str,
    },
    #[error("`{url}` answered HTTP {status}{detail}")]
    Unexpected {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("`{url}` answered HTTP 200 but not with {service}'s JSON: is it the {service} URL?")]
    NotTheService { url: String, service: &'static str },
    #[error("{0}")]
    Other(String),
}

/// What a successful check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOk {
    pub summary: String,
}

/// The shared HTTP client with no retries: a check reports what happened at once rather than
/// backing off for a minute against a host that does not answer.
fn client(timeout: Duration, service: http::Service) -> Result<http::Client, CheckError> {
    let mut opts = http::ClientOptions::new(service);
    opts.timeout = timeout;
    opts.max_retries = 0;
    http::Client::new(opts).map_err(|e| CheckError::Other(e.to_string()))
}

/// Join a base URL and an API path, refusing what is not an http(s) URL.
fn endpoint(base: &str, path: &str) -> Result<(String, String), CheckError> {
    let base = base.trim().trim_end_matches('/').to_string();
    let parsed = url::Url::parse(&base).map_err(|e| CheckError::BadUrl {
        url: base.clone(),
        reason: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || !parsed.has_host() {
        return Err(CheckError::BadUrl {
            url: base,
            reason: "expected `https://HOST`".to_string(),
        });
    }
    Ok((format!("{base}{path}"), base))
}

/// The secret masked wherever a server echoed it.
fn scrub(text: &str, secret: &Secret) -> String {
    if secret.expose().is_empty() {
        text.to_string()
    } else {
        text.replace(secret.expose(), &secret.masked())
    }
}

/// `: E0000011 Invalid token provided` from what the API said, secret-free and short.
fn api_detail(code: Option<&str>, message: Option<&str>, secret: &Secret) -> String {
    // Okta's codes (`E0000011`) help a search; OneLogin's names repeat the status.
    let code = code.filter(|c| {
        c.len() > 1 && c.starts_with('E') && c[1..].bytes().all(|b| b.is_ascii_digit())
    });
    let text = match (code, message) {
        (Some(c), Some(m)) => format!("{c} {m}"),
        (Some(c), None) => c.to_string(),
        (None, Some(m)) => m.to_string(),
        (None, None) => return String::new(),
    };
    format!(
        ": {}",
        scrub(&text, secret).chars().take(200).collect::<String>()
    )
}

/// What a failed check means, in terms of what to fix.
struct Failure {
    service: &'static str,
    base: String,
    path: &'static str,
    hint: &'static str,
    what: &'static str,
    /// Statuses that mean "the credentials were refused", and what to do about it.
    refused: &'static [u16],
    fix: &'static str,
}

impl Failure {
    fn classify(&self, err: http::HttpError, secret: &Secret) -> CheckError {
        use http::HttpError;
        let url = self.base.clone();
        match err {
            HttpError::InvalidUrl { reason, .. } => CheckError::BadUrl { url, reason },
            HttpError::Status {
                status,
                message,
                code,
                ..
            } => {
                let detail = api_detail(code.as_deref(), message.as_deref(), secret);
                if self.refused.contains(&status) {
                    CheckError::BadCredentials {
                        url,
                        what: self.what,
                        status,
                        detail,
                        fix: self.fix.to_string(),
                    }
                } else if status == 404 {
                    CheckError::NotFound {
                        url,
                        path: self.path,
                        hint: self.hint,
                    }
                } else {
                    CheckError::Unexpected {
                        url,
                        status,
                        detail,
                    }
                }
            }
            HttpError::Transport { kind, reason, .. } => {
                let reason = scrub(&reason, secret);
                let lower = reason.to_ascii_lowercase();
                let dns = [
                    "dns error",
                    "failed to lookup address",
                    "name or service not known",
                    "no such host",
                    "nodename nor servname",
                ];
                if dns.iter().any(|d| lower.contains(d)) {
                    CheckError::Dns {
                        url,
                        hint: self.hint,
                        detail: reason,
                    }
                } else {
                    CheckError::Unreachable {
                        url,
                        detail: format!("{kind}: {reason}"),
                    }
                }
            }
            HttpError::Decode { .. } => CheckError::NotTheService {
                url,
                service: self.service,
            },
            other => CheckError::Other(scrub(&other.to_string(), secret)),
        }
    }
}

const OKTA_HINT: &str = " (an Okta org URL looks like `https://acme.okta.com`)";
const ONELOGIN_HINT: &str = " or region (a OneLogin URL looks like `https://acme.onelogin.com` or `https://api.us.onelogin.com`)";

/// `GET /api/v1/users?limit=1` with `Authorization: SSWS <token>`.
pub fn check_okta(url: &str, token: &Secret, timeout: Duration) -> Result<CheckOk, CheckError> {
    let path = "/api/v1/users?limit=1";
    let (full, base) = endpoint(url, path)?;
    let failure = Failure {
        service: "Okta",
        base: base.clone(),
        path,
        hint: OKTA_HINT,
        what: "token",
        refused: &[401, 403],
        fix: "the token is wrong, expired or revoked, belongs to another org, or its admin cannot read users",
    };
    let header = Secret::new(format!("SSWS {}", token.expose()));
    let response = client(timeout, http::Service::Okta)?
        .execute(http::Request::get(full).auth_header(&header))
        .map_err(|e| failure.classify(e, token))?;
    let is_array =
        serde_json::from_slice::<serde_json::Value>(response.body()).is_ok_and(|v| v.is_array());
    if !is_array {
        return Err(CheckError::NotTheService {
            url: base,
            service: "Okta",
        });
    }
    let quota = match (
        response.header("x-rate-limit-remaining"),
        response.header("x-rate-limit-limit"),
    ) {
        (Some(r), Some(l)) => format!("; rate limit: {r} of {l} calls left"),
        _ => String::new(),
    };
    Ok(CheckOk {
        summary: format!("okta: `{base}` accepted the token (GET {path}: 200){quota}"),
    })
}

/// `POST /auth/oauth2/v2/token` with the client id and secret (HTTP Basic), as every tool does
/// before its first call. The token is not revoked: OneLogin hands the same client the same
/// token, so revoking it would break a migration running with these credentials.
pub fn check_onelogin(
    url: &str,
    client_id: &str,
    client_secret: &Secret,
    timeout: Duration,
) -> Result<CheckOk, CheckError> {
    use base64::Engine;
    let path = "/auth/oauth2/v2/token";
    let (full, base) = endpoint(url, path)?;
    let failure = Failure {
        service: "OneLogin",
        base: base.clone(),
        path,
        hint: ONELOGIN_HINT,
        what: "client credentials",
        refused: &[400, 401, 403],
        fix: "check the client id and secret (Developers → API Credentials) and that the URL is this account's",
    };
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{client_id}:{}", client_secret.expose()));
    let header = Secret::new(format!("Basic {basic}"));
    let body = serde_json::json!({"grant_type": "client_credentials"});
    let response = client(timeout, http::Service::OneLogin)?
        .execute(http::Request::post_json(full, &body).auth_header(&header))
        .map_err(|e| failure.classify(e, client_secret))?;
    let json = serde_json::from_slice::<serde_json::Value>(response.body()).ok();
    let Some(json) = json.filter(|j| j.get("access_token").is_some_and(|t| t.is_string())) else {
        return Err(CheckError::NotTheService {
            url: base,
            service: "OneLogin",
        });
    };
    let expires = json
        .get("expires_in")
        .and_then(|e| e.as_u64())
        .map(|s| format!(", expires in {s} s"))
        .unwrap_or_default();
    Ok(CheckOk {
        summary: format!(
            "onelogin: `{base}` issued an access token for client id `{client_id}` (POST {path}: 200{expires})"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_details_never_echo_the_secret() {
        let secret = Secret::new("00abcdefghijklmnopqrstuvwxyz");
        let detail = api_detail(
            Some("E0000011"),
            Some("Invalid token provided: 00abcdefghijklmnopqrstuvwxyz"),
            &secret,
        );
        assert!(
            detail.starts_with(": E0000011 Invalid token provided"),
            "{detail}"
        );
        assert!(!detail.contains("00abcdefghijklmnopqrstuvwxyz"), "{detail}");
        // OneLogin's error names repeat the status: only the message is kept.
        let v2 = api_detail(Some("UnauthorizedError"), Some("Unauthorized"), &secret);
        assert_eq!(v2, ": Unauthorized");
        assert_eq!(api_detail(None, None, &secret), "");
    }

    #[test]
    fn bad_urls_are_refused_before_any_call() {
        let token = Secret::new("t");
        let err = check_okta("acme.okta.com", &token, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, CheckError::BadUrl { .. }), "{err}");
        let err = check_okta("ftp://acme.okta.com", &token, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, CheckError::BadUrl { .. }), "{err}");
    }
}
