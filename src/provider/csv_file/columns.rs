//! The header row of a staging file, turned into a plan of typed columns before the first row.
//!
//! A header is matched by exact name, in any order. `--columns MAPPING.json` renames the file's
//! headers onto ours first (`{"Mail": "email", "Cost": "costCenter"}`); a custom column may
//! carry its type after a colon (`age:integer`). Every problem of a header is an error naming
//! the column: a plan that starts wrong would reject every row.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::CsvError;
use crate::record::schema::{CSV_COLUMNS, Schemas};

/// The profile attributes Okta's own CSV import takes (reference §4.1), kept as strings: the
/// base properties of Okta's default user profile.
pub const BASE_COLUMNS: &[&str] = crate::provider::okta::BASE_PROPERTIES;

/// Columns with a meaning of their own besides the base profile.
pub const SPECIAL_COLUMNS: [&str; 10] = [
    "id",
    "status",
    "groups",
    "password_hash",
    "password_algorithm",
    "password_salt",
    "password_salt_order",
    "password_value",
    "password_work_factor",
    "password",
];

/// The Okta hash object, one column per field.
pub const HASH_COLUMNS: [&str; 5] = [
    "password_algorithm",
    "password_salt",
    "password_salt_order",
    "password_value",
    "password_work_factor",
];

/// The type of a custom column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    String,
    Number,
    Integer,
    Boolean,
    StringArray,
    NumberArray,
}

impl ColumnType {
    pub fn parse(s: &str) -> Option<ColumnType> {
        Some(match s {
            "string" => ColumnType::String,
            "number" => ColumnType::Number,
            "integer" => ColumnType::Integer,
            "boolean" => ColumnType::Boolean,
            "string[]" => ColumnType::StringArray,
            "number[]" => ColumnType::NumberArray,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Number => "number",
            ColumnType::Integer => "integer",
            ColumnType::Boolean => "boolean",
            ColumnType::StringArray => "string[]",
            ColumnType::NumberArray => "number[]",
        }
    }
}

/// What a column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A base profile attribute, a special column, or a custom one: its key in `data`.
    Base,
    Special,
    Custom(ColumnType),
}

/// One column of the plan.
#[derive(Debug, Clone)]
pub struct Column {
    /// The header as the file has it.
    pub header: String,
    /// Our name for it: the key in `data` (`age` for `age:integer`).
    pub name: String,
    pub role: Role,
}

impl Column {
    /// How messages name the column: ours, and the file's header when they differ.
    pub fn label(&self) -> String {
        let typed = self
            .header
            .strip_prefix(self.name.as_str())
            .is_some_and(|rest| rest.starts_with(':'));
        if self.header == self.name || typed {
            format!("`{}`", self.header)
        } else {
            format!("`{}` (header `{}`)", self.name, self.header)
        }
    }
}

/// The columns of a file, in file order.
#[derive(Debug)]
pub struct Plan {
    pub columns: Vec<Column>,
    by_name: HashMap<String, usize>,
}

impl Plan {
    /// The position of our column `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Build the plan from the header cells, with `mapping` (file header → our name) applied.
    pub fn new(
        headers: &[String],
        mapping: Option<&Mapping>,
        allow_plaintext: bool,
        login_from_email: bool,
    ) -> Result<Plan, String> {
        if let Some(m) = mapping {
            for from in m.renames.keys() {
                if !headers.iter().any(|h| h == from) {
                    return Err(format!(
                        "`--columns` maps `{from}`, which is not a column of the file"
                    ));
                }
            }
        }
        let mut columns = Vec::with_capacity(headers.len());
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for (i, header) in headers.iter().enumerate() {
            if header.trim().is_empty() {
                return Err(format!("column {} has no name", i + 1));
            }
            let target = mapping
                .and_then(|m| m.renames.get(header))
                .cloned()
                .unwrap_or_else(|| header.clone());
            let column = classify(header, &target)?;
            if let Some(&first) = by_name.get(&column.name) {
                return Err(format!(
                    "{} and {} are the same column",
                    columns_label(&columns[first]),
                    columns_label(&column)
                ));
            }
            by_name.insert(column.name.clone(), i);
            columns.push(column);
        }
        let plan = Plan { columns, by_name };
        let mut required = vec!["email", "firstName", "lastName"];
        if !login_from_email {
            required.insert(0, "login");
        }
        let missing: Vec<String> = required
            .iter()
            .filter(|c| plan.find(c).is_none())
            .map(|c| format!("`{c}`"))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "no {} column{} (required{})",
                missing.join(", "),
                if missing.len() > 1 { "s" } else { "" },
                if missing[0] == "`login`" {
                    "; `--login-from-email` fills an absent login from the email"
                } else {
                    ""
                }
            ));
        }
        if plan.find("password").is_some() && !allow_plaintext {
            return Err(
                "column `password` holds plaintext passwords: pass `--allow-plaintext-passwords` to export them (they go into the records, never into messages)"
                    .into(),
            );
        }
        Ok(plan)
    }
}

fn columns_label(c: &Column) -> String {
    if c.header == c.name {
        format!("`{}`", c.header)
    } else {
        format!("`{}` (mapped onto `{}`)", c.header, c.name)
    }
}

/// Classify one column: `header` as the file has it, `target` after `--columns`.
fn classify(header: &str, target: &str) -> Result<Column, String> {
    let (name, ty) = match target.split_once(':') {
        Some((n, t)) => (n, Some(t)),
        None => (target, None),
    };
    let column = |role| Column {
        header: header.to_string(),
        name: name.to_string(),
        role,
    };
    let known = BASE_COLUMNS.contains(&name) || SPECIAL_COLUMNS.contains(&name);
    if known {
        if let Some(t) = ty {
            return Err(format!(
                "column `{target}`: `{name}` has a fixed meaning and takes no type (`:{t}`)"
            ));
        }
        let role = if BASE_COLUMNS.contains(&name) {
            Role::Base
        } else {
            Role::Special
        };
        return Ok(column(role));
    }
    if !valid_name(name) {
        return Err(format!(
            "column `{target}`: a custom column name starts with a letter and holds only letters, digits and `_` (map the header with `--columns`)"
        ));
    }
    if let Some(base) = BASE_COLUMNS
        .iter()
        .chain(SPECIAL_COLUMNS.iter())
        .find(|b| b.eq_ignore_ascii_case(name))
    {
        return Err(format!(
            "column `{target}` differs from idm's `{base}` only by case: rename it, or map it with `--columns`"
        ));
    }
    let ty = match ty {
        None => ColumnType::String,
        Some(t) => ColumnType::parse(t).ok_or_else(|| {
            format!(
                "column `{target}`: unknown type `{t}`; expected string, number, integer, boolean, string[] or number[]"
            )
        })?,
    };
    Ok(column(Role::Custom(ty)))
}

/// `^[A-Za-z][A-Za-z0-9_]*$`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A `--columns` file: the file's headers → our column names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub renames: HashMap<String, String>,
}

impl Mapping {
    /// Read and check a `--columns` file against `schemas/csv/columns.schema.json`.
    pub fn read(path: &Path) -> Result<Mapping, CsvError> {
        let fail = |reason: String| CsvError::Columns {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| fail(format!("not JSON: {e}")))?;
        Mapping::from_value(&value).map_err(fail)
    }

    /// Check a parsed mapping.
    pub fn from_value(value: &Value) -> Result<Mapping, String> {
        Schemas::get()
            .check(CSV_COLUMNS, value)
            .map_err(|e| e.to_string())?;
        let mut renames = HashMap::new();
        let mut targets: HashMap<String, String> = HashMap::new();
        if let Value::Object(map) = value {
            for (from, to) in map {
                let to = to.as_str().unwrap_or_default().to_string();
                let name = to.split(':').next().unwrap_or_default().to_string();
                if let Some(other) = targets.insert(name.clone(), from.clone()) {
                    return Err(format!(
                        "`{other}` and `{from}` are both mapped onto `{name}`"
                    ));
                }
                renames.insert(from.clone(), to);
            }
        }
        Ok(Mapping { renames })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn columns_in_any_order_with_types() {
        let plan = Plan::new(
            &headers(&[
                "email",
                "age:integer",
                "lastName",
                "login",
                "firstName",
                "tags:string[]",
                "groups",
            ]),
            None,
            false,
            false,
        )
        .unwrap();
        assert_eq!(plan.find("age"), Some(1));
        assert_eq!(plan.columns[1].role, Role::Custom(ColumnType::Integer));
        assert_eq!(plan.columns[5].role, Role::Custom(ColumnType::StringArray));
        assert_eq!(plan.columns[6].role, Role::Special);
        assert_eq!(plan.columns[0].role, Role::Base);
    }

    #[test]
    fn header_problems_name_the_column() {
        let err = |h: &[&str]| Plan::new(&headers(h), None, false, false).unwrap_err();
        assert_eq!(
            err(&["login", "email", "firstName"]),
            "no `lastName` column (required)"
        );
        assert!(err(&["email", "firstName", "lastName"]).contains("`--login-from-email`"));
        assert_eq!(
            err(&["login", "email", "firstName", "lastName", "email"]),
            "`email` and `email` are the same column"
        );
        assert!(
            err(&["login", "email", "firstName", "lastName", "Email"]).contains("only by case")
        );
        assert!(
            err(&["login", "email", "firstName", "lastName", "cost center"])
                .contains("custom column name")
        );
        assert!(
            err(&["login", "email", "firstName", "lastName", "age:int"])
                .contains("unknown type `int`")
        );
        assert!(err(&["login", "email:string", "firstName", "lastName"]).contains("takes no type"));
        assert!(
            err(&["login", "email", "firstName", "lastName", "password"])
                .contains("--allow-plaintext-passwords")
        );
        assert_eq!(
            err(&["login", "email", "", "firstName", "lastName"]),
            "column 3 has no name"
        );
        assert!(
            Plan::new(
                &headers(&["email", "firstName", "lastName"]),
                None,
                false,
                true
            )
            .is_ok()
        );
    }

    #[test]
    fn a_mapping_renames_headers_and_is_checked() {
        let m = Mapping::from_value(&json!({"Mail": "email", "Given": "firstName", "Family": "lastName", "User": "login", "Age": "age:integer"})).unwrap();
        let plan = Plan::new(
            &headers(&["User", "Mail", "Given", "Family", "Age"]),
            Some(&m),
            false,
            false,
        )
        .unwrap();
        assert_eq!(plan.find("email"), Some(1));
        assert_eq!(plan.columns[4].label(), "`age` (header `Age`)");
        assert_eq!(plan.columns[4].role, Role::Custom(ColumnType::Integer));
        // a key that is not a header
        let err = Plan::new(
            &headers(&["login", "email", "firstName", "lastName"]),
            Some(&m),
            false,
            false,
        )
        .unwrap_err();
        assert!(err.contains("`--columns` maps `"), "{err}");
        // mapped onto a column the file already has
        let m = Mapping::from_value(&json!({"Mail": "email"})).unwrap();
        let err = Plan::new(
            &headers(&["login", "email", "Mail", "firstName", "lastName"]),
            Some(&m),
            false,
            false,
        )
        .unwrap_err();
        assert_eq!(
            err,
            "`email` and `Mail` (mapped onto `email`) are the same column"
        );
        // two headers onto one name
        let err = Mapping::from_value(&json!({"A": "email", "B": "email"})).unwrap_err();
        assert_eq!(err, "`A` and `B` are both mapped onto `email`");
        // not strings, bad names: the schema names the key
        let err = Mapping::from_value(&json!({"A": 3})).unwrap_err();
        assert!(err.starts_with("A: "), "{err}");
        let err = Mapping::from_value(&json!({"A": "cost center"})).unwrap_err();
        assert!(err.starts_with("A: "), "{err}");
        assert!(Mapping::from_value(&json!(["email"])).is_err());
    }
}
