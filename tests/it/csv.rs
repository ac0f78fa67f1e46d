//! idm-csv end to end: the real binary on mapped records, the CSV parsed back with the `csv`
//! crate and with Python's csv module, every cell compared with the records.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use idm::csv_out::{self, BASE_COLUMNS, Options};
use idm::record::{RecordReader, Rejects};
use proptest::prelude::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_idm-csv");

fn rec(kind: &str, id: &str, data: Value) -> Value {
    json!({"kind": kind, "source": "okta", "id": id, "data": data, "target": "onelogin"})
}

fn ndjson(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

/// Values that break naive CSV writers and readers.
const NASTY: [&str; 12] = [
    "plain",
    "comma, inside",
    "quote \" inside",
    "\"starts with quote",
    "line\nbreak",
    "crlf\r\nbreak",
    "",
    "  padded  ",
    "Zoë Ñúñez 東京 🙂",
    "semi;colon",
    "trailing comma,",
    "tab\there",
];

/// A tenant of `n` users with nasty values, 3 groups and memberships.
fn tenant(n: usize) -> Vec<Value> {
    let mut out = vec![
        rec(
            "attribute",
            "costCenter",
            json!({"shortname": "cost_center", "name": "Cost Center"}),
        ),
        rec("group", "g1", json!({"name": "Sales, EMEA"})),
        rec("group", "g2", json!({"name": "Admins \"root\""})),
        rec("group", "g3", json!({"name": "Ünïcode"})),
    ];
    for i in 0..n {
        let v = |k: usize| NASTY[(i + k) % NASTY.len()];
        let mut custom = serde_json::Map::new();
        custom.insert("cost_center".into(), json!(v(1)));
        if i % 2 == 0 {
            custom.insert("employee_number".into(), json!(i));
        }
        if i % 5 == 0 {
            custom.insert("is_contractor".into(), json!(i % 10 == 0));
        }
        out.push(rec(
            "user",
            &format!("00u{i}"),
            json!({
                "firstname": v(0), "lastname": v(2), "email": format!("user{i}@example.com"),
                "username": format!("user{i}@example.com"), "phone": v(3), "company": v(4),
                "department": v(5), "title": v(6), "status": 1, "state": 1,
                "external_id": format!("00u{i}"), "custom_attributes": custom,
            }),
        ));
    }
    for i in 0..n {
        for g in 1..=3 {
            if i % 4 >= g {
                let id = format!("g{g}/00u{i}");
                out.push(rec(
                    "membership",
                    &id,
                    json!({"group_id": format!("g{g}"), "user_id": format!("00u{i}")}),
                ));
            }
        }
    }
    out
}

/// The rows the test expects, computed from the records without the library.
fn expected(records: &[Value]) -> (Vec<String>, Vec<Vec<String>>) {
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let mut custom = BTreeSet::new();
    let mut groups = BTreeMap::new();
    let mut member: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in records {
        match r["kind"].as_str().unwrap() {
            "user" => {
                if let Some(c) = r["data"]["custom_attributes"].as_object() {
                    custom.extend(c.keys().cloned());
                }
            }
            "group" => {
                groups.insert(
                    r["id"].as_str().unwrap().to_string(),
                    text(r["data"].get("name")),
                );
            }
            _ => {}
        }
    }
    for r in records.iter().filter(|r| r["kind"] == "membership") {
        let name = groups[r["data"]["group_id"].as_str().unwrap()].clone();
        member
            .entry(r["data"]["user_id"].as_str().unwrap().to_string())
            .or_default()
            .insert(name);
    }
    let mut header: Vec<String> = BASE_COLUMNS.iter().map(|s| s.to_string()).collect();
    header.extend(custom.iter().cloned());
    let rows = records
        .iter()
        .filter(|r| r["kind"] == "user")
        .map(|r| {
            let d = &r["data"];
            header
                .iter()
                .map(|col| match col.as_str() {
                    "role" => member
                        .get(r["id"].as_str().unwrap())
                        .map(|s| s.iter().cloned().collect::<Vec<_>>().join(";"))
                        .unwrap_or_default(),
                    "group" | "delete" => String::new(),
                    c if BASE_COLUMNS.contains(&c) => text(d.get(c)),
                    c => text(d["custom_attributes"].get(c)),
                })
                .collect()
        })
        .collect();
    (header, rows)
}

/// Run idm-csv, printing everything when it fails unexpectedly.
fn run(args: &[&str], stdin: &str) -> Output {
    crate::util::Tool::new("idm-csv")
        .args(args)
        .stdin(stdin)
        .output()
}

fn explain(args: &[&str], out: &Output) -> String {
    format!(
        "idm-csv {args:?}\nstatus: {}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    )
}

fn parse_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new().from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn assert_rows_eq(got: &[Vec<String>], want: &[Vec<String>], header: &[String]) {
    assert_eq!(got.len(), want.len(), "row count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        for (c, (gc, wc)) in g.iter().zip(w).enumerate() {
            assert_eq!(gc, wc, "row {i} column `{}`", header[c]);
        }
        assert_eq!(g.len(), w.len(), "row {i} width");
    }
}

#[test]
fn round_trip_with_the_csv_crate_keeps_every_cell() {
    let records = tenant(60);
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("bulk.csv");
    let args = ["-o", out_path.to_str().unwrap()];
    let out = run(&args, &ndjson(&records));
    assert!(out.status.success(), "{}", explain(&args, &out));
    let (header, rows) = parse_csv(&out_path);
    let (want_header, want_rows) = expected(&records);
    assert_eq!(header, want_header);
    assert_eq!(
        header[BASE_COLUMNS.len()..],
        ["cost_center", "employee_number", "is_contractor"]
    );
    assert_rows_eq(&rows, &want_rows, &header);
    // memberships were really used: user 3 is in all three groups
    assert_eq!(rows[3][8], "Admins \"root\";Sales, EMEA;Ünïcode");
    // RFC 4180 line ends
    let bytes = std::fs::read(&out_path).unwrap();
    assert!(bytes.starts_with(b"firstname,lastname,email,username,phone,company,department,group,role,password,title,status,delete,cost_center,"));
    assert!(bytes.ends_with(b"\r\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn round_trip_with_python_csv_module_keeps_every_cell() {
    let python = std::env::var("IDM_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let records = tenant(40);
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("bulk.csv");
    let args = ["-o", out_path.to_str().unwrap()];
    let out = run(&args, &ndjson(&records));
    assert!(out.status.success(), "{}", explain(&args, &out));
    let script = "import csv, json, sys\n\
                  with open(sys.argv[1], newline='', encoding='utf-8') as f:\n\
                  \x20   print(json.dumps(list(csv.reader(f))))\n";
    let py = Command::new(&python)
        .args(["-c", script, out_path.to_str().unwrap()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{python}` (set IDM_TEST_PYTHON): {e}"));
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let table: Vec<Vec<String>> = serde_json::from_slice(&py.stdout).unwrap();
    let (want_header, want_rows) = expected(&records);
    assert_eq!(table[0], want_header);
    assert_rows_eq(&table[1..], &want_rows, &want_header);
}

#[test]
fn unrepresentable_users_are_rejected_with_their_line_and_the_rest_is_written() {
    let mut records = tenant(5);
    let bad = [
        rec(
            "user",
            "bad1",
            json!({"email": "b1@x", "username": "line\nbreak"}),
        ),
        rec(
            "user",
            "bad2",
            json!({"email": "b2@x", "comment": "x".repeat(40_000)}),
        ),
        rec("user", "bad3", json!({"firstname": "no identity"})),
    ];
    records.splice(5..5, bad.iter().cloned()); // lines 6..8
    let mut input = ndjson(&records);
    input.push_str("{not json\n");
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("bulk.csv");
    let rejects = dir.path().join("rejects.ndjson");
    let args = [
        "-o",
        out_path.to_str().unwrap(),
        "--rejects",
        rejects.to_str().unwrap(),
    ];
    let out = run(&args, &input);
    assert_eq!(out.status.code(), Some(3), "{}", explain(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 6 (okta:bad1): field `username` contains a line break"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 7 (okta:bad2): `comment` is 40000 characters long"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 8 (okta:bad3): no `email` and no `username`"),
        "{stderr}"
    );
    let rejected: Vec<Value> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::String(l.into())))
        .collect();
    assert_eq!(rejected.len(), 4);
    assert_eq!(rejected[..3], bad);
    assert_eq!(rejected[3], Value::String("{not json".into()));
    let (header, rows) = parse_csv(&out_path);
    let good: Vec<Value> = records
        .iter()
        .filter(|r| !bad.contains(r))
        .cloned()
        .collect();
    let (want_header, want_rows) = expected(&good);
    assert_eq!(header, want_header);
    assert_eq!(rows.len(), 5, "mapped users minus rejects");
    assert_rows_eq(&rows, &want_rows, &header);
}

#[test]
fn memberships_of_unknown_groups_are_rejected_not_dropped() {
    let records = vec![
        rec("group", "g1", json!({"name": "Sales"})),
        rec("group", "g2", json!({"name": "a;b"})),
        rec("user", "u1", json!({"email": "u1@x"})),
        rec(
            "membership",
            "g1/u1",
            json!({"group_id": "g1", "user_id": "u1"}),
        ),
        rec(
            "membership",
            "g2/u1",
            json!({"group_id": "g2", "user_id": "u1"}),
        ),
        rec(
            "membership",
            "g9/u1",
            json!({"group_id": "g9", "user_id": "u1"}),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("bulk.csv");
    let rejects = dir.path().join("rejects.ndjson");
    let args = [
        "-o",
        out_path.to_str().unwrap(),
        "--rejects",
        rejects.to_str().unwrap(),
    ];
    let out = run(&args, &ndjson(&records));
    assert_eq!(out.status.code(), Some(3), "{}", explain(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2 (okta:g2): role name `a;b` contains `;`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 5 (okta:g2/u1): group `g2`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 6 (okta:g9/u1): group `g9`"),
        "{stderr}"
    );
    let (_, rows) = parse_csv(&out_path);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][8], "Sales");
    let text = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [records[1].clone(), records[4].clone(), records[5].clone()]
    );
}

#[test]
fn formula_cells_are_warned_about_and_prefixed_with_excel_safe() {
    let records = vec![rec(
        "user",
        "u1",
        json!({"email": "u1@x", "firstname": "=HYPERLINK(\"x\")", "lastname": "-1",
               "phone": "+15551234", "title": "@sum", "department": "ok",
               "custom_attributes": {"note": "=cmd"}}),
    )];
    let input = ndjson(&records);
    let out = run(&[], &input);
    assert!(out.status.success(), "{}", explain(&[], &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("5 cells start with"), "{stderr}");
    assert!(stderr.contains("--excel-safe"), "{stderr}");
    let plain = String::from_utf8(out.stdout).unwrap();
    assert!(
        plain.contains("\"=HYPERLINK(\"\"x\"\")\",-1,u1@x"),
        "{plain}"
    );

    let out = run(&["--excel-safe"], &input);
    assert!(out.status.success(), "{}", explain(&["--excel-safe"], &out));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let row: Vec<String> = reader
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    let cell = |name: &str| row[header.iter().position(|h| h == name).unwrap()].clone();
    assert_eq!(cell("firstname"), "'=HYPERLINK(\"x\")");
    assert_eq!(cell("lastname"), "'-1");
    assert_eq!(cell("phone"), "'+15551234");
    assert_eq!(cell("title"), "'@sum");
    assert_eq!(cell("note"), "'=cmd");
    assert_eq!(cell("department"), "ok");
    assert_eq!(cell("email"), "u1@x");
}

#[test]
fn fields_without_a_column_are_reported_or_added_with_extra_columns() {
    // `state` is both a payload field and a custom attribute: the custom one keeps the column
    let records = vec![rec(
        "user",
        "u1",
        json!({"email": "u1@x", "external_id": "u1", "samaccountname": "u1", "role_ids": [1, 2],
               "state": 1, "custom_attributes": {"zeta": "z", "state": "NY"}}),
    )];
    let out = run(&[], &ndjson(&records));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("no column for `external_id` 1, `role_ids` 1, `samaccountname` 1, `state` 1"),
        "{stderr}"
    );
    let out = run(&["--extra-columns"], &ndjson(&records));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no column for `state` 1:"), "{stderr}");
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header[BASE_COLUMNS.len()..],
        ["state", "zeta", "external_id", "role_ids", "samaccountname"]
    );
    let row: Vec<String> = reader
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(row[BASE_COLUMNS.len()..], ["NY", "z", "u1", "[1,2]", "u1"]);
}

#[test]
fn unmapped_and_hashed_users_are_rejected() {
    let mut raw = rec("user", "u1", json!({"profile": {"login": "a@x"}}));
    raw.as_object_mut().unwrap().remove("target");
    let hashed = rec(
        "user",
        "u2",
        json!({"email": "u2@x", "password": "ab12", "password_algorithm": "salt+sha256", "salt": "s"}),
    );
    let out = run(&[], &ndjson(&[raw, hashed]));
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 1 (okta:u1): user is not mapped"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 2 (okta:u2): field `password` is a `salt+sha256` hash"),
        "{stderr}"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "header only: {text}");
}

/// Through the library with tiny chunks, so the membership index spills sorted runs to disk
/// and merges them: the roles must be the same as the in-memory path's.
#[test]
fn role_column_is_the_same_when_memberships_spill_to_disk() {
    let records = tenant(500);
    let input = ndjson(&records);
    let render = |chunk_entries: usize| {
        let mut reader = RecordReader::new(input.as_bytes());
        let mut rejects = Rejects::stderr_only();
        let options = Options {
            chunk_entries,
            ..Options::default()
        };
        let spool = csv_out::spool(&mut reader, &mut rejects, &options).unwrap();
        let mut out = Vec::new();
        let summary = spool.write(&mut out, &mut rejects).unwrap();
        assert_eq!(summary.rows, 500);
        assert_eq!(
            summary.memberships,
            (0..500).map(|i| i % 4).sum::<usize>() as u64
        );
        assert_eq!(summary.memberships_without_user, 0);
        out
    };
    let memory = render(0);
    let disk = render(13);
    assert_eq!(memory, disk);
    let mut reader = csv::Reader::from_reader(memory.as_slice());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let (header, want) = expected(&records);
    assert_rows_eq(&rows, &want, &header);
}

fn cell_text() -> impl Strategy<Value = String> {
    // any text without NUL, biased to the characters CSV cares about
    proptest::string::string_regex("[a-zA-Z0-9 ,\"'\r\n\t;=+@é東🙂-]{0,12}").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_text_round_trips(
        first in cell_text(), last in cell_text(), custom in cell_text(),
        user in "[a-z0-9@.+-]{1,12}",
    ) {
        let records = vec![rec("user", "u1", json!({
            "firstname": first, "lastname": last, "username": user,
            "custom_attributes": {"x": custom},
        }))];
        let input = ndjson(&records);
        let mut reader = RecordReader::new(input.as_bytes());
        let mut rejects = Rejects::stderr_only();
        let spool = csv_out::spool(&mut reader, &mut rejects, &Options::default()).unwrap();
        let mut out = Vec::new();
        spool.write(&mut out, &mut rejects).unwrap();
        let mut parsed = csv::Reader::from_reader(out.as_slice());
        let rows: Vec<Vec<String>> = parsed
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        let (header, want) = expected(&records);
        prop_assert_eq!(parsed.headers().unwrap().iter().collect::<Vec<_>>(), header.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert_eq!(rows, want);
    }
}

/// With a OneLogin connection configured, idm-csv refuses to write a file whose custom
/// attribute columns the tenant lacks, and writes it once idm-attrs --apply created them.
#[test]
fn missing_custom_attributes_in_the_tenant_stop_the_write() {
    use idm::sandbox::{Sandbox, SandboxConfig};
    let sb = Sandbox::start(SandboxConfig::default()).unwrap();
    let records = tenant(3);
    let input = ndjson(&records);
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("bulk.csv");
    let with_tenant = |bin: &str, args: &[&str]| {
        let mut child = Command::new(bin)
            .args(args)
            .env("IDM_ONELOGIN_URL", sb.onelogin_url())
            .env("IDM_ONELOGIN_CLIENT_ID", sb.onelogin_client_id())
            .env("IDM_ONELOGIN_CLIENT_SECRET", sb.onelogin_client_secret())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    };
    let args = ["-o", out_path.to_str().unwrap()];
    let out = with_tenant(BIN, &args);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("custom attributes missing in onelogin: `cost_center`, `employee_number`, `is_contractor`: run `idm-attrs --to onelogin --apply` first"),
        "{stderr}"
    );
    assert!(!out_path.exists(), "nothing is written");

    let state = dir.path().join("state.ndjson");
    let attrs = with_tenant(
        env!("CARGO_BIN_EXE_idm-attrs"),
        &["--apply", "--state", state.to_str().unwrap()],
    );
    assert!(
        attrs.status.success(),
        "{}",
        String::from_utf8_lossy(&attrs.stderr)
    );
    let out = with_tenant(BIN, &args);
    assert!(out.status.success(), "{}", explain(&args, &out));
    assert_eq!(parse_csv(&out_path).1.len(), 3);
}
