//! The DynamoDB adapter of [`NotificationStore`]: `USER#<user>` / `NOTIF#<uuid v7>`, so newest
//! first is a reverse `Query`, and one notification is one `GetItem`/`UpdateItem`.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client,
    types::{AttributeValue, Put, PutRequest, ReturnValue, Select, WriteRequest},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::table;
use latchkey_core::{
    ids::UserId,
    notifications::{Notification, NotificationStore, Page},
    store::StoreError,
};

/// Notifications are kept this long (the table's TTL removes them).
const RETENTION_DAYS: i64 = 180;

#[derive(Serialize)]
struct Record<'a> {
    pk: String,
    sk: String,
    #[serde(flatten)]
    notification: &'a Notification,
    ttl: i64,
}

/// The `Put` that stores `notification` of `user` in `table`, for the transactions that create
/// one together with another write.
pub fn put(table_name: &str, user: &UserId, n: &Notification) -> Result<Put, StoreError> {
    let item = serde_dynamo::to_item(Record {
        pk: table::user_pk(user),
        sk: table::notification_sk(n.id),
        notification: n,
        ttl: (n.created_at + chrono::Duration::days(RETENTION_DAYS)).timestamp(),
    })
    .map_err(StoreError::backend)?;
    Put::builder()
        .table_name(table_name)
        .set_item(Some(item))
        .build()
        .map_err(StoreError::backend)
}

/// Notifications in the single table.
#[derive(Clone, Debug)]
pub struct DynamoNotificationStore {
    client: Client,
    table: String,
}

impl DynamoNotificationStore {
    /// An adapter over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(user: &UserId, id: Uuid) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (
                table::PK.to_owned(),
                AttributeValue::S(table::user_pk(user)),
            ),
            (
                table::SK.to_owned(),
                AttributeValue::S(table::notification_sk(id)),
            ),
        ])
    }

    /// Every unread notification of `user` (or only their number).
    async fn unread(
        &self,
        user: &UserId,
        count_only: bool,
    ) -> Result<(u64, Vec<HashMap<String, AttributeValue>>), StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .filter_expression("is_read = :false")
            .expression_attribute_values(":pk", AttributeValue::S(table::user_pk(user)))
            .expression_attribute_values(
                ":prefix",
                AttributeValue::S(table::NOTIFICATION_SK_PREFIX.into()),
            )
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .consistent_read(true);
        if count_only {
            query = query.select(Select::Count);
        }
        let pages = query
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(crate::failure::sdk)?;
        let count = pages.iter().map(|p| p.count as u64).sum();
        let items = pages
            .into_iter()
            .flat_map(|p| p.items.unwrap_or_default())
            .collect();
        Ok((count, items))
    }
}

#[async_trait]
impl NotificationStore for DynamoNotificationStore {
    async fn insert(&self, user: &UserId, notification: &Notification) -> Result<(), StoreError> {
        let put = put(&self.table, user, notification)?;
        self.client
            .put_item()
            .table_name(put.table_name())
            .set_item(Some(put.item().clone()))
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        Ok(())
    }

    async fn page(
        &self,
        user: &UserId,
        page: &Page,
    ) -> Result<(Vec<Notification>, bool), StoreError> {
        let mut found = Vec::new();
        let mut start = page.after.map(|id| Self::key(user, id));
        // A filtered page can come back short: read on until it is full or nothing is left.
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", AttributeValue::S(table::user_pk(user)))
                .expression_attribute_values(
                    ":prefix",
                    AttributeValue::S(table::NOTIFICATION_SK_PREFIX.into()),
                )
                .scan_index_forward(false)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .limit(page.limit - found.len() as i32);
            if page.unread_only {
                query = query
                    .filter_expression("is_read = :false")
                    .expression_attribute_values(":false", AttributeValue::Bool(false));
            }
            let out = query.send().await.map_err(crate::failure::sdk)?;
            for item in out.items.unwrap_or_default() {
                found.push(
                    serde_dynamo::from_item::<_, Notification>(item)
                        .map_err(StoreError::backend)?,
                );
            }
            start = out.last_evaluated_key;
            let more = start.is_some();
            if !more || found.len() as i32 >= page.limit {
                return Ok((found, more));
            }
        }
    }

    async fn unread_count(&self, user: &UserId) -> Result<u64, StoreError> {
        Ok(self.unread(user, true).await?.0)
    }

    async fn mark_read(
        &self,
        user: &UserId,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Option<Notification>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(user, id)))
            .update_expression("SET is_read = :true, read_at = :now")
            .condition_expression("is_read = :false")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(
                ":now",
                AttributeValue::S(latchkey_core::timestamp::format(at)),
            )
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let item = match result {
            Ok(out) => out.attributes,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // Already read, or not this user's: one read tells them apart.
                self.client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(user, id)))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(crate::failure::sdk)?
                    .item
            }
            Err(err) => return Err(crate::failure::sdk(err)),
        };
        item.map(|item| serde_dynamo::from_item(item).map_err(StoreError::backend))
            .transpose()
    }

    /// 25 to a `BatchWriteItem` and several batches at once, so a thousand of them take one call
    /// well inside a Lambda timeout.
    async fn mark_all_read(&self, user: &UserId, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let (_, items) = self.unread(user, false).await?;
        let now = latchkey_core::timestamp::format(at);
        let requests: Vec<WriteRequest> = items
            .into_iter()
            .map(|mut item| {
                item.insert("is_read".into(), AttributeValue::Bool(true));
                item.insert("read_at".into(), AttributeValue::S(now.clone()));
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(StoreError::backend)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, StoreError>>()?;
        let updated = requests.len() as u64;
        let mut batches = tokio::task::JoinSet::new();
        for chunk in requests.chunks(25) {
            let (client, table, chunk) = (self.client.clone(), self.table.clone(), chunk.to_vec());
            batches.spawn(async move { super::batch::write(&client, &table, chunk).await });
            if batches.len() >= 8 {
                batches
                    .join_next()
                    .await
                    .expect("a batch")
                    .map_err(StoreError::backend)??;
            }
        }
        while let Some(done) = batches.join_next().await {
            done.map_err(StoreError::backend)??;
        }
        Ok(updated)
    }
}
