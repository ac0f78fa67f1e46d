//! `/api/2/apps` and `/api/2/connectors` (onelogin-api.md §10).
//!
//! An app is made from a connector of the catalogue ([`super::model::connectors`]): create
//! needs `connector_id` and `name`; `configuration` is checked per connector type (OIDC and
//! SAML have known keys and enums); `parameters` is a map keyed by short name, and a new
//! parameter is only allowed on connectors with `allows_new_parameters`; `sso` is generated
//! and read-only. Unknown top-level keys are rejected so a client that sends fields the API
//! does not have (the migration wizard's `signon_mode`) finds out here.

use rand::Rng as _;
use serde_json::{Map, Value, json};

use super::http::{
    ApiErr, PageRule, Reply, check_params_strict, json_object, list_query, matches_pattern,
    page_response, path_id, to_bytes,
};
use super::model::{
    App, Connector, F_EMAIL, F_FIRSTNAME, F_LASTNAME, F_USERNAME, connectors as catalogue,
};
use super::model::{Tenant, connector};
use super::users::{MAX_FIELD_CHARS, humanize};
use super::{OneLogin, now};
use crate::sandbox::api::{SimRequest, SimResponse};

/// Id of the account's default SAML signing certificate.
pub(crate) const DEFAULT_CERTIFICATE_ID: i64 = 815_517;

const AUTH_METHODS: &[i64] = &[0, 1, 2, 3, 4, 5, 6, 7, 8];
const SIGNATURE_ALGORITHMS: &[&str] = &["SHA-1", "SHA-256", "SHA-348", "SHA-512"];
/// Keys of the app resource a client may send back (read-only ones are ignored).
const APP_KEYS: &[&str] = &[
    "id",
    "connector_id",
    "name",
    "description",
    "notes",
    "visible",
    "auth_method",
    "policy_id",
    "tab_id",
    "brand_id",
    "icon_url",
    "allow_assumed_signin",
    "created_at",
    "updated_at",
    "role_ids",
    "provisioning",
    "sso",
    "configuration",
    "parameters",
    "enforcement_point",
];
const OIDC_KEYS: &[&str] = &[
    "redirect_uri",
    "login_url",
    "post_logout_redirect_uri",
    "oidc_application_type",
    "token_endpoint_auth_method",
    "access_token_expiration_minutes",
    "refresh_token_expiration_minutes",
    "include_amr_claims",
    "oidc_encryption_key",
];
const PARAM_KEYS: &[&str] = &[
    "values",
    "default_values",
    "label",
    "user_attribute_mappings",
    "user_attribute_macros",
    "attributes_transformations",
    "include_in_saml_assertion",
    "provisioned_entitlements",
    "skip_if_blank",
    "id",
];

pub(super) fn route(ol: &OneLogin, req: &SimRequest, m: &str, rest: &[&str], route: &str) -> Reply {
    match (m, rest) {
        ("GET", []) => list(ol, req, route),
        ("POST", []) => create(ol, req, route),
        ("GET", [id]) => {
            let t = ol.read();
            let app = t.apps.get(&path_id(id)?).ok_or_else(ApiErr::not_found)?;
            Ok(SimResponse::json(200, route, &app.to_json(false)))
        }
        ("PUT", [id]) => update(ol, req, path_id(id)?, route),
        ("DELETE", [id]) => {
            let id = path_id(id)?;
            let mut t = ol.write();
            if !t.apps.contains_key(&id) {
                return Err(ApiErr::not_found());
            }
            t.set_app_roles(id, &[]);
            t.apps.remove(&id);
            Ok(SimResponse::empty(204, route))
        }
        ("DELETE", [id, "parameters", pid]) => {
            let (id, pid) = (path_id(id)?, path_id(pid)?);
            let mut t = ol.write();
            let app = t.apps.get_mut(&id).ok_or_else(ApiErr::not_found)?;
            let key = app
                .parameters
                .iter()
                .find(|(_, p)| p["id"].as_u64() == Some(pid))
                .map(|(k, _)| k.clone())
                .ok_or_else(ApiErr::not_found)?;
            app.parameters.remove(&key);
            Ok(SimResponse::empty(204, route))
        }
        ("GET", [id, "users"]) => app_users(ol, req, path_id(id)?, route),
        _ => Err(ApiErr::a(404, "Not Found")),
    }
}

fn auth_method_param(v: Option<&str>) -> Result<Option<i64>, ApiErr> {
    match v {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if AUTH_METHODS.contains(&n) => Ok(Some(n)),
            _ => Err(ApiErr::invalid_raw("invalid value in \"auth_method\"")),
        },
    }
}

impl ApiErr {
    /// 422 shape A without the `Validation failed:` prefix.
    fn invalid_raw(message: &str) -> ApiErr {
        ApiErr::a(422, message)
    }
}

/// `GET /api/2/connectors`: `name` matches a name or part of one.
pub(super) fn connectors(req: &SimRequest, route: &str) -> Reply {
    let q = list_query(
        req,
        PageRule {
            default: 50,
            max: 1000,
        },
    )?;
    check_params_strict(&q.params, &["name", "auth_method"])?;
    let auth = auth_method_param(q.get("auth_method"))?;
    let name = q.get("name").map(str::to_lowercase);
    let found: Vec<&Connector> = catalogue()
        .iter()
        .filter(|c| auth.is_none_or(|a| c.auth_method == a))
        .filter(|c| {
            name.as_deref().is_none_or(|n| {
                if n.contains('*') {
                    matches_pattern(n, c.name)
                } else {
                    c.name.to_lowercase().contains(n)
                }
            })
        })
        .collect();
    let total = found.len();
    let items = found
        .iter()
        .skip(q.offset())
        .take(q.limit)
        .map(|c| to_bytes(&c.to_json()))
        .collect();
    Ok(page_response(req, route, &q, total, items))
}

/// `GET /api/2/apps`: `name` is exact unless it has a `*`.
fn list(ol: &OneLogin, req: &SimRequest, route: &str) -> Reply {
    let q = list_query(
        req,
        PageRule {
            default: 50,
            max: 1000,
        },
    )?;
    check_params_strict(&q.params, &["name", "connector_id", "auth_method"])?;
    let auth = auth_method_param(q.get("auth_method"))?;
    let connector_id = match q.get("connector_id") {
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| ApiErr::invalid_raw("invalid value in \"connector_id\""))?,
        ),
        None => None,
    };
    let name = q.get("name");
    let t = ol.read();
    let apps: Vec<&App> = t
        .apps
        .values()
        .filter(|a| auth.is_none_or(|m| a.auth_method == m))
        .filter(|a| connector_id.is_none_or(|c| a.connector_id == c))
        .filter(|a| name.is_none_or(|n| matches_pattern(n, &a.name)))
        .collect();
    let total = apps.len();
    let items = apps
        .iter()
        .skip(q.offset())
        .take(q.limit)
        .map(|a| to_bytes(&a.summary()))
        .collect();
    Ok(page_response(req, route, &q, total, items))
}

fn app_users(ol: &OneLogin, req: &SimRequest, id: u64, route: &str) -> Reply {
    let q = list_query(
        req,
        PageRule {
            default: 100,
            max: 1000,
        },
    )?;
    check_params_strict(&q.params, &[])?;
    let t = ol.read();
    let app = t.apps.get(&id).ok_or_else(ApiErr::not_found)?;
    let mut ids: Vec<u64> = app
        .role_ids
        .iter()
        .filter_map(|r| t.roles.get(r))
        .flat_map(|r| r.users.keys().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let total = ids.len();
    let items = ids
        .iter()
        .skip(q.offset())
        .take(q.limit)
        .filter_map(|u| t.users.get(u))
        .map(|u| {
            to_bytes(&json!({
                "id": u.id, "firstname": u.str(F_FIRSTNAME), "lastname": u.str(F_LASTNAME),
                "username": u.str(F_USERNAME), "email": u.str(F_EMAIL),
            }))
        })
        .collect();
    Ok(page_response(req, route, &q, total, items))
}

fn check_keys(body: &Map<String, Value>) -> Result<(), ApiErr> {
    match body.keys().find(|k| !APP_KEYS.contains(&k.as_str())) {
        Some(k) => Err(ApiErr::field(k, format!("Unknown field: {k}"))),
        None => Ok(()),
    }
}

fn opt_str(body: &Map<String, Value>, k: &str) -> Result<Option<Option<String>>, ApiErr> {
    match body.get(k) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.chars().count() > MAX_FIELD_CHARS && k == "name" => {
            Err(ApiErr::invalid(format!(
                "Name is too long (maximum is {MAX_FIELD_CHARS} characters)"
            )))
        }
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(ApiErr::invalid(format!("{} must be a string", humanize(k)))),
    }
}

fn opt_bool(body: &Map<String, Value>, k: &str) -> Result<Option<bool>, ApiErr> {
    match body.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiErr::invalid(format!(
            "{} must be true or false",
            humanize(k)
        ))),
    }
}

fn opt_int(body: &Map<String, Value>, k: &str) -> Result<Option<Option<i64>>, ApiErr> {
    match body.get(k) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => v
            .as_i64()
            .map(|n| Some(Some(n)))
            .ok_or_else(|| ApiErr::invalid(format!("{} must be an integer", humanize(k)))),
    }
}

fn create(ol: &OneLogin, req: &SimRequest, route: &str) -> Reply {
    check_params_strict(&req.query, &[])?;
    let body = json_object(req)?;
    check_keys(&body)?;
    let connector_id = match body.get("connector_id") {
        None | Some(Value::Null) => return Err(ApiErr::invalid("Connector can't be blank")),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| ApiErr::invalid("Connector must be an integer"))?,
    };
    let conn = connector(connector_id)
        .ok_or_else(|| ApiErr::invalid(format!("Connector {connector_id} does not exist")))?;
    let name = opt_str(&body, "name")?
        .flatten()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiErr::invalid("Name can't be blank"))?;
    let mut t = ol.write();
    let stamp = now();
    let id = t.next_app_id;
    let mut app = App {
        id,
        connector_id,
        auth_method: conn.auth_method,
        name,
        description: String::new(),
        notes: None,
        visible: true,
        policy_id: None,
        brand_id: None,
        allow_assumed_signin: false,
        provisioning_enabled: false,
        configuration: default_configuration(conn),
        parameters: Map::new(),
        sso: Map::new(),
        role_ids: Default::default(),
        created_at: stamp.clone(),
        updated_at: stamp,
    };
    for (short, label, mapping) in conn.params {
        let pid = t.next_param_id;
        t.next_param_id += 1;
        app.parameters
            .insert(short.to_string(), new_parameter(pid, label, mapping));
    }
    let role_ids = apply(&mut t, &mut app, conn, &body)?;
    app.sso = sso(&mut t, &app, &ol.cfg.subdomain);
    t.next_app_id += t.rng.random_range(1..=9);
    let out = SimResponse::json(200, route, &app.to_json(true));
    t.apps.insert(id, app);
    t.set_app_roles(id, &role_ids);
    Ok(out)
}

fn update(ol: &OneLogin, req: &SimRequest, id: u64, route: &str) -> Reply {
    check_params_strict(&req.query, &[])?;
    let body = json_object(req)?;
    check_keys(&body)?;
    let mut t = ol.write();
    let mut app = t.apps.get(&id).ok_or_else(ApiErr::not_found)?.clone();
    if let Some(c) = body.get("connector_id").and_then(Value::as_u64)
        && c != app.connector_id
    {
        return Err(ApiErr::invalid("Connector cannot be changed"));
    }
    let conn = connector(app.connector_id).unwrap_or(&catalogue()[0]);
    if let Some(name) = opt_str(&body, "name")? {
        app.name = name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| ApiErr::invalid("Name can't be blank"))?;
    }
    let role_ids = apply(&mut t, &mut app, conn, &body)?;
    app.updated_at = now();
    let out = SimResponse::json(200, route, &app.to_json(false));
    t.apps.insert(id, app);
    if body.contains_key("role_ids") {
        t.set_app_roles(id, &role_ids);
    }
    Ok(out)
}

/// Apply the writable fields of a create/update body; returns the `role_ids` asked for.
fn apply(
    t: &mut Tenant,
    app: &mut App,
    conn: &Connector,
    body: &Map<String, Value>,
) -> Result<Vec<u64>, ApiErr> {
    if let Some(d) = opt_str(body, "description")? {
        app.description = d.unwrap_or_default();
    }
    if let Some(n) = opt_str(body, "notes")? {
        app.notes = n;
    }
    if let Some(v) = opt_bool(body, "visible")? {
        app.visible = v;
    }
    if let Some(v) = opt_bool(body, "allow_assumed_signin")? {
        app.allow_assumed_signin = v;
    }
    if let Some(p) = opt_int(body, "policy_id")? {
        app.policy_id = p;
    }
    if let Some(b) = opt_int(body, "brand_id")? {
        app.brand_id = b;
    }
    match body.get("provisioning") {
        None | Some(Value::Null) => {}
        Some(Value::Object(p)) => {
            if let Some(e) = opt_bool(p, "enabled")? {
                app.provisioning_enabled = e;
            }
        }
        Some(_) => return Err(ApiErr::invalid("Provisioning must be an object")),
    }
    match body.get("configuration") {
        None | Some(Value::Null) => {}
        Some(Value::Object(c)) => apply_configuration(app, conn, c)?,
        Some(_) => return Err(ApiErr::invalid("Configuration must be an object")),
    }
    if conn.auth_method == 8
        && app.configuration["redirect_uri"]
            .as_str()
            .is_none_or(|s| s.trim().is_empty())
    {
        return Err(ApiErr::field(
            "configuration.redirect_uri",
            "Validation failed: Redirect uri can't be blank",
        ));
    }
    match body.get("parameters") {
        None | Some(Value::Null) => {}
        Some(Value::Object(p)) => apply_parameters(t, app, conn, p)?,
        Some(_) => return Err(ApiErr::invalid("Parameters must be an object")),
    }
    match body.get("role_ids") {
        None | Some(Value::Null) => Ok(app.role_ids.iter().copied().collect()),
        Some(Value::Array(a)) => {
            let ids: Vec<u64> = a
                .iter()
                .map(|v| {
                    v.as_u64()
                        .ok_or_else(|| ApiErr::invalid("Role ids must be integers"))
                })
                .collect::<Result<_, _>>()?;
            if let Some(bad) = ids.iter().find(|r| !t.roles.contains_key(r)) {
                return Err(ApiErr::invalid(format!(
                    "The associated Role with ID {bad} could not be found"
                )));
            }
            Ok(ids)
        }
        Some(_) => Err(ApiErr::invalid("Role ids must be an array")),
    }
}

pub(super) fn default_configuration(conn: &Connector) -> Map<String, Value> {
    let v = match conn.auth_method {
        8 => json!({
            "redirect_uri": "", "refresh_token_expiration_minutes": 60, "login_url": null,
            "post_logout_redirect_uri": null, "oidc_encryption_key": "",
            "oidc_application_type": 0, "token_endpoint_auth_method": 1,
            "access_token_expiration_minutes": 5,
        }),
        2 => json!({"signature_algorithm": "SHA-1", "certificate_id": DEFAULT_CERTIFICATE_ID}),
        _ => json!({}),
    };
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn apply_configuration(
    app: &mut App,
    conn: &Connector,
    c: &Map<String, Value>,
) -> Result<(), ApiErr> {
    let bad = |k: &str| {
        ApiErr::field(
            format!("configuration.{k}"),
            format!("invalid value in \"{k}\""),
        )
    };
    for (k, v) in c {
        match (conn.auth_method, k.as_str()) {
            (8, "oidc_application_type") if !matches!(v.as_i64(), Some(0 | 1)) => {
                return Err(bad(k));
            }
            (8, "token_endpoint_auth_method") if !matches!(v.as_i64(), Some(0..=2)) => {
                return Err(bad(k));
            }
            (8, "access_token_expiration_minutes" | "refresh_token_expiration_minutes")
                if v.as_i64().is_none_or(|n| n <= 0) =>
            {
                return Err(bad(k));
            }
            (
                8,
                "redirect_uri" | "login_url" | "post_logout_redirect_uri" | "oidc_encryption_key",
            ) if !(v.is_string() || v.is_null()) => {
                return Err(bad(k));
            }
            (8, "include_amr_claims") if !v.is_boolean() => return Err(bad(k)),
            (8, k) if !OIDC_KEYS.contains(&k) => {
                return Err(ApiErr::field(
                    format!("configuration.{k}"),
                    format!("Unknown configuration field: {k}"),
                ));
            }
            (2, "signature_algorithm")
                if !v
                    .as_str()
                    .is_some_and(|s| SIGNATURE_ALGORITHMS.contains(&s)) =>
            {
                return Err(bad(k));
            }
            (2, "certificate_id") if v.as_i64() != Some(DEFAULT_CERTIFICATE_ID) => {
                return Err(ApiErr::invalid(format!(
                    "The associated Certificate with ID {v} could not be found"
                )));
            }
            (_, _) if v.is_object() || v.is_array() => return Err(bad(k)),
            _ => {}
        }
        app.configuration.insert(k.clone(), v.clone());
    }
    Ok(())
}

pub(super) fn new_parameter(id: u64, label: &str, mapping: &str) -> Value {
    json!({
        "values": null, "default_values": null, "label": label,
        "user_attribute_mappings": if mapping.is_empty() { Value::Null } else { json!(mapping) },
        "user_attribute_macros": null, "attributes_transformations": null,
        "include_in_saml_assertion": false, "provisioned_entitlements": false,
        "skip_if_blank": false, "id": id,
    })
}

fn apply_parameters(
    t: &mut Tenant,
    app: &mut App,
    conn: &Connector,
    params: &Map<String, Value>,
) -> Result<(), ApiErr> {
    for (short, spec) in params {
        let field = |m: &str| ApiErr::field(format!("parameters.{short}"), m.to_string());
        let Value::Object(spec) = spec else {
            return Err(field("Validation failed: a parameter must be an object"));
        };
        if let Some(k) = spec.keys().find(|k| !PARAM_KEYS.contains(&k.as_str())) {
            return Err(field(&format!("Unknown parameter field: {k}")));
        }
        let is_new = !app.parameters.contains_key(short);
        if is_new && !conn.allows_new_parameters {
            return Err(field(&format!(
                "Validation failed: connector {} does not allow new parameters ({short})",
                conn.name
            )));
        }
        if is_new {
            let pid = t.next_param_id;
            t.next_param_id += 1;
            let label = spec
                .get("label")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| humanize(short));
            app.parameters
                .insert(short.clone(), new_parameter(pid, &label, ""));
        }
        let Some(Value::Object(p)) = app.parameters.get_mut(short) else {
            continue;
        };
        for (k, v) in spec {
            match k.as_str() {
                "id" => {}
                // The label can only be set when the parameter is created.
                "label" if !is_new => {}
                "include_in_saml_assertion" | "provisioned_entitlements" | "skip_if_blank" => {
                    if !v.is_boolean() {
                        return Err(field(&format!(
                            "Validation failed: {k} must be true or false"
                        )));
                    }
                    p.insert(k.clone(), v.clone());
                }
                "label"
                | "user_attribute_mappings"
                | "user_attribute_macros"
                | "default_values"
                | "attributes_transformations" => {
                    if !(v.is_string() || v.is_null()) {
                        return Err(field(&format!("Validation failed: {k} must be a string")));
                    }
                    p.insert(k.clone(), v.clone());
                }
                _ => {
                    p.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Ok(())
}

/// The read-only `sso` object of a new app.
pub(super) fn sso(t: &mut Tenant, app: &App, subdomain: &str) -> Map<String, Value> {
    let bytes: [u8; 16] = t.rng.random();
    let h = hex::encode(bytes);
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    );
    let v = match app.auth_method {
        8 => {
            let secret: [u8; 32] = t.rng.random();
            json!({"client_id": format!("{uuid}{}", app.id), "client_secret": hex::encode(secret)})
        }
        2 => {
            let metadata = format!("https://app.onelogin.com/saml/metadata/{uuid}");
            json!({
                "metadata_url": metadata,
                "acs_url": format!("https://{subdomain}.onelogin.com/trust/saml2/http-post/sso/{}", app.id),
                "sls_url": format!("https://{subdomain}.onelogin.com/trust/saml2/http-redirect/slo/{}", app.id),
                "issuer": metadata,
                "certificate": {
                    "id": DEFAULT_CERTIFICATE_ID, "name": "Standard Certificate",
                    "value": "-----BEGIN CERTIFICATE-----\nMIIBsimulatedcertificate\n-----END CERTIFICATE-----",
                },
            })
        }
        _ => json!({}),
    };
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
