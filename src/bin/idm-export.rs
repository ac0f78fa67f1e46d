//! idm-export: stream users, groups, memberships, apps, app assignments and custom attribute
//! definitions out of Okta, OneLogin, a Stormpath export or a CSV staging file as NDJSON
//! records. Read-only. Logic lives in `idm::export` and
//! `idm::provider::{okta, onelogin::source, stormpath, csv_file}`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use idm::cli::{self, conn::ConnArgs, conn::Svc};
use idm::export::subset::{self, Selection};
use idm::export::{self, Since};
use idm::journal::{self, Event, Journal, TenantCheck};
use idm::provider::csv_file::{CsvArgs, CsvFile};
use idm::provider::onelogin::OneLoginSource;
use idm::provider::stormpath::{Stormpath, StormpathArgs, StormpathOptions};
use idm::provider::{ExportOptions, Source};
use idm::record::{Kind, RecordWriter};

/// Export identities from Okta or OneLogin as NDJSON records (read-only).
///
/// Writes one record per line: attribute (custom user-schema properties), group, user,
/// membership, app, app_assignment, in that order, each with the Okta object whole in `data`.
/// Pages are followed through Okta's Link headers and written as they arrive, so memory stays
/// flat whatever the org's size. Requests wait on a client-side quota that Okta's
/// X-Rate-Limit headers slow further; 429s wait for the reset, 5xx and network errors are
/// retried with backoff. The token comes from IDM_OKTA_TOKEN or the OS keyring, never a flag.
///
/// A completed export of users and groups writes a bookmark to the state journal;
/// `--since last` then exports only users changed after it, and every group (the catch-up
/// run at cut-over).
///
/// `--from onelogin` reads a OneLogin account the same way (roles as groups, role users as
/// memberships, role apps as app assignments; users of every state and status; cursor pages;
/// the quota learned from X-RateLimit-*); the secret comes from IDM_ONELOGIN_CLIENT_SECRET or
/// the keyring. See docs/export.md.
///
/// `--from stormpath --dir DIR` reads a Stormpath export and applies Okta's importer rules
/// (linked accounts merged, skips named on stderr); `--from csv --input FILE` reads a staging
/// file, rejecting bad rows by line number (exit 3). See docs/stormpath.md, docs/csv-source.md.
#[derive(Parser)]
#[command(
    name = "idm-export",
    version,
    after_help = format!("{EXAMPLES}\n{}", cli::EXIT_CODES_HELP),
)]
struct Args {
    /// The system to export from.
    #[arg(long, value_name = "SOURCE", default_value = "okta",
          value_parser = ["okta", "onelogin", "stormpath", "csv"])]
    from: String,
    /// Kinds to export: users,groups,memberships,apps,app_assignments,schema (or all).
    #[arg(long, value_name = "LIST", env = "IDM_EXPORT_OBJECTS", default_value = "all",
          value_parser = parse_objects)]
    objects: Objects,
    /// Also export DEPROVISIONED users (Okta hides them from plain listings).
    #[arg(long)]
    include_deprovisioned: bool,
    /// Only users and groups changed after this RFC 3339 time, or `last` for the journal's
    /// bookmark of the last completed export.
    #[arg(long, value_name = "TIME|last", value_parser = export::parse_since)]
    since: Option<Since>,
    /// Objects per page (clamped to each endpoint's maximum; users: 200).
    #[arg(long, value_name = "N", env = "IDM_PAGE_SIZE", default_value_t = 200,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    page_size: u32,
    /// Also write <source>_<kind>_<timestamp>.ndjson files (0600) into DIR.
    #[arg(long, value_name = "DIR", env = "IDM_SNAPSHOT_DIR")]
    snapshot_dir: Option<PathBuf>,
    /// Write records to FILE, created 0600 (`-` or nothing: stdout).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Accept a state journal bound to another source tenant and bind it to this one.
    #[arg(long)]
    rebind_state: bool,
    /// A pilot: only the members of the group of this name (repeatable), with their groups,
    /// memberships, apps and app assignments. The whole tenant is read; the bookmark stays.
    #[arg(long, value_name = "NAME")]
    group: Vec<String>,
    /// A pilot: only the users of FILE (one id, login or email per line; `#` comments), with
    /// their groups, memberships, apps and app assignments.
    #[arg(long, value_name = "FILE")]
    users: Option<PathBuf>,
    #[command(flatten)]
    stormpath: StormpathArgs,
    #[command(flatten)]
    csv: CsvArgs,
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    state: cli::StateArgs,
    #[command(flatten)]
    log: cli::LogArgs,
}

const EXAMPLES: &str = "\
Examples:
  $ export IDM_OKTA_URL=https://acme.okta.com   # token: idm-creds set okta token, or IDM_OKTA_TOKEN
  $ idm-export --from okta > export.ndjson
  $ idm-export --objects users,groups,memberships --include-deprovisioned -o users.ndjson
  $ idm-export --max-capacity 50 --snapshot-dir snapshots/ | idm-map --to onelogin > mapped.ndjson
  $ idm-export --since last -o delta.ndjson   # catch-up at cut-over (keep it until it is loaded)
  $ idm-export --group 'Finance' --group 'IT' -o pilot.ndjson   # a pilot: two departments
  $ idm-export --users pilot-logins.txt -o pilot.ndjson
  $ idm-export --objects users | jq -r 'select(.data.status == \"ACTIVE\") | .data.profile.login'
  $ idm-export --from onelogin --onelogin-url https://acme.onelogin.com --onelogin-client-id ID > ol.ndjson
  $ idm-export --from stormpath --dir ~/exports/683IDSZVtUQewtFoqVrIEe > stormpath.ndjson
  $ idm-export --from csv -i staff.csv --columns headers.json --rejects bad-rows.csv > staff.ndjson
";

#[derive(Clone)]
struct Objects(Vec<idm::record::Kind>);

fn parse_objects(s: &str) -> Result<Objects, String> {
    export::parse_objects(s).map(Objects)
}

impl cli::HasLogArgs for Args {
    fn log_args(&self) -> &cli::LogArgs {
        &self.log
    }
}

/// `--group` and `--users`, checked against `--objects` before anything is read.
fn selection(args: &Args) -> anyhow::Result<Selection> {
    let mut sel = Selection {
        groups: args.group.clone(),
        users: None,
    };
    if let Some(g) = sel.groups.iter().find(|g| g.trim().is_empty()) {
        Err(cli::usage(format!(
            "--group `{g}`: a group name cannot be empty"
        )))?;
    }
    if let Some(path) = &args.users {
        let list = Selection::read_users(path).map_err(|e| cli::usage(e.to_string()))?;
        sel.users = Some((path.clone(), list));
    }
    if sel.is_some() {
        let kinds = &args.objects.0;
        for (kind, why) in [
            (Kind::User, "the users"),
            (Kind::Membership, "who is in which group"),
        ] {
            if !kinds.contains(&kind) {
                Err(cli::usage(format!(
                    "`--group` and `--users` need {kind}s in `--objects`: a pilot is cut by {why}"
                )))?;
            }
        }
    }
    Ok(sel)
}

/// Export into `out`, whole, or through a pilot's selection. Returns the export's summary, the
/// summary line, and how many things asked for were not found (for the exit code).
fn write_export(
    source: &mut dyn Source,
    kinds: &[Kind],
    opts: &ExportOptions,
    out: &mut RecordWriter,
    snapshots: Option<&std::path::Path>,
    sel: &Selection,
) -> anyhow::Result<(export::Summary, String, u64)> {
    if !sel.is_some() {
        let summary = export::export(source, kinds, opts, out, snapshots, true)?;
        let line = summary.line();
        return Ok((summary, line, 0));
    }
    // the whole export goes to an unlinked 0600 file, read back for the pilot's records
    let mut spool = tempfile::tempfile().context("creating a temporary file")?;
    let mut whole = RecordWriter::from_writer(spool.try_clone().context("temporary file")?);
    let summary = export::export(source, kinds, opts, &mut whole, snapshots, true)?;
    whole.finish().context("writing a temporary file")?;
    let cut = subset::cut(&mut spool, sel, out)?;
    let problems = cut.problems(sel.users.as_ref().map(|(p, _)| p.as_path()));
    for p in &problems {
        cli::say(p);
    }
    Ok((summary, cut.line(), problems.len() as u64))
}

fn run(args: Args) -> anyhow::Result<cli::Status> {
    let sel = selection(&args)?;
    if args.from != "okta" && args.from != "onelogin" {
        return run_file_source(args, sel);
    }
    if args.from == "onelogin" && args.include_deprovisioned {
        Err(cli::usage(
            "`--include-deprovisioned` goes with `--from okta`: OneLogin lists every user, whatever their state and status",
        ))?;
    }
    if args.stormpath.dir.is_some() || args.csv.input.is_some() {
        Err(cli::usage(
            "`--dir` and `--input` go with `--from stormpath` and `--from csv`",
        ))?;
    }
    let kinds = args.objects.0;
    let since = match args.since {
        None => None,
        Some(Since::At(t)) => Some(t),
        Some(Since::Last) => match Journal::read(&args.state.state)?.bookmark(&args.from) {
            Some(at) => Some(at.to_string()),
            None => Err(cli::usage(format!(
                "`--since last`: no export bookmark in `{}`; run a full export first",
                args.state.state.display()
            )))?,
        },
    };
    // one call without retries first: a wrong host or token fails now, in one line
    let svc = if args.from == "onelogin" {
        Svc::OneLogin
    } else {
        Svc::Okta
    };
    cli::reach::check(&args.conn, svc)?;
    // the journal is opened (and locked for writing) only when it will get a bookmark
    let journal = export::bookmarks(&kinds)
        .then(|| Journal::open(&args.state.state).map(|(j, _)| j))
        .transpose()?;
    let (mut source, url): (Box<dyn Source>, String) = if args.from == "onelogin" {
        let client = args.conn.onelogin()?;
        // bad credentials are said before any output is written
        client.authenticate()?;
        let url = client.base_url().to_string();
        (Box::new(OneLoginSource::new(client)), url)
    } else {
        let okta = args.conn.okta()?;
        let url = okta.base_url().to_string();
        (Box::new(okta), url)
    };
    // a journal bound to another source tenant would make `--since last` skip changes
    let state = Journal::read(&args.state.state)?;
    let bind = match journal::check_tenant(
        &args.state.state,
        &state,
        "source",
        source.name(),
        &url,
        args.rebind_state,
    )? {
        TenantCheck::Same => None,
        TenantCheck::Unbound(event) => Some(event),
    };
    let opts = ExportOptions {
        include_deprovisioned: args.include_deprovisioned,
        since,
        page_size: args.page_size,
    };
    let mut out = RecordWriter::create(args.output.as_deref()).context("opening the output")?;
    // a marked stream: an export that fails half-way leaves no end marker, and the tools
    // downstream refuse to load what it wrote as if it were whole
    out.mark(cli::tool())?;
    let (summary, line, missing) = write_export(
        source.as_mut(),
        &kinds,
        &opts,
        &mut out,
        args.snapshot_dir.as_deref(),
        &sel,
    )?;
    out.finish_complete().context("writing records")?;
    if sel.is_some() {
        // the people outside the pilot were not exported: a later `--since last` must see them
        tracing::info!("a pilot subset leaves the `--since last` bookmark where it was");
    } else if let Some(j) = journal {
        if let Some(event) = bind {
            j.append(&event)?;
        }
        j.append(&Event::Bookmark {
            source: source.name().into(),
            at: summary.started.clone(),
        })?;
    }
    // records that do not match their schema are exported whole all the same (the source's
    // data is what it is; idm-map decides): the summary counts them
    cli::summary(&line);
    Ok(cli::Status::from_failures(missing))
}

/// A Stormpath export or a CSV file: opened (and checked whole) before the first record; no
/// bookmark, since a file has no `--since`.
fn run_file_source(args: Args, sel: Selection) -> anyhow::Result<cli::Status> {
    if args.since.is_some() {
        Err(cli::usage(format!(
            "`--since` needs `--from okta` or `--from onelogin`, not `{}`",
            args.from
        )))?;
    }
    let mut source: Box<dyn Source> = match args.from.as_str() {
        "stormpath" => {
            let Some(dir) = args.stormpath.dir.as_deref() else {
                Err(cli::usage(
                    "`--from stormpath` needs `--dir DIR` (the export's tenant folder)",
                ))?
            };
            let opts = StormpathOptions {
                login_domain: args.stormpath.login_domain.clone(),
            };
            Box::new(Stormpath::open(dir, opts).context("reading the Stormpath export")?)
        }
        _ => {
            if args.csv.input.is_none() {
                Err(cli::usage(
                    "`--from csv` needs `--input FILE` (`-` for stdin)",
                ))?;
            }
            let opts = args.csv.options(args.include_deprovisioned)?;
            Box::new(CsvFile::open(args.csv.input.as_deref(), opts)?)
        }
    };
    let opts = ExportOptions {
        include_deprovisioned: args.include_deprovisioned,
        since: None,
        page_size: args.page_size,
    };
    let mut out = RecordWriter::create(args.output.as_deref()).context("opening the output")?;
    out.mark(cli::tool())?;
    let mut kinds = args.objects.0;
    if kinds == export::ORDER {
        // `all`: what this source has (a CSV file has no apps)
        kinds.retain(|k| source.kinds().contains(k));
    }
    let snapshots = args.snapshot_dir.as_deref();
    let (_, line, missing) =
        write_export(source.as_mut(), &kinds, &opts, &mut out, snapshots, &sel)?;
    out.finish_complete().context("writing records")?;
    if !args.log.quiet {
        for line in source.summary() {
            cli::say(&line);
        }
    }
    cli::summary(&line);
    Ok(cli::Status::from_failures(source.rejected() + missing))
}

fn main() -> ExitCode {
    // a dozen threads reading pages: one arena each would keep each one's peak
    cli::limit_malloc_arenas(2);
    cli::main("idm-export", run)
}
