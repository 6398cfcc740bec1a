//! The in-memory adapter of [`UsageSink`], which also serves the daily aggregates it writes to
//! the dashboard ([`DashboardStore`]) and its events to erasure (`MemoryErasureStore`).

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Mutex,
        atomic::{AtomicU32, Ordering},
    },
};

use async_trait::async_trait;
use chrono::NaiveDate;
use uuid::Uuid;

use crate::{
    dashboard::DashboardStore,
    ids::UserId,
    keys::model::DailyUsage,
    store::StoreError,
    usage::{SentTally, Tally, TallyKey, UsageBatch, UsageEvent, UsageSink},
};

/// Usage in memory: every event written, and the daily counters per key and per owner.
#[derive(Debug, Default)]
pub struct MemoryUsage {
    events: Mutex<Vec<UsageEvent>>,
    per_key: Mutex<HashMap<TallyKey, Tally>>,
    /// Write ids applied: a repeated one is not applied again, as DynamoDB does with a repeated
    /// `ClientRequestToken`.
    applied: Mutex<HashSet<Uuid>>,
    /// Ids of the events stored (a put of the same event twice stores it once).
    event_ids: Mutex<HashSet<Uuid>>,
    failing_writes: AtomicU32,
    lost_acks: AtomicU32,
    /// The keys the tallies are counted onto, when set ([`Self::counting_onto`]).
    keys: std::sync::OnceLock<std::sync::Arc<super::MemoryKeyStore>>,
}

impl MemoryUsage {
    /// The next `n` writes fail whole (and hand their batch back), as a throttled table would.
    pub fn fail_next_writes(&self, n: u32) {
        self.failing_writes.store(n, Ordering::SeqCst);
    }

    /// The next `n` writes are applied but reported as failed, as when a timeout hides a commit.
    pub fn lose_next_acks(&self, n: u32) {
        self.lost_acks.store(n, Ordering::SeqCst);
    }

    /// Every event written, in order.
    /// Counts every tally written from now on onto `keys` too, as the DynamoDB sink writes them
    /// to the key items.
    pub fn counting_onto(self, keys: std::sync::Arc<super::MemoryKeyStore>) -> Self {
        let _ = self.keys.set(keys);
        self
    }

    pub fn events(&self) -> Vec<UsageEvent> {
        self.events.lock().expect("lock").clone()
    }

    /// The counters written for `key`.
    pub fn tally(&self, key: &TallyKey) -> Tally {
        self.per_key
            .lock()
            .expect("lock")
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    /// Removes the events `keep` refuses; returns how many went.
    pub fn retain_events(&self, keep: impl Fn(&UsageEvent) -> bool) -> usize {
        let mut events = self.events.lock().expect("lock");
        let before = events.len();
        events.retain(|e| keep(e));
        let kept: HashSet<Uuid> = events.iter().map(|e| e.id).collect();
        self.event_ids
            .lock()
            .expect("lock")
            .retain(|id| kept.contains(id));
        before - events.len()
    }
}

#[async_trait]
impl UsageSink for MemoryUsage {
    async fn write(&self, batch: UsageBatch) -> UsageBatch {
        let failing = self
            .failing_writes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let mut sent = batch.resend;
        sent.extend(SentTally::fresh(batch.tallies));
        if failing {
            return UsageBatch {
                resend: sent,
                events: batch.events,
                ..UsageBatch::default()
            };
        }
        {
            let mut per_key = self.per_key.lock().expect("lock");
            let mut applied = self.applied.lock().expect("lock");
            let writes = SentTally::writes(sent.clone());
            for s in writes.iter().filter(|w| applied.insert(w[0].id)).flatten() {
                let stored = per_key.entry(s.key.clone()).or_default();
                stored.success += s.tally.success;
                stored.failed += s.tally.failed;
                stored.last_used_at = stored.last_used_at.max(s.tally.last_used_at);
                stored.last_failed_at = stored.last_failed_at.max(s.tally.last_failed_at);
                if let Some(keys) = self.keys.get() {
                    keys.count_usage(&s.key, &s.tally);
                }
            }
        }
        {
            let mut events = self.events.lock().expect("lock");
            let mut ids = self.event_ids.lock().expect("lock");
            for event in &batch.events {
                if ids.insert(event.id) {
                    events.push(event.clone());
                }
            }
        }
        let lost = self
            .lost_acks
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if lost {
            UsageBatch {
                resend: sent,
                events: batch.events,
                ..UsageBatch::default()
            }
        } else {
            UsageBatch::default()
        }
    }
}

#[async_trait]
impl DashboardStore for MemoryUsage {
    async fn daily(
        &self,
        user: &UserId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyUsage>, StoreError> {
        let mut days = std::collections::BTreeMap::<NaiveDate, DailyUsage>::new();
        for (key, t) in self.per_key.lock().expect("lock").iter() {
            if &key.owner_id == user && (from..=to).contains(&key.day) {
                let day = days.entry(key.day).or_insert(DailyUsage {
                    date: key.day,
                    ..DailyUsage::default()
                });
                day.success += t.success;
                day.failed += t.failed;
            }
        }
        Ok(days.into_values().collect())
    }
}
