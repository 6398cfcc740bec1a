//! The answers of the privacy family.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use latchkey_core::{privacy, timestamp::serde_rfc3339};

/// What an erasure covers.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
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
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
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

/// PrivacyErasureResponse.
#[derive(Debug, Serialize, PartialEq, ToSchema)]
pub struct ErasureResponse {
    job_id: Uuid,
    #[schema(value_type = JobStatus)]
    status: privacy::JobStatus,
    estimated_count: u64,
    deleted_count: u64,
    #[serde(with = "serde_rfc3339::option")]
    started_at: Option<DateTime<Utc>>,
    #[serde(with = "serde_rfc3339::option")]
    completed_at: Option<DateTime<Utc>>,
    dry_run: bool,
    #[schema(value_type = Scope)]
    scope: privacy::Scope,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl From<&privacy::ErasureJob> for ErasureResponse {
    fn from(job: &privacy::ErasureJob) -> Self {
        Self {
            job_id: job.job_id,
            status: job.status,
            estimated_count: job.estimated_count,
            deleted_count: job.deleted_count,
            started_at: job.started_at,
            completed_at: job.completed_at,
            dry_run: job.dry_run,
            scope: job.scope,
            error: job.error.clone(),
        }
    }
}
