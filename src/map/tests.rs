//! Table-driven tests of every rule of mapping.md, through [`Mapper`] (the whole pipeline of
//! one record), including each deliberate difference from the reference toolkit.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::normalize::{flatten, is_valid_shortname, normalize_name};
use super::*;
use crate::password::{Algorithm, BcryptVariant, Digest, Hash, SaltOrder};

fn user(id: &str, status: &str, profile: Value) -> Record {
    Record::new(
        Kind::User,
        "okta",
        id,
        json!({"id": id, "status": status, "profile": profile}),
    )
}

fn mapped(outcome: Disposition) -> Record {
    match outcome {
        Disposition::Mapped(r) => r,
        other => panic!("expected a mapped record, got {other:?}"),
    }
}

fn map_user(opts: Options, profile: Value) -> Record {
    mapped(Mapper::new(opts).map(user("00u1", "ACTIVE", profile)))
}

fn custom(rec: &Record) -> Value {
    rec.data
        .get("custom_attributes")
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn standard_fields_follow_the_reference_table() {
    // (profile, OneLogin field, expected value or null when left out)
    let cases: Vec<(Value, &str, Value)> = vec![
        (json!({"firstName": "Ann"}), "firstname", json!("Ann")),
        (json!({"lastName": "Lee"}), "lastname", json!("Lee")),
        (json!({}), "username", json!("a@x.io")),
        (
            json!({"samAccountName": "ann"}),
            "samaccountname",
            json!("ann"),
        ),
        (
            json!({"samaccountname": "ann2"}),
            "samaccountname",
            json!("ann2"),
        ),
        (json!({}), "samaccountname", json!("a")),
        (
            json!({"userPrincipalName": "ann@corp"}),
            "userprincipalname",
            json!("ann@corp"),
        ),
        (
            json!({"email": "e@x.io"}),
            "userprincipalname",
            json!("e@x.io"),
        ),
        // OneLogin's v2 user has no mobile_phone: the number is kept as a named attribute
        (
            json!({"mobilePhone": "1"}),
            "custom_attributes.mobile_phone",
            json!("1"),
        ),
        (
            json!({"mobile_phone": "2"}),
            "custom_attributes.mobile_phone",
            json!("2"),
        ),
        (
            json!({"primaryPhone": "1", "phone": "2"}),
            "phone",
            json!("1"),
        ),
        (json!({"phone": "2", "workPhone": "3"}), "phone", json!("2")),
        (json!({"workPhone": "3"}), "phone", json!("3")),
        (
            json!({"company": "A", "organization": "B"}),
            "company",
            json!("A"),
        ),
        (json!({"organization": "B"}), "company", json!("B")),
        (json!({"department": "R&D"}), "department", json!("R&D")),
        (json!({"title": "Eng"}), "title", json!("Eng")),
        (
            json!({"notes": "n", "description": "d"}),
            "comment",
            json!("n"),
        ),
        (json!({"description": "d"}), "comment", json!("d")),
        (
            json!({"locale": "en_US"}),
            "preferred_locale_code",
            json!("en_US"),
        ),
        (
            json!({"preferredLanguage": "fr"}),
            "preferred_locale_code",
            json!("fr"),
        ),
        // blanks and nulls are left out, and the next candidate is used
        (
            json!({"primaryPhone": " ", "phone": "2"}),
            "phone",
            json!("2"),
        ),
        (json!({"title": null}), "title", Value::Null),
        (json!({"title": ""}), "title", Value::Null),
        // false and 0 are not "non-empty" (Python truthiness)
        (
            json!({"mobile_phone": false}),
            "custom_attributes.mobile_phone",
            Value::Null,
        ),
        (
            json!({"mobile_phone": 0}),
            "custom_attributes.mobile_phone",
            Value::Null,
        ),
        (json!({}), "external_id", json!("00u1")),
    ];
    for (mut profile, field, want) in cases {
        profile
            .as_object_mut()
            .unwrap()
            .entry("login")
            .or_insert(json!("a@x.io"));
        let rec = map_user(Options::default(), profile.clone());
        let at = format!("/{}", field.replace('.', "/"));
        assert_eq!(
            rec.data.pointer(&at).cloned().unwrap_or(Value::Null),
            want,
            "{field} from {profile}"
        );
    }
}

#[test]
fn status_and_state_follow_the_corrected_table() {
    // we differ: the reference writes state 0 (Unapproved) and status 0 for every inactive user
    let table = [
        ("ACTIVE", 1, 1),
        ("STAGED", 1, 0),
        ("PROVISIONED", 1, 7),
        ("RECOVERY", 1, 5),
        ("PASSWORD_EXPIRED", 1, 4),
        ("LOCKED_OUT", 1, 3),
        ("SUSPENDED", 1, 2),
        ("DEPROVISIONED", 1, 2),
    ];
    for (okta, state, status) in table {
        let rec = mapped(Mapper::new(Options::default()).map(user(
            "00u1",
            okta,
            json!({"login": "a@x.io"}),
        )));
        assert_eq!(rec.data["state"], json!(state), "{okta}");
        assert_eq!(rec.data["status"], json!(status), "{okta}");
        assert_eq!(
            rec.warnings.iter().any(|w| w.contains("DEPROVISIONED")),
            okta == "DEPROVISIONED",
            "{okta}: {:?}",
            rec.warnings
        );
    }
    let outcome =
        Mapper::new(Options::default()).map(user("00u1", "ZOMBIE", json!({"login": "a@x.io"})));
    assert!(matches!(outcome, Disposition::Rejected(r) if r.contains("`ZOMBIE`")));
}

#[test]
fn named_attributes_take_the_first_non_empty_candidate() {
    let cases = [
        (json!({"secondEmail": "s@x.io"}), "second_email", "s@x.io"),
        (json!({"second_email": "t@x.io"}), "second_email", "t@x.io"),
        (
            json!({"streetAddress": "1 Main"}),
            "street_address",
            "1 Main",
        ),
        (json!({"address": "2 Main"}), "street_address", "2 Main"),
        (json!({"postalAddress": "PO 3"}), "street_address", "PO 3"),
        (json!({"city": "Paris"}), "city", "Paris"),
        (json!({"state": "CA"}), "state", "CA"),
        (json!({"stateCode": "NY"}), "state", "NY"),
        (json!({"region": "IDF"}), "state", "IDF"),
        (json!({"zipCode": "1"}), "zip_code", "1"),
        (json!({"postalCode": "2"}), "zip_code", "2"),
        (json!({"zip": "3"}), "zip_code", "3"),
        (json!({"country": "France"}), "country", "France"),
        (json!({"countryCode": "FR"}), "country_code", "FR"),
        (json!({"country_code": "DE"}), "country_code", "DE"),
        (json!({"displayName": "Ann L"}), "display_name", "Ann L"),
        (json!({"display_name": "A L"}), "display_name", "A L"),
        (json!({"employeeNumber": "42"}), "employee_number", "42"),
        (json!({"employee_number": 44}), "employee_number", "44"),
        (json!({"employee_number": "43"}), "employee_number", "43"),
    ];
    for (mut profile, short, want) in cases {
        profile["login"] = json!("a@x.io");
        let rec = map_user(Options::default(), profile.clone());
        assert_eq!(custom(&rec), json!({ short: want }), "{profile}");
    }
}

#[test]
fn other_profile_keys_become_normalized_custom_attributes() {
    let rec = map_user(
        Options::default(),
        json!({
            "login": "a@x.io",
            "costCenter": "10", "nickName": "Al", "isAdmin": true, "level": 3.5,
            "HTTPProxy": "p", "2fa": "on",
            // consumed and authentication keys are never custom attributes (safe union)
            "workPhone": "9", "organization": "O", "notes": "n", "password": "secret",
            "salt": "s", "password_algorithm": "x", "manager_ad_id": "m",
            // nulls and blanks are left out
            "empty": "", "nothing": null
        }),
    );
    assert_eq!(
        custom(&rec),
        json!({"cost_center": "10", "nick_name": "Al", "is_admin": "true", "level": "3.5",
               "http_proxy": "p", "_2fa": "on"})
    );
    let text = serde_json::to_string(&rec).unwrap();
    assert!(!text.contains("secret"), "{text}");
}

#[test]
fn colliding_names_keep_the_last_and_warn() {
    let rec = map_user(
        Options::default(),
        json!({"login": "a@x.io", "costCenter": "1", "cost_center": "2", "Cost Center": "3"}),
    );
    assert_eq!(custom(&rec), json!({"cost_center": "3"}));
    let collisions: Vec<&String> = rec
        .warnings
        .iter()
        .filter(|w| w.contains("both normalize to `cost_center`"))
        .collect();
    assert_eq!(collisions.len(), 2, "{:?}", rec.warnings);
}

#[test]
fn names_of_payload_fields_and_named_attributes_are_not_custom_attributes() {
    let rec = map_user(
        Options::default(),
        json!({"login": "a@x.io", "city": "Paris", "City": "Lyon", "Status": "x",
               "EXTERNAL-ID": "y", "Country": "FR"}),
    );
    // named attributes win; a name of a top-level field is refused even though it is empty;
    // a named attribute with no value of its own keeps the custom field's (`Country`), as the
    // reference does
    assert_eq!(custom(&rec), json!({"city": "Paris", "country": "FR"}));
    for needle in [
        "`city` belongs to",
        "`status` is a standard",
        "`external_id` is a standard",
    ] {
        assert!(
            rec.warnings.iter().any(|w| w.contains(needle)),
            "{needle}: {:?}",
            rec.warnings
        );
    }
}

#[test]
fn complex_values_follow_the_chosen_strategy() {
    let profile = json!({"login": "a@x.io", "tags": ["a", "b"], "meta": {"foo": {"bar": "john"}, "n": 1},
                         "empty": {}, "costCenter": "10"});
    let opts = |complex| Options {
        complex,
        ..Options::default()
    };
    // exclude: left out, counted per field for the closing warning
    let mut mapper = Mapper::new(opts(Complex::Exclude));
    let rec = mapped(mapper.map(user("00u1", "ACTIVE", profile.clone())));
    assert_eq!(custom(&rec), json!({"cost_center": "10"}));
    mapped(mapper.map(user(
        "00u2",
        "ACTIVE",
        json!({"login": "b@x.io", "tags": ["c"]}),
    )));
    let notes = mapper.closing_notes();
    assert!(notes.contains(&"excluded complex field `profile.tags` from 2 users (use --complex flatten or stringify to keep it)".to_string()), "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("`profile.meta` from 1 user ")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("`profile.empty`")),
        "{notes:?}"
    );

    let rec = map_user(opts(Complex::Flatten), profile.clone());
    assert_eq!(
        custom(&rec),
        json!({"tags": "[\"a\",\"b\"]", "meta_foo_bar": "john", "meta_n": "1", "cost_center": "10"})
    );

    let rec = map_user(opts(Complex::Stringify), profile);
    assert_eq!(
        custom(&rec),
        json!({"cost_center": "10",
               "custom_data": "{\"tags\":[\"a\",\"b\"],\"meta\":{\"foo\":{\"bar\":\"john\"},\"n\":1},\"empty\":{}}"})
    );
}

#[test]
fn data_quality_warnings_and_rejects() {
    // login not in email form, without and with --email-domain
    let rec = map_user(
        Options::default(),
        json!({"login": "susan", "email": "s@x.io"}),
    );
    assert_eq!(rec.data["username"], json!("susan"));
    assert!(
        rec.warnings
            .contains(&"login `susan` is not an email address".to_string())
    );
    let opts = Options {
        email_domain: Some("emailnotprovided.local".into()),
        ..Options::default()
    };
    let rec = map_user(opts, json!({"login": "susan"}));
    assert_eq!(rec.data["username"], json!("susan@emailnotprovided.local"));
    assert_eq!(rec.data["email"], json!("susan@emailnotprovided.local"));

    // missing email: OneLogin needs one (the payload schema requires it), so the user is
    // rejected with the way out in the reason
    match Mapper::new(Options::default()).map(user("00u1", "ACTIVE", json!({"login": "bob"}))) {
        Disposition::Rejected(r) => {
            assert!(
                r.starts_with("missing email") && r.contains("--email-domain"),
                "{r}"
            )
        }
        other => panic!("{other:?}"),
    }

    // duplicate email: the second is rejected naming the first; shared prefix: a warning
    let mut mapper = Mapper::new(Options::default());
    mapped(mapper.map(user("00u1", "ACTIVE", json!({"login": "ann@x.io"}))));
    match mapper.map(user("00u2", "ACTIVE", json!({"login": "ANN@X.IO"}))) {
        Disposition::Rejected(r) => assert!(r.contains("already used by okta:00u1"), "{r}"),
        other => panic!("{other:?}"),
    }
    let rec = mapped(mapper.map(user("00u3", "ACTIVE", json!({"login": "ann@y.io"}))));
    assert!(
        rec.warnings
            .iter()
            .any(|w| w.contains("email prefix `ann` is shared with okta:00u1")),
        "{:?}",
        rec.warnings
    );

    // over-long values are rejected, not cut, naming the field
    let long = "x".repeat(crate::map::target::onelogin::MAX_FIELD_CHARS + 1);
    match Mapper::new(Options::default()).map(user(
        "00u1",
        "ACTIVE",
        json!({"login": "a@x.io", "title": long}),
    )) {
        Disposition::Rejected(r) => assert!(r.contains("field `title` is 256 characters"), "{r}"),
        other => panic!("{other:?}"),
    }

    // a rejected user does not claim its email
    let mut mapper = Mapper::new(Options::default());
    let long = "x".repeat(300);
    assert!(matches!(
        mapper.map(user(
            "00u1",
            "ACTIVE",
            json!({"login": "a@x.io", "title": long})
        )),
        Disposition::Rejected(_)
    ));
    mapped(mapper.map(user("00u2", "ACTIVE", json!({"login": "a@x.io"}))));
}

#[test]
fn groups_become_roles_and_everyone_is_skipped_with_its_edges() {
    let group = |id: &str, ty: &str, profile: Value| {
        Record::new(
            Kind::Group,
            "okta",
            id,
            json!({"id": id, "type": ty, "profile": profile}),
        )
    };
    let edge = |kind: Kind, id: &str, group: &str| {
        Record::new(
            kind.clone(),
            "okta",
            id,
            if kind == Kind::Membership {
                json!({"group_id": group, "user_id": "00u1"})
            } else {
                json!({"id": group, "app_id": "0oa1", "group_id": group})
            },
        )
    };
    let mut mapper = Mapper::new(Options::default());
    let rec = mapped(mapper.map(group("00g1", "OKTA_GROUP", json!({"name": " Eng "}))));
    assert_eq!(rec.data, json!({"name": "Eng"}));
    assert_eq!(rec.target.as_deref(), Some("onelogin"));
    assert!(matches!(
        mapper.map(group("00g0", "BUILT_IN", json!({"name": "Everyone"}))),
        Disposition::Skipped(r) if r.contains("--include-everyone")
    ));
    assert!(matches!(
        mapper.map(group("00g2", "OKTA_GROUP", json!({"description": "no name"}))),
        Disposition::Rejected(r) if r.contains("group has no name")
    ));
    assert!(matches!(
        mapper.map(edge(Kind::Membership, "00g0/00u1", "00g0")),
        Disposition::Skipped(_)
    ));
    assert!(matches!(
        mapper.map(edge(Kind::AppAssignment, "0oa1/00g0", "00g0")),
        Disposition::Skipped(_)
    ));
    let m = mapped(mapper.map(edge(Kind::Membership, "00g1/00u1", "00g1")));
    assert_eq!(m.data, json!({"group_id": "00g1", "user_id": "00u1"}));
    assert_eq!(m.target.as_deref(), Some("onelogin"));

    let mut mapper = Mapper::new(Options {
        include_everyone: true,
        ..Options::default()
    });
    let rec = mapped(mapper.map(group("00g0", "BUILT_IN", json!({"name": "Everyone"}))));
    assert_eq!(rec.data, json!({"name": "Everyone"}));
    mapped(mapper.map(edge(Kind::Membership, "00g0/00u1", "00g0")));
}

#[test]
fn unknown_kinds_results_and_mapped_records_pass_through() {
    let mut mapper = Mapper::new(Options::default());
    for rec in [
        Record::new(Kind::Other("policy".into()), "okta", "p1", json!({})),
        Record::new(Kind::Result, "okta", "00u1", json!({"of": "user"})),
        Record {
            target: Some("onelogin".into()),
            ..user("00u1", "ACTIVE", json!({}))
        },
    ] {
        assert!(matches!(mapper.map(rec), Disposition::Passed));
    }
    assert!(matches!(
        mapper.map(Record::new(Kind::User, "ldap", "a1", json!({}))),
        Disposition::Rejected(r) if r.contains("no source adapter for `ldap`")
            && r.contains("`stormpath`, `csv`")
    ));
}

#[test]
fn attribute_definitions_become_shortnames() {
    let attr = |id: &str, def: Value| Record::new(Kind::Attribute, "okta", id, def);
    let rules = Rules::parse(
        r#"{"users":{"custom_attributes":{"legacyId":"old_id","secret":null}}}"#,
        Target::Onelogin.adapter().as_mut(),
    )
    .unwrap();
    let mut mapper = Mapper::new(Options {
        rules,
        ..Options::default()
    });
    let rec = mapped(mapper.map(attr(
        "costCenter",
        json!({"title": "Cost center", "type": "string"}),
    )));
    assert_eq!(
        rec.data,
        json!({"shortname": "cost_center", "name": "Cost center"})
    );
    let rec = mapped(mapper.map(attr("nickName", json!({"title": " ", "type": "string"}))));
    assert_eq!(
        rec.data,
        json!({"shortname": "nick_name", "name": "nickName"})
    );
    let rec = mapped(mapper.map(attr(
        "legacyId",
        json!({"title": "Legacy", "type": "string"}),
    )));
    assert_eq!(rec.data["shortname"], json!("old_id"));
    assert!(matches!(
        mapper.map(attr("secret", json!({"title": "S", "type": "string"}))),
        Disposition::Skipped(_)
    ));
    assert!(
        matches!(mapper.map(attr("tags", json!({"title": "Tags", "type": "array"}))), Disposition::Skipped(r) if r.contains("--complex exclude"))
    );
    assert!(
        matches!(mapper.map(attr("名前", json!({"title": "Name", "type": "string"}))), Disposition::Rejected(r) if r.contains("no usable shortname"))
    );

    let mut flat = Mapper::new(Options {
        complex: Complex::Flatten,
        ..Options::default()
    });
    let rec = mapped(flat.map(attr("tags", json!({"title": "Tags", "type": "array"}))));
    assert_eq!(rec.data, json!({"shortname": "tags", "name": "Tags"}));
    // a custom property that feeds a standard field is not a custom attribute (`password`
    // never is), but one that feeds a named attribute is
    assert!(matches!(
        flat.map(attr("password", json!({"title": "P", "type": "string"}))),
        Disposition::Skipped(r) if r.contains("feeds a standard field")
    ));
    let rec = mapped(flat.map(attr(
        "employee_number",
        json!({"title": "Emp", "type": "string"}),
    )));
    assert_eq!(rec.data["shortname"], json!("employee_number"));
    // what is read is checked against the okta export schema
    assert!(matches!(
        flat.map(attr("x", json!({"type": "string"}))),
        Disposition::Rejected(r) if r.contains("data.title")
    ));
}

#[test]
fn mapping_file_renames_and_drops_custom_attributes_and_fields() {
    let rules = Rules::parse(
        r#"{"users":{"fields":{"title":{"from":"profile.jobTitle"},"company":{"constant":"Acme"}},
            "custom_attributes":{"costCenter":"cost_centre","nickName":null}}}"#,
        Target::Onelogin.adapter().as_mut(),
    )
    .unwrap();
    let rec = map_user(
        Options {
            rules,
            ..Options::default()
        },
        json!({"login": "a@x.io", "jobTitle": "Engineer", "costCenter": "10", "nickName": "Al"}),
    );
    assert_eq!(rec.data["title"], json!("Engineer"));
    assert_eq!(rec.data["company"], json!("Acme"));
    assert_eq!(
        custom(&rec),
        json!({"cost_centre": "10", "job_title": "Engineer"})
    );
}

fn app(id: &str, data: Value) -> Record {
    Record::new(Kind::App, "okta", id, data)
}

#[test]
fn apps_get_connector_and_saml_settings() {
    let connectors = Connectors::parse(
        r#"{"Example SAML": {"saml": {"id": 110016, "allows_new_parameters": true}},
            "Plain SAML": {"saml": 110017}, "Portal": {"oidc": 108419}, "Intranet": 5}"#,
    )
    .unwrap();
    let mut mapper = Mapper::new(Options {
        connectors,
        ..Options::default()
    });
    let saml = json!({
        "id": "0oa1", "name": "x_saml", "label": "Example SAML", "status": "ACTIVE", "signOnMode": "SAML_2_0",
        "settings": {"appNotes": "notes", "appVisible": false, "signOn": {
            "ssoAcsUrl": "https://sp.example.com/acs?x=1", "audience": "urn:sp", "recipient": "https://sp.example.com/acs?x=1",
            "destination": "https://sp.example.com/acs?x=1", "defaultRelayState": "/home",
            "subjectNameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            "signatureAlgorithm": "RSA_SHA1", "digestAlgorithm": "SHA1",
            "slo": {"enabled": true, "logoutUrl": "https://sp.example.com/slo"},
            "attributeStatements": [
                {"type": "EXPRESSION", "name": "mail", "values": ["user.email"]},
                {"type": "EXPRESSION", "name": "cc", "values": ["user.costCenter"]},
                {"type": "EXPRESSION", "name": "city", "values": ["user.city"]},
                {"type": "EXPRESSION", "name": "full", "values": ["user.firstName + user.lastName"]},
                {"type": "GROUP", "name": "groups", "filterType": "REGEX", "filterValue": ".*"}
            ]}}
    });
    let rec = mapped(mapper.map(app("0oa1", saml.clone())));
    assert_eq!(
        rec.data,
        json!({
            "connector_id": 110016, "name": "Example SAML", "description": "notes", "visible": false,
            "configuration": {
                "consumer_url": "https://sp.example.com/acs?x=1",
                "validator": "^https:\\/\\/sp\\.example\\.com\\/acs\\?x=1$",
                "audience": "urn:sp", "recipient": "https://sp.example.com/acs?x=1",
                "relaystate": "/home", "logout_url": "https://sp.example.com/slo",
                "signature_algorithm": "SHA-1"
            },
            "parameters": {
                "mail": {"label": "mail", "user_attribute_mappings": "email", "include_in_saml_assertion": true},
                "cc": {"label": "cc", "user_attribute_mappings": "custom_attribute_cost_center", "include_in_saml_assertion": true},
                "city": {"label": "city", "user_attribute_mappings": "custom_attribute_city", "include_in_saml_assertion": true}
            }
        })
    );
    for needle in ["nameid format", "`full`", "`groups`"] {
        assert!(
            rec.warnings.iter().any(|w| w.contains(needle)),
            "{needle}: {:?}",
            rec.warnings
        );
    }
    // a connector that does not allow new parameters gets none, with a warning per attribute
    let mut plain = saml;
    plain["label"] = json!("Plain SAML");
    let rec = mapped(mapper.map(app("0oa2", plain)));
    assert!(rec.data.get("parameters").is_none());
    assert!(
        rec.warnings
            .iter()
            .any(|w| w.contains("does not allow new parameters"))
    );
    // an app without a connector is rejected, never dropped
    assert!(matches!(
        mapper.map(app("0oa3", json!({"id": "0oa3", "name": "x", "label": "Nope", "status": "ACTIVE", "signOnMode": "SAML_2_0"}))),
        Disposition::Rejected(r) if r.contains("no connector for app `Nope`")
    ));
    let rec = mapped(mapper.map(app(
        "0oa4",
        json!({"id": "0oa4", "name": "bookmark", "label": "Intranet", "status": "ACTIVE", "signOnMode": "BOOKMARK",
        "settings": {"app": {"url": "https://intranet"}}}),
    )));
    assert_eq!(
        rec.data,
        json!({"connector_id": 5, "name": "Intranet", "visible": true})
    );
    assert!(rec.warnings.iter().any(|w| w.contains("`BOOKMARK`")));
}

#[test]
fn apps_get_oidc_settings() {
    let connectors = Connectors::parse(r#"{"Portal": {"openid": 108419}}"#).unwrap();
    let mut mapper = Mapper::new(Options {
        connectors,
        ..Options::default()
    });
    let rec = mapped(mapper.map(app("0oa5", json!({
        "id": "0oa5", "name": "oidc_client", "label": "Portal", "status": "ACTIVE", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"client_id": "abc", "token_endpoint_auth_method": "client_secret_post"}},
        "settings": {"oauthClient": {
            "redirect_uris": ["https://p/cb", "myapp://cb"], "post_logout_redirect_uris": ["https://p/bye"],
            "initiate_login_uri": "https://p/login", "response_types": ["code"],
            "grant_types": ["authorization_code", "implicit"], "application_type": "native"}}
    }))));
    assert_eq!(
        rec.data,
        json!({"connector_id": 108419, "name": "Portal", "visible": true, "configuration": {
            "redirect_uri": "https://p/cb\nmyapp://cb", "post_logout_redirect_uri": "https://p/bye",
            "login_url": "https://p/login", "oidc_application_type": 1, "token_endpoint_auth_method": 1}})
    );
    assert!(
        rec.warnings
            .iter()
            .any(|w| w.contains("grant types `implicit`")),
        "{:?}",
        rec.warnings
    );
    // the client secret never reaches the payload
    assert!(!serde_json::to_string(&rec).unwrap().contains("client_id"));
}

#[test]
fn explain_traces_every_field_of_one_user() {
    let mut trace = Trace::on();
    let mut mapper = Mapper::new(Options::default());
    let rec = user(
        "00u1",
        "ACTIVE",
        json!({"login": "a@x.io", "workPhone": "1", "costCenter": "7"}),
    );
    let _ = mapper.map_traced(rec, &mut trace);
    let lines: Vec<(&str, &str)> = trace
        .lines()
        .iter()
        .map(|(f, s)| (f.as_str(), s.as_str()))
        .collect();
    assert!(lines.contains(&("phone", "profile.workPhone")), "{lines:?}");
    assert!(lines.contains(&("email", "profile.login")), "{lines:?}");
    assert!(
        lines.contains(&("custom_attributes.cost_center", "`profile.costCenter`")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|(f, _)| *f == "status"));
}

proptest! {
    #[test]
    fn normalization_is_idempotent_and_valid_or_empty(name in "\\PC{0,80}") {
        match normalize_name(&name) {
            None => {}
            Some(n) => {
                prop_assert!(is_valid_shortname(&n), "{:?} -> {:?}", name, n);
                prop_assert_eq!(normalize_name(&n), Some(n.clone()));
            }
        }
    }

    #[test]
    fn normalization_of_identifier_like_names(name in "[A-Za-z0-9_ -]{0,90}") {
        if let Some(n) = normalize_name(&name) {
            prop_assert!(is_valid_shortname(&n), "{:?} -> {:?}", name, n);
            prop_assert_eq!(normalize_name(&n), Some(n.clone()));
        }
    }

    #[test]
    fn flatten_never_loses_a_scalar_leaf(value in arb_json()) {
        let mut out = Vec::new();
        flatten("root", &value, &mut |k, v| out.push((k, v)));
        let mut leaves = Vec::new();
        scalar_leaves(&value, &mut leaves);
        for leaf in leaves {
            prop_assert!(
                out.iter().any(|(_, text)| text.contains(&leaf)),
                "leaf {:?} lost from {} -> {:?}", leaf, value, out
            );
        }
    }
}

/// Text of every non-empty scalar leaf, as it would appear in a flattened value or JSON text.
fn scalar_leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.values().for_each(|c| scalar_leaves(c, out)),
        Value::Array(a) => a.iter().for_each(|c| scalar_leaves(c, out)),
        Value::String(s) if !s.trim().is_empty() => {
            // inside an array's JSON text the string is escaped
            let json = serde_json::to_string(s).unwrap();
            out.push(json[1..json.len() - 1].to_string());
        }
        Value::Number(n) => out.push(n.to_string()),
        Value::Bool(b) => out.push(b.to_string()),
        _ => {}
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z ]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,5}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn edges_of_rejected_users_are_dropped_here_not_failed_in_load() {
    // idm-map rejected a user, its memberships went on and failed in idm-load (exit 3), and
    // `--apply`'s preflight refused the whole migration for them
    let mut mapper = Mapper::new(Options::default());
    mapped(mapper.map(user("00u1", "ACTIVE", json!({"login": "ann@x.io"}))));
    assert!(matches!(
        mapper.map(user("00u2", "ACTIVE", json!({"login": "ANN@x.io"}))),
        Disposition::Rejected(_)
    ));
    let edge = |user: &str| {
        Record::new(
            Kind::Membership,
            "okta",
            format!("00g1/{user}"),
            json!({"group_id": "00g1", "user_id": user}),
        )
    };
    let dropped = mapper.map(edge("00u2"));
    assert!(matches!(dropped, Disposition::Skipped(_)), "{dropped:?}");
    mapped(mapper.map(edge("00u1")));
    assert!(
        mapper.closing_notes().iter().any(|n| n.starts_with(
            "skipped 1 membership or app assignment of users, groups or apps rejected"
        )),
        "{:?}",
        mapper.closing_notes()
    );
}

#[test]
fn a_derived_field_that_comes_out_empty_is_left_out_not_rejected() {
    // `samaccountname` is the login before `@`: for `@corp.example` that is nothing, and the
    // empty value made the whole user invalid
    let rec = map_user(
        Options::default(),
        json!({"login": "@corp.example", "email": "ops@corp.example"}),
    );
    assert!(rec.data.get("samaccountname").is_none(), "{}", rec.data);
    assert_eq!(rec.data["email"], "ops@corp.example");
}

// ---------- passwords and the Stormpath and CSV sources ----------

fn csv_user(id: &str, extra: Value) -> Record {
    let mut data = json!({"login": id, "email": id, "firstName": "Ann", "lastName": "Lee"});
    for (k, v) in extra.as_object().unwrap() {
        data[k] = v.clone();
    }
    Record::new(Kind::User, "csv", id, data)
}

fn salted(digest: Digest, order: SaltOrder) -> Algorithm {
    Algorithm::Salted {
        digest,
        order,
        iterations: 1,
    }
}

#[test]
fn onelogin_takes_the_hashes_it_can_verify_and_counts_the_rest() {
    let pw = "Correct-Horse-1";
    let sha = |salt: &[u8]| Hash::compute(salted(Digest::Sha256, SaltOrder::Prefix), salt, pw);
    let stormpath2 = sha(b"pepper").unwrap().to_mcf().unwrap();
    let unsalted = sha(b"").unwrap().to_okta().unwrap();
    let bcrypt = Hash::compute(
        Algorithm::Bcrypt {
            variant: BcryptVariant::B,
            cost: 4,
        },
        &[7; 16],
        pw,
    )
    .unwrap()
    .to_mcf()
    .unwrap();
    let postfix = Hash::compute(salted(Digest::Sha256, SaltOrder::Postfix), b"pepper", pw)
        .unwrap()
        .to_okta()
        .unwrap();
    let okta_fields = |h: &Value| {
        let mut out = json!({"password_algorithm": h["algorithm"], "password_value": h["value"]});
        if let Some(s) = h.get("salt") {
            out["password_salt"] = s.clone();
            out["password_salt_order"] = h["saltOrder"].clone();
        }
        out
    };
    let mut mapper = Mapper::new(Options::default());
    let mut map = |id: &str, extra: Value| mapped(mapper.map(csv_user(id, extra)));

    // taken: the digest in hex, the salt as text, and it still accepts the password
    for (id, extra, salt) in [
        (
            "a@x.io",
            json!({"password_hash": stormpath2}),
            Some("pepper"),
        ),
        ("b@x.io", okta_fields(&unsalted), None),
    ] {
        let rec = map(id, extra);
        let d = &rec.data;
        assert_eq!(d["password_algorithm"], "salt+sha256", "{d}");
        assert_eq!(d["password"], d["password_confirmation"]);
        assert_eq!(d.get("salt").and_then(Value::as_str), salt);
        let back = Hash::from_onelogin(
            "salt+sha256",
            d["password"].as_str().unwrap(),
            salt.unwrap_or(""),
        )
        .unwrap();
        assert!(back.verify(pw) && !back.verify("correct-horse-1"));
        assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
    }
    // not taken: no password field at all, and a warning that says why
    for (id, extra, why) in [
        (
            "c@x.io",
            json!({"password_hash": bcrypt}),
            "bcrypt ($2b$, cost 4)",
        ),
        ("d@x.io", okta_fields(&postfix), "the salt is appended"),
        (
            "e@x.io",
            json!({"password_hash": "$md5$x$y"}),
            "cannot be read (unknown modular-crypt identifier `md5`)",
        ),
    ] {
        let rec = map(id, extra);
        for f in [
            "password",
            "password_confirmation",
            "password_algorithm",
            "salt",
        ] {
            assert!(rec.data.get(f).is_none(), "{f} in {}", rec.data);
        }
        assert!(
            rec.warnings
                .iter()
                .any(|w| w.starts_with("password not migrated")
                    && w.contains(why)
                    && w.ends_with("the user will set a password")),
            "{:?}",
            rec.warnings
        );
    }
    // cleartext, as given
    let rec = map("f@x.io", json!({"password": " Spaces kept "}));
    assert_eq!(rec.data["password"], " Spaces kept ");
    assert_eq!(rec.data["password_confirmation"], " Spaces kept ");
    assert!(rec.data.get("password_algorithm").is_none());
    let notes = mapper.closing_notes();
    assert!(
        notes.contains(
            &"3 users have a password hash onelogin cannot take: they will set a password (see their warnings)"
                .to_string()
        ),
        "{notes:?}"
    );
}

fn stormpath_user(password: Value) -> Record {
    Record::new(
        Kind::User,
        "stormpath",
        "acc1",
        json!({
            "id": "acc1", "href": "https://api.stormpath.com/v1/accounts/acc1",
            "username": "ann@x.io", "email": "ann@x.io", "givenName": "Ann", "surname": "Lee",
            "status": "ENABLED", "emailVerificationStatus": "VERIFIED", "password": password,
            "customData": {},
            "_idm": {
                "login": "ann@x.io", "loginConverted": false, "loginSource": "username",
                "merged": {"username": "ann@x.io", "givenName": "Ann", "middleName": null,
                           "surname": "Lee", "fullName": "Ann Lee", "email": "ann@x.io"},
                "directoryIds": ["dir1"],
                "customData": {"plan_tier": "gold"},
                "apiKeys": [{"id": "KEYID0001", "secret": "TopSecretKeyMaterial+/0001", "status": "ENABLED"}]
            }
        }),
    )
}

#[test]
fn secrets_stay_out_of_explain_warnings_and_debug() {
    let h = Hash::compute(
        salted(Digest::Sha256, SaltOrder::Prefix),
        b"SaltText",
        "Pw-1",
    )
    .unwrap();
    let hex_digest = h.to_onelogin().unwrap().hash_hex;
    let rec = stormpath_user(json!(h.to_mcf().unwrap()));
    let source = rec.data.clone();
    let mut trace = Trace::on();
    let mut mapper = Mapper::new(Options::default());
    let out = match mapper.map_traced(rec, &mut trace) {
        Disposition::Mapped(r) => r,
        other => panic!("{other:?}"),
    };
    // the payload has them: the target needs them
    assert_eq!(
        out.data["custom_attributes"]["stormpath_api_key_1"],
        "KEYID0001:TopSecretKeyMaterial+/0001"
    );
    assert_eq!(out.data["password"], hex_digest.as_str());
    let shown = format!("{:?}\n{:?}", trace.lines(), out.warnings);
    let mcf = h.to_mcf().unwrap();
    for secret in [
        "TopSecretKeyMaterial",
        hex_digest.as_str(),
        "SaltText",
        mcf.as_str(),
        mcf.rsplit('$').next().unwrap(),
    ] {
        assert!(!shown.contains(secret), "`{secret}` in {shown}");
    }
    let lines: Vec<(&str, &str)> = trace
        .lines()
        .iter()
        .map(|(f, s)| (f.as_str(), s.as_str()))
        .collect();
    assert!(
        lines.contains(&(
            "custom_attributes.stormpath_api_key_1",
            "`_idm.apiKeys[0]` (a secret, not shown)"
        )),
        "{lines:?}"
    );
    assert!(
        lines.contains(&(
            "password_algorithm",
            "`password`: SHA-256 (8-byte prefix salt, 1 iteration) is `salt+sha256`"
        )),
        "{lines:?}"
    );
    // the identity's Debug (as a panic or a log might print it) hides the key and the hash
    let who = source::stormpath::identity("acc1", &source).unwrap();
    let debug = format!("{who:?}");
    assert!(!debug.contains("TopSecretKeyMaterial"), "{debug}");
    assert!(!debug.contains("SaltText") && !debug.contains(&hex_digest));
}

#[test]
fn stormpath_users_without_a_surname_have_no_lastname_in_onelogin() {
    // the importer's `not_provided` is for targets that require a surname; OneLogin does not
    let mut rec = stormpath_user(Value::Null);
    rec.data["_idm"]["merged"]["surname"] = Value::Null;
    let out = mapped(Mapper::new(Options::default()).map(rec));
    assert!(out.data.get("lastname").is_none(), "{}", out.data);
    assert_eq!(out.data["firstname"], "Ann");
    assert!(out.data.get("password").is_none());
    assert!(
        !out.warnings.iter().any(|w| w.contains("password")),
        "no password is not a dropped password: {:?}",
        out.warnings
    );
}

#[test]
fn the_summary_line_counts_every_outcome() {
    let s = Summary {
        mapped: 2650,
        passed: 30,
        skipped: 10,
        rejected: 9,
        unreadable: 1,
    };
    assert_eq!(
        s.line(),
        "mapped 2,650 records (30 passed through, 10 skipped, 9 rejected, 1 unreadable line)"
    );
}
