//! The compact index of an export, built by reading every file once: the small tables
//! (directories, groups, organizations, applications, mappings) whole, and per account only
//! what unification needs (id, file, directory, hashes of email and login, a few flags).
//!
//! Unification follows the importer (reference §2.1–§2.4) under our proposals: accounts in
//! sorted id order, emails and logins compared case-insensitively. Per account the index holds
//! about 100 bytes (its id and file name in arenas, two 128-bit hashes, a few `u32`s), never
//! the account itself; records are written later by reading the files again.

use std::collections::HashMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::files::{Folder, PathList, Strings, Tree, own_id, ref_id, ref_type, text};
use super::{IDM_KEY, StormpathError, Tally};

/// "No index": an unknown directory, no base, the end of a chain.
pub(super) const NONE: u32 = u32::MAX;

/// What a directory's provider makes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DirKind {
    /// `stormpath`: a cloud directory.
    Cloud,
    /// `facebook`, `google`, `linkedin`: the importer made a group and an identity provider.
    Social,
    /// `saml`: the importer made an identity provider only.
    Saml,
    /// `ad`, `ldap`: imported with Okta's agent, not from the export.
    AdLdap,
    /// github, twitter, generic OAuth: not migrated by the importer.
    Other,
}

impl DirKind {
    fn of(provider: &str) -> DirKind {
        match provider {
            "stormpath" => DirKind::Cloud,
            "facebook" | "google" | "linkedin" => DirKind::Social,
            "saml" => DirKind::Saml,
            "ad" | "ldap" => DirKind::AdLdap,
            _ => DirKind::Other,
        }
    }
}

pub(super) struct Directory {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub kind: DirKind,
    pub file: usize,
    /// The `providers/` file the provider came from, when the directory does not embed it.
    pub provider_file: Option<usize>,
    /// Why it is not exported as a group; `None`: it is.
    pub skip: Option<String>,
}

pub(super) struct Group {
    pub id: String,
    pub dir: u32,
    pub file: usize,
    pub skip: Option<String>,
}

pub(super) struct Org {
    pub id: String,
    pub file: usize,
    /// The directories and groups mapped to it, in mapping-file order.
    pub stores: Vec<Store>,
}

pub(super) struct App {
    pub id: String,
    pub file: usize,
}

/// An account store: what applications and organizations map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Store {
    Directory(u32),
    Group(u32),
    Organization(u32),
}

/// One account store mapping of an application.
pub(super) struct AppMapping {
    pub file: usize,
    pub app: u32,
    pub store: Store,
}

/// Why an account is not exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Skip {
    UnknownDirectory,
    AdLdap,
    Unverified,
    NoEmail,
    LinkedEmailDiffers,
    SameEmailNotLinked,
}

impl Skip {
    /// For the summary line: `3 unverified`.
    pub(super) fn label(self) -> &'static str {
        match self {
            Skip::UnknownDirectory => "in a directory missing from the export",
            Skip::AdLdap => {
                "in AD/LDAP directories (import those with Okta's AD or LDAP agent, an agent-based import)"
            }
            Skip::Unverified => "unverified",
            Skip::NoEmail => "without an email address",
            Skip::LinkedEmailDiffers => "linked to an account with another email address",
            Skip::SameEmailNotLinked => {
                "sharing an email address with an account they are not linked to"
            }
        }
    }
}

/// Where an account stands after unification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Not yet decided (only while building).
    Pending,
    /// It becomes a user record.
    Base,
    /// Merged into the base account `other`.
    Merged,
    Skipped(Skip),
}

/// What the index keeps per account.
pub(super) struct Entry {
    /// Index into [`Accounts::ids`].
    pub id: u32,
    /// Index into the `accounts/` file list.
    pub file: u32,
    /// Index into the directories, or [`NONE`].
    pub dir: u32,
    /// Hash of the lowercased email; 0 when there is none.
    pub email: u128,
    /// Hash of the lowercased login.
    pub login: u128,
    /// Hash of the lowercased part of the login before its first `@`.
    pub prefix: u64,
    /// The login was made by appending the login domain to a username without `@`.
    pub converted: bool,
    pub state: State,
    /// Merged: its base. Skipped for a conflict: the account it conflicts with.
    pub other: u32,
    /// For a base and its merged accounts: the next merged account, in merge order.
    pub next: u32,
}

/// Every account of the export, sorted by id.
pub(super) struct Accounts {
    pub ids: Strings,
    pub entries: Vec<Entry>,
}

impl Accounts {
    pub(super) fn id(&self, i: u32) -> &str {
        self.ids.get(self.entries[i as usize].id)
    }

    /// The index of the account with `id`.
    pub(super) fn find(&self, id: &str) -> Option<u32> {
        self.entries
            .binary_search_by(|e| self.ids.get(e.id).cmp(id))
            .ok()
            .map(|i| i as u32)
    }

    /// The base account `i` is exported under, if any.
    pub(super) fn base_of(&self, i: u32) -> Option<u32> {
        let e = &self.entries[i as usize];
        match e.state {
            State::Base => Some(i),
            State::Merged => Some(e.other),
            _ => None,
        }
    }

    /// A base account and the accounts merged into it, in merge order.
    pub(super) fn chain(&self, base: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(Some(base), move |&i| {
            let next = self.entries[i as usize].next;
            (next != NONE).then_some(next)
        })
    }
}

/// The login a person signs in with: the username, or (with none) the email; a name without
/// `@` gets `@<domain>` appended, as the importer did (Okta logins are email-shaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Login {
    pub login: String,
    /// `@<domain>` was appended.
    pub converted: bool,
    /// There was no username: the email was used.
    pub from_email: bool,
}

pub(super) fn login_of(username: Option<&str>, email: Option<&str>, domain: &str) -> Option<Login> {
    let (name, from_email) = match username.filter(|u| !u.trim().is_empty()) {
        Some(u) => (u, false),
        None => (email.filter(|e| !e.trim().is_empty())?, true),
    };
    if name.contains('@') {
        Some(Login {
            login: name.to_string(),
            converted: false,
            from_email,
        })
    } else {
        Some(Login {
            login: format!("{name}@{domain}"),
            converted: true,
            from_email,
        })
    }
}

/// The part of a login before its first `@`, lowercased: what Okta accepts at sign-in.
pub(super) fn login_prefix(login: &str) -> String {
    login.split('@').next().unwrap_or(login).to_lowercase()
}

fn hash128(s: &str) -> u128 {
    let digest = Sha256::digest(s.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    // 0 means "none" for emails; a digest starting with 16 zero bytes is not a concern
    u128::from_le_bytes(b).max(1)
}

fn hash64(s: &str) -> u64 {
    hash128(s) as u64
}

/// The whole index.
pub(super) struct Index {
    pub dirs: Vec<Directory>,
    pub groups: Vec<Group>,
    pub orgs: Vec<Org>,
    pub apps: Vec<App>,
    pub app_mappings: Vec<AppMapping>,
    pub accounts: Accounts,
    /// (group, account) pairs from `groupMemberships/`, sorted.
    pub memberships: Vec<(u32, u32)>,
    /// (account, `apiKeys/` file) for ENABLED keys, sorted.
    pub api_keys: Vec<(u32, u32)>,
    /// Base accounts whose login prefix another base's login shares, where one of the two
    /// logins was converted: base → the others.
    pub prefix_conflicts: HashMap<u32, Vec<u32>>,
    /// Base accounts with the same login (case-insensitively): base → the others.
    pub same_login: HashMap<u32, Vec<u32>>,
    /// Small folders looked up by file name (= the object's id).
    pub by_stem: HashMap<(Folder, String), usize>,
}

impl Index {
    pub(super) fn build(
        tree: &Tree,
        login_domain: &str,
        tally: &mut Tally,
    ) -> Result<Index, StormpathError> {
        let mut by_stem = HashMap::new();
        for folder in [
            Folder::Providers,
            Folder::PasswordPolicies,
            Folder::UserInfoMappingRules,
            Folder::OAuthPolicies,
        ] {
            let list = tree.list(folder);
            for i in 0..list.len() {
                by_stem.insert((folder, list.stem(i).to_string()), i);
            }
        }
        let dirs = read_directories(tree, &by_stem, tally)?;
        let dir_index: HashMap<&str, u32> = dirs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.as_str(), i as u32))
            .collect();
        let groups = read_groups(tree, &dirs, &dir_index, tally)?;
        let group_index: HashMap<&str, u32> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.as_str(), i as u32))
            .collect();
        let mut orgs = read_simple(tree.list(Folder::Organizations))?
            .into_iter()
            .map(|(id, file)| Org {
                id,
                file,
                stores: Vec::new(),
            })
            .collect::<Vec<_>>();
        let org_index: HashMap<String, u32> = orgs
            .iter()
            .enumerate()
            .map(|(i, o)| (o.id.clone(), i as u32))
            .collect();
        let stores = StoreLookup {
            dirs: &dir_index,
            groups: &group_index,
            orgs: &org_index,
        };
        read_org_mappings(tree, &stores, &mut orgs, tally)?;
        let apps = read_apps(tree)?;
        let app_index: HashMap<&str, u32> = apps
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.as_str(), i as u32))
            .collect();
        let app_mappings = read_app_mappings(tree, &stores, &app_index, tally)?;

        let mut accounts = read_accounts(tree, &dirs, &dir_index, login_domain, tally)?;
        let mut parent: Vec<u32> = (0..accounts.entries.len() as u32).collect();
        read_links(tree, &accounts, &mut parent, tally)?;
        unify(&mut accounts, &mut parent, tally);
        drop(parent);
        let (prefix_conflicts, same_login) = login_conflicts(&accounts, tally);
        let memberships = read_memberships(tree, &accounts, &group_index, tally)?;
        let api_keys = read_api_keys(tree, &accounts, tally)?;
        Ok(Index {
            dirs,
            groups,
            orgs,
            apps,
            app_mappings,
            accounts,
            memberships,
            api_keys,
            prefix_conflicts,
            same_login,
            by_stem,
        })
    }

    /// The file of folder `folder` named `<id>.json`, if the export has one.
    pub(super) fn file_for(&self, folder: Folder, id: &str) -> Option<usize> {
        self.by_stem.get(&(folder, id.to_string())).copied()
    }

    /// The directories of a base account and the accounts merged into it, without repeats,
    /// in merge order.
    pub(super) fn user_dirs(&self, base: u32) -> Vec<u32> {
        let mut dirs = Vec::new();
        for i in self.accounts.chain(base) {
            let d = self.accounts.entries[i as usize].dir;
            if d != NONE && !dirs.contains(&d) {
                dirs.push(d);
            }
        }
        dirs
    }
}

fn malformed(list: &PathList, i: usize, reason: impl Into<String>) -> StormpathError {
    StormpathError::Malformed {
        path: list.path(i),
        reason: reason.into(),
    }
}

fn read_directories(
    tree: &Tree,
    by_stem: &HashMap<(Folder, String), usize>,
    tally: &mut Tally,
) -> Result<Vec<Directory>, StormpathError> {
    let list = tree.list(Folder::Directories);
    let providers = tree.list(Folder::Providers);
    let mut dirs: Vec<Directory> = Vec::with_capacity(list.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for i in 0..list.len() {
        let obj = list.read(i)?;
        if obj.get("groups").is_some_and(Value::is_array) {
            return Err(StormpathError::Community { path: list.path(i) });
        }
        let id = own_id(&obj, list, i);
        if let Some(&first) = seen.get(&id) {
            return Err(malformed(
                list,
                i,
                format!(
                    "directory `{id}` is also in `{}`",
                    list.path(first).display()
                ),
            ));
        }
        seen.insert(id.clone(), i);
        let name = text(&obj, "name").unwrap_or(&id).to_string();
        let embedded = obj
            .get("provider")
            .and_then(|p| p.get("providerId"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let (provider, provider_file) = match embedded {
            Some(p) => (p.to_string(), None),
            None => {
                let Some(&pf) = by_stem.get(&(Folder::Providers, id.clone())) else {
                    return Err(malformed(
                        list,
                        i,
                        format!(
                            "no `provider.providerId`, and no `providers/{id}.json`: cannot tell a cloud directory from an LDAP one"
                        ),
                    ));
                };
                let pobj = providers.read(pf)?;
                let p = text(&pobj, "providerId")
                    .or_else(|| text(&pobj, "providerType"))
                    .ok_or_else(|| {
                        malformed(providers, pf, "no `providerId` (nor `providerType`)")
                    })?;
                (p.to_string(), Some(pf))
            }
        };
        let kind = DirKind::of(&provider);
        let status = text(&obj, "status").unwrap_or("(none)");
        let skip = match kind {
            DirKind::AdLdap => Some(format!(
                "`{provider}` directory: import it with Okta's AD or LDAP agent (an agent-based import); its accounts are skipped"
            )),
            _ if status != "ENABLED" => Some(format!(
                "its status is `{status}`: only ENABLED directories become groups; its accounts are exported as plain users"
            )),
            DirKind::Saml => Some(
                "SAML directory: it becomes an identity provider, which idm does not create; its accounts are exported as plain users"
                    .into(),
            ),
            DirKind::Other => Some(format!(
                "`{provider}` directories are not migrated (only cloud, Facebook, Google and LinkedIn ones are); its accounts are exported as plain users"
            )),
            DirKind::Cloud | DirKind::Social => None,
        };
        if let Some(reason) = &skip {
            tracing::warn!("skipped directory `{id}`: {reason}");
            tally.add("skipped directory");
        }
        dirs.push(Directory {
            id,
            name,
            provider,
            kind,
            file: i,
            provider_file,
            skip,
        });
    }
    Ok(dirs)
}

fn read_groups(
    tree: &Tree,
    dirs: &[Directory],
    dir_index: &HashMap<&str, u32>,
    tally: &mut Tally,
) -> Result<Vec<Group>, StormpathError> {
    let list = tree.list(Folder::Groups);
    let mut groups = Vec::with_capacity(list.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for i in 0..list.len() {
        let obj = list.read(i)?;
        let id = own_id(&obj, list, i);
        if let Some(&first) = seen.get(&id) {
            return Err(malformed(
                list,
                i,
                format!("group `{id}` is also in `{}`", list.path(first).display()),
            ));
        }
        seen.insert(id.clone(), i);
        let dir_id = ref_id(&obj, "directory")
            .or_else(|| list.parent(i).map(str::to_string))
            .ok_or_else(|| {
                malformed(
                    list,
                    i,
                    "no `directory.id` (and the file is not in a folder named after its directory)",
                )
            })?;
        let dir = dir_index.get(dir_id.as_str()).copied().unwrap_or(NONE);
        let skip = if dir == NONE {
            Some(format!("its directory `{dir_id}` is not in the export"))
        } else if dirs[dir as usize].kind == DirKind::AdLdap {
            Some(format!(
                "its directory `{dir_id}` is an AD/LDAP directory: import it with Okta's agent"
            ))
        } else {
            None
        };
        if let Some(reason) = &skip {
            tracing::warn!("skipped group `{id}`: {reason}");
            tally.add("skipped group");
        }
        groups.push(Group {
            id,
            dir,
            file: i,
            skip,
        });
    }
    Ok(groups)
}

/// (id, file) of every object of a folder; ids must be unique.
fn read_simple(list: &PathList) -> Result<Vec<(String, usize)>, StormpathError> {
    let mut out = Vec::with_capacity(list.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for i in 0..list.len() {
        let obj = list.read(i)?;
        let id = own_id(&obj, list, i);
        if let Some(&first) = seen.get(&id) {
            return Err(malformed(
                list,
                i,
                format!("`{id}` is also in `{}`", list.path(first).display()),
            ));
        }
        seen.insert(id.clone(), i);
        out.push((id, i));
    }
    Ok(out)
}

fn read_apps(tree: &Tree) -> Result<Vec<App>, StormpathError> {
    let list = tree.list(Folder::Applications);
    let mut apps = Vec::with_capacity(list.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for i in 0..list.len() {
        let obj = list.read(i)?;
        if obj.contains_key("account_store_mappings") {
            return Err(StormpathError::Community { path: list.path(i) });
        }
        let id = own_id(&obj, list, i);
        if let Some(&first) = seen.get(&id) {
            return Err(malformed(
                list,
                i,
                format!(
                    "application `{id}` is also in `{}`",
                    list.path(first).display()
                ),
            ));
        }
        seen.insert(id.clone(), i);
        apps.push(App { id, file: i });
    }
    Ok(apps)
}

struct StoreLookup<'a> {
    dirs: &'a HashMap<&'a str, u32>,
    groups: &'a HashMap<&'a str, u32>,
    orgs: &'a HashMap<String, u32>,
}

impl StoreLookup<'_> {
    /// The store `obj.accountStore` points to: typed by its href (`…/directories/<id>`), else
    /// found by id. `Err` for a type that `allowed` does not hold; `Ok(None)` when the id is
    /// not in the export.
    fn resolve(
        &self,
        obj: &Map<String, Value>,
        allowed: &[&str],
    ) -> Result<(String, Option<Store>), String> {
        let id =
            ref_id(obj, "accountStore").ok_or("no `accountStore.id` (nor `accountStore.href`)")?;
        let kind = match ref_type(obj, "accountStore") {
            Some(t) => t.to_string(),
            None if self.dirs.contains_key(id.as_str()) => "directories".into(),
            None if self.groups.contains_key(id.as_str()) => "groups".into(),
            None if self.orgs.contains_key(&id) => "organizations".into(),
            None => return Ok((id, None)),
        };
        if !allowed.contains(&kind.as_str()) {
            return Err(format!(
                "`accountStore` is of type `{kind}`; expected one of {}",
                allowed.join(", ")
            ));
        }
        let store = match kind.as_str() {
            "directories" => self.dirs.get(id.as_str()).map(|&d| Store::Directory(d)),
            "groups" => self.groups.get(id.as_str()).map(|&g| Store::Group(g)),
            _ => self.orgs.get(&id).map(|&o| Store::Organization(o)),
        };
        Ok((id, store))
    }
}

fn read_org_mappings(
    tree: &Tree,
    stores: &StoreLookup<'_>,
    orgs: &mut [Org],
    tally: &mut Tally,
) -> Result<(), StormpathError> {
    let list = tree.list(Folder::OrganizationAccountStoreMappings);
    for i in 0..list.len() {
        let obj = list.read(i)?;
        let org_id = ref_id(&obj, "organization")
            .ok_or_else(|| malformed(list, i, "no `organization.id`"))?;
        let (store_id, store) = stores
            .resolve(&obj, &["directories", "groups"])
            .map_err(|r| malformed(list, i, r))?;
        let Some(&org) = stores.orgs.get(&org_id) else {
            tracing::warn!(
                "ignored organization mapping `{}`: organization `{org_id}` is not in the export",
                list.stem(i)
            );
            tally.add("ignored organization mapping");
            continue;
        };
        let Some(store) = store else {
            tracing::warn!(
                "ignored organization mapping `{}`: account store `{store_id}` is not in the export",
                list.stem(i)
            );
            tally.add("ignored organization mapping");
            continue;
        };
        orgs[org as usize].stores.push(store);
    }
    Ok(())
}

fn read_app_mappings(
    tree: &Tree,
    stores: &StoreLookup<'_>,
    apps: &HashMap<&str, u32>,
    tally: &mut Tally,
) -> Result<Vec<AppMapping>, StormpathError> {
    let list = tree.list(Folder::AccountStoreMappings);
    let mut out = Vec::new();
    for i in 0..list.len() {
        let obj = list.read(i)?;
        let app_id =
            ref_id(&obj, "application").ok_or_else(|| malformed(list, i, "no `application.id`"))?;
        let (store_id, store) = stores
            .resolve(&obj, &["directories", "groups", "organizations"])
            .map_err(|r| malformed(list, i, r))?;
        let Some(&app) = apps.get(app_id.as_str()) else {
            tracing::warn!(
                "skipped app assignment `{}`: application `{app_id}` is not in the export",
                list.stem(i)
            );
            tally.add("skipped app assignment");
            continue;
        };
        let Some(store) = store else {
            tracing::warn!(
                "skipped app assignment `{}`: account store `{store_id}` is not in the export",
                list.stem(i)
            );
            tally.add("skipped app assignment");
            continue;
        };
        out.push(AppMapping {
            file: i,
            app,
            store,
        });
    }
    Ok(out)
}

/// Pass A: one read of every account file; the importer's first three skips are decided here
/// (they do not depend on order).
fn read_accounts(
    tree: &Tree,
    dirs: &[Directory],
    dir_index: &HashMap<&str, u32>,
    login_domain: &str,
    tally: &mut Tally,
) -> Result<Accounts, StormpathError> {
    let list = tree.list(Folder::Accounts);
    let mut ids = Strings::default();
    let mut entries = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let obj = list.read(i)?;
        if obj.get("groups").is_some_and(Value::is_array)
            || obj.get("directory").is_some_and(Value::is_string)
        {
            return Err(StormpathError::Community { path: list.path(i) });
        }
        if obj.contains_key(IDM_KEY) {
            return Err(malformed(
                list,
                i,
                format!("has a field `{IDM_KEY}`, which idm reserves for what it adds"),
            ));
        }
        match obj.get("customData") {
            None | Some(Value::Null) | Some(Value::Object(_)) => {}
            Some(other) => {
                return Err(malformed(
                    list,
                    i,
                    format!(
                        "`customData` is {}, expected an object",
                        super::files::type_name(other)
                    ),
                ));
            }
        }
        let id = own_id(&obj, list, i);
        let dir_id = ref_id(&obj, "directory")
            .or_else(|| list.parent(i).map(str::to_string))
            .ok_or_else(|| {
                malformed(
                    list,
                    i,
                    "no `directory.id` (and the file is not in a folder named after its directory)",
                )
            })?;
        let dir = dir_index.get(dir_id.as_str()).copied().unwrap_or(NONE);
        let email = text(&obj, "email");
        let login = login_of(text(&obj, "username"), email, login_domain);
        let state = if dir == NONE {
            Some((
                Skip::UnknownDirectory,
                format!("its directory `{dir_id}` is not in the export"),
            ))
        } else if dirs[dir as usize].kind == DirKind::AdLdap {
            Some((
                Skip::AdLdap,
                format!(
                    "its directory `{dir_id}` is an AD/LDAP directory: import it with Okta's AD or LDAP agent (an agent-based import)"
                ),
            ))
        } else if text(&obj, "status") == Some("UNVERIFIED") {
            Some((
                Skip::Unverified,
                "its status is UNVERIFIED (the person never verified the account)".to_string(),
            ))
        } else if email.is_none() || login.is_none() {
            Some((Skip::NoEmail, "it has no email address".to_string()))
        } else {
            None
        };
        let state = match state {
            Some((skip, reason)) => {
                tracing::warn!("skipped account `{id}`: {reason}");
                tally.skip(skip);
                State::Skipped(skip)
            }
            None => State::Pending,
        };
        let login = login.unwrap_or(Login {
            login: String::new(),
            converted: false,
            from_email: false,
        });
        entries.push(Entry {
            id: ids.push(&id),
            file: i as u32,
            dir,
            email: email.map_or(0, |e| hash128(&e.to_lowercase())),
            login: hash128(&login.login.to_lowercase()),
            prefix: hash64(&login_prefix(&login.login)),
            converted: login.converted,
            state,
            other: NONE,
            next: NONE,
        });
    }
    entries.sort_by(|a, b| ids.get(a.id).cmp(ids.get(b.id)));
    for pair in entries.windows(2) {
        if ids.get(pair[0].id) == ids.get(pair[1].id) {
            return Err(StormpathError::Malformed {
                path: list.path(pair[1].file as usize),
                reason: format!(
                    "account `{}` is also in `{}`",
                    ids.get(pair[1].id),
                    list.path(pair[0].file as usize).display()
                ),
            });
        }
    }
    Ok(Accounts { ids, entries })
}

fn find_root(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let up = parent[parent[i as usize] as usize];
        parent[i as usize] = up;
        i = up;
    }
    i
}

/// Account links joined into connected components (the sides of a link carry no meaning).
fn read_links(
    tree: &Tree,
    accounts: &Accounts,
    parent: &mut [u32],
    tally: &mut Tally,
) -> Result<(), StormpathError> {
    let list = tree.list(Folder::AccountLinks);
    for i in 0..list.len() {
        let obj = list.read(i)?;
        let mut ends = [0u32; 2];
        for (end, field) in ends.iter_mut().zip(["leftAccount", "rightAccount"]) {
            let id = ref_id(&obj, field)
                .ok_or_else(|| malformed(list, i, format!("no `{field}.id`")))?;
            match accounts.find(&id) {
                Some(a) => *end = a,
                None => {
                    tracing::warn!(
                        "ignored account link `{}`: account `{id}` is not in the export",
                        list.stem(i)
                    );
                    tally.add("ignored account link");
                    *end = NONE;
                }
            }
        }
        if ends.contains(&NONE) {
            continue;
        }
        let (a, b) = (find_root(parent, ends[0]), find_root(parent, ends[1]));
        if a != b {
            parent[a.max(b) as usize] = a.min(b);
        }
    }
    Ok(())
}

/// The importer's `addAccount`, in sorted id order, emails compared case-insensitively.
fn unify(accounts: &mut Accounts, parent: &mut [u32], tally: &mut Tally) {
    let n = accounts.entries.len();
    // per component: the base account made from it so far
    let mut component_base = vec![NONE; n];
    let mut by_email: HashMap<u128, u32> = HashMap::new();
    let mut tails: HashMap<u32, u32> = HashMap::new();
    for i in 0..n as u32 {
        if accounts.entries[i as usize].state != State::Pending {
            continue;
        }
        let email = accounts.entries[i as usize].email;
        let root = find_root(parent, i);
        let linked_base = component_base[root as usize];
        let decision = if linked_base != NONE {
            if accounts.entries[linked_base as usize].email == email {
                Ok(linked_base)
            } else {
                Err((Skip::LinkedEmailDiffers, linked_base))
            }
        } else if let Some(&other) = by_email.get(&email) {
            // linked accounts would have found `other` as their component's base
            Err((Skip::SameEmailNotLinked, other))
        } else {
            component_base[root as usize] = i;
            by_email.insert(email, i);
            accounts.entries[i as usize].state = State::Base;
            continue;
        };
        match decision {
            Ok(base) => {
                let tail = tails.get(&base).copied().unwrap_or(base);
                accounts.entries[tail as usize].next = i;
                tails.insert(base, i);
                let e = &mut accounts.entries[i as usize];
                e.state = State::Merged;
                e.other = base;
                tally.add("merged account");
                tracing::info!(
                    "merged account `{}` into the linked account `{}` (same email address)",
                    accounts.id(i),
                    accounts.id(base)
                );
            }
            Err((skip, other)) => {
                let e = &mut accounts.entries[i as usize];
                e.state = State::Skipped(skip);
                e.other = other;
                tally.skip(skip);
                let (id, other_id) = (accounts.id(i), accounts.id(other));
                match skip {
                    Skip::LinkedEmailDiffers => tracing::warn!(
                        "skipped account `{id}`: it is linked to `{other_id}`, whose email address differs; linked accounts are merged only when their email addresses match"
                    ),
                    _ => tracing::warn!(
                        "skipped account `{id}`: `{other_id}` has the same email address and the two are not linked; only linked accounts are merged"
                    ),
                }
            }
        }
    }
}

/// Base accounts whose logins collide: the same login, or (where one was converted from a
/// username) the same prefix.
fn login_conflicts(
    accounts: &Accounts,
    tally: &mut Tally,
) -> (HashMap<u32, Vec<u32>>, HashMap<u32, Vec<u32>>) {
    let bases: Vec<u32> = (0..accounts.entries.len() as u32)
        .filter(|&i| accounts.entries[i as usize].state == State::Base)
        .collect();
    let entry = |i: u32| &accounts.entries[i as usize];

    let mut by_prefix: Vec<(u64, u32)> = bases.iter().map(|&i| (entry(i).prefix, i)).collect();
    by_prefix.sort_unstable();
    let mut prefix_conflicts: HashMap<u32, Vec<u32>> = HashMap::new();
    for run in by_prefix
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|r| r.len() > 1)
    {
        let converted: Vec<u32> = run
            .iter()
            .map(|&(_, i)| i)
            .filter(|&i| entry(i).converted)
            .collect();
        for &c in &converted {
            let others: Vec<u32> = run.iter().map(|&(_, i)| i).filter(|&i| i != c).collect();
            tally.add("login prefix conflict");
            tracing::warn!(
                "account `{}`: its login was made from a username without `@`, and its prefix is also the prefix of the login of {}; the user must sign in with the full login",
                accounts.id(c),
                list_ids(accounts, &others)
            );
            for &o in &others {
                if !entry(o).converted {
                    prefix_conflicts.entry(o).or_default().push(c);
                }
            }
            prefix_conflicts.insert(c, others);
        }
    }
    drop(by_prefix);

    let mut by_login: Vec<(u128, u32)> = bases.iter().map(|&i| (entry(i).login, i)).collect();
    by_login.sort_unstable();
    let mut same_login: HashMap<u32, Vec<u32>> = HashMap::new();
    for run in by_login.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
        let ids: Vec<u32> = run.iter().map(|&(_, i)| i).collect();
        tally.add("shared login");
        tracing::warn!(
            "accounts {} have the same login (compared case-insensitively) but different email addresses; a target keeps one user per login",
            list_ids(accounts, &ids)
        );
        for &i in &ids {
            same_login.insert(i, ids.iter().copied().filter(|&o| o != i).collect());
        }
    }
    (prefix_conflicts, same_login)
}

/// `` `a`, `b` `` for a message.
pub(super) fn list_ids(accounts: &Accounts, ids: &[u32]) -> String {
    ids.iter()
        .map(|&i| format!("`{}`", accounts.id(i)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_memberships(
    tree: &Tree,
    accounts: &Accounts,
    groups: &HashMap<&str, u32>,
    tally: &mut Tally,
) -> Result<Vec<(u32, u32)>, StormpathError> {
    let list = tree.list(Folder::GroupMemberships);
    let mut out = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let obj = list.read(i)?;
        let group_id = ref_id(&obj, "group").ok_or_else(|| malformed(list, i, "no `group.id`"))?;
        let account_id =
            ref_id(&obj, "account").ok_or_else(|| malformed(list, i, "no `account.id`"))?;
        let Some(&g) = groups.get(group_id.as_str()) else {
            tracing::warn!(
                "skipped membership `{}`: group `{group_id}` is not in the export",
                list.stem(i)
            );
            tally.add("skipped membership");
            continue;
        };
        let Some(a) = accounts.find(&account_id) else {
            tracing::warn!(
                "skipped membership `{}`: account `{account_id}` is not in the export",
                list.stem(i)
            );
            tally.add("skipped membership");
            continue;
        };
        out.push((g, a));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn read_api_keys(
    tree: &Tree,
    accounts: &Accounts,
    tally: &mut Tally,
) -> Result<Vec<(u32, u32)>, StormpathError> {
    let list = tree.list(Folder::ApiKeys);
    let mut out = Vec::new();
    for i in 0..list.len() {
        let obj = list.read(i)?;
        if text(&obj, "status") != Some("ENABLED") {
            tally.add("disabled API key");
            continue;
        }
        let account_id =
            ref_id(&obj, "account").ok_or_else(|| malformed(list, i, "no `account.id`"))?;
        match accounts.find(&account_id) {
            Some(a) => out.push((a, i as u32)),
            None => {
                tracing::warn!(
                    "ignored API key `{}`: account `{account_id}` is not in the export",
                    list.stem(i)
                );
                tally.add("ignored API key");
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_without_at_get_the_login_domain() {
        let l = login_of(
            Some("bob"),
            Some("bob@example.org"),
            "emailnotprovided.local",
        )
        .unwrap();
        assert_eq!(l.login, "bob@emailnotprovided.local");
        assert!(l.converted && !l.from_email);
        let l = login_of(Some("bob@example.net"), None, "x.test").unwrap();
        assert_eq!(l.login, "bob@example.net");
        assert!(!l.converted);
        // no username: Stormpath's default, the email
        let l = login_of(None, Some("Carol@Example.com"), "x.test").unwrap();
        assert_eq!(l.login, "Carol@Example.com");
        assert!(l.from_email && !l.converted);
        let l = login_of(Some("  "), Some("carol"), "x.test").unwrap();
        assert_eq!(l.login, "carol@x.test");
        assert_eq!(login_of(None, None, "x.test"), None);
        assert_eq!(login_prefix("Bob@Example.net"), "bob");
        assert_eq!(login_prefix("a@b@c"), "a");
    }
}
