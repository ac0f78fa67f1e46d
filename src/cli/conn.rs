//! Connection settings, declared once and flattened into every tool that talks to a service.
//!
//! The same flag, the same environment variable and the same rate syntax everywhere:
//! `--okta-url`/`IDM_OKTA_URL`, `--onelogin-url`/`IDM_ONELOGIN_URL`,
//! `--onelogin-client-id`/`IDM_ONELOGIN_CLIENT_ID`, `--rate-limit` (`600/min`, `5000/hour`,
//! `none`) with `IDM_OKTA_RATE_LIMIT` or `IDM_ONELOGIN_RATE_LIMIT` as the default of the
//! service the tool talks to. Secrets never come from flags: the environment, then the
//! keyring ([`crate::secrets`]). A missing setting names both its flag and its variable.

use std::time::Duration;

use anyhow::Context as _;

use crate::http::{Client, ClientOptions, Rate, Service};
use crate::provider::okta::{Okta, OktaTarget};
use crate::provider::onelogin::OneLoginClient;

/// `--rate-limit`: a rate, or `none` (the server's headers alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota(pub Option<Rate>);

/// Parse `600/min`, `5000/hour`, `none` (also `off`, `unlimited`).
pub fn parse_quota(s: &str) -> Result<Quota, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "none" | "off" | "unlimited" => Ok(Quota(None)),
        _ => s.parse().map(|r| Quota(Some(r))),
    }
}

/// The services idm talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Svc {
    Okta,
    OneLogin,
}

impl Svc {
    /// The service of a `--to`/`--from` name.
    pub fn named(name: &str) -> Option<Svc> {
        match name {
            "okta" => Some(Svc::Okta),
            "onelogin" => Some(Svc::OneLogin),
            _ => None,
        }
    }

    fn rate_env(self) -> &'static str {
        match self {
            Svc::Okta => "IDM_OKTA_RATE_LIMIT",
            Svc::OneLogin => "IDM_ONELOGIN_RATE_LIMIT",
        }
    }

    /// The documented default quota: the pace of a server that never says its own limit
    /// (learned mode), and what the server is assumed to allow before its first answer.
    fn default_rate(self) -> Rate {
        match self {
            Svc::Okta => Rate {
                count: 600,
                per: Duration::from_secs(60),
            },
            Svc::OneLogin => Rate {
                count: 5000,
                per: Duration::from_secs(3600),
            },
        }
    }

    fn http(self) -> Service {
        match self {
            Svc::Okta => Service::Okta,
            Svc::OneLogin => Service::OneLogin,
        }
    }
}

/// How to reach the services: every tool that talks to one flattens this.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnArgs {
    /// The Okta org, e.g. `https://acme.okta.com` (token: IDM_OKTA_TOKEN or
    /// `idm-creds set okta token`).
    #[arg(long, value_name = "URL", env = "IDM_OKTA_URL")]
    pub okta_url: Option<String>,
    /// The OneLogin account, e.g. `https://acme.onelogin.com`.
    #[arg(long, value_name = "URL", env = "IDM_ONELOGIN_URL", alias = "url")]
    pub onelogin_url: Option<String>,
    /// OneLogin API client id (the secret: IDM_ONELOGIN_CLIENT_SECRET or
    /// `idm-creds set onelogin client_secret`).
    #[arg(
        long,
        value_name = "ID",
        env = "IDM_ONELOGIN_CLIENT_ID",
        alias = "client-id"
    )]
    pub onelogin_client_id: Option<String>,
    /// Client-side quota: `600/min`, `5000/hour`, or `none` to rely on the server's rate-limit
    /// headers alone. Default: IDM_OKTA_RATE_LIMIT or IDM_ONELOGIN_RATE_LIMIT for the service
    /// talked to, else learned from the server: each Okta bucket's `X-Rate-Limit-*`,
    /// OneLogin's `GET /auth/rate_limit` and `X-RateLimit-*`, used fully (within
    /// --max-capacity); the first requests go one at a time until the first answer.
    #[arg(long, value_name = "N/PER|none", value_parser = parse_quota)]
    pub rate_limit: Option<Quota>,
    /// Use at most PCT % of the quota and of the server's window (leave the rest to
    /// production traffic).
    #[arg(long, value_name = "PCT", env = "IDM_MAX_CAPACITY", default_value_t = 100,
          value_parser = clap::value_parser!(u8).range(1..=100))]
    pub max_capacity: u8,
    /// Seconds before one request times out.
    #[arg(long, value_name = "SECS", env = "IDM_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Retries of a request after a 429, a 5xx or a network error.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub retries: u32,
}

impl ConnArgs {
    /// The quota for `svc`: the flag, else its environment variable; `None` when neither
    /// sets one: `none`, or (see [`ConnArgs::learns`]) the server's own limits.
    pub fn quota(&self, svc: Svc) -> anyhow::Result<Option<Rate>> {
        Ok(self.setting(svc)?.and_then(|q| q.0))
    }

    /// True when the quota is learned from the server: neither the flag nor the environment
    /// gives one (`none` is not learned: the server's headers alone, from the first request).
    pub fn learns(&self, svc: Svc) -> anyhow::Result<bool> {
        Ok(self.setting(svc)?.is_none())
    }

    /// `--rate-limit`, else the service's environment variable.
    fn setting(&self, svc: Svc) -> anyhow::Result<Option<Quota>> {
        if let Some(q) = self.rate_limit {
            return Ok(Some(q));
        }
        match std::env::var(svc.rate_env()) {
            Ok(v) if !v.trim().is_empty() => parse_quota(&v)
                .map(Some)
                .map_err(|e| super::usage(format!("{}: {e}", svc.rate_env()))),
            _ => Ok(None),
        }
    }

    /// The shared HTTP client for `svc`: the quota given, or learned from the server.
    pub fn http(&self, svc: Svc) -> anyhow::Result<Client> {
        let mut opts = ClientOptions::new(svc.http());
        opts.rate = self.quota(svc)?;
        if self.learns(svc)? {
            opts.learn = true;
            opts.fallback = Some(svc.default_rate());
        }
        opts.max_capacity_pct = self.max_capacity;
        opts.timeout = Duration::from_secs(self.timeout);
        opts.max_retries = self.retries;
        Client::new(opts).context("building the http client")
    }

    /// The OneLogin URL, or a usage error naming the flag and the variable.
    pub fn onelogin_url(&self) -> anyhow::Result<&str> {
        self.onelogin_url.as_deref().ok_or_else(|| {
            super::usage("no OneLogin account: give `--onelogin-url URL` or set IDM_ONELOGIN_URL")
        })
    }

    /// The Okta URL, or a usage error naming the flag and the variable.
    pub fn okta_url(&self) -> anyhow::Result<&str> {
        self.okta_url
            .as_deref()
            .ok_or_else(|| super::usage("no Okta org: give `--okta-url URL` or set IDM_OKTA_URL"))
    }

    /// The OneLogin client id, or a usage error naming the flag and the variable.
    pub fn onelogin_client_id(&self) -> anyhow::Result<&str> {
        self.onelogin_client_id.as_deref().ok_or_else(|| {
            super::usage(
                "no OneLogin client id: give `--onelogin-client-id ID` or set IDM_ONELOGIN_CLIENT_ID",
            )
        })
    }

    /// Whether a OneLogin connection is configured at all.
    pub fn has_onelogin(&self) -> bool {
        self.onelogin_url.is_some() && self.onelogin_client_id.is_some()
    }

    /// A OneLogin client: URL and client id from flags or environment, the secret from the
    /// environment or the keyring.
    pub fn onelogin(&self) -> anyhow::Result<OneLoginClient> {
        let url = self.onelogin_url()?;
        let id = self.onelogin_client_id()?;
        let (secret, _) = crate::secrets::resolve("onelogin", "client_secret", Some(url))?;
        Ok(OneLoginClient::new(
            url,
            id,
            secret,
            self.http(Svc::OneLogin)?,
        ))
    }

    /// Okta as a load target (`keep_staged`: created users stay STAGED).
    pub fn okta_target(&self, keep_staged: bool) -> anyhow::Result<OktaTarget> {
        let url = self.okta_url()?;
        let (token, _) = crate::secrets::resolve("okta", "token", Some(url))?;
        Ok(OktaTarget::new(
            url,
            &token,
            self.http(Svc::Okta)?,
            keep_staged,
        )?)
    }

    /// An Okta client: URL from the flag or environment, the token from the environment or
    /// the keyring.
    pub fn okta(&self) -> anyhow::Result<Okta> {
        let url = self.okta_url()?;
        let (token, _) = crate::secrets::resolve("okta", "token", Some(url))?;
        Ok(Okta::new(url, &token, self.http(Svc::Okta)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_accepts_none_everywhere() {
        assert_eq!(parse_quota("none"), Ok(Quota(None)));
        assert_eq!(parse_quota(" OFF "), Ok(Quota(None)));
        assert_eq!(
            parse_quota("600/min").unwrap().0.unwrap().to_string(),
            "600/min"
        );
        assert!(parse_quota("fast").unwrap_err().contains("`fast`"));
    }

    #[test]
    fn without_a_quota_the_limits_are_learned() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            conn: ConnArgs,
        }
        // the environment of the test process may set a quota: the flag decides here
        let given = T::parse_from(["t", "--rate-limit", "100/min"]).conn;
        assert_eq!(given.quota(Svc::Okta).unwrap().unwrap().count, 100);
        assert!(!given.learns(Svc::Okta).unwrap());
        let none = T::parse_from(["t", "--rate-limit", "none"]).conn;
        assert_eq!(none.quota(Svc::OneLogin).unwrap(), None);
        assert!(!none.learns(Svc::OneLogin).unwrap());
        let client = none.http(Svc::OneLogin).unwrap();
        assert!(!client.options().learn);
        if std::env::var_os("IDM_OKTA_RATE_LIMIT").is_none() {
            let learned = T::parse_from(["t"]).conn;
            assert!(learned.learns(Svc::Okta).unwrap());
            let opts = learned.http(Svc::Okta).unwrap().options().clone();
            assert!(opts.learn && opts.rate.is_none());
            assert_eq!(opts.fallback.unwrap().to_string(), "600/min");
        }
    }
}
