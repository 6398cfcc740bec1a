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

use aws_sdk_dynamodb::{
    Client,
    types::{AttributeValue, TransactWriteItem, Update},
};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::store::StoreError;
use crate::{
    error::Error,
    ids::KeyId,
    keys::store::KeyStore,
    notifications::{NewNotification, Notifications, kinds},
    queue::{WorkMessage, WorkQueue},
    table, timestamp,
    transition::Transition,
};

/// How far back a sweep looks for expired keys it has not handled (a sweeper outage shorter than
/// this loses nothing).
pub const LOOKBACK_DAYS: i64 = 30;

/// The attribute that marks `transition` as done for a key's current expiry.
fn marker(transition: Transition) -> &'static str {
    match transition {
        Transition::ExpiringIn7Days => "notified_expiring_7d",
        Transition::ExpiringIn1Day => "notified_expiring_1d",
        Transition::Expired => "notified_expired",
    }
}

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

/// Sweeps and applies key transitions.
pub struct Lifecycle {
    client: Client,
    table: String,
    keys: Arc<dyn KeyStore>,
    notifications: Arc<Notifications>,
}

impl Lifecycle {
    /// Lifecycle over `table`.
    pub fn new(
        client: Client,
        table: impl Into<String>,
        keys: Arc<dyn KeyStore>,
        notifications: Arc<Notifications>,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            keys,
            notifications,
        }
    }

    /// Finds the keys with a transition due at `now` and enqueues one message for each.
    pub async fn sweep(&self, now: DateTime<Utc>, queue: &WorkQueue) -> Result<SweepReport, Error> {
        let mut report = SweepReport::default();
        let horizon = now + Duration::days(7);
        let mut day = (now - Duration::days(LOOKBACK_DAYS)).date_naive();
        let mut messages = Vec::new();
        while day <= horizon.date_naive() {
            let pk = table::expiry_pk(day.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
            let items = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(table::GSI2)
                .key_condition_expression("#pk = :pk AND #sk <= :horizon")
                .expression_attribute_names("#pk", table::GSI2_PK)
                .expression_attribute_names("#sk", table::GSI2_SK)
                .expression_attribute_values(":pk", AttributeValue::S(pk))
                .expression_attribute_values(
                    ":horizon",
                    AttributeValue::S(format!("{}~", timestamp::format(horizon))),
                )
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(StoreError::sdk)?;
            report.queries += 1;
            report.items_read += items.len() as u64;
            for item in items {
                let Some((expires_at, key_id)) = item
                    .get(table::GSI2_SK)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|sk| sk.split_once('#'))
                    .and_then(|(at, id)| {
                        Some((
                            DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
                            KeyId::parse(id)?,
                        ))
                    })
                else {
                    continue;
                };
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
        let [expiry, legacy] = timestamp::stored_forms(expires_at);
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(table::key_pk(key_id)))
            .key(table::SK, AttributeValue::S(table::KEY_SK.into()))
            .condition_expression(
                "expires_at IN (:exp, :legacy) AND (attribute_not_exists(#m) OR NOT (#m IN (:exp, :legacy)))",
            )
            .expression_attribute_names("#m", marker(transition))
            .expression_attribute_values(":exp", AttributeValue::S(expiry.clone()))
            .expression_attribute_values(":legacy", AttributeValue::S(legacy));
        update = if transition == Transition::Expired {
            // Handled: the key leaves the expiry index, so later sweeps no longer read it.
            update.update_expression("SET #m = :exp REMOVE gsi2pk, gsi2sk")
        } else {
            update.update_expression("SET #m = :exp")
        };
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
        let put = self.notifications.put(&key.owner_id, notification)?;
        let update = update.build().map_err(Error::internal)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Applied::Done),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_transaction_canceled_exception()) =>
            {
                Ok(Applied::Skipped)
            }
            Err(err) => Err(StoreError::sdk(err).into()),
        }
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
}
