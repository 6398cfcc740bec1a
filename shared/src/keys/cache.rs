//! The warm container's cache of verified keys: the reason argon2 does not run per request.
//!
//! Entries are found by key id and hold a SHA-256 digest of the key that was verified; a presented
//! key is served from the cache only when its digest matches in constant time and the entry is
//! younger than the TTL, which bounds how long a revoked, deleted, disabled or regenerated key can
//! keep working in another container (in this one, writes call [`VerifiedKeyCache::forget`]).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::model::ApiKey;
use crate::ids::KeyId;

/// Most entries held; past it, expired entries are dropped first, then everything.
const CAPACITY: usize = 10_000;

/// The SHA-256 digest of a presented key.
pub type KeyDigest = [u8; 32];

/// Digests a presented key for the cache.
pub fn digest(presented: &str) -> KeyDigest {
    Sha256::digest(presented.as_bytes()).into()
}

#[derive(Debug)]
struct Entry {
    digest: KeyDigest,
    key: ApiKey,
    stored: Instant,
}

/// Verified keys by id.
#[derive(Debug)]
pub struct VerifiedKeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<KeyId, Entry>>,
}

impl VerifiedKeyCache {
    /// A cache whose entries live `ttl` (zero disables it).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cached key `id`, if `digest` matches the verified one and the entry is fresh.
    pub fn get(&self, id: KeyId, digest: &KeyDigest) -> Option<ApiKey> {
        let entries = self.entries.lock().expect("cache lock");
        let entry = entries.get(&id)?;
        let fresh = entry.stored.elapsed() < self.ttl;
        let same: bool = entry.digest.ct_eq(digest).into();
        (fresh && same).then(|| entry.key.clone())
    }

    /// Remembers that `digest` verified as `key`.
    pub fn put(&self, digest: KeyDigest, key: ApiKey) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= CAPACITY {
            let ttl = self.ttl;
            entries.retain(|_, e| e.stored.elapsed() < ttl);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            key.id,
            Entry {
                digest,
                key,
                stored: Instant::now(),
            },
        );
    }

    /// Drops key `id`, after a write in this container changed it.
    pub fn forget(&self, id: KeyId) {
        self.entries.lock().expect("cache lock").remove(&id);
    }
}
