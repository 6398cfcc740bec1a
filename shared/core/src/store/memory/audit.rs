//! An in-memory [`AuditStore`] with the DynamoDB adapter's semantics: an event is appended only
//! while the workspace's head is the one it extends. The memory key store appends through
//! [`MemoryAuditStore::append_checked`] while it holds its own lock, so a key's change and its
//! event land together or not at all, as in the table's transactions.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    audit::{
        AuditEvent,
        chain::{self, Head},
        store::{AuditQuery, AuditStore},
    },
    ids::WorkspaceId,
    store::StoreError,
};

/// Each workspace's events, in chain order.
#[derive(Debug, Default)]
pub struct MemoryAuditStore {
    events: Mutex<HashMap<WorkspaceId, Vec<AuditEvent>>>,
    /// Each workspace's archive checkpoint.
    archived: Mutex<HashMap<WorkspaceId, u64>>,
}

impl MemoryAuditStore {
    /// Appends `event` if it extends its workspace's head; `Conflict` if not.
    pub fn append_checked(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let mut events = self.events.lock().expect("lock");
        let chain_of = events.entry(event.workspace_id.clone()).or_default();
        let head = chain_of.last().map(chain::head_after).unwrap_or_default();
        if head.seq + 1 != event.seq || head.digest != event.prev_digest {
            return Err(StoreError::Conflict);
        }
        chain_of.push(event.clone());
        Ok(())
    }
}

#[async_trait]
impl AuditStore for MemoryAuditStore {
    async fn head(&self, workspace: &WorkspaceId) -> Result<Head, StoreError> {
        let events = self.events.lock().expect("lock");
        Ok(events
            .get(workspace)
            .and_then(|chain_of| chain_of.last())
            .map(chain::head_after)
            .unwrap_or_default())
    }

    async fn append(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.append_checked(event)
    }

    async fn archived_through(&self, workspace: &WorkspaceId) -> Result<u64, StoreError> {
        Ok(self
            .archived
            .lock()
            .expect("lock")
            .get(workspace)
            .copied()
            .unwrap_or(0))
    }

    async fn mark_archived(
        &self,
        workspace: &WorkspaceId,
        from: u64,
        to: u64,
    ) -> Result<(), StoreError> {
        let mut archived = self.archived.lock().expect("lock");
        let at = archived.entry(workspace.clone()).or_insert(0);
        if *at != from {
            return Err(StoreError::Conflict);
        }
        *at = to;
        Ok(())
    }

    async fn get(
        &self,
        workspace: &WorkspaceId,
        id: Uuid,
    ) -> Result<Option<AuditEvent>, StoreError> {
        let events = self.events.lock().expect("lock");
        Ok(events
            .get(workspace)
            .and_then(|chain_of| chain_of.iter().find(|e| e.id == id).cloned()))
    }

    async fn newest_first(
        &self,
        workspace: &WorkspaceId,
        query: &AuditQuery,
    ) -> Result<(Vec<AuditEvent>, bool), StoreError> {
        let events = self.events.lock().expect("lock");
        let mut newest: Vec<&AuditEvent> = events.get(workspace).into_iter().flatten().collect();
        newest.sort_by_key(|e| std::cmp::Reverse(e.id));
        let mut page: Vec<AuditEvent> = newest
            .into_iter()
            .filter(|e| query.after.is_none_or(|after| e.id < after))
            .filter(|e| query.since.is_none_or(|since| e.time >= since))
            .filter(|e| query.until.is_none_or(|until| e.time < until))
            .filter(|e| query.matches(e))
            .take(query.limit + 1)
            .cloned()
            .collect();
        let more = page.len() > query.limit;
        page.truncate(query.limit);
        Ok((page, more))
    }

    async fn in_chain_order(
        &self,
        workspace: &WorkspaceId,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let events = self.events.lock().expect("lock");
        Ok(events
            .get(workspace)
            .into_iter()
            .flatten()
            .filter(|e| since.is_none_or(|since| e.time >= since))
            .filter(|e| until.is_none_or(|until| e.time < until))
            .cloned()
            .collect())
    }
}
