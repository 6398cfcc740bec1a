//! From a recorded change to deliveries: each new audit event the table's stream hands over that
//! makes a webhook event becomes one delivery per endpoint of its workspace that wants it, then
//! one work message each. A redelivered event finds its deliveries made (their id is the event's)
//! and sends their first attempt's message again, which the worker's conditions make harmless.

use std::sync::Arc;

use super::{Delivery, events, store::WebhookStore};
use crate::{audit::AuditEvent, clock::Clock, error::Error, queue::WorkQueue};

/// Turns audit events into deliveries.
pub struct Dispatcher {
    store: Arc<dyn WebhookStore>,
    queue: Arc<dyn WorkQueue>,
    clock: Arc<dyn Clock>,
}

impl Dispatcher {
    /// A dispatcher writing to `store` and sending to `queue`.
    pub fn new(
        store: Arc<dyn WebhookStore>,
        queue: Arc<dyn WorkQueue>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            queue,
            clock,
        }
    }

    /// Makes `event`'s deliveries and sends their first attempts: how many.
    pub async fn dispatch(&self, event: &AuditEvent) -> Result<usize, Error> {
        let Some((kind, payload)) = events::payload_of(event) else {
            return Ok(0);
        };
        let endpoints = self.store.endpoints(&event.workspace_id).await?;
        let now = self.clock.now();
        let mut messages = Vec::new();
        for endpoint in endpoints.iter().filter(|e| e.wants(kind)) {
            let delivery = Delivery::new(endpoint, event.id, kind, payload.clone(), now);
            if !self.store.insert_delivery(&delivery).await? {
                match self.store.delivery(endpoint.id, event.id).await? {
                    Some(made) if made.attempts.is_empty() => {}
                    _ => continue,
                }
            }
            messages.push(delivery.message(1, false));
        }
        if !messages.is_empty() {
            self.queue.send_all(&messages).await?;
        }
        Ok(messages.len())
    }
}
