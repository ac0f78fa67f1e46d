//! idm-sandbox: a local simulator of the Okta management API and the OneLogin API.
//!
//! A thin wrapper over `idm::sandbox`: parse flags, start the sandbox, print one JSON line with
//! the URLs and credentials, serve until SIGINT/SIGTERM. `--emit-export` writes the seeded
//! Okta tenant as export records instead, without a server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use idm::cli;
use idm::sandbox::seed::{self, SeedConfig};
use idm::sandbox::{FaultRates, OktaRateLimit, RateSpec, Sandbox, SandboxConfig};

/// Run a local Okta + OneLogin simulator for rehearsals and tests.
///
/// Seeds a deterministic, realistically messy Okta tenant (every user status, unicode names,
/// custom attributes of mixed types, APP_GROUP and Everyone groups, SAML/OIDC/bookmark/SWA
/// apps) and a OneLogin account that already holds some of the same users, roles and custom
/// attributes. Binds 127.0.0.1 only. Prints one JSON line on stdout when ready: okta_url,
/// okta_token, onelogin_url, onelogin_client_id, onelogin_client_secret.
///
/// Admin endpoints on both ports: GET /__admin/dump (NDJSON), GET /__admin/stats,
/// POST /__admin/reset, POST /__admin/faults (script exact faults), DELETE /__admin/faults.
#[derive(Parser)]
#[command(
    name = "idm-sandbox",
    version,
    after_help = cli::EXIT_CODES_HELP,
    after_long_help = concat!(
        "Examples:\n",
        "  $ idm-sandbox --users 500 --seed 7 --ready-file sandbox.json &\n",
        "  $ export IDM_OKTA_URL=$(jq -r .okta_url sandbox.json) IDM_OKTA_TOKEN=$(jq -r .okta_token sandbox.json)\n",
        "  $ curl -s -H \"Authorization: SSWS $IDM_OKTA_TOKEN\" \"$IDM_OKTA_URL/api/v1/users?limit=2\" | jq '.[].profile.login'\n",
        "  $ curl -s \"$IDM_OKTA_URL/__admin/stats\" | jq .by_route\n",
        "  $ idm-sandbox --okta-rate-limit 600/min --faults 429=0.05,lost=0.01\n",
        "  $ idm-sandbox --users 1000000 --emit-export export.ndjson\n\n",
        "Exit codes:\n",
        "  0  all done\n",
        "  1  fatal: cannot start, cannot reach an API, bad credentials\n",
        "  2  usage error\n",
        "  3  finished, but some records were rejected or failed (they are in the output)"
    )
)]
struct Args {
    /// Number of seeded Okta users (all statuses, DEPROVISIONED included). 0: an empty org to
    /// migrate into (only `Everyone`, no custom schema; groups and apps default to 0 too).
    #[arg(long, env = "IDM_SANDBOX_USERS", default_value_t = 50)]
    users: u64,
    /// Number of seeded Okta groups besides the built-in Everyone [default: 8, or 0 with
    /// --users 0].
    #[arg(long, env = "IDM_SANDBOX_GROUPS")]
    groups: Option<u64>,
    /// Number of seeded Okta apps (SAML, OIDC, bookmark, SWA in turn) [default: 4, or 0 with
    /// --users 0].
    #[arg(long, env = "IDM_SANDBOX_APPS")]
    apps: Option<u64>,
    /// Seed: the same seed gives the same tenants, byte for byte.
    #[arg(long, env = "IDM_SANDBOX_SEED", default_value_t = 1)]
    seed: u64,
    /// Load the Okta tenant from NDJSON (the dump's format) instead of seeding it.
    #[arg(long, value_name = "FILE", env = "IDM_SANDBOX_OKTA_FIXTURE")]
    okta_fixture: Option<PathBuf>,
    /// Okta port on 127.0.0.1 (0: a free port).
    #[arg(long, env = "IDM_SANDBOX_OKTA_PORT", default_value_t = 0)]
    okta_port: u16,
    /// OneLogin port on 127.0.0.1 (0: a free port).
    #[arg(long, env = "IDM_SANDBOX_ONELOGIN_PORT", default_value_t = 0)]
    onelogin_port: u16,
    /// Enforce Okta limits per endpoint bucket: one for all (`600/min`), or each bucket's
    /// default for a kind of org (`tier:developer`, `developer-paid`, `one-app`,
    /// `enterprise`, `workforce`). Off by default.
    #[arg(
        long,
        value_name = "N/PERIOD|tier:NAME",
        env = "IDM_SANDBOX_OKTA_RATE_LIMIT"
    )]
    okta_rate_limit: Option<OktaRateLimit>,
    /// Okta's concurrent-request limit: beyond N requests in flight, 429 with
    /// `X-Rate-Limit-Limit: 0` (real orgs: 15 developer, 35 paid/one-app, 75 enterprise and
    /// workforce). Off by default.
    #[arg(long, value_name = "N", env = "IDM_SANDBOX_OKTA_CONCURRENCY",
          value_parser = clap::value_parser!(u64).range(1..))]
    okta_concurrency: Option<u64>,
    /// Enforce a OneLogin limit per account, e.g. `5000/hour` (off by default).
    #[arg(long, value_name = "N/PERIOD", env = "IDM_SANDBOX_ONELOGIN_RATE_LIMIT")]
    onelogin_rate_limit: Option<RateSpec>,
    /// Generated OneLogin users (every state and status, with roles and apps in proportion)
    /// on top of the seeded few, for rehearsing a migration *from* OneLogin.
    #[arg(
        long,
        value_name = "N",
        env = "IDM_SANDBOX_ONELOGIN_USERS",
        default_value_t = 0
    )]
    onelogin_users: u64,
    /// Most ids one OneLogin role users/admins/apps call takes; more get a 400 (the real
    /// maximum is not documented, so a migration can be rehearsed against several).
    #[arg(
        long,
        value_name = "N",
        env = "IDM_SANDBOX_ONELOGIN_MAX_IDS",
        default_value_t = idm::sandbox::onelogin::DEFAULT_MAX_IDS as u64,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    onelogin_max_ids: u64,
    /// What a OneLogin user's create does with `role_ids`: `take` gives the new user those
    /// roles; `ignore` and `refuse` model accounts that do not take them, for clients that
    /// must cope.
    #[arg(
        long,
        value_name = "HOW",
        env = "IDM_SANDBOX_ONELOGIN_CREATE_ROLES",
        value_enum,
        default_value_t = idm::sandbox::onelogin::CreateRoles::Take
    )]
    onelogin_create_roles: idm::sandbox::onelogin::CreateRoles,
    /// Random faults, e.g. `429=0.05,500=0.02,reset=0.01,slow=0.01,lost=0.01` (seeded).
    #[arg(
        long,
        value_name = "KIND=RATE,...",
        env = "IDM_SANDBOX_FAULTS",
        default_value = ""
    )]
    faults: FaultRates,
    /// Delay of a `slow` fault, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1500)]
    slow_ms: u64,
    /// Lifetime of OneLogin access tokens in seconds (small values force expiry mid-run).
    #[arg(
        long,
        value_name = "SECS",
        env = "IDM_SANDBOX_TOKEN_TTL",
        default_value_t = 36_000
    )]
    token_ttl: u64,
    /// Also write the ready line to FILE (created 0600: it holds credentials).
    #[arg(long, value_name = "PATH")]
    ready_file: Option<PathBuf>,
    /// Write the seeded Okta tenant as idm export records to FILE (`-`: stdout) and exit.
    #[arg(long, value_name = "FILE")]
    emit_export: Option<PathBuf>,
    /// With --emit-export: include DEPROVISIONED users (a default export leaves them out).
    #[arg(long, requires = "emit_export")]
    include_deprovisioned: bool,
    #[command(flatten)]
    log: cli::LogArgs,
}

impl cli::HasLogArgs for Args {
    fn log_args(&self) -> &cli::LogArgs {
        &self.log
    }
}

fn run(args: Args) -> anyhow::Result<cli::Status> {
    // an org without users is an org to migrate into: empty unless asked otherwise
    let empty = args.users == 0;
    let seed = SeedConfig {
        users: args.users,
        groups: args.groups.unwrap_or(if empty { 0 } else { 8 }),
        apps: args.apps.unwrap_or(if empty { 0 } else { 4 }),
        seed: args.seed,
    };
    if let Some(path) = &args.emit_export {
        let base = format!("http://127.0.0.1:{}", args.okta_port);
        let n = seed::emit_export(seed, &base, path, args.include_deprovisioned)?;
        tracing::info!("wrote {n} records");
        return Ok(cli::Status::Done);
    }
    let sandbox = Sandbox::start(SandboxConfig {
        seed,
        okta_fixture: args.okta_fixture,
        okta_port: args.okta_port,
        onelogin_port: args.onelogin_port,
        okta_rate_limit: match args.okta_rate_limit {
            Some(OktaRateLimit::Uniform(spec)) => Some(spec),
            _ => None,
        },
        okta_rate_tier: match args.okta_rate_limit {
            Some(OktaRateLimit::Tier(tier)) => Some(tier),
            _ => None,
        },
        okta_concurrency: args.okta_concurrency.map(|n| n as usize),
        onelogin_rate_limit: args.onelogin_rate_limit,
        onelogin_users: args.onelogin_users,
        onelogin_max_ids: args.onelogin_max_ids as usize,
        onelogin_create_roles: args.onelogin_create_roles,
        faults: args.faults,
        slow: Duration::from_millis(args.slow_ms),
        token_ttl: Duration::from_secs(args.token_ttl),
        ..SandboxConfig::default()
    })?;
    sandbox.announce(args.ready_file.as_deref())?;
    tracing::info!(
        okta = sandbox.okta_url(),
        onelogin = sandbox.onelogin_url(),
        "serving"
    );
    sandbox.wait_for_shutdown_signal()?;
    sandbox.stop();
    Ok(cli::Status::Done)
}

fn main() -> ExitCode {
    cli::main("idm-sandbox", run)
}
