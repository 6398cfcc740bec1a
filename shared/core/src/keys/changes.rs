//! The key-change feed: how a container learns that a key it holds in its cache was changed or
//! deleted in another one, without reading every key again.
//!
//! Every update and deletion of a key is recorded in the same write as the change itself (the
//! store's job). A container reads the changes since its last read with one query and drops
//! those keys from its cache ([`KeyChangeFeed::keep_fresh`]); the cache serves an entry only while
//! the feed was read within the revocation bound (see [`VerifiedKeyCache`]). So a change reaches
//! every container within the bound, and a key in steady use is read from storage once per
//! container, not once per bound: the cost of freshness is one query per container per third of
//! the bound, whatever the number of keys.
//!
//! The read runs in the background, once the last one is older than a third of the bound; no
//! verification ever waits for it. A container whose last read is older than the bound (one
//! frozen between invocations for longer) serves no key from its cache until its next read lands:
//! those verifications read their key from storage, one round trip, as a cache miss does. After
//! an absence longer than an entry's life the cache is emptied instead of read up to.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use super::{
    cache::{MAX_ENTRY_AGE, VerifiedKeyCache},
    store::{ChangeCursor, KeyStore},
};
use crate::clock::Clock;

/// Keeps one container's [`VerifiedKeyCache`] in step with the changes made in every container.
pub struct KeyChangeFeed {
    store: Arc<dyn KeyStore>,
    cache: Arc<VerifiedKeyCache>,
    clock: Arc<dyn Clock>,
    /// One read at a time; it holds where the last one ended.
    cursor: tokio::sync::Mutex<ChangeCursor>,
    reading: AtomicBool,
}

impl std::fmt::Debug for KeyChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyChangeFeed").finish_non_exhaustive()
    }
}

impl KeyChangeFeed {
    /// A feed for `cache`, read from now on (the cache is empty, so nothing before matters).
    pub fn new(
        store: Arc<dyn KeyStore>,
        cache: Arc<VerifiedKeyCache>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        cache.confirm(clock.now());
        Self {
            cursor: tokio::sync::Mutex::new(store.change_cursor()),
            store,
            cache,
            clock,
            reading: AtomicBool::new(false),
        }
    }

    /// Starts a read of the feed in the background when the last one is older than a third of the
    /// bound (one at a time). A failed read leaves the cache unconfirmed: past the bound, lookups
    /// go to storage (and fail closed with it).
    pub fn keep_fresh(self: &Arc<Self>) {
        let bound = self.cache.bound();
        if bound.is_zero() || self.cache.confirmed_age(self.clock.now()) < bound / 3 {
            return;
        }
        if !self.reading.swap(true, Ordering::AcqRel) {
            let feed = self.clone();
            tokio::spawn(async move {
                feed.read().await;
                feed.reading.store(false, Ordering::Release);
            });
        }
    }

    /// Reads the changes since the last read and drops their keys.
    async fn read(&self) {
        let mut cursor = self.cursor.lock().await;
        let started = self.clock.now();
        let age = self.cache.confirmed_age(started);
        if age < self.cache.bound() / 3 {
            return;
        }
        if age >= MAX_ENTRY_AGE {
            // Every entry is past its life anyway: start afresh rather than read that far back.
            self.cache.clear(started);
            *cursor = self.store.change_cursor();
            self.cache.confirm(started);
            return;
        }
        match self.store.changes_after(&cursor).await {
            Ok((changed, next)) => {
                for id in changed {
                    self.cache.forget_at(id, started);
                }
                *cursor = next;
                self.cache.confirm(started);
            }
            Err(err) => tracing::warn!(error = %err, "key changes not read; the cache waits"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{
        clock::ManualClock,
        ids::{UserId, WorkspaceId},
        keys::caller::{Caller, Credential},
        keys::{
            ratelimit::RateLimiter,
            secret::KeyPrefix,
            service::KeyService,
            spec::NewKeySpec,
            verify::{KeyVerifier, VerifierParts},
        },
        outcome::VerifyCode,
        role::Role,
        store::memory::{MemoryKeyStore, MemoryRateCounter, MemoryUsage},
        usage::{AttemptContext, UsageRecorder},
    };

    const BOUND: Duration = Duration::from_secs(30);

    /// A container: its own cache, verifier and key service, over the shared store.
    struct Container {
        verifier: KeyVerifier,
        keys: KeyService,
    }

    fn container(store: &Arc<MemoryKeyStore>, clock: &Arc<ManualClock>) -> Container {
        let cache = Arc::new(VerifiedKeyCache::new(BOUND, clock.clone()));
        Container {
            verifier: KeyVerifier::new(VerifierParts {
                store: store.clone(),
                prefix: KeyPrefix::default(),
                clock: clock.clone(),
                cache: cache.clone(),
                limiter: RateLimiter::new(Arc::new(MemoryRateCounter::default())),
                usage: Arc::new(UsageRecorder::new(
                    Arc::new(MemoryUsage::default()),
                    Duration::ZERO,
                )),
                onboarding: None,
            }),
            keys: KeyService::new(store.clone(), KeyPrefix::default(), clock.clone(), cache),
        }
    }

    fn owner() -> Caller {
        Caller {
            origin: Default::default(),
            user_id: UserId::parse("owner").unwrap(),
            workspace_id: WorkspaceId::parse("ws").unwrap(),
            credential: Credential::Session { role: Role::Owner },
        }
    }

    /// A key made through `c`: its id and the key in plain.
    async fn make(c: &Container) -> (crate::ids::KeyId, String) {
        let issued = c
            .keys
            .create(&owner(), NewKeySpec::named("k"))
            .await
            .unwrap();
        (issued.key.id, issued.plain.expose().to_owned())
    }

    async fn code(c: &Container, key: &str) -> VerifyCode {
        c.verifier
            .verify(key, &[], &AttemptContext::default())
            .await
            .unwrap()
            .code
    }

    /// Lets the feed's background read run.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_key_in_steady_use_is_read_once_per_container() {
        let clock = ManualClock::now();
        let store = Arc::new(MemoryKeyStore::default());
        let a = container(&store, &clock);
        let (_, plain) = make(&a).await;
        // Ten minutes of a request every 5 s: the feed is read every 10 s, the key never again.
        for _ in 0..120 {
            assert_eq!(code(&a, &plain).await, VerifyCode::Valid);
            settle().await;
            clock.advance(chrono::TimeDelta::seconds(5));
        }
        assert_eq!(
            a.verifier.key_reads(),
            1,
            "the feed, not a re-read, kept it fresh"
        );
    }

    #[tokio::test]
    async fn a_container_idle_past_the_bound_reads_the_key_and_never_waits_for_the_feed() {
        let clock = ManualClock::now();
        let store = Arc::new(MemoryKeyStore::default());
        let a = container(&store, &clock);
        let (_, plain) = make(&a).await;
        assert_eq!(code(&a, &plain).await, VerifyCode::Valid);
        clock.advance(chrono::TimeDelta::seconds(31));
        assert_eq!(code(&a, &plain).await, VerifyCode::Valid);
        assert_eq!(
            a.verifier.key_reads(),
            2,
            "read from storage, not served stale"
        );
        settle().await;
        assert_eq!(code(&a, &plain).await, VerifyCode::Valid);
        assert_eq!(
            a.verifier.key_reads(),
            2,
            "the feed caught up: served from the cache"
        );
    }

    #[tokio::test]
    async fn a_revocation_in_another_container_ends_the_key_within_the_bound() {
        let clock = ManualClock::now();
        let store = Arc::new(MemoryKeyStore::default());
        let (a, b) = (container(&store, &clock), container(&store, &clock));
        let (id, plain) = make(&a).await;
        assert_eq!(code(&a, &plain).await, VerifyCode::Valid);
        b.keys.revoke(&owner(), id, "leaked".into()).await.unwrap();
        assert_eq!(
            code(&a, &plain).await,
            VerifyCode::Valid,
            "inside the bound the cache may still serve it"
        );
        clock.advance(chrono::TimeDelta::seconds(30));
        assert_eq!(code(&a, &plain).await, VerifyCode::Revoked);
        assert_eq!(a.verifier.key_reads(), 2);
    }

    #[tokio::test]
    async fn a_deletion_in_another_container_ends_the_key_within_the_bound() {
        let clock = ManualClock::now();
        let store = Arc::new(MemoryKeyStore::default());
        let (a, b) = (container(&store, &clock), container(&store, &clock));
        let (id, plain) = make(&a).await;
        assert_eq!(code(&a, &plain).await, VerifyCode::Valid);
        b.keys.delete(&owner(), id).await.unwrap();
        clock.advance(chrono::TimeDelta::seconds(30));
        assert_eq!(code(&a, &plain).await, VerifyCode::NotFound);
    }

    #[tokio::test]
    async fn a_container_back_after_an_entry_s_life_reads_every_key_again() {
        let clock = ManualClock::now();
        let store = Arc::new(MemoryKeyStore::default());
        let a = container(&store, &clock);
        let (_, plain) = make(&a).await;
        assert_eq!(code(&a, &plain).await, VerifyCode::Valid);
        clock.advance(chrono::TimeDelta::from_std(MAX_ENTRY_AGE).unwrap());
        assert_eq!(code(&a, &plain).await, VerifyCode::Valid);
        assert_eq!(a.verifier.key_reads(), 2);
    }

    #[tokio::test]
    async fn a_read_that_began_before_a_change_is_not_cached() {
        let clock = ManualClock::now();
        let store = Arc::new(MemoryKeyStore::default());
        let (id, _) = make(&container(&store, &clock)).await;
        let key = store.get(id).await.unwrap().unwrap();
        let cache = VerifiedKeyCache::new(BOUND, clock.clone());
        cache.confirm(clock.now());
        let read_at = clock.now();
        clock.advance(chrono::TimeDelta::seconds(1));
        cache.forget(id);
        cache.put([7; 32], key.clone(), read_at);
        assert!(cache.get(id, &[7; 32]).is_none(), "it may hold the old key");
        clock.advance(chrono::TimeDelta::milliseconds(1));
        cache.put([7; 32], key, clock.now());
        assert!(
            cache.get(id, &[7; 32]).is_some(),
            "a read after the change is kept"
        );
        cache.clear(clock.now());
        assert!(cache.get(id, &[7; 32]).is_none());
    }
}
