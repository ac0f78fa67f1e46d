//! Pilot subsets: `idm-export --group NAME` and `--users FILE` write only some people, with the
//! groups, memberships, apps and app assignments that concern them.
//!
//! Why it is shaped so:
//! - **Any source.** The subset is cut from the records an export wrote, not from the APIs, so
//!   Okta, OneLogin, Stormpath and CSV sources all get it, and a subset is exactly what the
//!   whole export would have said about those people. The export reads the whole tenant (the
//!   same read-only calls as a full one) into an anonymous temporary file (0600, unlinked) and
//!   this module reads that file a few times: memory holds the ids of the subset, never the
//!   tenant.
//! - **Who is in.** `--users`: the users whose id, login, email or username is a line of the
//!   file (case-insensitive). `--group`: the members of the groups of that name. Both together:
//!   either. **What comes with them**: their memberships and the groups those name, the app
//!   assignments to them or to those groups, and the apps those name. Custom attribute
//!   definitions and kinds this module does not know pass through whole.
//! - **Nothing silent.** A group name that names no group, or a line of the users file that
//!   matches nobody, is said (by line number, never the login); the tool exits 3.
//! - **A later full run repeats nothing.** The subset's records are the full export's records,
//!   ids included, so the journal knows them when the rest follows. A subset export does not
//!   move the `--since last` bookmark: the people outside it have not been exported.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::record::{Kind, Record, RecordReader, RecordWriter};

/// Who a pilot export is about.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    /// Group names (`--group`, repeatable), as given.
    pub groups: Vec<String>,
    /// The users file (`--users`) and its entries: `(line number, id or login)`.
    pub users: Option<(PathBuf, Vec<(u64, String)>)>,
}

/// Why a subset could not be cut.
#[derive(Debug, thiserror::Error)]
pub enum SubsetError {
    #[error("cannot read the users file `{path}`: {source}")]
    UsersFile { path: PathBuf, source: io::Error },
    #[error("the users file `{0}` names nobody: one id, login or email per line")]
    EmptyUsersFile(PathBuf),
    #[error("reading the exported records back: {0}")]
    Spool(#[source] io::Error),
    #[error("the exported records read back are not records (line {line}): {reason}")]
    Corrupt { line: u64, reason: String },
}

impl Selection {
    /// True when the export is a subset.
    pub fn is_some(&self) -> bool {
        !self.groups.is_empty() || self.users.is_some()
    }

    /// Read `--users FILE`: one entry per line; blank lines and `#` comments are passed over.
    pub fn read_users(path: &Path) -> Result<Vec<(u64, String)>, SubsetError> {
        let err = |source| SubsetError::UsersFile {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(err)?;
        let mut out = Vec::new();
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(err)?;
            let entry = line.trim().trim_start_matches('\u{feff}');
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            out.push((n as u64 + 1, entry.to_lowercase()));
        }
        if out.is_empty() {
            return Err(SubsetError::EmptyUsersFile(path.to_path_buf()));
        }
        Ok(out)
    }
}

/// What a subset came to.
#[derive(Debug, Default)]
pub struct SubsetSummary {
    /// Records written, by kind.
    pub written: BTreeMap<String, u64>,
    /// Records of the whole export, by kind.
    pub read: BTreeMap<String, u64>,
    /// Group names that named no group.
    pub unknown_groups: Vec<String>,
    /// Lines of the users file that matched no user.
    pub unmatched_lines: Vec<u64>,
    /// Users of the pilot left out because an earlier user of the export has their email.
    pub shadowed: Vec<String>,
}

impl SubsetSummary {
    /// Things a person must read: what was asked for and not found.
    pub fn problems(&self, users_file: Option<&Path>) -> Vec<String> {
        let mut out = Vec::new();
        for g in &self.unknown_groups {
            out.push(format!(
                "--group `{g}`: no group of that name in the export"
            ));
        }
        if !self.unmatched_lines.is_empty() {
            let file = users_file.map_or(String::new(), |p| format!("`{}` ", p.display()));
            let lines: Vec<String> = self
                .unmatched_lines
                .iter()
                .take(20)
                .map(u64::to_string)
                .collect();
            out.push(format!(
                "{} line{} of the users file {file}match{} no user: line{} {}{}",
                self.unmatched_lines.len(),
                if self.unmatched_lines.len() == 1 {
                    ""
                } else {
                    "s"
                },
                if self.unmatched_lines.len() == 1 {
                    "es"
                } else {
                    ""
                },
                if self.unmatched_lines.len() == 1 {
                    ""
                } else {
                    "s"
                },
                lines.join(", "),
                if self.unmatched_lines.len() > 20 {
                    ", …"
                } else {
                    ""
                },
            ));
        }
        if !self.shadowed.is_empty() {
            out.push(format!(
                "{} user{} of the pilot left out: an earlier user of the tenant has the same email, and idm-map keeps the first (the whole migration would reject {}): {}",
                self.shadowed.len(),
                if self.shadowed.len() == 1 { "" } else { "s" },
                if self.shadowed.len() == 1 { "it" } else { "them" },
                self.shadowed.join(", ")
            ));
        }
        out
    }

    /// `users: 12 of 3,000, groups: 3 of 25, …`
    pub fn line(&self) -> String {
        let parts: Vec<String> = self
            .read
            .iter()
            .map(|(k, n)| {
                format!(
                    "{k}: {} of {}",
                    crate::cli::status::count(self.written.get(k).copied().unwrap_or(0)),
                    crate::cli::status::count(*n)
                )
            })
            .collect();
        format!("pilot subset written ({})", parts.join(", "))
    }
}

fn str_at<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    data.get(key)
        .or_else(|| data.get("profile").and_then(|p| p.get(key)))
        .and_then(Value::as_str)
}

fn group_name(data: &Value) -> Option<String> {
    str_at(data, "name").map(|n| n.trim().to_lowercase())
}

/// The keys a user is known by: its id, login, email and username, lowercased.
fn user_keys(rec: &Record) -> impl Iterator<Item = String> + '_ {
    std::iter::once(rec.id.to_lowercase()).chain(
        ["login", "email", "username"]
            .into_iter()
            .filter_map(|k| str_at(&rec.data, k))
            .map(|v| v.trim().to_lowercase()),
    )
}

fn email_hash(email: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    email.trim().to_lowercase().hash(&mut h);
    h.finish()
}

fn edge(rec: &Record, key: &str) -> Option<String> {
    rec.data
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Read every record of the spool, in order.
fn each(spool: &mut File, mut f: impl FnMut(Record)) -> Result<(), SubsetError> {
    spool.seek(SeekFrom::Start(0)).map_err(SubsetError::Spool)?;
    let mut reader = RecordReader::new(BufReader::new(&mut *spool));
    while let Some(entry) = reader.next_entry() {
        match entry {
            Ok(e) => f(e.record),
            Err(e) => {
                return Err(SubsetError::Corrupt {
                    line: reader.line(),
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Write to `out` the records of `spool` (a whole export, unmarked) that concern `sel`.
pub fn cut(
    spool: &mut File,
    sel: &Selection,
    out: &mut RecordWriter,
) -> Result<SubsetSummary, SubsetError> {
    let mut summary = SubsetSummary::default();
    let wanted_groups: HashMap<String, &str> = sel
        .groups
        .iter()
        .map(|g| (g.trim().to_lowercase(), g.as_str()))
        .collect();
    // entry → its line numbers (the same login may be listed twice)
    let mut entries: HashMap<&str, Vec<u64>> = HashMap::new();
    if let Some((_, list)) = &sel.users {
        for (line, entry) in list {
            entries.entry(entry.as_str()).or_default().push(*line);
        }
    }

    // 1. the selected groups by name, the listed users by id or login
    let mut selected_groups: HashSet<String> = HashSet::new();
    let mut found_names: HashSet<String> = HashSet::new();
    let mut users: HashSet<String> = HashSet::new();
    let mut matched: HashSet<&str> = HashSet::new();
    // the emails seen so far, hashed (a compact index), and the users whose email an earlier
    // user had: the whole migration rejects them, so a pilot must not migrate them first
    let mut emails: HashSet<u64> = HashSet::new();
    let mut shadowed: HashSet<String> = HashSet::new();
    each(spool, |rec| {
        *summary.read.entry(rec.kind.to_string()).or_default() += 1;
        if rec.kind == Kind::User
            && let Some(email) = str_at(&rec.data, "email")
            && !email.trim().is_empty()
            && !emails.insert(email_hash(email))
        {
            shadowed.insert(rec.id.clone());
        }
        match rec.kind {
            Kind::Group => {
                if let Some(name) = group_name(&rec.data)
                    && wanted_groups.contains_key(&name)
                {
                    selected_groups.insert(rec.id.clone());
                    found_names.insert(name);
                }
            }
            Kind::User if !entries.is_empty() => {
                for key in user_keys(&rec) {
                    if let Some((entry, _)) = entries.get_key_value(key.as_str()) {
                        matched.insert(entry);
                        users.insert(rec.id.clone());
                    }
                }
            }
            _ => {}
        }
    })?;
    summary.unknown_groups = sel
        .groups
        .iter()
        .filter(|g| !found_names.contains(&g.trim().to_lowercase()))
        .cloned()
        .collect();
    let mut unmatched: Vec<u64> = entries
        .iter()
        .filter(|(e, _)| !matched.contains(*e))
        .flat_map(|(_, lines)| lines.iter().copied())
        .collect();
    unmatched.sort_unstable();
    summary.unmatched_lines = unmatched;

    // 2. the members of the selected groups
    if !selected_groups.is_empty() {
        each(spool, |rec| {
            if rec.kind == Kind::Membership
                && edge(&rec, "group_id").is_some_and(|g| selected_groups.contains(&g))
                && let Some(u) = edge(&rec, "user_id")
            {
                users.insert(u);
            }
        })?;
    }

    let mut left_out: Vec<String> = users.intersection(&shadowed).cloned().collect();
    left_out.sort_unstable();
    for id in &left_out {
        users.remove(id);
    }
    summary.shadowed = left_out;

    // 3. what concerns them: their groups, then the apps assigned to them or those groups
    // (one pass: an export writes every membership before the first app assignment)
    let mut groups = selected_groups;
    let mut apps: HashSet<String> = HashSet::new();
    each(spool, |rec| match rec.kind {
        Kind::Membership => {
            if edge(&rec, "user_id").is_some_and(|u| users.contains(&u))
                && let Some(g) = edge(&rec, "group_id")
            {
                groups.insert(g);
            }
        }
        Kind::AppAssignment => {
            let to_them = edge(&rec, "user_id").is_some_and(|u| users.contains(&u))
                || edge(&rec, "group_id").is_some_and(|g| groups.contains(&g));
            if to_them && let Some(a) = edge(&rec, "app_id") {
                apps.insert(a);
            }
        }
        _ => {}
    })?;
    let concerns = |rec: &Record| -> bool {
        edge(rec, "user_id").is_some_and(|u| users.contains(&u))
            || edge(rec, "group_id").is_some_and(|g| groups.contains(&g))
    };

    // 4. write them, in the export's order
    let mut failed = None;
    each(spool, |rec| {
        if failed.is_some() {
            return;
        }
        let keep = match rec.kind {
            Kind::User => users.contains(&rec.id),
            Kind::Group => groups.contains(&rec.id),
            Kind::App => apps.contains(&rec.id),
            Kind::Membership => edge(&rec, "user_id").is_some_and(|u| users.contains(&u)),
            Kind::AppAssignment => concerns(&rec),
            _ => true,
        };
        if keep {
            *summary.written.entry(rec.kind.to_string()).or_default() += 1;
            if let Err(e) = out.write(&rec) {
                failed = Some(e);
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(SubsetError::Spool(e));
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write;

    fn spool(records: &[Record]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        for r in records {
            serde_json::to_writer(&mut f, r).unwrap();
            f.write_all(b"\n").unwrap();
        }
        f
    }

    fn rec(kind: Kind, id: &str, data: Value) -> Record {
        Record::new(kind, "okta", id, data)
    }

    fn tenant() -> Vec<Record> {
        let user = |id: &str, login: &str| {
            rec(
                Kind::User,
                id,
                json!({"profile": {"login": login, "email": login}}),
            )
        };
        let group = |id: &str, name: &str| rec(Kind::Group, id, json!({"profile": {"name": name}}));
        let member = |g: &str, u: &str| {
            rec(
                Kind::Membership,
                &format!("{g}/{u}"),
                json!({"group_id": g, "user_id": u}),
            )
        };
        let assign = |a: &str, key: &str, to: &str| {
            rec(
                Kind::AppAssignment,
                &format!("{a}/{to}"),
                json!({"app_id": a, key: to}),
            )
        };
        vec![
            rec(Kind::Attribute, "cost_center", json!({"title": "Cost"})),
            group("g1", "Sales"),
            group("g2", "Engineering"),
            group("g3", "Finance"),
            user("u1", "ann@x.io"),
            user("u2", "bob@x.io"),
            user("u3", "cy@x.io"),
            user("u4", "ANN@x.io"),
            member("g1", "u1"),
            member("g1", "u4"),
            member("g2", "u1"),
            member("g2", "u2"),
            member("g3", "u3"),
            rec(Kind::App, "a1", json!({"label": "Wiki"})),
            rec(Kind::App, "a2", json!({"label": "Ledger"})),
            rec(Kind::App, "a3", json!({"label": "Chat"})),
            assign("a1", "group_id", "g2"),
            assign("a2", "group_id", "g3"),
            assign("a3", "user_id", "u1"),
            assign("a3", "user_id", "u3"),
        ]
    }

    fn ids(sel: &Selection) -> (Vec<String>, SubsetSummary) {
        let mut f = spool(&tenant());
        let out_file = tempfile::NamedTempFile::new().unwrap();
        let mut out = RecordWriter::create(Some(out_file.path())).unwrap();
        let summary = cut(&mut f, sel, &mut out).unwrap();
        out.finish().unwrap();
        let text = std::fs::read_to_string(out_file.path()).unwrap();
        let ids = text
            .lines()
            .map(|l| {
                let r: Record = serde_json::from_str(l).unwrap();
                format!("{}:{}", r.kind, r.id)
            })
            .collect();
        (ids, summary)
    }

    #[test]
    fn a_group_brings_its_members_their_other_groups_and_their_apps() {
        let sel = Selection {
            groups: vec!["sales".into()],
            users: None,
        };
        let (got, summary) = ids(&sel);
        assert_eq!(
            got,
            [
                "attribute:cost_center",
                "group:g1",
                "group:g2",
                "user:u1",
                "membership:g1/u1",
                "membership:g2/u1",
                "app:a1",
                "app:a3",
                "app_assignment:a1/g2",
                "app_assignment:a3/u1",
            ]
        );
        // u4 is in Sales too, but ann@x.io was u1's first: the whole run would reject u4
        assert_eq!(summary.shadowed, ["u4"]);
        assert_eq!(
            summary.problems(None),
            [
                "1 user of the pilot left out: an earlier user of the tenant has the same email, and idm-map keeps the first (the whole migration would reject it): u4"
            ]
        );
        assert_eq!(summary.written["user"], 1);
        assert_eq!(summary.read["user"], 4);
    }

    #[test]
    fn users_are_matched_by_login_or_id_and_misses_are_named_by_line() {
        let sel = Selection {
            groups: vec!["Nope".into()],
            users: Some((
                "pilot.txt".into(),
                vec![
                    (1, "u3".into()),
                    (2, "bob@x.io".into()),
                    (4, "zed@x.io".into()),
                ],
            )),
        };
        let (got, summary) = ids(&sel);
        let users: Vec<&String> = got.iter().filter(|i| i.starts_with("user:")).collect();
        assert_eq!(users, ["user:u2", "user:u3"]);
        // bob is in Engineering, which has Wiki; cy in Finance (Ledger) and has Chat himself
        for want in ["app:a1", "app:a2", "app:a3", "app_assignment:a3/u3"] {
            assert!(got.contains(&want.to_string()), "{want}: {got:?}");
        }
        assert!(!got.contains(&"app_assignment:a3/u1".to_string()));
        assert!(!got.contains(&"membership:g1/u1".to_string()));
        let problems = summary.problems(Some(Path::new("pilot.txt")));
        assert_eq!(
            problems,
            [
                "--group `Nope`: no group of that name in the export",
                "1 line of the users file `pilot.txt` matches no user: line 4",
            ]
        );
        assert!(!problems.iter().any(|p| p.contains("zed")));
    }
}
