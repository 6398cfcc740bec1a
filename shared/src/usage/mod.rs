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

/// A tally that was sent and not acknowledged. It is sent again exactly as it was, under the same
/// write id, so a write that committed but whose answer was lost (a timeout) is not applied twice:
/// the store treats a repeated id as the same write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentTally {
    /// The write's idempotency id.
    pub id: Uuid,
    /// Which key and day.
    pub key: TallyKey,
    /// The counts, unchanged since the first attempt.
    pub tally: Tally,
}

/// What one flush writes.
#[derive(Debug, Default)]
pub struct UsageBatch {
    /// New counters per key and day.
    pub tallies: HashMap<TallyKey, Tally>,
    /// Counters sent before and not acknowledged, oldest first.
    pub resend: Vec<SentTally>,
    /// Events in arrival order.
    pub events: Vec<UsageEvent>,
}

impl UsageBatch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.tallies.is_empty() && self.resend.is_empty() && self.events.is_empty()
    }

    /// Puts what an `older` flush left unwritten before this batch's own. New tallies of the
    /// same key and day merge; tallies already sent stay apart, under their write ids.
    fn merge(&mut self, older: UsageBatch) {
        for (key, tally) in older.tallies {
            self.tallies.entry(key).or_default().merge(&tally);
        }
        let mut resend = older.resend;
        resend.append(&mut self.resend);
        self.resend = resend;
        let mut events = older.events;
        events.append(&mut self.events);
        self.events = events;
    }
}

/// The storage port of usage.
#[async_trait]
pub trait UsageSink: Send + Sync {
    /// Writes a batch of counters and events; returns what could not be written (empty when all
    /// was). Each counter is written whole or not at all, under a write id (a new one for a new
    /// tally, its own for a resent one) that the store applies at most once; a counter that was
    /// not acknowledged comes back in `resend` with the id it was sent under.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        auth::{Caller, Credential, Role},
        clock::SystemClock,
        keys::{cache::VerifiedKeyCache, secret::KeyPrefix, service::KeyService, spec::NewKeySpec},
        store::memory::{MemoryKeyStore, MemoryUsage},
    };

    async fn key() -> ApiKey {
        let clock = Arc::new(SystemClock);
        let keys = KeyService::new(
            Arc::new(MemoryKeyStore::default()),
            KeyPrefix::default(),
            clock.clone(),
            Arc::new(VerifiedKeyCache::new(Duration::from_secs(30), clock)),
        );
        let owner = UserId::parse(&Uuid::new_v4().to_string()).unwrap();
        let caller = Caller {
            workspace_id: WorkspaceId::personal(&owner),
            user_id: owner,
            credential: Credential::Session { role: Role::Owner },
        };
        keys.create(&caller, NewKeySpec::named("k"))
            .await
            .unwrap()
            .key
    }

    fn tally_of(usage: &MemoryUsage, key: &ApiKey, at: DateTime<Utc>) -> (u64, u64) {
        let t = usage.tally(&TallyKey {
            key_id: key.id,
            owner_id: key.owner_id.clone(),
            day: at.date_naive(),
        });
        (t.success, t.failed)
    }

    #[tokio::test]
    async fn a_write_whose_answer_was_lost_is_resent_and_counted_once() {
        let usage = Arc::new(MemoryUsage::default());
        let recorder = UsageRecorder::new(usage.clone(), Duration::from_secs(3600));
        let (key, at) = (key().await, chrono::Utc::now());
        let context = AttemptContext::default();
        usage.lose_next_acks(1);
        for _ in 0..3 {
            recorder.record(&key, VerifyCode::Valid, at, &context).await;
        }
        recorder.flush().await;
        assert_eq!(
            tally_of(&usage, &key, at),
            (3, 0),
            "the first write committed"
        );
        recorder
            .record(&key, VerifyCode::NotFound, at, &context)
            .await;
        recorder.flush().await;
        assert_eq!(
            tally_of(&usage, &key, at),
            (3, 1),
            "the resend applied nothing twice"
        );
        assert_eq!(usage.events().len(), 4);
    }

    #[tokio::test]
    async fn a_failed_write_keeps_everything_for_the_next_flush() {
        let usage = Arc::new(MemoryUsage::default());
        let recorder = UsageRecorder::new(usage.clone(), Duration::from_secs(3600));
        let (key, at) = (key().await, chrono::Utc::now());
        let context = AttemptContext::default();
        usage.fail_next_writes(2);
        recorder.record(&key, VerifyCode::Valid, at, &context).await;
        recorder.flush().await;
        recorder.record(&key, VerifyCode::Valid, at, &context).await;
        recorder.flush().await;
        assert_eq!(tally_of(&usage, &key, at), (0, 0));
        recorder
            .record(&key, VerifyCode::RateLimited, at, &context)
            .await;
        recorder.flush().await;
        assert_eq!(tally_of(&usage, &key, at), (2, 1));
        assert_eq!(
            usage.events().len(),
            2,
            "a rate-limited request is counted, not stored"
        );
    }
}
