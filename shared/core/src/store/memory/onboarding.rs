//! The in-memory adapter of [`OnboardingStore`].

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{ids::UserId, onboarding::OnboardingStore, store::StoreError};

/// Checklist marks in memory.
#[derive(Debug, Default)]
pub struct MemoryOnboardingStore {
    marks: Mutex<HashMap<UserId, HashMap<String, DateTime<Utc>>>>,
    writes: std::sync::atomic::AtomicU64,
}

impl MemoryOnboardingStore {
    /// How many writes reached the store (repeated steps should not).
    pub fn writes(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[async_trait]
impl OnboardingStore for MemoryOnboardingStore {
    async fn set_once(
        &self,
        user: &UserId,
        mark: &'static str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.marks
            .lock()
            .expect("lock")
            .entry(user.clone())
            .or_default()
            .entry(mark.to_owned())
            .or_insert(at);
        Ok(())
    }

    async fn marks(&self, user: &UserId) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        Ok(self
            .marks
            .lock()
            .expect("lock")
            .get(user)
            .cloned()
            .unwrap_or_default())
    }
}
