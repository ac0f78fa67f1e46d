//! OneLogin as a load [`Target`]: roles for groups, users, apps, role users and role apps.
//!
//! - **Snapshot.** Roles (with their users and apps when the list includes them), apps, users
//!   (projected to id, email and username) and custom attribute shortnames are read with paged
//!   lists into indexes of ids: never one lookup per user, never a user object kept.
//! - **Matching.** A user is the same person when the email matches (case-insensitive). A
//!   username held by an account with another email is a conflict: adopting it would hand the
//!   migrated person's roles to someone else, and `--update-existing` would rewrite that
//!   person's account. Roles match by name with case and runs of spaces folded, as the
//!   reference toolkit does; apps by name and connector.
//! - **Edges.** Role users are added in bulk (`POST /api/2/roles/{id}/users`, raw arrays of up
//!   to [`ROLE_USERS_BATCH`] ids). Role apps are set with a `PUT` that replaces the role's
//!   set, so the current set is read first and merged: apps given by other means are kept.
//!   OneLogin's v2 API has no direct user → app assignment.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::Deserialize as _;
use serde_json::Value;

use super::ids::{IdBuilder, IdSet};
use super::{OneLoginClient, ROLE_USERS_BATCH, id_of};
use crate::provider::target::{AttributeDef, EdgeShape, End, Found, Needs, Target};
use crate::provider::{ApiError, Created};
use crate::record::{Kind, Record};
use crate::table::DiskTable;

/// The user fields a verification lists (custom attributes are listed only when asked for).
const USER_LIST_FIELDS: &str = "id,firstname,lastname,email,username,samaccountname,userprincipalname,\
mobile_phone,phone,company,department,title,comment,preferred_locale_code,external_id,state,status,\
custom_attributes";

/// Roles per page of the snapshot's role list. A role lists its members, so a page of the
/// usual 100 big roles is millions of ids (tens of MB of body and ids at a million users);
/// 20 a page costs a few more calls (one per 20 roles) and bounds that.
const ROLES_PER_PAGE: u32 = 20;

/// What the tenant holds, as ids.
#[derive(Debug, Default)]
pub struct Tenant {
    /// Folded role name → id (the first role of that name).
    pub roles_by_name: HashMap<String, u64>,
    pub role_ids: HashSet<u64>,
    /// Members of each role, when the role list includes them (`users`).
    pub role_members: HashMap<u64, IdSet>,
    /// Apps of each role, when the role list includes them (`apps`).
    pub role_apps: HashMap<u64, IdSet>,
    /// (app name, connector id) → app id.
    pub apps_by_name: HashMap<(String, u64), u64>,
    pub app_ids: HashSet<u64>,
    /// Users by email and username, on disk.
    pub users: UserIndex,
    pub user_ids: IdSet,
    /// Users this run created whose create's answer showed the roles sent with it
    /// (`role_ids`): their memberships in `role_members` were made by the create.
    pub made_with_roles: IdSet,
    /// Custom attribute shortnames; `None` until read.
    pub attributes: Option<HashSet<String>>,
}

/// The tenant's users by lower-cased email (→ id) and username (→ id and that user's
/// lower-cased email), the first user of each winning: in a [`DiskTable`] (about 1.5
/// bytes a key in memory), where strings in hash maps took over 150 bytes a user.
#[derive(Default)]
pub struct UserIndex {
    /// Made on the first user.
    table: Option<DiskTable>,
}

impl std::fmt::Debug for UserIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.table.as_ref().map_or(0, DiskTable::len);
        write!(f, "UserIndex({n} keys)")
    }
}

fn user_key(prefix: u8, s: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(s.len() + 1);
    k.push(prefix);
    k.extend_from_slice(s.as_bytes());
    k
}

impl UserIndex {
    fn add(&mut self, id: u64, email: Option<&str>, username: Option<&str>) -> std::io::Result<()> {
        let table = match &mut self.table {
            Some(t) => t,
            None => self.table.insert(DiskTable::new()?),
        };
        if let Some(e) = email {
            let key = user_key(b'e', e);
            if table.get(&key)?.is_none() {
                table.insert(&key, &id.to_le_bytes())?;
            }
        }
        if let Some(u) = username {
            let key = user_key(b'u', u);
            if table.get(&key)?.is_none() {
                let mut value = id.to_le_bytes().to_vec();
                value.extend_from_slice(email.unwrap_or_default().as_bytes());
                table.insert(&key, &value)?;
            }
        }
        Ok(())
    }

    /// The id of the user with this lower-cased email.
    fn by_email(&self, email: &str) -> std::io::Result<Option<u64>> {
        let Some(table) = &self.table else {
            return Ok(None);
        };
        Ok(table.get(&user_key(b'e', email))?.and_then(|v| {
            let id: [u8; 8] = v.get(..8)?.try_into().ok()?;
            Some(u64::from_le_bytes(id))
        }))
    }

    /// The id and lower-cased email of the user with this lower-cased username.
    fn by_username(&self, username: &str) -> std::io::Result<Option<(u64, String)>> {
        let Some(table) = &self.table else {
            return Ok(None);
        };
        Ok(table.get(&user_key(b'u', username))?.and_then(|v| {
            let id: [u8; 8] = v.get(..8)?.try_into().ok()?;
            let email = String::from_utf8(v[8..].to_vec()).ok()?;
            Some((u64::from_le_bytes(id), email))
        }))
    }
}

/// A role name as OneLogin's own toolkit compares them: trimmed, runs of whitespace as one
/// space, lower case.
pub fn fold_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A role of the role list, as the snapshot needs it, decoded without a JSON tree: its
/// members are ids straight away (a page of big roles is millions of them).
#[derive(Debug, Default, serde::Deserialize)]
pub struct RoleSummary {
    #[serde(default)]
    id: LooseId,
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    users: LooseIds,
    #[serde(default)]
    apps: LooseIds,
}

/// A role of the role list by its id and name alone (its member lists are skipped unread).
#[derive(Debug, Default, serde::Deserialize)]
pub struct RoleName {
    #[serde(default)]
    id: LooseId,
    #[serde(default)]
    name: Option<Value>,
}

/// An id given as a number, a string of digits or an object with `id`; `None` otherwise
/// (what [`id_or_object`] takes).
#[derive(Debug, Default)]
struct LooseId(Option<u64>);

/// An array of [`LooseId`]s (those that are ids) as a set; `None` when not an array.
#[derive(Debug, Default)]
struct LooseIds(Option<IdSet>);

/// serde_json's private key for a number kept as text (`arbitrary_precision`).
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de> serde::Deserialize<'de> for LooseId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LooseId, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an id")
            }
            fn visit_u64<E>(self, n: u64) -> Result<LooseId, E> {
                Ok(LooseId(Some(n)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<LooseId, E> {
                Ok(LooseId(u64::try_from(n).ok()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<LooseId, E> {
                Ok(LooseId(None))
            }
            fn visit_str<E>(self, s: &str) -> Result<LooseId, E> {
                Ok(LooseId(s.trim().parse().ok()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<LooseId, E> {
                Ok(LooseId(None))
            }
            fn visit_unit<E>(self) -> Result<LooseId, E> {
                Ok(LooseId(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LooseId, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LooseId(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LooseId, A::Error> {
                let mut id = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == NUMBER_TOKEN {
                        // a number as text: only a whole non-negative one is an id
                        let text: String = map.next_value()?;
                        id = text.parse().ok();
                    } else if key == "id" && id.is_none() {
                        id = map.next_value::<LooseId>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(LooseId(id))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> serde::Deserialize<'de> for LooseIds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LooseIds, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseIds;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of ids")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LooseIds, A::Error> {
                let mut ids = IdBuilder::default();
                while let Some(LooseId(id)) = seq.next_element()? {
                    if let Some(id) = id {
                        ids.push(id);
                    }
                }
                Ok(LooseIds(Some(ids.finish())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LooseIds, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LooseIds(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<LooseIds, E> {
                Ok(LooseIds(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<LooseIds, E> {
                Ok(LooseIds(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<LooseIds, E> {
                Ok(LooseIds(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<LooseIds, E> {
                Ok(LooseIds(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<LooseIds, E> {
                Ok(LooseIds(None))
            }
            fn visit_unit<E>(self) -> Result<LooseIds, E> {
                Ok(LooseIds(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl Tenant {
    /// Add a role given as JSON (as the role list has it).
    pub fn add_role(&mut self, role: &Value) {
        match RoleSummary::deserialize(role) {
            Ok(r) => self.add_role_summary(r),
            Err(e) => tracing::debug!("a role of the list does not decode: {e}"),
        }
    }

    pub fn add_role_summary(&mut self, role: RoleSummary) {
        let Some(id) = role.id.0 else {
            return;
        };
        self.role_ids.insert(id);
        if let Some(name) = role.name.as_ref().and_then(Value::as_str) {
            self.roles_by_name.entry(fold_name(name)).or_insert(id);
        }
        if let Some(users) = role.users.0 {
            self.role_members.insert(id, users);
        }
        if let Some(apps) = role.apps.0 {
            self.role_apps.insert(id, apps);
        }
    }

    pub fn add_app(&mut self, app: &Value) {
        let Some(id) = app.get("id").and_then(id_of) else {
            return;
        };
        self.app_ids.insert(id);
        let name = app.get("name").and_then(Value::as_str);
        let connector = app.get("connector_id").and_then(id_of);
        if let (Some(name), Some(connector)) = (name, connector) {
            self.apps_by_name
                .entry((name.to_string(), connector))
                .or_insert(id);
        }
    }

    pub fn add_user(&mut self, user: &Value) -> std::io::Result<()> {
        let Some(id) = user.get("id").and_then(id_of) else {
            return Ok(());
        };
        self.user_ids.insert(id);
        let email = nonempty(user, "email").map(str::to_lowercase);
        let username = nonempty(user, "username").map(str::to_lowercase);
        self.users.add(id, email.as_deref(), username.as_deref())
    }

    /// The tenant's user for this email and username: the same person by email; a conflict
    /// when the username belongs to someone with another email.
    pub fn find_user(&self, email: Option<&str>, username: Option<&str>) -> Found {
        let email = email.filter(|e| !e.is_empty()).map(str::to_lowercase);
        // a snapshot that cannot be read back fails the user, rather than create it twice
        let unreadable = |e: std::io::Error| Found::Conflict {
            id: String::new(),
            reason: format!("the snapshot of the tenant's users could not be read: {e}"),
        };
        if let Some(e) = &email {
            match self.users.by_email(e) {
                Ok(Some(id)) => {
                    return Found::Same {
                        id: id.to_string(),
                        how: "email",
                    };
                }
                Ok(None) => {}
                Err(e) => return unreadable(e),
            }
        }
        let by_username = match username.filter(|u| !u.is_empty()) {
            Some(u) => match self.users.by_username(&u.to_lowercase()) {
                Ok(found) => found.map(|f| (u, f)),
                Err(e) => return unreadable(e),
            },
            None => None,
        };
        if let Some((u, (id, other))) = by_username {
            if email.as_deref() == Some(other.as_str()) {
                return Found::Same {
                    id: id.to_string(),
                    how: "username",
                };
            }
            return Found::Conflict {
                id: id.to_string(),
                reason: format!(
                    "username `{u}` belongs to an existing account with another email (id {id}): \
                     a different person, never adopted; give one of them another username"
                ),
            };
        }
        Found::None
    }
}

/// An id given as a number, a string, or an object with `id`.
fn id_or_object(v: &Value) -> Option<u64> {
    id_of(v).or_else(|| v.get("id").and_then(id_of))
}

fn nonempty<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    data.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The user payload's password fields: sent on create only, never compared.
const PASSWORD_FIELDS: [&str; 4] = [
    "password",
    "password_confirmation",
    "password_algorithm",
    "salt",
];

fn num(id: &str, what: &str) -> Result<u64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::new(what, None, format!("`{id}` is not a OneLogin id")))
}

/// The OneLogin account as a load target.
pub struct OneLoginTarget<'a> {
    client: &'a OneLoginClient,
    tenant: RwLock<Tenant>,
    /// Whether a user's create takes `role_ids`: [`ROLES_UNTRIED`], [`ROLES_TAKEN`] or
    /// [`ROLES_NOT_TAKEN`] (then memberships are only added by role).
    roles_at_create: AtomicU8,
}

/// Most roles sent with one user's create (`role_ids`); more are added by role. No page
/// gives a maximum; a person rarely has more.
pub const ROLE_IDS_AT_CREATE: usize = 50;
const ROLES_UNTRIED: u8 = 0;
const ROLES_TAKEN: u8 = 1;
const ROLES_NOT_TAKEN: u8 = 2;

impl<'a> OneLoginTarget<'a> {
    pub fn new(client: &'a OneLoginClient) -> OneLoginTarget<'a> {
        OneLoginTarget {
            client,
            tenant: RwLock::new(Tenant::default()),
            roles_at_create: AtomicU8::new(ROLES_UNTRIED),
        }
    }

    /// Create a user with the roles `with` (role ids), as `role_ids` while the account takes
    /// them. A role counts as made by the create only when the create's answer lists it; an
    /// account whose answers do not (or that refuses the field) gets none sent again this
    /// run, and its memberships are added by role as before.
    fn create_user(&self, data: &Value, with: &[String]) -> Result<Created<u64>, ApiError> {
        let roles: Vec<u64> = if self.roles_at_create.load(Ordering::Relaxed) == ROLES_NOT_TAKEN {
            Vec::new()
        } else {
            with.iter().filter_map(|r| r.parse().ok()).collect()
        };
        let (created, taken) = match self.client.create_user_with_roles(data, &roles) {
            Ok(done) => done,
            Err(e)
                if !roles.is_empty()
                    && matches!(e.status, Some(400 | 422))
                    && e.message.to_ascii_lowercase().contains("role") =>
            {
                self.roles_not_taken(&format!("it refused them: {}", e.message));
                (self.client.create_user(data)?, None)
            }
            Err(e) => return Err(e),
        };
        if let (Created::New(uid), Some(taken)) = (&created, &taken)
            && !roles.is_empty()
        {
            if taken.is_empty() {
                self.roles_not_taken("its answer does not list them");
            } else {
                let _ = self.roles_at_create.compare_exchange(
                    ROLES_UNTRIED,
                    ROLES_TAKEN,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                let mut t = self.tenant_mut();
                for role in taken {
                    t.role_members.entry(*role).or_default().insert(*uid);
                }
                t.made_with_roles.insert(*uid);
            }
        }
        Ok(created)
    }

    fn roles_not_taken(&self, why: &str) {
        if self
            .roles_at_create
            .swap(ROLES_NOT_TAKEN, Ordering::Relaxed)
            != ROLES_NOT_TAKEN
        {
            tracing::info!(
                "the account does not take `role_ids` with a user's create ({why}): memberships are added by role"
            );
        }
    }

    pub fn client(&self) -> &OneLoginClient {
        self.client
    }

    fn tenant(&self) -> std::sync::RwLockReadGuard<'_, Tenant> {
        self.tenant.read().unwrap_or_else(|p| p.into_inner())
    }

    fn tenant_mut(&self) -> std::sync::RwLockWriteGuard<'_, Tenant> {
        self.tenant.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read_users(&self, t: &mut Tenant) -> Result<(), ApiError> {
        // Ask only for what the index needs; a server that refuses the projection gets the
        // plain list.
        let mut projected = true;
        loop {
            let params: &[(&str, &str)] = if projected {
                &[("fields", "id,email,username")]
            } else {
                &[]
            };
            let mut first = true;
            let mut retry_plain = false;
            for user in self.client.list_users(params) {
                match user {
                    Ok(u) => t.add_user(&u).map_err(|e| {
                        ApiError::new(
                            "GET /api/2/users",
                            None,
                            format!("keeping the snapshot of users: {e}"),
                        )
                    })?,
                    Err(e) if first && projected && e.status == Some(400) => {
                        retry_plain = true;
                        break;
                    }
                    Err(e) => return Err(e),
                }
                first = false;
            }
            if !retry_plain {
                return Ok(());
            }
            projected = false;
        }
    }
}

impl Target for OneLoginTarget<'_> {
    fn name(&self) -> &'static str {
        "onelogin"
    }

    fn group_word(&self) -> &'static str {
        "role"
    }

    fn base_url(&self) -> &str {
        self.client.base_url()
    }

    fn calls(&self) -> u64 {
        self.client.calls()
    }

    fn learned_rate(&self) -> Option<crate::http::Rate> {
        self.client.learned_rate()
    }

    fn authenticate(&self) -> Result<(), ApiError> {
        self.client.authenticate()
    }

    fn check(&self, rec: &Record) -> Result<(), String> {
        let data = &rec.data;
        match rec.kind {
            Kind::User => {
                if nonempty(data, "email").is_none() && nonempty(data, "username").is_none() {
                    return Err("fields `email` and `username`: a user needs at least one".into());
                }
                if let Some(ca) = data.get("custom_attributes")
                    && !ca.is_object()
                    && !ca.is_null()
                {
                    return Err("field `custom_attributes`: expected a JSON object".into());
                }
            }
            Kind::Group => {
                nonempty(data, "name").ok_or("field `name`: a role needs a name")?;
            }
            Kind::App => {
                nonempty(data, "name").ok_or("field `name`: an app needs a name")?;
                data.get("connector_id")
                    .and_then(id_of)
                    .ok_or("field `connector_id`: an app needs a numeric connector id")?;
            }
            _ => {}
        }
        Ok(())
    }

    fn label(&self, kind: &Kind, data: &Value) -> String {
        match kind {
            Kind::User => nonempty(data, "email")
                .or_else(|| nonempty(data, "username"))
                .unwrap_or_default()
                .to_string(),
            _ => nonempty(data, "name").unwrap_or_default().to_string(),
        }
    }

    fn unique_key(&self, kind: &Kind, data: &Value) -> Option<String> {
        match kind {
            Kind::User => nonempty(data, "email")
                .map(|e| format!("email:{}", e.to_lowercase()))
                .or_else(|| {
                    nonempty(data, "username").map(|u| format!("username:{}", u.to_lowercase()))
                }),
            Kind::Group => nonempty(data, "name").map(fold_name),
            Kind::App => {
                let connector = data.get("connector_id").and_then(id_of)?;
                nonempty(data, "name").map(|n| format!("{connector}:{n}"))
            }
            _ => None,
        }
    }

    fn read(&self, needs: Needs) -> Result<(), ApiError> {
        let mut t = Tenant::default();
        if needs.groups || needs.memberships || needs.assignments {
            let roles = self
                .client
                .pages_of::<RoleSummary>("/api/2/roles", &[])
                .limit(ROLES_PER_PAGE);
            for role in roles {
                t.add_role_summary(role?);
            }
        }
        if needs.apps || needs.assignments {
            for app in self.client.list_apps() {
                t.add_app(&app?);
            }
        }
        if needs.users || needs.memberships {
            t.attributes = Some(
                self.client
                    .list_custom_attributes()?
                    .into_iter()
                    .map(|a| a.shortname)
                    .collect(),
            );
            self.read_users(&mut t)?;
        }
        *self.tenant_mut() = t;
        Ok(())
    }

    fn exists(&self, kind: &Kind, id: &str) -> bool {
        let Ok(id) = id.parse::<u64>() else {
            return false;
        };
        let t = self.tenant();
        match kind {
            Kind::User => t.user_ids.contains(&id),
            Kind::Group => t.role_ids.contains(&id),
            Kind::App => t.app_ids.contains(&id),
            _ => false,
        }
    }

    fn find(&self, kind: &Kind, data: &Value) -> Found {
        let t = self.tenant();
        let same = |id: Option<&u64>, how| match id {
            Some(id) => Found::Same {
                id: id.to_string(),
                how,
            },
            None => Found::None,
        };
        match kind {
            Kind::User => t.find_user(nonempty(data, "email"), nonempty(data, "username")),
            Kind::Group => same(
                nonempty(data, "name").and_then(|n| t.roles_by_name.get(&fold_name(n))),
                "name",
            ),
            Kind::App => {
                let name = nonempty(data, "name").unwrap_or_default().to_string();
                let connector = data.get("connector_id").and_then(id_of).unwrap_or_default();
                same(t.apps_by_name.get(&(name, connector)), "name and connector")
            }
            _ => Found::None,
        }
    }

    fn missing_attributes(&self, data: &Value) -> Vec<String> {
        let t = self.tenant();
        let (Some(known), Some(attrs)) = (
            &t.attributes,
            data.get("custom_attributes").and_then(Value::as_object),
        ) else {
            return Vec::new();
        };
        attrs
            .keys()
            .filter(|k| !known.contains(*k))
            .cloned()
            .collect()
    }

    fn list_attributes(&self) -> Result<Vec<(String, Option<String>)>, ApiError> {
        Ok(self
            .client
            .list_custom_attributes()?
            .into_iter()
            .map(|a| (a.shortname, Some(a.id.to_string())))
            .collect())
    }

    fn create_attribute(&self, attr: &AttributeDef) -> Result<Option<String>, ApiError> {
        self.client
            .create_custom_attribute(&attr.name, &attr.title)
            .map(|id| Some(id.to_string()))
    }

    fn create(&self, kind: &Kind, data: &Value, with: &[String]) -> Result<Created, ApiError> {
        let created = match kind {
            Kind::User => self.create_user(data, with)?,
            Kind::Group => self
                .client
                .create_role(nonempty(data, "name").unwrap_or_default())?,
            Kind::App => self.client.create_app(data)?,
            other => {
                return Err(ApiError::new(
                    "create",
                    None,
                    format!("onelogin does not create `{other}` objects"),
                ));
            }
        };
        let id = created.id();
        let mut t = self.tenant_mut();
        match kind {
            Kind::User => {
                t.user_ids.insert(id);
            }
            Kind::Group => {
                t.role_ids.insert(id);
                t.role_members.entry(id).or_default();
                t.role_apps.entry(id).or_default();
            }
            _ => {
                t.app_ids.insert(id);
            }
        }
        Ok(created.map(|id| id.to_string()))
    }

    fn update(&self, kind: &Kind, id: &str, data: &Value) -> Result<(), ApiError> {
        match kind {
            Kind::User => {
                // the password is set when the user is created, never on an update: re-sending
                // the source's hash would undo a password the person has changed since
                let mut data = data.clone();
                if let Some(obj) = data.as_object_mut() {
                    for key in PASSWORD_FIELDS {
                        obj.shift_remove(key);
                    }
                }
                self.client
                    .update_user(num(id, "PUT /api/2/users/{id}")?, &data)
            }
            Kind::Group => self.client.update_role(
                num(id, "PUT /api/2/roles/{id}")?,
                nonempty(data, "name").unwrap_or_default(),
            ),
            Kind::App => self
                .client
                .update_app(num(id, "PUT /api/2/apps/{id}")?, data),
            other => Err(ApiError::new(
                "update",
                None,
                format!("onelogin does not update `{other}` objects"),
            )),
        }
    }

    fn delete(&self, kind: &Kind, id: &str) -> Result<(), ApiError> {
        match kind {
            Kind::Group => {
                let id = num(id, "DELETE /api/2/roles/{id}")?;
                self.client.delete_role(id)?;
                let mut t = self.tenant_mut();
                t.role_ids.remove(&id);
                t.roles_by_name.retain(|_, v| *v != id);
                Ok(())
            }
            other => Err(ApiError::new(
                "delete",
                None,
                format!("idm never deletes onelogin `{other}` objects"),
            )),
        }
    }

    fn current(&self, kind: &Kind, id: &str) -> Result<Option<Value>, ApiError> {
        let path = match kind {
            Kind::User => format!("/api/2/users/{}", num(id, "GET /api/2/users/{id}")?),
            Kind::Group => format!("/api/2/roles/{}", num(id, "GET /api/2/roles/{id}")?),
            Kind::App => format!("/api/2/apps/{}", num(id, "GET /api/2/apps/{id}")?),
            _ => return Ok(None),
        };
        self.client.get_object(&path).map(Some)
    }

    fn list_objects(
        &self,
        kind: &Kind,
        each: &mut dyn FnMut(String, Value),
    ) -> Result<(), ApiError> {
        let mut emit = |v: Value| {
            if let Some(id) = v.get("id").and_then(id_of) {
                each(id.to_string(), v);
            }
        };
        match kind {
            Kind::User => {
                for u in self.client.list_users(&[("fields", USER_LIST_FIELDS)]) {
                    emit(u?);
                }
            }
            Kind::Group => {
                // a role lists its members; each role is given by its id and name, its member
                // and app lists skipped as they are read: members and apps are edges, checked
                // as such, and no role payload sets them (nor admins); a payload that did would
                // show as `differs`, never pass unseen
                let roles = self
                    .client
                    .pages_of::<RoleName>("/api/2/roles", &[])
                    .limit(ROLES_PER_PAGE);
                for role in roles {
                    let role = role?;
                    let Some(id) = role.id.0 else { continue };
                    let mut v = serde_json::Map::new();
                    v.insert("id".into(), Value::from(id));
                    if let Some(name) = role.name {
                        v.insert("name".into(), name);
                    }
                    emit(Value::Object(v));
                }
            }
            Kind::App => {
                // the list holds summaries: each app is read whole (apps are few)
                let mut ids = Vec::new();
                for a in self.client.list_apps() {
                    if let Some(id) = a?.get("id").and_then(id_of) {
                        ids.push(id);
                    }
                }
                for id in ids {
                    emit(self.client.get_object(&format!("/api/2/apps/{id}"))?);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn comparable(&self, kind: &Kind, payload: &Value) -> Value {
        let mut p = payload.clone();
        if *kind == Kind::User
            && let Some(obj) = p.as_object_mut()
        {
            // write-only: OneLogin never shows a password back
            for key in PASSWORD_FIELDS {
                obj.shift_remove(key);
            }
        }
        if *kind == Kind::App
            && let Some(params) = p.get_mut("parameters").and_then(Value::as_object_mut)
        {
            // a parameter the connector defines keeps the connector's label whatever a create
            // sends (`email` shows as `Email (SAML NameID)`): what it maps is what matters
            for param in params.values_mut() {
                if let Some(param) = param.as_object_mut() {
                    param.shift_remove("label");
                }
            }
        }
        p
    }

    fn edge_shape(&self, kind: &Kind, assignee: End) -> Result<EdgeShape, &'static str> {
        match (kind, assignee) {
            (Kind::Membership, _) => Ok(EdgeShape {
                parent: End::Group,
                child: End::User,
                batch: ROLE_USERS_BATCH,
                reads_per_batch: 0,
            }),
            (Kind::AppAssignment, End::Group) => Ok(EdgeShape {
                parent: End::Group,
                child: End::App,
                // one PUT sets the whole set
                batch: usize::MAX,
                reads_per_batch: 1,
            }),
            (Kind::AppAssignment, _) => Err(
                "direct user assignment: OneLogin API v2 assigns apps through roles only; give the user a role that has the app",
            ),
            _ => Err("not an edge onelogin takes"),
        }
    }

    fn create_edges(&self, kind: &Kind) -> Option<(Kind, usize, &'static str)> {
        (*kind == Kind::User && self.roles_at_create.load(Ordering::Relaxed) != ROLES_NOT_TAKEN)
            .then_some((Kind::Membership, ROLE_IDS_AT_CREATE, "role_ids"))
    }

    fn edge_made_at_create(&self, kind: &Kind, parent: &str, child: &str) -> bool {
        let (Ok(p), Ok(c)) = (parent.parse::<u64>(), child.parse::<u64>()) else {
            return false;
        };
        let t = self.tenant();
        *kind == Kind::Membership
            && t.made_with_roles.contains(&c)
            && t.role_members.get(&p).is_some_and(|m| m.contains(&c))
    }

    fn has_edge(&self, kind: &Kind, parent: &str, child: &str) -> Option<bool> {
        let (Ok(p), Ok(c)) = (parent.parse::<u64>(), child.parse::<u64>()) else {
            return None;
        };
        let t = self.tenant();
        let sets = match kind {
            Kind::Membership => &t.role_members,
            Kind::AppAssignment => &t.role_apps,
            _ => return None,
        };
        sets.get(&p).map(|s| s.contains(&c))
    }

    fn edges_of(&self, kind: &Kind, parent: &str) -> Result<HashSet<String>, ApiError> {
        let role = num(parent, "GET /api/2/roles/{id}")?;
        match kind {
            Kind::AppAssignment => Ok(self
                .client
                .role_apps(role)?
                .into_iter()
                .map(|a| a.to_string())
                .collect()),
            _ => {
                let mut out = HashSet::new();
                for u in self.client.role_users(role) {
                    if let Some(id) = id_or_object(&u?) {
                        out.insert(id.to_string());
                    }
                }
                Ok(out)
            }
        }
    }

    fn add_edges(
        &self,
        kind: &Kind,
        parent: &str,
        children: &[String],
        parent_is_new: bool,
    ) -> Result<(), ApiError> {
        let role = num(parent, "POST /api/2/roles/{id}")?;
        let ids = children
            .iter()
            .map(|c| num(c, "POST /api/2/roles/{id}"))
            .collect::<Result<Vec<u64>, _>>()?;
        match kind {
            Kind::Membership => self.client.add_role_users(role, &ids),
            Kind::AppAssignment => {
                // PUT replaces the set: read it now (not from the snapshot) so apps given by
                // other means are kept. A role created by this run has none yet.
                let mut set: std::collections::BTreeSet<u64> = if parent_is_new {
                    Default::default()
                } else {
                    self.client.role_apps(role)?.into_iter().collect()
                };
                let before = set.len();
                set.extend(ids);
                if set.len() == before {
                    return Ok(());
                }
                let all: Vec<u64> = set.into_iter().collect();
                self.client.set_role_apps(role, &all)
            }
            other => Err(ApiError::new(
                "add edges",
                None,
                format!("onelogin does not take `{other}` edges"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn indexes_roles_apps_and_users() {
        let mut t = Tenant::default();
        t.add_role(&json!({"id": 5, "name": "Eng", "users": [1, 2], "apps": [{"id": 9}]}));
        t.add_role(&json!({"id": 6, "name": "eng "}));
        t.add_app(&json!({"id": 9, "name": "Wiki", "connector_id": 108419}));
        t.add_user(&json!({"id": 1, "email": "A@X.com", "username": "a"}))
            .unwrap();
        t.add_user(&json!({"id": "2", "email": "", "username": "b"}))
            .unwrap();
        assert_eq!(t.roles_by_name["eng"], 5);
        assert!(t.role_members[&5].contains(&2));
        assert!(t.role_apps[&5].contains(&9));
        assert_eq!(t.apps_by_name[&("Wiki".to_string(), 108419)], 9);
        assert_eq!(
            t.find_user(Some("a@x.COM"), None),
            Found::Same {
                id: "1".into(),
                how: "email"
            }
        );
        assert_eq!(t.find_user(None, Some("c")), Found::None);
        assert!(t.user_ids.contains(&2));
    }

    #[test]
    fn a_username_of_another_person_is_a_conflict_not_an_adoption() {
        // adopting by username handed one person's roles (and with --update-existing, the
        // account itself) to another person
        let mut t = Tenant::default();
        t.add_user(&json!({"id": 1, "email": "ann@acme.com", "username": "jdoe"}))
            .unwrap();
        match t.find_user(Some("john.doe@acme.com"), Some("JDoe")) {
            Found::Conflict { id, reason } => {
                assert_eq!(id, "1");
                assert!(reason.contains("`JDoe`"), "{reason}");
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        // same username and same email: the same person
        assert!(matches!(
            t.find_user(Some("ANN@acme.com"), Some("jdoe")),
            Found::Same { .. }
        ));
    }

    #[test]
    fn role_pages_decode_to_ids_as_the_json_values_did() {
        // members as numbers, strings of digits and objects; what is no id is left out
        let page = r#"[
            {"id": 5, "name": "Eng", "users": [1, "2", {"name": "x", "id": 3}, {"name": "y"},
             1.5, -4, null, [7]], "apps": [{"id": "9"}], "admins": {"a": [1, {"b": 2}]}},
            {"id": "6", "name": 7, "users": null, "apps": {"id": 1}},
            {"name": "no id", "users": [8]}
        ]"#;
        let roles: Vec<RoleSummary> = serde_json::from_str(page).unwrap();
        assert_eq!(roles.len(), 3);
        let mut t = Tenant::default();
        for r in roles {
            t.add_role_summary(r);
        }
        let mut via_values = Tenant::default();
        for r in serde_json::from_str::<Vec<Value>>(page).unwrap() {
            via_values.add_role(&r);
        }
        for t in [&t, &via_values] {
            let members = &t.role_members[&5];
            assert_eq!(members.len(), 3);
            assert!([1, 2, 3].iter().all(|id| members.contains(id)));
            assert!(t.role_apps[&5].contains(&9));
            assert!(t.role_ids.contains(&6));
            assert!(!t.role_members.contains_key(&6), "null is no member list");
            assert!(!t.role_apps.contains_key(&6), "an object is no app list");
            assert_eq!(t.roles_by_name.len(), 1, "a number is no name");
            assert_eq!(t.role_ids.len(), 2, "a role without an id is left out");
        }
    }

    #[test]
    fn role_names_fold_case_and_spaces() {
        assert_eq!(fold_name("  Sales   Team "), "sales team");
        assert_eq!(fold_name("Employee"), fold_name("employee"));
    }
}
