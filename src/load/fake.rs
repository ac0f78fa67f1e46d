//! An in-memory [`Target`] for the engine's unit tests: users keyed by email and username,
//! groups by folded name, apps by name; edges as sets; every write counted.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::provider::target::{AttributeDef, EdgeShape, End, Found, Needs, Target};
use crate::provider::{ApiError, Created};
use crate::record::{Kind, Record};

#[derive(Default)]
pub struct Tenant {
    /// kind → id → payload
    pub objects: BTreeMap<(String, String), Value>,
    /// (kind, parent, child)
    pub edges: HashSet<(String, String, String)>,
    pub attributes: HashSet<String>,
    next: u64,
}

#[derive(Default)]
pub struct Fake {
    pub tenant: Mutex<Tenant>,
    pub writes: AtomicU64,
    pub calls: AtomicU64,
    /// Users whose title is `Settling` need a call after their create; while
    /// this is set, that call ends the run (as a kill would).
    pub die_settling: std::sync::atomic::AtomicBool,
    /// Users settled.
    pub settled: Mutex<HashSet<String>>,
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn fold(n: &str) -> String {
    n.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Fake {
    /// Put an object into the tenant, as if it had been there before: its id.
    pub fn seed(&self, kind: &str, data: Value) -> String {
        let mut t = self.tenant.lock().unwrap();
        t.next += 1;
        let id = format!("{}{}", &kind[..1], t.next);
        t.objects.insert((kind.to_string(), id.clone()), data);
        id
    }

    pub fn get(&self, kind: &str, id: &str) -> Option<Value> {
        let t = self.tenant.lock().unwrap();
        t.objects.get(&(kind.to_string(), id.to_string())).cloned()
    }

    pub fn remove(&self, kind: &str, id: &str) {
        let mut t = self.tenant.lock().unwrap();
        t.objects.remove(&(kind.to_string(), id.to_string()));
    }

    pub fn count(&self, kind: &str) -> usize {
        let t = self.tenant.lock().unwrap();
        t.objects.keys().filter(|(k, _)| k == kind).count()
    }

    pub fn edge_count(&self) -> usize {
        self.tenant.lock().unwrap().edges.len()
    }

    fn write(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

impl Target for Fake {
    fn name(&self) -> &'static str {
        "onelogin"
    }
    fn settles(&self, kind: &Kind, _id: &str, data: &Value) -> bool {
        *kind == Kind::User && s(data, "title") == Some("Settling")
    }
    fn settle(&self, kind: &Kind, id: &str, data: &Value) -> Result<(), ApiError> {
        if !self.settles(kind, id, data) {
            return Ok(());
        }
        if self.die_settling.load(Ordering::Relaxed) {
            return Err(ApiError::new("settle", Some(401), "killed"));
        }
        self.write();
        self.settled.lock().unwrap().insert(id.to_string());
        Ok(())
    }
    fn base_url(&self) -> &str {
        "https://fake.example"
    }
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
    fn authenticate(&self) -> Result<(), ApiError> {
        Ok(())
    }
    fn check(&self, rec: &Record) -> Result<(), String> {
        match rec.kind {
            Kind::User if s(&rec.data, "email").is_none() => Err("field `email`: missing".into()),
            Kind::Group | Kind::App if s(&rec.data, "name").is_none() => {
                Err("field `name`: missing".into())
            }
            _ => Ok(()),
        }
    }
    fn label(&self, kind: &Kind, data: &Value) -> String {
        match kind {
            Kind::User => s(data, "email").unwrap_or_default().to_string(),
            _ => s(data, "name").unwrap_or_default().to_string(),
        }
    }
    fn unique_key(&self, kind: &Kind, data: &Value) -> Option<String> {
        match kind {
            Kind::User => s(data, "email").map(str::to_lowercase),
            _ => s(data, "name").map(fold),
        }
    }
    fn read(&self, _needs: Needs) -> Result<(), ApiError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    fn exists(&self, kind: &Kind, id: &str) -> bool {
        self.get(kind.as_str(), id).is_some()
    }
    fn find(&self, kind: &Kind, data: &Value) -> Found {
        let t = self.tenant.lock().unwrap();
        let of_kind = t.objects.iter().filter(|((k, _), _)| k == kind.as_str());
        for ((_, id), have) in of_kind {
            match kind {
                Kind::User => {
                    let same_email = s(have, "email").map(str::to_lowercase)
                        == s(data, "email").map(str::to_lowercase);
                    if same_email {
                        return Found::Same {
                            id: id.clone(),
                            how: "email",
                        };
                    }
                    if s(have, "username").is_some() && s(have, "username") == s(data, "username") {
                        return Found::Conflict {
                            id: id.clone(),
                            reason: "username taken by another person".into(),
                        };
                    }
                }
                _ => {
                    if s(have, "name").map(fold) == s(data, "name").map(fold) {
                        return Found::Same {
                            id: id.clone(),
                            how: "name",
                        };
                    }
                }
            }
        }
        Found::None
    }
    fn missing_attributes(&self, data: &Value) -> Vec<String> {
        let t = self.tenant.lock().unwrap();
        data.get("custom_attributes")
            .and_then(Value::as_object)
            .map(|m| {
                m.keys()
                    .filter(|k| !t.attributes.contains(*k))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
    fn list_attributes(&self) -> Result<Vec<(String, Option<String>)>, ApiError> {
        let t = self.tenant.lock().unwrap();
        Ok(t.attributes.iter().map(|a| (a.clone(), None)).collect())
    }
    fn create_attribute(&self, attr: &AttributeDef) -> Result<Option<String>, ApiError> {
        self.write();
        self.tenant
            .lock()
            .unwrap()
            .attributes
            .insert(attr.name.clone());
        Ok(None)
    }
    fn create(&self, kind: &Kind, data: &Value, _with: &[String]) -> Result<Created, ApiError> {
        self.write();
        if s(data, "name") == Some("refuse me") {
            return Err(ApiError::new("POST /x", Some(422), "refused"));
        }
        let id = self.seed(kind.as_str(), data.clone());
        if s(data, "title") == Some("Dies Creating") {
            // the tenant made it; the run dies before it hears so (a kill)
            return Err(ApiError::new("POST /x", Some(401), "killed"));
        }
        Ok(Created::New(id))
    }
    fn update(&self, kind: &Kind, id: &str, data: &Value) -> Result<(), ApiError> {
        self.write();
        let mut t = self.tenant.lock().unwrap();
        t.objects
            .insert((kind.as_str().to_string(), id.to_string()), data.clone());
        Ok(())
    }
    fn delete(&self, kind: &Kind, id: &str) -> Result<(), ApiError> {
        self.write();
        self.remove(kind.as_str(), id);
        Ok(())
    }
    fn current(&self, kind: &Kind, id: &str) -> Result<Option<Value>, ApiError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(self.get(kind.as_str(), id))
    }
    fn list_objects(
        &self,
        kind: &Kind,
        each: &mut dyn FnMut(String, Value),
    ) -> Result<(), ApiError> {
        let t = self.tenant.lock().unwrap();
        for ((k, id), v) in &t.objects {
            if k == kind.as_str() {
                each(id.clone(), v.clone());
            }
        }
        Ok(())
    }

    fn edge_shape(&self, kind: &Kind, assignee: End) -> Result<EdgeShape, &'static str> {
        match (kind, assignee) {
            (Kind::Membership, _) => Ok(EdgeShape {
                parent: End::Group,
                child: End::User,
                batch: 2,
                reads_per_batch: 0,
            }),
            (Kind::AppAssignment, End::Group) => Ok(EdgeShape {
                parent: End::App,
                child: End::Group,
                batch: 1,
                reads_per_batch: 0,
            }),
            _ => Err("no direct user assignments here"),
        }
    }
    fn has_edge(&self, kind: &Kind, parent: &str, child: &str) -> Option<bool> {
        let t = self.tenant.lock().unwrap();
        Some(t.edges.contains(&(
            kind.as_str().to_string(),
            parent.to_string(),
            child.to_string(),
        )))
    }
    fn edges_of(&self, kind: &Kind, parent: &str) -> Result<HashSet<String>, ApiError> {
        let t = self.tenant.lock().unwrap();
        Ok(t.edges
            .iter()
            .filter(|(k, p, _)| k == kind.as_str() && p == parent)
            .map(|(_, _, c)| c.clone())
            .collect())
    }
    fn add_edges(
        &self,
        kind: &Kind,
        parent: &str,
        children: &[String],
        _parent_is_new: bool,
    ) -> Result<(), ApiError> {
        self.write();
        let mut t = self.tenant.lock().unwrap();
        for c in children {
            if !t.objects.keys().any(|(_, id)| id == c) {
                return Err(ApiError::new("PUT /edge", Some(404), format!("no `{c}`")));
            }
        }
        for c in children {
            t.edges
                .insert((kind.as_str().to_string(), parent.to_string(), c.clone()));
        }
        Ok(())
    }
}
