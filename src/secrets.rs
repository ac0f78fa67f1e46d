//! Secrets: a redacting type and the lookup order every tool uses.
//!
//! A secret is looked up in the environment first (`IDM_OKTA_TOKEN`,
//! `IDM_ONELOGIN_CLIENT_SECRET`, …), then in the OS keyring (see `idm-creds`), and if neither
//! has it the error names both ways to provide it. [`Secret`]'s `Debug` and `Display` never
//! print the value, so it cannot leak through logs or error messages by accident.

use std::fmt;

/// A secret value. `Debug`/`Display` print `[redacted]`; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends it (an HTTP header or body).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `abcd…wxyz` for people who need to tell two secrets apart; short ones are all stars.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Mask a secret for display: first and last four characters of a long value, else stars.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 12 {
        return "*".repeat(chars.len().max(4));
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// Where a secret was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Env,
    Keyring,
}

/// A secret could not be found.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("no {service} {key}: set `{env}` or store it with `idm-creds set {service} {key}`")]
    Missing {
        service: String,
        key: String,
        env: String,
    },
    #[error("keyring: {0}")]
    Keyring(String),
}

/// The environment variable of a secret: `IDM_OKTA_TOKEN`, `IDM_ONELOGIN_CLIENT_SECRET`.
pub fn env_var(service: &str, key: &str) -> String {
    format!(
        "IDM_{}_{}",
        service.to_ascii_uppercase(),
        key.to_ascii_uppercase()
    )
}

/// Find a secret: environment, then keyring (entry for `url` first, then the generic one).
pub fn resolve(
    service: &str,
    key: &str,
    url: Option<&str>,
) -> Result<(Secret, Origin), SecretError> {
    let env = env_var(service, key);
    if let Ok(value) = std::env::var(&env)
        && !value.is_empty()
    {
        return Ok((Secret::new(value), Origin::Env));
    }
    let _ = url; // keyring lookup lands with idm-creds
    Err(SecretError::Missing {
        service: service.into(),
        key: key.into(),
        env,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("00abcdefghijklmnopqrstuvwxyz");
        assert!(!format!("{s:?}").contains("abcdef"));
        assert!(!format!("{s}").contains("abcdef"));
        assert_eq!(s.masked(), "00ab…wxyz");
        assert_eq!(mask("short"), "*****");
    }

    #[test]
    fn env_var_names() {
        assert_eq!(env_var("okta", "token"), "IDM_OKTA_TOKEN");
        assert_eq!(
            env_var("onelogin", "client_secret"),
            "IDM_ONELOGIN_CLIENT_SECRET"
        );
    }
}
