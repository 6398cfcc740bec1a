//! Sending a delivery: one attempt per work message, signed as Standard Webhooks v1 says, its
//! outcome recorded, and the next attempt scheduled.
//!
//! A delivery is held by a lease while an attempt is in flight (a conditional write), so two
//! messages for one attempt never send it twice at once; a worker that dies mid-attempt lets the
//! lease lapse, and the due index brings the delivery back (the receiver de-duplicates the
//! repeat by `webhook-id`, the same on every attempt). Retries due within SQS's 15-minute delay
//! are sent delayed; every retry is also in the due index, which the sweeper reads each minute,
//! so a longer wait needs nothing but the table.

use std::{sync::Arc, time::Instant};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{
    Attempt, Delivery, DeliveryStatus, WebhookEndpoint, events, schedule,
    secret::SecretBox,
    service::{changes, record},
    signature,
    store::WebhookStore,
    url::{EndpointUrl, UrlPolicy},
};
use crate::{
    audit::{Actor, ActorKind, Origin, store::AuditTrail},
    clock::Clock,
    error::Error,
    notifications::{NewNotification, Notifications, kinds},
    profiles::ProfileStore,
    queue::WorkQueue,
    store_error::StoreError,
};

/// How long one attempt may take.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// How long an attempt holds its delivery: past the timeout, with room to record it.
pub const LEASE: Duration = Duration::seconds(60);
/// How far back the due index is read (the longest wait, a day, and then some).
pub const DUE_LOOKBACK_DAYS: i64 = 3;
/// The longest delay SQS gives a message.
pub const MAX_QUEUE_DELAY: Duration = Duration::minutes(15);

/// What an endpoint did with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// It answered with `status` (and `Retry-After`, when it sent one).
    Status {
        /// The status code.
        status: u16,
        /// Its `Retry-After`.
        retry_after: Option<String>,
    },
    /// It did not answer: the reason (refused address, timeout, connection, TLS).
    NoAnswer(String),
}

/// How requests reach endpoints: `https` with the address connected to checked
/// ([`super::url::forbidden`]), no redirects followed, a [`TIMEOUT`].
#[async_trait]
pub trait Transport: Send + Sync {
    /// Posts `body` with `headers` to `url`; loopback is reachable only when `allow_loopback`.
    async fn post(
        &self,
        url: &EndpointUrl,
        headers: &[(&'static str, String)],
        body: &str,
        allow_loopback: bool,
    ) -> Answer;
}

/// What one message's attempt came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx.
    Delivered,
    /// Failed; tried again at this time.
    Retrying(DateTime<Utc>),
    /// Failed for good.
    Failed,
    /// Nothing to do: done already, another attempt's message, or held by one in flight.
    Skipped,
}

/// What sending is built from.
pub struct DelivererParts {
    /// Endpoints and deliveries.
    pub store: Arc<dyn WebhookStore>,
    /// Opens secrets.
    pub secrets: SecretBox,
    /// Which URLs are accepted.
    pub policy: UrlPolicy,
    /// How requests go out.
    pub transport: Arc<dyn Transport>,
    /// Where delayed retries go.
    pub queue: Arc<dyn WorkQueue>,
    /// Now (schedules, leases).
    pub clock: Arc<dyn Clock>,
    /// Records an endpoint Latchkey disables.
    pub trail: AuditTrail,
    /// Tells owners of a disabled endpoint.
    pub notifications: Arc<Notifications>,
    /// Who the owners are.
    pub profiles: Arc<dyn ProfileStore>,
}

/// Sends deliveries.
pub struct Deliverer {
    parts: DelivererParts,
}

/// A 2xx, a 410, a status that asks for a later retry, or another failure.
fn verdict(answer: &Answer) -> (Option<u16>, Option<String>) {
    match answer {
        Answer::Status { status, .. } if (200..300).contains(status) => (Some(*status), None),
        Answer::Status { status, .. } => (
            Some(*status),
            Some(format!("the endpoint answered {status}")),
        ),
        Answer::NoAnswer(why) => (None, Some(why.clone())),
    }
}

impl Deliverer {
    /// A deliverer over `parts`.
    pub fn new(parts: DelivererParts) -> Self {
        Self { parts }
    }

    /// Makes attempt number `attempt` of a delivery (`manual`: a retry someone asked for, with
    /// no schedule after it).
    pub async fn attempt(
        &self,
        endpoint_id: Uuid,
        delivery_id: Uuid,
        attempt: u32,
        manual: bool,
    ) -> Result<Outcome, Error> {
        let store = &self.parts.store;
        let Some(before) = store.delivery(endpoint_id, delivery_id).await? else {
            return Ok(Outcome::Skipped);
        };
        let now = self.parts.clock.now();
        if before.status != DeliveryStatus::Pending
            || before.attempts.len() as u32 + 1 != attempt
            || before.leased_until.is_some_and(|until| until > now)
        {
            return Ok(Outcome::Skipped);
        }
        let mut held = before.clone();
        held.leased_until = Some(now + LEASE);
        held.version += 1;
        match store.replace_delivery(&held, before.version).await {
            Err(StoreError::Conflict) => return Ok(Outcome::Skipped),
            other => other?,
        }
        let endpoint = store.endpoint(&held.workspace_id, endpoint_id).await?;
        let (answer, at, duration_ms) = match &endpoint {
            Some(endpoint) if endpoint.enabled || held.event_type == events::TEST => {
                self.send(endpoint, &held).await
            }
            Some(_) => (Answer::NoAnswer("the endpoint is disabled".into()), now, 0),
            None => (Answer::NoAnswer("the endpoint was deleted".into()), now, 0),
        };
        let (status_code, error) = verdict(&answer);
        let mut after = held.clone();
        after.attempts.push(Attempt {
            at,
            status_code,
            error: error.clone(),
            duration_ms,
        });
        after.leased_until = None;
        after.version += 1;
        let usable = endpoint
            .as_ref()
            .is_some_and(|e| e.enabled || held.event_type == events::TEST);
        let (outcome, disable) = match (&answer, error) {
            (_, None) => (Outcome::Delivered, None),
            (Answer::Status { status: 410, .. }, _) => (
                Outcome::Failed,
                Some("The endpoint answered 410 Gone.".to_owned()),
            ),
            _ if manual || !usable => (Outcome::Failed, None),
            (answer, Some(_)) => {
                let tries = after.attempts.len();
                let asked = match answer {
                    Answer::Status {
                        status: 429 | 503,
                        retry_after: Some(value),
                    } => schedule::retry_after(value, at).map(|wait| at + wait),
                    _ => None,
                };
                let scheduled = schedule::next_after(tries, at, rand::random());
                match (tries < schedule::MAX_ATTEMPTS, asked.or(scheduled)) {
                    (true, Some(next)) => (Outcome::Retrying(next), None),
                    _ => (
                        Outcome::Failed,
                        Some(format!(
                            "Deliveries failed {tries} times over {} hours.",
                            (at - after.created_at).num_hours()
                        )),
                    ),
                }
            }
        };
        (after.status, after.next_attempt_at) = match outcome {
            Outcome::Delivered => (DeliveryStatus::Delivered, None),
            Outcome::Retrying(next) => (DeliveryStatus::Pending, Some(next)),
            _ => (DeliveryStatus::Failed, None),
        };
        // The endpoint disabled before the delivery says it failed, so whoever sees the failure
        // sees its consequence too.
        if let (Some(reason), Some(endpoint)) = (disable, endpoint) {
            self.disable(endpoint, reason).await?;
        }
        store.replace_delivery(&after, held.version).await?;
        if let Outcome::Retrying(next) = outcome {
            let wait = next - self.parts.clock.now();
            if wait <= MAX_QUEUE_DELAY {
                let message = after.message(after.attempts.len() as u32 + 1, false);
                // The due index has it too: a message lost here is found by the sweeper.
                if let Err(err) = self
                    .parts
                    .queue
                    .send_delayed(&message, wait.to_std().unwrap_or_default())
                    .await
                {
                    tracing::warn!(error = %err, "retry left to the due index");
                }
            }
        }
        Ok(outcome)
    }

    /// Signs and posts `delivery` to `endpoint`: what it answered, when, and how long it took.
    async fn send(
        &self,
        endpoint: &WebhookEndpoint,
        delivery: &Delivery,
    ) -> (Answer, DateTime<Utc>, u64) {
        let at = self.parts.clock.now();
        let url = match EndpointUrl::parse(&endpoint.url, self.parts.policy) {
            Ok(url) => url,
            Err(why) => return (Answer::NoAnswer(format!("the URL {why}")), at, 0),
        };
        let owner = endpoint.id.to_string();
        let secrets: Result<Vec<_>, _> = endpoint
            .signing_secrets(at)
            .map(|s| self.parts.secrets.open(&s.sealed, &owner))
            .collect();
        let secrets = match secrets {
            Ok(secrets) => secrets,
            Err(err) => return (Answer::NoAnswer(err.to_string()), at, 0),
        };
        // The signed timestamp is the wall clock's, as receivers check it against theirs.
        let timestamp = Utc::now().timestamp();
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("user-agent", "Latchkey-Webhooks/1".to_owned()),
            ("webhook-id", delivery.webhook_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                signature::sign(
                    &secrets,
                    &delivery.webhook_id,
                    timestamp,
                    delivery.payload.as_bytes(),
                ),
            ),
        ];
        let allow_loopback = self.parts.policy == UrlPolicy::AllowLocalhost && url.is_localhost();
        let started = Instant::now();
        let answer = self
            .parts
            .transport
            .post(&url, &headers, &delivery.payload, allow_loopback)
            .await;
        (answer, at, started.elapsed().as_millis() as u64)
    }

    /// Disables `endpoint` for `reason`, recorded as the system's change, and tells its
    /// workspace's owners and admins.
    async fn disable(&self, endpoint: WebhookEndpoint, reason: String) -> Result<(), Error> {
        if !endpoint.enabled {
            return Ok(());
        }
        let now = self.parts.clock.now();
        let mut after = endpoint.clone();
        after.enabled = false;
        after.disabled_reason = Some(reason.clone());
        after.updated_at = now;
        after.version += 1;
        let actor = Actor {
            kind: ActorKind::System,
            id: "webhooks".into(),
            name: Some("webhook delivery".into()),
        };
        let origin = Origin {
            family: "worker".into(),
            ..Origin::default()
        };
        let store = &self.parts.store;
        let (before, after) = (&endpoint, &after);
        let written = self
            .parts
            .trail
            .recording(
                record(
                    after,
                    "webhook.disabled",
                    (actor, origin),
                    changes(Some(before), Some(after)),
                    now,
                ),
                |event| async move {
                    store
                        .put_endpoint(after, Some(before.version), &event)
                        .await
                },
            )
            .await;
        match written {
            // Changed meanwhile (its owners edited or disabled it): theirs stands.
            Err(StoreError::Conflict) => return Ok(()),
            other => other?,
        }
        let notice = NewNotification {
            kind: kinds::WEBHOOK_DISABLED,
            title: "Webhook endpoint disabled".into(),
            message: format!(
                "Latchkey disabled the webhook endpoint {}: {reason}",
                after.url
            ),
            data: json!({"webhook_endpoint_id": after.id, "url": after.url, "reason": reason}),
        };
        self.parts
            .notifications
            .tell_admins(self.parts.profiles.as_ref(), &after.workspace_id, notice)
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{
        auth::{Caller, Credential},
        clock::ManualClock,
        config::Config,
        ids::{UserId, WorkspaceId},
        queue::{MemoryQueue, WorkMessage},
        role::Role,
        webhooks::{
            draft::{EndpointChanges, EndpointDraft},
            secret::SigningSecret,
            service::Webhooks,
        },
        wiring::Wiring,
    };

    /// Answers as scripted (`None`: never answers, as a worker killed mid-request), and keeps
    /// what it was sent.
    #[derive(Default)]
    struct Scripted {
        answers: Mutex<Vec<Option<Answer>>>,
        sent: Mutex<Vec<Vec<(&'static str, String)>>>,
    }

    #[async_trait]
    impl Transport for Scripted {
        async fn post(
            &self,
            _: &EndpointUrl,
            headers: &[(&'static str, String)],
            _: &str,
            _: bool,
        ) -> Answer {
            self.sent.lock().unwrap().push(headers.to_vec());
            let answer = self.answers.lock().unwrap().remove(0);
            match answer {
                Some(answer) => answer,
                None => std::future::pending().await,
            }
        }
    }

    fn status(status: u16) -> Answer {
        Answer::Status {
            status,
            retry_after: None,
        }
    }

    struct World {
        webhooks: Arc<Webhooks>,
        deliverer: Deliverer,
        transport: Arc<Scripted>,
        queue: Arc<MemoryQueue>,
        clock: Arc<ManualClock>,
        owner: Caller,
        wiring: Wiring,
    }

    fn world(answers: Vec<Answer>) -> World {
        let config = Config::from_lookup(|name| {
            Some(match name {
                "LATCHKEY_TABLE" => "t".to_owned(),
                "LATCHKEY_WEBHOOK_KEY" => "unit-test-webhook-key".to_owned(),
                _ => return None,
            })
        })
        .unwrap();
        let clock = ManualClock::now();
        let wiring = Wiring::in_memory(config, clock.clone());
        let transport = Arc::new(Scripted {
            answers: Mutex::new(answers.into_iter().map(Some).collect()),
            ..Scripted::default()
        });
        let queue = Arc::new(MemoryQueue::default());
        let deliverer = wiring.webhook_deliverer(transport.clone(), queue.clone());
        let owner = Caller {
            user_id: UserId::parse("owner-1").unwrap(),
            workspace_id: WorkspaceId::parse("ws-1").unwrap(),
            credential: Credential::Session { role: Role::Owner },
            origin: Origin::default(),
        };
        World {
            webhooks: wiring.webhooks(),
            deliverer,
            transport,
            queue,
            clock,
            owner,
            wiring,
        }
    }

    impl World {
        async fn endpoint(&self) -> (Uuid, String) {
            let changes = EndpointChanges::from_draft(
                EndpointDraft {
                    url: Some("https://hooks.example.com/x".into()),
                    ..EndpointDraft::default()
                },
                UrlPolicy::PublicHttps,
                true,
            )
            .unwrap();
            let made = self.webhooks.create(&self.owner, changes).await.unwrap();
            (made.endpoint.id, made.secret)
        }

        async fn delivery(&self, endpoint: Uuid, id: Uuid) -> Delivery {
            self.webhooks
                .deliveries(&self.owner, endpoint, None, 100)
                .await
                .unwrap()
                .deliveries
                .into_iter()
                .find(|d| d.id == id)
                .unwrap()
        }
    }

    #[tokio::test]
    async fn a_failing_delivery_follows_the_schedule_then_disables_its_endpoint() {
        let w = world((0..10).map(|_| status(500)).collect());
        let (endpoint, _) = w.endpoint().await;
        let id = w.webhooks.test(&w.owner, endpoint).await.unwrap();
        for attempt in 1..=10u32 {
            let outcome = w
                .deliverer
                .attempt(endpoint, id, attempt, false)
                .await
                .unwrap();
            let after = w.delivery(endpoint, id).await;
            assert_eq!(after.attempts.len(), attempt as usize);
            assert_eq!(after.attempts[attempt as usize - 1].status_code, Some(500));
            if attempt < 10 {
                let Outcome::Retrying(next) = outcome else {
                    panic!("{outcome:?}")
                };
                let delay = schedule::RETRY_DELAYS[attempt as usize - 1];
                let waited = next - after.attempts.last().unwrap().at;
                let slack = delay.num_milliseconds() / 10 + 1;
                assert!(
                    (waited - delay).num_milliseconds().abs() <= slack,
                    "{attempt}: {waited}"
                );
                assert_eq!(after.next_attempt_at, Some(next));
                // A second message for the same attempt is moot.
                assert_eq!(
                    w.deliverer
                        .attempt(endpoint, id, attempt, false)
                        .await
                        .unwrap(),
                    Outcome::Skipped
                );
                w.clock.advance(next - w.clock.now());
            } else {
                assert_eq!(outcome, Outcome::Failed);
                assert_eq!(after.status, DeliveryStatus::Failed);
            }
        }
        // Retries within 15 minutes go to the queue delayed; longer ones wait in the due index.
        let sent = w.queue.take();
        let delays: Vec<u64> = sent.iter().map(|(_, delay)| delay.as_secs()).collect();
        assert!(
            delays.len() == 2 && (4..=6).contains(&delays[0]) && (270..=330).contains(&delays[1]),
            "{delays:?}"
        );
        assert!(matches!(
            sent[0].0,
            WorkMessage::WebhookDelivery { attempt: 2, .. }
        ));
        let after = w.webhooks.get(&w.owner, endpoint).await.unwrap();
        assert!(!after.enabled);
        assert!(
            after
                .disabled_reason
                .as_deref()
                .unwrap()
                .contains("failed 10 times"),
            "{after:?}"
        );
        // Every attempt carried the same webhook-id.
        let ids: Vec<String> = w
            .transport
            .sent
            .lock()
            .unwrap()
            .iter()
            .map(|h| {
                h.iter()
                    .find(|(n, _)| *n == "webhook-id")
                    .unwrap()
                    .1
                    .clone()
            })
            .collect();
        assert!(ids.windows(2).all(|p| p[0] == p[1]) && ids.len() == 10);
        let _ = &w.wiring;
    }

    #[tokio::test]
    async fn a_410_disables_and_a_429_waits_as_asked() {
        let w = world(vec![
            Answer::Status {
                status: 429,
                retry_after: Some("120".into()),
            },
            status(410),
        ]);
        let (endpoint, _) = w.endpoint().await;
        let id = w.webhooks.test(&w.owner, endpoint).await.unwrap();
        let outcome = w.deliverer.attempt(endpoint, id, 1, false).await.unwrap();
        let at = w.delivery(endpoint, id).await.attempts[0].at;
        assert_eq!(outcome, Outcome::Retrying(at + Duration::seconds(120)));
        assert_eq!(
            w.deliverer.attempt(endpoint, id, 2, false).await.unwrap(),
            Outcome::Failed
        );
        let after = w.webhooks.get(&w.owner, endpoint).await.unwrap();
        assert!(!after.enabled);
        assert_eq!(
            after.disabled_reason.as_deref(),
            Some("The endpoint answered 410 Gone.")
        );
    }

    #[tokio::test]
    async fn deliveries_are_signed_by_both_secrets_during_a_rotation() {
        let w = world(vec![status(204), status(200), status(200)]);
        let (endpoint, first) = w.endpoint().await;
        let id = w.webhooks.test(&w.owner, endpoint).await.unwrap();
        assert_eq!(
            w.deliverer.attempt(endpoint, id, 1, false).await.unwrap(),
            Outcome::Delivered
        );
        let second = w.webhooks.rotate_secret(&w.owner, endpoint).await.unwrap();
        let id2 = w.webhooks.test(&w.owner, endpoint).await.unwrap();
        w.deliverer.attempt(endpoint, id2, 1, false).await.unwrap();
        w.clock.advance(Duration::hours(25));
        let id3 = w.webhooks.test(&w.owner, endpoint).await.unwrap();
        w.deliverer.attempt(endpoint, id3, 1, false).await.unwrap();

        let sent = w.transport.sent.lock().unwrap().clone();
        let header =
            |i: usize, name: &str| sent[i].iter().find(|(n, _)| *n == name).unwrap().1.clone();
        let expected = |i: usize, secrets: &[&str]| {
            let body = w.delivery_body(endpoint, [id, id2, id3][i]);
            let secrets: Vec<SigningSecret> = secrets
                .iter()
                .map(|s| SigningSecret::parse(s).unwrap())
                .collect();
            signature::sign(
                &secrets,
                &header(i, "webhook-id"),
                header(i, "webhook-timestamp").parse().unwrap(),
                body.as_bytes(),
            )
        };
        assert_eq!(header(0, "webhook-signature"), expected(0, &[&first]));
        assert_eq!(
            header(1, "webhook-signature"),
            expected(1, &[&second, &first])
        );
        assert_eq!(header(2, "webhook-signature"), expected(2, &[&second]));
    }

    #[tokio::test]
    async fn a_worker_killed_mid_attempt_holds_the_delivery_until_its_lease_lapses() {
        let w = world(vec![]);
        w.transport
            .answers
            .lock()
            .unwrap()
            .extend([None, Some(status(200))]);
        let (endpoint, _) = w.endpoint().await;
        let id = w.webhooks.test(&w.owner, endpoint).await.unwrap();
        let killed = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            w.deliverer.attempt(endpoint, id, 1, false),
        )
        .await;
        assert!(killed.is_err(), "the attempt never finished");
        // Its message delivered again at once: held by the lease, nothing sent twice at once.
        assert_eq!(
            w.deliverer.attempt(endpoint, id, 1, false).await.unwrap(),
            Outcome::Skipped
        );
        w.clock.advance(LEASE + Duration::seconds(1));
        assert_eq!(
            w.deliverer.attempt(endpoint, id, 1, false).await.unwrap(),
            Outcome::Delivered
        );
        // Sent twice in all, with one webhook-id, which is what a receiver de-duplicates by.
        let sent = w.transport.sent.lock().unwrap().clone();
        let ids: Vec<&String> = sent
            .iter()
            .map(|h| &h.iter().find(|(n, _)| *n == "webhook-id").unwrap().1)
            .collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0], ids[1]);
        assert_eq!(w.delivery(endpoint, id).await.attempts.len(), 1);
    }

    impl World {
        fn delivery_body(&self, endpoint: Uuid, id: Uuid) -> String {
            futures_util::FutureExt::now_or_never(self.delivery(endpoint, id))
                .expect("memory answers at once")
                .payload
        }
    }
}
