//! idm-csv: write OneLogin's bulk user upload CSV from mapped records.
//!
//! All logic is in [`idm::csv_out`]; this file wires flags to it.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use idm::cli::{self, conn::ConnArgs, conn::Svc};
use idm::csv_out::{self, Options};
use idm::record::{Rejects, reader::open_input};

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
    after_help = cli::help_footer(EXAMPLES),
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
    /// With a OneLogin connection (--onelogin-url and --onelogin-client-id), idm-csv checks
    /// that every custom attribute exists in the tenant before writing (the import cannot
    /// create them).
    #[command(flatten)]
    conn: ConnArgs,
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
  $ idm-csv --excel-safe < mapped.ndjson > review.csv     # to open in a spreadsheet";

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
    if args.conn.has_onelogin() {
        // before the input is read: a wrong host or secret fails now, in one line
        cli::reach::check(&args.conn, Svc::OneLogin)?;
    }
    let mut rejects = Rejects::open(args.io.rejects.as_deref())?;
    let mut reader = open_input(args.io.input())?;
    let spool = csv_out::spool(&mut reader, &mut rejects, &options)?;
    if let idm::record::stream::Completeness::Incomplete(why) = reader.completeness() {
        anyhow::bail!("the input is incomplete: {why}; no CSV written");
    }
    if args.conn.has_onelogin() {
        check_attributes(&args.conn, spool.custom_attributes())?;
    }
    let summary = spool.write(cli::output(args.io.output.as_deref())?, &mut rejects)?;
    rejects.finish().context("writing rejects")?;
    // the last line is the summary (`wrote N rows (…)`), with the time taken
    let mut lines = summary.lines(options.excel_safe);
    let last = lines.pop();
    if !args.log.quiet {
        lines.iter().for_each(|line| cli::say(line));
    }
    if let Some(line) = last {
        cli::summary(&line);
    }
    Ok(cli::Status::from_failures(summary.rejected()))
}

/// Refuse to write a file whose custom attribute columns the tenant does not have.
fn check_attributes(conn: &ConnArgs, needed: &BTreeSet<String>) -> anyhow::Result<()> {
    let client = conn.onelogin()?;
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
