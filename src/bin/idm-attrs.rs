//! idm-attrs (work in progress: lands with its own issue).

use std::process::ExitCode;

use clap::Parser;
use idm::cli;

/// idm-attrs is not implemented yet.
#[derive(Parser)]
#[command(name = "idm-attrs", version, after_help = cli::EXIT_CODES_HELP)]
struct Args {
    #[command(flatten)]
    log: cli::LogArgs,
}

impl cli::HasLogArgs for Args {
    fn log_args(&self) -> &cli::LogArgs {
        &self.log
    }
}

fn run(_args: Args) -> anyhow::Result<cli::Status> {
    anyhow::bail!("not implemented yet")
}

fn main() -> ExitCode {
    cli::main("idm-attrs", run)
}
