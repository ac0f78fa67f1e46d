//! What a provider's API answered when it said no, in one shape for every provider.
//!
//! The load engine decides from it alone what a failure means: the whole run is over (the API
//! is unreachable, the credentials are refused), one object failed (a 4xx, a write whose answer
//! was lost), or the object is already there (a duplicate). Provider clients fill it from their
//! error bodies; the HTTP layer has already retried what was transient.

use crate::http::HttpError;
use crate::record::result::Failure;

/// An error from a provider's API or the way to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {}", describe(*status, message))]
pub struct ApiError {
    /// `POST /api/2/users` (never a full URL with a query: that may hold people's data).
    pub what: String,
    /// HTTP status, when the server answered.
    pub status: Option<u16>,
    /// The field the API named, if any.
    pub field: Option<String>,
    /// The provider's error code (Okta's `E0000001`), if any.
    pub code: Option<String>,
    /// The API's message (or what went wrong on the way).
    pub message: String,
    /// A write was sent but no answer came back: it may or may not have been applied.
    pub outcome_unknown: bool,
}

fn describe(status: Option<u16>, message: &str) -> String {
    match status {
        Some(s) => format!("{s} {message}"),
        None => message.to_string(),
    }
}

impl ApiError {
    pub fn new(what: &str, status: Option<u16>, message: impl Into<String>) -> ApiError {
        ApiError {
            what: what.to_string(),
            status,
            field: None,
            code: None,
            message: message.into(),
            outcome_unknown: false,
        }
    }

    /// From the HTTP layer's error (which has parsed the provider's error body).
    pub fn from_http(what: &str, err: &HttpError) -> ApiError {
        ApiError {
            what: what.to_string(),
            status: err.status(),
            field: err.field().map(|f| f.to_string()),
            code: err.code().map(|c| c.to_string()),
            message: err
                .api_message()
                .map(|m| m.to_string())
                .unwrap_or_else(|| err.to_string()),
            outcome_unknown: err.outcome_unknown(),
        }
    }

    /// "must be unique", "has already been taken", "already exists", 409: the object is
    /// already there.
    pub fn is_duplicate(&self) -> bool {
        let m = self.message.to_ascii_lowercase();
        self.status == Some(409)
            || (matches!(self.status, Some(400 | 422))
                && (m.contains("must be unique")
                    || m.contains("already been taken")
                    || m.contains("already exists")))
    }

    /// The API refused to touch the account owner.
    pub fn is_account_owner(&self) -> bool {
        self.message.to_ascii_lowercase().contains("account owner")
    }

    /// 401 or 403: the credentials are wrong or lack the needed permission. Okta answers 403
    /// about one object too (an operation its status does not allow: `E0000038`, `E0000016`,
    /// `E0000032`): those are no reason to stop the run.
    pub fn is_auth(&self) -> bool {
        match self.status {
            Some(401) => true,
            Some(403) => !matches!(
                self.code.as_deref(),
                Some("E0000038" | "E0000016" | "E0000032")
            ),
            _ => false,
        }
    }

    /// No answer at all and nothing sent that could have been applied: the API cannot be
    /// reached (the HTTP layer has already retried).
    pub fn is_unreachable(&self) -> bool {
        self.status.is_none() && !self.outcome_unknown
    }

    /// A failure of this one object (4xx other than auth, or a write whose outcome stayed
    /// unknown), as opposed to a failure of the whole run.
    pub fn is_per_object(&self) -> bool {
        match self.status {
            Some(s) => (400..500).contains(&s) && !self.is_auth() && s != 429,
            None => self.outcome_unknown,
        }
    }

    /// Whether this error ends the run rather than one object.
    pub fn is_fatal(&self) -> bool {
        self.is_unreachable() || self.is_auth()
    }
}

impl From<&ApiError> for Failure {
    fn from(e: &ApiError) -> Failure {
        Failure {
            status: e.status,
            field: e.field.clone(),
            message: if e.outcome_unknown && e.status.is_none() {
                format!("{}: {}", e.what, e.message)
            } else {
                e.message.clone()
            },
        }
    }
}

/// The outcome of an idempotent create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created<Id = String> {
    /// Created by this call (possibly by an attempt whose answer was lost).
    New(Id),
    /// It was already there (duplicate error, then found by lookup).
    Existing(Id),
}

impl<Id> Created<Id> {
    pub fn id(self) -> Id {
        match self {
            Created::New(id) | Created::Existing(id) => id,
        }
    }

    pub fn map<T>(self, f: impl FnOnce(Id) -> T) -> Created<T> {
        match self {
            Created::New(id) => Created::New(f(id)),
            Created::Existing(id) => Created::Existing(f(id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_auth_and_reach_are_told_apart() {
        let dup = ApiError::new("POST /api/2/users", Some(422), "Email must be unique");
        assert!(dup.is_duplicate() && dup.is_per_object() && !dup.is_fatal());
        let okta_dup = ApiError::new(
            "POST /api/v1/users",
            Some(400),
            "login: An object with this field already exists in the current organization",
        );
        assert!(okta_dup.is_duplicate());
        let auth = ApiError::new("GET /api/2/users", Some(401), "Unauthorized");
        assert!(auth.is_fatal() && !auth.is_per_object());
        let mut status = ApiError::new("POST /api/v1/users/{id}/lifecycle/suspend", Some(403), "x");
        status.code = Some("E0000038".into());
        assert!(!status.is_fatal() && status.is_per_object());
        let gone = ApiError::new("GET /api/2/users", None, "connection refused");
        assert!(gone.is_fatal() && gone.is_unreachable());
        let mut lost = ApiError::new("POST /api/2/users", None, "no answer");
        lost.outcome_unknown = true;
        assert!(!lost.is_fatal() && lost.is_per_object());
        assert_eq!(
            Created::New(7u64).map(|i| i.to_string()),
            Created::New("7".into())
        );
    }
}
