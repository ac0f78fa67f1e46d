//! Secrets: a redacting type and the lookup order every tool uses.
//!
//! A secret is looked up in the environment first (`IDM_OKTA_TOKEN`,
//! `IDM_ONELOGIN_CLIENT_SECRET`, …), then in the OS keyring (macOS Keychain, Windows Credential
//! Manager, Linux Secret Service; stored there with `idm-creds set`), and if neither has it the
//! error names both ways to provide it. The environment wins so that a Makefile or CI job can
//! override what a workstation keeps.
//!
//! Keyring entries live under one keyring *service*, `idm` (or `IDM_KEYRING_SERVICE`, which
//! keeps test runs and separate setups apart), with the *user* (account) named
//! `<service>:<key>` for the generic entry and `<service>:<key>@<url>` for one tenant, e.g.
//! `okta:token` and `okta:token@https://acme.okta.com`. A tool that knows its tenant URL looks
//! for that URL's entry first and then the generic one, so two tenants can be kept apart.
//!
//! [`Secret`]'s `Debug` and `Display` never print the value, so it cannot leak through logs or
//! error messages by accident. Every keyring access, by any tool, is appended to the audit log
//! ([`files`], names only, never the value), which lives here beside the store so that
//! `secrets` depends on nothing but itself.

pub mod files;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

pub use files::AuditLog;

/// The keyring service every entry is stored under unless `IDM_KEYRING_SERVICE` says otherwise.
pub const DEFAULT_KEYRING_SERVICE: &str = "idm";
/// Environment variable naming the keyring service (profiles, isolated test runs).
pub const KEYRING_SERVICE_ENV: &str = "IDM_KEYRING_SERVICE";

/// The secrets the tools know: (service, key). `idm-creds` refuses other names, so a typo
/// does not store a secret that nothing will ever read.
pub const KNOWN_SECRETS: &[(&str, &str)] = &[("okta", "token"), ("onelogin", "client_secret")];

/// A secret value. `Debug`/`Display` print `[redacted]`; read it with [`Secret::expose`].
/// The memory is zeroed on drop (`zeroize`, through `secrecy`).
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

/// Wipe the value when it goes away, so a core dump or a reused allocation does not show it.
impl Drop for Secret {
    fn drop(&mut self) {
        use secrecy::zeroize::Zeroize;
        self.0.zeroize();
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

/// A secret could not be found, or a keyring operation failed.
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
    /// The value cannot go into an HTTP header (never shown: it may be the secret itself).
    #[error(
        "the {service} {key} from {from} contains a line break or another control character: store it again as one line"
    )]
    Malformed {
        service: String,
        key: String,
        from: String,
    },
    #[error("unknown secret `{service} {key}`: known are {known}")]
    Unknown {
        service: String,
        key: String,
        known: String,
    },
}

/// The environment variable of a secret: `IDM_OKTA_TOKEN`, `IDM_ONELOGIN_CLIENT_SECRET`.
pub fn env_var(service: &str, key: &str) -> String {
    format!(
        "IDM_{}_{}",
        service.to_ascii_uppercase(),
        key.to_ascii_uppercase()
    )
}

/// Check that `service key` names a secret some tool reads.
pub fn check_known(service: &str, key: &str) -> Result<(), SecretError> {
    if KNOWN_SECRETS.contains(&(service, key)) {
        return Ok(());
    }
    let known = KNOWN_SECRETS
        .iter()
        .map(|(s, k)| format!("`{s} {k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(SecretError::Unknown {
        service: service.into(),
        key: key.into(),
        known,
    })
}

/// The keyring service entries are stored under: `IDM_KEYRING_SERVICE` or `idm`.
pub fn keyring_service() -> String {
    match std::env::var(KEYRING_SERVICE_ENV) {
        Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
        _ => DEFAULT_KEYRING_SERVICE.to_string(),
    }
}

/// Normalize a tenant URL so that `https://Acme.okta.com/` and `https://acme.okta.com` name the
/// same keyring entry: lowercase scheme and host, default port dropped, no trailing slash,
/// no query or fragment. A string that does not parse is only trimmed.
pub fn normalize_url(url: &str) -> String {
    let trimmed = url.trim();
    match url::Url::parse(trimmed) {
        Ok(parsed) if parsed.has_host() => {
            let mut out = format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or(""));
            if let Some(port) = parsed.port() {
                out.push_str(&format!(":{port}"));
            }
            out.push_str(parsed.path().trim_end_matches('/'));
            out
        }
        _ => trimmed.trim_end_matches('/').to_string(),
    }
}

/// The name of one keyring entry: a secret of a service, generic or for one tenant URL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryName {
    pub service: String,
    pub key: String,
    /// Normalized tenant URL, or `None` for the generic entry.
    pub url: Option<String>,
}

impl EntryName {
    pub fn new(service: &str, key: &str, url: Option<&str>) -> EntryName {
        EntryName {
            service: service.to_string(),
            key: key.to_string(),
            url: url
                .map(normalize_url)
                .filter(|u| !u.is_empty())
                .map(|u| u.to_string()),
        }
    }

    /// The keyring account ("user") of the entry: `okta:token` or `okta:token@<url>`.
    pub fn account(&self) -> String {
        match &self.url {
            Some(url) => format!("{}:{}@{url}", self.service, self.key),
            None => format!("{}:{}", self.service, self.key),
        }
    }

    /// Parse an account name written by [`EntryName::account`].
    pub fn parse(account: &str) -> Option<EntryName> {
        let (name, url) = match account.split_once('@') {
            Some((name, url)) => (name, Some(url)),
            None => (account, None),
        };
        let (service, key) = name.split_once(':')?;
        if service.is_empty() || key.is_empty() || url.is_some_and(str::is_empty) {
            return None;
        }
        Some(EntryName {
            service: service.to_string(),
            key: key.to_string(),
            url: url.map(str::to_string),
        })
    }
}

impl fmt::Display for EntryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.account())
    }
}

/// Where keyring entries are kept. [`KeyringStore`] is the OS keyring; [`MemoryStore`] lets
/// unit tests of code that resolves secrets run without one.
pub trait Store {
    /// The entry's value, or `None` when there is no such entry.
    fn get(&self, name: &EntryName) -> Result<Option<Secret>, SecretError>;
    /// Create or replace the entry.
    fn set(&self, name: &EntryName, value: &Secret) -> Result<(), SecretError>;
    /// Remove the entry; `false` when there was none.
    fn delete(&self, name: &EntryName) -> Result<bool, SecretError>;
    /// What this store is, for people (`Secret Service`, `memory`).
    fn describe(&self) -> String;
}

/// The OS keyring through the `keyring` crate. Every access (read, set, delete; found or not)
/// is appended to the audit log, so nothing reaches the keyring without leaving a line there.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
    audit: Option<AuditLog>,
}

impl KeyringStore {
    /// The store under the keyring service of [`keyring_service`], audited to the default
    /// audit log (none when there is no config directory).
    pub fn from_env() -> KeyringStore {
        KeyringStore::new(keyring_service(), AuditLog::default_location())
    }

    pub fn new(service: impl Into<String>, audit: Option<AuditLog>) -> KeyringStore {
        KeyringStore {
            service: service.into(),
            audit,
        }
    }

    /// The audit log this store writes to.
    pub fn audit_log(&self) -> Option<&AuditLog> {
        self.audit.as_ref()
    }

    /// Append one access to the audit log. A failure is a warning: a read-only home must not
    /// stop a migration, and the access itself already happened.
    fn audit(&self, action: &str, name: &EntryName, outcome: &str) {
        let Some(log) = &self.audit else {
            tracing::warn!("no config directory: keyring access to {name} is not audited");
            return;
        };
        if let Err(e) = log.append(action, &self.service, name, outcome) {
            tracing::warn!("{e}");
        }
    }

    /// The keyring service name entries are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }

    fn entry(&self, name: &EntryName) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(&self.service, &name.account()).map_err(|e| keyring_error(name, &e))
    }
}

/// Turn a keyring error into a message. Only `Display` is used: some variants carry the raw
/// bytes of the stored value in their `Debug` form.
fn keyring_error(name: &EntryName, err: &keyring::Error) -> SecretError {
    let hint = match err {
        keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => {
            "; is a keyring (Secret Service, Keychain, Credential Manager) running and unlocked?"
        }
        _ => "",
    };
    SecretError::Keyring(format!("entry {name}: {err}{hint}"))
}

impl Store for KeyringStore {
    fn get(&self, name: &EntryName) -> Result<Option<Secret>, SecretError> {
        let result = match self.entry(name)?.get_password() {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(name, &e)),
        };
        let outcome = match &result {
            Ok(Some(_)) => "ok",
            Ok(None) => "missing",
            Err(_) => "error",
        };
        self.audit("read", name, outcome);
        result
    }

    fn set(&self, name: &EntryName, value: &Secret) -> Result<(), SecretError> {
        let result = self
            .entry(name)?
            .set_password(value.expose())
            .map_err(|e| keyring_error(name, &e));
        self.audit("set", name, if result.is_ok() { "ok" } else { "error" });
        result
    }

    fn delete(&self, name: &EntryName) -> Result<bool, SecretError> {
        let result = match self.entry(name)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(keyring_error(name, &e)),
        };
        let outcome = match &result {
            Ok(true) => "ok",
            Ok(false) => "missing",
            Err(_) => "error",
        };
        self.audit("delete", name, outcome);
        result
    }

    fn describe(&self) -> String {
        let store = if cfg!(target_os = "macos") {
            "macOS Keychain"
        } else if cfg!(target_os = "windows") {
            "Windows Credential Manager"
        } else {
            "Secret Service (D-Bus)"
        };
        format!("{store}, service `{}`", self.service)
    }
}

/// An in-memory store for tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<EntryName, Secret>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<EntryName, Secret>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    fn get(&self, name: &EntryName) -> Result<Option<Secret>, SecretError> {
        Ok(self.entries().get(name).cloned())
    }

    fn set(&self, name: &EntryName, value: &Secret) -> Result<(), SecretError> {
        self.entries().insert(name.clone(), value.clone());
        Ok(())
    }

    fn delete(&self, name: &EntryName) -> Result<bool, SecretError> {
        Ok(self.entries().remove(name).is_some())
    }

    fn describe(&self) -> String {
        "memory".to_string()
    }
}

/// A secret and exactly where it came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub secret: Secret,
    pub origin: Origin,
    /// Where it was read from, for people: ``env `IDM_OKTA_TOKEN` `` or
    /// ``keyring entry `okta:token@https://acme.okta.com` ``.
    pub source: String,
}

/// Find a secret: environment, then keyring (entry for `url` first, then the generic one).
pub fn resolve(
    service: &str,
    key: &str,
    url: Option<&str>,
) -> Result<(Secret, Origin), SecretError> {
    let found = resolve_in(&KeyringStore::from_env(), service, key, url)?;
    Ok((found.secret, found.origin))
}

/// [`resolve`] against any [`Store`], saying where the secret was found.
pub fn resolve_in(
    store: &dyn Store,
    service: &str,
    key: &str,
    url: Option<&str>,
) -> Result<Resolved, SecretError> {
    let env = env_var(service, key);
    // Surrounding whitespace (a trailing space, the CR of a file edited on Windows, echo's
    // newline) is never part of a token or client secret: dropped, the same for every secret.
    // What is left must fit in an HTTP header, or every request would fail as a "transport
    // error" and be retried for nothing.
    let clean = |value: &str, from: String| -> Result<Secret, SecretError> {
        let value = value.trim();
        if value.chars().any(char::is_control) {
            return Err(SecretError::Malformed {
                service: service.into(),
                key: key.into(),
                from,
            });
        }
        Ok(Secret::new(value))
    };
    if let Ok(value) = std::env::var(&env)
        && !value.trim().is_empty()
    {
        return Ok(Resolved {
            secret: clean(&value, format!("env `{env}`"))?,
            origin: Origin::Env,
            source: format!("env `{env}`"),
        });
    }
    let mut candidates = Vec::with_capacity(2);
    if let Some(url) = url.filter(|u| !u.trim().is_empty()) {
        candidates.push(EntryName::new(service, key, Some(url)));
    }
    candidates.push(EntryName::new(service, key, None));
    for name in &candidates {
        let found = store.get(name).map_err(|e| match e {
            SecretError::Keyring(msg) => {
                SecretError::Keyring(format!("{msg} (or set `{env}` instead)"))
            }
            other => other,
        })?;
        if let Some(secret) = found {
            return Ok(Resolved {
                secret: clean(secret.expose(), format!("keyring entry {name}"))?,
                origin: Origin::Keyring,
                source: format!("keyring entry {name}"),
            });
        }
    }
    Err(SecretError::Missing {
        service: service.into(),
        key: key.into(),
        env,
    })
}

/// Words in a shortname that say its values are secrets.
const SECRET_WORDS: [&str; 12] = [
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "key",
    "pin",
    "ssn",
    "salt",
    "hash",
    "credential",
    "otp",
];

/// True when a sample should not be shown: the shortname names a secret, or the value looks
/// like one (long, no spaces, letters and digits mixed like a token, key or hash).
pub fn looks_secret(shortname: &str, value: &str) -> bool {
    let lower = shortname.to_ascii_lowercase();
    if lower.split('_').any(|w| {
        SECRET_WORDS
            .iter()
            .any(|s| w == *s || (w.starts_with(s) && *s != "pin"))
    }) {
        return true;
    }
    let v = value.trim();
    if v.len() >= 20 && !v.contains(char::is_whitespace) && !v.contains('@') {
        let letters = v.chars().filter(char::is_ascii_alphabetic).count();
        let digits = v.chars().filter(char::is_ascii_digit).count();
        let symbols = v.chars().filter(|c| "+/=_-.$".contains(*c)).count();
        // a token, a base64 key, a hex digest or a bcrypt hash
        return digits >= 3 && letters >= 3 && letters + digits + symbols == v.chars().count();
    }
    false
}

/// A sample value as a person sees it in a report: masked if it looks like a secret, an email
/// address without its local part, a phone number with its digits hidden but the last two,
/// cut to 40 characters, line breaks escaped.
pub fn shown_sample(shortname: &str, value: &str) -> String {
    if looks_secret(shortname, value) {
        return mask(value);
    }
    let v = value.trim();
    if let Some((local, domain)) = v.rsplit_once('@')
        && !local.is_empty()
        && !domain.is_empty()
        && !v.contains(char::is_whitespace)
    {
        return format!("…@{}", shown_sample(shortname, domain));
    }
    let digits = v.chars().filter(char::is_ascii_digit).count();
    if digits >= 7
        && v.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        let mut left = digits;
        return v
            .chars()
            .map(|c| {
                if !c.is_ascii_digit() {
                    return c;
                }
                left -= 1;
                if left < 2 { c } else { '#' }
            })
            .collect();
    }
    let mut s: String = value.chars().take(40).collect();
    if value.chars().count() > 40 {
        s.push('…');
    }
    s.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_hide_the_person_behind_an_address_or_a_number() {
        assert_eq!(
            shown_sample("second_email", "wei.o@personal.example.net"),
            "…@personal.example.net"
        );
        assert_eq!(
            shown_sample("mobile_phone", "+1-555-933-0004"),
            "+#-###-###-##04"
        );
        assert_eq!(shown_sample("badge_number", "1000"), "1000");
        assert_eq!(shown_sample("note", "call me @ 9"), "call me @ 9");
    }

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("00abcdefghijklmnopqrstuvwxyz");
        assert!(!format!("{s:?}").contains("abcdef"));
        assert!(!format!("{s}").contains("abcdef"));
        assert_eq!(s.masked(), "00ab…wxyz");
        assert_eq!(mask("short"), "*****");
    }

    #[test]
    fn secrets_are_trimmed_alike_and_control_characters_named() {
        // a OneLogin secret with a trailing CR failed with 401 while the Okta token was
        // trimmed; a token with a newline inside was retried for 23 s as a transport error
        let store = MemoryStore::new();
        let name = EntryName::new("onelogin", "client_secret", None);
        store.set(&name, &Secret::new("s3cret \r\n")).unwrap();
        let got = resolve_in(&store, "onelogin", "client_secret", None).unwrap();
        assert_eq!(got.secret.expose(), "s3cret");
        store.set(&name, &Secret::new("s3c\nret")).unwrap();
        let err = resolve_in(&store, "onelogin", "client_secret", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("control character"), "{err}");
        assert!(!err.contains("s3c"), "the secret is never shown: {err}");
    }

    #[test]
    fn env_var_names() {
        assert_eq!(env_var("okta", "token"), "IDM_OKTA_TOKEN");
        assert_eq!(
            env_var("onelogin", "client_secret"),
            "IDM_ONELOGIN_CLIENT_SECRET"
        );
    }

    #[test]
    fn entry_names_are_normalized_and_round_trip() {
        let generic = EntryName::new("okta", "token", None);
        assert_eq!(generic.account(), "okta:token");
        let tenant = EntryName::new("okta", "token", Some(" https://Acme.okta.com:443/ "));
        assert_eq!(tenant.account(), "okta:token@https://acme.okta.com");
        let local = EntryName::new("onelogin", "client_secret", Some("http://127.0.0.1:8080/"));
        assert_eq!(
            local.account(),
            "onelogin:client_secret@http://127.0.0.1:8080"
        );
        for name in [generic, tenant, local] {
            assert_eq!(EntryName::parse(&name.account()), Some(name));
        }
        assert_eq!(EntryName::parse("nonsense"), None);
        assert_eq!(EntryName::parse("okta:token@"), None);
    }

    #[test]
    fn unknown_secrets_are_refused_with_the_known_ones() {
        assert!(check_known("okta", "token").is_ok());
        let err = check_known("okta", "tokne").unwrap_err().to_string();
        assert!(err.contains("`okta tokne`"), "{err}");
        assert!(err.contains("`onelogin client_secret`"), "{err}");
    }

    // The environment of the test process is shared by every test thread: these tests use
    // service names no other test reads, so setting variables cannot disturb them.
    #[test]
    fn tenant_entry_wins_over_generic_and_missing_names_both_ways() {
        let store = MemoryStore::new();
        let err = resolve_in(&store, "svc_a", "token", None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`IDM_SVC_A_TOKEN`"), "{msg}");
        assert!(msg.contains("`idm-creds set svc_a token`"), "{msg}");

        let generic = Secret::new("generic-value-0123456789");
        let tenant = Secret::new("tenant-value-0123456789");
        store
            .set(&EntryName::new("svc_a", "token", None), &generic)
            .unwrap();
        let found = resolve_in(&store, "svc_a", "token", Some("https://a.example.com")).unwrap();
        assert_eq!(found.secret, generic);
        assert_eq!(found.origin, Origin::Keyring);
        store
            .set(
                &EntryName::new("svc_a", "token", Some("https://a.example.com/")),
                &tenant,
            )
            .unwrap();
        let found = resolve_in(&store, "svc_a", "token", Some("https://A.example.com")).unwrap();
        assert_eq!(found.secret, tenant);
        assert_eq!(
            found.source,
            "keyring entry `svc_a:token@https://a.example.com`"
        );
        let other = resolve_in(&store, "svc_a", "token", Some("https://b.example.com")).unwrap();
        assert_eq!(other.secret, generic);
    }

    #[test]
    fn environment_wins_over_keyring() {
        let store = MemoryStore::new();
        store
            .set(
                &EntryName::new("svc_b", "token", None),
                &Secret::new("from-keyring-0123456789"),
            )
            .unwrap();
        // SAFETY: only this test reads IDM_SVC_B_TOKEN.
        unsafe { std::env::set_var("IDM_SVC_B_TOKEN", "from-env-0123456789") };
        let found = resolve_in(&store, "svc_b", "token", None).unwrap();
        unsafe { std::env::remove_var("IDM_SVC_B_TOKEN") };
        assert_eq!(found.secret.expose(), "from-env-0123456789");
        assert_eq!(found.origin, Origin::Env);
        assert_eq!(found.source, "env `IDM_SVC_B_TOKEN`");
    }
}
