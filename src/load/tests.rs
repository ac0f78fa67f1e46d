//! The engine against an in-memory target: decisions, cut-over updates, conflicts, duplicates,
//! edges re-made after their ends were re-created, and the preflight.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::fake::Fake;
use super::*;
use crate::journal::Journal;
use crate::record::{RecordReader, RecordWriter, Rejects};

fn rec(kind: &str, id: &str, data: Value) -> String {
    json!({"kind": kind, "source": "okta", "id": id, "data": data, "target": "onelogin"})
        .to_string()
}

fn user(id: &str, email: &str, title: &str) -> String {
    rec(
        "user",
        id,
        json!({"email": email, "username": id, "title": title}),
    )
}

fn member(g: &str, u: &str) -> String {
    rec(
        "membership",
        &format!("{g}/{u}"),
        json!({"group_id": g, "user_id": u}),
    )
}

struct Run {
    results: Vec<Value>,
    summary: anyhow::Result<Summary>,
}

impl Run {
    fn of(&self, id: &str) -> &Value {
        self.results
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no result for {id}: {:#?}", self.results))
    }

    fn op_status(&self, id: &str) -> (String, String) {
        let d = &self.of(id)["data"];
        (
            d["op"].as_str().unwrap().to_string(),
            d["status"].as_str().unwrap().to_string(),
        )
    }
}

struct Env {
    dir: tempfile::TempDir,
    fake: Fake,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            fake: Fake::default(),
        }
    }

    fn run(&self, lines: &[String], opts: Options) -> Run {
        let path = self.dir.path().join("state.ndjson");
        let (journal, state) = Journal::open(&path).unwrap();
        let input = lines.join("\n");
        let mut reader = RecordReader::new(input.as_bytes());
        let mut rejects = Rejects::stderr_only();
        let out_path = self.dir.path().join("out.ndjson");
        let mut out = RecordWriter::create(Some(&out_path)).unwrap();
        let journal = opts.apply.then_some(&journal);
        let summary = run(
            &self.fake,
            journal,
            state,
            &opts,
            &mut reader,
            &mut rejects,
            &mut out,
        );
        out.finish().unwrap();
        let results = std::fs::read_to_string(&out_path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        Run { results, summary }
    }

    fn apply(&self, lines: &[String]) -> Run {
        self.run(lines, apply())
    }
}

fn apply() -> Options {
    Options {
        apply: true,
        workers: 2,
        ..Options::default()
    }
}

fn pair(op: &str, status: &str) -> (String, String) {
    (op.to_string(), status.to_string())
}

#[test]
fn a_cut_over_updates_what_the_migration_created_and_shows_the_changes() {
    let env = Env::new();
    let pre = env
        .fake
        .seed("user", json!({"email": "old@x.com", "title": "A"}));
    let first = env.apply(&[
        user("u1", "ann@x.com", "Engineer"),
        user("u2", "old@x.com", "B"),
    ]);
    assert_eq!(first.op_status("u1"), pair("create", "ok"));
    assert_eq!(first.op_status("u2"), pair("skip", "ok"));
    assert_eq!(first.of("u2")["data"]["target_id"], pre.as_str());
    // the source changed for both: ours is updated, the pre-existing one only named
    let lines = [
        user("u1", "ann@x.com", "Lead"),
        user("u2", "old@x.com", "C"),
    ];
    let plan = env.run(&lines, Options::default());
    assert_eq!(plan.op_status("u1"), pair("update", "planned"));
    assert_eq!(
        plan.of("u1")["data"]["changes"],
        json!({"title": {"from": "Engineer", "to": "Lead"}})
    );
    assert_eq!(plan.of("u1")["data"]["label"], "ann@x.com");
    assert_eq!(plan.op_status("u2"), pair("skip", "planned"));
    let s = plan.summary.unwrap();
    assert_eq!(s.decisions, vec!["`old@x.com`".to_string()]);
    assert!(
        report(&s, &Options::default())
            .iter()
            .any(|l| l.contains("--update-existing") && l.contains("old@x.com")),
    );
    let second = env.apply(&lines);
    assert_eq!(second.op_status("u1"), pair("update", "ok"));
    let id = second.of("u1")["data"]["target_id"].as_str().unwrap();
    assert_eq!(env.fake.get("user", id).unwrap()["title"], "Lead");
    assert_eq!(env.fake.get("user", &pre).unwrap()["title"], "A");
    // a re-run of a finished migration writes nothing
    let before = env.fake.writes.load(Ordering::Relaxed);
    let third = env.apply(&lines);
    assert_eq!(env.fake.writes.load(Ordering::Relaxed), before);
    assert_eq!(third.summary.unwrap().failed(), 0);
}

#[test]
fn a_run_that_dies_between_a_create_and_its_settling_is_finished_by_the_next() {
    let env = Env::new();
    let lines = [user("u1", "ann@x.com", "Settling")];
    env.fake.die_settling.store(true, Ordering::Relaxed);
    assert!(
        env.apply(&lines).summary.is_err(),
        "the run should have died"
    );
    assert_eq!(env.fake.count("user"), 1, "the create went through");
    env.fake.die_settling.store(false, Ordering::Relaxed);
    // the journal knows the user as created and unfinished: it goes through an update (which
    // finds nothing to change here), never the adoption of someone else's account
    let next = env.apply(&lines);
    let d = &next.of("u1")["data"];
    assert_eq!(d["reason"], "already up to date in the tenant", "{d}");
    let journal = std::fs::read_to_string(env.dir.path().join("state.ndjson")).unwrap();
    assert!(
        journal.contains(r#""id":"u1""#) && journal.contains(r#""origin":"created""#),
        "{journal}"
    );
    assert!(!journal.contains(r#""origin":"adopted""#), "{journal}");
    assert_eq!(env.fake.count("user"), 1);
}

#[test]
fn a_run_that_dies_before_a_create_is_answered_finds_its_own_object_next_time() {
    let env = Env::new();
    assert!(
        env.apply(&[user("u1", "ann@x.com", "Dies Creating")])
            .summary
            .is_err()
    );
    assert_eq!(env.fake.count("user"), 1, "the tenant made it");
    // the next run finds ann by email: its own create, not someone who was there before
    let next = env.apply(&[user("u1", "ann@x.com", "Engineer")]);
    assert_eq!(next.op_status("u1"), pair("update", "ok"));
    let journal = std::fs::read_to_string(env.dir.path().join("state.ndjson")).unwrap();
    assert!(journal.contains(r#""ev":"intent""#), "{journal}");
    assert!(journal.contains(r#""origin":"created""#), "{journal}");
    assert!(!journal.contains(r#""origin":"adopted""#), "{journal}");
    assert_eq!(env.fake.count("user"), 1);
}

#[test]
fn a_username_held_by_another_person_fails_and_stops_the_preflight() {
    let env = Env::new();
    env.fake.seed(
        "user",
        json!({"email": "someone.else@x.com", "username": "jdoe"}),
    );
    let lines = [rec(
        "user",
        "u1",
        json!({"email": "john@x.com", "username": "jdoe"}),
    )];
    let refused = env.apply(&lines);
    let err = refused.summary.unwrap_err().to_string();
    assert!(err.contains("1 users would take an account"), "{err}");
    assert_eq!(env.fake.writes.load(Ordering::Relaxed), 0);
    let forced = env.run(
        &lines,
        Options {
            force: true,
            ..apply()
        },
    );
    assert_eq!(forced.op_status("u1"), pair("create", "failed"));
    assert_eq!(env.fake.count("user"), 1, "never adopted, never created");
}

#[test]
fn the_last_of_two_lines_with_one_id_is_loaded() {
    let env = Env::new();
    let run = env.apply(&[
        user("u1", "a@x.com", "First"),
        user("u1", "a@x.com", "Second"),
    ]);
    let statuses: Vec<_> = run
        .results
        .iter()
        .map(|r| r["data"]["op"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "create").count(), 1);
    let skip = run
        .results
        .iter()
        .find(|r| r["data"]["op"] == "skip")
        .unwrap();
    assert!(
        skip["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("input line 2"),
        "{skip}"
    );
    assert_eq!(env.fake.count("user"), 1);
    let (_, id) = env
        .fake
        .tenant
        .lock()
        .unwrap()
        .objects
        .keys()
        .next()
        .cloned()
        .unwrap();
    assert_eq!(env.fake.get("user", &id).unwrap()["title"], "Second");
    assert!(run.summary.unwrap().warnings[0].contains("more than once"));
}

#[test]
fn groups_whose_names_fold_together_become_one_with_both_edges() {
    let env = Env::new();
    let run = env.apply(&[
        rec("group", "g1", json!({"name": "Employee"})),
        rec("group", "g2", json!({"name": "employee "})),
        user("u1", "a@x.com", "T"),
        user("u2", "b@x.com", "T"),
        member("g1", "u1"),
        member("g2", "u2"),
    ]);
    assert_eq!(env.fake.count("group"), 1);
    assert_eq!(run.op_status("g2"), pair("skip", "ok"));
    assert!(
        run.of("g2")["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("okta:g1"),
    );
    assert_eq!(run.op_status("g1/u1"), pair("assign", "ok"));
    assert_eq!(run.op_status("g2/u2"), pair("assign", "ok"));
    assert_eq!(env.fake.edge_count(), 2);
    assert_eq!(run.of("g2/u2")["data"]["label"], "Employee ← b@x.com");
}

#[test]
fn an_edge_is_made_again_when_its_end_was_re_created() {
    // a user deleted in the target after a migration came back, but its memberships stayed
    // `skip "already loaded"`: edges were keyed by source ids only
    let env = Env::new();
    let lines = [
        rec("group", "g1", json!({"name": "Eng"})),
        user("u1", "a@x.com", "T"),
        member("g1", "u1"),
    ];
    let first = env.apply(&lines);
    let uid = first.of("u1")["data"]["target_id"]
        .as_str()
        .unwrap()
        .to_string();
    env.fake.remove("user", &uid);
    env.fake.tenant.lock().unwrap().edges.clear();
    let second = env.apply(&lines);
    assert_eq!(second.op_status("u1"), pair("create", "ok"));
    assert_eq!(second.op_status("g1/u1"), pair("assign", "ok"));
    assert_eq!(env.fake.edge_count(), 1);
    // and a finished migration skips it
    let third = env.apply(&lines);
    assert_eq!(third.op_status("g1/u1"), pair("skip", "ok"));
    assert_eq!(third.of("g1/u1")["data"]["reason"], "already loaded");
}

#[test]
fn an_edge_the_tenant_lost_is_made_again() {
    let env = Env::new();
    let lines = [
        rec("group", "g1", json!({"name": "Eng"})),
        user("u1", "a@x.com", "T"),
        member("g1", "u1"),
    ];
    env.apply(&lines);
    env.fake.tenant.lock().unwrap().edges.clear();
    let again = env.apply(&lines);
    assert_eq!(again.op_status("g1/u1"), pair("assign", "ok"));
    assert_eq!(env.fake.edge_count(), 1);
}

#[test]
fn edges_to_nowhere_stop_the_preflight_and_fail_with_force() {
    let env = Env::new();
    let lines = [
        rec("group", "g1", json!({"name": "Eng"})),
        member("g1", "u-missing"),
    ];
    let err = env.apply(&lines).summary.unwrap_err().to_string();
    assert!(
        err.contains("1 memberships name a user, group or app that is neither"),
        "{err}"
    );
    assert_eq!(env.fake.writes.load(Ordering::Relaxed), 0, "zero writes");
    let forced = env.run(
        &lines,
        Options {
            force: true,
            ..apply()
        },
    );
    assert_eq!(forced.op_status("g1"), pair("create", "ok"));
    assert_eq!(forced.op_status("g1/u-missing"), pair("assign", "failed"));
}

#[test]
fn missing_attributes_stop_the_preflight() {
    let env = Env::new();
    let lines = [rec(
        "user",
        "u1",
        json!({"email": "a@x.com", "username": "a", "custom_attributes": {"cost_center": "1"}}),
    )];
    let err = env.apply(&lines).summary.unwrap_err().to_string();
    assert!(err.contains("`cost_center`"), "{err}");
    assert!(err.contains("idm-attrs --apply"), "{err}");
    assert_eq!(env.fake.writes.load(Ordering::Relaxed), 0);
    env.fake
        .tenant
        .lock()
        .unwrap()
        .attributes
        .insert("cost_center".into());
    assert_eq!(env.apply(&lines).op_status("u1"), pair("create", "ok"));
}

#[test]
fn memberships_are_written_in_batches_and_a_refused_batch_one_by_one() {
    let env = Env::new();
    let mut lines = vec![rec("group", "g1", json!({"name": "Eng"}))];
    for i in 0..5 {
        lines.push(user(&format!("u{i}"), &format!("u{i}@x.com"), "T"));
        lines.push(member("g1", &format!("u{i}")));
    }
    let plan = env.run(&lines, Options::default());
    // 1 group + 5 users + ceil(5 / 2) membership batches
    assert_eq!(plan.summary.unwrap().planned_writes, 1 + 5 + 3);
    let run = env.apply(&lines);
    assert_eq!(run.summary.unwrap().failed(), 0);
    assert_eq!(env.fake.edge_count(), 5);
}

#[test]
fn two_source_users_never_share_one_account_made_in_the_same_run() {
    let env = Env::new();
    // u1 is created; u2 then finds that account by its email: it is u1's, not u2's to adopt
    let run = env.run(
        &[
            user("u1", "ann@x.com", "Engineer"),
            user("u2", "ann@x.com", "Manager"),
        ],
        Options {
            workers: 1,
            ..apply()
        },
    );
    assert_eq!(run.op_status("u1"), pair("create", "ok"));
    let u2 = &run.of("u2")["data"];
    assert_eq!(u2["status"], "failed", "{u2:#}");
    assert!(
        u2["error"]["message"]
            .as_str()
            .unwrap()
            .contains("two source users claim one account"),
        "{u2:#}"
    );
    assert_eq!(env.fake.count("user"), 1);
}
