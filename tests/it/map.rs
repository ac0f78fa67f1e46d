//! idm-map end to end: the real binary over files, flags and exit codes, and a golden test over
//! a fixed export (tests/fixtures/map_export.ndjson, made by gen_okta_export.py).
//!
//! Regenerate the golden output after a deliberate change with `IDM_BLESS=1 cargo test --test map`
//! and review the diff.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::util::{self, fixture};

/// Run idm-map with `args` and `stdin`; on a failed expectation the caller prints `show`.
fn run(args: &[&str], stdin: &str) -> Output {
    util::Tool::new("idm-map").args(args).stdin(stdin).output()
}

fn show(args: &[&str], out: &Output) -> String {
    format!(
        "idm-map {}\nstatus: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn records(text: &str) -> Vec<Value> {
    util::records(text)
}

#[test]
fn golden_export_is_mapped_stably_and_every_record_is_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.ndjson");
    let input = fixture("map_export.ndjson");
    let connectors = fixture("map_connectors.json");
    let args = [
        "--to",
        "onelogin",
        "--connectors",
        connectors.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "--rejects",
        rejects.to_str().unwrap(),
    ];
    let out = run(&args, "");
    assert_eq!(out.status.code(), Some(3), "{}", show(&args, &out));
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();

    // stable: compare with the blessed output, record by record
    let golden = fixture("map_golden.ndjson");
    if std::env::var_os("IDM_BLESS").is_some() {
        std::fs::write(&golden, &stdout).unwrap();
    }
    let want =
        records(&std::fs::read_to_string(&golden).expect("golden file (IDM_BLESS=1 to create)"));
    let got = records(&stdout);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g,
            w,
            "output record {} differs from {} (IDM_BLESS=1 to accept)",
            i + 1,
            golden.display()
        );
    }
    assert_eq!(got.len(), want.len(), "number of output records");

    let (rejected_n, skipped, skipped_edges) =
        assert_accounted_for(&input, &rejects, &got, &stderr);
    assert!(
        rejected_n >= 8,
        "the fixture's bad records are rejected: {rejected_n}"
    );
    assert!(
        skipped >= 2 && skipped_edges > 0,
        "{skipped} {skipped_edges}"
    );

    // every mapped record carries the target, unknown kinds and results are untouched
    for r in &got {
        match r["kind"].as_str().unwrap() {
            "policy" | "result" => assert!(r.get("target").is_none(), "{r}"),
            _ => assert_eq!(r["target"], "onelogin", "{r}"),
        }
    }
}

#[test]
fn unknown_kinds_pass_through_byte_for_byte() {
    let line = r#"{"kind":"policy","source":"okta","id":"p1","data":{"b":  1,"a":[ ]}}"#;
    let out = run(&[], &format!("{line}\n"));
    assert_eq!(out.status.code(), Some(0), "{}", show(&[], &out));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{line}\n"));
}

#[test]
fn rejects_go_to_a_private_file_whole_and_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("r.ndjson");
    let bad_user =
        r#"{"kind":"user","source":"okta","id":"00u9","data":{"id":"00u9","status":"ACTIVE"}}"#;
    let input = format!("{bad_user}\nnot json\n");
    let args = ["--rejects", rejects.to_str().unwrap()];
    let out = run(&args, &input);
    assert_eq!(out.status.code(), Some(3), "{}", show(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "idm-map: line 1 (okta:00u9): not an okta user export: data.profile: required field is missing"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("idm-map: line 2: not JSON"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&rejects).unwrap(), input);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&rejects).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn explain_prints_the_source_of_every_field_on_stderr() {
    let input = r#"{"kind":"user","source":"okta","id":"00u1","data":{"id":"00u1","status":"STAGED","profile":{"login":"ann@x.io","workPhone":"5","costCenter":"7"}}}"#;
    let args = ["--explain", "00u1"];
    let out = run(&args, input);
    assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "explain user okta:00u1 (mapped)",
        "phone",
        "<- profile.workPhone",
        "custom_attributes.cost_center",
        "status",
    ] {
        assert!(stderr.contains(needle), "{needle}\n{stderr}");
    }
    // stdout is unchanged by --explain
    let rec: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rec["data"]["status"], 0);

    let args = ["--explain", "nope"];
    let out = run(&args, input);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--explain `nope`: no record with that id"),
        "{}",
        show(&args, &out)
    );
}

#[test]
fn bad_flags_and_files_fail_before_the_first_record() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("m.json");
    std::fs::write(&mapping, r#"{"users":{"fields":{"titel":{"drop":true}}}}"#).unwrap();
    let args = ["--mapping", mapping.to_str().unwrap()];
    let out = run(&args, "");
    assert_eq!(out.status.code(), Some(1), "{}", show(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("idm-map: mapping file `"), "{stderr}");
    assert!(stderr.contains("`users.fields.titel`"), "{stderr}");

    let connectors = dir.path().join("c.json");
    std::fs::write(&connectors, r#"{"Slack": {"saml": "abc"}}"#).unwrap();
    let args = ["--connectors", connectors.to_str().unwrap()];
    let out = run(&args, "");
    assert_eq!(out.status.code(), Some(1), "{}", show(&args, &out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`Slack.saml` is not a connector id"));

    for args in [
        &["--email-domain", "a@b"][..],
        &["--complex", "squash"][..],
        &["--to", "ldap"][..],
    ] {
        let out = run(args, "");
        assert_eq!(out.status.code(), Some(2), "{}", show(args, &out));
    }
}

#[test]
fn help_shows_example_pipelines_and_exit_codes() {
    let out = run(&["--help"], "");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "$ idm-export --from okta | idm-map --to onelogin",
        "--connectors",
        "--complex",
        "Exit codes:",
    ] {
        assert!(help.contains(needle), "{needle}\n{help}");
    }
}

#[test]
fn mapping_and_connector_examples_match_their_schemas() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (schema, example) in [
        ("schemas/mapping.schema.json", "docs/examples/mapping.json"),
        (
            "schemas/connectors.schema.json",
            "docs/examples/connectors.json",
        ),
        (
            "schemas/connectors.schema.json",
            "tests/fixtures/map_connectors.json",
        ),
    ] {
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(root.join(schema)).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(root.join(example)).unwrap()).unwrap();
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{example}: {errors:?}");
        // and the binary accepts them
        let flag = if example.contains("mapping") {
            "--mapping"
        } else {
            "--connectors"
        };
        let path = root.join(example);
        let args = [flag, path.to_str().unwrap()];
        let out = run(&args, "");
        assert_eq!(out.status.code(), Some(0), "{}", show(&args, &out));
    }
    // a file the schema refuses is refused by the binary too
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("schemas/mapping.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bad: Value =
        serde_json::json!({"users": {"fields": {"title": {"drop": true, "constant": "x"}}}});
    assert!(!validator.is_valid(&bad));
}

/// Check that every input line is mapped or passed (in the output), rejected (in the rejects
/// file, with its line number on stderr) or skipped (reason on stderr; edges of a skipped group
/// are counted in the closing note). Returns (rejected, skipped, skipped edges).
fn assert_accounted_for(
    input: &Path,
    rejects: &Path,
    got: &[Value],
    stderr: &str,
) -> (usize, usize, usize) {
    let input_text = std::fs::read_to_string(input).unwrap();
    let rejected_text = std::fs::read_to_string(rejects).unwrap();
    let rejected: HashSet<&str> = rejected_text.lines().collect();
    let output_keys: HashSet<(String, String)> = got
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut skipped_groups = HashSet::new();
    let mut rejected_ends: HashSet<(String, String)> = HashSet::new();
    let mut edges_of_rejected = 0;
    let (mut mapped, mut rejected_n, mut skipped, mut skipped_edges) = (0, 0, 0, 0);
    for (i, line) in input_text.lines().enumerate() {
        let n = i + 1;
        let parsed: Option<Value> = serde_json::from_str(line).ok();
        let key = parsed.as_ref().map(|r| {
            (
                r["kind"].as_str().unwrap_or_default().to_string(),
                r["id"].as_str().unwrap_or_default().to_string(),
            )
        });
        if let Some(k) = &key
            && output_keys.contains(k)
        {
            mapped += 1;
            continue;
        }
        if rejected.contains(line) {
            assert!(
                stderr.contains(&format!("line {n}: ")) || stderr.contains(&format!("line {n} (")),
                "rejected line {n} has no reason on stderr\n{stderr}"
            );
            rejected_n += 1;
            if let Some((kind, id)) = key {
                rejected_ends.insert((kind, id));
            }
            continue;
        }
        let r = parsed.unwrap_or_else(|| panic!("line {n} unaccounted: {line}"));
        if stderr.contains(&format!("line {n} (okta:")) && stderr.contains("skipped") {
            if r["kind"] == "group" {
                skipped_groups.insert(r["id"].as_str().unwrap().to_string());
            }
            skipped += 1;
            continue;
        }
        if let Some(g) = r["data"]["group_id"].as_str()
            && skipped_groups.contains(g)
        {
            skipped_edges += 1;
            continue;
        }
        // edges of rejected users, groups and apps are dropped by idm-map, counted once
        let of_rejected = [
            ("group_id", "group"),
            ("user_id", "user"),
            ("app_id", "app"),
        ]
        .iter()
        .any(|(field, kind)| {
            r["data"][*field]
                .as_str()
                .is_some_and(|id| rejected_ends.contains(&(kind.to_string(), id.to_string())))
        });
        if of_rejected {
            edges_of_rejected += 1;
            continue;
        }
        panic!("line {n} is not accounted for: {line}\n{stderr}");
    }
    assert_eq!(
        mapped,
        got.len(),
        "each output record comes from one input line"
    );
    if skipped_edges > 0 {
        assert!(
            stderr.contains(&format!("skipped {skipped_edges} membership")),
            "{stderr}"
        );
    }
    if edges_of_rejected > 0 {
        assert!(
            stderr.contains(&format!(
                "skipped {edges_of_rejected} membership{} or app assignment{} of users, groups or apps rejected",
                if edges_of_rejected == 1 { "" } else { "s" },
                if edges_of_rejected == 1 { "" } else { "s" }
            )),
            "{stderr}"
        );
    }
    assert_eq!(
        rejected.len(),
        rejected_n,
        "every line of the rejects file is an input line"
    );
    (rejected_n, skipped, skipped_edges)
}

#[test]
fn sandbox_seeded_tenant_maps_stably_and_is_fully_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export.ndjson");
    let status = Command::new(env!("CARGO_BIN_EXE_idm-sandbox"))
        .args([
            "--users",
            "300",
            "--seed",
            "42",
            "--include-deprovisioned",
            "--emit-export",
        ])
        .arg(&export)
        .status()
        .unwrap();
    assert!(status.success(), "idm-sandbox --emit-export failed");
    let mut outputs = Vec::new();
    for round in 0..2 {
        let rejects = dir.path().join(format!("rejects{round}.ndjson"));
        let args = [
            "--email-domain",
            "emailnotprovided.local",
            "-i",
            export.to_str().unwrap(),
            "--rejects",
            rejects.to_str().unwrap(),
        ];
        let out = run(&args, "");
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{}",
            show(&args, &out)
        );
        let stdout = String::from_utf8(out.stdout.clone()).unwrap();
        let stderr = String::from_utf8(out.stderr.clone()).unwrap();
        let got = records(&stdout);
        assert!(
            got.iter().filter(|r| r["kind"] == "user").count() > 200,
            "{}",
            show(&args, &out)
        );
        assert_accounted_for(&export, &rejects, &got, &stderr);
        outputs.push(stdout);
    }
    assert_eq!(
        outputs[0], outputs[1],
        "the same export maps to the same output"
    );
}
