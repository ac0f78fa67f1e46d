//! `idm-export --from stormpath`: the reference fixture (shared/reference/stormpath-export.md §3)
//! gives exactly the users, merges and skips the reference expects under our proposals; trees
//! generated here check both layouts, malformed files, and that memory stays flat at 10,000
//! accounts (measured with a counting allocator, in process).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use idm::export::{self, ORDER};
use idm::provider::ExportOptions;
use idm::provider::stormpath::{Stormpath, StormpathOptions};
use idm::record::RecordWriter;
use idm::record::schema::Schemas;
use serde_json::{Value, json};

// ---------- running the binary ----------

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stormpath/reference")
}

fn run(args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_idm-export"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(args);
    c.output().unwrap()
}

fn show(out: &Output) -> String {
    format!(
        "status: {}\nstdout (head): {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(3000)]),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn export_dir(dir: &Path, extra: &[&str]) -> (Vec<Value>, String) {
    let mut args = vec!["--from", "stormpath", "--dir", dir.to_str().unwrap()];
    args.extend(extra);
    let out = run(&args);
    assert!(out.status.success(), "{}", show(&out));
    let records = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (records, String::from_utf8(out.stderr).unwrap())
}

fn of_kind<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["kind"] == kind).collect()
}

fn ids(records: &[Value], kind: &str) -> BTreeSet<String> {
    of_kind(records, kind)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn record<'a>(records: &'a [Value], id: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no record `{id}`"))
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn assert_valid(records: &[Value]) {
    let schemas = Schemas::get();
    for r in records {
        schemas
            .validate_value(r)
            .unwrap_or_else(|e| panic!("{e}: {r}"));
        let warned = r["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w.as_str().unwrap().contains("schema")));
        assert!(!warned, "{r}");
    }
}

// ---------- the reference fixture ----------

const ALICE: &str = "accAliceCust0000000001";
const ALICE_PART: &str = "accAlicePart0000000002";
const BOB: &str = "accBobCust000000000003";
const ROBERT: &str = "accBobPart000000000004";
const CUSTOMERS: &str = "dirCustomers0000000001";
const PARTNERS: &str = "dirPartners00000000002";
const ADMINS: &str = "grpAdmins0000000000001";
const BETA: &str = "grpBeta000000000000002";
const ACME: &str = "orgAcme000000000000001";
const PORTAL: &str = "appPortal0000000000001";

#[test]
fn the_reference_fixture_gives_the_expected_users_merges_and_skips() {
    let (records, stderr) = export_dir(&fixture(), &[]);
    assert_valid(&records);

    // Carol (UNVERIFIED) and Dave (LDAP) are skipped; Alice-Part merges into Alice-Cust
    assert_eq!(ids(&records, "user"), set(&[ALICE, BOB, ROBERT]));

    let alice = &record(&records, ALICE)["data"];
    let idm = &alice["_idm"];
    assert_eq!(idm["login"], "alice@example.com");
    assert_eq!(idm["merged"]["surname"], "Smith");
    assert_eq!(
        idm["customData"],
        json!({"plan_tier": "gold", "plan_seats": 5, "favoriteColors": ["blue", "green"],
               "newsletter": true, "loyaltyId": "L-1001", "partnerCode": "P-77"})
    );
    assert_eq!(idm["apiKeys"].as_array().unwrap().len(), 1);
    assert_eq!(idm["apiKeys"][0]["id"], "4EXAMPLEKEYALICE000000001");
    assert_eq!(idm["linkedAccounts"][0]["id"], ALICE_PART);
    assert_eq!(idm["directoryIds"], json!([CUSTOMERS, PARTNERS]));
    // the base keeps its bcrypt hash, as the export has it; the stormpath1 one is not used
    assert!(alice["password"].as_str().unwrap().starts_with("$2a$10$"));
    let alice_warnings = record(&records, ALICE)["warnings"].to_string();
    assert!(
        alice_warnings.contains(&format!(
            "the password of the linked account `{ALICE_PART}` is not used"
        )),
        "{alice_warnings}"
    );

    let bob = &record(&records, BOB)["data"];
    assert_eq!(bob["_idm"]["login"], "bob@emailnotprovided.local");
    assert_eq!(bob["_idm"]["loginConverted"], true);
    assert_eq!(bob["_idm"]["merged"]["surname"], Value::Null);
    assert_eq!(bob["status"], "DISABLED");
    assert_eq!(bob["password"], Value::Null);
    assert_eq!(
        bob["_idm"]["customData"],
        json!({"plan_tier": "free", "favoriteColors": ["3", "red"]})
    );
    assert_eq!(
        bob["_idm"]["customDataRemoved"],
        json!({"loyaltyId": "number"})
    );
    let bob_warnings = record(&records, BOB)["warnings"].to_string();
    assert!(bob_warnings.contains("no surname"), "{bob_warnings}");
    assert!(
        bob_warnings.contains(&format!("also the prefix of the login of `{ROBERT}`")),
        "{bob_warnings}"
    );

    let robert = &record(&records, ROBERT)["data"];
    assert_eq!(robert["_idm"]["login"], "bob@example.net");
    assert!(
        robert["password"]
            .as_str()
            .unwrap()
            .starts_with("$stormpath2$SHA-256$1$")
    );
    assert!(
        record(&records, ROBERT)["warnings"]
            .to_string()
            .contains(BOB)
    );

    // the custom schema, inferred over unified users
    let attrs: Vec<(String, String)> = of_kind(&records, "attribute")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["data"]["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("favoriteColors", "string[]"),
        ("loyaltyId", "string"),
        ("newsletter", "boolean"),
        ("partnerCode", "string"),
        ("plan_seats", "number"),
        ("plan_tier", "string"),
        ("emailVerificationStatus", "string"),
        ("stormpathHref", "string"),
        ("stormpathApiKey_1", "string"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(attrs, expected);
    assert_eq!(
        record(&records, "loyaltyId")["data"]["counts"],
        json!({"string": 2, "number": 1})
    );

    // groups and their members (the reference's table)
    assert_eq!(
        ids(&records, "group"),
        set(&[CUSTOMERS, PARTNERS, ADMINS, BETA, ACME])
    );
    assert_eq!(
        record(&records, CUSTOMERS)["data"]["_idm"]["type"],
        "directory"
    );
    assert_eq!(
        record(&records, CUSTOMERS)["data"]["_idm"]["passwordPolicy"]["strength"]["preventReuse"],
        3
    );
    assert_eq!(
        record(&records, ACME)["data"]["_idm"]["type"],
        "organization"
    );
    let members = |group: &str| -> BTreeSet<String> {
        of_kind(&records, "membership")
            .iter()
            .filter(|m| m["data"]["group_id"] == group)
            .map(|m| m["data"]["user_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(members(CUSTOMERS), set(&[ALICE, BOB]));
    assert_eq!(members(PARTNERS), set(&[ALICE, ROBERT]));
    assert_eq!(members(ADMINS), set(&[ALICE, BOB]));
    assert_eq!(members(BETA), set(&[ALICE, ROBERT]));
    assert_eq!(members(ACME), set(&[ALICE, BOB, ROBERT]));
    assert_eq!(of_kind(&records, "membership").len(), 11);

    // the app and its groups, with its token lifetimes
    assert_eq!(ids(&records, "app"), set(&[PORTAL]));
    assert_eq!(
        record(&records, PORTAL)["data"]["_idm"]["oAuthPolicy"]["refreshTokenTtl"],
        "P30D"
    );
    assert_eq!(
        ids(&records, "app_assignment"),
        set(&[&format!("{PORTAL}/{ACME}"), &format!("{PORTAL}/{PARTNERS}")])
    );

    // every skip named by id, with its reason, and counted in the closing lines
    assert!(
        stderr.contains("skipped account `accCarolCust0000000005`: its status is UNVERIFIED"),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped account `accDaveLdap00000000006`: its directory `dirCorpLdap00000000003` is an AD/LDAP directory: import it with Okta's AD or LDAP agent"),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped directory `dirCorpLdap00000000003`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("idm-export: stormpath: read 6 accounts (1 merged into linked accounts); exported 3 users, 5 groups, 11 memberships, 1 app, 2 app assignments, 9 attributes"),
        "{stderr}"
    );
    assert!(
        stderr.contains("idm-export: stormpath: skipped 2 accounts: 1 in AD/LDAP directories"),
        "{stderr}"
    );
    assert!(stderr.contains("1 unverified"), "{stderr}");
    // Carol's Admins membership is a skipped edge
    assert!(
        stderr.contains("also skipped 1 directory, 1 membership"),
        "{stderr}"
    );
}

#[test]
fn no_email_hash_or_secret_reaches_stderr_at_any_verbosity() {
    for verbosity in ["-q", "-v", "-vv", "-vvv"] {
        let (_, stderr) = export_dir(&fixture(), &[verbosity]);
        for leak in [
            "@example",
            "$2a$",
            "$stormpath",
            "N9qo8uLOickgx2ZMRZoMye",
            "s3cr3t",
            "cGVwcGVy",
        ] {
            assert!(!stderr.contains(leak), "{verbosity}: `{leak}` in {stderr}");
        }
    }
    let (_, quiet) = export_dir(&fixture(), &["-q"]);
    assert_eq!(quiet, "");
}

#[test]
fn login_domain_is_a_flag() {
    let (records, _) = export_dir(&fixture(), &["--login-domain", "legacy.example.org"]);
    assert_eq!(
        record(&records, BOB)["data"]["_idm"]["login"],
        "bob@legacy.example.org"
    );
    let out = run(&[
        "--from",
        "stormpath",
        "--dir",
        fixture().to_str().unwrap(),
        "--login-domain",
        "a@b",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid login domain `a@b`"));
}

// ---------- generated trees ----------

#[derive(Clone, Copy, PartialEq)]
enum Layout2 {
    /// What the importer's code reads: `accounts/<id>.json`, providers embedded.
    Flat,
    /// The README's: `accounts/<dirId>/<id>.json`, `providers/<dirId>.json`, no directory refs.
    Nested,
}

struct Generated {
    dir: tempfile::TempDir,
    users: usize,
    skipped: usize,
    merged: usize,
    bytes: u64,
}

fn put(root: &Path, rel: &str, v: &Value, bytes: &mut u64) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = v.to_string();
    *bytes += text.len() as u64;
    std::fs::write(path, text).unwrap();
}

/// `n` accounts in two cloud directories and one LDAP one: every 10th account is LDAP, every
/// 97th UNVERIFIED, every 50th is linked to the next one with the same email (a merge), every
/// 7th has a username without `@`. Each carries ~`pad` bytes of custom data.
fn generate(n: usize, layout: Layout2, pad: usize) -> Generated {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut bytes = 0;
    let dirs = [
        ("dirA", "stormpath"),
        ("dirB", "stormpath"),
        ("dirL", "ldap"),
    ];
    for (id, provider) in dirs {
        let mut d = json!({"id": id, "name": format!("Dir {id}"), "status": "ENABLED"});
        match layout {
            Layout2::Flat => d["provider"] = json!({"providerId": provider}),
            Layout2::Nested => put(
                root,
                &format!("providers/{id}.json"),
                &json!({"providerId": provider}),
                &mut bytes,
            ),
        }
        put(root, &format!("directories/{id}.json"), &d, &mut bytes);
    }
    for g in 0..4 {
        let dir_id = if g % 2 == 0 { "dirA" } else { "dirB" };
        let mut group = json!({"id": format!("grp{g}"), "name": format!("Group {g}")});
        let rel = match layout {
            Layout2::Flat => {
                group["directory"] = json!({"id": dir_id});
                format!("groups/grp{g}.json")
            }
            Layout2::Nested => format!("groups/{dir_id}/grp{g}.json"),
        };
        put(root, &rel, &group, &mut bytes);
    }
    put(
        root,
        "organizations/org1.json",
        &json!({"id": "org1", "name": "Org", "nameKey": "org"}),
        &mut bytes,
    );
    put(
        root,
        "organizationAccountStoreMappings/oasm1.json",
        &json!({"id": "oasm1", "organization": {"id": "org1"},
                "accountStore": {"id": "dirA", "href": "https://api.stormpath.com/v1/directories/dirA"}}),
        &mut bytes,
    );
    put(
        root,
        "applications/app1.json",
        &json!({"id": "app1", "name": "App"}),
        &mut bytes,
    );
    put(
        root,
        "accountStoreMappings/asm1.json",
        &json!({"id": "asm1", "application": {"id": "app1"},
                "accountStore": {"id": "grp1", "href": "https://api.stormpath.com/v1/groups/grp1"}}),
        &mut bytes,
    );
    let padding = "x".repeat(pad);
    let (mut users, mut skipped, mut merged) = (0, 0, 0);
    for i in 0..n {
        let id = format!("acc{i:06}");
        let dir_id = match i % 10 {
            9 => "dirL",
            d if d % 2 == 0 => "dirA",
            _ => "dirB",
        };
        let linked_to_previous = i % 50 == 1 && dir_id != "dirL";
        let email = if linked_to_previous {
            format!("user{}@example.com", i - 1)
        } else {
            format!("user{i}@example.com")
        };
        let username = if i % 7 == 0 {
            format!("user{i}")
        } else {
            email.clone()
        };
        let status = if i % 97 == 5 { "UNVERIFIED" } else { "ENABLED" };
        let mut account = json!({
            "id": id, "href": format!("https://api.stormpath.com/v1/accounts/{id}"),
            "username": username, "email": email, "givenName": "Given", "surname": format!("S{i}"),
            "status": status, "emailVerificationStatus": "VERIFIED",
            "password": "$2a$10$N9qo8uLOickgx2ZMRZoMyeKDO7gYklv7H8hCFMp67/9ylzbDl451y",
            "customData": {"plan": {"tier": if i % 3 == 0 { "gold" } else { "free" }}, "score": i,
                           "bio": padding},
        });
        let rel = match layout {
            Layout2::Flat => {
                account["directory"] = json!({"id": dir_id});
                format!("accounts/{id}.json")
            }
            Layout2::Nested => format!("accounts/{dir_id}/{id}.json"),
        };
        put(root, &rel, &account, &mut bytes);
        if linked_to_previous {
            let prev = format!("acc{:06}", i - 1);
            put(
                root,
                &format!("accountLinks/lnk{i:06}.json"),
                &json!({"id": format!("lnk{i:06}"), "leftAccount": {"id": prev}, "rightAccount": {"id": id}}),
                &mut bytes,
            );
        }
        if dir_id != "dirL" {
            let g = i % 4;
            put(
                root,
                &format!("groupMemberships/gm{i:06}.json"),
                &json!({"id": format!("gm{i:06}"), "account": {"id": id}, "group": {"id": format!("grp{g}")}}),
                &mut bytes,
            );
        }
        // who becomes a user: the rules, restated
        if dir_id == "dirL" || status == "UNVERIFIED" {
            skipped += 1;
        } else if linked_to_previous && (i - 1) % 97 != 5 && (i - 1) % 10 != 9 {
            merged += 1;
        } else {
            users += 1;
        }
    }
    Generated {
        dir,
        users,
        skipped,
        merged,
        bytes,
    }
}

#[test]
fn both_layouts_give_the_same_users_groups_and_edges() {
    let flat = generate(400, Layout2::Flat, 10);
    let nested = generate(400, Layout2::Nested, 10);
    let (a, _) = export_dir(flat.dir.path(), &[]);
    let (b, stderr) = export_dir(nested.dir.path(), &[]);
    assert_valid(&a);
    assert_valid(&b);
    for kind in [
        "attribute",
        "group",
        "user",
        "membership",
        "app",
        "app_assignment",
    ] {
        assert_eq!(ids(&a, kind), ids(&b, kind), "{kind}");
        assert!(!ids(&a, kind).is_empty(), "{kind}");
    }
    assert_eq!(of_kind(&a, "user").len(), flat.users);
    // the derived parts agree; only the source objects differ (no embedded references)
    let derived = |r: &Value| {
        let mut idm = r["data"]["_idm"].clone();
        // linked accounts are whole source objects: the nested ones have no `directory`
        if let Some(linked) = idm.as_object_mut().unwrap().remove("linkedAccounts") {
            let ids: Vec<Value> = linked
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["id"].clone())
                .collect();
            idm["linkedAccountIds"] = Value::Array(ids);
        }
        idm
    };
    for (x, y) in of_kind(&a, "user").iter().zip(of_kind(&b, "user")) {
        assert_eq!(derived(x), derived(y), "{}", x["id"]);
        assert_eq!(x["warnings"], y["warnings"]);
    }
    assert_eq!(
        record(&b, "dirA")["data"]["_idm"]["provider"],
        json!({"providerId": "stormpath"})
    );
    assert!(
        stderr.contains(&format!(
            "stormpath: read 400 accounts ({} merged into linked accounts); exported {} users",
            flat.merged, flat.users
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("skipped {} accounts", flat.skipped)),
        "{stderr}"
    );
}

#[test]
fn ten_thousand_accounts_in_flat_memory() {
    const PAD: usize = 2_000;
    let small = generate(1_000, Layout2::Flat, PAD);
    let big = generate(10_000, Layout2::Flat, PAD);
    let run_export = |dir: &Path| {
        let mut sp = Stormpath::open(dir, StormpathOptions::default()).unwrap();
        let mut out = RecordWriter::from_writer(std::io::sink());
        let summary = export::export(
            &mut sp,
            &ORDER,
            &ExportOptions::default(),
            &mut out,
            None,
            false,
        )
        .unwrap();
        out.finish().unwrap();
        summary
    };
    // the first run compiles the schemas, which stay: measure both after it
    run_export(small.dir.path());
    let mut small_summary = None;
    let small_peak =
        crate::util::peak_heap_during(|| small_summary = Some(run_export(small.dir.path())));
    let mut big_summary = None;
    let big_peak = crate::util::peak_heap_during(|| big_summary = Some(run_export(big.dir.path())));
    let big_summary = big_summary.unwrap();
    assert_eq!(
        big_summary.count(&idm::record::Kind::User),
        big.users as u64
    );
    assert_eq!(big_summary.invalid, 0);
    assert_eq!(
        small_summary.unwrap().count(&idm::record::Kind::User),
        small.users as u64
    );
    let per_account = (big_peak - small_peak) / 9_000;
    eprintln!(
        "peak heap: 1,000 accounts {:.1} MB, 10,000 accounts {:.1} MB ({per_account} bytes per extra account); input {:.1} MB",
        small_peak as f64 / 1e6,
        big_peak as f64 / 1e6,
        big.bytes as f64 / 1e6
    );
    // an account is > 2,000 bytes on disk and several times that as JSON values in memory:
    // a source that held accounts would grow by at least that much per account
    assert!(
        per_account < 600,
        "heap grew by {per_account} bytes per account (peaks {small_peak} and {big_peak})"
    );
    assert!(big.bytes > 20_000_000);
}

#[test]
fn a_malformed_file_is_one_error_naming_it() {
    let cases: [(&str, &str, &str); 6] = [
        (
            "accounts/acc000003.json",
            "{\"id\": ",
            "not JSON: EOF while parsing",
        ),
        (
            "groupMemberships/gm000004.json",
            "[1, 2]",
            "expected a JSON object, found an array",
        ),
        (
            "directories/dirB.json",
            "{\"id\": \"dirB\"}",
            "no `provider.providerId`",
        ),
        (
            "accountLinks/lnk000001.json",
            "{\"id\": \"lnk000001\", \"leftAccount\": {}}",
            "no `leftAccount.id`",
        ),
        (
            "organizationAccountStoreMappings/oasm1.json",
            "{\"organization\": {\"id\": \"org1\"}, \"accountStore\": {\"href\": \"https://x/v1/applications/app1\"}}",
            "`accountStore` is of type `applications`",
        ),
        (
            "accounts/acc000002.json",
            "{\"id\": \"acc000002\", \"email\": \"a@b.co\", \"customData\": \"x\"}",
            "`customData` is a string",
        ),
    ];
    for (rel, text, reason) in cases {
        let g = generate(20, Layout2::Flat, 0);
        let path = g.dir.path().join(rel);
        std::fs::write(&path, text).unwrap();
        let out = run(&[
            "--from",
            "stormpath",
            "--dir",
            g.dir.path().to_str().unwrap(),
            "-q",
        ]);
        assert_eq!(out.status.code(), Some(1), "{rel}: {}", show(&out));
        assert!(out.stdout.is_empty(), "{rel}: records were written");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{rel}: {stderr}");
        assert!(
            stderr.starts_with(&format!(
                "idm-export: reading the Stormpath export: `{}`: ",
                path.display()
            )),
            "{rel}: {stderr}"
        );
        assert!(stderr.contains(reason), "{rel}: {stderr}");
    }
}

#[test]
fn the_community_exporter_s_tree_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = 0;
    put(
        dir.path(),
        "5TenantId/meta.json",
        &json!({"id": "5TenantId", "name": "t"}),
        &mut bytes,
    );
    put(
        dir.path(),
        "5TenantId/directories/d1.json",
        &json!({"id": "d1"}),
        &mut bytes,
    );
    for base in [dir.path().to_path_buf(), dir.path().join("5TenantId")] {
        let out = run(&["--from", "stormpath", "--dir", base.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("community `stormpath-export` tool"),
            "{stderr}"
        );
        assert!(stderr.contains("no password hashes"), "{stderr}");
    }
}

#[test]
fn usage_errors() {
    let out = run(&["--from", "stormpath"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let dir = fixture();
    let out = run(&[
        "--from",
        "stormpath",
        "--dir",
        dir.to_str().unwrap(),
        "--since",
        "2026-01-01",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let out = run(&[
        "--from",
        "okta",
        "--okta-url",
        "http://127.0.0.1:1",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}

#[test]
fn attributes_the_source_hides_are_created_hidden_in_okta_and_never_sampled() {
    use crate::util::Tool;
    let mut c = idm::sandbox::SandboxConfig::default();
    c.seed.users = 0;
    let sb = idm::sandbox::Sandbox::start(c).unwrap();
    let tree = fixture();
    let exported = Tool::new("idm-export")
        .args(["--from", "stormpath", "--dir", tree.to_str().unwrap()])
        .run();
    exported.expect(0);
    let mapped = Tool::new("idm-map")
        .args(["--to", "okta", "--email-domain", "emailnotprovided.local"])
        .stdin(exported.stdout.clone())
        .run();
    let hidden: Vec<Value> = mapped
        .records()
        .into_iter()
        .filter(|r| r["kind"] == "attribute" && r["data"]["hidden"] == true)
        .collect();
    assert!(
        hidden
            .iter()
            .any(|r| r["data"]["name"] == "emailVerificationStatus"),
        "{}",
        mapped.show()
    );
    let attrs = Tool::new("idm-attrs")
        .okta(&sb)
        .args(["--to", "okta", "--apply"])
        .stdin(mapped.stdout.clone())
        .run();
    attrs.expect(0);
    let line = attrs
        .stderr
        .lines()
        .find(|l| l.contains("emailVerificationStatus"))
        .unwrap_or_else(|| panic!("{}", attrs.show()));
    assert!(line.contains("(hidden)"), "{line}");
    assert!(!line.contains("VERIFIED"), "{line}");
    let schema: Value = reqwest::blocking::Client::new()
        .get(format!(
            "{}/api/v1/meta/schemas/user/default",
            sb.okta_url()
        ))
        .header("Authorization", format!("SSWS {}", sb.okta_token()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let action = |name: &str| {
        schema["definitions"]["custom"]["properties"][name]["permissions"][0]["action"].clone()
    };
    assert_eq!(action("emailVerificationStatus"), "HIDE", "{schema}");
    assert_eq!(action("stormpathHref"), "READ_WRITE", "{schema}");
}
