//! The verification core: one function decides whether a presented key is usable, for the
//! verify endpoint, the API Gateway authorizer and Latchkey's own APIKeyBearer authentication.
//!
//! Order of checks (the first failure decides): format and checksum (no storage read) → lookup by
//! id (the warm cache first; a blocked id's guesses are refused without a read, see
//! [`super::backoff`]) → secret (argon2id) → the key's paired secret, when it has one
//! (cartovista's `secretKey`; argon2id too) → revoked →
//! disabled → expired (a rotated key past its grace included) → IP allowlist → required
//! permissions → rate limit. Every outcome for a known key is recorded as usage.

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use super::{
    backoff::FailureBackoff,
    cache::{self, VerifiedKeyCache},
    changes::KeyChangeFeed,
    hashing,
    model::ApiKey,
    ratelimit::{RateDecision, RateLimiter, RateStatus},
    secret::{KeyPrefix, PresentedKey},
    store::KeyStore,
};
use crate::{
    clock::Clock,
    error::Error,
    onboarding::{Onboarding, Step},
    outcome::VerifyCode,
    usage::{AttemptContext, UsageRecorder},
};

/// A verification's outcome.
#[derive(Clone, Debug)]
pub struct Verification {
    /// What was decided.
    pub code: VerifyCode,
    /// The key, whenever the presented secret is the key's.
    pub key: Option<ApiKey>,
    /// The key's rate window, when the rate limit was reached in the order of checks.
    pub rate: Option<RateStatus>,
}

impl Verification {
    fn not_found() -> Self {
        Self {
            code: VerifyCode::NotFound,
            key: None,
            rate: None,
        }
    }
}

/// Verifies presented keys against storage, through the warm-container cache.
pub struct KeyVerifier {
    store: Arc<dyn KeyStore>,
    prefix: KeyPrefix,
    clock: Arc<dyn Clock>,
    cache: Arc<VerifiedKeyCache>,
    changes: Arc<KeyChangeFeed>,
    backoff: FailureBackoff,
    limiter: RateLimiter,
    usage: Arc<UsageRecorder>,
    onboarding: Option<Arc<Onboarding>>,
    argon2_checks: AtomicU64,
    key_reads: AtomicU64,
}

/// The parts a [`KeyVerifier`] is built from.
pub struct VerifierParts {
    /// Key storage.
    pub store: Arc<dyn KeyStore>,
    /// The deployment's key prefix.
    pub prefix: KeyPrefix,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The warm cache, shared with the key service so its writes can evict.
    pub cache: Arc<VerifiedKeyCache>,
    /// Rate limits.
    pub limiter: RateLimiter,
    /// Usage accounting.
    pub usage: Arc<UsageRecorder>,
    /// The onboarding checklist, whose `verified_first_request` a valid verification completes.
    pub onboarding: Option<Arc<Onboarding>>,
}

impl KeyVerifier {
    /// A verifier from its parts.
    pub fn new(parts: VerifierParts) -> Self {
        let changes = Arc::new(KeyChangeFeed::new(
            parts.store.clone(),
            parts.cache.clone(),
            parts.clock.clone(),
        ));
        Self {
            store: parts.store,
            prefix: parts.prefix,
            clock: parts.clock,
            cache: parts.cache,
            changes,
            backoff: FailureBackoff::default(),
            limiter: parts.limiter,
            usage: parts.usage,
            onboarding: parts.onboarding,
            argon2_checks: AtomicU64::new(0),
            key_reads: AtomicU64::new(0),
        }
    }

    /// The prefix keys of this deployment carry.
    pub fn prefix(&self) -> &KeyPrefix {
        &self.prefix
    }

    /// How many argon2 checks this verifier has run (a metric, and the cache tests' witness).
    pub fn argon2_checks(&self) -> u64 {
        self.argon2_checks.load(Ordering::Relaxed)
    }

    /// How many keys this verifier has read from storage (a metric, and the brute-force test's
    /// witness).
    pub fn key_reads(&self) -> u64 {
        self.key_reads.load(Ordering::Relaxed)
    }

    /// Writes buffered usage now (before a container may be frozen, and in tests).
    pub async fn flush_usage(&self) {
        self.usage.flush().await;
    }

    /// Stores a hash at the current parameters for a key whose stored hash was made with others,
    /// now that `secret` verified against it. A failure only means the upgrade waits for the next
    /// verification: the old hash keeps working.
    async fn upgrade_hash(&self, mut key: ApiKey, secret: &str) -> ApiKey {
        if !hashing::needs_rehash(&key.secret_hash) {
            return key;
        }
        let new = hashing::hash_secret(secret);
        match self.store.rehash(key.id, &key.secret_hash, &new).await {
            Ok(()) => key.secret_hash = new,
            Err(err) => tracing::warn!(key_id = %key.id, error = %err, "key hash not upgraded"),
        }
        key
    }

    /// Checks `parsed` against storage on a cache miss: the key when the secret is its own. A
    /// blocked id's guesses are checked against the hash the backoff remembers, so they cost no read.
    async fn read_and_check(
        &self,
        parsed: &PresentedKey<'_>,
        context: &AttemptContext,
    ) -> Result<Option<ApiKey>, Error> {
        if let Some(hash) = self.backoff.blocked_hash(parsed.id, self.clock.now())
            && !self.secret_matches(parsed.full, &hash).await?
        {
            return Ok(None);
        }
        self.key_reads.fetch_add(1, Ordering::Relaxed);
        let Some(key) = self.store.get(parsed.id).await? else {
            // An unknown id is answered as a known one with a wrong secret is: a hash checked
            // (against a decoy), a failure counted, and, once blocked, answered from memory.
            // Otherwise a blocked real id's quick answer would tell it from an unknown one.
            let decoy = hashing::decoy();
            self.secret_matches(parsed.full, decoy).await?;
            self.backoff.failed(parsed.id, self.clock.now(), decoy);
            return Ok(None);
        };
        if !self.secret_matches(parsed.full, &key.secret_hash).await? {
            self.backoff
                .failed(parsed.id, self.clock.now(), &key.secret_hash);
            self.usage
                .record(&key, VerifyCode::NotFound, self.clock.now(), context)
                .await;
            return Ok(None);
        }
        self.backoff.succeeded(parsed.id);
        Ok(Some(self.upgrade_hash(key, parsed.full).await))
    }

    /// Whether `paired` is the secret `key` must come with (always, for a key without one).
    async fn paired_matches(&self, key: &ApiKey, paired: Option<&str>) -> Result<bool, Error> {
        match (&key.paired_secret_hash, paired) {
            (None, _) => Ok(true),
            (Some(_), None) => Ok(false),
            (Some(hash), Some(paired)) => self.secret_matches(paired, hash).await,
        }
    }

    async fn secret_matches(&self, presented: &str, hash: &str) -> Result<bool, Error> {
        self.argon2_checks.fetch_add(1, Ordering::Relaxed);
        hashing::verify_key(presented.to_owned(), hash.to_owned()).await
    }

    /// Decides whether `presented` may act with `required` permissions, from where `context` says.
    pub async fn verify(
        &self,
        presented: &str,
        required: &[String],
        context: &AttemptContext,
    ) -> Result<Verification, Error> {
        self.verify_pair(presented, None, required, context).await
    }

    /// [`KeyVerifier::verify`] for a key presented with `paired`, the secret a key with one
    /// must come with: a key that has a paired secret is `NOT_FOUND` (a failed attempt) without
    /// it or with another.
    pub async fn verify_pair(
        &self,
        presented: &str,
        paired: Option<&str>,
        required: &[String],
        context: &AttemptContext,
    ) -> Result<Verification, Error> {
        let Some(parsed) = PresentedKey::parse(&self.prefix, presented) else {
            return Ok(Verification::not_found());
        };
        let digest = cache::digest_pair(parsed.full, paired);
        self.changes.keep_fresh();
        let read_at = self.clock.now();
        let key = match self.cache.get(parsed.id, &digest) {
            Some(key) => key,
            None => match self.read_and_check(&parsed, context).await? {
                Some(key) => {
                    if !self.paired_matches(&key, paired).await? {
                        self.usage
                            .record(&key, VerifyCode::NotFound, self.clock.now(), context)
                            .await;
                        return Ok(Verification::not_found());
                    }
                    self.cache.put(digest, key.clone(), read_at);
                    key
                }
                None => return Ok(Verification::not_found()),
            },
        };
        let now = self.clock.now();
        let mut rate = None;
        let code = match state_code(&key, now, context.ip, required) {
            VerifyCode::Valid => match self.limiter.acquire(&key, now).await? {
                RateDecision::Unlimited => VerifyCode::Valid,
                RateDecision::Allowed(status) => {
                    rate = Some(status);
                    VerifyCode::Valid
                }
                RateDecision::Limited(status) => {
                    rate = Some(status);
                    VerifyCode::RateLimited
                }
            },
            refused => refused,
        };
        self.usage.record(&key, code, now, context).await;
        if let (VerifyCode::Valid, Some(onboarding)) = (code, &self.onboarding) {
            onboarding
                .record(&key.owner_id, Step::VerifiedFirstRequest)
                .await;
        }
        Ok(Verification {
            code,
            key: Some(key),
            rate,
        })
    }
}

/// The checks after the secret, in order, before the rate limit.
fn state_code(
    key: &ApiKey,
    now: chrono::DateTime<chrono::Utc>,
    ip: Option<IpAddr>,
    required: &[String],
) -> VerifyCode {
    if key.revoked_at.is_some() {
        VerifyCode::Revoked
    } else if !key.is_active {
        VerifyCode::Disabled
    } else if key.is_expired(now) {
        VerifyCode::Expired
    } else if !key.allows_ip(ip) {
        VerifyCode::Forbidden
    } else if !key.has_permissions(required) {
        VerifyCode::InsufficientPermissions
    } else {
        VerifyCode::Valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        clock::ManualClock,
        ids::{UserId, WorkspaceId},
        keys::caller::{Caller, Credential},
        keys::{limit::RateLimit, service::KeyService, spec::NewKeySpec},
        role::Role,
        store::memory::{MemoryKeyStore, MemoryOnboardingStore, MemoryRateCounter, MemoryUsage},
        usage::TallyKey,
    };

    struct Parts {
        store: Arc<MemoryKeyStore>,
        keys: KeyService,
        verifier: KeyVerifier,
        usage: Arc<MemoryUsage>,
        onboarding: Arc<Onboarding>,
        owner: Caller,
    }

    fn parts() -> Parts {
        let clock = ManualClock::now();
        let store = Arc::new(MemoryKeyStore::default());
        let cache = Arc::new(VerifiedKeyCache::new(
            std::time::Duration::from_secs(30),
            clock.clone(),
        ));
        let usage = Arc::new(MemoryUsage::default());
        let onboarding = Arc::new(Onboarding::new(
            Arc::new(MemoryOnboardingStore::default()),
            clock.clone(),
        ));
        let verifier = KeyVerifier::new(VerifierParts {
            store: store.clone(),
            prefix: KeyPrefix::default(),
            clock: clock.clone(),
            cache: cache.clone(),
            limiter: RateLimiter::new(Arc::new(MemoryRateCounter::default())),
            usage: Arc::new(UsageRecorder::new(usage.clone(), std::time::Duration::ZERO)),
            onboarding: Some(onboarding.clone()),
        });
        let id = uuid::Uuid::new_v4().to_string();
        Parts {
            keys: KeyService::new(store.clone(), KeyPrefix::default(), clock, cache),
            store,
            verifier,
            usage,
            onboarding,
            owner: Caller {
                origin: Default::default(),
                user_id: UserId::parse(&id).unwrap(),
                workspace_id: WorkspaceId::parse(&id).unwrap(),
                credential: Credential::Session { role: Role::Owner },
            },
        }
    }

    async fn create(p: &Parts, spec: NewKeySpec) -> (ApiKey, String) {
        let issued = p.keys.create(&p.owner, spec).await.unwrap();
        (issued.key, issued.plain.expose().to_owned())
    }

    async fn code(p: &Parts, key: &str, required: &[&str]) -> VerifyCode {
        let required: Vec<String> = required.iter().map(|s| s.to_string()).collect();
        p.verifier
            .verify(key, &required, &AttemptContext::default())
            .await
            .unwrap()
            .code
    }

    #[tokio::test]
    async fn each_check_decides_in_order_and_every_outcome_is_counted() {
        let p = parts();
        let (key, plain) = create(
            &p,
            NewKeySpec {
                permissions: vec!["read".into()],
                ..NewKeySpec::named("k")
            },
        )
        .await;
        assert_eq!(code(&p, &plain, &[]).await, VerifyCode::Valid);
        assert_eq!(code(&p, &plain, &["read"]).await, VerifyCode::Valid);
        assert_eq!(
            code(&p, &plain, &["write"]).await,
            VerifyCode::InsufficientPermissions
        );
        // Well-formed, with this key's id, but another secret: a failure counted against the key.
        let wrong = crate::keys::secret::PlainKey::generate(&KeyPrefix::default(), key.id);
        assert_eq!(code(&p, wrong.expose(), &[]).await, VerifyCode::NotFound);
        assert_eq!(code(&p, "not a key", &[]).await, VerifyCode::NotFound);
        p.keys
            .revoke(&p.owner, key.id, "leaked".into())
            .await
            .unwrap();
        assert_eq!(
            code(&p, &plain, &[]).await,
            VerifyCode::Revoked,
            "the cache was evicted"
        );
        let tally = p.usage.tally(&TallyKey {
            key_id: key.id,
            owner_id: key.owner_id.clone(),
            day: p.keys.now().date_naive(),
        });
        // Malformed keys name no key, so they are not counted against one.
        assert_eq!((tally.success, tally.failed), (2, 3));
        assert_eq!(p.usage.events().len(), 5);
        let progress = p.onboarding.progress(&key.owner_id).await.unwrap();
        assert_eq!(progress.completed_steps, 1, "verified_first_request");
    }

    #[tokio::test]
    async fn a_hash_at_old_parameters_verifies_and_is_upgraded_after() {
        let p = parts();
        let (key, plain) = create(&p, NewKeySpec::named("old")).await;
        let presented = crate::keys::secret::PlainKey::generate(&KeyPrefix::default(), key.id);
        assert_eq!(
            code(&p, presented.expose(), &[]).await,
            VerifyCode::NotFound
        );
        let old = hashing::tests::old_hash_of(&plain);
        p.store
            .rehash(key.id, &key.secret_hash, &old)
            .await
            .unwrap();
        assert_eq!(code(&p, &plain, &[]).await, VerifyCode::Valid);
        let stored = p.store.get(key.id).await.unwrap().unwrap().secret_hash;
        assert!(
            stored.starts_with("$argon2id$v=19$m=16,t=1,p=1$"),
            "{stored}"
        );
        assert!(hashing::verify_key_blocking(&plain, &stored));
        // A wrong secret never upgrades anything.
        p.store.rehash(key.id, &stored, &old).await.unwrap();
        assert_eq!(
            code(&p, presented.expose(), &[]).await,
            VerifyCode::NotFound
        );
        assert_eq!(p.store.get(key.id).await.unwrap().unwrap().secret_hash, old);
    }

    #[tokio::test]
    async fn requests_past_the_limit_are_counted_but_not_stored_one_by_one() {
        let p = parts();
        let (key, plain) = create(
            &p,
            NewKeySpec {
                rate_limit: Some(RateLimit::hourly(2)),
                ..NewKeySpec::named("k")
            },
        )
        .await;
        let codes = [
            code(&p, &plain, &[]).await,
            code(&p, &plain, &[]).await,
            code(&p, &plain, &[]).await,
            code(&p, &plain, &[]).await,
        ];
        assert_eq!(
            codes,
            [
                VerifyCode::Valid,
                VerifyCode::Valid,
                VerifyCode::RateLimited,
                VerifyCode::RateLimited
            ]
        );
        let tally = p.usage.tally(&TallyKey {
            key_id: key.id,
            owner_id: key.owner_id.clone(),
            day: p.keys.now().date_naive(),
        });
        assert_eq!((tally.success, tally.failed), (2, 2));
        assert_eq!(p.usage.events().len(), 2);
    }

    /// A key with a paired secret verifies only with it, from the cache as from storage; without
    /// it, or with another, it is `NOT_FOUND` and a failed attempt. A new secret replaces the old.
    #[tokio::test]
    async fn a_paired_secret_must_come_with_its_key() {
        let p = parts();
        let (key, plain) = create(&p, NewKeySpec::named("k")).await;
        let (_, secret) = p.keys.pair_secret(&p.owner, key.id).await.unwrap();
        let check = |paired: Option<String>| {
            let (verifier, plain) = (&p.verifier, plain.clone());
            async move {
                verifier
                    .verify_pair(&plain, paired.as_deref(), &[], &AttemptContext::default())
                    .await
                    .unwrap()
                    .code
            }
        };
        let secret = secret.expose().to_owned();
        for _ in 0..2 {
            assert_eq!(check(Some(secret.clone())).await, VerifyCode::Valid);
            assert_eq!(check(None).await, VerifyCode::NotFound);
            assert_eq!(check(Some("wrong".into())).await, VerifyCode::NotFound);
        }
        let tally = p.usage.tally(&TallyKey {
            key_id: key.id,
            owner_id: key.owner_id.clone(),
            day: p.keys.now().date_naive(),
        });
        assert_eq!((tally.success, tally.failed), (2, 4));
        let (_, replaced) = p.keys.pair_secret(&p.owner, key.id).await.unwrap();
        assert_eq!(check(Some(secret)).await, VerifyCode::NotFound);
        assert_eq!(
            check(Some(replaced.expose().to_owned())).await,
            VerifyCode::Valid
        );
    }
}
