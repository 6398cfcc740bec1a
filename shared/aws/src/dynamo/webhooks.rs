//! The DynamoDB adapter of [`WebhookStore`]: endpoints (`WEBHOOKS#<workspace>` /
//! `ENDPOINT#<id>`) written with their audit events in one transaction, deliveries
//! (`WEBHOOK#<endpoint>` / `DELIVERY#<id>`) written conditionally on their version, and the due
//! index (`gsi2`, `WEBHOOKDUE#<day>`) of pending ones.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client,
    types::{AttributeValue, Delete, TransactWriteItem},
};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{DynamoAuditStore, Item, body_of, versioned_put};
use crate::table;
use latchkey_core::{
    audit::AuditEvent,
    ids::WorkspaceId,
    store::StoreError,
    webhooks::{
        Delivery, DeliveryStatus, WebhookEndpoint,
        delivery::DUE_LOOKBACK_DAYS,
        store::{DueDelivery, WebhookStore},
    },
};

/// Endpoints and deliveries in the single table.
#[derive(Clone, Debug)]
pub struct DynamoWebhookStore {
    client: Client,
    table: String,
    /// Days a delivery is kept.
    retention_days: u32,
    /// The audit log each endpoint change's event joins, in the change's transaction.
    audit: DynamoAuditStore,
}

fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

impl DynamoWebhookStore {
    /// An adapter over `table`, keeping deliveries `retention_days`, recording to `audit`.
    pub fn new(
        client: Client,
        table: impl Into<String>,
        retention_days: u32,
        audit: DynamoAuditStore,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            retention_days,
            audit,
        }
    }

    fn endpoint_key(workspace: &WorkspaceId, id: Uuid) -> Item {
        super::address(
            table::webhooks_pk(workspace),
            table::webhook_endpoint_sk(id),
        )
    }

    fn delivery_key(endpoint: Uuid, id: Uuid) -> Item {
        super::address(
            table::webhook_deliveries_pk(endpoint),
            table::webhook_delivery_sk(id),
        )
    }

    /// The item of `delivery`: in the due index while pending.
    fn delivery_item(&self, delivery: &Delivery) -> Result<Item, StoreError> {
        let mut item = Self::delivery_key(delivery.endpoint_id, delivery.id);
        let expires = delivery.created_at + Duration::days(i64::from(self.retention_days));
        item.insert(
            table::BODY.into(),
            AttributeValue::S(serde_json::to_string(delivery).map_err(StoreError::backend)?),
        );
        item.insert(table::VERSION.into(), number(delivery.version));
        item.insert(table::TTL.into(), number(expires.timestamp().max(0) as u64));
        if let (DeliveryStatus::Pending, Some(at)) = (delivery.status, delivery.next_attempt_at) {
            item.insert(
                table::GSI2_PK.into(),
                AttributeValue::S(table::webhook_due_pk(at.date_naive())),
            );
            item.insert(
                table::GSI2_SK.into(),
                AttributeValue::S(table::webhook_due_sk(
                    at,
                    delivery.endpoint_id,
                    delivery.id,
                    delivery.attempts.len() as u32 + 1,
                )),
            );
        }
        Ok(item)
    }

    async fn get_item(&self, key: Item) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::failure::sdk)?
            .item)
    }
}

#[async_trait]
impl WebhookStore for DynamoWebhookStore {
    async fn endpoints(&self, workspace: &WorkspaceId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", table::PK)
            .expression_attribute_values(":pk", AttributeValue::S(table::webhooks_pk(workspace)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(crate::failure::sdk)?;
        let mut endpoints: Vec<WebhookEndpoint> =
            items.iter().map(body_of).collect::<Result<_, _>>()?;
        endpoints.sort_by_key(|e| (e.created_at, e.id));
        Ok(endpoints)
    }

    async fn endpoint(
        &self,
        workspace: &WorkspaceId,
        id: Uuid,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        self.get_item(Self::endpoint_key(workspace, id))
            .await?
            .as_ref()
            .map(body_of)
            .transpose()
    }

    async fn put_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        expected: Option<u64>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let put = versioned_put(
            &self.table,
            Self::endpoint_key(&endpoint.workspace_id, endpoint.id),
            endpoint,
            endpoint.version,
            expected,
        )?;
        self.audit.write_with(vec![put], Some(event)).await
    }

    async fn delete_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(Self::endpoint_key(
                &endpoint.workspace_id,
                endpoint.id,
            )))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", table::VERSION)
            .expression_attribute_values(":expected", number(endpoint.version))
            .build()
            .map_err(StoreError::backend)?;
        self.audit
            .write_with(
                vec![TransactWriteItem::builder().delete(delete).build()],
                Some(event),
            )
            .await
    }

    async fn insert_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.delivery_item(delivery)?))
            .condition_expression(super::NEW_ITEM_CONDITION)
            .send()
            .await
            .map_err(|e| {
                crate::failure::conditional(e, |s| s.is_conditional_check_failed_exception())
            });
        match written {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn delivery(&self, endpoint: Uuid, id: Uuid) -> Result<Option<Delivery>, StoreError> {
        self.get_item(Self::delivery_key(endpoint, id))
            .await?
            .as_ref()
            .map(body_of)
            .transpose()
    }

    async fn deliveries(
        &self,
        endpoint: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<(Vec<Delivery>, bool), StoreError> {
        let high = match after {
            Some(after) => table::webhook_delivery_sk(after),
            None => format!("{}~", table::WEBHOOK_DELIVERY_PREFIX),
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
            .expression_attribute_names("#pk", table::PK)
            .expression_attribute_names("#sk", table::SK)
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(table::webhook_deliveries_pk(endpoint)),
            )
            .expression_attribute_values(
                ":low",
                AttributeValue::S(table::WEBHOOK_DELIVERY_PREFIX.into()),
            )
            .expression_attribute_values(":high", AttributeValue::S(high))
            .scan_index_forward(false)
            .limit(limit as i32 + 2)
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        let mut page: Vec<Delivery> = out
            .items()
            .iter()
            .map(body_of::<Delivery>)
            .filter(|d| d.as_ref().map_or(true, |d| Some(d.id) != after))
            .collect::<Result<_, _>>()?;
        let more = page.len() > limit || out.last_evaluated_key.is_some() && page.len() == limit;
        page.truncate(limit);
        Ok((page, more))
    }

    async fn replace_delivery(&self, delivery: &Delivery, expected: u64) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.delivery_item(delivery)?))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", table::VERSION)
            .expression_attribute_values(":expected", number(expected))
            .send()
            .await
            .map_err(|e| {
                crate::failure::conditional(e, |s| s.is_conditional_check_failed_exception())
            })?;
        Ok(())
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueDelivery>, StoreError> {
        let bound = table::webhook_due_sk(now, Uuid::max(), Uuid::max(), 99);
        let mut due = Vec::new();
        for back in (0..=DUE_LOOKBACK_DAYS).rev() {
            let day = (now - Duration::days(back)).date_naive();
            let items: Vec<HashMap<String, AttributeValue>> = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(table::GSI2)
                .key_condition_expression("#pk = :pk AND #sk <= :bound")
                .expression_attribute_names("#pk", table::GSI2_PK)
                .expression_attribute_names("#sk", table::GSI2_SK)
                .expression_attribute_values(":pk", AttributeValue::S(table::webhook_due_pk(day)))
                .expression_attribute_values(":bound", AttributeValue::S(bound.clone()))
                .limit((limit - due.len()).max(1) as i32)
                .send()
                .await
                .map_err(crate::failure::sdk)?
                .items
                .unwrap_or_default();
            due.extend(items.iter().filter_map(|item| {
                let sk = item.get(table::GSI2_SK)?.as_s().ok()?;
                let (endpoint_id, delivery_id, attempt) = table::webhook_due_of(sk)?;
                Some(DueDelivery {
                    endpoint_id,
                    delivery_id,
                    attempt,
                })
            }));
            if due.len() >= limit {
                break;
            }
        }
        due.truncate(limit);
        Ok(due)
    }
}
