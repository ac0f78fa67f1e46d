//! The commonest line of an export, a group membership, shaped without building a JSON tree.
//!
//! A membership passes through idm-map with `target` set, and both its checks (the source's
//! membership schema going in, the same schema coming out) come down to two ids that have no
//! `/` and make up the record's id. Memberships are three lines of four in a typical export, so
//! for them the general path (a `serde_json::Value` per line, two schema validations, the line
//! serialized from the tree) costs more than everything else idm-map does. Here the line is
//! read by a visitor that borrows its strings, checked in Rust, and written back out.
//!
//! The fast path only ever says yes or "not for me": anything unusual (another kind, another
//! field, a repeated field, a `target` already set, an id the schema would refuse) goes the
//! general way, which reports it as before. So its output is, byte for byte, what the general
//! path writes; the tests below hold it to that.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::shape::{EdgeEnds, Outcome, Shaped};
use crate::record::Kind;

/// A string borrowed from the line when it has no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A membership line's envelope, or an error meaning "not one for the fast path".
struct Line<'a> {
    source: Cow<'a, str>,
    id: Cow<'a, str>,
    /// `data`'s two fields, in the order of the line (the output keeps it).
    data: [(bool, Cow<'a, str>); 2],
}

/// `data` of a membership: `group_id` and `user_id`, each once, nothing else. `true` marks
/// `group_id`.
struct Data<'a>([(bool, Cow<'a, str>); 2]);

impl<'de> Deserialize<'de> for Data<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Data<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a membership's data")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data<'de>, A::Error> {
                let mut fields: Vec<(bool, Cow<'de, str>)> = Vec::with_capacity(2);
                while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
                    let group = match key.as_ref() {
                        "group_id" => true,
                        "user_id" => false,
                        _ => return Err(de::Error::custom("another field")),
                    };
                    if fields.iter().any(|(g, _)| *g == group) || fields.len() == 2 {
                        return Err(de::Error::custom("a repeated field"));
                    }
                    let Str(value) = map.next_value::<Str<'de>>()?;
                    fields.push((group, value));
                }
                let mut fields = fields.into_iter();
                match (fields.next(), fields.next()) {
                    (Some(a), Some(b)) => Ok(Data([a, b])),
                    _ => Err(de::Error::custom("a missing field")),
                }
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Line<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Line<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a membership record")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Line<'de>, A::Error> {
                let (mut kind, mut source, mut id, mut data) = (false, None, None, None);
                while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
                    let repeated = || de::Error::custom("a repeated field");
                    match key.as_ref() {
                        "kind" => {
                            // most lines are not memberships: they leave at their first field
                            if kind || map.next_value::<Str<'de>>()?.0 != "membership" {
                                return Err(de::Error::custom("another kind"));
                            }
                            kind = true;
                        }
                        "source" if source.is_none() => source = Some(map.next_value::<Str>()?.0),
                        "id" if id.is_none() => id = Some(map.next_value::<Str>()?.0),
                        "data" if data.is_none() => data = Some(map.next_value::<Data>()?.0),
                        "source" | "id" | "data" => return Err(repeated()),
                        // `target`, `warnings`, or a field the envelope does not know
                        _ => return Err(de::Error::custom("another field")),
                    }
                }
                match (kind, source, id, data) {
                    (true, Some(source), Some(id), Some(data)) => Ok(Line { source, id, data }),
                    _ => Err(de::Error::custom("a missing field")),
                }
            }
        }
        d.deserialize_map(V)
    }
}

/// Whether `value` passes the `group_id`/`user_id` rule of `source`'s membership schema.
fn id_passes(source: &str, value: &str) -> bool {
    match source {
        // okta, stormpath and csv: `^[^/]+$` (csv adds minLength 1, implied)
        "okta" | "stormpath" | "csv" => !value.is_empty() && !value.contains('/'),
        // onelogin: `^[0-9]+$`
        "onelogin" => !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// Shape `raw` if it is a plain membership whose checks pass, for `target`; `None` sends it
/// the general way.
pub(super) fn membership(raw: &[u8], target: &str) -> Option<Shaped> {
    let line: Line = serde_json::from_slice(raw).ok()?;
    let [(first_is_group, first), (_, second)] = &line.data;
    let (group, user) = if *first_is_group {
        (first, second)
    } else {
        (second, first)
    };
    if !id_passes(&line.source, group) || !id_passes(&line.source, user) {
        return None;
    }
    // the record's id is `<group_id>/<user_id>`
    let id = line.id.as_ref();
    if id.len() != group.len() + 1 + user.len()
        || !id.starts_with(group.as_ref())
        || !id.ends_with(user.as_ref())
        || id.as_bytes()[group.len()] != b'/'
    {
        return None;
    }
    let mut out = Vec::with_capacity(raw.len() + 24 + target.len());
    out.extend_from_slice(br#"{"kind":"membership","source":"#);
    push_str(&mut out, &line.source);
    out.extend_from_slice(br#","id":"#);
    push_str(&mut out, id);
    out.extend_from_slice(br#","data":{"#);
    for (i, (is_group, value)) in line.data.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(if *is_group {
            br#""group_id":"#
        } else {
            br#""user_id":"#
        });
        push_str(&mut out, value);
    }
    out.extend_from_slice(br#"},"target":"#);
    push_str(&mut out, target);
    out.push(b'}');
    Some(Shaped {
        kind: Kind::Membership,
        source: line.source.to_string(),
        id: id.to_string(),
        outcome: Outcome::Mapped {
            line: out,
            has_warnings: false,
            user: None,
            edge: Some(EdgeEnds::new(Some(group), Some(user), None)),
        },
        trace: None,
    })
}

/// A JSON string, escaped as serde_json writes it.
fn push_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(out, s).expect("writing to a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::shape::Shaper;
    use crate::map::{Options, Target};
    use crate::record::{Parsed, parse_line};
    use proptest::prelude::*;

    fn general(raw: &[u8], target: Target) -> Option<Shaped> {
        let mut shaper = Shaper::new(Options {
            target,
            ..Options::default()
        });
        match parse_line(raw) {
            Parsed::Record(rec) => Some(shaper.shape(rec)),
            _ => None,
        }
    }

    /// What a shaped record comes to, comparable.
    fn facts(s: &Shaped) -> String {
        format!("{} {}:{} {:?}", s.kind, s.source, s.id, s.outcome)
    }

    /// The fast path either declines or agrees with the general one, to the byte.
    fn agrees(raw: &str) -> bool {
        let mut fast_taken = false;
        for target in [Target::Onelogin, Target::Okta] {
            if let Some(fast) = membership(raw.as_bytes(), target.as_str()) {
                fast_taken = true;
                let general = general(raw.as_bytes(), target).expect("the line parses");
                assert_eq!(facts(&fast), facts(&general), "line {raw}");
            }
        }
        fast_taken
    }

    #[test]
    fn plain_memberships_take_the_fast_path_with_the_general_paths_output() {
        for raw in [
            r#"{"kind":"membership","source":"okta","id":"00g1/00u1","data":{"group_id":"00g1","user_id":"00u1"}}"#,
            // the data's order is kept
            r#"{"kind":"membership","source":"okta","id":"00g1/00u1","data":{"user_id":"00u1","group_id":"00g1"}}"#,
            // any envelope order, spaces, escapes
            r#" {"data":{"group_id":"g\u00e9","user_id":"u\"1"},"id":"g\u00e9/u\"1","source":"stormpath","kind":"membership"} "#,
            r#"{"kind":"membership","source":"csv","id":"Eng/ada","data":{"group_id":"Eng","user_id":"ada"}}"#,
            r#"{"kind":"membership","source":"onelogin","id":"12/34","data":{"group_id":"12","user_id":"34"}}"#,
        ] {
            assert!(agrees(raw), "not taken: {raw}");
        }
    }

    #[test]
    fn anything_unusual_goes_the_general_way() {
        for raw in [
            // already mapped
            r#"{"kind":"membership","source":"okta","id":"g/u","data":{"group_id":"g","user_id":"u"},"target":"onelogin"}"#,
            r#"{"kind":"membership","source":"okta","id":"g/u","data":{"group_id":"g","user_id":"u"},"warnings":["w"]}"#,
            // the id does not match its data
            r#"{"kind":"membership","source":"okta","id":"g/v","data":{"group_id":"g","user_id":"u"}}"#,
            r#"{"kind":"membership","source":"okta","id":"g/u/u","data":{"group_id":"g/u","user_id":"u"}}"#,
            // the schema's id rules
            r#"{"kind":"membership","source":"okta","id":"/u","data":{"group_id":"","user_id":"u"}}"#,
            r#"{"kind":"membership","source":"onelogin","id":"g/1","data":{"group_id":"g","user_id":"1"}}"#,
            // fields missing, extra, repeated, of another type
            r#"{"kind":"membership","source":"okta","id":"g/u","data":{"group_id":"g"}}"#,
            r#"{"kind":"membership","source":"okta","id":"g/u","data":{"group_id":"g","user_id":"u","x":1}}"#,
            r#"{"kind":"membership","source":"okta","id":"g/u","data":{"group_id":"g","group_id":"g","user_id":"u"}}"#,
            r#"{"kind":"membership","kind":"membership","source":"okta","id":"g/u","data":{"group_id":"g","user_id":"u"}}"#,
            r#"{"kind":"membership","source":"okta","id":"g/u","data":{"group_id":"g","user_id":7}}"#,
            // another source, another kind
            r#"{"kind":"membership","source":"idm","id":"g/u","data":{"group_id":"g","user_id":"u"}}"#,
            r#"{"kind":"app_assignment","source":"okta","id":"a/u","data":{"app_id":"a","user_id":"u"}}"#,
            r#"{"kind":"membership","source":"okta","id":"g/u","data":{"group_id":"g","user_id":"u"}} x"#,
        ] {
            assert!(!agrees(raw), "taken: {raw}");
        }
    }

    proptest! {
        #[test]
        fn the_fast_path_never_disagrees(
            group in "[a-z0-9/\"\\\\é]{0,6}",
            user in "[a-z0-9/\"\\\\é ]{0,6}",
            source in prop::sample::select(vec!["okta", "stormpath", "csv", "onelogin", "idm"]),
            swap in any::<bool>(),
            bad_id in any::<bool>(),
        ) {
            let q = |s: &str| serde_json::to_string(s).unwrap();
            let id = if bad_id { format!("{user}/{group}") } else { format!("{group}/{user}") };
            let (a, b) = (format!("\"group_id\":{}", q(&group)), format!("\"user_id\":{}", q(&user)));
            let data = if swap { format!("{b},{a}") } else { format!("{a},{b}") };
            let raw = format!(
                "{{\"kind\":\"membership\",\"source\":{},\"id\":{},\"data\":{{{data}}}}}",
                q(source),
                q(&id)
            );
            agrees(&raw);
        }
    }
}
