//! One data row of a staging file turned into a user's `data`, or into the list of what is
//! wrong with it, each problem naming its column. Values are never quoted in a problem: a cell
//! may hold an email address or a password.

use base64::Engine;
use serde_json::{Map, Number, Value};

use super::columns::{ColumnType, HASH_COLUMNS, Plan, Role};

/// A good row.
#[derive(Debug)]
pub struct Row {
    /// The row as an object with typed values; empty cells are absent.
    pub data: Map<String, Value>,
    /// The login as written (checked for duplicates, case-insensitively).
    pub login: String,
    /// The record id: the `id` cell, else the login.
    pub id: String,
    /// Group names, in cell order, without repeats.
    pub groups: Vec<String>,
    /// Things a person should read (an unconvertible hash).
    pub warnings: Vec<String>,
}

/// What is wrong with a cell, or with the row as a whole (`column: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub column: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "column {c}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// What shapes row parsing.
pub struct RowOptions {
    pub group_separator: char,
    pub login_from_email: bool,
}

/// Parse the cells of one row (as many as the plan has columns).
pub fn parse(cells: &[&[u8]], plan: &Plan, opts: &RowOptions) -> Result<Row, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut data = Map::new();
    let mut groups = Vec::new();
    let mut warnings = Vec::new();
    for (column, raw) in plan.columns.iter().zip(cells) {
        let problem = |reason: String| Problem {
            column: Some(column.label()),
            reason,
        };
        let Ok(text) = std::str::from_utf8(raw) else {
            problems.push(problem("not valid UTF-8".into()));
            continue;
        };
        // a plaintext password is taken as typed; everything else loses surrounding blanks
        let cell = if column.name == "password" {
            text
        } else {
            text.trim()
        };
        if cell.is_empty() {
            continue;
        }
        let value = match (&column.role, column.name.as_str()) {
            (Role::Custom(ty), _) => typed(cell, *ty, opts.group_separator),
            (_, "email" | "secondEmail") => {
                if is_email(cell) {
                    Ok(Value::String(cell.into()))
                } else {
                    Err("not an email address".into())
                }
            }
            (_, "status") => {
                let upper = cell.to_ascii_uppercase();
                if ["ACTIVE", "STAGED", "SUSPENDED", "DEPROVISIONED"].contains(&upper.as_str()) {
                    Ok(Value::String(upper))
                } else {
                    Err("not one of ACTIVE, STAGED, SUSPENDED, DEPROVISIONED".into())
                }
            }
            (_, "groups") => {
                groups = split_list(cell, opts.group_separator);
                Ok(Value::Array(
                    groups.iter().map(|g| Value::String(g.clone())).collect(),
                ))
            }
            (_, "password_algorithm") => {
                let upper = cell.to_ascii_uppercase();
                if ["BCRYPT", "MD5", "SHA-1", "SHA-256", "SHA-512"].contains(&upper.as_str()) {
                    Ok(Value::String(upper))
                } else {
                    Err("not one of BCRYPT, MD5, SHA-1, SHA-256, SHA-512".into())
                }
            }
            (_, "password_salt_order") => {
                let upper = cell.to_ascii_uppercase();
                if upper == "PREFIX" || upper == "POSTFIX" {
                    Ok(Value::String(upper))
                } else {
                    Err("not PREFIX or POSTFIX".into())
                }
            }
            (_, "password_work_factor") => cell
                .parse::<u8>()
                .ok()
                .filter(|n| (1..=20).contains(n))
                .map(|n| Value::Number(n.into()))
                .ok_or_else(|| "not a whole number from 1 to 20".to_string()),
            _ => Ok(Value::String(cell.into())),
        };
        match value {
            // a list cell of separators only is as empty as an empty cell
            Ok(Value::Array(items)) if items.is_empty() => {}
            Ok(v) => {
                data.insert(column.name.clone(), v);
            }
            Err(reason) => problems.push(problem(reason)),
        }
    }
    check_password(plan, &data, &mut problems, &mut warnings);
    let login = match data.get("login").and_then(Value::as_str) {
        Some(l) => Some(l.to_string()),
        None if opts.login_from_email => {
            let email = data
                .get("email")
                .and_then(Value::as_str)
                .map(str::to_string);
            if let Some(e) = &email {
                data.insert("login".into(), Value::String(e.clone()));
            }
            email
        }
        None => None,
    };
    for required in ["login", "email", "firstName", "lastName"] {
        let failed = problems.iter().any(|p| {
            p.column
                .as_deref()
                .is_some_and(|c| c.starts_with(&format!("`{required}`")))
        });
        // an absent login taken from a bad email: the email's problem says it
        let from_bad_email = required == "login"
            && opts.login_from_email
            && problems.iter().any(|p| {
                p.column
                    .as_deref()
                    .is_some_and(|c| c.starts_with("`email`"))
            });
        if !data.contains_key(required) && !failed && !from_bad_email {
            let column = plan
                .find(required)
                .map(|i| plan.columns[i].label())
                .unwrap_or_else(|| format!("`{required}`"));
            problems.push(Problem {
                column: Some(column),
                reason: if required == "login" && opts.login_from_email {
                    "empty, and no email to take it from".into()
                } else {
                    "required, but empty".into()
                },
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let login = login.unwrap_or_default();
    let id = data
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or(&login)
        .to_string();
    Ok(Row {
        data,
        login,
        id,
        groups,
        warnings,
    })
}

/// One password per row, and a hash whose fields fit together.
fn check_password(
    plan: &Plan,
    data: &Map<String, Value>,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<String>,
) {
    let label = |name: &str| {
        plan.find(name)
            .map(|i| plan.columns[i].label())
            .unwrap_or_else(|| format!("`{name}`"))
    };
    let given: Vec<&str> = ["password_hash", "password"]
        .into_iter()
        .chain(HASH_COLUMNS)
        .filter(|c| data.contains_key(*c))
        .collect();
    let forms = usize::from(data.contains_key("password_hash"))
        + usize::from(data.contains_key("password"))
        + usize::from(HASH_COLUMNS.iter().any(|c| data.contains_key(*c)));
    if forms > 1 {
        problems.push(Problem {
            column: Some(
                given
                    .iter()
                    .map(|c| label(c))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            reason: "a row gives one password: a hash (`password_hash`), the hash fields (`password_algorithm`, …) or a plaintext `password`".into(),
        });
        return;
    }
    if let Some(Value::String(mcf)) = data.get("password_hash") {
        if let Err(why) = check_mcf(mcf) {
            warnings.push(format!(
                "`password_hash` {why}: the user will be created without a password"
            ));
        }
        return;
    }
    let Some(algorithm) = data.get("password_algorithm").and_then(Value::as_str) else {
        let bad_algorithm = problems
            .iter()
            .any(|p| p.column.as_deref() == Some(label("password_algorithm").as_str()));
        if given.iter().any(|c| HASH_COLUMNS.contains(c)) && !bad_algorithm {
            problems.push(Problem {
                column: Some(label("password_algorithm")),
                reason: "required with the other hash fields".into(),
            });
        }
        return;
    };
    let mut fail = |name: &str, reason: &str| {
        problems.push(Problem {
            column: Some(label(name)),
            reason: reason.into(),
        })
    };
    let text = |name: &str| data.get(name).and_then(Value::as_str);
    let Some(value) = text("password_value") else {
        fail("password_value", "required with `password_algorithm`");
        return;
    };
    if algorithm == "BCRYPT" {
        if !data.contains_key("password_work_factor") {
            fail("password_work_factor", "required for BCRYPT");
        }
        match text("password_salt") {
            Some(s) if s.len() == 22 && s.bytes().all(is_bcrypt_char) => {}
            Some(_) => fail(
                "password_salt",
                "a BCRYPT salt is 22 characters of `./A-Za-z0-9`",
            ),
            None => fail("password_salt", "required for BCRYPT"),
        }
        if value.len() != 31 || !value.bytes().all(is_bcrypt_char) {
            fail(
                "password_value",
                "a BCRYPT value is 31 characters of `./A-Za-z0-9`",
            );
        }
        if data.contains_key("password_salt_order") {
            fail("password_salt_order", "only for salted SHA and MD5 hashes");
        }
    } else {
        if data.contains_key("password_work_factor") {
            fail("password_work_factor", "only for BCRYPT");
        }
        if !is_base64(value) {
            fail("password_value", "not Base64");
        }
        match text("password_salt") {
            Some(s) => {
                if !is_base64(s) {
                    fail("password_salt", "not Base64");
                }
                if !data.contains_key("password_salt_order") {
                    fail(
                        "password_salt_order",
                        "required with a salt (PREFIX or POSTFIX)",
                    );
                }
            }
            None if data.contains_key("password_salt_order") => {
                fail("password_salt_order", "given without a salt");
            }
            None => {}
        }
    }
}

fn is_bcrypt_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'/'
}

fn is_base64(s: &str) -> bool {
    base64::engine::general_purpose::STANDARD.decode(s).is_ok()
}

/// Whether a modular-crypt hash is one idm-map can convert (reference §2.8 and §4.3); the
/// error says why not, without quoting the hash.
pub fn check_mcf(mcf: &str) -> Result<(), String> {
    let parts: Vec<&str> = mcf.split('$').collect();
    match parts.get(1).copied() {
        Some("2a" | "2b" | "2y") => {
            let ok = parts.len() == 4
                && parts[2].len() == 2
                && parts[2].parse::<u8>().is_ok_and(|n| (4..=31).contains(&n))
                && parts[3].len() == 53
                && parts[3].bytes().all(is_bcrypt_char);
            ok.then_some(())
                .ok_or_else(|| "is not a well-formed bcrypt hash".to_string())
        }
        Some("stormpath1") => {
            let ok = parts.len() == 4 && is_base64(parts[2]) && is_base64(parts[3]);
            ok.then_some(())
                .ok_or_else(|| "is not a well-formed `$stormpath1$` hash".to_string())
        }
        Some("stormpath2") => {
            if parts.len() != 6 || !is_base64(parts[4]) || !is_base64(parts[5]) {
                return Err("is not a well-formed `$stormpath2$` hash".into());
            }
            if !["MD5", "SHA-1", "SHA-256", "SHA-512"].contains(&parts[2]) {
                return Err(format!(
                    "uses `{}`, which no target can verify",
                    parts[2].chars().take(16).collect::<String>()
                ));
            }
            if parts[3] != "1" {
                return Err(
                    "iterates its digest more than once, which no target can verify".into(),
                );
            }
            Ok(())
        }
        Some(id)
            if !id.is_empty()
                && id.len() <= 16
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            Err(format!(
                "uses the format `${id}$`, which idm does not convert"
            ))
        }
        _ => Err("is not in modular crypt format (`$id$…`)".into()),
    }
}

/// A typed custom value.
fn typed(cell: &str, ty: ColumnType, sep: char) -> Result<Value, String> {
    match ty {
        ColumnType::String => Ok(Value::String(cell.into())),
        ColumnType::Number => number(cell).ok_or_else(|| "not a number".into()),
        ColumnType::Integer => cell
            .parse::<i64>()
            .map(|n| Value::Number(n.into()))
            .map_err(|_| "not an integer".into()),
        ColumnType::Boolean => match cell.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("not `true` or `false`".into()),
        },
        ColumnType::StringArray => Ok(Value::Array(
            split_list(cell, sep)
                .into_iter()
                .map(Value::String)
                .collect(),
        )),
        ColumnType::NumberArray => split_list(cell, sep)
            .iter()
            .enumerate()
            .map(|(i, item)| number(item).ok_or_else(|| format!("item {} is not a number", i + 1)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
    }
}

/// An integer stays an integer; anything else must be a finite decimal number.
fn number(s: &str) -> Option<Value> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(Value::Number(n.into()));
    }
    let looks_decimal = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    if !looks_decimal {
        return None;
    }
    s.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
}

/// Split a list cell on `sep`; a backslash makes the next character literal. Items are
/// trimmed, empty ones dropped, repeats kept once.
pub fn split_list(cell: &str, sep: char) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut chars = cell.chars();
    let push = |current: &mut String, items: &mut Vec<String>| {
        let item = current.trim().to_string();
        if !item.is_empty() && !items.contains(&item) {
            items.push(item);
        }
        current.clear();
    };
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next) => current.push(next),
                None => current.push('\\'),
            }
        } else if c == sep {
            push(&mut current, &mut items);
        } else {
            current.push(c);
        }
    }
    push(&mut current, &mut items);
    items
}

/// `local@domain.tld`: one `@`, no blanks, a domain of dot-separated non-empty labels (the
/// same rule as `schemas/csv/user.schema.json`).
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let clean = |p: &str| {
        !p.is_empty()
            && !p
                .chars()
                .any(|c| c == '@' || c.is_whitespace() || c.is_control())
    };
    clean(local)
        && clean(domain)
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(h: &[&str]) -> Plan {
        let headers: Vec<String> = h.iter().map(|s| s.to_string()).collect();
        Plan::new(&headers, None, true, false).unwrap()
    }

    const OPTS: RowOptions = RowOptions {
        group_separator: '|',
        login_from_email: false,
    };

    fn row(p: &Plan, cells: &[&str]) -> Result<Row, Vec<String>> {
        let cells: Vec<&[u8]> = cells.iter().map(|c| c.as_bytes()).collect();
        parse(&cells, p, &OPTS).map_err(|ps| ps.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn typed_values_and_lists() {
        let p = plan(&[
            "login",
            "email",
            "firstName",
            "lastName",
            "age:integer",
            "score:number",
            "vip:boolean",
            "tags:string[]",
            "ns:number[]",
            "groups",
            "status",
        ]);
        let r = row(
            &p,
            &[
                "a@x.io",
                " a@x.io ",
                "A",
                "B",
                "42",
                "2.5",
                "TRUE",
                "x\\|y|z||z",
                "1|2.5",
                "Sales|  EMEA ",
                "active",
            ],
        )
        .unwrap();
        assert_eq!(
            Value::Object(r.data),
            json!({"login": "a@x.io", "email": "a@x.io", "firstName": "A", "lastName": "B",
                   "age": 42, "score": 2.5, "vip": true, "tags": ["x|y", "z"], "ns": [1, 2.5],
                   "groups": ["Sales", "EMEA"], "status": "ACTIVE"})
        );
        assert_eq!(r.groups, vec!["Sales", "EMEA"]);
        assert_eq!(r.id, "a@x.io");
        // lists of separators only are absent, like empty cells
        let r = row(
            &p,
            &[
                "a@x.io", "a@x.io", "A", "B", "", "", "", " | ", "", "||", "",
            ],
        )
        .unwrap();
        assert!(!r.data.contains_key("tags") && !r.data.contains_key("groups"));
        assert!(r.groups.is_empty());
    }

    #[test]
    fn every_problem_names_its_column_and_never_the_value() {
        let p = plan(&[
            "login",
            "email",
            "firstName",
            "lastName",
            "age:integer",
            "vip:boolean",
            "status",
        ]);
        let errs = row(
            &p,
            &["secret-login", "not-an-email", "", "B", "4x", "yes", "gone"],
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "column `email`: not an email address",
                "column `age:integer`: not an integer",
                "column `vip:boolean`: not `true` or `false`",
                "column `status`: not one of ACTIVE, STAGED, SUSPENDED, DEPROVISIONED",
                "column `firstName`: required, but empty",
            ]
        );
        assert!(
            errs.iter()
                .all(|e| !e.contains("not-an-email") && !e.contains("4x"))
        );
        // bad encoding
        let cells: Vec<&[u8]> = vec![b"a@x.io", b"a@x.io", b"\xff\xfe", b"B", b"", b"", b""];
        let errs = parse(&cells, &p, &OPTS).unwrap_err();
        assert_eq!(errs[0].to_string(), "column `firstName`: not valid UTF-8");
    }

    #[test]
    fn passwords_one_form_per_row_and_hash_fields_that_fit() {
        let p = plan(&[
            "login",
            "email",
            "firstName",
            "lastName",
            "password_hash",
            "password_algorithm",
            "password_salt",
            "password_salt_order",
            "password_value",
            "password_work_factor",
            "password",
        ]);
        let base = ["a@x.io", "a@x.io", "A", "B"];
        let with = |rest: [&str; 7]| {
            let cells: Vec<&str> = base.iter().copied().chain(rest).collect();
            row(&p, &cells)
        };
        let bcrypt = "$2a$10$N9qo8uLOickgx2ZMRZoMyeKDO7gYklv7H8hCFMp67/9ylzbDl451y";
        assert!(
            with([bcrypt, "", "", "", "", "", ""])
                .unwrap()
                .warnings
                .is_empty()
        );
        let errs = with([bcrypt, "", "", "", "", "", " hunter2 "]).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("column `password_hash`, `password`: a row gives one password"),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .all(|e| !e.contains("hunter2") && !e.contains("N9qo8"))
        );
        // the plaintext password keeps its blanks
        assert_eq!(
            with(["", "", "", "", "", "", " hunter2 "]).unwrap().data["password"],
            " hunter2 "
        );
        // an unknown format is a warning, not a rejection
        let r = with(["{SSHA}abc", "", "", "", "", "", ""]).unwrap();
        assert_eq!(
            r.warnings,
            vec![
                "`password_hash` is not in modular crypt format (`$id$…`): the user will be created without a password"
            ]
        );
        let r = with([
            "$stormpath2$SHA-256$1024$c2FsdA==$aGFzaA==",
            "",
            "",
            "",
            "",
            "",
            "",
        ])
        .unwrap();
        assert!(r.warnings[0].contains("more than once"), "{:?}", r.warnings);
        // the Okta hash fields
        let ok = with(["", "sha-256", "c2FsdA==", "prefix", "aGFzaA==", "", ""]).unwrap();
        assert_eq!(ok.data["password_algorithm"], "SHA-256");
        assert_eq!(ok.data["password_salt_order"], "PREFIX");
        assert_eq!(
            with(["", "SHA-256", "c2FsdA==", "", "aGFzaA==", "", ""]).unwrap_err(),
            vec!["column `password_salt_order`: required with a salt (PREFIX or POSTFIX)"]
        );
        assert_eq!(
            with([
                "",
                "BCRYPT",
                "N9qo8uLOickgx2ZMRZoMye",
                "",
                "KDO7gYklv7H8hCFMp67/9ylzbDl451y",
                "10",
                ""
            ])
            .unwrap()
            .data["password_work_factor"],
            10
        );
        assert_eq!(
            with([
                "",
                "BCRYPT",
                "short",
                "",
                "KDO7gYklv7H8hCFMp67/9ylzbDl451y",
                "",
                ""
            ])
            .unwrap_err(),
            vec![
                "column `password_work_factor`: required for BCRYPT",
                "column `password_salt`: a BCRYPT salt is 22 characters of `./A-Za-z0-9`",
            ]
        );
        assert_eq!(
            with(["", "", "c2FsdA==", "", "", "", ""]).unwrap_err(),
            vec!["column `password_algorithm`: required with the other hash fields"]
        );
        assert_eq!(
            with(["", "MD4", "", "", "x", "", ""]).unwrap_err(),
            vec!["column `password_algorithm`: not one of BCRYPT, MD5, SHA-1, SHA-256, SHA-512"]
        );
    }

    #[test]
    fn emails() {
        for good in ["a@b.co", "first.last+tag@sub.example.org", "ü@exämple.de"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a@b..co", "a b@c.de", "a@b@c.de", "a@.b.co", "a@b.co.",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn lists_split_with_escapes() {
        assert_eq!(split_list("a|b", '|'), vec!["a", "b"]);
        assert_eq!(split_list(r"a\|b|c\\", '|'), vec!["a|b", r"c\"]);
        assert_eq!(split_list(" | a |a|", '|'), vec!["a"]);
        assert_eq!(split_list(r"trailing\", '|'), vec![r"trailing\"]);
        assert_eq!(split_list("x;y", ';'), vec!["x", "y"]);
    }

    #[test]
    fn mcf_formats() {
        assert!(check_mcf("$2a$10$N9qo8uLOickgx2ZMRZoMyeKDO7gYklv7H8hCFMp67/9ylzbDl451y").is_ok());
        assert!(check_mcf("$2y$10$N9qo8uLOickgx2ZMRZoMyeKDO7gYklv7H8hCFMp67/9ylzbDl451y").is_ok());
        assert!(check_mcf("$2x$10$N9qo8uLOickgx2ZMRZoMyeKDO7gYklv7H8hCFMp67/9ylzbDl451y").is_err());
        assert!(
            check_mcf(
                "$stormpath1$AQIDBAUGBwgJCgsMDQ4PEA==$mA6A6p7ZLPT2mu4gFTj0v6WqbIQfs06aSZ4c8jy7ZDQ="
            )
            .is_ok()
        );
        assert!(check_mcf("$stormpath2$SHA-256$1$cGVwcGVyMTZieXRlcyEhIQ==$yl9FDWmVVzMOvrPcKEJkBpbMAWMIvIh4M5sjAcG7mFs=").is_ok());
        assert!(
            check_mcf("$stormpath2$SHA-384$1$c2FsdA==$aGFzaA==")
                .unwrap_err()
                .contains("SHA-384")
        );
        assert!(check_mcf("$stormpath2$MD5$1$$aGFzaA==").is_ok());
        assert!(check_mcf("$6$salt$hash").unwrap_err().contains("`$6$`"));
    }
}
