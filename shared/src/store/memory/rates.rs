//! The in-memory adapter of [`RateCounter`].

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{ids::KeyId, keys::ratelimit::RateCounter, store::StoreError};

/// Rate windows in memory, counted exactly like the conditional `ADD` of the DynamoDB adapter.
#[derive(Debug, Default)]
pub struct MemoryRateCounter {
    windows: Mutex<HashMap<(KeyId, DateTime<Utc>), u64>>,
    calls: std::sync::atomic::AtomicU64,
}

impl MemoryRateCounter {
    /// How many times the store was asked to count (a spent window should stop asking).
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[async_trait]
impl RateCounter for MemoryRateCounter {
    async fn try_increment(
        &self,
        key: KeyId,
        start: DateTime<Utc>,
        limit: u32,
    ) -> Result<Option<u64>, StoreError> {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut windows = self.windows.lock().expect("lock");
        let count = windows.entry((key, start)).or_default();
        if *count < u64::from(limit) {
            *count += 1;
            Ok(Some(*count))
        } else {
            Ok(None)
        }
    }
}
