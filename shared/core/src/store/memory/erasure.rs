//! The in-memory adapter of [`ErasureStore`], erasing the events of a [`MemoryUsage`].

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use chrono::NaiveDate;
use uuid::Uuid;

use super::MemoryAuditStore;
use super::MemoryUsage;
use crate::{
    audit::AuditEvent,
    ids::WorkspaceId,
    privacy::{
        ErasureJob, ResumeKey, Scope,
        erasure::{ErasureStore, EventPage, EventRef, Target},
    },
    store::StoreError,
    usage::UsageEvent,
};

/// The resume key's one entry: the id of the last event of the previous page.
const AFTER: &str = "event";

/// Erasure jobs in memory, over the events of `usage`.
#[derive(Debug)]
pub struct MemoryErasureStore {
    jobs: Mutex<HashMap<Uuid, ErasureJob>>,
    usage: Arc<MemoryUsage>,
    /// The audit log each change's event joins, in the same step.
    audit: Arc<MemoryAuditStore>,
}

impl MemoryErasureStore {
    /// Jobs erasing from `usage`, their changes' events joining `audit`.
    pub fn new(usage: Arc<MemoryUsage>, audit: Arc<MemoryAuditStore>) -> Self {
        Self {
            jobs: Mutex::default(),
            usage,
            audit,
        }
    }

    /// The events of `target` in scope of `job`, in the order pages give them out.
    fn in_scope(&self, job: &ErasureJob, target: &Target) -> Vec<UsageEvent> {
        let mut events: Vec<UsageEvent> = self
            .usage
            .events()
            .into_iter()
            .filter(|e| e.workspace_id == job.workspace_id)
            .filter(|e| match target {
                Target::Events { day, .. } => e.at.date_naive() == *day,
                Target::Device(device) => e.context.device_id.as_ref() == Some(device),
            })
            .filter(|e| job.from.is_none_or(|from| e.at >= from))
            .filter(|e| job.to.is_none_or(|to| e.at < to))
            .filter(|e| {
                job.scope != Scope::Tag || e.context.tags.iter().any(|t| job.tags.contains(t))
            })
            .collect();
        events.sort_by_key(|e| (e.at, e.id));
        events
    }
}

#[async_trait]
impl ErasureStore for MemoryErasureStore {
    async fn get(&self, id: Uuid) -> Result<Option<ErasureJob>, StoreError> {
        Ok(self.jobs.lock().expect("lock").get(&id).cloned())
    }

    async fn insert(&self, job: &ErasureJob, event: &AuditEvent) -> Result<(), StoreError> {
        let mut jobs = self.jobs.lock().expect("lock");
        if jobs.contains_key(&job.job_id) {
            return Err(StoreError::Conflict);
        }
        self.audit.append_checked(event)?;
        jobs.insert(job.job_id, job.clone());
        Ok(())
    }

    async fn remove(&self, id: Uuid, event: &AuditEvent) -> Result<(), StoreError> {
        let mut jobs = self.jobs.lock().expect("lock");
        if jobs.contains_key(&id) {
            self.audit.append_checked(event)?;
            jobs.remove(&id);
        }
        Ok(())
    }

    async fn update(&self, job: &ErasureJob, event: Option<&AuditEvent>) -> Result<(), StoreError> {
        let mut jobs = self.jobs.lock().expect("lock");
        match jobs.get(&job.job_id) {
            Some(stored) if stored.version + 1 == job.version => {
                if let Some(event) = event {
                    self.audit.append_checked(event)?;
                }
                jobs.insert(job.job_id, job.clone());
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    fn shards(&self) -> u32 {
        1
    }

    async fn event_days(&self, workspace: &WorkspaceId) -> Result<Vec<NaiveDate>, StoreError> {
        let days: BTreeSet<NaiveDate> = self
            .usage
            .events()
            .iter()
            .filter(|e| &e.workspace_id == workspace)
            .map(|e| e.at.date_naive())
            .collect();
        Ok(days.into_iter().collect())
    }

    async fn count(&self, job: &ErasureJob, target: &Target) -> Result<u64, StoreError> {
        Ok(self.in_scope(job, target).iter().map(|e| e.count).sum())
    }

    async fn page(
        &self,
        job: &ErasureJob,
        target: &Target,
        after: Option<&ResumeKey>,
        limit: usize,
    ) -> Result<EventPage, StoreError> {
        let events = self.in_scope(job, target);
        let start = match after.and_then(|a| a.get(AFTER)) {
            Some(last) => events
                .iter()
                .position(|e| &e.id.to_string() == last)
                .map_or(0, |i| i + 1),
            None => 0,
        };
        let page: Vec<&UsageEvent> = events.iter().skip(start).take(limit).collect();
        let more = start + page.len() < events.len();
        Ok(EventPage {
            after: more
                .then(|| page.last())
                .flatten()
                .map(|last| ResumeKey::from([(AFTER.to_owned(), last.id.to_string())])),
            events: page
                .iter()
                .map(|e| EventRef {
                    partition: e.workspace_id.to_string(),
                    sort: e.id.to_string(),
                    count: e.count,
                })
                .collect(),
        })
    }

    async fn erase(&self, events: &[EventRef], next: &ErasureJob) -> Result<(), StoreError> {
        let mut jobs = self.jobs.lock().expect("lock");
        if jobs.get(&next.job_id).map(|j| j.version + 1) != Some(next.version) {
            return Err(StoreError::Conflict);
        }
        let doomed: BTreeSet<&str> = events.iter().map(|e| e.sort.as_str()).collect();
        let present = self
            .usage
            .events()
            .iter()
            .filter(|e| doomed.contains(e.id.to_string().as_str()))
            .count();
        if present != doomed.len() {
            return Err(StoreError::Conflict);
        }
        self.usage
            .retain_events(|e| !doomed.contains(e.id.to_string().as_str()));
        jobs.insert(next.job_id, next.clone());
        Ok(())
    }
}
