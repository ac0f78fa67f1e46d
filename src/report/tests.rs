use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use super::scan::{Capped, Scan, Stage, Tally, is_preexisting, pattern};
use super::*;
use crate::record::Record;

fn rec(line: &str) -> Record {
    serde_json::from_str(line).expect("a record")
}

fn write_file(dir: &tempfile::TempDir, name: &str, lines: &[serde_json::Value]) -> PathBuf {
    let path = dir.path().join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    path
}

fn examples() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    [
        "okta-export.ndjson",
        "onelogin-mapped.ndjson",
        "plan.ndjson",
        "results.ndjson",
        "journal.ndjson",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect()
}

/// The text of the element whose `data-key` is `key`, as a number.
fn figure(html: &str, key: &str) -> Option<u64> {
    let at = html.find(&format!(r#"data-key="{key}""#))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    let digits: String = rest[start..end]
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn stages_are_told_from_content() {
    let cases = [
        (
            r#"{"kind":"user","source":"okta","id":"1","data":{}}"#,
            Some(Stage::Export),
        ),
        (
            r#"{"kind":"user","source":"okta","id":"1","data":{},"target":"onelogin"}"#,
            Some(Stage::Mapped),
        ),
        (
            r#"{"kind":"result","source":"okta","id":"1","data":{"of":"user","op":"create","status":"planned"}}"#,
            Some(Stage::Plan),
        ),
        (
            r#"{"kind":"result","source":"okta","id":"1","data":{"of":"user","op":"create","status":"ok"},"target":"onelogin"}"#,
            Some(Stage::Results),
        ),
        (
            r#"{"kind":"verify","source":"okta","id":"1","data":{"of":"user","status":"match"}}"#,
            Some(Stage::Verify),
        ),
        (
            r#"{"kind":"policy","source":"okta","id":"p","data":{}}"#,
            Some(Stage::Export),
        ),
        (
            r#"{"kind":"end","source":"okta","id":"end","data":{"complete":true}}"#,
            None,
        ),
    ];
    for (line, stage) in cases {
        assert_eq!(Stage::of_record(&rec(line)), stage, "{line}");
    }
}

#[test]
fn patterns_take_the_particulars_out() {
    assert_eq!(
        pattern("role `Sales EMEA` exists with the same payload"),
        "role `…` exists with the same payload"
    );
    assert_eq!(
        pattern("service unavailable after 5 tries"),
        "service unavailable after N tries"
    );
    assert_eq!(pattern("open `tick"), "open `…`");
    assert_eq!(
        pattern("OneLogin API v2 assigns apps (id 1234, HTTP 503)"),
        "OneLogin API v2 assigns apps (id N, HTTP N)"
    );
    assert!(is_preexisting("already in the tenant (same email)"));
    assert!(is_preexisting("role `x` already existed; adopted"));
    assert!(!is_preexisting("already loaded"));
}

#[test]
fn caps_keep_the_first_rows_and_count_the_rest() {
    let mut c: Capped<u32> = Capped::new(2);
    for i in 0..5 {
        c.push_with(|| i);
    }
    assert_eq!(c.rows, vec![0, 1]);
    assert_eq!((c.total, c.more()), (5, 3));
    let mut t: Tally<&str> = Tally::new(1);
    let item = || super::scan::Item {
        kind: "user".into(),
        source: "okta".into(),
        id: "1".into(),
        label: None,
        cells: vec![],
    };
    t.add("a", item);
    t.add("a", item);
    t.add("b", item);
    assert_eq!(t.map.len(), 1);
    assert_eq!((t.overflow, t.total()), (1, 3));
}

#[test]
fn examples_give_the_counts_the_files_hold() {
    let report = build(&examples(), &Options::default()).unwrap();
    let html = &report.html;
    assert_eq!((report.files, report.unreadable), (5, 0));
    assert_eq!(report.events, 14);
    assert_eq!(figure(html, "records/export/user"), Some(4));
    assert_eq!(figure(html, "records/mapped/group"), Some(2));
    assert_eq!(figure(html, "records/results/membership"), Some(4));
    assert_eq!(figure(html, "outcome/results/user/create"), Some(2));
    assert_eq!(figure(html, "outcome/results/user/failed"), Some(1));
    assert_eq!(figure(html, "outcome/results/user/total"), Some(4));
    assert_eq!(figure(html, "outcome/plan/group/skip"), Some(1));
    assert_eq!(figure(html, "decide/failed"), Some(3));
    assert_eq!(figure(html, "decide/preexisting"), Some(1));
    assert_eq!(figure(html, "journal/map/user"), Some(3));
    assert_eq!(figure(html, "journal/edge"), Some(4));
    // the Everyone group and the bookmark app are in the export but not mapped
    assert_eq!(figure(html, "decide/unmapped"), Some(2));
    assert_eq!(figure(html, "unmapped/group"), Some(1));
    assert_eq!(figure(html, "decide/no-connector"), Some(1));
    assert!(html.contains("HR Handbook"));
    // a failed membership has no label: pass two names both ends from the export
    assert!(
        html.contains("Sales EMEA ← Priya.Nair@example.co.uk"),
        "edge labels resolved"
    );
    assert_eq!(figure(html, "group/okta/00g2a4pbtqPLM3Xj70h7"), Some(2));
    assert_eq!(figure(html, "apps/SAML_2_0/created"), Some(1));
    assert_eq!(figure(html, "attr/mapped/badge_number"), Some(2));
}

#[test]
fn the_page_loads_nothing_from_anywhere() {
    let html = build(&examples(), &Options::default()).unwrap().html;
    for needle in [
        "<script src",
        "<link",
        "@import",
        "url(",
        "<img",
        "<iframe",
        "http-equiv",
    ] {
        assert!(!html.contains(needle), "{needle}");
    }
    // every href is an in-page anchor
    for (i, _) in html.match_indices("href=\"") {
        assert_eq!(&html[i + 6..i + 7], "#", "{}", &html[i..i + 40]);
    }
    assert_eq!(html.matches("<script>").count(), 1);
}

#[test]
fn secrets_never_reach_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let token = "tok_9f8e7d6c5b4a3f2e1d0cABCD";
    let mapped = write_file(
        &dir,
        "mapped.ndjson",
        &[
            json!({"kind":"user","source":"okta","id":"00u1","target":"onelogin",
            "data":{"email":"a@example.com","custom_attributes":{
                "api_token": "plainword",
                "badge": token,
                "pin_code": "1234",
                "city": "Oslo"}}}),
        ],
    );
    let results = write_file(
        &dir,
        "results.ndjson",
        &[json!({"kind":"result","source":"okta","id":"00u1","data":{
            "of":"user","op":"update","status":"ok","target_id":"9","error":null,
            "label":"a@example.com",
            "changes":{"password":{"from":"Hunter2hunter2","to":"S3cret-S3cret"},
                       "title":{"from":"Eng","to":"Staff Eng"}}}})],
    );
    let html = build(&[mapped, results], &Options::default()).unwrap().html;
    for secret in [
        "plainword",
        token,
        "1234",
        "Hunter2hunter2",
        "S3cret-S3cret",
    ] {
        assert!(!html.contains(secret), "`{secret}` is on the page");
    }
    assert!(html.contains("Oslo"), "ordinary samples are shown");
    assert!(
        html.contains("title: Eng → Staff Eng"),
        "ordinary changes are shown"
    );
}

#[test]
fn journals_end_markers_and_unknown_kinds_are_counted_not_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let journal = write_file(
        &dir,
        "state",
        &[
            json!({"ev":"tenant","source":"okta","source_url":"https://acme.okta.com","target":"onelogin"}),
            json!({"ev":"map","kind":"user","source":"okta","id":"1","target":"onelogin","target_id":"7"}),
            json!({"ev":"future_event","x":1}),
        ],
    );
    let other = write_file(
        &dir,
        "other",
        &[
            json!({"kind":"policy","source":"okta","id":"p1","data":{}}),
            json!({"kind":"user","source":"okta","id":"1","data":{"status":"ACTIVE"}}),
            json!({"kind":"end","source":"okta","id":"end","data":{"complete":false,"counts":{"user":2,"policy":1},"elapsed_ms":1200}}),
        ],
    );
    let report = build(&[journal, other], &Options::default()).unwrap();
    let html = &report.html;
    assert_eq!(
        (report.records, report.events, report.unreadable),
        (3, 3, 0)
    );
    assert_eq!(figure(html, "journal/future_event"), Some(1));
    assert_eq!(figure(html, "journal/map/user"), Some(1));
    assert_eq!(figure(html, "records/export/policy"), Some(1));
    assert!(
        html.contains("https://acme.okta.com"),
        "the tenant binding is shown"
    );
    assert_eq!(figure(html, "decide/incomplete"), Some(1));
    assert!(
        html.contains("user: says 2, file has 1"),
        "end counts checked"
    );
    assert!(html.contains("time taken (ms) (elapsed_ms)"));
}

#[test]
fn bad_lines_are_counted_and_listed_with_their_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.ndjson");
    std::fs::write(
        &path,
        "{\"kind\":\"user\",\"source\":\"okta\",\"id\":\"1\",\"data\":{}}\n{broken\n[1]\n",
    )
    .unwrap();
    let report = build(&[path], &Options::default()).unwrap();
    assert_eq!((report.records, report.unreadable), (1, 2));
    assert_eq!(figure(&report.html, "decide/unreadable"), Some(2));
    assert_eq!(figure(&report.html, "file/0/unreadable"), Some(2));
}

#[test]
fn tables_keep_at_most_rows_and_say_how_many_more() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<_> = (0..25)
        .map(|i| {
            json!({"kind":"result","source":"okta","id":format!("u{i}"),"data":{
                "of":"user","op":"create","status":"failed","target_id":null,
                "error":{"status":422,"field":"email","message":format!("email `u{i}@x` taken")}}})
        })
        .collect();
    let path = write_file(&dir, "results.ndjson", &lines);
    let opts = Options {
        rows: 10,
        ..Options::default()
    };
    let html = build(&[path], &opts).unwrap().html;
    assert_eq!(figure(&html, "decide/failed"), Some(25));
    assert!(html.contains("and 15 more not shown"), "capped");
    // the 25 messages differ only in a value: one line in the grouped table
    assert_eq!(html.matches("email `…` taken").count(), 1);
    assert_eq!(html.matches("<td class=\"id\">okta:u").count(), 10);
}

#[test]
fn memory_holds_no_record_per_user() {
    let mut scan = Scan::new(5);
    scan.begin_file("big".into(), false);
    for i in 0..20_000 {
        let r = rec(&format!(
            r#"{{"kind":"result","source":"okta","id":"u{i}","data":{{"of":"user","op":"skip","status":"ok","target_id":"{i}","reason":"already in the tenant (same email `u{i}@x`)"}}}}"#
        ));
        scan.record(i + 1, &r);
    }
    assert_eq!(scan.preexisting.total, 20_000);
    assert_eq!(scan.preexisting.rows.len(), 5);
    assert_eq!(scan.skips.map.len(), 1);
    assert!(scan.mapped_keys.is_empty());
}

#[test]
fn other_sources_are_read_for_what_they_hold_and_hashes_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let hash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeKDO7gYklv7H8hCFMp67/9ylzbDl451y";
    let export = write_file(
        &dir,
        "stormpath.ndjson",
        &[
            json!({"kind":"user","source":"stormpath","id":"acc1","data":{
                "email":"alice@example.com","status":"ENABLED","password":hash,
                "customData":{"href":"https://api.stormpath.com/v1/accounts/acc1/customData",
                    "createdAt":"2017-03-01T10:00:00.000Z","loyaltyId":"L-1001",
                    "recoverySecret":"blue-horse"}}}),
            json!({"kind":"app","source":"onelogin","id":"55","data":{"name":"Wiki","auth_method":8}}),
        ],
    );
    let html = build(&[export], &Options::default()).unwrap().html;
    assert!(
        !html.contains(hash) && !html.contains("N9qo8uLO"),
        "a password hash"
    );
    assert!(!html.contains("blue-horse"), "a secret-named custom field");
    assert!(html.contains("L-1001"));
    assert!(
        !html.contains(">createdAt<"),
        "custom data metadata is not an attribute"
    );
    assert_eq!(figure(&html, "user-status/stormpath/ENABLED"), Some(1));
    assert_eq!(figure(&html, "apps/OpenId Connect/exported"), Some(1));
}
