//! The half of mapping that needs one record alone: source adapter → canonical model → target
//! payload, both schema checks, and the output line serialized. It keeps no state across
//! records (its adapter's name caches aside), so [`super::run`] runs one [`Shaper`] per worker
//! thread; what needs the records before it (the email index, the sets of skipped and rejected
//! objects whose edges go too, the counts) is settled afterwards in input order by
//! [`super::Mapper`].

use serde_json::{Map, Value};

use super::source::{self, SourceOptions};
use super::target::{self, TargetAdapter};
use super::{Options, Trace, rules};
use crate::record::schema::Schemas;
use crate::record::{Kind, Record};

/// Shapes records for one target. One per thread.
pub struct Shaper {
    pub(super) opts: Options,
    source_opts: SourceOptions,
    pub(super) target: Box<dyn TargetAdapter>,
}

/// One record shaped: what became of it, before the records before it had their say.
#[derive(Debug)]
pub struct Shaped {
    pub(super) kind: Kind,
    pub(super) source: String,
    pub(super) id: String,
    pub(super) outcome: Outcome,
    /// Where each field came from, for the record `--explain` asked about only.
    pub(super) trace: Option<Trace>,
}

impl Shaped {
    /// `source:id`, the way messages name a record.
    pub fn label(&self) -> String {
        format!("{}:{}", self.source, self.id)
    }
}

/// What shaping made of a record.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Not for idm-map: the input line goes out unchanged.
    Passed,
    Rejected(String),
    Skipped(String),
    /// A built-in group left out: its memberships and assignments go too.
    BuiltIn(String),
    /// A payload, as its output line (without the newline).
    Mapped {
        line: Vec<u8>,
        /// Whether the line has a `warnings` array already.
        has_warnings: bool,
        user: Option<UserFacts>,
        edge: Option<EdgeEnds>,
    },
}

/// What the settling of a user needs to know of it.
#[derive(Debug)]
pub(super) struct UserFacts {
    /// The value two users may not share in the target, and its name (`email`).
    pub key: Option<(&'static str, String)>,
    pub excluded: Vec<String>,
    pub password_dropped: bool,
}

/// The objects a membership or an app assignment joins, as the keys the settling looks up
/// ([`super::object_key`], computed here, off the settling thread).
#[derive(Debug, Default, PartialEq)]
pub(super) struct EdgeEnds {
    pub group: Option<u64>,
    pub user: Option<u64>,
    pub app: Option<u64>,
}

impl EdgeEnds {
    pub fn new(group: Option<&str>, user: Option<&str>, app: Option<&str>) -> EdgeEnds {
        EdgeEnds {
            group: group.map(|id| super::object_key(&Kind::Group, id)),
            user: user.map(|id| super::object_key(&Kind::User, id)),
            app: app.map(|id| super::object_key(&Kind::App, id)),
        }
    }
}

type Shaping = Result<Outcome, String>;

impl Shaper {
    pub fn new(opts: Options) -> Shaper {
        Shaper {
            source_opts: SourceOptions {
                email_domain: opts.email_domain.clone(),
            },
            target: opts.target.adapter_with(opts.email_domain.as_deref()),
            opts,
        }
    }

    /// Shape one input line straight from its bytes when it is a plain membership (see
    /// [`super::fast`]); `None` when it needs parsing first.
    pub fn shape_raw(&self, raw: &[u8]) -> Option<Shaped> {
        if self.opts.explain.is_some() {
            return None;
        }
        super::fast::membership(raw, self.opts.target.as_str())
    }

    /// Shape one record.
    pub fn shape(&mut self, rec: Record) -> Shaped {
        let trace = if self.opts.explain.as_deref() == Some(rec.id.as_str()) {
            Trace::on()
        } else {
            Trace::off()
        };
        self.shape_with(rec, trace)
    }

    /// Shape one record, noting where its fields came from in `trace` when it is on.
    pub(super) fn shape_with(&mut self, rec: Record, mut trace: Trace) -> Shaped {
        let (kind, source, id) = (rec.kind.clone(), rec.source.clone(), rec.id.clone());
        let outcome = self
            .shape_traced(rec, &mut trace)
            .unwrap_or_else(Outcome::Rejected);
        Shaped {
            kind,
            source,
            id,
            outcome,
            trace: trace.enabled().then_some(trace),
        }
    }

    fn shape_traced(&mut self, rec: Record, trace: &mut Trace) -> Shaping {
        if rec.target.is_some() {
            return Ok(Outcome::Passed);
        }
        let known = matches!(
            rec.kind,
            Kind::User
                | Kind::Group
                | Kind::App
                | Kind::Attribute
                | Kind::Membership
                | Kind::AppAssignment
        );
        if !known {
            return Ok(Outcome::Passed);
        }
        let Some(src) = source::adapter(&rec.source) else {
            return Err(format!(
                "no source adapter for `{}` (idm-map reads {})",
                rec.source,
                source::NAMES
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        // what we read is checked too: an export that is not what the source returns is
        // refused with the field named, rather than mapped on guesses
        if let Err(e) = Schemas::get().validate_record(&rec) {
            let article = if rec.source.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            return Err(format!(
                "not {article} {} {} export: {e}",
                rec.source, rec.kind
            ));
        }
        match rec.kind {
            Kind::User => self.user(src, rec, trace),
            Kind::Group => self.group(src, rec, trace),
            Kind::App => self.app(src, rec, trace),
            Kind::Attribute => self.attribute(src, rec, trace),
            _ => self.edge(rec),
        }
    }

    /// The mapped record, checked against the target's payload schema, as its output line.
    fn finish(
        &self,
        mut rec: Record,
        data: Map<String, Value>,
        warnings: Vec<String>,
        user: Option<UserFacts>,
        edge: Option<EdgeEnds>,
    ) -> Shaping {
        rec.data = Value::Object(data);
        rec.target = Some(self.opts.target.as_str().to_string());
        rec.warnings.extend(warnings);
        // every record written is checked against the target's payload schema
        if let Err(e) = Schemas::get().validate_record(&rec) {
            return Err(format!("mapped {} is invalid: {e}", rec.kind));
        }
        let line = serde_json::to_vec(&rec).map_err(|e| format!("cannot be written: {e}"))?;
        Ok(Outcome::Mapped {
            line,
            has_warnings: !rec.warnings.is_empty(),
            user,
            edge,
        })
    }

    fn user(&mut self, src: &dyn source::SourceAdapter, rec: Record, trace: &mut Trace) -> Shaping {
        let out = {
            let mut who = src.identity(&rec.id, &rec.data, &self.source_opts)?;
            let cx = target::UserContext {
                complex: self.opts.complex,
                custom_rules: &self.opts.rules.custom,
            };
            let mut out = self.target.user(&mut who, &cx, trace)?;
            self.opts
                .rules
                .apply_to_user(&mut out.payload, &rec.data, trace);
            self.target.finish_user(&mut out.payload)?;
            out
        };
        let key = self
            .target
            .unique_key(&out.payload)
            .map(|(what, key)| (what, key.to_string()));
        let facts = UserFacts {
            key,
            excluded: out.excluded,
            password_dropped: out.password_dropped,
        };
        self.finish(rec, out.payload, out.warnings, Some(facts), None)
    }

    fn group(
        &mut self,
        src: &dyn source::SourceAdapter,
        rec: Record,
        trace: &mut Trace,
    ) -> Shaping {
        let payload = {
            let group = src.group(&rec.id, &rec.data);
            if group.built_in && !self.opts.include_everyone {
                let name = group.name.as_ref().map_or("Everyone", |n| &n.value);
                return Ok(Outcome::BuiltIn(format!(
                    "skipped BUILT_IN group `{name}` and its memberships (use --include-everyone to migrate it as a role)"
                )));
            }
            self.target.group(&group, trace)?
        };
        self.finish(rec, payload, Vec::new(), None, None)
    }

    fn app(&mut self, src: &dyn source::SourceAdapter, rec: Record, trace: &mut Trace) -> Shaping {
        let (payload, warnings) = {
            let (app, mut warnings) = src.app(&rec.id, &rec.data);
            let (payload, more) = self.target.app(&app, &self.opts.connectors, trace)?;
            warnings.extend(more);
            (payload, warnings)
        };
        self.finish(rec, payload, warnings, None, None)
    }

    fn attribute(
        &mut self,
        src: &dyn source::SourceAdapter,
        rec: Record,
        trace: &mut Trace,
    ) -> Shaping {
        let payload = {
            let def = src.attribute(&rec.id, &rec.data);
            let name = match self.opts.rules.custom.get(def.name) {
                Some(rules::CustomRule::Drop) => {
                    return Ok(Outcome::Skipped(format!(
                        "custom attribute `{}` dropped by --mapping",
                        def.name
                    )));
                }
                Some(rules::CustomRule::Rename(to)) => {
                    trace.note("shortname", || "--mapping custom_attributes rename".into());
                    to.clone()
                }
                None => {
                    trace.note("shortname", || format!("id `{}` normalized", def.name));
                    self.target.attribute_name(def.name).ok_or_else(|| {
                        format!("attribute name `{}` gives no usable shortname", def.name)
                    })?
                }
            };
            if src.is_consumed_key(def.name) && !self.target.is_named_attribute(&name) {
                return Ok(Outcome::Skipped(format!(
                    "custom attribute `{}` feeds a standard field, not a custom attribute",
                    def.name
                )));
            }
            match self.target.attribute(name, &def, self.opts.complex, trace) {
                target::AttributeOut::Payload(p) => p,
                target::AttributeOut::Skipped(reason) => return Ok(Outcome::Skipped(reason)),
            }
        };
        self.finish(rec, payload, Vec::new(), None, None)
    }

    /// Memberships and app assignments pass through with `target` set (idm-load resolves their
    /// ids); the ends they join are kept so those of skipped and rejected objects can go.
    fn edge(&mut self, mut rec: Record) -> Shaping {
        let Value::Object(data) = std::mem::take(&mut rec.data) else {
            return Err("field `data` is not an object".into());
        };
        let end = |key: &str| data.get(key).and_then(Value::as_str);
        let ends = EdgeEnds::new(end("group_id"), end("user_id"), end("app_id"));
        self.finish(rec, data, Vec::new(), None, Some(ends))
    }
}

/// Add `warning` to a record's output line as serde_json writes it: `warnings` is the last
/// field of the envelope, so the warning goes before the closing `]}`, or a new array before
/// the closing `}`. The same bytes as serializing the record with the warning pushed.
pub(super) fn add_warning(line: &mut Vec<u8>, has_warnings: bool, warning: &str) {
    let text = serde_json::to_string(warning).expect("a string serializes");
    let (cut, insert) = if has_warnings {
        (line.len() - 2, format!(",{text}"))
    } else {
        (line.len() - 1, format!(",\"warnings\":[{text}]"))
    };
    line.splice(cut..cut, insert.into_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_warning_added_to_a_line_is_the_line_of_the_record_with_it() {
        for before in [
            vec![],
            vec!["one".to_string()],
            vec!["a".into(), "b \"q\"".into()],
        ] {
            let mut rec = Record::new(Kind::User, "okta", "00u1", json!({"email": "a@x.io"}));
            rec.target = Some("onelogin".into());
            rec.warnings = before.clone();
            let mut line = serde_json::to_vec(&rec).unwrap();
            let warning = "prefix `a` is shared with okta:00u0 — \u{1F600}\n";
            add_warning(&mut line, !before.is_empty(), warning);
            rec.warnings.push(warning.into());
            assert_eq!(
                String::from_utf8(line).unwrap(),
                serde_json::to_string(&rec).unwrap()
            );
        }
    }
}
