//! A buffered NDJSON writer that flushes explicitly.
//!
//! Records go out through a large buffer; the tool calls [`RecordWriter::finish`] at the end so a
//! failed flush is an error with context, not a silent loss on drop. A closed pipe shows up as an
//! `io::ErrorKind::BrokenPipe` error, which the entry wrapper in [`crate::cli`] treats as success.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use super::Record;

const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// Create (or truncate) a file readable by its owner only (0600): it holds people's data.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path).map_err(|e| {
        io::Error::new(e.kind(), format!("cannot create `{}`: {e}", path.display()))
    })?;
    // An existing regular file keeps its mode on open; tighten it. Devices and pipes
    // (`-o /dev/null`, a named pipe) are not ours to change.
    #[cfg(unix)]
    if file.metadata()?.is_file() {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// Writes one record per line.
pub struct RecordWriter {
    out: Box<dyn Write>,
    line_buf: Vec<u8>,
    /// The tool whose stream this is, the records written since its begin marker, and whether
    /// that marker is still to be written (it goes out with the first record).
    marked: Option<(String, u64, bool)>,
}

impl RecordWriter {
    /// Write to `path` (created 0600) or, for `None` or `-`, to stdout.
    pub fn create(path: Option<&Path>) -> io::Result<RecordWriter> {
        let out: Box<dyn Write> = match path {
            Some(p) if p != Path::new("-") => Box::new(BufWriter::with_capacity(
                WRITE_BUFFER_BYTES,
                create_private_file(p)?,
            )),
            _ => {
                let stdout = io::stdout();
                if stdout.is_terminal() {
                    // line by line for a person watching
                    Box::new(io::LineWriter::new(stdout))
                } else {
                    Box::new(BufWriter::with_capacity(WRITE_BUFFER_BYTES, stdout))
                }
            }
        };
        Ok(RecordWriter {
            out,
            line_buf: Vec::with_capacity(4096),
            marked: None,
        })
    }

    /// Begin a marked stream ([`super::stream`]): the begin marker goes out with the first
    /// record (a tool that fails before writing anything writes nothing), the end marker with
    /// the count at [`RecordWriter::finish_complete`]. A writer that stops without it leaves a
    /// stream that downstream tools know was cut short. Once only.
    pub fn mark(&mut self, tool: &str) -> io::Result<()> {
        if self.marked.is_none() {
            self.marked = Some((tool.to_string(), 0, true));
        }
        Ok(())
    }

    /// Whether this writer began a marked stream.
    pub fn is_marked(&self) -> bool {
        self.marked.is_some()
    }

    /// Write to any writer (tests, spool files), buffered.
    pub fn from_writer(w: impl Write + 'static) -> RecordWriter {
        RecordWriter {
            out: Box::new(BufWriter::with_capacity(WRITE_BUFFER_BYTES, w)),
            line_buf: Vec::with_capacity(4096),
            marked: None,
        }
    }

    /// Write one record and its newline.
    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        self.line_buf.clear();
        serde_json::to_writer(&mut self.line_buf, record).map_err(io::Error::other)?;
        self.line_buf.push(b'\n');
        self.count(1)?;
        self.out.write_all(&self.line_buf)
    }

    /// Write a line as it is (pass-through), adding the newline.
    pub fn write_raw(&mut self, line: &[u8]) -> io::Result<()> {
        self.count(1)?;
        self.out.write_all(line)?;
        self.out.write_all(b"\n")
    }

    /// Write `lines` whole records already serialized, each ending in its newline (a chunk of
    /// a spool, a batch serialized by a worker thread).
    pub fn write_lines(&mut self, bytes: &[u8], lines: u64) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.count(lines)?;
        self.out.write_all(bytes)
    }

    /// Write the begin marker of a marked stream now if no record did yet: a tool that
    /// read part of its input and then failed says its stream is cut short even when it had
    /// not written any of it yet.
    pub fn begin(&mut self) -> io::Result<()> {
        self.count(0)
    }

    /// Count `n` records of a marked stream, writing the begin marker before the first.
    fn count(&mut self, records: u64) -> io::Result<()> {
        if let Some((tool, n, pending)) = &mut self.marked {
            if *pending {
                *pending = false;
                let mut line =
                    serde_json::to_vec(&super::stream::begin(tool)).map_err(io::Error::other)?;
                line.push(b'\n');
                self.out.write_all(&line)?;
            }
            *n += records;
        }
        Ok(())
    }

    /// Flush what is buffered (e.g. before a long pause so a reader downstream sees progress).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flush and close. Call this at the end: a failed flush is an error. A marked stream
    /// stays without its end marker: use [`RecordWriter::finish_complete`] when it is whole.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Close a marked stream: with its end marker when `whole`, else cut short (its begin
    /// marker written even when no record was, so that an empty output never reads as a
    /// whole run that had nothing to do).
    pub fn close(mut self, whole: bool) -> io::Result<()> {
        if whole {
            return self.finish_complete();
        }
        self.begin()?;
        self.finish()
    }

    /// Write the end marker of a marked stream (nothing for an unmarked one), flush, close.
    pub fn finish_complete(mut self) -> io::Result<()> {
        if let Some((tool, n, pending)) = self.marked.take() {
            let mut text = Vec::new();
            if pending {
                serde_json::to_writer(&mut text, &super::stream::begin(&tool))
                    .map_err(io::Error::other)?;
                text.push(b'\n');
            }
            serde_json::to_writer(&mut text, &super::stream::end(&tool, n))
                .map_err(io::Error::other)?;
            text.push(b'\n');
            self.out.write_all(&text)?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Kind;
    use std::sync::{Arc, Mutex};

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

    #[test]
    fn writes_one_record_per_line_and_raw_lines_verbatim() {
        let sink = Shared::default();
        let mut w = RecordWriter::from_writer(sink.clone());
        w.write(&Record::new(
            Kind::Group,
            "okta",
            "00g1",
            serde_json::json!({"a": 1}),
        ))
        .unwrap();
        w.write_raw(br#"{"kind":"user", "spacing":"kept"}"#)
            .unwrap();
        assert!(sink.0.lock().unwrap().is_empty(), "buffered until flushed");
        w.finish().unwrap();
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "{\"kind\":\"group\",\"source\":\"okta\",\"id\":\"00g1\",\"data\":{\"a\":1}}\n\
             {\"kind\":\"user\", \"spacing\":\"kept\"}\n"
        );
    }

    #[cfg(unix)]
    #[test]
    fn files_are_created_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        RecordWriter::create(Some(&path)).unwrap().finish().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }

    // Regression: `-o /dev/null` as root used to chmod the device to 0600.
    #[cfg(unix)]
    #[test]
    fn a_device_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let before = std::fs::metadata("/dev/null").unwrap().permissions().mode();
        let mut w = RecordWriter::create(Some(Path::new("/dev/null"))).unwrap();
        w.write_raw(b"{}").unwrap();
        w.finish().unwrap();
        assert_eq!(
            std::fs::metadata("/dev/null").unwrap().permissions().mode(),
            before
        );
    }
}
