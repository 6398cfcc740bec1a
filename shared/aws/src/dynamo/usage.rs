//! The DynamoDB adapter of [`UsageSink`].

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client,
    operation::transact_write_items::TransactWriteItemsError,
    types::{AttributeValue, PutRequest, TransactWriteItem, Update, WriteRequest},
};
use chrono::NaiveDate;
use futures_util::{StreamExt, stream};
use serde::Serialize;
use uuid::Uuid;

use crate::table;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use latchkey_core::usage::{SentOwnerTally, SentTally, Tally, UsageBatch, UsageEvent, UsageSink};
use latchkey_core::{
    ids::{KeyId, UserId, WorkspaceId},
    outcome::VerifyCode,
    store::StoreError,
};

/// Writes of one flush in flight at once: enough to hide DynamoDB's latency, few enough to stay
/// well inside a function's connection pool and a table's burst capacity.
const WRITE_CONCURRENCY: usize = 8;

/// Daily aggregates are kept this long (a year of history plus a year to compare it with).
const DAILY_RETENTION_DAYS: i64 = 800;

/// Usage in the single table.
#[derive(Debug)]
pub struct DynamoUsageSink {
    client: Client,
    table: String,
    retention_days: u32,
    /// Workspace days this container has written a day marker for (a bounded memo: a marker
    /// forgotten is written again, which is harmless).
    marked: moka::sync::Cache<(WorkspaceId, NaiveDate), ()>,
}

impl DynamoUsageSink {
    /// An adapter over `table`, keeping events `retention_days`.
    pub fn new(client: Client, table: impl Into<String>, retention_days: u32) -> Self {
        Self {
            client,
            table: table.into(),
            retention_days,
            marked: moka::sync::Cache::new(10_000),
        }
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The stored shape of a usage event.
#[derive(Serialize)]
struct EventRecord<'a> {
    pk: String,
    sk: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi3pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi3sk: Option<String>,
    event_id: uuid::Uuid,
    at: String,
    count: u64,
    key_id: KeyId,
    workspace_id: &'a WorkspaceId,
    owner_id: &'a UserId,
    outcome: VerifyCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_id: Option<&'a str>,
    tags: &'a [String],
    ttl: i64,
}

impl DynamoUsageSink {
    fn event_item(&self, e: &UsageEvent) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let shard = (e.id.as_u128() % u128::from(table::USAGE_SHARDS)) as u32;
        let sk = table::usage_sk(e.at, e.id);
        let device = e.context.device_id.as_deref();
        serde_dynamo::to_item(EventRecord {
            pk: table::usage_pk(&e.workspace_id, e.at.date_naive(), shard),
            gsi3pk: device.map(|d| table::device_pk(&e.workspace_id, d)),
            gsi3sk: device.map(|_| sk.clone()),
            sk,
            event_id: e.id,
            at: latchkey_core::timestamp::format(e.at),
            count: e.count,
            key_id: e.key_id,
            workspace_id: &e.workspace_id,
            owner_id: &e.owner_id,
            outcome: e.outcome,
            ip: e.context.ip.map(|ip| ip.to_string()),
            user_agent: e.context.user_agent.as_deref(),
            device_id: device,
            tags: &e.context.tags,
            ttl: (e.at + chrono::Duration::days(i64::from(self.retention_days))).timestamp(),
        })
        .map_err(StoreError::backend)
    }

    /// Writes the day markers of the workspaces and days `events` fall on that this container has
    /// not marked yet (an idempotent put each), so erasure can find every day with events.
    async fn mark_days(&self, events: &[UsageEvent]) -> Result<(), StoreError> {
        let mut fresh: Vec<(WorkspaceId, NaiveDate)> = events
            .iter()
            .map(|e| (e.workspace_id.clone(), e.at.date_naive()))
            .filter(|k| !self.marked.contains_key(k))
            .collect();
        fresh.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
        fresh.dedup();
        for (workspace, day) in &fresh {
            self.client
                .put_item()
                .table_name(&self.table)
                .item(table::PK, s(table::usage_days_pk(workspace)))
                .item(table::SK, s(table::day_sk(*day)))
                .item(
                    table::TTL,
                    n((day.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
                        + chrono::Duration::days(i64::from(self.retention_days) + 1))
                    .timestamp()),
                )
                .send()
                .await
                .map_err(crate::failure::sdk)?;
        }
        for marked in fresh {
            self.marked.insert(marked, ());
        }
        Ok(())
    }

    /// Writes events 25 to a `BatchWriteItem`; returns those that could not be written. A put of
    /// an event already written (a resend) writes the same item again: applied once.
    async fn write_events(&self, events: Vec<UsageEvent>) -> Vec<UsageEvent> {
        if let Err(err) = self.mark_days(&events).await {
            tracing::warn!(error = %err, "usage day markers not written");
            return events;
        }
        let chunks: Vec<Vec<UsageEvent>> = events.chunks(25).map(<[_]>::to_vec).collect();
        stream::iter(chunks)
            .map(|chunk| async move {
                match self.write_event_chunk(&chunk).await {
                    Ok(()) => Vec::new(),
                    Err(err) => {
                        tracing::warn!(error = %err, events = chunk.len(), "usage events not written");
                        chunk
                    }
                }
            })
            .buffer_unordered(WRITE_CONCURRENCY)
            .concat()
            .await
    }

    async fn write_event_chunk(&self, chunk: &[UsageEvent]) -> Result<(), StoreError> {
        let requests = chunk
            .iter()
            .map(|e| {
                let put = PutRequest::builder()
                    .set_item(Some(self.event_item(e)?))
                    .build()
                    .map_err(StoreError::backend)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        super::batch::write(&self.client, &self.table, requests).await
    }

    fn add_to_key(&self, key: KeyId, tally: &Tally) -> Result<Update, StoreError> {
        let mut sets = Vec::new();
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(table::PK, s(table::key_pk(key)))
            .key(table::SK, s(table::KEY_SK))
            .expression_attribute_values(":s", n(tally.success))
            .expression_attribute_values(":f", n(tally.failed));
        if let Some(at) = tally.last_used_at {
            sets.push("last_used_at = :lu");
            update =
                update.expression_attribute_values(":lu", s(latchkey_core::timestamp::format(at)));
        }
        if let Some(at) = tally.last_failed_at {
            sets.push("last_failed_at = :lf");
            update =
                update.expression_attribute_values(":lf", s(latchkey_core::timestamp::format(at)));
        }
        let mut expression = "ADD usage_count :s, failed_attempts :f".to_owned();
        if !sets.is_empty() {
            expression.push_str(&format!(" SET {}", sets.join(", ")));
        }
        update
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(StoreError::backend)
    }

    fn add_to_day(&self, pk: String, day: NaiveDate, tally: &Tally) -> Result<Update, StoreError> {
        let expires = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
            + chrono::Duration::days(DAILY_RETENTION_DAYS);
        Update::builder()
            .table_name(&self.table)
            .key(table::PK, s(pk))
            .key(table::SK, s(table::day_sk(day)))
            .update_expression("ADD success :s, failed :f SET #ttl = :ttl")
            .expression_attribute_names("#ttl", table::TTL)
            .expression_attribute_values(":s", n(tally.success))
            .expression_attribute_values(":f", n(tally.failed))
            .expression_attribute_values(":ttl", n(expires.timestamp()))
            .build()
            .map_err(StoreError::backend)
    }

    /// Adds the tallies of one write id to their keys and the keys' days in one transaction
    /// whose `ClientRequestToken` is that id: DynamoDB applies a repeated token once (for ten
    /// minutes), so a resent write whose first attempt committed unseen is not counted twice. A
    /// deleted key is not brought back: its day still counts, in a second transaction without
    /// the gone keys' items, under a token made from the id and those keys (the same on every
    /// resend). (The owner's day is written once per flush, summed: see
    /// [`Self::write_owner_tally`].)
    async fn write_tallies(&self, id: Uuid, tallies: &[SentTally]) -> Result<(), StoreError> {
        let first = self.transact(id, self.tally_items(tallies, &[])?).await;
        let Err(err) = first else {
            return Ok(());
        };
        let gone = gone_keys(&err, tallies);
        if gone.is_empty() {
            return Err(crate::failure::sdk(err));
        }
        let mut name = b"without".to_vec();
        for key in &gone {
            name.extend_from_slice(key.to_string().as_bytes());
        }
        self.transact(Uuid::new_v5(&id, &name), self.tally_items(tallies, &gone)?)
            .await
            .map_err(crate::failure::sdk)
    }

    /// Each tally's key (but the `gone` ones) and day, as transaction items.
    fn tally_items(
        &self,
        tallies: &[SentTally],
        gone: &[KeyId],
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = Vec::with_capacity(tallies.len() * 2);
        for SentTally { key, tally, .. } in tallies {
            if !gone.contains(&key.key_id) {
                let update = self.add_to_key(key.key_id, tally)?;
                items.push(TransactWriteItem::builder().update(update).build());
            }
            let day = self.add_to_day(table::key_pk(key.key_id), key.day, tally)?;
            items.push(TransactWriteItem::builder().update(day).build());
        }
        Ok(items)
    }

    /// `items` as one transaction under `token`.
    async fn transact(
        &self,
        token: Uuid,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, HttpResponse>> {
        self.client
            .transact_write_items()
            .client_request_token(token.to_string())
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
    }

    /// Adds the sum of a flush's tallies for one owner and day to the owner's day, as a
    /// one-item transaction for its `ClientRequestToken` (applied once, like a key's tally).
    async fn write_owner_tally(&self, sent: &SentOwnerTally) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .client_request_token(sent.id.to_string())
            .transact_items(
                TransactWriteItem::builder()
                    .update(self.add_to_day(
                        table::user_pk(&sent.owner_id),
                        sent.day,
                        &sent.tally,
                    )?)
                    .build(),
            )
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        Ok(())
    }
}

/// The keys whose item's condition (that it exists) cancelled a transaction of `tallies`, each
/// tally's key item at an even position and its day after it.
fn gone_keys<R>(
    err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
    tallies: &[SentTally],
) -> Vec<KeyId> {
    super::failed_conditions(err)
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i % 2 == 0)
        .filter_map(|i| tallies.get(i / 2).map(|t| t.key.key_id))
        .collect()
}

#[async_trait]
impl UsageSink for DynamoUsageSink {
    async fn write(&self, batch: UsageBatch) -> UsageBatch {
        let mut left = UsageBatch::default();
        let owners = batch
            .resend_owners
            .into_iter()
            .chain(SentOwnerTally::sums(&batch.tallies));
        left.resend_owners = stream::iter(owners)
            .map(|sent| async move {
                match self.write_owner_tally(&sent).await {
                    Ok(()) => None,
                    Err(err) => {
                        tracing::warn!(error = %err, "owner's daily usage not written");
                        Some(sent)
                    }
                }
            })
            .buffer_unordered(WRITE_CONCURRENCY)
            .filter_map(std::future::ready)
            .collect()
            .await;
        let mut sent = batch.resend;
        sent.extend(SentTally::fresh(batch.tallies));
        left.resend = stream::iter(SentTally::writes(sent))
            .map(|write| async move {
                match self.write_tallies(write[0].id, &write).await {
                    Ok(()) => Vec::new(),
                    Err(err) => {
                        tracing::warn!(error = %err, keys = write.len(), "usage counters not written");
                        write
                    }
                }
            })
            .buffer_unordered(WRITE_CONCURRENCY)
            .concat()
            .await;
        left.events = self.write_events(batch.events).await;
        left
    }
}
