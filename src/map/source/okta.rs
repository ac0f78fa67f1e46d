//! The Okta source adapter: Okta users, groups and apps, as the API returns them, read into the
//! canonical model of [`super::canonical`].
//!
//! This is where the reference toolkit's fallback chains live (`phone` is the first non-empty
//! of `primaryPhone`, `phone`, `workPhone`, …): they are facts about Okta profiles, not about
//! OneLogin. The adapter only borrows from the record, and decides which profile keys are
//! consumed by a standard field (and so are not custom attributes).
//!
//! Differences from the reference, all deliberate (see mapping.md and docs/map.md):
//! - a fallback value that loses to an earlier, different one is warned about, not dropped
//!   silently;
//! - an `email` that is not an address is skipped (with a warning) for the next candidate;
//! - complex values never fill a standard field: they go to the `--complex` strategy;
//! - the consumed-key list is the safe union of the reference's two copies.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{AttributeIn, SourceAdapter, SourceOptions};
use crate::map::canonical::{
    AccountStatus, App, CustomField, CustomPath, Field, Group, Identity, Oidc, Saml, SamlAttribute,
    SignOn, Sourced, UserRef,
};

/// The Okta export as a [`SourceAdapter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Okta;

impl SourceAdapter for Okta {
    fn name(&self) -> &'static str {
        "okta"
    }

    fn identity<'a>(
        &self,
        id: &'a str,
        data: &'a Value,
        opts: &SourceOptions,
    ) -> Result<Identity<'a>, String> {
        identity(id, data, opts)
    }

    fn group<'a>(&self, id: &'a str, data: &'a Value) -> Group<'a> {
        group(id, data)
    }

    fn app<'a>(&self, id: &'a str, data: &'a Value) -> (App<'a>, Vec<String>) {
        app(id, data)
    }

    fn attribute<'a>(&self, id: &'a str, data: &'a Value) -> AttributeIn<'a> {
        AttributeIn {
            name: id,
            title: data.get("title").and_then(Value::as_str),
            value_type: data.get("type").and_then(Value::as_str),
            item_type: data.pointer("/items/type").and_then(Value::as_str),
            hidden: data
                .get("permissions")
                .and_then(Value::as_array)
                .is_some_and(|ps| {
                    ps.iter()
                        .any(|p| p.get("action").and_then(Value::as_str) == Some("HIDE"))
                }),
        }
    }

    fn is_consumed_key(&self, key: &str) -> bool {
        is_consumed_key(key)
    }
}

/// Profile keys that never become custom attributes (when their value is a scalar): the
/// reference's standard fields, the fallback keys a standard field or named attribute reads,
/// and authentication keys.
pub fn is_consumed_key(key: &str) -> bool {
    matches!(
        key,
        // the reference's list of standard fields
        "username" | "email" | "login" | "firstname" | "firstName" | "lastname" | "lastName"
            | "title" | "department" | "company" | "comment" | "phone" | "state"
            | "preferred_locale_code" | "preferredLocale" | "locale" | "manager_ad_id"
            | "manager_user_id" | "samaccountname" | "samAccountName" | "member_of"
            | "userprincipalname" | "userPrincipalName" | "distinguished_name" | "password"
            | "password_confirmation" | "password_algorithm" | "salt" | "external_id"
            | "openid_name"
            // fallback keys of standard fields
            | "mobilePhone" | "mobile_phone" | "primaryPhone" | "workPhone" | "organization"
            | "notes" | "description" | "preferredLanguage" | "secondEmail"
            // named attributes and their fallbacks
            | "second_email" | "streetAddress" | "address" | "postalAddress" | "city"
            | "stateCode" | "region" | "zipCode" | "postalCode" | "zip" | "country"
            | "countryCode" | "country_code" | "displayName" | "display_name"
            | "employeeNumber" | "employee_number"
    )
}

/// The canonical field an Okta profile key feeds, for reading SAML attribute statements.
pub fn field_for_profile_key(key: &str) -> Option<Field> {
    Some(match key {
        "firstName" => Field::GivenName,
        "lastName" => Field::FamilyName,
        "email" => Field::Email,
        "login" => Field::UserName,
        "samAccountName" => Field::SamAccountName,
        "userPrincipalName" => Field::UserPrincipalName,
        "mobilePhone" => Field::MobilePhone,
        "primaryPhone" | "workPhone" => Field::Phone,
        "organization" | "company" => Field::Organization,
        "department" => Field::Department,
        "title" => Field::Title,
        "locale" | "preferredLanguage" => Field::Locale,
        "secondEmail" => Field::SecondEmail,
        "streetAddress" => Field::StreetAddress,
        "city" => Field::Locality,
        "state" => Field::Region,
        "zipCode" => Field::PostalCode,
        "countryCode" => Field::CountryCode,
        "displayName" => Field::DisplayName,
        "employeeNumber" => Field::EmployeeNumber,
        _ => return None,
    })
}

/// Candidates for fields that come straight from profile keys, first non-empty wins.
const PROFILE_CHAINS: &[(Field, &[&str])] = &[
    (Field::GivenName, &["firstName"]),
    (Field::FamilyName, &["lastName"]),
    (Field::MobilePhone, &["mobilePhone", "mobile_phone"]),
    (Field::Phone, &["primaryPhone", "phone", "workPhone"]),
    (Field::Organization, &["company", "organization"]),
    (Field::Department, &["department"]),
    (Field::Title, &["title"]),
    (Field::Comment, &["comment", "notes", "description"]),
    (
        Field::Locale,
        &["locale", "preferredLocale", "preferredLanguage"],
    ),
    (Field::SecondEmail, &["secondEmail", "second_email"]),
    (
        Field::StreetAddress,
        &["streetAddress", "address", "postalAddress"],
    ),
    (Field::Locality, &["city"]),
    (Field::Region, &["state", "stateCode", "region"]),
    (Field::PostalCode, &["zipCode", "postalCode", "zip"]),
    (Field::Country, &["country"]),
    (Field::CountryCode, &["countryCode", "country_code"]),
    (Field::DisplayName, &["displayName", "display_name"]),
    (
        Field::EmployeeNumber,
        &["employeeNumber", "employee_number"],
    ),
];

/// The reference's "non-empty": a non-blank string or any other truthy scalar (`false` and
/// `0` are not). Complex values never count: they belong to the `--complex` strategy.
fn truthy_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(Cow::Borrowed(s.as_str())),
        Value::Bool(true) => Some(Cow::Borrowed("true")),
        Value::Number(n) if n.as_f64().is_some_and(|f| f != 0.0) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// `profile.<key>` without allocating, for the keys the chains read (called for every field
/// of every user).
fn profile_path(key: &'static str) -> Cow<'static, str> {
    Cow::Borrowed(match key {
        "login" => "profile.login",
        "email" => "profile.email",
        "firstName" => "profile.firstName",
        "lastName" => "profile.lastName",
        "mobilePhone" => "profile.mobilePhone",
        "mobile_phone" => "profile.mobile_phone",
        "primaryPhone" => "profile.primaryPhone",
        "phone" => "profile.phone",
        "workPhone" => "profile.workPhone",
        "company" => "profile.company",
        "organization" => "profile.organization",
        "department" => "profile.department",
        "title" => "profile.title",
        "comment" => "profile.comment",
        "notes" => "profile.notes",
        "description" => "profile.description",
        "locale" => "profile.locale",
        "preferredLocale" => "profile.preferredLocale",
        "preferredLanguage" => "profile.preferredLanguage",
        "secondEmail" => "profile.secondEmail",
        "second_email" => "profile.second_email",
        "streetAddress" => "profile.streetAddress",
        "address" => "profile.address",
        "postalAddress" => "profile.postalAddress",
        "city" => "profile.city",
        "state" => "profile.state",
        "stateCode" => "profile.stateCode",
        "region" => "profile.region",
        "zipCode" => "profile.zipCode",
        "postalCode" => "profile.postalCode",
        "zip" => "profile.zip",
        "country" => "profile.country",
        "countryCode" => "profile.countryCode",
        "country_code" => "profile.country_code",
        "displayName" => "profile.displayName",
        "display_name" => "profile.display_name",
        "employeeNumber" => "profile.employeeNumber",
        "employee_number" => "profile.employee_number",
        "samAccountName" => "profile.samAccountName",
        "samaccountname" => "profile.samaccountname",
        "userPrincipalName" => "profile.userPrincipalName",
        "userprincipalname" => "profile.userprincipalname",
        other => return Cow::Owned(format!("profile.{other}")),
    })
}

/// A loose email check: `local@domain`, both non-empty, no whitespace.
pub fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Read an Okta status.
pub fn status(value: Option<&Value>) -> Result<AccountStatus, String> {
    let text = match value {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("field `status` is not a string".into()),
        None => return Err("missing field `status`".into()),
    };
    Ok(match text {
        "ACTIVE" => AccountStatus::Active,
        "STAGED" => AccountStatus::Staged,
        "PROVISIONED" => AccountStatus::Provisioned,
        "RECOVERY" => AccountStatus::Recovery,
        "PASSWORD_EXPIRED" => AccountStatus::PasswordExpired,
        "LOCKED_OUT" => AccountStatus::LockedOut,
        "SUSPENDED" => AccountStatus::Suspended,
        "DEPROVISIONED" => AccountStatus::Deprovisioned,
        other => return Err(format!("field `status`: unknown okta status `{other}`")),
    })
}

/// Read an Okta user (the API object, whole) into a canonical identity.
pub fn identity<'a>(
    id: &'a str,
    data: &'a Value,
    opts: &SourceOptions,
) -> Result<Identity<'a>, String> {
    let profile = match data.get("profile") {
        Some(Value::Object(p)) => p,
        Some(_) => return Err("field `profile` is not an object".into()),
        None => return Err("missing field `profile`".into()),
    };
    let status = status(data.get("status"))?;
    let emails = data.pointer("/credentials/emails");
    let mut who = read_profile(id, profile, ProfileAt::Profile, status, emails, opts)?;
    if who.status == AccountStatus::Deprovisioned {
        who.warnings
            .push("okta status `DEPROVISIONED`: migrated as suspended".into());
    }
    Ok(who)
}

/// Where a record keeps its Okta profile names: in `profile` (an Okta user) or at its top (a
/// CSV staging row). Only the paths `--explain` and warnings show depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileAt {
    Profile,
    Top,
}

impl ProfileAt {
    fn prefix(self) -> &'static str {
        match self {
            ProfileAt::Profile => "profile.",
            ProfileAt::Top => "",
        }
    }

    /// The path of `key` (no allocation for the keys the chains read).
    fn path(self, key: &'static str) -> Cow<'static, str> {
        match self {
            ProfileAt::Profile => profile_path(key),
            ProfileAt::Top => Cow::Borrowed(key),
        }
    }

    fn login_before_at(self) -> &'static str {
        match self {
            ProfileAt::Profile => "profile.login before @",
            ProfileAt::Top => "login before @",
        }
    }
}

/// Read a profile with Okta's attribute names into a canonical identity: the fallback chains,
/// login and email (`emails`: Okta's `credentials.emails`, when the source has them),
/// samaccountname and userprincipalname, and every key no standard field consumes as a custom
/// field. Shared by the Okta and CSV adapters (a staging row uses Okta's names).
pub fn read_profile<'a>(
    id: &'a str,
    profile: &'a Map<String, Value>,
    at: ProfileAt,
    status: AccountStatus,
    emails: Option<&'a Value>,
    opts: &SourceOptions,
) -> Result<Identity<'a>, String> {
    let p = at.prefix();
    let mut who = Identity::new(id, status);

    for (field, keys) in PROFILE_CHAINS {
        let mut chosen: Option<(&'static str, Cow<'a, str>)> = None;
        for key in keys.iter() {
            let Some(text) = profile.get(*key).and_then(truthy_text) else {
                continue;
            };
            match &chosen {
                None => chosen = Some((key, text)),
                Some((won, value)) if *value != text => who.warnings.push(format!(
                    "`{p}{key}` (`{text}`) not migrated: `{p}{won}` (`{value}`) was used"
                )),
                Some(_) => {}
            }
        }
        if let Some((key, text)) = chosen {
            who.set(*field, Some(Sourced::new(text, at.path(key))));
        }
    }

    // login → username (fixed into email form when asked)
    let raw_login = profile.get("login").and_then(truthy_text);
    let login: Option<Sourced<'a>> = match raw_login.clone() {
        None => None,
        Some(l) if is_email(&l) => Some(Sourced::new(l, at.path("login"))),
        Some(l) => match &opts.email_domain {
            Some(domain) => {
                let fixed = format!("{}@{domain}", l.trim());
                who.warnings.push(format!(
                    "login `{l}` is not an email address: used `{fixed}`"
                ));
                Some(Sourced::new(fixed, format!("{p}login + --email-domain")))
            }
            None => {
                who.warnings
                    .push(format!("login `{l}` is not an email address"));
                Some(Sourced::new(l, at.path("login")))
            }
        },
    };

    // email: first address among email, credentials.emails[*], secondEmail, login
    let mut email: Option<Sourced<'a>> = None;
    match profile.get("email").and_then(truthy_text) {
        Some(e) if is_email(&e) => email = Some(Sourced::new(e, at.path("email"))),
        Some(e) => who
            .warnings
            .push(format!("`{p}email` `{e}` is not an email address")),
        None => {}
    }
    if email.is_none()
        && let Some(Value::Array(emails)) = emails
    {
        for (i, entry) in emails.iter().enumerate() {
            if let Some(e) = entry.get("value").and_then(truthy_text)
                && is_email(&e)
            {
                email = Some(Sourced::new(e, format!("credentials.emails[{i}].value")));
                break;
            }
        }
    }
    if email.is_none()
        && let Some(e) = who.get(Field::SecondEmail)
        && is_email(&e.value)
    {
        email = Some(e.clone());
    }
    if email.is_none()
        && let Some(l) = &login
        && is_email(&l.value)
    {
        email = Some(l.clone());
    }
    if email.is_none() {
        who.warnings
            .push("missing email: no email address found".into());
    }

    let username = login.clone().or_else(|| email.clone());
    if username.is_none() {
        return Err("no login and no email: nothing to sign in with".into());
    }

    // samaccountname: samAccountName, samaccountname, the login before `@`
    let sam = ["samAccountName", "samaccountname"]
        .into_iter()
        .find_map(|k| {
            profile
                .get(k)
                .and_then(truthy_text)
                .map(|t| Sourced::new(t, at.path(k)))
        })
        .or_else(|| {
            // a login such as `@corp.example` has nothing before `@`: no samaccountname
            raw_login.as_ref().and_then(|l| {
                let before = |s: &str| s.split('@').next().unwrap_or(s).trim().len();
                match l {
                    Cow::Borrowed(s) if before(s) > 0 => Some(Sourced::new(
                        s.split('@').next().unwrap_or(s),
                        at.login_before_at(),
                    )),
                    Cow::Owned(s) if before(s) > 0 => Some(Sourced::new(
                        s.split('@').next().unwrap_or(s).to_string(),
                        at.login_before_at(),
                    )),
                    _ => None,
                }
            })
        });

    // userprincipalname: userPrincipalName, userprincipalname, the email, the login
    let upn = ["userPrincipalName", "userprincipalname"]
        .into_iter()
        .find_map(|k| {
            profile
                .get(k)
                .and_then(truthy_text)
                .map(|t| Sourced::new(t, at.path(k)))
        })
        .or_else(|| email.clone())
        .or_else(|| login.clone());

    who.set(Field::Email, email);
    who.set(Field::UserName, username);
    who.set(Field::SamAccountName, sam);
    who.set(Field::UserPrincipalName, upn);

    for (name, value) in profile {
        let keep = match value {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty() && !is_consumed_key(name),
            Value::Array(_) | Value::Object(_) => true,
            _ => !is_consumed_key(name),
        };
        if keep {
            who.custom
                .push(CustomField::new(name, value, CustomPath::Under(p)));
        }
    }
    Ok(who)
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    match value.pointer(pointer) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
        _ => None,
    }
}

fn strs_at<'a>(value: &'a Value, pointer: &str) -> Vec<&'a str> {
    match value.pointer(pointer) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().filter(|s| !s.trim().is_empty()))
            .collect(),
        Some(Value::String(s)) if !s.trim().is_empty() => vec![s.as_str()],
        _ => Vec::new(),
    }
}

/// Read an Okta group into a canonical group.
pub fn group<'a>(id: &'a str, data: &'a Value) -> Group<'a> {
    let name = str_at(data, "/profile/name")
        .map(|n| Sourced::new(n, "profile.name"))
        .or_else(|| str_at(data, "/label").map(|n| Sourced::new(n, "label")));
    Group {
        id,
        name,
        description: str_at(data, "/profile/description").map(Cow::Borrowed),
        built_in: data.get("type").and_then(Value::as_str) == Some("BUILT_IN"),
    }
}

/// `true/false/1/0/yes/no` (any case) and JSON booleans.
fn parse_flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Read an Okta app into a canonical app. Second value: warnings.
pub fn app<'a>(id: &'a str, data: &'a Value) -> (App<'a>, Vec<String>) {
    let mut warnings = Vec::new();
    let name = str_at(data, "/label")
        .map(|n| Sourced::new(n, "label"))
        .or_else(|| str_at(data, "/name").map(|n| Sourced::new(n, "name")));
    let lookup_names = [
        "/label",
        "/name",
        "/settings/appName",
        "/settings/displayName",
        "/settings/name",
    ]
    .iter()
    .filter_map(|p| str_at(data, p))
    .collect();
    let sign_on_mode = str_at(data, "/signOnMode");
    let sign_on = match sign_on_mode {
        Some("SAML_2_0" | "SAML_1_1") => SignOn::Saml,
        Some("OPENID_CONNECT") => SignOn::Oidc,
        _ => SignOn::Other,
    };
    let description =
        str_at(data, "/settings/appNotes").or_else(|| str_at(data, "/settings/notes/admin"));
    let visible = match data.pointer("/settings/appVisible") {
        Some(v) => parse_flag(v).unwrap_or_else(|| {
            warnings.push("`settings.appVisible` is not a flag: app made visible".into());
            true
        }),
        None => !data
            .pointer("/visibility/hide/web")
            .and_then(parse_flag)
            .unwrap_or(false),
    };
    let saml = (sign_on == SignOn::Saml).then(|| saml(data, &mut warnings));
    let oidc = (sign_on == SignOn::Oidc).then(|| Oidc {
        redirect_uris: strs_at(data, "/settings/oauthClient/redirect_uris"),
        post_logout_redirect_uris: strs_at(data, "/settings/oauthClient/post_logout_redirect_uris"),
        login_url: str_at(data, "/settings/oauthClient/initiate_login_uri"),
        grant_types: strs_at(data, "/settings/oauthClient/grant_types"),
        response_types: strs_at(data, "/settings/oauthClient/response_types"),
        application_type: str_at(data, "/settings/oauthClient/application_type"),
        token_endpoint_auth_method: str_at(
            data,
            "/credentials/oauthClient/token_endpoint_auth_method",
        ),
    });
    let app = App {
        id,
        name,
        lookup_names,
        sign_on_mode,
        sign_on,
        description,
        visible,
        url: str_at(data, "/settings/app/url")
            .or_else(|| str_at(data, "/settings/signOn/loginUrl"))
            .or_else(|| str_at(data, "/settings/app/loginUrl")),
        saml,
        oidc,
    };
    (app, warnings)
}

fn saml<'a>(data: &'a Value, warnings: &mut Vec<String>) -> Saml<'a> {
    let on = "/settings/signOn";
    let at = |p: &str| str_at(data, &format!("{on}/{p}"));
    let signature_algorithm = match at("signatureAlgorithm") {
        None => None,
        Some("RSA_SHA256") => Some("SHA-256"),
        Some("RSA_SHA1") => Some("SHA-1"),
        Some(other) => {
            warnings.push(format!(
                "saml signature algorithm `{other}` has no onelogin equivalent: left to the connector's default"
            ));
            None
        }
    };
    let slo_enabled = data
        .pointer("/settings/signOn/slo/enabled")
        .and_then(parse_flag)
        .unwrap_or(false);
    let mut attributes = Vec::new();
    if let Some(Value::Array(statements)) = data.pointer("/settings/signOn/attributeStatements") {
        for st in statements {
            let Some(name) = st.get("name").and_then(Value::as_str) else {
                continue;
            };
            let kind = st
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("EXPRESSION");
            let expression = if kind == "EXPRESSION" {
                st.pointer("/values/0").and_then(Value::as_str)
            } else {
                None
            };
            let user_field = expression.and_then(|e| {
                let key = e.trim().strip_prefix("user.")?;
                if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return None;
                }
                Some(match field_for_profile_key(key) {
                    Some(f) => UserRef::Field(f),
                    None => UserRef::Custom(key),
                })
            });
            attributes.push(SamlAttribute {
                name,
                expression,
                user_field,
            });
        }
    }
    Saml {
        acs_url: at("ssoAcsUrl").or_else(|| str_at(data, "/settings/signOn/acsEndpoints/0/url")),
        audience: at("audience"),
        recipient: at("recipient"),
        destination: at("destination"),
        relay_state: at("defaultRelayState"),
        logout_url: if slo_enabled {
            at("slo/logoutUrl")
        } else {
            None
        },
        name_id_format: at("subjectNameIdFormat"),
        signature_algorithm,
        digest_algorithm: at("digestAlgorithm"),
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(profile: Value) -> Value {
        json!({"id": "00u1", "status": "ACTIVE", "profile": profile})
    }

    fn field(who: &Identity<'_>, f: Field) -> Option<(String, String)> {
        who.get(f)
            .map(|s| (s.value.to_string(), s.from.to_string()))
    }

    #[test]
    fn email_falls_back_through_credentials_second_email_and_login() {
        let opts = SourceOptions::default();
        let cases = [
            (
                json!({"id":"1","status":"ACTIVE","profile":{"login":"l@x.io","email":"e@x.io"}}),
                ("e@x.io", "profile.email"),
            ),
            (
                json!({"id":"1","status":"ACTIVE","profile":{"login":"l@x.io"},
                       "credentials":{"emails":[{"value":" "},{"value":"c@x.io"}]}}),
                ("c@x.io", "credentials.emails[1].value"),
            ),
            (
                json!({"id":"1","status":"ACTIVE","profile":{"login":"l@x.io","secondEmail":"s@x.io"}}),
                ("s@x.io", "profile.secondEmail"),
            ),
            (
                json!({"id":"1","status":"ACTIVE","profile":{"login":"l@x.io","email":""}}),
                ("l@x.io", "profile.login"),
            ),
        ];
        for (data, (want, from)) in cases {
            let who = identity("1", &data, &opts).unwrap();
            assert_eq!(
                field(&who, Field::Email),
                Some((want.to_string(), from.to_string())),
                "{data}"
            );
        }
    }

    #[test]
    fn later_fallbacks_that_differ_are_warned_about() {
        let data = user(json!({"login":"a@x.io","primaryPhone":"1","workPhone":"2","phone":"1"}));
        let who = identity("00u1", &data, &SourceOptions::default()).unwrap();
        assert_eq!(
            field(&who, Field::Phone),
            Some(("1".into(), "profile.primaryPhone".into()))
        );
        assert_eq!(
            who.warnings,
            vec!["`profile.workPhone` (`2`) not migrated: `profile.primaryPhone` (`1`) was used"]
        );
    }

    #[test]
    fn consumed_scalars_are_not_custom_but_complex_values_are() {
        let data = user(json!({
            "login":"a@x.io", "workPhone":"2", "password":"x", "salt":"y",
            "address": {"line1": "Main St"}, "costCenter": "10", "blank": " ", "none": null,
            "flag": false
        }));
        let who = identity("00u1", &data, &SourceOptions::default()).unwrap();
        let names: Vec<&str> = who.custom.iter().map(|c| c.name).collect();
        assert_eq!(names, vec!["address", "costCenter", "flag"]);
    }

    #[test]
    fn samaccountname_defaults_to_the_login_before_at() {
        let data = user(json!({"login":"jane.doe@x.io"}));
        let who = identity("00u1", &data, &SourceOptions::default()).unwrap();
        assert_eq!(
            field(&who, Field::SamAccountName),
            Some(("jane.doe".into(), "profile.login before @".into()))
        );
        assert_eq!(
            field(&who, Field::UserPrincipalName),
            Some(("jane.doe@x.io".into(), "profile.login".into()))
        );
    }

    #[test]
    fn a_login_that_is_not_an_email_is_fixed_only_when_asked() {
        let data = user(json!({"login":"susan"}));
        let plain = identity("00u1", &data, &SourceOptions::default()).unwrap();
        assert_eq!(
            field(&plain, Field::UserName).unwrap().0,
            "susan".to_string()
        );
        assert_eq!(field(&plain, Field::Email), None);
        assert!(plain.warnings.iter().any(|w| w.contains("missing email")));
        let opts = SourceOptions {
            email_domain: Some("emailnotprovided.local".into()),
        };
        let fixed = identity("00u1", &data, &opts).unwrap();
        assert_eq!(
            field(&fixed, Field::UserName).unwrap().0,
            "susan@emailnotprovided.local"
        );
        assert_eq!(
            field(&fixed, Field::Email).unwrap().0,
            "susan@emailnotprovided.local"
        );
        assert_eq!(field(&fixed, Field::SamAccountName).unwrap().0, "susan");
    }

    #[test]
    fn statuses_are_read_and_unknown_ones_refused() {
        assert_eq!(
            status(Some(&json!("LOCKED_OUT"))).unwrap(),
            AccountStatus::LockedOut
        );
        assert!(
            status(Some(&json!("ZOMBIE")))
                .unwrap_err()
                .contains("`ZOMBIE`")
        );
        assert!(status(None).unwrap_err().contains("missing field `status`"));
    }

    #[test]
    fn app_visibility_reads_flags_and_okta_hide() {
        let visible = |data: Value| app("0oa1", &data).0.visible;
        assert!(!visible(
            json!({"label":"A","settings":{"appVisible":"no"}})
        ));
        assert!(visible(
            json!({"label":"A","settings":{"appVisible":"Yes"}})
        ));
        assert!(!visible(
            json!({"label":"A","visibility":{"hide":{"web":true}}})
        ));
        assert!(visible(json!({"label":"A"})));
    }
}
