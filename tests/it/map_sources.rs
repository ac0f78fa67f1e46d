//! idm-map over the Stormpath and CSV sources, end to end: the real `idm-export` output mapped
//! by the real `idm-map --to onelogin`.
//!
//! The Stormpath reference fixture (shared/reference/stormpath-export.md §3) must give every
//! expected user with the right fields, the reference's group names and members, and its known
//! passwords: Robert's `$stormpath2$` SHA-256 still verifies after conversion to OneLogin's
//! `salt+sha256`, Alice's bcrypt carries a warning. A staging file with one row per hash form
//! checks every conversion rule the same way. Neither `-vvv` nor `--explain` may print a hash,
//! a salt, a cleartext password or an API key secret.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use idm::password::{Algorithm, BcryptVariant, Digest, Hash, SaltOrder};
use serde_json::Value;

use crate::util::{Ran, Tool, fixture};

fn stormpath_export() -> Ran {
    let dir = fixture("stormpath/reference");
    let ran = Tool::new("idm-export")
        .args(["--from", "stormpath", "--dir"])
        .arg(&dir)
        .run();
    ran.expect(0);
    ran
}

fn map(input: &str, extra: &[&str]) -> Ran {
    Tool::new("idm-map")
        .args(["--to", "onelogin"])
        .args(extra)
        .stdin(input)
        .run()
}

fn by_id<'a>(records: &'a [Value], kind: &str) -> BTreeMap<String, &'a Value> {
    records
        .iter()
        .filter(|r| r["kind"] == kind)
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .collect()
}

/// Role name → member user ids, from the mapped groups and membership edges; every edge must
/// name a group and a user of the same output.
fn members(records: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    let groups = by_id(records, "group");
    let users = by_id(records, "user");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for edge in records.iter().filter(|r| r["kind"] == "membership") {
        assert_eq!(edge["target"], "onelogin", "{edge}");
        let g = edge["data"]["group_id"].as_str().unwrap();
        let u = edge["data"]["user_id"].as_str().unwrap();
        assert_eq!(edge["id"], format!("{g}/{u}"), "{edge}");
        let group = groups
            .get(g)
            .unwrap_or_else(|| panic!("edge {edge} names no mapped group"));
        assert!(users.contains_key(u), "edge {edge} names no mapped user");
        out.entry(group["data"]["name"].as_str().unwrap().to_string())
            .or_default()
            .insert(u.to_string());
    }
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Every hash, salt, cleartext and key secret a run could leak: the source's MCF strings and
/// their Base64 fields, API key secrets, and the mapped payloads' digests, salts and passwords.
fn secrets_of(exported: &[Value], mapped: &[Value]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mcf = |out: &mut BTreeSet<String>, s: &str| {
        out.insert(s.to_string());
        // the salt and digest fields, not the format's identifier
        for part in s
            .split('$')
            .filter(|p| p.len() >= 8 && !p.starts_with("stormpath"))
        {
            out.insert(part.to_string());
        }
    };
    for r in exported {
        let d = &r["data"];
        if let Some(p) = d["password"].as_str() {
            mcf(&mut out, p);
        }
        if let Some(p) = d["password_hash"].as_str() {
            mcf(&mut out, p);
        }
        for linked in d["_idm"]["linkedAccounts"].as_array().into_iter().flatten() {
            if let Some(p) = linked["password"].as_str() {
                mcf(&mut out, p);
            }
        }
        for key in ["password", "password_value", "password_salt"] {
            if let Some(v) = d[key].as_str() {
                out.insert(v.trim().to_string());
            }
        }
        for key in d["_idm"]["apiKeys"].as_array().into_iter().flatten() {
            out.insert(key["secret"].as_str().unwrap().to_string());
        }
    }
    for r in mapped.iter().filter(|r| r["kind"] == "user") {
        for key in ["password", "salt"] {
            if let Some(v) = r["data"][key].as_str() {
                out.insert(v.trim().to_string());
            }
        }
    }
    out
}

fn assert_no_secret(what: &str, text: &str, secrets: &BTreeSet<String>) {
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "{what} shows a secret `{s}`:\n{text}"
        );
    }
}

#[test]
fn stormpath_reference_fixture_maps_to_onelogin_users_roles_and_passwords() {
    let export = stormpath_export();
    let dir = tempfile::tempdir().unwrap();
    let connectors = dir.path().join("connectors.json");
    std::fs::write(&connectors, r#"{"Portal": {"openid_connect": 108419}}"#).unwrap();
    let ran = map(
        &export.stdout,
        &["--connectors", connectors.to_str().unwrap()],
    );
    ran.expect(0);
    let records = ran.records();
    assert!(
        records.iter().all(|r| r["target"] == "onelogin"),
        "{}",
        ran.show()
    );
    let users = by_id(&records, "user");
    assert_eq!(
        users.keys().cloned().collect::<BTreeSet<_>>(),
        set(&[
            "accAliceCust0000000001",
            "accBobCust000000000003",
            "accBobPart000000000004"
        ])
    );

    // Alice: merged with her partner account, API key as a custom attribute, bcrypt kept out
    let alice = users["accAliceCust0000000001"];
    let d = &alice["data"];
    for (field, want) in [
        ("firstname", "Alice"),
        ("lastname", "Smith"),
        ("email", "alice@example.com"),
        ("username", "alice@example.com"),
        ("external_id", "accAliceCust0000000001"),
    ] {
        assert_eq!(d[field], want, "{field} in {d}");
    }
    assert_eq!(
        (d["state"].as_u64(), d["status"].as_u64()),
        (Some(1), Some(1))
    );
    let custom = &d["custom_attributes"];
    for (name, want) in [
        ("display_name", "Alice J Smith"),
        ("middle_name", "J"),
        ("plan_tier", "gold"),
        ("plan_seats", "5"),
        ("newsletter", "true"),
        ("loyalty_id", "L-1001"),
        ("partner_code", "P-77"),
        ("email_verification_status", "VERIFIED"),
        (
            "stormpath_href",
            "https://api.stormpath.com/v1/accounts/accAliceCust0000000001",
        ),
        (
            "stormpath_api_key_1",
            "4EXAMPLEKEYALICE000000001:s3cr3tAliceKeyOneExample+/AAAAAAAAAAAAAAA",
        ),
    ] {
        assert_eq!(custom[name], want, "{name} in {custom}");
    }
    assert!(custom.get("plan_addons").is_none() && custom.get("favorite_colors").is_none());
    assert!(d.get("password").is_none() && d.get("password_algorithm").is_none());
    let warned = |rec: &Value, what: &str| {
        rec["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|w| w.as_str().unwrap().contains(what))
    };
    assert!(
        warned(
            alice,
            "password not migrated: cannot convert bcrypt ($2a$, cost 10) to onelogin"
        ),
        "{alice}"
    );

    // Bob: converted login, suspended, no surname left out, the number-typed loyaltyId gone
    let bob = &users["accBobCust000000000003"]["data"];
    assert_eq!(bob["username"], "bob@emailnotprovided.local");
    assert_eq!(bob["email"], "bob@example.org");
    assert_eq!(
        (bob["state"].as_u64(), bob["status"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(bob.get("lastname").is_none(), "{bob}");
    assert!(
        bob["custom_attributes"].get("loyalty_id").is_none(),
        "{bob}"
    );
    assert!(bob.get("password").is_none());
    assert!(!warned(
        users["accBobCust000000000003"],
        "password not migrated"
    ));

    // Robert: his `$stormpath2$` SHA-256 is OneLogin's salt+sha256, and still takes Bob-Net-3
    let robert = &users["accBobPart000000000004"]["data"];
    assert_eq!(robert["password_algorithm"], "salt+sha256");
    assert_eq!(robert["password"], robert["password_confirmation"]);
    let hash = Hash::from_onelogin(
        "salt+sha256",
        robert["password"].as_str().unwrap(),
        robert["salt"].as_str().unwrap(),
    )
    .unwrap();
    assert!(hash.verify("Bob-Net-3"), "{robert}");
    assert!(!hash.verify("Bob-Net-4") && !hash.verify("Partner-Pass-2"));

    // roles: the reference's names and members (group: uses the directory's name)
    let alice_id = "accAliceCust0000000001";
    let bob_id = "accBobCust000000000003";
    let robert_id = "accBobPart000000000004";
    let want: BTreeMap<String, BTreeSet<String>> = [
        ("dir:Customers", vec![alice_id, bob_id]),
        ("dir:Partners", vec![alice_id, robert_id]),
        ("group:Customers:Admins", vec![alice_id, bob_id]),
        ("group:Partners:Beta", vec![alice_id, robert_id]),
        ("org:Acme", vec![alice_id, bob_id, robert_id]),
    ]
    .into_iter()
    .map(|(g, us)| (g.to_string(), set(&us)))
    .collect();
    assert_eq!(members(&records), want);

    // the app, and its assignments to roles of this output
    let apps = by_id(&records, "app");
    let portal = &apps["appPortal0000000000001"]["data"];
    assert_eq!(portal["name"], "app:Portal");
    assert_eq!(portal["connector_id"], 108419);
    let groups = by_id(&records, "group");
    let assigned: BTreeSet<String> = records
        .iter()
        .filter(|r| r["kind"] == "app_assignment")
        .map(|r| {
            assert_eq!(r["data"]["app_id"], "appPortal0000000000001");
            let g = r["data"]["group_id"].as_str().unwrap();
            groups[g]["data"]["name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(assigned, set(&["org:Acme", "dir:Partners"]));

    // attributes: the API key's is a plain shortname; arrays are excluded by default
    let attrs = by_id(&records, "attribute");
    assert_eq!(
        attrs["stormpathApiKey_1"]["data"]["shortname"],
        "stormpath_api_key_1"
    );
    assert!(!attrs.contains_key("favoriteColors"));
    assert!(
        ran.stderr
            .contains("1 user has a password hash onelogin cannot take: they will set a password"),
        "{}",
        ran.show()
    );
}

#[test]
fn no_hash_salt_or_key_secret_reaches_stderr_or_explain() {
    let export = stormpath_export();
    let exported = export.records();
    let mapped = map(&export.stdout, &[]).records();
    let secrets = secrets_of(&exported, &mapped);
    assert!(secrets.contains("s3cr3tAliceKeyOneExample+/AAAAAAAAAAAAAAA"));
    assert!(secrets.contains("pepper16bytes!!!"), "{secrets:?}");
    for id in [
        "accAliceCust0000000001",
        "accBobCust000000000003",
        "accBobPart000000000004",
    ] {
        let ran = map(&export.stdout, &["-vvv", "--explain", id]);
        assert!(
            ran.stderr
                .contains(&format!("explain user stormpath:{id} (mapped)")),
            "{}",
            ran.show()
        );
        assert_no_secret(
            &format!("stderr of --explain {id} -vvv"),
            &ran.stderr,
            &secrets,
        );
    }
    // the key is explained by where it comes from, and said to be a secret
    let ran = map(&export.stdout, &["--explain", "accAliceCust0000000001"]);
    assert!(
        ran.stderr.lines().any(|l| {
            l.trim_start()
                .starts_with("custom_attributes.stormpath_api_key_1 ")
                && l.ends_with("<- `_idm.apiKeys[0]` (a secret, not shown)")
        }),
        "{}",
        ran.show()
    );
}

// ---------- a staging file with one row per password form ----------

pub struct Row {
    pub login: &'static str,
    /// `password_hash`, the five hash columns, or `password`.
    pub cells: BTreeMap<&'static str, String>,
    /// The cleartext the row's hash was made from.
    pub password: &'static str,
    /// `Some(reason)`: OneLogin cannot take it, and the warning says this; `None`: it can.
    pub refused: Option<&'static str>,
}

pub const COLUMNS: [&str; 11] = [
    "login",
    "email",
    "firstName",
    "lastName",
    "groups",
    "password_hash",
    "password_algorithm",
    "password_salt",
    "password_salt_order",
    "password_value",
    "password_work_factor",
];

fn computed(algorithm: Algorithm, salt: &[u8], pw: &str) -> Hash {
    Hash::compute(algorithm, salt, pw).unwrap()
}

fn sha(digest: Digest, order: SaltOrder) -> Algorithm {
    Algorithm::Salted {
        digest,
        order,
        iterations: 1,
    }
}

fn okta_cells(h: &Hash) -> BTreeMap<&'static str, String> {
    let o = h.to_okta().unwrap();
    let mut cells = BTreeMap::new();
    for (field, column) in [
        ("algorithm", "password_algorithm"),
        ("salt", "password_salt"),
        ("saltOrder", "password_salt_order"),
        ("value", "password_value"),
        ("workFactor", "password_work_factor"),
    ] {
        match &o[field] {
            Value::String(s) => cells.insert(column, s.clone()),
            Value::Number(n) => cells.insert(column, n.to_string()),
            _ => None,
        };
    }
    cells
}

fn mcf_cell(mcf: &str) -> BTreeMap<&'static str, String> {
    BTreeMap::from([("password_hash", mcf.to_string())])
}

pub fn rows() -> Vec<Row> {
    let bcrypt = |variant| Algorithm::Bcrypt { variant, cost: 4 };
    vec![
        Row {
            login: "bcrypt2a@x.io",
            cells: mcf_cell("$2a$10$N9qo8uLOickgx2ZMRZoMyeKDO7gYklv7H8hCFMp67/9ylzbDl451y"),
            password: "Correct-Horse-1",
            refused: Some("bcrypt has no OneLogin import format"),
        },
        Row {
            login: "bcrypt2y@x.io",
            cells: mcf_cell(
                &computed(bcrypt(BcryptVariant::Y), &[3; 16], "Why-2y")
                    .to_mcf()
                    .unwrap(),
            ),
            password: "Why-2y",
            refused: Some("cannot convert bcrypt ($2y$, cost 4)"),
        },
        Row {
            login: "stormpath1@x.io",
            cells: mcf_cell(
                "$stormpath1$AQIDBAUGBwgJCgsMDQ4PEA==$mA6A6p7ZLPT2mu4gFTj0v6WqbIQfs06aSZ4c8jy7ZDQ=",
            ),
            password: "Partner-Pass-2",
            refused: Some("an HMAC keyed with the salt"),
        },
        Row {
            login: "stormpath2@x.io",
            cells: mcf_cell(
                "$stormpath2$SHA-256$1$cGVwcGVyMTZieXRlcyEhIQ==$yl9FDWmVVzMOvrPcKEJkBpbMAWMIvIh4M5sjAcG7mFs=",
            ),
            password: "Bob-Net-3",
            refused: None,
        },
        Row {
            login: "stormpath2sha1@x.io",
            cells: mcf_cell(
                &computed(sha(Digest::Sha1, SaltOrder::Prefix), b"pepper", "Sha-One-5")
                    .to_mcf()
                    .unwrap(),
            ),
            password: "Sha-One-5",
            refused: Some("does not import SHA-1 digests"),
        },
        Row {
            login: "oktasha256@x.io",
            cells: okta_cells(&computed(
                sha(Digest::Sha256, SaltOrder::Prefix),
                b"TextSalt-6",
                "Okta-Prefix-6",
            )),
            password: "Okta-Prefix-6",
            refused: None,
        },
        Row {
            login: "unsalted@x.io",
            cells: okta_cells(&computed(
                sha(Digest::Sha256, SaltOrder::Prefix),
                b"",
                "No-Salt-7",
            )),
            password: "No-Salt-7",
            refused: None,
        },
        Row {
            login: "postfix@x.io",
            cells: okta_cells(&computed(
                sha(Digest::Sha256, SaltOrder::Postfix),
                b"TextSalt-8",
                "Postfix-8",
            )),
            password: "Postfix-8",
            refused: Some("the salt is appended"),
        },
        Row {
            login: "binarysalt@x.io",
            cells: okta_cells(&computed(
                sha(Digest::Sha256, SaltOrder::Prefix),
                &[0xff, 0xfe, 0x00, 0x81],
                "Binary-9",
            )),
            password: "Binary-9",
            refused: Some("the salt is binary"),
        },
        Row {
            login: "sha512@x.io",
            cells: okta_cells(&computed(
                sha(Digest::Sha512, SaltOrder::Prefix),
                b"TextSalt-10",
                "Sha512-10",
            )),
            password: "Sha512-10",
            refused: Some("does not import SHA-512 digests"),
        },
        Row {
            login: "oktabcrypt@x.io",
            cells: okta_cells(&computed(
                bcrypt(BcryptVariant::B),
                &[5; 16],
                "Okta-Bcrypt-11",
            )),
            password: "Okta-Bcrypt-11",
            refused: Some("bcrypt has no OneLogin import format"),
        },
        Row {
            login: "malformed@x.io",
            cells: mcf_cell("$2a$10$tooShort"),
            password: "",
            refused: Some("the hash in `password_hash` cannot be read"),
        },
        Row {
            login: "clear@x.io",
            cells: BTreeMap::from([("password", " Clear Text 13 ".to_string())]),
            password: " Clear Text 13 ",
            refused: None,
        },
    ]
}

fn staging_file(dir: &Path, rows: &[Row]) -> std::path::PathBuf {
    let path = dir.join("staff.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    let mut header: Vec<&str> = COLUMNS.to_vec();
    header.push("password");
    w.write_record(&header).unwrap();
    for (i, row) in rows.iter().enumerate() {
        let groups = if i % 2 == 0 {
            "Staff|Sales/West"
        } else {
            "Staff"
        };
        let cells: Vec<String> = header
            .iter()
            .map(|c| match *c {
                "login" | "email" => row.login.to_string(),
                "firstName" => "Ann".into(),
                "lastName" => format!("Row{i}"),
                "groups" => groups.into(),
                other => row.cells.get(other).cloned().unwrap_or_default(),
            })
            .collect();
        w.write_record(&cells).unwrap();
    }
    w.flush().unwrap();
    path
}

#[test]
fn staging_file_passwords_in_every_form_map_to_onelogin_or_say_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let rows = rows();
    let file = staging_file(dir.path(), &rows);
    let export = Tool::new("idm-export")
        .args(["--from", "csv", "--allow-plaintext-passwords", "-i"])
        .arg(&file)
        .run();
    export.expect(0);
    let ran = map(&export.stdout, &[]);
    ran.expect(0);
    let records = ran.records();
    let users = by_id(&records, "user");
    assert_eq!(users.len(), rows.len(), "{}", ran.show());
    let mut refused = 0;
    for row in &rows {
        let rec = users[row.login];
        let d = &rec["data"];
        assert_eq!(d["status"], 0, "STAGED by default: {d}");
        let warnings: Vec<&str> = rec["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| w.as_str().unwrap())
            .collect();
        match row.refused {
            Some(why) => {
                refused += 1;
                for f in [
                    "password",
                    "password_confirmation",
                    "password_algorithm",
                    "salt",
                ] {
                    assert!(d.get(f).is_none(), "{}: {f} in {d}", row.login);
                }
                assert!(
                    warnings
                        .iter()
                        .any(|w| w.starts_with("password not migrated") && w.contains(why)),
                    "{}: {warnings:?}",
                    row.login
                );
            }
            None if row.cells.contains_key("password") => {
                assert_eq!(d["password"], row.password);
                assert_eq!(d["password_confirmation"], row.password);
                assert!(d.get("password_algorithm").is_none(), "{d}");
            }
            None => {
                assert_eq!(d["password_algorithm"], "salt+sha256", "{}: {d}", row.login);
                assert_eq!(d["password"], d["password_confirmation"]);
                let salt = d.get("salt").and_then(Value::as_str).unwrap_or("");
                let back =
                    Hash::from_onelogin("salt+sha256", d["password"].as_str().unwrap(), salt)
                        .unwrap();
                assert!(back.verify(row.password), "{}: {d}", row.login);
                assert!(!back.verify("not the password"));
                assert!(warnings.is_empty(), "{}: {warnings:?}", row.login);
            }
        }
    }
    assert!(
        ran.stderr.contains(&format!(
            "{refused} users have a password hash onelogin cannot take: they will set a password"
        )),
        "{}",
        ran.show()
    );

    // groups by name: ids consistent between group records and edges
    let staff: BTreeSet<String> = rows.iter().map(|r| r.login.to_string()).collect();
    let west: BTreeSet<String> = rows
        .iter()
        .step_by(2)
        .map(|r| r.login.to_string())
        .collect();
    let got = members(&records);
    assert_eq!(got["Staff"], staff);
    assert_eq!(got["Sales/West"], west);
    assert_eq!(got.len(), 2);

    // nothing secret on stderr, with -vvv and --explain of a row with a hash, and of the
    // cleartext row
    let secrets = secrets_of(&export.records(), &records);
    assert!(secrets.contains("Clear Text 13"), "{secrets:?}");
    for id in ["oktasha256@x.io", "clear@x.io", "binarysalt@x.io"] {
        let ran = map(&export.stdout, &["-vvv", "--explain", id]);
        assert!(ran.stderr.contains("(mapped)"), "{}", ran.show());
        assert_no_secret(&format!("--explain {id}"), &ran.stderr, &secrets);
    }

    // idm-csv still refuses hashed passwords (the bulk file takes cleartext only), and says
    // so without quoting them
    let csv_out = Tool::new("idm-csv").stdin(ran.stdout.as_str()).run();
    csv_out.expect(3);
    let hashed = rows
        .iter()
        .filter(|r| r.refused.is_none() && !r.cells.contains_key("password"))
        .count();
    assert_eq!(
        csv_out
            .stderr
            .matches("is a `salt+sha256` hash: the bulk csv takes clear-text passwords only")
            .count(),
        hashed,
        "{}",
        csv_out.show()
    );
    assert_no_secret("idm-csv stderr", &csv_out.stderr, &secrets);
    assert!(
        csv_out.stdout.contains(" Clear Text 13 "),
        "{}",
        csv_out.show()
    );
}
