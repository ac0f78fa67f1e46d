//! idm-report: one self-contained HTML page about a migration, from its record files.
//!
//! All logic is in [`idm::report`]; this file wires flags to it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use idm::cli;
use idm::report::{self, Options};

/// Write one HTML page that sums up a migration from its record files.
///
/// Give it any of the files a migration leaves: the export, the mapped records, the plan, the
/// results, verify records and the state journal, in any order (what each file holds is told
/// from its content). The page shows counts by kind and outcome; what needs a decision
/// (failures, skips and their reasons, accounts already in the target, records idm-map left
/// out, apps without a connector); custom attribute coverage with masked samples; group sizes;
/// apps by sign-on mode and readiness; time and quota where the files record them; and the
/// verify result. It is one file with no external script, font or request: it works opened
/// from disk and printed to PDF.
///
/// The page names the people whose records need a decision; it never shows passwords, hashes
/// or values that look secret. It is created 0600.
#[derive(Parser)]
#[command(
    name = "idm-report",
    version,
    after_help = cli::EXIT_CODES_HELP,
    after_long_help = EXAMPLES
)]
struct Args {
    /// Record files and journals to read (`-` or none: stdin).
    #[arg(value_name = "FILE")]
    inputs: Vec<PathBuf>,
    /// Write the page to FILE, created 0600 (`-` or nothing: stdout).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// At most N rows per table of single records (failures, skips, ...); the rest are counted.
    #[arg(long, value_name = "N", default_value_t = 100, env = "IDM_REPORT_ROWS",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    rows: u32,
    /// The page's title.
    #[arg(long, value_name = "TEXT", default_value = "Migration report")]
    title: String,
    #[command(flatten)]
    log: cli::LogArgs,
}

const EXAMPLES: &str = "\
Examples:
  $ idm-report -o report.html export.ndjson mapped.ndjson plan.ndjson results.ndjson idm-state.ndjson
  $ idm-load --to onelogin --apply < ready.ndjson | tee results.ndjson | idm-report -o report.html
  $ chromium --headless --print-to-pdf=report.pdf report.html     # a PDF to send around

Exit codes:
  0  all done
  1  fatal: cannot start (a file cannot be opened or read, the page cannot be written)
  2  usage error
  3  finished, but some input lines were unreadable (named on stderr with their line number)";

impl cli::HasLogArgs for Args {
    fn log_args(&self) -> &cli::LogArgs {
        &self.log
    }
}

fn run(args: Args) -> anyhow::Result<cli::Status> {
    let opts = Options {
        rows: args.rows as usize,
        title: args.title,
    };
    let report = report::build(&args.inputs, &opts)?;
    report::write(&report.html, args.output.as_deref()).context("writing the report")?;
    let to = match args.output.as_deref() {
        Some(p) if p != std::path::Path::new("-") => format!("`{}`", p.display()),
        _ => "stdout".into(),
    };
    cli::summary(&format!(
        "wrote {to} from {} file{}: {} records, {} journal events, {} unreadable lines",
        report.files,
        if report.files == 1 { "" } else { "s" },
        cli::status::count(report.records),
        cli::status::count(report.events),
        cli::status::count(report.unreadable),
    ));
    Ok(cli::Status::from_failures(report.unreadable))
}

fn main() -> ExitCode {
    cli::main("idm-report", run)
}
