//! The connector map (`--connectors FILE`): which OneLogin connector recreates which source app.
//!
//! OneLogin creates an app from a connector (its catalogue entry: "Slack", "SAML Custom
//! Connector (Advanced)", "OpenId Connect"); nothing in an Okta app says which one. Like the
//! reference's `metadata.application_connectors`, the user writes a JSON map from app label to
//! connector id, per sign-on mode:
//!
//! ```json
//! {
//!   "Slack":  { "saml": 123456 },
//!   "GitHub": { "openid_connect": { "id": 789012, "allows_new_parameters": true },
//!               "default": 5 },
//!   "Zoom":   42
//! }
//! ```
//!
//! - Keys are app labels, compared after collapsing whitespace runs, trimming and lowercasing;
//!   an app is tried by `label`, `name`, `settings.appName`, `settings.displayName`,
//!   `settings.name`, in that order.
//! - A value is a connector id (any sign-on mode) or a map from sign-on mode to connector.
//!   Modes are Okta's `signOnMode` lowercased (`saml_2_0`, `openid_connect`, `auto_login`,
//!   `bookmark`, …), plus the reference's shorthands `saml` (SAML 1.1 and 2.0), `openid`/`oidc`
//!   and `swa`; `default` (or `*`) is used when no mode matches or the app has none.
//! - A connector is an id or `{"id": N, "allows_new_parameters": bool}`; SAML attribute
//!   statements become app parameters only when `allows_new_parameters` is true (the default
//!   is false, the conservative choice).
//! - The whole file may also be the reference's config shape:
//!   `{"metadata": {"application_connectors": {…}}}`.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::canonical::App;

/// A connector chosen for an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connector {
    /// The connector map entry that matched (`slack/saml`), for `--explain`.
    pub key: String,
    pub id: i64,
    pub allows_new_parameters: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    id: i64,
    allows_new_parameters: bool,
}

/// The parsed connector map.
#[derive(Debug, Clone, Default)]
pub struct Connectors {
    /// normalized label → (mode → target); mode `""` is the default.
    by_label: HashMap<String, Vec<(String, Target)>>,
    /// normalized labels a draft (`idm-connectors`) left for a person to decide.
    pending: std::collections::HashSet<String>,
}

/// An app label as connector map keys are compared: whitespace runs collapsed to one space,
/// trimmed, lowercased.
pub fn normalize_label(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn parse_target(path: &str, v: &Value) -> Result<Target, String> {
    let id_of = |v: &Value| -> Option<i64> {
        match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|id| *id > 0)
    };
    if let Some(id) = id_of(v) {
        return Ok(Target {
            id,
            allows_new_parameters: false,
        });
    }
    if let Value::Object(o) = v
        && let Some(id) = o.get("id").and_then(id_of)
    {
        for key in o.keys() {
            if key != "id" && key != "allows_new_parameters" {
                return Err(format!("`{path}`: unknown key `{key}`"));
            }
        }
        let allows = match o.get("allows_new_parameters") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(format!("`{path}.allows_new_parameters` is not a boolean")),
        };
        return Ok(Target {
            id,
            allows_new_parameters: allows,
        });
    }
    Err(format!(
        "`{path}` is not a connector id (a positive integer) or {{\"id\": N, \"allows_new_parameters\": bool}}"
    ))
}

impl Connectors {
    /// Parse a connector map from JSON text.
    pub fn parse(text: &str) -> Result<Connectors, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let map = root
            .pointer("/metadata/application_connectors")
            .or_else(|| root.get("application_connectors"))
            .unwrap_or(&root);
        let Value::Object(labels) = map else {
            return Err("expected a JSON object of app label → connector".into());
        };
        let mut by_label: HashMap<String, Vec<(String, Target)>> = HashMap::new();
        for (label, value) in labels {
            let key = normalize_label(label);
            if key.is_empty() {
                return Err("an app label is empty".into());
            }
            let modes = match value {
                Value::Object(modes) if !modes.contains_key("id") => {
                    let mut out = Vec::new();
                    for (mode, v) in modes {
                        let mode_key = match mode.trim().to_lowercase().as_str() {
                            "default" | "*" => String::new(),
                            m => m.to_string(),
                        };
                        out.push((mode_key, parse_target(&format!("{label}.{mode}"), v)?));
                    }
                    out
                }
                other => vec![(String::new(), parse_target(label, other)?)],
            };
            if by_label.insert(key.clone(), modes).is_some() {
                return Err(format!(
                    "app label `{label}` appears twice (labels are compared as `{key}`)"
                ));
            }
        }
        // a draft's apps still to decide: named in the rejection, never used
        let mut pending = std::collections::HashSet::new();
        for list in ["to_choose", "no_candidate"] {
            if let Some(Value::Object(labels)) = root.get(list) {
                pending.extend(labels.keys().map(|l| normalize_label(l)));
            }
        }
        Ok(Connectors { by_label, pending })
    }

    /// Whether a draft lists this (normalized) label as still to decide.
    pub fn pending(&self, label: &str) -> bool {
        self.pending.contains(&normalize_label(label))
    }

    /// Read and parse a connector map file.
    pub fn load(path: &Path) -> Result<Connectors, super::ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| super::ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Connectors::parse(&text).map_err(|reason| super::ConfigError::Invalid {
            what: "connector map",
            path: path.display().to_string(),
            reason,
        })
    }

    /// The number of app labels in the map.
    pub fn len(&self) -> usize {
        self.by_label.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_label.is_empty()
    }

    /// The connector for an app, or why there is none.
    pub fn lookup(&self, app: &App<'_>) -> Result<Connector, String> {
        let mode = app.sign_on_mode.map(str::to_lowercase);
        let mut seen_labels = Vec::new();
        for name in &app.lookup_names {
            let key = normalize_label(name);
            let Some(modes) = self.by_label.get(&key) else {
                continue;
            };
            seen_labels.push(key.clone());
            let exact = mode
                .as_deref()
                .and_then(|m| modes.iter().find(|(k, _)| mode_matches(k, m)));
            let chosen = exact.or_else(|| modes.iter().find(|(k, _)| k.is_empty()));
            if let Some((k, t)) = chosen {
                let shown = if k.is_empty() { "default" } else { k };
                return Ok(Connector {
                    key: format!("{key}/{shown}"),
                    id: t.id,
                    allows_new_parameters: t.allows_new_parameters,
                });
            }
        }
        let label = app.lookup_names.first().copied().unwrap_or(app.id);
        let mode = app.sign_on_mode.unwrap_or("none");
        if seen_labels.is_empty()
            && let Some(name) = app.lookup_names.iter().find(|n| self.pending(n))
        {
            Err(format!(
                "no connector for app `{label}` (sign-on mode `{mode}`): --connectors lists `{name}` under to_choose or no_candidate; pick a connector and move it into application_connectors"
            ))
        } else if seen_labels.is_empty() {
            Err(format!(
                "no connector for app `{label}` (sign-on mode `{mode}`): add it to --connectors"
            ))
        } else {
            let draft = if app.lookup_names.iter().any(|n| self.pending(n)) {
                "; the draft lists it under to_choose or no_candidate: pick a connector for this mode"
            } else {
                ""
            };
            Err(format!(
                "no connector for app `{label}` with sign-on mode `{mode}`: --connectors has `{}` but no matching mode and no default{draft}",
                seen_labels.join("`, `")
            ))
        }
    }
}

/// Does a connector map mode key match an app's (lowercased) sign-on mode?
fn mode_matches(key: &str, mode: &str) -> bool {
    if key.is_empty() {
        return false;
    }
    key == mode
        || match key {
            "saml" => mode.starts_with("saml"),
            "openid" | "oidc" => mode == "openid_connect",
            "swa" => mode == "auto_login",
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::canonical::SignOn;

    fn app<'a>(names: Vec<&'a str>, mode: Option<&'a str>) -> App<'a> {
        App {
            id: "0oa1",
            name: None,
            lookup_names: names,
            sign_on_mode: mode,
            sign_on: SignOn::Other,
            description: None,
            visible: true,
            url: None,
            saml: None,
            oidc: None,
        }
    }

    #[test]
    fn labels_are_normalized_and_modes_matched_with_a_default() {
        let c = Connectors::parse(
            r#"{"  Slack   Enterprise ": {"saml": 1, "default": 2},
                "GitHub": {"openid_connect": {"id": 3, "allows_new_parameters": true}},
                "Zoom": 4}"#,
        )
        .unwrap();
        let got = c
            .lookup(&app(vec!["slack enterprise"], Some("SAML_2_0")))
            .unwrap();
        assert_eq!((got.id, got.key.as_str()), (1, "slack enterprise/saml"));
        assert_eq!(
            c.lookup(&app(vec!["Slack Enterprise"], Some("AUTO_LOGIN")))
                .unwrap()
                .id,
            2
        );
        let gh = c
            .lookup(&app(vec!["GitHub"], Some("OPENID_CONNECT")))
            .unwrap();
        assert_eq!((gh.id, gh.allows_new_parameters), (3, true));
        let err = c
            .lookup(&app(vec!["GitHub"], Some("SAML_2_0")))
            .unwrap_err();
        assert!(err.contains("no matching mode"), "{err}");
        assert_eq!(c.lookup(&app(vec!["zoom"], None)).unwrap().id, 4);
        // tried by later names when the label does not match
        assert_eq!(
            c.lookup(&app(vec!["Zoom Meetings", "zoom"], Some("BOOKMARK")))
                .unwrap()
                .id,
            4
        );
        let err = c.lookup(&app(vec!["Nope"], Some("SAML_2_0"))).unwrap_err();
        assert!(err.contains("no connector for app `Nope`"), "{err}");
    }

    #[test]
    fn the_reference_config_shape_is_accepted() {
        let c = Connectors::parse(
            r#"{"metadata": {"application_connectors": {"slack": {"saml": "123456"}}}}"#,
        )
        .unwrap();
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn bad_maps_are_refused_with_the_path() {
        for (text, want) in [
            (r#"{"a": {"saml": "x"}}"#, "`a.saml` is not a connector id"),
            (r#"{"a": 0}"#, "`a` is not a connector id"),
            (r#"{"a": 1, "A": 2}"#, "appears twice"),
            (r#"[1]"#, "expected a JSON object"),
            (r#"{"a": {"id": 1, "x": 2}}"#, "unknown key `x`"),
        ] {
            let err = Connectors::parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
