//! The records of a Stormpath export, built from its files (read again) and the index.
//!
//! Every record's `data` is the Stormpath object whole, as the file holds it, plus one key,
//! `_idm`, with what idm joined from other files or derived across accounts (docs/stormpath.md
//! lists its fields per kind). Record warnings may quote logins and names: records hold
//! people's data anyway. Messages on stderr name accounts by id only.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::custom_data::{self, CustomType};
use super::files::{Folder, ref_id, text};
use super::index::{DirKind, NONE, State, Store, list_ids, login_of, login_prefix};
use super::{IDM_KEY, MAX_API_KEYS, Stormpath, StormpathError, Tally};
use crate::provider::{Sink, SourceError};
use crate::record::{Kind, Record};

const SOURCE: &str = "stormpath";

/// The account fields unification may fill from linked accounts (the importer's list, with
/// `surname`, which its typo `surName` left out).
const MERGED_FIELDS: [&str; 5] = ["username", "givenName", "middleName", "surname", "fullName"];

fn blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

/// `string (2), number (1)`.
pub(super) fn describe_counts(counts: &[(CustomType, u64)]) -> String {
    counts
        .iter()
        .map(|(t, n)| format!("{} ({n})", t.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Add `_idm` to an object that must not have one.
fn with_idm(
    mut obj: Map<String, Value>,
    idm: Map<String, Value>,
    path: impl FnOnce() -> std::path::PathBuf,
) -> Result<Value, StormpathError> {
    if obj.contains_key(IDM_KEY) {
        return Err(StormpathError::Malformed {
            path: path(),
            reason: format!("has a field `{IDM_KEY}`, which idm reserves for what it adds"),
        });
    }
    obj.insert(IDM_KEY.into(), Value::Object(idm));
    Ok(Value::Object(obj))
}

fn edge(kind: Kind, group_id: &str, user_id: &str) -> Record {
    Record::new(
        kind,
        SOURCE,
        format!("{group_id}/{user_id}"),
        json!({"group_id": group_id, "user_id": user_id}),
    )
}

impl Stormpath {
    /// A base account and the accounts merged into it, read from their files, base first.
    pub(super) fn read_chain(&self, base: u32) -> Result<Vec<Map<String, Value>>, StormpathError> {
        let list = self.tree.list(Folder::Accounts);
        self.index
            .accounts
            .chain(base)
            .map(|i| list.read(self.index.accounts.entries[i as usize].file as usize))
            .collect()
    }

    pub(super) fn export_attributes(&mut self, sink: &mut dyn Sink) -> Result<(), SourceError> {
        for p in &self.properties {
            let counts: Map<String, Value> = p
                .counts
                .iter()
                .map(|(t, n)| (t.as_str().to_string(), json!(n)))
                .collect();
            let data = json!({
                "name": p.name,
                "type": p.chosen.as_str(),
                "origin": "customData",
                "counts": counts,
            });
            let mut rec = Record::new(Kind::Attribute, SOURCE, &p.name, data);
            if p.counts.len() > 1 {
                rec.warnings.push(format!(
                    "users hold several types: {}; the most common, {}, was chosen and values of other types are left out",
                    describe_counts(&p.counts),
                    p.chosen.as_str()
                ));
            }
            sink.record(rec)?;
            self.tally.add("exported attribute");
        }
        if self.bases().next().is_none() {
            return Ok(());
        }
        let account_props = [
            ("emailVerificationStatus", "emailVerificationStatus", true),
            ("stormpathHref", "href", false),
        ];
        for (name, field, hidden) in account_props {
            let data = json!({"name": name, "type": "string", "origin": "account",
                              "field": field, "hidden": hidden});
            sink.record(Record::new(Kind::Attribute, SOURCE, name, data))?;
            self.tally.add("exported attribute");
        }
        for n in 1..=self.max_api_keys {
            let name = format!("stormpathApiKey_{n}");
            let data = json!({"name": name, "type": "string", "origin": "apiKey",
                              "field": format!("_idm.apiKeys[{}]", n - 1), "hidden": true});
            sink.record(Record::new(Kind::Attribute, SOURCE, name, data))?;
            self.tally.add("exported attribute");
        }
        Ok(())
    }

    pub(super) fn export_groups(&mut self, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let dirs = self.tree.list(Folder::Directories);
        for d in self.index.dirs.iter().filter(|d| d.skip.is_none()) {
            let obj = dirs.read(d.file)?;
            let mut idm = Map::new();
            let mut warnings = Vec::new();
            idm.insert("type".into(), json!("directory"));
            idm.insert("providerId".into(), json!(d.provider));
            let mut provider = obj.get("provider").cloned().unwrap_or(Value::Null);
            if let Some(pf) = d.provider_file {
                let p = self.tree.list(Folder::Providers).read(pf)?;
                provider = Value::Object(p.clone());
                idm.insert("provider".into(), Value::Object(p));
            }
            if let Some(policy) = ref_id(&obj, "passwordPolicy") {
                match self.index.file_for(Folder::PasswordPolicies, &policy) {
                    Some(f) => {
                        let p = self.tree.list(Folder::PasswordPolicies).read(f)?;
                        idm.insert("passwordPolicy".into(), Value::Object(p));
                    }
                    None => warnings.push(format!(
                        "its password policy `{policy}` is not in the export (`passwordPolicies/{policy}.json`)"
                    )),
                }
            }
            let has_rules = provider
                .get("userInfoMappingRules")
                .is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false)));
            if has_rules {
                match self.index.file_for(Folder::UserInfoMappingRules, &d.id) {
                    Some(f) => {
                        let r = self.tree.list(Folder::UserInfoMappingRules).read(f)?;
                        idm.insert("userInfoMappingRules".into(), Value::Object(r));
                    }
                    None => warnings.push(format!(
                        "its user info mapping rules are not in the export (`userInfoMappingRules/{}.json`)",
                        d.id
                    )),
                }
            }
            if d.kind == DirKind::Social {
                warnings.push(format!(
                    "`{}` social directory: idm makes it a group but creates no identity provider; the client settings are in the provider object, and users carry their `externalId`",
                    d.provider
                ));
            }
            let data = with_idm(obj, idm, || dirs.path(d.file))?;
            let mut rec = Record::new(Kind::Group, SOURCE, &d.id, data);
            rec.warnings = warnings;
            sink.record(rec)?;
            self.tally.add("exported group");
        }
        let groups = self.tree.list(Folder::Groups);
        for g in self.index.groups.iter().filter(|g| g.skip.is_none()) {
            let obj = groups.read(g.file)?;
            let dir = &self.index.dirs[g.dir as usize];
            let mut idm = Map::new();
            idm.insert("type".into(), json!("group"));
            idm.insert("directoryId".into(), json!(dir.id));
            idm.insert("directoryName".into(), json!(dir.name));
            let data = with_idm(obj, idm, || groups.path(g.file))?;
            let mut rec = Record::new(Kind::Group, SOURCE, &g.id, data);
            if let Some(reason) = &dir.skip {
                rec.warnings.push(format!(
                    "its directory `{}` is not exported as a group: {reason}",
                    dir.id
                ));
            }
            sink.record(rec)?;
            self.tally.add("exported group");
        }
        let orgs = self.tree.list(Folder::Organizations);
        for o in &self.index.orgs {
            let obj = orgs.read(o.file)?;
            let stores: Vec<Value> = o
                .stores
                .iter()
                .map(|s| match *s {
                    Store::Directory(d) => {
                        json!({"type": "directory", "id": self.index.dirs[d as usize].id})
                    }
                    Store::Group(g) => {
                        json!({"type": "group", "id": self.index.groups[g as usize].id})
                    }
                    Store::Organization(x) => {
                        json!({"type": "organization", "id": self.index.orgs[x as usize].id})
                    }
                })
                .collect();
            let mut idm = Map::new();
            idm.insert("type".into(), json!("organization"));
            idm.insert("accountStores".into(), Value::Array(stores));
            let data = with_idm(obj, idm, || orgs.path(o.file))?;
            sink.record(Record::new(Kind::Group, SOURCE, &o.id, data))?;
            self.tally.add("exported group");
        }
        Ok(())
    }

    pub(super) fn export_users(&mut self, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let bases: Vec<u32> = self.bases().collect();
        for base in bases {
            let rec = self.user_record(base)?;
            sink.record(rec)?;
            self.tally.add("exported user");
        }
        Ok(())
    }

    /// A user's custom data, merged over its accounts, flattened and typed: the values of the
    /// types chosen for each property, and the names left out because of their type.
    fn custom_values(
        &self,
        id: &str,
        data: &Map<String, Value>,
        linked: &[Map<String, Value>],
        warnings: &mut Vec<String>,
        notes: &mut Vec<&'static str>,
    ) -> (Map<String, Value>, Map<String, Value>) {
        let flat = custom_data::flatten(&merged_custom_data(std::iter::once(data).chain(linked)));
        for name in &flat.collisions {
            warnings.push(format!(
                "custom data `{name}`: two values flatten to this name; the later one is kept"
            ));
            notes.push("custom data name flattened twice");
        }
        let mut values = Map::new();
        let mut removed = Map::new();
        for (name, value) in &flat.values {
            if let Some(why) = custom_data::reserved(name) {
                warnings.push(format!("custom data `{name}` is left out: {why}"));
                notes.push("custom data with a reserved name");
                continue;
            }
            let Some((ty, v)) = custom_data::transform(value) else {
                continue;
            };
            let chosen = self
                .properties
                .binary_search_by(|p| p.name.as_str().cmp(name.as_str()))
                .ok()
                .map(|i| self.properties[i].chosen);
            if chosen == Some(ty) {
                values.insert(name.clone(), v);
            } else {
                let expected = chosen.map_or("(none)", CustomType::as_str);
                warnings.push(format!(
                    "custom data `{name}` is a {}, but most users have a {expected}: left out of `_idm.customData`",
                    ty.as_str()
                ));
                notes.push("custom value of a minority type left out");
                tracing::info!("user `{id}`: custom data `{name}` left out (type)");
                removed.insert(name.clone(), json!(ty.as_str()));
            }
        }
        (values, removed)
    }

    /// The record of one unified user: the base account whole, `_idm` beside it.
    fn user_record(&mut self, base: u32) -> Result<Record, StormpathError> {
        let accounts = &self.index.accounts;
        let id = accounts.id(base).to_string();
        let chain_ids: Vec<u32> = accounts.chain(base).collect();
        let mut chain = self.read_chain(base)?;
        let mut data = chain.remove(0);
        let linked = chain;
        let mut warnings: Vec<String> = Vec::new();
        let mut notes: Vec<&'static str> = Vec::new();

        // the fields unification fills: the base's, blanks from linked accounts in merge order
        let mut merged = Map::new();
        for field in MERGED_FIELDS {
            let mut value = data.get(field).cloned().unwrap_or(Value::Null);
            if blank(Some(&value))
                && let Some(v) = linked
                    .iter()
                    .map(|l| l.get(field))
                    .find(|v| !blank(*v))
                    .flatten()
            {
                value = v.clone();
            }
            merged.insert(field.into(), value);
        }
        merged.insert(
            "email".into(),
            data.get("email").cloned().unwrap_or(Value::Null),
        );

        // the login: the base's username (the importer converted it before any merge)
        let login = login_of(
            text(&data, "username"),
            text(&data, "email"),
            &self.opts.login_domain,
        )
        .ok_or_else(|| StormpathError::Malformed {
            path: self
                .tree
                .list(Folder::Accounts)
                .path(self.index.accounts.entries[base as usize].file as usize),
            reason: "no username and no email address (the file changed while it was exported)"
                .into(),
        })?;
        if login.from_email {
            warnings.push("no username: the login is the email address".into());
            notes.push("login taken from the email address");
        }
        if login.converted {
            let name = login.login.rsplit_once('@').map_or("", |(n, _)| n);
            warnings.push(format!(
                "login `{}` was made from the {} `{name}`, which is not an email address",
                login.login,
                if login.from_email {
                    "email"
                } else {
                    "username"
                }
            ));
            notes.push("login made from a username without `@`");
            tracing::info!("account `{id}`: its login was made from a username without `@`");
        }
        if let Some(others) = self.index.prefix_conflicts.get(&base) {
            let prefix = login_prefix(&login.login);
            let others = list_ids(accounts, others);
            warnings.push(if login.converted {
                format!(
                    "the login prefix `{prefix}` is also the prefix of the login of {others}: this user must sign in with the full login `{}`",
                    login.login
                )
            } else {
                format!(
                    "the login prefix `{prefix}` is also the prefix of the login of {others}, made from a username: that user must sign in with the full login"
                )
            });
        }
        if let Some(others) = self.index.same_login.get(&base) {
            warnings.push(format!(
                "{} has the same login (compared case-insensitively) and another email address: a target keeps one user per login",
                list_ids(accounts, others)
            ));
        }

        // directories, external ids, passwords of linked accounts
        let dir_ids: Vec<Value> = self
            .index
            .user_dirs(base)
            .into_iter()
            .map(|d| json!(self.index.dirs[d as usize].id))
            .collect();
        let mut external_ids = Map::new();
        for (acc, &i) in std::iter::once(&data).chain(linked.iter()).zip(&chain_ids) {
            let dir = accounts.entries[i as usize].dir;
            if let Some(ext) = acc.get("externalId").filter(|v| !blank(Some(v)))
                && dir != NONE
            {
                external_ids.insert(self.index.dirs[dir as usize].id.clone(), ext.clone());
            }
        }
        let base_has_password = !blank(data.get("password"));
        for (l, &i) in linked.iter().zip(&chain_ids[1..]) {
            if blank(l.get("password")) {
                continue;
            }
            let other = accounts.id(i);
            notes.push("password of a linked account not used");
            if base_has_password {
                warnings.push(format!(
                    "the password of the linked account `{other}` is not used: the user keeps this account's password"
                ));
                tracing::warn!(
                    "account `{id}`: the password of the linked account `{other}` is not used (the base account's password is kept)"
                );
            } else {
                warnings.push(format!(
                    "this account has no password but the linked account `{other}` has one, which is not used (the base account's password wins): the user will have to set a password; its hash is in `_idm.linkedAccounts`"
                ));
                tracing::warn!(
                    "account `{id}`: it has no password and the password of the linked account `{other}` is not used; the user will have to set one"
                );
            }
        }
        if !linked.is_empty() {
            tracing::debug!(
                "user `{id}`: merged {}",
                list_ids(accounts, &chain_ids[1..])
            );
        }
        let mut nameless = false;
        for (field, label) in [("givenName", "given name"), ("surname", "surname")] {
            if blank(merged.get(field)) {
                warnings.push(format!(
                    "no {label} (`{field}`): a target that requires one gets `not_provided`, as the importer sent"
                ));
                nameless = true;
            }
        }
        if nameless {
            notes.push("user without a given name or surname");
        }

        // custom data: merged, flattened, typed, checked against the chosen types
        let (values, removed) = self.custom_values(&id, &data, &linked, &mut warnings, &mut notes);

        // API keys of the base and the merged accounts, whole
        let mut api_keys = Vec::new();
        let key_list = self.tree.list(Folder::ApiKeys);
        for &i in &chain_ids {
            for &(_, f) in self.api_key_files(i) {
                api_keys.push(Value::Object(key_list.read(f as usize)?));
            }
        }
        if api_keys.len() > MAX_API_KEYS {
            warnings.push(format!(
                "{} enabled API keys: targets keep the first {MAX_API_KEYS} (the importer's limit)",
                api_keys.len()
            ));
            notes.push("user with more than 10 API keys");
            tracing::warn!(
                "user `{id}` has {} enabled API keys; targets keep the first {MAX_API_KEYS}",
                api_keys.len()
            );
        }

        let mut idm = Map::new();
        idm.insert("login".into(), json!(login.login));
        idm.insert("loginConverted".into(), json!(login.converted));
        idm.insert(
            "loginSource".into(),
            json!(if login.from_email {
                "email"
            } else {
                "username"
            }),
        );
        idm.insert("merged".into(), Value::Object(merged));
        idm.insert("directoryIds".into(), Value::Array(dir_ids));
        idm.insert("customData".into(), Value::Object(values));
        if !removed.is_empty() {
            idm.insert("customDataRemoved".into(), Value::Object(removed));
        }
        if !api_keys.is_empty() {
            idm.insert("apiKeys".into(), Value::Array(api_keys));
        }
        if !linked.is_empty() {
            idm.insert(
                "linkedAccounts".into(),
                Value::Array(linked.into_iter().map(Value::Object).collect()),
            );
        }
        if !external_ids.is_empty() {
            idm.insert("externalIds".into(), Value::Object(external_ids));
        }
        data.insert(IDM_KEY.into(), Value::Object(idm));
        for n in notes {
            self.tally.add(n);
        }
        let mut rec = Record::new(Kind::User, SOURCE, id, Value::Object(data));
        rec.warnings = warnings;
        Ok(rec)
    }

    pub(super) fn export_memberships(&mut self, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let idx = &self.index;
        let accounts = &idx.accounts;
        let bases: Vec<u32> = self.bases().collect();
        let mut tally = Tally::default();
        // directories: every user is in the directory of each account merged into it
        for &base in &bases {
            for d in idx.user_dirs(base) {
                let dir = &idx.dirs[d as usize];
                if dir.skip.is_some() {
                    tally.add("directory membership not exported (directory not migrated)");
                    continue;
                }
                sink.record(edge(Kind::Membership, &dir.id, accounts.id(base)))?;
                tally.add("exported membership");
            }
        }
        // groups: memberships of merged accounts go to their user; repeats collapse
        let mut pairs = Vec::with_capacity(idx.memberships.len());
        for &(g, a) in &idx.memberships {
            let group = &idx.groups[g as usize];
            if let Some(reason) = &group.skip {
                tracing::info!(
                    "skipped membership of `{}` in group `{}`: the group is skipped ({reason})",
                    accounts.id(a),
                    group.id
                );
                tally.add("skipped membership");
                continue;
            }
            match accounts.base_of(a) {
                Some(b) => pairs.push((g, b)),
                None => {
                    let why = match accounts.entries[a as usize].state {
                        State::Skipped(s) => s.label(),
                        _ => "not exported",
                    };
                    tracing::info!(
                        "skipped membership of `{}` in group `{}`: the account is skipped ({why})",
                        accounts.id(a),
                        group.id
                    );
                    tally.add("skipped membership");
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        for &(g, b) in &pairs {
            sink.record(edge(
                Kind::Membership,
                &idx.groups[g as usize].id,
                accounts.id(b),
            ))?;
            tally.add("exported membership");
        }
        drop(pairs);
        // organizations: the users of their directories and groups, added directly
        for org in &idx.orgs {
            let mut members: Vec<u32> = Vec::new();
            for store in &org.stores {
                match *store {
                    Store::Directory(d) => {
                        let dir = &idx.dirs[d as usize];
                        if let Some(reason) = &dir.skip {
                            tracing::warn!(
                                "organization `{}`: its directory `{}` is not migrated, so its users are not added ({reason})",
                                org.id,
                                dir.id
                            );
                            tally.add("organization account store not migrated");
                            continue;
                        }
                        members.extend(
                            bases
                                .iter()
                                .copied()
                                .filter(|&b| idx.user_dirs(b).contains(&d)),
                        );
                    }
                    Store::Group(g) => {
                        let group = &idx.groups[g as usize];
                        if let Some(reason) = &group.skip {
                            tracing::warn!(
                                "organization `{}`: its group `{}` is skipped, so its users are not added ({reason})",
                                org.id,
                                group.id
                            );
                            tally.add("organization account store not migrated");
                            continue;
                        }
                        let start = idx.memberships.partition_point(|&(x, _)| x < g);
                        let end = idx.memberships.partition_point(|&(x, _)| x <= g);
                        members.extend(
                            idx.memberships[start..end]
                                .iter()
                                .filter_map(|&(_, a)| accounts.base_of(a)),
                        );
                    }
                    Store::Organization(_) => {}
                }
            }
            members.sort_unstable();
            members.dedup();
            for &b in &members {
                sink.record(edge(Kind::Membership, &org.id, accounts.id(b)))?;
                tally.add("exported membership");
            }
        }
        self.merge_tally(tally);
        Ok(())
    }

    pub(super) fn export_apps(&mut self, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let list = self.tree.list(Folder::Applications);
        for app in &self.index.apps {
            let obj = list.read(app.file)?;
            let mut idm = Map::new();
            let mut warnings = Vec::new();
            if let Some(policy) = ref_id(&obj, "oAuthPolicy") {
                match self.index.file_for(Folder::OAuthPolicies, &policy) {
                    Some(f) => {
                        let p = self.tree.list(Folder::OAuthPolicies).read(f)?;
                        idm.insert("oAuthPolicy".into(), Value::Object(p));
                    }
                    None => warnings.push(format!(
                        "its OAuth policy `{policy}` is not in the export (`oAuthPolicies/{policy}.json`): token lifetimes take the target's defaults"
                    )),
                }
            }
            let data = with_idm(obj, idm, || list.path(app.file))?;
            let mut rec = Record::new(Kind::App, SOURCE, &app.id, data);
            rec.warnings = warnings;
            sink.record(rec)?;
            self.tally.add("exported app");
        }
        Ok(())
    }

    pub(super) fn export_app_assignments(
        &mut self,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        let list = self.tree.list(Folder::AccountStoreMappings);
        let idx = &self.index;
        let mut seen: HashSet<(u32, Store)> = HashSet::new();
        let mut tally = Tally::default();
        for m in &idx.app_mappings {
            let app = &idx.apps[m.app as usize];
            let (group_id, skip) = match m.store {
                Store::Directory(d) => (&idx.dirs[d as usize].id, &idx.dirs[d as usize].skip),
                Store::Group(g) => (&idx.groups[g as usize].id, &idx.groups[g as usize].skip),
                Store::Organization(o) => (&idx.orgs[o as usize].id, &None),
            };
            if let Some(reason) = skip {
                tracing::warn!(
                    "skipped app assignment `{}` of application `{}`: account store `{group_id}` is not migrated ({reason})",
                    list.stem(m.file),
                    app.id
                );
                tally.add("skipped app assignment");
                continue;
            }
            if !seen.insert((m.app, m.store)) {
                continue;
            }
            let mut obj = list.read(m.file)?;
            obj.insert("app_id".into(), json!(app.id));
            obj.insert("group_id".into(), json!(group_id));
            let rec = Record::new(
                Kind::AppAssignment,
                SOURCE,
                format!("{}/{group_id}", app.id),
                Value::Object(obj),
            );
            sink.record(rec)?;
            tally.add("exported app assignment");
        }
        self.merge_tally(tally);
        Ok(())
    }

    fn merge_tally(&mut self, other: Tally) {
        for (what, n) in other.counts {
            *self.tally.counts.entry(what).or_default() += n;
        }
    }
}

/// The base's custom data (first of `chain`), its blanks filled from the accounts merged into
/// it, in merge order.
pub(super) fn merged_custom_data<'a>(
    chain: impl IntoIterator<Item = &'a Map<String, Value>>,
) -> Map<String, Value> {
    let mut custom = Map::new();
    for (i, account) in chain.into_iter().enumerate() {
        if let Some(Value::Object(m)) = account.get("customData") {
            if i == 0 {
                custom = m.clone();
            } else {
                custom_data::merge_into(&mut custom, m);
            }
        }
    }
    custom
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The closing lines: what was exported, what was skipped and why, what to read.
pub(super) fn summary(t: &Tally, accounts: u64) -> Vec<String> {
    let mut lines = Vec::new();
    let exported: Vec<String> = [
        ("exported user", "user", "users"),
        ("exported group", "group", "groups"),
        ("exported membership", "membership", "memberships"),
        ("exported app", "app", "apps"),
        (
            "exported app assignment",
            "app assignment",
            "app assignments",
        ),
        ("exported attribute", "attribute", "attributes"),
    ]
    .iter()
    .filter(|(k, _, _)| t.counts.contains_key(k))
    .map(|(k, one, many)| plural(t.get(k), one, many))
    .collect();
    let merged = t.get("merged account");
    lines.push(format!(
        "stormpath: read {}{}; exported {}",
        plural(accounts, "account", "accounts"),
        if merged > 0 {
            format!(" ({merged} merged into linked accounts)")
        } else {
            String::new()
        },
        if exported.is_empty() {
            "nothing".to_string()
        } else {
            exported.join(", ")
        }
    ));
    let skipped_accounts: u64 = t.skips.values().sum();
    if skipped_accounts > 0 {
        let by_reason: Vec<String> = t
            .skips
            .iter()
            .map(|(s, n)| format!("{n} {}", s.label()))
            .collect();
        lines.push(format!(
            "stormpath: skipped {}: {}",
            plural(skipped_accounts, "account", "accounts"),
            by_reason.join("; ")
        ));
    }
    let others: Vec<String> = [
        ("skipped directory", "directory", "directories"),
        ("skipped group", "group", "groups"),
        ("skipped membership", "membership", "memberships"),
        (
            "directory membership not exported (directory not migrated)",
            "directory membership of a directory not migrated",
            "directory memberships of directories not migrated",
        ),
        (
            "organization account store not migrated",
            "organization account store not migrated",
            "organization account stores not migrated",
        ),
        (
            "ignored organization mapping",
            "organization mapping",
            "organization mappings",
        ),
        (
            "skipped app assignment",
            "app assignment",
            "app assignments",
        ),
        ("ignored account link", "account link", "account links"),
        (
            "ignored API key",
            "API key of an unknown account",
            "API keys of unknown accounts",
        ),
    ]
    .iter()
    .filter(|(k, _, _)| t.get(k) > 0)
    .map(|(k, one, many)| plural(t.get(k), one, many))
    .collect();
    if !others.is_empty() {
        lines.push(format!("stormpath: also skipped {}", others.join(", ")));
    }
    let notes: Vec<String> = [
        "login made from a username without `@`",
        "login taken from the email address",
        "login prefix conflict",
        "shared login",
        "password of a linked account not used",
        "user without a given name or surname",
        "custom property with several types",
        "custom value of a minority type left out",
        "custom data with a reserved name",
        "custom data name flattened twice",
        "user with more than 10 API keys",
    ]
    .iter()
    .filter(|k| t.get(k) > 0)
    .map(|k| format!("{} × {k}", t.get(k)))
    .collect();
    if !notes.is_empty() {
        lines.push(format!(
            "stormpath: to read (in the records' warnings): {}",
            notes.join(", ")
        ));
    }
    lines
}
