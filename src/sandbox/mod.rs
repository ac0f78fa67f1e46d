//! idm-sandbox: a local simulator of the Okta management API and the OneLogin API.
//!
//! There is no real Okta or OneLogin here, so every test, benchmark and the demo runs against
//! this simulator, and its fidelity decides whether the tools work on a real tenant. It is a
//! library first (like cargo's test registry server): [`Sandbox::start`] binds 127.0.0.1 on
//! free (or given) ports, returns URLs and credentials, lets a test script exact faults, and
//! stops on drop. The `idm-sandbox` binary is a thin wrapper.
//!
//! Layout: the API modules ([`okta`], [`onelogin`]) are pure request → response handlers over
//! the transport-neutral types of [`api`], so they can be tested without a socket; [`server`]
//! owns what is about transport: binding, rate limits ([`limits`]) and their headers, faults
//! ([`faults`]), stats and the `/__admin/*` endpoints. [`seed`] produces the deterministic,
//! messy Okta tenant, one object at a time, which also gives `--emit-export` its streaming.

pub mod api;
pub mod faults;
pub mod limits;
pub mod okta;
pub mod onelogin;
pub mod seed;
pub mod server;

use std::fs::File;
use std::io::BufReader;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rand::RngCore;
use serde_json::{Value, json};

pub use faults::{FaultKind, FaultRates, FaultRule};
pub use limits::{OktaRateLimit, OktaTier, RateSpec};
pub use server::Side;

use self::faults::Faults;
use self::limits::Limiter;
use self::okta::Okta;
use self::onelogin::{OneLogin, OneLoginConfig};
use self::seed::{Generator, SeedConfig};
use self::server::{Port, Shared};

/// How to start a sandbox. `Default` is a small seeded tenant on free ports, no limits, no
/// random faults.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The seeded Okta tenant (ignored when `okta_fixture` is set).
    pub seed: SeedConfig,
    /// Load the Okta tenant from NDJSON in the dump's format instead of seeding it.
    pub okta_fixture: Option<PathBuf>,
    /// 0: a free port.
    pub okta_port: u16,
    pub onelogin_port: u16,
    /// Per bucket, e.g. `600/min`; `None`: not enforced.
    pub okta_rate_limit: Option<RateSpec>,
    /// Each bucket's default for this kind of org (wins over `okta_rate_limit`).
    pub okta_rate_tier: Option<OktaTier>,
    /// Okta's concurrent-request limit: requests beyond this many in flight get a 429 with
    /// `X-Rate-Limit-Limit: 0`; `None`: no limit.
    pub okta_concurrency: Option<usize>,
    /// Per account, e.g. `5000/hour`; `None`: not enforced.
    pub onelogin_rate_limit: Option<RateSpec>,
    /// Generated OneLogin users on top of the seeded few (with roles and apps in
    /// proportion), for an account that is a migration's source; 0 by default.
    pub onelogin_users: u64,
    /// Most ids one OneLogin role users/admins/apps call takes (the real maximum is not
    /// documented).
    pub onelogin_max_ids: usize,
    /// What a OneLogin user's create does with `role_ids`.
    pub onelogin_create_roles: onelogin::CreateRoles,
    /// Random faults, applied to both ports.
    pub faults: FaultRates,
    /// How long a `slow` fault delays an answer.
    pub slow: Duration,
    /// Lifetime of OneLogin access tokens.
    pub token_ttl: Duration,
    /// Credentials; random when `None`.
    pub okta_token: Option<String>,
    pub onelogin_client_id: Option<String>,
    pub onelogin_client_secret: Option<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            seed: SeedConfig::default(),
            okta_fixture: None,
            okta_port: 0,
            onelogin_port: 0,
            okta_rate_limit: None,
            okta_rate_tier: None,
            okta_concurrency: None,
            onelogin_rate_limit: None,
            onelogin_users: 0,
            onelogin_max_ids: onelogin::DEFAULT_MAX_IDS,
            onelogin_create_roles: onelogin::CreateRoles::Take,
            faults: FaultRates::default(),
            slow: Duration::from_millis(1500),
            token_ttl: Duration::from_secs(36_000),
            okta_token: None,
            onelogin_client_id: None,
            onelogin_client_secret: None,
        }
    }
}

fn random_token(len: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

/// The simulated OneLogin account's subdomain (`POST /api/1/login/auth` wants it).
pub const ONELOGIN_SUBDOMAIN: &str = "idm-sandbox";

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";

/// A running sandbox. Dropping it stops both listeners.
pub struct Sandbox {
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
    stop: tokio::sync::watch::Sender<bool>,
    okta_url: String,
    onelogin_url: String,
    okta_token: String,
    onelogin_client_id: String,
    onelogin_client_secret: String,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("okta_url", &self.okta_url)
            .field("onelogin_url", &self.onelogin_url)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Seed (or load) the tenants, bind 127.0.0.1 and start serving.
    pub fn start(cfg: SandboxConfig) -> anyhow::Result<Sandbox> {
        let bind = |port: u16, what: &str| {
            std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
                .with_context(|| format!("cannot bind the {what} port `127.0.0.1:{port}`"))
        };
        let okta_listener = bind(cfg.okta_port, "okta")?;
        let onelogin_listener = bind(cfg.onelogin_port, "onelogin")?;
        let okta_addr = okta_listener.local_addr()?;
        let onelogin_addr = onelogin_listener.local_addr()?;
        let okta_url = format!("http://{okta_addr}");
        let onelogin_url = format!("http://{onelogin_addr}");
        let okta_token = cfg
            .okta_token
            .clone()
            .unwrap_or_else(|| format!("00{}", random_token(40, ALNUM)));
        let client_id = cfg
            .onelogin_client_id
            .clone()
            .unwrap_or_else(|| random_token(64, HEX));
        let client_secret = cfg
            .onelogin_client_secret
            .clone()
            .unwrap_or_else(|| random_token(64, HEX));

        let okta = match &cfg.okta_fixture {
            Some(path) => {
                let file = File::open(path).with_context(|| {
                    format!("cannot open the okta fixture `{}`", path.display())
                })?;
                Okta::from_fixture(BufReader::new(file), &okta_token, &okta_url)
                    .with_context(|| format!("cannot load the okta fixture `{}`", path.display()))?
            }
            None => Okta::seeded(&Generator::new(cfg.seed, &okta_url), &okta_token, &okta_url),
        };
        let onelogin = OneLogin::new(
            OneLoginConfig {
                seed: cfg.seed.seed,
                token_ttl: cfg.token_ttl,
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                subdomain: ONELOGIN_SUBDOMAIN.to_string(),
                source_users: cfg.onelogin_users,
                max_ids: cfg.onelogin_max_ids,
                create_roles: cfg.onelogin_create_roles,
            },
            okta.collisions(),
        );
        let shared = Arc::new(Shared {
            okta: Arc::new(okta),
            onelogin: Arc::new(onelogin),
            okta_port: Port::new(
                Side::Okta,
                match cfg.okta_rate_tier {
                    Some(tier) => Limiter::for_tier(tier),
                    None => Limiter::new(cfg.okta_rate_limit),
                },
                Faults::new(cfg.faults.clone(), cfg.seed.seed, cfg.slow),
            )
            .with_concurrency(cfg.okta_concurrency),
            onelogin_port: Port::new(
                Side::OneLogin,
                Limiter::new(cfg.onelogin_rate_limit),
                Faults::new(cfg.faults.clone(), cfg.seed.seed ^ 0x01, cfg.slow),
            ),
        });

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("idm-sandbox")
            .enable_all()
            .build()
            .context("cannot start the sandbox runtime")?;
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        for (listener, side) in [
            (okta_listener, Side::Okta),
            (onelogin_listener, Side::OneLogin),
        ] {
            listener.set_nonblocking(true)?;
            let listener = {
                let _guard = runtime.enter();
                tokio::net::TcpListener::from_std(listener)?
            };
            runtime.spawn(server::serve(
                listener,
                shared.clone(),
                side,
                stop_rx.clone(),
            ));
        }
        Ok(Sandbox {
            shared,
            runtime: Some(runtime),
            stop,
            okta_url,
            onelogin_url,
            okta_token,
            onelogin_client_id: client_id,
            onelogin_client_secret: client_secret,
        })
    }

    /// `http://127.0.0.1:PORT` of the simulated Okta org.
    pub fn okta_url(&self) -> &str {
        &self.okta_url
    }

    /// The Okta API token (`Authorization: SSWS <token>`).
    pub fn okta_token(&self) -> &str {
        &self.okta_token
    }

    /// `http://127.0.0.1:PORT` of the simulated OneLogin account.
    pub fn onelogin_url(&self) -> &str {
        &self.onelogin_url
    }

    pub fn onelogin_client_id(&self) -> &str {
        &self.onelogin_client_id
    }

    pub fn onelogin_client_secret(&self) -> &str {
        &self.onelogin_client_secret
    }

    /// The OneLogin account's subdomain (for `POST /api/1/login/auth`).
    pub fn onelogin_subdomain(&self) -> &str {
        ONELOGIN_SUBDOMAIN
    }

    /// The start-up line: URLs and credentials, as `idm-sandbox` prints it.
    pub fn ready_json(&self) -> Value {
        json!({
            "okta_url": self.okta_url,
            "okta_token": self.okta_token,
            "onelogin_url": self.onelogin_url,
            "onelogin_client_id": self.onelogin_client_id,
            "onelogin_client_secret": self.onelogin_client_secret,
            "onelogin_subdomain": ONELOGIN_SUBDOMAIN,
        })
    }

    /// Print the ready line on stdout and, given a path, write it to that file (created
    /// 0600: it holds credentials).
    pub fn announce(&self, ready_file: Option<&std::path::Path>) -> anyhow::Result<()> {
        use std::io::Write as _;
        let line = format!("{}\n", self.ready_json());
        if let Some(path) = ready_file {
            let mut f = crate::record::create_private_file(path)?;
            f.write_all(line.as_bytes())
                .with_context(|| format!("cannot write `{}`", path.display()))?;
        }
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(line.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }

    /// Make the next matching request(s) on `side` fail as the rule says.
    pub fn script_fault(&self, side: Side, rule: FaultRule) {
        self.shared.port(side).faults.script(rule);
    }

    /// The stats of one port (`GET /__admin/stats`).
    pub fn stats(&self, side: Side) -> Value {
        self.shared.stats(side)
    }

    /// The tenant of one side as `{"kind","id","data"}` values (`GET /__admin/dump`).
    pub fn dump(&self, side: Side) -> Vec<Value> {
        match side {
            Side::Okta => self.shared.okta.dump(),
            Side::OneLogin => self.shared.onelogin.dump(),
        }
    }

    /// Both tenants back to their start state, stats zeroed, scripted faults dropped.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// The simulated Okta org, for assertions a dump cannot make (imported hashes).
    pub fn okta(&self) -> &Okta {
        &self.shared.okta
    }

    /// Block until SIGINT or SIGTERM (the binary's main loop).
    pub fn wait_for_shutdown_signal(&self) -> anyhow::Result<()> {
        let rt = self.runtime.as_ref().context("the sandbox is stopped")?;
        rt.block_on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                let mut term = signal(SignalKind::terminate())?;
                tokio::select! {
                    r = tokio::signal::ctrl_c() => r,
                    _ = term.recv() => Ok(()),
                }
            }
            #[cfg(not(unix))]
            {
                tokio::signal::ctrl_c().await
            }
        })
        .context("cannot wait for a signal")
    }

    /// Stop serving (also done on drop).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shutdown();
    }
}
