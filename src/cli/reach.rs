//! The first call of every tool that talks to a service: can it be reached, and does it take
//! the credentials?
//!
//! A tool's own client retries what may pass (seven tries, backing off up to half a minute),
//! which is right in the middle of a migration and wrong before it started: a mistyped host or
//! a closed port would only be told after minutes of retries. So before its first real call a
//! tool makes the one cheap call of `idm-creds test` ([`crate::creds::check`]) without retries,
//! and fails at once, in one line, with what to fix: the host does not resolve, nothing
//! listens, the credential (named with where it was read) was refused at this URL, or the URL
//! is the wrong one (a path after the host, the other service's address). What may pass by
//! itself (a 429, a 5xx, a reset connection) is left to the tool's retrying client.
//!
//! Keyed by [`Svc`], so every tool and every target (`--to okta`) shares it.

use std::time::Duration;

use anyhow::Context as _;

use super::conn::{ConnArgs, Svc};
use crate::creds::check::{self, Context};
use crate::secrets::{self, KeyringStore};

/// Check that `svc` answers at its configured URL and takes its credentials. Missing settings
/// are usage errors naming flag and variable (exit 2); a failed check is fatal (exit 1).
pub fn check(conn: &ConnArgs, svc: Svc) -> anyhow::Result<()> {
    // what can be told without the network is told first (a bad quota is a usage error)
    conn.quota(svc)?;
    let timeout = Duration::from_secs(conn.timeout.max(1));
    let store = KeyringStore::from_env();
    let checked = match svc {
        Svc::Okta => {
            let url = conn.okta_url()?;
            let found = secrets::resolve_in(&store, "okta", "token", Some(url))?;
            let cx = Context {
                source: Some(&found.source),
                other_url: conn.onelogin_url.as_deref(),
            };
            check::check_okta_in(url, &found.secret, timeout, cx)
        }
        Svc::OneLogin => {
            let url = conn.onelogin_url()?;
            let id = conn.onelogin_client_id()?;
            let found = secrets::resolve_in(&store, "onelogin", "client_secret", Some(url))?;
            let cx = Context {
                source: Some(&found.source),
                other_url: conn.okta_url.as_deref(),
            };
            check::check_onelogin_in(url, id, &found.secret, timeout, cx)
        }
    };
    match checked {
        Ok(ok) => {
            tracing::info!("{}", ok.summary);
            Ok(())
        }
        Err(e) if e.is_transient() => {
            tracing::info!("the first call was not conclusive, going on: {e}");
            Ok(())
        }
        Err(e) => Err(anyhow::Error::new(e)).context(match svc {
            Svc::Okta => "okta",
            Svc::OneLogin => "onelogin",
        }),
    }
}
