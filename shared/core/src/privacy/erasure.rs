//! Executing erasure jobs: Query-driven for every scope, exact under redelivery and crashes.
//!
//! A job's targets are fixed when it is created: for a device scope, each device's partition of
//! the device index; for the others, the 16 event partitions of every day the workspace has events
//! on (from the workspace's day markers). The worker takes one page of up to 99 events at a time
//! and deletes it in one transaction together with the job's new progress and count, conditional
//! on the job's version: a chunk is either wholly done and counted, or not at all, so a message
//! delivered twice or a worker that dies mid-job never double-counts and always resumes where the
//! last committed chunk left off. Counts are of verifications: an event aggregates alike ones
//! (see [`crate::usage`]) and counts for as many as it stands for.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ErasureJob, ErasureSpec, JobStatus, Progress, ResumeKey, Scope};
use crate::{
    audit::{
        Actor, ActorKind, AuditEvent, Change, Origin, Record, Target as AuditTarget,
        store::AuditTrail,
    },
    clock::Clock,
    error::Error,
    ids::{ErasureJobId, ResourceId, WorkspaceId},
    keys::caller::Caller,
    notifications::{NewNotification, Notifications, kinds},
    queue::{WorkMessage, WorkQueue},
    store_error::StoreError,
    usage::event_bucket,
};

/// Events deleted per transaction: DynamoDB allows 100 items, one is the job.
pub const CHUNK: usize = 99;

/// Partitions an estimate counts at once. The request waits for the estimate, and a workspace
/// with events on each of 90 days has 1,440 partitions.
const COUNT_CONCURRENCY: usize = 16;

/// One partition to erase from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// One shard of the workspace's events of one day.
    Events {
        /// The day.
        day: NaiveDate,
        /// The shard, below [`ErasureStore::shards`].
        shard: u32,
    },
    /// A device's events.
    Device(String),
}

/// A usage event to erase, as its store addresses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRef {
    /// Partition key.
    pub partition: String,
    /// Sort key.
    pub sort: String,
    /// How many verifications it stands for.
    pub count: u64,
}

/// One page of a target's events in scope of a job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventPage {
    /// The events.
    pub events: Vec<EventRef>,
    /// Where the next page starts; `None` when the target is done.
    pub after: Option<ResumeKey>,
}

/// The storage port of erasure: jobs (every change conditional on the job's version, so two
/// workers holding the same message never both apply a step) and the usage events they erase.
#[async_trait]
pub trait ErasureStore: Send + Sync {
    /// One job.
    async fn get(&self, id: Uuid) -> Result<Option<ErasureJob>, StoreError>;
    /// Stores a new job with `event`, in one transaction; `Conflict` if the id exists.
    async fn insert(&self, job: &ErasureJob, event: &AuditEvent) -> Result<(), StoreError>;
    /// Removes a job that was never announced (its message could not be queued), with `event`,
    /// in one transaction; a job already gone records nothing.
    async fn remove(&self, id: Uuid, event: &AuditEvent) -> Result<(), StoreError>;
    /// Replaces `job` if the stored one is still at `job.version - 1`, with `event` when given,
    /// in one transaction; else `Conflict`.
    async fn update(&self, job: &ErasureJob, event: Option<&AuditEvent>) -> Result<(), StoreError>;
    /// The partitions the events of `workspace` are spread over per day.
    fn shards(&self) -> u32;
    /// The days `workspace` has usage events on.
    async fn event_days(&self, workspace: &WorkspaceId) -> Result<Vec<NaiveDate>, StoreError>;
    /// How many verifications the events of `target` in scope of `job` stand for now.
    async fn count(&self, job: &ErasureJob, target: &Target) -> Result<u64, StoreError>;
    /// Up to `limit` events of `target` in scope of `job`, after `after`.
    async fn page(
        &self,
        job: &ErasureJob,
        target: &Target,
        after: Option<&ResumeKey>,
        limit: usize,
    ) -> Result<EventPage, StoreError>;
    /// In one transaction: deletes `events` and replaces the job with `next` if the stored one is
    /// still at `next.version - 1`. `Conflict` (nothing written) when another worker moved the
    /// job on or an event is already gone.
    async fn erase(&self, events: &[EventRef], next: &ErasureJob) -> Result<(), StoreError>;
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

/// The worker, as the actor of what it does to a job.
fn system_actor() -> Actor {
    Actor {
        kind: ActorKind::System,
        id: "worker".into(),
        name: Some("erasure worker".into()),
    }
}

/// One field's change.
fn change(field: &str, from: Value, to: Value) -> (String, Change) {
    (field.to_owned(), Change { from, to })
}

/// The record of `action` on `job`.
fn job_record(
    job: &ErasureJob,
    action: &str,
    actor: Actor,
    origin: Origin,
    changes: BTreeMap<String, Change>,
    time: DateTime<Utc>,
) -> Record {
    Record {
        workspace_id: job.workspace_id.clone(),
        action: action.to_owned(),
        actor,
        targets: vec![AuditTarget {
            kind: "erasure_job".into(),
            id: job.job_id.to_string(),
            name: None,
        }],
        origin,
        changes,
        users: vec![job.requested_by.to_string()],
        time,
    }
}

/// Creates, counts and executes erasure jobs.
pub struct Erasure {
    jobs: Arc<dyn ErasureStore>,
    notifications: Arc<Notifications>,
    clock: Arc<dyn Clock>,
    queue: Option<Arc<dyn WorkQueue>>,
    trail: AuditTrail,
}

/// The parts an [`Erasure`] works with.
pub struct ErasureParts {
    /// Where jobs and the events they erase are.
    pub jobs: Arc<dyn ErasureStore>,
    /// Tells the requester when a job ends.
    pub notifications: Arc<Notifications>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Where new jobs go (without one, only dry runs can be created).
    pub queue: Option<Arc<dyn WorkQueue>>,
    /// Where requests, withdrawals and ends of jobs are recorded.
    pub trail: AuditTrail,
}

impl Erasure {
    /// Erasure over `parts`.
    pub fn new(parts: ErasureParts) -> Self {
        let ErasureParts {
            jobs,
            notifications,
            clock,
            queue,
            trail,
        } = parts;
        Self {
            jobs,
            notifications,
            clock,
            queue,
            trail,
        }
    }

    /// The days the workspace has events on within `from..to`.
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
        Ok(self
            .jobs
            .event_days(workspace)
            .await?
            .into_iter()
            .filter(|d| (first..=last).contains(d))
            .collect())
    }

    fn targets(&self, job: &ErasureJob) -> Vec<Target> {
        match job.scope {
            Scope::Device => job.device_ids.iter().cloned().map(Target::Device).collect(),
            _ => job
                .days
                .iter()
                .flat_map(|&day| {
                    (0..self.jobs.shards()).map(move |shard| Target::Events { day, shard })
                })
                .collect(),
        }
    }

    /// Events in scope of `job` now: a Query with `Select: COUNT` per target,
    /// [`COUNT_CONCURRENCY`] targets at a time.
    pub async fn count(&self, job: &ErasureJob) -> Result<u64, Error> {
        stream::iter(self.targets(job))
            .map(|target| async move { self.jobs.count(job, &target).await })
            .buffer_unordered(COUNT_CONCURRENCY)
            .try_fold(0, |total, count| async move { Ok(total + count) })
            .await
            .map_err(Error::from)
    }

    /// Records a job for `spec` in the caller's workspace: sessions of its owners and admins
    /// only (403 for any other role, and for keys).
    pub async fn request(&self, caller: &Caller, spec: ErasureSpec) -> Result<ErasureJob, Error> {
        caller.require_owner_or_admin("erase its data")?;
        self.create(caller, spec).await
    }

    /// Records a job for `spec` in `caller`'s workspace, with its estimate, as
    /// `erasure.requested`. A dry run is counted and completed here; any other job is enqueued
    /// for the worker (and withdrawn, `erasure.withdrawn`, when the queue cannot take it).
    pub async fn create(&self, caller: &Caller, spec: ErasureSpec) -> Result<ErasureJob, Error> {
        let (requested_by, workspace) = (&caller.user_id, &caller.workspace_id);
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
            // An event stands for up to a minute of verifications from its `at`: a range starts at
            // its minute, so an erasure takes seconds too many rather than leave any behind.
            from: spec.from.map(event_bucket),
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
        }
        let queue = match (&self.queue, job.dry_run) {
            (_, true) => None,
            (Some(queue), false) => Some(queue),
            (None, false) => {
                return Err(Error::internal(std::io::Error::other(
                    "no work queue configured",
                )));
            }
        };
        let requested = job_record(
            &job,
            "erasure.requested",
            caller.actor(),
            caller.origin.clone(),
            BTreeMap::from([
                change("status", Value::Null, json!(job.status)),
                change("scope", Value::Null, json!(job.scope)),
                change("dry_run", Value::Null, json!(job.dry_run)),
                change("estimated_count", Value::Null, json!(job.estimated_count)),
            ]),
            now,
        );
        self.trail
            .recording(requested, |event| {
                let job = &job;
                async move { self.jobs.insert(job, &event).await }
            })
            .await?;
        let Some(queue) = queue else {
            return Ok(job);
        };
        if let Err(err) = queue
            .send(&WorkMessage::Erasure { job_id: job.job_id })
            .await
        {
            // A job nobody will run must not stay behind as `pending`.
            let withdrawn = job_record(
                &job,
                "erasure.withdrawn",
                system_actor(),
                caller.origin.clone(),
                BTreeMap::from([change("status", json!(job.status), Value::Null)]),
                self.clock.now(),
            );
            let removed = self
                .trail
                .recording(withdrawn, |event| async move {
                    self.jobs.remove(job.job_id, &event).await
                })
                .await;
            if let Err(cleanup) = removed {
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
                    job = match self.jobs.update(&running, None).await {
                        Ok(()) => running,
                        Err(StoreError::Conflict) => self.reload(id).await?,
                        Err(err) => return Err(err.into()),
                    };
                    continue;
                }
                JobStatus::Running => {}
            }
            let targets = self.targets(&job);
            if job.progress.target >= targets.len() {
                let mut done = job.clone();
                done.status = JobStatus::Completed;
                done.completed_at = Some(self.clock.now());
                done.version += 1;
                match self.ended(&job, &done).await {
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
        if job.dry_run {
            return Err(RunError::Permanent(
                "a dry run has nothing to execute".into(),
            ));
        }
        let page = self
            .jobs
            .page(&job, target, job.progress.after.as_ref(), CHUNK)
            .await?;
        let mut next = job.clone();
        next.progress = match page.after {
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
        next.deleted_count += page.events.iter().map(|e| e.count).sum::<u64>();
        match self.jobs.erase(&page.events, &next).await {
            Ok(()) => Ok(next),
            // Another worker moved the job on, or an event expired under us: read and go on.
            Err(StoreError::Conflict) => self.reload(job.job_id).await,
            Err(err) => Err(err.into()),
        }
    }

    /// Marks a job failed with `error` (unless it already ended) and tells the requester.
    pub async fn fail(&self, id: Uuid, error: &str) -> Result<(), Error> {
        for _ in 0..5 {
            let Some(before) = self.jobs.get(id).await? else {
                return Ok(());
            };
            if matches!(before.status, JobStatus::Completed | JobStatus::Failed) {
                return Ok(());
            }
            let mut job = before.clone();
            job.status = JobStatus::Failed;
            job.error = Some(error.to_owned());
            job.completed_at = Some(self.clock.now());
            job.version += 1;
            match self.ended(&before, &job).await {
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

    /// Stores `after`, the job ended (completed or failed), recorded as `erasure.completed` or
    /// `erasure.failed` by the worker.
    async fn ended(&self, before: &ErasureJob, after: &ErasureJob) -> Result<(), StoreError> {
        let action = match after.status {
            JobStatus::Completed => "erasure.completed",
            _ => "erasure.failed",
        };
        let mut changes = BTreeMap::from([
            change("status", json!(before.status), json!(after.status)),
            change(
                "deleted_count",
                json!(before.deleted_count),
                json!(after.deleted_count),
            ),
        ]);
        if after.error.is_some() {
            changes.extend([change("error", Value::Null, json!(after.error))]);
        }
        let record = job_record(
            after,
            action,
            system_actor(),
            Origin {
                family: "worker".into(),
                ..Origin::default()
            },
            changes,
            after.completed_at.unwrap_or_else(|| self.clock.now()),
        );
        self.trail
            .recording(record, |event| async move {
                self.jobs.update(after, Some(&event)).await
            })
            .await
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{
        audit::{
            chain,
            store::{AuditQuery, AuditStore},
        },
        clock::ManualClock,
        ids::KeyId,
        ids::UserId,
        keys::caller::Credential,
        outcome::VerifyCode,
        role::Role,
        store::memory::{
            MemoryAuditStore, MemoryErasureStore, MemoryNotificationStore, MemoryUsage,
        },
        usage::{AttemptContext, UsageBatch, UsageEvent, UsageSink},
    };

    struct Parts {
        erasure: Erasure,
        jobs: Arc<MemoryErasureStore>,
        usage: Arc<MemoryUsage>,
        inbox: Arc<MemoryNotificationStore>,
        audit: Arc<MemoryAuditStore>,
        clock: Arc<ManualClock>,
        workspace: WorkspaceId,
        owner: UserId,
        caller: Caller,
    }

    fn parts() -> Parts {
        let clock = ManualClock::now();
        let usage = Arc::new(MemoryUsage::default());
        let audit = Arc::new(MemoryAuditStore::default());
        let jobs = Arc::new(MemoryErasureStore::new(usage.clone(), audit.clone()));
        let inbox = Arc::new(MemoryNotificationStore::default());
        let id = Uuid::new_v4().to_string();
        let (workspace, owner) = (
            WorkspaceId::parse(&id).unwrap(),
            UserId::parse(&id).unwrap(),
        );
        Parts {
            erasure: Erasure::new(ErasureParts {
                jobs: jobs.clone(),
                notifications: Arc::new(Notifications::new(inbox.clone(), clock.clone())),
                clock: clock.clone(),
                queue: None,
                trail: AuditTrail::new(audit.clone()),
            }),
            jobs,
            usage,
            inbox,
            audit,
            clock,
            caller: Caller {
                user_id: owner.clone(),
                workspace_id: workspace.clone(),
                credential: Credential::Session { role: Role::Owner },
                origin: Origin::default(),
            },
            workspace,
            owner,
        }
    }

    /// The actions recorded in the workspace's log, oldest first.
    async fn recorded(p: &Parts) -> Vec<String> {
        let query = AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        };
        let (mut events, _) = p.audit.newest_first(&p.workspace, &query).await.unwrap();
        events.reverse();
        events.into_iter().map(|e| e.action).collect()
    }

    /// `count` events over the last three days, alternating devices `a`/`b` and tags `x`/`y`.
    async fn seed(p: &Parts, count: usize) {
        let key = KeyId::new();
        let events = (0..count)
            .map(|i| UsageEvent {
                id: Uuid::new_v4(),
                at: p.clock.now() - chrono::Duration::hours((i % 3) as i64 * 24),
                count: 1,
                key_id: key,
                workspace_id: p.workspace.clone(),
                owner_id: p.owner.clone(),
                outcome: VerifyCode::Valid,
                context: AttemptContext {
                    device_id: Some(["a", "b"][i % 2].into()),
                    tags: vec![["x", "y"][i % 2].into()],
                    ..AttemptContext::default()
                },
            })
            .collect();
        p.usage
            .write(UsageBatch {
                events,
                ..UsageBatch::default()
            })
            .await;
    }

    fn spec(scope: Scope, dry_run: bool) -> ErasureSpec {
        ErasureSpec {
            scope,
            device_ids: vec!["a".into()],
            tags: vec!["y".into()],
            from: None,
            to: None,
            dry_run,
        }
    }

    /// A job as `create` would record it, stored without a queue.
    async fn pending(p: &Parts, spec: ErasureSpec) -> ErasureJob {
        let mut job = p
            .erasure
            .create(
                &p.caller,
                ErasureSpec {
                    dry_run: true,
                    ..spec
                },
            )
            .await
            .unwrap();
        job.job_id = Uuid::new_v4();
        job.dry_run = false;
        job.status = JobStatus::Pending;
        job.started_at = None;
        job.completed_at = None;
        let record = job_record(
            &job,
            "erasure.requested",
            p.caller.actor(),
            Origin::default(),
            BTreeMap::new(),
            p.clock.now(),
        );
        let head = p.audit.head(&p.workspace).await.unwrap();
        p.jobs
            .insert(&job, &chain::seal(record, &head))
            .await
            .unwrap();
        job
    }

    fn budget(max_chunks: usize) -> Budget {
        Budget {
            deadline: Instant::now() + Duration::from_secs(60),
            max_chunks: Some(max_chunks),
        }
    }

    #[tokio::test]
    async fn a_dry_run_estimates_each_scope_and_erases_nothing() {
        let p = parts();
        seed(&p, 30).await;
        for (scope, expected) in [
            (Scope::Workspace, 30),
            (Scope::Device, 15),
            (Scope::Tag, 15),
        ] {
            let job = p
                .erasure
                .create(&p.caller, spec(scope, true))
                .await
                .unwrap();
            assert_eq!(
                (job.estimated_count, job.status),
                (expected, JobStatus::Completed),
                "{scope:?}"
            );
        }
        assert_eq!(p.usage.events().len(), 30);
        let other = WorkspaceId::parse(&Uuid::new_v4().to_string()).unwrap();
        assert!(matches!(
            p.erasure.get(&other, Uuid::new_v4()).await,
            Err(Error::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_job_resumes_across_runs_and_counts_each_event_once() {
        let p = parts();
        seed(&p, 250).await;
        // One device is one target: 125 events, two chunks of at most 99, one chunk per run.
        let job = pending(&p, spec(Scope::Device, false)).await;
        assert_eq!(job.estimated_count, 125);
        assert_eq!(
            p.erasure.run(job.job_id, budget(1)).await.unwrap(),
            RunOutcome::Continued
        );
        let halfway = p.jobs.get(job.job_id).await.unwrap().unwrap();
        assert_eq!(halfway.deleted_count, 99);
        assert!(
            halfway.progress.after.is_some(),
            "it resumes inside the target"
        );
        assert_eq!(
            p.erasure.run(job.job_id, budget(1)).await.unwrap(),
            RunOutcome::Finished
        );
        let done = p.jobs.get(job.job_id).await.unwrap().unwrap();
        assert_eq!(
            (done.status, done.deleted_count),
            (JobStatus::Completed, 125)
        );
        let left = p.usage.events();
        assert_eq!(left.len(), 125);
        assert!(
            left.iter()
                .all(|e| e.context.device_id.as_deref() == Some("b"))
        );
        // Delivered again after it finished: nothing changes.
        assert_eq!(
            p.erasure.run(job.job_id, budget(1)).await.unwrap(),
            RunOutcome::Finished
        );
        assert_eq!(p.jobs.get(job.job_id).await.unwrap().unwrap(), done);
        let told = p.inbox.of(&p.owner);
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].kind, kinds::ERASURE_COMPLETED);
        assert_eq!(
            recorded(&p).await,
            [
                "erasure.requested",
                "erasure.requested",
                "erasure.completed"
            ],
            "the estimate's dry run, the job, and its end once"
        );
    }

    #[tokio::test]
    async fn two_workers_on_one_job_erase_exactly_its_scope() {
        let p = parts();
        seed(&p, 300).await;
        let job = pending(&p, spec(Scope::Workspace, false)).await;
        let unlimited = Budget {
            deadline: Instant::now() + Duration::from_secs(60),
            max_chunks: None,
        };
        let (a, b) = tokio::join!(
            p.erasure.run(job.job_id, unlimited),
            p.erasure.run(job.job_id, unlimited)
        );
        assert_eq!(
            (a.unwrap(), b.unwrap()),
            (RunOutcome::Finished, RunOutcome::Finished)
        );
        let done = p.jobs.get(job.job_id).await.unwrap().unwrap();
        assert_eq!(
            (done.status, done.deleted_count),
            (JobStatus::Completed, 300)
        );
        assert!(p.usage.events().is_empty());
    }

    #[tokio::test]
    async fn a_failed_job_says_why_and_stays_failed() {
        let p = parts();
        seed(&p, 5).await;
        let job = pending(&p, spec(Scope::Tag, false)).await;
        p.erasure.fail(job.job_id, "broken").await.unwrap();
        p.erasure.fail(job.job_id, "again").await.unwrap();
        let failed = p.jobs.get(job.job_id).await.unwrap().unwrap();
        assert_eq!(
            (failed.status, failed.error.as_deref()),
            (JobStatus::Failed, Some("broken"))
        );
        assert_eq!(
            p.erasure.run(job.job_id, budget(1)).await.unwrap(),
            RunOutcome::Finished
        );
        assert_eq!(p.usage.events().len(), 5);
        assert_eq!(p.inbox.of(&p.owner)[0].kind, kinds::ERASURE_FAILED);
        assert_eq!(
            recorded(&p).await.last().map(String::as_str),
            Some("erasure.failed")
        );
    }
}
