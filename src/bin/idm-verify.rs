//! idm-verify: reconcile the target with what the migration should have made (logic in
//! [`idm::verify`]).

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use idm::cli::{self, conn::ConnArgs};
use idm::journal::{self, Journal};
use idm::provider::onelogin::OneLoginTarget;
use idm::provider::target::Target;
use idm::record::{RecordWriter, Rejects, reader::open_input};

/// Prove a migration worked: compare the target with the mapped records.
///
/// Reads the mapped records (what should be in the target) and the state journal (where each
/// object went), reads the target's live state in bulk (read-only), and writes one `verify`
/// record per object and edge: `match`, `differs` (with `changes` per field, masked),
/// `missing`, `unexpected` (created by this migration, no longer in the source) or
/// `not_migrated` (rejected or skipped upstream, with the reason: give the export too to see
/// those). A summary goes to stderr. Exit 0 only when everything migrated matches.
#[derive(Parser)]
#[command(name = "idm-verify", version, after_help = cli::help_footer(EXAMPLES))]
struct Args {
    /// The target system to verify.
    #[arg(long, default_value = "onelogin", env = "IDM_TARGET", value_parser = ["onelogin", "okta"])]
    to: String,
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    io: cli::IoArgs,
    #[command(flatten)]
    state: cli::StateArgs,
    #[command(flatten)]
    log: cli::LogArgs,
}

const EXAMPLES: &str = "\
Examples:
  $ idm-verify --to onelogin < ready.ndjson > verify.ndjson
  $ cat export.ndjson mapped.ndjson | idm-verify --to okta -o verify.ndjson   # not_migrated too
  $ jq -c 'select(.data.status != \"match\")' verify.ndjson
  $ idm-report -o report.html export.ndjson results.ndjson verify.ndjson idm-state.ndjson";

impl cli::HasLogArgs for Args {
    fn log_args(&self) -> &cli::LogArgs {
        &self.log
    }
}

fn run(args: Args) -> anyhow::Result<cli::Status> {
    let onelogin;
    let okta;
    let target: &dyn Target = match args.to.as_str() {
        "okta" => {
            okta = args.conn.okta_target(false)?;
            &okta
        }
        _ => {
            onelogin = args.conn.onelogin()?;
            &OneLoginTarget::new(&onelogin)
        }
    };
    let state = Journal::read(&args.state.state)?;
    // a journal of another tenant would make every object `missing`: say so instead
    journal::check_tenant(
        &args.state.state,
        &state,
        "target",
        target.name(),
        target.base_url(),
        false,
    )?;
    let mut input = open_input(args.io.input())?;
    let mut rejects = Rejects::open(args.io.rejects.as_deref())?;
    let mut out = RecordWriter::create(args.io.output.as_deref())?;
    out.mark(cli::tool())?;
    let summary = idm::verify::run(target, &state, &mut input, &mut rejects, &mut out);
    // a run that fails leaves its records cut short, even when it wrote none yet
    let closed = out.close(summary.is_ok());
    let summary = summary?;
    closed.context("writing verify records")?;
    rejects.finish()?;
    if !args.log.quiet {
        eprintln!("{}: {}", cli::tool(), summary.line());
        let problems = summary.problems();
        if problems > 0 {
            eprintln!(
                "{}: {problems} objects or edges are not as migrated: jq -c 'select(.data.status != \"match\" and .data.status != \"not_migrated\")'",
                cli::tool()
            );
        }
    }
    Ok(cli::Status::from_failures(
        summary.problems() + summary.rejected,
    ))
}

fn main() -> ExitCode {
    // threads waiting on the network: one malloc arena each would keep each one's peak
    cli::limit_malloc_arenas(2);
    cli::main("idm-verify", run)
}
