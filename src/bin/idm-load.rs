//! idm-load: plan (by default) or carry out the load of mapped records into a target.
//!
//! A thin wrapper over [`idm::load`]: flags, the target's client, the state journal (bound to
//! the target tenant, owned by one apply at a time), and the stderr report.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use idm::cli::{self, conn::ConnArgs, conn::Svc};
use idm::journal::{self, Journal, TenantCheck};
use idm::load::{self, Options};
use idm::provider::onelogin::OneLoginTarget;
use idm::provider::target::Target;
use idm::record::{RecordWriter, Rejects, reader::open_input};

/// Load mapped records into a target: groups (OneLogin roles), users, memberships, apps, app
/// assignments.
///
/// Without --apply, idm-load only reads the tenant (in bulk) and prints the plan: one `result`
/// record per object and edge with status `planned` (create, update, skip, assign), then a
/// summary and an estimate of the API calls and time at the configured quota on stderr. With
/// --apply it carries the plan out: idempotent (a second run writes nothing), resumable (kill
/// it at any point and run it again), and one bad record never stops it. Failures the plan can
/// already predict (attributes the tenant lacks, records not mapped for it, edges that cannot
/// resolve) stop --apply before the first write, unless --force.
#[derive(Parser)]
#[command(
    name = "idm-load",
    version,
    after_help = cli::help_footer(EXAMPLES),
)]
struct Args {
    /// The target system.
    #[arg(long, default_value = "onelogin", env = "IDM_TARGET", value_parser = ["onelogin", "okta"])]
    to: String,
    /// `--to okta`: leave created users STAGED (activate them later) instead of bringing them
    /// to the status they are mapped to. No activation email is sent either way.
    #[arg(long)]
    keep_staged: bool,
    /// Carry the plan out. Without it nothing is written.
    #[arg(long)]
    apply: bool,
    /// With --apply: write what can be written even though the plan predicts failures.
    #[arg(long)]
    force: bool,
    /// Load an input whose stream markers say it was cut short (an export that failed
    /// half-way). Without it such an input is refused before anything is read or written.
    #[arg(long)]
    allow_incomplete: bool,
    /// Parallel workers; they share one quota and one token.
    #[arg(long, default_value_t = 4, env = "IDM_WORKERS", value_parser = clap::value_parser!(u16).range(1..=64))]
    workers: u16,
    /// Also update objects that were in the tenant before the migration (the migration's own
    /// objects are updated whenever their source changed).
    #[arg(long)]
    update_existing: bool,
    /// Re-run only the records whose result in RESULTS is `failed`.
    #[arg(long, value_name = "RESULTS")]
    retry_from: Option<std::path::PathBuf>,
    /// Delete roles with the name of an incoming group that idm did not create, and create
    /// them anew (listed in the plan first).
    #[arg(long)]
    cleanup_roles: bool,
    /// Accept a state journal bound to another target tenant and bind it to this one (when
    /// the tenant really moved, e.g. a new URL).
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
  $ idm-export --from okta | idm-map --to onelogin | idm-attrs --apply > ready.ndjson
  $ idm-load < ready.ndjson > plan.ndjson                  # plan: no writes
  $ idm-load --apply --workers 8 < ready.ndjson > results.ndjson
  $ jq -c 'select(.data.status == \"failed\")' results.ndjson
  $ idm-load --apply --retry-from results.ndjson < ready.ndjson > retry.ndjson
  $ idm-map --to okta < export.ndjson | idm-attrs --to okta --apply | idm-load --to okta --apply

Credentials: IDM_ONELOGIN_CLIENT_SECRET or IDM_OKTA_TOKEN, or the keyring (`idm-creds set …`).";

impl cli::HasLogArgs for Args {
    fn log_args(&self) -> &cli::LogArgs {
        &self.log
    }
}

fn run(args: Args) -> anyhow::Result<cli::Status> {
    if args.force && !args.apply {
        return Err(cli::usage("`--force` only makes sense with `--apply`"));
    }
    let only = match &args.retry_from {
        None => None,
        Some(path) => {
            let reader = open_input(Some(path))?;
            let keys = idm::record::result::failed_keys(reader)
                .map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?;
            Some(keys)
        }
    };
    let onelogin;
    let okta;
    let target: &dyn Target = match args.to.as_str() {
        "okta" => {
            // one call without retries first: a wrong host or secret fails now, in one line
            cli::reach::check(&args.conn, Svc::Okta)?;
            okta = args.conn.okta_target(args.keep_staged)?;
            &okta
        }
        _ => {
            if args.keep_staged {
                return Err(cli::usage("`--keep-staged` goes with `--to okta`"));
            }
            cli::reach::check(&args.conn, Svc::OneLogin)?;
            onelogin = args.conn.onelogin()?;
            &OneLoginTarget::new(&onelogin)
        }
    };
    let mut input = open_input(args.io.input())?;
    let mut rejects = Rejects::open(args.io.rejects.as_deref())?;
    let path = &args.state.state;
    // A plan only reads the journal (and does not create it); an apply owns it.
    let (journal, state, _owner) = if args.apply {
        let (journal, state) = Journal::open(path)?;
        let owner = journal.own().context("taking the state journal")?;
        (Some(journal), state, Some(owner))
    } else {
        (None, Journal::read(path)?, None)
    };
    match journal::check_tenant(
        path,
        &state,
        "target",
        target.name(),
        target.base_url(),
        args.rebind_state,
    )? {
        TenantCheck::Same => {}
        TenantCheck::Unbound(event) => {
            if let Some(j) = &journal {
                j.append(&event)?;
            }
        }
    }
    let opts = Options {
        apply: args.apply,
        force: args.force,
        allow_incomplete: args.allow_incomplete,
        workers: usize::from(args.workers),
        update_existing: args.update_existing,
        cleanup_groups: args.cleanup_roles,
        only,
        rate: args
            .conn
            .quota(Svc::named(&args.to).unwrap_or(Svc::OneLogin))?,
        max_capacity_pct: args.conn.max_capacity,
    };
    let mut out = RecordWriter::create(args.io.output.as_deref())?;
    out.mark(cli::tool())?;
    let summary = load::run(
        target,
        journal.as_ref(),
        state,
        &opts,
        &mut input,
        &mut rejects,
        &mut out,
    );
    // a run that fails leaves its results cut short, even when it wrote none yet
    let closed = out.close(summary.is_ok());
    let summary = summary?;
    closed.context("writing results")?;
    rejects.finish()?;
    if !args.log.quiet {
        for line in load::report(&summary, &opts) {
            cli::say(&line);
        }
    }
    cli::summary(&summary_line(&summary, args.apply));
    Ok(cli::Status::from_failures(
        summary.failed() + summary.rejected,
    ))
}

/// `applied 20,000 results (18,000 create, 1,990 skip, 10 create failed; 10 failed, 0 rejected
/// input lines; 18,420 API calls)`: counts by outcome, all kinds together.
fn summary_line(summary: &load::Summary, apply: bool) -> String {
    use cli::status::count;
    use std::collections::BTreeMap;
    let mut by_outcome: BTreeMap<_, u64> = BTreeMap::new();
    for ((_, op, status), n) in &summary.counts {
        *by_outcome.entry((*op, *status)).or_default() += n;
    }
    let total: u64 = by_outcome.values().sum();
    let outcomes: Vec<String> = by_outcome
        .iter()
        .map(|((op, status), n)| match status {
            idm::record::result::Status::Failed => format!("{} {} failed", count(*n), op.as_str()),
            _ => format!("{} {}", count(*n), op.as_str()),
        })
        .collect();
    let mut line = format!(
        "{} {} results ({}{}{} failed, {} rejected input lines",
        if apply { "applied" } else { "planned" },
        count(total),
        outcomes.join(", "),
        if outcomes.is_empty() { "" } else { "; " },
        count(summary.failed()),
        count(summary.rejected),
    );
    if apply {
        line.push_str(&format!("; {} API calls", count(summary.calls)));
    }
    line.push(')');
    line
}

fn main() -> ExitCode {
    // threads waiting on the network: one malloc arena each would keep each one's peak
    cli::limit_malloc_arenas(2);
    cli::main("idm-load", run)
}
