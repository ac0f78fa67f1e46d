//! idm-verify after real migrations: a clean one matches (exit 0), a changed field and a
//! deleted user are exactly what it names (exit 3), upstream rejects are `not_migrated` with
//! their reasons (exit 0), and an org-to-org migration into Okta verifies too.

use serde_json::{Value, json};

use crate::pipeline::{Mig, onelogin};
use crate::util::Ran;

fn verify(mig: &Mig, inputs: &[&str]) -> Ran {
    let mut text = String::new();
    for f in inputs {
        text.push_str(&std::fs::read_to_string(mig.path(f)).unwrap());
    }
    mig.tool("idm-verify")
        .args(["--to", "onelogin"])
        .stdin(text)
        .run()
}

fn statuses(ran: &Ran) -> Vec<(String, String)> {
    ran.records()
        .iter()
        .filter(|r| r["data"]["status"] != "match")
        .filter(|r| {
            !r["data"]["reason"]
                .as_str()
                .is_some_and(|s| s.contains("was in the tenant before the migration"))
        })
        .map(|r| {
            (
                r["data"]["status"].as_str().unwrap().to_string(),
                r["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_clean_migration_matches_and_a_changed_field_and_a_deleted_user_are_named() {
    let mig = Mig::new(60);
    mig.prepare();
    let results = mig.load(&["--apply"]);
    results.expect(0);
    let clean = verify(&mig, &["ready.ndjson"]);
    clean.expect(0);
    // accounts that were in the tenant before the migration were kept as they were: their
    // differences are decisions for a person, said with a reason, not failures
    let preexisting = |r: &Value| {
        r["data"]["reason"]
            .as_str()
            .is_some_and(|s| s.contains("was in the tenant before the migration"))
    };
    let problems: Vec<_> = clean
        .records()
        .into_iter()
        .filter(|r| {
            r["data"]["status"] != "match"
                && r["data"]["status"] != "not_migrated"
                && !preexisting(r)
        })
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    // one user changed in the target, another deleted
    let created: Vec<Value> = results
        .records()
        .into_iter()
        .filter(|r| r["data"]["of"] == "user" && r["data"]["op"] == "create")
        .collect();
    let (changed, deleted) = (&created[0], &created[1]);
    let changed_id = changed["data"]["target_id"].as_str().unwrap();
    let client = reqwest::blocking::Client::new();
    let token: Value = client
        .post(format!("{}/auth/oauth2/v2/token", mig.sb.onelogin_url()))
        .basic_auth(
            mig.sb.onelogin_client_id(),
            Some(mig.sb.onelogin_client_secret()),
        )
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let resp = client
        .put(format!(
            "{}/api/2/users/{changed_id}",
            mig.sb.onelogin_url()
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&json!({"title": "Changed behind our back"}))
        .send()
        .unwrap();
    assert!(resp.status().is_success());
    let resp = onelogin(
        &mig.sb,
        "DELETE",
        &format!(
            "/api/2/users/{}",
            deleted["data"]["target_id"].as_str().unwrap()
        ),
    );
    assert!(resp.status().is_success());
    let after = verify(&mig, &["ready.ndjson"]);
    after.expect(3);
    let users: Vec<(String, String)> = statuses(&after)
        .into_iter()
        .filter(|(s, _)| s != "not_migrated")
        .collect();
    let deleted_id = deleted["id"].as_str().unwrap().to_string();
    let changed_src = changed["id"].as_str().unwrap().to_string();
    // the deleted user's memberships are missing with it
    assert!(
        users.contains(&("differs".into(), changed_src.clone())),
        "{users:?}"
    );
    assert!(
        users.contains(&("missing".into(), deleted_id.clone())),
        "{users:?}"
    );
    for (status, id) in &users {
        assert!(
            id == &changed_src || id == &deleted_id || id.ends_with(&format!("/{deleted_id}")),
            "{status} {id} is not one of the two changes"
        );
    }
    let differs = after
        .records()
        .into_iter()
        .find(|r| r["data"]["status"] == "differs" && r["id"] == changed_src.as_str())
        .unwrap();
    assert_eq!(
        differs["data"]["changes"]["title"]["from"],
        "Changed behind our back"
    );
    assert!(after.stderr.contains("verified: "), "{}", after.show());
}

#[test]
fn upstream_rejects_are_not_migrated_with_their_reasons() {
    let mig = Mig::new(120);
    mig.prepare();
    mig.load(&["--apply"]).expect(0);
    let ran = verify(&mig, &["export.ndjson", "ready.ndjson"]);
    ran.expect(0);
    let not_migrated: Vec<Value> = ran
        .records()
        .into_iter()
        .filter(|r| r["data"]["status"] == "not_migrated")
        .collect();
    assert!(
        not_migrated.iter().any(|r| r["data"]["of"] == "user"
            && r["data"]["reason"].as_str().unwrap().contains("idm-map")),
        "{not_migrated:#?}"
    );
    assert!(not_migrated.iter().all(|r| r["data"]["reason"].is_string()));
}

#[test]
fn an_org_to_org_migration_into_okta_verifies() {
    let o = crate::okta_target::OrgToOrg::new(50, |_| {});
    o.prepare();
    o.load(&["--apply"]).expect(0);
    let text = std::fs::read_to_string(o.path("export.ndjson")).unwrap()
        + &std::fs::read_to_string(o.path("ready.ndjson")).unwrap();
    let ran = o.to("idm-verify").args(["--to", "okta"]).stdin(text).run();
    ran.expect(0);
    assert!(
        ran.records()
            .iter()
            .any(|r| r["data"]["of"] == "membership" && r["data"]["status"] == "match")
    );
}
