//! A snapshot of the target tenant, read in bulk before anything is decided.
//!
//! The plan must be computed against the tenant's real state ("what exists is skip, not
//! create") without one lookup per user: the paged lists of roles, apps, users and custom
//! attributes are read once and folded into indexes of ids. No user object is kept, only its
//! id, email and username, so the memory is an index, not a copy of the tenant.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::provider::onelogin::{ApiError, OneLoginClient, id_of};

/// What the tenant holds, as ids.
#[derive(Debug, Default)]
pub struct Tenant {
    /// Role name → id (the first role of that name).
    pub roles_by_name: HashMap<String, u64>,
    pub role_ids: HashSet<u64>,
    /// Members of each role, when the role list includes them (`users`).
    pub role_members: HashMap<u64, HashSet<u64>>,
    /// Apps of each role, when the role list includes them (`apps`).
    pub role_apps: HashMap<u64, HashSet<u64>>,
    /// (app name, connector id) → app id.
    pub apps_by_name: HashMap<(String, u64), u64>,
    pub app_ids: HashSet<u64>,
    /// Lower-cased email → user id.
    pub users_by_email: HashMap<String, u64>,
    /// Lower-cased username → user id.
    pub users_by_username: HashMap<String, u64>,
    pub user_ids: HashSet<u64>,
    /// Custom attribute shortnames.
    pub attributes: HashSet<String>,
}

/// What to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub roles: bool,
    pub users: bool,
    pub apps: bool,
}

impl Tenant {
    /// Read what `needs` asks for.
    pub fn read(client: &OneLoginClient, needs: Needs) -> Result<Tenant, ApiError> {
        let mut t = Tenant::default();
        if needs.roles {
            for role in client.list_roles() {
                t.add_role(&role?);
            }
        }
        if needs.apps {
            for app in client.list_apps() {
                t.add_app(&app?);
            }
        }
        if needs.users {
            t.attributes = client
                .list_custom_attributes()?
                .into_iter()
                .map(|a| a.shortname)
                .collect();
            t.read_users(client)?;
        }
        Ok(t)
    }

    fn read_users(&mut self, client: &OneLoginClient) -> Result<(), ApiError> {
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
            for user in client.list_users(params) {
                match user {
                    Ok(u) => self.add_user(&u),
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

    pub fn add_role(&mut self, role: &Value) {
        let Some(id) = role.get("id").and_then(id_of) else {
            return;
        };
        self.role_ids.insert(id);
        if let Some(name) = role.get("name").and_then(Value::as_str) {
            self.roles_by_name.entry(name.to_string()).or_insert(id);
        }
        if let Some(users) = role.get("users").and_then(Value::as_array) {
            self.role_members
                .insert(id, users.iter().filter_map(id_or_object).collect());
        }
        if let Some(apps) = role.get("apps").and_then(Value::as_array) {
            self.role_apps
                .insert(id, apps.iter().filter_map(id_or_object).collect());
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

    pub fn add_user(&mut self, user: &Value) {
        let Some(id) = user.get("id").and_then(id_of) else {
            return;
        };
        self.user_ids.insert(id);
        if let Some(email) = user.get("email").and_then(Value::as_str)
            && !email.is_empty()
        {
            self.users_by_email
                .entry(email.to_lowercase())
                .or_insert(id);
        }
        if let Some(username) = user.get("username").and_then(Value::as_str)
            && !username.is_empty()
        {
            self.users_by_username
                .entry(username.to_lowercase())
                .or_insert(id);
        }
    }

    /// The tenant's user with this email, else with this username.
    pub fn find_user(
        &self,
        email: Option<&str>,
        username: Option<&str>,
    ) -> Option<(u64, &'static str)> {
        if let Some(e) = email.filter(|e| !e.is_empty())
            && let Some(id) = self.users_by_email.get(&e.to_lowercase())
        {
            return Some((*id, "email"));
        }
        if let Some(u) = username.filter(|u| !u.is_empty())
            && let Some(id) = self.users_by_username.get(&u.to_lowercase())
        {
            return Some((*id, "username"));
        }
        None
    }
}

/// An id given as a number, a string, or an object with `id`.
fn id_or_object(v: &Value) -> Option<u64> {
    id_of(v).or_else(|| v.get("id").and_then(id_of))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn indexes_roles_apps_and_users() {
        let mut t = Tenant::default();
        t.add_role(&json!({"id": 5, "name": "Eng", "users": [1, 2], "apps": [{"id": 9}]}));
        t.add_role(&json!({"id": 6, "name": "Eng"}));
        t.add_app(&json!({"id": 9, "name": "Wiki", "connector_id": 108419}));
        t.add_user(&json!({"id": 1, "email": "A@X.com", "username": "a"}));
        t.add_user(&json!({"id": "2", "email": "", "username": "b"}));
        assert_eq!(t.roles_by_name["Eng"], 5);
        assert!(t.role_members[&5].contains(&2));
        assert!(t.role_apps[&5].contains(&9));
        assert_eq!(t.apps_by_name[&("Wiki".to_string(), 108419)], 9);
        assert_eq!(t.find_user(Some("a@x.COM"), None), Some((1, "email")));
        assert_eq!(t.find_user(Some("zz@x"), Some("B")), Some((2, "username")));
        assert_eq!(t.find_user(None, Some("c")), None);
        assert!(t.user_ids.contains(&2));
    }
}
