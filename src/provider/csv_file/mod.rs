//! A CSV staging file as a [`Source`]: one user per row, the groups named in a `groups`
//! column, custom columns typed by their header (`age:integer`). The format is our proposal
//! (`shared/reference/stormpath-export.md` §4.3, refined in docs/csv-source.md).
//!
//! Why it is shaped so:
//! - The header becomes a checked plan before the first row ([`columns::Plan`]): a wrong
//!   header is one error naming the column, not ten thousand rejected rows.
//! - A bad row is never a crash: [`CsvFile::open`] reads the file once, names every bad row on
//!   stderr with its line number and column (values are never quoted), writes it whole to
//!   `--rejects`, and remembers its position; the export goes on and ends with exit code 3.
//! - Export order is attribute, group, user, membership, but groups come from the rows: the
//!   file is read once to check it and collect group names (a compact index: bad row numbers,
//!   hashes of logins, the names), then once per kind. Memory is flat in the number of rows;
//!   stdin is copied to a private temporary file so it can be read again.
//! - `data` is the row as an object with typed values, keyed by our column names; empty cells
//!   are absent. Record ids are the `id` column, else the login, with `%` and `/` written
//!   `%25` and `%2F` so that edge ids (`<group>/<user>`) split unambiguously.

mod columns;
mod row;
mod seen;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

pub use columns::{BASE_COLUMNS, ColumnType, HASH_COLUMNS, Mapping, Plan, SPECIAL_COLUMNS};
pub use row::{check_mcf, is_email, split_list};

use crate::provider::{ExportOptions, Sink, Source, SourceError};
use crate::record::{Kind, Record, create_private_file};
use columns::Role;
use row::{Problem, RowOptions};

const SOURCE: &str = "csv";

/// Flags of `idm-export --from csv`.
#[derive(Debug, Clone, clap::Args)]
pub struct CsvArgs {
    /// With `--from csv`: the staging file (`-`: stdin).
    #[arg(short = 'i', long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// With `--from csv`: a JSON object that maps the file's headers onto idm's column names,
    /// e.g. {"Mail": "email", "Age": "age:integer"}.
    #[arg(long, value_name = "MAPPING.json", env = "IDM_CSV_COLUMNS")]
    pub columns: Option<PathBuf>,
    /// With `--from csv`: write the header line and every rejected row, whole, to FILE
    /// (created 0600).
    #[arg(long, value_name = "FILE", env = "IDM_REJECTS")]
    pub rejects: Option<PathBuf>,
    /// With `--from csv`: the field delimiter (one character; `tab` for a tab).
    #[arg(long, value_name = "CHAR", default_value = ",", value_parser = parse_delimiter)]
    pub delimiter: u8,
    /// With `--from csv`: what separates names in the `groups` cell and items of list columns
    /// (a backslash makes the next character literal).
    #[arg(long, value_name = "CHAR", default_value = "|", value_parser = parse_separator)]
    pub group_separator: char,
    /// With `--from csv`: export the plaintext `password` column (refused otherwise).
    #[arg(long)]
    pub allow_plaintext_passwords: bool,
    /// With `--from csv`: an empty or absent `login` takes the row's email.
    #[arg(long)]
    pub login_from_email: bool,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    let c = match s {
        "tab" | "\\t" => '\t',
        _ => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => return Err(format!("expected one character, got `{s}`")),
            }
        }
    };
    if !c.is_ascii() || matches!(c, '"' | '\n' | '\r') {
        return Err(format!(
            "`{s}` cannot delimit fields (one ASCII character other than a quote or a line break)"
        ));
    }
    Ok(c as u8)
}

fn parse_separator(s: &str) -> Result<char, String> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some('\\'), None) => Err("the backslash is the escape character".into()),
        (Some(c), None) => Ok(c),
        _ => Err(format!("expected one character, got `{s}`")),
    }
}

/// What shapes the reading of a staging file.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub delimiter: u8,
    pub group_separator: char,
    pub allow_plaintext_passwords: bool,
    pub login_from_email: bool,
    /// Export rows whose status is DEPROVISIONED (and their memberships).
    pub include_deprovisioned: bool,
    pub mapping: Option<Mapping>,
    /// Where rejected rows go, after the header line.
    pub rejects: Option<PathBuf>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            group_separator: '|',
            allow_plaintext_passwords: false,
            login_from_email: false,
            include_deprovisioned: false,
            mapping: None,
            rejects: None,
        }
    }
}

impl CsvArgs {
    /// The options these flags ask for (reads and checks `--columns`).
    pub fn options(&self, include_deprovisioned: bool) -> Result<CsvOptions, CsvError> {
        Ok(CsvOptions {
            delimiter: self.delimiter,
            group_separator: self.group_separator,
            allow_plaintext_passwords: self.allow_plaintext_passwords,
            login_from_email: self.login_from_email,
            include_deprovisioned,
            mapping: self.columns.as_deref().map(Mapping::read).transpose()?,
            rejects: self.rejects.clone(),
        })
    }
}

/// Why a staging file cannot be read. Bad rows are not errors: they are rejected.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("`{name}`: {reason}")]
    Io { name: String, reason: String },
    #[error("`{name}`: header: {reason}")]
    Header { name: String, reason: String },
    #[error("`--columns {}`: {reason}", path.display())]
    Columns { path: PathBuf, reason: String },
    #[error("`{name}`: line {line}: the file changed while it was exported ({reason})")]
    Changed {
        name: String,
        line: u64,
        reason: String,
    },
    #[error("`--rejects {}`: {reason}", path.display())]
    Rejects { path: PathBuf, reason: String },
}

impl From<CsvError> for SourceError {
    fn from(e: CsvError) -> SourceError {
        SourceError::Input(Box::new(e))
    }
}

/// `%` and `/` percent-encoded: an id that can stand on either side of an edge id.
pub fn record_id(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2F")
}

/// Counts for the closing summary.
#[derive(Default)]
struct Counts {
    rows: u64,
    rejected: u64,
    left_out: u64,
    unconvertible_hashes: u64,
    users: u64,
    groups: u64,
    memberships: u64,
    attributes: u64,
}

/// An opened, checked staging file.
pub struct CsvFile {
    /// The file read (a private copy for stdin).
    path: PathBuf,
    /// How messages name it.
    name: String,
    _spool: Option<tempfile::NamedTempFile>,
    opts: CsvOptions,
    plan: Plan,
    /// Data rows (0-based) that are not exported, rejected or left out; ascending.
    excluded: Vec<u64>,
    groups: BTreeSet<String>,
    counts: Counts,
}

impl CsvFile {
    /// Open `input` (`None` or `-`: stdin), check its header, and read it once: every bad row
    /// is named on stderr and written to the rejects file.
    pub fn open(input: Option<&Path>, opts: CsvOptions) -> Result<CsvFile, CsvError> {
        let (path, name, spool) = match input {
            Some(p) if p != Path::new("-") => (p.to_path_buf(), p.display().to_string(), None),
            _ => {
                let spool = spool_stdin()?;
                (
                    spool.path().to_path_buf(),
                    "<stdin>".to_string(),
                    Some(spool),
                )
            }
        };
        let io = |e: &dyn std::fmt::Display| CsvError::Io {
            name: name.clone(),
            reason: e.to_string(),
        };
        let mut reader = open_reader(&path, opts.delimiter).map_err(|e| io(&e))?;
        let mut record = csv::ByteRecord::new();
        if !reader.read_byte_record(&mut record).map_err(|e| io(&e))? {
            return Err(CsvError::Header {
                name,
                reason: "the file is empty; a header row is required".into(),
            });
        }
        let mut headers = Vec::with_capacity(record.len());
        for (i, cell) in cells(&record).into_iter().enumerate() {
            let text = std::str::from_utf8(cell).map_err(|_| CsvError::Header {
                name: name.clone(),
                reason: format!("column {} is not valid UTF-8", i + 1),
            })?;
            headers.push(text.trim().to_string());
        }
        let header_end = reader.position().byte();
        let plan = Plan::new(
            &headers,
            opts.mapping.as_ref(),
            opts.allow_plaintext_passwords,
            opts.login_from_email,
        )
        .map_err(|reason| CsvError::Header {
            name: name.clone(),
            reason,
        })?;
        let mut file = CsvFile {
            path,
            name,
            _spool: spool,
            opts,
            plan,
            excluded: Vec::new(),
            groups: BTreeSet::new(),
            counts: Counts::default(),
        };
        file.check_rows(reader, header_end)?;
        Ok(file)
    }

    fn row_options(&self) -> RowOptions {
        RowOptions {
            group_separator: self.opts.group_separator,
            login_from_email: self.opts.login_from_email,
        }
    }

    /// The first read: reject bad rows, find duplicates, collect group names.
    fn check_rows(
        &mut self,
        mut reader: csv::Reader<File>,
        header_end: u64,
    ) -> Result<(), CsvError> {
        let mut rejects = match &self.opts.rejects {
            Some(p) => Some(RejectsFile::create(p, &self.path, header_end)?),
            None => None,
        };
        let row_opts = self.row_options();
        let mut logins = seen::Seen::default();
        let mut ids = seen::Seen::default();
        let has_id = self.plan.find("id").is_some();
        let mut record = csv::ByteRecord::new();
        let mut index = 0u64;
        loop {
            let more = reader
                .read_byte_record(&mut record)
                .map_err(|e| self.io(&e))?;
            if !more {
                break;
            }
            let cells = cells(&record);
            if is_blank(&cells) {
                continue;
            }
            let (line, start) = record.position().map_or((0, 0), |p| (p.line(), p.byte()));
            let end = reader.position().byte();
            self.counts.rows += 1;
            let outcome = if cells.len() != self.plan.columns.len() {
                Err(vec![Problem {
                    column: None,
                    reason: format!(
                        "{} fields, but the header has {}",
                        cells.len(),
                        self.plan.columns.len()
                    ),
                }])
            } else {
                row::parse(&cells, &self.plan, &row_opts).and_then(|row| {
                    let mut problems = Vec::new();
                    let login_key = row.login.to_lowercase();
                    if let Some(first) = logins.first(&login_key) {
                        problems.push(Problem {
                            column: Some(self.label("login")),
                            reason: format!(
                                "the same login as line {first} (logins are compared case-insensitively)"
                            ),
                        });
                    }
                    if has_id && let Some(first) = ids.first(&row.id) {
                        problems.push(Problem {
                            column: Some(self.label("id")),
                            reason: format!("the same id as line {first}"),
                        });
                    }
                    if !problems.is_empty() {
                        return Err(problems);
                    }
                    logins.insert(&login_key, line);
                    if has_id {
                        ids.insert(&row.id, line);
                    }
                    Ok(row)
                })
            };
            match outcome {
                Err(problems) => {
                    let reasons: Vec<String> = problems.iter().map(Problem::to_string).collect();
                    crate::cli::say(&format!("line {line}: {}", reasons.join("; ")));
                    if let Some(r) = &mut rejects {
                        r.write(start, end)?;
                    }
                    self.counts.rejected += 1;
                    self.excluded.push(index);
                }
                Ok(row) => {
                    let deprovisioned =
                        row.data.get("status").and_then(Value::as_str) == Some("DEPROVISIONED");
                    if deprovisioned && !self.opts.include_deprovisioned {
                        tracing::info!(
                            "line {line}: left out, its status is DEPROVISIONED (`--include-deprovisioned` exports it)"
                        );
                        self.counts.left_out += 1;
                        self.excluded.push(index);
                    } else {
                        if !row.warnings.is_empty() {
                            self.counts.unconvertible_hashes += 1;
                            tracing::warn!("line {line}: {}", row.warnings.join("; "));
                        }
                        self.groups.extend(row.groups);
                    }
                }
            }
            index += 1;
        }
        if let Some(r) = rejects {
            r.finish()?;
        }
        Ok(())
    }

    fn label(&self, name: &str) -> String {
        self.plan
            .find(name)
            .map(|i| self.plan.columns[i].label())
            .unwrap_or_else(|| format!("`{name}`"))
    }

    fn io(&self, e: &dyn std::fmt::Display) -> CsvError {
        CsvError::Io {
            name: self.name.clone(),
            reason: e.to_string(),
        }
    }

    /// Read the file again and hand every exported row to `each`.
    fn each_row(
        &self,
        mut each: impl FnMut(row::Row) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let mut reader = open_reader(&self.path, self.opts.delimiter).map_err(|e| self.io(&e))?;
        let mut record = csv::ByteRecord::new();
        // the header was checked when the file was opened
        reader
            .read_byte_record(&mut record)
            .map_err(|e| self.io(&e))?;
        let row_opts = self.row_options();
        let mut excluded = self.excluded.iter().peekable();
        let mut index = 0u64;
        while reader
            .read_byte_record(&mut record)
            .map_err(|e| self.io(&e))?
        {
            let cells = cells(&record);
            if is_blank(&cells) {
                continue;
            }
            let this = index;
            index += 1;
            if excluded.next_if_eq(&&this).is_some() {
                continue;
            }
            let line = record.position().map_or(0, |p| p.line());
            let changed = |reason: String| CsvError::Changed {
                name: self.name.clone(),
                line,
                reason,
            };
            if cells.len() != self.plan.columns.len() {
                return Err(changed("its number of fields".into()).into());
            }
            let row = row::parse(&cells, &self.plan, &row_opts).map_err(|p| {
                changed(
                    p.iter()
                        .map(Problem::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
            each(row)?;
        }
        if index != self.counts.rows {
            return Err(CsvError::Changed {
                name: self.name.clone(),
                line: 0,
                reason: format!("{index} rows now, {} before", self.counts.rows),
            }
            .into());
        }
        Ok(())
    }

    fn export_attributes(&mut self, sink: &mut dyn Sink) -> Result<(), SourceError> {
        for c in &self.plan.columns {
            if let Role::Custom(ty) = c.role {
                let data = json!({"name": c.name, "type": ty.as_str(), "column": c.header});
                sink.record(Record::new(Kind::Attribute, SOURCE, &c.name, data))?;
                self.counts.attributes += 1;
            }
        }
        Ok(())
    }

    fn export_groups(&mut self, sink: &mut dyn Sink) -> Result<(), SourceError> {
        for name in &self.groups {
            sink.record(Record::new(
                Kind::Group,
                SOURCE,
                record_id(name),
                json!({"name": name}),
            ))?;
            self.counts.groups += 1;
        }
        Ok(())
    }

    fn export_users(&mut self, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let mut n = 0;
        self.each_row(|row| {
            let mut rec = Record::new(
                Kind::User,
                SOURCE,
                record_id(&row.id),
                Value::Object(row.data),
            );
            rec.warnings = row.warnings;
            n += 1;
            sink.record(rec)
        })?;
        self.counts.users += n;
        Ok(())
    }

    fn export_memberships(&mut self, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let mut n = 0;
        self.each_row(|row| {
            let user = record_id(&row.id);
            for group in &row.groups {
                let group = record_id(group);
                sink.record(Record::new(
                    Kind::Membership,
                    SOURCE,
                    format!("{group}/{user}"),
                    json!({"group_id": group, "user_id": user}),
                ))?;
                n += 1;
            }
            Ok(())
        })?;
        self.counts.memberships += n;
        Ok(())
    }
}

impl Source for CsvFile {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn kinds(&self) -> Vec<Kind> {
        vec![Kind::Attribute, Kind::Group, Kind::User, Kind::Membership]
    }

    fn export(
        &mut self,
        kind: &Kind,
        _opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        match kind {
            Kind::Attribute => self.export_attributes(sink),
            Kind::Group => self.export_groups(sink),
            Kind::User => self.export_users(sink),
            Kind::Membership => self.export_memberships(sink),
            other => Err(SourceError::Unsupported("csv", other.to_string())),
        }
    }

    fn summary(&self) -> Vec<String> {
        let c = &self.counts;
        let n = |count: u64, one: &str, many: &str| {
            format!("{count} {}", if count == 1 { one } else { many })
        };
        let mut lines = vec![format!(
            "csv: read {}; exported {}, {}, {}, {}",
            n(c.rows, "row", "rows"),
            n(c.users, "user", "users"),
            n(c.groups, "group", "groups"),
            n(c.memberships, "membership", "memberships"),
            n(c.attributes, "attribute", "attributes"),
        )];
        if c.rejected > 0 {
            lines.push(format!(
                "csv: rejected {} (named above{})",
                n(c.rejected, "row", "rows"),
                match &self.opts.rejects {
                    Some(p) => format!("; written to `{}`", p.display()),
                    None => "; `--rejects FILE` keeps them".into(),
                }
            ));
        }
        if c.left_out > 0 {
            lines.push(format!(
                "csv: left out {} (status DEPROVISIONED; `--include-deprovisioned` exports them)",
                n(c.left_out, "row", "rows")
            ));
        }
        if c.unconvertible_hashes > 0 {
            lines.push(format!(
                "csv: {} a `password_hash` idm cannot convert (created without a password; see the records' warnings)",
                n(c.unconvertible_hashes, "user has", "users have")
            ));
        }
        lines
    }

    fn rejected(&self) -> u64 {
        self.counts.rejected
    }
}

/// Records end at `\n` only: with csv's default (`\r`, `\n` or `\r\n`), a CRLF file puts
/// each record's start on the `\n` before it, one line early. The `\r` of a CRLF line is taken
/// off its last field by [`cells`].
fn open_reader(path: &Path, delimiter: u8) -> std::io::Result<csv::Reader<File>> {
    let file = File::open(path)?;
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024)
        .from_reader(file))
}

/// The fields of a record, the `\r` of a CRLF line ending taken off the last one.
fn cells(record: &csv::ByteRecord) -> Vec<&[u8]> {
    let mut cells: Vec<&[u8]> = record.iter().collect();
    if let Some(last) = cells.last_mut()
        && let Some(stripped) = last.strip_suffix(b"\r")
    {
        *last = stripped;
    }
    cells
}

/// A blank line (csv skips `\n` alone; a CRLF blank line reaches us as one empty field).
fn is_blank(cells: &[&[u8]]) -> bool {
    cells.len() == 1 && cells[0].is_empty()
}

/// Copy stdin to a private temporary file: the file is read once per kind.
fn spool_stdin() -> Result<tempfile::NamedTempFile, CsvError> {
    let fail = |e: std::io::Error| CsvError::Io {
        name: "<stdin>".into(),
        reason: e.to_string(),
    };
    let mut spool = tempfile::NamedTempFile::new().map_err(fail)?;
    std::io::copy(&mut std::io::stdin().lock(), spool.as_file_mut()).map_err(fail)?;
    spool.as_file_mut().flush().map_err(fail)?;
    Ok(spool)
}

/// The rejects file: the header line once, then each rejected row, byte for byte.
struct RejectsFile {
    path: PathBuf,
    out: BufWriter<File>,
    source: File,
    header_end: u64,
    wrote_header: bool,
}

impl RejectsFile {
    fn create(path: &Path, source: &Path, header_end: u64) -> Result<RejectsFile, CsvError> {
        let fail = |e: std::io::Error| CsvError::Rejects {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let out = BufWriter::new(create_private_file(path).map_err(fail)?);
        let source = File::open(source).map_err(fail)?;
        Ok(RejectsFile {
            path: path.to_path_buf(),
            out,
            source,
            header_end,
            wrote_header: false,
        })
    }

    /// Copy bytes `start..end` of the input (a row with its line ending).
    fn write(&mut self, start: u64, end: u64) -> Result<(), CsvError> {
        let fail = |path: &Path, e: std::io::Error| CsvError::Rejects {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        if !self.wrote_header {
            self.wrote_header = true;
            let mut header = self
                .copy(0, self.header_end)
                .map_err(|e| fail(&self.path, e))?;
            // the BOM stays out: the rejects file is read back as UTF-8 either way
            if header.starts_with(b"\xef\xbb\xbf") {
                header.drain(..3);
            }
            self.emit(&header).map_err(|e| fail(&self.path, e))?;
        }
        let row = self.copy(start, end).map_err(|e| fail(&self.path, e))?;
        self.emit(&row).map_err(|e| fail(&self.path, e))
    }

    fn copy(&mut self, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0; end.saturating_sub(start) as usize];
        self.source.seek(SeekFrom::Start(start))?;
        self.source.read_exact(&mut buf)?;
        Ok(buf)
    }

    fn emit(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)?;
        if !bytes.ends_with(b"\n") {
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(), CsvError> {
        self.out.flush().map_err(|e| CsvError::Rejects {
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests;
