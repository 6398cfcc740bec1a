//! Per-key rate limits: fixed windows of a second, minute, hour or day aligned to the UTC clock
//! (the key's [`RateLimit`]), never exceeded, without a storage write per request.
//!
//! The window's budget lives in one counter item per key and window: how much of the limit the
//! containers have reserved between them. A container reserves a slice of it with one conditional
//! `ADD` (`count <= limit - slice`), then admits requests from that slice in memory. The reserved
//! total can never pass the limit, so no window admits more than its limit, across every
//! container, whatever the interleaving or retry.
//!
//! For a limit of at least [`CREDIT_MIN_LIMIT`], reservations run ahead of the requests: when
//! three quarters of a slice are spent, the next one is reserved in a background task while requests go on
//! being admitted from what is left, so a key in steady use never waits for a write. (A smaller
//! budget is reserved on demand only: a slice held ahead would strand a share that another
//! container needs.) A request waits for one only when its container holds
//! nothing of the window: the key's first request there in the window, or a burst that spent the
//! whole slice before the next one landed.
//!
//! A key whose limit is at least [`CREDIT_MIN_LIMIT`] and not [exact](RateLimit::exact) does
//! not even wait for its first reservation: a container's first request of a window is admitted
//! on credit and reserved behind it, with the first slice, in the background; requests that
//! arrive meanwhile wait for that reservation. So no request of such a key waits for a write
//! unless it outruns the slice reserved ahead of it. The price is a stated bound instead of
//! exactness at the very end of a budget: a window admits at most its limit plus one request per
//! container that meets the key for the first time in that window after the budget ran out. An
//! exact limit takes no credit: a container's first request of each window waits for its
//! reservation, and no window ever admits more than its limit.
//!
//! The first slice is sized by the limit ([`first_slice`]: an eighth of it, at least one),
//! each next one doubles while the container keeps spending, and every slice is capped at a
//! quarter of the budget still unreserved (at least one), so the slices shrink as the budget runs
//! low; a refused reservation is retried at half the size until a single request does not fit:
//! then the window is spent, and the container answers from memory until it ends. Slices still
//! unspent when the budget runs out lapse with the window: with demand above the limit, the
//! requests admitted fall short of the limit by at most what the other containers hold unspent at
//! that moment, each at most a quarter of the budget that was left when it reserved (see
//! `several_containers_share_one_budget`). A hot key costs a few reservations per container per
//! window instead of a write per request.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    limit::{RateLimit, RateWindow},
    model::ApiKey,
};
use crate::{ids::KeyId, store_error::StoreError};

/// Where a key stands in its current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateStatus {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in this window (an estimate: slices other containers hold unspent count as
    /// used).
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
    /// The key has no limit: nothing was counted.
    Unlimited,
    /// Counted; the status after counting.
    Allowed(RateStatus),
    /// The window is spent.
    Limited(RateStatus),
}

/// The storage port of rate windows.
#[async_trait]
pub trait RateCounter: Send + Sync {
    /// Reserves `slice` requests of `key`'s `window` starting at `start` if the reserved total
    /// stays within `limit`; returns the reserved total after it, or `None` when the slice does not
    /// fit.
    async fn reserve(
        &self,
        key: KeyId,
        window: RateWindow,
        start: DateTime<Utc>,
        slice: u32,
        limit: u32,
    ) -> Result<Option<u64>, StoreError>;
}

/// The first slice a container reserves of a window with `limit`: an eighth of the limit, at
/// least one. Large, so that a key in steady use costs one reservation per container in the
/// window's first minutes; the cap of a quarter of what is unreserved keeps it from stranding a
/// budget other containers need. (Larger first slices make a credit taken late in a window more
/// likely to find the budget spent, which the credit bound allows; exact limits take no credit.)
pub fn first_slice(limit: u32) -> u32 {
    (limit / 8).max(1)
}

/// The smallest limit whose keys are reserved ahead and admitted on credit: a container's first
/// request of a window is answered at once and reserved behind it, in the background, instead of
/// waiting for a write. If by then the window's budget is spent, that one request was admitted past the limit:
/// so a window admits at most its limit plus one request per container that meets the key for the
/// first time in that window after its budget ran out (0.1 % of a limit of 1,000 per container).
/// Below this limit one request is too large a share, and every request waits for its reservation.
pub const CREDIT_MIN_LIMIT: u32 = 64;

/// What this container holds of one key's window.
#[derive(Debug, Clone, Copy)]
struct Lease {
    /// The start of the window it belongs to.
    start: DateTime<Utc>,
    /// The limit it was reserved under (a changed limit starts afresh).
    rule: RateLimit,
    /// Requests reserved and not yet admitted.
    left: u32,
    /// The size of the last slice granted (0 before the first).
    granted: u32,
    /// The size of the next reservation.
    next_slice: u32,
    /// The reserved total after this container's last reservation.
    reserved: u64,
    /// Whether a single request no longer fits the budget: nothing more is reserved, and once
    /// `left` is spent, requests are answered from memory until the window ends.
    spent: bool,
    /// Whether a reservation is under way in the background.
    refilling: bool,
    /// Requests admitted on credit that no reservation covers yet (see [`CREDIT_MIN_LIMIT`]).
    owed: u32,
}

impl Lease {
    fn new(start: DateTime<Utc>, rule: RateLimit) -> Self {
        Self {
            start,
            rule,
            left: 0,
            granted: 0,
            next_slice: first_slice(rule.limit()),
            reserved: 0,
            spent: false,
            refilling: false,
            owed: 0,
        }
    }

    /// Whether a request may be admitted on credit: the container's first of the window, for a
    /// limit of at least [`CREDIT_MIN_LIMIT`] that is not exact.
    fn may_take_credit(&self) -> bool {
        self.rule.limit() >= CREDIT_MIN_LIMIT
            && !self.rule.is_exact()
            && self.granted == 0
            && self.owed == 0
            && self.left == 0
            && !self.spent
            && !self.refilling
    }

    /// The next slice: doubling, at most a quarter of what is unreserved (and at least one),
    /// reserved together with what is owed. Zero only to reserve what is owed alone, once a
    /// slice of one did not fit beside it.
    fn slice(&self) -> u32 {
        if self.next_slice == 0 && self.owed > 0 {
            return 0;
        }
        let unreserved = u64::from(self.rule.limit()).saturating_sub(self.reserved);
        let cap = u32::try_from((unreserved / 4).max(1)).unwrap_or(u32::MAX);
        self.next_slice.min(cap).max(1)
    }

    fn remaining(&self) -> u32 {
        let unreserved = u64::from(self.rule.limit()).saturating_sub(self.reserved);
        let remaining = (unreserved + u64::from(self.left)).saturating_sub(u64::from(self.owed));
        u32::try_from(remaining).unwrap_or(u32::MAX)
    }

    /// Whether the next slice should be reserved now, ahead of need: three quarters of the last
    /// one are spent (the last quarter leaves a reservation ample time to land),
    /// and the limit is large enough for a slice held ahead not to strand a share of it that
    /// another container needs (below [`CREDIT_MIN_LIMIT`], slices are reserved on demand only:
    /// two containers taking turns on a key of limit 2 would otherwise admit one request, the
    /// first container holding the second ahead of a demand that went to the other).
    fn wants_refill(&self) -> bool {
        self.rule.limit() >= CREDIT_MIN_LIMIT
            && !self.spent
            && !self.refilling
            && self.left.saturating_mul(4) <= self.granted
    }

    /// Applies the answer to a reservation of `slice` (and what was owed) made under `rule` for
    /// the window starting at `start`.
    fn settle(&mut self, start: DateTime<Utc>, rule: RateLimit, slice: u32, answer: Option<u64>) {
        if self.start != start || self.rule != rule {
            // The window moved on, or the limit changed, while the reservation was under way: its
            // slice lapses (windows of different lengths can start at the same instant).
            return;
        }
        match answer {
            Some(reserved) => {
                self.left += slice;
                self.owed = 0;
                if slice > 0 {
                    self.granted = slice;
                }
                self.reserved = reserved;
                self.next_slice = slice.saturating_mul(2).max(1);
            }
            None if slice > 1 => self.next_slice = slice / 2,
            None if slice == 1 && self.owed > 0 => self.next_slice = 0,
            None => {
                self.spent = true;
                self.reserved = u64::from(self.rule.limit());
                if self.owed > 0 {
                    tracing::info!(
                        admitted = self.owed,
                        "requests admitted on credit found the window's budget spent"
                    );
                    self.owed = 0;
                }
            }
        }
    }
}

/// One key's lease, shared by the requests and the background reservation of one container.
#[derive(Debug)]
struct LeaseCell {
    lease: tokio::sync::Mutex<Lease>,
    /// Told when a reservation made ahead has been settled, to the requests that found the lease
    /// empty while it was under way (they wait for it rather than reserve twice, and rather than
    /// answer `RATE_LIMITED` before its slice arrives).
    settled: tokio::sync::Notify,
}

/// Decides rate limits for verified keys.
pub struct RateLimiter {
    counter: Arc<dyn RateCounter>,
    /// This container's lease of each key's current window. Bounded: a lease forgotten lapses
    /// unspent, which only ever admits fewer. The async mutex makes concurrent requests of one
    /// key wait for one reservation instead of each making their own.
    leases: moka::sync::Cache<KeyId, Arc<LeaseCell>>,
}

impl RateLimiter {
    /// A limiter reserving through `counter`.
    pub fn new(counter: Arc<dyn RateCounter>) -> Self {
        Self {
            counter,
            leases: moka::sync::Cache::new(100_000),
        }
    }

    /// Admits a request of `key` at `now` from this container's slice, or refuses it when the
    /// window is spent. Reserves the next slice in the background once three quarters of this one are spent,
    /// and waits for a reservation only when the container holds nothing of the window.
    pub async fn acquire(
        &self,
        key: &ApiKey,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, StoreError> {
        let Some(rule) = key.rate_limit else {
            return Ok(RateDecision::Unlimited);
        };
        let (window, limit) = (rule.window(), rule.limit());
        let start = window.start(now);
        let reset = (start + window.length()).timestamp();
        let status = |remaining: u32| RateStatus {
            limit,
            remaining,
            reset,
        };
        let cell = self.leases.get_with(key.id, || {
            Arc::new(LeaseCell {
                lease: tokio::sync::Mutex::new(Lease::new(start, rule)),
                settled: tokio::sync::Notify::new(),
            })
        });
        let mut lease = loop {
            let mut lease = cell.lease.lock().await;
            if lease.start != start || lease.rule != rule {
                *lease = Lease::new(start, rule);
            }
            if lease.left > 0 || lease.spent || !lease.refilling {
                break lease;
            }
            // Empty, with a reservation on its way: wait for it without holding the lease.
            let settled = cell.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            drop(lease);
            settled.await;
        };
        if lease.may_take_credit() {
            // The container's first request of the window: admitted now, and reserved behind
            // it, with the container's first slice, in the background.
            lease.owed = 1;
            lease.refilling = true;
            let (counter, cell, id) = (Arc::clone(&self.counter), Arc::clone(&cell), key.id);
            tokio::spawn(async move {
                let mut lease = cell.lease.lock().await;
                if lease.start == start && lease.rule == rule {
                    lease.refilling = false;
                    if let Err(err) = reserve_until_held(&*counter, &mut lease, id).await {
                        tracing::warn!(key_id = %id, error = %err, "rate credit not reserved yet");
                    }
                }
                drop(lease);
                cell.settled.notify_waiters();
            });
            return Ok(RateDecision::Allowed(status(lease.remaining())));
        }
        reserve_until_held(&*self.counter, &mut lease, key.id).await?;
        if lease.left == 0 {
            return Ok(RateDecision::Limited(status(0)));
        }
        lease.left -= 1;
        if lease.wants_refill() {
            lease.refilling = true;
            let slice = lease.slice();
            let (counter, cell, id) = (Arc::clone(&self.counter), Arc::clone(&cell), key.id);
            let reserving = slice + lease.owed;
            tokio::spawn(async move {
                let answer = counter.reserve(id, window, start, reserving, limit).await;
                let mut lease = cell.lease.lock().await;
                // A lease begun afresh since (a new window or limit) has its own reservation.
                if lease.start == start && lease.rule == rule {
                    lease.refilling = false;
                    match answer {
                        Ok(answer) => lease.settle(start, rule, slice, answer),
                        // The next request that finds the lease empty reserves for itself.
                        Err(err) => {
                            tracing::warn!(key_id = %id, error = %err, "rate slice not reserved ahead")
                        }
                    }
                }
                drop(lease);
                cell.settled.notify_waiters();
            });
        }
        Ok(RateDecision::Allowed(status(lease.remaining())))
    }
}

/// Reserves for `lease` until it holds a slice (and what it owes is covered) or the window's
/// budget is spent.
async fn reserve_until_held(
    counter: &dyn RateCounter,
    lease: &mut Lease,
    key: KeyId,
) -> Result<(), StoreError> {
    let (start, rule) = (lease.start, lease.rule);
    while (lease.left == 0 || lease.owed > 0) && !lease.spent {
        let slice = lease.slice();
        let answer = counter
            .reserve(key, rule.window(), start, slice + lease.owed, rule.limit())
            .await?;
        lease.settle(start, rule, slice, answer);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        clock::{Clock, ManualClock},
        ids::{UserId, WorkspaceId},
        keys::caller::{Caller, Credential},
        keys::{secret::KeyPrefix, service::KeyService, spec::NewKeySpec},
        role::Role,
        store::memory::{MemoryKeyStore, MemoryRateCounter},
    };

    async fn key(limit: u32, clock: Arc<ManualClock>) -> ApiKey {
        key_of(RateLimit::hourly(limit).unwrap(), clock).await
    }

    async fn key_of(rule: RateLimit, clock: Arc<ManualClock>) -> ApiKey {
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
            origin: Default::default(),
            user_id: UserId::parse(&id).unwrap(),
            workspace_id: WorkspaceId::parse(&id).unwrap(),
            credential: Credential::Session { role: Role::Owner },
        };
        let spec = NewKeySpec {
            rate_limit: Some(Some(rule)),
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
        let next_window = RateWindow::Hour.start(now) + RateWindow::Hour.length();
        assert!(matches!(
            limiter.acquire(&key, next_window).await.unwrap(),
            RateDecision::Allowed(s) if s.remaining == 2
        ));
    }

    #[tokio::test]
    async fn every_window_length_has_its_own_budget_and_unlimited_keys_count_nothing() {
        let clock = ManualClock::now();
        let mut key = key(1, clock.clone()).await;
        key.rate_limit = RateLimit::new(2, RateWindow::Minute);
        let counter = Arc::new(MemoryRateCounter::default());
        let limiter = RateLimiter::new(counter.clone());
        let start = RateWindow::Minute.start(clock.now());
        let at = |seconds| start + chrono::TimeDelta::seconds(seconds);
        let decide = |key: ApiKey, seconds| {
            let limiter = &limiter;
            async move { limiter.acquire(&key, at(seconds)).await.unwrap() }
        };
        assert!(
            matches!(decide(key.clone(), 0).await, RateDecision::Allowed(s) if s.remaining == 1)
        );
        assert!(
            matches!(decide(key.clone(), 59).await, RateDecision::Allowed(s) if s.remaining == 0)
        );
        let limited = decide(key.clone(), 59).await;
        assert_eq!(
            limited,
            RateDecision::Limited(RateStatus {
                limit: 2,
                remaining: 0,
                reset: at(60).timestamp()
            })
        );
        assert!(matches!(
            decide(key.clone(), 60).await,
            RateDecision::Allowed(_)
        ));

        // A new limit counts afresh, in its own window, even where the windows start together.
        key.rate_limit = RateLimit::new(1, RateWindow::Second);
        assert!(matches!(decide(key.clone(), 60).await, RateDecision::Allowed(s) if s.limit == 1));
        assert!(
            matches!(decide(key.clone(), 60).await, RateDecision::Limited(s) if s.retry_after(at(60)) == 1)
        );
        assert!(matches!(
            decide(key.clone(), 61).await,
            RateDecision::Allowed(_)
        ));

        key.rate_limit = None;
        let calls = counter.calls();
        for _ in 0..100 {
            assert_eq!(decide(key.clone(), 61).await, RateDecision::Unlimited);
        }
        assert_eq!(counter.calls(), calls, "no limit, no reservation");
    }

    #[tokio::test]
    async fn several_containers_share_one_budget_and_never_pass_it() {
        let clock = ManualClock::now();
        let key = key(1000, clock.clone()).await;
        let counter = Arc::new(MemoryRateCounter::default());
        let containers: Vec<RateLimiter> =
            (0..4).map(|_| RateLimiter::new(counter.clone())).collect();
        let now = clock.now();
        let (mut admitted, mut attempts) = (0u32, 0u32);
        // Uneven demand: container i takes i + 1 requests in turn, 5,000 requests in all.
        while attempts < 5_000 {
            for (i, container) in containers.iter().enumerate() {
                for _ in 0..=i {
                    attempts += 1;
                    if matches!(
                        container.acquire(&key, now).await.unwrap(),
                        RateDecision::Allowed(_)
                    ) {
                        admitted += 1;
                    }
                }
            }
        }
        assert!(admitted <= 1000, "{admitted}");
        assert!(admitted >= 990, "close to the limit: {admitted}");
        let writes = counter.calls() as f64;
        assert!(
            writes / f64::from(attempts) <= 0.05,
            "{writes} reservations for {attempts} requests"
        );
    }

    /// A counter whose reservations wait until the test opens its gate.
    struct GatedCounter {
        inner: MemoryRateCounter,
        open: tokio::sync::watch::Sender<bool>,
    }

    #[async_trait]
    impl RateCounter for GatedCounter {
        async fn reserve(
            &self,
            key: KeyId,
            window: RateWindow,
            start: DateTime<Utc>,
            slice: u32,
            limit: u32,
        ) -> Result<Option<u64>, StoreError> {
            let mut open = self.open.subscribe();
            open.wait_for(|open| *open).await.expect("gate");
            self.inner.reserve(key, window, start, slice, limit).await
        }
    }

    /// Once a container holds a slice, requests are admitted from memory while the next slice is
    /// reserved in the background: none waits for a write until the container holds nothing.
    #[tokio::test]
    async fn requests_never_wait_for_the_reservation_ahead_of_them() {
        use futures_util::FutureExt;
        let clock = ManualClock::now();
        let key = key(6400, clock.clone()).await;
        let counter = Arc::new(GatedCounter {
            inner: MemoryRateCounter::default(),
            open: tokio::sync::watch::Sender::new(true),
        });
        let limiter = RateLimiter::new(counter.clone());
        let now = clock.now();
        assert!(matches!(
            limiter.acquire(&key, now).await.unwrap(),
            RateDecision::Allowed(_)
        ));
        assert_eq!(
            first_slice(6400),
            800,
            "the first slice is sized by the limit"
        );
        // The first request went on credit; its reservation, with a slice of 800 for the next
        // requests, follows in the background.
        while counter.inner.calls() == 0 {
            tokio::task::yield_now().await;
        }
        counter.open.send_replace(false);
        for i in 1..=800 {
            // Unconstrained: tokio's cooperative budget (128 polls a task tick) would otherwise
            // make the lease's lock report pending, which is no wait for a write.
            let decision = tokio::task::unconstrained(limiter.acquire(&key, now))
                .now_or_never()
                .unwrap_or_else(|| panic!("request {i} waited for a write"));
            assert!(matches!(decision.unwrap(), RateDecision::Allowed(_)));
        }
        // The slice is spent and the reservation ahead is still held at the gate: the next
        // request waits for a reservation, and is admitted once the store answers.
        let mut waiting = Box::pin(limiter.acquire(&key, now));
        assert!((&mut waiting).now_or_never().is_none());
        counter.open.send_replace(true);
        assert!(matches!(waiting.await.unwrap(), RateDecision::Allowed(_)));
        tokio::task::yield_now().await;
        assert!(counter.inner.calls() >= 2, "the slice ahead was reserved");
    }

    /// A container's first request of a window does not wait for a write when the limit is at
    /// least `CREDIT_MIN_LIMIT` and not exact; below it, or exact, it does.
    #[tokio::test]
    async fn a_first_request_goes_on_credit_only_for_a_limit_that_can_bear_it() {
        use futures_util::FutureExt;
        let clock = ManualClock::now();
        let counter = Arc::new(GatedCounter {
            inner: MemoryRateCounter::default(),
            open: tokio::sync::watch::Sender::new(false),
        });
        let limiter = RateLimiter::new(counter.clone());
        let now = clock.now();
        let generous = key(CREDIT_MIN_LIMIT, clock.clone()).await;
        let decision = limiter
            .acquire(&generous, now)
            .now_or_never()
            .expect("admitted without waiting for the store");
        assert!(matches!(decision.unwrap(), RateDecision::Allowed(s) if s.remaining == 63));
        let small = key(CREDIT_MIN_LIMIT - 1, clock.clone()).await;
        let exact = RateLimit::hourly(CREDIT_MIN_LIMIT).unwrap().exact(true);
        let exact = key_of(exact, clock.clone()).await;
        let mut small = Box::pin(limiter.acquire(&small, now));
        let mut exact = Box::pin(limiter.acquire(&exact, now));
        assert!(
            (&mut small).now_or_never().is_none(),
            "a small limit waits for its reservation"
        );
        assert!(
            (&mut exact).now_or_never().is_none(),
            "an exact limit waits for its reservation"
        );
        counter.open.send_replace(true);
        assert!(matches!(small.await.unwrap(), RateDecision::Allowed(_)));
        assert!(matches!(exact.await.unwrap(), RateDecision::Allowed(_)));
    }

    /// The bound of credit: a key whose budget one container spent is met by eight more for the
    /// first time in the window; each admits its first request on credit and then refuses, so the
    /// window admits its limit plus one per container that met it late. An exact limit, and one
    /// below `CREDIT_MIN_LIMIT`, stay exact in the same race.
    #[tokio::test]
    async fn credit_passes_a_spent_budget_by_at_most_one_request_per_container() {
        let hourly = |limit| RateLimit::hourly(limit).unwrap();
        for (rule, late_admits) in [
            (hourly(CREDIT_MIN_LIMIT), 8),
            (hourly(CREDIT_MIN_LIMIT).exact(true), 0),
            (hourly(CREDIT_MIN_LIMIT - 1), 0),
        ] {
            let limit = rule.limit();
            let clock = ManualClock::now();
            let key = key_of(rule, clock.clone()).await;
            let counter = Arc::new(MemoryRateCounter::default());
            let now = clock.now();
            let first = RateLimiter::new(counter.clone());
            let mut admitted = 0;
            for _ in 0..2 * limit {
                if matches!(
                    first.acquire(&key, now).await.unwrap(),
                    RateDecision::Allowed(_)
                ) {
                    admitted += 1;
                }
                tokio::task::yield_now().await;
            }
            assert_eq!(
                admitted, limit,
                "one container alone admits exactly the limit"
            );
            for _ in 0..8 {
                let late = RateLimiter::new(counter.clone());
                for _ in 0..5 {
                    if matches!(
                        late.acquire(&key, now).await.unwrap(),
                        RateDecision::Allowed(_)
                    ) {
                        admitted += 1;
                    }
                    tokio::task::yield_now().await;
                }
            }
            assert_eq!(admitted, limit + late_admits, "{rule:?}");
        }
    }
}
