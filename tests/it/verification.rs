//! Integration tests of the verification core against DynamoDB Local: exact rate limits under
//! concurrency, the revocation bound across containers, brute-force backoff, usage storage.

use std::{sync::Arc, time::Duration};

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use latchkey_aws::{
    dynamo::{DynamoRateCounter, DynamoUsageSink, Table},
    table,
};
use latchkey_core::{
    auth::{Caller, Credential, Role},
    clock::{Clock, SystemClock},
    ids::{KeyId, UserId, WorkspaceId},
    keys::{
        backoff::FREE_FAILURES,
        cache::VerifiedKeyCache,
        ratelimit::{RateCounter, RateDecision, RateLimiter},
        service::{IssuedKey, KeyService},
        spec::KeyChanges,
        verify::{KeyVerifier, VerifierParts},
    },
    outcome::VerifyCode,
    store::StoreError,
    usage::{AttemptContext, UsageBatch, UsageRecorder, UsageSink},
};
use latchkey_http::api::api_keys::{input::CreateKeyRequest, view::ApiKeyStats};
use latchkey_tests::ManualClock;

fn caller() -> Caller {
    let user = UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
    Caller {
        origin: Default::default(),
        workspace_id: WorkspaceId::parse(&uuid::Uuid::new_v4().to_string()).unwrap(),
        user_id: user,
        credential: Credential::Session { role: Role::Owner },
    }
}

/// A key service as another container would have it: its own cache.
async fn service(clock: Arc<dyn Clock>) -> KeyService {
    let config = latchkey_tests::config();
    let store = Table::new(latchkey_tests::dynamodb().await, &config.table_name).keys();
    KeyService::new(
        Arc::new(store),
        config.key_prefix,
        clock.clone(),
        Arc::new(VerifiedKeyCache::new(Duration::from_secs(30), clock)),
    )
}

async fn create(keys: &KeyService, owner: &Caller, body: serde_json::Value) -> IssuedKey {
    let spec = serde_json::from_value::<CreateKeyRequest>(body)
        .unwrap()
        .parse(chrono::Utc::now())
        .unwrap();
    keys.create(owner, spec).await.unwrap()
}

async fn code(verifier: &KeyVerifier, key: &str) -> VerifyCode {
    verifier
        .verify(key, &[], &AttemptContext::default())
        .await
        .unwrap()
        .code
}

#[tokio::test]
async fn parallel_requests_get_exactly_the_limit() {
    let owner = caller();
    let keys = service(Arc::new(SystemClock)).await;
    let issued = create(&keys, &owner, serde_json::json!({"rate_limit_per_hour": 7})).await;
    // Several "containers", each with its own cache and spent-window memory.
    let mut verifiers = Vec::new();
    for _ in 0..4 {
        verifiers.push(Arc::new(
            latchkey_tests::verifier(Duration::from_secs(30), Arc::new(SystemClock))
                .await
                .0,
        ));
    }
    let secret = issued.plain.expose().to_owned();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let verifier = verifiers[i % verifiers.len()].clone();
        let secret = secret.clone();
        tasks.spawn(async move { code(&verifier, &secret).await });
    }
    let codes = tasks.join_all().await;
    let valid = codes.iter().filter(|c| **c == VerifyCode::Valid).count();
    let limited = codes
        .iter()
        .filter(|c| **c == VerifyCode::RateLimited)
        .count();
    assert_eq!((valid, limited), (7, 33), "{codes:?}");
}

/// Eight containers (each its own limiter, with its own leases) hammer one key of limit 1,000
/// through DynamoDB Local, 5,000 requests at once: an exact limit is never passed, one that is not
/// by at most one request per container (the credit bound); both come close to the limit, with a
/// few reservations per container instead of a write per request.
#[tokio::test]
async fn containers_hammering_one_key_never_pass_its_limit() {
    for (exact, most) in [(true, 1000), (false, 1008)] {
        let owner = caller();
        let keys = service(Arc::new(SystemClock)).await;
        let issued = create(
            &keys,
            &owner,
            serde_json::json!({"rate_limit": {"limit": 1000, "window": "hour", "exact": exact}}),
        )
        .await;
        assert_eq!(issued.key.rate_limit.map(|r| r.is_exact()), Some(exact));
        let config = latchkey_tests::config();
        let counts = Arc::new(WriteCounts::default());
        let counter = Arc::new(CountingRate(
            counts.clone(),
            DynamoRateCounter::new(latchkey_tests::dynamodb().await, &config.table_name),
        ));
        let containers: Vec<Arc<RateLimiter>> = (0..8)
            .map(|_| Arc::new(RateLimiter::new(counter.clone())))
            .collect();
        let key = Arc::new(issued.key);
        let now = chrono::Utc::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..5_000 {
            let (limiter, key) = (containers[i % containers.len()].clone(), key.clone());
            tasks.spawn(async move {
                matches!(
                    limiter.acquire(&key, now).await.unwrap(),
                    RateDecision::Allowed(_)
                )
            });
        }
        let admitted = tasks.join_all().await.into_iter().filter(|a| *a).count();
        let writes = counts.rate_writes.load(Ordering::Relaxed);
        println!(
            "8 containers, limit 1000 (exact: {exact}), 5000 requests: {admitted} admitted, {writes} reservations"
        );
        assert!(admitted <= most, "exact: {exact}: {admitted}");
        assert!(admitted >= 900, "close to the limit: {admitted}");
        assert!(writes <= 250, "{writes} reservations for 5,000 requests");
    }
}

#[tokio::test]
async fn the_rate_window_resets_on_the_hour() {
    let owner = caller();
    let clock = ManualClock::now();
    let keys = service(clock.clone()).await;
    let issued = create(&keys, &owner, serde_json::json!({"rate_limit_per_hour": 1})).await;
    let (verifier, _) = latchkey_tests::verifier(Duration::from_secs(30), clock.clone()).await;
    let first = verifier
        .verify(issued.plain.expose(), &[], &AttemptContext::default())
        .await
        .unwrap();
    assert_eq!(first.code, VerifyCode::Valid);
    let rate = first.rate.unwrap();
    assert_eq!((rate.limit, rate.remaining), (1, 0));
    assert_eq!(rate.reset % 3600, 0, "windows end on the hour");
    assert_eq!(
        code(&verifier, issued.plain.expose()).await,
        VerifyCode::RateLimited
    );
    clock.advance(chrono::Duration::hours(1));
    assert_eq!(
        code(&verifier, issued.plain.expose()).await,
        VerifyCode::Valid
    );
}

/// A change made through one container reaches a verifier in another container within the cache
/// TTL: the revocation bound. The TTL here is one second; deployed it is at most 30.
#[tokio::test]
async fn changes_reach_other_containers_within_the_cache_ttl() {
    let ttl = Duration::from_secs(1);
    let owner = caller();
    let keys = service(Arc::new(SystemClock)).await;
    let revoked = create(&keys, &owner, serde_json::json!({})).await;
    let deleted = create(&keys, &owner, serde_json::json!({})).await;
    let disabled = create(&keys, &owner, serde_json::json!({})).await;
    let regenerated = create(&keys, &owner, serde_json::json!({})).await;
    let clock = latchkey_tests::ManualClock::now();
    let (verifier, _) = latchkey_tests::verifier(ttl, clock.clone()).await;
    for issued in [&revoked, &deleted, &disabled, &regenerated] {
        assert_eq!(
            code(&verifier, issued.plain.expose()).await,
            VerifyCode::Valid
        );
    }
    keys.revoke(&owner, revoked.key.id, "test".into())
        .await
        .unwrap();
    keys.delete(&owner, deleted.key.id).await.unwrap();
    let off = KeyChanges {
        is_active: Some(false),
        ..KeyChanges::default()
    };
    keys.update(&owner, disabled.key.id, off).await.unwrap();
    keys.regenerate(&owner, regenerated.key.id).await.unwrap();

    // Still cached in this container: the old answers hold until the TTL passes.
    assert_eq!(
        code(&verifier, revoked.plain.expose()).await,
        VerifyCode::Valid
    );
    clock.advance(chrono::Duration::from_std(ttl).unwrap() + chrono::Duration::milliseconds(1));
    assert_eq!(
        code(&verifier, revoked.plain.expose()).await,
        VerifyCode::Revoked
    );
    assert_eq!(
        code(&verifier, deleted.plain.expose()).await,
        VerifyCode::NotFound
    );
    assert_eq!(
        code(&verifier, disabled.plain.expose()).await,
        VerifyCode::Disabled
    );
    assert_eq!(
        code(&verifier, regenerated.plain.expose()).await,
        VerifyCode::NotFound
    );
}

#[tokio::test]
async fn within_the_ttl_the_cache_answers_and_expiry_is_immediate() {
    let owner = caller();
    let clock = ManualClock::now();
    let keys = service(clock.clone()).await;
    let in_an_hour = latchkey_core::timestamp::format(clock.now() + chrono::Duration::hours(1));
    let issued = create(&keys, &owner, serde_json::json!({"expires_at": in_an_hour})).await;
    let (verifier, _) = latchkey_tests::verifier(Duration::from_secs(30), clock.clone()).await;
    assert_eq!(
        code(&verifier, issued.plain.expose()).await,
        VerifyCode::Valid
    );
    let checks = verifier.argon2_checks();
    keys.revoke(&owner, issued.key.id, "elsewhere".into())
        .await
        .unwrap();
    assert_eq!(
        code(&verifier, issued.plain.expose()).await,
        VerifyCode::Valid,
        "another container's cache may still serve it inside the TTL: that is the documented bound"
    );
    assert_eq!(
        verifier.argon2_checks(),
        checks,
        "a cache hit runs no argon2"
    );

    let fresh = create(&keys, &owner, serde_json::json!({"expires_at": latchkey_core::timestamp::format(clock.now() + chrono::Duration::hours(1))})).await;
    assert_eq!(
        code(&verifier, fresh.plain.expose()).await,
        VerifyCode::Valid
    );
    clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        code(&verifier, fresh.plain.expose()).await,
        VerifyCode::Expired,
        "expiry is checked on every hit"
    );
}

/// 60 guesses at one key id in a container that never verified the key: the reads they cost stop
/// after the free failures, and the owner's key still verifies there at once.
#[tokio::test]
async fn guessing_one_key_costs_bounded_reads_and_never_locks_its_owner_out() {
    let owner = caller();
    let keys = service(Arc::new(SystemClock)).await;
    let issued = create(&keys, &owner, serde_json::json!({})).await;
    let (verifier, _) =
        latchkey_tests::verifier(Duration::from_secs(30), Arc::new(SystemClock)).await;

    // Other keys minted for the same id: right shape and checksum, wrong secret.
    let prefix = latchkey_tests::config().key_prefix;
    for _ in 0..60 {
        let guess = latchkey_core::keys::secret::PlainKey::generate(&prefix, issued.key.id);
        assert_eq!(code(&verifier, guess.expose()).await, VerifyCode::NotFound);
    }
    let reads = verifier.key_reads();
    assert!(
        reads <= u64::from(FREE_FAILURES) + 1,
        "{reads} key reads for 60 guesses"
    );
    assert_eq!(
        code(&verifier, issued.plain.expose()).await,
        VerifyCode::Valid,
        "the owner's key verifies during the block, in a container that had not seen it"
    );
}

/// Guesses at an unknown key id cost what guesses at a known one do: a read each for the first
/// few, then none, and a hash check every time. So a blocked real id answers no faster than a
/// made-up one, and its existence cannot be read off the time (issue 23, finding 9). Counted by
/// the verifier, not timed.
#[tokio::test]
async fn an_unknown_key_id_is_guessed_at_as_a_known_one_is() {
    let owner = caller();
    let keys = service(Arc::new(SystemClock)).await;
    let known = create(&keys, &owner, serde_json::json!({})).await.key.id;
    let prefix = latchkey_tests::config().key_prefix;
    let mut costs = Vec::new();
    for id in [known, KeyId::new()] {
        let (verifier, _) =
            latchkey_tests::verifier(Duration::from_secs(30), Arc::new(SystemClock)).await;
        for _ in 0..40 {
            let guess = latchkey_core::keys::secret::PlainKey::generate(&prefix, id);
            assert_eq!(code(&verifier, guess.expose()).await, VerifyCode::NotFound);
        }
        costs.push((verifier.key_reads(), verifier.argon2_checks()));
    }
    assert_eq!(
        costs[0], costs[1],
        "(reads, hash checks) for a known and an unknown id"
    );
    assert!(costs[0].0 <= u64::from(FREE_FAILURES) + 1, "{costs:?}");
    assert_eq!(costs[0].1, 40, "every guess checks a hash: {costs:?}");
}

#[tokio::test]
async fn usage_is_counted_and_events_are_stored_by_workspace_and_device() {
    let owner = caller();
    // One instant for the whole test, so "today" is the same day for the writes and the reads.
    let clock = latchkey_tests::ManualClock::now();
    let keys = service(clock.clone()).await;
    let issued = create(&keys, &owner, serde_json::json!({"permissions": ["read"]})).await;
    let (verifier, _) = latchkey_tests::verifier(Duration::from_secs(30), clock.clone()).await;
    let device = format!("device-{}", uuid::Uuid::new_v4());
    let context = AttemptContext {
        ip: Some("198.51.100.7".parse().unwrap()),
        user_agent: Some("test-agent/1.0".into()),
        device_id: Some(device.clone()),
        tags: vec!["checkout".into(), "eu".into()],
    };
    for required in [vec![], vec![], vec!["admin".to_string()]] {
        verifier
            .verify(issued.plain.expose(), &required, &context)
            .await
            .unwrap();
    }
    verifier.flush_usage().await;

    let stats = keys.stats(&owner, issued.key.id).await.unwrap();
    let stats = serde_json::to_value(ApiKeyStats::from(stats)).unwrap();
    assert_eq!(stats["usage_count"], 2);
    assert_eq!(stats["failed_attempts"], 1);
    assert!(stats["last_used_at"].is_string() && stats["last_failed_at"].is_string());
    let today = &stats["daily"][29];
    assert_eq!(
        (today["success"].as_u64(), today["failed"].as_u64()),
        (Some(2), Some(1))
    );

    let client = latchkey_tests::dynamodb().await;
    let table_name = latchkey_tests::config().table_name;
    let day = clock.now().date_naive();
    let mut events = Vec::new();
    for shard in 0..table::USAGE_SHARDS {
        let out = client
            .query()
            .table_name(&table_name)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(table::usage_pk(&owner.workspace_id, day, shard)),
            )
            .send()
            .await
            .unwrap();
        events.extend(out.items.unwrap_or_default());
    }
    assert_eq!(events.len(), 3, "one event per verification");
    for event in &events {
        assert_eq!(event["key_id"].as_s().unwrap(), &issued.key.id.to_string());
        assert_eq!(event["ip"].as_s().unwrap(), "198.51.100.7");
        assert_eq!(event["user_agent"].as_s().unwrap(), "test-agent/1.0");
        assert_eq!(event["device_id"].as_s().unwrap(), &device);
        assert_eq!(event["tags"].as_l().unwrap().len(), 2);
        assert!(event.contains_key("ttl"));
    }
    let outcomes: Vec<&str> = events
        .iter()
        .map(|e| e["outcome"].as_s().unwrap().as_str())
        .collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "VALID").count(), 2);
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == "INSUFFICIENT_PERMISSIONS")
            .count(),
        1
    );

    let by_device = client
        .query()
        .table_name(&table_name)
        .index_name(table::GSI3)
        .key_condition_expression("gsi3pk = :pk")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(table::device_pk(&owner.workspace_id, &device)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_device.count, 3,
        "events are found by device without a scan"
    );
}

/// Counts the calls that reach DynamoDB on the two write paths of verification.
#[derive(Default)]
struct WriteCounts {
    rate_writes: AtomicU64,
    usage_flushes: AtomicU64,
    counter_items: AtomicU64,
    counter_calls: AtomicU64,
    event_items: AtomicU64,
    event_batches: AtomicU64,
}

struct CountingRate(Arc<WriteCounts>, DynamoRateCounter);

#[async_trait::async_trait]
impl RateCounter for CountingRate {
    async fn reserve(
        &self,
        key: KeyId,
        window: latchkey_core::keys::limit::RateWindow,
        start: chrono::DateTime<chrono::Utc>,
        slice: u32,
        limit: u32,
    ) -> Result<Option<u64>, StoreError> {
        self.0.rate_writes.fetch_add(1, Ordering::Relaxed);
        self.1.reserve(key, window, start, slice, limit).await
    }
}

struct CountingSink(Arc<WriteCounts>, DynamoUsageSink);

#[async_trait::async_trait]
impl UsageSink for CountingSink {
    async fn write(&self, batch: UsageBatch) -> UsageBatch {
        self.0.usage_flushes.fetch_add(1, Ordering::Relaxed);
        // Each tally is one transaction of two item updates (key, key-day); each owner and day
        // one more item, the flush's sum.
        let owners: std::collections::HashSet<_> = batch
            .tallies
            .keys()
            .map(|k| (k.owner_id.clone(), k.day))
            .collect();
        self.0.counter_items.fetch_add(
            (2 * (batch.tallies.len() + batch.resend.len())
                + owners.len()
                + batch.resend_owners.len()) as u64,
            Ordering::Relaxed,
        );
        self.0.counter_calls.fetch_add(
            (batch.tallies.len() + batch.resend.len() + owners.len() + batch.resend_owners.len())
                as u64,
            Ordering::Relaxed,
        );
        self.0
            .event_items
            .fetch_add(batch.events.len() as u64, Ordering::Relaxed);
        // Events are written 25 to a BatchWriteItem.
        self.0
            .event_batches
            .fetch_add(batch.events.len().div_ceil(25) as u64, Ordering::Relaxed);
        self.1.write(batch).await
    }
}

/// A verifier over the local stack's table whose rate and usage writes are counted, flushing
/// usage only when asked (an hour-long interval).
async fn counting_verifier(clock: Arc<dyn Clock>) -> (KeyVerifier, Arc<WriteCounts>) {
    let config = latchkey_tests::config();
    let client = latchkey_tests::dynamodb().await;
    let counts = Arc::new(WriteCounts::default());
    let verifier = KeyVerifier::new(VerifierParts {
        store: Arc::new(Table::new(client.clone(), &config.table_name).keys()),
        prefix: config.key_prefix.clone(),
        clock: clock.clone(),
        cache: Arc::new(VerifiedKeyCache::new(Duration::from_secs(30), clock)),
        limiter: RateLimiter::new(Arc::new(CountingRate(
            counts.clone(),
            DynamoRateCounter::new(client.clone(), &config.table_name),
        ))),
        usage: Arc::new(UsageRecorder::new(
            Arc::new(CountingSink(
                counts.clone(),
                DynamoUsageSink::new(client.clone(), &config.table_name, 90),
            )),
            Duration::from_secs(3600),
        )),
        onboarding: None,
    });
    (verifier, counts)
}

/// 2,000 verifications of one key in a burst: the writes DynamoDB sees are bounded by the key's
/// hourly limit and the flush interval, not by the request rate.
#[tokio::test]
async fn a_hammered_key_writes_a_bounded_number_of_items() {
    let owner = caller();
    // A clock that stands still: the burst falls in one rate window whenever the test runs.
    let clock: Arc<dyn Clock> = latchkey_tests::ManualClock::now();
    let keys = service(clock.clone()).await;
    let issued = create(
        &keys,
        &owner,
        serde_json::json!({"rate_limit_per_hour": 10}),
    )
    .await;
    let (verifier, counts) = counting_verifier(clock).await;
    for _ in 0..2000 {
        verifier
            .verify(issued.plain.expose(), &[], &AttemptContext::default())
            .await
            .unwrap();
    }
    verifier.flush_usage().await;

    let stats = serde_json::to_value(ApiKeyStats::from(
        keys.stats(&owner, issued.key.id).await.unwrap(),
    ))
    .unwrap();
    assert_eq!(stats["usage_count"], 10);
    assert_eq!(stats["failed_attempts"], 1990, "every refusal is counted");
    assert_eq!(
        counts.rate_writes.load(Ordering::Relaxed),
        10,
        "a limit this small is reserved on demand: 1, 2 and then 1 (a quarter of what is left, \
         at least one) up to the limit, plus one refused"
    );
    assert_eq!(counts.usage_flushes.load(Ordering::Relaxed), 1);
    assert_eq!(
        counts.counter_items.load(Ordering::Relaxed),
        3,
        "key, key-day and owner-day, once"
    );
    assert_eq!(
        counts.event_items.load(Ordering::Relaxed),
        1,
        "the ten alike successes are one event; refusals are counted, not stored one by one"
    );
}

/// A hot key in steady state, flushed every 500 verifications as a busy container's timer would:
/// every call that writes to DynamoDB, per verification.
#[tokio::test]
async fn a_hot_key_costs_under_a_twentieth_of_a_write_per_verification() {
    let owner = caller();
    let clock: Arc<dyn Clock> = latchkey_tests::ManualClock::now();
    let keys = service(clock.clone()).await;
    let issued = create(
        &keys,
        &owner,
        serde_json::json!({"rate_limit": {"limit": 10_000_000, "window": "day"}}),
    )
    .await;
    let (verifier, counts) = counting_verifier(clock).await;
    let context = AttemptContext {
        ip: Some("203.0.113.9".parse().unwrap()),
        user_agent: Some("edge/1".into()),
        ..AttemptContext::default()
    };
    let verifications = 5_000u64;
    for i in 1..=verifications {
        let outcome = verifier
            .verify(issued.plain.expose(), &[], &context)
            .await
            .unwrap();
        assert_eq!(outcome.code, VerifyCode::Valid);
        if i % 500 == 0 {
            verifier.flush_usage().await;
        }
    }
    let stats = serde_json::to_value(ApiKeyStats::from(
        keys.stats(&owner, issued.key.id).await.unwrap(),
    ))
    .unwrap();
    assert_eq!(stats["usage_count"], verifications);
    let rate = counts.rate_writes.load(Ordering::Relaxed);
    let tallies = counts.counter_calls.load(Ordering::Relaxed);
    let event_batches = counts.event_batches.load(Ordering::Relaxed);
    // One day marker per workspace and day, once per container.
    let writes = rate + tallies + event_batches + 1;
    let per_verification = writes as f64 / verifications as f64;
    println!(
        "hot key: {verifications} verifications, {writes} writes ({rate} reservations, \
         {tallies} counter transactions (a key's and its owner's each flush), {event_batches} event batches, 1 day marker): \
         {per_verification:.4} per verification"
    );
    assert!(per_verification <= 0.05, "{per_verification}");
}

/// An owner's thirty keys verified in one flush: each key's counters are one transaction, and the
/// owner's day is written once with their sum, not once per key (which made it a hot item for an
/// owner with many keys), and adds up.
#[tokio::test]
async fn an_owner_s_day_is_written_once_per_flush_whatever_the_number_of_keys() {
    use latchkey_core::dashboard::DashboardStore;
    let owner = caller();
    let clock: Arc<dyn Clock> = latchkey_tests::ManualClock::now();
    let keys = service(clock.clone()).await;
    let mut issued = Vec::new();
    for i in 0..30 {
        issued.push(create(&keys, &owner, serde_json::json!({"name": format!("k{i}")})).await);
    }
    let (verifier, counts) = counting_verifier(clock.clone()).await;
    for key in &issued {
        for _ in 0..3 {
            assert_eq!(code(&verifier, key.plain.expose()).await, VerifyCode::Valid);
        }
    }
    verifier.flush_usage().await;
    assert_eq!(counts.usage_flushes.load(Ordering::Relaxed), 1);
    assert_eq!(
        counts.counter_calls.load(Ordering::Relaxed),
        31,
        "a transaction per key, and one for the owner's day"
    );
    assert_eq!(counts.counter_items.load(Ordering::Relaxed), 2 * 30 + 1);
    let config = latchkey_tests::config();
    let days = latchkey_aws::dynamo::DynamoDashboardStore::new(
        latchkey_tests::dynamodb().await,
        &config.table_name,
    );
    let today = clock.now().date_naive();
    let daily = days.daily(&owner.user_id, today, today).await.unwrap();
    assert_eq!(daily.len(), 1, "{daily:?}");
    assert_eq!((daily[0].success, daily[0].failed), (90, 0));
}

/// The bound of a first request admitted on credit, through DynamoDB Local: one container spends
/// a key's budget (limit 100), then eight containers meet the key for the first time in that
/// window, 20 requests each, at once. Each admits at most its first request past the limit; with an
/// exact limit, none.
#[tokio::test]
async fn containers_meeting_a_spent_key_pass_its_limit_by_at_most_one_each() {
    for (exact, most) in [(false, 8), (true, 0)] {
        let owner = caller();
        let keys = service(Arc::new(SystemClock)).await;
        let issued = create(
            &keys,
            &owner,
            serde_json::json!({"rate_limit": {"limit": 100, "window": "hour", "exact": exact}}),
        )
        .await;
        let config = latchkey_tests::config();
        let counter = Arc::new(DynamoRateCounter::new(
            latchkey_tests::dynamodb().await,
            &config.table_name,
        ));
        let key = Arc::new(issued.key);
        let now = chrono::Utc::now();
        let admit = |limiter: Arc<RateLimiter>, key: Arc<latchkey_core::keys::model::ApiKey>| async move {
            matches!(
                limiter.acquire(&key, now).await.unwrap(),
                RateDecision::Allowed(_)
            )
        };
        let first = Arc::new(RateLimiter::new(counter.clone()));
        let mut admitted = 0;
        for _ in 0..200 {
            admitted += usize::from(admit(first.clone(), key.clone()).await);
        }
        assert_eq!(
            admitted, 100,
            "one container alone admits exactly the limit"
        );
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let late = Arc::new(RateLimiter::new(counter.clone()));
            for _ in 0..20 {
                tasks.spawn(admit(late.clone(), key.clone()));
            }
        }
        let late = tasks.join_all().await.into_iter().filter(|a| *a).count();
        println!(
            "8 containers meeting a spent key of limit 100 (exact: {exact}): {late} admitted past it"
        );
        assert!(
            late <= most,
            "{late} admitted past a spent budget by 8 containers (exact: {exact})"
        );
    }
}
