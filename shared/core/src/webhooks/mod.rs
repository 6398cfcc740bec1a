//! Webhooks: a workspace's endpoints, told of its keys' lives by signed deliveries that follow
//! Standard Webhooks v1.
//!
//! Events come from the changes themselves: every change writes its audit event in its own
//! transaction, and the table's stream hands each new audit event to the dispatcher
//! ([`dispatch`]), which makes one delivery per endpoint that wants it. The audit event is the
//! outbox: no change is told without having happened, and none is lost when a function dies after
//! it. The worker sends each delivery ([`delivery`]) and retries it on [`schedule::RETRY_DELAYS`].

pub mod delivery;
pub mod dispatch;
pub mod draft;
pub mod events;
pub mod schedule;
pub mod secret;
pub mod service;
pub mod signature;
pub mod store;
pub mod transport;
pub mod url;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::WorkspaceId;

/// A secret of an endpoint, sealed ([`secret::SecretBox`]); a replaced one signs `until` a
/// rotation's overlap ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// The sealed secret.
    pub sealed: String,
    /// When it stops signing (`None`: the current secret).
    pub until: Option<DateTime<Utc>>,
}

/// Where a workspace's events are sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    /// Its id.
    pub id: Uuid,
    /// The workspace it belongs to.
    pub workspace_id: WorkspaceId,
    /// Where deliveries go (checked by [`url::EndpointUrl`] when set).
    pub url: String,
    /// What its owners call it.
    pub description: String,
    /// The event types it wants, or `["*"]`.
    pub events: Vec<String>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why it was disabled, when Latchkey disabled it (a 410, a delivery failing for days).
    pub disabled_reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// The current secret first, then a replaced one while it still signs.
    pub secrets: Vec<SealedSecret>,
    /// Bumped by every change; writes are conditional on the version read.
    pub version: u64,
}

impl WebhookEndpoint {
    /// Whether it wants events of `event_type`.
    pub fn wants(&self, event_type: &str) -> bool {
        self.enabled
            && (event_type == events::TEST
                || self
                    .events
                    .iter()
                    .any(|e| e == events::ALL || e == event_type))
    }

    /// The secrets that sign at `now`: the current one, and a replaced one until its overlap
    /// ends.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> impl Iterator<Item = &SealedSecret> {
        self.secrets
            .iter()
            .filter(move |s| s.until.is_none_or(|until| now < until))
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answered it.
    Delivered,
    /// Given up (the schedule ran out, a 410, or its endpoint was disabled or deleted).
    Failed,
}

/// One try at a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// The answer's status, when one came.
    pub status_code: Option<u16>,
    /// What went wrong, when something did.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
}

/// One event on its way to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Its id: the event's id (one delivery per endpoint and event).
    pub id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// The endpoint's workspace.
    pub workspace_id: WorkspaceId,
    /// The event's type.
    pub event_type: String,
    /// `webhook-id`: the same on every attempt.
    pub webhook_id: String,
    /// The body, fixed when the delivery was made, so every attempt signs the same bytes.
    pub payload: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// An attempt in flight holds the delivery until then, so two workers never send it at once;
    /// a worker that dies mid-attempt lets it go when this passes.
    pub leased_until: Option<DateTime<Utc>>,
    /// Made.
    pub created_at: DateTime<Utc>,
    /// Bumped by every change; writes are conditional on the version read.
    pub version: u64,
}
