//! idm-connectors: draft the `--connectors` file idm-map needs for OneLogin, from the exported
//! apps and the tenant's connector catalogue (logic in [`idm::map::suggest`]).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use idm::cli::{self, conn::ConnArgs};
use idm::map::source;
use idm::map::suggest::{CatalogEntry, Draft, Suggester};
use idm::record::stream::Completeness;
use idm::record::{Kind, Rejects, reader::open_input};
use serde_json::Value;

/// Draft a connector map for `idm-map --to onelogin --connectors`.
///
/// OneLogin makes every app from a catalogue connector; nothing in an exported app says which,
/// and idm-map rejects an app it has no connector for. idm-connectors reads the exported
/// `app` records, reads the OneLogin catalogue (`GET /api/2/connectors`, every page; or
/// `--catalog FILE`, a saved copy) and writes a draft JSON file:
///
///   application_connectors  apps whose name is a connector's name, with an auth method that
///                           fits their sign-on mode: ready for idm-map;
///   to_choose               apps with close candidates (best first, with a score): a person
///                           picks one and moves it into application_connectors;
///   no_candidate            apps nothing resembles, with the generic connectors of their
///                           sign-on mode (SAML Custom Connector, OpenId Connect, ...).
///
/// Candidates are never used on their own: idm-map rejects an app still to choose and says
/// so. Records other than apps are read and ignored. Read-only.
#[derive(Parser)]
#[command(name = "idm-connectors", version, after_help = cli::help_footer(EXAMPLES))]
struct Args {
    /// Read the catalogue from FILE (a JSON array of connectors, as `GET /api/2/connectors`
    /// returns them) instead of the OneLogin API.
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// Read records from FILE (`-` or nothing: stdin).
    #[arg(short, long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// The input file, as with --input.
    #[arg(value_name = "FILE", conflicts_with = "input")]
    file: Option<PathBuf>,
    /// Write the draft to FILE, created 0600 (`-` or nothing: stdout).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write every rejected input line, whole, to FILE (created 0600).
    #[arg(long, value_name = "FILE", env = "IDM_REJECTS")]
    rejects: Option<PathBuf>,
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    log: cli::LogArgs,
}

const EXAMPLES: &str = "\
Examples:
  $ idm-export --from okta --objects apps > apps.ndjson
  $ idm-connectors < apps.ndjson > connectors.json
  $ jq '.to_choose | map_values(map(.candidates[0].name))' connectors.json   # what to decide
  $ idm-map --to onelogin --connectors connectors.json < export.ndjson > mapped.ndjson

Credentials (without --catalog): IDM_ONELOGIN_CLIENT_SECRET or the keyring.";

impl cli::HasLogArgs for Args {
    fn log_args(&self) -> &cli::LogArgs {
        &self.log
    }
}

fn read_catalog(args: &Args) -> anyhow::Result<Vec<CatalogEntry>> {
    let items: Vec<Value> = match &args.catalog {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the catalogue {}", path.display()))?;
            let v: Value = serde_json::from_str(&text)
                .map_err(|e| cli::usage(format!("{}: not JSON: {e}", path.display())))?;
            match v {
                Value::Array(items) => items,
                Value::Object(mut o) => match o.remove("data") {
                    Some(Value::Array(items)) => items,
                    _ => {
                        return Err(cli::usage(format!(
                            "{}: expected a JSON array of connectors",
                            path.display()
                        )));
                    }
                },
                _ => {
                    return Err(cli::usage(format!(
                        "{}: expected a JSON array of connectors",
                        path.display()
                    )));
                }
            }
        }
        None => {
            let client = args.conn.onelogin()?;
            client
                .list_connectors()
                .collect::<Result<Vec<_>, _>>()
                .context("reading the connector catalogue")?
        }
    };
    let total = items.len();
    let catalog: Vec<CatalogEntry> = items.iter().filter_map(CatalogEntry::from_api).collect();
    if catalog.len() < total {
        tracing::warn!(
            "{} catalogue entries without a positive id or a name were left out",
            total - catalog.len()
        );
    }
    if catalog.is_empty() {
        anyhow::bail!("the connector catalogue is empty: nothing to suggest from");
    }
    Ok(catalog)
}

fn run(args: Args) -> anyhow::Result<cli::Status> {
    let suggester = Suggester::new(read_catalog(&args)?);
    let mut input = open_input(args.input.as_deref().or(args.file.as_deref()))?;
    let mut rejects = Rejects::open(args.rejects.as_deref())?;
    let mut draft = Draft::default();
    while let Some(entry) = input.next_good(&mut rejects)? {
        let rec = entry.record;
        if rec.kind != Kind::App {
            continue;
        }
        let Some(adapter) = source::adapter(&rec.source) else {
            rejects.reject(
                entry.line,
                Some(&format!("{}:{}", rec.source, rec.id)),
                input.raw(),
                &format!("`source`: no source `{}` is known", rec.source),
            )?;
            continue;
        };
        let (app, _) = adapter.app(&rec.id, &rec.data);
        let label = app.lookup_names.first().copied().unwrap_or(&rec.id);
        let suggestion = suggester.suggest(&app.lookup_names, app.sign_on_mode);
        draft.add(label, &rec.id, app.sign_on_mode, suggestion);
    }
    let incomplete = input.completeness();
    let mut out = cli::output(args.output.as_deref())?;
    serde_json::to_writer_pretty(&mut out, &draft.to_json())?;
    writeln!(out)?;
    out.flush().context("writing the draft")?;
    let rejected = rejects.finish()?;
    if let Completeness::Incomplete(why) = &incomplete {
        eprintln!(
            "{}: the input is incomplete: {why}; the draft may miss apps",
            cli::tool()
        );
    }
    if !args.log.quiet {
        eprintln!(
            "{}: {}; catalogue of {} connectors{}",
            cli::tool(),
            draft.line(),
            suggester.catalog_len(),
            if rejected > 0 {
                format!("; {rejected} lines rejected")
            } else {
                String::new()
            }
        );
    }
    Ok(cli::Status::from_failures(rejected))
}

fn main() -> ExitCode {
    cli::main("idm-connectors", run)
}
