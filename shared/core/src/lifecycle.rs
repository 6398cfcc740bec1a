//! Key lifecycle without anyone calling the API: the sweeper finds keys that are about to expire,
//! have expired, or have finished their rotation grace, and the worker acts on each.
//!
//! The sweeper reads the sparse expiry index (`gsi2`, one partition per UTC day) for the days from
//! [`LOOKBACK_DAYS`] before now to 7 days ahead: its cost follows the keys due, not all keys, and a
//! key leaves the index once its expiry is handled. It enqueues one message per key and transition.
//! The worker applies a transition in one transaction: a marker on the key, conditional on it not
//! being set for this expiry, and the notification. Overlapping sweeps and redelivered messages
//! therefore notify exactly once per key, threshold and expiry.
//!
//! Verification never depends on this: it rejects expired keys at read time. Sweeps are for state
//! and notifications. The time of a sweep comes from its scheduled event and travels in every
//! message, so tests move the clock instead of sleeping.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use std::collections::BTreeMap;

use crate::store_error::StoreError;
use crate::{
    audit::{Actor, ActorKind, AuditEvent, Change, Origin, Record, store::AuditTrail},
    error::Error,
    ids::{KeyId, UserId},
    keys::{record, store::KeyStore},
    notifications::{NewNotification, Notification, Notifications, kinds},
    queue::{WorkMessage, WorkQueue},
    timestamp,
    transition::Transition,
};

/// How far back a sweep looks for expired keys it has not handled (a sweeper outage shorter than
/// this loses nothing).
pub const LOOKBACK_DAYS: i64 = 30;

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Index partitions queried.
    pub queries: u32,
    /// Index items read.
    pub items_read: u64,
    /// Messages enqueued.
    pub enqueued: u64,
}

/// Whether applying a transition changed anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Marked and notified now.
    Done,
    /// Already done, no longer due, or the key is gone or revoked.
    Skipped,
}

/// The storage port of the lifecycle: the expiry index, and the markers of transitions done.
#[async_trait]
pub trait LifecycleStore: Send + Sync {
    /// The keys whose expiry is on `day` and no later than `horizon`, and not yet handled as
    /// expired: `(expires_at, key id)`.
    async fn expiring_on(
        &self,
        day: NaiveDate,
        horizon: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, KeyId)>, StoreError>;
    /// In one transaction: marks `transition` done for key `key_id` while its expiry is still
    /// `expires_at` (an expired key also leaves the expiry index), stores `notification` for
    /// `owner`, and records `event` when given. Returns false, writing nothing, when the marker
    /// is already set for this expiry or the expiry changed; `Conflict` when only the event's
    /// place in the chain was taken.
    async fn mark(
        &self,
        key_id: KeyId,
        expires_at: DateTime<Utc>,
        transition: Transition,
        owner: &UserId,
        notification: &Notification,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError>;
}

/// Sweeps and applies key transitions.
pub struct Lifecycle {
    store: Arc<dyn LifecycleStore>,
    keys: Arc<dyn KeyStore>,
    notifications: Arc<Notifications>,
    trail: AuditTrail,
}

impl Lifecycle {
    /// Lifecycle over `store`, reading keys from `keys`, recording expiries in `trail`.
    pub fn new(
        store: Arc<dyn LifecycleStore>,
        keys: Arc<dyn KeyStore>,
        notifications: Arc<Notifications>,
        trail: AuditTrail,
    ) -> Self {
        Self {
            store,
            keys,
            notifications,
            trail,
        }
    }

    /// Finds the keys with a transition due at `now` and enqueues one message for each.
    pub async fn sweep(
        &self,
        now: DateTime<Utc>,
        queue: &dyn WorkQueue,
    ) -> Result<SweepReport, Error> {
        let mut report = SweepReport::default();
        let horizon = now + Duration::days(7);
        let mut day = (now - Duration::days(LOOKBACK_DAYS)).date_naive();
        let mut messages = Vec::new();
        while day <= horizon.date_naive() {
            let due = self.store.expiring_on(day, horizon).await?;
            report.queries += 1;
            report.items_read += due.len() as u64;
            for (expires_at, key_id) in due {
                if let Some(transition) = Transition::due(expires_at, now) {
                    messages.push(WorkMessage::KeyTransition {
                        key_id,
                        expires_at,
                        transition,
                        at: now,
                    });
                }
            }
            day = day.succ_opt().expect("a next day");
        }
        report.enqueued = messages.len() as u64;
        queue.send_all(&messages).await?;
        Ok(report)
    }

    /// Applies `transition` to key `key_id` as of `at`, exactly once per key, transition and expiry.
    pub async fn apply(
        &self,
        key_id: KeyId,
        expires_at: DateTime<Utc>,
        transition: Transition,
        at: DateTime<Utc>,
    ) -> Result<Applied, Error> {
        let Some(key) = self.keys.get(key_id).await? else {
            return Ok(Applied::Skipped);
        };
        if key.expires_at != Some(expires_at)
            || key.revoked_at.is_some()
            || Transition::due(expires_at, at) != Some(transition)
        {
            return Ok(Applied::Skipped);
        }
        let expiry = timestamp::format(expires_at);
        let days = match transition {
            Transition::ExpiringIn7Days => 7,
            Transition::ExpiringIn1Day => 1,
            Transition::Expired => 0,
        };
        let notification = match (transition, key.rotated_to) {
            (Transition::Expired, Some(new_key)) => NewNotification {
                kind: kinds::API_KEY_ROTATION_COMPLETED,
                title: format!("Rotation of \"{}\" completed", key.name),
                message: format!(
                    "The grace period ended: the previous key of \"{}\" stopped working at {expiry}.",
                    key.name
                ),
                data: serde_json::json!({"api_key_id": key_id, "new_api_key_id": new_key, "expired_at": expiry}),
            },
            (Transition::Expired, None) => NewNotification {
                kind: kinds::API_KEY_EXPIRED,
                title: format!("API key \"{}\" expired", key.name),
                message: format!(
                    "The key \"{}\" expired at {expiry} and no longer works.",
                    key.name
                ),
                data: serde_json::json!({"api_key_id": key_id, "expired_at": expiry}),
            },
            _ => NewNotification {
                kind: kinds::API_KEY_EXPIRING,
                title: format!(
                    "API key \"{}\" expires within {days} day{}",
                    key.name,
                    if days == 1 { "" } else { "s" }
                ),
                message: format!(
                    "The key \"{}\" expires at {expiry}. Rotate it or extend its expiry.",
                    key.name
                ),
                data: serde_json::json!({"api_key_id": key_id, "expires_at": expiry, "days": days}),
            },
        };
        let notification = self.notifications.compose(notification);
        // The expiry, or a warning before it: recorded with its marker (which the webhook
        // dispatcher turns into `key.expired` or `key.expiring_soon`).
        let successor = match (transition, key.rotated_to) {
            (Transition::Expired, Some(id)) => self.keys.get(id).await?,
            _ => None,
        };
        let mut keys = vec![&key];
        keys.extend(successor.as_ref());
        let (action, changes) = match transition {
            Transition::Expired => (
                "key.expired",
                BTreeMap::from([(
                    "expired".to_owned(),
                    Change {
                        from: false.into(),
                        to: true.into(),
                    },
                )]),
            ),
            _ => (
                "key.expiring_soon",
                BTreeMap::from([(
                    "expires_in_days".to_owned(),
                    Change {
                        from: serde_json::Value::Null,
                        to: days.into(),
                    },
                )]),
            ),
        };
        let record = Record {
            workspace_id: key.workspace_id.clone(),
            action: action.into(),
            actor: Actor {
                kind: ActorKind::System,
                id: "worker".into(),
                name: Some("key lifecycle".into()),
            },
            targets: keys.iter().map(|k| record::target(k)).collect(),
            origin: Origin {
                family: "worker".into(),
                ..Origin::default()
            },
            changes,
            users: vec![key.owner_id.to_string()],
            time: at,
        };
        let (key, notification) = (&key, &notification);
        let marked = self
            .trail
            .recording(record, |event| async move {
                self.store
                    .mark(
                        key_id,
                        expires_at,
                        transition,
                        &key.owner_id,
                        notification,
                        Some(&event),
                    )
                    .await
            })
            .await?;
        Ok(if marked {
            Applied::Done
        } else {
            Applied::Skipped
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_urgent_transition_is_due() {
        let now = Utc::now();
        let at = |hours| now + Duration::hours(hours);
        assert_eq!(Transition::due(at(-1), now), Some(Transition::Expired));
        assert_eq!(Transition::due(now, now), Some(Transition::Expired));
        assert_eq!(
            Transition::due(at(23), now),
            Some(Transition::ExpiringIn1Day)
        );
        assert_eq!(
            Transition::due(at(24 * 3), now),
            Some(Transition::ExpiringIn7Days)
        );
        assert_eq!(
            Transition::due(at(24 * 7), now),
            Some(Transition::ExpiringIn7Days)
        );
        assert_eq!(Transition::due(at(24 * 8), now), None);
    }

    use crate::{
        audit::store::AuditStore,
        clock::{Clock, ManualClock},
        ids::{UserId, WorkspaceId},
        keys::caller::Caller,
        keys::caller::Credential,
        keys::{cache::VerifiedKeyCache, secret::KeyPrefix, service::KeyService, spec::NewKeySpec},
        role::Role,
        store::memory::{
            MemoryAuditStore, MemoryKeyStore, MemoryLifecycleStore, MemoryNotificationStore,
        },
    };

    #[tokio::test]
    async fn each_transition_notifies_once_per_expiry_and_a_handled_key_leaves_the_index() {
        let clock = ManualClock::now();
        let audit = Arc::new(MemoryAuditStore::default());
        let keys = Arc::new(MemoryKeyStore::recording_to(audit.clone()));
        let inbox = Arc::new(MemoryNotificationStore::default());
        let store = Arc::new(MemoryLifecycleStore::new(
            keys.clone(),
            inbox.clone(),
            audit.clone(),
        ));
        let lifecycle = Lifecycle::new(
            store.clone(),
            keys.clone(),
            Arc::new(Notifications::new(inbox.clone(), clock.clone())),
            AuditTrail::new(audit.clone()),
        );
        let service = KeyService::new(
            keys,
            KeyPrefix::default(),
            clock.clone(),
            Arc::new(VerifiedKeyCache::new(
                std::time::Duration::from_secs(30),
                clock.clone(),
            )),
        );
        let id = uuid::Uuid::new_v4().to_string();
        let owner = Caller {
            origin: Default::default(),
            user_id: UserId::parse(&id).unwrap(),
            workspace_id: WorkspaceId::parse(&id).unwrap(),
            credential: Credential::Session { role: Role::Owner },
        };
        let spec = NewKeySpec {
            expires_at: Some(clock.now() + Duration::days(3)),
            ..NewKeySpec::named("soon")
        };
        let key = service.create(&owner, spec).await.unwrap().key;
        let expires_at = key.expires_at.unwrap();
        let now = clock.now();
        let due = Transition::due(expires_at, now).unwrap();
        assert_eq!(due, Transition::ExpiringIn7Days);
        assert_eq!(
            lifecycle.apply(key.id, expires_at, due, now).await.unwrap(),
            Applied::Done
        );
        assert_eq!(
            lifecycle.apply(key.id, expires_at, due, now).await.unwrap(),
            Applied::Skipped
        );
        // Not due yet, or for another expiry: nothing happens.
        assert_eq!(
            lifecycle
                .apply(key.id, expires_at, Transition::Expired, now)
                .await
                .unwrap(),
            Applied::Skipped
        );
        assert_eq!(
            lifecycle
                .apply(
                    key.id,
                    expires_at + Duration::days(1),
                    Transition::ExpiringIn7Days,
                    now
                )
                .await
                .unwrap(),
            Applied::Skipped
        );
        let later = expires_at + Duration::minutes(1);
        assert_eq!(
            store
                .expiring_on(expires_at.date_naive(), later)
                .await
                .unwrap(),
            [(expires_at, key.id)]
        );
        assert_eq!(
            lifecycle
                .apply(key.id, expires_at, Transition::Expired, later)
                .await
                .unwrap(),
            Applied::Done
        );
        assert!(
            store
                .expiring_on(expires_at.date_naive(), later)
                .await
                .unwrap()
                .is_empty()
        );
        let kinds: Vec<String> = inbox
            .of(&key.owner_id)
            .into_iter()
            .map(|n| n.kind)
            .collect();
        assert_eq!(kinds, [kinds::API_KEY_EXPIRED, kinds::API_KEY_EXPIRING]);
        let query = crate::audit::store::AuditQuery {
            limit: 10,
            ..Default::default()
        };
        let (events, _) = audit
            .newest_first(&owner.workspace_id, &query)
            .await
            .unwrap();
        let recorded: Vec<(&str, &str, &str)> = events
            .iter()
            .map(|e| {
                (
                    e.action.as_str(),
                    e.actor.id.as_str(),
                    e.context.family.as_str(),
                )
            })
            .collect();
        assert_eq!(
            recorded,
            [
                ("key.expired", "worker", "worker"),
                ("key.expiring_soon", "worker", "worker"),
                ("key.created", owner.user_id.as_str(), "")
            ],
            "each transition once, by the worker (a warning is recorded too: webhooks send it)"
        );
    }
}
