//! The page: one HTML document with its CSS, script and charts inline.
//!
//! Every count is written by the server into a table cell (`data-n` holds the raw number for
//! sorting, `data-key` names the figure so tests and scripts can find it), so the page reads
//! the same with scripts off and in print; the script only adds sorting and filtering.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::Options;
use super::chart::{self, Bar};
use super::scan::{AppInfo, Capped, FileScan, Item, Scan, Stage, Tally, split_object_key};

const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

/// Escape text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `1 234 567`, grouped with narrow no-break spaces (no locale guesses: not `,` nor `.`).
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// Tables with more rows than this scroll in a box of their own on screen.
const LONG_TABLE_ROWS: usize = 15;

/// One table cell.
enum Cell {
    Text(String),
    /// A count; `key` names it for `data-key`.
    Num(u64, Option<String>),
    /// Already-escaped HTML.
    Html(String),
    /// A percentage with a bar behind it.
    Pct(f64),
    /// An identifier: may break anywhere to fit.
    Id(String),
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn num(n: u64) -> Cell {
    Cell::Num(n, None)
}

fn keyed(n: u64, key: impl Into<String>) -> Cell {
    Cell::Num(n, Some(key.into()))
}

/// A sortable, filterable table.
struct Table {
    id: String,
    caption: Option<String>,
    headers: Vec<&'static str>,
    numeric: Vec<bool>,
    rows: Vec<Vec<Cell>>,
    /// Rows counted but not shown.
    more: u64,
}

impl Table {
    fn new(id: &str, headers: &[&'static str]) -> Table {
        Table {
            id: id.to_string(),
            caption: None,
            headers: headers.to_vec(),
            numeric: vec![false; headers.len()],
            rows: Vec::new(),
            more: 0,
        }
    }

    fn caption(mut self, c: impl Into<String>) -> Table {
        self.caption = Some(c.into());
        self
    }

    fn row(&mut self, cells: Vec<Cell>) {
        for (i, c) in cells.iter().enumerate() {
            if matches!(c, Cell::Num(..) | Cell::Pct(_)) && i < self.numeric.len() {
                self.numeric[i] = true;
            }
        }
        self.rows.push(cells);
    }

    fn html(&self, out: &mut String) {
        if self.rows.is_empty() {
            return;
        }
        let class = if self.headers.len() <= 3 {
            "data narrow"
        } else {
            "data"
        };
        // long tables scroll in a box on screen (so one table does not bury the page) and
        // print whole
        let wrap = if self.rows.len() > LONG_TABLE_ROWS {
            "tw long"
        } else {
            "tw"
        };
        let _ = write!(
            out,
            r#"<div class="{wrap}"><table class="{class}" id="{}">"#,
            esc(&self.id)
        );
        if let Some(c) = &self.caption {
            let _ = write!(out, "<caption>{}</caption>", esc(c));
        }
        out.push_str("<thead><tr>");
        for (h, n) in self.headers.iter().zip(&self.numeric) {
            let class = if *n { r#" class="n""# } else { "" };
            let _ = write!(out, r#"<th scope="col"{class}>{}</th>"#, esc(h));
        }
        out.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            out.push_str("<tr>");
            for cell in row {
                match cell {
                    Cell::Text(s) if s.is_empty() => out.push_str(r#"<td class="none">—</td>"#),
                    Cell::Text(s) => {
                        let _ = write!(out, "<td>{}</td>", esc(s));
                    }
                    Cell::Html(h) => {
                        let _ = write!(out, "<td>{h}</td>");
                    }
                    Cell::Id(s) => {
                        let _ = write!(out, r#"<td class="id">{}</td>"#, esc(s));
                    }
                    Cell::Num(n, key) => {
                        let key = key
                            .as_ref()
                            .map(|k| format!(r#" data-key="{}""#, esc(k)))
                            .unwrap_or_default();
                        let _ = write!(
                            out,
                            r#"<td class="n" data-n="{n}"{key}>{}</td>"#,
                            group_digits(*n)
                        );
                    }
                    Cell::Pct(p) => {
                        let _ = write!(
                            out,
                            r#"<td class="n pct" data-n="{p:.1}"><span class="pb" style="width:{w:.0}%"></span><span class="pv">{p:.1} %</span></td>"#,
                            w = p.clamp(0.0, 100.0)
                        );
                    }
                }
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
        if self.more > 0 {
            let _ = write!(
                out,
                r#"<p class="more">and {} more not shown (<code>--rows</code> sets how many rows a table keeps)</p>"#,
                group_digits(self.more)
            );
        }
    }
}

/// The whole page.
pub fn page(scan: &Scan, opts: &Options) -> String {
    let mut body = String::new();
    let mut nav: Vec<(&str, &str)> = Vec::new();
    let mut section = |id: &'static str, title: &'static str, content: String| {
        if content.is_empty() {
            return;
        }
        nav.push((id, title));
        let _ = write!(
            body,
            r#"<section id="{id}"><h2>{}</h2>{content}</section>"#,
            esc(title)
        );
    };
    section("glance", "At a glance", glance(scan));
    section("decide", "Needs a decision", decisions(scan));
    section("counts", "Counts", counts(scan));
    section("verify", "Verify", verify(scan));
    section("attributes", "Custom attributes", attributes(scan));
    section("groups", "Groups", groups(scan));
    section("apps", "Apps", apps(scan));
    section("run", "Time and quota", run(scan));
    section("journal", "State journal", journal(scan));
    section("files", "Files read", files(scan));

    let generated = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    let mut html = String::with_capacity(body.len() + CSS.len() + JS.len() + 4096);
    let _ = write!(
        html,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="generator" content="idm-report {version}"><title>{title}</title><style>{CSS}</style></head>
<body><header><h1>{title}</h1><p class="meta">Made {generated} by idm-report {version} from {files} ({records} records, {events} journal events).</p><nav aria-label="Sections"><ul>"#,
        version = env!("CARGO_PKG_VERSION"),
        title = esc(&opts.title),
        files = plural(scan.files.len() as u64, "file", "files"),
        records = group_digits(scan.total_records()),
        events = group_digits(scan.total_events()),
    );
    for (id, title) in nav {
        let _ = write!(html, r##"<li><a href="#{id}">{}</a></li>"##, esc(title));
    }
    let _ = writeln!(
        html,
        r#"</ul></nav></header><main>{body}</main><footer><p>{privacy}</p></footer><script>{JS}</script></body></html>"#,
        privacy = esc(PRIVACY)
    );
    html
}

const PRIVACY: &str = "This page names the people and objects whose records need a decision, \
    so share it as you would the export. It holds no password, password hash, token or secret: \
    sample values and changed fields whose name or value looks secret are masked as idm-attrs \
    masks them.";

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", group_digits(n), if n == 1 { one } else { many })
}

fn count_of(map: &BTreeMap<Stage, BTreeMap<String, u64>>, stage: Stage, kind: &str) -> u64 {
    map.get(&stage)
        .and_then(|m| m.get(kind))
        .copied()
        .unwrap_or(0)
}

fn outcome(scan: &Scan, stage: Stage, column: Option<&str>) -> u64 {
    scan.outcomes
        .iter()
        .filter(|((s, _, c), _)| *s == stage && column.is_none_or(|col| c == col))
        .map(|(_, n)| n)
        .sum()
}

/// Big numbers first: what went in, what came out, what failed.
fn glance(scan: &Scan) -> String {
    let mut cards: Vec<(String, u64, String, &str)> = Vec::new();
    let mut card = |label: &str, n: u64, key: &str, tone: &'static str| {
        cards.push((label.to_string(), n, key.to_string(), tone));
    };
    if scan.has(Stage::Export) {
        card(
            "users exported",
            count_of(&scan.records, Stage::Export, "user"),
            "glance/export/user",
            "",
        );
    }
    if scan.has(Stage::Mapped) {
        card(
            "users mapped",
            count_of(&scan.records, Stage::Mapped, "user"),
            "glance/mapped/user",
            "",
        );
    }
    if scan.has(Stage::Plan) {
        let writes = ["create", "update"]
            .iter()
            .map(|c| outcome(scan, Stage::Plan, Some(c)))
            .sum();
        card(
            "creates and updates planned",
            writes,
            "glance/plan/writes",
            "",
        );
    }
    if scan.has(Stage::Results) {
        let done = ["create", "update", "assign", "provision"]
            .iter()
            .map(|c| outcome(scan, Stage::Results, Some(c)))
            .sum();
        card(
            "created, updated or assigned",
            done,
            "glance/results/done",
            "good",
        );
        card(
            "skipped",
            outcome(scan, Stage::Results, Some("skip")),
            "glance/results/skip",
            "",
        );
    }
    if scan.has(Stage::Plan) || scan.has(Stage::Results) {
        let failed = scan.failures.total;
        card(
            "failed",
            failed,
            "glance/failed",
            if failed > 0 { "bad" } else { "good" },
        );
    }
    if scan.has(Stage::Verify) {
        let total: u64 = scan.verify.values().sum();
        let off: u64 = scan
            .verify
            .iter()
            .filter(|((_, s), _)| s != "match" && s != "not_migrated")
            .map(|(_, n)| n)
            .sum();
        card(
            "verify: not as migrated",
            off,
            "glance/verify/problems",
            if off > 0 { "bad" } else { "good" },
        );
        card("verify: checked", total, "glance/verify/total", "");
    }
    let bad = scan.total_unreadable();
    if bad > 0 {
        card("unreadable input lines", bad, "glance/unreadable", "bad");
    }
    if scan.has(Stage::Journal) {
        card("journal events", scan.total_events(), "glance/journal", "");
    }
    if cards.is_empty() {
        return r#"<p class="none">The inputs held no records.</p>"#.into();
    }
    let mut out = String::from(r#"<div class="cards">"#);
    for (label, n, key, tone) in cards {
        let _ = write!(
            out,
            r#"<div class="card {tone}"><span class="big" data-key="{}" data-n="{n}">{}</span><span class="cl">{}</span></div>"#,
            esc(&key),
            group_digits(n),
            esc(&label)
        );
    }
    out.push_str("</div>");
    out
}

fn who(item: &Item) -> Cell {
    text(item.label.clone().unwrap_or_default())
}

fn id_of(item: &Item) -> Cell {
    Cell::Id(format!("{}:{}", item.source, item.id))
}

fn cell(item: &Item, i: usize) -> Cell {
    text(item.cells.get(i).cloned().unwrap_or_default())
}

/// An `<h3>` with a count the tests and readers can find.
fn heading(out: &mut String, title: &str, n: u64, key: &str, tone: &str) {
    let _ = write!(
        out,
        r#"<h3>{} <span class="count {tone}" data-key="{}" data-n="{n}">{}</span></h3>"#,
        esc(title),
        esc(key),
        group_digits(n)
    );
}

fn note(out: &mut String, text: &str) {
    let _ = write!(out, r#"<p class="note">{}</p>"#, esc(text));
}

fn capped_more<T>(t: &mut Table, c: &Capped<T>) {
    t.more = c.more();
}

/// The tone of a count that should be zero.
fn tone(n: u64) -> &'static str {
    if n > 0 { "bad" } else { "good" }
}

/// One row per item: its kind, who, id, then the item's `cells` in that order.
fn item_table(mut t: Table, items: &Capped<Item>, cells: &[usize], out: &mut String) {
    for i in &items.rows {
        let mut row = vec![text(&i.kind), who(i), id_of(i)];
        row.extend(cells.iter().map(|&c| cell(i, c)));
        t.row(row);
    }
    capped_more(&mut t, items);
    t.html(out);
}

fn decisions(scan: &Scan) -> String {
    let mut out = String::new();
    decide_unreadable(scan, &mut out);
    decide_incomplete(scan, &mut out);
    decide_failed(scan, &mut out);
    decide_unmapped(scan, &mut out);
    decide_no_connector(scan, &mut out);
    decide_preexisting_and_skipped(scan, &mut out);
    decide_warnings(scan, &mut out);
    decide_updates(scan, &mut out);
    decide_verify_decisions(scan, &mut out);
    out
}

/// Lines that are neither a record nor a journal event.
fn decide_unreadable(scan: &Scan, out: &mut String) {
    if scan.bad_lines.total > 0 {
        heading(
            out,
            "Unreadable input lines",
            scan.bad_lines.total,
            "decide/unreadable",
            "bad",
        );
        note(
            out,
            "Lines that are neither a record nor a journal event. They are not counted anywhere else on this page.",
        );
        let mut t = Table::new("t-unreadable", &["File", "Line", "Reason"]);
        for b in &scan.bad_lines.rows {
            t.row(vec![text(&b.file), num(b.line), text(&b.reason)]);
        }
        capped_more(&mut t, &scan.bad_lines);
        t.html(out);
    }
}

/// Streams whose end marker says they were cut short.
fn decide_incomplete(scan: &Scan, out: &mut String) {
    let cut: Vec<(&FileScan, u64)> = scan
        .files
        .iter()
        .flat_map(|f| {
            f.ends
                .iter()
                .filter(|e| e.complete == Some(false))
                .map(move |e| (f, e.line))
        })
        .collect();
    if !cut.is_empty() {
        heading(
            out,
            "Streams that say they are incomplete",
            cut.len() as u64,
            "decide/incomplete",
            "bad",
        );
        note(
            out,
            "Their end marker says `complete: false`: an upstream stage stopped early, so the counts of these files are not the whole tenant.",
        );
        let mut t = Table::new("t-incomplete", &["File", "Stages", "End marker at line"]);
        for (f, line) in cut {
            t.row(vec![text(&f.name), text(f.stage_names()), num(line)]);
        }
        t.html(out);
    }
}

/// Results that failed, by cause.
fn decide_failed(scan: &Scan, out: &mut String) {
    let any_results = scan.has(Stage::Plan) || scan.has(Stage::Results);
    if any_results {
        heading(
            out,
            "Failed",
            scan.failures.total,
            "decide/failed",
            tone(scan.failures.total),
        );
        if scan.failures.total > 0 {
            let mut t = Table::new(
                "t-failure-kinds",
                &[
                    "Stage",
                    "Kind",
                    "HTTP status",
                    "Message",
                    "Count",
                    "For example",
                ],
            )
            .caption("Failures by kind and message");
            for ((stage, of, http, pattern), (n, ex)) in &scan.failure_kinds.map {
                t.row(vec![
                    text(stage.as_str()),
                    text(of),
                    text(http),
                    text(pattern),
                    num(*n),
                    who_or_id(ex),
                ]);
            }
            t.html(out);
            tally_overflow(out, &scan.failure_kinds);
            item_table(
                Table::new("t-failures", &["Kind", "Who", "Id", "Op", "Error"])
                    .caption("Each failure"),
                &scan.failures,
                &[0, 1],
                out,
            );
        }
    }
}

/// Exported objects that idm-map did not map.
fn decide_unmapped(scan: &Scan, out: &mut String) {
    let unmapped_total = scan.unmapped.total;
    if unmapped_total > 0 || scan.unmapped_note.is_some() {
        heading(
            out,
            "Exported but not mapped",
            unmapped_total,
            "decide/unmapped",
            tone(unmapped_total),
        );
        note(
            out,
            "Objects in the export with no mapped record: idm-map rejected them (duplicate email, no email, no connector) or left them out on purpose (the built-in Everyone group). Its stderr and --rejects file say why for each.",
        );
        if let Some(n) = &scan.unmapped_note {
            note(out, n);
        }
        if !scan.unmapped_by_kind.is_empty() {
            let mut t = Table::new("t-unmapped-kinds", &["Kind", "Not mapped"]);
            for (k, n) in &scan.unmapped_by_kind {
                t.row(vec![text(k), keyed(*n, format!("unmapped/{k}"))]);
            }
            t.html(out);
        }
        let mut t = Table::new("t-unmapped", &["Kind", "Who", "Id", "What it is"]);
        for i in &scan.unmapped.rows {
            t.row(vec![text(&i.kind), who(i), id_of(i), cell(i, 0)]);
        }
        capped_more(&mut t, &scan.unmapped);
        t.html(out);
    }
}

/// Apps without a connector.
fn decide_no_connector(scan: &Scan, out: &mut String) {
    let no_connector: Vec<((&str, &str), &AppInfo)> = sorted_apps(scan)
        .into_iter()
        .filter(|(_, a)| readiness(scan, a.1) == "no connector")
        .map(|(k, a)| (k, a.1))
        .collect();
    if !no_connector.is_empty() {
        heading(
            out,
            "Apps without a connector",
            no_connector.len() as u64,
            "decide/no-connector",
            "bad",
        );
        note(
            out,
            "Exported apps that idm-map did not map: give them a connector in --connectors, or decide they stay behind.",
        );
        let mut t = Table::new("t-no-connector", &["App", "Id", "Sign-on mode", "Status"]);
        for ((source, id), a) in no_connector {
            t.row(vec![
                text(a.label.clone().unwrap_or_default()),
                Cell::Id(format!("{source}:{id}")),
                text(a.mode.clone().unwrap_or_default()),
                text(a.status.clone().unwrap_or_default()),
            ]);
        }
        t.html(out);
    }
}

/// Objects already in the target, and skips by reason.
fn decide_preexisting_and_skipped(scan: &Scan, out: &mut String) {
    let any_results = scan.has(Stage::Plan) || scan.has(Stage::Results);
    if any_results {
        // the results say what happened; without them, the plan says what will
        let (pre, from) = if scan.has(Stage::Results) {
            (&scan.preexisting, "results")
        } else {
            (&scan.preexisting_plan, "plan")
        };
        heading(
            out,
            "Already in the target",
            pre.total,
            "decide/preexisting",
            "",
        );
        if pre.total > 0 {
            note(
                out,
                "Accounts and objects the target had before this migration; idm-load adopted them (same email or name) instead of creating them. Check they are the same people.",
            );
            item_table(
                Table::new(
                    "t-preexisting",
                    &["Kind", "Who", "Id", "Op", "Target id", "Reason"],
                )
                .caption(format!("From the {from}")),
                pre,
                &[1, 2, 3],
                out,
            );
        }

        let skipped = scan.skips.total();
        heading(out, "Skipped, by reason", skipped, "decide/skipped", "");
        if skipped > 0 {
            let mut t = Table::new(
                "t-skips",
                &["Stage", "Kind", "Reason", "Count", "For example"],
            );
            let mut rows: Vec<_> = scan.skips.map.iter().collect();
            rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
            for ((stage, of, pattern), (n, ex)) in rows {
                t.row(vec![
                    text(stage.as_str()),
                    text(of),
                    text(pattern),
                    num(*n),
                    who_or_id(ex),
                ]);
            }
            t.html(out);
            tally_overflow(out, &scan.skips);
        }
    }
}

/// Warnings to read.
fn decide_warnings(scan: &Scan, out: &mut String) {
    let warned = scan.warnings.total();
    if warned > 0 {
        heading(out, "Warnings to read", warned, "decide/warnings", "");
        let mut t = Table::new("t-warnings", &["Kind", "Warning", "Count", "For example"]);
        let mut rows: Vec<_> = scan.warnings.map.iter().collect();
        rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
        for ((kind, pattern), (n, ex)) in rows {
            t.row(vec![text(kind), text(pattern), num(*n), who_or_id(ex)]);
        }
        t.html(out);
        tally_overflow(out, &scan.warnings);
    }
}

/// Updates and what they change.
fn decide_updates(scan: &Scan, out: &mut String) {
    if scan.updates.total > 0 {
        heading(
            out,
            "Updates and what they change",
            scan.updates.total,
            "decide/updates",
            "",
        );
        item_table(
            Table::new(
                "t-updates",
                &["Kind", "Who", "Id", "Stage", "Status", "Changes"],
            ),
            &scan.updates,
            &[0, 1, 2],
            out,
        );
    }
}

/// What idm-verify found that is not a match.
fn decide_verify_decisions(scan: &Scan, out: &mut String) {
    if scan.has(Stage::Verify) {
        heading(
            out,
            "Verify found differences",
            scan.verify_problems.total,
            "decide/verify",
            tone(scan.verify_problems.total),
        );
        item_table(
            Table::new(
                "t-verify-problems",
                &["Kind", "Who", "Id", "Status", "Reason", "Changes"],
            ),
            &scan.verify_problems,
            &[0, 1, 2],
            out,
        );
    }
}

fn who_or_id(item: &Item) -> Cell {
    text(
        item.label
            .clone()
            .unwrap_or_else(|| format!("{}:{}", item.source, item.id)),
    )
}

fn tally_overflow<K: Ord>(out: &mut String, t: &Tally<K>) {
    if t.overflow > 0 {
        let _ = write!(
            out,
            r#"<p class="more">and {} more under other messages not listed</p>"#,
            group_digits(t.overflow)
        );
    }
}

/// Kinds in pipeline order, then the others by name.
fn kind_order(kinds: impl IntoIterator<Item = String>) -> Vec<String> {
    const ORDER: [&str; 6] = [
        "attribute",
        "group",
        "user",
        "membership",
        "app",
        "app_assignment",
    ];
    let set: BTreeSet<String> = kinds.into_iter().collect();
    let mut out: Vec<String> = ORDER
        .iter()
        .filter(|k| set.contains(**k))
        .map(|k| k.to_string())
        .collect();
    out.extend(set.into_iter().filter(|k| !ORDER.contains(&k.as_str())));
    out
}

/// Outcome columns in a fixed order: ops, then others, then `failed`.
fn column_order(cols: impl IntoIterator<Item = String>) -> Vec<String> {
    const ORDER: [&str; 5] = ["create", "update", "assign", "provision", "skip"];
    let set: BTreeSet<String> = cols.into_iter().collect();
    let mut out: Vec<String> = ORDER
        .iter()
        .filter(|c| set.contains(**c))
        .map(|c| c.to_string())
        .collect();
    out.extend(
        set.iter()
            .filter(|c| !ORDER.contains(&c.as_str()) && *c != "failed")
            .cloned(),
    );
    if set.contains("failed") {
        out.push("failed".into());
    }
    out
}

fn counts(scan: &Scan) -> String {
    let mut out = String::new();
    let stages: Vec<Stage> = [
        Stage::Export,
        Stage::Mapped,
        Stage::Plan,
        Stage::Results,
        Stage::Verify,
    ]
    .into_iter()
    .filter(|s| scan.has(*s))
    .collect();
    if stages.is_empty() {
        return out;
    }
    out.push_str(r#"<h3>Records by stage</h3>"#);
    note(
        &mut out,
        "Plan, results and verify records are counted under the kind they are about.",
    );
    let headers: Vec<&'static str> = std::iter::once("Kind")
        .chain(stages.iter().map(|s| s.as_str()))
        .collect();
    let mut t = Table::new("t-records", &headers);
    let kinds = kind_order(scan.records.values().flat_map(|m| m.keys().cloned()));
    for kind in &kinds {
        let mut row = vec![text(kind)];
        for s in &stages {
            let n = count_of(&scan.records, *s, kind);
            row.push(keyed(n, format!("records/{}/{kind}", s.as_str())));
        }
        t.row(row);
    }
    t.html(&mut out);
    let sources: Vec<String> = stages
        .iter()
        .map(|s| {
            let src = scan
                .sources
                .get(s)
                .map(|v| v.iter().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            let tgt = scan
                .targets
                .get(s)
                .filter(|_| matches!(s, Stage::Mapped))
                .map(|v| format!(" → {}", v.iter().cloned().collect::<Vec<_>>().join(", ")))
                .unwrap_or_default();
            format!("{}: {src}{tgt}", s.as_str())
        })
        .collect();
    note(&mut out, &format!("Sources: {}.", sources.join("; ")));

    for stage in [Stage::Plan, Stage::Results] {
        if !scan.has(stage) {
            continue;
        }
        let title = match stage {
            Stage::Plan => "The plan, by kind and operation",
            _ => "Results, by kind and operation",
        };
        let _ = write!(out, "<h3>{}</h3>", esc(title));
        let cols = column_order(
            scan.outcomes
                .keys()
                .filter(|(s, _, _)| *s == stage)
                .map(|(_, _, c)| c.clone()),
        );
        let kinds = kind_order(
            scan.outcomes
                .keys()
                .filter(|(s, _, _)| *s == stage)
                .map(|(_, k, _)| k.clone()),
        );
        let mut headers: Vec<&'static str> = vec!["Kind"];
        headers.extend(cols.iter().map(|c| column_title(c)));
        headers.push("Total");
        let mut t = Table::new(&format!("t-outcome-{}", stage.as_str()), &headers);
        let mut chart_bars = Vec::new();
        for kind in &kinds {
            let mut row = vec![text(kind)];
            let mut total = 0;
            let mut segments = Vec::new();
            for c in &cols {
                let n = scan
                    .outcomes
                    .get(&(stage, kind.clone(), c.clone()))
                    .copied()
                    .unwrap_or(0);
                total += n;
                segments.push((c.clone(), n));
                row.push(keyed(n, format!("outcome/{}/{kind}/{c}", stage.as_str())));
            }
            row.push(keyed(
                total,
                format!("outcome/{}/{kind}/total", stage.as_str()),
            ));
            t.row(row);
            chart_bars.push(Bar {
                label: kind.clone(),
                segments,
            });
        }
        out.push_str(&chart::bars(title, &chart_bars));
        t.html(&mut out);
    }

    if !scan.user_status.is_empty() {
        out.push_str("<h3>Exported users by status in the source</h3>");
        let mut t = Table::new("t-user-status", &["Source", "Status", "Users"]);
        let mut bars = Vec::new();
        for ((source, status), n) in &scan.user_status {
            t.row(vec![
                text(source),
                text(status),
                keyed(*n, format!("user-status/{source}/{status}")),
            ]);
            bars.push(Bar {
                label: format!("{source} {status}"),
                segments: vec![("users".into(), *n)],
            });
        }
        out.push_str(&chart::bars("Exported users by status", &bars));
        t.html(&mut out);
    }
    out
}

fn column_title(c: &str) -> &'static str {
    match c {
        "create" => "create",
        "update" => "update",
        "assign" => "assign",
        "provision" => "provision",
        "skip" => "skip",
        "failed" => "failed",
        _ => "other",
    }
}

fn verify(scan: &Scan) -> String {
    let mut out = String::new();
    if !scan.has(Stage::Verify) {
        return out;
    }
    let total: u64 = scan.verify.values().sum();
    let count = |pick: &dyn Fn(&str) -> bool| -> u64 {
        scan.verify
            .iter()
            .filter(|((_, s), _)| pick(s))
            .map(|(_, n)| n)
            .sum()
    };
    let matching = count(&|s| s == "match");
    // rejected or skipped upstream: not a failure of the migration (idm-verify exits 0)
    let not_migrated = count(&|s| s == "not_migrated");
    let upstream = if not_migrated > 0 {
        format!(
            " {} exported objects were not migrated on purpose or rejected upstream (see “Exported but not mapped”).",
            group_digits(not_migrated)
        )
    } else {
        String::new()
    };
    let (class, verdict) = if matching + not_migrated == total {
        (
            "good",
            format!(
                "All {} migrated objects match.{upstream}",
                group_digits(matching)
            ),
        )
    } else {
        (
            "bad",
            format!(
                "{} of {} migrated objects are not as migrated: see “Verify found differences” above.{upstream}",
                group_digits(total - matching - not_migrated),
                group_digits(total - not_migrated)
            ),
        )
    };
    let _ = write!(out, r#"<p class="verdict {class}">{}</p>"#, esc(&verdict));
    const ORDER: [&str; 5] = ["match", "differs", "missing", "unexpected", "not_migrated"];
    let statuses: BTreeSet<&str> = scan.verify.keys().map(|(_, s)| s.as_str()).collect();
    let mut cols: Vec<&str> = ORDER
        .iter()
        .copied()
        .filter(|s| statuses.contains(s))
        .collect();
    let others: Vec<&str> = statuses
        .iter()
        .copied()
        .filter(|s| !ORDER.contains(s))
        .collect();
    cols.extend(others);
    let kinds = kind_order(scan.verify.keys().map(|(k, _)| k.clone()));
    let mut headers: Vec<&'static str> = vec!["Kind"];
    for c in &cols {
        headers.push(match *c {
            "match" => "match",
            "differs" => "differs",
            "missing" => "missing",
            "unexpected" => "unexpected",
            "not_migrated" => "not migrated",
            _ => "other",
        });
    }
    headers.push("Total");
    let mut t = Table::new("t-verify", &headers);
    let mut bars = Vec::new();
    for kind in &kinds {
        let mut row = vec![text(kind)];
        let mut segs = Vec::new();
        let mut sum = 0;
        for c in &cols {
            let n = scan
                .verify
                .get(&(kind.clone(), c.to_string()))
                .copied()
                .unwrap_or(0);
            sum += n;
            segs.push((c.to_string(), n));
            row.push(keyed(n, format!("verify/{kind}/{c}")));
        }
        row.push(keyed(sum, format!("verify/{kind}/total")));
        t.row(row);
        bars.push(Bar {
            label: kind.clone(),
            segments: segs,
        });
    }
    out.push_str(&chart::bars("Verify, by kind and status", &bars));
    t.html(&mut out);
    out
}

fn attributes(scan: &Scan) -> String {
    let mut out = String::new();
    let (cov, stage) = if scan.coverage_mapped.users > 0 && !scan.coverage_mapped.names.is_empty() {
        (&scan.coverage_mapped, "mapped")
    } else if scan.coverage_export.users > 0 && !scan.coverage_export.names.is_empty() {
        (&scan.coverage_export, "export")
    } else {
        return out;
    };
    let shown: Vec<(&String, &super::scan::AttrStat)> = cov
        .names
        .iter()
        .filter(|(name, _)| {
            stage == "mapped" || scan.attr_defs.is_empty() || scan.attr_defs.contains(*name)
        })
        .collect();
    if shown.is_empty() {
        return out;
    }
    note(
        &mut out,
        &format!(
            "Coverage over the {} {} users: how many have a non-empty value. Sample values whose name or value looks secret are masked.",
            group_digits(cov.users),
            stage
        ),
    );
    let by_short: BTreeMap<&str, &str> = scan
        .attr_shortnames
        .iter()
        .map(|(prop, short)| (short.as_str(), prop.as_str()))
        .collect();
    let provisioned: BTreeSet<&str> = scan
        .journal_attrs
        .values()
        .flat_map(|s| s.iter().map(String::as_str))
        .collect();
    let mut t = Table::new(
        "t-attributes",
        &[
            "Attribute",
            "Source property",
            "Users",
            "Coverage",
            "Sample",
            "In the target",
        ],
    );
    let mut rows = shown;
    rows.sort_by(|a, b| b.1.users.cmp(&a.1.users).then(a.0.cmp(b.0)));
    for (name, stat) in &rows {
        let prop = by_short.get(name.as_str()).copied().unwrap_or_default();
        let in_target = scan
            .attr_results
            .get(name.as_str())
            .or_else(|| scan.attr_results.get(prop))
            .cloned()
            .or_else(|| {
                provisioned
                    .contains(name.as_str())
                    .then(|| "exists (journal)".to_string())
            })
            .unwrap_or_default();
        let pct = stat.users as f64 * 100.0 / cov.users.max(1) as f64;
        t.row(vec![
            text(name.as_str()),
            text(prop),
            keyed(stat.users, format!("attr/{stage}/{name}")),
            Cell::Pct(pct),
            text(stat.sample.clone().unwrap_or_default()),
            text(in_target),
        ]);
    }
    t.html(&mut out);
    if cov.overflow > 0 {
        note(
            &mut out,
            &format!(
                "{} more values under attribute names beyond the first {} are not shown.",
                group_digits(cov.overflow),
                cov.names.len()
            ),
        );
    }
    out
}

fn groups(scan: &Scan) -> String {
    let mut out = String::new();
    if scan.groups.is_empty() {
        return out;
    }
    let from_export = scan.groups.values().any(|g| g.members_export > 0);
    let size = |g: &super::scan::GroupInfo| {
        if from_export {
            g.members_export
        } else {
            g.members_mapped
        }
    };
    let mut groups: Vec<((&str, &str), &super::scan::GroupInfo)> = scan
        .groups
        .iter()
        .map(|(k, g)| (split_object_key(k), g))
        .collect();
    groups.sort_by(|a, b| {
        size(b.1)
            .cmp(&size(a.1))
            .then_with(|| a.1.name.cmp(&b.1.name))
            .then_with(|| a.0.cmp(&b.0))
    });
    let empty = groups.iter().filter(|(_, g)| size(g) == 0).count();
    note(
        &mut out,
        &format!(
            "{} groups; sizes from the {} memberships; {} without members.",
            group_digits(groups.len() as u64),
            if from_export { "exported" } else { "mapped" },
            group_digits(empty as u64)
        ),
    );
    let bars: Vec<Bar> = groups
        .iter()
        .take(15)
        .filter(|(_, g)| size(g) > 0)
        .map(|((_, id), g)| Bar {
            label: g.name.clone().unwrap_or_else(|| id.to_string()),
            segments: vec![("members".into(), size(g))],
        })
        .collect();
    out.push_str(&chart::bars("The largest groups", &bars));
    let mut t = Table::new(
        "t-groups",
        &["Group", "Id", "Type", "Members", "Load result"],
    );
    for ((source, id), g) in groups.iter().take(scan.rows) {
        let result = g.result.clone().unwrap_or_else(|| {
            let groups_mapped = scan
                .mapped_kinds
                .contains(&("group".to_string(), source.to_string()));
            if groups_mapped && !g.mapped && g.name.is_some() {
                "not mapped".into()
            } else {
                String::new()
            }
        });
        t.row(vec![
            text(g.name.clone().unwrap_or_default()),
            Cell::Id(format!("{source}:{id}")),
            text(g.group_type.clone().unwrap_or_default()),
            keyed(size(g), format!("group/{source}/{id}")),
            text(result),
        ]);
    }
    t.more = groups.len().saturating_sub(scan.rows) as u64;
    t.html(&mut out);
    if scan.groups_overflow > 0 {
        note(
            &mut out,
            &format!(
                "{} memberships or records of groups beyond the first {} are not counted here.",
                group_digits(scan.groups_overflow),
                scan.groups.len()
            ),
        );
    }
    out
}

type AppRef<'a> = ((&'a str, &'a str), (&'a str, &'a AppInfo));

fn sorted_apps(scan: &Scan) -> Vec<AppRef<'_>> {
    let mut apps: Vec<AppRef<'_>> = scan
        .apps
        .iter()
        .map(|(k, a)| {
            let (source, id) = split_object_key(k);
            ((source, id), (a.label.as_deref().unwrap_or(id), a))
        })
        .collect();
    apps.sort_by(|a, b| a.1.0.cmp(b.1.0).then(a.0.cmp(&b.0)));
    apps
}

/// How far an app got: the furthest stage that says something about it.
pub fn readiness(scan: &Scan, app: &AppInfo) -> &'static str {
    if let Some((op, status)) = &app.result {
        return match (op.as_str(), status.as_str()) {
            (_, "failed") => "failed",
            ("create", _) => "created",
            ("update", _) => "updated",
            _ => "in target",
        };
    }
    match app.planned.as_deref() {
        Some("skip") => return "in target",
        Some(_) => return "planned",
        None => {}
    }
    if app.mapped {
        return "ready";
    }
    let apps_mapped = scan.mapped_kinds.iter().any(|(k, _)| k == "app");
    if app.exported && apps_mapped {
        return "no connector";
    }
    "exported"
}

fn apps(scan: &Scan) -> String {
    let mut out = String::new();
    if scan.apps.is_empty() {
        return out;
    }
    let apps = sorted_apps(scan);
    let mut by_mode: BTreeMap<String, BTreeMap<&'static str, u64>> = BTreeMap::new();
    for (_, (_, a)) in &apps {
        let mode = a.mode.clone().unwrap_or_else(|| "unknown".into());
        *by_mode
            .entry(mode)
            .or_default()
            .entry(readiness(scan, a))
            .or_default() += 1;
    }
    const READY: [&str; 8] = [
        "created",
        "updated",
        "in target",
        "planned",
        "ready",
        "failed",
        "no connector",
        "exported",
    ];
    let bars: Vec<Bar> = by_mode
        .iter()
        .map(|(mode, r)| Bar {
            label: mode.clone(),
            segments: READY
                .iter()
                .filter_map(|k| r.get(k).map(|n| (k.to_string(), *n)))
                .collect(),
        })
        .collect();
    out.push_str(&chart::bars("Apps by sign-on mode and readiness", &bars));
    let mut t = Table::new("t-app-modes", &["Sign-on mode", "Readiness", "Apps"]);
    for (mode, r) in &by_mode {
        for k in READY {
            if let Some(n) = r.get(k) {
                t.row(vec![
                    text(mode),
                    text(k),
                    keyed(*n, format!("apps/{mode}/{k}")),
                ]);
            }
        }
    }
    t.html(&mut out);
    let mut t = Table::new(
        "t-apps",
        &[
            "App",
            "Id",
            "Sign-on mode",
            "Status",
            "Connector",
            "Groups",
            "Users",
            "Readiness",
            "Verify",
        ],
    );
    for ((source, id), (label, a)) in apps.iter().take(scan.rows) {
        t.row(vec![
            text(*label),
            Cell::Id(format!("{source}:{id}")),
            text(a.mode.clone().unwrap_or_default()),
            text(a.status.clone().unwrap_or_default()),
            text(a.connector.clone().unwrap_or_default()),
            num(a.to_groups),
            num(a.to_users),
            Cell::Html(format!(
                r#"<span class="tag" style="border-color:{}">{}</span>"#,
                chart::color(readiness(scan, a)),
                esc(readiness(scan, a))
            )),
            text(a.verify.clone().unwrap_or_default()),
        ]);
    }
    t.more = apps.len().saturating_sub(scan.rows) as u64;
    t.html(&mut out);
    if scan.apps_overflow > 0 {
        note(
            &mut out,
            &format!(
                "{} records of apps beyond the first {} are not counted here.",
                group_digits(scan.apps_overflow),
                scan.apps.len()
            ),
        );
    }
    out
}

/// Names of end-marker fields that say how long a run took or what it used.
fn fact_title(key: &str) -> Option<&'static str> {
    Some(match key {
        "elapsed_ms" | "duration_ms" => "time taken (ms)",
        "elapsed_s" | "elapsed_secs" | "elapsed" | "seconds" | "duration_s" => "time taken (s)",
        "calls" | "api_calls" | "requests" => "API calls",
        "writes" => "write calls",
        "rate_limit" | "quota" => "quota",
        "quota_used" | "quota_used_pct" => "quota used",
        "over_limit" => "requests over the quota",
        "started" | "started_at" => "started",
        "finished" | "finished_at" | "ended_at" => "finished",
        _ => return None,
    })
}

fn run(scan: &Scan) -> String {
    let mut out = String::new();
    let ends: Vec<(&FileScan, &super::scan::EndMarker)> = scan
        .files
        .iter()
        .flat_map(|f| f.ends.iter().map(move |e| (f, e)))
        .collect();
    let writes: u64 = ["create", "update", "assign", "provision", "failed"]
        .iter()
        .map(|c| outcome(scan, Stage::Results, Some(c)))
        .sum();
    if ends.is_empty() && !scan.has(Stage::Results) {
        return out;
    }
    if scan.has(Stage::Results) {
        let _ = write!(
            out,
            r#"<p>Writes the results record (creates, updates, assignments and failed attempts): <strong data-key="run/writes" data-n="{writes}">{}</strong>. Each took at least one API call against the target's quota.</p>"#,
            group_digits(writes)
        );
    }
    if ends.is_empty() {
        note(
            &mut out,
            "No input ends with an end marker, so time taken and API calls are not recorded in these files: each tool prints them in its summary line on stderr.",
        );
        return out;
    }
    let mut t = Table::new("t-run", &["File", "Stages", "Complete", "Fact", "Value"]);
    for (f, e) in ends {
        let complete = match e.complete {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        };
        if !e.counts.is_empty() {
            let counts: Vec<String> = e.counts.iter().map(|(k, n)| format!("{k}: {n}")).collect();
            t.row(vec![
                text(&f.name),
                text(f.stage_names()),
                text(complete),
                text("counts"),
                text(counts.join(", ")),
            ]);
        }
        if e.facts.is_empty() && e.counts.is_empty() {
            t.row(vec![
                text(&f.name),
                text(f.stage_names()),
                text(complete),
                text(""),
                text(""),
            ]);
        }
        for (k, v) in &e.facts {
            let title = fact_title(k)
                .map(|t| format!("{t} ({k})"))
                .unwrap_or_else(|| k.clone());
            t.row(vec![
                text(&f.name),
                text(f.stage_names()),
                text(complete),
                text(title),
                text(v),
            ]);
        }
    }
    t.html(&mut out);
    out
}

fn journal(scan: &Scan) -> String {
    let mut out = String::new();
    if !scan.has(Stage::Journal) {
        return out;
    }
    let mut t = Table::new("t-journal", &["Event", "Kind", "Events"]);
    for (ev, n) in &scan.journal {
        let kinds: Vec<_> = scan
            .journal_kinds
            .iter()
            .filter(|((e, _), _)| e == ev)
            .collect();
        t.row(vec![
            text(ev),
            text("all"),
            keyed(*n, format!("journal/{ev}")),
        ]);
        for ((_, kind), k) in kinds {
            t.row(vec![
                text(ev),
                text(kind),
                keyed(*k, format!("journal/{ev}/{kind}")),
            ]);
        }
    }
    t.html(&mut out);
    if !scan.journal_attrs.is_empty() {
        let list: Vec<String> = scan
            .journal_attrs
            .iter()
            .map(|(t, s)| format!("{t}: {}", s.iter().cloned().collect::<Vec<_>>().join(", ")))
            .collect();
        note(
            &mut out,
            &format!("Custom attributes provisioned: {}.", list.join("; ")),
        );
    }
    if !scan.bookmarks.is_empty() {
        let mut t = Table::new("t-bookmarks", &["Source", "Last completed export"]);
        for (s, at) in &scan.bookmarks {
            t.row(vec![text(s), text(at)]);
        }
        t.html(&mut out);
    }
    if let Some(fields) = &scan.tenant {
        out.push_str("<h3>Tenants the journal belongs to</h3>");
        let mut t = Table::new("t-tenant", &["Field", "Value"]);
        for (k, v) in fields {
            t.row(vec![text(k), text(v)]);
        }
        t.html(&mut out);
    }
    out
}

fn files(scan: &Scan) -> String {
    let mut out = String::new();
    let mut t = Table::new(
        "t-files",
        &[
            "File",
            "Stages",
            "Records",
            "Journal events",
            "Unreadable",
            "End marker",
        ],
    );
    for (i, f) in scan.files.iter().enumerate() {
        t.row(vec![
            text(&f.name),
            text(f.stage_names()),
            keyed(f.records, format!("file/{i}/records")),
            keyed(f.events, format!("file/{i}/events")),
            keyed(f.unreadable, format!("file/{i}/unreadable")),
            text(end_summary(f)),
        ]);
    }
    t.html(&mut out);
    out
}

/// What a file's end marker says, and whether its counts agree with the file.
fn end_summary(f: &FileScan) -> String {
    let Some(end) = f.ends.last() else {
        return String::new();
    };
    let mut parts = vec![match end.complete {
        Some(true) => "complete".to_string(),
        Some(false) => "incomplete".to_string(),
        None => format!("at line {}", end.line),
    }];
    let ends = f.kinds.get(super::scan::END_KIND).copied().unwrap_or(0);
    let mut differ = Vec::new();
    let mut checked = 0;
    for (k, n) in &end.counts {
        let seen = match k.as_str() {
            "records" | "total" => Some(f.records - ends),
            kind => f.kinds.get(kind).copied(),
        };
        if let Some(seen) = seen {
            checked += 1;
            if seen != *n {
                differ.push(format!("{k}: says {n}, file has {seen}"));
            }
        }
    }
    if !differ.is_empty() {
        parts.push(format!("counts differ ({})", differ.join("; ")));
    } else if checked > 0 {
        parts.push("counts agree".into());
    }
    parts.join(", ")
}
