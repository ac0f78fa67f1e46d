//! Quick checks of the hot shapes: an Okta user as exported and a OneLogin user as mapped, the
//! records a migration has millions of.
//!
//! The JSON Schemas in `schemas/` stay the contract and the only source of error messages.
//! These checks answer one question, "does this surely pass?", in plain Rust: `true` only for
//! what the schema accepts, and `false` for anything they are not sure of (then the schema is
//! asked, and says why). So they may be stricter than the schema, never looser; the tests
//! below hold them to it against the compiled schemas. What it saves: the per-record cost of a
//! general validator, and, on clean data, compiling those schemas at all (each costs several
//! MB of memory for the life of the process).

use serde_json::{Map, Value};

use super::schema::{OKTA_USER, ONELOGIN_USER};

/// Whether `instance` surely passes schema `file` (`false`: ask the schema).
pub fn passes(file: &str, instance: &Value) -> bool {
    match file {
        OKTA_USER => okta_user(instance).is_some(),
        ONELOGIN_USER => onelogin_user(instance).is_some(),
        _ => false,
    }
}

/// `Some(())` when sure; `?` on anything else.
type Sure = Option<()>;

fn sure(ok: bool) -> Sure {
    ok.then_some(())
}

fn object(v: &Value) -> Option<&Map<String, Value>> {
    v.as_object()
}

/// A non-empty string (`minLength: 1`).
fn text(v: &Value) -> Sure {
    sure(v.as_str().is_some_and(|s| !s.is_empty()))
}

fn string_or_null(v: &Value) -> Sure {
    sure(v.is_string() || v.is_null())
}

/// A JSON integer, as written (no `1.0`).
fn integer(v: &Value) -> Sure {
    sure(v.is_i64() || v.is_u64())
}

fn one_of_u64(v: &Value, allowed: &[u64]) -> Sure {
    sure(v.as_u64().is_some_and(|n| allowed.contains(&n)))
}

fn one_of_str(v: &Value, allowed: &[&str]) -> Sure {
    sure(v.as_str().is_some_and(|s| allowed.contains(&s)))
}

/// RFC 3339 `date-time`, in the form Okta writes: `2019-01-01T17:26:53.832Z` or with an
/// offset; seconds up to 59 (a leap second is left to the schema).
fn date_time(s: &str) -> Sure {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    sure(b.len() > 19 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T')?;
    sure(b[13] == b':' && b[16] == b':')?;
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    sure((1..=days).contains(&day) && hour <= 23 && minute <= 59 && second <= 59)?;
    let mut i = 19;
    if b[i] == b'.' {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        sure(digits > 0)?;
        i += 1 + digits;
    }
    match b.get(i..)? {
        b"Z" => Some(()),
        [b'+' | b'-', ..] if b.len() - i == 6 && b[i + 3] == b':' => {
            sure(num(i + 1..i + 3)? <= 23 && num(i + 4..i + 6)? <= 59)
        }
        _ => None,
    }
}

/// An email address in its plainest form: `local@domain.tld`, ASCII letters, digits and
/// `._%+-` before the `@`, a hostname after it.
fn email(s: &str) -> Sure {
    let (local, domain) = s.rsplit_once('@')?;
    sure((1..=64).contains(&local.len()) && (1..=253).contains(&domain.len()))?;
    let local_ok = local.split('.').all(|atom| {
        !atom.is_empty()
            && atom
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'%' | b'+' | b'-'))
    });
    let domain_ok = domain.split('.').all(|label| {
        let l = label.as_bytes();
        (1..=63).contains(&l.len())
            && l[0].is_ascii_alphanumeric()
            && l[l.len() - 1].is_ascii_alphanumeric()
            && l.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    });
    sure(local_ok && domain_ok)
}

/// OneLogin's custom attribute shortname: `^(?:[a-z]|_[0-9])(?:_?[a-z0-9])*_?$`, at most 64.
fn shortname(s: &str) -> Sure {
    let b = s.as_bytes();
    sure(!b.is_empty() && b.len() <= 64)?;
    let start_ok = b[0].is_ascii_lowercase() || (b[0] == b'_' && b.get(1)?.is_ascii_digit());
    let chars_ok = b
        .iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_');
    let no_double = !s.contains("__");
    sure(start_ok && chars_ok && no_double)
}

/// schemas/okta/user.schema.json
fn okta_user(v: &Value) -> Sure {
    let user = object(v)?;
    text(user.get("id")?)?;
    one_of_str(
        user.get("status")?,
        &[
            "STAGED",
            "PROVISIONED",
            "ACTIVE",
            "RECOVERY",
            "PASSWORD_EXPIRED",
            "LOCKED_OUT",
            "SUSPENDED",
            "DEPROVISIONED",
        ],
    )?;
    object(user.get("profile")?)?;
    for (key, value) in user {
        match key.as_str() {
            "id" | "status" => {}
            "transitioningToStatus" => sure(
                value.is_null()
                    || one_of_str(value, &["ACTIVE", "DEPROVISIONED", "PROVISIONED"]).is_some(),
            )?,
            "created" | "lastUpdated" => date_time(value.as_str()?)?,
            "activated" | "statusChanged" | "lastLogin" | "passwordChanged" if !value.is_null() => {
                date_time(value.as_str()?)?;
            }
            "type" => {
                if let Some(id) = object(value)?.get("id") {
                    sure(id.is_string())?;
                }
            }
            "realmId" => string_or_null(value)?,
            "profile" => okta_profile(object(value)?)?,
            "credentials" => okta_credentials(object(value)?)?,
            "_links" | "_embedded" => {
                object(value)?;
            }
            // the schema leaves other fields open
            _ => {}
        }
    }
    Some(())
}

fn okta_profile(profile: &Map<String, Value>) -> Sure {
    text(profile.get("login")?)?;
    for (key, value) in profile {
        match key.as_str() {
            "login" => {}
            "email" => sure(value.is_string())?,
            "firstName" | "lastName" | "middleName" | "honorificPrefix" | "honorificSuffix"
            | "title" | "displayName" | "nickName" | "profileUrl" | "secondEmail"
            | "mobilePhone" | "primaryPhone" | "streetAddress" | "city" | "state" | "zipCode"
            | "countryCode" | "postalAddress" | "preferredLanguage" | "locale" | "timezone"
            | "userType" | "employeeNumber" | "costCenter" | "organization" | "division"
            | "department" | "managerId" | "manager" => string_or_null(value)?,
            // custom profile attributes are open
            _ => {}
        }
    }
    Some(())
}

fn okta_credentials(credentials: &Map<String, Value>) -> Sure {
    for (key, value) in credentials {
        match key.as_str() {
            "password" => {
                object(value)?;
            }
            "recovery_question" => {
                if let Some(q) = object(value)?.get("question") {
                    string_or_null(q)?;
                }
            }
            "provider" => {
                let provider = object(value)?;
                if let Some(t) = provider.get("type") {
                    sure(t.is_string())?;
                }
                if let Some(n) = provider.get("name") {
                    string_or_null(n)?;
                }
            }
            "emails" => {
                for email in value.as_array()? {
                    for (k, v) in object(email)? {
                        if matches!(k.as_str(), "value" | "status" | "type") {
                            sure(v.is_string())?;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Some(())
}

/// schemas/onelogin/user.schema.json
fn onelogin_user(v: &Value) -> Sure {
    let user = object(v)?;
    email(user.get("email")?.as_str()?)?;
    text(user.get("username")?)?;
    for (key, value) in user {
        match key.as_str() {
            "email" => {}
            "username"
            | "firstname"
            | "lastname"
            | "title"
            | "department"
            | "company"
            | "comment"
            | "phone"
            | "mobile_phone"
            | "samaccountname"
            | "userprincipalname"
            | "distinguished_name"
            | "preferred_locale_code"
            | "external_id"
            | "password"
            | "password_confirmation" => text(value)?,
            "member_of" => match value {
                Value::Array(items) => {
                    for item in items {
                        text(item)?;
                    }
                }
                other => text(other)?,
            },
            "manager_ad_id" | "manager_user_id" => {
                sure(text(value).is_some() || integer(value).is_some())?
            }
            "state" => one_of_u64(value, &[0, 1, 2, 3])?,
            "status" => one_of_u64(value, &[0, 1, 2, 3, 4, 5, 7, 8])?,
            "group_id" | "directory_id" | "trusted_idp_id" => integer(value)?,
            "role_ids" => {
                for id in value.as_array()? {
                    integer(id)?;
                }
            }
            "password_algorithm" => one_of_str(value, &["salt+sha256", "sha256+salt", "bcrypt"])?,
            "salt" => sure(value.as_str()?.chars().count() <= 40)?,
            "custom_attributes" => {
                let attrs = object(value)?;
                sure(!attrs.is_empty())?;
                for (name, value) in attrs {
                    shortname(name)?;
                    sure(value.is_string())?;
                }
            }
            // `additionalProperties: false`
            _ => return None,
        }
    }
    // dependentRequired
    for (field, needs) in [
        ("password", "password_confirmation"),
        ("password_algorithm", "password"),
        ("salt", "password_algorithm"),
    ] {
        if user.contains_key(field) {
            sure(user.contains_key(needs))?;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::schema::Schemas;
    use proptest::prelude::*;
    use serde_json::json;

    /// The schema's own verdict.
    fn schema_says(file: &'static str, v: &Value) -> bool {
        Schemas::get().check_with_schema(file, v).is_ok()
    }

    /// Never looser than the schema; and `sure` says whether this one must pass quickly.
    fn agrees(file: &'static str, v: &Value, sure: bool) {
        let quick = passes(file, v);
        if quick {
            assert!(
                schema_says(file, v),
                "quick check passed what {file} refuses: {v}"
            );
        }
        if sure {
            assert!(quick, "quick check unsure of a plain record: {v}");
        }
    }

    fn okta() -> Value {
        json!({
            "id": "00u1", "status": "ACTIVE", "created": "2019-01-01T17:26:53.832Z",
            "activated": null, "lastUpdated": "2020-02-29T00:00:00+05:30",
            "type": {"id": "oty1"},
            "profile": {"login": "a@x.io", "email": "a@x.io", "firstName": "A", "middleName": null,
                        "costCenter": "7", "customThing": 5},
            "credentials": {"password": {}, "emails": [{"value": "a@x.io", "status": "VERIFIED", "type": "PRIMARY"}],
                            "provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": {"href": "x"}}
        })
    }

    fn onelogin() -> Value {
        json!({
            "firstname": "Dmitri", "email": "dmitri.k+0@mail.example.org", "username": "dmitri",
            "state": 1, "status": 1, "external_id": "00u1", "member_of": ["a", "b"],
            "manager_user_id": 12, "role_ids": [1, 2],
            "password": "x", "password_confirmation": "x", "password_algorithm": "bcrypt",
            "custom_attributes": {"cost_center": "7", "_1x": "y", "a_": ""}
        })
    }

    #[test]
    fn plain_users_pass_quickly_as_the_schemas_would() {
        agrees(OKTA_USER, &okta(), true);
        agrees(ONELOGIN_USER, &onelogin(), true);
    }

    #[test]
    fn what_the_schema_refuses_is_never_passed_quickly() {
        let set = |mut v: Value, pointer: &str, value: Value| {
            *v.pointer_mut(pointer).unwrap() = value;
            v
        };
        let drop = |mut v: Value, key: &str| {
            v.as_object_mut().unwrap().remove(key);
            v
        };
        for bad in [
            drop(okta(), "id"),
            drop(okta(), "profile"),
            set(okta(), "/status", json!("GONE")),
            set(okta(), "/created", json!("2019-02-29T00:00:00Z")),
            set(okta(), "/created", json!("2019-01-01 17:26:53Z")),
            set(okta(), "/created", json!(null)),
            set(okta(), "/activated", json!("2019-01-01T24:00:00Z")),
            set(okta(), "/profile/login", json!("")),
            set(okta(), "/profile/firstName", json!(3)),
            set(okta(), "/credentials/emails", json!([{"value": 1}])),
            set(okta(), "/type", json!({"id": 1})),
        ] {
            assert!(!passes(OKTA_USER, &bad), "{bad}");
            assert!(!schema_says(OKTA_USER, &bad), "the schema accepts {bad}");
        }
        for bad in [
            drop(onelogin(), "username"),
            set(onelogin(), "/email", json!("no-at-sign")),
            set(onelogin(), "/email", json!("a..b@x.io")),
            set(onelogin(), "/email", json!("a@-x.io")),
            set(onelogin(), "/state", json!(4)),
            set(onelogin(), "/status", json!(6)),
            set(onelogin(), "/firstname", json!("")),
            set(onelogin(), "/member_of", json!([""])),
            set(onelogin(), "/role_ids", json!(["1"])),
            set(onelogin(), "/custom_attributes", json!({})),
            set(onelogin(), "/custom_attributes", json!({"Bad": "x"})),
            set(onelogin(), "/custom_attributes", json!({"a__b": "x"})),
            set(onelogin(), "/custom_attributes", json!({"a": 1})),
            set(onelogin(), "/password_algorithm", json!("md5")),
            drop(onelogin(), "password_confirmation"),
            {
                let mut v = onelogin();
                v["extra"] = json!("x");
                v
            },
        ] {
            assert!(!passes(ONELOGIN_USER, &bad), "{bad}");
            assert!(
                !schema_says(ONELOGIN_USER, &bad),
                "the schema accepts {bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn date_times_never_pass_looser_than_the_schema(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,3})?(Z|z|[+-][0-9]{2}:[0-9]{2})?") {
            let mut v = okta();
            v["created"] = json!(s);
            agrees(OKTA_USER, &v, false);
        }

        #[test]
        fn emails_never_pass_looser_than_the_schema(s in "[a-zA-Z0-9._%+\\-@é\"<> ]{0,12}@[a-zA-Z0-9.\\-_é]{0,12}") {
            let mut v = onelogin();
            v["email"] = json!(s);
            agrees(ONELOGIN_USER, &v, false);
        }

        #[test]
        fn shortnames_never_pass_looser_than_the_schema(s in "[a-z0-9_A-]{0,6}") {
            let mut v = onelogin();
            v["custom_attributes"] = json!({ s: "x" });
            agrees(ONELOGIN_USER, &v, false);
        }

        #[test]
        fn users_never_pass_looser_than_the_schema(
            key in prop::sample::select(vec![
                "email", "username", "firstname", "member_of", "manager_ad_id", "state", "status",
                "group_id", "role_ids", "password", "password_algorithm", "salt",
                "custom_attributes", "other",
            ]),
            value in prop::sample::select(vec![
                json!(null), json!(""), json!("x"), json!(0), json!(1), json!(4), json!(6),
                json!(1.0), json!(-1), json!([]), json!(["a"]), json!([1]), json!({}),
                json!({"k": "v"}), json!("bcrypt"), json!("a@b.io"), json!("x".repeat(41)),
            ]),
            drop_it in any::<bool>(),
        ) {
            let mut v = onelogin();
            if drop_it {
                v.as_object_mut().unwrap().remove(key);
            } else {
                v[key] = value;
            }
            agrees(ONELOGIN_USER, &v, false);
        }
    }
}
