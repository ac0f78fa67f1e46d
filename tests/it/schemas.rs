//! The schemas in `schemas/` against the files in `examples/` and a table of known-bad records.
//!
//! The examples are what people learn the formats from, so every line of every example must
//! validate; the bad records pin that an error names the field a person has to fix.

use std::fs;
use std::path::{Path, PathBuf};

use idm::journal::Event;
use idm::record::Record;
use idm::record::schema::{self, FILES, Schemas};
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, ext, out);
        } else if path.to_string_lossy().ends_with(ext) {
            out.push(path);
        }
    }
}

#[test]
fn every_schema_compiles_and_every_schema_file_is_embedded() {
    Schemas::compile().unwrap();
    let dir = root().join("schemas");
    let mut on_disk = Vec::new();
    files_under(&dir, ".schema.json", &mut on_disk);
    assert_eq!(on_disk.len(), FILES.len(), "{on_disk:?}");
    for path in on_disk {
        let name = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let embedded = FILES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("`{name}` is not embedded in record::schema::FILES"));
        assert_eq!(embedded.1, fs::read_to_string(&path).unwrap(), "{name}");
        let schema: Value = serde_json::from_str(embedded.1).unwrap();
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
    }
}

#[test]
fn every_example_line_validates() {
    let schemas = Schemas::get();
    let mut files = Vec::new();
    files_under(&root().join("examples"), ".ndjson", &mut files);
    assert!(files.len() >= 4, "{files:?}");
    let mut lines_checked = 0;
    for path in files {
        let text = fs::read_to_string(&path).unwrap();
        let is_journal = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .contains("journal");
        for (i, line) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: {e}"));
            if is_journal {
                schemas
                    .validate_event_value(&value)
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
                let event: Event =
                    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{at}: {e}"));
                // what the journal writes back is the line itself
                assert_eq!(serde_json::to_value(&event).unwrap(), value, "{at}");
            } else {
                schemas
                    .validate_value(&value)
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
                let record: Record =
                    serde_json::from_value(value).unwrap_or_else(|e| panic!("{at}: {e}"));
                schemas
                    .validate_record(&record)
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
            }
            lines_checked += 1;
        }
    }
    assert!(lines_checked > 50, "{lines_checked}");
}

/// The examples cover every kind at every stage, so a reader sees each shape at least once.
#[test]
fn examples_cover_every_kind_and_stage() {
    let read = |name: &str| -> Vec<Value> {
        fs::read_to_string(root().join("examples").join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let kinds = |lines: &[Value]| -> Vec<String> {
        let mut k: Vec<String> = lines
            .iter()
            .map(|l| l["kind"].as_str().unwrap().to_string())
            .collect();
        k.dedup();
        k
    };
    let export = read("okta-export.ndjson");
    assert_eq!(
        kinds(&export),
        [
            "attribute",
            "group",
            "user",
            "membership",
            "app",
            "app_assignment"
        ],
        "export order is attribute, group, user, membership, app, app_assignment"
    );
    let mapped = read("onelogin-mapped.ndjson");
    assert_eq!(
        kinds(&mapped),
        [
            "attribute",
            "group",
            "user",
            "membership",
            "app",
            "app_assignment"
        ]
    );
    assert!(mapped.iter().all(|l| l["target"] == "onelogin"));
    let results = read("results.ndjson");
    for status in ["ok", "failed"] {
        assert!(results.iter().any(|l| l["data"]["status"] == status));
    }
    assert!(
        read("plan.ndjson")
            .iter()
            .all(|l| l["data"]["status"] == "planned")
    );
    let journal = read("journal.ndjson");
    for ev in ["map", "attr", "edge", "bookmark"] {
        assert!(journal.iter().any(|l| l["ev"] == ev), "{ev}");
    }
}

fn okta_user() -> Value {
    json!({"kind": "user", "source": "okta", "id": "00u1", "data": {
        "id": "00u1", "status": "ACTIVE", "created": "2026-01-01T00:00:00.000Z",
        "activated": null, "profile": {"login": "a@example.com", "email": "a@example.com",
        "firstName": null, "customThing": [1, 2]}}})
}

fn onelogin_user() -> Value {
    json!({"kind": "user", "source": "okta", "id": "00u1", "target": "onelogin", "data": {
        "email": "a@example.com", "username": "a@example.com", "firstname": "A",
        "state": 1, "status": 1, "custom_attributes": {"cost_center": "10"}}})
}

fn result(data: Value) -> Value {
    json!({"kind": "result", "source": "okta", "id": "00u1", "data": data})
}

/// Apply `edit` to a copy of `base` (a JSON merge: objects merged, null removes a key).
fn with(base: &Value, edit: Value) -> Value {
    fn merge(target: &mut Value, patch: Value) {
        match (target, patch) {
            (Value::Object(t), Value::Object(p)) => {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(&k);
                    } else {
                        merge(t.entry(k).or_insert(Value::Null), v);
                    }
                }
            }
            (t, p) => *t = p,
        }
    }
    let mut out = base.clone();
    merge(&mut out, edit);
    out
}

#[test]
fn known_bad_records_fail_naming_the_field() {
    let s = Schemas::get();
    let user = okta_user();
    let ol = onelogin_user();
    let membership = json!({"kind": "membership", "source": "okta", "id": "00g1/00u1",
        "data": {"group_id": "00g1", "user_id": "00u1"}});
    let assignment = json!({"kind": "app_assignment", "source": "okta", "id": "0oa1/00g1",
        "data": {"id": "00g1", "app_id": "0oa1", "group_id": "00g1", "priority": 0}});
    let ok_result = result(json!({"of": "user", "op": "create", "status": "ok",
        "target_id": "42", "error": null}));
    // sanity: the bases are good, so each failure below is the edit's doing
    for good in [&user, &ol, &membership, &assignment, &ok_result] {
        s.validate_value(good)
            .unwrap_or_else(|e| panic!("{e}: {good}"));
    }

    let cases: Vec<(Value, &str, &str)> = vec![
        // envelope
        (
            with(&user, json!({"id": null})),
            "id",
            "required field is missing",
        ),
        (with(&user, json!({"id": ""})), "id", "must not be empty"),
        (
            with(&user, json!({"source": "otka"})),
            "source",
            "`otka` is not one of",
        ),
        (
            with(&user, json!({"target": "one-login"})),
            "target",
            "is not one of",
        ),
        (with(&user, json!({"extra": 1})), "extra", "unknown field"),
        (
            with(&user, json!({"warnings": [""]})),
            "warnings[0]",
            "must not be empty",
        ),
        (
            with(&user, json!({"data": [1]})),
            "data",
            "expected object, found array",
        ),
        (
            with(&user, json!({"kind": "User"})),
            "kind",
            "does not match",
        ),
        // okta user
        (
            with(&user, json!({"data": {"status": "ENABLED"}})),
            "data.status",
            "`ENABLED` is not one of",
        ),
        (
            with(&user, json!({"data": {"profile": {"login": null}}})),
            "data.profile.login",
            "required field is missing",
        ),
        (
            with(&user, json!({"data": {"activated": "yesterday"}})),
            "data.activated",
            "`yesterday` is not a valid date-time",
        ),
        (
            with(&user, json!({"data": {"profile": {"lastName": 5}}})),
            "data.profile.lastName",
            "expected null or string, found integer",
        ),
        (
            with(
                &user,
                json!({"data": {"credentials": {"emails": [{"value": true}]}}}),
            ),
            "data.credentials.emails[0].value",
            "expected string, found boolean",
        ),
        // okta group, app, attribute, edges
        (
            json!({"kind": "group", "source": "okta", "id": "00g1", "data": {"id": "00g1", "type": "SECURITY", "profile": {"name": "x"}}}),
            "data.type",
            "`SECURITY` is not one of",
        ),
        (
            json!({"kind": "app", "source": "okta", "id": "0oa1", "data": {"id": "0oa1", "name": "x", "label": "X", "status": "ACTIVE"}}),
            "data.signOnMode",
            "required field is missing",
        ),
        (
            json!({"kind": "attribute", "source": "okta", "id": "x", "data": {"title": "X", "type": "object"}}),
            "data.type",
            "`object` is not one of",
        ),
        (
            json!({"kind": "attribute", "source": "okta", "id": "x", "data": {"type": "string"}}),
            "data.title",
            "required field is missing",
        ),
        (
            with(&membership, json!({"data": {"user_id": null}})),
            "data.user_id",
            "required field is missing",
        ),
        (
            with(&membership, json!({"id": "00g1/00u9"})),
            "id",
            "does not match its data (expected `00g1/00u1`)",
        ),
        (
            with(&membership, json!({"data": {"group_id": "a/b"}})),
            "data.group_id",
            "does not match",
        ),
        (
            with(&assignment, json!({"data": {"user_id": "00u1"}})),
            "data.user_id",
            "not allowed here",
        ),
        (
            with(&assignment, json!({"data": {"group_id": null}})),
            "data",
            "needs one of `group_id`, `user_id`",
        ),
        (
            with(&assignment, json!({"data": {"app_id": null}})),
            "data.app_id",
            "required field is missing",
        ),
        (
            with(&assignment, json!({"id": "0oa1/00g2"})),
            "id",
            "does not match its data",
        ),
        // onelogin user
        (
            with(&ol, json!({"data": {"email": "x"}})),
            "data.email",
            "`x` is not a valid email",
        ),
        (
            with(&ol, json!({"data": {"username": null}})),
            "data.username",
            "required field is missing",
        ),
        (
            with(&ol, json!({"data": {"username": ""}})),
            "data.username",
            "must not be empty",
        ),
        (
            with(&ol, json!({"data": {"status": 6}})),
            "data.status",
            "`6` is not one of",
        ),
        (
            with(&ol, json!({"data": {"state": "1"}})),
            "data.state",
            "expected one of `[0,1,2,3]`, found string `1`",
        ),
        (
            with(&ol, json!({"data": {"signon_mode": "SAML_2_0"}})),
            "data.signon_mode",
            "unknown field",
        ),
        (
            with(
                &ol,
                json!({"data": {"custom_attributes": {"cost_center": 10}}}),
            ),
            "data.custom_attributes.cost_center",
            "expected string, found integer",
        ),
        (
            with(
                &ol,
                json!({"data": {"custom_attributes": {"Cost Center": "10"}}}),
            ),
            "data.custom_attributes",
            "invalid key: `Cost Center` does not match",
        ),
        (
            with(&ol, json!({"data": {"custom_attributes": {"a__b": "10"}}})),
            "data.custom_attributes",
            "invalid key",
        ),
        (
            with(
                &ol,
                json!({"data": {"custom_attributes": {"x".repeat(65): "10"}}}),
            ),
            "data.custom_attributes",
            "invalid key",
        ),
        (
            with(
                &ol,
                json!({"data": {"custom_attributes": {"cost_center": null}}}),
            ),
            "data.custom_attributes",
            "must not be empty",
        ),
        (
            with(
                &ol,
                json!({"data": {"password": "h", "password_confirmation": "h", "password_algorithm": "salt+sha256", "salt": "s".repeat(41)}}),
            ),
            "data.salt",
            "is 41 characters long, more than 40",
        ),
        (
            with(&ol, json!({"data": {"password": "h"}})),
            "data.password_confirmation",
            "required field is missing",
        ),
        // onelogin role, app, attribute
        (
            json!({"kind": "group", "source": "okta", "id": "00g1", "target": "onelogin", "data": {"name": "  "}}),
            "data.name",
            "must not be blank",
        ),
        (
            json!({"kind": "group", "source": "okta", "id": "00g1", "target": "onelogin", "data": {"profile": {"name": "x"}}}),
            "data.name",
            "required field is missing",
        ),
        (
            json!({"kind": "app", "source": "okta", "id": "0oa1", "target": "onelogin", "data": {"connector_id": "108419", "name": "Wiki"}}),
            "data.connector_id",
            "expected integer, found string",
        ),
        (
            json!({"kind": "app", "source": "okta", "id": "0oa1", "target": "onelogin", "data": {"connector_id": 1, "name": "Wiki", "configuration": {"token_endpoint_auth_method": 3}}}),
            "data.configuration.token_endpoint_auth_method",
            "`3` is not one of",
        ),
        (
            json!({"kind": "app", "source": "okta", "id": "0oa1", "target": "onelogin", "data": {"connector_id": 1, "name": "Wiki", "sso": {}}}),
            "data.sso",
            "unknown field",
        ),
        (
            json!({"kind": "attribute", "source": "okta", "id": "9Lives", "target": "onelogin", "data": {"shortname": "9lives", "name": "Lives"}}),
            "data.shortname",
            "does not match",
        ),
        (
            json!({"kind": "attribute", "source": "okta", "id": "x", "target": "onelogin", "data": {"shortname": "x"}}),
            "data.name",
            "required field is missing",
        ),
        // result
        (
            with(&ok_result, json!({"data": {"op": "delete"}})),
            "data.op",
            "`delete` is not one of",
        ),
        (
            with(&ok_result, json!({"data": {"status": "done"}})),
            "data.status",
            "is not one of",
        ),
        (
            with(&ok_result, json!({"data": {"target_id": null}})),
            "data.target_id",
            "required field is missing",
        ),
        (
            with(&ok_result, json!({"data": {"error": null}})),
            "data.error",
            "required field is missing",
        ),
        (
            result(
                json!({"of": "user", "op": "create", "status": "ok", "target_id": null, "error": null}),
            ),
            "data.target_id",
            "expected string, found null",
        ),
        (
            result(
                json!({"of": "user", "op": "create", "status": "failed", "target_id": null, "error": null}),
            ),
            "data.error",
            "expected object, found null",
        ),
        (
            result(
                json!({"of": "user", "op": "create", "status": "ok", "target_id": "1", "error": {"status": 422, "field": null, "message": "x"}}),
            ),
            "data.error",
            "expected null, found object",
        ),
        (
            result(
                json!({"of": "user", "op": "create", "status": "failed", "target_id": null, "error": {"status": 99, "field": null, "message": "x"}}),
            ),
            "data.error.status",
            "less than the minimum of 100",
        ),
        (
            result(
                json!({"of": "user", "op": "create", "status": "failed", "target_id": null, "error": {"status": 422, "field": null}}),
            ),
            "data.error.message",
            "required field is missing",
        ),
    ];
    let mut failures = Vec::new();
    for (i, (record, path, fragment)) in cases.iter().enumerate() {
        match s.validate_value(record) {
            Ok(()) => failures.push(format!("case {i}: accepted: {record}")),
            Err(e) => {
                let text = e.to_string();
                let one_line = !text.contains('\n');
                if e.path != *path || !text.contains(fragment) || !one_line {
                    failures.push(format!(
                        "case {i}: want `{path}: …{fragment}…`, got `{text}`"
                    ));
                }
                // the same record through the typed path gives the same error
                if let Ok(typed) = serde_json::from_value::<Record>(record.clone()) {
                    let again = s.validate_record(&typed).unwrap_err();
                    if again != e {
                        failures.push(format!("case {i}: typed path said `{again}`"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn secrets_are_never_echoed_in_errors() {
    let s = Schemas::get();
    let record = with(
        &onelogin_user(),
        json!({"data": {"password": "Tr0ub4dor&3", "password_confirmation": "Tr0ub4dor&3",
                        "password_algorithm": "Tr0ub4dor&3"}}),
    );
    let err = s.validate_value(&record).unwrap_err().to_string();
    assert!(err.starts_with("data.password_algorithm: "), "{err}");
    assert!(!err.contains("Tr0ub4dor"), "{err}");
}

#[test]
fn long_values_are_shortened_to_keep_errors_on_one_line() {
    let s = Schemas::get();
    let long = format!("{}\n{}", "x".repeat(500), "y".repeat(500));
    let record = with(&onelogin_user(), json!({"data": {"email": long}}));
    let err = s.validate_value(&record).unwrap_err().to_string();
    assert!(err.len() < 200, "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn known_bad_events_fail_naming_the_field() {
    let s = Schemas::get();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"ev": "map", "kind": "user", "source": "okta", "id": "00u1", "target": "onelogin"}),
            "target_id",
            "required field is missing",
        ),
        (
            json!({"ev": "map", "kind": "membership", "source": "okta", "id": "00u1", "target": "onelogin", "target_id": "1"}),
            "kind",
            "is not one of",
        ),
        (
            json!({"ev": "edge", "kind": "membership", "source": "okta", "id": "00g1", "target": "onelogin"}),
            "id",
            "does not match",
        ),
        (
            json!({"ev": "attr", "target": "onelogin"}),
            "shortname",
            "required field is missing",
        ),
        (
            json!({"ev": "bookmark", "source": "okta", "at": "last tuesday"}),
            "at",
            "not a valid date-time",
        ),
        (json!({"ev": "rename"}), "ev", "is not one of"),
        (json!({"kind": "user"}), "ev", "required field is missing"),
    ];
    for (event, path, fragment) in cases {
        let err = s
            .validate_event_value(&event)
            .expect_err(&event.to_string());
        assert_eq!(err.path, path, "{err}");
        assert!(err.to_string().contains(fragment), "{err}");
    }
}

#[test]
fn events_the_journal_writes_validate() {
    let events = [
        Event::Map {
            kind: "user".into(),
            source: "okta".into(),
            id: "00u1".into(),
            target: "onelogin".into(),
            target_id: "36216766".into(),
            hash: Some(idm::journal::payload_hash(
                &json!({"email": "a@example.com"}),
            )),
            origin: Some("created".into()),
        },
        Event::Map {
            kind: "group".into(),
            source: "okta".into(),
            id: "00g1".into(),
            target: "onelogin".into(),
            target_id: "5".into(),
            hash: None,
            origin: None,
        },
        Event::Attr {
            target: "onelogin".into(),
            shortname: "cost_center".into(),
            target_id: None,
        },
        Event::Edge {
            kind: "app_assignment".into(),
            source: "okta".into(),
            id: "0oa1/00u1".into(),
            target: "onelogin".into(),
            target_id: Some("7/36216766".into()),
        },
        Event::Tenant {
            side: "target".into(),
            service: "onelogin".into(),
            url: "https://acme.onelogin.com".into(),
            tenant_id: None,
        },
    ];
    for event in &events {
        schema::validate_event(event).unwrap_or_else(|e| panic!("{e}: {event:?}"));
    }
}
