//! A system the load engine writes to: what every target (OneLogin, Okta) implements.
//!
//! The engine (`crate::load`) owns everything that is the same for every target: reading
//! the input, the order of phases, the journal, workers, the plan, the results and their
//! counts. A target owns what is its own: which fields a mapped record must have, how its
//! tenant is read in bulk and indexed, how an incoming object is matched with one that exists
//! (and when a match is a conflict rather than the same object), how objects are created so
//! that a lost response never makes a duplicate, and how edges are written in the largest
//! batches its API takes.
//!
//! Ids are strings here (OneLogin's numbers are written as decimal text, as the journal and
//! the `result` records have them).

use std::collections::HashSet;

use serde_json::Value;

use super::ApiError;
use crate::record::{Kind, Record};

/// What the engine needs read from the tenant before it decides anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub groups: bool,
    pub users: bool,
    pub apps: bool,
    /// Group memberships (which users each group has).
    pub memberships: bool,
    /// App assignments.
    pub assignments: bool,
}

/// How an incoming object relates to what the tenant holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Nothing like it: create it.
    None,
    /// The same object (same person, same name): adopt it. `how` says by what (`email`).
    Same { id: String, how: &'static str },
    /// Something holds its unique key but is not the same object (a username taken by a
    /// person with another email): never adopted, never overwritten.
    Conflict { id: String, reason: String },
}

/// One end of an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Group,
    User,
    App,
}

impl End {
    /// The kind of record that end is.
    pub fn kind(self) -> Kind {
        match self {
            End::Group => Kind::Group,
            End::User => Kind::User,
            End::App => Kind::App,
        }
    }

    /// The target's word for it, in messages (`role` in OneLogin).
    pub fn as_str(self) -> &'static str {
        match self {
            End::Group => "group",
            End::User => "user",
            End::App => "app",
        }
    }
}

/// How a target writes one kind of edge: edges are batched by their `parent` end, at most
/// `batch` children per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeShape {
    /// The end edges are grouped by (a OneLogin role takes many users in one call; an Okta
    /// group takes one user per call).
    pub parent: End,
    pub child: End,
    /// Most children one call adds.
    pub batch: usize,
    /// Calls a batch costs beyond the write itself (a read before a replacing `PUT`).
    pub reads_per_batch: u64,
}

/// A system the load engine writes to. `Sync`: one is shared by every worker of a run.
pub trait Target: Sync {
    /// The name mapped records and journal events carry (`onelogin`).
    fn name(&self) -> &'static str;
    /// What the tenant's groups are called there (`role` in OneLogin, `group` in Okta).
    fn group_word(&self) -> &'static str {
        "group"
    }
    /// The tenant's base URL, as the journal binds it.
    fn base_url(&self) -> &str;
    /// API calls made so far.
    fn calls(&self) -> u64;
    /// The write rate the server gave, once learned (for a plan's time estimate when no
    /// `--rate-limit` says it); `None` when the target cannot tell.
    fn learned_rate(&self) -> Option<crate::http::Rate> {
        None
    }
    /// Check the credentials (a cheap call) before any record is read.
    fn authenticate(&self) -> Result<(), ApiError>;

    /// Why a mapped record of this target cannot be loaded, naming the field; `Ok` when it
    /// can. The engine has already checked the envelope and that `target` is this target.
    fn check(&self, rec: &Record) -> Result<(), String>;
    /// What a person recognises the object by (email or username, name).
    fn label(&self, kind: &Kind, data: &Value) -> String;
    /// A key unique in the target for objects of `kind` (a user's login or email, a folded
    /// group name), so that two input records that would become one object are noticed.
    fn unique_key(&self, kind: &Kind, data: &Value) -> Option<String>;

    /// Read the tenant in bulk (paged lists, never one call per object) and keep an index of
    /// ids and keys for [`Target::find`], [`Target::exists`] and [`Target::has_edge`].
    fn read(&self, needs: Needs) -> Result<(), ApiError>;
    /// Whether the tenant (as read, plus what this run created) holds `id`.
    fn exists(&self, kind: &Kind, id: &str) -> bool;
    /// Match an incoming object with the tenant's.
    fn find(&self, kind: &Kind, data: &Value) -> Found;
    /// Whether the key a [`Found::Same`] matched by (`how`) is unique in the tenant, so that
    /// an object with it can be created only by taking the account that has it. Okta's
    /// email is not (the login is): a user found by email whose account belongs to another
    /// source user is created under its own login instead.
    fn key_is_unique(&self, _kind: &Kind, _how: &str) -> bool {
        true
    }
    /// Custom attributes the payload uses that the tenant does not define (empty when the
    /// target has no such notion or the tenant was not read).
    fn missing_attributes(&self, data: &Value) -> Vec<String>;
    /// Custom attribute definitions of the tenant (idm-attrs).
    fn list_attributes(&self) -> Result<Vec<(String, Option<String>)>, ApiError>;
    /// Create one custom attribute definition; its id.
    fn create_attribute(&self, attr: &AttributeDef) -> Result<Option<String>, ApiError>;

    /// Create an object; looked up before any retry of a create whose answer was lost, and
    /// after a duplicate error, so it is never created twice. `with`: the ids of the parents
    /// of edges made with the create ([`Target::create_edges`]), empty for most targets.
    fn create(
        &self,
        kind: &Kind,
        data: &Value,
        with: &[String],
    ) -> Result<super::Created, ApiError>;
    /// Edges this target makes with the create of an object of `kind` (Okta's `groupIds`,
    /// OneLogin's `role_ids`): their kind, how many one create takes, and the field that
    /// carries them (named in the results).
    fn create_edges(&self, _kind: &Kind) -> Option<(Kind, usize, &'static str)> {
        None
    }
    /// After a create: bring the object to the state its payload asks for (Okta's lifecycle
    /// calls). A failure leaves the object created, and the next run finishes the job.
    fn settle(&self, _kind: &Kind, _id: &str, _data: &Value) -> Result<(), ApiError> {
        Ok(())
    }
    /// Whether [`Target::settle`] has calls to make for this new object: the loader journals
    /// the create before them, so that a run killed between the create and its settling
    /// finishes the job next time (an update) rather than adopting a half-made object.
    fn settles(&self, _kind: &Kind, _id: &str, _data: &Value) -> bool {
        false
    }
    /// Update an existing object with the payload.
    fn update(&self, kind: &Kind, id: &str, data: &Value) -> Result<(), ApiError>;
    /// Delete an object (OneLogin's `--cleanup-roles`).
    fn delete(&self, kind: &Kind, id: &str) -> Result<(), ApiError>;
    /// The payload as the tenant holds it now, in the payload's own terms, for `changes`;
    /// `None` when unknown.
    fn current(&self, kind: &Kind, id: &str) -> Result<Option<Value>, ApiError>;
    /// Every object of `kind` the tenant holds, in the payload's own terms (as
    /// [`Target::current`] gives them), with its id: a paged listing, for idm-verify.
    fn list_objects(
        &self,
        kind: &Kind,
        each: &mut dyn FnMut(String, Value),
    ) -> Result<(), ApiError>;
    /// The part of a payload the tenant shows back: write-only fields (passwords, hashes)
    /// left out, so that a comparison with the tenant's object is fair.
    fn comparable(&self, _kind: &Kind, payload: &Value) -> Value {
        payload.clone()
    }

    /// How edges of `kind` are written, or why this target cannot take them from `end`
    /// (an Okta user assigned to an app directly is fine; OneLogin has no such call).
    fn edge_shape(&self, kind: &Kind, assignee: End) -> Result<EdgeShape, &'static str>;
    /// Whether the tenant has the edge, as read: `None` when it was not read for this parent.
    fn has_edge(&self, kind: &Kind, parent: &str, child: &str) -> Option<bool>;
    /// Whether this run made the edge with the child's create.
    fn edge_made_at_create(&self, _kind: &Kind, _parent: &str, _child: &str) -> bool {
        false
    }
    /// The parent's children now, read live (before a replacing write).
    fn edges_of(&self, kind: &Kind, parent: &str) -> Result<HashSet<String>, ApiError>;
    /// Add children to a parent (at most `batch` of them). `parent_is_new`: the parent was
    /// created by this run, so it has no children yet.
    fn add_edges(
        &self,
        kind: &Kind,
        parent: &str,
        children: &[String],
        parent_is_new: bool,
    ) -> Result<(), ApiError>;
}

/// A custom attribute to create in a target, with what its values look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeDef {
    /// The name payloads use (OneLogin shortname, Okta property variable name).
    pub name: String,
    /// A display name.
    pub title: String,
    /// The JSON type of its values: `string`, `boolean`, `integer`, `number`, `array`.
    pub value_type: &'static str,
    /// For arrays: the type of the items.
    pub item_type: Option<&'static str>,
    /// The source hides it from the user: created so that the user cannot see it, where the
    /// target has permissions (Okta's `HIDE`).
    pub hidden: bool,
}
