//! Internal helper for `bench/foundation.sh`: generates data and runs the foundation's hot
//! paths (record read + write, schema validation, journal append and replay) on it.
//!
//! It is a `harness = false` bench target rather than a binary under `src/bin/` so that it is
//! never installed next to the tools, and not a cargo example because `examples/` holds the
//! record-format examples people read. `bench/foundation.sh` times each subcommand from the
//! outside with `/usr/bin/time` (wall time and peak RSS); the figures it prints itself are
//! counts, so the timings include process start and every byte of I/O.
//!
//! ```text
//! foundation gen-records N [mixed]   N records to stdout (Okta users, or all stages mixed)
//! foundation copy                    records stdin -> stdout through RecordReader/RecordWriter
//! foundation validate                records from stdin checked against the schemas
//! foundation gen-journal N PATH      N events appended to the journal at PATH
//! foundation replay PATH             fold the journal at PATH
//! ```

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use idm::journal::{Event, Journal};
use idm::record::reader::open_input;
use idm::record::schema::Schemas;
use idm::record::{Kind, Record, RecordWriter, Rejects};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; ignore flags so a plain `cargo bench` does no harm
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let result = match args.as_slice() {
        ["gen-records", n] => parse(n).and_then(|n| gen_records(n, false)),
        ["gen-records", n, "mixed"] => parse(n).and_then(|n| gen_records(n, true)),
        ["copy"] => copy(),
        ["validate"] => validate(),
        ["gen-journal", n, path] => parse(n).and_then(|n| gen_journal(n, Path::new(path))),
        ["replay", path] => replay(Path::new(path)),
        [] => {
            eprintln!("foundation: run by bench/foundation.sh (`make bench`); nothing to do");
            Ok(())
        }
        _ => Err(format!("unknown arguments `{}`", args.join(" "))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("foundation: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse(n: &str) -> Result<usize, String> {
    n.parse().map_err(|_| format!("not a count: `{n}`"))
}

fn io_err(e: io::Error) -> String {
    e.to_string()
}

const FIRST: &[&str] = &[
    "Eric", "Jane", "Priya", "Tom", "Ana", "Kenji", "Fatima", "Olu", "Zoë", "Mateo", "Li", "Sven",
];
const LAST: &[&str] = &[
    "Judy", "O'Brien", "Nair", "Müller", "García", "Tanaka", "Haddad", "Adeyemi", "Novak", "Rossi",
];
const DEPARTMENTS: &[&str] = &["Engineering", "Sales", "Finance", "Support", "Legal", "R&D"];
const STATUSES: &[&str] = &[
    "ACTIVE",
    "ACTIVE",
    "ACTIVE",
    "STAGED",
    "PROVISIONED",
    "SUSPENDED",
];

fn okta_id(prefix: &str, i: usize) -> String {
    format!("{prefix}{i:017x}")
}

fn stamp(rng: &mut StdRng) -> String {
    format!(
        "20{:02}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        rng.random_range(15..27),
        rng.random_range(1..13),
        rng.random_range(1..29),
        rng.random_range(0..24),
        rng.random_range(0..60),
        rng.random_range(0..60),
        rng.random_range(0..1000)
    )
}

/// An Okta user as the Users API returns it: about 1 KB of JSON.
fn okta_user(i: usize, rng: &mut StdRng) -> Value {
    let first = FIRST[rng.random_range(0..FIRST.len())];
    let last = LAST[rng.random_range(0..LAST.len())];
    let login = format!("{}.{}{i}@example.com", first.to_lowercase(), i % 97);
    let id = okta_id("00u", i);
    json!({
        "id": id,
        "status": STATUSES[rng.random_range(0..STATUSES.len())],
        "created": stamp(rng),
        "activated": if rng.random_bool(0.8) { Value::String(stamp(rng)) } else { Value::Null },
        "statusChanged": stamp(rng),
        "lastLogin": if rng.random_bool(0.7) { Value::String(stamp(rng)) } else { Value::Null },
        "lastUpdated": stamp(rng),
        "passwordChanged": Value::Null,
        "type": {"id": "oty1162QAr8hJjTaq0g4"},
        "profile": {
            "firstName": first,
            "lastName": last,
            "mobilePhone": format!("+1 555 {:03} {:04}", rng.random_range(0..1000), rng.random_range(0..10000)),
            "secondEmail": Value::Null,
            "login": login,
            "email": login,
            "title": "Senior Engineer",
            "department": DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())],
            "organization": "Acme Corp",
            "costCenter": format!("CC-{}", rng.random_range(1000..9999)),
            "employeeNumber": format!("{:06}", i),
            "city": "Portland",
            "countryCode": "US",
            "locale": "en_US",
            "badgeNumber": format!("B-{}", rng.random_range(1000..99999)),
            "isContractor": rng.random_bool(0.1),
        },
        "credentials": {
            "password": {},
            "emails": [{"value": login, "status": "VERIFIED", "type": "PRIMARY"}],
            "provider": {"type": "OKTA", "name": "OKTA"}
        },
        "_links": {"self": {"href": format!("https://acme.okta.com/api/v1/users/{id}")}}
    })
}

fn onelogin_user(i: usize, rng: &mut StdRng) -> Value {
    let first = FIRST[rng.random_range(0..FIRST.len())];
    let login = format!("{}.{}{i}@example.com", first.to_lowercase(), i % 97);
    json!({
        "firstname": first, "lastname": LAST[rng.random_range(0..LAST.len())],
        "email": login, "username": login, "samaccountname": format!("{}{i}", first.to_lowercase()),
        "department": DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())], "company": "Acme Corp",
        "external_id": okta_id("00u", i), "state": 1, "status": rng.random_range(0..3),
        "custom_attributes": {"cost_center": format!("CC-{}", rng.random_range(1000..9999)),
                              "badge_number": format!("B-{i}"), "is_contractor": "false"}
    })
}

fn gen_records(n: usize, mixed: bool) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut w = RecordWriter::create(None).map_err(io_err)?;
    for i in 0..n {
        let record = if !mixed {
            Record::new(
                Kind::User,
                "okta",
                okta_id("00u", i),
                okta_user(i, &mut rng),
            )
        } else {
            match i % 4 {
                0 => Record::new(
                    Kind::User,
                    "okta",
                    okta_id("00u", i),
                    okta_user(i, &mut rng),
                ),
                1 => {
                    let mut r = Record::new(
                        Kind::User,
                        "okta",
                        okta_id("00u", i),
                        onelogin_user(i, &mut rng),
                    );
                    r.target = Some("onelogin".into());
                    r
                }
                2 => {
                    let (g, u) = (okta_id("00g", i % 50), okta_id("00u", i));
                    Record::new(
                        Kind::Membership,
                        "okta",
                        format!("{g}/{u}"),
                        json!({"group_id": g, "user_id": u}),
                    )
                }
                _ => Record::new(
                    Kind::Result,
                    "okta",
                    okta_id("00u", i),
                    json!({"of": "user", "op": "create", "status": "ok",
                           "target_id": (30_000_000 + i).to_string(), "error": null}),
                ),
            }
        };
        w.write(&record).map_err(io_err)?;
    }
    w.finish().map_err(io_err)
}

/// What every tool does per record: read and parse the envelope with line numbers, write it
/// back out.
fn copy() -> Result<(), String> {
    let mut reader = open_input(None).map_err(io_err)?;
    let mut rejects = Rejects::stderr_only();
    let mut w = RecordWriter::create(None).map_err(io_err)?;
    while let Some(entry) = reader.next_good(&mut rejects).map_err(io_err)? {
        w.write(&entry.record).map_err(io_err)?;
    }
    w.finish().map_err(io_err)?;
    if rejects.count() > 0 {
        return Err(format!("{} bad lines", rejects.count()));
    }
    Ok(())
}

fn validate() -> Result<(), String> {
    let started = Instant::now();
    let schemas = Schemas::try_get().map_err(|e| e.to_string())?;
    let compiled = started.elapsed();
    let mut reader = open_input(None).map_err(io_err)?;
    let mut rejects = Rejects::stderr_only();
    let (mut n, mut invalid) = (0u64, 0u64);
    let mut parse_time = std::time::Duration::ZERO;
    let mut check_time = std::time::Duration::ZERO;
    loop {
        let t0 = Instant::now();
        let Some(entry) = reader.next_good(&mut rejects).map_err(io_err)? else {
            break;
        };
        let t1 = Instant::now();
        if let Err(e) = schemas.validate_record(&entry.record) {
            invalid += 1;
            if invalid <= 3 {
                eprintln!("foundation: line {}: {e}", entry.line);
            }
        }
        parse_time += t1 - t0;
        check_time += t1.elapsed();
        n += 1;
    }
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "records={n} invalid={invalid} compile_ms={:.1} parse_s={:.3} validate_s={:.3}",
        compiled.as_secs_f64() * 1e3,
        parse_time.as_secs_f64(),
        check_time.as_secs_f64()
    )
    .map_err(io_err)?;
    if invalid > 0 {
        return Err(format!("{invalid} records did not validate"));
    }
    Ok(())
}

/// A journal as a large migration leaves it: mostly user mappings, then role mappings,
/// memberships, app assignments and attributes.
fn gen_journal(n: usize, path: &Path) -> Result<(), String> {
    let _ = std::fs::remove_file(path);
    let (journal, _) = Journal::open(path).map_err(|e| e.to_string())?;
    let mut rng = StdRng::seed_from_u64(11);
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..n {
        let event = match i % 20 {
            0..=12 => Event::Map {
                kind: "user".into(),
                source: "okta".into(),
                id: okta_id("00u", i),
                target: "onelogin".into(),
                target_id: (30_000_000 + i).to_string(),
                hash: Some(format!("{:032x}", rng.random::<u128>())),
                origin: Some("created".into()),
            },
            13 => Event::Map {
                kind: "group".into(),
                source: "okta".into(),
                id: okta_id("00g", i),
                target: "onelogin".into(),
                target_id: (500_000 + i).to_string(),
                hash: Some(format!("{:032x}", rng.random::<u128>())),
                origin: Some("created".into()),
            },
            14..=17 => Event::Edge {
                kind: "membership".into(),
                source: "okta".into(),
                id: format!("{}/{}", okta_id("00g", i % 500), okta_id("00u", i)),
                target: "onelogin".into(),
                target_id: Some(format!("{}/{}", 500_000 + i % 500, 30_000_000 + i)),
            },
            18 => Event::Edge {
                kind: "app_assignment".into(),
                source: "okta".into(),
                id: format!("{}/{}", okta_id("0oa", i % 40), okta_id("00g", i % 500)),
                target: "onelogin".into(),
                target_id: Some(format!("{}/{}", 500_000 + i % 500, 700_000 + i % 40)),
            },
            _ => Event::Attr {
                target: "onelogin".into(),
                shortname: format!("attr_{}", i % 300),
                target_id: Some((80_000 + i % 300).to_string()),
            },
        };
        batch.push(event);
        if batch.len() == batch.capacity() {
            journal.append_all(&batch).map_err(|e| e.to_string())?;
            batch.clear();
        }
    }
    journal.append_all(&batch).map_err(|e| e.to_string())
}

fn replay(path: &Path) -> Result<(), String> {
    let started = Instant::now();
    let state = Journal::read(path).map_err(|e| e.to_string())?;
    let took = started.elapsed();
    println!(
        "events={} mappings={} fold_s={:.3}",
        state.event_count(),
        state.mapping_count(),
        took.as_secs_f64()
    );
    Ok(())
}
