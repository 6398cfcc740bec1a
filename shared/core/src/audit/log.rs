//! Reading the audit log: pages of events, one event, and the chain's integrity. Owners and
//! admins see their workspace's events; members and viewers the events that concern them (that
//! they caused, or about their own keys). Another workspace's event does not exist for a caller.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    AuditEvent,
    chain::{self, Integrity},
    store::{AuditQuery, AuditStore},
};
use crate::{error::Error, keys::caller::Caller, role::Role};

/// The audit log's read use cases.
pub struct AuditLog {
    store: Arc<dyn AuditStore>,
}

/// A page of events, newest first.
#[derive(Debug)]
pub struct AuditPage {
    /// The events.
    pub events: Vec<AuditEvent>,
    /// Where the next page starts (the last event of this one), when there is one.
    pub next_after: Option<Uuid>,
}

/// Whether `caller` sees every event of their workspace.
fn sees_workspace(caller: &Caller) -> bool {
    matches!(caller.role(), Role::Owner | Role::Admin)
}

/// Whether `caller` may see `event` of their workspace.
fn may_see(caller: &Caller, event: &AuditEvent) -> bool {
    event.workspace_id == caller.workspace_id
        && (sees_workspace(caller) || event.users.contains(&caller.user_id.to_string()))
}

impl AuditLog {
    /// The log over `store`.
    pub fn new(store: Arc<dyn AuditStore>) -> Self {
        Self { store }
    }

    /// A page of the events `query` asks for that `caller` may see, newest first.
    pub async fn list(&self, caller: &Caller, mut query: AuditQuery) -> Result<AuditPage, Error> {
        if !sees_workspace(caller) {
            query.concerning = Some(caller.user_id.to_string());
        }
        let (events, more) = self
            .store
            .newest_first(&caller.workspace_id, &query)
            .await?;
        let next_after = more.then(|| events.last().map(|e| e.id)).flatten();
        Ok(AuditPage { events, next_after })
    }

    /// One event `caller` may see; any other is a 404.
    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<AuditEvent, Error> {
        match self.store.get(&caller.workspace_id, id).await? {
            Some(event) if may_see(caller, &event) => Ok(event),
            _ => Err(Error::NotFound("No audit event with that id.".into())),
        }
    }

    /// Recomputes the chain of the caller's workspace over `since..until`: owners and admins
    /// only (403).
    pub async fn integrity(
        &self,
        caller: &Caller,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Integrity, Error> {
        caller.require_owner_or_admin("check the audit log's integrity")?;
        let events = self
            .store
            .in_chain_order(&caller.workspace_id, since, until)
            .await?;
        Ok(chain::verify(&events))
    }
}
