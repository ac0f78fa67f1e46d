//! Conventions every binary shares: `--help` exits 0 and shows an example pipeline and the
//! exit codes; a bad flag is a usage error (2); `--version` answers; an input file may be
//! given as an argument; `scripts/install.sh` (`make install`) puts the tools, their man
//! pages and completions under a prefix.

use std::process::Command;

const TOOLS: &[(&str, &str)] = &[
    ("idm-export", env!("CARGO_BIN_EXE_idm-export")),
    ("idm-map", env!("CARGO_BIN_EXE_idm-map")),
    ("idm-attrs", env!("CARGO_BIN_EXE_idm-attrs")),
    ("idm-load", env!("CARGO_BIN_EXE_idm-load")),
    ("idm-csv", env!("CARGO_BIN_EXE_idm-csv")),
    ("idm-creds", env!("CARGO_BIN_EXE_idm-creds")),
    ("idm-sandbox", env!("CARGO_BIN_EXE_idm-sandbox")),
    ("idm-verify", env!("CARGO_BIN_EXE_idm-verify")),
    ("idm-report", env!("CARGO_BIN_EXE_idm-report")),
    ("idm-connectors", env!("CARGO_BIN_EXE_idm-connectors")),
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

#[test]
fn install_puts_tools_man_pages_and_completions_under_a_prefix() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bindir = std::path::Path::new(env!("CARGO_BIN_EXE_idm-map"))
        .parent()
        .unwrap();
    let prefix = tempfile::tempdir().unwrap();
    let out = Command::new(root.join("scripts/install.sh"))
        .arg(prefix.path())
        .arg(bindir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |rel: String| {
        std::fs::read_to_string(prefix.path().join(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    for (name, _) in TOOLS {
        let exe = prefix.path().join("bin").join(name);
        let help = Command::new(&exe).arg("--version").output().unwrap();
        assert_eq!(help.status.code(), Some(0), "{name} installed and runs");
        let man = read(format!("share/man/man1/{name}.1"));
        // roff escapes each hyphen of a flag
        assert!(
            man.contains(".TH") && man.contains("\\-\\-help"),
            "{name}.1:\n{man}"
        );
        let bash = read(format!("share/bash-completion/completions/{name}"));
        assert!(
            bash.contains(&format!("_{}", name.replace('-', "__"))),
            "{name} bash:\n{bash}"
        );
        let zsh = read(format!("share/zsh/site-functions/_{name}"));
        assert!(
            zsh.starts_with(&format!("#compdef {name}")),
            "{name} zsh:\n{zsh}"
        );
        let fish = read(format!("share/fish/vendor_completions.d/{name}.fish"));
        assert!(
            fish.contains(&format!("complete -c {name}")),
            "{name} fish:\n{fish}"
        );
    }
    // the pages say what --help says: a tool's own flags, a subcommand's own page
    assert!(read("share/man/man1/idm-map.1".into()).contains("connectors"));
    assert!(read("share/man/man1/idm-load.1".into()).contains("apply"));
    assert!(read("share/man/man1/idm-creds-set.1".into()).contains("idm\\-creds\\-set"));
    assert!(read("share/bash-completion/completions/idm-load".into()).contains("--apply"));
}

#[test]
fn an_input_file_may_be_given_as_an_argument() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.ndjson");
    std::fs::write(
        &input,
        concat!(
            r#"{"kind":"group","source":"okta","id":"00g1","data":{"id":"00g1","type":"OKTA_GROUP","profile":{"name":"Sales"}}}"#,
            "\n"
        ),
    )
    .unwrap();
    let map = |args: &[&std::ffi::OsStr]| crate::util::Tool::new("idm-map").args(args).run();
    let by_flag = map(&["-i".as_ref(), input.as_os_str()]);
    let by_arg = map(&[input.as_os_str()]);
    by_flag.expect(0);
    by_arg.expect(0);
    assert_eq!(by_flag.stdout, by_arg.stdout);
    assert!(
        by_arg.stdout.contains("\"name\":\"Sales\""),
        "{}",
        by_arg.show()
    );
    // both at once is ambiguous: a usage error
    map(&["-i".as_ref(), input.as_os_str(), input.as_os_str()]).expect(2);
}
