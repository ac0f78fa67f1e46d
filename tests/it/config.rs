//! The project file (`idm.toml`): it drives a tool on its own, flags and the environment
//! override it in that order, `idm-creds show` says where each setting came from, and a bad
//! file is a usage error that names the key or line.

use std::path::Path;

use crate::util::{Tool, sandbox};

/// A tool with none of the settings a project file may hold in its environment.
fn bare(name: &str, dir: &Path) -> Tool {
    let mut t = Tool::new(name).dir(dir);
    for var in [
        "IDM_OKTA_URL",
        "IDM_OKTA_TOKEN",
        "IDM_OKTA_RATE_LIMIT",
        "IDM_ONELOGIN_URL",
        "IDM_ONELOGIN_CLIENT_ID",
        "IDM_ONELOGIN_CLIENT_SECRET",
        "IDM_ONELOGIN_RATE_LIMIT",
        "IDM_TARGET",
        "IDM_MAP_TO",
        "IDM_CONNECTORS",
    ] {
        t = t.env_remove(var);
    }
    t
}

const DEAD: &str = "http://127.0.0.1:9";

#[test]
fn a_project_file_alone_drives_an_export_and_env_and_flags_override_it() {
    let sb = sandbox(40);
    let dir = tempfile::tempdir().unwrap();
    let write = |url: &str| {
        std::fs::write(
            dir.path().join("idm.toml"),
            format!(
                "# the rehearsal\nstate = \"rehearsal.ndjson\"\n\n[okta]\nurl = \"{url}\"\nrate_limit = \"none\"\n"
            ),
        )
        .unwrap()
    };
    write(sb.okta_url());
    // the secret is the one thing a project file never holds
    let export = || bare("idm-export", dir.path()).env("IDM_OKTA_TOKEN", sb.okta_token());
    let ran = export().run();
    ran.expect(0);
    let users = |ran: &crate::util::Ran| {
        ran.records()
            .into_iter()
            .filter(|r| r["kind"] == "user")
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // the same users as an export configured the usual way
    let elsewhere = tempfile::tempdir().unwrap();
    let by_env = Tool::new("idm-export")
        .okta(&sb)
        .dir(elsewhere.path())
        .run();
    by_env.expect(0);
    assert!(users(&ran).len() > 30, "{}", ran.show());
    assert_eq!(users(&ran), users(&by_env));
    // the state path came from the file, relative to it
    let journal = std::fs::read_to_string(dir.path().join("rehearsal.ndjson"))
        .expect("the journal named by the project file");
    assert!(journal.contains("\"ev\":\"bookmark\""), "{journal}");

    // the environment wins over the file
    export().env("IDM_OKTA_URL", DEAD).run().expect(1);
    write(DEAD);
    export().env("IDM_OKTA_URL", sb.okta_url()).run().expect(0);
    // and a flag wins over both
    export()
        .env("IDM_OKTA_URL", DEAD)
        .args(["--okta-url", sb.okta_url()])
        .run()
        .expect(0);
    // --config names another file
    let other = dir.path().join("prod.toml");
    std::fs::write(&other, format!("[okta]\nurl = \"{}\"\n", sb.okta_url())).unwrap();
    export()
        .args(["--rate-limit", "none", "--config"])
        .arg(&other)
        .run()
        .expect(0);
    export()
        .env("IDM_CONFIG", &other)
        .args(["--rate-limit", "none"])
        .run()
        .expect(0);
}

#[test]
fn creds_show_says_where_each_setting_came_from() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("idm.toml"),
        "[okta]\nurl = \"https://acme.okta.com\"\nrate_limit = \"300/min\"\n[onelogin]\nclient_id = \"cid-from-file\"\n",
    )
    .unwrap();
    let token = "00SecretTokenValue1234567890abcdef";
    let ran = bare("idm-creds", dir.path())
        .env("IDM_OKTA_TOKEN", token)
        .env("IDM_ONELOGIN_CLIENT_SECRET", "s3cr3t-value-for-the-test")
        .env("IDM_ONELOGIN_CLIENT_ID", "cid-from-env")
        .args(["show", "--onelogin-url", "https://acme.onelogin.com"])
        .run();
    ran.expect(0);
    let out = &ran.stdout;
    let line = |label: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no `{label}` line:\n{out}"))
            .to_string()
    };
    assert!(line("file").contains("idm.toml"), "{out}");
    assert!(line("url").contains("(idm.toml `okta.url`)"), "{out}");
    assert!(
        line("rate limit").contains("300/min  (idm.toml `okta.rate_limit`)"),
        "{out}"
    );
    assert!(
        out.contains("https://acme.onelogin.com  (flag `--onelogin-url`)"),
        "{out}"
    );
    assert!(
        line("client id").contains("cid-from-env  (env `IDM_ONELOGIN_CLIENT_ID`)"),
        "the environment wins over the file: {out}"
    );
    assert!(line("state").contains("default"), "{out}");
    assert!(
        !out.contains(token) && !out.contains("s3cr3t-value"),
        "{out}"
    );
}

#[test]
fn a_bad_project_file_is_a_usage_error_naming_the_key_or_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idm.toml");
    let cases = [
        (
            "[okta]\nurll = \"https://a.okta.com\"\n",
            "unknown key `okta.urll`",
        ),
        (
            "[onelogin]\nclient_secret = \"hunter2\"\n",
            "`onelogin.client_secret` looks like a secret",
        ),
        ("[okta]\nurl = \"https://a\n", "line 2"),
        (
            "state = 3\n[map]\nconnectors = [\"a\"]\n",
            "`map.connectors` must be a string",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(&path, text).unwrap();
        let ran = bare("idm-map", dir.path()).stdin("").run();
        ran.expect(2);
        assert!(ran.stderr.contains(want), "{text:?}: {}", ran.show());
        assert!(!ran.stderr.contains("hunter2"), "{}", ran.show());
        assert_eq!(
            ran.stderr.trim().lines().count(),
            1,
            "one line: {}",
            ran.show()
        );
    }
    // a --config file that is not there is named
    let ran = bare("idm-map", dir.path())
        .args(["--config", "nope.toml"])
        .stdin("")
        .run();
    ran.expect(2);
    assert!(ran.stderr.contains("nope.toml"), "{}", ran.show());
}
