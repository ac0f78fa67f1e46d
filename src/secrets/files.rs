//! The two small files kept next to the keyring, and where they live.
//!
//! - `keyring-index`: the *names* of stored entries, because the `keyring` crate cannot
//!   enumerate a keyring and `idm-creds list` must still say what is stored. One line per
//!   entry, `<keyring service>\t<account>`; never a value. Changed under a lock file and
//!   replaced by rename, so concurrent `set`s lose nothing and a crash leaves the old index.
//! - `audit.log`: one NDJSON line per keyring access by any tool (time, tool, action, entry,
//!   outcome), appended with `O_APPEND` in one write so concurrent tools do not interleave.
//!   Never a value.
//!
//! Both live in [`config_dir`], created 0700, and are 0600: they name tenants, which is
//! nobody else's business.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::EntryName;

/// An error of one of the credential files.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} `{path}`: {source}")]
pub struct FileError {
    pub action: &'static str,
    pub path: PathBuf,
    pub source: io::Error,
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> FileError + 'a {
    move |source| FileError {
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
fn ensure_private_dir(dir: &Path) -> Result<(), FileError> {
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
fn open_private_append(path: &Path) -> Result<File, FileError> {
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
    ) -> Result<(), FileError> {
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
        let mut line = serde_json::to_vec(&entry).map_err(|e| FileError {
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
    ) -> Result<(Vec<(u64, String)>, Vec<(u64, String)>), FileError> {
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
    let service = if e.keyring_service == super::DEFAULT_KEYRING_SERVICE {
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
    fn read_all(&self) -> Result<Vec<(String, EntryName)>, FileError> {
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
    pub fn entries(&self, keyring_service: &str) -> Result<Vec<EntryName>, FileError> {
        Ok(self
            .read_all()?
            .into_iter()
            .filter(|(s, _)| s == keyring_service)
            .map(|(_, name)| name)
            .collect())
    }

    pub fn add(&self, keyring_service: &str, name: &EntryName) -> Result<(), FileError> {
        self.update(|all| all.push((keyring_service.to_string(), name.clone())))
    }

    pub fn remove(&self, keyring_service: &str, name: &EntryName) -> Result<(), FileError> {
        self.update(|all| all.retain(|(s, n)| !(s == keyring_service && n == name)))
    }

    /// Read, change and replace the index under an exclusive lock (`keyring-index.lock`), so
    /// two `idm-creds set` running at once do not lose each other's line.
    fn update(&self, change: impl FnOnce(&mut Vec<(String, EntryName)>)) -> Result<(), FileError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        ensure_private_dir(dir)?;
        let mut lock_path = self.path.clone().into_os_string();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let lock = open_private_append(&lock_path)?;
        lock.lock().map_err(io_err("lock", &lock_path))?;
        let mut all = self.read_all()?;
        change(&mut all);
        self.write_all(all)
        // The lock is released when `lock` is dropped (closed).
    }

    /// Replace the file atomically (temp file in the same directory, then rename), 0600.
    fn write_all(&self, mut all: Vec<(String, EntryName)>) -> Result<(), FileError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_index_updates_lose_no_line() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::at(dir.path().join("idm/keyring-index"));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let index = index.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let url = format!("https://t{t}-{i}.okta.com");
                        let name = EntryName::new("okta", "token", Some(&url));
                        index.add("idm", &name).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(index.entries("idm").unwrap().len(), 80);
        assert!(index.entries("other").unwrap().is_empty());
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
}
