//! A streaming NDJSON reader that yields `(line number, record)` with bounded memory.
//!
//! One line is held at a time, in a buffer that is reused, so a 1 GB input costs the same
//! memory as a 1 KB one. A line longer than [`MAX_LINE_BYTES`] is skipped without being held
//! and reported as bad. A line that is not JSON or not an envelope (a kind that is not
//! lowercase, an empty id, `data` that is not an object) is a [`ReadError::Bad`]: the caller
//! reports it (see [`Rejects`]) and goes on; nothing is dropped silently.
//!
//! Stream markers (`kind` `stream`, see [`super::stream`]) are not yielded: the reader checks
//! them and says, at the end, whether the stream was complete ([`RecordReader::completeness`]).

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::Record;
use super::writer::create_private_file;

/// Lines longer than this are rejected rather than read into memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

const READ_BUFFER_BYTES: usize = 256 * 1024;

/// One good record and the line it came from (1-based).
#[derive(Debug, Clone)]
pub struct Entry {
    pub line: u64,
    pub record: Record,
}

/// One line parsed on its own ([`parse_line`]), before the stream markers are followed.
#[derive(Debug)]
pub enum Parsed {
    /// Empty or whitespace: not a record, not an error.
    Blank,
    Record(Record),
    /// Not JSON or not an envelope: why.
    Bad(String),
}

/// Parse one line (without its ending) into a record, checking the envelope.
pub fn parse_line(raw: &[u8]) -> Parsed {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Parsed::Blank;
    }
    let parsed = serde_json::from_slice::<Record>(raw)
        .map_err(|e| describe_parse_error(raw, &e))
        .and_then(|r| check_envelope(&r).map(|()| r));
    match parsed {
        Ok(record) => Parsed::Record(record),
        Err(reason) => Parsed::Bad(reason),
    }
}

/// Room for the last line of a batch, beyond its nominal size, so a typical one needs no
/// reallocation.
const MAX_LINE_HINT: usize = 16 * 1024;

/// Whole lines read ahead and not parsed yet ([`RecordReader::next_batch`]).
#[derive(Debug, Default)]
pub struct Batch {
    bytes: Vec<u8>,
    lines: Vec<BatchLine>,
}

#[derive(Debug, Clone, Copy)]
struct BatchLine {
    number: u64,
    start: usize,
    end: usize,
    too_long: bool,
}

impl Batch {
    /// How many lines it holds.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Line `i` of the batch: its number in the input (1-based), its bytes without the line
    /// ending, and whether it was longer than [`MAX_LINE_BYTES`] (then its bytes are empty:
    /// it was skipped unread).
    pub fn line(&self, i: usize) -> (u64, &[u8], bool) {
        let l = self.lines[i];
        (l.number, &self.bytes[l.start..l.end], l.too_long)
    }

    /// The reason a too-long line is refused, as [`RecordReader::next_entry`] gives it.
    pub fn too_long_reason() -> String {
        format!("line longer than {MAX_LINE_BYTES} bytes")
    }
}

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading input: {0}")]
    Io(#[from] io::Error),
    /// The line is not JSON or not an envelope. `raw` is the line without its newline.
    #[error("line {line}: {reason}")]
    Bad {
        line: u64,
        raw: Vec<u8>,
        reason: String,
    },
}

/// Reads records line by line from any buffered reader.
pub struct RecordReader<R> {
    inner: R,
    line: u64,
    buf: Vec<u8>,
    stream: super::stream::Tracker,
}

/// Open `path` for reading records; `None` or `-` is stdin.
pub fn open_input(path: Option<&Path>) -> io::Result<RecordReader<Box<dyn BufRead>>> {
    let inner: Box<dyn BufRead> = match path {
        None => Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, io::stdin())),
        Some(p) if p == Path::new("-") => {
            Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, io::stdin()))
        }
        Some(p) => {
            let file = File::open(p).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot open `{}`: {e}", p.display()))
            })?;
            Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, file))
        }
    };
    Ok(RecordReader::new(inner))
}

impl<R: BufRead> RecordReader<R> {
    pub fn new(inner: R) -> Self {
        RecordReader {
            inner,
            line: 0,
            buf: Vec::with_capacity(4096),
            stream: super::stream::Tracker::default(),
        }
    }

    /// Whether the stream read so far began with a stream marker (its writer promises an
    /// end marker).
    pub fn is_marked(&self) -> bool {
        self.stream.is_marked()
    }

    /// Whether the stream was whole: call it at the end of the input.
    pub fn completeness(&self) -> super::stream::Completeness {
        self.stream.completeness()
    }

    /// The number of the last line read (1-based; 0 before the first).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The bytes of the last line read, without its line ending. Lets a tool pass a record
    /// through byte for byte, or write a rejected line whole.
    pub fn raw(&self) -> &[u8] {
        &self.buf
    }

    /// The next record, or `None` at the end of the input. Blank lines are skipped.
    pub fn next_entry(&mut self) -> Option<Result<Entry, ReadError>> {
        loop {
            match self.read_line() {
                Err(e) => return Some(Err(ReadError::Io(e))),
                Ok(None) => return None,
                Ok(Some(false)) => {
                    return Some(Err(ReadError::Bad {
                        line: self.line,
                        raw: Vec::new(),
                        reason: Batch::too_long_reason(),
                    }));
                }
                Ok(Some(true)) => {}
            }
            let parsed = match parse_line(&self.buf) {
                Parsed::Blank => continue,
                Parsed::Record(record) => Ok(record),
                Parsed::Bad(reason) => Err(reason),
            };
            let bad = |this: &Self, reason: String| ReadError::Bad {
                line: this.line,
                raw: this.buf.clone(),
                reason,
            };
            return Some(match parsed {
                Ok(record) if record.kind.as_str() == super::stream::KIND => {
                    match self.marker(self.line, &record) {
                        Ok(()) => continue,
                        Err(reason) => Err(bad(self, reason)),
                    }
                }
                Ok(record) => {
                    self.counted();
                    Ok(Entry {
                        line: self.line,
                        record,
                    })
                }
                Err(reason) => {
                    self.counted();
                    Err(bad(self, reason))
                }
            });
        }
    }

    /// A record or a bad line parsed elsewhere ([`parse_line`], in a worker thread) counts
    /// towards its stream, as [`RecordReader::next_entry`] counts what it parses itself.
    /// Call it, and [`RecordReader::marker`], in input order.
    pub fn counted(&mut self) {
        self.stream.record();
    }

    /// A stream marker parsed elsewhere; `Err` says why the line is no marker.
    pub fn marker(&mut self, line: u64, record: &Record) -> Result<(), String> {
        self.stream.marker(line, record)
    }

    /// Up to about `max_bytes` of whole lines, unparsed, for a tool that parses them in
    /// worker threads ([`parse_line`]) and counts them in order ([`RecordReader::counted`]).
    /// `None` at the end of the input.
    pub fn next_batch(&mut self, max_bytes: usize) -> io::Result<Option<Batch>> {
        let mut batch = Batch::default();
        Ok(self.fill_batch(&mut batch, max_bytes)?.then_some(batch))
    }

    /// [`RecordReader::next_batch`] into a batch used before (its memory is reused): `false`
    /// at the end of the input.
    pub fn fill_batch(&mut self, batch: &mut Batch, max_bytes: usize) -> io::Result<bool> {
        batch.bytes.clear();
        batch.lines.clear();
        batch.bytes.reserve(max_bytes + MAX_LINE_HINT);
        while batch.bytes.len() < max_bytes {
            let Some(fits) = self.read_line()? else { break };
            let start = batch.bytes.len();
            batch.bytes.extend_from_slice(&self.buf);
            batch.lines.push(BatchLine {
                number: self.line,
                start,
                end: batch.bytes.len(),
                too_long: !fits,
            });
        }
        Ok(!batch.lines.is_empty())
    }

    /// The next good record; bad lines are reported through `rejects` and skipped.
    pub fn next_good(&mut self, rejects: &mut Rejects) -> io::Result<Option<Entry>> {
        loop {
            match self.next_entry() {
                None => return Ok(None),
                Some(Ok(entry)) => return Ok(Some(entry)),
                Some(Err(ReadError::Io(e))) => return Err(e),
                Some(Err(ReadError::Bad { line, raw, reason })) => {
                    rejects.reject(line, None, &raw, &reason)?;
                }
            }
        }
    }

    /// Read one line into `buf` without its ending. `Some(false)`: the line was too long and
    /// was skipped.
    fn read_line(&mut self) -> io::Result<Option<bool>> {
        self.buf.clear();
        let mut too_long = false;
        let mut read_any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            read_any = true;
            let (chunk, done) = match memchr_newline(available) {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            if !too_long {
                if self.buf.len() + chunk.len() > MAX_LINE_BYTES {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            let used = done.unwrap_or(available.len());
            self.inner.consume(used);
            if done.is_some() {
                break;
            }
        }
        if !read_any {
            return Ok(None);
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(!too_long))
    }
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<Entry, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry()
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// What serde cannot check of an envelope: a kind that is a word in lower case (`USER` would
/// pass every tool as an unknown kind, silently), a non-empty id and source, `data` an object.
pub fn check_envelope(rec: &Record) -> Result<(), String> {
    let kind = rec.kind.as_str();
    let mut chars = kind.chars();
    let ok_kind = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok_kind {
        let lower = kind.to_ascii_lowercase();
        let hint = if super::Kind::from(lower.as_str()) != super::Kind::Other(lower.clone()) {
            format!(" (did you mean `{lower}`?)")
        } else {
            String::new()
        };
        return Err(format!(
            "field `kind`: `{kind}` is not a kind: kinds are lowercase words{hint}"
        ));
    }
    if rec.source.trim().is_empty() {
        return Err("field `source`: empty".into());
    }
    if rec.id.trim().is_empty() {
        return Err("field `id`: empty".into());
    }
    if !rec.data.is_object() {
        let what = match &rec.data {
            serde_json::Value::Null => "null",
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::Bool(_) => "a boolean",
            serde_json::Value::Object(_) => "an object",
        };
        return Err(format!(
            "field `data`: expected a JSON object, found {what}"
        ));
    }
    Ok(())
}

/// Say what is wrong with a line in terms a person can act on.
fn describe_parse_error(line: &[u8], err: &serde_json::Error) -> String {
    if err.is_syntax() || err.is_eof() {
        return format!("not JSON: {err}");
    }
    match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(_)) => format!("not an envelope: {err}"),
        Ok(_) => "not an envelope: expected a JSON object".to_string(),
        Err(e) => format!("not JSON: {e}"),
    }
}

/// Where rejected lines go: a message on stderr always, and the line whole to `--rejects FILE`
/// when one was given. Counts what it saw so the tool can exit 3.
pub struct Rejects {
    file: Option<(PathBuf, BufWriter<File>)>,
    count: u64,
}

impl Rejects {
    /// Reject to stderr only.
    pub fn stderr_only() -> Rejects {
        Rejects {
            file: None,
            count: 0,
        }
    }

    /// Reject to stderr and, when `path` is given, to that file (created 0600, truncated).
    pub fn open(path: Option<&Path>) -> io::Result<Rejects> {
        let file = match path {
            None => None,
            Some(p) => Some((p.to_path_buf(), BufWriter::new(create_private_file(p)?))),
        };
        Ok(Rejects { file, count: 0 })
    }

    /// Report a rejected line: `idm-map: line 42 (okta:00u1ab): reason` on stderr, and the
    /// line whole to the rejects file.
    pub fn reject(
        &mut self,
        line: u64,
        label: Option<&str>,
        raw: &[u8],
        reason: &str,
    ) -> io::Result<()> {
        self.count += 1;
        // through the progress display, so a bar on the terminal does not tear the line
        match label {
            Some(l) => crate::cli::say(&format!("line {line} ({l}): {reason}")),
            None => crate::cli::say(&format!("line {line}: {reason}")),
        }
        if let Some((path, file)) = &mut self.file {
            let write = file.write_all(raw).and_then(|()| file.write_all(b"\n"));
            write.map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("writing rejects to `{}`: {e}", path.display()),
                )
            })?;
        }
        Ok(())
    }

    /// How many lines were rejected so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Flush the rejects file; returns the count.
    pub fn finish(mut self) -> io::Result<u64> {
        if let Some((path, file)) = &mut self.file {
            file.flush().map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("writing rejects to `{}`: {e}", path.display()),
                )
            })?;
        }
        Ok(self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &str) -> Vec<Result<(u64, String), (u64, String)>> {
        RecordReader::new(input.as_bytes())
            .map(|r| match r {
                Ok(e) => Ok((e.line, e.record.id)),
                Err(ReadError::Bad { line, reason, .. }) => Err((line, reason)),
                Err(ReadError::Io(e)) => panic!("{e}"),
            })
            .collect()
    }

    #[test]
    fn yields_line_numbers_and_reports_bad_lines_in_place() {
        let input = concat!(
            r#"{"kind":"user","source":"okta","id":"a","data":{}}"#,
            "\n{not json\n\n",
            r#"[1,2]"#,
            "\n",
            r#"{"kind":"user","source":"okta","data":{}}"#,
            "\n",
            r#"{"kind":"user","source":"okta","id":"b","data":{}}"#,
            "\r\n",
            r#"{"kind":"group","source":"okta","id":"c","data":{}}"#,
        );
        let got = read_all(input);
        assert_eq!(got.len(), 6);
        assert_eq!(got[0], Ok((1, "a".into())));
        assert!(
            matches!(&got[1], Err((2, r)) if r.starts_with("not JSON")),
            "{got:?}"
        );
        assert!(
            matches!(&got[2], Err((4, r)) if r.contains("expected a JSON object")),
            "{got:?}"
        );
        assert!(
            matches!(&got[3], Err((5, r)) if r.contains("missing field `id`")),
            "{got:?}"
        );
        assert_eq!(got[4], Ok((6, "b".into())));
        // the last line has no newline and is still read
        assert_eq!(got[5], Ok((7, "c".into())));
    }

    #[test]
    fn lines_that_are_not_records_are_refused_by_name() {
        // `kind: "USER"` vanished through map, attrs and load with exit 0; `data: null` and an
        // empty id passed idm-attrs
        for (line, want) in [
            (
                r#"{"kind":"USER","source":"okta","id":"a","data":{}}"#,
                "`USER` is not a kind: kinds are lowercase words (did you mean `user`?)",
            ),
            (
                r#"{"kind":"user","source":"okta","id":"a","data":null}"#,
                "field `data`: expected a JSON object, found null",
            ),
            (
                r#"{"kind":"user","source":"okta","id":"a","data":"x"}"#,
                "found a string",
            ),
            (
                r#"{"kind":"user","source":"okta","id":"a","data":[1]}"#,
                "found an array",
            ),
            (
                r#"{"kind":"user","source":"okta","id":" ","data":{}}"#,
                "field `id`: empty",
            ),
            (
                r#"{"kind":"user","source":"","id":"a","data":{}}"#,
                "field `source`: empty",
            ),
        ] {
            let got = read_all(line);
            assert!(
                matches!(&got[0], Err((1, r)) if r.contains(want)),
                "{line}: {got:?}"
            );
        }
    }

    #[test]
    fn raw_gives_the_line_without_its_ending() {
        let line = r#"{"kind":"user","source":"okta","id":"a","data":{"x":  1}}"#;
        let input = format!("{line}\r\n");
        let mut reader = RecordReader::new(input.as_bytes());
        reader.next_entry().unwrap().unwrap();
        assert_eq!(reader.raw(), line.as_bytes());
    }

    #[test]
    fn rejects_file_gets_the_bad_lines_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejects.ndjson");
        let mut rejects = Rejects::open(Some(&path)).unwrap();
        let input = "{broken\n{\"kind\":\"user\",\"source\":\"okta\",\"id\":\"a\",\"data\":{}}\n";
        let mut reader = RecordReader::new(input.as_bytes());
        let good = reader.next_good(&mut rejects).unwrap().unwrap();
        assert_eq!(good.line, 2);
        assert!(reader.next_good(&mut rejects).unwrap().is_none());
        assert_eq!(rejects.finish().unwrap(), 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{broken\n");
    }
}
