//! The state journal across processes: concurrent appends lose no line, a torn tail is
//! ignored and then cut, and replay gives back exactly what was written.
//!
//! Concurrency is tested with real processes: the test binary re-runs itself with
//! `--ignored --exact journal_writer_process` and an environment that turns that ignored test
//! into a writer. The writers start together when the parent writes one byte to each one's
//! stdin, so no sleep is needed to make them overlap.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use idm::journal::{Event, Journal, State};
use proptest::prelude::*;

const WRITER_PATH: &str = "IDM_TEST_JOURNAL_WRITER_PATH";
const WRITER_TAG: &str = "IDM_TEST_JOURNAL_WRITER_TAG";
const WRITER_COUNT: &str = "IDM_TEST_JOURNAL_WRITER_COUNT";

fn event(tag: &str, i: usize) -> Event {
    Event::Map {
        kind: "user".into(),
        source: "okta".into(),
        id: format!("{tag}-{i}"),
        target: "onelogin".into(),
        target_id: format!("{i}"),
        hash: Some(format!("{tag}{i:030}")),
        origin: Some("created".into()),
    }
}

/// The writer half of `concurrent_processes_lose_no_line`: run only as a child process.
#[test]
#[ignore = "run by concurrent_processes_lose_no_line as a child process"]
fn journal_writer_process() {
    let path = std::env::var(WRITER_PATH).expect("run by the parent test only");
    let tag = std::env::var(WRITER_TAG).unwrap();
    let count: usize = std::env::var(WRITER_COUNT).unwrap().parse().unwrap();
    let (journal, _) = Journal::open(Path::new(&path)).unwrap();
    // wait for the start signal
    let mut go = [0u8; 1];
    std::io::stdin().read_exact(&mut go).unwrap();
    let mut i = 0;
    while i < count {
        // vary the shape of writes: single appends, batches, and a check-then-act section
        match i % 3 {
            0 => {
                journal.append(&event(&tag, i)).unwrap();
                i += 1;
            }
            1 => {
                let end = (i + 7).min(count);
                let batch: Vec<Event> = (i..end).map(|j| event(&tag, j)).collect();
                journal.append_all(&batch).unwrap();
                i = end;
            }
            _ => {
                let guard = journal.lock().unwrap();
                let seen = guard.replay().unwrap();
                // everything this writer appended before is visible under the lock
                assert!(
                    seen.mapping("user", "onelogin", "okta", &format!("{tag}-{}", i - 1))
                        .unwrap()
                        .is_some()
                );
                guard.append(&event(&tag, i)).unwrap();
                i += 1;
            }
        }
    }
}

#[test]
fn concurrent_processes_lose_no_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.ndjson");
    const PER_WRITER: usize = 600;
    let tags = ["a", "b", "c"];
    let exe = std::env::current_exe().unwrap();
    let mut children: Vec<_> = tags
        .iter()
        .map(|tag| {
            Command::new(&exe)
                .args([
                    "--ignored",
                    "--exact",
                    "journal::journal_writer_process",
                    "--quiet",
                ])
                .env(WRITER_PATH, &path)
                .env(WRITER_TAG, tag)
                .env(WRITER_COUNT, PER_WRITER.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in &mut children {
        child.stdin.take().unwrap().write_all(b"g").unwrap();
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "writer failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'));
    let mut next: HashMap<String, usize> = HashMap::new();
    let mut lines = 0;
    for line in text.lines() {
        let e: Event = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("torn or mixed line: {err}: {line}"));
        let Event::Map { id, .. } = &e else {
            panic!("unexpected event {e:?}")
        };
        let (tag, i) = id.split_once('-').unwrap();
        let i: usize = i.parse().unwrap();
        let want = next.entry(tag.to_string()).or_default();
        assert_eq!(i, *want, "writer {tag} lines out of order");
        *want += 1;
        lines += 1;
    }
    assert_eq!(lines, PER_WRITER * tags.len());
    for tag in tags {
        assert_eq!(next[tag], PER_WRITER, "writer {tag}");
    }
    let state = Journal::read(&path).unwrap();
    assert_eq!(state.event_count(), (PER_WRITER * tags.len()) as u64);
    assert_eq!(state.mapping_count(), PER_WRITER * tags.len());
}

fn append_raw(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn torn_tail_is_ignored_then_cut_by_the_next_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.ndjson");
    let (journal, _) = Journal::open(&path).unwrap();
    journal.append_all(&[event("a", 0), event("a", 1)]).unwrap();
    drop(journal);
    let good = std::fs::read(&path).unwrap();
    append_raw(
        &path,
        br#"{"ev":"map","kind":"user","source":"okta","id":"a-2","tar"#,
    );

    // readers ignore it
    let state = Journal::read(&path).unwrap();
    assert_eq!(state.event_count(), 2);
    let (journal, state) = Journal::open(&path).unwrap();
    assert_eq!(state.event_count(), 2);
    // the file is untouched until someone writes
    assert!(std::fs::read(&path).unwrap().len() > good.len());

    journal.append(&event("a", 2)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(std::str::from_utf8(&good).unwrap()));
    assert_eq!(text.lines().count(), 3, "{text}");
    for line in text.lines() {
        serde_json::from_str::<Event>(line).unwrap();
    }
    assert_eq!(Journal::read(&path).unwrap().event_count(), 3);
}

#[test]
fn torn_tail_longer_than_a_scan_block_and_a_file_that_is_all_tail() {
    let dir = tempfile::tempdir().unwrap();
    // a torn line of 200 KiB after good lines: the writer scans back over several blocks
    let path = dir.path().join("long.ndjson");
    let (journal, _) = Journal::open(&path).unwrap();
    journal.append(&event("a", 0)).unwrap();
    let torn = format!(
        r#"{{"ev":"map","kind":"user","id":"{}"#,
        "x".repeat(200 * 1024)
    );
    append_raw(&path, torn.as_bytes());
    assert_eq!(Journal::read(&path).unwrap().event_count(), 1);
    journal.append(&event("a", 1)).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    assert_eq!(Journal::read(&path).unwrap().event_count(), 2);

    // a crash during the very first write leaves no newline at all
    let path = dir.path().join("first.ndjson");
    std::fs::write(&path, br#"{"ev":"bookmark","sou"#).unwrap();
    let (journal, state) = Journal::open(&path).unwrap();
    assert_eq!(state, State::default());
    journal.append(&event("a", 0)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with(r#"{"ev":"map""#), "{text}");
}

#[test]
fn a_corrupt_line_that_is_not_the_tail_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.ndjson");
    let (journal, _) = Journal::open(&path).unwrap();
    journal.append(&event("a", 0)).unwrap();
    append_raw(&path, b"{\"ev\":\"map\"}\n");
    journal.append(&event("a", 1)).unwrap();
    let err = Journal::read(&path).unwrap_err().to_string();
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
}

fn text() -> impl Strategy<Value = String> {
    // ids from real systems plus what could break a line: quotes, backslashes, newlines,
    // slashes, non-ASCII
    prop_oneof![
        "[0-9a-zA-Z]{1,20}",
        "[a-z]{1,4}/[a-z]{1,4}",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
        Just("\"\\\n\u{2028}é😀".to_string()),
    ]
}

fn small_set() -> impl Strategy<Value = String> {
    // few distinct values so that later events overwrite earlier ones for the same key
    prop_oneof![Just("okta".to_string()), Just("csv".to_string()), "[a-c]"]
}

fn any_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (
            small_set(),
            small_set(),
            "[a-e]",
            small_set(),
            text(),
            proptest::option::of(text()),
            proptest::option::of(prop_oneof![
                Just("created".to_string()),
                Just("adopted".to_string())
            ])
        )
            .prop_map(
                |(kind, source, id, target, target_id, hash, origin)| Event::Map {
                    kind,
                    source,
                    id,
                    target,
                    target_id,
                    hash,
                    origin
                }
            ),
        (small_set(), text(), proptest::option::of(text())).prop_map(
            |(target, shortname, target_id)| Event::Attr {
                target,
                shortname,
                target_id
            }
        ),
        (
            small_set(),
            small_set(),
            text(),
            small_set(),
            proptest::option::of(text())
        )
            .prop_map(|(kind, source, id, target, target_id)| Event::Edge {
                kind,
                source,
                id,
                target,
                target_id,
            }),
        (small_set(), text()).prop_map(|(source, at)| Event::Bookmark { source, at }),
        (
            small_set(),
            small_set(),
            text(),
            proptest::option::of(text())
        )
            .prop_map(|(side, service, url, tenant_id)| Event::Tenant {
                side,
                service,
                url,
                tenant_id,
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever is appended, in whatever batches, reads back as the same events and folds to
    /// the same state as folding them in memory.
    #[test]
    fn replay_equals_what_was_written(
        events in proptest::collection::vec(any_event(), 0..60),
        batch_sizes in proptest::collection::vec(1usize..6, 1..20),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ndjson");
        let (journal, _) = Journal::open(&path).unwrap();
        let mut rest = &events[..];
        for size in batch_sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at((*size).min(rest.len()));
            if now.len() == 1 {
                journal.append(&now[0]).unwrap();
            } else {
                journal.append_all(now).unwrap();
            }
            rest = later;
        }
        drop(journal);

        let mut expected = State::default();
        for e in &events {
            expected.apply(e.clone()).unwrap();
        }
        let replayed = Journal::read(&path).unwrap();
        prop_assert_eq!(&replayed, &expected);
        let (_, reopened) = Journal::open(&path).unwrap();
        prop_assert_eq!(&reopened, &expected);

        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Event> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        prop_assert_eq!(lines, events);
    }
}
