//! The storage port of webhooks: a workspace's endpoints, each endpoint's deliveries, and the
//! deliveries due for another attempt.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Delivery, WebhookEndpoint};
use crate::{audit::AuditEvent, ids::WorkspaceId, store_error::StoreError};

/// A delivery due for an attempt, as the due index names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueDelivery {
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// The delivery.
    pub delivery_id: Uuid,
    /// The attempt due.
    pub attempt: u32,
}

/// Where endpoints and deliveries are kept.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Every endpoint of `workspace`, oldest first.
    async fn endpoints(&self, workspace: &WorkspaceId) -> Result<Vec<WebhookEndpoint>, StoreError>;
    /// One endpoint of `workspace`.
    async fn endpoint(
        &self,
        workspace: &WorkspaceId,
        id: Uuid,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;
    /// Writes `endpoint` with the event that records it: a new one when `expected` is `None`
    /// (`Conflict` when the id is taken), else over the version `expected` (`Conflict` when it
    /// moved).
    async fn put_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        expected: Option<u64>,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Deletes `endpoint` at the version read, with its event (`Conflict` when it moved).
    async fn delete_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// Makes `delivery` unless it exists: `false` when it did (a redelivered event).
    async fn insert_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError>;
    /// One delivery of `endpoint`.
    async fn delivery(&self, endpoint: Uuid, id: Uuid) -> Result<Option<Delivery>, StoreError>;
    /// A page of `endpoint`'s deliveries, newest first, after `after`; and whether more follow.
    async fn deliveries(
        &self,
        endpoint: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<(Vec<Delivery>, bool), StoreError>;
    /// Writes `delivery` over the version `expected` (`Conflict` when it moved), keeping the due
    /// index in step with its `next_attempt_at`.
    async fn replace_delivery(&self, delivery: &Delivery, expected: u64) -> Result<(), StoreError>;
    /// Deliveries pending with an attempt due at or before `now` (due within the last
    /// [`super::delivery::DUE_LOOKBACK_DAYS`] days), at most `limit`.
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueDelivery>, StoreError>;
}
