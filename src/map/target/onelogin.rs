//! The OneLogin target adapter: canonical identities, groups and apps turned into the payloads
//! of OneLogin's v2 API (`POST /api/2/users`, `/api/2/roles`, `/api/2/apps`).
//!
//! The user payload follows the reference toolkit's table (mapping.md) so its users get the
//! fields they expect, with the corrected status/state table, custom attributes normalized and
//! de-duplicated with a warning, complex values handled by an explicit strategy, and values
//! over OneLogin's field limits rejected rather than cut. Every field written can be traced to
//! its source (`--explain`).

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{AttributeOut, Complex, TargetAdapter, UserContext, UserOut};
use crate::map::Trace;
use crate::map::canonical::{
    AccountStatus, App, CustomField, Field, Group, Identity, Password, SignOn, UserRef,
};
use crate::map::connectors::{Connector, Connectors};
use crate::map::normalize::{
    compact_json, flatten, is_valid_shortname, normalize_name, scalar_text,
};
use crate::map::rules::CustomRule;
use crate::map::source::AttributeIn;

/// OneLogin as a [`TargetAdapter`].
#[derive(Debug, Default)]
pub struct OneLogin {
    names: NameCache,
}

impl TargetAdapter for OneLogin {
    fn name(&self) -> &'static str {
        "onelogin"
    }

    fn user_fields(&self) -> Vec<(&'static str, Option<Field>)> {
        let mut out: Vec<(&'static str, Option<Field>)> =
            USER_FIELDS.iter().map(|(n, f)| (*n, Some(*f))).collect();
        out.extend([("external_id", None), ("state", None), ("status", None)]);
        out
    }

    fn check_field_value(&self, field: &str, what: &str, v: &Value) -> Result<(), String> {
        match field {
            "state" => match v.as_u64() {
                Some(0..=3) => Ok(()),
                _ => Err(format!("`users.fields.state.{what}` must be 0, 1, 2 or 3")),
            },
            "status" => match v.as_u64() {
                Some(0..=5 | 7 | 8) => Ok(()),
                _ => Err(format!(
                    "`users.fields.status.{what}` must be one of 0, 1, 2, 3, 4, 5, 7, 8"
                )),
            },
            _ => match v {
                Value::String(s) if !s.trim().is_empty() => Ok(()),
                _ => Err(format!(
                    "`users.fields.{field}.{what}` must be a non-empty string"
                )),
            },
        }
    }

    fn is_valid_attribute_name(&self, name: &str) -> bool {
        is_valid_shortname(name)
    }

    fn attribute_name(&mut self, source_name: &str) -> Option<String> {
        self.names.normalize(source_name)
    }

    fn is_reserved_name(&self, name: &str) -> bool {
        is_top_level_user_field(name) || is_named_attribute(name)
    }

    fn is_named_attribute(&self, name: &str) -> bool {
        is_named_attribute(name)
    }

    fn user(
        &mut self,
        who: &mut Identity<'_>,
        cx: &UserContext<'_>,
        trace: &mut Trace,
    ) -> Result<UserOut, String> {
        user_payload(who, cx, &mut self.names, trace)
    }

    fn finish_user(&self, payload: &mut Map<String, Value>) -> Result<(), String> {
        check_limits(payload)?;
        if !payload.contains_key("email") {
            return Err(
                "missing email: no address in `profile.email`, `credentials.emails`, `profile.secondEmail` or `profile.login` (--email-domain DOMAIN makes one from the login)"
                    .into(),
            );
        }
        Ok(())
    }

    fn unique_key<'p>(&self, payload: &'p Map<String, Value>) -> Option<(&'static str, &'p str)> {
        payload
            .get("email")
            .and_then(Value::as_str)
            .map(|e| ("email", e))
    }

    fn group(
        &mut self,
        group: &Group<'_>,
        trace: &mut Trace,
    ) -> Result<Map<String, Value>, String> {
        role_payload(group, trace)
    }

    fn app(
        &mut self,
        app: &App<'_>,
        connectors: &Connectors,
        trace: &mut Trace,
    ) -> Result<(Map<String, Value>, Vec<String>), String> {
        let connector = connectors.lookup(app)?;
        app_payload(app, &connector, trace)
    }

    fn attribute(
        &mut self,
        shortname: String,
        def: &AttributeIn<'_>,
        complex: Complex,
        trace: &mut Trace,
    ) -> AttributeOut {
        if is_top_level_user_field(&shortname) {
            return AttributeOut::Skipped(format!(
                "custom attribute `{}` not migrated: its shortname `{shortname}` is a standard onelogin field",
                def.name
            ));
        }
        if let Some(ty @ ("array" | "object")) = def.value_type {
            match complex {
                Complex::Exclude => {
                    return AttributeOut::Skipped(format!(
                        "custom attribute `{}` holds {ty} values, excluded by --complex exclude",
                        def.name
                    ));
                }
                Complex::Stringify => {
                    return AttributeOut::Skipped(format!(
                        "custom attribute `{}` holds {ty} values, stored in `{STRINGIFY_ATTRIBUTE}` by --complex stringify",
                        def.name
                    ));
                }
                Complex::Flatten => {}
            }
        }
        trace.note("name", || "title (fallback: id)".into());
        AttributeOut::Payload(attribute_payload(shortname, def.title, def.name))
    }
}

/// Top-level user fields and the canonical field each comes from, in payload order.
pub const USER_FIELDS: &[(&str, Field)] = &[
    ("firstname", Field::GivenName),
    ("lastname", Field::FamilyName),
    ("email", Field::Email),
    ("username", Field::UserName),
    ("samaccountname", Field::SamAccountName),
    ("userprincipalname", Field::UserPrincipalName),
    ("phone", Field::Phone),
    ("company", Field::Organization),
    ("department", Field::Department),
    ("title", Field::Title),
    ("comment", Field::Comment),
    ("preferred_locale_code", Field::Locale),
];

/// Custom attributes the reference always fills from standard profile fields ("named
/// attributes"); they win over any other field that normalizes to the same shortname.
///
/// `mobile_phone` is one of them here, not a top-level field: OneLogin's v2 user has no
/// `mobile_phone` (the reference toolkit sends one, and the number is dropped without a word).
pub const NAMED_ATTRIBUTES: &[(&str, Field)] = &[
    ("mobile_phone", Field::MobilePhone),
    ("second_email", Field::SecondEmail),
    ("street_address", Field::StreetAddress),
    ("city", Field::Locality),
    ("state", Field::Region),
    ("zip_code", Field::PostalCode),
    ("country", Field::Country),
    ("country_code", Field::CountryCode),
    ("display_name", Field::DisplayName),
    ("employee_number", Field::EmployeeNumber),
];

/// The shortname `--complex stringify` writes to.
pub const STRINGIFY_ATTRIBUTE: &str = "custom_data";

/// Longest value accepted in a top-level string field of a user. OneLogin documents no limits
/// (onelogin-api.md); 255 is the conservative choice (UNCONFIRMED): an over-long value is
/// rejected here, with the field named, instead of failing later with a 422 or being cut.
pub const MAX_FIELD_CHARS: usize = 255;

/// True when `name` is a top-level key of the user payload (custom fields that normalize to
/// one are not migrated, as in the reference).
pub fn is_top_level_user_field(name: &str) -> bool {
    USER_FIELDS.iter().any(|(n, _)| *n == name)
        || matches!(
            name,
            "external_id" | "state" | "status" | "custom_attributes"
        )
}

/// True when `name` is one of the [`NAMED_ATTRIBUTES`].
pub fn is_named_attribute(name: &str) -> bool {
    NAMED_ATTRIBUTES.iter().any(|(n, _)| *n == name)
}

/// OneLogin's (state, status) for a source account status (mapping.md, "we differ": the
/// reference writes state 0 = Unapproved for every inactive user).
pub fn state_and_status(status: AccountStatus) -> (u8, u8) {
    match status {
        AccountStatus::Active => (1, 1),
        AccountStatus::Staged => (1, 0),
        AccountStatus::Provisioned => (1, 7),
        AccountStatus::Recovery => (1, 5),
        AccountStatus::PasswordExpired => (1, 4),
        AccountStatus::LockedOut => (1, 3),
        AccountStatus::Suspended | AccountStatus::Deprovisioned => (1, 2),
    }
}

/// Memoized [`normalize_name`]: the same few dozen keys repeat on every user. Bounded so that
/// a source with ever-new keys cannot grow it without limit.
#[derive(Debug, Default)]
pub struct NameCache {
    names: HashMap<String, Option<String>>,
}

const NAME_CACHE_MAX: usize = 16 * 1024;

impl NameCache {
    pub fn normalize(&mut self, name: &str) -> Option<String> {
        if let Some(hit) = self.names.get(name) {
            return hit.clone();
        }
        let out = normalize_name(name);
        if self.names.len() >= NAME_CACHE_MAX {
            self.names.clear();
        }
        self.names.insert(name.to_string(), out.clone());
        out
    }
}

/// Build the OneLogin user payload of one identity.
pub fn user_payload(
    who: &mut Identity<'_>,
    cx: &UserContext<'_>,
    names: &mut NameCache,
    trace: &mut Trace,
) -> Result<UserOut, String> {
    let mut out = UserOut {
        warnings: std::mem::take(&mut who.warnings),
        ..UserOut::default()
    };
    let p = &mut out.payload;
    for (name, field) in USER_FIELDS {
        if let Some(v) = who.get(*field) {
            trace.note(name, || v.from.to_string());
            p.insert((*name).to_string(), Value::String(v.value.to_string()));
        }
    }
    p.insert("external_id".into(), Value::String(who.id.to_string()));
    trace.note("external_id", || "id".into());
    let (state, status) = state_and_status(who.status);
    p.insert("state".into(), Value::from(state));
    p.insert("status".into(), Value::from(status));
    trace.note("state", || {
        format!("status {:?} (status table)", who.status)
    });
    trace.note("status", || {
        format!("status {:?} (status table)", who.status)
    });
    add_password(who, &mut out, trace);

    // custom attributes: named first (they win), then the rest in source order; `origin[i]`
    // says where the i-th attribute of `custom` came from
    let mut custom = Map::new();
    let mut origin: Vec<Origin<'_>> = Vec::new();
    for (name, field) in NAMED_ATTRIBUTES {
        if let Some(v) = who.get(*field) {
            if trace.enabled() {
                trace.note(&format!("custom_attributes.{name}"), || v.from.to_string());
            }
            custom.insert((*name).to_string(), Value::String(v.value.to_string()));
            origin.push(Origin::Field(v.from.clone()));
        }
    }
    let mut stringified: Option<Map<String, Value>> = None;
    for cf in &who.custom {
        let rule = cx.custom_rules.get(cf.name);
        if matches!(rule, Some(CustomRule::Drop)) {
            if trace.enabled() {
                trace.note(&format!("(dropped) {}", cf.path()), || {
                    "--mapping custom_attributes: null".into()
                });
            }
            continue;
        }
        let renamed = match rule {
            Some(CustomRule::Rename(to)) => Some(to.as_str()),
            _ => None,
        };
        match &*cf.value {
            Value::Array(_) | Value::Object(_) => match cx.complex {
                Complex::Exclude => out.excluded.push(cf.path().to_string()),
                Complex::Stringify => {
                    stringified
                        .get_or_insert_with(Map::new)
                        .insert(cf.name.to_string(), cf.value.clone().into_owned());
                }
                Complex::Flatten => {
                    let mut leaves = Vec::new();
                    flatten(
                        renamed.unwrap_or(cf.name),
                        &cf.value,
                        &mut |joined, text| {
                            leaves.push((joined, text));
                        },
                    );
                    for (joined, text) in leaves {
                        let Some(short) = names.normalize(&joined) else {
                            out.warnings.push(format!(
                                "`{}` not migrated: `{joined}` gives no usable attribute name",
                                cf.path()
                            ));
                            continue;
                        };
                        let from = Origin::Flattened(cf, joined);
                        add_custom(
                            &mut custom,
                            &mut origin,
                            &mut out.warnings,
                            short,
                            text,
                            from,
                            trace,
                        );
                    }
                }
            },
            scalar => {
                let Some(text) = scalar_text(scalar) else {
                    continue;
                };
                let name = renamed.unwrap_or(cf.name);
                let Some(short) = names.normalize(name) else {
                    out.warnings.push(format!(
                        "`{}` not migrated: `{name}` gives no usable attribute name",
                        cf.path()
                    ));
                    continue;
                };
                let text = text.into_owned();
                add_custom(
                    &mut custom,
                    &mut origin,
                    &mut out.warnings,
                    short,
                    text,
                    Origin::Key(cf),
                    trace,
                );
            }
        }
    }
    if let Some(obj) = stringified {
        let names: Vec<String> = obj.keys().cloned().collect();
        let text = compact_json(&Value::Object(obj));
        add_custom(
            &mut custom,
            &mut origin,
            &mut out.warnings,
            STRINGIFY_ATTRIBUTE.to_string(),
            text,
            Origin::Stringified(names),
            trace,
        );
    }
    if !custom.is_empty() {
        out.payload
            .insert("custom_attributes".into(), Value::Object(custom));
    }
    Ok(out)
}

/// The password fields of the payload (onelogin-api.md §6.4): a hash OneLogin can verify as
/// `password` (the hex digest, repeated in `password_confirmation`), `password_algorithm` and
/// `salt`; a cleartext password as `password` and `password_confirmation`. A hash it cannot
/// take leaves the user without a password (OneLogin then has them set one: status 7,
/// Password Pending), with a warning saying why; never a made-up password. Neither warnings
/// nor `--explain` show a digest, a salt or a password: only the algorithm and where it came
/// from.
fn add_password(who: &Identity<'_>, out: &mut UserOut, trace: &mut Trace) {
    let Some(password) = &who.password else {
        return;
    };
    let p = &mut out.payload;
    match password {
        Password::Hash { hash, from } => match hash.to_onelogin() {
            Ok(ol) => {
                p.insert("password".into(), Value::String(ol.hash_hex.clone()));
                p.insert("password_confirmation".into(), Value::String(ol.hash_hex));
                p.insert("password_algorithm".into(), Value::from(ol.algorithm));
                // an unsalted SHA-256 has no salt to send
                if !ol.salt.is_empty() {
                    p.insert("salt".into(), Value::String(ol.salt));
                    trace.note("salt", || format!("`{from}`: the salt as text (not shown)"));
                }
                for field in ["password", "password_confirmation"] {
                    trace.note(field, || {
                        format!("`{from}`: {hash}, as a hex digest (not shown)")
                    });
                }
                trace.note("password_algorithm", || {
                    format!("`{from}`: {hash} is `{}`", ol.algorithm)
                });
            }
            Err(e) => {
                out.password_dropped = true;
                out.warnings.push(format!(
                    "password not migrated: {e}; the user will set a password"
                ));
                trace.note("(no password)", || format!("`{from}`: {hash}"));
            }
        },
        Password::Unreadable { from, why } => {
            out.password_dropped = true;
            out.warnings.push(format!(
                "password not migrated: the hash in `{from}` cannot be read ({why}); the user will set a password"
            ));
            trace.note("(no password)", || format!("`{from}`: unreadable"));
        }
        Password::Clear { value, from } => {
            p.insert("password".into(), Value::String(value.expose().to_string()));
            p.insert(
                "password_confirmation".into(),
                Value::String(value.expose().to_string()),
            );
            for field in ["password", "password_confirmation"] {
                trace.note(field, || format!("`{from}`: cleartext (not shown)"));
            }
        }
    }
}

/// Where a custom attribute's value came from; formatted only for warnings and `--explain`.
#[derive(Debug, Clone)]
enum Origin<'a> {
    /// A named attribute's source path (`profile.secondEmail`).
    Field(Cow<'static, str>),
    /// A custom field of the source.
    Key(&'a CustomField<'a>),
    /// A custom field flattened into this joined name.
    Flattened(&'a CustomField<'a>, String),
    /// `--complex stringify` of these profile keys.
    Stringified(Vec<String>),
}

impl std::fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Field(path) => write!(f, "`{path}`"),
            Origin::Key(cf) if cf.secret => write!(f, "`{}` (a secret, not shown)", cf.path()),
            Origin::Key(cf) => write!(f, "`{}`", cf.path()),
            Origin::Flattened(cf, joined) => write!(f, "`{}` flattened as `{joined}`", cf.path()),
            Origin::Stringified(keys) => {
                write!(f, "--complex stringify of `{}`", keys.join("`, `"))
            }
        }
    }
}

/// Add one custom attribute, refusing names the payload or a named attribute already owns and
/// resolving two fields with one name deterministically: the last in source order wins, as in
/// the reference, and the collision is warned about.
fn add_custom<'a>(
    custom: &mut Map<String, Value>,
    origin: &mut Vec<Origin<'a>>,
    warnings: &mut Vec<String>,
    short: String,
    text: String,
    from: Origin<'a>,
    trace: &mut Trace,
) {
    if is_top_level_user_field(&short) {
        warnings.push(format!(
            "{from} not migrated: its name `{short}` is a standard onelogin field"
        ));
        return;
    }
    if let Some(i) = custom.keys().position(|k| *k == short) {
        if is_named_attribute(&short) {
            warnings.push(format!(
                "{from} not migrated: its name `{short}` belongs to {}",
                origin[i]
            ));
            return;
        }
        warnings.push(format!(
            "{} and {from} both normalize to `{short}`: kept {from}",
            origin[i]
        ));
        origin[i] = from.clone();
    } else {
        // a named attribute this user has no value for keeps the custom field's value, as in
        // the reference (`EmployeeNumber` when `employeeNumber` is absent)
        origin.push(from.clone());
    }
    if trace.enabled() {
        trace.note(&format!("custom_attributes.{short}"), || from.to_string());
    }
    custom.insert(short, Value::String(text));
}

/// Reject values over [`MAX_FIELD_CHARS`], naming the field.
pub fn check_limits(payload: &Map<String, Value>) -> Result<(), String> {
    for (name, value) in payload {
        if let Value::String(s) = value {
            let n = s.chars().count();
            if n > MAX_FIELD_CHARS {
                return Err(format!(
                    "field `{name}` is {n} characters long, over onelogin's limit of {MAX_FIELD_CHARS}"
                ));
            }
        }
    }
    Ok(())
}

/// The role payload of a group.
pub fn role_payload(group: &Group<'_>, trace: &mut Trace) -> Result<Map<String, Value>, String> {
    let name = group
        .name
        .as_ref()
        .ok_or("group has no name (`profile.name` and `label` are empty)")?;
    trace.note("name", || name.from.to_string());
    let mut p = Map::new();
    p.insert("name".into(), Value::String(name.value.trim().to_string()));
    Ok(p)
}

/// The shortname of a custom profile property definition, and its display name.
pub fn attribute_payload(
    shortname: String,
    title: Option<&str>,
    source_name: &str,
) -> Map<String, Value> {
    let mut p = Map::new();
    let name = title
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(source_name);
    p.insert("shortname".into(), Value::String(shortname));
    p.insert("name".into(), Value::String(name.to_string()));
    p
}

/// The app payload: connector, name, visibility and the SSO settings that have a OneLogin
/// counterpart. Second value: warnings about settings left for a person to set.
pub fn app_payload(
    app: &App<'_>,
    connector: &Connector,
    trace: &mut Trace,
) -> Result<(Map<String, Value>, Vec<String>), String> {
    let mut warnings = Vec::new();
    let name = app
        .name
        .as_ref()
        .ok_or("app has no name (`label` and `name` are empty)")?;
    let mut p = Map::new();
    p.insert("connector_id".into(), Value::from(connector.id));
    trace.note("connector_id", || {
        format!("--connectors `{}`", connector.key)
    });
    p.insert("name".into(), Value::String(name.value.trim().to_string()));
    trace.note("name", || name.from.to_string());
    if let Some(d) = app.description {
        p.insert("description".into(), Value::String(d.to_string()));
        trace.note("description", || {
            "settings.appNotes or settings.notes.admin".into()
        });
    }
    p.insert("visible".into(), Value::Bool(app.visible));
    trace.note("visible", || {
        "settings.appVisible or visibility.hide.web".into()
    });

    let mut config = Map::new();
    let mut params = Map::new();
    let mut put = |config: &mut Map<String, Value>, key: &str, v: Option<&str>, from: &str| {
        if let Some(v) = v {
            config.insert(key.to_string(), Value::String(v.to_string()));
            trace.note(&format!("configuration.{key}"), || from.to_string());
        }
    };
    match app.sign_on {
        SignOn::Saml => {
            let s = app.saml.clone().unwrap_or_default();
            let on = "settings.signOn";
            put(
                &mut config,
                "consumer_url",
                s.acs_url,
                &format!("{on}.ssoAcsUrl"),
            );
            if let Some(acs) = s.acs_url {
                let validator = format!("^{}$", regex_escape(acs));
                put(
                    &mut config,
                    "validator",
                    Some(&validator),
                    &format!("{on}.ssoAcsUrl (escaped)"),
                );
            }
            put(
                &mut config,
                "audience",
                s.audience,
                &format!("{on}.audience"),
            );
            put(
                &mut config,
                "recipient",
                s.recipient,
                &format!("{on}.recipient"),
            );
            put(
                &mut config,
                "relaystate",
                s.relay_state,
                &format!("{on}.defaultRelayState"),
            );
            put(
                &mut config,
                "logout_url",
                s.logout_url,
                &format!("{on}.slo.logoutUrl"),
            );
            put(
                &mut config,
                "signature_algorithm",
                s.signature_algorithm,
                &format!("{on}.signatureAlgorithm"),
            );
            if let Some(dest) = s.destination
                && Some(dest) != s.recipient
                && Some(dest) != s.acs_url
            {
                warnings.push(format!(
                    "saml destination `{dest}` has no onelogin setting: check the connector"
                ));
            }
            if let Some(format) = s.name_id_format {
                warnings.push(format!(
                    "saml nameid format `{format}`: set it by hand in onelogin (its ids are not documented)"
                ));
            }
            for attr in &s.attributes {
                let mapping = match &attr.user_field {
                    Some(UserRef::Field(f)) => user_attribute_for(*f),
                    Some(UserRef::Custom(name)) => {
                        normalize_name(name).map(|n| format!("custom_attribute_{n}"))
                    }
                    None => None,
                };
                let Some(mapping) = mapping else {
                    warnings.push(format!(
                        "saml attribute `{}` ({}) cannot be translated: add it by hand",
                        attr.name,
                        attr.expression.unwrap_or("group filter")
                    ));
                    continue;
                };
                if !connector.allows_new_parameters {
                    warnings.push(format!(
                        "saml attribute `{}` not migrated: connector {} does not allow new parameters",
                        attr.name, connector.id
                    ));
                    continue;
                }
                let mut param = Map::new();
                param.insert("label".into(), Value::String(attr.name.to_string()));
                param.insert("user_attribute_mappings".into(), Value::String(mapping));
                param.insert("include_in_saml_assertion".into(), Value::Bool(true));
                trace.note(&format!("parameters.{}", attr.name), || {
                    format!(
                        "{on}.attributeStatements `{}`",
                        attr.expression.unwrap_or_default()
                    )
                });
                params.insert(attr.name.to_string(), Value::Object(param));
            }
        }
        SignOn::Oidc => {
            let o = app.oidc.clone().unwrap_or_default();
            let oc = "settings.oauthClient";
            if !o.redirect_uris.is_empty() {
                let joined = o.redirect_uris.join("\n");
                put(
                    &mut config,
                    "redirect_uri",
                    Some(&joined),
                    &format!("{oc}.redirect_uris"),
                );
            }
            if let Some(first) = o.post_logout_redirect_uris.first() {
                put(
                    &mut config,
                    "post_logout_redirect_uri",
                    Some(first),
                    &format!("{oc}.post_logout_redirect_uris[0]"),
                );
                if o.post_logout_redirect_uris.len() > 1 {
                    warnings.push(format!(
                        "oidc: onelogin keeps one post-logout redirect uri, {} more not migrated",
                        o.post_logout_redirect_uris.len() - 1
                    ));
                }
            }
            put(
                &mut config,
                "login_url",
                o.login_url,
                &format!("{oc}.initiate_login_uri"),
            );
            match o.application_type {
                Some("web" | "browser" | "service") | None => {
                    config.insert("oidc_application_type".into(), Value::from(0));
                }
                Some("native") => {
                    config.insert("oidc_application_type".into(), Value::from(1));
                }
                Some(other) => warnings.push(format!(
                    "oidc application type `{other}` has no onelogin equivalent: made web"
                )),
            }
            trace.note("configuration.oidc_application_type", || {
                format!("{oc}.application_type (web/browser/service 0, native 1)")
            });
            let auth = match o.token_endpoint_auth_method {
                Some("client_secret_basic") => Some(0),
                Some("client_secret_post") => Some(1),
                Some("none") => Some(2),
                Some(other) => {
                    warnings.push(format!(
                        "oidc token endpoint auth method `{other}` has no onelogin equivalent: left to the connector's default"
                    ));
                    None
                }
                None => None,
            };
            if let Some(a) = auth {
                config.insert("token_endpoint_auth_method".into(), Value::from(a));
                trace.note("configuration.token_endpoint_auth_method", || {
                    "credentials.oauthClient.token_endpoint_auth_method".into()
                });
            }
            let odd_grants: Vec<&str> = o
                .grant_types
                .iter()
                .copied()
                .filter(|g| !matches!(*g, "authorization_code" | "refresh_token"))
                .collect();
            if !odd_grants.is_empty() {
                warnings.push(format!(
                    "oidc grant types `{}` (response types `{}`): check the onelogin app's token settings",
                    odd_grants.join(", "),
                    o.response_types.join(", ")
                ));
            }
        }
        SignOn::Other => {
            if let Some(mode) = app.sign_on_mode {
                warnings.push(format!(
                    "sign-on mode `{mode}`: settings are not migrated, configure the app by hand"
                ));
            }
        }
    }
    if !config.is_empty() {
        p.insert("configuration".into(), Value::Object(config));
    }
    if !params.is_empty() {
        p.insert("parameters".into(), Value::Object(params));
    }
    Ok((p, warnings))
}

/// The OneLogin user attribute a parameter maps a canonical field to.
fn user_attribute_for(field: Field) -> Option<String> {
    if let Some((name, _)) = USER_FIELDS.iter().find(|(_, f)| *f == field) {
        return Some((*name).to_string());
    }
    NAMED_ATTRIBUTES
        .iter()
        .find(|(_, f)| *f == field)
        .map(|(name, _)| format!("custom_attribute_{name}"))
}

/// Escape regular-expression metacharacters (OneLogin's ACS URL validator is a regex).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
