//! A Stormpath export (the tree of JSON files Stormpath wrote for its customers in 2017) as a
//! [`Source`]: users, groups (directories, groups, organizations), memberships, applications,
//! app assignments and custom-data attributes, following the rules of Okta's Stormpath importer
//! (`shared/reference/stormpath-export.md` §2) and our documented proposals.
//!
//! Why it is shaped so:
//! - Unification (linked accounts merged by email), login prefixes and custom-data types are
//!   decisions across accounts, which idm-map cannot make one record at a time. They are made
//!   here, once, when the export is opened ([`Stormpath::open`] reads every file and builds a
//!   compact index), and their outcome goes into each record under `data._idm` beside the
//!   source object, which stays whole.
//! - Memory is flat in the number of accounts: the index holds ids, hashes and file positions
//!   (about 100 bytes an account), never accounts; each record is built by reading its files
//!   again.
//! - Every skip has a reason: named on stderr by id (never by email) when it is decided, and
//!   counted in the closing summary ([`Source::summary`]). Passwords, hashes and API key
//!   secrets go into records as the export has them and never into messages.
//!
//! docs/stormpath.md describes the records and the rules.

mod custom_data;
mod files;
mod index;
mod records;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::provider::{ExportOptions, Sink, Source, SourceError};
use crate::record::Kind;

pub use custom_data::CustomType;
use files::Tree;
use index::{Index, Skip};

/// The key under which idm adds what it derived to an exported object.
pub const IDM_KEY: &str = "_idm";

/// Custom properties the importer made from the account itself (not from custom data); custom
/// data keys with these names are left out so that an attribute name means one thing.
pub const ACCOUNT_PROPERTIES: [&str; 4] = [
    "emailVerificationStatus",
    "stormpathHref",
    "emailVerificationToken",
    "stormpathMigrationRecoveryAnswer",
];

/// The importer's cap on API keys per user (`stormpathApiKey_1` … `_10`).
pub const MAX_API_KEYS: usize = 10;

/// The default `--login-domain`, the importer's.
pub const DEFAULT_LOGIN_DOMAIN: &str = "emailnotprovided.local";

/// Flags of `idm-export --from stormpath`.
#[derive(Debug, Clone, clap::Args)]
pub struct StormpathArgs {
    /// With `--from stormpath`: the export's base directory, the tenant folder that holds
    /// `accounts/`, `directories/`, … (flat or nested layout).
    #[arg(long, value_name = "DIR", env = "IDM_STORMPATH_DIR")]
    pub dir: Option<PathBuf>,
    /// With `--from stormpath`: the domain appended to usernames without `@`, to make
    /// email-shaped logins (`susan` → `susan@DOMAIN`).
    #[arg(
        long,
        value_name = "DOMAIN",
        env = "IDM_LOGIN_DOMAIN",
        default_value = DEFAULT_LOGIN_DOMAIN
    )]
    pub login_domain: String,
}

/// What shapes a Stormpath export beyond its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StormpathOptions {
    /// Appended as `@<domain>` to usernames without `@`.
    pub login_domain: String,
}

impl Default for StormpathOptions {
    fn default() -> Self {
        StormpathOptions {
            login_domain: DEFAULT_LOGIN_DOMAIN.into(),
        }
    }
}

/// Why a Stormpath export cannot be read. Each names the file (or directory) at fault.
#[derive(Debug, thiserror::Error)]
pub enum StormpathError {
    #[error("`{}`: {reason}", path.display())]
    Io { path: PathBuf, reason: String },
    #[error("`{}`: not JSON: {reason}", path.display())]
    NotJson { path: PathBuf, reason: String },
    #[error("`{}`: {reason}", path.display())]
    Malformed { path: PathBuf, reason: String },
    #[error("`{}` is not a Stormpath export: {reason}", dir.display())]
    NotAnExport { dir: PathBuf, reason: String },
    #[error(
        "`{}` was written by the community `stormpath-export` tool, not by Stormpath's export: it has no password hashes, no email verification status and no account links, so a migration from it would lose every password and merge no linked accounts; use the export Stormpath provided (see docs/stormpath.md)",
        path.display()
    )]
    Community { path: PathBuf },
    #[error("invalid login domain `{domain}`: {reason}")]
    LoginDomain {
        domain: String,
        reason: &'static str,
    },
}

impl From<StormpathError> for SourceError {
    fn from(e: StormpathError) -> SourceError {
        SourceError::Input(Box::new(e))
    }
}

/// Counts for the closing summary.
#[derive(Default)]
pub(crate) struct Tally {
    counts: BTreeMap<&'static str, u64>,
    skips: BTreeMap<Skip, u64>,
}

impl Tally {
    pub(crate) fn add(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    fn skip(&mut self, skip: Skip) {
        *self.skips.entry(skip).or_default() += 1;
    }

    fn get(&self, what: &str) -> u64 {
        self.counts.get(what).copied().unwrap_or(0)
    }
}

/// An opened Stormpath export.
pub struct Stormpath {
    tree: Tree,
    opts: StormpathOptions,
    index: Index,
    /// Custom-data properties and the type chosen for each, sorted by name.
    properties: Vec<custom_data::Property>,
    /// The most API keys any user has (at most [`MAX_API_KEYS`]).
    max_api_keys: usize,
    tally: Tally,
}

impl Stormpath {
    /// Read the export under `dir` once: refuse what is not a Stormpath export, check every
    /// file, unify accounts and choose custom-data types. Skips are named on stderr as they
    /// are decided.
    pub fn open(dir: &Path, opts: StormpathOptions) -> Result<Stormpath, StormpathError> {
        check_login_domain(&opts.login_domain)?;
        let tree = Tree::open(dir)?;
        let mut tally = Tally::default();
        let index = Index::build(&tree, &opts.login_domain, &mut tally)?;
        let mut sp = Stormpath {
            tree,
            opts,
            index,
            properties: Vec::new(),
            max_api_keys: 0,
            tally,
        };
        sp.choose_types()?;
        Ok(sp)
    }

    /// The base accounts (one per user record), in id order.
    fn bases(&self) -> impl Iterator<Item = u32> + '_ {
        let entries = &self.index.accounts.entries;
        (0..entries.len() as u32).filter(|&i| entries[i as usize].state == index::State::Base)
    }

    /// Pass B: count custom-data types over unified users and pick one per property.
    fn choose_types(&mut self) -> Result<(), StormpathError> {
        let mut counts = custom_data::TypeCounts::default();
        let mut max_keys = 0;
        let bases: Vec<u32> = self.bases().collect();
        for base in bases {
            let chain = self.read_chain(base)?;
            let flat = custom_data::flatten(&records::merged_custom_data(&chain));
            for (name, value) in &flat.values {
                if custom_data::reserved(name).is_some() {
                    continue;
                }
                if let Some((ty, _)) = custom_data::transform(value) {
                    counts.add(name, ty);
                }
            }
            let keys: usize = self
                .index
                .accounts
                .chain(base)
                .map(|i| self.api_key_files(i).len())
                .sum();
            max_keys = max_keys.max(keys.min(MAX_API_KEYS));
        }
        self.properties = counts.resolve();
        for p in self.properties.iter().filter(|p| p.counts.len() > 1) {
            self.tally.add("custom property with several types");
            tracing::warn!(
                "custom data `{}` has several types: {}; using the most common, {} (users with another type are exported without it)",
                p.name,
                records::describe_counts(&p.counts),
                p.chosen.as_str()
            );
        }
        self.max_api_keys = max_keys;
        Ok(())
    }

    /// The ENABLED API key files of account `i`.
    fn api_key_files(&self, i: u32) -> &[(u32, u32)] {
        let keys = &self.index.api_keys;
        let start = keys.partition_point(|&(a, _)| a < i);
        let end = keys.partition_point(|&(a, _)| a <= i);
        &keys[start..end]
    }
}

impl Source for Stormpath {
    fn name(&self) -> &'static str {
        "stormpath"
    }

    fn kinds(&self) -> Vec<Kind> {
        vec![
            Kind::Attribute,
            Kind::Group,
            Kind::User,
            Kind::Membership,
            Kind::App,
            Kind::AppAssignment,
        ]
    }

    fn export(
        &mut self,
        kind: &Kind,
        _opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        match kind {
            Kind::Attribute => self.export_attributes(sink),
            Kind::Group => self.export_groups(sink),
            Kind::User => self.export_users(sink),
            Kind::Membership => self.export_memberships(sink),
            Kind::App => self.export_apps(sink),
            Kind::AppAssignment => self.export_app_assignments(sink),
            other => Err(SourceError::Unsupported("stormpath", other.to_string())),
        }
    }

    fn summary(&self) -> Vec<String> {
        records::summary(&self.tally, self.index.accounts.entries.len() as u64)
    }
}

fn check_login_domain(domain: &str) -> Result<(), StormpathError> {
    let bad = |reason| {
        Err(StormpathError::LoginDomain {
            domain: domain.to_string(),
            reason,
        })
    };
    if domain.is_empty() {
        return bad("it is empty");
    }
    if !domain
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return bad("expected a domain name such as `example.com` (letters, digits, `.` and `-`)");
    }
    if domain.starts_with(['.', '-']) || domain.ends_with(['.', '-']) || domain.contains("..") {
        return bad("expected a domain name such as `example.com`");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
