//! idm-csv: write OneLogin's bulk user upload CSV from mapped records.
//!
//! All logic is in [`idm::csv_out`]; this file wires flags to it.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use std::collections::BTreeSet;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use idm::cli;
use idm::csv_out::{self, Options};
use idm::record::{Rejects, create_private_file, reader::open_input};

/// Write OneLogin's bulk user upload CSV from mapped records.
///
/// For large tenants the API route takes days at 5,000 calls an hour; OneLogin's admin console
/// imports users from a CSV instead. idm-csv reads the records idm-map wrote and writes that
/// file: the template's columns (firstname, lastname, email, username, phone, company,
/// department, group, role, password, title, status, delete), then one column per custom
/// attribute, sorted by shortname. `role` holds the user's role names from the memberships in
/// the same stream, joined by `;`. The stream is spooled to a private temporary file first
/// (the header needs every custom attribute), so memory stays flat.
///
/// Users that cannot be represented (a line break in a username, a value over 32,767
/// characters, a hashed password, ...) are reported with their line number, written to
/// --rejects, and make the exit code 3.
#[derive(Parser)]
#[command(
    name = "idm-csv",
    version,
    after_help = cli::EXIT_CODES_HELP,
    after_long_help = EXAMPLES
)]
struct Args {
    /// The CSV format to write.
    #[arg(long, value_enum, default_value = "onelogin", env = "IDM_CSV_FORMAT")]
    format: Format,
    #[command(flatten)]
    io: cli::IoArgs,
    /// Prefix cells that start with `=`, `+`, `-`, `@`, tab or CR with `'` so a spreadsheet
    /// shows them as text instead of running them as formulas.
    #[arg(long, env = "IDM_CSV_EXCEL_SAFE")]
    excel_safe: bool,
    /// Add payload fields the template has no column for (external_id, samaccountname,
    /// comment, ...) as extra columns after the custom attributes. Off by default: the
    /// importer may not accept unknown columns.
    #[arg(long)]
    extra_columns: bool,
    /// OneLogin base URL. With --client-id, idm-csv checks that every custom attribute
    /// exists in the tenant before writing (the import cannot create them).
    #[arg(long, env = "IDM_ONELOGIN_URL", value_name = "URL")]
    url: Option<String>,
    /// OneLogin API client id (the secret comes from the environment or the keyring).
    #[arg(long, env = "IDM_ONELOGIN_CLIENT_ID", value_name = "ID")]
    client_id: Option<String>,
    #[command(flatten)]
    log: cli::LogArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// OneLogin's bulk user upload template.
    Onelogin,
}

const EXAMPLES: &str = "\
Examples:
  $ idm-map --to onelogin < export.ndjson | idm-csv -o bulk_upload.csv
  $ idm-csv -i mapped.ndjson -o bulk_upload.csv --rejects csv-rejects.ndjson
  $ idm-csv --excel-safe < mapped.ndjson > review.csv     # to open in a spreadsheet

Exit codes:
  0  all done
  1  fatal: cannot start, cannot reach an API, bad credentials
  2  usage error
  3  finished, but some records were rejected or failed (they are in the output)";

impl cli::HasLogArgs for Args {
    fn log_args(&self) -> &cli::LogArgs {
        &self.log
    }
}

fn run(args: Args) -> anyhow::Result<cli::Status> {
    let Format::Onelogin = args.format;
    let options = Options {
        excel_safe: args.excel_safe,
        extra_columns: args.extra_columns,
        chunk_entries: 0,
    };
    let mut rejects = Rejects::open(args.io.rejects.as_deref())?;
    let mut reader = open_input(args.io.input.as_deref())?;
    let spool = csv_out::spool(&mut reader, &mut rejects, &options)?;
    if let (Some(url), Some(id)) = (&args.url, &args.client_id) {
        check_attributes(url, id, spool.custom_attributes())?;
    }
    let out: Box<dyn Write> = match args.io.output.as_deref() {
        Some(p) if p != Path::new("-") => Box::new(create_private_file(p)?),
        _ => Box::new(io::stdout().lock()),
    };
    let summary = spool.write(BufWriter::with_capacity(256 * 1024, out), &mut rejects)?;
    rejects.finish().context("writing rejects")?;
    if !args.log.quiet {
        for line in summary.lines(options.excel_safe) {
            eprintln!("{}: {line}", cli::tool());
        }
    }
    Ok(cli::Status::from_failures(summary.rejected()))
}

/// Refuse to write a file whose custom attribute columns the tenant does not have.
fn check_attributes(url: &str, client_id: &str, needed: &BTreeSet<String>) -> anyhow::Result<()> {
    let client = idm::attrs::onelogin_client(url, client_id, None, Duration::from_secs(30))?;
    let missing = csv_out::missing_attributes(&client, needed)?;
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
        anyhow::bail!(
            "custom attributes missing in onelogin: {}: run `idm-attrs --to onelogin --apply` first (nothing written)",
            names.join(", ")
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    cli::main("idm-csv", run)
}
