//! idm-creds: keep API secrets in the OS keyring, audit every access, check that they work.
//!
//! Secrets never sit in config files, argv or logs: `idm-creds set` reads the value from a
//! hidden prompt (or stdin, for scripts) and hands it to the OS keyring through
//! [`crate::secrets::KeyringStore`], which writes every access to the audit log. What a keyring
//! cannot do portably — list its entries, keep a history — is done by two small private files
//! in the user's config directory ([`files`]). `show` prints the effective configuration
//! through the very lookup the tools use, and `test` makes one authenticated call and says
//! which setting to fix when it fails ([`check`]).
//!
//! The clap definition of the subcommands lives here, next to [`run`], so the binary stays a
//! thin wrapper.

pub mod check;

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::secrets::files::{AuditEntry, AuditLog, Index, config_dir, format_audit_line};
pub use check::{CheckError, CheckOk, check_okta, check_onelogin};

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
    #[error(transparent)]
    File(#[from] crate::secrets::files::FileError),
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
        Ok(self.index.add(&self.keyring_service, name)?)
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
    // The raw input is wrapped at once so it is wiped on drop like the trimmed value.
    let value = Secret::new(if io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).map_err(CredsError::ReadValue)?
    } else {
        tracing::info!("reading the value from stdin");
        let mut buf = String::new();
        io::stdin()
            .lock()
            .read_to_string(&mut buf)
            .map_err(CredsError::ReadValue)?;
        buf
    });
    parse_value(value.expose())
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
            from: crate::config::origin(env).unwrap_or_else(|| format!("env `{env}`")),
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
    fn rate(out: &mut dyn Write, env: &str, default: &str) -> io::Result<()> {
        match std::env::var(env) {
            Ok(v) if !v.is_empty() => line(
                out,
                "rate limit",
                &v,
                &crate::config::origin(env).unwrap_or_else(|| format!("env `{env}`")),
            ),
            _ => line(
                out,
                "rate limit",
                default,
                &format!("default; `--rate-limit` or `{env}`"),
            ),
        }
    }
    writeln!(out, "project")?;
    match crate::config::loaded().and_then(|l| l.path.as_ref()) {
        Some(p) => line(
            out,
            "file",
            &p.display().to_string(),
            "`--config`, `IDM_CONFIG` or ./idm.toml",
        )?,
        None => line(
            out,
            "file",
            "-",
            "none: `--config`, `IDM_CONFIG` or ./idm.toml",
        )?,
    }
    let state = setting(None, "--state", "IDM_STATE");
    match state.value {
        Some(_) => plain(out, "state", &state)?,
        None => line(
            out,
            "state",
            "idm-state.ndjson",
            "default; `--state` or `IDM_STATE`",
        )?,
    }
    writeln!(out, "okta")?;
    plain(out, "url", &cfg.okta_url)?;
    let okta_url = cfg.okta_url.value.as_deref();
    secret(out, "token", store, "okta", "token", okta_url)?;
    rate(out, "IDM_OKTA_RATE_LIMIT", "600/min")?;
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
    rate(out, "IDM_ONELOGIN_RATE_LIMIT", "5000/hour")?;
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
    use std::fs;

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
}
