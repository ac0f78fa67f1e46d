//! idm-connectors against the sandbox's OneLogin catalogue: exact names filled in, close ones
//! left for a person, custom apps flagged; the draft validates and idm-map keeps its promise
//! never to use a candidate.

use idm::record::schema::{CONNECTORS_CONFIG, Schemas};
use idm::sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

use crate::util::Tool;

fn sandbox_with_apps(apps: u64) -> Sandbox {
    let mut cfg = SandboxConfig::default();
    cfg.seed.users = 30;
    cfg.seed.apps = apps;
    Sandbox::start(cfg).expect("the sandbox starts")
}

#[test]
fn a_draft_fills_exact_names_lists_close_ones_and_flags_custom_apps() {
    let sb = sandbox_with_apps(28);
    let dir = tempfile::tempdir().unwrap();
    let export = Tool::new("idm-export").okta(&sb).run();
    export.expect(0);
    let ran = Tool::new("idm-connectors")
        .onelogin(&sb)
        .stdin(export.stdout.clone())
        .run();
    ran.expect(0);
    let draft: Value = serde_json::from_str(&ran.stdout).expect("the draft is JSON");
    Schemas::get()
        .check(CONNECTORS_CONFIG, &draft)
        .expect("the draft validates against connectors.schema.json");

    // exact: an app named like a connector, of a fitting auth method
    let ready = &draft["application_connectors"];
    assert_eq!(ready["Slack"]["saml_2_0"]["id"], 31043, "{ready:#}");
    assert_eq!(
        ready["Dropbox"]["auto_login"]["id"], 52032,
        "Dropbox (forms), not the SAML one: {ready:#}"
    );
    // close: `Zoom.us` (SWA) is near the `Zoom` connector, left for a person
    let zoom = &draft["to_choose"]["Zoom.us"][0];
    assert_eq!(zoom["candidates"][0]["name"], "Zoom", "{zoom:#}");
    assert!(ready.get("Zoom.us").is_none());
    // the same name with an auth method that cannot fit is a choice too, marked so
    let adp = &draft["to_choose"]["ADP Workforce Now"][0];
    assert_eq!(adp["candidates"][0]["fits_sign_on"], false, "{adp:#}");
    // custom: nothing resembles it; the generic SAML connector is the hint
    let custom = &draft["no_candidate"]["Example SAML App 1"][0];
    assert_eq!(
        custom["generic"][0]["name"], "SAML Custom Connector (Advanced)",
        "{custom:#}"
    );
    assert!(
        ran.stderr.contains("28 apps:") && ran.stderr.contains("matched by name"),
        "{}",
        ran.show()
    );

    // idm-map uses only what is ready, and says why the others are not
    let path = dir.path().join("connectors.json");
    std::fs::write(&path, &ran.stdout).unwrap();
    let mapped = Tool::new("idm-map")
        .arg("--connectors")
        .arg(&path)
        .stdin(export.stdout.clone())
        .run();
    mapped.expect(3);
    let apps: Vec<String> = mapped
        .records()
        .into_iter()
        .filter(|r| r["kind"] == "app")
        .map(|r| r["data"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(apps.contains(&"Slack".to_string()), "{apps:?}");
    assert!(
        !apps.iter().any(|a| a.starts_with("Zoom.us")),
        "a candidate was used: {apps:?}"
    );
    assert!(
        mapped.stderr.contains("no connector for app `Zoom.us`")
            && mapped.stderr.contains("under to_choose or no_candidate"),
        "{}",
        mapped.show()
    );
}

#[test]
fn a_saved_catalogue_works_offline_and_a_bad_one_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.json");
    std::fs::write(
        &catalog,
        r#"[{"id": 7, "name": "Slack", "auth_method": 2, "allows_new_parameters": false},
            {"id": 8, "name": "Slack Enterprise Grid", "auth_method": 2}]"#,
    )
    .unwrap();
    let apps = concat!(
        r#"{"kind":"app","source":"okta","id":"0oa1","data":{"id":"0oa1","label":"Slack","name":"slack","signOnMode":"SAML_2_0","status":"ACTIVE"}}"#,
        "\n",
        r#"{"kind":"user","source":"okta","id":"00u1","data":{"id":"00u1","status":"ACTIVE","profile":{"login":"a@b.example"}}}"#,
        "\n",
        "not json\n",
    );
    let ran = Tool::new("idm-connectors")
        .arg("--catalog")
        .arg(&catalog)
        .stdin(apps)
        .run();
    // the bad line is named and counted; the app is still matched
    ran.expect(3);
    assert!(ran.stderr.contains("line 3"), "{}", ran.show());
    let draft: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(
        draft["application_connectors"]["Slack"]["saml_2_0"]["id"],
        7
    );

    std::fs::write(&catalog, "{\"connectors\": 1}").unwrap();
    let ran = Tool::new("idm-connectors")
        .arg("--catalog")
        .arg(&catalog)
        .stdin(apps)
        .run();
    ran.expect(2);
    assert!(
        ran.stderr.contains("expected a JSON array of connectors"),
        "{}",
        ran.show()
    );
}
