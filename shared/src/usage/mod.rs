//! Usage accounting of verifications: counters on the key, daily aggregates, and usage events.
//!
//! A busy key must not become one DynamoDB item written per request. Verifications are tallied in
//! the warm container and written at most once per flush interval: one `UpdateItem` per key, one per
//! key and day, one per owner and day, whatever the request rate. Usage events (the personal data an
//! erasure removes) are one item each, batched 25 to a `BatchWriteItem`, and spread over
//! [`crate::store::table::USAGE_SHARDS`] partitions per workspace and day.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::{
    ids::{KeyId, UserId, WorkspaceId},
    keys::{model::ApiKey, outcome::VerifyCode},
};

/// Where a verification came from, as far as the caller knows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttemptContext {
    /// The end client's address.
    pub ip: Option<IpAddr>,
    /// The end client's user agent.
    pub user_agent: Option<String>,
    /// The end client's device, when the caller names it.
    pub device_id: Option<String>,
    /// Free tags the caller attaches.
    pub tags: Vec<String>,
}

/// One recorded verification of a known key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageEvent {
    /// Event id.
    pub id: Uuid,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The key verified.
    pub key_id: KeyId,
    /// The key's workspace.
    pub workspace_id: WorkspaceId,
    /// The key's owner.
    pub owner_id: UserId,
    /// The outcome.
    pub outcome: VerifyCode,
    /// Who called, as known.
    pub context: AttemptContext,
}

/// Successes and failures of one key on one day, with the latest times.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Successful verifications.
    pub success: u64,
    /// Failed verifications.
    pub failed: u64,
    /// Latest success.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Latest failure.
    pub last_failed_at: Option<DateTime<Utc>>,
}

impl Tally {
    fn add(&mut self, success: bool, at: DateTime<Utc>) {
        if success {
            self.success += 1;
            self.last_used_at = self.last_used_at.max(Some(at));
        } else {
            self.failed += 1;
            self.last_failed_at = self.last_failed_at.max(Some(at));
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.success += other.success;
        self.failed += other.failed;
        self.last_used_at = self.last_used_at.max(other.last_used_at);
        self.last_failed_at = self.last_failed_at.max(other.last_failed_at);
    }
}

/// Which key a tally belongs to, and on which day.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TallyKey {
    /// The key.
    pub key_id: KeyId,
    /// Its owner (for the owner's daily aggregate).
    pub owner_id: UserId,
    /// The UTC day.
    pub day: NaiveDate,
}

/// What one flush writes.
#[derive(Debug, Default)]
pub struct UsageBatch {
    /// Counters per key and day.
    pub tallies: HashMap<TallyKey, Tally>,
    /// Events in arrival order.
    pub events: Vec<UsageEvent>,
}

impl UsageBatch {
    fn is_empty(&self) -> bool {
        self.tallies.is_empty() && self.events.is_empty()
    }

    fn merge(&mut self, older: UsageBatch) {
        for (key, tally) in older.tallies {
            self.tallies.entry(key).or_default().merge(&tally);
        }
        let mut events = older.events;
        events.append(&mut self.events);
        self.events = events;
    }
}

/// The storage port of usage.
#[async_trait]
pub trait UsageSink: Send + Sync {
    /// Writes a batch of counters and events; returns what could not be written (empty when all was).
    /// Each counter is written whole or not at all, so returning it for a retry never double-counts.
    async fn write(&self, batch: UsageBatch) -> UsageBatch;
}

/// Most events held in memory when writes keep failing; past it the oldest are dropped (and logged).
const MAX_BUFFERED_EVENTS: usize = 10_000;
/// Events that trigger a flush before the interval is up: one `BatchWriteItem`'s worth.
const EVENTS_PER_FLUSH: usize = 25;

struct Buffer {
    batch: UsageBatch,
    since: Instant,
}

/// Tallies verifications in the warm container and writes them in batches.
pub struct UsageRecorder {
    sink: Arc<dyn UsageSink>,
    interval: Duration,
    buffer: Mutex<Buffer>,
}

impl UsageRecorder {
    /// A recorder writing through `sink` at most every `interval` (zero: on every verification).
    pub fn new(sink: Arc<dyn UsageSink>, interval: Duration) -> Self {
        Self {
            sink,
            interval,
            buffer: Mutex::new(Buffer {
                batch: UsageBatch::default(),
                since: Instant::now(),
            }),
        }
    }

    /// Records a verification of `key` and writes the buffer when it is due.
    pub async fn record(
        &self,
        key: &ApiKey,
        outcome: VerifyCode,
        at: DateTime<Utc>,
        context: &AttemptContext,
    ) {
        let due = {
            let mut buffer = self.buffer.lock().expect("usage lock");
            let tally_key = TallyKey {
                key_id: key.id,
                owner_id: key.owner_id.clone(),
                day: at.date_naive(),
            };
            buffer
                .batch
                .tallies
                .entry(tally_key)
                .or_default()
                .add(outcome == VerifyCode::Valid, at);
            // Requests refused for the rate limit are counted but not stored one by one: a key
            // hammered past its limit must not turn into one event write per request.
            if outcome != VerifyCode::RateLimited {
                buffer.batch.events.push(UsageEvent {
                    id: Uuid::new_v4(),
                    at,
                    key_id: key.id,
                    workspace_id: key.workspace_id.clone(),
                    owner_id: key.owner_id.clone(),
                    outcome,
                    context: context.clone(),
                });
            }
            buffer.since.elapsed() >= self.interval || buffer.batch.events.len() >= EVENTS_PER_FLUSH
        };
        if due {
            self.flush().await;
        }
    }

    /// Writes everything buffered. A failed write keeps the batch for the next flush.
    pub async fn flush(&self) {
        let batch = {
            let mut buffer = self.buffer.lock().expect("usage lock");
            buffer.since = Instant::now();
            std::mem::take(&mut buffer.batch)
        };
        if batch.is_empty() {
            return;
        }
        let left = self.sink.write(batch).await;
        if !left.is_empty() {
            let mut buffer = self.buffer.lock().expect("usage lock");
            let mut newer = std::mem::take(&mut buffer.batch);
            newer.merge(left);
            let excess = newer.events.len().saturating_sub(MAX_BUFFERED_EVENTS);
            if excess > 0 {
                tracing::error!(
                    dropped = excess,
                    "usage event buffer full; dropping the oldest events"
                );
                newer.events.drain(..excess);
            }
            buffer.batch = newer;
        }
    }
}
