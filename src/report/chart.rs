//! Inline SVG charts: horizontal bars, stacked by segment, drawn on the server side.
//!
//! SVG written into the page needs no script and no library, scales with the page, prints
//! sharp, and carries its numbers as text (and in `<title>` tooltips), so a chart is never
//! the only place a figure appears: every chart sits next to a table with the same counts.

use super::render::{esc, group_digits};

/// One bar: a label and its segments (name, value), drawn in the given order.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub segments: Vec<(String, u64)>,
}

impl Bar {
    pub fn total(&self) -> u64 {
        self.segments.iter().map(|(_, v)| v).sum()
    }
}

const WIDTH: f64 = 760.0;
const LABEL_W: f64 = 200.0;
const BAR_W: f64 = 470.0;
const ROW_H: f64 = 24.0;
const BAR_H: f64 = 16.0;
const LEGEND_H: f64 = 22.0;

/// A colour for a segment name: outcomes, verify statuses and readiness share one palette
/// so the same word has the same colour everywhere on the page.
pub fn color(segment: &str) -> &'static str {
    match segment {
        "create" | "created" | "match" | "ok" => "#2f855a",
        "update" | "updated" | "in target" => "#3182ce",
        "assign" => "#68d391",
        "provision" => "#319795",
        "planned" | "ready" => "#63b3ed",
        "skip" | "skipped" | "not_migrated" | "exported" => "#a0aec0",
        "failed" | "missing" => "#c53030",
        "differs" | "no connector" => "#dd6b20",
        "unexpected" => "#805ad5",
        "members" | "users" | "records" => "#4a5568",
        _ => "#718096",
    }
}

/// A chart of horizontal stacked bars with a legend (when there is more than one segment
/// name). `title` is read by screen readers and shown as the figure caption.
pub fn bars(title: &str, bars: &[Bar]) -> String {
    if bars.is_empty() {
        return String::new();
    }
    let mut names: Vec<&str> = Vec::new();
    for b in bars {
        for (n, _) in &b.segments {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let max = bars.iter().map(Bar::total).max().unwrap_or(0).max(1) as f64;
    let legend = names.len() > 1;
    let mut svg = String::new();
    let mut y = 4.0;
    if legend {
        let mut x = LABEL_W;
        for n in &names {
            let w = 22.0 + 7.2 * n.chars().count() as f64;
            if x + w > WIDTH {
                x = LABEL_W;
                y += LEGEND_H;
            }
            svg.push_str(&format!(
                r#"<rect x="{x:.1}" y="{:.1}" width="12" height="12" rx="2" fill="{}"/><text x="{:.1}" y="{:.1}" class="lg">{}</text>"#,
                y + 2.0,
                color(n),
                x + 16.0,
                y + 12.0,
                esc(n)
            ));
            x += w + 10.0;
        }
        y += LEGEND_H;
    }
    for b in bars {
        let total = b.total();
        let short = shorten(&b.label, 30);
        svg.push_str(&format!(
            r#"<text x="{:.1}" y="{:.1}" class="bl" text-anchor="end"><title>{}</title>{}</text>"#,
            LABEL_W - 8.0,
            y + BAR_H - 3.0,
            esc(&b.label),
            esc(&short)
        ));
        let mut x = LABEL_W;
        for (name, value) in &b.segments {
            if *value == 0 {
                continue;
            }
            let w = (*value as f64 / max * BAR_W).max(1.5);
            svg.push_str(&format!(
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{BAR_H}" fill="{}"><title>{}: {} {}</title></rect>"#,
                color(name),
                esc(&b.label),
                group_digits(*value),
                esc(name)
            ));
            x += w;
        }
        svg.push_str(&format!(
            r#"<text x="{:.1}" y="{:.1}" class="bv">{}</text>"#,
            x + 6.0,
            y + BAR_H - 3.0,
            group_digits(total)
        ));
        y += ROW_H;
    }
    let height = y + 4.0;
    format!(
        r#"<figure class="chart"><svg viewBox="0 0 {WIDTH} {height:.0}" role="img" aria-label="{t}" preserveAspectRatio="xMinYMin meet">{svg}</svg><figcaption>{t}</figcaption></figure>"#,
        t = esc(title)
    )
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_total_and_escape_labels() {
        let svg = bars(
            "Outcomes <by kind>",
            &[
                Bar {
                    label: "user & co".into(),
                    segments: vec![("create".into(), 30), ("failed".into(), 10)],
                },
                Bar {
                    label: "group".into(),
                    segments: vec![("create".into(), 20)],
                },
            ],
        );
        assert!(svg.contains("Outcomes &lt;by kind&gt;"), "{svg}");
        assert!(svg.contains("user &amp; co"), "{svg}");
        // 30 of a max of 40 over 470 px, then 10 of 40
        assert!(svg.contains(r#"width="352.5""#), "{svg}");
        assert!(svg.contains(r#"width="117.5""#), "{svg}");
        assert!(svg.contains(r#"width="235.0""#), "{svg}");
        // a legend because there are two segment names
        assert!(svg.contains(r#"class="lg">failed<"#), "{svg}");
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn no_bars_no_chart() {
        assert_eq!(bars("x", &[]), "");
    }
}
