//! The audit log in DynamoDB: each workspace's events in one partition in time order, with the
//! head of its chain beside them ([`crate::table`]). An event is written by two transaction
//! items, [`DynamoAuditStore::items`], which the key store adds to its own writes: the event
//! (new) and the head (moved from exactly the head the event extends), so racing writers of one
//! workspace serialize on the head and none forks the chain.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client,
    types::{AttributeValue, Put, TransactWriteItem},
};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use latchkey_core::{
    audit::{
        AuditEvent,
        chain::Head,
        store::{AuditQuery, AuditStore},
    },
    ids::WorkspaceId,
    store::StoreError,
};

use crate::table;

/// Events a page read fetches at a time while filtering.
const PAGE: i32 = 200;

/// The audit log over a DynamoDB table.
#[derive(Clone, Debug)]
pub struct DynamoAuditStore {
    client: Client,
    table: String,
    retention_days: u32,
}

impl DynamoAuditStore {
    /// An adapter over `table`, its events expiring `retention_days` after they happened.
    pub fn new(client: Client, table: impl Into<String>, retention_days: u32) -> Self {
        Self {
            client,
            table: table.into(),
            retention_days,
        }
    }

    /// The transaction items that record `event`: the event itself (which must be new), and its
    /// workspace's head moved to it (conditional on the head being the one it extends).
    pub fn items(&self, event: &AuditEvent) -> Result<Vec<TransactWriteItem>, StoreError> {
        let pk = table::audit_pk(&event.workspace_id);
        let body = serde_json::to_string(event).map_err(StoreError::backend)?;
        let expires = (event.time + Duration::days(i64::from(self.retention_days))).timestamp();
        let put_event = Put::builder()
            .table_name(&self.table)
            .item(table::PK, AttributeValue::S(pk.clone()))
            .item(
                table::SK,
                AttributeValue::S(table::audit_event_sk(event.id)),
            )
            .item(table::AUDIT_SEQ, AttributeValue::N(event.seq.to_string()))
            .item(table::BODY, AttributeValue::S(body))
            .item(table::TTL, AttributeValue::N(expires.to_string()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", table::PK)
            .build()
            .map_err(StoreError::backend)?;
        let head = Put::builder()
            .table_name(&self.table)
            .item(table::PK, AttributeValue::S(pk))
            .item(table::SK, AttributeValue::S(table::AUDIT_HEAD_SK.into()))
            .item(table::AUDIT_SEQ, AttributeValue::N(event.seq.to_string()))
            .item(table::AUDIT_DIGEST, AttributeValue::S(event.digest.clone()))
            .expression_attribute_names("#seq", table::AUDIT_SEQ);
        let head = if event.seq == 1 {
            head.condition_expression("attribute_not_exists(#seq)")
        } else {
            head.condition_expression("#seq = :extends")
                .expression_attribute_values(
                    ":extends",
                    AttributeValue::N((event.seq - 1).to_string()),
                )
        }
        .build()
        .map_err(StoreError::backend)?;
        Ok(vec![
            TransactWriteItem::builder().put(put_event).build(),
            TransactWriteItem::builder().put(head).build(),
        ])
    }

    /// `workspace`'s events with sort keys in `low..=high`, a page at a time (newest first or
    /// oldest first), handed to `take` while it wants more (answers `true`).
    async fn pages(
        &self,
        workspace: &WorkspaceId,
        (low, high): (String, String),
        newest_first: bool,
        mut take: impl FnMut(Vec<AuditEvent>) -> bool,
    ) -> Result<(), StoreError> {
        if low > high {
            return Ok(());
        }
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#pk", table::PK)
                .expression_attribute_names("#sk", table::SK)
                .expression_attribute_values(":pk", AttributeValue::S(table::audit_pk(workspace)))
                .expression_attribute_values(":low", AttributeValue::S(low.clone()))
                .expression_attribute_values(":high", AttributeValue::S(high.clone()))
                .scan_index_forward(!newest_first)
                .consistent_read(true)
                .limit(PAGE)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(crate::failure::sdk)?;
            if !take(Self::events(out.items())?) {
                return Ok(());
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(()),
            }
        }
    }

    /// The events of one query page's items.
    fn events(items: &[HashMap<String, AttributeValue>]) -> Result<Vec<AuditEvent>, StoreError> {
        items
            .iter()
            .filter_map(|item| item.get(table::BODY).and_then(|v| v.as_s().ok()))
            .map(|body| serde_json::from_str(body).map_err(StoreError::backend))
            .collect()
    }

    /// The sort-key bounds of events in `since..until` (UUIDv7s begin with their millisecond).
    fn bounds(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> (String, String) {
        let at = |time: DateTime<Utc>| {
            let ms = time.timestamp_millis().max(0) as u64;
            Uuid::from_u128(u128::from(ms) << 80)
        };
        (
            since.map_or_else(
                || table::AUDIT_EVENT_PREFIX.to_owned(),
                |since| table::audit_event_sk(at(since)),
            ),
            until.map_or_else(
                || format!("{}~", table::AUDIT_EVENT_PREFIX),
                |until| table::audit_event_sk(at(until)),
            ),
        )
    }
}

#[async_trait]
impl AuditStore for DynamoAuditStore {
    async fn head(&self, workspace: &WorkspaceId) -> Result<Head, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(table::audit_pk(workspace)))
            .key(table::SK, AttributeValue::S(table::AUDIT_HEAD_SK.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        let Some(item) = out.item else {
            return Ok(Head::default());
        };
        let seq = item
            .get(table::AUDIT_SEQ)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                StoreError::backend(std::io::Error::other("an audit head without seq"))
            })?;
        let digest = item
            .get(table::AUDIT_DIGEST)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| {
                StoreError::backend(std::io::Error::other("an audit head without digest"))
            })?;
        Ok(Head { seq, digest })
    }

    async fn append(&self, event: &AuditEvent) -> Result<(), StoreError> {
        super::transact(&self.client, self.items(event)?).await
    }

    async fn get(
        &self,
        workspace: &WorkspaceId,
        id: Uuid,
    ) -> Result<Option<AuditEvent>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(table::audit_pk(workspace)))
            .key(table::SK, AttributeValue::S(table::audit_event_sk(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        Ok(Self::events(out.item.as_slice())?.into_iter().next())
    }

    async fn newest_first(
        &self,
        workspace: &WorkspaceId,
        query: &AuditQuery,
    ) -> Result<(Vec<AuditEvent>, bool), StoreError> {
        let (low, mut high) = Self::bounds(query.since, query.until);
        if let Some(after) = query.after {
            high = high.min(table::audit_event_sk(after));
        }
        let mut found = Vec::new();
        self.pages(workspace, (low, high), true, |page| {
            found.extend(page.into_iter().filter(|event| {
                query.after != Some(event.id)
                    && query.until.is_none_or(|until| event.time < until)
                    && query.matches(event)
            }));
            found.len() <= query.limit
        })
        .await?;
        let more = found.len() > query.limit;
        found.truncate(query.limit);
        Ok((found, more))
    }

    async fn in_chain_order(
        &self,
        workspace: &WorkspaceId,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut events = Vec::new();
        self.pages(workspace, Self::bounds(since, until), false, |page| {
            events.extend(page);
            true
        })
        .await?;
        events.retain(|e| until.is_none_or(|until| e.time < until));
        events.sort_by_key(|e| e.seq);
        Ok(events)
    }
}
