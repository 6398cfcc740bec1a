//! The webhook use cases of the API and the console: a workspace's owners and admins manage its
//! endpoints (a session's role decides; keys never reach them), read each endpoint's deliveries,
//! send a test, and send a delivery again. Another workspace's endpoint is a 404. Every change is
//! recorded in the audit log with its write, and never names a secret.

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Delivery, DeliveryStatus, SealedSecret, WebhookEndpoint,
    draft::EndpointChanges,
    events,
    secret::{SecretBox, SigningSecret},
    store::WebhookStore,
    url::UrlPolicy,
};
use crate::{
    audit::{Actor, Change, Origin, Record, Target, store::AuditTrail},
    clock::Clock,
    error::Error,
    keys::caller::Caller,
    queue::{WorkMessage, WorkQueue},
    store_error::StoreError,
};

/// How long a replaced secret still signs after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);
/// The most endpoints a workspace may have.
pub const MAX_ENDPOINTS: usize = 20;

/// An endpoint with its secret in plain: the answer of a creation, shown once.
#[derive(Debug)]
pub struct Created {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// Its secret (`whsec_...`).
    pub secret: String,
}

/// A page of deliveries, newest first.
#[derive(Debug)]
pub struct DeliveryPage {
    /// The deliveries.
    pub deliveries: Vec<Delivery>,
    /// Where the next page starts (the last delivery of this one), when there is one.
    pub next_after: Option<Uuid>,
}

/// What the use cases are built from.
pub struct WebhookParts {
    /// Endpoints and deliveries.
    pub store: Arc<dyn WebhookStore>,
    /// Seals secrets.
    pub secrets: SecretBox,
    /// Which URLs are accepted.
    pub policy: UrlPolicy,
    /// Where deliveries go to be sent.
    pub queue: Option<Arc<dyn WorkQueue>>,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// Records every change.
    pub trail: AuditTrail,
}

/// The webhook use cases.
pub struct Webhooks {
    parts: WebhookParts,
}

/// Refuses anyone but a workspace's owners and admins with a session (403).
fn authorize(caller: &Caller) -> Result<(), Error> {
    caller
        .require_owner_or_admin("manage its webhooks")
        .map(drop)
}

fn not_found() -> Error {
    Error::NotFound("No webhook endpoint with that id.".into())
}

/// An endpoint's fields as the audit log shows them.
fn fields(endpoint: &WebhookEndpoint) -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        ("url", json!(endpoint.url)),
        ("description", json!(endpoint.description)),
        ("events", json!(endpoint.events)),
        ("enabled", json!(endpoint.enabled)),
    ])
}

/// Each field that differs between `before` and `after` (all of `after` when there was none).
pub(super) fn changes(
    before: Option<&WebhookEndpoint>,
    after: Option<&WebhookEndpoint>,
) -> BTreeMap<String, Change> {
    let (from, to) = (before.map(fields), after.map(fields));
    let names = from
        .as_ref()
        .or(to.as_ref())
        .map(|f| f.keys().copied().collect::<Vec<_>>());
    names
        .unwrap_or_default()
        .into_iter()
        .filter_map(|name| {
            let old = from.as_ref().map_or(Value::Null, |f| f[name].clone());
            let new = to.as_ref().map_or(Value::Null, |f| f[name].clone());
            (old != new).then(|| (name.to_owned(), Change { from: old, to: new }))
        })
        .collect()
}

/// The record of `action` on `endpoint` by `actor` from `origin`.
pub(super) fn record(
    endpoint: &WebhookEndpoint,
    action: &str,
    (actor, origin): (Actor, Origin),
    changes: BTreeMap<String, Change>,
    time: DateTime<Utc>,
) -> Record {
    Record {
        workspace_id: endpoint.workspace_id.clone(),
        action: action.to_owned(),
        users: if actor.kind == crate::audit::ActorKind::User {
            vec![actor.id.clone()]
        } else {
            vec![]
        },
        actor,
        targets: vec![Target {
            kind: "webhook_endpoint".into(),
            id: endpoint.id.to_string(),
            name: Some(endpoint.url.clone()),
        }],
        origin,
        changes,
        time,
    }
}

impl Webhooks {
    /// The use cases over `parts`.
    pub fn new(parts: WebhookParts) -> Self {
        Self { parts }
    }

    /// Which URLs this deployment accepts.
    pub fn policy(&self) -> UrlPolicy {
        self.parts.policy
    }

    async fn owned(&self, caller: &Caller, id: Uuid) -> Result<WebhookEndpoint, Error> {
        authorize(caller)?;
        self.parts
            .store
            .endpoint(&caller.workspace_id, id)
            .await?
            .ok_or_else(not_found)
    }

    /// Writes `after` over `before` (or new), recorded as `action`.
    async fn write(
        &self,
        caller: &Caller,
        before: Option<&WebhookEndpoint>,
        after: &WebhookEndpoint,
        action: &str,
    ) -> Result<(), Error> {
        let record = record(
            after,
            action,
            (caller.actor(), caller.origin.clone()),
            changes(before, Some(after)),
            after.updated_at,
        );
        let store = &self.parts.store;
        self.parts
            .trail
            .recording(record, |event| async move {
                store
                    .put_endpoint(after, before.map(|b| b.version), &event)
                    .await
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict => Error::Conflict(
                    "The endpoint changed while this request was made; read it and try again."
                        .into(),
                ),
                other => other.into(),
            })
    }

    /// Makes an endpoint in `caller`'s workspace; its secret is in the answer, and only there.
    pub async fn create(&self, caller: &Caller, spec: EndpointChanges) -> Result<Created, Error> {
        authorize(caller)?;
        let existing = self.parts.store.endpoints(&caller.workspace_id).await?;
        if existing.len() >= MAX_ENDPOINTS {
            return Err(Error::InvalidState {
                code: "too_many_endpoints",
                detail: format!("A workspace may have at most {MAX_ENDPOINTS} webhook endpoints."),
            });
        }
        let now = self.parts.clock.now();
        let id = Uuid::new_v4();
        let secret = SigningSecret::generate();
        let endpoint = WebhookEndpoint {
            id,
            workspace_id: caller.workspace_id.clone(),
            url: spec
                .url
                .ok_or_else(|| Error::invalid_field("url", "url is required"))?
                .as_str()
                .to_owned(),
            description: spec.description.unwrap_or_default(),
            events: spec.events.unwrap_or_else(|| vec![events::ALL.to_owned()]),
            enabled: spec.enabled.unwrap_or(true),
            disabled_reason: None,
            created_at: now,
            updated_at: now,
            secrets: vec![SealedSecret {
                sealed: self.parts.secrets.seal(&secret, &id.to_string()),
                until: None,
            }],
            version: 1,
        };
        self.write(caller, None, &endpoint, "webhook.created")
            .await?;
        Ok(Created {
            endpoint,
            secret: secret.reveal(),
        })
    }

    /// The endpoints of `caller`'s workspace.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<WebhookEndpoint>, Error> {
        authorize(caller)?;
        Ok(self.parts.store.endpoints(&caller.workspace_id).await?)
    }

    /// One endpoint.
    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<WebhookEndpoint, Error> {
        self.owned(caller, id).await
    }

    /// Changes an endpoint's URL, description, events or state; enabling it clears why it was
    /// disabled.
    pub async fn update(
        &self,
        caller: &Caller,
        id: Uuid,
        changes: EndpointChanges,
    ) -> Result<WebhookEndpoint, Error> {
        let before = self.owned(caller, id).await?;
        let mut after = before.clone();
        if let Some(url) = changes.url {
            after.url = url.as_str().to_owned();
        }
        if let Some(description) = changes.description {
            after.description = description;
        }
        if let Some(events) = changes.events {
            after.events = events;
        }
        if let Some(enabled) = changes.enabled {
            after.enabled = enabled;
            if enabled {
                after.disabled_reason = None;
            }
        }
        if after == before {
            return Ok(before);
        }
        after.updated_at = self.parts.clock.now();
        after.version += 1;
        self.write(caller, Some(&before), &after, "webhook.updated")
            .await?;
        Ok(after)
    }

    /// Deletes an endpoint (its deliveries expire with their retention).
    pub async fn delete(&self, caller: &Caller, id: Uuid) -> Result<(), Error> {
        let endpoint = self.owned(caller, id).await?;
        let record = record(
            &endpoint,
            "webhook.deleted",
            (caller.actor(), caller.origin.clone()),
            changes(Some(&endpoint), None),
            self.parts.clock.now(),
        );
        let store = &self.parts.store;
        let endpoint = &endpoint;
        self.parts
            .trail
            .recording(record, |event| async move {
                store.delete_endpoint(endpoint, &event).await
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict => not_found(),
                other => other.into(),
            })
    }

    /// A new secret for an endpoint, shown once; the one it replaces still signs for
    /// [`ROTATION_OVERLAP`] (both signatures in every delivery's header until then).
    pub async fn rotate_secret(&self, caller: &Caller, id: Uuid) -> Result<String, Error> {
        let before = self.owned(caller, id).await?;
        let now = self.parts.clock.now();
        let secret = SigningSecret::generate();
        let mut after = before.clone();
        let current = before.secrets.first().cloned();
        after.secrets = std::iter::once(SealedSecret {
            sealed: self.parts.secrets.seal(&secret, &id.to_string()),
            until: None,
        })
        .chain(current.map(|old| SealedSecret {
            sealed: old.sealed,
            until: Some(now + ROTATION_OVERLAP),
        }))
        .collect();
        after.updated_at = now;
        after.version += 1;
        self.write(caller, Some(&before), &after, "webhook.secret_rotated")
            .await?;
        Ok(secret.reveal())
    }

    /// A page of an endpoint's deliveries, newest first.
    pub async fn deliveries(
        &self,
        caller: &Caller,
        id: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<DeliveryPage, Error> {
        let endpoint = self.owned(caller, id).await?;
        let (deliveries, more) = self
            .parts
            .store
            .deliveries(endpoint.id, after, limit)
            .await?;
        let next_after = more.then(|| deliveries.last().map(|d| d.id)).flatten();
        Ok(DeliveryPage {
            deliveries,
            next_after,
        })
    }

    fn queue(&self) -> Result<&Arc<dyn WorkQueue>, Error> {
        self.parts
            .queue
            .as_ref()
            .ok_or_else(|| Error::internal(std::io::Error::other("no work queue configured")))
    }

    /// Sends a `webhook.test` event to an endpoint (enabled or not): the delivery's id.
    pub async fn test(&self, caller: &Caller, id: Uuid) -> Result<Uuid, Error> {
        let endpoint = self.owned(caller, id).await?;
        let queue = self.queue()?;
        let now = self.parts.clock.now();
        let delivery_id = Uuid::now_v7();
        let payload = events::body(
            events::TEST,
            now,
            json!({"id": endpoint.id, "workspace_id": endpoint.workspace_id.to_string()}),
        );
        let delivery = Delivery::new(&endpoint, delivery_id, events::TEST, payload, now);
        self.parts.store.insert_delivery(&delivery).await?;
        queue.send(&delivery.message(1, false)).await?;
        Ok(delivery_id)
    }

    /// Sends a delivery that is not pending once more, now (one attempt; its schedule is not
    /// restarted). A pending one is a 409, as is one whose endpoint is disabled.
    pub async fn retry(&self, caller: &Caller, id: Uuid, delivery_id: Uuid) -> Result<(), Error> {
        let endpoint = self.owned(caller, id).await?;
        let queue = self.queue()?;
        let before = self
            .parts
            .store
            .delivery(endpoint.id, delivery_id)
            .await?
            .ok_or_else(|| Error::NotFound("No delivery with that id.".into()))?;
        if before.status == DeliveryStatus::Pending {
            return Err(Error::Conflict(
                "The delivery is still pending; it will be attempted on its schedule.".into(),
            ));
        }
        if !endpoint.enabled && before.event_type != events::TEST {
            return Err(Error::Conflict(
                "The endpoint is disabled; enable it before sending deliveries again.".into(),
            ));
        }
        let mut after = before.clone();
        after.status = DeliveryStatus::Pending;
        after.next_attempt_at = Some(self.parts.clock.now());
        after.version += 1;
        self.parts
            .store
            .replace_delivery(&after, before.version)
            .await
            .map_err(|e| match e {
                StoreError::Conflict => {
                    Error::Conflict("The delivery changed while this request was made.".into())
                }
                other => other.into(),
            })?;
        queue
            .send(&after.message(after.attempts.len() as u32 + 1, true))
            .await?;
        Ok(())
    }
}

impl Delivery {
    /// A new, pending delivery of `payload` to `endpoint`, due at `now`.
    pub fn new(
        endpoint: &WebhookEndpoint,
        id: Uuid,
        event_type: &str,
        payload: String,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            endpoint_id: endpoint.id,
            workspace_id: endpoint.workspace_id.clone(),
            event_type: event_type.to_owned(),
            webhook_id: format!("msg_{}", id.simple()),
            payload,
            status: DeliveryStatus::Pending,
            attempts: vec![],
            next_attempt_at: Some(now),
            leased_until: None,
            created_at: now,
            version: 1,
        }
    }

    /// The work message of its attempt number `attempt` (a manual retry's, when `manual`).
    pub fn message(&self, attempt: u32, manual: bool) -> WorkMessage {
        WorkMessage::WebhookDelivery {
            endpoint_id: self.endpoint_id,
            delivery_id: self.id,
            attempt,
            manual,
        }
    }
}
