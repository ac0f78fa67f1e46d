//! The project file: `idm.toml` holds a migration's settings so a shell or Makefile need not
//! export a dozen variables.
//!
//! ```toml
//! state = "prod-state.ndjson"
//! target = "onelogin"
//!
//! [okta]
//! url = "https://acme.okta.com"
//! rate_limit = "600/min"
//!
//! [onelogin]
//! url = "https://acme.onelogin.com"
//! client_id = "0a1b2c"
//!
//! [map]
//! connectors = "connectors.json"
//! ```
//!
//! Every tool reads it: from `--config FILE`, else `IDM_CONFIG`, else `idm.toml` in the working
//! directory when there is one. Precedence is flags, then the environment, then the file, then
//! the defaults. It works by giving each setting's environment variable its value from the
//! file when the environment does not set it, before the flags are parsed, so a setting
//! means the same thing whichever way it is given and `--help` stays the single reference.
//! Relative paths are relative to the file's directory. Secrets do not belong in it: a key
//! such as `token` or `client_secret` is refused, like any key the table below does not know.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The environment variable naming the project file.
pub const ENV: &str = "IDM_CONFIG";
/// The project file looked for in the working directory.
pub const DEFAULT_FILE: &str = "idm.toml";

/// How a key's value is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Value {
    Text,
    /// A path, made absolute against the file's directory.
    Path,
}

/// Every key the file may hold: (`table.key`, environment variables it sets, how to read it).
const KEYS: &[(&str, &[&str], Value)] = &[
    ("state", &["IDM_STATE"], Value::Path),
    ("target", &["IDM_TARGET", "IDM_MAP_TO"], Value::Text),
    ("rejects", &["IDM_REJECTS"], Value::Path),
    ("max_capacity", &["IDM_MAX_CAPACITY"], Value::Text),
    ("timeout", &["IDM_TIMEOUT"], Value::Text),
    ("okta.url", &["IDM_OKTA_URL"], Value::Text),
    ("okta.rate_limit", &["IDM_OKTA_RATE_LIMIT"], Value::Text),
    ("onelogin.url", &["IDM_ONELOGIN_URL"], Value::Text),
    (
        "onelogin.client_id",
        &["IDM_ONELOGIN_CLIENT_ID"],
        Value::Text,
    ),
    (
        "onelogin.rate_limit",
        &["IDM_ONELOGIN_RATE_LIMIT"],
        Value::Text,
    ),
    ("export.objects", &["IDM_EXPORT_OBJECTS"], Value::Text),
    ("export.page_size", &["IDM_PAGE_SIZE"], Value::Text),
    ("export.snapshot_dir", &["IDM_SNAPSHOT_DIR"], Value::Path),
    ("stormpath.dir", &["IDM_STORMPATH_DIR"], Value::Path),
    ("csv.columns", &["IDM_CSV_COLUMNS"], Value::Path),
    ("map.connectors", &["IDM_CONNECTORS"], Value::Path),
    ("map.mapping", &["IDM_MAPPING"], Value::Path),
    ("map.complex", &["IDM_COMPLEX"], Value::Text),
    ("map.email_domain", &["IDM_EMAIL_DOMAIN"], Value::Text),
    ("map.login_domain", &["IDM_LOGIN_DOMAIN"], Value::Text),
    ("load.workers", &["IDM_WORKERS"], Value::Text),
    ("bulk_csv.format", &["IDM_CSV_FORMAT"], Value::Text),
    ("bulk_csv.excel_safe", &["IDM_CSV_EXCEL_SAFE"], Value::Text),
    ("report.rows", &["IDM_REPORT_ROWS"], Value::Text),
];

/// Key names that would hold a secret, in any table.
const SECRET_WORDS: &[&str] = &["token", "secret", "password", "api_key", "key"];

/// Why the project file cannot be used: a usage error, exit 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the project file `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error("project file `{path}`: {reason}")]
    Invalid { path: String, reason: String },
}

/// The project file in use and the settings it gave (environment variable → `table.key`).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub path: Option<PathBuf>,
    pub applied: BTreeMap<String, String>,
}

static LOADED: OnceLock<Loaded> = OnceLock::new();

/// The project file this process loaded, if any.
pub fn loaded() -> Option<&'static Loaded> {
    LOADED.get().filter(|l| l.path.is_some())
}

/// Where an environment variable's value came from, when the project file set it:
/// `` idm.toml `okta.url` ``.
pub fn origin(env: &str) -> Option<String> {
    let l = loaded()?;
    let key = l.applied.get(env)?;
    let path = l.path.as_ref()?;
    Some(format!("{} `{key}`", path.display()))
}

/// Which file to read: `--config FILE` (or `--config=FILE`) in `args`, else `IDM_CONFIG`, else
/// `idm.toml` in the working directory when it exists. `Ok(None)`: no project file.
pub fn locate(args: &[OsString]) -> Result<Option<PathBuf>, ConfigError> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let Some(s) = a.to_str() else { continue };
        if s == "--" {
            break;
        }
        if s == "--config" {
            return match it.next() {
                Some(p) => Ok(Some(PathBuf::from(p))),
                None => Ok(None), // clap says the value is missing
            };
        }
        if let Some(p) = s.strip_prefix("--config=") {
            return Ok(Some(PathBuf::from(p)));
        }
    }
    if let Some(p) = std::env::var_os(ENV).filter(|p| !p.is_empty()) {
        return Ok(Some(PathBuf::from(p)));
    }
    let here = PathBuf::from(DEFAULT_FILE);
    Ok(here.is_file().then_some(here))
}

/// Parse a project file's text into (environment variable, value, `table.key`) settings.
pub fn parse(
    text: &str,
    dir: &Path,
    path: &str,
) -> Result<Vec<(String, String, String)>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        path: path.to_string(),
        reason,
    };
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        // toml's message spans several lines with a caret; one line is enough here
        let msg = e.message().to_string();
        match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                invalid(format!("line {line}: {msg}"))
            }
            None => invalid(msg),
        }
    })?;
    let mut out = Vec::new();
    let mut visit = |key: String, v: &toml::Value| -> Result<(), ConfigError> {
        let last = key.rsplit('.').next().unwrap_or(&key).to_ascii_lowercase();
        if SECRET_WORDS
            .iter()
            .any(|w| last == *w || last.ends_with(&format!("_{w}")))
            && !KEYS.iter().any(|(k, _, _)| *k == key)
        {
            return Err(invalid(format!(
                "`{key}` looks like a secret, and secrets do not belong in a project file: use `idm-creds set` or the environment"
            )));
        }
        let Some((_, envs, how)) = KEYS.iter().find(|(k, _, _)| *k == key) else {
            let known: Vec<&str> = KEYS.iter().map(|(k, _, _)| *k).collect();
            return Err(invalid(format!(
                "unknown key `{key}` (known: {})",
                known.join(", ")
            )));
        };
        let text = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => f.to_string(),
            _ => {
                return Err(invalid(format!(
                    "`{key}` must be a string, a number or a boolean"
                )));
            }
        };
        let text = match how {
            Value::Path if !text.is_empty() && Path::new(&text).is_relative() => {
                dir.join(&text).display().to_string()
            }
            _ => text,
        };
        for env in *envs {
            out.push((env.to_string(), text.clone(), key.clone()));
        }
        Ok(())
    };
    for (k, v) in &table {
        match v {
            toml::Value::Table(inner) => {
                for (k2, v2) in inner {
                    if let toml::Value::Table(_) = v2 {
                        return Err(invalid(format!("`{k}.{k2}`: tables nest one level only")));
                    }
                    visit(format!("{k}.{k2}"), v2)?;
                }
            }
            _ => visit(k.clone(), v)?,
        }
    }
    Ok(out)
}

/// Read the project file `args` name (or `IDM_CONFIG`, or `./idm.toml`) and give each of its
/// settings to the environment variable it stands for, where the environment does not set
/// it already. Call once, first thing in `main`, before any thread starts.
pub fn apply(args: &[OsString]) -> Result<(), ConfigError> {
    let Some(path) = locate(args)? else {
        let _ = LOADED.set(Loaded::default());
        return Ok(());
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let mut applied = BTreeMap::new();
    for (env, value, key) in parse(&text, &dir, &shown)? {
        if std::env::var_os(&env).is_some_and(|v| !v.is_empty()) {
            continue; // the environment wins over the file
        }
        // SAFETY: called from `main` before any other thread exists (see `cli::main`), so no
        // thread can read the environment while it changes.
        unsafe { std::env::set_var(&env, &value) };
        applied.insert(env, key);
    }
    let _ = LOADED.set(Loaded {
        path: Some(path),
        applied,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Result<Vec<(String, String, String)>, ConfigError> {
        parse(text, Path::new("/proj"), "idm.toml")
    }

    #[test]
    fn tables_and_keys_become_environment_settings() {
        let s = settings(
            "state = \"s.ndjson\"\ntarget = \"okta\"\n[okta]\nurl = \"https://a.okta.com\"\n[onelogin]\nclient_id = \"abc\"\nrate_limit = \"100/min\"\n[load]\nworkers = 8\n[map]\nconnectors = \"/abs/c.json\"\n",
        )
        .unwrap();
        let find = |env: &str| {
            s.iter()
                .find(|(e, _, _)| e == env)
                .map(|(_, v, k)| (v.as_str(), k.as_str()))
        };
        assert_eq!(find("IDM_STATE"), Some(("/proj/s.ndjson", "state")));
        assert_eq!(find("IDM_TARGET"), Some(("okta", "target")));
        assert_eq!(find("IDM_MAP_TO"), Some(("okta", "target")));
        assert_eq!(
            find("IDM_OKTA_URL"),
            Some(("https://a.okta.com", "okta.url"))
        );
        assert_eq!(
            find("IDM_ONELOGIN_CLIENT_ID"),
            Some(("abc", "onelogin.client_id"))
        );
        assert_eq!(
            find("IDM_ONELOGIN_RATE_LIMIT"),
            Some(("100/min", "onelogin.rate_limit"))
        );
        assert_eq!(find("IDM_WORKERS"), Some(("8", "load.workers")));
        assert_eq!(
            find("IDM_CONNECTORS"),
            Some(("/abs/c.json", "map.connectors"))
        );
    }

    #[test]
    fn secrets_unknown_keys_and_bad_toml_are_refused_with_the_key_or_line() {
        let e = settings("[okta]\ntoken = \"00abc\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`okta.token` looks like a secret"), "{e}");
        assert!(!e.contains("00abc"), "the secret must not be echoed: {e}");
        let e = settings("[onelogin]\nclient_secret = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("onelogin.client_secret"), "{e}");
        let e = settings("[okta]\nurll = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("unknown key `okta.urll`"), "{e}");
        let e = settings("[okta]\nurl = \"x\"\nurl = \"y\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3"), "{e}");
        let e = settings("[okta]\nurl = [1]\n").unwrap_err().to_string();
        assert!(e.contains("`okta.url` must be a string"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }

    #[test]
    fn the_config_flag_is_found_in_either_spelling() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            locate(&args(&["idm-map", "--config", "a.toml"])).unwrap(),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            locate(&args(&["idm-map", "-v", "--config=b.toml"])).unwrap(),
            Some(PathBuf::from("b.toml"))
        );
    }
}
