//! The OneLogin source adapter: OneLogin users, roles, apps and custom attribute definitions,
//! as `idm-export --from onelogin` writes them (v2 API objects, whole), read into the canonical
//! model of [`crate::map::canonical`].
//!
//! OneLogin's user is flat and already close to the canonical identity, so there are no
//! fallback chains here: each standard field has one source key. What needs judgement:
//! - **Status.** OneLogin has two numbers, `status` (0–5, 7, 8: what the account is doing) and
//!   `state` (0–3: whether an admin approved and licensed it). Status picks the canonical
//!   status; a state other than 1 (Approved) makes it more restrictive, never less, with a
//!   warning: an account the source would not let sign in is not migrated as one that can.
//!   The table is in docs/map.md. An unknown number rejects the user.
//! - **Username and email.** OneLogin usernames need not be emails; `username` is the sign-in
//!   name as it is, always. A user without an email gets the username when that is an address,
//!   else, with `--email-domain`, `username@DOMAIN` (warned). Rewriting every username that is
//!   not an address (what the option does to Okta logins) would rename people in a
//!   tenant-to-tenant copy; a target that needs address-shaped logins decides that itself.
//! - **Custom fields** are the values of `custom_attributes` (by shortname), nulls and blanks
//!   left out, except the "named attributes" (`city`, `mobile_phone`, `employee_number`, …):
//!   the OneLogin target writes those standard fields there, so they are read back as the
//!   fields. Other top-level fields (ids of this account, AD links, timestamps) are not
//!   identity data and are not carried.
//! - **Apps** keep their name and sign-on kind (`auth_method`); SAML and OIDC settings come
//!   from `configuration` and the SAML attribute statements from `parameters` that are sent in
//!   the assertion. `sso` is left alone: it describes OneLogin's side (its issuer, its
//!   certificate), not the app's.

use std::borrow::Cow;

use serde_json::Value;

use super::{AttributeIn, SourceAdapter, SourceOptions};
use crate::map::canonical::{
    AccountStatus, App, CustomField, CustomPath, Field, Group, Identity, Oidc, Saml, SamlAttribute,
    SignOn, Sourced, UserRef,
};

/// The OneLogin export as a [`SourceAdapter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OneLogin;

impl SourceAdapter for OneLogin {
    fn name(&self) -> &'static str {
        "onelogin"
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
        Group {
            id,
            name: text(data, "name").map(|n| Sourced::new(n, "name")),
            description: None,
            built_in: false,
        }
    }

    fn app<'a>(&self, id: &'a str, data: &'a Value) -> (App<'a>, Vec<String>) {
        app(id, data)
    }

    fn attribute<'a>(&self, id: &'a str, data: &'a Value) -> AttributeIn<'a> {
        AttributeIn {
            // users carry values by shortname: that is the attribute's name everywhere else
            name: text(data, "shortname").unwrap_or(id),
            title: text(data, "name"),
            // OneLogin custom attributes hold text
            value_type: Some("string"),
            item_type: None,
            hidden: false,
        }
    }

    fn is_consumed_key(&self, key: &str) -> bool {
        // only the named attributes feed standard fields; every other custom attribute is one
        named_field(key).is_some()
    }
}

/// Standard fields read straight from one key of the user object.
const TEXT_FIELDS: &[(Field, &str)] = &[
    (Field::GivenName, "firstname"),
    (Field::FamilyName, "lastname"),
    (Field::Phone, "phone"),
    (Field::MobilePhone, "mobile_phone"),
    (Field::Organization, "company"),
    (Field::Department, "department"),
    (Field::Title, "title"),
    (Field::Comment, "comment"),
    (Field::Locale, "preferred_locale_code"),
    (Field::SamAccountName, "samaccountname"),
    (Field::UserPrincipalName, "userprincipalname"),
];

/// Custom attributes that hold a standard field: the names the OneLogin target (and the
/// reference toolkit) writes those fields to, read back as the fields, so an account filled
/// from Okta gives Okta its `city` again, and a OneLogin copy writes the same attribute.
const NAMED_ATTRIBUTES: &[(&str, Field, &str)] = &[
    (
        "mobile_phone",
        Field::MobilePhone,
        "custom_attributes.mobile_phone",
    ),
    (
        "second_email",
        Field::SecondEmail,
        "custom_attributes.second_email",
    ),
    (
        "street_address",
        Field::StreetAddress,
        "custom_attributes.street_address",
    ),
    ("city", Field::Locality, "custom_attributes.city"),
    ("state", Field::Region, "custom_attributes.state"),
    ("zip_code", Field::PostalCode, "custom_attributes.zip_code"),
    ("country", Field::Country, "custom_attributes.country"),
    (
        "country_code",
        Field::CountryCode,
        "custom_attributes.country_code",
    ),
    (
        "display_name",
        Field::DisplayName,
        "custom_attributes.display_name",
    ),
    (
        "employee_number",
        Field::EmployeeNumber,
        "custom_attributes.employee_number",
    ),
];

/// The standard field a custom attribute holds, and the path it is read from.
fn named_field(shortname: &str) -> Option<(Field, &'static str)> {
    NAMED_ATTRIBUTES
        .iter()
        .find(|(n, _, _)| *n == shortname)
        .map(|(_, f, from)| (*f, *from))
}

/// A non-blank string (numbers as their text, in case a field comes as one).
fn scalar<'a>(value: Option<&'a Value>) -> Option<Cow<'a, str>> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

fn text<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    match data.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
        _ => None,
    }
}

/// A loose email check: `local@domain`, both non-empty, no whitespace.
fn is_email(s: &str) -> bool {
    super::okta::is_email(s)
}

/// An integer field (`status`, `state`), or why not.
fn number(data: &Value, key: &str) -> Result<i64, String> {
    match data.get(key) {
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| format!("field `{key}` is not an integer")),
        Some(Value::Null) | None => Err(format!("missing field `{key}`")),
        Some(_) => Err(format!("field `{key}` is not an integer")),
    }
}

/// OneLogin's `status` and `state` as one canonical status, and a warning when `state` or an
/// unusual status changed what the account may do. The table is in docs/map.md.
pub fn status(data: &Value) -> Result<(AccountStatus, Option<String>), String> {
    let code = number(data, "status")?;
    let (by_status, mut note) = match code {
        0 => (AccountStatus::Staged, None),
        1 => (AccountStatus::Active, None),
        2 => (AccountStatus::Suspended, None),
        3 => (AccountStatus::LockedOut, None),
        4 => (AccountStatus::PasswordExpired, None),
        5 => (AccountStatus::Recovery, None),
        7 => (AccountStatus::Provisioned, None),
        8 => (
            AccountStatus::Active,
            Some(
                "onelogin status 8 (security questions required): migrated as active; the target's own enrollment applies"
                    .to_string(),
            ),
        ),
        other => return Err(format!("field `status`: unknown onelogin status `{other}`")),
    };
    let state = number(data, "state")?;
    let (status, why) = match state {
        1 => (by_status, None),
        0 => match by_status {
            AccountStatus::Suspended | AccountStatus::Staged => (by_status, None),
            _ => (AccountStatus::Staged, Some("0 (unapproved)")),
        },
        2 => (AccountStatus::Deprovisioned, Some("2 (rejected)")),
        3 => match by_status {
            AccountStatus::Suspended => (by_status, None),
            _ => (AccountStatus::Suspended, Some("3 (unlicensed)")),
        },
        other => return Err(format!("field `state`: unknown onelogin state `{other}`")),
    };
    if let Some(why) = why {
        let word = match status {
            AccountStatus::Staged => "staged",
            AccountStatus::Deprovisioned => {
                "deprovisioned (suspended where the target has no such state)"
            }
            _ => "suspended",
        };
        note = Some(format!(
            "onelogin state {why} with status {code}: migrated as {word}"
        ));
    }
    Ok((status, note))
}

/// Read a OneLogin user (the API object, whole) into a canonical identity.
pub fn identity<'a>(
    id: &'a str,
    data: &'a Value,
    opts: &SourceOptions,
) -> Result<Identity<'a>, String> {
    if !data.is_object() {
        return Err("field `data` is not an object".into());
    }
    let (status, note) = status(data)?;
    let mut who = Identity::new(id, status);
    who.warnings.extend(note);

    for (field, key) in TEXT_FIELDS {
        if let Some(v) = scalar(data.get(*key)) {
            who.set(*field, Some(Sourced::new(v, *key)));
        }
    }

    // the username as it is: OneLogin usernames need not be addresses
    let username = scalar(data.get("username")).map(|u| Sourced::new(u, "username"));
    let mut email: Option<Sourced<'a>> = None;
    match scalar(data.get("email")) {
        Some(e) if is_email(&e) => email = Some(Sourced::new(e, "email")),
        Some(e) => who
            .warnings
            .push(format!("`email` `{e}` is not an email address")),
        None => {}
    }
    if email.is_none()
        && let Some(u) = &username
    {
        if is_email(&u.value) {
            email = Some(u.clone());
        } else if let Some(domain) = &opts.email_domain {
            let made = format!("{}@{domain}", u.value.trim());
            who.warnings.push(format!(
                "no email address: used `{made}` (username + --email-domain)"
            ));
            email = Some(Sourced::new(made, "username + --email-domain"));
        }
    }
    if email.is_none() {
        who.warnings
            .push("missing email: no email address found".into());
    }
    let sign_in = username.or_else(|| email.clone());
    if sign_in.is_none() {
        return Err("no username and no email: nothing to sign in with".into());
    }
    who.set(Field::Email, email);
    who.set(Field::UserName, sign_in);

    match data.get("custom_attributes") {
        Some(Value::Object(values)) => {
            for (name, value) in values {
                if let Some((field, from)) = named_field(name) {
                    // a standard field set at the top level wins; both are said
                    match (who.get(field), scalar(Some(value))) {
                        (None, Some(v)) => who.set(field, Some(Sourced::new(v, from))),
                        (Some(top), Some(v)) if top.value != v => who.warnings.push(format!(
                            "`{from}` (`{v}`) not migrated: `{}` (`{}`) was used",
                            top.from, top.value
                        )),
                        _ => {}
                    }
                    continue;
                }
                let keep = match value {
                    Value::Null => false,
                    Value::String(s) => !s.trim().is_empty(),
                    _ => true,
                };
                if keep {
                    who.custom.push(CustomField::new(
                        name,
                        value,
                        CustomPath::Under("custom_attributes."),
                    ));
                }
            }
        }
        Some(Value::Null) | None => {}
        Some(_) => who
            .warnings
            .push("`custom_attributes` is not an object: not migrated".into()),
    }
    Ok(who)
}

/// The sign-on mode an `auth_method` stands for, in the vocabulary of the connector map (Okta's
/// `signOnMode` names, so `saml`, `oidc` and `swa` keys work for OneLogin apps too).
pub fn sign_on_mode(auth_method: i64) -> Option<&'static str> {
    Some(match auth_method {
        0 => "AUTO_LOGIN", // password vaulting and bookmarks
        1 => "OPENID_2_0",
        2 => "SAML_2_0",
        3 => "API",
        4 => "GOOGLE",
        6 => "FORMS_BASED",
        7 => "WS_FEDERATION",
        8 => "OPENID_CONNECT",
        _ => return None,
    })
}

/// The canonical field a OneLogin `user_attribute_mappings` value names, when it is one.
fn user_ref(mapping: &str) -> Option<UserRef<'_>> {
    if let Some(short) = mapping.strip_prefix("custom_attribute_") {
        return (!short.is_empty()).then_some(UserRef::Custom(short));
    }
    Some(UserRef::Field(match mapping {
        "firstname" => Field::GivenName,
        "lastname" => Field::FamilyName,
        "email" => Field::Email,
        "username" => Field::UserName,
        "samaccountname" => Field::SamAccountName,
        "userprincipalname" => Field::UserPrincipalName,
        "phone" => Field::Phone,
        "company" => Field::Organization,
        "department" => Field::Department,
        "title" => Field::Title,
        "comment" => Field::Comment,
        "preferred_locale_code" => Field::Locale,
        _ => return None,
    }))
}

/// Read a OneLogin app (the object of `GET /api/2/apps/{id}`) into a canonical app. Second
/// value: warnings.
pub fn app<'a>(id: &'a str, data: &'a Value) -> (App<'a>, Vec<String>) {
    let mut warnings = Vec::new();
    let name = text(data, "name").map(|n| Sourced::new(n, "name"));
    let auth_method = data.get("auth_method").and_then(Value::as_i64);
    let sign_on_mode = auth_method.and_then(sign_on_mode);
    if let Some(m) = auth_method
        && sign_on_mode.is_none()
    {
        warnings.push(format!(
            "onelogin auth_method `{m}` is not documented: settings are not migrated"
        ));
    }
    let sign_on = match auth_method {
        Some(2) => SignOn::Saml,
        Some(8) => SignOn::Oidc,
        _ => SignOn::Other,
    };
    let visible = match data.get("visible") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            warnings.push("`visible` is not a boolean: app made visible".into());
            true
        }
    };
    let config = |key: &str| data.get("configuration").and_then(|c| text(c, key));
    let saml = (sign_on == SignOn::Saml).then(|| {
        let signature_algorithm = match config("signature_algorithm") {
            None => None,
            Some("SHA-1") => Some("SHA-1"),
            Some("SHA-256") => Some("SHA-256"),
            Some(other) => {
                warnings.push(format!(
                    "saml signature algorithm `{other}` is not carried: left to the target's default"
                ));
                None
            }
        };
        let mut attributes = Vec::new();
        if let Some(Value::Object(params)) = data.get("parameters") {
            for (key, p) in params {
                // only what goes into the assertion is an attribute statement; the rest are
                // the connector's own fields (vaulted passwords, provisioning)
                if p.get("include_in_saml_assertion") != Some(&Value::Bool(true)) {
                    continue;
                }
                let expression = text(p, "user_attribute_mappings");
                attributes.push(SamlAttribute {
                    name: text(p, "label").unwrap_or(key),
                    expression,
                    user_field: expression.and_then(user_ref),
                });
            }
        }
        Saml {
            acs_url: config("consumer_url"),
            audience: config("audience"),
            recipient: config("recipient"),
            destination: None,
            relay_state: config("relaystate"),
            logout_url: config("logout_url"),
            name_id_format: None,
            signature_algorithm,
            digest_algorithm: None,
            attributes,
        }
    });
    let oidc = (sign_on == SignOn::Oidc).then(|| {
        let uris = |key: &str| -> Vec<&'a str> {
            data.get("configuration")
                .and_then(|c| text(c, key))
                .map(|s| {
                    s.split([',', '\n'])
                        .map(str::trim)
                        .filter(|u| !u.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        let code = |key: &str| {
            data.pointer(&format!("/configuration/{key}"))
                .and_then(Value::as_i64)
        };
        Oidc {
            redirect_uris: uris("redirect_uri"),
            post_logout_redirect_uris: uris("post_logout_redirect_uri"),
            login_url: config("login_url"),
            grant_types: Vec::new(),
            response_types: Vec::new(),
            application_type: match code("oidc_application_type") {
                Some(0) => Some("web"),
                Some(1) => Some("native"),
                _ => None,
            },
            token_endpoint_auth_method: match code("token_endpoint_auth_method") {
                Some(0) => Some("client_secret_basic"),
                Some(1) => Some("client_secret_post"),
                Some(2) => Some("none"),
                _ => None,
            },
        }
    });
    let app = App {
        id,
        name,
        lookup_names: text(data, "name").into_iter().collect(),
        sign_on_mode,
        sign_on,
        description: text(data, "description").or_else(|| text(data, "notes")),
        visible,
        // the app resource has no documented URL of the app itself
        url: None,
        saml,
        oidc,
    };
    (app, warnings)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user(extra: Value) -> Value {
        let mut u = json!({"id": 7, "username": "jdoe", "email": "jane@x.io", "firstname": "Jane",
                           "lastname": "Doe", "state": 1, "status": 1, "custom_attributes": {}});
        for (k, v) in extra.as_object().unwrap() {
            u[k] = v.clone();
        }
        u
    }

    fn field(who: &Identity<'_>, f: Field) -> Option<(String, String)> {
        who.get(f)
            .map(|s| (s.value.to_string(), s.from.to_string()))
    }

    #[test]
    fn every_status_and_state_has_a_canonical_status() {
        use AccountStatus::*;
        let cases = [
            ((1, 1), Active, false),
            ((0, 1), Staged, false),
            ((2, 1), Suspended, false),
            ((3, 1), LockedOut, false),
            ((4, 1), PasswordExpired, false),
            ((5, 1), Recovery, false),
            ((7, 1), Provisioned, false),
            ((8, 1), Active, true),
            ((1, 0), Staged, true),
            ((7, 0), Staged, true),
            ((2, 0), Suspended, false),
            ((0, 0), Staged, false),
            ((1, 2), Deprovisioned, true),
            ((2, 2), Deprovisioned, true),
            ((1, 3), Suspended, true),
            ((2, 3), Suspended, false),
        ];
        for ((st, state), want, warned) in cases {
            let data = json!({"status": st, "state": state});
            let (got, note) = status(&data).unwrap();
            assert_eq!(got, want, "status {st} state {state}");
            assert_eq!(
                note.is_some(),
                warned,
                "status {st} state {state}: {note:?}"
            );
        }
        let (_, note) = status(&json!({"status": 1, "state": 3})).unwrap();
        assert_eq!(
            note.unwrap(),
            "onelogin state 3 (unlicensed) with status 1: migrated as suspended"
        );
        for (data, want) in [
            (
                json!({"status": 6, "state": 1}),
                "unknown onelogin status `6`",
            ),
            (
                json!({"status": 1, "state": 4}),
                "unknown onelogin state `4`",
            ),
            (json!({"state": 1}), "missing field `status`"),
            (json!({"status": 1}), "missing field `state`"),
            (
                json!({"status": "1", "state": 1}),
                "field `status` is not an integer",
            ),
        ] {
            let err = status(&data).unwrap_err();
            assert!(err.contains(want), "{data}: {err}");
        }
    }

    #[test]
    fn standard_fields_come_from_their_one_key() {
        let data = user(
            json!({"title": "Engineer", "department": "R&D", "company": "Acme",
            "comment": "note", "phone": "+15551234567", "preferred_locale_code": "fr",
            "samaccountname": "jdoe", "userprincipalname": "jdoe@corp.x.io", "member_of": "x"}),
        );
        let who = identity("7", &data, &SourceOptions::default()).unwrap();
        for (f, want) in [
            (Field::GivenName, ("Jane", "firstname")),
            (Field::FamilyName, ("Doe", "lastname")),
            (Field::Email, ("jane@x.io", "email")),
            (Field::UserName, ("jdoe", "username")),
            (Field::Title, ("Engineer", "title")),
            (Field::Department, ("R&D", "department")),
            (Field::Organization, ("Acme", "company")),
            (Field::Comment, ("note", "comment")),
            (Field::Phone, ("+15551234567", "phone")),
            (Field::Locale, ("fr", "preferred_locale_code")),
            (Field::SamAccountName, ("jdoe", "samaccountname")),
            (
                Field::UserPrincipalName,
                ("jdoe@corp.x.io", "userprincipalname"),
            ),
        ] {
            assert_eq!(
                field(&who, f),
                Some((want.0.to_string(), want.1.to_string())),
                "{f:?}"
            );
        }
        assert_eq!(who.status, AccountStatus::Active);
        assert!(who.warnings.is_empty(), "{:?}", who.warnings);
        assert!(who.password.is_none());
    }

    #[test]
    fn custom_attribute_values_are_custom_fields_without_nulls_and_blanks() {
        let data = user(
            json!({"custom_attributes": {"badge_number": "B-1", "legacy_uid": null,
            "parking_spot": "  ", "cost_center": "10"}}),
        );
        let who = identity("7", &data, &SourceOptions::default()).unwrap();
        let got: Vec<(String, &Value)> = who
            .custom
            .iter()
            .map(|c| (c.path().to_string(), c.value.as_ref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("custom_attributes.badge_number".into(), &json!("B-1")),
                ("custom_attributes.cost_center".into(), &json!("10"))
            ]
        );
    }

    #[test]
    fn named_attributes_are_read_back_as_their_fields() {
        let data = user(json!({"mobile_phone": "+1 555 0100", "custom_attributes": {
            "city": "Zürich", "mobile_phone": "+1 555 0199", "employee_number": "E-7",
            "badge_number": "B-1"}}));
        let who = identity("7", &data, &SourceOptions::default()).unwrap();
        assert_eq!(
            field(&who, Field::Locality),
            Some(("Zürich".into(), "custom_attributes.city".into()))
        );
        assert_eq!(field(&who, Field::EmployeeNumber).unwrap().0, "E-7");
        // the top-level field wins over the attribute, with a warning
        assert_eq!(
            field(&who, Field::MobilePhone),
            Some(("+1 555 0100".into(), "mobile_phone".into()))
        );
        assert_eq!(
            who.warnings,
            vec![
                "`custom_attributes.mobile_phone` (`+1 555 0199`) not migrated: `mobile_phone` (`+1 555 0100`) was used"
            ]
        );
        let names: Vec<&str> = who.custom.iter().map(|c| c.name).collect();
        assert_eq!(names, ["badge_number"]);
        assert!(OneLogin.is_consumed_key("city") && !OneLogin.is_consumed_key("badge_number"));
    }

    #[test]
    fn email_falls_back_to_an_address_username_and_the_domain_option() {
        let plain = SourceOptions::default();
        // no email, username an address: it is the email too
        let data = user(json!({"email": null, "username": "sam@x.io"}));
        let who = identity("7", &data, &plain).unwrap();
        assert_eq!(
            field(&who, Field::Email),
            Some(("sam@x.io".into(), "username".into()))
        );
        // no email, plain username: kept as it is, email missing (warned)
        let data = user(json!({"email": "", "username": "user00042"}));
        let who = identity("7", &data, &plain).unwrap();
        assert_eq!(field(&who, Field::UserName).unwrap().0, "user00042");
        assert_eq!(field(&who, Field::Email), None);
        assert!(who.warnings.iter().any(|w| w.starts_with("missing email")));
        // with --email-domain the email is made from the username, which stays as it is
        let opts = SourceOptions {
            email_domain: Some("example.net".into()),
        };
        let who = identity("7", &data, &opts).unwrap();
        assert_eq!(field(&who, Field::UserName).unwrap().0, "user00042");
        assert_eq!(
            field(&who, Field::Email),
            Some((
                "user00042@example.net".into(),
                "username + --email-domain".into()
            ))
        );
        assert!(
            who.warnings
                .iter()
                .any(|w| w.contains("`user00042@example.net`"))
        );
        // ... and a user with an email keeps both
        let whole = user(json!({}));
        let who = identity("7", &whole, &opts).unwrap();
        assert_eq!(field(&who, Field::UserName).unwrap().0, "jdoe");
        assert_eq!(field(&who, Field::Email).unwrap().0, "jane@x.io");
        // an email that is not one is said, and the username is tried
        let data = user(json!({"email": "not-an-address", "username": "a@x.io"}));
        let who = identity("7", &data, &plain).unwrap();
        assert_eq!(field(&who, Field::Email).unwrap().0, "a@x.io");
        assert!(who.warnings.iter().any(|w| w.contains("`not-an-address`")));
        // username-less users sign in with their email
        let data = user(json!({"username": null}));
        let who = identity("7", &data, &plain).unwrap();
        assert_eq!(
            field(&who, Field::UserName),
            Some(("jane@x.io".into(), "email".into()))
        );
        // nothing at all
        let data = user(json!({"username": null, "email": null}));
        let err = identity("7", &data, &plain).unwrap_err();
        assert!(err.contains("nothing to sign in with"), "{err}");
    }

    #[test]
    fn roles_are_groups_and_definitions_are_named_by_shortname() {
        let a = OneLogin;
        let role = json!({"id": 5, "name": "Sales Team 001", "users": [1]});
        let g = a.group("5", &role);
        assert_eq!(g.name.unwrap().value, "Sales Team 001");
        assert!(!g.built_in);
        assert!(a.group("5", &json!({"id": 5, "name": " "})).name.is_none());
        let def = json!({"id": 87853, "name": "Badge Number", "shortname": "badge_number", "position": 1});
        let attr = a.attribute("87853", &def);
        assert_eq!(
            (attr.name, attr.title, attr.value_type),
            ("badge_number", Some("Badge Number"), Some("string"))
        );
        assert!(!a.is_consumed_key("badge_number"));
    }

    #[test]
    fn saml_apps_carry_their_configuration_and_assertion_parameters() {
        let data = json!({"id": 1, "name": "Expenses", "auth_method": 2, "visible": false,
            "description": "", "notes": "legacy",
            "sso": {"acs_url": "https://idp.onelogin.example/sso"},
            "configuration": {"consumer_url": "https://sp.example/acs", "audience": "sp",
                "recipient": "https://sp.example/acs", "relaystate": "/home",
                "logout_url": "https://sp.example/slo", "signature_algorithm": "SHA-256",
                "certificate_id": 815517},
            "parameters": {
                "email": {"label": "Email (SAML NameID)", "user_attribute_mappings": "email",
                          "include_in_saml_assertion": false},
                "dept": {"label": "Department", "user_attribute_mappings": "department",
                         "include_in_saml_assertion": true},
                "badge": {"label": "Badge", "user_attribute_mappings": "custom_attribute_badge_number",
                          "include_in_saml_assertion": true},
                "role": {"label": "Role", "user_attribute_mappings": "_macro_",
                         "include_in_saml_assertion": true}}});
        let (app, warnings) = app("1", &data);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(app.sign_on, SignOn::Saml);
        assert_eq!(app.sign_on_mode, Some("SAML_2_0"));
        assert_eq!(app.lookup_names, vec!["Expenses"]);
        assert_eq!(app.description, Some("legacy"));
        assert!(!app.visible);
        let s = app.saml.unwrap();
        // the SP's ACS from configuration, never OneLogin's own from `sso`
        assert_eq!(s.acs_url, Some("https://sp.example/acs"));
        assert_eq!(
            (
                s.audience,
                s.relay_state,
                s.logout_url,
                s.signature_algorithm
            ),
            (
                Some("sp"),
                Some("/home"),
                Some("https://sp.example/slo"),
                Some("SHA-256")
            )
        );
        let attrs: Vec<(&str, Option<UserRef<'_>>)> = s
            .attributes
            .iter()
            .map(|a| (a.name, a.user_field.clone()))
            .collect();
        assert_eq!(
            attrs,
            vec![
                ("Department", Some(UserRef::Field(Field::Department))),
                ("Badge", Some(UserRef::Custom("badge_number"))),
                ("Role", None),
            ]
        );
    }

    #[test]
    fn oidc_apps_carry_uris_and_codes_and_others_only_their_mode() {
        let data = json!({"id": 2, "name": "Portal", "auth_method": 8,
            "configuration": {"redirect_uri": "https://a.example/cb,\nhttps://b.example/cb",
                "login_url": "https://a.example/login", "post_logout_redirect_uri": "https://a.example/bye",
                "oidc_application_type": 1, "token_endpoint_auth_method": 2},
            "sso": {"client_id": "abc"}});
        let (a, _) = app("2", &data);
        let o = a.oidc.unwrap();
        assert_eq!(
            o.redirect_uris,
            vec!["https://a.example/cb", "https://b.example/cb"]
        );
        assert_eq!(o.post_logout_redirect_uris, vec!["https://a.example/bye"]);
        assert_eq!(o.login_url, Some("https://a.example/login"));
        assert_eq!(o.application_type, Some("native"));
        assert_eq!(o.token_endpoint_auth_method, Some("none"));
        for (method, mode) in [(0, "AUTO_LOGIN"), (6, "FORMS_BASED"), (7, "WS_FEDERATION")] {
            let data = json!({"id": 3, "name": "X", "auth_method": method});
            let (a, w) = app("3", &data);
            assert_eq!((a.sign_on, a.sign_on_mode), (SignOn::Other, Some(mode)));
            assert!(a.saml.is_none() && a.oidc.is_none() && w.is_empty());
        }
        let data = json!({"id": 4, "name": "X", "auth_method": 5});
        let (a, w) = app("4", &data);
        assert_eq!(a.sign_on_mode, None);
        assert!(w[0].contains("auth_method `5`"), "{w:?}");
    }
}
