//! Conventions every binary shares: `--help` exits 0 and shows an example pipeline and the
//! exit codes; a bad flag is a usage error (2); `--version` answers.

use std::process::Command;

const TOOLS: &[(&str, &str)] = &[
    ("idm-export", env!("CARGO_BIN_EXE_idm-export")),
    ("idm-map", env!("CARGO_BIN_EXE_idm-map")),
    ("idm-attrs", env!("CARGO_BIN_EXE_idm-attrs")),
    ("idm-load", env!("CARGO_BIN_EXE_idm-load")),
    ("idm-csv", env!("CARGO_BIN_EXE_idm-csv")),
    ("idm-creds", env!("CARGO_BIN_EXE_idm-creds")),
    ("idm-sandbox", env!("CARGO_BIN_EXE_idm-sandbox")),
];

#[test]
fn every_binary_answers_help_with_an_example_pipeline_and_the_exit_codes() {
    for (name, bin) in TOOLS {
        let out = Command::new(bin).arg("--help").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{name} --help: {text}");
        let examples: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("$ "))
            .collect();
        assert!(
            !examples.is_empty(),
            "{name} --help shows no `$ …` example:\n{text}"
        );
        assert!(
            examples.iter().any(|l| l.contains(name)),
            "{name} --help examples do not use {name}:\n{text}"
        );
        assert!(
            text.contains("Exit codes:"),
            "{name} --help has no exit-code table:\n{text}"
        );
        assert!(
            !text.contains("not implemented"),
            "{name} is still a placeholder:\n{text}"
        );
    }
}

#[test]
fn every_binary_treats_an_unknown_flag_as_a_usage_error() {
    for (name, bin) in TOOLS {
        let out = Command::new(bin).arg("--no-such-flag").output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{name} wrote data on a usage error");
    }
}

#[test]
fn every_binary_answers_version() {
    for (name, bin) in TOOLS {
        let out = Command::new(bin).arg("--version").output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")),
            "{name}"
        );
    }
}

/// Every service-talking tool with `args` and `env`, and no service configured.
fn unconfigured(tool: &str, args: &[&str], env: &[(&str, &str)]) -> crate::util::Ran {
    let mut t = crate::util::Tool::new(tool).args(args);
    for var in [
        "IDM_OKTA_URL",
        "IDM_ONELOGIN_URL",
        "IDM_ONELOGIN_CLIENT_ID",
        "IDM_OKTA_RATE_LIMIT",
        "IDM_ONELOGIN_RATE_LIMIT",
    ] {
        t = t.env_remove(var);
    }
    for (k, v) in env {
        t = t.env(k, v);
    }
    t.run()
}

#[test]
fn rate_limit_none_is_accepted_by_every_tool_that_talks_to_a_service() {
    // idm-attrs rejected `none` although idm-load and idm-export took it
    for tool in ["idm-export", "idm-attrs", "idm-load", "idm-csv"] {
        for (args, env) in [
            (&["--rate-limit", "none"][..], &[][..]),
            (&[][..], &[("IDM_ONELOGIN_RATE_LIMIT", "none")][..]),
            (&[][..], &[("IDM_OKTA_RATE_LIMIT", "none")][..]),
        ] {
            let run = unconfigured(tool, args, env);
            assert!(
                !run.stderr.contains("invalid rate") && !run.stderr.contains("invalid value"),
                "{}",
                run.show()
            );
            // what remains is the missing connection (or nothing, for report-only tools)
            match tool {
                "idm-attrs" | "idm-csv" => run.expect(0),
                _ => run.expect(2),
            };
        }
    }
}

#[test]
fn a_missing_url_names_the_flag_and_the_variable() {
    let run = unconfigured("idm-load", &[], &[]);
    run.expect(2);
    assert!(
        run.stderr.contains("--onelogin-url") && run.stderr.contains("IDM_ONELOGIN_URL"),
        "{}",
        run.show()
    );
    let run = unconfigured("idm-export", &[], &[]);
    run.expect(2);
    assert!(
        run.stderr.contains("--okta-url") && run.stderr.contains("IDM_OKTA_URL"),
        "{}",
        run.show()
    );
    // a bad rate in the environment is a usage error that names the variable
    let run = unconfigured(
        "idm-export",
        &["--okta-url", "http://127.0.0.1:9"],
        &[
            ("IDM_OKTA_RATE_LIMIT", "fast"),
            ("IDM_OKTA_TOKEN", "not-used"),
        ],
    );
    run.expect(2);
    assert!(run.stderr.contains("IDM_OKTA_RATE_LIMIT"), "{}", run.show());
    // the client id and the secret are named the same way, before any call is made
    let run = unconfigured(
        "idm-load",
        &["--onelogin-url", "http://127.0.0.1:9"],
        &[("IDM_ONELOGIN_CLIENT_SECRET", "not-used")],
    );
    run.expect(2);
    assert!(
        run.stderr.contains("--onelogin-client-id")
            && run.stderr.contains("IDM_ONELOGIN_CLIENT_ID"),
        "{}",
        run.show()
    );
    for (tool, args, var) in [
        (
            "idm-load",
            [
                "--onelogin-url",
                "http://127.0.0.1:9",
                "--onelogin-client-id",
                "cid",
            ],
            "IDM_ONELOGIN_CLIENT_SECRET",
        ),
        (
            "idm-export",
            ["--okta-url", "http://127.0.0.1:9", "--rate-limit", "none"],
            "IDM_OKTA_TOKEN",
        ),
    ] {
        // no secret in the environment (the keyring is asked next, and has none)
        let run = crate::util::Tool::new(tool)
            .args(args)
            .env_remove(var)
            .env("IDM_KEYRING_SERVICE", "idm-test-no-such-service")
            .run();
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.show());
        assert!(run.stderr.contains(var), "{}", run.show());
        assert!(matches!(run.code, Some(1 | 2)), "{}", run.show());
    }
}
