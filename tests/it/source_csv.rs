//! `idm-export --from csv`: a generated 10,000-row staging file with every kind of bad row
//! (each named by line and column, written whole to `--rejects`, the rest exported, exit 3),
//! BOM and CRLF, a `--columns` mapping, stdin, plaintext passwords, and flat memory.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use idm::export::{self, ORDER};
use idm::provider::csv_file::{CsvFile, CsvOptions};
use idm::provider::{ExportOptions, Source};
use idm::record::schema::Schemas;
use idm::record::{Kind, RecordWriter};
use serde_json::{Value, json};

// ---------- running the binary ----------

fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_idm-export"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(args);
    c
}

fn run(args: &[&str]) -> Output {
    cmd(args).output().unwrap()
}

fn show(out: &Output) -> String {
    format!(
        "status: {}\nstdout (head): {}\nstderr (head): {}",
        out.status,
        String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(2000)]),
        String::from_utf8_lossy(&out.stderr[..out.stderr.len().min(4000)])
    )
}

/// The records of an export (stream markers left out).
fn records(out: &Output) -> Vec<Value> {
    crate::util::records(&String::from_utf8(out.stdout.clone()).unwrap())
}

fn of_kind<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["kind"] == kind).collect()
}

fn assert_valid(records: &[Value]) {
    let schemas = Schemas::get();
    for r in records {
        schemas
            .validate_value(r)
            .unwrap_or_else(|e| panic!("{e}: {r}"));
        assert!(!r["warnings"].to_string().contains("schema"), "{r}");
    }
}

// ---------- the generated file ----------

pub(crate) const HEADER: &str = "login,email,firstName,lastName,status,groups,age:integer,vip:boolean,scores:number[],password_hash,password";

/// One kind of bad row: its cells (or raw bytes), and the column the message must name.
pub(crate) struct Bad {
    pub bytes: Vec<u8>,
    pub column: &'static str,
}

fn good_row(i: usize) -> String {
    let groups = match i % 4 {
        0 => "Sales|EMEA".to_string(),
        1 => "Sales".to_string(),
        2 => String::new(),
        _ => format!("Team {}|Sales\\|Ops", i % 10),
    };
    let name = if i == 17 {
        "\"Multi\nLine\"".to_string()
    } else {
        format!("First{i}")
    };
    format!(
        "user{i}@example.com,user{i}@example.com,{name},Last{i},{},{groups},{},{},{},{},",
        if i.is_multiple_of(3) { "ACTIVE" } else { "" },
        i % 90,
        if i.is_multiple_of(2) { "true" } else { "FALSE" },
        if i.is_multiple_of(5) {
            "1|2.5".to_string()
        } else {
            String::new()
        },
        if i.is_multiple_of(11) {
            "$2a$10$N9qo8uLOickgx2ZMRZoMyeKDO7gYklv7H8hCFMp67/9ylzbDl451y"
        } else {
            ""
        },
    )
}

fn bad_row(kind: usize, i: usize) -> Bad {
    let b = |s: String, column| Bad {
        bytes: s.into_bytes(),
        column,
    };
    match kind {
        0 => b(
            format!("bad{i}@example.com,bad{i}@example.com,A,B"),
            "4 fields, but the header has 11",
        ),
        1 => b(
            format!("bad{i}@example.com,bad{i}@example.com,A,B,,,,,,,,extra"),
            "12 fields, but the header has 11",
        ),
        2 => b(
            format!("bad{i}@example.com,not-an-email-{i},A,B,,,,,,,"),
            "column `email`: not an email address",
        ),
        // the login of an earlier good row, in other case
        3 => b(
            format!("USER{}@EXAMPLE.COM,dup{i}@example.com,A,B,,,,,,,", i - 1),
            "column `login`: the same login as line",
        ),
        4 => {
            let mut bytes = format!("bad{i}@example.com,bad{i}@example.com,").into_bytes();
            bytes.extend_from_slice(b"Caf\xe9,B,,,,,,,");
            Bad {
                bytes,
                column: "column `firstName`: not valid UTF-8",
            }
        }
        5 => b(
            format!("bad{i}@example.com,bad{i}@example.com,A,B,,,forty,,,,"),
            "column `age:integer`: not an integer",
        ),
        6 => b(
            format!("bad{i}@example.com,bad{i}@example.com,A,B,,,,maybe,,,"),
            "column `vip:boolean`: not `true` or `false`",
        ),
        7 => b(
            format!("bad{i}@example.com,bad{i}@example.com,A,B,,,,,1|two,,"),
            "column `scores:number[]`: item 2 is not a number",
        ),
        8 => b(
            format!("bad{i}@example.com,bad{i}@example.com,,B,,,,,,,"),
            "column `firstName`: required, but empty",
        ),
        9 => b(
            format!(
                "bad{i}@example.com,bad{i}@example.com,A,B,,,,,,$2a$10$N9qo8uLOickgx2ZMRZoMyeKDO7gYklv7H8hCFMp67/9ylzbDl451y,Hunter2!"
            ),
            "column `password_hash`, `password`: a row gives one password",
        ),
        _ => b(
            format!("bad{i}@example.com,bad{i}@example.com,A,B,retired,,,,,,"),
            "column `status`: not one of",
        ),
    }
}

/// A generated staging file and what it holds (sources_e2e.rs loads it into the targets).
pub(crate) struct Generated {
    pub bytes: Vec<u8>,
    /// the logins (= emails) of the good rows
    pub good: BTreeSet<String>,
    /// line number → (the row's bytes, what the message must say)
    pub bad: BTreeMap<u64, Bad>,
    pub memberships: usize,
    /// (group name, login) of every good row's groups
    pub members: BTreeSet<(String, String)>,
    pub groups: BTreeSet<String>,
}

const BAD_KINDS: usize = 11;

/// `rows` data rows; every 97th is bad, cycling through the kinds of bad rows.
pub(crate) fn generate(rows: usize, crlf: bool, bom: bool) -> Generated {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut bytes = Vec::new();
    if bom {
        bytes.extend_from_slice("\u{feff}".as_bytes());
    }
    bytes.extend_from_slice(HEADER.as_bytes());
    bytes.extend_from_slice(eol.as_bytes());
    let mut line = 2u64;
    let mut g = Generated {
        bytes: Vec::new(),
        good: BTreeSet::new(),
        bad: BTreeMap::new(),
        memberships: 0,
        members: BTreeSet::new(),
        groups: BTreeSet::new(),
    };
    let mut kind = 0;
    for i in 0..rows {
        if i % 97 == 50 {
            let bad = bad_row(kind % BAD_KINDS, i);
            kind += 1;
            bytes.extend_from_slice(&bad.bytes);
            bytes.extend_from_slice(eol.as_bytes());
            g.bad.insert(line, bad);
            line += 1;
            continue;
        }
        let row = good_row(i);
        let groups: Vec<String> = match i % 4 {
            0 => vec!["Sales".into(), "EMEA".into()],
            1 => vec!["Sales".into()],
            2 => vec![],
            _ => vec![format!("Team {}", i % 10), "Sales|Ops".into()],
        };
        let login = format!("user{i}@example.com");
        g.memberships += groups.len();
        g.members
            .extend(groups.iter().map(|name| (name.clone(), login.clone())));
        g.groups.extend(groups);
        g.good.insert(login);
        line += 1 + row.matches('\n').count() as u64;
        bytes.extend_from_slice(row.as_bytes());
        bytes.extend_from_slice(eol.as_bytes());
    }
    g.bytes = bytes;
    g
}

#[test]
fn ten_thousand_rows_every_good_row_a_record_every_bad_row_named() {
    let dir = tempfile::tempdir().unwrap();
    let g = generate(10_000, false, false);
    let input = dir.path().join("users.csv");
    std::fs::write(&input, &g.bytes).unwrap();
    let rejects = dir.path().join("rejects.csv");
    let out = run(&[
        "--from",
        "csv",
        "-i",
        input.to_str().unwrap(),
        "--rejects",
        rejects.to_str().unwrap(),
        "--allow-plaintext-passwords",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(g.bad.len() > 100, "{}", g.bad.len());
    let recs = records(&out);
    assert_valid(&recs);

    // every good row is a user, and nothing else is
    let users: BTreeSet<String> = of_kind(&recs, "user")
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(users, g.good);
    // groups once each, memberships one per name per row
    let groups: Vec<String> = of_kind(&recs, "group")
        .iter()
        .map(|r| r["data"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(groups.iter().cloned().collect::<BTreeSet<_>>(), g.groups);
    assert_eq!(groups.len(), g.groups.len());
    assert!(g.groups.contains("Sales|Ops"), "the escaped separator");
    assert_eq!(of_kind(&recs, "membership").len(), g.memberships);
    let attrs: Vec<&str> = of_kind(&recs, "attribute")
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(attrs, vec!["age", "vip", "scores"]);
    // typed values
    let u5 = recs
        .iter()
        .find(|r| r["id"] == "user5@example.com")
        .unwrap();
    assert_eq!(u5["data"]["age"], 5);
    assert_eq!(u5["data"]["vip"], false);
    assert_eq!(u5["data"]["scores"], json!([1, 2.5]));
    let u17 = recs
        .iter()
        .find(|r| r["id"] == "user17@example.com")
        .unwrap();
    assert_eq!(u17["data"]["firstName"], "Multi\nLine");

    // every bad row named once, by line and column, and nothing else named
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    let named: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("idm-export: line "))
        .collect();
    assert_eq!(named.len(), g.bad.len(), "{stderr}");
    for (line, bad) in &g.bad {
        let prefix = format!("idm-export: line {line}: ");
        let msg = named
            .iter()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("line {line} not named: {stderr}"));
        assert!(msg.contains(bad.column), "line {line}: {msg}");
    }
    // values never quoted: not the bad email, not the password, not the hash
    for leak in ["not-an-email", "Hunter2", "N9qo8u", "forty", "maybe"] {
        assert!(!stderr.contains(leak), "`{leak}` in stderr");
    }
    assert!(
        stderr.contains(&format!(
            "idm-export: csv: read 10000 rows; exported {} users",
            g.good.len()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("csv: rejected {} rows", g.bad.len())),
        "{stderr}"
    );

    // the rejects file: the header, then every bad row byte for byte, 0600
    let mut expected = format!("{HEADER}\n").into_bytes();
    for bad in g.bad.values() {
        expected.extend_from_slice(&bad.bytes);
        expected.push(b'\n');
    }
    assert_eq!(std::fs::read(&rejects).unwrap(), expected);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&rejects).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // the rejects file is itself a staging file: every row is named again
    let again = run(&[
        "--from",
        "csv",
        "-i",
        rejects.to_str().unwrap(),
        "--allow-plaintext-passwords",
        "-q",
    ]);
    assert_eq!(again.status.code(), Some(3), "{}", show(&again));
    let again_err = String::from_utf8(again.stderr).unwrap();
    // the duplicate logins are unique in there
    let dups = g
        .bad
        .values()
        .filter(|b| b.column.contains("same login"))
        .count();
    assert_eq!(again_err.lines().count(), g.bad.len() - dups, "{again_err}");
}

#[test]
fn bom_and_crlf_give_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let plain = generate(600, false, false);
    let windows = generate(600, true, true);
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    std::fs::write(&a, &plain.bytes).unwrap();
    std::fs::write(&b, &windows.bytes).unwrap();
    let args = |p: &Path| {
        run(&[
            "--from",
            "csv",
            "-i",
            p.to_str().unwrap(),
            "--allow-plaintext-passwords",
            "-q",
        ])
    };
    let (out_a, out_b) = (args(&a), args(&b));
    assert_eq!(out_a.status.code(), Some(3), "{}", show(&out_a));
    // the one quoted line break keeps the file's own line ending
    let norm = |out: &Output| {
        String::from_utf8(out.stdout.clone())
            .unwrap()
            .replace("Multi\\r\\nLine", "Multi\\nLine")
    };
    assert_eq!(norm(&out_a), norm(&out_b));
    assert_eq!(out_a.stderr, out_b.stderr);
    assert!(!out_a.stdout.is_empty());
}

#[test]
fn a_mapping_file_renames_headers_and_bad_ones_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hr.csv");
    std::fs::write(
        &input,
        "Mail\tUser\tGiven\tFamily\tDept\tCost\tTeams\nann@x.io\tann\tAnn\tLee\tOps\t12.5\tA;B\n",
    )
    .unwrap();
    let mapping = dir.path().join("map.json");
    std::fs::write(
        &mapping,
        r#"{"Mail": "email", "User": "login", "Given": "firstName", "Family": "lastName",
           "Dept": "department", "Cost": "cost:number", "Teams": "groups"}"#,
    )
    .unwrap();
    let base = [
        "--from",
        "csv",
        "-i",
        input.to_str().unwrap(),
        "--delimiter",
        "tab",
        "--group-separator",
        ";",
    ];
    let with_map = |m: &Path| {
        let mut args = base.to_vec();
        args.extend(["--columns", m.to_str().unwrap()]);
        run(&args)
    };
    let out = with_map(&mapping);
    assert!(out.status.success(), "{}", show(&out));
    let recs = records(&out);
    assert_valid(&recs);
    let user = of_kind(&recs, "user")[0];
    assert_eq!(user["id"], "ann");
    assert_eq!(
        user["data"],
        json!({"email": "ann@x.io", "login": "ann", "firstName": "Ann", "lastName": "Lee",
               "department": "Ops", "cost": 12.5, "groups": ["A", "B"]})
    );
    assert_eq!(
        of_kind(&recs, "attribute")[0]["data"],
        json!({"name": "cost", "type": "number", "column": "Cost"})
    );
    // without the mapping the header is wrong: one error naming the file and the columns
    let out = run(&base);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err,
        format!(
            "idm-export: `{}`: header: no `login`, `email`, `firstName`, `lastName` columns (required; `--login-from-email` fills an absent login from the email)\n",
            input.display()
        )
    );
    // broken mapping files
    let cases = [
        ("{\"Mail\": ", "not JSON"),
        (r#"{"Mail": "e mail"}"#, "Mail: `e mail` does not match"),
        (r#"{"Mail": 7}"#, "Mail: expected string, found integer"),
        (
            r#"{"Email": "email"}"#,
            "`--columns` maps `Email`, which is not a column of the file",
        ),
        (
            r#"{"Mail": "email", "User": "email"}"#,
            "are both mapped onto `email`",
        ),
    ];
    for (text, reason) in cases {
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, text).unwrap();
        let out = with_map(&bad);
        assert_eq!(out.status.code(), Some(1), "{text}: {}", show(&out));
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(reason), "{text}: {err}");
        assert!(err.contains("bad.json") || err.contains("hr.csv"), "{err}");
    }
}

#[test]
fn stdin_is_read_whole_and_more_than_once() {
    let g = generate(300, false, false);
    let mut child = cmd(&[
        "--from",
        "csv",
        "--input",
        "-",
        "--allow-plaintext-passwords",
        "-q",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child.stdin.take().unwrap().write_all(&g.bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let recs = records(&out);
    assert_eq!(of_kind(&recs, "user").len(), g.good.len());
    assert_eq!(of_kind(&recs, "membership").len(), g.memberships);
}

#[test]
fn plaintext_passwords_need_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("p.csv");
    std::fs::write(
        &input,
        "login,email,firstName,lastName,password\na@x.io,a@x.io,A,B,S3cret-Pass\n",
    )
    .unwrap();
    let out = run(&["--from", "csv", "-i", input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-plaintext-passwords"));
    let out = run(&[
        "--from",
        "csv",
        "-i",
        input.to_str().unwrap(),
        "--allow-plaintext-passwords",
        "-vv",
    ]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(records(&out)[0]["data"]["password"], "S3cret-Pass");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("S3cret"));
    // a CSV source has no apps: `--objects apps` is refused, `all` leaves them out
    let out = run(&[
        "--from",
        "csv",
        "-i",
        input.to_str().unwrap(),
        "--allow-plaintext-passwords",
        "--objects",
        "apps",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("csv cannot export `app`"));
}

#[test]
fn rows_in_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let pad = "p".repeat(1_000);
    let write = |n: usize, name: &str| {
        let path = dir.path().join(name);
        let mut text = String::from("login,email,firstName,lastName,groups,bio\n");
        for i in 0..n {
            text.push_str(&format!("u{i}@x.io,u{i}@x.io,F,L,G{}|All,{pad}\n", i % 50));
        }
        std::fs::write(&path, text).unwrap();
        path
    };
    let (small, big) = (write(2_000, "small.csv"), write(20_000, "big.csv"));
    let export_file = |path: &Path| {
        let mut file = CsvFile::open(Some(path), CsvOptions::default()).unwrap();
        let mut out = RecordWriter::from_writer(std::io::sink());
        let kinds: Vec<Kind> = ORDER
            .iter()
            .filter(|k| file.kinds().contains(k))
            .cloned()
            .collect();
        let summary = export::export(
            &mut file,
            &kinds,
            &ExportOptions::default(),
            &mut out,
            None,
            false,
        )
        .unwrap();
        out.finish().unwrap();
        summary.count(&Kind::User)
    };
    export_file(&small); // schemas compiled once
    let mut n = 0;
    let small_peak = crate::util::peak_heap_during(|| n = export_file(&small));
    assert_eq!(n, 2_000);
    let big_peak = crate::util::peak_heap_during(|| n = export_file(&big));
    assert_eq!(n, 20_000);
    let per_row = (big_peak - small_peak) / 18_000;
    eprintln!(
        "peak heap: 2,000 rows {:.1} MB, 20,000 rows {:.1} MB ({per_row} bytes per extra row)",
        small_peak as f64 / 1e6,
        big_peak as f64 / 1e6
    );
    // a row is > 1,000 bytes; the index keeps a 12-byte login hash and line per row (in a
    // small hash map until its first merge); hash maps of 128-bit hashes took 75
    assert!(per_row < 48, "heap grew by {per_row} bytes per row");
}
