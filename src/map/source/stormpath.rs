//! The Stormpath source adapter: the records `idm-export --from stormpath` writes (docs/stormpath.md)
//! read into the canonical model of [`super::canonical`].
//!
//! The export has already done everything that needs more than one account — unification of
//! linked accounts, the login (with `@<domain>` appended), custom data flattened and given one
//! type per property — and keeps its results in each record's `_idm`. So this adapter reads
//! `_idm` first and the account object only for what unification leaves alone (status, href,
//! email verification, the password), and applies the importer's per-account rules
//! (reference stormpath-export.md §2.5–§2.9):
//!
//! - names come from `_idm.merged`; a missing given name or surname stays missing: the
//!   importer's `not_provided` is for targets that require names, and is theirs to write;
//! - `DISABLED` is suspended, anything else active;
//! - custom fields: `_idm.customData` (values of a minority type are already out), plus
//!   `middleName`, `emailVerificationStatus`, `stormpathHref` and `stormpathApiKey_1`…`_10`
//!   (`id:secret`, marked secret so nothing prints them);
//! - the password is the account's modular-crypt string, parsed into a
//!   [`crate::password::Hash`]: each target decides whether it can take it;
//! - directories, groups and organizations become groups named `dir:<name>`,
//!   `group:<directory name>:<name>` and `org:<name>` (the importer wrote the Okta id of the
//!   directory's group where we write its name: a target id means nothing in another target);
//! - applications become `app:<name>`, recreated as OpenID Connect clients as the importer did.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::okta::is_email;
use super::{AttributeIn, SourceAdapter, SourceOptions, mcf_password};
use crate::map::canonical::{
    AccountStatus, App, CustomField, CustomPath, Field, Group, Identity, Oidc, SignOn, Sourced,
};

/// The most API keys the importer migrated per user.
pub const MAX_API_KEYS: usize = 10;

/// The custom fields API keys become, in order (the importer's names).
pub const API_KEY_NAMES: [&str; MAX_API_KEYS] = [
    "stormpathApiKey_1",
    "stormpathApiKey_2",
    "stormpathApiKey_3",
    "stormpathApiKey_4",
    "stormpathApiKey_5",
    "stormpathApiKey_6",
    "stormpathApiKey_7",
    "stormpathApiKey_8",
    "stormpathApiKey_9",
    "stormpathApiKey_10",
];

/// Where each key's value comes from.
const API_KEY_PATHS: [&str; MAX_API_KEYS] = [
    "_idm.apiKeys[0]",
    "_idm.apiKeys[1]",
    "_idm.apiKeys[2]",
    "_idm.apiKeys[3]",
    "_idm.apiKeys[4]",
    "_idm.apiKeys[5]",
    "_idm.apiKeys[6]",
    "_idm.apiKeys[7]",
    "_idm.apiKeys[8]",
    "_idm.apiKeys[9]",
];

/// The Stormpath export as a [`SourceAdapter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Stormpath;

impl SourceAdapter for Stormpath {
    fn name(&self) -> &'static str {
        "stormpath"
    }

    fn identity<'a>(
        &self,
        id: &'a str,
        data: &'a Value,
        _opts: &SourceOptions,
    ) -> Result<Identity<'a>, String> {
        identity(id, data)
    }

    fn group<'a>(&self, id: &'a str, data: &'a Value) -> Group<'a> {
        group(id, data)
    }

    fn app<'a>(&self, id: &'a str, data: &'a Value) -> (App<'a>, Vec<String>) {
        app(id, data)
    }

    fn attribute<'a>(&self, id: &'a str, data: &'a Value) -> AttributeIn<'a> {
        attribute(id, data)
    }

    /// Custom data lives apart from the account's fields: no key of it feeds a standard field.
    fn is_consumed_key(&self, _key: &str) -> bool {
        false
    }
}

/// A non-blank string.
fn text(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
        _ => None,
    }
}

/// Read a Stormpath user record (the base account plus `_idm`) into a canonical identity.
pub fn identity<'a>(id: &'a str, data: &'a Value) -> Result<Identity<'a>, String> {
    let Some(idm) = data.get("_idm").and_then(Value::as_object) else {
        return Err("missing field `_idm`: not a record of `idm-export --from stormpath`".into());
    };
    let merged = idm.get("merged").and_then(Value::as_object);
    let from_merged = |key: &str| merged.and_then(|m| text(m.get(key)));

    let status = match data.get("status").and_then(Value::as_str) {
        Some("DISABLED") => AccountStatus::Suspended,
        _ => AccountStatus::Active,
    };
    let mut who = Identity::new(id, status);

    let Some(login) = text(idm.get("login")) else {
        return Err("missing field `_idm.login`".into());
    };
    who.set(Field::UserName, Some(Sourced::new(login, "_idm.login")));

    let (email, email_from) = match from_merged("email") {
        Some(e) => (Some(e), "_idm.merged.email"),
        None => (text(data.get("email")), "email"),
    };
    match email {
        Some(e) if is_email(e) => who.set(Field::Email, Some(Sourced::new(e, email_from))),
        Some(e) => who
            .warnings
            .push(format!("`{email_from}` `{e}` is not an email address")),
        None => who
            .warnings
            .push("missing email: the account has none".into()),
    }

    for (field, key, path) in [
        (Field::GivenName, "givenName", "_idm.merged.givenName"),
        (Field::FamilyName, "surname", "_idm.merged.surname"),
        (Field::DisplayName, "fullName", "_idm.merged.fullName"),
    ] {
        if let Some(v) = from_merged(key) {
            who.set(field, Some(Sourced::new(v, path)));
        }
    }

    // custom fields: the middle name (no canonical field holds one), custom data as the
    // export typed it, the two account properties the importer added, then the API keys
    if let Some(m) = merged
        && let Some(v @ Value::String(s)) = m.get("middleName")
        && !s.trim().is_empty()
    {
        who.custom.push(CustomField::new(
            "middleName",
            v,
            CustomPath::At("_idm.merged.middleName"),
        ));
    }
    if let Some(Value::Object(custom)) = idm.get("customData") {
        for (name, value) in custom {
            if !value.is_null() {
                who.custom.push(CustomField::new(
                    name,
                    value,
                    CustomPath::Under("_idm.customData."),
                ));
            }
        }
    }
    if let Some(v @ Value::String(_)) = data.get("emailVerificationStatus") {
        who.custom.push(CustomField::new(
            "emailVerificationStatus",
            v,
            CustomPath::At("emailVerificationStatus"),
        ));
    }
    if let Some(v @ Value::String(s)) = data.get("href")
        && !s.trim().is_empty()
    {
        who.custom
            .push(CustomField::new("stormpathHref", v, CustomPath::At("href")));
    }
    if let Some(Value::Array(keys)) = idm.get("apiKeys") {
        for (i, key) in keys.iter().take(MAX_API_KEYS).enumerate() {
            match (
                text(key.get("id")),
                key.get("secret").and_then(Value::as_str),
            ) {
                (Some(key_id), Some(secret)) => who.custom.push(CustomField::secret(
                    API_KEY_NAMES[i],
                    format!("{key_id}:{secret}"),
                    CustomPath::At(API_KEY_PATHS[i]),
                )),
                // the schema requires both; a key without them is named by position only
                _ => who.warnings.push(format!(
                    "`_idm.apiKeys[{i}]` not migrated: the key has no id or no secret"
                )),
            }
        }
    }

    who.password = mcf_password(data.get("password"), "password");
    Ok(who)
}

/// `Stormpath <what>Id=<id>`, then `: <description>` when there is one (the importer's form).
fn described(what: &str, id: &str, description: Option<&str>) -> String {
    match description {
        Some(d) => format!("Stormpath {what}Id={id}: {d}"),
        None => format!("Stormpath {what}Id={id}"),
    }
}

/// Read a directory, group or organization record into a canonical group.
pub fn group<'a>(id: &'a str, data: &'a Value) -> Group<'a> {
    let name = text(data.get("name"));
    let description = text(data.get("description"));
    let kind = data.pointer("/_idm/type").and_then(Value::as_str);
    let (name, description) = match kind {
        Some("directory") => (
            name.map(|n| Sourced::new(format!("dir:{n}"), "`dir:` + name")),
            Some(Cow::Owned(described("directory", id, description))),
        ),
        Some("group") => {
            let dir = text(data.pointer("/_idm/directoryName"));
            let name = match (dir, name) {
                (Some(d), Some(n)) => Some(Sourced::new(
                    format!("group:{d}:{n}"),
                    "`group:` + _idm.directoryName + `:` + name",
                )),
                _ => None,
            };
            (name, Some(Cow::Owned(described("group", id, description))))
        }
        Some("organization") => (
            name.map(|n| Sourced::new(format!("org:{n}"), "`org:` + name")),
            text(data.get("nameKey")).map(Cow::Borrowed),
        ),
        _ => (
            name.map(|n| Sourced::new(n, "name")),
            description.map(Cow::Borrowed),
        ),
    };
    Group {
        id,
        name,
        description,
        built_in: false,
    }
}

/// Read an application record into a canonical app. The importer recreated each one as an
/// OAuth (OpenID Connect) client; a Stormpath application has nothing a target's single
/// sign-on settings could be filled from, so the warnings say what to set by hand.
pub fn app<'a>(id: &'a str, data: &'a Value) -> (App<'a>, Vec<String>) {
    let mut warnings = Vec::new();
    let raw = text(data.get("name"));
    let name = raw.map(|n| Sourced::new(format!("app:{n}"), "`app:` + name"));
    let mut lookup_names = Vec::new();
    if let Some(n) = raw {
        lookup_names.push(n);
    }
    warnings.push(
        "a stormpath application has no redirect uris: set the app's sign-in urls by hand".into(),
    );
    if let Some(Value::Object(policy)) = data.pointer("/_idm/oAuthPolicy") {
        let ttls = ttl_list(policy);
        if !ttls.is_empty() {
            warnings.push(format!(
                "oauth token lifetimes ({ttls}) are not migrated: set them in the target"
            ));
        }
    }
    let app = App {
        id,
        name,
        lookup_names,
        sign_on_mode: Some("OPENID_CONNECT"),
        sign_on: SignOn::Oidc,
        description: text(data.get("description")),
        visible: true,
        url: None,
        saml: None,
        oidc: Some(Oidc::default()),
    };
    (app, warnings)
}

/// `access PT2H, refresh P30D, id PT1H` (what the OAuth policy sets).
fn ttl_list(policy: &Map<String, Value>) -> String {
    [
        ("access", "accessTokenTtl"),
        ("refresh", "refreshTokenTtl"),
        ("id", "idTokenTtl"),
    ]
    .iter()
    .filter_map(|(label, key)| text(policy.get(*key)).map(|v| format!("{label} `{v}`")))
    .collect::<Vec<_>>()
    .join(", ")
}

/// Read an attribute record: the export's types (`string`, `number`, `boolean`, `string[]`,
/// `number[]`) as JSON Schema types.
pub fn attribute<'a>(id: &'a str, data: &'a Value) -> AttributeIn<'a> {
    let (value_type, item_type) = match data.get("type").and_then(Value::as_str) {
        Some("string[]") => (Some("array"), Some("string")),
        Some("number[]") => (Some("array"), Some("number")),
        Some(t) => (Some(t), None),
        None => (None, None),
    };
    AttributeIn {
        name: id,
        title: None,
        value_type,
        item_type,
        hidden: data.get("hidden").and_then(Value::as_bool).unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::canonical::Password;
    use crate::password::Algorithm;
    use serde_json::json;

    fn user(over: Value) -> Value {
        let mut base = json!({
            "id": "acc1",
            "href": "https://api.stormpath.com/v1/accounts/acc1",
            "username": "ann", "email": "ann@x.io",
            "givenName": "Ann", "middleName": null, "surname": null, "fullName": "Ann",
            "status": "ENABLED", "emailVerificationStatus": "VERIFIED",
            "password": null,
            "customData": {"ignored": "raw custom data is not read"},
            "_idm": {
                "login": "ann@emailnotprovided.local", "loginConverted": true,
                "loginSource": "username",
                "merged": {"username": "ann", "givenName": "Ann", "middleName": " ",
                           "surname": null, "fullName": "Ann Lee", "email": "ann@x.io"},
                "directoryIds": ["dir1"],
                "customData": {"plan_tier": "gold", "seats": 5, "colors": ["a"]}
            }
        });
        for (k, v) in over.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    }

    fn field(who: &Identity<'_>, f: Field) -> Option<(String, String)> {
        who.get(f)
            .map(|s| (s.value.to_string(), s.from.to_string()))
    }

    #[test]
    fn fields_come_from_idm_and_missing_names_stay_missing() {
        let data = user(json!({}));
        let who = identity("acc1", &data).unwrap();
        assert_eq!(
            field(&who, Field::UserName),
            Some(("ann@emailnotprovided.local".into(), "_idm.login".into()))
        );
        assert_eq!(
            field(&who, Field::Email),
            Some(("ann@x.io".into(), "_idm.merged.email".into()))
        );
        assert_eq!(field(&who, Field::GivenName).unwrap().0, "Ann");
        assert_eq!(field(&who, Field::DisplayName).unwrap().0, "Ann Lee");
        assert_eq!(field(&who, Field::FamilyName), None, "no not_provided here");
        assert_eq!(who.status, AccountStatus::Active);
        assert!(who.password.is_none());
        let names: Vec<&str> = who.custom.iter().map(|c| c.name).collect();
        // raw customData is not read; a blank middle name is not a value
        assert_eq!(
            names,
            [
                "plan_tier",
                "seats",
                "colors",
                "emailVerificationStatus",
                "stormpathHref"
            ]
        );
    }

    #[test]
    fn disabled_is_suspended_and_everything_else_active() {
        for (status, want) in [
            ("DISABLED", AccountStatus::Suspended),
            ("ENABLED", AccountStatus::Active),
        ] {
            let data = user(json!({"status": status}));
            assert_eq!(identity("acc1", &data).unwrap().status, want);
        }
    }

    #[test]
    fn api_keys_are_secret_custom_fields_up_to_ten() {
        let keys: Vec<Value> = (1..=12)
            .map(|i| json!({"id": format!("KEY{i}"), "secret": format!("sec{i}"), "status": "ENABLED"}))
            .collect();
        let mut data = user(json!({}));
        data["_idm"]["apiKeys"] = Value::Array(keys);
        let who = identity("acc1", &data).unwrap();
        let keys: Vec<&CustomField<'_>> = who.custom.iter().filter(|c| c.secret).collect();
        assert_eq!(keys.len(), MAX_API_KEYS);
        assert_eq!(keys[0].name, "stormpathApiKey_1");
        assert_eq!(*keys[0].value, json!("KEY1:sec1"));
        assert_eq!(keys[9].name, "stormpathApiKey_10");
        // Debug never shows a secret
        let shown = format!("{:?}", who.custom);
        assert!(!shown.contains("sec1"), "{shown}");
        assert!(shown.contains("plan_tier"), "{shown}");
    }

    #[test]
    fn passwords_parse_or_say_why_not() {
        let bcrypt = "$2a$10$N9qo8uLOickgx2ZMRZoMyeKDO7gYklv7H8hCFMp67/9ylzbDl451y";
        let data = user(json!({"password": bcrypt}));
        match identity("acc1", &data).unwrap().password {
            Some(Password::Hash { hash, from }) => {
                assert_eq!(from, "password");
                assert!(matches!(
                    hash.algorithm(),
                    Algorithm::Bcrypt { cost: 10, .. }
                ));
            }
            other => panic!("{other:?}"),
        }
        let data = user(json!({"password": "$md5$abc"}));
        match identity("acc1", &data).unwrap().password {
            Some(Password::Unreadable { from, why }) => {
                assert_eq!(from, "password");
                assert!(why.contains("unknown modular-crypt identifier"), "{why}");
                assert!(!why.contains("abc"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn groups_are_named_by_kind_with_the_importers_descriptions() {
        let dir = json!({"name": "Customers", "description": "Shop", "_idm": {"type": "directory", "providerId": "stormpath"}});
        let g = group("dir1", &dir);
        assert_eq!(g.name.unwrap().value, "dir:Customers");
        assert_eq!(
            g.description.as_deref(),
            Some("Stormpath directoryId=dir1: Shop")
        );
        let grp = json!({"name": "Admins", "description": null,
                         "_idm": {"type": "group", "directoryId": "dir1", "directoryName": "Customers"}});
        let g = group("grp1", &grp);
        assert_eq!(g.name.unwrap().value, "group:Customers:Admins");
        assert_eq!(g.description.as_deref(), Some("Stormpath groupId=grp1"));
        let org = json!({"name": "Acme", "nameKey": "acme", "_idm": {"type": "organization", "accountStores": []}});
        let g = group("org1", &org);
        assert_eq!(g.name.unwrap().value, "org:Acme");
        assert_eq!(g.description.as_deref(), Some("acme"));
    }

    #[test]
    fn attribute_types_become_json_schema_types() {
        let a = json!({"name": "c", "type": "string[]", "origin": "customData"});
        let got = attribute("c", &a);
        assert_eq!(
            (got.value_type, got.item_type),
            (Some("array"), Some("string"))
        );
        let a = json!({"name": "stormpathApiKey_1", "type": "string", "origin": "apiKey", "hidden": true});
        let got = attribute("stormpathApiKey_1", &a);
        assert_eq!((got.value_type, got.hidden), (Some("string"), true));
    }

    #[test]
    fn apps_are_prefixed_and_say_what_is_left_to_do() {
        let a = json!({"name": "Portal", "_idm": {"oAuthPolicy": {"accessTokenTtl": "PT2H", "refreshTokenTtl": "P30D"}}});
        let (app, warnings) = app("app1", &a);
        assert_eq!(app.name.unwrap().value, "app:Portal");
        assert_eq!(app.lookup_names, ["Portal"]);
        assert_eq!(app.sign_on, SignOn::Oidc);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("access `PT2H`, refresh `P30D`")),
            "{warnings:?}"
        );
    }
}
