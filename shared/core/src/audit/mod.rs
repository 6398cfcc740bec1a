//! The audit log: every change, who made it (a user, a key or the system), from where, through
//! which family, and what it changed. An event is written in the same transaction as its change
//! (a change never lands without its event, a refused one records nothing), and each
//! workspace's events form a hash chain ([`chain`]) so an edited or missing event is found.

pub mod archive;
pub mod chain;
pub mod draft;
pub mod log;
pub mod store;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::ids::WorkspaceId;

/// Days an event is kept when the deployment does not say (the template's `AuditRetentionDays`).
pub const DEFAULT_RETENTION_DAYS: u32 = 400;

/// Who made a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    /// A person, with a session.
    User,
    /// An API key, acting for its owner.
    Key,
    /// Latchkey itself (the sweeper, the worker).
    System,
}

/// The actor of an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// What kind of actor.
    #[serde(rename = "type")]
    pub kind: ActorKind,
    /// The user's id, the key's id, or the system part's name.
    pub id: String,
    /// A name a person recognises (the key's name, the user's email), when there is one.
    pub name: Option<String>,
}

/// What an event is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// What kind of thing (`key`, `user`, `session`, `erasure_job`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its id.
    pub id: String,
    /// Its name, when it has one.
    pub name: Option<String>,
}

/// Where a change came from: the request, or the system part that made it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The client's address.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// The request's id (`X-Request-Id`).
    pub request_id: Option<String>,
    /// The family or part it came through: `native`, `spartera`, `latitude.sh`, `cartovista`,
    /// `numind`, `console`, `sweeper`, `worker`.
    pub family: String,
}

/// A field's value before and after a change (`null` where it had none, or has none now).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Before.
    pub from: Value,
    /// After.
    pub to: Value,
}

/// A change about to be recorded: everything but its place in the chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The workspace whose log it joins.
    pub workspace_id: WorkspaceId,
    /// What happened: `key.created`, `key.revoked`, ...
    pub action: String,
    /// Who did it.
    pub actor: Actor,
    /// What it was about.
    pub targets: Vec<Target>,
    /// From where.
    pub origin: Origin,
    /// Each changed field, before and after. Never a secret, a hash or a token.
    pub changes: BTreeMap<String, Change>,
    /// The users it concerns: who acted (a key's owner, for a key), and whose things it is
    /// about. A member or viewer sees the events that name them here.
    pub users: Vec<String>,
    /// When.
    pub time: DateTime<Utc>,
}

/// A recorded event: a [`Record`] sealed into its workspace's chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Its id: a UUIDv7, so ids sort by time.
    pub id: Uuid,
    /// When.
    pub time: DateTime<Utc>,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// What happened.
    pub action: String,
    /// Who did it.
    pub actor: Actor,
    /// What it was about.
    pub targets: Vec<Target>,
    /// From where.
    pub context: Origin,
    /// Each changed field, before and after.
    pub changes: BTreeMap<String, Change>,
    /// The users it concerns (not shown; who may see it).
    pub users: Vec<String>,
    /// Its place in the workspace's chain: 1, 2, 3, ... with no gap.
    pub seq: u64,
    /// The digest of the event before it (the genesis digest for the first).
    pub prev_digest: String,
    /// SHA-256 over `prev_digest` and everything above, hex.
    pub digest: String,
}
