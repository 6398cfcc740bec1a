//! Brute-force resistance: wrong secrets presented for one key id stop costing storage reads, so
//! guessing cannot turn into unbounded DynamoDB traffic, and never lock the key's owner out.
//!
//! The first [`FREE_FAILURES`] wrong secrets cost one key read each; after that the id is blocked
//! for 2, 4, 8, ... seconds (at most [`MAX_BLOCK`]) after each further failure. While blocked, a
//! presented secret is checked against the stored hash the streak remembers (read at most
//! [`HASH_FRESH`] ago), without reading storage: a wrong one is refused there, the right one goes
//! on to the usual fresh read. So the owner's key keeps working in every container, including one
//! that never verified it, and a blocked id costs at most one read per [`HASH_FRESH`]. (Hashes are
//! at key parameters, tens of microseconds: the check itself needs no rationing.)

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};

use crate::ids::KeyId;

/// Wrong secrets allowed before blocking starts.
pub const FREE_FAILURES: u32 = 5;
/// The longest block.
pub const MAX_BLOCK: Duration = Duration::from_secs(300);
/// How long a remembered hash stands in for the stored one.
pub const HASH_FRESH: Duration = Duration::from_secs(30);
/// A streak is forgotten after this long without failures.
const FORGET_AFTER: Duration = Duration::from_secs(900);
/// Most ids tracked.
const CAPACITY: usize = 10_000;

#[derive(Debug, Clone)]
struct Streak {
    failures: u32,
    last: DateTime<Utc>,
    blocked_until: Option<DateTime<Utc>>,
    /// The stored hash the last failure was checked against, and when it was read.
    hash: Arc<str>,
}

/// Failure streaks by key id, in the warm container.
#[derive(Debug, Default)]
pub struct FailureBackoff {
    streaks: Mutex<HashMap<KeyId, Streak>>,
}

impl FailureBackoff {
    /// The stored hash to check `id`'s secrets against instead of reading storage: some while
    /// `id` is blocked at `now` and its hash was read less than [`HASH_FRESH`] ago.
    pub fn blocked_hash(&self, id: KeyId, now: DateTime<Utc>) -> Option<Arc<str>> {
        let fresh = chrono::Duration::from_std(HASH_FRESH).expect("in range");
        let streaks = self.streaks.lock().expect("backoff lock");
        streaks
            .get(&id)
            .filter(|s| s.blocked_until.is_some_and(|until| now < until) && now - s.last < fresh)
            .map(|s| Arc::clone(&s.hash))
    }

    /// Records a wrong secret for `id` at `now`, checked against `hash`, read from storage now.
    pub fn failed(&self, id: KeyId, now: DateTime<Utc>, hash: &str) {
        let forget_after = chrono::Duration::from_std(FORGET_AFTER).expect("in range");
        let mut streaks = self.streaks.lock().expect("backoff lock");
        if streaks.len() >= CAPACITY && !streaks.contains_key(&id) {
            streaks.retain(|_, s| now - s.last < forget_after);
            // Unknown ids are tracked too, so guesses at made-up ids could otherwise grow this
            // without bound: past the capacity, the stalest streak goes.
            if streaks.len() >= CAPACITY
                && let Some(stalest) = streaks
                    .iter()
                    .min_by_key(|(_, s)| s.last)
                    .map(|(id, _)| *id)
            {
                streaks.remove(&stalest);
            }
        }
        let streak = streaks.entry(id).or_insert_with(|| Streak {
            failures: 0,
            last: now,
            blocked_until: None,
            hash: Arc::from(hash),
        });
        if now - streak.last >= forget_after {
            streak.failures = 0;
        }
        streak.failures += 1;
        streak.last = now;
        if *streak.hash != *hash {
            streak.hash = Arc::from(hash);
        }
        if streak.failures > FREE_FAILURES {
            let doublings = (streak.failures - FREE_FAILURES).min(16);
            let block = Duration::from_secs(1u64 << doublings).min(MAX_BLOCK);
            streak.blocked_until = Some(now + chrono::Duration::from_std(block).expect("in range"));
        }
    }

    /// Forgets `id`'s streak after its secret verified.
    pub fn succeeded(&self, id: KeyId) {
        self.streaks.lock().expect("backoff lock").remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_free_failures_and_clears_on_success() {
        let backoff = FailureBackoff::default();
        let id = KeyId::new();
        let now = Utc::now();
        for _ in 0..FREE_FAILURES {
            assert!(backoff.blocked_hash(id, now).is_none());
            backoff.failed(id, now, "hash");
        }
        assert!(
            backoff.blocked_hash(id, now).is_none(),
            "the free failures do not block"
        );
        backoff.failed(id, now, "hash");
        assert!(backoff.blocked_hash(id, now).is_some());
        assert!(
            backoff.blocked_hash(KeyId::new(), now).is_none(),
            "other ids are unaffected"
        );
        backoff.succeeded(id);
        assert!(backoff.blocked_hash(id, now).is_none());
    }

    #[test]
    fn a_block_ends_by_the_clock_and_doubles_with_each_failure() {
        let backoff = FailureBackoff::default();
        let id = KeyId::new();
        let start = Utc::now();
        for _ in 0..=FREE_FAILURES {
            backoff.failed(id, start, "hash");
        }
        let second = chrono::Duration::seconds(1);
        assert!(backoff.blocked_hash(id, start + second).is_some());
        assert!(
            backoff.blocked_hash(id, start + second * 2).is_none(),
            "2 s after the 6th failure"
        );
        backoff.failed(id, start + second * 2, "hash");
        assert!(backoff.blocked_hash(id, start + second * 5).is_some());
        assert!(
            backoff.blocked_hash(id, start + second * 6).is_none(),
            "4 s after the 7th"
        );
        backoff.failed(id, start + second * 2000, "hash");
        assert!(
            backoff.blocked_hash(id, start + second * 2000).is_none(),
            "a streak is forgotten after 15 min"
        );
    }

    #[test]
    fn a_block_checks_against_a_hash_read_at_most_hash_fresh_ago() {
        let backoff = FailureBackoff::default();
        let id = KeyId::new();
        let start = Utc::now();
        for _ in 0..FREE_FAILURES + 7 {
            backoff.failed(id, start, "old");
        }
        let fresh = chrono::Duration::from_std(HASH_FRESH).unwrap();
        assert_eq!(
            backoff.blocked_hash(id, start + fresh / 2).as_deref(),
            Some("old")
        );
        let later = start + fresh + chrono::Duration::seconds(1);
        assert_eq!(
            backoff.blocked_hash(id, later),
            None,
            "still blocked (128 s), but the hash is due a fresh read"
        );
        backoff.failed(id, later, "regenerated");
        assert_eq!(
            backoff.blocked_hash(id, later).as_deref(),
            Some("regenerated")
        );
    }
}
