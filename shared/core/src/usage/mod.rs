//! Usage accounting of verifications: counters on the key, daily aggregates, and usage events.
//!
//! A busy key must not become one DynamoDB item written per request. Verifications are tallied in
//! the warm container and written at most once per flush interval: one transaction per key and day
//! (the key's counters, its day, its owner's day), whatever the request rate. Usage events (the
//! personal data an erasure removes) are aggregated the same way: verifications of one key with the
//! same outcome, from the same client (IP, user agent, `device_id`, tags), within one minute, are
//! one event with a `count`. Events are batched 25 to a `BatchWriteItem` and spread over
//! `USAGE_SHARDS` (the AWS crate's table layout) partitions per workspace and day.
//!
//! With a flush interval, a due flush runs in a background task, one at a time, so no answer waits
//! for storage. On Lambda a task only runs while its container is thawed, so a flush started after
//! one request may finish during the next; the writes it resends are applied once (see
//! [`SentTally`]). With a zero interval (the local stack's default), every verification is written
//! before its answer, so what a test did is visible at once.

use std::{
    collections::{HashMap, HashSet},
    hash::{Hash, Hasher},
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod fold;

use crate::{
    ids::{KeyId, UserId, WorkspaceId},
    outcome::VerifyCode,
};

/// The key a verification was of, as usage counts it: whose it is and where.
#[derive(Clone, Copy, Debug)]
pub struct UsedKey<'a> {
    /// The key.
    pub id: KeyId,
    /// Its owner, whose day totals it counts into.
    pub owner_id: &'a UserId,
    /// Its workspace.
    pub workspace_id: &'a WorkspaceId,
}

/// Where a verification came from, as far as the caller knows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// Recorded verifications of a known key: `count` of them, alike but for their time, within one
/// [`EVENT_BUCKET`] from `at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEvent {
    /// Event id.
    pub id: Uuid,
    /// When the first of them happened.
    pub at: DateTime<Utc>,
    /// How many verifications it stands for (at least one).
    pub count: u64,
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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

    pub(crate) fn merge(&mut self, other: &Tally) {
        self.success += other.success;
        self.failed += other.failed;
        self.last_used_at = self.last_used_at.max(other.last_used_at);
        self.last_failed_at = self.last_failed_at.max(other.last_failed_at);
    }
}

/// Which key a tally belongs to, and on which day.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
/// the store treats a repeated id as the same write. Tallies sent under one id are one write (at
/// most [`TALLIES_PER_WRITE`] of them, see [`SentTally::writes`]) and are resent together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentTally {
    /// The write's idempotency id, shared by the tallies written with it.
    pub id: Uuid,
    /// Which key and day.
    pub key: TallyKey,
    /// The counts, unchanged since the first attempt.
    pub tally: Tally,
}

/// Most key days written in one write (a DynamoDB transaction of two items per key day holds
/// 100): a fold of a thousand keys is 40 calls, not a thousand.
pub const TALLIES_PER_WRITE: usize = 25;

impl SentTally {
    /// `tallies` under new write ids, at most [`TALLIES_PER_WRITE`] to an id and one day per key
    /// (a transaction may not touch one item twice, and each tally adds to its key's item).
    pub fn fresh(tallies: impl IntoIterator<Item = (TallyKey, Tally)>) -> Vec<Self> {
        let mut sent = Vec::new();
        let mut id = Uuid::new_v4();
        let mut keys: HashSet<KeyId> = HashSet::new();
        for (key, tally) in tallies {
            if keys.len() == TALLIES_PER_WRITE || keys.contains(&key.key_id) {
                id = Uuid::new_v4();
                keys.clear();
            }
            keys.insert(key.key_id);
            sent.push(Self { id, key, tally });
        }
        sent
    }

    /// `sent` grouped into its writes: the tallies of each write id, in order of first appearance.
    pub fn writes(sent: Vec<Self>) -> Vec<Vec<Self>> {
        let mut order: Vec<Uuid> = Vec::new();
        let mut groups: HashMap<Uuid, Vec<Self>> = HashMap::new();
        for tally in sent {
            if !groups.contains_key(&tally.id) {
                order.push(tally.id);
            }
            groups.entry(tally.id).or_default().push(tally);
        }
        order
            .into_iter()
            .filter_map(|id| groups.remove(&id))
            .collect()
    }
}

/// The sum of a flush's tallies for one owner and day, sent as one write: an owner with a
/// thousand keys has one daily item, which a write per key would make a hot item. Resent like a
/// [`SentTally`], under its own write id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentOwnerTally {
    /// The write's idempotency id.
    pub id: Uuid,
    /// The keys' owner.
    pub owner_id: UserId,
    /// The UTC day.
    pub day: NaiveDate,
    /// The counts, unchanged since the first attempt.
    pub tally: Tally,
}

impl SentOwnerTally {
    /// One owner tally per owner and day of `tallies`, each under a new write id.
    pub fn sums<'a>(tallies: impl IntoIterator<Item = (&'a TallyKey, &'a Tally)>) -> Vec<Self> {
        let mut sums: HashMap<(UserId, NaiveDate), Tally> = HashMap::new();
        for (key, tally) in tallies {
            sums.entry((key.owner_id.clone(), key.day))
                .or_default()
                .merge(tally);
        }
        sums.into_iter()
            .map(|((owner_id, day), tally)| Self {
                id: Uuid::new_v4(),
                owner_id,
                day,
                tally,
            })
            .collect()
    }
}

/// What one flush writes.
#[derive(Debug, Default)]
pub struct UsageBatch {
    /// New counters per key and day.
    pub tallies: HashMap<TallyKey, Tally>,
    /// Counters sent before and not acknowledged, oldest first.
    pub resend: Vec<SentTally>,
    /// Owners' daily sums sent before and not acknowledged (a store that keeps owners' days apart
    /// from keys' hands them back here).
    pub resend_owners: Vec<SentOwnerTally>,
    /// Events in arrival order.
    pub events: Vec<UsageEvent>,
}

impl UsageBatch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.tallies.is_empty()
            && self.resend.is_empty()
            && self.resend_owners.is_empty()
            && self.events.is_empty()
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
        let mut resend_owners = older.resend_owners;
        resend_owners.append(&mut self.resend_owners);
        self.resend_owners = resend_owners;
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

/// How long a span of alike verifications one event may stand for. Events never cross a UTC day
/// (a minute divides a day), so erasure by date range finds them by their day.
pub const EVENT_BUCKET: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// The start of the [`EVENT_BUCKET`] holding `at`: its minute. Defined for every instant (chrono's
/// `duration_trunc` is not, past the year 2262).
pub fn event_bucket(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_nanosecond(0)
        .and_then(|t| t.with_second(0))
        .unwrap_or(at)
}

/// A hash of what makes verifications alike enough to be one event: key, outcome, client and
/// minute. Computed from borrowed parts, so counting into an existing event allocates nothing.
fn fingerprint(
    key: KeyId,
    outcome: VerifyCode,
    context: &AttemptContext,
    bucket: DateTime<Utc>,
) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    (key, outcome, context, bucket).hash(&mut hasher);
    hasher.finish()
}

impl UsageEvent {
    /// Whether a verification of `key` with `outcome` from `context` in the minute `bucket`
    /// belongs to this event.
    pub(crate) fn is_alike(
        &self,
        key: KeyId,
        outcome: VerifyCode,
        context: &AttemptContext,
        bucket: DateTime<Utc>,
    ) -> bool {
        self.key_id == key
            && self.outcome == outcome
            && event_bucket(self.at) == bucket
            && &self.context == context
    }
}

/// Most events held in memory when writes keep failing; past it the oldest are dropped (and logged).
const MAX_BUFFERED_EVENTS: usize = 10_000;
/// Events that trigger a flush before the interval is up, so a container seeing many clients
/// holds a bounded buffer.
const FLUSH_AT_EVENTS: usize = 1_000;

struct Buffer {
    batch: UsageBatch,
    /// Where the event of each group of alike verifications is in `batch.events`, by the group's
    /// [`fingerprint`]. Two groups with one fingerprint are told apart by the event itself: the
    /// later one starts an event of its own, which only ever aggregates less.
    groups: HashMap<u64, usize>,
    since: Instant,
}

impl Buffer {
    /// Counts a verification into its group's event, starting one if the batch has none.
    fn add_event(
        &mut self,
        key: UsedKey<'_>,
        outcome: VerifyCode,
        at: DateTime<Utc>,
        context: &AttemptContext,
    ) {
        let bucket = event_bucket(at);
        let group = fingerprint(key.id, outcome, context, bucket);
        if let Some(&i) = self.groups.get(&group) {
            let event = &mut self.batch.events[i];
            if event.is_alike(key.id, outcome, context, bucket) {
                event.count += 1;
                event.at = event.at.min(at);
                return;
            }
        }
        self.groups.insert(group, self.batch.events.len());
        self.batch.events.push(UsageEvent {
            id: Uuid::new_v4(),
            at,
            count: 1,
            key_id: key.id,
            workspace_id: key.workspace_id.clone(),
            owner_id: key.owner_id.clone(),
            outcome,
            context: context.clone(),
        });
    }
}

/// Tallies verifications in the warm container and writes them in batches.
pub struct UsageRecorder {
    sink: Arc<dyn UsageSink>,
    interval: Duration,
    buffer: Mutex<Buffer>,
    /// Held while a batch is written: background flushes skip when it is taken, and
    /// [`UsageRecorder::flush`] waits for it, so when that returns everything recorded before is
    /// written (or kept for the next flush).
    writing: Arc<tokio::sync::Mutex<()>>,
}

impl UsageRecorder {
    /// A recorder writing through `sink` at most every `interval` (zero: on every verification).
    pub fn new(sink: Arc<dyn UsageSink>, interval: Duration) -> Self {
        Self {
            sink,
            interval,
            buffer: Mutex::new(Buffer {
                batch: UsageBatch::default(),
                groups: HashMap::new(),
                since: Instant::now(),
            }),
            writing: Arc::default(),
        }
    }

    /// Records a verification of `key` and writes the buffer when it is due.
    pub async fn record<'k>(
        self: &Arc<Self>,
        key: impl Into<UsedKey<'k>>,
        outcome: VerifyCode,
        at: DateTime<Utc>,
        context: &AttemptContext,
    ) {
        let key = key.into();
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
                buffer.add_event(key, outcome, at, context);
            }
            buffer.since.elapsed() >= self.interval || buffer.batch.events.len() >= FLUSH_AT_EVENTS
        };
        if !due {
            return;
        }
        if self.interval.is_zero() {
            self.flush().await;
        } else if let Ok(writing) = Arc::clone(&self.writing).try_lock_owned() {
            let recorder = Arc::clone(self);
            tokio::spawn(async move {
                recorder.write_buffered().await;
                drop(writing);
            });
        }
    }

    /// Writes everything buffered, after any flush under way. A failed write keeps the batch for
    /// the next flush.
    pub async fn flush(&self) {
        let _writing = self.writing.lock().await;
        self.write_buffered().await;
    }

    async fn write_buffered(&self) {
        let batch = {
            let mut buffer = self.buffer.lock().expect("usage lock");
            buffer.since = Instant::now();
            buffer.groups.clear();
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
            // The unwritten events went in front: the positions of this batch's groups moved.
            buffer.groups.clear();
            buffer.batch = newer;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        clock::SystemClock,
        keys::caller::Caller,
        keys::caller::Credential,
        keys::{
            cache::VerifiedKeyCache, model::ApiKey, secret::KeyPrefix, service::KeyService,
            spec::NewKeySpec,
        },
        role::Role,
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
            origin: Default::default(),
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

    /// A sink whose writes wait until the test opens its gate.
    struct GatedSink(Arc<MemoryUsage>, tokio::sync::Semaphore);

    #[async_trait]
    impl UsageSink for GatedSink {
        async fn write(&self, batch: UsageBatch) -> UsageBatch {
            let _open = self.1.acquire().await.expect("gate");
            self.0.write(batch).await
        }
    }

    #[tokio::test]
    async fn with_an_interval_an_answer_never_waits_for_its_flush() {
        let usage = Arc::new(MemoryUsage::default());
        let sink = Arc::new(GatedSink(usage.clone(), tokio::sync::Semaphore::new(0)));
        let recorder = Arc::new(UsageRecorder::new(sink.clone(), Duration::from_nanos(1)));
        let (key, at) = (key().await, chrono::Utc::now());
        let context = AttemptContext::default();
        for _ in 0..2 {
            tokio::time::timeout(
                Duration::from_secs(30),
                recorder.record(&key, VerifyCode::Valid, at, &context),
            )
            .await
            .expect("a due flush is written in the background, not before the answer");
        }
        assert_eq!(
            tally_of(&usage, &key, at),
            (0, 0),
            "the write is still held"
        );
        sink.1.add_permits(10);
        recorder.flush().await;
        assert_eq!(
            tally_of(&usage, &key, at),
            (2, 0),
            "flush waits for the background write, then writes the rest"
        );
    }

    #[tokio::test]
    async fn a_write_whose_answer_was_lost_is_resent_and_counted_once() {
        let usage = Arc::new(MemoryUsage::default());
        let recorder = Arc::new(UsageRecorder::new(usage.clone(), Duration::from_secs(3600)));
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
        let counts: Vec<(VerifyCode, u64)> = usage
            .events()
            .iter()
            .map(|e| (e.outcome, e.count))
            .collect();
        assert_eq!(
            counts,
            [(VerifyCode::Valid, 3), (VerifyCode::NotFound, 1)],
            "the resent event is stored once"
        );
    }

    #[tokio::test]
    async fn alike_verifications_within_a_minute_are_one_event_with_a_count() {
        let usage = Arc::new(MemoryUsage::default());
        let recorder = Arc::new(UsageRecorder::new(usage.clone(), Duration::from_secs(3600)));
        let key = key().await;
        let minute = event_bucket(chrono::Utc::now());
        let phone = AttemptContext {
            ip: Some("192.0.2.1".parse().unwrap()),
            user_agent: Some("app/1".into()),
            device_id: Some("phone".into()),
            tags: vec!["eu".into()],
        };
        let laptop = AttemptContext {
            device_id: Some("laptop".into()),
            ..phone.clone()
        };
        let second = |s| minute + chrono::TimeDelta::seconds(s);
        for i in 0..20 {
            recorder
                .record(&key, VerifyCode::Valid, second(59 - i), &phone)
                .await;
        }
        for (code, at, context) in [
            (VerifyCode::Valid, second(5), &laptop),
            (VerifyCode::Expired, second(5), &phone),
            (VerifyCode::Valid, second(60), &phone),
        ] {
            recorder.record(&key, code, at, context).await;
        }
        recorder.flush().await;
        let events: Vec<(u64, VerifyCode, Option<String>, i64)> = usage
            .events()
            .iter()
            .map(|e| {
                (
                    e.count,
                    e.outcome,
                    e.context.device_id.clone(),
                    (e.at - minute).num_seconds(),
                )
            })
            .collect();
        assert_eq!(
            events,
            [
                (20, VerifyCode::Valid, Some("phone".into()), 40),
                (1, VerifyCode::Valid, Some("laptop".into()), 5),
                (1, VerifyCode::Expired, Some("phone".into()), 5),
                (1, VerifyCode::Valid, Some("phone".into()), 60),
            ],
            "one event per key, outcome, client and minute, at its first verification"
        );
        assert_eq!(tally_of(&usage, &key, minute), (22, 1));
    }

    #[tokio::test]
    async fn a_failed_write_keeps_everything_for_the_next_flush() {
        let usage = Arc::new(MemoryUsage::default());
        let recorder = Arc::new(UsageRecorder::new(usage.clone(), Duration::from_secs(3600)));
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

    proptest::proptest! {
        /// Every tally is sent once, no write holds more than its share or one key twice, and
        /// grouping the sent tallies by write id gives back exactly those writes.
        #[test]
        fn fresh_writes_hold_each_key_once_and_regroup_exactly(
            picks in proptest::collection::vec((0usize..40, 0u64..3), 0..200)
        ) {
            let owner = UserId::parse("00000000-0000-4000-8000-000000000001").unwrap();
            let keys: Vec<KeyId> = (0..40).map(|_| KeyId::new()).collect();
            let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
            let tallies: HashMap<TallyKey, Tally> = picks
                .iter()
                .map(|&(k, d)| {
                    let key = TallyKey {
                        key_id: keys[k],
                        owner_id: owner.clone(),
                        day: day + chrono::Days::new(d),
                    };
                    (key, Tally { success: 1, ..Tally::default() })
                })
                .collect();
            let sent = SentTally::fresh(tallies.clone());
            proptest::prop_assert_eq!(sent.len(), tallies.len());
            let writes = SentTally::writes(sent.clone());
            proptest::prop_assert_eq!(writes.concat(), sent);
            for write in &writes {
                proptest::prop_assert!(write.len() <= TALLIES_PER_WRITE);
                let distinct: HashSet<KeyId> = write.iter().map(|t| t.key.key_id).collect();
                proptest::prop_assert_eq!(distinct.len(), write.len());
            }
        }
    }

    #[test]
    fn owner_sums_add_up_each_owner_s_keys_per_day() {
        let (a, b) = (
            UserId::parse(&Uuid::new_v4().to_string()).unwrap(),
            UserId::parse(&Uuid::new_v4().to_string()).unwrap(),
        );
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let at = day.and_hms_opt(12, 0, 0).unwrap().and_utc();
        let tally = |success, failed| Tally {
            success,
            failed,
            last_used_at: Some(at),
            last_failed_at: None,
        };
        let key = |owner: &UserId, day| TallyKey {
            key_id: KeyId::new(),
            owner_id: owner.clone(),
            day,
        };
        let tallies: HashMap<TallyKey, Tally> = [
            (key(&a, day), tally(3, 1)),
            (key(&a, day), tally(4, 0)),
            (key(&a, day.succ_opt().unwrap()), tally(1, 1)),
            (key(&b, day), tally(5, 2)),
        ]
        .into_iter()
        .collect();
        let mut sums: Vec<(UserId, NaiveDate, u64, u64)> = SentOwnerTally::sums(&tallies)
            .into_iter()
            .map(|s| (s.owner_id, s.day, s.tally.success, s.tally.failed))
            .collect();
        sums.sort_by(|x, y| (x.0.as_str(), x.1).cmp(&(y.0.as_str(), y.1)));
        let mut expected = vec![
            (a.clone(), day, 7, 1),
            (a.clone(), day.succ_opt().unwrap(), 1, 1),
            (b.clone(), day, 5, 2),
        ];
        expected.sort_by(|x, y| (x.0.as_str(), x.1).cmp(&(y.0.as_str(), y.1)));
        assert_eq!(sums, expected);
    }
}
