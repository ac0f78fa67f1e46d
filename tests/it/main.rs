//! The integration tests: one crate, one module per tool or area, one harness ([`util`]).
//!
//! Tests that need what only `make test` sets up are `#[ignore]`d here and run by it with
//! `--ignored`: `keyring_*` (a Secret Service, under scripts/with-keyring.sh), the `sdk_*`
//! modules (the official Python SDKs in target/py-venv) and the browser test of `report`
//! (Chromium, under scripts/browser.sh). Plain `cargo test` runs the rest.

mod util;

mod attrs;
mod cli;
mod config;
mod connectors;
mod creds;
mod csv;
mod export;
mod export_parallel;
mod journal;
mod kit;
mod load;
mod map;
mod map_sources;
mod okta_target;
mod operator;
mod passwords;
mod pilot;
mod pipeline;
mod report;
mod sandbox_cli;
mod sandbox_okta;
mod sandbox_okta_target;
mod sandbox_onelogin;
mod schemas;
mod sdk_okta;
mod sdk_onelogin;
mod source_csv;
mod source_onelogin;
mod source_stormpath;
mod sources_e2e;
mod verify;
