//! The DynamoDB adapter of [`ErasureStore`]: jobs (`JOB#<id>` / `JOB`), the workspace's day
//! markers (`USAGEDAYS#<workspace>` / `DAY#<date>`), and usage events, found by Query over their
//! day shards or over the device index (`gsi3`) and deleted in transactions with the job.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client,
    operation::query::builders::QueryFluentBuilder,
    types::{AttributeValue, Delete, Put, TransactWriteItem},
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::DynamoAuditStore;
use crate::table;
use latchkey_core::{
    audit::AuditEvent,
    ids::WorkspaceId,
    privacy::{
        ErasureJob, ResumeKey, Scope,
        erasure::{ErasureStore, EventPage, EventRef, Target},
    },
    store::StoreError,
};

#[derive(Serialize, Deserialize)]
struct JobRecord {
    pk: String,
    sk: String,
    #[serde(flatten)]
    job: ErasureJob,
}

fn job_key(id: Uuid) -> HashMap<String, AttributeValue> {
    super::address(table::job_pk(id), table::JOB_SK)
}

fn job_item(job: &ErasureJob) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(JobRecord {
        pk: table::job_pk(job.job_id),
        sk: table::JOB_SK.into(),
        job: job.clone(),
    })
    .map_err(StoreError::backend)
}

fn day_of(sk: &str) -> Option<NaiveDate> {
    sk.strip_prefix(table::DAY_SK_PREFIX)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

/// Erasure jobs and usage events in the single table.
#[derive(Clone, Debug)]
pub struct DynamoErasureStore {
    client: Client,
    table: String,
    /// The audit log each change's event joins, in the change's transaction.
    audit: DynamoAuditStore,
}

impl DynamoErasureStore {
    /// An adapter over `table`, recording to `audit`.
    pub fn new(client: Client, table: impl Into<String>, audit: DynamoAuditStore) -> Self {
        Self {
            client,
            table: table.into(),
            audit,
        }
    }

    /// `job` stored over the version before it.
    fn replace(&self, job: &ErasureJob) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(job_item(job)?))
            .condition_expression("version = :expected")
            .expression_attribute_values(
                ":expected",
                AttributeValue::N(job.version.saturating_sub(1).to_string()),
            )
            .build()
            .map_err(StoreError::backend)
    }

    /// A Query over one target, narrowed to the job's time range and tags.
    fn query(&self, job: &ErasureJob, target: &Target) -> QueryFluentBuilder {
        let (index, pk_attr, sk_attr, pk) = match target {
            Target::Events { day, shard } => (
                None,
                table::PK,
                table::SK,
                table::usage_pk(&job.workspace_id, *day, *shard),
            ),
            Target::Device(device) => (
                Some(table::GSI3),
                table::GSI3_PK,
                table::GSI3_SK,
                table::device_pk(&job.workspace_id, device),
            ),
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", AttributeValue::S(pk));
        let range = match (job.from, job.to) {
            (Some(from), Some(to)) => Some(("#sk BETWEEN :from AND :to", Some(from), Some(to))),
            (Some(from), None) => Some(("#sk >= :from", Some(from), None)),
            (None, Some(to)) => Some(("#sk < :to", None, Some(to))),
            (None, None) => None,
        };
        let condition = match range {
            Some((sk_condition, from, to)) => {
                query = query.expression_attribute_names("#sk", sk_attr);
                if let Some(from) = from {
                    query = query.expression_attribute_values(
                        ":from",
                        AttributeValue::S(latchkey_core::timestamp::format(from)),
                    );
                }
                if let Some(to) = to {
                    query = query.expression_attribute_values(
                        ":to",
                        AttributeValue::S(latchkey_core::timestamp::format(to)),
                    );
                }
                format!("#pk = :pk AND {sk_condition}")
            }
            None => "#pk = :pk".to_owned(),
        };
        query = query.key_condition_expression(condition);
        if job.scope == Scope::Tag {
            let mut clauses = Vec::new();
            for (i, tag) in job.tags.iter().enumerate() {
                query = query
                    .expression_attribute_values(format!(":t{i}"), AttributeValue::S(tag.clone()));
                clauses.push(format!("contains(tags, :t{i})"));
            }
            query = query.filter_expression(clauses.join(" OR "));
        }
        if index.is_none() {
            query = query.consistent_read(true);
        }
        query
    }
}

/// How many verifications a stored event stands for: its count, or one for an event written
/// before aggregation.
fn event_count(item: &HashMap<String, AttributeValue>) -> u64 {
    item.get(table::EVENT_COUNT)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

#[async_trait]
impl ErasureStore for DynamoErasureStore {
    async fn get(&self, id: Uuid) -> Result<Option<ErasureJob>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(job_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        out.item
            .map(|item| {
                serde_dynamo::from_item::<_, JobRecord>(item)
                    .map(|r| r.job)
                    .map_err(StoreError::backend)
            })
            .transpose()
    }

    async fn insert(&self, job: &ErasureJob, event: &AuditEvent) -> Result<(), StoreError> {
        self.audit
            .write_with(
                vec![super::put_new(&self.table, job_item(job)?)?],
                Some(event),
            )
            .await
    }

    async fn remove(&self, id: Uuid, event: &AuditEvent) -> Result<(), StoreError> {
        let delete = super::delete_existing(&self.table, job_key(id))?;
        match self.audit.write_with(vec![delete], Some(event)).await {
            Err(StoreError::Conflict) if self.get(id).await?.is_none() => Ok(()),
            done => done,
        }
    }

    async fn update(&self, job: &ErasureJob, event: Option<&AuditEvent>) -> Result<(), StoreError> {
        let put = TransactWriteItem::builder().put(self.replace(job)?).build();
        self.audit.write_with(vec![put], event).await
    }

    fn shards(&self) -> u32 {
        table::USAGE_SHARDS
    }

    async fn event_days(&self, workspace: &WorkspaceId) -> Result<Vec<NaiveDate>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :day)")
            .expression_attribute_values(":pk", AttributeValue::S(table::usage_days_pk(workspace)))
            .expression_attribute_values(":day", AttributeValue::S(table::DAY_SK_PREFIX.into()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(crate::failure::sdk)?;
        Ok(items
            .iter()
            .filter_map(|item| day_of(item.get(table::SK)?.as_s().ok()?))
            .collect())
    }

    async fn count(&self, job: &ErasureJob, target: &Target) -> Result<u64, StoreError> {
        let items = self
            .query(job, target)
            .projection_expression("#count")
            .expression_attribute_names("#count", table::EVENT_COUNT)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(crate::failure::sdk)?;
        Ok(items.iter().map(event_count).sum())
    }

    async fn page(
        &self,
        job: &ErasureJob,
        target: &Target,
        after: Option<&ResumeKey>,
        limit: usize,
    ) -> Result<EventPage, StoreError> {
        let start = after.map(|after| {
            after
                .iter()
                .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
                .collect::<HashMap<_, _>>()
        });
        let page = self
            .query(job, target)
            .projection_expression("pk, sk, #count")
            .expression_attribute_names("#count", table::EVENT_COUNT)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(crate::failure::sdk)?;
        let text = |item: &HashMap<String, AttributeValue>, name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        Ok(EventPage {
            events: page
                .items
                .unwrap_or_default()
                .iter()
                .map(|item| EventRef {
                    partition: text(item, table::PK),
                    sort: text(item, table::SK),
                    count: event_count(item),
                })
                .collect(),
            after: page.last_evaluated_key.map(|key| {
                key.into_iter()
                    .filter_map(|(k, v)| v.as_s().ok().map(|s| (k, s.clone())))
                    .collect()
            }),
        })
    }

    async fn erase(&self, events: &[EventRef], next: &ErasureJob) -> Result<(), StoreError> {
        let mut writes = Vec::with_capacity(events.len() + 1);
        for event in events {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key(table::PK, AttributeValue::S(event.partition.clone()))
                .key(table::SK, AttributeValue::S(event.sort.clone()))
                .condition_expression("attribute_exists(pk)")
                .build()
                .map_err(StoreError::backend)?;
            writes.push(TransactWriteItem::builder().delete(delete).build());
        }
        writes.push(
            TransactWriteItem::builder()
                .put(self.replace(next)?)
                .build(),
        );
        super::transact(&self.client, writes).await
    }
}
