//! API clients for identity providers, behind traits the tools are written against.
//!
//! A [`Source`] streams one kind of object at a time into a [`Sink`], page by page, as export
//! records (`data` = the provider's object whole). idm-export only knows this trait: the order
//! of kinds, the output files, progress and the bookmark are its business; paging, filters and
//! the provider's quirks are the source's. A Stormpath export, a CSV staging file or OneLogin
//! become sources by implementing it, without touching the binary.
//!
//! - [`okta`]: the Okta management API as a [`Source`].
//! - [`onelogin`]: the OneLogin v2 API (token, users, roles, apps, custom attributes), used by
//!   idm-load, idm-attrs and idm-csv.
//! - [`stormpath`]: a Stormpath export directory as a [`Source`].
//! - [`csv_file`]: a CSV staging file as a [`Source`].
//!
//! Pagination helpers shared by providers live here too: [`next_link`] reads RFC 8288 `Link`
//! headers (one per line or comma-joined) and [`encode_query`] builds query strings with `%20`
//! for spaces, which every server decodes the same way (`+` is only a space in forms).

pub mod csv_file;
pub mod error;
pub mod okta;
pub mod onelogin;
pub mod stormpath;
pub mod target;

pub use error::{ApiError, Created};

use crate::http::HttpError;
use crate::record::{Kind, Record};

/// What to export, beyond the kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// Also export users whose status is DEPROVISIONED (and their memberships).
    pub include_deprovisioned: bool,
    /// Only users and groups changed after this instant (RFC 3339, UTC, milliseconds:
    /// `2026-01-01T00:00:00.000Z`).
    pub since: Option<String>,
    /// Objects per page requested from the API (clamped to each endpoint's maximum).
    pub page_size: u32,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            include_deprovisioned: false,
            since: None,
            page_size: 200,
        }
    }
}

/// Where a source puts what it reads.
pub trait Sink {
    /// Take one record. An error (a closed pipe) stops the export.
    fn record(&mut self, record: Record) -> Result<(), SourceError>;
    /// For kinds listed per parent (memberships per group): `done` of `total` parents.
    fn parents(&mut self, _done: u64, _total: u64) {}
    /// For kinds listed per parent: a sink for one parent's records that another thread may
    /// fill while this one goes on. What parts hold comes out after what this sink took before
    /// the part, in the order the parts were taken, and before what it takes after. A part
    /// counts only once [`Part::done`]: one dropped without it (its listing failed) makes the
    /// export fail. `None` (the default): list every parent into this sink, one by one.
    fn part(&mut self) -> Option<Box<dyn Part>> {
        None
    }
}

/// One parent's share of a [`Sink`], filled on another thread.
pub trait Part: Sink + Send {
    /// Every record of the parent is in.
    fn done(self: Box<Self>) -> Result<(), SourceError>;
}

/// A system objects are exported from.
pub trait Source {
    /// The `source` of its records: `okta`, `stormpath`, `csv`, `onelogin`.
    fn name(&self) -> &'static str;
    /// The kinds it can export, in the order they should be exported.
    fn kinds(&self) -> Vec<Kind>;
    /// Stream every object of `kind` into `sink`.
    fn export(
        &mut self,
        kind: &Kind,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError>;
    /// How far the source's clock is ahead of ours (negative: behind), as far as it can tell
    /// after the requests made so far; bookmarks are taken on the source's clock so that a
    /// `--since last` filter compares like with like. Zero by default.
    fn clock_skew(&self) -> time::Duration {
        time::Duration::ZERO
    }
    /// Lines for a person once the export is done: what was read, what was skipped and why.
    /// File sources say here what they left out; none by default.
    fn summary(&self) -> Vec<String> {
        Vec::new()
    }
    /// How many pieces of input the source rejected (named on stderr, written to its rejects
    /// file): the export then ends with exit code 3. Zero by default.
    fn rejected(&self) -> u64 {
        0
    }
    /// Another handle on the same source, sharing its connection and quota, so idm-export can
    /// read independent kinds at the same time (an API's users while its groups' members are
    /// listed). `None` (the default): kinds are read one after another on this handle.
    fn fork(&self) -> Option<Box<dyn Source + Send>> {
        None
    }
}

/// Why an export from a source failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Boxed: an HTTP error is large and most results are `Ok`.
    #[error(transparent)]
    Http(Box<HttpError>),
    /// The API answered 2xx with something we cannot use.
    #[error("`{url}`: {reason}")]
    Unexpected { url: String, reason: String },
    /// An object the API returned is not usable (no `id`).
    #[error("{0}")]
    Invalid(String),
    #[error("{0} does not export `{1}`")]
    Unsupported(&'static str, String),
    #[error("invalid {what} `{value}`: {reason}")]
    Config {
        what: &'static str,
        value: String,
        reason: String,
    },
    /// A file-based source (a Stormpath export, a CSV file) cannot be read; the message names
    /// the file.
    #[error(transparent)]
    Input(Box<dyn std::error::Error + Send + Sync>),
    /// Writing the records failed (a closed pipe included).
    #[error("writing records: {0}")]
    Io(#[from] std::io::Error),
}

impl From<HttpError> for SourceError {
    fn from(e: HttpError) -> SourceError {
        SourceError::Http(Box::new(e))
    }
}

/// The `rel="next"` target among `Link` header values, resolved against `base`.
///
/// Each value may hold several comma-separated links (`<a>; rel="self", <b>; rel="next"`), and
/// `rel` may hold several relation types (`rel="next last"`).
pub fn next_link(values: &[&str], base: &url::Url) -> Option<url::Url> {
    for value in values {
        let mut rest = *value;
        while let Some(start) = rest.find('<') {
            let Some(end) = rest[start..].find('>') else {
                break;
            };
            let target = &rest[start + 1..start + end];
            let after = &rest[start + end + 1..];
            // the parameters run to the next link (a comma followed by `<`) or the end
            let params_end = after.find('<').unwrap_or(after.len());
            let params = &after[..params_end];
            rest = &after[params_end..];
            let is_next = params.split(';').any(|p| {
                let Some((k, v)) = p.split_once('=') else {
                    return false;
                };
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_end_matches(',')
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return base.join(target.trim()).ok();
            }
        }
    }
    None
}

/// `k=v&k2=v2` with every byte outside the unreserved set percent-encoded, spaces as `%20`.
pub fn encode_query(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        url::form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> url::Url {
        url::Url::parse("https://acme.okta.com/api/v1/users?limit=200").unwrap()
    }

    #[test]
    fn next_link_from_separate_header_lines() {
        let values = [
            r#"<https://acme.okta.com/api/v1/users?limit=200>; rel="self""#,
            r#"<https://acme.okta.com/api/v1/users?after=00ud4tVDDXYVKPXKVLCO&limit=200>; rel="next""#,
        ];
        assert_eq!(
            next_link(&values, &base()).unwrap().as_str(),
            "https://acme.okta.com/api/v1/users?after=00ud4tVDDXYVKPXKVLCO&limit=200"
        );
    }

    #[test]
    fn next_link_from_one_comma_joined_value() {
        let joined = r#"<https://acme.okta.com/api/v1/users?limit=200>; rel="self", <https://acme.okta.com/api/v1/users?after=x,y&limit=200>; rel="next""#;
        assert_eq!(
            next_link(&[joined], &base()).unwrap().as_str(),
            "https://acme.okta.com/api/v1/users?after=x,y&limit=200"
        );
    }

    #[test]
    fn next_link_variants() {
        // unquoted rel, several relation types, odd spacing, relative target
        assert_eq!(
            next_link(&["</api/v1/users?after=2> ;rel=next"], &base())
                .unwrap()
                .as_str(),
            "https://acme.okta.com/api/v1/users?after=2"
        );
        assert!(next_link(&[r#"<https://a/x>; rel="next last""#], &base()).is_some());
        assert!(next_link(&[r#"<https://a/x>; REL="Next""#], &base()).is_some());
        // the last page: only self
        assert_eq!(
            next_link(
                &[r#"<https://acme.okta.com/api/v1/users>; rel="self""#],
                &base()
            ),
            None
        );
        // no header, garbage
        assert_eq!(next_link(&[], &base()), None);
        assert_eq!(
            next_link(&["garbage; rel=next", "<unclosed"], &base()),
            None
        );
        // `nextish` is not next
        assert_eq!(
            next_link(&[r#"<https://a/x>; rel="nextish""#], &base()),
            None
        );
    }

    #[test]
    fn queries_encode_spaces_and_quotes() {
        assert_eq!(
            encode_query(&[("filter", r#"status eq "DEPROVISIONED""#), ("limit", "200")]),
            "filter=status%20eq%20%22DEPROVISIONED%22&limit=200"
        );
        assert_eq!(
            encode_query(&[("filter", "lastUpdated gt \"2026-01-01T00:00:00.000Z\"")]),
            "filter=lastUpdated%20gt%20%222026-01-01T00%3A00%3A00.000Z%22"
        );
    }
}
