//! Micro-benchmarks of the key path that needs no storage: key generation, parsing, argon2id
//! hashing and verification at the chosen parameters, and the cache digest.
//! Run: `cargo bench -p latchkey-shared --bench keys`. Figures go in the README's performance section.

use std::{hint::black_box, time::Instant};

use latchkey::{
    ids::KeyId,
    keys::{cache, hashing, secret::KeyPrefix, secret::PlainKey, secret::PresentedKey},
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
    bench("argon2id hash (m=19MiB,t=2,p=1)", 50, || {
        black_box(hashing::hash_key(&key));
    });
    bench("argon2id verify", 50, || {
        assert!(hashing::verify_key_blocking(black_box(key.expose()), &phc));
    });
}
