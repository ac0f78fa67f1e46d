//! `idm-creds test`: one authenticated call, and what its failure means.
//!
//! A person who runs `test` wants to know which setting to fix, so every failure of the shared
//! HTTP client is turned into one of: the URL is malformed, its host does not resolve (wrong
//! subdomain or region), nothing answers, the credentials were refused (with the API's own
//! error, e.g. Okta's `E0000011`), the path does not exist (wrong URL), or the answer is not the
//! API's JSON (a web page at that URL). Any text that comes back from a server is scrubbed of
//! the secret before it is shown.
//!
//! The same check is every tool's first call ([`crate::cli::reach`]), so it also tells a wrong
//! URL from a wrong secret: a refusal from a URL with a path after the host, from a host that
//! answers like the other service (an Okta org given as the OneLogin URL), or from the URL the
//! other service is configured at, is put on the URL, never on the secret. And it says which
//! failures are passing ([`CheckError::is_transient`]: a 429, a 5xx, a reset connection), for
//! a tool to leave to its retrying client instead of failing at once.

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
    Unreachable {
        url: String,
        detail: String,
        /// A reset connection: worth another try, unlike one refused or timed out.
        transient: bool,
    },
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
    /// A refusal or a 4xx that the URL explains better than the credentials.
    #[error("`{url}` answered HTTP {status} for `{path}`: wrong URL for {service}: {why}")]
    WrongUrl {
        url: String,
        status: u16,
        path: &'static str,
        service: &'static str,
        why: String,
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

impl CheckError {
    /// A failure that may pass by itself (a 429, a 5xx, a reset connection): a tool leaves it
    /// to its retrying client rather than giving up before it started.
    pub fn is_transient(&self) -> bool {
        match self {
            CheckError::Unreachable { transient, .. } => *transient,
            CheckError::Unexpected { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// What a check can name besides the URL: where the secret came from, and the other service's
/// URL when one is configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// Where the secret was read, for people: ``env `IDM_OKTA_TOKEN` ``.
    pub source: Option<&'a str>,
    /// The other service's URL (the OneLogin URL for an Okta check, and back).
    pub other_url: Option<&'a str>,
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

/// ` (env `IDM_OKTA_TOKEN`)` when the secret's origin is known.
fn from(source: Option<&str>) -> String {
    source.map(|s| format!(" ({s})")).unwrap_or_default()
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
    fix: String,
    other_url: Option<String>,
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
                let why = (400..500).contains(&status) && status != 429;
                let why = why.then(|| self.wrong_url(code.as_deref())).flatten();
                if let Some(why) = why {
                    CheckError::WrongUrl {
                        url,
                        status,
                        path: self.path,
                        service: self.service,
                        why,
                    }
                } else if self.refused.contains(&status) {
                    CheckError::BadCredentials {
                        url,
                        what: self.what,
                        status,
                        detail,
                        fix: self.fix.clone(),
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
                        transient: kind == http::TransportKind::Reset,
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

impl Failure {
    /// Why the URL, not the secret, is the likely fault of a 4xx; `None` when nothing says so.
    fn wrong_url(&self, code: Option<&str>) -> Option<String> {
        let parsed = url::Url::parse(&self.base).ok()?;
        let host = parsed.host_str().unwrap_or("").to_ascii_lowercase();
        let (other, other_flag, example) = match self.service {
            "Okta" => (
                "OneLogin",
                "`--onelogin-url`/IDM_ONELOGIN_URL",
                "an Okta org URL looks like `https://acme.okta.com`",
            ),
            _ => (
                "Okta",
                "`--okta-url`/IDM_OKTA_URL",
                "a OneLogin URL looks like `https://acme.onelogin.com` or `https://api.us.onelogin.com`",
            ),
        };
        let mut why = Vec::new();
        let path = parsed.path();
        if !path.is_empty() && path != "/" {
            why.push(format!("it has a path after the host (`{path}`)"));
        }
        // Okta's error codes are `E0000011`; OneLogin's v2 errors are named `NotFoundError`
        let other_code = code.filter(|c| match self.service {
            "Okta" => c.ends_with("Error"),
            _ => c.len() > 1 && c.starts_with('E') && c[1..].bytes().all(|b| b.is_ascii_digit()),
        });
        if let Some(c) = other_code {
            why.push(format!("it answers like {other} (`{c}`)"));
        }
        let other_host = match self.service {
            "Okta" => host.contains("onelogin."),
            _ => [
                ".okta.com",
                ".oktapreview.com",
                ".okta-emea.com",
                ".okta-gov.com",
            ]
            .iter()
            .any(|d| host.ends_with(d)),
        };
        if other_host {
            why.push(format!("`{host}` is a {other} host"));
        }
        let same_as_other = self
            .other_url
            .as_deref()
            .and_then(|u| url::Url::parse(u.trim()).ok())
            .is_some_and(|o| {
                o.scheme() == parsed.scheme()
                    && o.host_str() == parsed.host_str()
                    && o.port_or_known_default() == parsed.port_or_known_default()
            });
        if same_as_other {
            why.push(format!("it is the {other} URL too ({other_flag})"));
        }
        if why.is_empty() {
            return None;
        }
        Some(format!("{}; {example}", why.join(", ")))
    }
}

const OKTA_HINT: &str = " (an Okta org URL looks like `https://acme.okta.com`)";
const ONELOGIN_HINT: &str = " or region (a OneLogin URL looks like `https://acme.onelogin.com` or `https://api.us.onelogin.com`)";

/// `GET /api/v1/users?limit=1` with `Authorization: SSWS <token>`.
pub fn check_okta(url: &str, token: &Secret, timeout: Duration) -> Result<CheckOk, CheckError> {
    check_okta_in(url, token, timeout, Context::default())
}

/// [`check_okta`], naming what `cx` knows in its diagnoses.
pub fn check_okta_in(
    url: &str,
    token: &Secret,
    timeout: Duration,
    cx: Context<'_>,
) -> Result<CheckOk, CheckError> {
    let path = "/api/v1/users?limit=1";
    let (full, base) = endpoint(url, path)?;
    let failure = Failure {
        service: "Okta",
        base: base.clone(),
        path,
        hint: OKTA_HINT,
        what: "token",
        refused: &[401, 403],
        fix: format!(
            "the token{} is wrong, expired or revoked, belongs to another org, or its admin cannot read users",
            from(cx.source)
        ),
        other_url: cx.other_url.map(str::to_string),
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
    check_onelogin_in(url, client_id, client_secret, timeout, Context::default())
}

/// [`check_onelogin`], naming what `cx` knows in its diagnoses.
pub fn check_onelogin_in(
    url: &str,
    client_id: &str,
    client_secret: &Secret,
    timeout: Duration,
    cx: Context<'_>,
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
        fix: match cx.source {
            None => "check the client id and secret (Developers → API Credentials) and that the URL is this account's".to_string(),
            Some(_) => format!(
                "check the client id `{client_id}` and the secret{} (Developers → API Credentials) and that the URL is this account's",
                from(cx.source)
            ),
        },
        other_url: cx.other_url.map(str::to_string),
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

    fn onelogin_failure(base: &str, other_url: Option<&str>) -> Failure {
        Failure {
            service: "OneLogin",
            base: base.into(),
            path: "/auth/oauth2/v2/token",
            hint: ONELOGIN_HINT,
            what: "client credentials",
            refused: &[400, 401, 403],
            fix: "check the secret".into(),
            other_url: other_url.map(str::to_string),
        }
    }

    fn refused(status: u16, code: Option<&str>) -> http::HttpError {
        http::HttpError::Status {
            method: "POST".into(),
            url: "u".into(),
            status,
            message: Some("Unauthorized".into()),
            field: None,
            code: code.map(str::to_string),
            attempts: 1,
            outcome_unknown: false,
        }
    }

    #[test]
    fn a_wrong_url_is_not_blamed_on_the_secret() {
        let secret = Secret::new("s3cret");
        // a path after the host: OneLogin answers 401 to a token request there
        let f = onelogin_failure("https://api.us.onelogin.com/api/2", None);
        let err = f.classify(refused(401, Some("UnauthorizedError")), &secret);
        let text = err.to_string();
        assert!(matches!(err, CheckError::WrongUrl { .. }), "{text}");
        assert!(text.contains("path after the host (`/api/2`)"), "{text}");
        assert!(!text.contains("secret"), "{text}");
        // the Okta org given as the OneLogin URL: it answers with Okta's codes, at Okta's port
        let f = onelogin_failure("http://127.0.0.1:4000", Some("http://127.0.0.1:4000/"));
        let text = f
            .classify(refused(401, Some("E0000011")), &secret)
            .to_string();
        assert!(text.contains("answers like Okta (`E0000011`)"), "{text}");
        assert!(text.contains("it is the Okta URL too"), "{text}");
        assert!(!text.contains("secret"), "{text}");
        // nothing wrong with the URL: the credentials are named
        let f = onelogin_failure("https://acme.onelogin.com", Some("https://acme.okta.com"));
        let err = f.classify(refused(401, Some("UnauthorizedError")), &secret);
        assert!(matches!(err, CheckError::BadCredentials { .. }), "{err}");
        assert!(err.to_string().contains("check the secret"), "{err}");
    }

    #[test]
    fn passing_failures_are_told_apart() {
        let secret = Secret::new("s");
        let f = onelogin_failure("https://acme.onelogin.com", None);
        assert!(f.classify(refused(503, None), &secret).is_transient());
        assert!(f.classify(refused(429, None), &secret).is_transient());
        assert!(!f.classify(refused(401, None), &secret).is_transient());
        let wire = |kind| http::HttpError::Transport {
            method: "POST".into(),
            url: "u".into(),
            kind,
            reason: "x".into(),
            attempts: 1,
            outcome_unknown: false,
        };
        assert!(
            f.classify(wire(http::TransportKind::Reset), &secret)
                .is_transient()
        );
        assert!(
            !f.classify(wire(http::TransportKind::Connect), &secret)
                .is_transient()
        );
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
