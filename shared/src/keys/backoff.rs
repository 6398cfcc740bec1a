//! Brute-force resistance: wrong secrets presented for one key id make that id's next argon2
//! checks wait, so guessing cannot turn into unbounded argon2 work.
//!
//! The first [`FREE_FAILURES`] wrong secrets cost one argon2 each; after that the id is blocked
//! for 2, 4, 8, ... seconds (at most [`MAX_BLOCK`]) after each further failure. While blocked, a
//! presented key is refused as `NOT_FOUND` without argon2 unless it is the exact key this container
//! has already verified (a cache hit), so a key's owner is not locked out by someone else's guessing.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

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
    last: Instant,
    blocked_until: Option<Instant>,
}

/// Failure streaks by key id, in the warm container.
#[derive(Debug, Default)]
pub struct FailureBackoff {
    streaks: Mutex<HashMap<KeyId, Streak>>,
}

impl FailureBackoff {
    /// Whether argon2 checks for `id` are blocked now.
    pub fn is_blocked(&self, id: KeyId) -> bool {
        let streaks = self.streaks.lock().expect("backoff lock");
        streaks
            .get(&id)
            .and_then(|s| s.blocked_until)
            .is_some_and(|until| Instant::now() < until)
    }

    /// Records a wrong secret for `id`.
    pub fn failed(&self, id: KeyId) {
        let now = Instant::now();
        let mut streaks = self.streaks.lock().expect("backoff lock");
        if streaks.len() >= CAPACITY && !streaks.contains_key(&id) {
            streaks.retain(|_, s| now.duration_since(s.last) < FORGET_AFTER);
        }
        let streak = streaks.entry(id).or_insert(Streak {
            failures: 0,
            last: now,
            blocked_until: None,
        });
        if now.duration_since(streak.last) >= FORGET_AFTER {
            streak.failures = 0;
        }
        streak.failures += 1;
        streak.last = now;
        if streak.failures > FREE_FAILURES {
            let doublings = (streak.failures - FREE_FAILURES).min(16);
            let block = Duration::from_secs(1u64 << doublings).min(MAX_BLOCK);
            streak.blocked_until = Some(now + block);
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
        for _ in 0..FREE_FAILURES {
            assert!(!backoff.is_blocked(id));
            backoff.failed(id);
        }
        assert!(!backoff.is_blocked(id), "the free failures do not block");
        backoff.failed(id);
        assert!(backoff.is_blocked(id));
        assert!(
            !backoff.is_blocked(KeyId::new()),
            "other ids are unaffected"
        );
        backoff.succeeded(id);
        assert!(!backoff.is_blocked(id));
    }
}
