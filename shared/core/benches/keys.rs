//! Micro-benchmarks of the key path that needs no storage: key generation, parsing, argon2id
//! hashing and verification at the chosen parameters, the cache digest, and the whole verifier
//! in process over the in-memory adapters: on a cache hit, and on a miss (lookup + argon2id).
//! Run: `cargo bench -p latchkey-core --bench keys`. Figures go in the README's performance section.

use std::{
    hint::black_box,
    sync::Arc,
    time::{Duration, Instant},
};

use latchkey_core::{
    auth::{Caller, Credential, Role},
    clock::SystemClock,
    ids::{KeyId, UserId, WorkspaceId},
    keys::{
        cache::{self, VerifiedKeyCache},
        hashing,
        ratelimit::RateLimiter,
        secret::{KeyPrefix, PlainKey, PresentedKey},
        service::KeyService,
        spec::NewKeySpec,
        verify::{KeyVerifier, VerifierParts},
    },
    store::memory::{MemoryKeyStore, MemoryRateCounter, MemoryUsage},
    usage::{AttemptContext, UsageRecorder},
};

/// Runs `f` `iterations` times after a warm-up and prints the mean and the p50/p99 of single calls.
fn bench(name: &str, iterations: usize, mut f: impl FnMut()) {
    for _ in 0..iterations.min(10) {
        f();
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        f();
        samples.push(start.elapsed());
    }
    samples.sort();
    let mean = samples.iter().sum::<std::time::Duration>() / iterations as u32;
    let pick = |q: f64| samples[((iterations as f64 * q) as usize).min(iterations - 1)];
    println!(
        "{name:<32} n={iterations:<7} mean={mean:>10.2?} p50={:>10.2?} p99={:>10.2?}",
        pick(0.50),
        pick(0.99)
    );
}

fn main() {
    let prefix = KeyPrefix::default();
    let key = PlainKey::generate(&prefix, KeyId::new());
    let phc = hashing::hash_key(&key);

    bench("key generation", 100_000, || {
        black_box(PlainKey::generate(&prefix, KeyId::new()));
    });
    bench("key parse + checksum", 1_000_000, || {
        black_box(PresentedKey::parse(&prefix, black_box(key.expose())));
    });
    bench("sha-256 cache digest", 1_000_000, || {
        black_box(cache::digest(black_box(key.expose())));
    });
    bench("argon2id hash (m=16KiB,t=1,p=1)", 20_000, || {
        black_box(hashing::hash_key(&key));
    });
    bench("argon2id verify", 20_000, || {
        assert!(hashing::verify_key_blocking(black_box(key.expose()), &phc));
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(verifier_benches());
}

/// A verifier over the in-memory adapters with a cache of `cache_ttl`, and 1,000 keys of its
/// store (each with the highest hourly limit, so a round robin stays under every limit).
async fn verifier(cache_ttl: Duration) -> (KeyVerifier, Vec<String>) {
    let clock = Arc::new(SystemClock);
    let store = Arc::new(MemoryKeyStore::default());
    let cache = Arc::new(VerifiedKeyCache::new(cache_ttl, clock.clone()));
    let keys = KeyService::new(
        store.clone(),
        KeyPrefix::default(),
        clock.clone(),
        cache.clone(),
    );
    let user = UserId::parse("bench").expect("an id");
    let owner = Caller {
        origin: Default::default(),
        workspace_id: WorkspaceId::personal(&user),
        user_id: user,
        credential: Credential::Session { role: Role::Owner },
    };
    let mut plain = Vec::new();
    for i in 0..1000 {
        let issued = keys
            .create(&owner, NewKeySpec::named(format!("bench-{i}")))
            .await
            .expect("a key");
        plain.push(issued.plain.expose().to_owned());
    }
    let verifier = KeyVerifier::new(VerifierParts {
        store,
        prefix: KeyPrefix::default(),
        clock,
        cache,
        limiter: RateLimiter::new(Arc::new(MemoryRateCounter::default())),
        usage: Arc::new(UsageRecorder::new(
            Arc::new(MemoryUsage::default()),
            Duration::from_secs(3600),
        )),
        onboarding: None,
    });
    (verifier, plain)
}

async fn verifier_benches() {
    let context = AttemptContext::default();
    for (name, ttl) in [
        ("verify, cache hit (in memory)", Duration::from_secs(30)),
        ("verify, cache miss (in memory)", Duration::ZERO),
    ] {
        let (verifier, keys) = verifier(ttl).await;
        for key in &keys {
            verifier.verify(key, &[], &context).await.expect("verified");
        }
        let iterations = 20_000;
        let mut samples = Vec::with_capacity(iterations);
        for i in 0..iterations {
            let key = &keys[i % keys.len()];
            let start = Instant::now();
            let outcome = verifier.verify(key, &[], &context).await.expect("verified");
            samples.push(start.elapsed());
            black_box(outcome);
        }
        samples.sort();
        let mean = samples.iter().sum::<Duration>() / iterations as u32;
        let pick = |q: f64| samples[((iterations as f64 * q) as usize).min(iterations - 1)];
        println!(
            "{name:<32} n={iterations:<7} mean={mean:>10.2?} p50={:>10.2?} p99={:>10.2?}",
            pick(0.50),
            pick(0.99)
        );
    }
}
