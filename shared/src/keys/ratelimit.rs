//! Per-key hourly rate limits: fixed windows aligned to the UTC hour, counted exactly.
//!
//! Each allowed request is one conditional atomic `ADD` on the key's counter item for the window
//! (`count < limit`), so N concurrent requests against a limit L let exactly L through, across every
//! container. Once a window is spent, the container remembers it until the window ends and answers
//! without a write: a key hammered far past its limit costs at most its limit (<= 1,000 per hour)
//! plus one refused write per container per window.

use async_trait::async_trait;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Serialize;

use super::model::ApiKey;
use crate::{ids::KeyId, store::StoreError};

/// The length of a window.
pub const WINDOW: TimeDelta = TimeDelta::hours(1);

/// Where a key stands in its current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RateStatus {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in this window.
    pub remaining: u32,
    /// When the window ends, as epoch seconds.
    pub reset: i64,
}

impl RateStatus {
    /// Seconds until the window ends, at least 1 (the value of `Retry-After`).
    pub fn retry_after(&self, now: DateTime<Utc>) -> u64 {
        (self.reset - now.timestamp()).max(1) as u64
    }
}

/// A rate decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateDecision {
    /// Counted; the status after counting.
    Allowed(RateStatus),
    /// The window is spent.
    Limited(RateStatus),
}

/// The storage port of rate windows.
#[async_trait]
pub trait RateCounter: Send + Sync {
    /// Counts one request in `key`'s window starting at `start` if fewer than `limit` were counted;
    /// returns the new count, or `None` when the window is spent.
    async fn try_increment(
        &self,
        key: KeyId,
        start: DateTime<Utc>,
        limit: u32,
    ) -> Result<Option<u64>, StoreError>;
}

/// Decides rate limits for verified keys.
pub struct RateLimiter {
    counter: std::sync::Arc<dyn RateCounter>,
    /// Windows known to be spent, by key: the end of the window and the limit it was spent at.
    /// Bounded: a window forgotten costs one refused write to learn again.
    spent: moka::sync::Cache<KeyId, (DateTime<Utc>, u32)>,
}

impl RateLimiter {
    /// A limiter counting through `counter`.
    pub fn new(counter: std::sync::Arc<dyn RateCounter>) -> Self {
        Self {
            counter,
            spent: moka::sync::Cache::new(100_000),
        }
    }

    /// Counts a request of `key` at `now`, or refuses it when the window is spent.
    pub async fn acquire(
        &self,
        key: &ApiKey,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, StoreError> {
        let start = now.duration_trunc(WINDOW).expect("an hour truncates");
        let end = start + WINDOW;
        let limit = key.rate_limit_per_hour;
        let status = |remaining: u32| RateStatus {
            limit,
            remaining,
            reset: end.timestamp(),
        };
        match self.spent.get(&key.id) {
            Some((until, at_limit)) if until > now && at_limit >= limit => {
                return Ok(RateDecision::Limited(status(0)));
            }
            Some(_) => self.spent.invalidate(&key.id),
            None => {}
        }
        match self.counter.try_increment(key.id, start, limit).await? {
            Some(count) => Ok(RateDecision::Allowed(status(
                limit.saturating_sub(u32::try_from(count).unwrap_or(u32::MAX)),
            ))),
            None => {
                self.spent.insert(key.id, (end, limit));
                Ok(RateDecision::Limited(status(0)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        auth::{Caller, Credential, Role},
        clock::{Clock, ManualClock},
        ids::{UserId, WorkspaceId},
        keys::{secret::KeyPrefix, service::KeyService, spec::NewKeySpec},
        store::memory::{MemoryKeyStore, MemoryRateCounter},
    };

    async fn key(limit: u32, clock: Arc<ManualClock>) -> ApiKey {
        let keys = KeyService::new(
            Arc::new(MemoryKeyStore::default()),
            KeyPrefix::default(),
            clock.clone(),
            Arc::new(crate::keys::cache::VerifiedKeyCache::new(
                std::time::Duration::from_secs(30),
                clock,
            )),
        );
        let id = uuid::Uuid::new_v4().to_string();
        let owner = Caller {
            user_id: UserId::parse(&id).unwrap(),
            workspace_id: WorkspaceId::parse(&id).unwrap(),
            credential: Credential::Session { role: Role::Owner },
        };
        let spec = NewKeySpec {
            rate_limit_per_hour: limit,
            ..NewKeySpec::named("limited")
        };
        keys.create(&owner, spec).await.unwrap().key
    }

    #[tokio::test]
    async fn a_window_admits_exactly_its_limit_then_refuses_without_asking_the_store() {
        let clock = ManualClock::now();
        let key = key(3, clock.clone()).await;
        let counter = Arc::new(MemoryRateCounter::default());
        let limiter = RateLimiter::new(counter.clone());
        let now = clock.now();
        let mut remaining = Vec::new();
        for _ in 0..3 {
            match limiter.acquire(&key, now).await.unwrap() {
                RateDecision::Allowed(status) => remaining.push(status.remaining),
                limited => panic!("{limited:?}"),
            }
        }
        assert_eq!(remaining, [2, 1, 0]);
        for _ in 0..5 {
            assert!(matches!(
                limiter.acquire(&key, now).await.unwrap(),
                RateDecision::Limited(s) if s.remaining == 0 && s.retry_after(now) >= 1
            ));
        }
        assert_eq!(
            counter.calls(),
            4,
            "one refused write, then the memo answers"
        );
        let next_window = now.duration_trunc(WINDOW).unwrap() + WINDOW;
        assert!(matches!(
            limiter.acquire(&key, next_window).await.unwrap(),
            RateDecision::Allowed(s) if s.remaining == 2
        ));
    }
}
