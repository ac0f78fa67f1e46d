//! `/api/2/roles` (onelogin-api.md §9): list, create (201 with one `{"id"}` object, not the
//! array the spec claims), get, update, delete, and the role's users, admins and apps.
//!
//! The roles service is a separate OneLogin service with its own habits: member and app
//! lists are written as raw JSON arrays of ids, and anything else is the observed shape-B
//! 400 `Expected array in request`. `PUT …/apps` replaces the whole set.

use serde_json::{Map, Value, json};

use super::http::{
    ApiErr, PageRule, Reply, check_params_strict, id_array, json_body, list_query, matches_pattern,
    page_response, path_id, sort_param, to_bytes,
};
use super::model::{F_EMAIL, F_FIRSTNAME, F_LASTNAME, F_USERNAME, Role, Tenant};
use super::users::MAX_FIELD_CHARS;
use super::{OneLogin, now};
use crate::sandbox::api::{SimRequest, SimResponse};

pub(super) fn route(ol: &OneLogin, req: &SimRequest, m: &str, rest: &[&str], route: &str) -> Reply {
    match (m, rest) {
        ("GET", []) => list(ol, req, route),
        ("POST", []) => create(ol, req, route),
        ("GET", [id]) => {
            let t = ol.read();
            let role = t.roles.get(&path_id(id)?).ok_or_else(ApiErr::not_found)?;
            Ok(SimResponse::json(200, route, &role.to_json()))
        }
        ("PUT", [id]) => update(ol, req, path_id(id)?, route),
        ("DELETE", [id]) => delete(ol, path_id(id)?, route),
        ("GET", [id, "users"]) => members(ol, req, path_id(id)?, false, route),
        ("GET", [id, "admins"]) => members(ol, req, path_id(id)?, true, route),
        ("POST", [id, "users"]) => add_members(ol, req, path_id(id)?, false, route),
        ("POST", [id, "admins"]) => add_members(ol, req, path_id(id)?, true, route),
        ("DELETE", [id, "users"]) => remove_members(ol, req, path_id(id)?, false, route),
        ("DELETE", [id, "admins"]) => remove_members(ol, req, path_id(id)?, true, route),
        ("GET", [id, "apps"]) => apps(ol, req, path_id(id)?, route),
        ("PUT", [id, "apps"]) => set_apps(ol, req, path_id(id)?, route),
        _ => Err(ApiErr::a(404, "Not Found")),
    }
}

fn list(ol: &OneLogin, req: &SimRequest, route: &str) -> Reply {
    let q = list_query(
        req,
        PageRule {
            default: 50,
            max: 650,
        },
    )?;
    check_params_strict(
        &q.params,
        &["name", "role_name", "app_id", "app_name", "fields", "sort"],
    )?;
    let sort = sort_param(&q, &["id", "name"])?;
    let t = ol.read();
    let name = q.get("name").or(q.get("role_name"));
    let app_id = match q.get("app_id") {
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| ApiErr::bad_request(format!("Invalid app_id: {v}")))?,
        ),
        None => None,
    };
    let app_name = q.get("app_name");
    let mut roles: Vec<&Role> = t
        .roles
        .values()
        .filter(|r| name.is_none_or(|n| matches_pattern(n, &r.name)))
        .filter(|r| app_id.is_none_or(|a| r.apps.contains(&a)))
        .filter(|r| {
            app_name.is_none_or(|n| {
                r.apps
                    .iter()
                    .filter_map(|a| t.apps.get(a))
                    .any(|a| matches_pattern(n, &a.name))
            })
        })
        .collect();
    if let Some((field, desc)) = sort {
        if field == "name" {
            roles.sort_by_key(|r| (r.name.to_lowercase(), r.id));
        }
        if desc {
            roles.reverse();
        }
    }
    let fields: Option<Vec<&str>> = q
        .get("fields")
        .map(|f| f.split(',').map(str::trim).collect());
    let total = roles.len();
    let items = roles
        .iter()
        .skip(q.offset())
        .take(q.limit)
        .map(|r| {
            let mut v = r.to_json();
            if let (Some(fields), Value::Object(m)) = (&fields, &mut v) {
                m.retain(|k, _| k == "id" || k == "name" || fields.contains(&k.as_str()));
            }
            to_bytes(&v)
        })
        .collect();
    Ok(page_response(req, route, &q, total, items))
}

fn role_name(body: &Map<String, Value>) -> Result<String, ApiErr> {
    match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            if s.chars().count() > MAX_FIELD_CHARS {
                return Err(ApiErr::invalid(format!(
                    "Name is too long (maximum is {MAX_FIELD_CHARS} characters)"
                )));
            }
            Ok(s.clone())
        }
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ApiErr::invalid("Name can't be blank"))
        }
        Some(_) => Err(ApiErr::invalid("Name must be a string")),
    }
}

fn role_body(req: &SimRequest) -> Result<Map<String, Value>, ApiErr> {
    match json_body(req)? {
        Value::Object(m) => Ok(m),
        _ => Err(ApiErr::bad_request("Request body must be a JSON object")),
    }
}

/// Ids in a role body's `users`/`admins`/`apps`, each checked to exist.
fn body_ids(t: &Tenant, body: &Map<String, Value>, key: &str) -> Result<Vec<u64>, ApiErr> {
    let ids: Vec<u64> = match body.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_u64()
                    .ok_or_else(|| ApiErr::invalid(format!("{key} must be an array of ids")))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ApiErr::invalid(format!("{key} must be an array of ids"))),
    };
    let (kind, exists): (&str, &dyn Fn(&u64) -> bool) = if key == "apps" {
        ("App", &|id| t.apps.contains_key(id))
    } else {
        ("User", &|id| t.users.contains_key(id))
    };
    if let Some(bad) = ids.iter().find(|id| !exists(id)) {
        return Err(ApiErr::invalid(format!(
            "The associated {kind} with ID {bad} could not be found"
        )));
    }
    Ok(ids)
}

fn create(ol: &OneLogin, req: &SimRequest, route: &str) -> Reply {
    check_params_strict(&req.query, &[])?;
    let body = role_body(req)?;
    let mut t = ol.write();
    let name = role_name(&body)?;
    let users = body_ids(&t, &body, "users")?;
    let admins = body_ids(&t, &body, "admins")?;
    let apps = body_ids(&t, &body, "apps")?;
    let id = t.next_role_id;
    t.next_role_id += 1;
    t.roles.insert(
        id,
        Role {
            id,
            name,
            apps: Default::default(),
            users: Default::default(),
            admins: Default::default(),
        },
    );
    let stamp = now();
    t.add_role_users(id, &users, &stamp);
    t.set_role_apps(id, &apps);
    let by = t.owner_id;
    if let Some(role) = t.roles.get_mut(&id) {
        for a in admins {
            role.admins.insert(
                a,
                super::model::Added {
                    by,
                    at: stamp.clone(),
                },
            );
        }
    }
    Ok(SimResponse::json(201, route, &json!({"id": id})))
}

/// `PUT /api/2/roles/{id}`: renames. `users`/`apps`/`admins` in the body change nothing
/// (observed by the Terraform provider); the sub-resources do that.
fn update(ol: &OneLogin, req: &SimRequest, id: u64, route: &str) -> Reply {
    let body = role_body(req)?;
    let mut t = ol.write();
    let role = t.roles.get_mut(&id).ok_or_else(ApiErr::not_found)?;
    role.name = role_name(&body)?;
    Ok(SimResponse::json(200, route, &json!({"id": id})))
}

fn delete(ol: &OneLogin, id: u64, route: &str) -> Reply {
    let mut t = ol.write();
    let role = t.roles.get(&id).ok_or_else(ApiErr::not_found)?;
    let users: Vec<u64> = role.users.keys().copied().collect();
    t.remove_role_users(id, &users);
    t.set_role_apps(id, &[]);
    t.roles.remove(&id);
    Ok(SimResponse::empty(204, route))
}

fn members(ol: &OneLogin, req: &SimRequest, id: u64, admins: bool, route: &str) -> Reply {
    let q = list_query(
        req,
        PageRule {
            default: 50,
            max: 100,
        },
    )?;
    check_params_strict(&q.params, &["name", "include_unassigned"])?;
    let include_unassigned = match q.get("include_unassigned") {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(ApiErr::field(
                "include_unassigned",
                format!("invalid value in \"include_unassigned\": {v}"),
            ));
        }
    };
    let t = ol.read();
    let role = t.roles.get(&id).ok_or_else(ApiErr::not_found)?;
    let set = if admins { &role.admins } else { &role.users };
    let name = q.get("name");
    let name_ok = |uid: &u64| {
        name.is_none_or(|n| {
            t.users.get(uid).is_some_and(|u| {
                [F_FIRSTNAME, F_LASTNAME, F_USERNAME, F_EMAIL]
                    .iter()
                    .any(|f| u.str(*f).is_some_and(|v| matches_pattern(n, v)))
            })
        })
    };
    let ids: Vec<u64> = if include_unassigned {
        t.order.iter().copied().filter(name_ok).collect()
    } else {
        set.keys().copied().filter(name_ok).collect()
    };
    let total = ids.len();
    let items = ids
        .iter()
        .skip(q.offset())
        .take(q.limit)
        .filter_map(|uid| t.users.get(uid).map(|u| (u, set.get(uid))))
        .map(|(u, added)| {
            let added_by = added.map(|a| {
                let name = t.users.get(&a.by).map(|b| b.display_name());
                json!({"id": a.by, "name": name})
            });
            to_bytes(&json!({
                "id": u.id, "name": u.display_name(), "username": u.str(F_USERNAME),
                "added_by": added_by, "added_at": added.map(|a| a.at.as_str()),
                "assigned": added.is_some(),
            }))
        })
        .collect();
    Ok(page_response(req, route, &q, total, items))
}

/// A raw id array of at most the account's `max_ids` ids.
fn ids_in_body(ol: &OneLogin, req: &SimRequest) -> Result<Vec<u64>, ApiErr> {
    let ids = id_array(req)?;
    let max = ol.cfg.max_ids;
    if ids.len() > max {
        return Err(ApiErr::B {
            status: 400,
            description: format!("Too many ids in request (maximum is {max})"),
        });
    }
    Ok(ids)
}

fn add_members(ol: &OneLogin, req: &SimRequest, id: u64, admins: bool, route: &str) -> Reply {
    let ids = ids_in_body(ol, req)?;
    let mut t = ol.write();
    if !t.roles.contains_key(&id) {
        return Err(ApiErr::not_found());
    }
    if ids.iter().any(|u| !t.users.contains_key(u)) {
        return Err(ApiErr::not_found());
    }
    let stamp = now();
    if admins {
        let by = t.owner_id;
        if let Some(role) = t.roles.get_mut(&id) {
            for u in &ids {
                role.admins
                    .entry(*u)
                    .or_insert_with(|| super::model::Added {
                        by,
                        at: stamp.clone(),
                    });
            }
        }
    } else {
        t.add_role_users(id, &ids, &stamp);
    }
    let out: Vec<Value> = ids.iter().map(|u| json!({"id": u})).collect();
    Ok(SimResponse::json(200, route, &out))
}

fn remove_members(ol: &OneLogin, req: &SimRequest, id: u64, admins: bool, route: &str) -> Reply {
    let ids = ids_in_body(ol, req)?;
    let mut t = ol.write();
    if !t.roles.contains_key(&id) {
        return Err(ApiErr::not_found());
    }
    if ids.iter().any(|u| !t.users.contains_key(u)) {
        return Err(ApiErr::not_found());
    }
    if admins {
        if let Some(role) = t.roles.get_mut(&id) {
            for u in &ids {
                role.admins.remove(u);
            }
        }
    } else {
        t.remove_role_users(id, &ids);
    }
    Ok(SimResponse::empty(204, route))
}

fn apps(ol: &OneLogin, req: &SimRequest, id: u64, route: &str) -> Reply {
    let q = list_query(
        req,
        PageRule {
            default: 50,
            max: 100,
        },
    )?;
    check_params_strict(&q.params, &["assigned"])?;
    let assigned = match q.get("assigned") {
        None | Some("true") => true,
        Some("false") => false,
        Some(v) => {
            return Err(ApiErr::field(
                "assigned",
                format!("invalid value in \"assigned\": {v}"),
            ));
        }
    };
    let t = ol.read();
    let role = t.roles.get(&id).ok_or_else(ApiErr::not_found)?;
    let apps: Vec<_> = t
        .apps
        .values()
        .filter(|a| role.apps.contains(&a.id) == assigned)
        .collect();
    let total = apps.len();
    let items = apps
        .iter()
        .skip(q.offset())
        .take(q.limit)
        .map(|a| {
            let full = a.to_json(false);
            to_bytes(&json!({"id": a.id, "name": a.name, "icon_url": full["icon_url"]}))
        })
        .collect();
    Ok(page_response(req, route, &q, total, items))
}

fn set_apps(ol: &OneLogin, req: &SimRequest, id: u64, route: &str) -> Reply {
    let mut ids = ids_in_body(ol, req)?;
    let mut t = ol.write();
    if !t.roles.contains_key(&id) {
        return Err(ApiErr::not_found());
    }
    if ids.iter().any(|a| !t.apps.contains_key(a)) {
        return Err(ApiErr::not_found());
    }
    ids.dedup();
    t.set_role_apps(id, &ids);
    let out: Vec<Value> = ids.iter().map(|a| json!({"id": a})).collect();
    Ok(SimResponse::json(200, route, &out))
}
