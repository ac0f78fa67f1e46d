//! Reading idm-load's input: checking each record and spooling it by phase.
//!
//! Records arrive in any order, but OneLogin needs roles before memberships, users before
//! memberships and apps before role apps. Rather than holding records in memory, every good
//! record is written to one anonymous temporary file per phase (created 0600 and unlinked:
//! nothing is left behind, even after kill -9) and read back phase by phase.
//!
//! A record that cannot be loaded (not mapped for OneLogin, no email and no username, an edge
//! without its ends) is rejected here with its line number and the field at fault, and the
//! rest goes on.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};

use serde_json::Value;

use crate::provider::onelogin::id_of;
use crate::record::{Kind, Record, RecordReader, Rejects};

/// The phases of a load, in apply order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Roles,
    Users,
    Memberships,
    Apps,
    RoleApps,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::Roles,
        Phase::Users,
        Phase::Memberships,
        Phase::Apps,
        Phase::RoleApps,
    ];

    fn of(kind: &Kind) -> Option<Phase> {
        Some(match kind {
            Kind::Group => Phase::Roles,
            Kind::User => Phase::Users,
            Kind::Membership => Phase::Memberships,
            Kind::App => Phase::Apps,
            Kind::AppAssignment => Phase::RoleApps,
            _ => return None,
        })
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The checked input, spooled by phase.
pub struct Spool {
    files: Vec<BufWriter<File>>,
    counts: [u64; 5],
    /// Records of kinds idm-load does not load (`attribute`, `result`, …), ignored.
    pub ignored: u64,
}

/// Which records to take (`--retry-from`): `(kind, source, id)` of the failed ones.
pub type Only = Option<HashSet<(String, String, String)>>;

impl Spool {
    /// Read every record of `reader`: good ones are spooled, bad ones go to `rejects`.
    pub fn read<R: BufRead>(
        mut reader: RecordReader<R>,
        rejects: &mut Rejects,
        only: &Only,
    ) -> io::Result<Spool> {
        let mut files = Vec::with_capacity(5);
        for _ in 0..5 {
            files.push(BufWriter::with_capacity(256 * 1024, tempfile::tempfile()?));
        }
        let mut spool = Spool {
            files,
            counts: [0; 5],
            ignored: 0,
        };
        while let Some(entry) = reader.next_good(rejects)? {
            let rec = &entry.record;
            let Some(phase) = Phase::of(&rec.kind) else {
                spool.ignored += 1;
                continue;
            };
            if let Some(only) = only
                && !only.contains(&(
                    rec.kind.as_str().to_string(),
                    rec.source.clone(),
                    rec.id.clone(),
                ))
            {
                continue;
            }
            if let Err(reason) = check(rec) {
                rejects.reject(entry.line, Some(&rec.label()), reader.raw(), &reason)?;
                continue;
            }
            let out = &mut spool.files[phase.index()];
            out.write_all(reader.raw())?;
            out.write_all(b"\n")?;
            spool.counts[phase.index()] += 1;
        }
        Ok(spool)
    }

    /// How many records the phase has.
    pub fn count(&self, phase: Phase) -> u64 {
        self.counts[phase.index()]
    }

    /// Read the records of `phase` back (each call starts from the beginning).
    pub fn records(&mut self, phase: Phase) -> io::Result<SpoolRecords> {
        let out = &mut self.files[phase.index()];
        out.flush()?;
        let mut file = out.get_ref().try_clone()?;
        file.seek(SeekFrom::Start(0))?;
        Ok(SpoolRecords {
            reader: RecordReader::new(BufReader::with_capacity(256 * 1024, file)),
        })
    }
}

/// The records of one phase, as they were spooled.
pub struct SpoolRecords {
    reader: RecordReader<BufReader<File>>,
}

impl Iterator for SpoolRecords {
    type Item = io::Result<Record>;

    fn next(&mut self) -> Option<io::Result<Record>> {
        // The spool holds lines that parsed once; a failure here is an I/O problem.
        self.reader.next_entry().map(|r| {
            r.map(|e| e.record)
                .map_err(|e| io::Error::other(format!("reading the spool: {e}")))
        })
    }
}

/// Why `rec` cannot be loaded, if it cannot.
pub fn check(rec: &Record) -> Result<(), String> {
    match rec.target.as_deref() {
        Some("onelogin") => {}
        Some(other) => {
            return Err(format!(
                "record is mapped for `{other}`, not `onelogin`: map it with `idm-map --to onelogin`"
            ));
        }
        None => {
            return Err(
                "record is not mapped (no `target`): pipe it through `idm-map --to onelogin`"
                    .into(),
            );
        }
    }
    crate::record::schema::validate_record(rec).map_err(|e| e.to_string())?;
    let data = &rec.data;
    if !data.is_object() {
        return Err("field `data`: expected a JSON object".into());
    }
    match rec.kind {
        Kind::User => {
            if nonempty(data, "email").is_none() && nonempty(data, "username").is_none() {
                return Err("fields `email` and `username`: a user needs at least one".into());
            }
            if let Some(ca) = data.get("custom_attributes")
                && !ca.is_object()
                && !ca.is_null()
            {
                return Err("field `custom_attributes`: expected a JSON object".into());
            }
        }
        Kind::Group => {
            nonempty(data, "name").ok_or("field `name`: a role needs a name")?;
        }
        Kind::App => {
            nonempty(data, "name").ok_or("field `name`: an app needs a name")?;
            data.get("connector_id")
                .and_then(id_of)
                .ok_or("field `connector_id`: an app needs a numeric connector id")?;
        }
        Kind::Membership => {
            membership_ends(rec)
                .ok_or("fields `group_id` and `user_id`: a membership needs both")?;
        }
        Kind::AppAssignment => {
            assignment_ends(rec).ok_or(
                "fields `app_id` and `group_id` or `user_id`: an assignment needs both ends",
            )?;
        }
        _ => {}
    }
    Ok(())
}

fn nonempty<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    data.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The `(group, user)` source ids of a membership (`data`, else the `<group>/<user>` id).
pub fn membership_ends(rec: &Record) -> Option<(String, String)> {
    let from_data = nonempty(&rec.data, "group_id").zip(nonempty(&rec.data, "user_id"));
    match from_data {
        Some((g, u)) => Some((g.to_string(), u.to_string())),
        None => rec
            .id
            .split_once('/')
            .filter(|(g, u)| !g.is_empty() && !u.is_empty())
            .map(|(g, u)| (g.to_string(), u.to_string())),
    }
}

/// Who an app is assigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    Group(String),
    User(String),
}

/// The `(app, assignee)` source ids of an app assignment.
pub fn assignment_ends(rec: &Record) -> Option<(String, Assignee)> {
    let app = nonempty(&rec.data, "app_id")?.to_string();
    if let Some(g) = nonempty(&rec.data, "group_id") {
        return Some((app, Assignee::Group(g.to_string())));
    }
    nonempty(&rec.data, "user_id").map(|u| (app, Assignee::User(u.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(kind: &str, id: &str, data: Value) -> Record {
        let mut r = Record::new(Kind::from(kind), "okta", id, data);
        r.target = Some("onelogin".into());
        r
    }

    #[test]
    fn checks_name_the_field() {
        let no_ident = rec("user", "u1", json!({"firstname": "A"}));
        assert!(check(&no_ident).unwrap_err().contains("email"));
        let ok = rec("user", "u1", json!({"email": "a@x.com", "username": "a"}));
        assert!(check(&ok).is_ok());
        let app = rec("app", "a1", json!({"name": "X"}));
        let err = check(&app).unwrap_err();
        assert!(err.contains("connector_id"), "{err}");
        let mut unmapped = ok.clone();
        unmapped.target = None;
        assert!(check(&unmapped).unwrap_err().contains("idm-map"));
        let group = rec("group", "g1", json!({"name": " "}));
        let err = check(&group).unwrap_err();
        assert!(err.contains("name"), "{err}");
    }

    #[test]
    fn edge_ends_from_data_or_id() {
        let m = rec("membership", "g1/u1", json!({}));
        assert_eq!(membership_ends(&m), Some(("g1".into(), "u1".into())));
        let m = rec(
            "membership",
            "x",
            json!({"group_id": "g2", "user_id": "u2"}),
        );
        assert_eq!(membership_ends(&m), Some(("g2".into(), "u2".into())));
        let a = rec(
            "app_assignment",
            "a/u",
            json!({"app_id": "a", "user_id": "u"}),
        );
        assert_eq!(
            assignment_ends(&a),
            Some(("a".into(), Assignee::User("u".into())))
        );
        let bad = rec("app_assignment", "a/g", json!({"app_id": "a"}));
        assert!(check(&bad).is_err());
    }

    #[test]
    fn spool_sorts_by_phase_and_rejects_bad_lines() {
        let lines = [
            r#"{"kind":"membership","source":"okta","id":"g1/u1","data":{"group_id":"g1","user_id":"u1"},"target":"onelogin"}"#,
            r#"{"kind":"user","source":"okta","id":"u1","data":{"email":"a@x.com","username":"a"},"target":"onelogin"}"#,
            r#"{"kind":"user","source":"okta","id":"u2","data":{"firstname":"B"},"target":"onelogin"}"#,
            r#"{"kind":"attribute","source":"okta","id":"x","data":{"shortname":"x","name":"X"},"target":"onelogin"}"#,
            r#"{"kind":"group","source":"okta","id":"g1","data":{"name":"G"},"target":"onelogin"}"#,
        ]
        .join("\n");
        let mut rejects = Rejects::stderr_only();
        let mut spool =
            Spool::read(RecordReader::new(lines.as_bytes()), &mut rejects, &None).unwrap();
        assert_eq!(rejects.count(), 1);
        assert_eq!(spool.count(Phase::Users), 1);
        assert_eq!(spool.count(Phase::Roles), 1);
        assert_eq!(spool.count(Phase::Memberships), 1);
        assert_eq!(spool.ignored, 1);
        let users: Vec<_> = spool.records(Phase::Users).unwrap().collect();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].as_ref().unwrap().id, "u1");
        // read twice: starts again
        assert_eq!(spool.records(Phase::Users).unwrap().count(), 1);
    }

    #[test]
    fn retry_only_takes_the_listed_records() {
        let lines = [
            r#"{"kind":"user","source":"okta","id":"u1","data":{"email":"a@x.com","username":"a"},"target":"onelogin"}"#,
            r#"{"kind":"user","source":"okta","id":"u2","data":{"email":"b@x.com","username":"b"},"target":"onelogin"}"#,
        ]
        .join("\n");
        let only: Only = Some(HashSet::from([(
            "user".to_string(),
            "okta".to_string(),
            "u2".to_string(),
        )]));
        let mut rejects = Rejects::stderr_only();
        let mut spool =
            Spool::read(RecordReader::new(lines.as_bytes()), &mut rejects, &only).unwrap();
        let ids: Vec<_> = spool
            .records(Phase::Users)
            .unwrap()
            .map(|r| r.unwrap().id)
            .collect();
        assert_eq!(ids, vec!["u2"]);
    }
}
