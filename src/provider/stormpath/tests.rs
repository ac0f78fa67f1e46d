//! Unit tests of the Stormpath source on small trees written into a temp directory.

use std::path::Path;

use serde_json::{Value, json};

use super::index::State;
use super::*;
use crate::record::Record;

struct VecSink(Vec<Record>);

impl Sink for VecSink {
    fn record(&mut self, record: Record) -> Result<(), SourceError> {
        self.0.push(record);
        Ok(())
    }
}

fn write(dir: &Path, files: &[(&str, Value)]) {
    for (path, value) in files {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, value.to_string()).unwrap();
    }
}

fn export_all(sp: &mut Stormpath) -> Vec<Record> {
    let mut sink = VecSink(Vec::new());
    for kind in sp.kinds() {
        sp.export(&kind, &ExportOptions::default(), &mut sink)
            .unwrap();
    }
    sink.0
}

fn ids(records: &[Record], kind: Kind) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| r.id.clone())
        .collect()
}

fn cloud_dir(id: &str) -> (String, Value) {
    (
        format!("directories/{id}.json"),
        json!({"id": id, "name": id, "status": "ENABLED", "provider": {"providerId": "stormpath"}}),
    )
}

fn account(id: &str, dir: &str, email: &str, extra: Value) -> (String, Value) {
    let mut a = json!({"id": id, "username": email, "email": email, "givenName": "G",
                       "surname": "S", "status": "ENABLED", "directory": {"id": dir},
                       "customData": {}});
    if let (Value::Object(a), Value::Object(extra)) = (&mut a, extra) {
        a.extend(extra);
    }
    (format!("accounts/{id}.json"), a)
}

fn link(id: &str, left: &str, right: &str) -> (String, Value) {
    (
        format!("accountLinks/{id}.json"),
        json!({"id": id, "leftAccount": {"id": left}, "rightAccount": {"id": right}}),
    )
}

fn open(files: Vec<(String, Value)>) -> (tempfile::TempDir, Result<Stormpath, StormpathError>) {
    let dir = tempfile::tempdir().unwrap();
    let refs: Vec<(&str, Value)> = files.iter().map(|(p, v)| (p.as_str(), v.clone())).collect();
    write(dir.path(), &refs);
    let sp = Stormpath::open(dir.path(), StormpathOptions::default());
    (dir, sp)
}

#[test]
fn emails_unify_case_insensitively_and_the_lowest_id_is_the_base() {
    let (_d, sp) = open(vec![
        cloud_dir("d1"),
        cloud_dir("d2"),
        account(
            "b",
            "d2",
            "Pat@Example.com",
            json!({"surname": null, "password": "$2a$x"}),
        ),
        account("a", "d1", "pat@example.com", json!({"surname": null})),
        account("c", "d2", "pat@example.com", json!({"surname": "Late"})),
        link("l1", "b", "a"),
        link("l2", "c", "b"),
    ]);
    let mut sp = sp.unwrap();
    let out = export_all(&mut sp);
    assert_eq!(ids(&out, Kind::User), vec!["a"]);
    let user = &out.iter().find(|r| r.kind == Kind::User).unwrap().data;
    let idm = &user["_idm"];
    // the surname is merged (our proposal), from the first linked account that has one
    assert_eq!(idm["merged"]["surname"], "Late");
    assert_eq!(idm["directoryIds"], json!(["d1", "d2"]));
    assert_eq!(
        idm["linkedAccounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].clone())
            .collect::<Vec<_>>(),
        vec![json!("b"), json!("c")]
    );
    // b's password is not used; a has none: the warning says so
    let warnings = &out.iter().find(|r| r.kind == Kind::User).unwrap().warnings;
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`b` has one, which is not used")),
        "{warnings:?}"
    );
    // memberships of both directories go to the one user
    assert_eq!(ids(&out, Kind::Membership), vec!["d1/a", "d2/a"]);
}

#[test]
fn conflicts_skip_the_later_account_with_the_importer_s_reasons() {
    let (_d, sp) = open(vec![
        cloud_dir("d1"),
        account("a", "d1", "one@example.com", json!({})),
        account("b", "d1", "two@example.com", json!({})),
        account("c", "d1", "ONE@example.com", json!({})),
        link("l1", "a", "b"),
    ]);
    let mut sp = sp.unwrap();
    let states: Vec<State> = sp.index.accounts.entries.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        vec![
            State::Base,
            State::Skipped(Skip::LinkedEmailDiffers),
            State::Skipped(Skip::SameEmailNotLinked),
        ]
    );
    let out = export_all(&mut sp);
    assert_eq!(ids(&out, Kind::User), vec!["a"]);
    let summary = sp.summary().join("\n");
    assert!(
        summary.contains("skipped 2 accounts: 1 linked to an account with another email address; 1 sharing an email address"),
        "{summary}"
    );
}

#[test]
fn the_nested_layout_takes_directories_from_folders_and_providers_from_their_files() {
    let (_d, sp) = open(vec![
        (
            "directories/d1.json".into(),
            json!({"id": "d1", "name": "Main", "status": "ENABLED"}),
        ),
        (
            "providers/d1.json".into(),
            json!({"providerType": "stormpath"}),
        ),
        (
            "directories/d2.json".into(),
            json!({"id": "d2", "name": "Corp", "status": "ENABLED"}),
        ),
        ("providers/d2.json".into(), json!({"providerId": "ad"})),
        (
            "accounts/d1/a1.json".into(),
            json!({"id": "a1", "username": "u1", "email": "u1@example.com", "status": "ENABLED", "customData": {}}),
        ),
        (
            "accounts/d2/a2.json".into(),
            json!({"id": "a2", "username": "u2", "email": "u2@example.com", "status": "ENABLED", "customData": {}}),
        ),
        (
            "groups/d1/g1.json".into(),
            json!({"id": "g1", "name": "Staff"}),
        ),
        (
            "organizations/o1.json".into(),
            json!({"id": "o1", "name": "Org", "nameKey": "org"}),
        ),
    ]);
    let mut sp = sp.unwrap();
    let out = export_all(&mut sp);
    assert_eq!(ids(&out, Kind::User), vec!["a1"]);
    assert_eq!(ids(&out, Kind::Group), vec!["d1", "g1", "o1"]);
    let d1 = out.iter().find(|r| r.id == "d1").unwrap();
    assert_eq!(d1.data["_idm"]["providerId"], "stormpath");
    assert_eq!(
        d1.data["_idm"]["provider"],
        json!({"providerType": "stormpath"})
    );
    let g1 = out.iter().find(|r| r.id == "g1").unwrap();
    assert_eq!(g1.data["_idm"]["directoryName"], "Main");
    let a1 = out.iter().find(|r| r.id == "a1").unwrap();
    assert_eq!(a1.data["_idm"]["login"], "u1@emailnotprovided.local");
    assert_eq!(a1.data["_idm"]["loginConverted"], true);
}

#[test]
fn a_directory_without_any_provider_is_an_error_naming_the_file() {
    let (d, sp) = open(vec![(
        "directories/d1.json".into(),
        json!({"id": "d1", "name": "Main", "status": "ENABLED"}),
    )]);
    let err = sp.err().unwrap().to_string();
    let file = d.path().join("directories/d1.json");
    assert_eq!(
        err,
        format!(
            "`{}`: no `provider.providerId`, and no `providers/d1.json`: cannot tell a cloud directory from an LDAP one",
            file.display()
        )
    );
}

#[test]
fn the_community_exporter_is_refused() {
    let (_d, sp) = open(vec![
        ("5Tenant/meta.json".into(), json!({"id": "5Tenant"})),
        ("5Tenant/directories/d1.json".into(), json!({"id": "d1"})),
    ]);
    let err = sp.err().unwrap().to_string();
    assert!(err.contains("community `stormpath-export` tool"), "{err}");
    assert!(err.contains("meta.json"), "{err}");
    // and the account shape it writes, without any meta.json
    let (_d, sp) = open(vec![
        cloud_dir("d1"),
        (
            "accounts/a.json".into(),
            json!({"href": "https://api.stormpath.com/v1/accounts/a", "email": "a@example.com",
                   "directory": "d1", "groups": ["Admins"]}),
        ),
    ]);
    assert!(matches!(sp, Err(StormpathError::Community { .. })));
}

#[test]
fn a_folder_that_is_not_an_export_says_where_one_might_be() {
    let (path, dir) = cloud_dir("d1");
    let (d, sp) = open(vec![(format!("tenant1/{path}"), dir)]);
    let err = sp.err().unwrap().to_string();
    assert!(err.contains("is not a Stormpath export"), "{err}");
    assert!(
        err.contains(&format!(
            "`{}` looks like one",
            d.path().join("tenant1").display()
        )),
        "{err}"
    );
}

#[test]
fn references_without_ids_use_the_last_segment_of_their_href() {
    let (_d, sp) = open(vec![
        cloud_dir("d1"),
        (
            "accounts/a.json".into(),
            json!({"href": "https://api.stormpath.com/v1/accounts/a", "username": "a@example.com",
                   "email": "a@example.com", "status": "ENABLED",
                   "directory": {"href": "https://api.stormpath.com/v1/directories/d1"}}),
        ),
        (
            "applications/p.json".into(),
            json!({"id": "p", "name": "P"}),
        ),
        (
            "accountStoreMappings/m.json".into(),
            json!({"id": "m", "application": {"href": "https://api.stormpath.com/v1/applications/p"},
                   "accountStore": {"href": "https://api.stormpath.com/v1/directories/d1"}}),
        ),
    ]);
    let mut sp = sp.unwrap();
    let out = export_all(&mut sp);
    assert_eq!(ids(&out, Kind::User), vec!["a"]);
    assert_eq!(ids(&out, Kind::AppAssignment), vec!["p/d1"]);
}

#[test]
fn login_domain_is_checked() {
    for bad in ["", "a@b", "-x.com", "x..com", "a b"] {
        let dir = tempfile::tempdir().unwrap();
        let err = Stormpath::open(
            dir.path(),
            StormpathOptions {
                login_domain: bad.into(),
            },
        )
        .err()
        .unwrap();
        assert!(
            matches!(err, StormpathError::LoginDomain { .. }),
            "{bad}: {err}"
        );
    }
}

#[test]
fn directories_by_provider_and_status_and_where_their_accounts_go() {
    let dir = |id: &str, provider: &str, status: &str| {
        (
            format!("directories/{id}.json"),
            json!({"id": id, "name": id, "status": status, "provider": {"providerId": provider,
                   "clientSecret": "social-secret"}}),
        )
    };
    let (_d, sp) = open(vec![
        dir("cloud", "stormpath", "ENABLED"),
        dir("goog", "google", "ENABLED"),
        dir("saml", "saml", "ENABLED"),
        dir("gh", "github", "ENABLED"),
        dir("off", "stormpath", "DISABLED"),
        dir("ad", "ad", "DISABLED"),
        account("a1", "cloud", "a1@example.com", json!({})),
        account(
            "a2",
            "goog",
            "a2@example.com",
            json!({"externalId": "g-123"}),
        ),
        account("a3", "saml", "a3@example.com", json!({})),
        account("a4", "gh", "a4@example.com", json!({})),
        account("a5", "off", "a5@example.com", json!({})),
        account("a6", "ad", "a6@example.com", json!({})),
        account("a7", "gone", "a7@example.com", json!({})),
        account("a8", "cloud", "", json!({"username": "a8"})),
        (
            "groups/g1.json".into(),
            json!({"id": "g1", "name": "In off", "directory": {"id": "off"}}),
        ),
        (
            "groups/g2.json".into(),
            json!({"id": "g2", "name": "In AD", "directory": {"id": "ad"}}),
        ),
        (
            "organizations/o1.json".into(),
            json!({"id": "o1", "name": "O", "nameKey": "o"}),
        ),
        (
            "organizationAccountStoreMappings/m1.json".into(),
            json!({"organization": {"id": "o1"}, "accountStore": {"id": "off"}}),
        ),
        (
            "organizationAccountStoreMappings/m2.json".into(),
            json!({"organization": {"id": "o1"}, "accountStore": {"id": "goog"}}),
        ),
        (
            "applications/p.json".into(),
            json!({"id": "p", "name": "P"}),
        ),
        (
            "accountStoreMappings/s1.json".into(),
            json!({"application": {"id": "p"}, "accountStore": {"href": "https://x/v1/groups/g2"}}),
        ),
        (
            "accountStoreMappings/s2.json".into(),
            json!({"application": {"id": "p"}, "accountStore": {"href": "https://x/v1/directories/saml"}}),
        ),
        (
            "accountStoreMappings/s3.json".into(),
            json!({"application": {"id": "p"}, "accountStore": {"href": "https://x/v1/organizations/o1"}}),
        ),
    ]);
    let mut sp = sp.unwrap();
    let out = export_all(&mut sp);
    // accounts of SAML, github and disabled directories are plain users; AD, unknown and
    // email-less ones are skipped
    assert_eq!(ids(&out, Kind::User), vec!["a1", "a2", "a3", "a4", "a5"]);
    // only enabled cloud and social directories are groups; a group of a disabled directory is
    // kept (its members are users), one of an AD directory is not
    assert_eq!(ids(&out, Kind::Group), vec!["cloud", "goog", "g1", "o1"]);
    let goog = out.iter().find(|r| r.id == "goog").unwrap();
    assert!(
        goog.warnings[0].contains("creates no identity provider"),
        "{:?}",
        goog.warnings
    );
    let g1 = out.iter().find(|r| r.id == "g1").unwrap();
    assert!(g1.warnings[0].contains("its directory `off` is not exported as a group"));
    // the organization gets the users of its social directory, not of the disabled one
    assert_eq!(
        ids(&out, Kind::Membership),
        vec!["cloud/a1", "goog/a2", "o1/a2"]
    );
    assert_eq!(ids(&out, Kind::AppAssignment), vec!["p/o1"]);
    let a2 = out.iter().find(|r| r.id == "a2").unwrap();
    assert_eq!(a2.data["_idm"]["externalIds"], json!({"goog": "g-123"}));
    let summary = sp.summary().join("\n");
    for expected in [
        "skipped 3 accounts: 1 in a directory missing from the export; 1 in AD/LDAP directories",
        "1 without an email address",
        "also skipped 4 directories, 1 group, 3 directory memberships of directories not migrated, 1 organization account store not migrated, 2 app assignments",
    ] {
        assert!(summary.contains(expected), "{expected}\n{summary}");
    }
}

#[test]
fn api_keys_reserved_names_and_shared_logins() {
    let key = |id: &str, account: &str, status: &str| {
        (
            format!("apiKeys/{id}.json"),
            json!({"id": id, "secret": format!("secret-{id}"), "status": status,
                   "account": {"id": account}}),
        )
    };
    let mut files = vec![
        cloud_dir("d1"),
        account(
            "a",
            "d1",
            "a@example.com",
            json!({"username": "Same@Example.com",
            "customData": {"stormpathApiKey_1": "x", "stormpathHref": "y", "keep": 1}}),
        ),
        account(
            "b",
            "d1",
            "b@example.com",
            json!({"username": "same@example.com"}),
        ),
        key("k-off", "a", "DISABLED"),
        key("k-lost", "nobody", "ENABLED"),
    ];
    for n in 0..12 {
        files.push(key(&format!("k{n:02}"), "a", "ENABLED"));
    }
    let (_d, sp) = open(files);
    let mut sp = sp.unwrap();
    let out = export_all(&mut sp);
    let a = out.iter().find(|r| r.id == "a").unwrap();
    let keys = a.data["_idm"]["apiKeys"].as_array().unwrap();
    assert_eq!(keys.len(), 12);
    assert_eq!(keys[0]["id"], "k00");
    assert_eq!(a.data["_idm"]["customData"], json!({"keep": 1}));
    let w = a.warnings.join("\n");
    assert!(
        w.contains("12 enabled API keys: targets keep the first 10"),
        "{w}"
    );
    assert!(
        w.contains("custom data `stormpathApiKey_1` is left out"),
        "{w}"
    );
    assert!(w.contains("custom data `stormpathHref` is left out"), "{w}");
    assert!(w.contains("`b` has the same login"), "{w}");
    let attrs = ids(&out, Kind::Attribute);
    assert_eq!(attrs.len(), 3 + 10, "{attrs:?}");
    assert!(attrs.contains(&"stormpathApiKey_10".to_string()));
    assert!(!attrs.contains(&"stormpathApiKey_11".to_string()));
    let b = out.iter().find(|r| r.id == "b").unwrap();
    assert!(b.warnings.join("\n").contains("`a` has the same login"));
    // secrets are in the records, never in the summary
    assert!(!sp.summary().join("\n").contains("secret"));
}
