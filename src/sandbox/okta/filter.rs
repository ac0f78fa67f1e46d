//! Okta's `filter` and `search` expression language, the subset the Users, Groups and Apps
//! APIs accept: `attr op value` terms joined by `and`/`or`, with parentheses.
//!
//! Parsing is separate from checking: each endpoint and mode (`filter` is narrow, `search`
//! broad) has its own list of attributes and operators, and anything outside it is a 400
//! `E0000031`, as on the real service — a simulator that accepted more would let a client
//! ship a query that fails on a real tenant.

use std::cmp::Ordering;

use serde_json::Value;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Sw,
    Co,
    Gt,
    Ge,
    Lt,
    Le,
    Pr,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "sw" => Op::Sw,
            "co" => Op::Co,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            "pr" => Op::Pr,
            _ => return None,
        })
    }

    pub fn is_order(self) -> bool {
        matches!(self, Op::Gt | Op::Ge | Op::Lt | Op::Le)
    }
}

/// Deepest nesting of parentheses accepted. The parser and the evaluator recurse once per
/// level; without a cap, a query of a few thousand `(` overflowed the stack and killed the
/// whole server. No source gives Okta's own limit; real queries nest two or three deep.
pub const MAX_DEPTH: usize = 64;

/// A parsed expression. `and`/`or` chains are flat lists, so only parentheses nest: a chain
/// of thousands of terms is a loop, not a recursion.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cmp { attr: String, op: Op, value: Value },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '"' => {
                chars.next();
                let mut v = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(e) => v.push(e),
                            None => return Err("unterminated string".into()),
                        },
                        Some('"') => break,
                        Some(ch) => v.push(ch),
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let mut w = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_whitespace() || ch == '(' || ch == ')' || ch == '"' {
                        break;
                    }
                    w.push(ch);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

/// Parse an expression; more than [`MAX_DEPTH`] nested parentheses is an error.
pub fn parse(s: &str) -> Result<Expr, String> {
    let toks = tokenize(s)?;
    let mut pos = 0;
    let e = parse_or(&toks, &mut pos, 0)?;
    if pos != toks.len() {
        return Err(format!("unexpected token at {pos}"));
    }
    Ok(e)
}

fn is_kw(t: Option<&Tok>, kw: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
}

fn parse_or(t: &[Tok], pos: &mut usize, depth: usize) -> Result<Expr, String> {
    let mut items = vec![parse_and(t, pos, depth)?];
    while is_kw(t.get(*pos), "or") {
        *pos += 1;
        items.push(parse_and(t, pos, depth)?);
    }
    Ok(if items.len() == 1 {
        items.swap_remove(0)
    } else {
        Expr::Or(items)
    })
}

fn parse_and(t: &[Tok], pos: &mut usize, depth: usize) -> Result<Expr, String> {
    let mut items = vec![parse_term(t, pos, depth)?];
    while is_kw(t.get(*pos), "and") {
        *pos += 1;
        items.push(parse_term(t, pos, depth)?);
    }
    Ok(if items.len() == 1 {
        items.swap_remove(0)
    } else {
        Expr::And(items)
    })
}

fn parse_term(t: &[Tok], pos: &mut usize, depth: usize) -> Result<Expr, String> {
    match t.get(*pos) {
        Some(Tok::Open) => {
            if depth >= MAX_DEPTH {
                return Err(format!("more than {MAX_DEPTH} nested parentheses"));
            }
            *pos += 1;
            let e = parse_or(t, pos, depth + 1)?;
            if t.get(*pos) != Some(&Tok::Close) {
                return Err("missing `)`".into());
            }
            *pos += 1;
            Ok(e)
        }
        Some(Tok::Word(attr)) => {
            let attr = attr.clone();
            *pos += 1;
            let op = match t.get(*pos) {
                Some(Tok::Word(w)) => {
                    Op::parse(w).ok_or_else(|| format!("unknown operator `{w}`"))?
                }
                _ => return Err("missing operator".into()),
            };
            *pos += 1;
            if op == Op::Pr {
                return Ok(Expr::Cmp {
                    attr,
                    op,
                    value: Value::Null,
                });
            }
            let value = match t.get(*pos) {
                Some(Tok::Str(s)) => Value::String(s.clone()),
                Some(Tok::Word(w)) => match w.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => serde_json::from_str::<serde_json::Number>(w)
                        .map(Value::Number)
                        .map_err(|_| format!("bad value `{w}`"))?,
                },
                _ => return Err("missing value".into()),
            };
            *pos += 1;
            Ok(Expr::Cmp { attr, op, value })
        }
        _ => Err("expected a term".into()),
    }
}

impl Expr {
    /// Every comparison in the expression.
    pub fn terms(&self) -> Vec<(&str, Op, &Value)> {
        let mut out = Vec::new();
        self.collect_terms(&mut out);
        out
    }

    fn collect_terms<'a>(&'a self, out: &mut Vec<(&'a str, Op, &'a Value)>) {
        match self {
            Expr::And(items) | Expr::Or(items) => {
                for e in items {
                    e.collect_terms(out);
                }
            }
            Expr::Cmp { attr, op, value } => out.push((attr.as_str(), *op, value)),
        }
    }

    /// Evaluate against an object; `get` returns an attribute's value (`None`: absent).
    /// `fold_case`: string values compare case-insensitively (`search`).
    pub fn matches(&self, get: &mut dyn FnMut(&str) -> Option<Value>, fold_case: bool) -> bool {
        match self {
            Expr::And(items) => items.iter().all(|e| e.matches(get, fold_case)),
            Expr::Or(items) => items.iter().any(|e| e.matches(get, fold_case)),
            Expr::Cmp { attr, op, value } => {
                let actual = get(attr);
                match actual {
                    None | Some(Value::Null) => false,
                    Some(Value::Array(items)) if *op != Op::Pr => {
                        items.iter().any(|v| compare(v, *op, value, fold_case))
                    }
                    Some(v) => compare(&v, *op, value, fold_case),
                }
            }
        }
    }
}

fn epoch_nanos(s: &str) -> Option<i128> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp_nanos())
}

fn compare(actual: &Value, op: Op, want: &Value, fold_case: bool) -> bool {
    if op == Op::Pr {
        return !matches!(actual, Value::String(s) if s.is_empty());
    }
    match (actual, want) {
        (Value::String(a), Value::String(w)) => {
            let (a, w) = if fold_case {
                (a.to_lowercase(), w.to_lowercase())
            } else {
                (a.clone(), w.clone())
            };
            match op {
                Op::Eq => a == w,
                Op::Sw => a.starts_with(&w),
                Op::Co => a.contains(&w),
                _ => {
                    let ord = match (epoch_nanos(&a), epoch_nanos(&w)) {
                        (Some(x), Some(y)) => x.cmp(&y),
                        _ => a.cmp(&w),
                    };
                    order_holds(op, ord)
                }
            }
        }
        (Value::Number(a), Value::Number(w)) => {
            let (a, w) = (a.as_f64().unwrap_or(0.0), w.as_f64().unwrap_or(0.0));
            match op {
                Op::Eq => a == w,
                _ if op.is_order() => a.partial_cmp(&w).is_some_and(|o| order_holds(op, o)),
                _ => false,
            }
        }
        // `badgeNumber eq "1001"`: a quoted number still finds a number
        (Value::Number(a), Value::String(w)) => op == Op::Eq && a.to_string() == *w,
        (Value::Bool(a), Value::Bool(w)) => op == Op::Eq && a == w,
        (Value::Bool(a), Value::String(w)) => op == Op::Eq && a.to_string() == w.to_lowercase(),
        _ => false,
    }
}

fn order_holds(op: Op, ord: Ordering) -> bool {
    match op {
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        _ => false,
    }
}

/// Look up a dotted path (`profile.firstName`, `type.id`) in an object.
pub fn lookup(obj: &Value, path: &str) -> Option<Value> {
    let mut cur = obj;
    for part in path.split('.') {
        cur = cur.get(part)?;
    }
    Some(cur.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(expr: &str, obj: &Value, fold: bool) -> bool {
        parse(expr).unwrap().matches(&mut |a| lookup(obj, a), fold)
    }

    #[test]
    fn parses_and_or_with_precedence_and_parentheses() {
        let u = json!({"status": "ACTIVE", "profile": {"firstName": "Zoë", "login": "z@x"}});
        assert!(eval(
            r#"status eq "ACTIVE" or status eq "STAGED" and id eq "x""#,
            &u,
            false
        ));
        assert!(!eval(
            r#"(status eq "ACTIVE" or status eq "STAGED") and id eq "x""#,
            &u,
            false
        ));
        assert!(eval(r#"profile.firstName EQ "Zoë""#, &u, false));
        assert!(!eval(r#"profile.firstName eq "zoë""#, &u, false));
        assert!(eval(r#"profile.firstName eq "zoë""#, &u, true));
        assert!(eval(r#"profile.login sw "z@""#, &u, true));
    }

    #[test]
    fn compares_dates_as_instants() {
        let u = json!({"lastUpdated": "2020-01-01T00:00:00.500Z"});
        assert!(eval(r#"lastUpdated gt "2020-01-01T00:00:00Z""#, &u, false));
        assert!(eval(
            r#"lastUpdated lt "2020-01-01T00:00:01.000Z""#,
            &u,
            false
        ));
        assert!(!eval(
            r#"lastUpdated ge "2021-01-01T00:00:00.000Z""#,
            &u,
            false
        ));
    }

    #[test]
    fn arrays_match_any_element_and_numbers_compare() {
        let u = json!({"profile": {"skills": ["rust", "sql"], "badgeNumber": 1001}});
        assert!(eval(r#"profile.skills eq "sql""#, &u, true));
        assert!(eval("profile.badgeNumber gt 1000", &u, true));
        assert!(eval(r#"profile.badgeNumber eq "1001""#, &u, true));
        assert!(eval("profile.badgeNumber pr", &u, true));
        assert!(!eval("profile.nothing pr", &u, true));
    }

    #[test]
    fn deep_nesting_is_an_error_and_long_chains_are_fine() {
        // regression: ~2,000 nested parentheses overflowed the stack and killed the server
        let deep = format!(
            "{}status eq \"ACTIVE\"{}",
            "(".repeat(2000),
            ")".repeat(2000)
        );
        assert!(parse(&deep).unwrap_err().contains("nested parentheses"));
        let ok = format!(
            "{}status eq \"ACTIVE\"{}",
            "(".repeat(MAX_DEPTH),
            ")".repeat(MAX_DEPTH)
        );
        assert!(parse(&ok).is_ok());
        // a flat chain of 20,000 terms neither recurses nor overflows, in parsing, evaluation
        // or drop
        let chain = vec![r#"id eq "x""#; 20_000].join(" or ");
        let e = parse(&format!("{chain} or status eq \"ACTIVE\"")).unwrap();
        assert_eq!(e.terms().len(), 20_001);
        let u = json!({"status": "ACTIVE", "id": "y"});
        assert!(e.matches(&mut |a| lookup(&u, a), false));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "status",
            "status eq",
            r#"status zz "A""#,
            r#"(status eq "A""#,
            r#"status eq "A"#,
            "status eq A",
        ] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
    }
}
