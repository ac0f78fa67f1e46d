//! idm-map: turn exported records into target API payloads (logic in `idm::map`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use idm::cli;
use idm::map::{self, Complex, Connectors, Mapper, Options, Rules, Target};
use idm::record::{RecordWriter, Rejects, reader::open_input};

/// Map exported records to the target's API payloads.
///
/// Reads NDJSON records (from idm-export) and writes the same records with `target` set and
/// `data` shaped as the target's API payload: users as OneLogin users (standard fields,
/// normalized custom attributes, corrected status), groups as roles, apps as apps (connector
/// from --connectors, SAML/OIDC settings), custom attribute definitions as shortnames.
/// Memberships and app assignments pass through with `target` set; other kinds pass through
/// unchanged. Data-quality findings go into each record's `warnings`; a record that cannot be
/// mapped (duplicate email, over-long value, app without connector) is rejected with the reason
/// on stderr and written whole to --rejects.
///
/// $ idm-export --from okta | idm-map --to onelogin > mapped.ndjson
///
/// $ idm-map --to onelogin --connectors connectors.json --complex flatten \
///       --email-domain emailnotprovided.local --rejects rejects.ndjson \
///       < export.ndjson > mapped.ndjson
///
/// $ idm-map --to onelogin --explain 00u1abcd -i export.ndjson > /dev/null
///
/// $ jq -c 'select(.warnings)' mapped.ndjson | head
#[derive(Parser)]
#[command(name = "idm-map", version, after_help = cli::EXIT_CODES_HELP, verbatim_doc_comment)]
struct Args {
    /// The system to shape payloads for.
    #[arg(long, value_enum, env = "IDM_MAP_TO", default_value = "onelogin")]
    to: Target,
    /// A mapping file (JSON, schemas/mapping.schema.json): per-field from/drop/default/constant
    /// and custom attribute renames.
    #[arg(long, value_name = "FILE", env = "IDM_MAPPING")]
    mapping: Option<PathBuf>,
    /// A connector map (JSON): app label → sign-on mode → OneLogin connector id. Apps without a
    /// connector are rejected.
    #[arg(long, value_name = "FILE", env = "IDM_CONNECTORS")]
    connectors: Option<PathBuf>,
    /// What to do with array and object profile values.
    #[arg(long, value_enum, env = "IDM_COMPLEX", default_value = "exclude")]
    complex: Complex,
    /// Turn logins that are not email addresses into `login@DOMAIN`.
    #[arg(long, value_name = "DOMAIN", env = "IDM_EMAIL_DOMAIN")]
    email_domain: Option<String>,
    /// Migrate Okta's BUILT_IN `Everyone` group as a role (skipped by default).
    #[arg(long)]
    include_everyone: bool,
    /// The rejects file of an earlier run (its `--rejects`; repeatable): the memberships and
    /// app assignments of the users, groups and apps it holds are dropped, as in that run. For
    /// a cut-over's delta, whose edges name people the full migration rejected.
    #[arg(long, value_name = "FILE")]
    rejected_before: Vec<PathBuf>,
    /// Print, on stderr, where every target field of the record with this id came from.
    #[arg(long, value_name = "ID")]
    explain: Option<String>,
    #[command(flatten)]
    io: cli::IoArgs,
    #[command(flatten)]
    log: cli::LogArgs,
}

impl cli::HasLogArgs for Args {
    fn log_args(&self) -> &cli::LogArgs {
        &self.log
    }
}

fn run(args: Args) -> anyhow::Result<cli::Status> {
    // a checked plan before the first record
    idm::record::schema::Schemas::try_get()?;
    let rules = match &args.mapping {
        Some(path) => Rules::load(path, args.to.adapter().as_mut())?,
        None => Rules::default(),
    };
    let connectors = match &args.connectors {
        Some(path) => Connectors::load(path)?,
        None => Connectors::default(),
    };
    let email_domain = match args.email_domain.as_deref().map(str::trim) {
        Some(d) if d.is_empty() || d.contains('@') || d.contains(char::is_whitespace) => {
            return Err(cli::usage(format!("--email-domain `{d}` is not a domain")));
        }
        other => other.map(str::to_string),
    };
    let mut mapper = Mapper::new(Options {
        target: args.to,
        complex: args.complex,
        email_domain,
        include_everyone: args.include_everyone,
        rules,
        connectors,
        explain: args.explain,
    });
    for path in &args.rejected_before {
        let n = map::read_rejected(path, &mut mapper)?;
        tracing::info!("{n} records rejected before, from `{}`", path.display());
    }
    let mut reader = open_input(args.io.input())?;
    let mut writer = RecordWriter::create(args.io.output.as_deref())?;
    let mut rejects = Rejects::open(args.io.rejects.as_deref())?;
    let progress = cli::progress("mapping", None);

    let summary = map::run(
        &mut mapper,
        &mut reader,
        &mut writer,
        &mut rejects,
        &progress,
    )?;
    progress.finish_and_clear();
    let completeness = reader.completeness();
    // an incomplete input gives an output cut short too, even without a record (an export
    // cut off before its first user must not map to what reads as a whole, empty tenant):
    // idm-load will not take it for a whole migration
    writer
        .close(!completeness.is_incomplete())
        .context("writing records")?;
    let failures = rejects.finish()?;
    for note in mapper.closing_notes() {
        map::note(&note);
    }
    cli::summary(&summary.line());
    if let idm::record::stream::Completeness::Incomplete(why) = completeness {
        anyhow::bail!(
            "the input is incomplete: {why}; its records were mapped, but the output is marked incomplete too"
        );
    }
    Ok(cli::Status::from_failures(failures))
}

fn main() -> ExitCode {
    cli::main("idm-map", run)
}
