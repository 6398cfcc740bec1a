//! The DynamoDB adapter of [`LifecycleStore`]: the sparse expiry index (`gsi2`, one partition per
//! UTC day), and a marker attribute per transition on the key's item, set in one transaction with
//! the notification it sends.

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client,
    types::{AttributeValue, TransactWriteItem, Update},
};
use chrono::{DateTime, NaiveDate, Utc};

use crate::table;
use latchkey_core::{
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
}

impl DynamoLifecycleStore {
    /// An adapter over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
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
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_transaction_canceled_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(crate::failure::sdk(err)),
        }
    }
}
