//! The in-memory adapter of [`RateCounter`].

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    ids::KeyId,
    keys::{limit::RateWindow, ratelimit::RateCounter},
    store::StoreError,
};

/// One key's window: its length and start.
type Window = (KeyId, RateWindow, DateTime<Utc>);

/// Rate windows in memory, reserved exactly like the conditional `ADD` of the DynamoDB adapter.
#[derive(Debug, Default)]
pub struct MemoryRateCounter {
    windows: Mutex<HashMap<Window, u64>>,
    calls: std::sync::atomic::AtomicU64,
}

impl MemoryRateCounter {
    /// How many reservations were asked of the store (refused ones included).
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[async_trait]
impl RateCounter for MemoryRateCounter {
    async fn reserve(
        &self,
        key: KeyId,
        window: RateWindow,
        start: DateTime<Utc>,
        slice: u32,
        limit: u32,
    ) -> Result<Option<u64>, StoreError> {
        if slice > limit {
            return Ok(None);
        }
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut windows = self.windows.lock().expect("lock");
        let reserved = windows.entry((key, window, start)).or_default();
        if *reserved + u64::from(slice) <= u64::from(limit) {
            *reserved += u64::from(slice);
            Ok(Some(*reserved))
        } else {
            Ok(None)
        }
    }
}
