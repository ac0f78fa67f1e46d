//! idm-csv: the OneLogin bulk user upload CSV, written from mapped records.
//!
//! For large tenants the API route is slow (5,000 calls an hour); OneLogin's admin console can
//! import users from a CSV instead. The file's header is the template's base columns
//! ([`BASE_COLUMNS`]) followed by one column per custom attribute, named by its shortname and
//! sorted. The custom attribute set is only known once every user has been seen, so the tool
//! works in two passes:
//!
//! 1. [`spool`] reads the stream once. Each user is checked and turned into cells right away
//!    (so a user that cannot be represented is rejected with its line number), and the cells
//!    go to an anonymous temporary file (created 0600 and already unlinked, so it disappears on
//!    every exit path, `kill -9` included). Group names and memberships go to the
//!    [`roles`] index; the custom attribute and left-out field names are collected.
//! 2. [`Spool::write`] writes the header and replays the spooled users, filling `role` from the
//!    memberships, in input order.
//!
//! Memory is bounded: one user at a time, the group table, the attribute names, and the
//! membership index described in [`roles`].
//!
//! What is written (see docs/csv.md): cells are the payload's values as text (`true`/`false`
//! for booleans, numbers as JSON writes them, empty for null or missing); `role` is the user's
//! role names sorted and joined by [`ROLE_SEPARATOR`] (an assumption: the format's separator
//! is not documented); `status` is the payload's numeric OneLogin status; `group` and `delete`
//! are left empty. Payload fields the template has no column for are counted and reported
//! (or, with `extra_columns`, added as columns after the custom attributes).

mod roles;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use serde_json::Value;

use crate::record::{Kind, Record, RecordReader, Rejects};
pub use roles::{RoleIndex, RoleLookup};

/// The template's columns before the custom attributes, in the template's order.
pub const BASE_COLUMNS: [&str; 13] = [
    "firstname",
    "lastname",
    "email",
    "username",
    "phone",
    "company",
    "department",
    "group",
    "role",
    "password",
    "title",
    "status",
    "delete",
];

/// The longest cell written, in characters: a spreadsheet's cell limit (Excel: 32,767).
/// OneLogin's own field limits are not documented; a longer value is rejected, not cut.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Joins several role names in the `role` cell.
pub const ROLE_SEPARATOR: char = ';';

/// Payload fields the template has a column for (`password_confirmation` repeats `password`).
const CARRIED: [&str; 12] = [
    "firstname",
    "lastname",
    "email",
    "username",
    "phone",
    "company",
    "department",
    "password",
    "password_confirmation",
    "title",
    "status",
    "custom_attributes",
];

const ROLE_COLUMN: usize = 8;

/// First characters that make a spreadsheet treat a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// How the CSV is written.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Prefix cells that a spreadsheet would run as formulas with `'`.
    pub excel_safe: bool,
    /// Add payload fields the template has no column for as extra columns at the end.
    pub extra_columns: bool,
    /// Memberships held in memory before a sorted run is spilled (0: the default).
    pub chunk_entries: usize,
}

/// Errors that stop the run (bad records are rejects, not errors).
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("reading input")]
    Input(#[source] io::Error),
    #[error("temporary spool file")]
    Spool(#[source] io::Error),
    #[error("writing the csv")]
    Output(#[source] io::Error),
    #[error("writing rejects")]
    Rejects(#[source] io::Error),
}

impl CsvError {
    /// The underlying I/O error (a closed stdout is a broken pipe, which is not a failure).
    pub fn io(&self) -> &io::Error {
        match self {
            CsvError::Input(e)
            | CsvError::Spool(e)
            | CsvError::Output(e)
            | CsvError::Rejects(e) => e,
        }
    }
}

fn output_err(e: csv::Error) -> CsvError {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => CsvError::Output(e),
        other => CsvError::Output(io::Error::other(format!("{other:?}"))),
    }
}

/// What a run did, for the summary on stderr.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// User records read.
    pub users: u64,
    /// Rows written (users minus rejected users).
    pub rows: u64,
    /// Users rejected.
    pub rejected_users: u64,
    /// Membership records rejected (their group has no usable name).
    pub rejected_memberships: u64,
    /// Other records rejected (bad lines, groups without a usable name, bad memberships).
    pub rejected_other: u64,
    /// Distinct memberships in the stream, and those whose user was not in it (or was
    /// rejected before the lookup).
    pub memberships: u64,
    pub memberships_without_user: u64,
    /// Cells that start like a formula, per column.
    pub formula_cells: BTreeMap<String, u64>,
    /// Payload fields with no column (and not added), with how many users have them.
    pub left_out: BTreeMap<String, u64>,
    /// Records of kinds the CSV does not hold, per kind.
    pub ignored: BTreeMap<String, u64>,
}

impl Summary {
    /// Rejected lines of every kind.
    pub fn rejected(&self) -> u64 {
        self.rejected_users + self.rejected_memberships + self.rejected_other
    }

    /// The lines a person should read at the end of a run.
    pub fn lines(&self, excel_safe: bool) -> Vec<String> {
        let mut out = Vec::new();
        if !self.formula_cells.is_empty() {
            let total: u64 = self.formula_cells.values().sum();
            let cols = counts(&self.formula_cells);
            if excel_safe {
                out.push(format!(
                    "{total} cells started with `=`, `+`, `-`, `@`, tab or CR and were prefixed with `'` ({cols})"
                ));
            } else {
                out.push(format!(
                    "{total} cells start with `=`, `+`, `-`, `@`, tab or CR and a spreadsheet would run them as formulas ({cols}): use --excel-safe if the file will be opened in a spreadsheet"
                ));
            }
        }
        if !self.left_out.is_empty() {
            out.push(format!(
                "the bulk csv template has no column for {}: left out (add them with --extra-columns, or load users with idm-load)",
                counts(&self.left_out)
            ));
        }
        if self.memberships_without_user > 0 {
            out.push(format!(
                "{} memberships name users that are not rows of the csv",
                self.memberships_without_user
            ));
        }
        if !self.ignored.is_empty() {
            out.push(format!(
                "ignored records the bulk csv does not hold: {}",
                counts(&self.ignored)
            ));
        }
        out.push(format!(
            "wrote {} rows ({} users read, {} rejected users, {} rejected memberships, {} other rejected lines)",
            crate::cli::status::count(self.rows),
            crate::cli::status::count(self.users),
            crate::cli::status::count(self.rejected_users),
            crate::cli::status::count(self.rejected_memberships),
            crate::cli::status::count(self.rejected_other)
        ));
        out
    }
}

fn counts(map: &BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(k, n)| format!("`{k}` {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The stream after the first pass: users as cells in a temporary file, and what the header
/// needs.
pub struct Spool {
    file: File,
    custom: BTreeSet<String>,
    extra: BTreeMap<String, u64>,
    roles: RoleLookup,
    options: Options,
    summary: Summary,
}

const TAG_USER: u8 = b'U';
const TAG_MEMBERSHIP: u8 = b'M';

/// Pass 1: read every record, reject what cannot be represented, spool the rest.
pub fn spool<R: BufRead>(
    reader: &mut RecordReader<R>,
    rejects: &mut Rejects,
    options: &Options,
) -> Result<Spool, CsvError> {
    let file = tempfile::tempfile().map_err(CsvError::Spool)?;
    let mut out = SpoolWriter(BufWriter::with_capacity(
        256 * 1024,
        file.try_clone().map_err(CsvError::Spool)?,
    ));
    let mut roles = if options.chunk_entries > 0 {
        RoleIndex::with_chunk_limit(options.chunk_entries)
    } else {
        RoleIndex::default()
    };
    let mut custom = BTreeSet::new();
    let mut extra: BTreeMap<String, u64> = BTreeMap::new();
    let mut summary = Summary::default();
    let bar = crate::cli::progress("reading", None);
    let before = rejects.count();
    loop {
        let entry = match reader.next_good(rejects) {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(e) => return Err(CsvError::Input(e)),
        };
        bar.inc(1);
        let rec = &entry.record;
        let label = rec.label();
        let reject = |rejects: &mut Rejects, reason: &str| {
            rejects
                .reject(entry.line, Some(&label), reader.raw(), reason)
                .map_err(CsvError::Rejects)
        };
        match rec.kind {
            Kind::User => {
                summary.users += 1;
                match user_cells(rec) {
                    Err(reason) => {
                        summary.rejected_users += 1;
                        reject(rejects, &reason)?;
                    }
                    Ok(user) => {
                        custom.extend(user.custom.iter().map(|(k, _)| k.clone()));
                        for (k, _) in &user.extra {
                            *extra.entry(k.clone()).or_default() += 1;
                        }
                        out.user(entry.line, &label, &user)
                            .map_err(CsvError::Spool)?;
                    }
                }
            }
            Kind::Group => match group_name(rec) {
                Ok(name) => roles.set_group(&key(&rec.source, &rec.id), name),
                Err(reason) => {
                    summary.rejected_other += 1;
                    reject(rejects, &reason)?;
                }
            },
            Kind::Membership => match membership_ends(rec) {
                Ok((group, user)) => {
                    let group_key = key(&rec.source, &group);
                    roles
                        .add_membership(&key(&rec.source, &user), &group_key)
                        .map_err(CsvError::Spool)?;
                    out.membership(entry.line, &label, &group_key, reader.raw())
                        .map_err(CsvError::Spool)?;
                }
                Err(reason) => {
                    summary.rejected_other += 1;
                    reject(rejects, &reason)?;
                }
            },
            ref other => *summary.ignored.entry(other.to_string()).or_default() += 1,
        }
    }
    bar.finish_and_clear();
    // lines that were not records at all
    summary.rejected_other +=
        rejects.count() - before - summary.rejected_users - summary.rejected_other;
    out.0
        .into_inner()
        .map_err(|e| CsvError::Spool(e.into_error()))?;
    let roles = roles.finish().map_err(CsvError::Spool)?;
    // fields without a column are reported; with extra columns, only those named like a
    // custom attribute (whose column the custom attribute keeps) are still left out
    summary.left_out = extra
        .iter()
        .filter(|(k, _)| !options.extra_columns || custom.contains(*k))
        .map(|(k, n)| (k.clone(), *n))
        .collect();
    Ok(Spool {
        file,
        custom,
        extra,
        roles,
        options: options.clone(),
        summary,
    })
}

impl Spool {
    /// The custom attribute shortnames the users have, sorted: the columns after the base ones.
    pub fn custom_attributes(&self) -> &BTreeSet<String> {
        &self.custom
    }

    /// The header row.
    pub fn columns(&self) -> Vec<String> {
        let mut cols: Vec<String> = BASE_COLUMNS.iter().map(|c| c.to_string()).collect();
        cols.extend(self.custom.iter().cloned());
        cols.extend(self.extra_columns().cloned());
        cols
    }

    fn extra_columns(&self) -> impl Iterator<Item = &String> {
        self.extra
            .keys()
            .filter(|k| self.options.extra_columns && !self.custom.contains(*k))
    }

    /// Pass 2: write the header and one row per spooled user, in input order. Memberships of
    /// groups without a usable name are rejected here (all groups are known by now).
    pub fn write<W: Write>(mut self, out: W, rejects: &mut Rejects) -> Result<Summary, CsvError> {
        let columns = self.columns();
        let first_extra = BASE_COLUMNS.len() + self.custom.len();
        let positions = |range: std::ops::Range<usize>| -> BTreeMap<&str, usize> {
            range.map(|i| (columns[i].as_str(), i)).collect()
        };
        let custom_pos = positions(BASE_COLUMNS.len()..first_extra);
        let extra_pos = positions(first_extra..columns.len());
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        csv.write_record(&columns).map_err(output_err)?;
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(CsvError::Spool)?;
        let mut input = SpoolReader(BufReader::with_capacity(256 * 1024, &self.file));
        let mut row: Vec<String> = vec![String::new(); columns.len()];
        let mut role_names = Vec::new();
        let bar = crate::cli::progress("writing", Some(self.summary.users));
        while let Some(tag) = input.tag().map_err(CsvError::Spool)? {
            let line = input.u64().map_err(CsvError::Spool)?;
            let label = input.str().map_err(CsvError::Spool)?;
            if tag == TAG_MEMBERSHIP {
                let group_key = input.str().map_err(CsvError::Spool)?;
                let raw = input.str().map_err(CsvError::Spool)?;
                if !self.roles.group_has_name(&group_key) {
                    self.summary.rejected_memberships += 1;
                    let group = group_key.split_once('\0').map_or("", |(_, g)| g);
                    rejects
                        .reject(
                            line,
                            Some(&label),
                            raw.as_bytes(),
                            &format!("group `{group}` has no group record with a usable name in the stream: no role to write"),
                        )
                        .map_err(CsvError::Rejects)?;
                }
                continue;
            }
            let user = input.user().map_err(CsvError::Spool)?;
            bar.inc(1);
            for cell in row.iter_mut() {
                cell.clear();
            }
            for (i, v) in user.base.into_iter().enumerate() {
                row[i] = v;
            }
            self.roles
                .roles_of(&user.key, &mut role_names)
                .map_err(CsvError::Spool)?;
            row[ROLE_COLUMN] = role_names.join(&ROLE_SEPARATOR.to_string());
            for (k, v) in user.custom {
                if let Some(&i) = custom_pos.get(k.as_str()) {
                    row[i] = v;
                }
            }
            // a payload field named like a custom attribute (`state`) has no column of its own
            for (k, v) in user.extra {
                if let Some(&i) = extra_pos.get(k.as_str()) {
                    row[i] = v;
                }
            }
            for (i, cell) in row.iter_mut().enumerate() {
                if cell.starts_with(FORMULA_STARTS) {
                    *self
                        .summary
                        .formula_cells
                        .entry(columns[i].clone())
                        .or_default() += 1;
                    tracing::info!(
                        "line {line} ({label}): `{}` starts like a formula",
                        columns[i]
                    );
                    if self.options.excel_safe {
                        cell.insert(0, '\'');
                    }
                }
            }
            csv.write_record(&row).map_err(output_err)?;
            self.summary.rows += 1;
        }
        bar.finish_and_clear();
        csv.flush().map_err(CsvError::Output)?;
        self.summary.memberships = self.roles.total();
        self.summary.memberships_without_user = self.roles.total() - self.roles.used();
        Ok(self.summary)
    }
}

/// The custom attributes in `needed` that the OneLogin tenant does not have.
pub fn missing_attributes(
    client: &crate::provider::onelogin::OneLoginClient,
    needed: &BTreeSet<String>,
) -> anyhow::Result<Vec<String>> {
    if needed.is_empty() {
        return Ok(Vec::new());
    }
    let have: BTreeSet<String> = client
        .list_custom_attributes()
        .map_err(|e| anyhow::anyhow!("checking onelogin custom attributes: {e}"))?
        .into_iter()
        .map(|a| a.shortname)
        .collect();
    Ok(needed.difference(&have).cloned().collect())
}

/// `source` and id joined so two sources in one stream do not mix.
fn key(source: &str, id: &str) -> String {
    format!("{source}\0{id}")
}

/// A user turned into cells.
#[derive(Debug, Default, PartialEq)]
struct UserCells {
    /// `source` + id, to find the memberships.
    key: String,
    /// One cell per base column (`role` is filled in pass 2).
    base: Vec<String>,
    custom: Vec<(String, String)>,
    /// Payload fields without a template column.
    extra: Vec<(String, String)>,
}

fn user_cells(rec: &Record) -> Result<UserCells, String> {
    match rec.target.as_deref() {
        Some("onelogin") => {}
        Some(t) => {
            return Err(format!(
                "user is mapped for `{t}`, not onelogin: run `idm-map --to onelogin` first"
            ));
        }
        None => {
            return Err(
                "user is not mapped (no `target`): run `idm-map --to onelogin` first".into(),
            );
        }
    }
    let Some(data) = rec.data.as_object() else {
        return Err("`data` is not an object".into());
    };
    if data.contains_key("password_algorithm") || data.contains_key("salt") {
        let algo = data
            .get("password_algorithm")
            .and_then(Value::as_str)
            .unwrap_or("salted");
        return Err(format!(
            "field `password` is a `{algo}` hash: the bulk csv takes clear-text passwords only (load this user with idm-load)"
        ));
    }
    let mut base = Vec::with_capacity(BASE_COLUMNS.len());
    for col in BASE_COLUMNS {
        let cell = match col {
            "group" | "role" | "delete" => String::new(),
            _ => cell(col, data.get(col))?,
        };
        base.push(cell);
    }
    let (email, username) = (&base[2], &base[3]);
    if email.trim().is_empty() && username.trim().is_empty() {
        return Err("no `email` and no `username`: onelogin needs one of them".into());
    }
    for (i, value) in [(2, email), (3, username)] {
        if value.contains(['\n', '\r']) {
            return Err(format!(
                "field `{}` contains a line break: a onelogin identifier cannot",
                BASE_COLUMNS[i]
            ));
        }
    }
    let mut custom = Vec::new();
    match data.get("custom_attributes") {
        None | Some(Value::Null) => {}
        Some(Value::Object(attrs)) => {
            for (name, value) in attrs {
                check_column_name(name)?;
                let text = cell(name, Some(value)).map_err(|e| format!("custom attribute {e}"))?;
                custom.push((name.clone(), text));
            }
        }
        Some(_) => return Err("field `custom_attributes` is not an object".into()),
    }
    let mut extra = Vec::new();
    for (name, value) in data.iter().filter(|(k, _)| !CARRIED.contains(&k.as_str())) {
        if value.is_null() {
            continue;
        }
        check_column_name(name)?;
        extra.push((name.clone(), extra_cell(name, value)?));
    }
    Ok(UserCells {
        key: key(&rec.source, &rec.id),
        base,
        custom,
        extra,
    })
}

/// A payload field or custom attribute name must make a usable header.
fn check_column_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(format!(
            "field name `{}` cannot be a csv column name",
            name.escape_debug()
        ));
    }
    if BASE_COLUMNS.contains(&name) {
        return Err(format!(
            "custom attribute `{name}` has the name of a template column: rename it in the mapping"
        ));
    }
    Ok(())
}

/// The text of a scalar value, or why it cannot be a cell.
fn cell(field: &str, value: Option<&Value>) -> Result<String, String> {
    let text = match value {
        None | Some(Value::Null) => return Ok(String::new()),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(_)) => {
            return Err(format!(
                "`{field}` is an array: a bulk csv cell holds text only"
            ));
        }
        Some(Value::Object(_)) => {
            return Err(format!(
                "`{field}` is an object: a bulk csv cell holds text only"
            ));
        }
    };
    check_text(field, text)
}

/// Fields without a template column keep arrays and objects as compact JSON text.
fn extra_cell(field: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::Array(_) | Value::Object(_) => check_text(field, value.to_string()),
        _ => cell(field, Some(value)),
    }
}

fn check_text(field: &str, text: String) -> Result<String, String> {
    if text.contains('\0') {
        return Err(format!("`{field}` contains a NUL character"));
    }
    let chars = text.chars().count();
    if chars > MAX_CELL_CHARS {
        return Err(format!(
            "`{field}` is {chars} characters long, over the {MAX_CELL_CHARS}-character cell limit"
        ));
    }
    Ok(text)
}

/// The role name of a group record, or why it has none usable.
fn group_name(rec: &Record) -> Result<&str, String> {
    let name = rec
        .data
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty());
    let Some(name) = name else {
        return Err(
            "group has no `name` (mapped role payload expected): run `idm-map --to onelogin` first"
                .into(),
        );
    };
    if name.contains(ROLE_SEPARATOR) {
        return Err(format!(
            "role name `{name}` contains `{ROLE_SEPARATOR}`, the separator of the role column"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "role name `{}` contains a control character",
            name.escape_debug()
        ));
    }
    Ok(name)
}

/// `(group id, user id)` of a membership: from `data`, else from the `<group>/<user>` id.
fn membership_ends(rec: &Record) -> Result<(String, String), String> {
    let field = |k: &str| {
        rec.data
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    match (field("group_id"), field("user_id")) {
        (Some(g), Some(u)) => Ok((g, u)),
        _ => match rec.id.split_once('/') {
            Some((g, u)) if !g.is_empty() && !u.is_empty() => Ok((g.to_string(), u.to_string())),
            _ => Err(
                "membership has no `group_id`/`user_id` and its id is not `<group_id>/<user_id>`"
                    .into(),
            ),
        },
    }
}

/// The spool's binary format: a tag byte, then length-prefixed fields.
struct SpoolWriter(BufWriter<File>);

impl SpoolWriter {
    fn str(&mut self, s: &str) -> io::Result<()> {
        self.0.write_all(&(s.len() as u64).to_le_bytes())?;
        self.0.write_all(s.as_bytes())
    }

    fn head(&mut self, tag: u8, line: u64, label: &str) -> io::Result<()> {
        self.0.write_all(&[tag])?;
        self.0.write_all(&line.to_le_bytes())?;
        self.str(label)
    }

    fn pairs(&mut self, pairs: &[(String, String)]) -> io::Result<()> {
        self.0.write_all(&(pairs.len() as u64).to_le_bytes())?;
        for (k, v) in pairs {
            self.str(k)?;
            self.str(v)?;
        }
        Ok(())
    }

    fn user(&mut self, line: u64, label: &str, user: &UserCells) -> io::Result<()> {
        self.head(TAG_USER, line, label)?;
        self.str(&user.key)?;
        for cell in &user.base {
            self.str(cell)?;
        }
        self.pairs(&user.custom)?;
        self.pairs(&user.extra)
    }

    fn membership(
        &mut self,
        line: u64,
        label: &str,
        group_key: &str,
        raw: &[u8],
    ) -> io::Result<()> {
        self.head(TAG_MEMBERSHIP, line, label)?;
        self.str(group_key)?;
        // the reader checked that the line is UTF-8 JSON
        self.str(&String::from_utf8_lossy(raw))
    }
}

struct SpoolReader<R>(R);

impl<R: Read> SpoolReader<R> {
    fn tag(&mut self) -> io::Result<Option<u8>> {
        let mut tag = [0u8; 1];
        match self.0.read_exact(&mut tag) {
            Ok(()) => Ok(Some(tag[0])),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn u64(&mut self) -> io::Result<u64> {
        let mut n = [0u8; 8];
        self.0.read_exact(&mut n)?;
        Ok(u64::from_le_bytes(n))
    }

    fn str(&mut self) -> io::Result<String> {
        let len = self.u64()? as usize;
        let mut bytes = vec![0u8; len];
        self.0.read_exact(&mut bytes)?;
        String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    fn pairs(&mut self) -> io::Result<Vec<(String, String)>> {
        let n = self.u64()?;
        let mut out = Vec::new();
        for _ in 0..n {
            out.push((self.str()?, self.str()?));
        }
        Ok(out)
    }

    fn user(&mut self) -> io::Result<UserCells> {
        let key = self.str()?;
        let mut base = Vec::with_capacity(BASE_COLUMNS.len());
        for _ in BASE_COLUMNS {
            base.push(self.str()?);
        }
        Ok(UserCells {
            key,
            base,
            custom: self.pairs()?,
            extra: self.pairs()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(data: Value) -> Record {
        let mut r = Record::new(Kind::User, "okta", "00u1", data);
        r.target = Some("onelogin".into());
        r
    }

    #[test]
    fn cells_follow_the_template_and_keep_extra_fields() {
        let cells = user_cells(&user(json!({
            "firstname": "Zoë", "lastname": "O'Brien, Jr.", "email": "z@x.io",
            "username": "z", "phone": "+1 555", "status": 1, "state": 1,
            "external_id": "00u1", "custom_attributes": {"b": true, "a": 3.5, "c": null}
        })))
        .unwrap();
        assert_eq!(
            cells.base,
            [
                "Zoë",
                "O'Brien, Jr.",
                "z@x.io",
                "z",
                "+1 555",
                "",
                "",
                "",
                "",
                "",
                "",
                "1",
                ""
            ]
        );
        assert_eq!(
            cells.custom,
            [
                ("b".to_string(), "true".to_string()),
                ("a".into(), "3.5".into()),
                ("c".into(), "".into())
            ]
        );
        assert_eq!(
            cells.extra,
            [
                ("state".to_string(), "1".to_string()),
                ("external_id".into(), "00u1".into())
            ]
        );
    }

    #[test]
    fn unrepresentable_users_say_which_field() {
        let cases = [
            (
                json!({"username": "a\nb", "email": "a@x"}),
                "`username` contains a line break",
            ),
            (json!({"firstname": "x"}), "no `email` and no `username`"),
            (
                json!({"email": "a@x", "title": ["a"]}),
                "`title` is an array",
            ),
            (
                json!({"email": "a@x", "custom_attributes": {"x": {"y": 1}}}),
                "custom attribute `x` is an object",
            ),
            (
                json!({"email": "a@x", "custom_attributes": {"title": "t"}}),
                "custom attribute `title` has the name of a template column",
            ),
            (
                json!({"email": "a@x", "comment": "x".repeat(MAX_CELL_CHARS + 1)}),
                "`comment` is 32768 characters long",
            ),
            (
                json!({"email": "a@x", "password": "ab", "password_algorithm": "salt+sha256"}),
                "`salt+sha256` hash",
            ),
            (json!({"email": "a@x", "lastname": "a\u{0}b"}), "NUL"),
        ];
        for (data, want) in cases {
            let err = user_cells(&user(data.clone())).unwrap_err();
            assert!(err.contains(want), "{data}: {err}");
        }
        let mut unmapped = user(json!({"email": "a@x"}));
        unmapped.target = None;
        assert!(user_cells(&unmapped).unwrap_err().contains("idm-map"));
    }

    #[test]
    fn group_names_with_the_separator_are_refused() {
        let g = |name: &str| Record::new(Kind::Group, "okta", "g", json!({ "name": name }));
        assert_eq!(group_name(&g("Sales")).unwrap(), "Sales");
        assert!(group_name(&g("a;b")).unwrap_err().contains("separator"));
        assert!(group_name(&g(" ")).is_err());
    }

    #[test]
    fn membership_ends_come_from_data_or_id() {
        let m = |id: &str, data: Value| Record::new(Kind::Membership, "okta", id, data);
        assert_eq!(
            membership_ends(&m("x", json!({"group_id": "g", "user_id": "u"}))).unwrap(),
            ("g".to_string(), "u".to_string())
        );
        assert_eq!(
            membership_ends(&m("g2/u2", json!({}))).unwrap(),
            ("g2".to_string(), "u2".to_string())
        );
        assert!(membership_ends(&m("nope", json!({}))).is_err());
    }
}
