//! Connector suggestions: a draft `--connectors` file from the exported apps and the target's
//! connector catalogue.
//!
//! OneLogin makes an app from a catalogue connector, and nothing in a source app says which.
//! [`Suggester`] reads the apps one by one and, against the catalogue (`GET /api/2/connectors`),
//! sorts each into one of three lists:
//!
//! - **matched**: a connector's name equals one of the app's names (as connector map keys
//!   compare: whitespace collapsed, case ignored) and its auth method fits the app's sign-on
//!   mode. Written into `application_connectors`, ready for idm-map.
//! - **to choose**: connectors with close names (one name's words inside the other's, or a
//!   near spelling), best first. Listed under `to_choose` for a person to pick from; idm-map
//!   never uses them.
//! - **no candidate**: nothing close. Listed under `no_candidate`, with the catalogue's generic
//!   connectors for the app's sign-on mode when it has them (a custom SAML app usually becomes
//!   "SAML Custom Connector (Advanced)").
//!
//! The draft validates against `schemas/connectors.schema.json`; idm-map reads only its
//! `application_connectors`, so an app still to choose is rejected with a reason that says so.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::connectors::normalize_label;

/// At most this many candidates are listed per app.
const MAX_CANDIDATES: usize = 5;
/// Candidates score at least this (0–1).
const MIN_SCORE: f64 = 0.8;

/// One entry of the target's connector catalogue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogEntry {
    pub id: i64,
    pub name: String,
    pub auth_method: Option<i64>,
    pub allows_new_parameters: bool,
}

impl CatalogEntry {
    /// Read one item of `GET /api/2/connectors`; `None` when it has no positive id or no name.
    pub fn from_api(item: &Value) -> Option<CatalogEntry> {
        let id = item
            .get("id")
            .and_then(Value::as_i64)
            .filter(|id| *id > 0)?;
        let name = item
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())?;
        Some(CatalogEntry {
            id,
            name: name.to_string(),
            auth_method: item.get("auth_method").and_then(Value::as_i64),
            allows_new_parameters: item
                .get("allows_new_parameters")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}

/// A candidate connector for an app, with how close its name is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub id: i64,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<i64>,
    pub allows_new_parameters: bool,
    /// 1.0 for the same name; less the further apart.
    pub score: f64,
    /// Whether the connector's auth method fits the app's sign-on mode.
    pub fits_sign_on: bool,
}

/// What the suggester decided for one app.
#[derive(Debug, Clone, PartialEq)]
pub enum Suggestion {
    Matched(Candidate),
    ToChoose(Vec<Candidate>),
    NoCandidate { generic: Vec<Candidate> },
}

/// The OneLogin auth methods (`auth_method` codes) that can recreate an app of this sign-on
/// mode; `None` when any may (no mode, or one the table does not know).
fn auth_methods_for(mode: Option<&str>) -> Option<&'static [i64]> {
    let mode = mode?.to_ascii_lowercase();
    Some(match mode.as_str() {
        m if m.starts_with("saml") => &[2],
        "openid_connect" | "oidc" | "openid" => &[8, 1],
        "ws_federation" => &[7],
        "auto_login" | "basic_auth" | "browser_plugin" | "secure_password_store" | "swa" => &[6, 0],
        "bookmark" => &[0, 6],
        _ => return None,
    })
}

/// The catalogue's generic connectors, by the names OneLogin gives them, for a sign-on mode.
fn generic_names(mode: Option<&str>) -> &'static [&'static str] {
    match mode.map(str::to_ascii_lowercase).as_deref() {
        Some(m) if m.starts_with("saml") => &["saml custom connector (advanced)"],
        Some("openid_connect") => &["openid connect (oidc)", "openid connect"],
        Some("ws_federation") => &["ws-fed custom connector"],
        Some("bookmark") => &["bookmark"],
        Some("auto_login" | "basic_auth" | "browser_plugin" | "secure_password_store") => {
            &["form-based app"]
        }
        _ => &[],
    }
}

/// The words of a name: runs of letters and digits, lowercased (`Zoom.us` → zoom, us).
fn words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// How close two names are, 0–1: 1 when they are the same as connector map keys compare;
/// 0.8–0.95 when every word of one is a word of the other ("Slack" and "Slack Enterprise
/// Grid"), more the fewer extra words; otherwise their spelling similarity (Jaro-Winkler over
/// the words run together, so `Zoom.us` and `zoomus` meet), counted only from 0.9 up.
pub fn similarity(a: &str, b: &str) -> f64 {
    if normalize_label(a) == normalize_label(b) {
        return 1.0;
    }
    let (wa, wb) = (words(a), words(b));
    if wa.is_empty() || wb.is_empty() {
        return 0.0;
    }
    let (short, long) = if wa.len() <= wb.len() {
        (&wa, &wb)
    } else {
        (&wb, &wa)
    };
    let contained = short.iter().all(|w| long.contains(w));
    let joined = |ws: &[String]| ws.concat();
    let (ja, jb) = (joined(&wa), joined(&wb));
    if ja == jb {
        return 0.97;
    }
    let spelling = strsim::jaro_winkler(&ja, &jb);
    let by_words = if contained {
        0.8 + 0.15 * short.len() as f64 / long.len() as f64
    } else {
        0.0
    };
    let by_spelling = if spelling >= 0.9 {
        spelling * 0.95
    } else {
        0.0
    };
    by_words.max(by_spelling)
}

/// Sorts apps against a connector catalogue.
pub struct Suggester {
    catalog: Vec<CatalogEntry>,
}

impl Suggester {
    pub fn new(catalog: Vec<CatalogEntry>) -> Suggester {
        Suggester { catalog }
    }

    pub fn catalog_len(&self) -> usize {
        self.catalog.len()
    }

    fn candidate(&self, c: &CatalogEntry, score: f64, fits: Option<&[i64]>) -> Candidate {
        Candidate {
            id: c.id,
            name: c.name.clone(),
            auth_method: c.auth_method,
            allows_new_parameters: c.allows_new_parameters,
            score: (score * 100.0).round() / 100.0,
            fits_sign_on: match (fits, c.auth_method) {
                (Some(methods), Some(m)) => methods.contains(&m),
                _ => true,
            },
        }
    }

    /// What to suggest for an app known by `names` (most specific first) with a sign-on mode.
    pub fn suggest(&self, names: &[&str], mode: Option<&str>) -> Suggestion {
        let fits = auth_methods_for(mode);
        let mut scored: Vec<Candidate> = Vec::new();
        for c in &self.catalog {
            let score = names
                .iter()
                .map(|n| similarity(n, &c.name))
                .fold(0.0, f64::max);
            if score >= MIN_SCORE {
                scored.push(self.candidate(c, score, fits));
            }
        }
        // the same name and a fitting auth method, only one such: that is the connector
        let exact: Vec<&Candidate> = scored
            .iter()
            .filter(|c| c.score >= 1.0 && c.fits_sign_on)
            .collect();
        if let [only] = exact.as_slice() {
            return Suggestion::Matched((*only).clone());
        }
        // best first; a fitting auth method before one that does not; then by id, stable
        scored.sort_by(|a, b| {
            b.fits_sign_on
                .cmp(&a.fits_sign_on)
                .then(b.score.total_cmp(&a.score))
                .then(a.id.cmp(&b.id))
        });
        scored.truncate(MAX_CANDIDATES);
        if !scored.is_empty() {
            return Suggestion::ToChoose(scored);
        }
        let generic = generic_names(mode)
            .iter()
            .filter_map(|g| self.catalog.iter().find(|c| normalize_label(&c.name) == *g))
            .map(|c| self.candidate(c, 0.0, fits))
            .collect();
        Suggestion::NoCandidate { generic }
    }
}

/// One app as the draft lists it.
#[derive(Debug, Clone)]
struct AppSeen {
    label: String,
    mode: Option<String>,
    ids: Vec<String>,
}

/// The draft connector file, built app by app.
#[derive(Debug, Default)]
pub struct Draft {
    /// label → mode key → connector
    matched: BTreeMap<String, BTreeMap<String, Value>>,
    to_choose: BTreeMap<String, Vec<(AppSeen, Vec<Candidate>)>>,
    no_candidate: BTreeMap<String, Vec<(AppSeen, Vec<Candidate>)>>,
    pub apps: u64,
    pub n_matched: u64,
    pub n_to_choose: u64,
    pub n_no_candidate: u64,
}

fn mode_key(mode: Option<&str>) -> String {
    mode.map(str::to_lowercase)
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "default".to_string())
}

impl Draft {
    /// Add one app: `label` as the draft names it, its source id, sign-on mode and decision.
    pub fn add(&mut self, label: &str, id: &str, mode: Option<&str>, suggestion: Suggestion) {
        self.apps += 1;
        let seen = AppSeen {
            label: label.to_string(),
            mode: mode.map(str::to_string),
            ids: vec![id.to_string()],
        };
        let merge = |list: &mut Vec<(AppSeen, Vec<Candidate>)>, cands: Vec<Candidate>| {
            // apps of the same label and mode are one entry, with every source id
            if let Some((s, _)) = list.iter_mut().find(|(s, _)| s.mode.as_deref() == mode) {
                s.ids.push(id.to_string());
            } else {
                list.push((seen.clone(), cands));
            }
        };
        match suggestion {
            Suggestion::Matched(c) => {
                self.n_matched += 1;
                let modes = self.matched.entry(label.to_string()).or_default();
                modes.entry(mode_key(mode)).or_insert_with(
                    || json!({"id": c.id, "allows_new_parameters": c.allows_new_parameters}),
                );
            }
            Suggestion::ToChoose(cands) => {
                self.n_to_choose += 1;
                merge(self.to_choose.entry(label.to_string()).or_default(), cands);
            }
            Suggestion::NoCandidate { generic } => {
                self.n_no_candidate += 1;
                merge(
                    self.no_candidate.entry(label.to_string()).or_default(),
                    generic,
                );
            }
        }
    }

    /// The draft as the JSON document to write.
    pub fn to_json(&self) -> Value {
        let listed = |m: &BTreeMap<String, Vec<(AppSeen, Vec<Candidate>)>>, field: &str| {
            let mut out = serde_json::Map::new();
            for (label, entries) in m {
                let list: Vec<Value> = entries
                    .iter()
                    .map(|(s, cands)| {
                        json!({
                            "sign_on_mode": s.mode,
                            "apps": s.ids,
                            field: cands,
                        })
                    })
                    .collect();
                debug_assert!(entries.iter().all(|(s, _)| s.label == *label));
                out.insert(label.clone(), Value::Array(list));
            }
            Value::Object(out)
        };
        json!({
            "application_connectors": self.matched,
            "to_choose": listed(&self.to_choose, "candidates"),
            "no_candidate": listed(&self.no_candidate, "generic"),
        })
    }

    /// `12 apps: 5 matched, 4 to choose, 3 without a candidate`.
    pub fn line(&self) -> String {
        format!(
            "{} apps: {} matched by name, {} to choose from candidates, {} without a candidate",
            self.apps, self.n_matched, self.n_to_choose, self.n_no_candidate
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, name: &str, auth: i64) -> CatalogEntry {
        CatalogEntry {
            id,
            name: name.into(),
            auth_method: Some(auth),
            allows_new_parameters: false,
        }
    }

    fn catalog() -> Suggester {
        Suggester::new(vec![
            entry(1, "Salesforce", 2),
            entry(2, "Salesforce Sandbox", 2),
            entry(3, "Slack", 2),
            entry(4, "Zoom", 2),
            entry(5, "SAML Custom Connector (Advanced)", 2),
            entry(6, "Dropbox", 6),
            entry(7, "Dropbox", 2),
            entry(8, "Workday", 2),
            entry(9, "OpenId Connect (OIDC)", 8),
        ])
    }

    #[test]
    fn the_same_name_with_a_fitting_auth_method_is_matched() {
        let s = catalog();
        match s.suggest(&["  salesforce "], Some("SAML_2_0")) {
            Suggestion::Matched(c) => assert_eq!(c.id, 1),
            other => panic!("{other:?}"),
        }
        // two connectors named Dropbox: the sign-on mode decides
        match s.suggest(&["Dropbox"], Some("AUTO_LOGIN")) {
            Suggestion::Matched(c) => assert_eq!(c.id, 6),
            other => panic!("{other:?}"),
        }
        match s.suggest(&["Dropbox"], Some("SAML_2_0")) {
            Suggestion::Matched(c) => assert_eq!(c.id, 7),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_ambiguous_or_unfitting_name_is_left_to_a_person() {
        let s = catalog();
        // no mode: both Dropbox connectors fit
        match s.suggest(&["Dropbox"], None) {
            Suggestion::ToChoose(c) => {
                assert_eq!(c.iter().map(|c| c.id).collect::<Vec<_>>(), vec![6, 7])
            }
            other => panic!("{other:?}"),
        }
        // the same name, but an OIDC app cannot be a SAML connector
        match s.suggest(&["Slack"], Some("OPENID_CONNECT")) {
            Suggestion::ToChoose(c) => {
                assert_eq!(c[0].id, 3);
                assert!(!c[0].fits_sign_on);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn close_names_are_candidates_best_first() {
        let s = catalog();
        match s.suggest(&["Zoom.us", "zoomus"], Some("SAML_2_0")) {
            Suggestion::ToChoose(c) => assert_eq!(c[0].id, 4),
            other => panic!("{other:?}"),
        }
        match s.suggest(&["Workday Login"], Some("BOOKMARK")) {
            Suggestion::ToChoose(c) => {
                assert_eq!(c[0].id, 8);
                assert!(c[0].score < 1.0 && c[0].score >= MIN_SCORE);
            }
            other => panic!("{other:?}"),
        }
        match s.suggest(&["Salesforce 2"], Some("SAML_2_0")) {
            Suggestion::ToChoose(c) => assert!(c.iter().any(|c| c.id == 1), "{c:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_custom_app_gets_the_generic_connector_of_its_mode_as_a_hint() {
        let s = catalog();
        match s.suggest(&["Acme Payroll Portal"], Some("SAML_2_0")) {
            Suggestion::NoCandidate { generic } => {
                assert_eq!(generic.iter().map(|c| c.id).collect::<Vec<_>>(), vec![5])
            }
            other => panic!("{other:?}"),
        }
        match s.suggest(&["Internal Tool"], None) {
            Suggestion::NoCandidate { generic } => assert!(generic.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn similarity_orders_names_sensibly() {
        assert_eq!(similarity("Slack", "slack"), 1.0);
        assert!(similarity("Slack", "Slack Enterprise Grid") >= MIN_SCORE);
        assert!(similarity("Slack", "Slack Enterprise Grid") < similarity("Slack", "Slack Grid"));
        assert!(similarity("Zoom.us", "zoomus") > 0.9);
        assert!(similarity("Box", "Dropbox") < MIN_SCORE);
        assert!(similarity("Jira", "Asana") < MIN_SCORE);
        assert_eq!(similarity("", "Slack"), 0.0);
    }

    #[test]
    fn the_draft_is_a_connector_map_idm_map_reads() {
        let s = catalog();
        let mut d = Draft::default();
        for (label, id, mode) in [
            ("Salesforce", "0oa1", Some("SAML_2_0")),
            ("Salesforce", "0oa2", Some("AUTO_LOGIN")),
            ("Zoom.us", "0oa3", Some("SAML_2_0")),
            ("Zoom.us", "0oa4", Some("SAML_2_0")),
            ("Acme Portal", "0oa5", Some("SAML_2_0")),
        ] {
            d.add(label, id, mode, s.suggest(&[label], mode));
        }
        assert_eq!(
            (d.apps, d.n_matched, d.n_to_choose, d.n_no_candidate),
            (5, 1, 3, 1)
        );
        let v = d.to_json();
        assert_eq!(
            v["application_connectors"],
            json!({"Salesforce": {"saml_2_0": {"id": 1, "allows_new_parameters": false}}})
        );
        // the SWA Salesforce could be either SAML connector by name, but neither fits
        assert_eq!(v["to_choose"]["Salesforce"][0]["apps"], json!(["0oa2"]));
        assert_eq!(
            v["to_choose"]["Zoom.us"][0]["apps"],
            json!(["0oa3", "0oa4"])
        );
        assert_eq!(v["no_candidate"]["Acme Portal"][0]["generic"][0]["id"], 5);
        let map = crate::map::connectors::Connectors::parse(&v.to_string()).unwrap();
        assert_eq!(map.len(), 1);
        assert!(map.pending("zoom.us"));
        assert!(map.pending("Acme  Portal"));
        // the SAML Salesforce is ready; its SWA twin is still to choose
        assert!(map.pending("salesforce"));
        assert!(!map.pending("slack"));
    }
}
