//! The CSV source adapter: the records `idm-export --from csv` writes from a staging file
//! (docs/csv-source.md) read into the canonical model of [`super::canonical`].
//!
//! A staging row uses Okta's profile attribute names at the top of its `data` (`login`,
//! `firstName`, `primaryPhone`, …), so it is read with the Okta adapter's profile rules
//! ([`super::okta::read_profile`]): the same fallback chains, login, email, samaccountname and
//! userprincipalname, and the same keys consumed by standard fields. What differs is around
//! that: the columns with a meaning of their own (`id`, `status`, `groups`, the password
//! columns) are never custom fields, an absent `status` means STAGED (reference
//! stormpath-export.md §4.3), and a row may carry a password in one of three forms:
//!
//! - `password_hash`, a modular-crypt string, parsed as Stormpath's are;
//! - the Okta hash object split over the `password_algorithm`, `password_salt`,
//!   `password_salt_order`, `password_value` and `password_work_factor` columns, read by
//!   [`Hash::from_okta`];
//! - a cleartext `password` (the export refuses it unless asked), kept as a
//!   [`crate::secrets::Secret`].
//!
//! Groups are the names of the `groups` column, one record per name (its id is the name).

use serde_json::{Map, Value};

use super::okta::{self, ProfileAt, read_profile};
use super::{AttributeIn, SourceAdapter, SourceOptions, mcf_password};
use crate::map::canonical::{AccountStatus, App, Group, Identity, Password, SignOn, Sourced};
use crate::password::Hash;
use crate::provider::csv_file::{HASH_COLUMNS, SPECIAL_COLUMNS};
use crate::secrets::Secret;

/// Where a hash given field by field came from, for messages and `--explain`.
const HASH_FIELDS_FROM: &str = "password_algorithm, password_salt, password_value";

/// A CSV staging file's export as a [`SourceAdapter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Csv;

impl SourceAdapter for Csv {
    fn name(&self) -> &'static str {
        "csv"
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
            name: text(data.get("name")).map(|n| Sourced::new(n, "name")),
            description: None,
            built_in: false,
        }
    }

    /// A staging file has no apps; a record that says otherwise is read by its `name`.
    fn app<'a>(&self, id: &'a str, data: &'a Value) -> (App<'a>, Vec<String>) {
        let name = text(data.get("name"));
        let app = App {
            id,
            name: name.map(|n| Sourced::new(n, "name")),
            lookup_names: name.into_iter().collect(),
            sign_on_mode: None,
            sign_on: SignOn::Other,
            description: None,
            visible: true,
            url: None,
            saml: None,
            oidc: None,
        };
        (
            app,
            vec![
                "a csv staging file describes no apps: this one has no settings to migrate".into(),
            ],
        )
    }

    fn attribute<'a>(&self, id: &'a str, data: &'a Value) -> AttributeIn<'a> {
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
            hidden: false,
        }
    }

    fn is_consumed_key(&self, key: &str) -> bool {
        okta::is_consumed_key(key) || SPECIAL_COLUMNS.contains(&key)
    }
}

fn text(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
        _ => None,
    }
}

/// Read a staging row into a canonical identity.
pub fn identity<'a>(
    id: &'a str,
    data: &'a Value,
    opts: &SourceOptions,
) -> Result<Identity<'a>, String> {
    let Value::Object(row) = data else {
        return Err("field `data` is not an object".into());
    };
    let status = match row.get("status") {
        None | Some(Value::Null) => AccountStatus::Staged,
        Some(v) => okta::status(Some(v))?,
    };
    let mut who = read_profile(id, row, ProfileAt::Top, status, None, opts)?;
    who.custom.retain(|c| !SPECIAL_COLUMNS.contains(&c.name));
    if who.status == AccountStatus::Deprovisioned {
        who.warnings
            .push("status `DEPROVISIONED`: migrated as suspended".into());
    }
    who.password = password(row)?;
    Ok(who)
}

/// The row's password, in whichever of its three forms it has; two forms are an error (the
/// export rejects such rows, so a record with two was written by something else).
fn password(row: &Map<String, Value>) -> Result<Option<Password>, String> {
    let hash_fields = HASH_COLUMNS.iter().any(|c| row.contains_key(*c));
    let forms = [
        row.contains_key("password_hash"),
        hash_fields,
        row.contains_key("password"),
    ];
    if forms.iter().filter(|f| **f).count() > 1 {
        return Err(
            "a row gives one password: `password_hash`, the hash fields (`password_algorithm`, …) or `password`"
                .into(),
        );
    }
    if row.contains_key("password_hash") {
        return Ok(mcf_password(row.get("password_hash"), "password_hash"));
    }
    if hash_fields {
        let mut okta = Map::new();
        for (column, field) in [
            ("password_algorithm", "algorithm"),
            ("password_salt", "salt"),
            ("password_salt_order", "saltOrder"),
            ("password_value", "value"),
            ("password_work_factor", "workFactor"),
        ] {
            if let Some(v) = row.get(column) {
                okta.insert(field.to_string(), v.clone());
            }
        }
        return Ok(Some(match Hash::from_okta(&Value::Object(okta)) {
            Ok(hash) => Password::Hash {
                hash,
                from: HASH_FIELDS_FROM,
            },
            Err(e) => Password::Unreadable {
                from: HASH_FIELDS_FROM,
                why: e.to_string(),
            },
        }));
    }
    match row.get("password") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(Password::Clear {
            value: Secret::new(s.as_str()),
            from: "password",
        })),
        Some(_) => Err("field `password` is not a string".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::canonical::Field;
    use crate::password::{Algorithm, Digest, SaltOrder};
    use serde_json::json;

    fn row(extra: Value) -> Value {
        let mut base = json!({"login": "ann@x.io", "email": "ann@x.io", "firstName": "Ann", "lastName": "Lee"});
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    }

    fn from_of<'a>(who: &'a Identity<'_>, f: Field) -> Option<&'a str> {
        who.get(f).map(|s| s.from.as_ref())
    }

    fn read(data: &Value) -> Identity<'_> {
        identity("ann@x.io", data, &SourceOptions::default()).unwrap()
    }

    #[test]
    fn okta_names_at_the_top_and_special_columns_are_not_custom() {
        let data = row(json!({
            "id": "e1", "status": "ACTIVE", "groups": ["Sales"], "primaryPhone": "1",
            "costCenter": "10", "age": 42, "password_hash": "$2a$04$......................0123456789012345678901234567890"
        }));
        let who = read(&data);
        assert_eq!(who.status, AccountStatus::Active);
        assert_eq!(who.get(Field::Phone).unwrap().value, "1");
        assert_eq!(from_of(&who, Field::Phone).unwrap(), "primaryPhone");
        assert_eq!(from_of(&who, Field::UserName).unwrap(), "login");
        let names: Vec<&str> = who.custom.iter().map(|c| c.name).collect();
        assert_eq!(names, ["costCenter", "age"]);
    }

    #[test]
    fn status_defaults_to_staged() {
        assert_eq!(read(&row(json!({}))).status, AccountStatus::Staged);
        let data = row(json!({"status": "DEPROVISIONED"}));
        let who = read(&data);
        assert_eq!(who.status, AccountStatus::Deprovisioned);
        assert!(who.warnings.iter().any(|w| w.contains("DEPROVISIONED")));
    }

    #[test]
    fn passwords_in_each_form() {
        let data = row(
            json!({"password_algorithm": "SHA-256", "password_salt": "c2FsdA==",
                              "password_salt_order": "PREFIX",
                              "password_value": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="}),
        );
        match read(&data).password {
            Some(Password::Hash { hash, from }) => {
                assert_eq!(from, HASH_FIELDS_FROM);
                assert_eq!(
                    hash.algorithm(),
                    Algorithm::Salted {
                        digest: Digest::Sha256,
                        order: SaltOrder::Prefix,
                        iterations: 1
                    }
                );
                assert_eq!(hash.salt(), b"salt");
            }
            other => panic!("{other:?}"),
        }
        let data =
            row(json!({"password_algorithm": "SHA-256", "password_value": "bm90IDMyIGJ5dGVz"}));
        assert!(matches!(
            read(&data).password,
            Some(Password::Unreadable { .. })
        ));
        let data = row(json!({"password": " typed as is "}));
        match read(&data).password {
            Some(Password::Clear { value, from }) => {
                assert_eq!(value.expose(), " typed as is ");
                assert_eq!(from, "password");
            }
            other => panic!("{other:?}"),
        }
        let data = row(json!({"password": "x", "password_hash": "$2a$…"}));
        assert!(
            identity("ann@x.io", &data, &SourceOptions::default())
                .unwrap_err()
                .contains("one password")
        );
    }

    #[test]
    fn attribute_types_include_integer() {
        let a = json!({"name": "age", "type": "integer", "column": "age:integer"});
        let got = Csv.attribute("age", &a);
        assert_eq!((got.value_type, got.item_type), (Some("integer"), None));
        let a = json!({"name": "tags", "type": "number[]", "column": "tags:number[]"});
        let got = Csv.attribute("tags", &a);
        assert_eq!(
            (got.value_type, got.item_type),
            (Some("array"), Some("number"))
        );
        assert!(Csv.is_consumed_key("groups") && Csv.is_consumed_key("notes"));
        assert!(!Csv.is_consumed_key("costCenter"));
    }
}
