//! idm-attrs: discover the custom attributes mapped users need, report them, and (with
//! `--apply`) create the missing ones in OneLogin, passing every record on unchanged.
//!
//! All logic is in [`idm::attrs`]; this file wires flags, credentials and files to it.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use idm::attrs::{self, AttrTarget, OneLoginAttrs, Spooler};
use idm::cli;
use idm::http::Rate;
use idm::journal::Journal;
use idm::record::{RecordWriter, Rejects, create_private_file, reader::open_input};

/// Discover, report and provision OneLogin custom attributes; pass records through.
///
/// A OneLogin user create fails with 422 when its payload names a custom attribute the tenant
/// does not have. idm-attrs reads mapped records, finds every custom attribute the users
/// carry, and reports on stderr: shortname, users that have it, coverage, a sample value
/// (masked when it looks like a secret) and whether the tenant already has it, then what
/// --apply would create. With --apply it creates the missing ones (display name from the
/// shortname: employee_number -> Employee Number) and records them in the state journal.
/// Records are passed on unchanged (byte for byte) so it sits between idm-map and idm-load;
/// they are spooled to a private temporary file first, because every attribute must exist
/// before the first user reaches idm-load.
#[derive(Parser)]
#[command(
    name = "idm-attrs",
    version,
    after_help = cli::EXIT_CODES_HELP,
    after_long_help = concat!(
        "Examples:\n",
        "  $ idm-map --to onelogin < export.ndjson | idm-attrs            # report only\n",
        "  $ idm-map --to onelogin < export.ndjson | idm-attrs --apply | idm-load --apply\n",
        "  $ idm-attrs --list < mapped.ndjson | jq -r 'select(.data.exists == false) | .id'\n",
        "\n",
        "Credentials: IDM_ONELOGIN_CLIENT_SECRET or the keyring (`idm-creds set onelogin client_secret`).\n",
        "Without --url/--client-id the report cannot say what exists (and --apply refuses).\n",
        "\n",
        "Exit codes:\n",
        "  0  all done\n",
        "  1  fatal: cannot start, cannot reach an API, bad credentials\n",
        "  2  usage error\n",
        "  3  finished, but some records were rejected or failed (they are in the output)"
    )
)]
struct Args {
    /// The target system (only `onelogin` so far).
    #[arg(long, default_value = "onelogin", value_parser = ["onelogin"])]
    to: String,
    /// Create the missing attributes. Without it nothing is written to the tenant.
    #[arg(long)]
    apply: bool,
    /// Write one `attribute` record per discovered attribute (shortname, name, count,
    /// coverage, exists) instead of passing the records through.
    #[arg(long)]
    list: bool,
    /// OneLogin base URL, e.g. `https://acme.onelogin.com`.
    #[arg(long, env = "IDM_ONELOGIN_URL", value_name = "URL")]
    url: Option<String>,
    /// OneLogin API client id (the secret comes from the environment or the keyring).
    #[arg(long, env = "IDM_ONELOGIN_CLIENT_ID", value_name = "ID")]
    client_id: Option<String>,
    /// Client-side quota, e.g. `5000/hour` (OneLogin's default).
    #[arg(
        long,
        value_name = "N/PER",
        default_value = "5000/hour",
        env = "IDM_ONELOGIN_RATE_LIMIT"
    )]
    rate_limit: Rate,
    /// Seconds before one HTTP request times out.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    timeout: u64,
    /// Also write one `result` record per attribute to FILE (created 0600): `provision`
    /// planned/ok/failed with the API's error, or `skip` for those that exist.
    #[arg(long, value_name = "FILE")]
    results: Option<std::path::PathBuf>,
    #[command(flatten)]
    io: cli::IoArgs,
    #[command(flatten)]
    state: cli::StateArgs,
    #[command(flatten)]
    log: cli::LogArgs,
}

impl cli::HasLogArgs for Args {
    fn log_args(&self) -> &cli::LogArgs {
        &self.log
    }
}

fn run(args: Args) -> anyhow::Result<cli::Status> {
    // fail early: flags and credentials before the first record
    let client = match (&args.url, &args.client_id) {
        (Some(url), Some(id)) => Some(attrs::onelogin_client(
            url,
            id,
            Some(args.rate_limit),
            Duration::from_secs(args.timeout),
        )?),
        _ if args.apply => {
            return Err(cli::usage(
                "`--apply` needs a OneLogin connection: `--url` and `--client-id` (or IDM_ONELOGIN_URL and IDM_ONELOGIN_CLIENT_ID)",
            ));
        }
        _ => None,
    };
    let journal = if args.apply {
        Some(Journal::open(&args.state.state)?.0)
    } else {
        None
    };
    let mut rejects = Rejects::open(args.io.rejects.as_deref())?;
    let mut reader = open_input(args.io.input.as_deref())?;
    let mut spool = Spooler::new().context("temporary spool file")?;
    spool
        .read_all(&mut reader, &mut rejects, &args.to)
        .context("spooling the input")?;

    let mut adapter = client.as_ref().map(OneLoginAttrs::new);
    let target = adapter.as_mut().map(|a| a as &mut dyn AttrTarget);
    let reports = attrs::provision(&spool.discovery, target, journal.as_ref(), args.apply)?;
    if !args.log.quiet {
        let text = attrs::render_report(&spool.discovery, &reports, args.apply);
        let mut err = io::stderr().lock();
        for line in text.lines() {
            let _ = match line {
                "" => writeln!(err),
                _ => writeln!(err, "{}: {line}", cli::tool()),
            };
        }
    }
    if let Some(path) = &args.results {
        let mut out = RecordWriter::create(Some(path))?;
        for report in &reports {
            out.write(&report.to_result(args.apply))?;
        }
        out.finish().context("writing results")?;
    }
    if args.list {
        let mut out = RecordWriter::create(args.io.output.as_deref())?;
        for report in &reports {
            out.write(&report.to_record(&args.to))?;
        }
        out.finish().context("writing attribute records")?;
    } else {
        let out: Box<dyn Write> = match args.io.output.as_deref() {
            Some(p) if p != Path::new("-") => Box::new(create_private_file(p)?),
            _ => Box::new(io::stdout().lock()),
        };
        let mut out = BufWriter::with_capacity(256 * 1024, out);
        spool.replay(&mut out).context("writing records")?;
        out.flush().context("writing records")?;
    }
    let failed = attrs::totals(&reports).failed as u64;
    Ok(cli::Status::from_failures(failed + rejects.finish()?))
}

fn main() -> ExitCode {
    cli::main("idm-attrs", run)
}
