//! The warm container's cache of verified keys: the reason argon2 does not run per request.
//!
//! Entries are found by key id and hold a SHA-256 digest of the key that was verified; a presented
//! key is served from the cache only when its digest matches in constant time and the entry is
//! younger than the TTL, which bounds how long a revoked, deleted, disabled or regenerated key can
//! keep working in another container (in this one, writes call [`VerifiedKeyCache::forget`]).

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::model::ApiKey;
use crate::{clock::Clock, ids::KeyId};

/// Most entries held; past it, moka evicts the least likely to be used again (TinyLFU).
const CAPACITY: u64 = 10_000;

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
    stored: DateTime<Utc>,
}

/// Verified keys by id. Bounded by moka; freshness is judged by the injected clock, so tests
/// move time instead of sleeping for the TTL.
pub struct VerifiedKeyCache {
    ttl: Duration,
    clock: Arc<dyn Clock>,
    entries: moka::sync::Cache<KeyId, Arc<Entry>>,
}

impl std::fmt::Debug for VerifiedKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedKeyCache")
            .field("ttl", &self.ttl)
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

impl VerifiedKeyCache {
    /// A cache whose entries live `ttl` by `clock` (zero disables it).
    pub fn new(ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            ttl,
            clock,
            entries: moka::sync::Cache::new(CAPACITY),
        }
    }

    fn fresh(&self, entry: &Entry, now: DateTime<Utc>) -> bool {
        // A clock that went back makes an entry stale, not immortal.
        (now - entry.stored)
            .to_std()
            .is_ok_and(|age| age < self.ttl)
    }

    /// The cached key `id`, if `digest` matches the verified one and the entry is fresh.
    pub fn get(&self, id: KeyId, digest: &KeyDigest) -> Option<ApiKey> {
        let entry = self.entries.get(&id)?;
        let fresh = self.fresh(&entry, self.clock.now());
        let same: bool = entry.digest.ct_eq(digest).into();
        (fresh && same).then(|| entry.key.clone())
    }

    /// Remembers that `digest` verified as `key`.
    pub fn put(&self, digest: KeyDigest, key: ApiKey) {
        if self.ttl.is_zero() {
            return;
        }
        let stored = self.clock.now();
        self.entries.insert(
            key.id,
            Arc::new(Entry {
                digest,
                key,
                stored,
            }),
        );
    }

    /// Drops key `id`, after a write in this container changed it.
    pub fn forget(&self, id: KeyId) {
        self.entries.invalidate(&id);
    }
}
