//! The DynamoDB adapter of [`LifecycleStore`]: the sparse expiry index (`gsi2`, one partition per
//! UTC day), and a marker attribute per transition on the key's item, set in one transaction with
//! the notification it sends.

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client,
    types::{AttributeValue, TransactWriteItem, Update},
};
use chrono::{DateTime, NaiveDate, Utc};

use super::DynamoAuditStore;
use crate::table;
use latchkey_core::{
    audit::AuditEvent,
    ids::{KeyId, UserId},
    lifecycle::LifecycleStore,
    notifications::Notification,
    store::StoreError,
    timestamp,
    transition::Transition,
};

/// The attribute that marks `transition` as done for a key's current expiry.
fn marker(transition: Transition) -> &'static str {
    match transition {
        Transition::ExpiringIn7Days => "notified_expiring_7d",
        Transition::ExpiringIn1Day => "notified_expiring_1d",
        Transition::Expired => "notified_expired",
    }
}

/// Lifecycle state in the single table.
#[derive(Clone, Debug)]
pub struct DynamoLifecycleStore {
    client: Client,
    table: String,
    /// The audit log each change's event joins, in the change's transaction.
    audit: DynamoAuditStore,
}

impl DynamoLifecycleStore {
    /// An adapter over `table`, recording to `audit`.
    pub fn new(client: Client, table: impl Into<String>, audit: DynamoAuditStore) -> Self {
        Self {
            client,
            table: table.into(),
            audit,
        }
    }
}

#[async_trait]
impl LifecycleStore for DynamoLifecycleStore {
    async fn expiring_on(
        &self,
        day: NaiveDate,
        horizon: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, KeyId)>, StoreError> {
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
            .map_err(crate::failure::sdk)?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let (at, id) = item.get(table::GSI2_SK)?.as_s().ok()?.split_once('#')?;
                Some((
                    DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
                    KeyId::parse(id)?,
                ))
            })
            .collect())
    }

    async fn mark(
        &self,
        key_id: KeyId,
        expires_at: DateTime<Utc>,
        transition: Transition,
        owner: &UserId,
        notification: &Notification,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let [expiry, legacy] = timestamp::stored_forms(expires_at);
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(table::key_pk(key_id)))
            .key(table::SK, AttributeValue::S(table::KEY_SK.into()))
            .condition_expression(
                "expires_at IN (:exp, :legacy) AND (attribute_not_exists(#m) OR NOT (#m IN (:exp, :legacy)))",
            )
            .expression_attribute_names("#m", marker(transition))
            .expression_attribute_values(":exp", AttributeValue::S(expiry))
            .expression_attribute_values(":legacy", AttributeValue::S(legacy));
        update = if transition == Transition::Expired {
            // Handled: the key leaves the expiry index, so later sweeps no longer read it.
            update.update_expression(format!(
                "SET #m = :exp REMOVE {}, {}",
                table::GSI2_PK,
                table::GSI2_SK
            ))
        } else {
            update.update_expression("SET #m = :exp")
        };
        let update = update.build().map_err(StoreError::backend)?;
        let put = super::notifications::put(&self.table, owner, notification)?;
        let mut items = vec![
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder().put(put).build(),
        ];
        if let Some(event) = event {
            items.extend(self.audit.items(event)?);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // The key's marker or expiry: done already, or no longer due.
            Err(err)
                if super::failed_conditions(&err).is_some_and(|failed| failed.contains(&0)) =>
            {
                Ok(false)
            }
            // Only the audit head: another change of the workspace took its place.
            Err(err) if super::failed_conditions(&err).is_some() => Err(StoreError::Conflict),
            Err(err) => Err(crate::failure::sdk(err)),
        }
    }
}
