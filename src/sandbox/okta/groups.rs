//! Group writes: create (`POST /api/v1/groups`), rename (`PUT /api/v1/groups/{id}`), delete,
//! and membership (`PUT`/`DELETE /api/v1/groups/{g}/users/{u}`).
//!
//! Only `OKTA_GROUP`s are managed through the API: `APP_GROUP` membership comes from the
//! directory that imported it and `Everyone` is built in, so their writes are 403
//! `E0000006`. A group name already taken (case-insensitively) is refused with 400
//! `E0000001` on create and rename: the reference does not confirm whether Okta allows
//! duplicates, and refusing is the choice under which a loader that does not look a group
//! up before creating it fails here rather than duplicating groups on a real org.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{
    ObjRec, Okta, Res, State, body_json, error, malformed, not_found, okta_id, validation,
};
use crate::sandbox::api::{SimRequest, SimResponse};
use crate::sandbox::seed::now_iso;

const KIND_CREATED_GROUP: u64 = 12;

fn forbidden(group: &Value, what: &str, route: &str) -> Res {
    error(
        403,
        "E0000006",
        "You do not have permission to perform the requested action",
        &[format!(
            "{what} of `{}` groups is not managed in Okta",
            group["type"].as_str().unwrap_or("?")
        )],
        route,
    )
}

/// A group `profile` of a create or rename: `name` (1–255 characters), `description`.
fn check_profile(body: &Value, route: &str) -> Result<Map<String, Value>, Res> {
    let Some(profile) = body.get("profile").and_then(Value::as_object).cloned() else {
        return Err(validation(
            "profile",
            "The field cannot be left blank",
            route,
        ));
    };
    let name = profile.get("name").and_then(Value::as_str).unwrap_or("");
    if name.trim().is_empty() {
        return Err(validation("name", "The field cannot be left blank", route));
    }
    if name.chars().count() > 255 {
        return Err(validation(
            "name",
            "The field cannot exceed 255 characters",
            route,
        ));
    }
    if let Some(d) = profile.get("description")
        && !(d.is_string() || d.is_null())
    {
        return Err(validation(
            "description",
            "Property value must be a string",
            route,
        ));
    }
    Ok(profile)
}

/// Is `name` taken by a group other than `except`?
fn name_taken(st: &State, name: &str, except: Option<&str>) -> bool {
    let lower = name.to_lowercase();
    st.groups.iter().any(|(id, g)| {
        Some(id.as_str()) != except
            && g.value["profile"]["name"]
                .as_str()
                .is_some_and(|n| n.to_lowercase() == lower)
    })
}

fn duplicate(route: &str) -> Res {
    validation(
        "name",
        "An object with this field already exists in the current organization",
        route,
    )
}

impl Okta {
    pub(super) fn create_group(&self, req: &SimRequest, route: &str) -> Res {
        let Some(body) = body_json(req).filter(Value::is_object) else {
            return malformed(route);
        };
        let profile = match check_profile(&body, route) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let name = profile["name"].as_str().unwrap_or_default().to_string();
        let mut st = self.write();
        if name_taken(&st, &name, None) {
            return duplicate(route);
        }
        let id = okta_id("00g", st.seed, KIND_CREATED_GROUP, st.next_group);
        st.next_group += 1;
        let now = now_iso();
        let b = &self.base_url;
        let group = json!({
            "id": id,
            "created": now,
            "lastUpdated": now,
            "lastMembershipUpdated": now,
            "objectClass": ["okta:user_group"],
            "type": "OKTA_GROUP",
            "profile": Value::Object(profile),
            "_links": {
                "logo": [{ "name": "medium", "href": format!("{b}/img/logos/groups/okta-medium.png"), "type": "image/png" }],
                "users": { "href": format!("{b}/api/v1/groups/{id}/users") },
                "apps": { "href": format!("{b}/api/v1/groups/{id}/apps") }
            }
        });
        st.members.insert(id.clone(), BTreeSet::new());
        st.groups.insert(id, Arc::new(ObjRec::new(group.clone())));
        SimResponse::json(200, route, &group)
    }

    /// `PUT /api/v1/groups/{id}`: replace the profile (rename) of an OKTA_GROUP.
    pub(super) fn replace_group(&self, req: &SimRequest, gid: &str, route: &str) -> Res {
        let Some(body) = body_json(req).filter(Value::is_object) else {
            return malformed(route);
        };
        let profile = match check_profile(&body, route) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let mut st = self.write();
        let Some(group) = st.groups.get(gid).cloned() else {
            return not_found(gid, "UserGroup", route);
        };
        if group.value["type"] != "OKTA_GROUP" {
            return forbidden(&group.value, "The profile", route);
        }
        let name = profile["name"].as_str().unwrap_or_default();
        if name_taken(&st, name, Some(gid)) {
            return duplicate(route);
        }
        let mut v = group.value.clone();
        v["profile"] = Value::Object(profile);
        v["lastUpdated"] = json!(now_iso());
        st.groups
            .insert(gid.to_string(), Arc::new(ObjRec::new(v.clone())));
        SimResponse::json(200, route, &v)
    }

    /// `DELETE /api/v1/groups/{id}`: 204; its memberships and app assignments go with it.
    pub(super) fn delete_group(&self, gid: &str, route: &str) -> Res {
        let mut st = self.write();
        let Some(group) = st.groups.get(gid).cloned() else {
            return not_found(gid, "UserGroup", route);
        };
        if group.value["type"] == "BUILT_IN" {
            return forbidden(&group.value, "Deletion", route);
        }
        st.groups.remove(gid);
        st.members.remove(gid);
        for groups in st.app_groups.values_mut() {
            groups.retain(|g| g != gid);
        }
        SimResponse::empty(204, route)
    }

    pub(super) fn set_member(&self, gid: &str, uid: &str, add: bool, route: &str) -> Res {
        let mut st = self.write();
        let Some(group) = st.groups.get(gid) else {
            return not_found(gid, "UserGroup", route);
        };
        if group.value["type"] != "OKTA_GROUP" {
            return forbidden(&group.value, "Group membership", route);
        }
        if !st.users.contains_key(uid) {
            return not_found(uid, "User", route);
        }
        let changed = if add {
            st.members
                .entry(gid.to_string())
                .or_default()
                .insert(uid.to_string())
        } else {
            st.members.get_mut(gid).is_some_and(|m| m.remove(uid))
        };
        if changed {
            st.touch_group_membership(gid);
        }
        SimResponse::empty(204, route)
    }
}
