//! Executing erasure jobs: Query-driven for every scope, exact under redelivery and crashes.
//!
//! A job's targets are fixed when it is created: for a device scope, each device's partition of
//! the device index; for the others, the 16 event partitions of every day the workspace has events
//! on (from the workspace's day markers). The worker takes one page of up to 99 events at a time
//! and deletes it in one transaction together with the job's new progress and count, conditional
//! on the job's version: a chunk is either wholly done and counted, or not at all, so a message
//! delivered twice or a worker that dies mid-job never double-counts and always resumes where the
//! last committed chunk left off.

use std::{collections::HashMap, sync::Arc, time::Instant};

use aws_sdk_dynamodb::{
    Client,
    operation::query::builders::QueryFluentBuilder,
    types::{AttributeValue, Delete, Put, Select, TransactWriteItem},
};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{StreamExt, TryStreamExt, stream};
use uuid::Uuid;

use super::{
    ErasureJob, ErasureSpec, JobStatus, Progress, Scope,
    jobs::{self, JobStore},
};
use crate::{
    clock::Clock,
    error::Error,
    ids::{ErasureJobId, ResourceId, UserId, WorkspaceId},
    notifications::{NewNotification, Notifications, kinds},
    queue::{WorkMessage, WorkQueue},
    store::StoreError,
    table,
};

/// Events deleted per transaction: DynamoDB allows 100 items, one is the job.
const CHUNK: i32 = 99;

/// Partitions an estimate counts at once. The request waits for the estimate, and a workspace
/// with events on each of 90 days has 1,440 partitions.
const COUNT_CONCURRENCY: usize = 16;

/// One partition to erase from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    /// An event partition of the base table.
    Events(String),
    /// A device's partition of the device index.
    Device(String),
}

/// How much one invocation may do.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Stop starting chunks after this instant.
    pub deadline: Instant,
    /// Stop after this many chunks (local runs use it to exercise continuations).
    pub max_chunks: Option<usize>,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// The job is completed or failed: nothing more to do.
    Finished,
    /// The budget ran out with work left: the caller sends a continuation message.
    Continued,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Retrying cannot help (the message names no job, the job is inconsistent).
    #[error("{0}")]
    Permanent(String),
    /// Retrying may help (storage or queue trouble).
    #[error(transparent)]
    Transient(#[from] Error),
}

impl From<StoreError> for RunError {
    fn from(err: StoreError) -> Self {
        RunError::Transient(err.into())
    }
}

/// Creates, counts and executes erasure jobs.
pub struct Erasure {
    jobs: JobStore,
    notifications: Arc<Notifications>,
    clock: Arc<dyn Clock>,
    queue: Option<WorkQueue>,
}

fn day_of(sk: &str) -> Option<NaiveDate> {
    sk.strip_prefix(table::DAY_SK_PREFIX)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

impl Erasure {
    /// Erasure over `jobs`' table; `queue` is where new jobs go (without one, only dry runs can
    /// be created).
    pub fn new(
        jobs: JobStore,
        notifications: Arc<Notifications>,
        clock: Arc<dyn Clock>,
        queue: Option<WorkQueue>,
    ) -> Self {
        Self {
            jobs,
            notifications,
            clock,
            queue,
        }
    }

    fn client(&self) -> &Client {
        self.jobs.client()
    }

    /// The days the workspace has events on within `from..to`: one Query of its day markers.
    async fn days(
        &self,
        workspace: &WorkspaceId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<NaiveDate>, Error> {
        let first = from.map(|f| f.date_naive()).unwrap_or(NaiveDate::MIN);
        let last = to
            .map(|t| (t - chrono::Duration::milliseconds(1)).date_naive())
            .unwrap_or(NaiveDate::MAX);
        let items = self
            .client()
            .query()
            .table_name(self.jobs.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :day)")
            .expression_attribute_values(":pk", AttributeValue::S(table::usage_days_pk(workspace)))
            .expression_attribute_values(":day", AttributeValue::S(table::DAY_SK_PREFIX.into()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(StoreError::sdk)?;
        Ok(items
            .iter()
            .filter_map(|item| {
                item.get(table::SK)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|s| day_of(s))
            })
            .filter(|d| (first..=last).contains(d))
            .collect())
    }

    fn targets(job: &ErasureJob) -> Vec<Target> {
        match job.scope {
            Scope::Device => job
                .device_ids
                .iter()
                .map(|d| Target::Device(table::device_pk(&job.workspace_id, d)))
                .collect(),
            _ => job
                .days
                .iter()
                .flat_map(|day| {
                    (0..table::USAGE_SHARDS).map(|shard| {
                        Target::Events(table::usage_pk(&job.workspace_id, *day, shard))
                    })
                })
                .collect(),
        }
    }

    /// A Query over one target, narrowed to the job's time range and tags.
    fn query(&self, job: &ErasureJob, target: &Target) -> QueryFluentBuilder {
        let (index, pk_attr, sk_attr, pk) = match target {
            Target::Events(pk) => (None, table::PK, table::SK, pk),
            Target::Device(pk) => (Some(table::GSI3), table::GSI3_PK, table::GSI3_SK, pk),
        };
        let mut query = self
            .client()
            .query()
            .table_name(self.jobs.table())
            .set_index_name(index.map(str::to_owned))
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()));
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
                        AttributeValue::S(crate::timestamp::format(from)),
                    );
                }
                if let Some(to) = to {
                    query = query.expression_attribute_values(
                        ":to",
                        AttributeValue::S(crate::timestamp::format(to)),
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

    /// Events in scope of `job` now: a Query with `Select: COUNT` per target,
    /// [`COUNT_CONCURRENCY`] targets at a time.
    pub async fn count(&self, job: &ErasureJob) -> Result<u64, Error> {
        stream::iter(Self::targets(job))
            .map(|target| self.count_target(job, target))
            .buffer_unordered(COUNT_CONCURRENCY)
            .try_fold(0, |total, count| async move { Ok(total + count) })
            .await
    }

    async fn count_target(&self, job: &ErasureJob, target: Target) -> Result<u64, Error> {
        let mut total = 0;
        let mut start = None;
        loop {
            let out = self
                .query(job, &target)
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::sdk)?;
            total += out.count as u64;
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(total);
            }
        }
    }

    /// Records a job for `spec`, with its estimate. A dry run is counted and completed here; any
    /// other job is enqueued for the worker.
    pub async fn create(
        &self,
        requested_by: &UserId,
        workspace: &WorkspaceId,
        spec: ErasureSpec,
    ) -> Result<ErasureJob, Error> {
        let now = self.clock.now();
        let days = match spec.scope {
            Scope::Device => vec![],
            _ => self.days(workspace, spec.from, spec.to).await?,
        };
        let mut job = ErasureJob {
            job_id: Uuid::new_v4(),
            workspace_id: workspace.clone(),
            requested_by: requested_by.clone(),
            scope: spec.scope,
            device_ids: spec.device_ids,
            tags: spec.tags,
            from: spec.from,
            to: spec.to,
            days,
            dry_run: spec.dry_run,
            status: JobStatus::Pending,
            estimated_count: 0,
            deleted_count: 0,
            created_at: now,
            started_at: None,
            completed_at: None,
            error: None,
            progress: Progress::default(),
            version: 1,
        };
        job.estimated_count = self.count(&job).await?;
        if job.dry_run {
            job.status = JobStatus::Completed;
            job.started_at = Some(now);
            job.completed_at = Some(now);
            self.jobs.insert(&job).await?;
            return Ok(job);
        }
        let queue = self
            .queue
            .as_ref()
            .ok_or_else(|| Error::internal(std::io::Error::other("no work queue configured")))?;
        self.jobs.insert(&job).await?;
        if let Err(err) = queue
            .send(&WorkMessage::Erasure { job_id: job.job_id })
            .await
        {
            // A job nobody will run must not stay behind as `pending`.
            if let Err(cleanup) = self.jobs.remove(job.job_id).await {
                tracing::error!(job_id = %job.job_id, error = %cleanup, "an unqueued job stayed behind");
            }
            return Err(err);
        }
        Ok(job)
    }

    /// A job of `workspace`; another workspace's job does not exist for the caller.
    pub async fn get(&self, workspace: &WorkspaceId, id: Uuid) -> Result<ErasureJob, Error> {
        match self.jobs.get(id).await? {
            Some(job) if &job.workspace_id == workspace => Ok(job),
            _ => Err(ErasureJobId::not_found()),
        }
    }

    async fn reload(&self, id: Uuid) -> Result<ErasureJob, RunError> {
        self.jobs
            .get(id)
            .await?
            .ok_or_else(|| RunError::Permanent(format!("erasure job {id} disappeared")))
    }

    /// Runs job `id` from its recorded progress until it is finished or `budget` runs out.
    pub async fn run(&self, id: Uuid, budget: Budget) -> Result<RunOutcome, RunError> {
        let Some(mut job) = self.jobs.get(id).await? else {
            // The job was removed because its message seemed not to reach the queue, which it
            // did after all (the queue was slow, not down): nothing to run, nothing to retry.
            tracing::warn!(job_id = %id, "a message for an erasure job that does not exist; dropped");
            return Ok(RunOutcome::Finished);
        };
        let mut chunks = 0usize;
        loop {
            match job.status {
                JobStatus::Completed | JobStatus::Failed => return Ok(RunOutcome::Finished),
                JobStatus::Pending => {
                    let mut running = job.clone();
                    running.status = JobStatus::Running;
                    running.started_at.get_or_insert(self.clock.now());
                    running.version += 1;
                    job = match self.jobs.update(&running).await {
                        Ok(()) => running,
                        Err(StoreError::Conflict) => self.reload(id).await?,
                        Err(err) => return Err(err.into()),
                    };
                    continue;
                }
                JobStatus::Running => {}
            }
            let targets = Self::targets(&job);
            if job.progress.target >= targets.len() {
                let mut done = job.clone();
                done.status = JobStatus::Completed;
                done.completed_at = Some(self.clock.now());
                done.version += 1;
                match self.jobs.update(&done).await {
                    Ok(()) => {
                        self.notify(&done).await;
                        return Ok(RunOutcome::Finished);
                    }
                    Err(StoreError::Conflict) => {
                        job = self.reload(id).await?;
                        continue;
                    }
                    Err(err) => return Err(err.into()),
                }
            }
            // Every run commits at least one chunk, so a tight deadline still makes progress.
            let spent = budget.max_chunks.is_some_and(|max| chunks >= max);
            if chunks > 0 && (spent || Instant::now() >= budget.deadline) {
                return Ok(RunOutcome::Continued);
            }
            chunks += 1;
            let target = targets[job.progress.target].clone();
            job = self.chunk(job, &target).await?;
        }
    }

    /// Deletes one page of `target` and records the new progress, atomically. Returns the job as
    /// it now stands (reloaded when another worker got there first).
    async fn chunk(&self, job: ErasureJob, target: &Target) -> Result<ErasureJob, RunError> {
        let start = job.progress.after.as_ref().map(|after| {
            after
                .iter()
                .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
                .collect::<HashMap<_, _>>()
        });
        let page = self
            .query(&job, target)
            .projection_expression("pk, sk")
            .limit(CHUNK)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        let items = page.items.unwrap_or_default();
        let after: Option<HashMap<String, String>> = page.last_evaluated_key.map(|key| {
            key.into_iter()
                .filter_map(|(k, v)| v.as_s().ok().map(|s| (k, s.clone())))
                .collect()
        });
        let mut next = job.clone();
        next.progress = match after {
            Some(after) => Progress {
                target: job.progress.target,
                after: Some(after),
            },
            None => Progress {
                target: job.progress.target + 1,
                after: None,
            },
        };
        next.version += 1;
        if job.dry_run {
            return Err(RunError::Permanent(
                "a dry run has nothing to execute".into(),
            ));
        }
        next.deleted_count += items.len() as u64;
        let mut writes = Vec::with_capacity(items.len() + 1);
        for item in items {
            let key: HashMap<String, AttributeValue> = [table::PK, table::SK]
                .iter()
                .filter_map(|k| item.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                .collect();
            let delete = Delete::builder()
                .table_name(self.jobs.table())
                .set_key(Some(key))
                .condition_expression("attribute_exists(pk)")
                .build()
                .map_err(Error::internal)?;
            writes.push(TransactWriteItem::builder().delete(delete).build());
        }
        let put = Put::builder()
            .table_name(self.jobs.table())
            .set_item(Some(jobs::job_item(&next)?))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", AttributeValue::N(job.version.to_string()))
            .build()
            .map_err(Error::internal)?;
        writes.push(TransactWriteItem::builder().put(put).build());
        let result = self
            .client()
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(next),
            // Another worker moved the job on, or an event expired under us: read and go on.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_transaction_canceled_exception()) =>
            {
                self.reload(job.job_id).await
            }
            Err(err) => Err(Error::from(StoreError::sdk(err)).into()),
        }
    }

    /// Marks a job failed with `error` (unless it already ended) and tells the requester.
    pub async fn fail(&self, id: Uuid, error: &str) -> Result<(), Error> {
        for _ in 0..5 {
            let Some(mut job) = self.jobs.get(id).await? else {
                return Ok(());
            };
            if matches!(job.status, JobStatus::Completed | JobStatus::Failed) {
                return Ok(());
            }
            job.status = JobStatus::Failed;
            job.error = Some(error.to_owned());
            job.completed_at = Some(self.clock.now());
            job.version += 1;
            match self.jobs.update(&job).await {
                Ok(()) => {
                    self.notify(&job).await;
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(Error::Conflict(
            "the job kept changing while it was being failed".into(),
        ))
    }

    async fn notify(&self, job: &ErasureJob) {
        let (kind, title, message) = match job.status {
            JobStatus::Completed => (
                kinds::ERASURE_COMPLETED,
                "Erasure completed".to_owned(),
                format!(
                    "Erasure job {} removed {} usage events.",
                    job.job_id, job.deleted_count
                ),
            ),
            _ => (
                kinds::ERASURE_FAILED,
                "Erasure failed".to_owned(),
                format!(
                    "Erasure job {} failed after removing {} usage events: {}",
                    job.job_id,
                    job.deleted_count,
                    job.error.as_deref().unwrap_or("unknown error")
                ),
            ),
        };
        let data = serde_json::json!({"job_id": job.job_id, "deleted_count": job.deleted_count, "scope": job.scope});
        self.notifications
            .notify_quietly(
                &job.requested_by,
                NewNotification {
                    kind,
                    title,
                    message,
                    data,
                },
            )
            .await;
    }
}
