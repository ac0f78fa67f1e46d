//! idm-attrs: discover the custom attributes mapped users need, report them, and (with
//! `--apply`) create the missing ones in OneLogin, passing every record on unchanged.
//!
//! All logic is in [`idm::attrs`]; this file wires flags, credentials and files to it.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use idm::attrs::{self, AttrTarget, Spooler};
use idm::cli::{self, conn::ConnArgs, conn::Svc};
use idm::journal::{self, Journal, TenantCheck};
use idm::provider::onelogin::OneLoginTarget;
use idm::provider::target::Target;
use idm::record::stream::{self, Completeness};
use idm::record::{RecordWriter, Rejects, reader::open_input};

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
    after_help = cli::help_footer(EXAMPLES),
)]
struct Args {
    /// The target system.
    #[arg(long, default_value = "onelogin", env = "IDM_TARGET", value_parser = ["onelogin", "okta"])]
    to: String,
    /// Create the missing attributes. Without it nothing is written to the tenant.
    #[arg(long)]
    apply: bool,
    /// With --apply: create attributes even though some input records are not mapped for the
    /// target or unreadable.
    #[arg(long)]
    force: bool,
    /// Take an input whose stream markers say it was cut short.
    #[arg(long)]
    allow_incomplete: bool,
    /// Write one `attribute` record per discovered attribute (shortname, name, count,
    /// coverage, exists) instead of passing the records through.
    #[arg(long)]
    list: bool,
    /// Also write one `result` record per attribute to FILE (created 0600): `provision`
    /// planned/ok/failed with the API's error, or `skip` for those that exist.
    #[arg(long, value_name = "FILE")]
    results: Option<std::path::PathBuf>,
    /// Accept a state journal bound to another target tenant and bind it to this one.
    #[arg(long)]
    rebind_state: bool,
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
  $ idm-map --to onelogin < export.ndjson | idm-attrs            # report only
  $ idm-map --to onelogin < export.ndjson | idm-attrs --apply | idm-load --apply
  $ idm-attrs --list < mapped.ndjson | jq -r 'select(.data.exists == false) | .id'

Credentials: IDM_ONELOGIN_CLIENT_SECRET or the keyring (`idm-creds set onelogin client_secret`).
Without --onelogin-url/--onelogin-client-id the report cannot say what exists (and --apply refuses).";

impl cli::HasLogArgs for Args {
    fn log_args(&self) -> &cli::LogArgs {
        &self.log
    }
}

fn run(args: Args) -> anyhow::Result<cli::Status> {
    if args.force && !args.apply {
        return Err(cli::usage("`--force` only makes sense with `--apply`"));
    }
    // fail early: flags and credentials before the first record
    let onelogin;
    let okta;
    let target: Option<&dyn Target> = match args.to.as_str() {
        "okta" if args.conn.okta_url.is_some() => {
            // one call without retries first: a wrong host or secret fails now, in one line
            cli::reach::check(&args.conn, Svc::Okta)?;
            okta = args.conn.okta_target(false)?;
            Some(&okta)
        }
        "okta" if args.apply => {
            return Err(cli::usage(
                "`--apply` needs an Okta connection: `--okta-url` (or IDM_OKTA_URL)",
            ));
        }
        "okta" => None,
        _ if args.conn.has_onelogin() => {
            cli::reach::check(&args.conn, Svc::OneLogin)?;
            onelogin = args.conn.onelogin()?;
            Some(&OneLoginTarget::new(&onelogin))
        }
        _ if args.apply => {
            return Err(cli::usage(
                "`--apply` needs a OneLogin connection: `--onelogin-url` and `--onelogin-client-id` (or IDM_ONELOGIN_URL and IDM_ONELOGIN_CLIENT_ID)",
            ));
        }
        _ => None,
    };
    let journal = if args.apply {
        Some(Journal::open(&args.state.state)?.0)
    } else {
        None
    };
    if let Some(t) = target {
        let state = match &journal {
            Some(j) => j.replay()?,
            None => Journal::read(&args.state.state)?,
        };
        let check = journal::check_tenant(
            &args.state.state,
            &state,
            "target",
            t.name(),
            t.base_url(),
            args.rebind_state,
        )?;
        if let (TenantCheck::Unbound(event), Some(j)) = (check, &journal) {
            j.append(&event)?;
        }
    }
    let mut rejects = Rejects::open(args.io.rejects.as_deref())?;
    let mut reader = open_input(args.io.input())?;
    let mut spool = Spooler::new().context("temporary spool file")?;
    spool
        .read_all(&mut reader, &mut rejects, &args.to)
        .context("spooling the input")?;

    let completeness = reader.completeness();
    if let Completeness::Incomplete(why) = &completeness
        && !args.allow_incomplete
    {
        anyhow::bail!(
            "the input is incomplete: {why}; nothing created, nothing passed on (`--allow-incomplete` takes it anyway)"
        );
    }
    if args.apply && !args.force {
        let unmapped = spool.discovery.unmapped_users;
        let unreadable = rejects.count();
        let mut causes = Vec::new();
        if unmapped > 0 {
            causes.push(format!(
                "{unmapped} users are not mapped for {}: map them with `idm-map --to {}` first",
                args.to, args.to
            ));
        }
        if unreadable > 0 {
            causes.push(format!(
                "{unreadable} input lines are not valid records (named above with their line numbers)"
            ));
        }
        if !causes.is_empty() {
            return Err(anyhow::Error::new(idm::load::preflight::Refused(causes)));
        }
    }
    let mut adapter = target.map(attrs::TargetAttrs::new);
    let target = adapter.as_mut().map(|a| a as &mut dyn AttrTarget);
    let reports = attrs::provision(&spool.discovery, target, journal.as_ref(), args.apply)?;
    if !args.log.quiet {
        let text = attrs::render_report(&spool.discovery, &reports, args.apply);
        let mut lines = String::new();
        for line in text.lines() {
            match line {
                "" => lines.push('\n'),
                _ => lines.push_str(&format!("{}: {line}\n", cli::tool())),
            }
        }
        cli::status::write_stderr(lines.as_bytes());
    }
    if let Some(path) = &args.results {
        let mut out = RecordWriter::create(Some(path))?;
        for report in &reports {
            out.write(&report.to_result(args.apply, &args.to))?;
        }
        out.finish().context("writing results")?;
    }
    let records = spool.lines;
    if args.list {
        let mut out = RecordWriter::create(args.io.output.as_deref())?;
        for report in &reports {
            out.write(&report.to_record(&args.to))?;
        }
        out.finish().context("writing attribute records")?;
    } else {
        let mut out = cli::output(args.io.output.as_deref())?;
        // records pass through unchanged; a marked input stays a marked stream, and one
        // taken with `--allow-incomplete` stays cut short (a begin without its end), so the
        // next stage refuses it too unless told the same
        let marked = reader.is_marked();
        let complete = marked && completeness == Completeness::Complete;
        let line = |rec: &idm::record::Record| serde_json::to_string(rec).map(|l| l + "\n");
        if marked {
            out.write_all(line(&stream::begin(cli::tool()))?.as_bytes())
                .context("writing records")?;
        }
        let lines = spool.lines;
        spool.replay(&mut out).context("writing records")?;
        if complete {
            out.write_all(line(&stream::end(cli::tool(), lines))?.as_bytes())
                .context("writing records")?;
        }
        out.flush().context("writing records")?;
    }
    let totals = attrs::totals(&reports);
    let rejected = rejects.finish()?;
    cli::summary(&summary_line(&totals, records, rejected, &args));
    Ok(cli::Status::from_failures(totals.failed as u64 + rejected))
}

/// `passed on 2,700 records (12 custom attributes: 9 exist, 3 created, 0 failed; 0 rejected
/// lines)`.
fn summary_line(t: &attrs::Totals, records: u64, rejected: u64, args: &Args) -> String {
    use cli::status::count;
    let mut outcomes = vec![format!("{} exist", t.existed)];
    if args.apply {
        outcomes.push(format!("{} created", t.created));
        outcomes.push(format!("{} failed", t.failed));
    } else {
        outcomes.push(format!("{} to create", t.would_create));
    }
    if t.unknown > 0 {
        outcomes.push(format!(
            "{} not checked (no OneLogin connection)",
            t.unknown
        ));
    }
    let verb = if args.list { "read" } else { "passed on" };
    format!(
        "{verb} {} records ({} custom attributes: {}; {} rejected lines)",
        count(records),
        t.discovered,
        outcomes.join(", "),
        count(rejected)
    )
}

fn main() -> ExitCode {
    cli::main("idm-attrs", run)
}
