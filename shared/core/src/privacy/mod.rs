//! GDPR Article 17 erasure of the personal data Latchkey holds about the end clients of a
//! workspace's keys: the usage events recorded at verification. Daily aggregate counters hold no
//! personal data and stay.
//!
//! A job is validated and recorded by the privacy function (a dry run is counted and completed on
//! the spot), then executed by the worker from SQS in chunks; see [`erasure`].

pub mod draft;
pub mod erasure;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{UserId, WorkspaceId};

/// What an erasure covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every event of the workspace (`org` is an alias).
    Workspace,
    /// Events of the given devices.
    Device,
    /// Events within a time range.
    DateRange,
    /// Events carrying any of the given tags.
    Tag,
}

/// The state of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Recorded, waiting for the worker.
    Pending,
    /// Being executed.
    Running,
    /// Done.
    Completed,
    /// Gave up; `error` says why.
    Failed,
}

/// Most devices or tags in one request.
pub const MAX_SELECTORS: usize = 100;

/// A validated erasure request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureSpec {
    /// The scope.
    pub scope: Scope,
    /// Devices (scope `device`).
    pub device_ids: Vec<String>,
    /// Tags (scope `tag`).
    pub tags: Vec<String>,
    /// Start of the time range (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// End of the time range (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Count only.
    pub dry_run: bool,
}

/// Where a page of a target's events ends, as the store that gave it out spells it: opaque to
/// the domain, kept in the job so a run resumes exactly there.
pub type ResumeKey = std::collections::HashMap<String, String>;

/// Where a running job is: the target it is on and the key to resume after.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Index into the job's targets.
    pub target: usize,
    /// The last evaluated key of the previous page, within the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<ResumeKey>,
}

/// An erasure job as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErasureJob {
    /// Id.
    pub job_id: Uuid,
    /// The workspace erased.
    pub workspace_id: WorkspaceId,
    /// Who asked (notified when it ends).
    pub requested_by: UserId,
    /// Scope.
    pub scope: Scope,
    /// Devices.
    #[serde(default)]
    pub device_ids: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Range start.
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// Range end.
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// Days with events in scope, fixed at creation, so targets never shift under a cursor.
    #[serde(default)]
    pub days: Vec<NaiveDate>,
    /// Count only.
    pub dry_run: bool,
    /// State.
    pub status: JobStatus,
    /// Events in scope when the job was created.
    pub estimated_count: u64,
    /// Events erased so far.
    pub deleted_count: u64,
    /// Creation.
    pub created_at: DateTime<Utc>,
    /// First run.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// End.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Where it is.
    #[serde(default)]
    pub progress: Progress,
    /// Optimistic-concurrency version: every state change is conditional on it.
    pub version: u64,
}
