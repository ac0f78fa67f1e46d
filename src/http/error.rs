//! What can go wrong with a request, and the API's own words about it.
//!
//! Every variant carries the method and the URL (never a secret: userinfo is stripped, and
//! credentials only ever travel in headers or bodies, which are never printed). A failed
//! response also carries the HTTP status and the API's message, parsed leniently because the
//! two APIs we talk to have at least five error shapes between them:
//!
//! - Okta: `{"errorCode","errorSummary","errorCauses":[{"errorSummary"}]}` (causes sometimes a
//!   single object);
//! - OneLogin v2: `{"message","statusCode","name"}`, with `field` on field errors;
//! - OneLogin roles service: `{"status":400,"error":"BadRequestError","description"}`;
//! - OneLogin v1: `{"status":{"error":true,"code","type","message"}}` where `message` may be an
//!   object `{"attribute","description"}`;
//! - the flat `{"error":true,"code","type","message"}` of OneLogin's OpenAPI examples.
//!
//! [`HttpError::outcome_unknown`] tells a caller that a non-idempotent request (a create) may
//! or may not have taken effect, so it must look the object up before trying again.

use serde_json::Value;

/// How a request failed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The connection could not be opened: nothing was sent.
    Connect,
    /// No (complete) answer in time.
    Timeout,
    /// The connection was reset or closed without a (complete) response.
    Reset,
    /// The request cannot be sent as built (a header value with a line break): nothing was
    /// sent, and trying again changes nothing.
    Invalid,
    /// Anything else reqwest reports (TLS, protocol).
    Other,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "cannot connect",
            TransportKind::Timeout => "timed out",
            TransportKind::Reset => "connection reset or closed without a response",
            TransportKind::Invalid => "cannot send the request",
            TransportKind::Other => "transport error",
        })
    }
}

/// An error of [`crate::http::Client::execute`].
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL does not parse or is not http(s).
    #[error("invalid url `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The request body could not be serialized.
    #[error("{method} `{url}`: cannot encode the request body: {reason}")]
    Encode {
        method: String,
        url: String,
        reason: String,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the http client: {0}")]
    Build(String),
    /// The server answered with a status that is an error (after any retries).
    #[error("{method} `{url}`: HTTP {status}{}{}{}", fmt_message(.message), fmt_field(.field), fmt_tries(*.attempts, *.outcome_unknown))]
    Status {
        method: String,
        url: String,
        status: u16,
        /// The API's message, if the body had one.
        message: Option<String>,
        /// The field the API names, if any.
        field: Option<String>,
        /// The API's error code (Okta `errorCode`, OneLogin `name`).
        code: Option<String>,
        /// How many times the request was sent.
        attempts: u32,
        /// A 5xx answer to a non-idempotent request: it may have taken effect.
        outcome_unknown: bool,
    },
    /// The request failed on the wire (after any retries).
    #[error("{method} `{url}`: {kind}: {reason}{}", fmt_tries(*.attempts, *.outcome_unknown))]
    Transport {
        method: String,
        url: String,
        kind: TransportKind,
        reason: String,
        attempts: u32,
        /// The request may have reached the server and taken effect.
        outcome_unknown: bool,
    },
    /// A successful response whose body is not what was expected.
    #[error("{method} `{url}`: unexpected response body: {reason}")]
    Decode {
        method: String,
        url: String,
        reason: String,
    },
}

fn fmt_message(m: &Option<String>) -> String {
    m.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
}

fn fmt_field(f: &Option<String>) -> String {
    f.as_ref()
        .map(|f| format!(" (field `{f}`)"))
        .unwrap_or_default()
}

fn fmt_tries(attempts: u32, outcome_unknown: bool) -> String {
    let mut s = String::new();
    if attempts > 1 {
        s.push_str(&format!(" (gave up after {attempts} tries)"));
    }
    if outcome_unknown {
        s.push_str(" (the request may have taken effect)");
    }
    s
}

impl HttpError {
    /// The HTTP status of a failed response.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API's message about the failure, if it sent one.
    pub fn api_message(&self) -> Option<String> {
        match self {
            HttpError::Status { message, .. } => message.clone(),
            _ => None,
        }
    }

    /// The field the API blames, if it names one.
    pub fn field(&self) -> Option<String> {
        match self {
            HttpError::Status { field, .. } => field.clone(),
            _ => None,
        }
    }

    /// The API's error code (Okta `E0000001`, OneLogin `UnprocessableEntityError`).
    pub fn code(&self) -> Option<String> {
        match self {
            HttpError::Status { code, .. } => code.clone(),
            _ => None,
        }
    }

    /// True when a non-idempotent request may have taken effect although it failed: look the
    /// object up before retrying.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            HttpError::Status {
                outcome_unknown, ..
            }
            | HttpError::Transport {
                outcome_unknown, ..
            } => *outcome_unknown,
            _ => false,
        }
    }

    /// True for failures that never reached an answer from the server (connect, timeout, reset).
    pub fn is_transport(&self) -> bool {
        matches!(self, HttpError::Transport { .. })
    }
}

/// What an error body says: message, field and code, each when present.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub message: Option<String>,
    pub field: Option<String>,
    pub code: Option<String>,
}

/// Parse an error body of either API, leniently. A body that is not JSON yields its first
/// line as the message unless it looks like an HTML page.
pub fn parse_error_body(body: &[u8]) -> ErrorBody {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => parse_object(&obj),
        Ok(_) => ErrorBody::default(),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let line = text.trim().lines().next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('<') {
                ErrorBody::default()
            } else {
                ErrorBody {
                    message: Some(truncate(line, 300)),
                    ..ErrorBody::default()
                }
            }
        }
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max_chars).collect();
        t.push('…');
        t
    }
}

fn str_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// `login: An object with this field…` → `login`; only identifier-like prefixes count.
fn field_prefix(text: &str) -> Option<String> {
    let (head, rest) = text.split_once(':')?;
    let head = head.trim();
    let ok = !head.is_empty()
        && !rest.trim().is_empty()
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
    ok.then(|| head.to_string())
}

fn parse_object(obj: &serde_json::Map<String, Value>) -> ErrorBody {
    // Okta
    if let Some(summary) = str_of(obj.get("errorSummary")) {
        let causes: Vec<String> = match obj.get("errorCauses") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|c| str_of(c.get("errorSummary")))
                .collect(),
            Some(c @ Value::Object(_)) => str_of(c.get("errorSummary")).into_iter().collect(),
            _ => Vec::new(),
        };
        let field = causes.iter().find_map(|c| field_prefix(c)).or_else(|| {
            summary
                .strip_prefix("Api validation failed:")
                .map(str::trim)
                .filter(|f| !f.is_empty() && !f.contains(' '))
                .map(str::to_string)
        });
        let message = if causes.is_empty() {
            summary
        } else {
            format!("{summary} ({})", causes.join("; "))
        };
        return ErrorBody {
            message: Some(message),
            field,
            code: str_of(obj.get("errorCode")),
        };
    }
    // OneLogin v1 envelope: {"status":{"error":true,"code":400,"type":"…","message":…}}
    if let Some(Value::Object(status)) = obj.get("status") {
        let (message, field) = match status.get("message") {
            Some(Value::String(s)) => (Some(s.trim().to_string()), None),
            Some(Value::Object(m)) => (
                str_of(m.get("description")).or_else(|| str_of(m.get("message"))),
                str_of(m.get("attribute")).or_else(|| str_of(m.get("field"))),
            ),
            _ => (None, None),
        };
        return ErrorBody {
            message: message.or_else(|| str_of(status.get("type"))),
            field,
            code: str_of(status.get("type")),
        };
    }
    // OneLogin v2 and its variants: message, description, name / error.
    let mut field = str_of(obj.get("field")).or_else(|| str_of(obj.get("attribute")));
    let mut message = str_of(obj.get("message")).or_else(|| str_of(obj.get("description")));
    if let Some(Value::Array(errors)) = obj.get("errors") {
        let mut parts = Vec::new();
        for e in errors {
            let f = str_of(e.get("field")).or_else(|| str_of(e.get("attribute")));
            let m = match e.get("message") {
                Some(Value::Array(ms)) => ms
                    .iter()
                    .filter_map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            if field.is_none() {
                field = f.clone();
            }
            match (f, m.is_empty()) {
                (Some(f), false) => parts.push(format!("{f}: {m}")),
                (None, false) => parts.push(m),
                _ => {}
            }
        }
        if !parts.is_empty() {
            message = Some(match message {
                Some(m) => format!("{m} ({})", parts.join("; ")),
                None => parts.join("; "),
            });
        }
    }
    let code = str_of(obj.get("name")).or_else(|| str_of(obj.get("error")));
    ErrorBody {
        message: message.or_else(|| code.clone()),
        field,
        code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ErrorBody {
        parse_error_body(s.as_bytes())
    }

    #[test]
    fn okta_error_with_causes_names_the_field() {
        let e = parse(
            r#"{"errorCode":"E0000001","errorSummary":"Api validation failed: login","errorLink":"E0000001","errorId":"x","errorCauses":[{"errorSummary":"login: An object with this field already exists in the current organization"}]}"#,
        );
        assert_eq!(e.code.as_deref(), Some("E0000001"));
        assert_eq!(e.field.as_deref(), Some("login"));
        assert_eq!(
            e.message.as_deref(),
            Some(
                "Api validation failed: login (login: An object with this field already exists in the current organization)"
            )
        );
    }

    #[test]
    fn okta_error_causes_may_be_one_object_or_empty() {
        let e = parse(
            r#"{"errorCode":"E0000001","errorSummary":"Api validation failed","errorCauses":{"errorSummary":"profile.email: bad"}}"#,
        );
        assert_eq!(e.field.as_deref(), Some("profile.email"));
        let e = parse(
            r#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorCauses":[]}"#,
        );
        assert_eq!(
            e.message.as_deref(),
            Some("API call exceeded rate limit due to too many requests.")
        );
        assert_eq!(e.field, None);
    }

    #[test]
    fn onelogin_v2_shapes() {
        let e = parse(
            r#"{"message":"Invalid sort field: created_at","field":"created_at","name":"UnprocessableEntityFieldError","statusCode":422}"#,
        );
        assert_eq!(e.message.as_deref(), Some("Invalid sort field: created_at"));
        assert_eq!(e.field.as_deref(), Some("created_at"));
        assert_eq!(e.code.as_deref(), Some("UnprocessableEntityFieldError"));
        let e = parse(
            r#"{"status":400,"error":"BadRequestError","description":"Expected array in request"}"#,
        );
        assert_eq!(e.message.as_deref(), Some("Expected array in request"));
        assert_eq!(e.code.as_deref(), Some("BadRequestError"));
        let e = parse(
            r#"{"error":true,"code":422,"type":"UnprocessableEntityError","message":"Validation failed: Value has already been taken"}"#,
        );
        assert_eq!(
            e.message.as_deref(),
            Some("Validation failed: Value has already been taken")
        );
        let e = parse(r#"{"statusCode":401,"name":"UnauthorizedError"}"#);
        assert_eq!(e.message.as_deref(), Some("UnauthorizedError"));
    }

    #[test]
    fn onelogin_v1_envelope_with_string_or_object_message() {
        let e = parse(
            r#"{"status":{"error":true,"code":401,"type":"Unauthorized","message":"Authentication Failure"}}"#,
        );
        assert_eq!(e.message.as_deref(), Some("Authentication Failure"));
        let e = parse(
            r#"{"status":{"error":true,"code":400,"type":"bad request","message":{"attribute":"id","description":"ID is incorrect"}}}"#,
        );
        assert_eq!(e.message.as_deref(), Some("ID is incorrect"));
        assert_eq!(e.field.as_deref(), Some("id"));
    }

    #[test]
    fn errors_array_is_read_defensively() {
        let e = parse(
            r#"{"message":"Validation failed","errors":[{"field":"email","message":["is taken"]}]}"#,
        );
        assert_eq!(e.field.as_deref(), Some("email"));
        assert_eq!(
            e.message.as_deref(),
            Some("Validation failed (email: is taken)")
        );
    }

    #[test]
    fn non_json_bodies() {
        assert_eq!(parse("<html><body>502</body></html>"), ErrorBody::default());
        assert_eq!(parse("").message, None);
        assert_eq!(
            parse("upstream connect error\nmore").message.as_deref(),
            Some("upstream connect error")
        );
    }

    #[test]
    fn display_names_method_url_status_message_and_field() {
        let e = HttpError::Status {
            method: "POST".into(),
            url: "https://acme.okta.com/api/v1/users".into(),
            status: 400,
            message: Some("Api validation failed: login".into()),
            field: Some("login".into()),
            code: Some("E0000001".into()),
            attempts: 1,
            outcome_unknown: false,
        };
        assert_eq!(
            e.to_string(),
            "POST `https://acme.okta.com/api/v1/users`: HTTP 400: Api validation failed: login (field `login`)"
        );
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.field().as_deref(), Some("login"));
        assert!(!e.outcome_unknown());
    }
}
