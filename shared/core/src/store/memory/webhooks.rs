//! The in-memory adapter of [`WebhookStore`], with the DynamoDB adapter's conditions.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::MemoryAuditStore;
use crate::{
    audit::AuditEvent,
    ids::WorkspaceId,
    store::StoreError,
    webhooks::{
        Delivery, DeliveryStatus, WebhookEndpoint,
        delivery::DUE_LOOKBACK_DAYS,
        store::{DueDelivery, WebhookStore},
    },
};

/// Endpoints and deliveries in memory.
#[derive(Debug)]
pub struct MemoryWebhookStore {
    endpoints: Mutex<HashMap<(WorkspaceId, Uuid), WebhookEndpoint>>,
    deliveries: Mutex<HashMap<Uuid, BTreeMap<Uuid, Delivery>>>,
    audit: Arc<MemoryAuditStore>,
}

impl MemoryWebhookStore {
    /// A store whose changes' events join `audit`.
    pub fn recording_to(audit: Arc<MemoryAuditStore>) -> Self {
        Self {
            endpoints: Mutex::default(),
            deliveries: Mutex::default(),
            audit,
        }
    }
}

#[async_trait]
impl WebhookStore for MemoryWebhookStore {
    async fn endpoints(&self, workspace: &WorkspaceId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let mut found: Vec<WebhookEndpoint> = self
            .endpoints
            .lock()
            .expect("lock")
            .values()
            .filter(|e| &e.workspace_id == workspace)
            .cloned()
            .collect();
        found.sort_by_key(|e| (e.created_at, e.id));
        Ok(found)
    }

    async fn endpoint(
        &self,
        workspace: &WorkspaceId,
        id: Uuid,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        Ok(self
            .endpoints
            .lock()
            .expect("lock")
            .get(&(workspace.clone(), id))
            .cloned())
    }

    async fn put_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        expected: Option<u64>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut endpoints = self.endpoints.lock().expect("lock");
        let key = (endpoint.workspace_id.clone(), endpoint.id);
        if endpoints.get(&key).map(|e| e.version) != expected {
            return Err(StoreError::Conflict);
        }
        self.audit.append_checked(event)?;
        endpoints.insert(key, endpoint.clone());
        Ok(())
    }

    async fn delete_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut endpoints = self.endpoints.lock().expect("lock");
        let key = (endpoint.workspace_id.clone(), endpoint.id);
        if endpoints.get(&key).map(|e| e.version) != Some(endpoint.version) {
            return Err(StoreError::Conflict);
        }
        self.audit.append_checked(event)?;
        endpoints.remove(&key);
        Ok(())
    }

    async fn insert_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        let mut deliveries = self.deliveries.lock().expect("lock");
        let of = deliveries.entry(delivery.endpoint_id).or_default();
        if of.contains_key(&delivery.id) {
            return Ok(false);
        }
        of.insert(delivery.id, delivery.clone());
        Ok(true)
    }

    async fn delivery(&self, endpoint: Uuid, id: Uuid) -> Result<Option<Delivery>, StoreError> {
        Ok(self
            .deliveries
            .lock()
            .expect("lock")
            .get(&endpoint)
            .and_then(|of| of.get(&id))
            .cloned())
    }

    async fn deliveries(
        &self,
        endpoint: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<(Vec<Delivery>, bool), StoreError> {
        let deliveries = self.deliveries.lock().expect("lock");
        let mut page: Vec<Delivery> = deliveries
            .get(&endpoint)
            .map(|of| {
                of.values()
                    .rev()
                    .filter(|d| after.is_none_or(|after| d.id < after))
                    .take(limit + 1)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let more = page.len() > limit;
        page.truncate(limit);
        Ok((page, more))
    }

    async fn replace_delivery(&self, delivery: &Delivery, expected: u64) -> Result<(), StoreError> {
        let mut deliveries = self.deliveries.lock().expect("lock");
        let slot = deliveries
            .get_mut(&delivery.endpoint_id)
            .and_then(|of| of.get_mut(&delivery.id))
            .filter(|d| d.version == expected)
            .ok_or(StoreError::Conflict)?;
        *slot = delivery.clone();
        Ok(())
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueDelivery>, StoreError> {
        let since = now - chrono::Duration::days(DUE_LOOKBACK_DAYS);
        let deliveries = self.deliveries.lock().expect("lock");
        let mut due: Vec<(DateTime<Utc>, DueDelivery)> = deliveries
            .values()
            .flat_map(|of| of.values())
            .filter(|d| d.status == DeliveryStatus::Pending)
            .filter_map(|d| {
                let at = d.next_attempt_at?;
                (at <= now && at >= since).then_some((
                    at,
                    DueDelivery {
                        endpoint_id: d.endpoint_id,
                        delivery_id: d.id,
                        attempt: d.attempts.len() as u32 + 1,
                    },
                ))
            })
            .collect();
        due.sort_by_key(|(at, d)| (*at, d.delivery_id));
        Ok(due.into_iter().take(limit).map(|(_, d)| d).collect())
    }
}
