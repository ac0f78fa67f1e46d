//! idm-creds: keep API secrets in the OS keyring, audit every access, check that they work.
//!
//! Secrets never sit in config files, argv or logs: `idm-creds set` reads the value from a
//! hidden prompt (or stdin, for scripts) and hands it to the OS keyring through
//! [`crate::secrets::KeyringStore`]. Two small files in the user's config directory
//! (`$XDG_CONFIG_HOME/idm/`, else the platform's config directory) hold what the keyring
//! cannot:
//!
//! - `keyring-index`: the *names* of stored entries, because the `keyring` crate cannot
//!   enumerate a keyring and `idm-creds list` must still say what is stored. One line per
//!   entry, `<keyring service>\t<account>`; never a value.
//! - `audit.log`: one NDJSON line per keyring access by any tool (time, tool, action, entry,
//!   outcome), appended with `O_APPEND` so concurrent tools do not interleave. Never a value.
//!
//! Both are created 0600 in a 0700 directory: they name tenants, which is nobody else's business.
//! `idm-creds show` prints the effective configuration and `idm-creds test` makes one
//! authenticated call, classifying what went wrong (bad credentials, wrong URL or region, DNS,
//! unreachable) so that a person knows which setting to fix.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::http;
use crate::secrets::{self, EntryName, Secret, SecretError, Store};

/// An error of the credential files or of a check.
#[derive(Debug, thiserror::Error)]
pub enum CredsError {
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("no config directory: set `XDG_CONFIG_HOME` or `HOME`")]
    NoConfigDir,
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("no {0} in the keyring")]
    NotStored(EntryName),
    #[error("empty value: nothing stored")]
    EmptyValue,
    #[error("the value on stdin has more than one line: pipe exactly one secret")]
    MultiLineValue,
    #[error("cannot read the value: {0}")]
    ReadValue(io::Error),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CredsError + 'a {
    move |source| CredsError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// idm's directory in the user's config directory: `$XDG_CONFIG_HOME/idm` when that is set
/// (on every platform, so tests and scripts can isolate), else e.g. `~/.config/idm`.
pub fn config_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(dirs::config_dir)?;
    Some(base.join("idm"))
}

/// Create `dir` (and parents) readable by its owner only.
fn ensure_private_dir(dir: &Path) -> Result<(), CredsError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io_err("create", dir))
}

/// Open `path` for appending, creating it 0600 (and tightening an existing file to 0600).
fn open_private_append(path: &Path) -> Result<File, CredsError> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path).map_err(io_err("open", path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = file.metadata().map_err(io_err("inspect", path))?;
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(io_err("restrict", path))?;
        }
    }
    Ok(file)
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339 UTC.
    pub time: String,
    /// The tool that accessed the keyring (`idm-creds`, `idm-export`, …).
    pub tool: String,
    /// `read`, `set` or `delete`.
    pub action: String,
    /// `ok`, `missing` (no such entry) or `error`.
    pub outcome: String,
    /// The keyring service (`idm` unless `IDM_KEYRING_SERVICE`).
    pub keyring_service: String,
    /// The keyring account: `okta:token`, `okta:token@https://acme.okta.com`.
    pub entry: String,
}

/// The append-only audit log of keyring access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// `audit.log` in [`config_dir`].
    pub fn default_location() -> Option<AuditLog> {
        config_dir().map(|dir| AuditLog::at(dir.join("audit.log")))
    }

    pub fn at(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one access. The line is written with one `write` on an `O_APPEND` file, so lines
    /// of tools running at the same time do not interleave.
    pub fn append(
        &self,
        action: &str,
        keyring_service: &str,
        name: &EntryName,
        outcome: &str,
    ) -> Result<(), CredsError> {
        let time = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .unwrap_or_else(|_| "unknown".to_string());
        let entry = AuditEntry {
            time,
            tool: crate::cli::tool().to_string(),
            action: action.to_string(),
            outcome: outcome.to_string(),
            keyring_service: keyring_service.to_string(),
            entry: name.account(),
        };
        let mut line = serde_json::to_vec(&entry).map_err(|e| CredsError::Io {
            action: "encode an entry of",
            path: self.path.clone(),
            source: e.into(),
        })?;
        line.push(b'\n');
        if let Some(dir) = self.path.parent() {
            ensure_private_dir(dir)?;
        }
        let mut file = open_private_append(&self.path)?;
        file.write_all(&line)
            .map_err(io_err("append to", &self.path))
    }

    /// The last `limit` entries (all with `None`), oldest first, streaming through the file.
    /// Lines that are not audit entries are reported as `(line number, reason)`.
    #[allow(clippy::type_complexity)]
    pub fn tail(
        &self,
        limit: Option<usize>,
    ) -> Result<(Vec<(u64, String)>, Vec<(u64, String)>), CredsError> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
            Err(e) => return Err(io_err("open", &self.path)(e)),
        };
        let mut kept: VecDeque<(u64, String)> = VecDeque::new();
        let mut bad = Vec::new();
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line_no = i as u64 + 1;
            let line = line.map_err(io_err("read", &self.path))?;
            if line.trim().is_empty() {
                continue;
            }
            if let Err(e) = serde_json::from_str::<AuditEntry>(&line) {
                bad.push((line_no, format!("not an audit entry: {e}")));
                continue;
            }
            if limit == Some(0) {
                continue;
            }
            kept.push_back((line_no, line));
            if limit.is_some_and(|n| kept.len() > n) {
                kept.pop_front();
            }
        }
        Ok((kept.into(), bad))
    }
}

/// Print audit lines for people: time, tool, action, outcome, entry.
pub fn format_audit_line(line: &str) -> Option<String> {
    let e: AuditEntry = serde_json::from_str(line).ok()?;
    let service = if e.keyring_service == secrets::DEFAULT_KEYRING_SERVICE {
        String::new()
    } else {
        format!("  (keyring service `{}`)", e.keyring_service)
    };
    Some(format!(
        "{}  {:<11} {:<7} {:<8} {}{service}",
        e.time, e.tool, e.action, e.outcome, e.entry
    ))
}

/// The names of stored entries (never their values), because keyrings cannot be listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    path: PathBuf,
}

impl Index {
    /// `keyring-index` in [`config_dir`].
    pub fn default_location() -> Option<Index> {
        config_dir().map(|dir| Index::at(dir.join("keyring-index")))
    }

    pub fn at(path: impl Into<PathBuf>) -> Index {
        Index { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every (keyring service, entry) in the index; unreadable lines are skipped.
    fn read_all(&self) -> Result<Vec<(String, EntryName)>, CredsError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read", &self.path)(e)),
        };
        let mut all: Vec<(String, EntryName)> = text
            .lines()
            .filter_map(|line| {
                let (service, account) = line.split_once('\t')?;
                Some((service.to_string(), EntryName::parse(account)?))
            })
            .collect();
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// The entries stored under `keyring_service`, sorted.
    pub fn entries(&self, keyring_service: &str) -> Result<Vec<EntryName>, CredsError> {
        Ok(self
            .read_all()?
            .into_iter()
            .filter(|(s, _)| s == keyring_service)
            .map(|(_, name)| name)
            .collect())
    }

    pub fn add(&self, keyring_service: &str, name: &EntryName) -> Result<(), CredsError> {
        let mut all = self.read_all()?;
        all.push((keyring_service.to_string(), name.clone()));
        self.write_all(all)
    }

    pub fn remove(&self, keyring_service: &str, name: &EntryName) -> Result<(), CredsError> {
        let mut all = self.read_all()?;
        all.retain(|(s, n)| !(s == keyring_service && n == name));
        self.write_all(all)
    }

    /// Replace the file atomically (temp file in the same directory, then rename), 0600.
    fn write_all(&self, mut all: Vec<(String, EntryName)>) -> Result<(), CredsError> {
        all.sort();
        all.dedup();
        let dir = self.path.parent().unwrap_or(Path::new("."));
        ensure_private_dir(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err("create in", dir))?;
        for (service, name) in &all {
            writeln!(tmp, "{service}\t{}", name.account()).map_err(io_err("write", &self.path))?;
        }
        tmp.persist(&self.path)
            .map_err(|e| io_err("replace", &self.path)(e.error))?;
        Ok(())
    }
}

/// A keyring plus its index: what `set`, `get`, `list` and `delete` work on.
pub struct Vault<'a> {
    pub store: &'a dyn Store,
    pub keyring_service: String,
    pub index: Index,
}

/// One line of `idm-creds list`.
#[derive(Debug)]
pub struct Listed {
    pub name: EntryName,
    /// The masked value, `None` when the entry is indexed but gone from the keyring.
    pub masked: Result<Option<String>, SecretError>,
}

impl Vault<'_> {
    /// Store (or replace) a secret and index its name.
    pub fn set(&self, name: &EntryName, value: &Secret) -> Result<(), CredsError> {
        secrets::check_known(&name.service, &name.key)?;
        if value.expose().is_empty() {
            return Err(CredsError::EmptyValue);
        }
        self.store.set(name, value)?;
        self.index.add(&self.keyring_service, name)
    }

    /// The stored value of exactly this entry (no fallback to the generic one).
    pub fn get(&self, name: &EntryName) -> Result<Secret, CredsError> {
        secrets::check_known(&name.service, &name.key)?;
        self.store
            .get(name)?
            .ok_or_else(|| CredsError::NotStored(name.clone()))
    }

    /// Remove the entry and its index line; `false` when the keyring had no such entry.
    pub fn delete(&self, name: &EntryName) -> Result<bool, CredsError> {
        secrets::check_known(&name.service, &name.key)?;
        let existed = self.store.delete(name)?;
        self.index.remove(&self.keyring_service, name)?;
        Ok(existed)
    }

    /// Every indexed entry with its masked value.
    pub fn list(&self) -> Result<Vec<Listed>, CredsError> {
        Ok(self
            .index
            .entries(&self.keyring_service)?
            .into_iter()
            .map(|name| {
                let masked = self.store.get(&name).map(|v| v.map(|s| s.masked()));
                Listed { name, masked }
            })
            .collect())
    }
}

/// Read a secret: a hidden prompt on a terminal, else all of stdin (one line; surrounding
/// whitespace, including the final newline of `echo`, is dropped).
pub fn read_value(prompt: &str) -> Result<Secret, CredsError> {
    let value = if io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).map_err(CredsError::ReadValue)?
    } else {
        tracing::info!("reading the value from stdin");
        let mut buf = String::new();
        io::stdin()
            .lock()
            .read_to_string(&mut buf)
            .map_err(CredsError::ReadValue)?;
        buf
    };
    parse_value(&value)
}

/// Check a value read from a prompt or a pipe.
pub fn parse_value(raw: &str) -> Result<Secret, CredsError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(CredsError::EmptyValue);
    }
    if value.contains(['\n', '\r']) {
        return Err(CredsError::MultiLineValue);
    }
    Ok(Secret::new(value))
}

/// Print `list` as aligned columns: service, key, URL (`-` for generic), masked value.
pub fn write_list(out: &mut dyn Write, listed: &[Listed]) -> io::Result<()> {
    let rows: Vec<[String; 4]> = listed
        .iter()
        .map(|l| {
            let value = match &l.masked {
                Ok(Some(masked)) => masked.clone(),
                Ok(None) => "(missing from the keyring)".to_string(),
                Err(e) => format!("(unreadable: {e})"),
            };
            [
                l.name.service.clone(),
                l.name.key.clone(),
                l.name.url.clone().unwrap_or_else(|| "-".to_string()),
                value,
            ]
        })
        .collect();
    let header = ["SERVICE", "KEY", "URL", "VALUE"].map(String::from);
    let mut widths = [0usize; 3];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )?;
    }
    Ok(())
}

/// A setting and where it came from, for `show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: Option<String>,
    pub from: String,
}

/// A flag's value if given, else the environment variable's.
pub fn setting(flag_value: Option<&str>, flag: &str, env: &str) -> Setting {
    if let Some(v) = flag_value.filter(|v| !v.is_empty()) {
        return Setting {
            value: Some(v.to_string()),
            from: format!("flag `{flag}`"),
        };
    }
    match std::env::var(env) {
        Ok(v) if !v.is_empty() => Setting {
            value: Some(v),
            from: format!("env `{env}`"),
        },
        _ => Setting {
            value: None,
            from: format!("not set: `{flag}` or `{env}`"),
        },
    }
}

/// What `idm-creds show` looks at: URLs and client id from flags or environment.
#[derive(Debug, Clone)]
pub struct ShowConfig {
    pub okta_url: Setting,
    pub onelogin_url: Setting,
    pub onelogin_client_id: Setting,
}

/// Print the effective configuration: URLs, client id, rate limits, and for every secret the
/// masked value and where a tool would take it from (the same lookup the tools do).
pub fn write_show(out: &mut dyn Write, cfg: &ShowConfig, store: &dyn Store) -> io::Result<()> {
    fn line(out: &mut dyn Write, label: &str, value: &str, from: &str) -> io::Result<()> {
        writeln!(out, "  {label:<15} {value}  ({from})")
    }
    fn plain(out: &mut dyn Write, label: &str, s: &Setting) -> io::Result<()> {
        line(out, label, s.value.as_deref().unwrap_or("-"), &s.from)
    }
    fn secret(
        out: &mut dyn Write,
        label: &str,
        store: &dyn Store,
        service: &str,
        key: &str,
        url: Option<&str>,
    ) -> io::Result<()> {
        match secrets::resolve_in(store, service, key, url) {
            Ok(found) => line(out, label, &found.secret.masked(), &found.source),
            Err(e) => line(out, label, "-", &e.to_string()),
        }
    }
    fn rate(out: &mut dyn Write, env: &str) -> io::Result<()> {
        match std::env::var(env) {
            Ok(v) if !v.is_empty() => line(out, "rate limit", &v, &format!("env `{env}`")),
            _ => line(out, "rate limit", "-", "tool default, or `--rate-limit`"),
        }
    }
    writeln!(out, "okta")?;
    plain(out, "url", &cfg.okta_url)?;
    let okta_url = cfg.okta_url.value.as_deref();
    secret(out, "token", store, "okta", "token", okta_url)?;
    rate(out, "IDM_OKTA_RATE_LIMIT")?;
    writeln!(out, "onelogin")?;
    plain(out, "url", &cfg.onelogin_url)?;
    plain(out, "client id", &cfg.onelogin_client_id)?;
    let onelogin_url = cfg.onelogin_url.value.as_deref();
    secret(
        out,
        "client secret",
        store,
        "onelogin",
        "client_secret",
        onelogin_url,
    )?;
    rate(out, "IDM_ONELOGIN_RATE_LIMIT")?;
    writeln!(out, "keyring")?;
    line(out, "store", &store.describe(), "`IDM_KEYRING_SERVICE`")?;
    let audit = AuditLog::default_location();
    let index = Index::default_location();
    let path = |p: Option<&Path>| p.map_or("-".to_string(), |p| p.display().to_string());
    line(
        out,
        "index",
        &path(index.as_ref().map(Index::path)),
        "names only",
    )?;
    line(
        out,
        "audit log",
        &path(audit.as_ref().map(AuditLog::path)),
        "`idm-creds audit`",
    )
}

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

/// The subcommands of `idm-creds`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Store a secret in the keyring. The value comes from a hidden prompt, or from stdin
    /// when stdin is not a terminal; never from the command line.
    #[command(
        after_help = "Examples:\n  $ idm-creds set okta token\n  $ idm-creds set okta token --url https://acme.okta.com\n  $ pass show okta/acme | idm-creds set okta token --url https://acme.okta.com\n  $ idm-creds set onelogin client_secret --url https://acme.onelogin.com"
    )]
    Set {
        #[command(flatten)]
        name: NameArgs,
        /// Catches a value typed on the command line by mistake, so that it is refused
        /// without being echoed back (clap would print an unexpected argument).
        #[arg(hide = true, num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
        stray: Vec<String>,
    },
    /// Print one stored entry, masked unless `--reveal` (no fallback to the generic entry).
    Get {
        #[command(flatten)]
        name: NameArgs,
        /// Print the value itself, e.g. to pipe it into another program.
        #[arg(long)]
        reveal: bool,
    },
    /// List stored entries (service, key, URL) with masked values.
    List,
    /// Remove an entry from the keyring. Asks first on a terminal; scripts pass `--force`.
    Delete {
        #[command(flatten)]
        name: NameArgs,
        /// Delete without asking; a missing entry is not an error.
        #[arg(long)]
        force: bool,
    },
    /// Make one authenticated call with the credentials a tool would use, and say what failed.
    #[command(
        after_help = "Okta: GET /api/v1/users?limit=1 with the API token.\nOneLogin: POST /auth/oauth2/v2/token with the client id and secret.\n\nExamples:\n  $ idm-creds test okta --url https://acme.okta.com\n  $ IDM_ONELOGIN_URL=https://acme.onelogin.com IDM_ONELOGIN_CLIENT_ID=abc idm-creds test onelogin"
    )]
    Test {
        /// `okta` or `onelogin`.
        #[arg(value_parser = ["okta", "onelogin"])]
        service: String,
        /// Tenant URL [env: IDM_OKTA_URL or IDM_ONELOGIN_URL].
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// OneLogin API client id.
        #[arg(long, value_name = "ID", env = "IDM_ONELOGIN_CLIENT_ID")]
        client_id: Option<String>,
        /// Give up on the call after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 20)]
        timeout: u64,
    },
    /// Print the effective configuration: URLs, client id, rate limits, and where each secret
    /// comes from (environment or which keyring entry), masked.
    Show {
        /// Okta org URL [env: IDM_OKTA_URL].
        #[arg(long, value_name = "URL")]
        okta_url: Option<String>,
        /// OneLogin URL [env: IDM_ONELOGIN_URL].
        #[arg(long, value_name = "URL")]
        onelogin_url: Option<String>,
        /// OneLogin API client id [env: IDM_ONELOGIN_CLIENT_ID].
        #[arg(long, value_name = "ID")]
        onelogin_client_id: Option<String>,
    },
    /// Print the audit log of keyring access, oldest first.
    Audit {
        /// Only the last N entries.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Print the raw NDJSON lines.
        #[arg(long)]
        json: bool,
    },
}

/// Which entry: service, key and optional tenant URL.
#[derive(Debug, Clone, clap::Args)]
pub struct NameArgs {
    /// `okta` or `onelogin`.
    pub service: String,
    /// `token` (okta) or `client_secret` (onelogin).
    pub key: String,
    /// Make the entry specific to one tenant (tools look for their URL's entry first).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

impl NameArgs {
    /// The entry name, or a usage error for a secret no tool reads.
    fn entry(&self) -> anyhow::Result<EntryName> {
        secrets::check_known(&self.service, &self.key)
            .map_err(|e| crate::cli::usage(e.to_string()))?;
        Ok(EntryName::new(
            &self.service,
            &self.key,
            self.url.as_deref(),
        ))
    }
}

/// Run one `idm-creds` command against the OS keyring and the default index and audit log.
pub fn run(command: Command) -> anyhow::Result<crate::cli::Status> {
    use crate::cli::Status;
    use anyhow::Context;

    let store = secrets::KeyringStore::from_env();
    let index = Index::default_location().ok_or(CredsError::NoConfigDir)?;
    let vault = Vault {
        store: &store,
        keyring_service: store.service().to_string(),
        index,
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match command {
        Command::Set { name, stray } => {
            if !stray.is_empty() {
                return Err(crate::cli::usage(
                    "values are never taken from the command line, where `ps` and shell \
                     history would show them: type it at the prompt or pipe it to stdin",
                ));
            }
            let entry = name.entry()?;
            let value = read_value(&format!("{} {}: ", entry.service, entry.key))?;
            vault.set(&entry, &value)?;
            eprintln!("stored {entry} ({}) in the keyring", value.masked());
        }
        Command::Get { name, reveal } => {
            let entry = name.entry()?;
            let value = vault.get(&entry)?;
            let shown = if reveal {
                value.expose().to_string()
            } else {
                value.masked()
            };
            writeln!(out, "{shown}").context("writing the value")?;
        }
        Command::List => {
            let listed = vault.list()?;
            if listed.is_empty() {
                eprintln!("no entries (store one with `idm-creds set okta token`)");
            } else {
                write_list(&mut out, &listed).context("writing the list")?;
            }
        }
        Command::Delete { name, force } => {
            let entry = name.entry()?;
            if !force {
                if !io::stdin().is_terminal() {
                    return Err(crate::cli::usage(format!(
                        "refusing to delete {entry} without `--force` (stdin is not a terminal)"
                    )));
                }
                eprint!("delete {entry} from the keyring? [y/N] ");
                let mut answer = String::new();
                io::stdin()
                    .read_line(&mut answer)
                    .context("reading the answer")?;
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    eprintln!("nothing deleted");
                    return Ok(Status::Done);
                }
            }
            if vault.delete(&entry)? {
                eprintln!("deleted {entry}");
            } else if force {
                eprintln!("no {entry} in the keyring: nothing to delete");
            } else {
                return Err(CredsError::NotStored(entry).into());
            }
        }
        Command::Test {
            service,
            url,
            client_id,
            timeout,
        } => {
            let url_env = secrets::env_var(&service, "url");
            let url = setting(url.as_deref(), "--url", &url_env)
                .value
                .ok_or_else(|| {
                    crate::cli::usage(format!("no {service} URL: pass `--url` or set `{url_env}`"))
                })?;
            let timeout = Duration::from_secs(timeout.max(1));
            let key = if service == "okta" {
                "token"
            } else {
                "client_secret"
            };
            let found = secrets::resolve_in(&store, &service, key, Some(&url))?;
            eprintln!("using the {service} {key} from {}", found.source);
            let checked = if service == "okta" {
                check_okta(&url, &found.secret, timeout)
            } else {
                let client_id = client_id.filter(|c| !c.is_empty()).ok_or_else(|| {
                    crate::cli::usage(
                        "no OneLogin client id: pass `--client-id` or set `IDM_ONELOGIN_CLIENT_ID`",
                    )
                })?;
                check_onelogin(&url, &client_id, &found.secret, timeout)
            };
            let ok = checked.with_context(|| format!("{service} check failed"))?;
            writeln!(out, "{}", ok.summary).context("writing the result")?;
        }
        Command::Show {
            okta_url,
            onelogin_url,
            onelogin_client_id,
        } => {
            let cfg = ShowConfig {
                okta_url: setting(okta_url.as_deref(), "--okta-url", "IDM_OKTA_URL"),
                onelogin_url: setting(
                    onelogin_url.as_deref(),
                    "--onelogin-url",
                    "IDM_ONELOGIN_URL",
                ),
                onelogin_client_id: setting(
                    onelogin_client_id.as_deref(),
                    "--onelogin-client-id",
                    "IDM_ONELOGIN_CLIENT_ID",
                ),
            };
            write_show(&mut out, &cfg, &store).context("writing the configuration")?;
        }
        Command::Audit { limit, json } => {
            let log = AuditLog::default_location().ok_or(CredsError::NoConfigDir)?;
            let (lines, bad) = log.tail(limit)?;
            for (line_no, reason) in &bad {
                eprintln!("{}: line {line_no}: {reason}", log.path().display());
            }
            for (_, line) in &lines {
                let shown = if json {
                    Some(line.clone())
                } else {
                    format_audit_line(line)
                };
                if let Some(shown) = shown {
                    writeln!(out, "{shown}").context("writing the audit log")?;
                }
            }
            if lines.is_empty() {
                eprintln!("no keyring access recorded in `{}`", log.path().display());
            }
        }
    }
    out.flush().context("writing to stdout")?;
    Ok(Status::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemoryStore;

    #[test]
    fn vault_round_trip_keeps_an_index_of_names_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = MemoryStore::new();
        let vault = Vault {
            store: &store,
            keyring_service: "idm".to_string(),
            index: Index::at(dir.path().join("idm/keyring-index")),
        };
        let generic = EntryName::new("okta", "token", None);
        let tenant = EntryName::new("okta", "token", Some("https://acme.okta.com/"));
        let value = Secret::new("00secretvalue-abcdefghijkl");
        vault.set(&generic, &value).unwrap();
        vault.set(&tenant, &value).unwrap();
        vault.set(&tenant, &value).unwrap();
        assert_eq!(vault.get(&tenant).unwrap(), value);

        let listed = vault.list().unwrap();
        let names: Vec<String> = listed.iter().map(|l| l.name.account()).collect();
        assert_eq!(names, ["okta:token", "okta:token@https://acme.okta.com"]);
        let index = fs::read_to_string(vault.index.path()).unwrap();
        assert!(!index.contains("00secret"), "{index}");
        let mut out = Vec::new();
        write_list(&mut out, &listed).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("00se…ijkl"), "{out}");
        assert!(!out.contains("00secretvalue"), "{out}");

        assert!(vault.delete(&generic).unwrap());
        assert!(!vault.delete(&generic).unwrap());
        assert!(matches!(vault.get(&generic), Err(CredsError::NotStored(_))));
        assert_eq!(vault.list().unwrap().len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(vault.index.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn unknown_names_and_empty_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = MemoryStore::new();
        let vault = Vault {
            store: &store,
            keyring_service: "idm".to_string(),
            index: Index::at(dir.path().join("keyring-index")),
        };
        let typo = EntryName::new("okta", "tokne", None);
        let err = vault.set(&typo, &Secret::new("x")).unwrap_err();
        assert!(
            err.to_string().contains("unknown secret `okta tokne`"),
            "{err}"
        );
        let empty = vault.set(&EntryName::new("okta", "token", None), &Secret::new(""));
        assert!(matches!(empty, Err(CredsError::EmptyValue)));
        assert!(!vault.index.path().exists());
    }

    #[test]
    fn values_from_pipes_are_trimmed_and_single_line() {
        assert_eq!(parse_value("  abc\n").unwrap().expose(), "abc");
        assert_eq!(parse_value("abc\r\n").unwrap().expose(), "abc");
        assert!(matches!(parse_value("\n"), Err(CredsError::EmptyValue)));
        assert!(matches!(
            parse_value("abc\ndef\n"),
            Err(CredsError::MultiLineValue)
        ));
    }

    #[test]
    fn audit_log_appends_private_lines_and_tails() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::at(dir.path().join("idm/audit.log"));
        let name = EntryName::new("okta", "token", Some("https://acme.okta.com"));
        for action in ["set", "read", "delete"] {
            log.append(action, "idm", &name, "ok").unwrap();
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap()
            .write_all(b"garbage\n")
            .unwrap();
        let (lines, bad) = log.tail(Some(2)).unwrap();
        let actions: Vec<String> = lines
            .iter()
            .map(|(_, l)| serde_json::from_str::<AuditEntry>(l).unwrap().action)
            .collect();
        assert_eq!(actions, ["read", "delete"]);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, 4);
        let (all, _) = log.tail(None).unwrap();
        assert_eq!(all.len(), 3);
        let pretty = format_audit_line(&all[0].1).unwrap();
        assert!(pretty.contains("set"), "{pretty}");
        assert!(
            pretty.contains("okta:token@https://acme.okta.com"),
            "{pretty}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(log.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = fs::metadata(log.path().parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
    }

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
