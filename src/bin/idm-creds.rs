//! idm-creds: keep the Okta and OneLogin API secrets in the OS keyring, list and audit them,
//! and check that they work. All logic lives in [`idm::creds`].

use std::process::ExitCode;

use clap::Parser;
use idm::{cli, creds};

/// Keep API secrets in the OS keyring, never in files, argv or logs.
///
/// Every idm tool takes a secret from its environment variable (IDM_OKTA_TOKEN,
/// IDM_ONELOGIN_CLIENT_SECRET) or else from the keyring: first the entry for its
/// tenant URL, then the generic one. idm-creds stores those entries (macOS Keychain,
/// Windows Credential Manager, Linux Secret Service) under the keyring service `idm`
/// (or IDM_KEYRING_SERVICE), reads values from a hidden prompt or stdin, shows them
/// masked, and writes every keyring access (never a value) to an audit log in the
/// config directory ($XDG_CONFIG_HOME/idm/audit.log).
///
/// Examples:
///   $ idm-creds set okta token --url https://acme.okta.com     # hidden prompt
///   $ printf %s "$TOKEN" | idm-creds set okta token           # from a pipe
///   $ idm-creds set onelogin client_secret
///   $ idm-creds list
///   $ idm-creds get okta token --url https://acme.okta.com --reveal | pbcopy
///   $ idm-creds test okta --url https://acme.okta.com
///   $ idm-creds show --okta-url https://acme.okta.com
///   $ idm-creds audit --limit 20
///   $ idm-creds delete okta token --force
#[derive(Parser)]
#[command(
    name = "idm-creds",
    version,
    verbatim_doc_comment,
    after_help = cli::EXIT_CODES_HELP
)]
struct Args {
    #[command(flatten)]
    log: cli::LogArgs,
    #[command(subcommand)]
    command: creds::Command,
}

impl cli::HasLogArgs for Args {
    fn log_args(&self) -> &cli::LogArgs {
        &self.log
    }
}

fn run(args: Args) -> anyhow::Result<cli::Status> {
    creds::run(args.command)
}

fn main() -> ExitCode {
    cli::main("idm-creds", run)
}
