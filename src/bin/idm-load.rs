//! idm-load: plan (by default) or carry out the load of mapped records into OneLogin.
//!
//! A thin wrapper over [`idm::load`]: flags, credentials, the shared HTTP client, the state
//! journal, and the stderr report.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use idm::cli;
use idm::http::{Client, ClientOptions, Rate, Service};
use idm::journal::Journal;
use idm::load::{self, Options};
use idm::provider::onelogin::OneLoginClient;
use idm::record::{RecordWriter, Rejects, reader::open_input};
use idm::secrets;

/// Load mapped records into OneLogin: roles, users, memberships, apps, role apps.
///
/// Without --apply, idm-load only reads the tenant (in bulk) and prints the plan: one
/// `result` record per object and edge with status `planned` (create, update, skip, assign),
/// then a summary and an estimate of the API calls and time at the configured quota on
/// stderr. With --apply it carries the plan out: idempotent (a second run writes nothing),
/// resumable (kill it at any point and run it again), and one bad record never stops it.
#[derive(Parser)]
#[command(
    name = "idm-load",
    version,
    after_help = cli::EXIT_CODES_HELP,
    after_long_help = concat!(
        "Examples:\n",
        "  $ idm-export --from okta | idm-map --to onelogin | idm-attrs --apply > ready.ndjson\n",
        "  $ idm-load < ready.ndjson > plan.ndjson                  # plan: no writes\n",
        "  $ idm-load --apply --workers 8 < ready.ndjson > results.ndjson\n",
        "  $ jq -c 'select(.data.status == \"failed\")' results.ndjson\n",
        "  $ idm-load --apply --retry-from results.ndjson < ready.ndjson > retry.ndjson\n",
        "\n",
        "Credentials: IDM_ONELOGIN_CLIENT_SECRET or the keyring (`idm-creds set onelogin client_secret`).\n",
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
    /// Carry the plan out. Without it nothing is written.
    #[arg(long)]
    apply: bool,
    /// Parallel workers; they share one quota and one token.
    #[arg(long, default_value_t = 4, env = "IDM_WORKERS", value_parser = clap::value_parser!(u16).range(1..=64))]
    workers: u16,
    /// Client-side quota, e.g. `5000/hour` (OneLogin's default), `600/min`; `none` relies on
    /// the server's X-RateLimit-* headers alone.
    #[arg(
        long,
        value_name = "N/PER",
        default_value = "5000/hour",
        env = "IDM_ONELOGIN_RATE_LIMIT",
        value_parser = parse_rate
    )]
    rate_limit: Quota,
    /// Use at most PCT % of the quota, leaving the rest to production traffic.
    #[arg(long, value_name = "PCT", default_value_t = 100, env = "IDM_MAX_CAPACITY",
          value_parser = clap::value_parser!(u8).range(1..=100))]
    max_capacity: u8,
    /// Update objects that exist and whose payload changed since they were loaded.
    #[arg(long)]
    update_existing: bool,
    /// Re-run only the records whose result in RESULTS is `failed`.
    #[arg(long, value_name = "RESULTS")]
    retry_from: Option<std::path::PathBuf>,
    /// Delete roles with the name of an incoming group that idm did not create, and create
    /// them anew (listed in the plan first).
    #[arg(long)]
    cleanup_roles: bool,
    /// OneLogin base URL, e.g. `https://acme.onelogin.com`.
    #[arg(long, env = "IDM_ONELOGIN_URL", value_name = "URL")]
    url: String,
    /// OneLogin API client id (the secret comes from the environment or the keyring).
    #[arg(long, env = "IDM_ONELOGIN_CLIENT_ID", value_name = "ID")]
    client_id: String,
    /// Seconds before one HTTP request times out.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    timeout: u64,
    #[command(flatten)]
    io: cli::IoArgs,
    #[command(flatten)]
    state: cli::StateArgs,
    #[command(flatten)]
    log: cli::LogArgs,
}

/// `--rate-limit`: a rate, or none.
#[derive(Clone, Copy)]
struct Quota(Option<Rate>);

fn parse_rate(s: &str) -> Result<Quota, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "none" | "off" | "unlimited" => Ok(Quota(None)),
        _ => s.parse().map(|r| Quota(Some(r))),
    }
}

impl cli::HasLogArgs for Args {
    fn log_args(&self) -> &cli::LogArgs {
        &self.log
    }
}

fn run(args: Args) -> anyhow::Result<cli::Status> {
    let only = match &args.retry_from {
        None => None,
        Some(path) => {
            let reader = open_input(Some(path))?;
            let keys = load::result::failed_keys(reader)
                .map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?;
            Some(keys)
        }
    };
    let (secret, _) = secrets::resolve("onelogin", "client_secret", Some(&args.url))?;
    let mut http = ClientOptions::new(Service::OneLogin);
    http.rate = args.rate_limit.0;
    http.max_capacity_pct = args.max_capacity;
    http.timeout = Duration::from_secs(args.timeout);
    let http = Client::new(http).context("building the http client")?;
    let client = OneLoginClient::new(&args.url, &args.client_id, secret, http);
    let input = open_input(args.io.input.as_deref())?;
    let mut rejects = Rejects::open(args.io.rejects.as_deref())?;
    let mut out = RecordWriter::create(args.io.output.as_deref())?;
    // A plan only reads the journal (and does not create it).
    let (journal, state) = if args.apply {
        let (journal, state) = Journal::open(&args.state.state)?;
        (Some(journal), state)
    } else {
        (None, Journal::read(&args.state.state)?)
    };
    let opts = Options {
        apply: args.apply,
        workers: usize::from(args.workers),
        update_existing: args.update_existing,
        cleanup_roles: args.cleanup_roles,
        only,
        rate: args.rate_limit.0,
        max_capacity_pct: args.max_capacity,
    };
    let summary = load::run(
        &client,
        journal.as_ref(),
        state,
        &opts,
        input,
        &mut rejects,
        &mut out,
    )?;
    out.finish().context("writing results")?;
    rejects.finish()?;
    if !args.log.quiet {
        for line in load::report(&summary, &opts) {
            eprintln!("{}: {line}", cli::tool());
        }
    }
    Ok(cli::Status::from_failures(
        summary.failed() + summary.rejected,
    ))
}

fn main() -> ExitCode {
    cli::main("idm-load", run)
}
