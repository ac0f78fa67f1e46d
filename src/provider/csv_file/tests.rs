//! Unit tests of the CSV source on small files.

use std::path::Path;

use serde_json::json;

use super::*;

struct VecSink(Vec<Record>);

impl Sink for VecSink {
    fn record(&mut self, record: Record) -> Result<(), SourceError> {
        self.0.push(record);
        Ok(())
    }
}

fn export_all(file: &mut CsvFile) -> Vec<Record> {
    let mut sink = VecSink(Vec::new());
    for kind in file.kinds() {
        file.export(&kind, &ExportOptions::default(), &mut sink)
            .unwrap();
    }
    sink.0
}

fn open_bytes(dir: &Path, bytes: &[u8], opts: CsvOptions) -> Result<CsvFile, CsvError> {
    let path = dir.join("users.csv");
    std::fs::write(&path, bytes).unwrap();
    CsvFile::open(Some(&path), opts)
}

#[test]
fn bom_and_crlf_give_the_same_records_as_plain_lf() {
    let dir = tempfile::tempdir().unwrap();
    let lf = "login,email,firstName,lastName,groups\na@x.io,a@x.io,A,B,G1|G2\nb@x.io,b@x.io,\"multi\nline\",C,G2\n";
    let crlf = format!("\u{feff}{}", lf.replace('\n', "\r\n"));
    let plain =
        export_all(&mut open_bytes(dir.path(), lf.as_bytes(), CsvOptions::default()).unwrap());
    let bom =
        export_all(&mut open_bytes(dir.path(), crlf.as_bytes(), CsvOptions::default()).unwrap());
    // the quoted line break stays what the file says
    let multi =
        |recs: &[Record]| recs.iter().find(|r| r.id == "b@x.io").unwrap().data["firstName"].clone();
    assert_eq!(multi(&plain), json!("multi\nline"));
    assert_eq!(multi(&bom), json!("multi\r\nline"));
    let strip = |recs: Vec<Record>| {
        recs.into_iter()
            .filter(|r| r.id != "b@x.io")
            .map(|r| serde_json::to_value(r).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(plain), strip(bom));
}

#[test]
fn line_numbers_count_file_lines_through_quoted_breaks_and_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let text = "login,email,firstName,lastName\r\n\r\na@x.io,a@x.io,\"two\r\nlines\",B\r\nb@x.io,nope,A,B\r\nc@x.io,c@x.io,A\r\n";
    let file = open_bytes(
        dir.path(),
        text.as_bytes(),
        CsvOptions {
            rejects: Some(rejects.clone()),
            ..CsvOptions::default()
        },
    )
    .unwrap();
    assert_eq!(file.rejected(), 2);
    assert_eq!(file.excluded, vec![1, 2]);
    // the header, then each bad row as the file has it
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap(),
        "login,email,firstName,lastName\r\nb@x.io,nope,A,B\r\nc@x.io,c@x.io,A\r\n"
    );
}

#[test]
fn a_mapping_and_a_delimiter() {
    let dir = tempfile::tempdir().unwrap();
    let text = "User;Mail;Given;Family;Team;Age\nu1;u1@x.io;A;B;Red\\,Blue,Green;7\n";
    let mapping = Mapping::from_value(
        &json!({"User": "login", "Mail": "email", "Given": "firstName",
        "Family": "lastName", "Team": "groups", "Age": "age:integer"}),
    )
    .unwrap();
    let mut file = open_bytes(
        dir.path(),
        text.as_bytes(),
        CsvOptions {
            delimiter: b';',
            group_separator: ',',
            mapping: Some(mapping),
            ..CsvOptions::default()
        },
    )
    .unwrap();
    let out = export_all(&mut file);
    let user = out.iter().find(|r| r.kind == Kind::User).unwrap();
    assert_eq!(
        user.data,
        json!({"login": "u1", "email": "u1@x.io", "firstName": "A", "lastName": "B",
               "groups": ["Red,Blue", "Green"], "age": 7})
    );
    let attr = out.iter().find(|r| r.kind == Kind::Attribute).unwrap();
    assert_eq!(
        attr.data,
        json!({"name": "age", "type": "integer", "column": "Age"})
    );
}

#[test]
fn ids_and_group_names_are_percent_encoded_for_edges() {
    let dir = tempfile::tempdir().unwrap();
    let text = "id,login,email,firstName,lastName,groups\nu/1,a@x.io,a@x.io,A,B,Sales/West|100%\n,b@x.io,b@x.io,A,B,\nu/1,c@x.io,c@x.io,A,B,\n";
    let mut file = open_bytes(dir.path(), text.as_bytes(), CsvOptions::default()).unwrap();
    assert_eq!(file.rejected(), 1);
    let out = export_all(&mut file);
    let ids: Vec<&str> = out.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "100%25",
            "Sales%2FWest",
            "u%2F1",
            "b@x.io",
            "Sales%2FWest/u%2F1",
            "100%25/u%2F1"
        ]
    );
    let groups: Vec<&Value> = out
        .iter()
        .filter(|r| r.kind == Kind::Group)
        .map(|r| &r.data["name"])
        .collect();
    assert_eq!(groups, vec!["100%", "Sales/West"]);
    for r in &out {
        crate::record::schema::validate_record(r).unwrap();
    }
}

#[test]
fn deprovisioned_rows_are_left_out_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let text = "login,email,firstName,lastName,status,groups\na@x.io,a@x.io,A,B,deprovisioned,Old\nb@x.io,b@x.io,A,B,ACTIVE,New\n";
    let mut file = open_bytes(dir.path(), text.as_bytes(), CsvOptions::default()).unwrap();
    let out = export_all(&mut file);
    assert_eq!(
        out.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        vec!["New", "b@x.io", "New/b@x.io"]
    );
    assert_eq!(file.rejected(), 0);
    assert!(file.summary().iter().any(|l| l.contains("left out 1 row")));
    let mut file = open_bytes(
        dir.path(),
        text.as_bytes(),
        CsvOptions {
            include_deprovisioned: true,
            ..CsvOptions::default()
        },
    )
    .unwrap();
    assert_eq!(export_all(&mut file).len(), 6);
}

#[test]
fn header_errors_name_the_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let err = open_bytes(dir.path(), b"", CsvOptions::default())
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .ends_with("header: the file is empty; a header row is required"),
        "{err}"
    );
    let err = open_bytes(
        dir.path(),
        b"login,email,firstName,lastName,\xff\n",
        CsvOptions::default(),
    )
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .ends_with("header: column 5 is not valid UTF-8"),
        "{err}"
    );
    let err = open_bytes(
        dir.path(),
        b"login,email,firstName\n",
        CsvOptions::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("users.csv`: header: no `lastName` column"),
        "{err}"
    );
}

#[test]
fn login_from_email_fills_absent_logins() {
    let dir = tempfile::tempdir().unwrap();
    let text = "email,firstName,lastName\nA@x.io,A,B\na@x.io,A,B\n";
    let mut file = open_bytes(
        dir.path(),
        text.as_bytes(),
        CsvOptions {
            login_from_email: true,
            ..CsvOptions::default()
        },
    )
    .unwrap();
    // the second row's login (from its email) duplicates the first's, case-insensitively
    assert_eq!(file.rejected(), 1);
    let out = export_all(&mut file);
    assert_eq!(out[0].data["login"], "A@x.io");
}

#[test]
fn options_parse() {
    assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
    assert_eq!(parse_delimiter(";"), Ok(b';'));
    assert!(parse_delimiter("\"").is_err());
    assert!(parse_delimiter(";;").is_err());
    assert!(parse_delimiter("é").is_err());
    assert_eq!(parse_separator("/"), Ok('/'));
    assert!(parse_separator("\\").is_err());
}
