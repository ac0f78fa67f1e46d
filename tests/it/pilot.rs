//! Pilot subsets: `idm-export --group NAME` and `--users FILE` export exactly some people with
//! what concerns them, and the full migration that follows repeats nothing of the pilot.

use std::collections::BTreeSet;
use std::path::Path;

use idm::sandbox::{Sandbox, Side};
use serde_json::Value;

use crate::util::{Tool, sandbox};

fn export(sb: &Sandbox, state: &Path, args: &[&str]) -> crate::util::Ran {
    Tool::new("idm-export")
        .okta(sb)
        .arg("--state")
        .arg(state)
        .args(args)
        .run()
}

fn of<'a>(recs: &'a [Value], kind: &str) -> impl Iterator<Item = &'a Value> {
    recs.iter().filter(move |r| r["kind"] == kind)
}

fn ids(recs: &[Value], kind: &str) -> BTreeSet<String> {
    of(recs, kind)
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn edge(r: &Value, key: &str) -> String {
    r["data"][key].as_str().unwrap_or("").to_string()
}

/// map → attrs --apply → load --apply into the sandbox's OneLogin account: the results.
fn migrate(sb: &Sandbox, state: &Path, export: &str) -> Vec<Value> {
    let mapped = Tool::new("idm-map")
        .arg("--to")
        .arg("onelogin")
        .stdin(export)
        .run();
    assert!(matches!(mapped.code, Some(0 | 3)), "{}", mapped.show());
    let ready = Tool::new("idm-attrs")
        .onelogin(sb)
        .args(["--to", "onelogin", "--apply", "--state"])
        .arg(state)
        .stdin(mapped.stdout.clone())
        .run();
    ready.expect(0);
    let load = Tool::new("idm-load")
        .onelogin(sb)
        .args(["--to", "onelogin", "--apply", "--state"])
        .arg(state)
        .stdin(ready.stdout.clone())
        .run();
    load.expect(0);
    load.records()
}

fn ops(results: &[Value], of: &str, op: &str) -> BTreeSet<String> {
    results
        .iter()
        .filter(|r| r["data"]["of"] == of && r["data"]["op"] == op)
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_group_pilot_is_exactly_its_members_and_the_full_run_after_it_repeats_nothing() {
    let sb = sandbox(80);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.ndjson");
    // the truth, from a full export that binds nothing (another journal)
    let full = export(&sb, &dir.path().join("other.ndjson"), &[])
        .expect(0)
        .records();
    let group = of(&full, "group")
        .filter(|g| g["data"]["type"] == "OKTA_GROUP")
        .max_by_key(|g| {
            of(&full, "membership")
                .filter(|m| edge(m, "group_id") == g["id"].as_str().unwrap())
                .count()
        })
        .unwrap();
    let (gid, name) = (
        group["id"].as_str().unwrap(),
        group["data"]["profile"]["name"].as_str().unwrap(),
    );
    // users whose email an earlier user has: the whole migration rejects them, so does a pilot
    let mut seen = BTreeSet::new();
    let shadowed: BTreeSet<String> = of(&full, "user")
        .filter(|u| {
            let email = u["data"]["profile"]["email"]
                .as_str()
                .unwrap_or("")
                .to_lowercase();
            !seen.insert(email)
        })
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    let in_group: BTreeSet<String> = of(&full, "membership")
        .filter(|m| edge(m, "group_id") == gid)
        .map(|m| edge(m, "user_id"))
        .collect();
    let members: BTreeSet<String> = in_group.difference(&shadowed).cloned().collect();
    assert!(members.len() >= 3, "{name}: {members:?}");

    let ran = export(&sb, &state, &["--group", name]);
    let left_out = in_group.len() - members.len();
    ran.expect(if left_out > 0 { 3 } else { 0 });
    if left_out > 0 {
        assert!(
            ran.stderr.contains("left out: an earlier user"),
            "{}",
            ran.show()
        );
    }
    let pilot = &ran.records();
    assert_eq!(ids(pilot, "user"), members, "exactly the group's members");
    // their memberships, all of them, and nothing else
    let their_edges: BTreeSet<String> = of(&full, "membership")
        .filter(|m| members.contains(&edge(m, "user_id")))
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids(pilot, "membership"), their_edges);
    let their_groups: BTreeSet<String> = of(pilot, "membership")
        .map(|m| edge(m, "group_id"))
        .collect();
    assert_eq!(ids(pilot, "group"), their_groups);
    for a in of(pilot, "app_assignment") {
        assert!(
            members.contains(&edge(a, "user_id")) || their_groups.contains(&edge(a, "group_id")),
            "{a}"
        );
    }
    let apps: BTreeSet<String> = of(pilot, "app_assignment")
        .map(|a| edge(a, "app_id"))
        .collect();
    assert_eq!(ids(pilot, "app"), apps);
    assert_eq!(
        ids(pilot, "attribute"),
        ids(&full, "attribute"),
        "attribute definitions pass through"
    );
    let journal = std::fs::read_to_string(&state).unwrap_or_default();
    assert!(
        !journal.contains("\"bookmark\""),
        "a pilot moved the bookmark"
    );

    // the pilot migrates, then the whole tenant: nothing of the pilot is written twice
    let pilot_text: String = pilot.iter().map(|r| format!("{r}\n")).collect::<String>();
    let first = migrate(&sb, &state, &pilot_text);
    let piloted = ops(&first, "user", "create");
    assert!(!piloted.is_empty() && piloted.is_subset(&members));
    let all = export(&sb, &state, &[]);
    all.expect(0);
    let second = migrate(&sb, &state, &all.stdout);
    let created = ops(&second, "user", "create");
    assert!(
        created.is_disjoint(&piloted),
        "a pilot user was created again"
    );
    assert!(ops(&second, "user", "skip").is_superset(&piloted));
    let emails: Vec<String> = sb
        .dump(Side::OneLogin)
        .into_iter()
        .filter(|r| r["kind"] == "user")
        .map(|r| r["data"]["email"].as_str().unwrap_or("").to_lowercase())
        .collect();
    let unique: BTreeSet<&String> = emails.iter().collect();
    assert_eq!(unique.len(), emails.len(), "a user is in OneLogin twice");

    // a second source user with a migrated user's email never takes that account
    let mut twin = of(&full, "user")
        .find(|u| piloted.contains(u["id"].as_str().unwrap()))
        .unwrap()
        .clone();
    twin["id"] = "00uTWIN0000000000000".into();
    twin["data"]["id"] = "00uTWIN0000000000000".into();
    let mapped = Tool::new("idm-map").stdin(format!("{twin}\n")).run();
    mapped.expect(0);
    let load = Tool::new("idm-load")
        .onelogin(&sb)
        .args(["--to", "onelogin", "--apply", "--state"])
        .arg(&state)
        .stdin(mapped.stdout.clone())
        .run();
    load.expect(3);
    let r = &load.records()[0];
    assert_eq!(r["data"]["status"], "failed", "{r}");
    assert!(
        r["data"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("belongs to okta:"),
        "{r}"
    );
}

#[test]
fn a_users_file_picks_by_login_or_id_and_names_the_lines_that_match_nobody() {
    let sb = sandbox(30);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.ndjson");
    let full = export(&sb, &dir.path().join("other.ndjson"), &[])
        .expect(0)
        .records();
    let users: Vec<&Value> = of(&full, "user").collect();
    let by_login = users[0];
    let by_id = users[1];
    let file = dir.path().join("pilot.txt");
    std::fs::write(
        &file,
        format!(
            "# the pilot\n{}\n\n{}\nnobody.at.all@example.com\n",
            by_login["data"]["profile"]["login"]
                .as_str()
                .unwrap()
                .to_uppercase(),
            by_id["id"].as_str().unwrap()
        ),
    )
    .unwrap();
    let ran = export(&sb, &state, &["--users", file.to_str().unwrap()]);
    ran.expect(3);
    let got = ids(&ran.records(), "user");
    let want: BTreeSet<String> = [by_login, by_id]
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want);
    assert!(
        ran.stderr.contains("matches no user: line 5"),
        "{}",
        ran.show()
    );
    assert!(!ran.stderr.contains("nobody.at.all"), "{}", ran.show());

    // what cannot be a pilot is said before anything is read
    for (args, says) in [
        (
            vec!["--group", "Sales", "--objects", "users,groups"],
            "need memberships",
        ),
        (vec!["--users", "/nonexistent/pilot.txt"], "cannot read"),
        (vec!["--group", " "], "cannot be empty"),
    ] {
        let ran = export(&sb, &state, &args);
        ran.expect(2);
        assert!(ran.stderr.contains(says), "{}", ran.show());
    }
    let unknown = export(&sb, &state, &["--group", "No Such Team"]);
    unknown.expect(3);
    assert!(unknown.stderr.contains("`No Such Team`: no group"));
    assert!(ids(&unknown.records(), "user").is_empty());
}
