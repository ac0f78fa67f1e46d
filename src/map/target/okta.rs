//! The Okta target adapter: canonical identities, groups and apps turned into the payloads of
//! Okta's management API (`POST /api/v1/users`, `/api/v1/groups`, `/api/v1/apps`).
//!
//! A user becomes a `CreateUserRequest`: `profile` with Okta's base attributes and the custom
//! ones, `credentials.password` when the source has a hash Okta imports (or a cleartext
//! password a staging file allowed), and one field of idm's own, `status`: the lifecycle
//! state the user should end in, which idm-load reaches with Okta's lifecycle calls after the
//! create (`activate=false` first, never an activation email). `groupIds` are resolved at load
//! time, where the group ids are known.
//!
//! | canonical status | Okta status | how |
//! |---|---|---|
//! | active | `ACTIVE` (`PROVISIONED` when the user has no password) | activate, `sendEmail=false` |
//! | staged | `STAGED` | created with `activate=false` |
//! | provisioned | `PROVISIONED` | activate without a password |
//! | recovery, password expired, locked out | `ACTIVE` | activate; the state itself cannot be set |
//! | suspended | `SUSPENDED` | activate, then suspend (`STAGED` when the user has no password: Okta suspends only active users) |
//! | deprovisioned | `DEPROVISIONED` | deactivate |
//!
//! Custom attribute names follow Okta's variable names: a name that is one (`costCenter`,
//! `plan_tier`) is kept; any other is made camelCase from its words (`Cost Center` →
//! `costCenter`, `2fa-method` → `attr2faMethod`). Okta requires `login` in email form: a login
//! without `@` becomes `login@DOMAIN` with `--email-domain DOMAIN` (and a warning), and is
//! rejected with that hint without it.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{AttributeOut, Complex, TargetAdapter, UserContext, UserOut};
use crate::map::Trace;
use crate::map::canonical::{AccountStatus, App, Field, Group, Identity, Password, SignOn};
use crate::map::connectors::Connectors;
use crate::map::normalize::{compact_json, flatten};
use crate::map::rules::CustomRule;
use crate::map::source::AttributeIn;

/// Base profile attributes and the canonical field each comes from, in payload order.
pub const PROFILE_FIELDS: &[(&str, Field)] = &[
    ("login", Field::UserName),
    ("email", Field::Email),
    ("firstName", Field::GivenName),
    ("lastName", Field::FamilyName),
    ("displayName", Field::DisplayName),
    ("secondEmail", Field::SecondEmail),
    ("mobilePhone", Field::MobilePhone),
    ("primaryPhone", Field::Phone),
    ("streetAddress", Field::StreetAddress),
    ("city", Field::Locality),
    ("state", Field::Region),
    ("zipCode", Field::PostalCode),
    ("countryCode", Field::CountryCode),
    ("locale", Field::Locale),
    ("title", Field::Title),
    ("organization", Field::Organization),
    ("department", Field::Department),
    ("employeeNumber", Field::EmployeeNumber),
];

pub use crate::provider::okta::BASE_PROPERTIES;

/// Profile string limits Okta documents (okta-api.md §4.3); longer values are rejected here,
/// naming the field, rather than failing in idm-load.
const LIMITS: &[(&str, usize)] = &[
    ("login", 100),
    ("email", 100),
    ("firstName", 50),
    ("lastName", 50),
    ("secondEmail", 100),
    ("mobilePhone", 100),
    ("primaryPhone", 100),
    ("streetAddress", 1024),
    ("city", 128),
    ("state", 128),
    ("zipCode", 50),
    ("countryCode", 2),
    ("postalAddress", 4096),
];

/// What fills a required name Okta would refuse empty (the Stormpath importer's choice).
pub const NOT_PROVIDED: &str = "not_provided";

/// The custom attribute `--complex stringify` writes to.
pub const STRINGIFY_ATTRIBUTE: &str = "customData";

pub fn is_base_property(name: &str) -> bool {
    BASE_PROPERTIES.contains(&name)
}

/// Whether `name` is a valid Okta profile variable name as given.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

/// A source field name as an Okta variable name: kept when it is one, else camelCase of its
/// words (a leading digit gets `attr` in front).
pub fn variable_name(source: &str) -> Option<String> {
    let trimmed = source.trim();
    if is_variable_name(trimmed) {
        return Some(trimmed.to_string());
    }
    let mut out = String::new();
    for word in trimmed
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if out.is_empty() {
            let mut cs = word.chars();
            if let Some(first) = cs.next() {
                out.push(first.to_ascii_lowercase());
                out.push_str(cs.as_str());
            }
        } else {
            let mut cs = word.chars();
            if let Some(first) = cs.next() {
                out.push(first.to_ascii_uppercase());
                out.push_str(cs.as_str());
            }
        }
    }
    if out.is_empty() {
        return None;
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        let mut cs = out.chars();
        let first = cs.next().unwrap_or('0');
        out = format!("attr{first}{}", cs.as_str());
    }
    out.truncate(64);
    Some(out)
}

/// The Okta status a canonical status ends in (see the module's table).
pub fn okta_status(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Staged => "STAGED",
        AccountStatus::Provisioned => "PROVISIONED",
        AccountStatus::Active
        | AccountStatus::Recovery
        | AccountStatus::PasswordExpired
        | AccountStatus::LockedOut => "ACTIVE",
        AccountStatus::Suspended => "SUSPENDED",
        AccountStatus::Deprovisioned => "DEPROVISIONED",
    }
}

/// Okta as a [`TargetAdapter`].
#[derive(Debug, Default)]
pub struct Okta {
    /// Turn logins that are not email addresses into `login@DOMAIN`.
    pub login_domain: Option<String>,
    names: HashMap<String, Option<String>>,
}

impl Okta {
    pub fn new(login_domain: Option<String>) -> Okta {
        Okta {
            login_domain,
            names: HashMap::new(),
        }
    }
}

/// The JSON type of a value, as Okta's schema names it.
fn json_type(v: &Value) -> Option<&'static str> {
    Some(match v {
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::Array(_) => "array",
        _ => return None,
    })
}

/// An array Okta can hold: scalars of one type. `None` for anything else.
fn scalar_array_type(items: &[Value]) -> Option<&'static str> {
    let mut ty = None;
    for item in items {
        let t = match json_type(item)? {
            "array" => return None,
            "integer" => "number",
            t => t,
        };
        match ty {
            None => ty = Some(t),
            Some(prev) if prev == t => {}
            Some(_) => return None,
        }
    }
    Some(ty.unwrap_or("string"))
}

impl TargetAdapter for Okta {
    fn name(&self) -> &'static str {
        "okta"
    }

    fn user_fields(&self) -> Vec<(&'static str, Option<Field>)> {
        let mut out: Vec<(&'static str, Option<Field>)> = Vec::new();
        for name in BASE_PROPERTIES {
            let field = PROFILE_FIELDS
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, f)| *f);
            out.push((name, field));
        }
        out
    }

    fn check_field_value(&self, field: &str, what: &str, value: &Value) -> Result<(), String> {
        match value {
            Value::String(s) if !s.trim().is_empty() => Ok(()),
            _ => Err(format!(
                "`users.fields.{field}.{what}` must be a non-empty string"
            )),
        }
    }

    fn fields_container(&self) -> Option<&'static str> {
        Some("profile")
    }

    fn is_valid_attribute_name(&self, name: &str) -> bool {
        is_variable_name(name)
    }

    fn attribute_name(&mut self, source_name: &str) -> Option<String> {
        if let Some(hit) = self.names.get(source_name) {
            return hit.clone();
        }
        let out = variable_name(source_name);
        if self.names.len() < 16 * 1024 {
            self.names.insert(source_name.to_string(), out.clone());
        }
        out
    }

    fn is_reserved_name(&self, name: &str) -> bool {
        is_base_property(name)
    }

    fn user(
        &mut self,
        who: &mut Identity<'_>,
        cx: &UserContext<'_>,
        trace: &mut Trace,
    ) -> Result<UserOut, String> {
        let mut out = UserOut {
            warnings: std::mem::take(&mut who.warnings),
            ..UserOut::default()
        };
        let mut profile = Map::new();
        for (name, field) in PROFILE_FIELDS {
            if let Some(v) = who.get(*field) {
                trace.note(&format!("profile.{name}"), || v.from.to_string());
                profile.insert((*name).to_string(), Value::String(v.value.to_string()));
            }
        }
        // AD-style names only when the source had them as fields (not derived from a login)
        for (name, field) in [
            ("samAccountName", Field::SamAccountName),
            ("userPrincipalName", Field::UserPrincipalName),
            ("country", Field::Country),
            ("comment", Field::Comment),
        ] {
            if let Some(v) = who.get(field)
                && v.from
                    .strip_prefix("profile.")
                    .is_some_and(|k| k.eq_ignore_ascii_case(name))
            {
                trace.note(&format!("profile.{name}"), || v.from.to_string());
                profile.insert(name.to_string(), Value::String(v.value.to_string()));
            }
        }
        // login: Okta wants an email address
        match profile
            .get("login")
            .and_then(Value::as_str)
            .map(str::to_string)
        {
            Some(login) if login.contains('@') => {}
            Some(login) => match &self.login_domain {
                Some(domain) => {
                    let fixed = format!("{login}@{domain}");
                    out.warnings.push(format!(
                        "login `{login}` is not an email address: made `{fixed}` (okta logins are email addresses)"
                    ));
                    trace.note("profile.login", || format!("login + `@{domain}`"));
                    profile.insert("login".into(), Value::String(fixed));
                }
                None => {
                    return Err(format!(
                        "login `{login}` is not an email address, which okta requires: --email-domain DOMAIN makes `{login}@DOMAIN` of it"
                    ));
                }
            },
            None => match profile.get("email").cloned() {
                Some(email) => {
                    trace.note("profile.login", || "email (no login)".into());
                    profile.insert("login".into(), email);
                }
                None => return Err("no login and no email: nothing to sign in with".into()),
            },
        }
        if !profile.contains_key("email") {
            let login = profile["login"].clone();
            trace.note("profile.email", || "login (no email)".into());
            profile.insert("email".into(), login);
        }
        for name in ["firstName", "lastName"] {
            if !profile.contains_key(name) {
                out.warnings.push(format!(
                    "no `{name}`: okta requires one, `{NOT_PROVIDED}` was set"
                ));
                profile.insert(name.into(), Value::String(NOT_PROVIDED.into()));
            }
        }
        // custom fields: base properties go as they are, the rest are custom attributes
        let mut stringified: Option<Map<String, Value>> = None;
        for cf in &who.custom {
            let rule = cx.custom_rules.get(cf.name);
            if matches!(rule, Some(CustomRule::Drop)) {
                continue;
            }
            let renamed = match rule {
                Some(CustomRule::Rename(to)) => Some(to.clone()),
                _ => None,
            };
            let value = match &*cf.value {
                Value::Null => continue,
                Value::String(s) if s.trim().is_empty() => continue,
                Value::Array(items) if scalar_array_type(items).is_some() => {
                    cf.value.clone().into_owned()
                }
                Value::Array(_) | Value::Object(_) => match cx.complex {
                    Complex::Exclude => {
                        out.excluded.push(cf.path().to_string());
                        continue;
                    }
                    Complex::Stringify => {
                        stringified
                            .get_or_insert_with(Map::new)
                            .insert(cf.name.to_string(), cf.value.clone().into_owned());
                        continue;
                    }
                    Complex::Flatten => {
                        let mut leaves = Vec::new();
                        flatten(cf.name, &cf.value, &mut |joined, text| {
                            leaves.push((joined, text));
                        });
                        for (joined, text) in leaves {
                            let Some(name) = self.attribute_name(&joined) else {
                                continue;
                            };
                            if !profile.contains_key(&name) {
                                trace.note(&format!("profile.{name}"), || {
                                    format!("`{}` flattened as `{joined}`", cf.path())
                                });
                                profile.insert(name, Value::String(text));
                            }
                        }
                        continue;
                    }
                },
                other => other.clone(),
            };
            let name = match renamed {
                Some(n) => n,
                None => match self.attribute_name(cf.name) {
                    Some(n) => n,
                    None => {
                        out.warnings.push(format!(
                            "`{}` not migrated: it gives no usable okta property name",
                            cf.name
                        ));
                        continue;
                    }
                },
            };
            if profile.contains_key(&name) {
                if PROFILE_FIELDS.iter().any(|(n, _)| *n == name) {
                    continue; // the standard field has it already
                }
                out.warnings.push(format!(
                    "`{}` and another field both become `{name}`: kept the later",
                    cf.name
                ));
            }
            trace.note(&format!("profile.{name}"), || {
                if cf.secret {
                    format!("`{}` (a secret, not shown)", cf.path())
                } else {
                    format!("`{}`", cf.path())
                }
            });
            profile.insert(name, value);
        }
        if let Some(obj) = stringified {
            trace.note(&format!("profile.{STRINGIFY_ATTRIBUTE}"), || {
                "--complex stringify".into()
            });
            profile.insert(
                STRINGIFY_ATTRIBUTE.into(),
                Value::String(compact_json(&Value::Object(obj))),
            );
        }
        let status = okta_status(who.status);
        out.payload.insert("profile".into(), Value::Object(profile));
        match &who.password {
            Some(Password::Hash { hash, from }) => match hash.to_okta() {
                Ok(h) => {
                    trace.note("credentials.password.hash", || format!("`{from}` (masked)"));
                    out.payload
                        .insert("credentials".into(), json!({"password": {"hash": h}}));
                }
                Err(e) => {
                    out.password_dropped = true;
                    out.warnings.push(format!(
                        "password hash not migrated: {e}; the user will set a password (no random one is made)"
                    ));
                }
            },
            Some(Password::Unreadable { from, why }) => {
                out.password_dropped = true;
                out.warnings.push(format!(
                    "`{from}` is not a password hash idm reads ({why}): the user will set a password"
                ));
            }
            Some(Password::Clear { value, from }) => {
                trace.note("credentials.password.value", || {
                    format!("`{from}` (masked)")
                });
                out.payload.insert(
                    "credentials".into(),
                    json!({"password": {"value": value.expose()}}),
                );
            }
            None => {}
        }
        // Okta suspends only users that can sign in: without a password an activated user is
        // PROVISIONED, which cannot be suspended; kept STAGED it cannot sign in either
        let status = if status == "SUSPENDED" && !out.payload.contains_key("credentials") {
            out.warnings.push(
                "suspended, without a password okta can take: created STAGED (okta suspends only active users; a STAGED user cannot sign in)"
                    .into(),
            );
            "STAGED"
        } else {
            status
        };
        out.payload
            .insert("status".into(), Value::String(status.into()));
        trace.note("status", || {
            format!("status {:?} (status table)", who.status)
        });
        Ok(out)
    }

    fn finish_user(&self, payload: &mut Map<String, Value>) -> Result<(), String> {
        let Some(Value::Object(profile)) = payload.get("profile") else {
            return Err("no `profile`".into());
        };
        for (name, max) in LIMITS {
            if let Some(Value::String(s)) = profile.get(*name) {
                let n = s.chars().count();
                if n > *max {
                    return Err(format!(
                        "field `profile.{name}` is {n} characters long, over okta's limit of {max}"
                    ));
                }
            }
        }
        if let Some(Value::String(login)) = profile.get("login")
            && login.chars().count() < 5
        {
            return Err(format!(
                "login `{login}` is shorter than okta's 5 characters"
            ));
        }
        Ok(())
    }

    fn unique_key<'p>(&self, payload: &'p Map<String, Value>) -> Option<(&'static str, &'p str)> {
        payload
            .get("profile")
            .and_then(|p| p.get("login"))
            .and_then(Value::as_str)
            .map(|l| ("login", l))
    }

    fn group(
        &mut self,
        group: &Group<'_>,
        trace: &mut Trace,
    ) -> Result<Map<String, Value>, String> {
        let name = group.name.as_ref().ok_or("group has no name")?;
        trace.note("profile.name", || name.from.to_string());
        let mut profile = Map::new();
        profile.insert("name".into(), Value::String(name.value.trim().to_string()));
        if let Some(d) = group
            .description
            .as_deref()
            .filter(|d| !d.trim().is_empty())
        {
            profile.insert("description".into(), Value::String(d.to_string()));
        }
        let mut p = Map::new();
        p.insert("profile".into(), Value::Object(profile));
        Ok(p)
    }

    fn app(
        &mut self,
        app: &App<'_>,
        _connectors: &Connectors,
        trace: &mut Trace,
    ) -> Result<(Map<String, Value>, Vec<String>), String> {
        let mut warnings = Vec::new();
        let label = app
            .name
            .as_ref()
            .ok_or("app has no name")?
            .value
            .trim()
            .to_string();
        trace.note("label", || "name".into());
        let mut p = Map::new();
        p.insert("label".into(), Value::String(label));
        match (app.sign_on, app.sign_on_mode) {
            (SignOn::Saml, _) => {
                let s = app.saml.clone().unwrap_or_default();
                let Some(acs) = s.acs_url else {
                    return Err(
                        "saml app without an assertion consumer URL: okta needs `ssoAcsUrl`".into(),
                    );
                };
                let mut on = Map::new();
                on.insert("ssoAcsUrl".into(), json!(acs));
                on.insert("audience".into(), json!(s.audience.unwrap_or(acs)));
                on.insert("recipient".into(), json!(s.recipient.unwrap_or(acs)));
                on.insert("destination".into(), json!(s.destination.unwrap_or(acs)));
                if let Some(r) = s.relay_state {
                    on.insert("defaultRelayState".into(), json!(r));
                }
                on.insert("subjectNameIdTemplate".into(), json!("${user.userName}"));
                on.insert(
                    "subjectNameIdFormat".into(),
                    json!(
                        s.name_id_format
                            .unwrap_or("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
                    ),
                );
                let alg = match s.signature_algorithm {
                    Some("SHA-1") => "RSA_SHA1",
                    _ => "RSA_SHA256",
                };
                on.insert("signatureAlgorithm".into(), json!(alg));
                on.insert(
                    "digestAlgorithm".into(),
                    json!(if alg == "RSA_SHA1" { "SHA1" } else { "SHA256" }),
                );
                for (k, v) in [
                    ("responseSigned", true),
                    ("assertionSigned", true),
                    ("honorForceAuthn", true),
                    ("requestCompressed", false),
                    ("allowMultipleAcsEndpoints", false),
                ] {
                    on.insert(k.into(), json!(v));
                }
                let statements: Vec<Value> = s
                    .attributes
                    .iter()
                    .filter_map(|a| {
                        a.expression.map(|e| {
                            json!({"type": "EXPRESSION", "name": a.name,
                                   "namespace": "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified",
                                   "values": [e]})
                        })
                    })
                    .collect();
                if statements.len() < s.attributes.len() {
                    warnings.push(format!(
                        "{} saml attribute statements without an expression (group filters): add them by hand",
                        s.attributes.len() - statements.len()
                    ));
                }
                on.insert("attributeStatements".into(), Value::Array(statements));
                if let Some(l) = s.logout_url {
                    warnings.push(format!(
                        "saml single logout (`{l}`) needs the service provider's certificate: set it by hand"
                    ));
                }
                trace.note("settings.signOn", || "the source's SAML settings".into());
                p.insert("signOnMode".into(), json!("SAML_2_0"));
                p.insert("settings".into(), json!({"signOn": on}));
                warnings.push(
                    "a new SAML app has a new signing certificate and metadata URL: the service provider must be given them"
                        .into(),
                );
            }
            (SignOn::Oidc, _) => {
                let o = app.oidc.clone().unwrap_or_default();
                if o.redirect_uris.is_empty() {
                    return Err("oidc app without redirect URIs: okta needs them".into());
                }
                let grants = if o.grant_types.is_empty() {
                    vec!["authorization_code"]
                } else {
                    o.grant_types.clone()
                };
                let mut client = Map::new();
                client.insert("redirect_uris".into(), json!(o.redirect_uris));
                if !o.post_logout_redirect_uris.is_empty() {
                    client.insert(
                        "post_logout_redirect_uris".into(),
                        json!(o.post_logout_redirect_uris),
                    );
                }
                client.insert("grant_types".into(), json!(grants));
                if !o.response_types.is_empty() {
                    client.insert("response_types".into(), json!(o.response_types));
                }
                client.insert(
                    "application_type".into(),
                    json!(o.application_type.unwrap_or("web")),
                );
                if let Some(l) = o.login_url {
                    client.insert("initiate_login_uri".into(), json!(l));
                }
                trace.note("settings.oauthClient", || {
                    "the source's OIDC settings".into()
                });
                p.insert("name".into(), json!("oidc_client"));
                p.insert("signOnMode".into(), json!("OPENID_CONNECT"));
                p.insert(
                    "credentials".into(),
                    json!({"oauthClient": {"token_endpoint_auth_method":
                        o.token_endpoint_auth_method.unwrap_or("client_secret_basic")}}),
                );
                p.insert("settings".into(), json!({"oauthClient": client}));
                warnings.push(
                    "a new OIDC app has a new client id and secret: the application must be given them"
                        .into(),
                );
            }
            (_, Some("BOOKMARK")) | (_, None) => {
                let Some(url) = app.url else {
                    return Err(
                        "app without sign-on settings or a URL: okta can only recreate it by hand"
                            .into(),
                    );
                };
                trace.note("settings.app.url", || "the app's URL".into());
                p.insert("name".into(), json!("bookmark"));
                p.insert("signOnMode".into(), json!("BOOKMARK"));
                p.insert(
                    "settings".into(),
                    json!({"app": {"url": url, "requestIntegration": false}}),
                );
            }
            (_, Some(mode)) => {
                return Err(format!(
                    "sign-on mode `{mode}` is not created through okta's API by idm (only SAML 2.0, OIDC and bookmark apps): recreate it by hand"
                ));
            }
        }
        if !app.visible {
            p.insert(
                "visibility".into(),
                json!({"hide": {"iOS": true, "web": true}}),
            );
        }
        Ok((p, warnings))
    }

    fn attribute(
        &mut self,
        name: String,
        def: &AttributeIn<'_>,
        complex: Complex,
        trace: &mut Trace,
    ) -> AttributeOut {
        if is_base_property(&name) {
            return AttributeOut::Skipped(format!(
                "custom attribute `{}` not created: `{name}` is a base okta property",
                def.name
            ));
        }
        let (ty, items) = match def.value_type {
            Some("object") => match complex {
                Complex::Exclude => {
                    return AttributeOut::Skipped(format!(
                        "custom attribute `{}` holds objects, excluded by --complex exclude",
                        def.name
                    ));
                }
                Complex::Stringify => {
                    return AttributeOut::Skipped(format!(
                        "custom attribute `{}` holds objects, stored in `{STRINGIFY_ATTRIBUTE}` by --complex stringify",
                        def.name
                    ));
                }
                Complex::Flatten => ("string", None),
            },
            Some("array") => ("array", Some(def.item_type.unwrap_or("string"))),
            Some(t @ ("string" | "boolean" | "integer" | "number")) => (t, None),
            _ => ("string", None),
        };
        trace.note("type", || "the source's type".into());
        let mut p = Map::new();
        p.insert("name".into(), json!(name));
        p.insert(
            "title".into(),
            json!(
                def.title
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or(def.name)
            ),
        );
        p.insert("type".into(), json!(ty));
        if let Some(i) = items {
            p.insert("items".into(), json!({"type": i}));
        }
        if def.hidden {
            // hidden from the person in the source: hidden in the target too
            trace.note("hidden", || "the source hides it from the user".into());
            p.insert("hidden".into(), json!(true));
        }
        AttributeOut::Payload(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_okta_variable_names() {
        assert_eq!(variable_name("costCenter").unwrap(), "costCenter");
        assert_eq!(variable_name("plan_tier").unwrap(), "plan_tier");
        assert_eq!(variable_name("Cost Center").unwrap(), "costCenter");
        assert_eq!(variable_name("2fa-method").unwrap(), "attr2faMethod");
        assert_eq!(variable_name("  "), None);
        assert!(is_variable_name(&variable_name("é x").unwrap()));
    }

    #[test]
    fn statuses_follow_the_table() {
        assert_eq!(okta_status(AccountStatus::Active), "ACTIVE");
        assert_eq!(okta_status(AccountStatus::Staged), "STAGED");
        assert_eq!(okta_status(AccountStatus::Suspended), "SUSPENDED");
        assert_eq!(okta_status(AccountStatus::Deprovisioned), "DEPROVISIONED");
        assert_eq!(okta_status(AccountStatus::LockedOut), "ACTIVE");
    }

    #[test]
    fn arrays_of_one_scalar_type_are_kept() {
        assert_eq!(scalar_array_type(&[json!("a"), json!("b")]), Some("string"));
        assert_eq!(scalar_array_type(&[json!(1), json!(2.5)]), Some("number"));
        assert_eq!(scalar_array_type(&[json!(1), json!("x")]), None);
        assert_eq!(scalar_array_type(&[json!({"a": 1})]), None);
    }
}
