//! idm-report: one self-contained HTML page about a migration, built from its record files.
//!
//! The page answers what a person asks first: how many of each kind went where, what needs a
//! decision (failures, skips and their reasons, accounts that were already in the target,
//! objects idm-map left out, apps without a connector), how well custom attributes are
//! filled, group sizes, apps by sign-on mode and readiness, time and quota where the files
//! record them, and what idm-verify found.
//!
//! Why it is shaped so:
//! - **Content, not names.** Each line says what it is: an `{"ev":…}` line is a journal event,
//!   a `result` with status `planned` belongs to a plan, a record with `target` is mapped, and
//!   so on ([`scan::Stage`]). Files can be given in any order and under any name.
//! - **Memory flat in the number of users.** [`scan`] folds a million records into counts and
//!   capped tables (`--rows`), and keeps only a hash per mapped object. [`resolve`] reads the
//!   export and mapped files a second time, only when a table needs names it could not know
//!   on the first pass.
//! - **One file, no network.** [`render`] writes the CSS, a small script (sorting and
//!   filtering tables, no framework) and SVG charts inline, so the page works opened from
//!   disk, from an attachment, or printed to PDF.
//! - **People's data, never secrets.** The page names the people whose records need a
//!   decision (that is its job), but sample values and changed fields go through the same
//!   masking as idm-attrs ([`crate::attrs::shown_sample`]), and nothing else of a record's
//!   payload is shown.

pub mod chart;
pub mod render;
pub mod resolve;
pub mod scan;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::record::{ReadError, RecordReader};
use scan::Scan;

/// What the page holds beyond the inputs.
#[derive(Debug, Clone)]
pub struct Options {
    /// At most this many rows per table of single objects; the rest are counted.
    pub rows: usize,
    /// The page's title.
    pub title: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            rows: 100,
            title: "Migration report".into(),
        }
    }
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot open `{path}`: {source}")]
    Open { path: String, source: io::Error },
    #[error("reading `{path}`: {source}")]
    Read { path: String, source: io::Error },
}

/// A finished report: the page and the counts for the summary line.
#[derive(Debug)]
pub struct Report {
    pub html: String,
    pub files: usize,
    pub records: u64,
    pub events: u64,
    pub unreadable: u64,
}

/// Read every input (`None` or `-`: stdin) and build the page. Unreadable lines are reported
/// on stderr as `idm-report: FILE: line N: reason` and listed on the page.
pub fn build(inputs: &[PathBuf], opts: &Options) -> Result<Report, ReportError> {
    let stdin = PathBuf::from("-");
    let inputs: Vec<&Path> = if inputs.is_empty() {
        vec![stdin.as_path()]
    } else {
        inputs.iter().map(PathBuf::as_path).collect()
    };
    // open everything first: a missing file fails before any work
    let mut readers = Vec::with_capacity(inputs.len());
    for path in &inputs {
        readers.push(open(path)?);
    }
    let mut scan = Scan::new(opts.rows.max(1));
    let mut paths: Vec<Option<&Path>> = Vec::with_capacity(inputs.len());
    for (path, reader) in inputs.iter().zip(readers) {
        let is_stdin = *path == Path::new("-");
        let name = if is_stdin {
            "stdin".to_string()
        } else {
            path.display().to_string()
        };
        let rereadable = !is_stdin && std::fs::metadata(path).is_ok_and(|m| m.is_file());
        scan.begin_file(name.clone(), rereadable);
        paths.push((!is_stdin).then_some(*path));
        read_file(&mut scan, reader, &name)?;
    }
    resolve::resolve(&mut scan, &paths)?;
    let html = render::page(&scan, opts);
    Ok(Report {
        html,
        files: scan.files.len(),
        records: scan.total_records(),
        events: scan.total_events(),
        unreadable: scan.total_unreadable(),
    })
}

/// Write the page to `path` (created 0600) or, for `None` or `-`, to stdout.
pub fn write(html: &str, path: Option<&Path>) -> io::Result<()> {
    match path {
        Some(p) if p != Path::new("-") => {
            let mut file = crate::record::create_private_file(p)?;
            file.write_all(html.as_bytes())
                .and_then(|()| file.flush())
                .map_err(|e| io::Error::new(e.kind(), format!("writing `{}`: {e}", p.display())))
        }
        _ => {
            let mut out = io::stdout().lock();
            out.write_all(html.as_bytes())?;
            out.flush()
        }
    }
}

pub(crate) fn open(path: &Path) -> Result<RecordReader<Box<dyn BufRead>>, ReportError> {
    if path == Path::new("-") {
        return Ok(RecordReader::new(Box::new(BufReader::with_capacity(
            256 * 1024,
            io::stdin(),
        ))));
    }
    let file = File::open(path).map_err(|source| ReportError::Open {
        path: path.display().to_string(),
        source,
    })?;
    Ok(RecordReader::new(Box::new(BufReader::with_capacity(
        256 * 1024,
        file,
    ))))
}

fn read_file(
    scan: &mut Scan,
    mut reader: RecordReader<Box<dyn BufRead>>,
    name: &str,
) -> Result<(), ReportError> {
    while let Some(next) = reader.next_entry() {
        match next {
            Ok(entry) => scan.record(entry.line, &entry.record),
            Err(ReadError::Bad { line, raw, reason }) => {
                // not an envelope: a journal event, or a line nothing can read
                match serde_json::from_slice::<Value>(&raw) {
                    Ok(Value::Object(ev)) if ev.get("ev").is_some_and(Value::is_string) => {
                        scan.event(&ev)
                    }
                    _ => {
                        eprintln!("{}: {name}: line {line}: {reason}", crate::cli::tool());
                        scan.bad_line(line, &reason);
                    }
                }
            }
            Err(ReadError::Io(source)) => {
                return Err(ReportError::Read {
                    path: name.to_string(),
                    source,
                });
            }
        }
    }
    scan.verdict(reader.line(), &reader.completeness());
    Ok(())
}

#[cfg(test)]
mod tests;
