//! idm: small Unix tools that migrate identity data between identity providers.
//!
//! Every tool reads and writes NDJSON [`record::Record`]s, so a migration is a shell pipeline:
//!
//! ```text
//! idm-export --from okta | idm-map --to onelogin | idm-attrs --apply | idm-load --apply
//! ```
//!
//! The crate is one library with thin binaries in `src/bin/`. The modules follow the pipeline:
//!
//! - [`record`]: the envelope, a streaming NDJSON reader (line numbers, rejects) and writer,
//!   and the JSON Schemas every tool validates with.
//! - [`journal`]: the append-only state journal shared by the tools of one migration. It is
//!   what makes re-runs write nothing and resumes lose nothing.
//! - [`http`]: the one blocking HTTP client: a governor quota corrected by the server's
//!   rate-limit headers, retries with jittered backoff, error classification.
//! - [`secrets`]: a redacting secret type and the env → keyring lookup order.
//! - [`password`]: password hashes as data: parse every source format, write Okta's and
//!   OneLogin's import formats (or say why not), verify a password against any of them.
//! - [`provider`]: API clients for each identity provider, behind `Source` traits.
//! - [`export`], [`map`], [`attrs`], [`load`], [`csv_out`], [`creds`], [`report`]: one module
//!   per tool.
//! - [`sandbox`]: a local simulator of the Okta and OneLogin APIs that every test,
//!   benchmark and the demo run against.
//! - [`cli`]: the entry wrapper, shared flags, exit codes, logging and progress bars.

pub mod attrs;
pub mod cli;
pub mod creds;
pub mod csv_out;
pub mod export;
pub mod http;
pub mod journal;
pub mod load;
pub mod map;
pub mod password;
pub mod provider;
pub mod record;
pub mod report;
pub mod sandbox;
pub mod secrets;
pub mod verify;
