//! Pass two: name what pass one could only count.
//!
//! Result and verify records may carry no `label`, and pass one cannot know which exported
//! objects idm-map left out until every mapped file has been read. So, when it is needed,
//! the export and mapped files are read once more (only regular files: stdin cannot be read
//! twice) to find the labels of the few hundred objects the tables show, and the exported
//! users, groups, apps and attributes whose key is not among the mapped ones. Memory stays
//! bounded by the tables' row cap.

use std::collections::HashMap;
use std::path::Path;

use super::scan::{Item, Scan, Stage, key_hash, object_key, record_label};
use super::{ReportError, open};
use crate::record::ReadError;

/// (kind, source, id) of an object whose label a table wants.
type Wanted = HashMap<(String, String, String), Option<String>>;

/// Fill in labels and the list of objects that were exported but not mapped. `paths[i]` is
/// the path of `scan.files[i]` (`None`: stdin).
pub fn resolve(scan: &mut Scan, paths: &[Option<&Path>]) -> Result<(), ReportError> {
    let mut wanted = wanted_labels(scan);
    let check_unmapped = !scan.mapped_kinds.is_empty() && scan.has(Stage::Export);
    let mut unmapped_unlisted = false;
    let mut todo = Vec::new();
    for (file, path) in scan.files.iter().zip(paths) {
        let object_file =
            file.stages.contains_key(&Stage::Export) || file.stages.contains_key(&Stage::Mapped);
        if !object_file {
            continue;
        }
        let has_export = file.stages.contains_key(&Stage::Export);
        match path {
            Some(p) if file.rereadable => todo.push((!has_export, *p)),
            _ if file.stages.contains_key(&Stage::Export) => unmapped_unlisted = true,
            _ => {}
        }
    }
    if wanted.is_empty() && !check_unmapped {
        return Ok(());
    }
    // export files first: they hold both the labels and the unmapped objects, so the mapped
    // files are read only for labels still missing
    todo.sort_by_key(|(mapped_only, _)| *mapped_only);
    for (mapped_only, path) in todo {
        if mapped_only && wanted.values().all(Option::is_some) {
            continue;
        }
        let mut reader = open(path)?;
        while let Some(next) = reader.next_entry() {
            let entry = match next {
                Ok(e) => e,
                Err(ReadError::Bad { .. }) => continue,
                Err(ReadError::Io(source)) => {
                    return Err(ReportError::Read {
                        path: path.display().to_string(),
                        source,
                    });
                }
            };
            let rec = &entry.record;
            let stage = Stage::of_record(rec);
            if !matches!(stage, Some(Stage::Export | Stage::Mapped)) {
                continue;
            }
            let kind = rec.kind.as_str();
            if !wanted.is_empty()
                && let Some(slot) =
                    wanted.get_mut(&(kind.to_string(), rec.source.clone(), rec.id.clone()))
                && slot.is_none()
            {
                *slot = record_label(rec);
            }
            if check_unmapped
                && stage == Some(Stage::Export)
                && scan
                    .mapped_kinds
                    .contains(&(kind.to_string(), rec.source.clone()))
                && !scan
                    .mapped_keys
                    .contains(&key_hash(kind, &rec.source, &rec.id))
            {
                *scan.unmapped_by_kind.entry(kind.to_string()).or_default() += 1;
                scan.unmapped.push_with(|| Item {
                    kind: kind.to_string(),
                    source: rec.source.clone(),
                    id: rec.id.clone(),
                    label: record_label(rec),
                    cells: vec![what_it_is(kind, &rec.data)],
                });
            }
        }
    }
    if check_unmapped && unmapped_unlisted {
        scan.unmapped_note = Some(
            "an export was read from stdin, which cannot be read twice: pass it as a file to \
             list the records idm-map left out"
                .into(),
        );
    }
    apply_labels(scan, &wanted);
    Ok(())
}

/// The keys of every shown row without a label, and the ends of shown edges.
fn wanted_labels(scan: &Scan) -> Wanted {
    let mut wanted = Wanted::new();
    let mut want = |item: &Item| {
        if item.label.is_some() {
            return;
        }
        for (kind, id) in ends(&item.kind, &item.id) {
            wanted.insert(
                (kind.to_string(), item.source.clone(), id.to_string()),
                None,
            );
        }
    };
    for item in shown_items(scan) {
        want(item);
    }
    wanted
}

/// What a row's label is made of: the object itself, or an edge's two ends.
fn ends<'a>(kind: &'a str, id: &'a str) -> Vec<(&'a str, &'a str)> {
    match (kind, id.split_once('/')) {
        ("membership", Some((group, user))) => vec![("group", group), ("user", user)],
        ("app_assignment", Some((app, other))) => {
            vec![("app", app), ("group", other), ("user", other)]
        }
        _ => vec![(kind, id)],
    }
}

fn shown_items(scan: &Scan) -> impl Iterator<Item = &Item> {
    scan.failures
        .rows
        .iter()
        .chain(&scan.preexisting.rows)
        .chain(&scan.preexisting_plan.rows)
        .chain(&scan.updates.rows)
        .chain(&scan.verify_problems.rows)
        .chain(scan.failure_kinds.map.values().map(|(_, i)| i))
        .chain(scan.skips.map.values().map(|(_, i)| i))
        .chain(scan.warnings.map.values().map(|(_, i)| i))
}

fn apply_labels(scan: &mut Scan, found: &Wanted) {
    let groups: HashMap<String, String> = scan
        .groups
        .iter()
        .filter_map(|(k, g)| g.name.clone().map(|n| (k.clone(), n)))
        .collect();
    let label_of = |kind: &str, source: &str, id: &str| -> Option<String> {
        if let Some(Some(l)) = found.get(&(kind.to_string(), source.to_string(), id.to_string())) {
            return Some(l.clone());
        }
        if kind == "group" {
            return groups.get(&object_key(source, id)).cloned();
        }
        None
    };
    let fill = |item: &mut Item| {
        if item.label.is_some() {
            return;
        }
        item.label = match (item.kind.as_str(), item.id.split_once('/')) {
            ("membership", Some((g, u))) => {
                let group = label_of("group", &item.source, g);
                let user = label_of("user", &item.source, u);
                (group.is_some() || user.is_some()).then(|| {
                    format!(
                        "{} ← {}",
                        group.unwrap_or_else(|| g.to_string()),
                        user.unwrap_or_else(|| u.to_string())
                    )
                })
            }
            ("app_assignment", Some((a, o))) => {
                let app = label_of("app", &item.source, a);
                let other = label_of("group", &item.source, o)
                    .or_else(|| label_of("user", &item.source, o));
                (app.is_some() || other.is_some()).then(|| {
                    format!(
                        "{} ← {}",
                        app.unwrap_or_else(|| a.to_string()),
                        other.unwrap_or_else(|| o.to_string())
                    )
                })
            }
            (kind, _) => label_of(kind, &item.source, &item.id),
        };
    };
    for item in scan
        .failures
        .rows
        .iter_mut()
        .chain(scan.preexisting.rows.iter_mut())
        .chain(scan.preexisting_plan.rows.iter_mut())
        .chain(scan.updates.rows.iter_mut())
        .chain(scan.verify_problems.rows.iter_mut())
        .chain(scan.failure_kinds.map.values_mut().map(|(_, i)| i))
        .chain(scan.skips.map.values_mut().map(|(_, i)| i))
        .chain(scan.warnings.map.values_mut().map(|(_, i)| i))
    {
        fill(item);
    }
}

/// A few words on an exported object that was not mapped, so a person sees why at a glance.
fn what_it_is(kind: &str, data: &serde_json::Value) -> String {
    let get = |k: &str| data.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    match kind {
        "app" => {
            let mode = get("signOnMode");
            let status = get("status");
            [mode, status]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        }
        "group" => get("type").to_string(),
        "user" => get("status").to_string(),
        "attribute" => get("type").to_string(),
        _ => String::new(),
    }
}
