//! Brute-force resistance: wrong secrets presented for one key id make that id's next argon2
//! checks wait, so guessing cannot turn into unbounded argon2 work.
//!
//! The first [`FREE_FAILURES`] wrong secrets cost one argon2 each; after that the id is blocked
//! for 2, 4, 8, ... seconds (at most [`MAX_BLOCK`]) after each further failure. While blocked, a
//! presented key is refused as `NOT_FOUND` without argon2 unless it is the exact key this container
//! has already verified (a cache hit), so a key's owner is not locked out by someone else's guessing.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};

use crate::ids::KeyId;

/// Wrong secrets allowed before blocking starts.
pub const FREE_FAILURES: u32 = 5;
/// The longest block.
pub const MAX_BLOCK: Duration = Duration::from_secs(300);
/// A streak is forgotten after this long without failures.
const FORGET_AFTER: Duration = Duration::from_secs(900);
/// Most ids tracked.
const CAPACITY: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Streak {
    failures: u32,
    last: DateTime<Utc>,
    blocked_until: Option<DateTime<Utc>>,
}

/// Failure streaks by key id, in the warm container.
#[derive(Debug, Default)]
pub struct FailureBackoff {
    streaks: Mutex<HashMap<KeyId, Streak>>,
}

impl FailureBackoff {
    /// Whether argon2 checks for `id` are blocked at `now`.
    pub fn is_blocked(&self, id: KeyId, now: DateTime<Utc>) -> bool {
        let streaks = self.streaks.lock().expect("backoff lock");
        streaks
            .get(&id)
            .and_then(|s| s.blocked_until)
            .is_some_and(|until| now < until)
    }

    /// Records a wrong secret for `id` at `now`.
    pub fn failed(&self, id: KeyId, now: DateTime<Utc>) {
        let forget_after = chrono::Duration::from_std(FORGET_AFTER).expect("in range");
        let mut streaks = self.streaks.lock().expect("backoff lock");
        if streaks.len() >= CAPACITY && !streaks.contains_key(&id) {
            streaks.retain(|_, s| now - s.last < forget_after);
        }
        let streak = streaks.entry(id).or_insert(Streak {
            failures: 0,
            last: now,
            blocked_until: None,
        });
        if now - streak.last >= forget_after {
            streak.failures = 0;
        }
        streak.failures += 1;
        streak.last = now;
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
            assert!(!backoff.is_blocked(id, now));
            backoff.failed(id, now);
        }
        assert!(
            !backoff.is_blocked(id, now),
            "the free failures do not block"
        );
        backoff.failed(id, now);
        assert!(backoff.is_blocked(id, now));
        assert!(
            !backoff.is_blocked(KeyId::new(), now),
            "other ids are unaffected"
        );
        backoff.succeeded(id);
        assert!(!backoff.is_blocked(id, now));
    }

    #[test]
    fn a_block_ends_by_the_clock_and_doubles_with_each_failure() {
        let backoff = FailureBackoff::default();
        let id = KeyId::new();
        let start = Utc::now();
        for _ in 0..=FREE_FAILURES {
            backoff.failed(id, start);
        }
        let second = chrono::Duration::seconds(1);
        assert!(backoff.is_blocked(id, start + second));
        assert!(
            !backoff.is_blocked(id, start + second * 2),
            "2 s after the 6th failure"
        );
        backoff.failed(id, start + second * 2);
        assert!(backoff.is_blocked(id, start + second * 5));
        assert!(
            !backoff.is_blocked(id, start + second * 6),
            "4 s after the 7th"
        );
        backoff.failed(id, start + second * 2000);
        assert!(
            !backoff.is_blocked(id, start + second * 2000),
            "a streak is forgotten after 15 min"
        );
    }
}
