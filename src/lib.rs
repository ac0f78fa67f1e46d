//! idm: small Unix tools that migrate identity data between identity providers.
//!
//! Every tool reads and writes NDJSON [`record::Record`]s, so a migration is a shell pipeline:
//!
//! ```text
//! idm-export --from okta | idm-map --to onelogin | idm-attrs --apply | idm-load --apply
//! idm-verify --to onelogin < mapped.ndjson > verify.ndjson ; idm-report -o report.html *.ndjson
//! ```
//!
//! The crate is one library with thin binaries in `src/bin/`. The modules follow the pipeline,
//! from the base layer up (a module only uses those above it in this list):
//!
//! - [`secrets`]: a redacting secret type, the env → keyring lookup, the audit log.
//! - [`record`]: the envelope, a streaming NDJSON reader (line numbers, rejects, stream
//!   markers) and writer, the `result` record, and the JSON Schemas every tool validates with.
//! - [`table`]: a key → value table on disk with a compact index in memory (~1.5 bytes a key):
//!   what the journal's fold, a load and a target's snapshot remember per object, so memory
//!   stays flat at millions of users; and a sorted index of 64-bit hashes (12 bytes a key)
//!   for idm-map's email index and the CSV source's duplicate check.
//! - [`journal`]: the append-only state journal of one migration, bound to its tenants. It is
//!   what makes re-runs write nothing and resumes lose nothing.
//! - [`http`]: the one blocking HTTP client: a governor quota corrected by the server's
//!   rate-limit headers, retries with jittered backoff, error classification.
//! - [`password`]: password hashes as data: read, converted for each target, verified.
//! - [`provider`]: each identity provider's API behind two traits: [`provider::Source`]
//!   (Okta, Stormpath exports, CSV staging files; what idm-export drives) and
//!   [`provider::target::Target`] (OneLogin, Okta; what idm-load, idm-attrs and idm-verify
//!   drive).
//! - [`export`], [`map`], [`attrs`], [`load`], [`verify`], [`csv_out`], [`report`],
//!   [`creds`]: one module per tool. [`map`] goes source adapter → canonical identity →
//!   target adapter; [`load`] is the engine every target shares.
//! - [`sandbox`]: a local simulator of the Okta and OneLogin APIs that every test,
//!   benchmark and the demo run against.
//! - [`cli`]: the entry wrapper, shared connection flags, exit codes, logging and progress.

pub mod attrs;
pub mod cli;
pub mod config;
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
pub mod table;
pub mod verify;
