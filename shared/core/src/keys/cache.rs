//! The warm container's cache of verified keys: the reason argon2 and a storage read do not run
//! per request.
//!
//! Entries are found by key id and hold a SHA-256 digest of the key that was verified; a presented
//! key is served from the cache only when its digest matches in constant time, the entry is
//! younger than [`MAX_ENTRY_AGE`], and the key-change feed was read within the revocation bound
//! (the key-change feed): that bounds how long a revoked, deleted, disabled or regenerated key can
//! keep working in another container (in this one, writes call [`VerifiedKeyCache::forget`]).
//!
//! A read that began before a change it may have missed is not cached: an entry put with a read
//! time before the key's last known change (or before the cache was emptied) is dropped, so a
//! read racing the feed cannot bring back what the feed removed.

use std::{collections::HashMap, sync::Arc, sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::model::ApiKey;
use crate::{clock::Clock, ids::KeyId};

/// Most entries held; past it, moka evicts the least likely to be used again (TinyLFU).
const CAPACITY: u64 = 10_000;

/// How long an entry lives, however fresh the feed: a backstop, and how far back a container
/// ever reads the feed (one away for longer starts with an empty cache instead).
pub const MAX_ENTRY_AGE: Duration = Duration::from_secs(15 * 60);

/// How long a change is remembered against reads that began before it: far longer than a read.
const CHANGE_MEMORY: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// The SHA-256 digest of a presented key.
pub type KeyDigest = [u8; 32];

/// Digests a presented key for the cache.
pub fn digest(presented: &str) -> KeyDigest {
    Sha256::digest(presented.as_bytes()).into()
}

/// Digests a presented key and the paired secret presented with it, so an entry verified with
/// one pair serves only that pair. Without a paired secret, the key's own [`digest`]. (A NUL
/// separates the two: neither a key nor a secret contains one.)
pub fn digest_pair(presented: &str, paired: Option<&str>) -> KeyDigest {
    match paired {
        None => digest(presented),
        Some(paired) => {
            let mut hasher = Sha256::new();
            hasher.update(presented.as_bytes());
            hasher.update([0]);
            hasher.update(paired.as_bytes());
            hasher.finalize().into()
        }
    }
}

#[derive(Debug)]
struct Entry {
    digest: KeyDigest,
    key: ApiKey,
    read_at: DateTime<Utc>,
}

/// What the cache knows of changes: when the feed was last read, and recent changes by key.
#[derive(Debug)]
struct Changes {
    confirmed_at: DateTime<Utc>,
    cleared_at: DateTime<Utc>,
    changed: HashMap<KeyId, DateTime<Utc>>,
}

/// Verified keys by id. Bounded by moka; freshness is judged by the injected clock, so tests
/// move time instead of sleeping.
pub struct VerifiedKeyCache {
    bound: Duration,
    clock: Arc<dyn Clock>,
    entries: moka::sync::Cache<KeyId, Arc<Entry>>,
    changes: Mutex<Changes>,
}

impl std::fmt::Debug for VerifiedKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedKeyCache")
            .field("bound", &self.bound)
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

impl VerifiedKeyCache {
    /// A cache that serves while the feed was read within `bound` by `clock` (zero disables it).
    /// Unconfirmed until the key-change feed confirms it.
    pub fn new(bound: Duration, clock: Arc<dyn Clock>) -> Self {
        let never = DateTime::<Utc>::MIN_UTC;
        Self {
            bound,
            clock,
            entries: moka::sync::Cache::new(CAPACITY),
            changes: Mutex::new(Changes {
                confirmed_at: never,
                cleared_at: never,
                changed: HashMap::new(),
            }),
        }
    }

    /// The revocation bound.
    pub fn bound(&self) -> Duration {
        self.bound
    }

    fn changes(&self) -> std::sync::MutexGuard<'_, Changes> {
        self.changes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that every change made before `at` has been applied.
    pub(crate) fn confirm(&self, at: DateTime<Utc>) {
        let mut changes = self.changes();
        changes.confirmed_at = changes.confirmed_at.max(at);
        changes.changed.retain(|_, when| *when > at - CHANGE_MEMORY);
    }

    /// How long ago, at `now`, the changes were last confirmed.
    pub(crate) fn confirmed_age(&self, now: DateTime<Utc>) -> Duration {
        (now - self.changes().confirmed_at)
            .to_std()
            .unwrap_or(Duration::ZERO)
    }

    /// The cached key `id`, if `digest` matches the verified one, the entry is young enough and
    /// the changes were confirmed within the bound.
    pub fn get(&self, id: KeyId, digest: &KeyDigest) -> Option<ApiKey> {
        let now = self.clock.now();
        if self.confirmed_age(now) >= self.bound {
            return None;
        }
        let entry = self.entries.get(&id)?;
        // A clock that went back makes an entry stale, not immortal.
        let young = (now - entry.read_at)
            .to_std()
            .is_ok_and(|age| age < MAX_ENTRY_AGE);
        let same: bool = entry.digest.ct_eq(digest).into();
        (young && same).then(|| entry.key.clone())
    }

    /// Remembers that `digest` verified as `key`, read from storage at `read_at` (when the read
    /// began), unless the key changed, or the cache was emptied, after that.
    pub fn put(&self, digest: KeyDigest, key: ApiKey, read_at: DateTime<Utc>) {
        if self.bound.is_zero() {
            return;
        }
        // Checked and inserted under the lock a forget takes, so none can fall between.
        let changes = self.changes();
        let changed = changes.changed.get(&key.id).copied();
        if read_at < changes.cleared_at || changed.is_some_and(|at| read_at <= at) {
            return;
        }
        self.entries.insert(
            key.id,
            Arc::new(Entry {
                digest,
                key,
                read_at,
            }),
        );
    }

    /// Drops key `id`, after a write in this container changed it.
    pub fn forget(&self, id: KeyId) {
        self.forget_at(id, self.clock.now());
    }

    /// Drops key `id`, changed before `at`.
    pub(crate) fn forget_at(&self, id: KeyId, at: DateTime<Utc>) {
        let mut changes = self.changes();
        let when = changes.changed.entry(id).or_insert(at);
        *when = (*when).max(at);
        self.entries.invalidate(&id);
    }

    /// Drops every entry, and every read that began before `at`.
    pub(crate) fn clear(&self, at: DateTime<Utc>) {
        let mut changes = self.changes();
        changes.cleared_at = changes.cleared_at.max(at);
        self.entries.invalidate_all();
    }
}
