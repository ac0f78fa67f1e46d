//! App writes a migration into Okta makes: create a bookmark, a custom SAML 2.0, an OIDC or
//! a SWA (`AUTO_LOGIN`) app (`POST /api/v1/apps`), and assign groups to it
//! (`PUT`/`DELETE /api/v1/apps/{appId}/groups/{groupId}`).
//!
//! Validation follows the spec's required fields and enums: a bookmark needs
//! `name: bookmark` and `settings.app.url`; a SAML app the five required `signOn` booleans
//! plus `ssoAcsUrl` and `audience` (the spec: set `ssoAcsUrl` to configure anything else);
//! an OIDC app `name: oidc_client`, `credentials.oauthClient` and `settings.oauthClient`
//! with `grant_types`, redirect URIs for the browser flows, and a grant/application type
//! combination Okta allows. A label already used by another app is 400 `E0000040`. OIN
//! catalogue apps (e.g. `name: salesforce`) are not simulated: a SAML or SWA app is always
//! created as a custom app with a generated name.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{ObjRec, Okta, Res, body_json, error, malformed, not_found, okta_id, validation};
use crate::sandbox::api::{SimRequest, SimResponse};
use crate::sandbox::seed::{Mix, now_iso};

const KIND_CREATED_APP: u64 = 14;
const KIND_CREATED_SECRET: u64 = 15;

const NAME_ID_FORMATS: &[&str] = &[
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:x509SubjectName",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
];
const ATTRIBUTE_NAMESPACES: &[&str] = &[
    "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
    "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
    "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified",
];
const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "implicit",
    "refresh_token",
    "client_credentials",
    "password",
    "interaction_code",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:openid:params:grant-type:ciba",
];
const AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
];

/// A field error: `(field, cause)`, answered as 400 `E0000001`.
type Bad = (String, String);

fn bad(field: &str, cause: impl Into<String>) -> Bad {
    (field.to_string(), cause.into())
}

fn is_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

fn url_field(obj: &Map<String, Value>, key: &str, path: &str) -> Result<String, Bad> {
    match obj.get(key) {
        Some(Value::String(s)) if is_url(s) => Ok(s.clone()),
        Some(Value::String(s)) if !s.trim().is_empty() => {
            Err(bad(path, "Must be an absolute http or https URL"))
        }
        _ => Err(bad(path, "The field cannot be left blank")),
    }
}

fn enum_field(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    allowed: &[&str],
    default: &str,
) -> Result<String, Bad> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(default.to_string()),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(s.clone()),
        Some(_) => Err(bad(path, format!("must be one of {}", allowed.join(", ")))),
    }
}

fn strings(v: Option<&Value>, path: &str) -> Result<Vec<String>, Bad> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(path, "must be an array of strings"))
            })
            .collect(),
        Some(_) => Err(bad(path, "must be an array of strings")),
    }
}

/// `settings.signOn` of a custom SAML 2.0 app, completed with Okta's defaults.
fn saml_sign_on(settings: &Map<String, Value>) -> Result<Value, Bad> {
    let Some(Value::Object(so)) = settings.get("signOn") else {
        return Err(bad("settings.signOn", "The field cannot be left blank"));
    };
    let mut out = so.clone();
    for key in [
        "assertionSigned",
        "responseSigned",
        "requestCompressed",
        "honorForceAuthn",
        "allowMultipleAcsEndpoints",
    ] {
        if !so.get(key).is_some_and(Value::is_boolean) {
            return Err(bad(
                &format!("settings.signOn.{key}"),
                "The field is required and must be true or false",
            ));
        }
    }
    let acs = url_field(so, "ssoAcsUrl", "settings.signOn.ssoAcsUrl")?;
    match so.get("audience") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        _ => {
            return Err(bad(
                "settings.signOn.audience",
                "The field cannot be left blank",
            ));
        }
    }
    for key in ["recipient", "destination"] {
        match so.get(key) {
            None | Some(Value::Null) => {
                out.insert(key.into(), json!(acs));
            }
            Some(_) => {
                url_field(so, key, &format!("settings.signOn.{key}"))?;
            }
        }
    }
    let fields: [(&str, &[&str], &str); 3] = [
        ("subjectNameIdFormat", NAME_ID_FORMATS, NAME_ID_FORMATS[0]),
        (
            "signatureAlgorithm",
            &["RSA_SHA256", "RSA_SHA1"],
            "RSA_SHA256",
        ),
        ("digestAlgorithm", &["SHA256", "SHA1"], "SHA256"),
    ];
    for (key, allowed, default) in fields {
        let v = enum_field(so, key, &format!("settings.signOn.{key}"), allowed, default)?;
        out.insert(key.into(), json!(v));
    }
    out.entry("subjectNameIdTemplate")
        .or_insert(json!("${user.userName}"));
    out.entry("idpIssuer")
        .or_insert(json!("http://www.okta.com/${org.externalKey}"));
    out.entry("defaultRelayState").or_insert(Value::Null);
    out.entry("spIssuer").or_insert(Value::Null);
    out.entry("slo").or_insert(json!({ "enabled": false }));
    let endpoints = match so.get("acsEndpoints") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(bad("settings.signOn.acsEndpoints", "must be an array")),
    };
    if endpoints.len() > 100 {
        return Err(bad(
            "settings.signOn.acsEndpoints",
            "You can configure a maximum of 100 endpoints",
        ));
    }
    for e in &endpoints {
        let ok = e.get("url").and_then(Value::as_str).is_some_and(is_url)
            && e.get("index").is_some_and(|i| i.as_u64().is_some());
        if !ok {
            return Err(bad(
                "settings.signOn.acsEndpoints",
                "each endpoint needs a `url` and an integer `index`",
            ));
        }
    }
    out.insert("acsEndpoints".into(), Value::Array(endpoints));
    let statements = match so.get("attributeStatements") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return Err(bad(
                "settings.signOn.attributeStatements",
                "must be an array",
            ));
        }
    };
    for st in &statements {
        let f = |k: &str| st.get(k).and_then(Value::as_str).unwrap_or("");
        let path = "settings.signOn.attributeStatements";
        if f("name").is_empty() {
            return Err(bad(path, "each statement needs a `name`"));
        }
        if !ATTRIBUTE_NAMESPACES.contains(&f("namespace")) {
            return Err(bad(
                path,
                "`namespace` must be a SAML 2.0 attrname-format URN (basic, uri, unspecified)",
            ));
        }
        match f("type") {
            "EXPRESSION" => {
                if !st.get("values").is_some_and(Value::is_array) {
                    return Err(bad(path, "an EXPRESSION statement needs `values`"));
                }
            }
            "GROUP" => {
                if !matches!(
                    f("filterType"),
                    "STARTS_WITH" | "EQUALS" | "CONTAINS" | "REGEX"
                ) || f("filterValue").is_empty()
                {
                    return Err(bad(
                        path,
                        "a GROUP statement needs `filterType` (STARTS_WITH, EQUALS, CONTAINS, REGEX) and `filterValue`",
                    ));
                }
            }
            _ => return Err(bad(path, "`type` must be EXPRESSION or GROUP")),
        }
    }
    out.insert("attributeStatements".into(), Value::Array(statements));
    Ok(Value::Object(out))
}

/// `settings.oauthClient` and `credentials.oauthClient` of an OIDC app, checked and
/// completed; the client secret (if the auth method uses one) is generated.
fn oidc_client(
    settings: &Map<String, Value>,
    credentials: &Map<String, Value>,
    client_id: &str,
    secret: Option<String>,
) -> Result<(Value, Value), Bad> {
    let Some(Value::Object(cred)) = credentials.get("oauthClient") else {
        return Err(bad(
            "credentials.oauthClient",
            "The field cannot be left blank",
        ));
    };
    let Some(Value::Object(client)) = settings.get("oauthClient") else {
        return Err(bad(
            "settings.oauthClient",
            "The field cannot be left blank",
        ));
    };
    let grants = strings(
        client.get("grant_types"),
        "settings.oauthClient.grant_types",
    )?;
    if grants.is_empty() {
        return Err(bad(
            "settings.oauthClient.grant_types",
            "The field cannot be left blank",
        ));
    }
    if let Some(g) = grants.iter().find(|g| !GRANT_TYPES.contains(&g.as_str())) {
        return Err(bad(
            "settings.oauthClient.grant_types",
            format!("unknown grant type `{g}`"),
        ));
    }
    let app_type = enum_field(
        client,
        "application_type",
        "settings.oauthClient.application_type",
        &["web", "native", "browser", "service"],
        "web",
    )?;
    let has = |g: &str| grants.iter().any(|x| x == g);
    let browser_flow = has("authorization_code") || has("implicit");
    if app_type == "service" && (browser_flow || !has("client_credentials")) {
        return Err(bad(
            "settings.oauthClient.grant_types",
            "a service app uses client_credentials only",
        ));
    }
    if app_type != "service" && has("client_credentials") && app_type != "web" {
        return Err(bad(
            "settings.oauthClient.grant_types",
            format!("client_credentials is not allowed for a {app_type} app"),
        ));
    }
    let redirect_uris = strings(
        client.get("redirect_uris"),
        "settings.oauthClient.redirect_uris",
    )?;
    if browser_flow && redirect_uris.is_empty() {
        return Err(bad(
            "settings.oauthClient.redirect_uris",
            "authorization_code and implicit need at least one redirect URI",
        ));
    }
    let mut response_types = strings(
        client.get("response_types"),
        "settings.oauthClient.response_types",
    )?;
    if response_types.is_empty() {
        response_types = if has("implicit") && !has("authorization_code") {
            vec!["token".into(), "id_token".into()]
        } else {
            vec!["code".into()]
        };
    }
    for r in &response_types {
        let ok = match r.as_str() {
            "code" => has("authorization_code"),
            "token" | "id_token" => has("implicit"),
            _ => false,
        };
        if !ok {
            return Err(bad(
                "settings.oauthClient.response_types",
                format!("response type `{r}` does not match the grant types"),
            ));
        }
    }
    let auth_default = if app_type == "browser" {
        "none"
    } else {
        "client_secret_basic"
    };
    let auth = enum_field(
        cred,
        "token_endpoint_auth_method",
        "credentials.oauthClient.token_endpoint_auth_method",
        AUTH_METHODS,
        auth_default,
    )?;
    if app_type == "browser" && auth != "none" {
        return Err(bad(
            "credentials.oauthClient.token_endpoint_auth_method",
            "a browser app has no client secret: use `none`",
        ));
    }
    let mut s = client.clone();
    s.insert("redirect_uris".into(), json!(redirect_uris));
    s.insert("response_types".into(), json!(response_types));
    s.insert("grant_types".into(), json!(grants));
    s.insert("application_type".into(), json!(app_type));
    s.entry("post_logout_redirect_uris").or_insert(json!([]));
    s.entry("consent_method").or_insert(json!("TRUSTED"));
    s.entry("issuer_mode").or_insert(json!("ORG_URL"));
    s.entry("wildcard_redirect").or_insert(json!("DISABLED"));
    s.entry("idp_initiated_login")
        .or_insert(json!({ "mode": "DISABLED", "default_scope": [] }));
    let mut c = cred.clone();
    c.insert("client_id".into(), json!(client_id));
    c.insert("token_endpoint_auth_method".into(), json!(auth));
    c.entry("autoKeyRotation").or_insert(json!(true));
    c.entry("pkce_required")
        .or_insert(json!(matches!(app_type.as_str(), "browser" | "native")));
    if matches!(
        auth.as_str(),
        "client_secret_basic" | "client_secret_post" | "client_secret_jwt"
    ) && let Some(secret) = secret
    {
        c.insert("client_secret".into(), json!(secret));
    }
    Ok((Value::Object(s), Value::Object(c)))
}

/// A lower-case key from a label, as Okta derives custom app names.
fn name_key(label: &str) -> String {
    label
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(40)
        .collect()
}

impl Okta {
    pub(super) fn create_app(&self, req: &SimRequest, route: &str) -> Res {
        let Some(body) = body_json(req).filter(Value::is_object) else {
            return malformed(route);
        };
        let activate = match req.query_param("activate") {
            None => true,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(_) => return validation("activate", "must be true or false", route),
        };
        let label = match body.get("label") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            _ => return validation("label", "The field cannot be left blank", route),
        };
        if label.chars().count() > 100 {
            return validation("label", "The field cannot exceed 100 characters", route);
        }
        let mode = body
            .get("signOnMode")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let empty = Map::new();
        let settings = body
            .get("settings")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let credentials = body
            .get("credentials")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let name_given = body.get("name").and_then(Value::as_str);
        let mut st = self.write();
        let taken = st.apps.values().any(|a| {
            a.value["label"]
                .as_str()
                .is_some_and(|l| l.eq_ignore_ascii_case(&label))
        });
        if taken {
            return error(
                400,
                "E0000040",
                "Application label must not be the same as an existing application label.",
                &[format!(
                    "label: An app with the label `{label}` already exists"
                )],
                route,
            );
        }
        let n = st.next_app;
        let id = okta_id("0oa", st.seed, KIND_CREATED_APP, n);
        let mut mix = Mix::new(&[st.seed, KIND_CREATED_SECRET, n]);
        let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
        let mut random = |len: usize| -> String {
            (0..len)
                .map(|_| alphabet[mix.below(alphabet.len() as u64) as usize] as char)
                .collect()
        };
        let kid = random(43);
        let custom_name = format!("sandbox_{}_{}", name_key(&label), n + 1);
        let app_settings = settings.get("app").cloned().unwrap_or(json!({}));
        if !app_settings.is_object() {
            return validation("settings.app", "must be an object", route);
        }
        let notes = settings
            .get("notes")
            .cloned()
            .unwrap_or(json!({ "admin": null, "enduser": null }));
        let built: Result<(String, Value, Value, Value), Bad> = match mode.as_str() {
            "BOOKMARK" => (|| {
                if name_given != Some("bookmark") {
                    return Err(bad("name", "a BOOKMARK app's name is `bookmark`"));
                }
                let mut app = app_settings.as_object().cloned().unwrap_or_default();
                url_field(&app, "url", "settings.app.url")?;
                match app.get("requestIntegration") {
                    None | Some(Value::Null) => {
                        app.insert("requestIntegration".into(), json!(false));
                    }
                    Some(Value::Bool(_)) => {}
                    Some(_) => {
                        return Err(bad(
                            "settings.app.requestIntegration",
                            "must be true or false",
                        ));
                    }
                }
                let settings = json!({ "app": app, "notes": notes });
                let creds = json!({ "userNameTemplate": { "template": "${source.login}", "type": "BUILT_IN" }, "signing": {} });
                Ok(("bookmark".to_string(), settings, creds, json!("login")))
            })(),
            "SAML_2_0" => saml_sign_on(settings).map(|sign_on| {
                let template = credentials
                    .get("userNameTemplate")
                    .cloned()
                    .unwrap_or(json!({ "template": "${source.login}", "type": "BUILT_IN" }));
                let settings = json!({ "app": app_settings, "signOn": sign_on, "notes": notes });
                let creds = json!({ "userNameTemplate": template, "signing": { "kid": kid } });
                (
                    custom_name.clone(),
                    settings,
                    creds,
                    json!(format!("{custom_name}_link")),
                )
            }),
            "OPENID_CONNECT" => (|| {
                if name_given != Some("oidc_client") {
                    return Err(bad("name", "an OPENID_CONNECT app's name is `oidc_client`"));
                }
                let (client, creds) = oidc_client(settings, credentials, &id, Some(random(64)))?;
                let settings =
                    json!({ "app": app_settings, "oauthClient": client, "notes": notes });
                let mut c = json!({ "userNameTemplate": { "template": "${source.login}", "type": "BUILT_IN" },
                                    "signing": { "kid": kid } });
                c["oauthClient"] = creds;
                Ok((
                    "oidc_client".to_string(),
                    settings,
                    c,
                    json!("oidc_client_link"),
                ))
            })(),
            "AUTO_LOGIN" => (|| {
                let Some(Value::Object(so)) = settings.get("signOn") else {
                    return Err(bad("settings.signOn", "The field cannot be left blank"));
                };
                url_field(so, "loginUrl", "settings.signOn.loginUrl")?;
                if so.get("redirectUrl").is_some_and(|v| !v.is_null()) {
                    url_field(so, "redirectUrl", "settings.signOn.redirectUrl")?;
                }
                let settings = json!({ "app": app_settings, "signOn": so, "notes": notes });
                let creds = json!({ "scheme": "EDIT_USERNAME_AND_PASSWORD",
                    "userNameTemplate": { "template": "${source.login}", "type": "BUILT_IN" },
                    "revealPassword": false, "signing": {} });
                Ok((custom_name.clone(), settings, creds, json!("login")))
            })(),
            "" => Err(bad("signOnMode", "The field cannot be left blank")),
            other => Err(bad(
                "signOnMode",
                format!(
                    "`{other}` apps are not simulated; use BOOKMARK, SAML_2_0, OPENID_CONNECT or AUTO_LOGIN"
                ),
            )),
        };
        let (name, settings, credentials, link) = match built {
            Ok(b) => b,
            Err((field, cause)) => return validation(&field, &cause, route),
        };
        st.next_app += 1;
        let now = now_iso();
        let b = &self.base_url;
        let link = link.as_str().unwrap_or("login").to_string();
        let mut app = json!({
            "id": id,
            "name": name,
            "label": label,
            "status": if activate { "ACTIVE" } else { "INACTIVE" },
            "lastUpdated": now,
            "created": now,
            "accessibility": body.get("accessibility").cloned().unwrap_or(
                json!({ "selfService": false, "errorRedirectUrl": null, "loginRedirectUrl": null })),
            "visibility": body.get("visibility").cloned().unwrap_or(
                json!({ "autoLaunch": false, "autoSubmitToolbar": false,
                        "hide": { "iOS": false, "web": false }, "appLinks": { link.clone(): true } })),
            "features": [],
            "signOnMode": mode,
            "credentials": credentials,
            "settings": settings,
            "_links": {
                "appLinks": [{ "name": link, "href": format!("{b}/home/{name}/{id}/{link}"), "type": "text/html" }],
                "groups": { "href": format!("{b}/api/v1/apps/{id}/groups") },
                "logo": [{ "name": "medium", "href": format!("{b}/assets/img/logos/default.png"), "type": "image/png" }],
                "users": { "href": format!("{b}/api/v1/apps/{id}/users") },
                "deactivate": { "href": format!("{b}/api/v1/apps/{id}/lifecycle/deactivate") },
                "self": { "href": format!("{b}/api/v1/apps/{id}") }
            }
        });
        let out = app.clone();
        // the client secret is shown once, in the create response
        if let Some(c) = app["credentials"]["oauthClient"].as_object_mut() {
            c.remove("client_secret");
        }
        st.apps.insert(id.clone(), Arc::new(ObjRec::new(app)));
        st.app_groups.entry(id.clone()).or_default();
        st.app_users.entry(id).or_default();
        SimResponse::json(200, route, &out)
    }

    /// An `ApplicationGroupAssignment` as Okta returns it.
    fn assignment(&self, app: &str, gid: &str, priority: usize, updated: &Value) -> Value {
        let b = &self.base_url;
        json!({
            "id": gid,
            "lastUpdated": updated,
            "priority": priority,
            "profile": {},
            "_links": {
                "app": { "href": format!("{b}/api/v1/apps/{app}") },
                "self": { "href": format!("{b}/api/v1/apps/{app}/groups/{gid}") },
                "group": { "href": format!("{b}/api/v1/groups/{gid}") }
            }
        })
    }

    /// `GET /api/v1/apps/{appId}/groups/{groupId}`.
    pub(super) fn get_app_group(&self, app: &str, gid: &str, route: &str) -> Res {
        let st = self.read();
        let Some(a) = st.apps.get(app) else {
            return not_found(app, "AppInstance", route);
        };
        match st
            .app_groups
            .get(app)
            .and_then(|gs| gs.iter().position(|g| g == gid))
        {
            Some(p) => SimResponse::json(
                200,
                route,
                &self.assignment(app, gid, p, &a.value["lastUpdated"]),
            ),
            None => not_found(gid, "ApplicationGroupAssignment", route),
        }
    }

    /// `PUT /api/v1/apps/{appId}/groups/{groupId}` (body optional: `priority`, `profile`):
    /// 200 with the assignment; assigning again moves it to the new priority.
    pub(super) fn assign_app_group(
        &self,
        req: &SimRequest,
        app: &str,
        gid: &str,
        route: &str,
    ) -> Res {
        let Some(body) = body_json(req).filter(Value::is_object) else {
            return malformed(route);
        };
        let priority = match body.get("priority") {
            None | Some(Value::Null) => None,
            Some(p) => match p.as_u64() {
                Some(p) => Some(p as usize),
                None => {
                    return validation("priority", "must be a non-negative integer", route);
                }
            },
        };
        let mut st = self.write();
        if !st.apps.contains_key(app) {
            return not_found(app, "AppInstance", route);
        }
        if !st.groups.contains_key(gid) {
            return not_found(gid, "UserGroup", route);
        }
        let groups = st.app_groups.entry(app.to_string()).or_default();
        let existing = groups.iter().position(|g| g == gid);
        let at = match (existing, priority) {
            (Some(p), None) => p,
            (existing, priority) => {
                if let Some(p) = existing {
                    groups.remove(p);
                }
                let at = priority.unwrap_or(groups.len()).min(groups.len());
                groups.insert(at, gid.to_string());
                at
            }
        };
        let now = json!(now_iso());
        SimResponse::json(200, route, &self.assignment(app, gid, at, &now))
    }

    /// `DELETE /api/v1/apps/{appId}/groups/{groupId}`: 204, or 404 when not assigned.
    pub(super) fn unassign_app_group(&self, app: &str, gid: &str, route: &str) -> Res {
        let mut st = self.write();
        if !st.apps.contains_key(app) {
            return not_found(app, "AppInstance", route);
        }
        let groups = st.app_groups.entry(app.to_string()).or_default();
        match groups.iter().position(|g| g == gid) {
            Some(p) => {
                groups.remove(p);
                SimResponse::empty(204, route)
            }
            None => not_found(gid, "ApplicationGroupAssignment", route),
        }
    }
}
