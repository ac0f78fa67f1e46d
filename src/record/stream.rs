//! Stream markers: a stream says whether it is complete.
//!
//! A tool that writes records begins its stream with a marker and ends it with another that
//! counts the records in between:
//!
//! ```json
//! {"kind":"stream","source":"idm","id":"begin","data":{"tool":"idm-export"}}
//! …
//! {"kind":"stream","source":"idm","id":"end","data":{"tool":"idm-export","records":1234}}
//! ```
//!
//! A stage that dies half-way (an export whose API failed) leaves a begin without an end; a
//! reader then knows the stream was cut short and says so, and the tools that write refuse to
//! load it: a partial tenant never looks like a success. A file with no markers at all (made
//! by hand, or filtered with jq) is read as it is: nothing promised, nothing to check.
//! Concatenated streams are fine: each begin must be closed by its end, with the right count.

use serde_json::{Value, json};

use super::{Kind, Record};

/// The `kind` of stream markers.
pub const KIND: &str = "stream";

/// What the markers of a stream said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    /// No markers: nothing was promised.
    Unmarked,
    /// Every begin had its end, with the right count.
    Complete,
    /// Cut short or tampered with: why.
    Incomplete(String),
}

impl Completeness {
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Completeness::Incomplete(_))
    }
}

/// The begin marker of a stream written by `tool`.
pub fn begin(tool: &str) -> Record {
    Record::new(Kind::from(KIND), "idm", "begin", json!({ "tool": tool }))
}

/// The end marker of a stream of `records` records written by `tool`.
pub fn end(tool: &str, records: u64) -> Record {
    Record::new(
        Kind::from(KIND),
        "idm",
        "end",
        json!({ "tool": tool, "records": records }),
    )
}

/// Follows the markers of a stream as it is read.
#[derive(Debug, Default)]
pub struct Tracker {
    /// The tool of the open stream and the records read since its begin.
    open: Option<(String, u64)>,
    marked: bool,
    /// Records read outside any begin/end while the stream is marked.
    stray: u64,
    problem: Option<String>,
}

impl Tracker {
    pub fn is_marked(&self) -> bool {
        self.marked
    }

    /// A record (or a bad line) was read.
    pub fn record(&mut self) {
        match &mut self.open {
            Some((_, n)) => *n += 1,
            None => self.stray += 1,
        }
    }

    /// A marker was read at `line`; `Err` when it is not a marker at all.
    pub fn marker(&mut self, line: u64, rec: &Record) -> Result<(), String> {
        let tool = rec
            .data
            .get("tool")
            .and_then(Value::as_str)
            .unwrap_or("a tool")
            .to_string();
        match rec.id.as_str() {
            "begin" => {
                if let Some((open, _)) = &self.open {
                    self.problem.get_or_insert(format!(
                        "the stream from {open} has no end marker before line {line}: it was cut short"
                    ));
                }
                if !self.marked && self.stray > 0 {
                    self.problem.get_or_insert(format!(
                        "{} records come before the stream from {tool} begins (line {line})",
                        self.stray
                    ));
                }
                self.marked = true;
                self.open = Some((tool, 0));
                Ok(())
            }
            "end" => {
                let Some(records) = rec.data.get("records").and_then(Value::as_u64) else {
                    return Err("stream end marker without `data.records`".into());
                };
                match self.open.take() {
                    None => {
                        self.problem.get_or_insert(format!(
                            "an end marker of {tool} at line {line} has no begin"
                        ));
                    }
                    Some((_, n)) if n != records => {
                        self.problem.get_or_insert(format!(
                            "the stream from {tool} says it holds {records} records, {n} were read: lines were lost or added"
                        ));
                    }
                    Some(_) => {}
                }
                self.marked = true;
                Ok(())
            }
            other => Err(format!(
                "field `id`: `{other}` is not a stream marker (begin, end)"
            )),
        }
    }

    /// The verdict at the end of the input.
    pub fn completeness(&self) -> Completeness {
        if let Some(p) = &self.problem {
            return Completeness::Incomplete(p.clone());
        }
        if let Some((tool, _)) = &self.open {
            return Completeness::Incomplete(format!(
                "the stream from {tool} has no end marker: it was cut short (did {tool} fail?)"
            ));
        }
        if self.marked && self.stray > 0 {
            return Completeness::Incomplete(format!(
                "{} records stand outside the marked stream",
                self.stray
            ));
        }
        if self.marked {
            Completeness::Complete
        } else {
            Completeness::Unmarked
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordReader;

    fn verdict(lines: &[String]) -> Completeness {
        let text = lines.join("\n");
        let mut r = RecordReader::new(text.as_bytes());
        while let Some(e) = r.next_entry() {
            let _ = e;
        }
        r.completeness()
    }

    fn user(i: u32) -> String {
        format!(r#"{{"kind":"user","source":"okta","id":"u{i}","data":{{}}}}"#)
    }

    fn marker(rec: Record) -> String {
        serde_json::to_string(&rec).unwrap()
    }

    #[test]
    fn a_stream_is_complete_only_with_its_end_and_count() {
        let b = marker(begin("idm-export"));
        let whole = vec![b.clone(), user(1), user(2), marker(end("idm-export", 2))];
        assert_eq!(verdict(&whole), Completeness::Complete);
        // cut short: the export failed half-way
        let cut = vec![b.clone(), user(1)];
        assert!(matches!(verdict(&cut), Completeness::Incomplete(r) if r.contains("cut short")));
        // a line lost in the middle
        let lost = vec![b.clone(), user(1), marker(end("idm-export", 2))];
        assert!(
            matches!(verdict(&lost), Completeness::Incomplete(r) if r.contains("2 records, 1 were read"))
        );
        // two whole streams one after the other
        let two = [whole.clone(), whole.clone()].concat();
        assert_eq!(verdict(&two), Completeness::Complete);
        // a hand-made file promises nothing
        assert_eq!(verdict(&[user(1)]), Completeness::Unmarked);
        // the markers are not records
        let text = whole.join("\n");
        let ids: Vec<String> = RecordReader::new(text.as_bytes())
            .map(|e| e.unwrap().record.id)
            .collect();
        assert_eq!(ids, vec!["u1", "u2"]);
    }
}
