//! From a recorded change to deliveries: each new audit event the table's stream hands over that
//! makes a webhook event becomes one delivery per endpoint of its workspace that wants it, then
//! one work message each. A redelivered event finds its deliveries made (their id is the event's)
//! and sends their first attempt's message again, which the worker's conditions make harmless.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use std::collections::{HashMap, hash_map::Entry};

use super::{Delivery, WebhookEndpoint, events, store::WebhookStore};
use crate::{
    audit::AuditEvent,
    clock::Clock,
    error::Error,
    ids::WorkspaceId,
    queue::{WorkMessage, WorkQueue},
};

/// The most due deliveries one sweep sends.
pub const DUE_PER_SWEEP: usize = 500;

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
        self.dispatch_all(std::slice::from_ref(event)).await
    }

    /// [`Dispatcher::dispatch`] for a batch, in order, reading each workspace's endpoints once:
    /// how many deliveries. A failure stops at the event it met: `Err((index, error))`, the
    /// events before it done.
    pub async fn dispatch_all(&self, batch: &[AuditEvent]) -> Result<usize, Error> {
        self.dispatch_from(batch).await.map_err(|(_, err)| err)
    }

    /// [`Dispatcher::dispatch_all`], naming the event a failure stopped at.
    pub async fn dispatch_from(&self, batch: &[AuditEvent]) -> Result<usize, (usize, Error)> {
        let mut endpoints: HashMap<&WorkspaceId, Vec<WebhookEndpoint>> = HashMap::new();
        let mut made = 0;
        for (i, event) in batch.iter().enumerate() {
            let Some((kind, payload)) = events::payload_of(event) else {
                continue;
            };
            let of = match endpoints.entry(&event.workspace_id) {
                Entry::Occupied(found) => found.into_mut(),
                Entry::Vacant(slot) => slot.insert(
                    self.store
                        .endpoints(&event.workspace_id)
                        .await
                        .map_err(|e| (i, e.into()))?,
                ),
            };
            let now = self.clock.now();
            let mut messages = Vec::new();
            for endpoint in of.iter().filter(|e| e.wants(kind)) {
                let delivery = Delivery::new(endpoint, event.id, kind, payload.clone(), now);
                let new = self
                    .store
                    .insert_delivery(&delivery)
                    .await
                    .map_err(|e| (i, e.into()))?;
                if !new {
                    match self
                        .store
                        .delivery(endpoint.id, event.id)
                        .await
                        .map_err(|e| (i, e.into()))?
                    {
                        Some(made) if made.attempts.is_empty() => {}
                        _ => continue,
                    }
                }
                messages.push(delivery.message(1, false));
            }
            if !messages.is_empty() {
                self.queue.send_all(&messages).await.map_err(|e| (i, e))?;
            }
            made += messages.len();
        }
        Ok(made)
    }

    /// Sends the attempts the due index says are due at `now` (retries whose wait was longer
    /// than SQS's delay, and any whose delayed message was lost): how many. A delivery already
    /// attempted again since its entry was read finds its message moot.
    pub async fn requeue_due(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let due = self.store.due(now, DUE_PER_SWEEP).await?;
        let messages: Vec<WorkMessage> = due
            .iter()
            .map(|d| WorkMessage::WebhookDelivery {
                endpoint_id: d.endpoint_id,
                delivery_id: d.delivery_id,
                attempt: d.attempt,
                manual: false,
            })
            .collect();
        if !messages.is_empty() {
            self.queue.send_all(&messages).await?;
        }
        Ok(messages.len())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{
        audit::{Actor, ActorKind, Record, Target, chain},
        auth::{Caller, Credential},
        clock::SystemClock,
        config::Config,
        ids::{UserId, WorkspaceId},
        queue::MemoryQueue,
        role::Role,
        webhooks::{
            draft::{EndpointChanges, EndpointDraft},
            url::UrlPolicy,
        },
        wiring::Wiring,
    };

    fn event(action: &str) -> AuditEvent {
        chain::seal(
            Record {
                workspace_id: WorkspaceId::parse("ws-d").unwrap(),
                action: action.into(),
                actor: Actor {
                    kind: ActorKind::System,
                    id: "test".into(),
                    name: None,
                },
                targets: vec![Target {
                    kind: "key".into(),
                    id: "k-1".into(),
                    name: Some("ledger".into()),
                }],
                origin: Default::default(),
                changes: BTreeMap::new(),
                users: vec![],
                time: Utc::now(),
            },
            &Default::default(),
        )
    }

    #[tokio::test]
    async fn an_event_makes_one_delivery_per_endpoint_that_wants_it_however_often_it_comes() {
        let config = Config::from_lookup(|name| {
            Some(match name {
                "LATCHKEY_TABLE" => "t".to_owned(),
                "LATCHKEY_WEBHOOK_KEY" => "k".to_owned(),
                _ => return None,
            })
        })
        .unwrap();
        let wiring = Wiring::in_memory(config, Arc::new(SystemClock));
        let webhooks = wiring.webhooks();
        let owner = Caller {
            user_id: UserId::parse("u").unwrap(),
            workspace_id: WorkspaceId::parse("ws-d").unwrap(),
            credential: Credential::Session { role: Role::Owner },
            origin: Default::default(),
        };
        for (events, enabled) in [
            (vec!["*"], true),
            (vec!["key.revoked"], true),
            (vec!["key.created"], true),
            (vec!["*"], false),
        ] {
            let changes = EndpointChanges::from_draft(
                EndpointDraft {
                    url: Some("https://hooks.example.com/".into()),
                    events: Some(events.into_iter().map(str::to_owned).collect()),
                    enabled: Some(enabled),
                    ..EndpointDraft::default()
                },
                UrlPolicy::PublicHttps,
                true,
            )
            .unwrap();
            webhooks.create(&owner, changes).await.unwrap();
        }
        let queue = Arc::new(MemoryQueue::default());
        let dispatcher = wiring.webhook_dispatcher(queue.clone());
        let revoked = event("key.revoked");
        assert_eq!(dispatcher.dispatch(&revoked).await.unwrap(), 2);
        // Delivered again by the stream: no new delivery; the first attempts' messages again.
        assert_eq!(dispatcher.dispatch(&revoked).await.unwrap(), 2);
        assert_eq!(queue.take().len(), 4);
        assert_eq!(
            dispatcher
                .dispatch(&event("session.signed_in"))
                .await
                .unwrap(),
            0
        );
        let endpoints = webhooks.list(&owner).await.unwrap();
        let mut made = 0;
        for endpoint in &endpoints {
            let page = webhooks
                .deliveries(&owner, endpoint.id, None, 10)
                .await
                .unwrap();
            for delivery in &page.deliveries {
                assert_eq!(delivery.id, revoked.id);
                assert_eq!(delivery.event_type, "key.revoked");
                let body: serde_json::Value = serde_json::from_str(&delivery.payload).unwrap();
                assert_eq!(body["data"]["id"], "k-1");
                assert_eq!(body["data"]["name"], "ledger");
            }
            made += page.deliveries.len();
        }
        assert_eq!(made, 2);
        // Due at once, so the sweeper would send them too; the worker's conditions make the
        // copies moot.
        assert_eq!(dispatcher.requeue_due(Utc::now()).await.unwrap(), 2);
    }
}
