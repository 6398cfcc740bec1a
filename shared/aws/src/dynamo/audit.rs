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

/// Where a read of the log goes: the workspace's partition, or an index partition.
enum Source {
    /// The workspace's log (its partition key).
    Log(String),
    /// An actor's events (`gsi1`).
    Actor(String),
    /// A target's events (`gsi4`).
    Target(String),
}

impl Source {
    fn partition(&self) -> String {
        match self {
            Self::Log(pk) | Self::Actor(pk) | Self::Target(pk) => pk.clone(),
        }
    }
}

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
        let sk = table::audit_event_sk(event.id);
        let mut put_event = Put::builder()
            .table_name(&self.table)
            .item(table::PK, AttributeValue::S(pk.clone()))
            .item(table::SK, AttributeValue::S(sk.clone()))
            .item(table::AUDIT_SEQ, AttributeValue::N(event.seq.to_string()))
            .item(table::BODY, AttributeValue::S(body))
            .item(table::TTL, AttributeValue::N(expires.to_string()))
            .item(
                table::GSI1_PK,
                AttributeValue::S(table::audit_actor_pk(&event.workspace_id, &event.actor.id)),
            )
            .item(table::GSI1_SK, AttributeValue::S(sk.clone()));
        if let Some(target) = event.targets.first() {
            put_event = put_event
                .item(
                    table::GSI4_PK,
                    AttributeValue::S(table::audit_target_pk(&event.workspace_id, &target.id)),
                )
                .item(table::GSI4_SK, AttributeValue::S(sk));
        }
        let put_event = put_event
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

    /// `items` and, when given, the items that record `event`, as one transaction: a change and
    /// its record land together or not at all (a failed condition anywhere is `Conflict`).
    pub(crate) async fn write_with(
        &self,
        mut items: Vec<TransactWriteItem>,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        if let Some(event) = event {
            items.extend(self.items(event)?);
        }
        super::transact(&self.client, items).await
    }

    /// The events of `source` with sort keys in `low..=high`, `per_read` at a time (newest
    /// first or oldest first), handed to `take` while it wants more (answers `true`).
    async fn pages(
        &self,
        source: &Source,
        (low, high): (String, String),
        (newest_first, per_read): (bool, i32),
        mut take: impl FnMut(Vec<AuditEvent>) -> bool,
    ) -> Result<(), StoreError> {
        if low > high {
            return Ok(());
        }
        let (index, pk_name, sk_name) = match source {
            Source::Log(_) => (None, table::PK, table::SK),
            Source::Actor(_) => (Some(table::GSI1), table::GSI1_PK, table::GSI1_SK),
            Source::Target(_) => (Some(table::GSI4), table::GSI4_PK, table::GSI4_SK),
        };
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#pk", pk_name)
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":pk", AttributeValue::S(source.partition()))
                .expression_attribute_values(":low", AttributeValue::S(low.clone()))
                .expression_attribute_values(":high", AttributeValue::S(high.clone()))
                .scan_index_forward(!newest_first)
                // An index is read eventually consistent (the only way); the log itself strongly.
                .consistent_read(index.is_none())
                .limit(per_read)
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
        self.write_with(Vec::new(), Some(event)).await
    }

    async fn archived_through(&self, workspace: &WorkspaceId) -> Result<u64, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(table::audit_pk(workspace)))
            .key(
                table::SK,
                AttributeValue::S(table::AUDIT_ARCHIVED_SK.into()),
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        Ok(out
            .item
            .and_then(|item| item.get(table::AUDIT_SEQ)?.as_n().ok()?.parse().ok())
            .unwrap_or(0))
    }

    async fn mark_archived(
        &self,
        workspace: &WorkspaceId,
        from: u64,
        to: u64,
    ) -> Result<(), StoreError> {
        let condition = if from == 0 {
            "attribute_not_exists(#seq) OR #seq = :from"
        } else {
            "#seq = :from"
        };
        self.client
            .update_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(table::audit_pk(workspace)))
            .key(
                table::SK,
                AttributeValue::S(table::AUDIT_ARCHIVED_SK.into()),
            )
            .update_expression("SET #seq = :to")
            .condition_expression(condition)
            .expression_attribute_names("#seq", table::AUDIT_SEQ)
            .expression_attribute_values(":from", AttributeValue::N(from.to_string()))
            .expression_attribute_values(":to", AttributeValue::N(to.to_string()))
            .send()
            .await
            .map_err(|e| {
                crate::failure::conditional(e, |s| s.is_conditional_check_failed_exception())
            })?;
        Ok(())
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
        let source = match (&query.actor_id, &query.target_id) {
            (Some(actor), _) => Source::Actor(table::audit_actor_pk(workspace, actor)),
            (None, Some(target)) => Source::Target(table::audit_target_pk(workspace, target)),
            (None, None) => Source::Log(table::audit_pk(workspace)),
        };
        // Unfiltered, a page is the next `limit` events (and one to tell whether more follow);
        // filtered in memory (an action, a target beside an actor, whom it concerns), reads go
        // on a page of the log at a time until the page is full.
        let filtered = query.action.is_some()
            || query.concerning.is_some()
            || (query.actor_id.is_some() && query.target_id.is_some());
        let per_read = if filtered {
            PAGE
        } else {
            (query.limit as i32 + 2).min(PAGE)
        };
        let mut found = Vec::new();
        self.pages(&source, (low, high), (true, per_read), |page| {
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
        let source = Source::Log(table::audit_pk(workspace));
        self.pages(&source, Self::bounds(since, until), (false, PAGE), |page| {
            events.extend(page);
            true
        })
        .await?;
        events.retain(|e| until.is_none_or(|until| e.time < until));
        events.sort_by_key(|e| e.seq);
        Ok(events)
    }
}
