//! The preflight of `--apply`: failures the plan can already predict stop the run before the
//! first write, with one line per cause, its count and the command that fixes it.
//!
//! Checked without a single API call beyond the snapshot: input records this target cannot
//! load (not mapped for it, missing what it needs), custom attributes users carry that the
//! tenant does not define, users whose unique key belongs to someone else, and edges whose
//! ends are neither in the input nor in the journal. `--force` skips the preflight: what can
//! be written is written and the rest is reported as failed.

use std::collections::BTreeSet;

use super::Loader;
use super::spool::{Phase, Spool, edge_ends};
use crate::journal::State;
use crate::provider::target::Found;
use crate::record::Kind;

/// The run was refused: one line per cause.
#[derive(Debug, thiserror::Error)]
#[error(
    "nothing written: the plan shows failures to fix first (or add `--force` to write what can be written):{}",
    .0.iter().map(|l| format!("\n{}: {l}", crate::cli::tool())).collect::<String>()
)]
pub struct Refused(pub Vec<String>);

/// The warning line for attributes the tenant lacks.
pub fn missing_attributes_line(missing: &BTreeSet<String>) -> String {
    let names: Vec<String> = missing.iter().take(10).map(|s| format!("`{s}`")).collect();
    format!(
        "{} custom attributes are not defined in the tenant ({}{}): run `idm-attrs --apply` first",
        missing.len(),
        names.join(", "),
        if missing.len() > 10 { ", …" } else { "" }
    )
}

/// The causes found, one line each (empty: go ahead); `edge_lines` are those of
/// [`check_edges`], which ran before the tenant was read.
pub fn check(
    loader: &Loader,
    spool: &Spool,
    rejected: u64,
    edge_lines: Vec<String>,
) -> anyhow::Result<Vec<String>> {
    let target = loader.target;
    let name = target.name();
    let mut lines = Vec::new();
    if rejected > 0 {
        lines.push(format!(
            "{rejected} input records cannot be loaded into {name} (named above with their line numbers): map them with `idm-map --to {name}` or fix them"
        ));
    }
    let mut missing = BTreeSet::new();
    let mut conflicts = 0u64;
    for item in spool.records(Phase::Users)? {
        let item = item?;
        if item.superseded_by.is_some() {
            continue;
        }
        let data = &item.record.data;
        missing.extend(target.missing_attributes(data));
        let mapped = loader
            .state
            .target_id("user", name, &item.record.source, &item.record.id)?
            .is_some_and(|t| target.exists(&Kind::User, &t));
        if !mapped && matches!(target.find(&Kind::User, data), Found::Conflict { .. }) {
            conflicts += 1;
        }
    }
    if !missing.is_empty() {
        lines.push(missing_attributes_line(&missing));
    }
    if conflicts > 0 {
        lines.push(format!(
            "{conflicts} users would take an account that belongs to another person (a username or login held by an account with another email): the plan (`idm-load` without `--apply`) names them; give them another username"
        ));
    }
    lines.extend(edge_lines);
    Ok(lines)
}

/// Edges whose ends are neither in the input nor in the journal, one line per phase. Run
/// before the tenant is read, so that the index of the input's objects it needs is freed
/// before the tenant's snapshot takes its memory.
pub fn check_edges(state: &State, target: &str, spool: &Spool) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    for (phase, what) in [
        (Phase::Memberships, "memberships"),
        (Phase::Assignments, "app assignments"),
    ] {
        let mut nowhere = 0u64;
        let mut edges = Vec::new();
        for item in spool.records(phase)? {
            let item = item?;
            if let Some(ends) = edge_ends(&item.record) {
                edges.push((item.record.source.clone(), ends));
            }
            // bounded: counted in batches so a huge phase never sits in memory
            if edges.len() >= 4096 {
                nowhere += count_nowhere(state, target, spool, &edges)?;
                edges.clear();
            }
        }
        nowhere += count_nowhere(state, target, spool, &edges)?;
        if nowhere > 0 {
            lines.push(format!(
                "{nowhere} {what} name a user, group or app that is neither in this input nor in the state journal: load the whole export (or check that idm-map did not reject their ends)"
            ));
        }
    }
    Ok(lines)
}

fn count_nowhere(
    state: &State,
    name: &str,
    spool: &Spool,
    edges: &[(String, [(crate::provider::target::End, String); 2])],
) -> std::io::Result<u64> {
    let mut n = 0;
    for (source, ends) in edges {
        for (end, sid) in ends {
            let kind = end.kind();
            if !spool.has(&kind, source, sid)
                && state.target_id(kind.as_str(), name, source, sid)?.is_none()
            {
                n += 1;
                break;
            }
        }
    }
    Ok(n)
}
