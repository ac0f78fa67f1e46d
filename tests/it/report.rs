//! idm-report, the real binary: on the example files, on bad input, and (in `browser_*`
//! tests) on a whole migration run against idm-sandbox, opened in a real headless Chromium.
//!
//! Every figure the tests check on the page is counted here again, independently, from the
//! NDJSON files the page was made from; the page's figures are found by their `data-key`.
//!
//! The browser tests need a Chromium: `scripts/browser.sh` installs Debian's `chromium` when
//! missing and sets IDM_TEST_BROWSER (`make test` does this). A plain `cargo test` lists them
//! as ignored, with that reason.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use idm::sandbox::seed::SeedConfig;
use idm::sandbox::{Sandbox, SandboxConfig, Side};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_idm-report");

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    [
        "okta-export.ndjson",
        "onelogin-mapped.ndjson",
        "plan.ndjson",
        "results.ndjson",
        "journal.ndjson",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect()
}

fn explain(what: &str, out: &Output) -> String {
    format!(
        "{what}: exit {:?}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn report(args: &[&Path], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("RUST_LOG");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("idm-report runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input)
            .expect("stdin written");
    }
    child.wait_with_output().unwrap()
}

/// The figures of a page: `data-key` → the number shown (whose `data-n`, when it has one,
/// must say the same).
fn page_figures(html: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (at, _) in html.match_indices("data-key=\"") {
        let rest = &html[at + 10..];
        let key = &rest[..rest.find('"').unwrap()];
        let tag_end = rest.find('>').unwrap();
        let tag = &rest[..tag_end];
        let text_end = rest[tag_end..].find('<').unwrap() + tag_end;
        let digits: String = rest[tag_end + 1..text_end]
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let shown: u64 = digits
            .parse()
            .unwrap_or_else(|_| panic!("`{key}` shows no number"));
        if let Some(n) = tag.split("data-n=\"").nth(1) {
            let n: u64 = n[..n.find('"').unwrap()].parse().unwrap();
            assert_eq!(n, shown, "`{key}`: data-n and text differ");
        }
        assert!(
            out.insert(key.to_string(), shown).is_none(),
            "`{key}` twice"
        );
    }
    out
}

/// The counts the page must show, computed from the files without idm's code: per file
/// (records, journal events, unreadable lines), records per stage and kind, outcomes of
/// plans and results, verify statuses, journal events.
fn expected_figures(files: &[PathBuf]) -> BTreeMap<String, u64> {
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for (i, path) in files.iter().enumerate() {
        // the file's row is there even when a count is zero
        for what in ["records", "events", "unreadable"] {
            want.insert(format!("file/{i}/{what}"), 0);
        }
        let mut add = |k: String| *want.entry(k).or_default() += 1;
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(_) => {
                    add(format!("file/{i}/unreadable"));
                    continue;
                }
            };
            let is_record = v.as_object().is_some_and(|o| {
                ["kind", "source", "id", "data"]
                    .iter()
                    .all(|k| o.contains_key(*k))
                    && o.keys().all(|k| {
                        ["kind", "source", "id", "data", "target", "warnings"].contains(&k.as_str())
                    })
            });
            if !is_record {
                match v.get("ev").and_then(Value::as_str) {
                    Some(ev) => {
                        add(format!("file/{i}/events"));
                        add(format!("journal/{ev}"));
                        if ev == "map" || ev == "edge" {
                            add(format!("journal/{ev}/{}", v["kind"].as_str().unwrap()));
                        }
                    }
                    None => add(format!("file/{i}/unreadable")),
                }
                continue;
            }
            if v["kind"] == "stream" {
                continue; // stream markers say whether the stream is whole; they are no records
            }
            add(format!("file/{i}/records"));
            let kind = v["kind"].as_str().unwrap();
            let d = &v["data"];
            match kind {
                "end" => {}
                "result" => {
                    let stage = if d["status"] == "planned" {
                        "plan"
                    } else {
                        "results"
                    };
                    let of = d["of"].as_str().unwrap();
                    let col = if d["status"] == "failed" {
                        "failed"
                    } else {
                        d["op"].as_str().unwrap()
                    };
                    add(format!("records/{stage}/{of}"));
                    add(format!("outcome/{stage}/{of}/{col}"));
                    add(format!("outcome/{stage}/{of}/total"));
                    if col == "failed" {
                        add("decide/failed".into());
                    }
                }
                "verify" => {
                    let of = d["of"].as_str().unwrap();
                    add(format!("records/verify/{of}"));
                    add(format!("verify/{of}/{}", d["status"].as_str().unwrap()));
                    add(format!("verify/{of}/total"));
                }
                _ => {
                    let stage = if v.get("target").is_some() {
                        "mapped"
                    } else {
                        "export"
                    };
                    add(format!("records/{stage}/{kind}"));
                    if kind == "user" {
                        add(format!("glance/{stage}/user"));
                    }
                }
            }
        }
    }
    want
}

/// Compare the page with the files: every figure computed from the files is on the page with
/// the same value, and every figure of those families on the page is one of them or zero.
fn assert_figures(files: &[PathBuf], page: &BTreeMap<String, u64>) {
    let want = expected_figures(files);
    let families = [
        "file/",
        "records/",
        "outcome/",
        "verify/",
        "journal/",
        "glance/export/user",
        "glance/mapped/user",
        "decide/failed",
    ];
    let mut checked = 0;
    for (k, n) in &want {
        assert_eq!(page.get(k), Some(n), "figure `{k}`");
        checked += 1;
    }
    for (k, n) in page {
        if families.iter().any(|f| k.starts_with(f)) && !want.contains_key(k) {
            assert_eq!(*n, 0, "figure `{k}` is on the page but not in the files");
        }
    }
    assert!(checked > 10, "only {checked} figures compared");
}

#[test]
fn examples_make_a_private_page_whose_counts_are_the_files_counts() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("report.html");
    let files = examples();
    let mut args: Vec<&Path> = vec![Path::new("-o"), &out_path];
    args.extend(files.iter().map(PathBuf::as_path));
    let out = report(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", explain("report", &out));
    assert!(out.stdout.is_empty(), "the page goes to the file only");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("idm-report: wrote")
            && stderr.contains("5 files: 58 records, 14 journal events, 0 unreadable lines"),
        "{stderr}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let html = std::fs::read_to_string(&out_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_figures(&files, &page_figures(&html));
}

#[test]
fn stdin_works_and_the_page_goes_to_stdout() {
    let input = std::fs::read(&examples()[3]).unwrap();
    let out = report(&[], Some(&input));
    assert_eq!(out.status.code(), Some(0), "{}", explain("report", &out));
    let html = String::from_utf8(out.stdout).unwrap();
    let page = page_figures(&html);
    assert_eq!(page.get("outcome/results/user/failed"), Some(&1));
    assert_eq!(page.get("file/0/records"), Some(&17));
    assert!(html.contains("<td>stdin</td>"));
}

#[test]
fn unreadable_lines_are_named_with_file_and_line_and_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.ndjson");
    let good = std::fs::read_to_string(&examples()[3]).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(2, "{\"kind\":\"result\",");
    lines.insert(5, "plain text");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out_path = dir.path().join("r.html");
    let out = report(&[Path::new("-o"), &out_path, &path], None);
    assert_eq!(out.status.code(), Some(3), "{}", explain("report", &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = path.display().to_string();
    assert!(
        stderr.contains(&format!("{name}: line 3: not JSON")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}: line 6: not JSON")),
        "{stderr}"
    );
    let html = std::fs::read_to_string(&out_path).unwrap();
    let page = page_figures(&html);
    assert_eq!(page.get("decide/unreadable"), Some(&2));
    assert_figures(&[path], &page);
}

#[test]
fn usage_errors_exit_2_and_a_missing_file_is_fatal() {
    let out = Command::new(BIN).arg("--no-such-flag").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN).args(["--rows", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN)
        .args(["-o", "/dev/null", "/no/such/file.ndjson"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("idm-report: cannot open `/no/such/file.ndjson`"),
        "{stderr}"
    );
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("$ idm-report -o report.html"));
}

// ---------------------------------------------------------------------------------------
// In a real browser.

/// A headless Chromium with a throwaway profile.
struct Browser {
    exe: PathBuf,
    profile: tempfile::TempDir,
}

/// What one browser run printed.
struct Shown {
    stdout: String,
    /// Lines the page wrote to the console (messages, errors, uncaught exceptions).
    console: Vec<String>,
}

impl Browser {
    fn from_env() -> Browser {
        let exe = std::env::var_os("IDM_TEST_BROWSER").unwrap_or_else(|| {
            panic!(
                "IDM_TEST_BROWSER is not set: run `make test`, or \
                 `scripts/browser.sh cargo test --test report -- --ignored` (installs chromium)"
            )
        });
        Browser {
            exe: PathBuf::from(exe),
            profile: tempfile::tempdir().unwrap(),
        }
    }

    /// Run the browser on `page` with `args`, at most a minute.
    fn run(&self, page: &Path, args: &[String]) -> Shown {
        let url = format!("file://{}", page.display());
        let out_dir = tempfile::tempdir().unwrap();
        let stdout_path = out_dir.path().join("stdout");
        let stderr_path = out_dir.path().join("stderr");
        let mut child = Command::new(&self.exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!("--user-data-dir={}", self.profile.path().display()))
            .args(args)
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout_path).unwrap())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .expect("the browser starts");
        // a watchdog: a hung browser fails the test instead of hanging it
        let pid = child.id();
        let (done, finished) = mpsc::channel::<()>();
        let dog = std::thread::spawn(move || {
            if finished.recv_timeout(Duration::from_secs(60)).is_err() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                return true;
            }
            false
        });
        let status = child.wait().unwrap();
        let _ = done.send(());
        assert!(
            !dog.join().unwrap(),
            "the browser took over a minute: killed"
        );
        let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        assert!(status.success(), "browser {args:?}: {status}\n{stderr}");
        let console = stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .map(str::to_string)
            .collect();
        Shown { stdout, console }
    }
}

/// The target directory, where people look for the screenshot.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .to_path_buf()
}

/// A seeded migration, run with the real tools against the sandbox; returns its files
/// (export, mapped, attribute results, plan, results, verify, journal).
fn migration(dir: &Path, sb: &Sandbox) -> Vec<PathBuf> {
    let p = |name: &str| dir.join(name);
    let tool = |name: &str, args: &[&str], codes: &[i32]| {
        let exe = match name {
            "idm-export" => env!("CARGO_BIN_EXE_idm-export"),
            "idm-map" => env!("CARGO_BIN_EXE_idm-map"),
            "idm-attrs" => env!("CARGO_BIN_EXE_idm-attrs"),
            _ => env!("CARGO_BIN_EXE_idm-load"),
        };
        let out = Command::new(exe)
            .args(args)
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .env("IDM_OKTA_URL", sb.okta_url())
            .env("IDM_OKTA_TOKEN", sb.okta_token())
            .env("IDM_ONELOGIN_URL", sb.onelogin_url())
            .env("IDM_ONELOGIN_CLIENT_ID", sb.onelogin_client_id())
            .env("IDM_ONELOGIN_CLIENT_SECRET", sb.onelogin_client_secret())
            .env("IDM_STATE", p("state.ndjson"))
            .env("IDM_TEST_RETRY_SLEEP_MS", "1")
            .output()
            .unwrap();
        let code = out.status.code().unwrap_or(-1);
        assert!(codes.contains(&code), "{}", explain(name, &out));
    };
    let s = |path: &PathBuf| path.to_str().unwrap().to_string();
    let (export, mapped, ready) = (p("export.ndjson"), p("mapped.ndjson"), p("ready.ndjson"));
    let (plan, results) = (p("plan.ndjson"), p("results.ndjson"));
    let attrs = p("attrs-results.ndjson");
    tool("idm-export", &["--from", "okta", "-o", &s(&export)], &[0]);

    // connectors for every app but the first: that one must show as "no connector"
    let mut connectors = serde_json::Map::new();
    let text = std::fs::read_to_string(&export).unwrap();
    let mut apps = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "app");
    let left_out = apps.next().expect("the seed has apps");
    for app in apps {
        connectors.insert(
            app["data"]["label"].as_str().unwrap().to_string(),
            json!({"saml_2_0": 110016, "openid_connect": 108419, "default": 30112}),
        );
    }
    assert!(!connectors.contains_key(left_out["data"]["label"].as_str().unwrap()));
    let conn_path = p("connectors.json");
    std::fs::write(&conn_path, Value::Object(connectors).to_string()).unwrap();

    // 3: the seed is messy on purpose (duplicate emails, the app without a connector)
    tool(
        "idm-map",
        &[
            "--to",
            "onelogin",
            "--connectors",
            &s(&conn_path),
            "-i",
            &s(&export),
            "-o",
            &s(&mapped),
            "--rejects",
            &s(&p("map-rejects.ndjson")),
        ],
        &[0, 3],
    );
    tool(
        "idm-attrs",
        &[
            "--to",
            "onelogin",
            "--apply",
            "--rate-limit",
            "100000/hour",
            "--results",
            &s(&attrs),
            "-i",
            &s(&mapped),
            "-o",
            &s(&ready),
        ],
        &[0, 3],
    );
    let load = |out: &PathBuf, apply: bool| {
        let mut args = vec![
            "--to".to_string(),
            "onelogin".into(),
            "--rate-limit".into(),
            "none".into(),
            "-i".into(),
            s(&ready),
            "-o".into(),
            s(out),
        ];
        if apply {
            args.push("--apply".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        tool("idm-load", &args, &[0, 3]);
    };
    load(&plan, false);
    load(&results, true);

    let verify = p("verify.ndjson");
    write_verify(&verify, &export, &mapped, &sb.dump(Side::OneLogin));
    vec![
        export,
        mapped,
        attrs,
        plan,
        results,
        verify,
        p("state.ndjson"),
    ]
}

/// Verify records made from the sandbox's own dump (no idm code): each mapped user is looked
/// up by email in the OneLogin tenant (`match`, `differs` on the first name, or `missing`),
/// each exported user that was not mapped is `not_migrated`. The stream ends with an end
/// marker.
fn write_verify(path: &Path, export: &Path, mapped: &Path, dump: &[Value]) {
    let tenant: BTreeMap<String, &Value> = dump
        .iter()
        .filter(|e| e["kind"] == "user")
        .filter_map(|e| {
            e["data"]["email"]
                .as_str()
                .map(|m| (m.to_lowercase(), &e["data"]))
        })
        .collect();
    let records = |p: &Path| -> Vec<Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|r: &Value| r["kind"] == "user")
            .collect()
    };
    let mut out = String::new();
    let mut n = 0;
    let mut mapped_ids = BTreeSet::new();
    for u in records(mapped) {
        mapped_ids.insert(u["id"].as_str().unwrap().to_string());
        let email = u["data"]["email"].as_str().unwrap().to_string();
        let (status, changes) = match tenant.get(&email.to_lowercase()) {
            None => ("missing", Value::Null),
            Some(t) if t["firstname"] != u["data"]["firstname"] => (
                "differs",
                json!({"firstname": {"from": u["data"]["firstname"], "to": t["firstname"]}}),
            ),
            Some(_) => ("match", Value::Null),
        };
        let mut data = json!({"of": "user", "label": email, "target_id": null, "status": status});
        if !changes.is_null() {
            data["changes"] = changes;
        }
        out.push_str(
            &json!({"kind": "verify", "source": "okta", "id": u["id"], "data": data}).to_string(),
        );
        out.push('\n');
        n += 1;
    }
    for u in records(export) {
        if !mapped_ids.contains(u["id"].as_str().unwrap()) {
            let data = json!({"of": "user", "label": u["data"]["profile"]["login"],
                "target_id": null, "status": "not_migrated",
                "reason": "not in the mapped records"});
            out.push_str(
                &json!({"kind": "verify", "source": "okta", "id": u["id"], "data": data})
                    .to_string(),
            );
            out.push('\n');
            n += 1;
        }
    }
    out.push_str(
        &json!({"kind": "end", "source": "okta", "id": "verify",
            "data": {"complete": true, "counts": {"verify": n}}})
        .to_string(),
    );
    out.push('\n');
    std::fs::write(path, out).unwrap();
}

/// What the test script injected into a copy of the page found when it sorted and filtered.
const EXERCISE: &str = r#"<script>
(function () {
  var out = {};
  try {
    var table = document.getElementById("t-groups");
    var col = Array.prototype.findIndex.call(table.tHead.rows[0].cells,
      function (th) { return th.textContent.indexOf("Members") === 0; });
    var values = function () {
      return Array.prototype.map.call(table.tBodies[0].rows,
        function (r) { return parseFloat(r.cells[col].getAttribute("data-n")); });
    };
    var button = table.tHead.rows[0].cells[col].querySelector("button");
    button.click();
    out.ascending = values();
    out.sortAttr1 = table.tHead.rows[0].cells[col].getAttribute("aria-sort");
    button.click();
    out.descending = values();
    out.sortAttr2 = table.tHead.rows[0].cells[col].getAttribute("aria-sort");
    var filter = table.parentNode.previousElementSibling;
    var input = filter.querySelector("input");
    var name = table.tBodies[0].rows[0].cells[0].textContent;
    input.value = name;
    input.dispatchEvent(new Event("input"));
    out.filterName = name;
    out.visible = Array.prototype.filter.call(table.tBodies[0].rows,
      function (r) { return !r.hidden; }).map(function (r) { return r.cells[0].textContent; });
    out.shownText = filter.querySelector(".shown").textContent;
    input.value = "no row has this text 7f3a";
    input.dispatchEvent(new Event("input"));
    out.noneText = filter.querySelector(".shown").textContent;
    out.total = table.tBodies[0].rows.length;
    out.ready = document.documentElement.getAttribute("data-ready");
  } catch (e) {
    out.error = String(e);
  }
  var pre = document.createElement("pre");
  pre.id = "exercise";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}());
</script>"#;

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

#[test]
#[ignore = "needs a browser: run `make test`, or `scripts/browser.sh cargo test --test report -- --ignored`"]
fn browser_renders_a_real_migration_with_the_files_counts_and_prints() {
    let browser = Browser::from_env();
    let sb = Sandbox::start(SandboxConfig {
        seed: SeedConfig {
            users: 150,
            groups: 12,
            apps: 6,
            seed: 7,
        },
        ..SandboxConfig::default()
    })
    .expect("sandbox starts");
    let dir = tempfile::tempdir().unwrap();
    let files = migration(dir.path(), &sb);
    let page = dir.path().join("report.html");
    let mut args: Vec<&Path> = vec![Path::new("-o"), &page];
    args.extend(files.iter().map(PathBuf::as_path));
    let out = report(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", explain("report", &out));
    let html = std::fs::read_to_string(&page).unwrap();
    // the run gives the page something to show in every section
    for needle in [
        r#"id="decide""#,
        r#"id="verify""#,
        r#"id="attributes""#,
        r#"id="groups""#,
        r#"id="apps""#,
        r#"id="journal""#,
        "Apps without a connector",
        "Already in the target",
        "<svg",
    ] {
        assert!(html.contains(needle), "the page has no `{needle}`");
    }

    // 1. the DOM after the page's script ran: no console output, figures as in the files
    let shown = browser.run(&page, &["--dump-dom".into()]);
    assert!(
        shown.console.is_empty(),
        "the page wrote to the console:\n{}",
        shown.console.join("\n")
    );
    let dom = &shown.stdout;
    assert!(
        dom.contains(r#"data-ready="true""#),
        "the page's script did not finish"
    );
    assert!(dom.contains(r#"class="filter""#), "filters were added");
    let figures = page_figures(dom);
    assert_figures(&files, &figures);
    assert_eq!(figures, page_figures(&html), "the script changed no figure");

    // 2. sorting and filtering, driven by a script added to a copy of the page
    let exercised = dir.path().join("exercised.html");
    std::fs::write(
        &exercised,
        html.replace("</body>", &format!("{EXERCISE}</body>")),
    )
    .unwrap();
    let shown = browser.run(&exercised, &["--dump-dom".into()]);
    assert!(shown.console.is_empty(), "{}", shown.console.join("\n"));
    let dom = &shown.stdout;
    let start = dom
        .find(r#"<pre id="exercise">"#)
        .expect("the exercise ran")
        + 19;
    let end = dom[start..].find("</pre>").unwrap() + start;
    let ex: Value = serde_json::from_str(&unescape(&dom[start..end])).unwrap();
    assert!(ex.get("error").is_none(), "{ex}");
    let nums = |k: &str| -> Vec<f64> {
        ex[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let (up, down) = (nums("ascending"), nums("descending"));
    assert!(up.len() > 8, "{ex}");
    assert!(up.windows(2).all(|w| w[0] <= w[1]), "{up:?}");
    assert!(down.windows(2).all(|w| w[0] >= w[1]), "{down:?}");
    assert_eq!(
        (ex["sortAttr1"].as_str(), ex["sortAttr2"].as_str()),
        (Some("ascending"), Some("descending"))
    );
    let name = ex["filterName"].as_str().unwrap();
    let visible = ex["visible"].as_array().unwrap();
    assert!(!visible.is_empty() && visible.iter().all(|v| v.as_str().unwrap().contains(name)));
    let total = ex["total"].as_u64().unwrap();
    assert_eq!(
        ex["shownText"].as_str().unwrap(),
        format!("{} of {total} rows", visible.len())
    );
    assert_eq!(
        ex["noneText"].as_str().unwrap(),
        format!("0 of {total} rows")
    );

    // 3. a screenshot for people to look at (next to the page itself), and the page printed
    // to PDF
    let target = target_dir();
    std::fs::copy(&page, target.join("report-example.html")).unwrap();
    let shot = target.join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let shown = browser.run(
        &page,
        &[
            "--window-size=1366,2600".into(),
            format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(shown.console.is_empty(), "{}", shown.console.join("\n"));
    let png = std::fs::read(&shot).expect("the screenshot is written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (1366, 2600));
    // a blank page of that size compresses to ~11 kB; the report's is many times that
    assert!(
        png.len() > 60_000,
        "screenshot of {} bytes: blank?",
        png.len()
    );

    let pdf_path = target.join("report.pdf");
    let _ = std::fs::remove_file(&pdf_path);
    let shown = browser.run(
        &page,
        &[
            "--no-pdf-header-footer".into(),
            format!("--print-to-pdf={}", pdf_path.display()),
        ],
    );
    assert!(shown.console.is_empty(), "{}", shown.console.join("\n"));
    let pdf = std::fs::read(&pdf_path).expect("the PDF is written");
    assert!(pdf.starts_with(b"%PDF-"));
    let pages = count_pdf_pages(&pdf);
    assert!((2..=60).contains(&pages), "{pages} pages");
    eprintln!(
        "page: {}; screenshot: {}; PDF: {} ({pages} pages)",
        target.join("report-example.html").display(),
        shot.display(),
        pdf_path.display()
    );
}

/// Page objects in a PDF (`/Type /Page`, not `/Pages`).
fn count_pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.match_indices("/Type /Page")
        .filter(|(i, _)| !text[i + 11..].starts_with('s'))
        .count()
}
