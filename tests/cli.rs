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
