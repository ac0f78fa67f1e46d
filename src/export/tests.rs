//! Export ordering, snapshots and flags over a fake source.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::*;

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);
impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
impl Shared {
    fn records(&self) -> Vec<Record> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Emits two records per kind, names each call, may fail on one kind.
struct Fake {
    calls: Vec<Kind>,
    fail_on: Option<Kind>,
    only: Vec<Kind>,
    skew: time::Duration,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            calls: Vec::new(),
            fail_on: None,
            only: ORDER.to_vec(),
            skew: time::Duration::ZERO,
        }
    }
}

impl Source for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn kinds(&self) -> Vec<Kind> {
        self.only.clone()
    }
    fn export(
        &mut self,
        kind: &Kind,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        self.calls.push(kind.clone());
        for i in 0..2 {
            sink.record(Record::new(
                kind.clone(),
                "fake",
                format!("{kind}-{i}"),
                json!({"n": i, "since": opts.since}),
            ))?;
        }
        sink.parents(1, 1);
        if self.fail_on.as_ref() == Some(kind) {
            return Err(SourceError::Invalid("boom".into()));
        }
        Ok(())
    }
    fn clock_skew(&self) -> time::Duration {
        self.skew
    }
}

#[test]
fn kinds_are_exported_in_the_fixed_order_whatever_was_asked() {
    let kinds = parse_objects("app_assignments,users,schema,groups").unwrap();
    assert_eq!(
        kinds,
        vec![
            Kind::Attribute,
            Kind::Group,
            Kind::User,
            Kind::AppAssignment
        ]
    );
    let mut fake = Fake::new();
    let buf = Shared::default();
    let mut out = RecordWriter::from_writer(buf.clone());
    let summary = export(
        &mut fake,
        &kinds,
        &ExportOptions::default(),
        &mut out,
        None,
        false,
    )
    .unwrap();
    out.finish().unwrap();
    assert_eq!(fake.calls, kinds);
    let ids: Vec<String> = buf.records().into_iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        [
            "attribute-0",
            "attribute-1",
            "group-0",
            "group-1",
            "user-0",
            "user-1",
            "app_assignment-0",
            "app_assignment-1"
        ]
    );
    assert_eq!(summary.count(&Kind::User), 2);
    assert_eq!(summary.count(&Kind::App), 0);
}

#[test]
fn all_kinds_by_default_order() {
    assert_eq!(parse_objects("all").unwrap(), ORDER.to_vec());
    assert_eq!(
        parse_objects("users,groups,memberships,apps,app_assignments,schema").unwrap(),
        ORDER.to_vec()
    );
    assert_eq!(
        parse_objects("user, user ,USERS").unwrap(),
        vec![Kind::User]
    );
    let err = parse_objects("users,roles").unwrap_err();
    assert!(err.contains("`roles`"), "{err}");
    assert!(parse_objects(" , ").is_err());
}

#[test]
fn since_accepts_rfc3339_dates_and_last() {
    assert_eq!(parse_since("last").unwrap(), Since::Last);
    assert_eq!(
        parse_since("2026-01-01T00:00:00Z").unwrap(),
        Since::At("2026-01-01T00:00:00.000Z".into())
    );
    assert_eq!(
        parse_since("2026-01-01T02:30:00.5+02:00").unwrap(),
        Since::At("2026-01-01T00:30:00.500Z".into())
    );
    assert_eq!(
        parse_since("2026-03-04").unwrap(),
        Since::At("2026-03-04T00:00:00.000Z".into())
    );
    let err = parse_since("yesterday").unwrap_err();
    assert!(err.contains("`yesterday`"), "{err}");
    assert!(parse_since("2026-13-01T00:00:00Z").is_err());
}

#[test]
fn snapshots_are_private_per_kind_files_with_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snaps");
    let mut fake = Fake::new();
    let buf = Shared::default();
    let mut out = RecordWriter::from_writer(buf.clone());
    let kinds = vec![Kind::Group, Kind::User];
    let summary = export(
        &mut fake,
        &kinds,
        &ExportOptions::default(),
        &mut out,
        Some(&snap),
        false,
    )
    .unwrap();
    out.finish().unwrap();
    assert_eq!(summary.snapshots.len(), 2);
    for (path, kind) in summary.snapshots.iter().zip(["group", "user"]) {
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(&format!("fake_{kind}_")), "{name}");
        assert!(name.ends_with("Z.ndjson"), "{name}");
        let text = std::fs::read_to_string(path).unwrap();
        let ids: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<Record>(l).unwrap().id)
            .collect();
        assert_eq!(ids, [format!("{kind}-0"), format!("{kind}-1")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
    }
}

#[test]
fn a_failing_kind_stops_the_export_with_its_name() {
    let mut fake = Fake::new();
    fake.fail_on = Some(Kind::User);
    let mut out = RecordWriter::from_writer(Shared::default());
    let err = export(
        &mut fake,
        &ORDER,
        &ExportOptions::default(),
        &mut out,
        None,
        false,
    )
    .unwrap_err();
    assert_eq!(
        format!("{:#}", anyhow::Error::from(err)),
        "exporting users: boom"
    );
    // nothing after the failing kind was asked for
    assert_eq!(fake.calls, vec![Kind::Attribute, Kind::Group, Kind::User]);
}

#[test]
fn kinds_the_source_cannot_export_are_refused_up_front() {
    let mut fake = Fake::new();
    fake.only = vec![Kind::User];
    let mut out = RecordWriter::from_writer(Shared::default());
    let err = export(
        &mut fake,
        &[Kind::User, Kind::App],
        &ExportOptions::default(),
        &mut out,
        None,
        false,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "fake cannot export `app`");
    assert!(fake.calls.is_empty());
}

#[test]
fn the_bookmark_is_the_start_on_the_sources_clock() {
    let mut fake = Fake::new();
    fake.skew = time::Duration::hours(-2);
    let mut out = RecordWriter::from_writer(Shared::default());
    let before = OffsetDateTime::now_utc() - time::Duration::hours(2);
    let summary = export(
        &mut fake,
        &[Kind::User],
        &ExportOptions::default(),
        &mut out,
        None,
        false,
    )
    .unwrap();
    let after = OffsetDateTime::now_utc() - time::Duration::hours(2);
    let started = OffsetDateTime::parse(&summary.started, &Rfc3339).unwrap();
    assert!(
        started >= before - time::Duration::milliseconds(1) && started <= after,
        "{}",
        summary.started
    );
    assert!(summary.started.ends_with('Z'));
    assert!(bookmarks(&ORDER));
    assert!(!bookmarks(&[Kind::User, Kind::App]));
}

#[test]
fn okta_time_format() {
    let t = OffsetDateTime::parse("2013-07-02T21:36:25.344Z", &Rfc3339).unwrap();
    assert_eq!(format_time(t), "2013-07-02T21:36:25.344Z");
    assert_eq!(file_stamp(t), "20130702T213625Z");
}

/// An "okta" source whose second user misses `status` and `profile`.
struct Messy;

impl Source for Messy {
    fn name(&self) -> &'static str {
        "okta"
    }
    fn kinds(&self) -> Vec<Kind> {
        vec![Kind::User]
    }
    fn export(
        &mut self,
        _: &Kind,
        _: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        let good = json!({"id": "00u1", "status": "ACTIVE", "profile": {"login": "a@x.test"}});
        sink.record(Record::new(Kind::User, "okta", "00u1", good))?;
        sink.record(Record::new(
            Kind::User,
            "okta",
            "00u2",
            json!({"id": "00u2"}),
        ))
    }
}

#[test]
fn records_that_do_not_match_their_schema_are_written_with_a_warning() {
    let buf = Shared::default();
    let mut out = RecordWriter::from_writer(buf.clone());
    let summary = export(
        &mut Messy,
        &[Kind::User],
        &ExportOptions::default(),
        &mut out,
        None,
        false,
    )
    .unwrap();
    out.finish().unwrap();
    assert_eq!(summary.invalid, 1);
    let recs = buf.records();
    assert_eq!(recs.len(), 2);
    assert!(recs[0].warnings.is_empty());
    assert_eq!(recs[1].data, json!({"id": "00u2"}));
    assert_eq!(recs[1].warnings.len(), 1);
    assert!(
        recs[1].warnings[0].contains("okta/user.schema.json"),
        "{:?}",
        recs[1].warnings
    );
}

#[test]
fn the_summary_line_says_what_was_exported_in_export_order() {
    let mut counts = BTreeMap::new();
    counts.insert("user".to_string(), 20_000);
    counts.insert("group".to_string(), 1);
    counts.insert("app_assignment".to_string(), 0);
    let summary = Summary {
        counts,
        started: String::new(),
        snapshots: Vec::new(),
        invalid: 0,
    };
    assert_eq!(
        summary.line(),
        "exported 20,001 records (1 group, 20,000 users, 0 app assignments)"
    );
    let invalid = Summary {
        invalid: 3,
        ..summary
    };
    assert!(
        invalid
            .line()
            .ends_with(", 3 not matching their schema (each carries a warning)")
    );
}
