//! The export tree on disk: which folders hold which objects, in both layouts, and reading one
//! JSON file with an error that names it.
//!
//! Stormpath's export is a tree of one JSON file per object. Two layouts are described
//! (docs/stormpath.md): the importer's code reads flat folders (`accounts/{id}.json`), its README
//! shows nested ones (`accounts/{dirId}/{id}.json`). Every known folder is walked recursively,
//! so both work, and file names are sorted so that every run sees the same order (the
//! importer's `readdir` order made its merges depend on the file system).
//!
//! File lists are one string arena plus offsets: a million account files cost their names and
//! 16 bytes each, not a `PathBuf` apiece. Objects are never kept: a caller reads a file, takes
//! what its index needs and drops the rest, and reads the file again when it writes the record.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::StormpathError;

/// The folders of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Folder {
    Directories,
    Providers,
    PasswordPolicies,
    UserInfoMappingRules,
    Accounts,
    ApiKeys,
    AccountLinks,
    Groups,
    GroupMemberships,
    Organizations,
    OrganizationAccountStoreMappings,
    Applications,
    OAuthPolicies,
    AccountStoreMappings,
}

impl Folder {
    pub(super) const ALL: [Folder; 14] = [
        Folder::Directories,
        Folder::Providers,
        Folder::PasswordPolicies,
        Folder::UserInfoMappingRules,
        Folder::Accounts,
        Folder::ApiKeys,
        Folder::AccountLinks,
        Folder::Groups,
        Folder::GroupMemberships,
        Folder::Organizations,
        Folder::OrganizationAccountStoreMappings,
        Folder::Applications,
        Folder::OAuthPolicies,
        Folder::AccountStoreMappings,
    ];

    /// The folder's name under the export's base directory.
    pub(super) fn name(self) -> &'static str {
        match self {
            Folder::Directories => "directories",
            Folder::Providers => "providers",
            Folder::PasswordPolicies => "passwordPolicies",
            Folder::UserInfoMappingRules => "userInfoMappingRules",
            Folder::Accounts => "accounts",
            Folder::ApiKeys => "apiKeys",
            Folder::AccountLinks => "accountLinks",
            Folder::Groups => "groups",
            Folder::GroupMemberships => "groupMemberships",
            Folder::Organizations => "organizations",
            Folder::OrganizationAccountStoreMappings => "organizationAccountStoreMappings",
            Folder::Applications => "applications",
            Folder::OAuthPolicies => "oAuthPolicies",
            Folder::AccountStoreMappings => "accountStoreMappings",
        }
    }

    fn index(self) -> usize {
        Folder::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }
}

/// Many short strings in one allocation.
#[derive(Default)]
pub(super) struct Strings {
    text: String,
    spans: Vec<(usize, usize)>,
}

impl Strings {
    /// Add `s`; returns its index.
    pub(super) fn push(&mut self, s: &str) -> u32 {
        let start = self.text.len();
        self.text.push_str(s);
        self.spans.push((start, self.text.len()));
        (self.spans.len() - 1) as u32
    }

    pub(super) fn get(&self, i: u32) -> &str {
        let (start, end) = self.spans[i as usize];
        &self.text[start..end]
    }

    pub(super) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Sort by content (byte order), in place.
    fn sort(&mut self) {
        let text = &self.text;
        self.spans
            .sort_by(|a, b| text[a.0..a.1].cmp(&text[b.0..b.1]));
    }
}

/// The `*.json` files under one folder, as paths relative to it, sorted.
pub(super) struct PathList {
    root: PathBuf,
    names: Strings,
}

impl PathList {
    pub(super) fn len(&self) -> usize {
        self.names.len()
    }

    /// The path relative to the folder: `acc1.json`, or `dir1/acc1.json` in the nested layout.
    pub(super) fn rel(&self, i: usize) -> &str {
        self.names.get(i as u32)
    }

    /// The full path of file `i`.
    pub(super) fn path(&self, i: usize) -> PathBuf {
        self.root.join(self.rel(i))
    }

    /// The file name without `.json`: the object's id in Stormpath's export.
    pub(super) fn stem(&self, i: usize) -> &str {
        let rel = self.rel(i);
        let name = rel.rsplit('/').next().unwrap_or(rel);
        name.strip_suffix(".json").unwrap_or(name)
    }

    /// The folder that holds file `i` when it is nested (`dir1` for `dir1/acc1.json`): the
    /// README layout names the directory an account or group belongs to this way.
    pub(super) fn parent(&self, i: usize) -> Option<&str> {
        let rel = self.rel(i);
        let (parent, _) = rel.rsplit_once('/')?;
        Some(parent.rsplit('/').next().unwrap_or(parent))
    }

    /// Read and parse file `i`.
    pub(super) fn read(&self, i: usize) -> Result<Map<String, Value>, StormpathError> {
        read_object(&self.path(i))
    }
}

/// Every known folder of one export.
pub(super) struct Tree {
    lists: Vec<PathList>,
}

impl Tree {
    /// Walk the export under `base`. Refuses a tree that is not a Stormpath export, or that
    /// the community `stormpath-export` tool wrote.
    pub(super) fn open(base: &Path) -> Result<Tree, StormpathError> {
        let meta = fs::metadata(base).map_err(|e| StormpathError::Io {
            path: base.to_path_buf(),
            reason: e.to_string(),
        })?;
        if !meta.is_dir() {
            return Err(StormpathError::NotAnExport {
                dir: base.to_path_buf(),
                reason: "not a directory".into(),
            });
        }
        refuse_community(base)?;
        let mut lists = Vec::with_capacity(Folder::ALL.len());
        let mut found = 0;
        for folder in Folder::ALL {
            let root = base.join(folder.name());
            let mut names = Strings::default();
            if root.is_dir() {
                found += 1;
                walk(&root, "", &mut names)?;
                names.sort();
            } else {
                tracing::debug!("no `{}/` folder in the export: none read", folder.name());
            }
            lists.push(PathList { root, names });
        }
        if found == 0 {
            return Err(StormpathError::NotAnExport {
                dir: base.to_path_buf(),
                reason: not_an_export_hint(base),
            });
        }
        Ok(Tree { lists })
    }

    pub(super) fn list(&self, folder: Folder) -> &PathList {
        &self.lists[folder.index()]
    }
}

/// Add every `*.json` file under `dir` to `names`, as `prefix` + its path below `dir`.
fn walk(dir: &Path, prefix: &str, names: &mut Strings) -> Result<(), StormpathError> {
    let io = |path: &Path, e: std::io::Error| StormpathError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    for entry in fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            return Err(StormpathError::Malformed {
                path,
                reason: "the file name is not UTF-8".into(),
            });
        };
        if name.starts_with('.') {
            continue;
        }
        let file_type = entry.file_type().map_err(|e| io(&path, e))?;
        if file_type.is_dir() {
            walk(&path, &format!("{prefix}{name}/"), names)?;
        } else if file_type.is_symlink() && path.is_dir() {
            // a link back up the tree would loop; an export has no reason to hold one
            tracing::warn!("not following the directory link `{}`", path.display());
        } else if name.ends_with(".json") {
            if name == "meta.json" {
                return Err(StormpathError::Community { path });
            }
            names.push(&format!("{prefix}{name}"));
        }
    }
    Ok(())
}

/// The community exporter writes `meta.json` files (for the tenant, or per directory in its
/// first version) where Stormpath's export has none.
fn refuse_community(base: &Path) -> Result<(), StormpathError> {
    let meta = base.join("meta.json");
    if meta.is_file() {
        return Err(StormpathError::Community { path: meta });
    }
    let Ok(entries) = fs::read_dir(base) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let meta = entry.path().join("meta.json");
        if meta.is_file() {
            return Err(StormpathError::Community { path: meta });
        }
    }
    Ok(())
}

/// Why `base` holds no export, and where one might be (the tenant folder one level down).
fn not_an_export_hint(base: &Path) -> String {
    let expected = "none of `accounts/`, `directories/`, `groups/`, `applications/` is in it";
    let mut candidates: Vec<String> = fs::read_dir(base)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("accounts").is_dir() || e.path().join("directories").is_dir())
        .map(|e| e.path().display().to_string())
        .collect();
    candidates.sort();
    match candidates.first() {
        Some(c) => format!("{expected}; `{c}` looks like one: pass it to `--dir`"),
        None => expected.to_string(),
    }
}

/// Read one file that holds one JSON object.
pub(super) fn read_object(path: &Path) -> Result<Map<String, Value>, StormpathError> {
    let bytes = fs::read(path).map_err(|e| StormpathError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(StormpathError::Malformed {
            path: path.to_path_buf(),
            reason: format!("expected a JSON object, found {}", type_name(&other)),
        }),
        Err(e) => Err(StormpathError::NotJson {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// The id a reference field points to: `obj[field].id`, else the last segment of
/// `obj[field].href` (the REST API wrote references as `{"href": …}` only).
pub(super) fn ref_id(obj: &Map<String, Value>, field: &str) -> Option<String> {
    let target = obj.get(field)?.as_object()?;
    if let Some(id) = target.get("id").and_then(Value::as_str)
        && !id.is_empty()
    {
        return Some(id.to_string());
    }
    href_id(target.get("href")?.as_str()?).map(str::to_string)
}

/// The resource type of a reference, from its href: `directories`, `groups`, `organizations`.
pub(super) fn ref_type<'a>(obj: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    let href = obj.get(field)?.as_object()?.get("href")?.as_str()?;
    let mut segments = href.trim_end_matches('/').rsplit('/');
    segments.next()?;
    segments.next()
}

/// The last path segment of an href: the object's id.
pub(super) fn href_id(href: &str) -> Option<&str> {
    href.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
}

/// An object's own id: `id`, else its href's last segment, else the file name.
pub(super) fn own_id(obj: &Map<String, Value>, list: &PathList, i: usize) -> String {
    if let Some(id) = obj.get("id").and_then(Value::as_str)
        && !id.is_empty()
    {
        return id.to_string();
    }
    if let Some(id) = obj.get("href").and_then(Value::as_str).and_then(href_id) {
        return id.to_string();
    }
    list.stem(i).to_string()
}

/// A string field, `None` when absent, null, not a string or empty.
pub(super) fn text<'a>(obj: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    obj.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
