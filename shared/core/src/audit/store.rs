//! The storage port of the audit log, and [`AuditTrail`], which seals a record after its
//! workspace's head and writes it with its change, again while another writer's event lands
//! first.

use std::{future::Future, sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    AuditEvent, Record,
    chain::{self, Head},
};
use crate::{ids::WorkspaceId, store_error::StoreError};

/// What a page of the log is narrowed to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// An action (`key.created`), or a prefix of actions ending in `.` (`key.`).
    pub action: Option<String>,
    /// Only events by this actor.
    pub actor_id: Option<String>,
    /// Only events about this target: the thing an event acted on, its first target (a
    /// rotation is found by the key rotated; its successor's later events by the successor).
    pub target_id: Option<String>,
    /// Only events that concern this user (see [`AuditEvent::users`]).
    pub concerning: Option<String>,
    /// Only events at or after.
    pub since: Option<DateTime<Utc>>,
    /// Only events before.
    pub until: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: usize,
    /// Resume after this event (the last of the previous page).
    pub after: Option<Uuid>,
}

impl AuditQuery {
    /// Whether `event` is one this query asks for (the time range and paging aside).
    pub fn matches(&self, event: &AuditEvent) -> bool {
        let action = match &self.action {
            Some(prefix) if prefix.ends_with('.') => event.action.starts_with(prefix.as_str()),
            Some(exact) => event.action == *exact,
            None => true,
        };
        action
            && self
                .actor_id
                .as_ref()
                .is_none_or(|actor| event.actor.id == *actor)
            && self
                .target_id
                .as_ref()
                .is_none_or(|target| event.targets.first().is_some_and(|t| t.id == *target))
            && self
                .concerning
                .as_ref()
                .is_none_or(|user| event.users.contains(user))
    }
}

/// Where a workspace's events are kept.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// The end of `workspace`'s chain (the default head before its first event).
    async fn head(&self, workspace: &WorkspaceId) -> Result<Head, StoreError>;
    /// Appends `event` alone (a change with no other write): `Conflict` when the head is no
    /// longer the one it extends.
    async fn append(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// One event of `workspace`.
    async fn get(
        &self,
        workspace: &WorkspaceId,
        id: Uuid,
    ) -> Result<Option<AuditEvent>, StoreError>;
    /// A page of `workspace`'s events that `query` asks for, newest first, and whether more
    /// follow it.
    async fn newest_first(
        &self,
        workspace: &WorkspaceId,
        query: &AuditQuery,
    ) -> Result<(Vec<AuditEvent>, bool), StoreError>;
    /// The number of the last event of `workspace` the archive holds (0 before the first).
    async fn archived_through(&self, workspace: &WorkspaceId) -> Result<u64, StoreError>;
    /// Moves `workspace`'s archive checkpoint from `from` to `to`; `Conflict` when it is no
    /// longer at `from`.
    async fn mark_archived(
        &self,
        workspace: &WorkspaceId,
        from: u64,
        to: u64,
    ) -> Result<(), StoreError>;
    /// Every event of `workspace` in `since..until`, in chain order.
    async fn in_chain_order(
        &self,
        workspace: &WorkspaceId,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<AuditEvent>, StoreError>;
}

/// Writers racing on one workspace's head retry this many times before giving up (a 409).
const ATTEMPTS: u32 = 40;

/// Records changes in their workspace's chain, with the write that makes them.
#[derive(Clone)]
pub struct AuditTrail {
    store: Arc<dyn AuditStore>,
}

impl AuditTrail {
    /// A trail over `store`.
    pub fn new(store: Arc<dyn AuditStore>) -> Self {
        Self { store }
    }

    /// The store, for reading.
    pub fn store(&self) -> &Arc<dyn AuditStore> {
        &self.store
    }

    /// Runs `write` with `record` sealed after its workspace's head, the event to write in the
    /// same transaction as the change. A `Conflict` while the head moved (another change of the
    /// workspace landed first) is retried with the record sealed after the new head; one while
    /// it did not is the change's own (its item changed), and returned.
    pub async fn recording<T, F, Fut>(&self, record: Record, mut write: F) -> Result<T, StoreError>
    where
        F: FnMut(AuditEvent) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let workspace = record.workspace_id.clone();
        for attempt in 0..ATTEMPTS {
            let head = self.store.head(&workspace).await?;
            match write(chain::seal(record.clone(), &head)).await {
                Err(StoreError::Conflict) => {
                    if self.store.head(&workspace).await? == head {
                        return Err(StoreError::Conflict);
                    }
                    tokio::time::sleep(jitter(attempt)).await;
                }
                done => return done,
            }
        }
        Err(StoreError::Conflict)
    }

    /// Records a change that writes nothing else (a sign-in, a sign-out).
    pub async fn record(&self, record: Record) -> Result<AuditEvent, StoreError> {
        self.recording(record, |event| async move {
            self.store.append(&event).await.map(|()| event)
        })
        .await
    }
}

/// A short random pause that grows with the attempts, so racing writers spread out.
fn jitter(attempt: u32) -> Duration {
    let ceiling = 2u64.saturating_pow(attempt.min(6));
    use rand::Rng;
    Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling))
}
