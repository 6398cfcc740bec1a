//! Usage folded across containers and flushes, so storage writes follow the number of keys in
//! use, not the number of containers that saw them.
//!
//! With a flush interval, a container does not write its tallies to each key: each flush becomes
//! one or a few [`UsageMessage`]s put in the usage inbox ([`InboxSink`], a single batch write).
//! On its schedule the sweeper folds the inbox ([`UsageFolder`]): it sums the messages per key
//! and day, per owner and day, and merges alike events, then writes each sum once.
//!
//! Applied once, however a step fails:
//! - a container resending a message whose first put was not acknowledged writes the same inbox
//!   item again (same id): one item;
//! - a fold writes a tombstone per message in the same transaction that records it, each on the
//!   condition that it is new, so a message is in exactly one fold; the messages leave the inbox
//!   after that, and one that is still there (its delete failed) or comes back (a resend) meets
//!   its tombstone at the next claim and is dropped;
//! - a recorded fold is written under the write ids it was recorded with (DynamoDB applies a
//!   repeated `ClientRequestToken` once), and stays recorded until all of it is written, so a
//!   fold cut short by a crash or a failed write is finished by the next run, under the same ids.
//!
//! The bound: the next run comes within the sweep interval (a minute deployed), inside the ten
//! minutes DynamoDB remembers a token; a fold left unfinished for longer (storage failing for
//! ten minutes on end) may count the part it had written twice.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    AttemptContext, SentOwnerTally, SentTally, Tally, TallyKey, UsageBatch, UsageEvent, UsageSink,
    event_bucket,
};
use crate::{ids::KeyId, outcome::VerifyCode, store_error::StoreError};

/// Most bytes of one message as JSON, before the inbox's own limit ([`UsageInbox::fits`]) halves
/// it further: a container's flush is one message whenever the inbox can store it as one, so a
/// fold takes a minute's flushes at once.
const MESSAGE_BYTES: usize = 2_000_000;
/// Most messages one fold takes: its transaction writes a tombstone for each beside the fold's
/// own record (at most nine parts, [`UsageInbox::record_fits`]), and a transaction holds 100
/// items.
pub const FOLD_MESSAGES: usize = 80;
/// Most bytes, as stored, of the messages one fold reads: a bound on the fold's memory. What
/// bounds a fold is its record ([`UsageInbox::record_fits`]): the sum of its messages, where every
/// key's day appears once however many containers flushed it, so a minute's flushes (two busy
/// containers: about 24 messages, 3.6 MB stored) fold into one record of about a third of that.
/// A budget on the messages' bytes split that minute into two folds, each writing every key's
/// day again.
pub const FOLD_BYTES: usize = 16_000_000;
/// Messages a container keeps while the inbox cannot be reached; past it the oldest are dropped
/// (and logged), as the recorder does with events.
const MAX_PENDING: usize = 200;
/// How long a container keeps resending a message: well inside a tombstone's life, so a resend
/// of a folded message is always recognised.
const MAX_PENDING_AGE: Duration = Duration::from_secs(3600);

/// One container's flush on its way to a fold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageMessage {
    /// Counters per key and day.
    pub tallies: Vec<(TallyKey, Tally)>,
    /// Events, as the container aggregated them.
    pub events: Vec<UsageEvent>,
}

impl UsageMessage {
    /// The batch as messages of at most [`MESSAGE_BYTES`] each that `fits` accepts (halved until
    /// it does). Counters the batch holds for resending are counted as new ones (only a direct
    /// write hands them back).
    pub fn split(batch: UsageBatch, fits: impl Fn(&Self) -> bool) -> Vec<Self> {
        let mut messages = vec![Self::default()];
        let mut bytes = 0;
        // Each element costs its JSON and a comma.
        let mut room_for = |len: usize, messages: &mut Vec<Self>| {
            let len = len + 1;
            if bytes + len > MESSAGE_BYTES && !messages.last().is_some_and(Self::is_empty) {
                messages.push(Self::default());
                bytes = 0;
            }
            bytes += len;
        };
        let tallies = batch
            .tallies
            .into_iter()
            .chain(batch.resend.into_iter().map(|s| (s.key, s.tally)));
        for tally in tallies {
            room_for(json_len(&tally), &mut messages);
            messages.last_mut().expect("one").tallies.push(tally);
        }
        for event in batch.events {
            room_for(json_len(&event), &mut messages);
            messages.last_mut().expect("one").events.push(event);
        }
        messages.retain(|m| !m.is_empty());
        messages
            .into_iter()
            .flat_map(|m| m.halved_until(&fits))
            .collect()
    }

    /// This message, or its halves (and theirs) until each fits: one element alone always goes.
    fn halved_until(self, fits: &impl Fn(&Self) -> bool) -> Vec<Self> {
        let len = self.tallies.len() + self.events.len();
        if len <= 1 || fits(&self) {
            return vec![self];
        }
        let half = len / 2;
        let mut first = self;
        let second = if half <= first.tallies.len() {
            Self {
                tallies: first.tallies.split_off(half),
                events: std::mem::take(&mut first.events),
            }
        } else {
            let at = half - first.tallies.len();
            Self {
                tallies: Vec::new(),
                events: first.events.split_off(at),
            }
        };
        let mut halves = first.halved_until(fits);
        halves.extend(second.halved_until(fits));
        halves
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.tallies.is_empty() && self.events.is_empty()
    }
}

/// The length of `value` as JSON, to size messages as they are filled.
fn json_len(value: &impl Serialize) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}

/// A message in the inbox, under the id it is put (and resent) with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxItem {
    /// Time-ordered (UUIDv7), so the oldest are folded first.
    pub id: Uuid,
    /// What it carries.
    pub message: UsageMessage,
}

/// What one fold writes: recorded before any of it is written, and kept until all of it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fold {
    /// The fold's id.
    pub id: Uuid,
    /// The inbox items it took.
    pub taken: Vec<Uuid>,
    /// Each key's day, summed, under the write id it is always written with.
    pub tallies: Vec<SentTally>,
    /// Each owner's day, summed, likewise.
    pub owners: Vec<SentOwnerTally>,
    /// Alike events merged (same key, outcome, client and minute), each under its id.
    pub events: Vec<UsageEvent>,
}

impl Fold {
    /// The fold of `items`, under new write ids.
    pub fn of(items: &[InboxItem]) -> Self {
        let mut tallies: HashMap<TallyKey, Tally> = HashMap::new();
        let mut events: Vec<UsageEvent> = Vec::new();
        let mut groups: HashMap<(KeyId, VerifyCode, AttemptContext, DateTime<Utc>), usize> =
            HashMap::new();
        for item in items {
            for (key, tally) in &item.message.tallies {
                tallies.entry(key.clone()).or_default().merge(tally);
            }
            for event in &item.message.events {
                let group = (
                    event.key_id,
                    event.outcome,
                    event.context.clone(),
                    event_bucket(event.at),
                );
                match groups.get(&group) {
                    Some(&i) => {
                        events[i].count += event.count;
                        events[i].at = events[i].at.min(event.at);
                    }
                    None => {
                        groups.insert(group, events.len());
                        events.push(event.clone());
                    }
                }
            }
        }
        Self {
            id: Uuid::new_v4(),
            taken: items.iter().map(|i| i.id).collect(),
            owners: SentOwnerTally::sums(&tallies),
            tallies: SentTally::fresh(tallies),
            events,
        }
    }

    /// Everything it writes, as a batch of resends: under its recorded ids.
    fn batch(&self) -> UsageBatch {
        UsageBatch {
            tallies: HashMap::new(),
            resend: self.tallies.clone(),
            resend_owners: self.owners.clone(),
            events: self.events.clone(),
        }
    }
}

/// The storage port of the inbox and of the folds recorded from it.
#[async_trait]
pub trait UsageInbox: Send + Sync {
    /// How many partitions the inbox is spread over (numbered from 0).
    fn shards(&self) -> u32;
    /// Whether `message` can be stored as one item.
    fn fits(&self, message: &UsageMessage) -> bool;
    /// Whether `fold`'s record fits the one transaction that claims its messages.
    fn record_fits(&self, fold: &Fold) -> bool;
    /// Puts `items` in the inbox; an item put again under its id stays one item.
    async fn put(&self, items: &[InboxItem]) -> Result<(), StoreError>;
    /// The oldest items of `shard`, each with its size as stored, at most `max_items` of them and
    /// `max_bytes` in all (but at least one, when there is one).
    async fn peek(
        &self,
        shard: u32,
        max_items: usize,
        max_bytes: usize,
    ) -> Result<Vec<(InboxItem, usize)>, StoreError>;
    /// Leaves a tombstone for each of `fold.taken` and records `fold`, all or nothing, then takes
    /// the messages out of the inbox. `false`: one of them was folded before (by another fold, or
    /// long ago, and is still there or came back by a resend: dropped here); peek again.
    async fn claim(&self, fold: &Fold) -> Result<bool, StoreError>;
    /// Folds recorded and not finished.
    async fn unfinished(&self) -> Result<Vec<Fold>, StoreError>;
    /// Forgets a fold once all of it is written.
    async fn finish(&self, fold: Uuid) -> Result<(), StoreError>;
}

/// A [`UsageSink`] that puts each flush in the inbox for [`UsageFolder`] to write.
pub struct InboxSink {
    inbox: Arc<dyn UsageInbox>,
    /// Messages not acknowledged yet, with when they were first put, resent as they were.
    pending: tokio::sync::Mutex<VecDeque<(Instant, InboxItem)>>,
}

impl InboxSink {
    /// A sink putting flushes in `inbox`.
    pub fn new(inbox: Arc<dyn UsageInbox>) -> Self {
        Self {
            inbox,
            pending: tokio::sync::Mutex::default(),
        }
    }
}

#[async_trait]
impl UsageSink for InboxSink {
    /// Always hands back nothing: what could not be put stays with the sink, under its id.
    async fn write(&self, batch: UsageBatch) -> UsageBatch {
        let mut pending = self.pending.lock().await;
        let now = Instant::now();
        let inbox = self.inbox.clone();
        let messages = UsageMessage::split(batch, |m| inbox.fits(m));
        pending.extend(messages.into_iter().map(|message| {
            (
                now,
                InboxItem {
                    id: Uuid::now_v7(),
                    message,
                },
            )
        }));
        let before = pending.len();
        pending.retain(|(since, _)| since.elapsed() < MAX_PENDING_AGE);
        let excess = pending.len().saturating_sub(MAX_PENDING);
        pending.drain(..excess);
        if pending.len() < before {
            tracing::error!(
                dropped = before - pending.len(),
                "usage inbox unreachable for too long; dropping the oldest usage messages"
            );
        }
        let items: Vec<InboxItem> = pending.iter().map(|(_, item)| item.clone()).collect();
        match self.inbox.put(&items).await {
            Ok(()) => pending.clear(),
            Err(err) => {
                tracing::warn!(error = %err, messages = items.len(), "usage messages not put; resent with the next flush")
            }
        }
        UsageBatch::default()
    }
}

/// What one run of the folder did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FoldReport {
    /// Unfinished folds of earlier runs finished.
    pub resumed: usize,
    /// New folds written.
    pub folds: usize,
    /// Inbox messages they took.
    pub messages: usize,
    /// Key days they wrote.
    pub key_days: usize,
}

/// Folds the usage inbox and writes the sums.
pub struct UsageFolder {
    inbox: Arc<dyn UsageInbox>,
    sink: Arc<dyn UsageSink>,
}

impl UsageFolder {
    /// A folder taking from `inbox` and writing through `sink` (a direct one).
    pub fn new(inbox: Arc<dyn UsageInbox>, sink: Arc<dyn UsageSink>) -> Self {
        Self { inbox, sink }
    }

    /// Finishes what earlier runs left, then folds the inbox while it holds a backlog (a fold
    /// came out full) and `deadline` has not passed; the first fold is made whatever the
    /// deadline, so a run always makes progress (the local emulator's deadlines are already
    /// past). A fold that took everything waiting ends the run: what containers flush meanwhile
    /// waits for the next run, where it is summed with the rest of that minute, rather than being
    /// folded on its own and writing every key's day again. A write that fails ends the run; its
    /// fold is finished by the next.
    pub async fn run(&self, deadline: Instant) -> Result<FoldReport, StoreError> {
        let mut report = FoldReport::default();
        for fold in self.inbox.unfinished().await? {
            self.write(&fold).await?;
            report.resumed += 1;
        }
        let mut first = true;
        while std::mem::take(&mut first) || Instant::now() < deadline {
            let (items, full) = self.gather().await?;
            if items.is_empty() {
                break;
            }
            let fold = Fold::of(&items);
            if !self.inbox.claim(&fold).await? {
                continue;
            }
            self.write(&fold).await?;
            report.folds += 1;
            report.messages += items.len();
            report.key_days += fold.tallies.len();
            if !full {
                break;
            }
        }
        Ok(report)
    }

    /// The oldest messages of every shard, up to one fold's worth (as many as its record can
    /// hold), and whether that worth was reached (more may be waiting): what containers flushed
    /// at the same time lands on different shards, and a fold sums them only if it takes them
    /// together. Each gather starts at a random shard, so a backlog longer than a fold is taken
    /// evenly from all of them.
    async fn gather(&self) -> Result<(Vec<InboxItem>, bool), StoreError> {
        let shards = self.inbox.shards().max(1);
        let start = rand::random::<u32>() % shards;
        let (mut items, mut bytes) = (Vec::new(), 0);
        for shard in (0..shards).map(|i| (start + i) % shards) {
            if items.len() >= FOLD_MESSAGES || bytes >= FOLD_BYTES {
                return Ok((items, true));
            }
            let found = self
                .inbox
                .peek(shard, FOLD_MESSAGES - items.len(), FOLD_BYTES - bytes)
                .await?;
            let before = items.len();
            for (item, stored) in found {
                bytes += stored;
                items.push(item);
            }
            if items.len() > before && !self.inbox.record_fits(&Fold::of(&items)) {
                let fitting = self.longest_fitting(&items, before);
                items.truncate(fitting);
                return Ok((items, true));
            }
        }
        let full = items.len() >= FOLD_MESSAGES || bytes >= FOLD_BYTES;
        Ok((items, full))
    }

    /// How many of `items` (at least `known`, which fit, and at least one) fold into a record
    /// that fits: a binary search, each step one fold and one packing.
    fn longest_fitting(&self, items: &[InboxItem], known: usize) -> usize {
        let (mut fits, mut fails) = (known.max(1), items.len());
        while fails - fits > 1 {
            let middle = (fits + fails) / 2;
            if self.inbox.record_fits(&Fold::of(&items[..middle])) {
                fits = middle;
            } else {
                fails = middle;
            }
        }
        fits
    }

    async fn write(&self, fold: &Fold) -> Result<(), StoreError> {
        let left = self.sink.write(fold.batch()).await;
        if !left.is_empty() {
            return Err(StoreError::Unavailable(Box::new(std::io::Error::other(
                format!(
                    "fold {}: {} counters and {} events left for the next run",
                    fold.id,
                    left.resend.len() + left.resend_owners.len(),
                    left.events.len()
                ),
            ))));
        }
        self.inbox.finish(fold.id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ids::{UserId, WorkspaceId},
        store::memory::{MemoryUsage, MemoryUsageInbox},
    };

    struct Setup {
        inbox: Arc<MemoryUsageInbox>,
        usage: Arc<MemoryUsage>,
        folder: UsageFolder,
        key: TallyKey,
        at: DateTime<Utc>,
    }

    fn setup() -> Setup {
        let inbox = Arc::new(MemoryUsageInbox::default());
        let usage = Arc::new(MemoryUsage::default());
        let owner = UserId::parse(&Uuid::new_v4().to_string()).unwrap();
        let at = "2026-12-07T10:00:30Z".parse().unwrap();
        Setup {
            folder: UsageFolder::new(inbox.clone(), usage.clone()),
            inbox,
            usage,
            key: TallyKey {
                key_id: KeyId::new(),
                owner_id: owner,
                day: chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
            },
            at,
        }
    }

    impl Setup {
        /// A flush of one container: `success` verifications of the key, as one event.
        fn flush(&self, success: u64) -> UsageBatch {
            self.flush_of(&self.key, success)
        }

        /// A flush of one container: `success` verifications of `key`, as one event.
        fn flush_of(&self, key: &TallyKey, success: u64) -> UsageBatch {
            let tally = Tally {
                success,
                failed: 0,
                last_used_at: Some(self.at),
                last_failed_at: None,
            };
            UsageBatch {
                tallies: [(key.clone(), tally)].into_iter().collect(),
                events: vec![UsageEvent {
                    id: Uuid::new_v4(),
                    at: self.at,
                    count: success,
                    key_id: key.key_id,
                    workspace_id: WorkspaceId::personal(&key.owner_id),
                    owner_id: key.owner_id.clone(),
                    outcome: VerifyCode::Valid,
                    context: AttemptContext::default(),
                }],
                ..UsageBatch::default()
            }
        }

        fn success(&self) -> u64 {
            self.usage.tally(&self.key).success
        }

        async fn run(&self) -> Result<FoldReport, StoreError> {
            self.folder
                .run(Instant::now() + Duration::from_secs(60))
                .await
        }
    }

    #[tokio::test]
    async fn flushes_of_many_containers_are_written_once_per_key_and_day() {
        let s = setup();
        // Eight containers' flushes land on different shards of the inbox.
        for success in 1..=8 {
            let container = InboxSink::new(s.inbox.clone());
            assert!(container.write(s.flush(success)).await.is_empty());
        }
        assert_eq!(
            s.success(),
            0,
            "nothing is written to the key before the fold"
        );
        let report = s.run().await.unwrap();
        assert_eq!(
            (report.folds, report.messages, report.key_days),
            (1, 8, 1),
            "eight flushes, one write of the key's day"
        );
        assert_eq!(s.success(), 36);
        let events: Vec<u64> = s.usage.events().iter().map(|e| e.count).collect();
        assert_eq!(events, [36], "alike events of the eight containers are one");
        assert_eq!(
            s.run().await.unwrap(),
            FoldReport::default(),
            "nothing left"
        );
    }

    /// A fold takes as many messages as its record holds, not as many as their bytes allow:
    /// flushes of one key's day sum into a record of one key's day however many there are,
    /// while flushes of different keys fill a record as they add up; every record fits its
    /// transaction (the memory inbox refuses one that does not, as DynamoDB does).
    #[tokio::test]
    async fn a_fold_is_bounded_by_its_record_not_by_its_messages() {
        let s = setup();
        assert!(
            InboxSink::new(s.inbox.clone())
                .write(s.flush(1))
                .await
                .is_empty()
        );
        let mut waiting = Vec::new();
        for shard in 0..s.inbox.shards() {
            let found = s.inbox.peek(shard, 10, usize::MAX).await.unwrap();
            waiting.extend(found.into_iter().map(|(item, _)| item));
        }
        let one = serde_json::to_vec(&Fold::of(&waiting)).unwrap().len();
        s.run().await.unwrap();
        s.inbox.limit_records(one * 3);

        for success in 1..=8 {
            let container = InboxSink::new(s.inbox.clone());
            assert!(container.write(s.flush(success)).await.is_empty());
        }
        let report = s.run().await.unwrap();
        assert_eq!((report.folds, report.messages), (1, 8), "one key's day");
        assert_eq!(s.success(), 1 + 36);

        let keys: Vec<TallyKey> = (0..8)
            .map(|_| TallyKey {
                key_id: KeyId::new(),
                ..s.key.clone()
            })
            .collect();
        for key in &keys {
            let container = InboxSink::new(s.inbox.clone());
            assert!(container.write(s.flush_of(key, 5)).await.is_empty());
        }
        let report = s.run().await.unwrap();
        assert_eq!(report.messages, 8);
        assert!(
            report.folds >= 3,
            "eight keys' days in records of about three: {report:?}"
        );
        for key in &keys {
            assert_eq!(s.usage.tally(key).success, 5);
        }
    }

    /// A sink that, at its first write, has a container flush once more: a message landing in
    /// the inbox while a run is folding.
    struct FlushMeanwhile {
        usage: Arc<MemoryUsage>,
        late: tokio::sync::Mutex<Option<(InboxSink, UsageBatch)>>,
    }

    #[async_trait]
    impl UsageSink for FlushMeanwhile {
        async fn write(&self, batch: UsageBatch) -> UsageBatch {
            if let Some((container, flush)) = self.late.lock().await.take() {
                assert!(container.write(flush).await.is_empty());
            }
            self.usage.write(batch).await
        }
    }

    /// A run folds what was waiting when it began and stops once a fold took all of it: a flush
    /// landing meanwhile waits for the next run, to be summed with the rest of its minute, instead
    /// of being folded alone and writing its keys' days once more.
    #[tokio::test]
    async fn a_flush_landing_during_a_run_waits_for_the_next_one() {
        let s = setup();
        let sink = Arc::new(FlushMeanwhile {
            usage: s.usage.clone(),
            late: tokio::sync::Mutex::new(Some((InboxSink::new(s.inbox.clone()), s.flush(5)))),
        });
        let folder = UsageFolder::new(s.inbox.clone(), sink);
        for success in 1..=3 {
            let container = InboxSink::new(s.inbox.clone());
            assert!(container.write(s.flush(success)).await.is_empty());
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let report = folder.run(deadline).await.unwrap();
        assert_eq!((report.folds, report.messages), (1, 3));
        assert_eq!(s.success(), 6);
        assert_eq!(s.inbox.waiting(), 1, "the late flush waits");
        let report = folder.run(deadline).await.unwrap();
        assert_eq!((report.folds, report.messages), (1, 1));
        assert_eq!(s.success(), 11);
    }

    #[tokio::test]
    async fn a_fold_cut_short_is_finished_by_the_next_run_under_the_same_ids() {
        let s = setup();
        let container = InboxSink::new(s.inbox.clone());
        container.write(s.flush(3)).await;
        container.write(s.flush(4)).await;
        s.usage.lose_next_acks(1);
        assert!(s.run().await.is_err(), "the write's answer was lost");
        assert_eq!(s.success(), 7, "it committed");
        assert_eq!(s.inbox.waiting(), 0, "the fold holds the messages now");
        let report = s.run().await.unwrap();
        assert_eq!(report.resumed, 1);
        assert_eq!(
            s.success(),
            7,
            "finished under the same write ids: nothing twice"
        );

        s.usage.fail_next_writes(1);
        container.write(s.flush(5)).await;
        assert!(s.run().await.is_err(), "the write failed");
        assert_eq!(s.success(), 7);
        assert_eq!(s.run().await.unwrap().resumed, 1);
        assert_eq!(s.success(), 12, "the next run wrote it");
        assert_eq!(
            s.usage.events().iter().map(|e| e.count).sum::<u64>(),
            12,
            "every event stored once"
        );
    }

    #[tokio::test]
    async fn a_run_past_its_deadline_still_folds_once() {
        let s = setup();
        InboxSink::new(s.inbox.clone()).write(s.flush(3)).await;
        let report = s.folder.run(Instant::now()).await.unwrap();
        assert_eq!(report.folds, 1);
        assert_eq!(s.success(), 3);
    }

    #[tokio::test]
    async fn a_message_resent_after_it_was_folded_is_dropped() {
        let s = setup();
        let item = InboxItem {
            id: Uuid::now_v7(),
            message: UsageMessage::split(s.flush(3), |_| true).remove(0),
        };
        s.inbox.put(std::slice::from_ref(&item)).await.unwrap();
        s.inbox.put(std::slice::from_ref(&item)).await.unwrap();
        s.run().await.unwrap();
        assert_eq!(s.success(), 3, "a message put twice is one");
        s.inbox.put(std::slice::from_ref(&item)).await.unwrap();
        s.run().await.unwrap();
        assert_eq!(s.success(), 3, "a resend after the fold is dropped");
        assert_eq!(s.inbox.waiting(), 0);
    }

    #[tokio::test]
    async fn a_container_resends_what_the_inbox_did_not_take() {
        let s = setup();
        let container = InboxSink::new(s.inbox.clone());
        s.inbox.fail_next_puts(1);
        container.write(s.flush(3)).await;
        assert_eq!(s.inbox.waiting(), 0);
        container.write(s.flush(4)).await;
        assert_eq!(
            s.inbox.waiting(),
            2,
            "the first flush went again, beside the second"
        );
        s.run().await.unwrap();
        assert_eq!(s.success(), 7);
    }

    #[test]
    fn a_large_flush_is_split_into_messages_that_fit_an_item_and_lose_nothing() {
        let s = setup();
        let mut batch = UsageBatch::default();
        for _ in 0..4_000 {
            let key = TallyKey {
                key_id: KeyId::new(),
                ..s.key.clone()
            };
            batch.tallies.insert(
                key,
                Tally {
                    success: 2,
                    ..Tally::default()
                },
            );
        }
        batch.events = s.flush(1).events;
        let fits = |m: &UsageMessage| json_len(m) <= 100_000;
        let messages = UsageMessage::split(batch, fits);
        assert!(messages.len() > 1, "{} messages", messages.len());
        for message in &messages {
            assert!(
                fits(message),
                "{} bytes, {} tallies",
                json_len(message),
                message.tallies.len()
            );
        }
        let tallies: u64 = messages
            .iter()
            .flat_map(|m| &m.tallies)
            .map(|(_, t)| t.success)
            .sum();
        assert_eq!(tallies, 8_000);
        assert_eq!(messages.iter().map(|m| m.events.len()).sum::<usize>(), 1);
    }
}
