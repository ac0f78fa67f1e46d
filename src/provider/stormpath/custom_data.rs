//! Account custom data as the Okta importer turned it into profile properties: merged across
//! linked accounts, flattened, typed, and one type chosen per property over all users.
//!
//! Shaped by the importer's rules (reference §2.2, §2.6) with our documented departures:
//! - Merge: a linked account's top-level key fills the base's when the base's is absent, null
//!   or `""`. The importer also overwrote `false` and `0`; a stored `false` is a value, so we
//!   keep it.
//! - Flatten: nested objects join their keys with `_` (`plan.tier` → `plan_tier`); empty
//!   objects vanish; the top-level keys `createdAt`, `modifiedAt`, `href` and `id` are
//!   Stormpath's metadata and are left out. When two paths flatten to one name, the later one
//!   wins, as in the importer, with a warning.
//! - Types: string, number, boolean; arrays are `number[]` when non-empty, starting with a
//!   number and of one JSON type, else `string[]` with non-strings JSON-encoded. `null` is
//!   absent (the importer wrote the four letters `null`, which no one means).
//! - Choice: per property, the type most users have; a tie goes to the type seen first (users
//!   in id order). Each unified user is counted once, after merging (the importer counted a
//!   merged account again after each merge).

use std::collections::HashMap;

use serde_json::{Map, Value};

/// The type of one custom property, in the vocabulary the CSV source uses too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomType {
    String,
    Number,
    Boolean,
    StringArray,
    NumberArray,
}

impl CustomType {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomType::String => "string",
            CustomType::Number => "number",
            CustomType::Boolean => "boolean",
            CustomType::StringArray => "string[]",
            CustomType::NumberArray => "number[]",
        }
    }
}

/// Top-level custom data keys that are Stormpath's metadata, not the customer's data.
const METADATA_KEYS: [&str; 4] = ["createdAt", "modifiedAt", "href", "id"];

/// True for the values a merge may fill: absent, null, `""`.
fn is_blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    }
}

/// Fill `base[key]` from `other[key]` for every top-level key that is blank in `base`.
pub fn merge_into(base: &mut Map<String, Value>, other: &Map<String, Value>) {
    for (key, value) in other {
        if is_blank(base.get(key)) && !is_blank(Some(value)) {
            base.insert(key.clone(), value.clone());
        }
    }
}

/// Flattened custom data: property name → value, in the order of the source object.
pub struct Flat {
    pub values: Map<String, Value>,
    /// Names that two paths flattened to (the later value was kept).
    pub collisions: Vec<String>,
}

/// Flatten `custom` (see the module doc); metadata keys are left out, nulls are kept here
/// and dropped by [`transform`].
pub fn flatten(custom: &Map<String, Value>) -> Flat {
    let mut flat = Flat {
        values: Map::new(),
        collisions: Vec::new(),
    };
    flatten_into(custom, "", &mut flat);
    for key in METADATA_KEYS {
        flat.values.shift_remove(key);
    }
    flat
}

fn flatten_into(obj: &Map<String, Value>, prefix: &str, flat: &mut Flat) {
    for (key, value) in obj {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}_{key}")
        };
        match value {
            Value::Object(nested) => flatten_into(nested, &name, flat),
            other => {
                // the importer's Object.assign: the later path wins, at the earlier one's place
                if flat.values.insert(name.clone(), other.clone()).is_some() {
                    flat.collisions.push(name);
                }
            }
        }
    }
}

/// The type of a flattened value and the value a target gets; `None` for null.
pub fn transform(value: &Value) -> Option<(CustomType, Value)> {
    match value {
        Value::Null | Value::Object(_) => None,
        Value::Bool(_) => Some((CustomType::Boolean, value.clone())),
        Value::Number(_) => Some((CustomType::Number, value.clone())),
        Value::String(_) => Some((CustomType::String, value.clone())),
        Value::Array(items) => {
            let numeric = items.first().is_some_and(Value::is_number)
                && items.iter().all(|v| json_type(v) == json_type(&items[0]));
            if numeric {
                return Some((CustomType::NumberArray, value.clone()));
            }
            let strings = items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Value::String(s.clone()),
                    other => Value::String(other.to_string()),
                })
                .collect();
            Some((CustomType::StringArray, Value::Array(strings)))
        }
    }
}

/// JavaScript's `typeof` classes, which decide whether an array is of one type.
fn json_type(v: &Value) -> u8 {
    match v {
        Value::Bool(_) => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        // typeof null, arrays and objects are all "object"
        Value::Null | Value::Array(_) | Value::Object(_) => 3,
    }
}

/// One custom property and the type chosen for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub chosen: CustomType,
    /// How many users had each type, in the order the types were first seen.
    pub counts: Vec<(CustomType, u64)>,
}

/// Counts types per property over users.
#[derive(Default)]
pub struct TypeCounts {
    keys: HashMap<String, Vec<(CustomType, u64)>>,
}

impl TypeCounts {
    pub fn add(&mut self, name: &str, ty: CustomType) {
        let counts = match self.keys.get_mut(name) {
            Some(c) => c,
            None => self.keys.entry(name.to_string()).or_default(),
        };
        match counts.iter_mut().find(|(t, _)| *t == ty) {
            Some((_, n)) => *n += 1,
            None => counts.push((ty, 1)),
        }
    }

    /// The properties, sorted by name, each with the most common type (a tie: the first seen).
    pub fn resolve(self) -> Vec<Property> {
        let mut props: Vec<Property> = self
            .keys
            .into_iter()
            .map(|(name, counts)| {
                let mut chosen = counts[0];
                for c in &counts[1..] {
                    if c.1 > chosen.1 {
                        chosen = *c;
                    }
                }
                Property {
                    name,
                    chosen: chosen.0,
                    counts,
                }
            })
            .collect();
        props.sort_by(|a, b| a.name.cmp(&b.name));
        props
    }
}

/// Why a flattened key is not a custom property of its own.
pub fn reserved(name: &str) -> Option<&'static str> {
    if name.starts_with("stormpathApiKey_") {
        Some("`stormpathApiKey_*` names hold the account's API keys")
    } else if super::ACCOUNT_PROPERTIES.contains(&name) {
        Some("the name is taken by a property made from the account itself")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn flatten_joins_nested_keys_and_drops_metadata_and_empty_objects() {
        let flat = flatten(&obj(json!({
            "href": "https://x/customData", "createdAt": "t", "modifiedAt": "t", "id": "x",
            "plan": {"tier": "gold", "seats": 5, "addons": {}, "id": "p1"},
            "nested": {"again": {"deep": true}},
            "list": [1, 2],
        })));
        assert_eq!(
            Value::Object(flat.values),
            json!({"plan_tier": "gold", "plan_seats": 5, "plan_id": "p1",
                   "nested_again_deep": true, "list": [1, 2]})
        );
        assert!(flat.collisions.is_empty());
    }

    #[test]
    fn flatten_collisions_keep_the_later_value_and_are_reported() {
        let flat = flatten(&obj(json!({"a_b": 1, "a": {"b": "two"}})));
        assert_eq!(Value::Object(flat.values), json!({"a_b": "two"}));
        assert_eq!(flat.collisions, vec!["a_b".to_string()]);
    }

    #[test]
    fn transform_types_arrays_as_the_importer_did() {
        let t = |v: Value| transform(&v).map(|(t, v)| (t.as_str(), v));
        assert_eq!(t(json!([7, 13])), Some(("number[]", json!([7, 13]))));
        assert_eq!(
            t(json!([3, "red"])),
            Some(("string[]", json!(["3", "red"])))
        );
        assert_eq!(t(json!(["b", 2])), Some(("string[]", json!(["b", "2"]))));
        assert_eq!(t(json!([])), Some(("string[]", json!([]))));
        assert_eq!(
            t(json!([{"o": 1}, true])),
            Some(("string[]", json!(["{\"o\":1}", "true"])))
        );
        assert_eq!(
            t(json!([1, null])),
            Some(("string[]", json!(["1", "null"])))
        );
        assert_eq!(t(json!(false)), Some(("boolean", json!(false))));
        assert_eq!(t(json!(2.5)), Some(("number", json!(2.5))));
        assert_eq!(t(json!("")), Some(("string", json!(""))));
        assert_eq!(t(Value::Null), None);
    }

    #[test]
    fn merge_fills_blanks_only_and_keeps_false_and_zero() {
        let mut base = obj(json!({"a": "x", "b": null, "c": "", "d": false, "e": 0}));
        merge_into(
            &mut base,
            &obj(
                json!({"a": "y", "b": "filled", "c": "filled", "d": true, "e": 5, "f": 1, "g": null}),
            ),
        );
        assert_eq!(
            Value::Object(base),
            json!({"a": "x", "b": "filled", "c": "filled", "d": false, "e": 0, "f": 1})
        );
    }

    #[test]
    fn most_common_type_wins_and_ties_go_to_the_first_seen() {
        let mut counts = TypeCounts::default();
        counts.add("loyaltyId", CustomType::String);
        counts.add("loyaltyId", CustomType::Number);
        counts.add("loyaltyId", CustomType::String);
        counts.add("tie", CustomType::Boolean);
        counts.add("tie", CustomType::String);
        let props = counts.resolve();
        assert_eq!(props[0].name, "loyaltyId");
        assert_eq!(props[0].chosen, CustomType::String);
        assert_eq!(
            props[0].counts,
            vec![(CustomType::String, 2), (CustomType::Number, 1)]
        );
        assert_eq!(props[1].chosen, CustomType::Boolean);
    }
}
