//! Key lifecycle: sweeps find what is due through the expiry index, the worker notifies exactly
//! once per key and threshold. Clocks are moved, never slept on: keys here expire years ahead, so
//! sweeps at those moved times touch no other test's keys.

use std::{sync::Arc, time::Instant};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use latchkey_aws::dynamo::{DynamoKeyStore, Table};
use latchkey_aws::sqs::SqsQueue;
use latchkey_core::{
    clock::SystemClock,
    ids::{KeyId, UserId, WorkspaceId},
    keys::{hashing, model::ApiKey, secret::PlainKey, store::KeyStore},
    lifecycle::{Applied, Lifecycle},
    notifications::Notifications,
    queue::WorkMessage,
    transition::Transition,
};
use latchkey_tests::{Api, Auth, User};
use reqwest::Method;
use serde_json::{Value, json};

const KEYS: &str = "/api/v1/account/api-keys";

async fn lifecycle() -> (Lifecycle, Arc<DynamoKeyStore>) {
    let config = latchkey_tests::config();
    let table = Table::new(latchkey_tests::dynamodb().await, &config.table_name);
    let store = Arc::new(table.keys());
    let notifications = Arc::new(Notifications::new(
        Arc::new(table.notifications()),
        Arc::new(SystemClock),
    ));
    (
        Lifecycle::new(
            Arc::new(table.lifecycle()),
            store.clone(),
            notifications,
            latchkey_core::audit::store::AuditTrail::new(Arc::new(table.audit())),
        ),
        store,
    )
}

/// A queue of this test's own, so the stack's worker does not consume what a sweep enqueues.
async fn own_queue() -> (SqsQueue, aws_sdk_sqs::Client, String) {
    let sqs = latchkey_aws::clients::Aws::unguarded(latchkey_aws::clients::load_sdk_config().await)
        .sqs(latchkey_aws::clients::CallPath::Background);
    let url = sqs
        .create_queue()
        .queue_name(format!("lifecycle-test-{}", uuid::Uuid::new_v4()))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    (SqsQueue::new(sqs.clone(), &url), sqs, url)
}

async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<WorkMessage> {
    let mut all = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = out.messages();
        if messages.is_empty() {
            return all;
        }
        for m in messages {
            all.push(serde_json::from_str(m.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

fn key(owner: &UserId, expires_at: DateTime<Utc>, hash: &str) -> ApiKey {
    // Stored times are whole seconds, as every time the API accepts is.
    let expires_at = expires_at.trunc_subsecs(0);
    let id = KeyId::new();
    let plain = PlainKey::generate(&Default::default(), id);
    let now = Utc::now();
    ApiKey {
        id,
        number: None,
        owner_id: owner.clone(),
        // A workspace of its own: its insert's audit event is its workspace's first.
        workspace_id: WorkspaceId::parse(&format!("seeded-{id}")).unwrap(),
        name: "seeded".into(),
        key_prefix: plain.key_prefix(),
        masked_key: plain.masked(),
        last_slice: plain.last_slice(),
        secret_hash: hash.to_owned(),
        paired_secret_hash: None,
        permissions: vec![],
        read_only: false,
        description: None,
        is_active: true,
        rate_limit: latchkey_core::keys::limit::RateLimit::hourly(1000),
        allowed_ips: vec![],
        created_at: now,
        updated_at: now,
        expires_at: Some(expires_at),
        revoked_at: None,
        revocation_reason: None,
        leaked_at: None,
        rotated_to: None,
        rotated_from: None,
        usage_count: 0,
        last_used_at: None,
        failed_attempts: 0,
        last_failed_at: None,
        purpose: Default::default(),
        version: 1,
    }
}

/// 10,000 keys, 100 of them due: the sweep reads the due keys' index items and no others.
#[tokio::test]
async fn a_sweep_reads_what_is_due_not_every_key() {
    let (lifecycle, store) = lifecycle().await;
    let (queue, sqs, url) = own_queue().await;
    let owner = UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
    let hash = hashing::hash_key(&PlainKey::generate(&Default::default(), KeyId::new()));
    // A moved "now" far ahead, with a minute cut off so due keys never sit on a window edge.
    let now = (Utc::now() + Duration::days(3000)).with_timezone(&Utc);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10_000i64 {
        let expires_at = if i < 100 {
            now + Duration::hours(1 + i)
        } else {
            now + Duration::days(60) + Duration::minutes(i)
        };
        let (store, key) = (store.clone(), key(&owner, expires_at, &hash));
        tasks.spawn(async move {
            store
                .insert(&key, &latchkey_tests::first_event(&key))
                .await
                .unwrap()
        });
        if tasks.len() >= 64 {
            tasks.join_next().await;
        }
    }
    tasks.join_all().await;
    let started = Instant::now();
    let report = lifecycle.sweep(now, &queue).await.unwrap();
    eprintln!(
        "sweep over 10,000 keys with 100 due: {:?}, {report:?}",
        started.elapsed()
    );
    assert_eq!(report.items_read, 100, "{report:?}");
    assert_eq!(report.enqueued, 100);
    assert_eq!(report.queries as i64, 30 + 7 + 1);
    assert_eq!(drain(&sqs, &url).await.len(), 100);
}

/// Overlapping sweeps and redelivered messages notify once per key and threshold.
#[tokio::test]
async fn transitions_apply_once_whatever_is_redelivered() {
    let (lifecycle, store) = lifecycle().await;
    let (queue, sqs, url) = own_queue().await;
    let user = User::new();
    let owner = UserId::parse(&user.id).unwrap();
    let base = (Utc::now() + Duration::days(4000)).trunc_subsecs(0);
    let expires_at = base + Duration::days(3);
    let k = key(&owner, expires_at, "unused");
    store
        .insert(&k, &latchkey_tests::first_event(&k))
        .await
        .unwrap();

    let (a, b) = tokio::join!(lifecycle.sweep(base, &queue), lifecycle.sweep(base, &queue));
    assert_eq!(
        (a.unwrap().enqueued, b.unwrap().enqueued),
        (1, 1),
        "both sweeps see the key"
    );
    let messages = drain(&sqs, &url).await;
    assert_eq!(messages.len(), 2);
    let mut applied = Vec::new();
    for message in messages.iter().chain(messages.iter()) {
        let WorkMessage::KeyTransition {
            key_id,
            expires_at,
            transition,
            at,
        } = message.clone()
        else {
            panic!()
        };
        assert_eq!(transition, Transition::ExpiringIn7Days);
        applied.push(
            lifecycle
                .apply(key_id, expires_at, transition, at)
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        applied.iter().filter(|a| **a == Applied::Done).count(),
        1,
        "{applied:?}"
    );
    let expiring = |list: &Value| {
        list["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] == "api_key.expiring")
            .count()
    };
    let list = user
        .call(Method::GET, "/api/v1/account/notifications", None)
        .await
        .expect(200);
    assert_eq!(expiring(&list), 1);

    // The day before: the 1-day warning, once; then expiry, once; then nothing more to read.
    assert_eq!(
        lifecycle
            .apply(
                k.id,
                expires_at,
                Transition::ExpiringIn1Day,
                expires_at - Duration::hours(2)
            )
            .await
            .unwrap(),
        Applied::Done
    );
    assert_eq!(
        lifecycle
            .apply(
                k.id,
                expires_at,
                Transition::ExpiringIn1Day,
                expires_at - Duration::hours(1)
            )
            .await
            .unwrap(),
        Applied::Skipped
    );
    assert_eq!(
        lifecycle
            .apply(
                k.id,
                expires_at,
                Transition::Expired,
                expires_at + Duration::hours(1)
            )
            .await
            .unwrap(),
        Applied::Done
    );
    assert_eq!(
        lifecycle
            .apply(
                k.id,
                expires_at,
                Transition::Expired,
                expires_at + Duration::hours(2)
            )
            .await
            .unwrap(),
        Applied::Skipped
    );
    let after = lifecycle
        .sweep(expires_at + Duration::hours(3), &queue)
        .await
        .unwrap();
    assert_eq!(after.items_read, 0, "a handled key leaves the expiry index");
    drain(&sqs, &url).await;
    let list = user
        .call(Method::GET, "/api/v1/account/notifications", None)
        .await
        .expect(200);
    let kinds: Vec<&str> = list["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["api_key.expired", "api_key.expiring", "api_key.expiring"]
    );
    // A message for a transition that is not due at its time, or an old expiry, changes nothing.
    assert_eq!(
        lifecycle
            .apply(
                k.id,
                expires_at - Duration::days(1),
                Transition::Expired,
                base
            )
            .await
            .unwrap(),
        Applied::Skipped
    );
}

async fn sweep_at(at: DateTime<Utc>) -> Value {
    let event = json!({
        "version": "0", "id": "test-sweep", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": latchkey_core::timestamp::format(at), "region": "us-east-1",
        "resources": [], "detail": {}
    });
    latchkey_tests::invoke("sweeper", &event).await
}

async fn wait_for_kinds(user: &User, expected: &[&str]) -> Value {
    let start = Instant::now();
    loop {
        let list = user
            .call(Method::GET, "/api/v1/account/notifications", None)
            .await
            .expect(200);
        let kinds: Vec<&str> = list["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        if kinds == expected {
            return list;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "notifications {kinds:?}, expected {expected:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Through the stack with a moved clock: a key with an expiry a few days ahead gets exactly one
/// 7-day and one 1-day warning and then expires; a rotated key's old half expires at the end of its
/// grace; both show in the owner's notifications. Verification rejects the expired key whether or
/// not a sweep ran.
#[tokio::test]
async fn the_stack_warns_expires_and_completes_rotations_on_a_moved_clock() {
    let user = User::new();
    // Years ahead, so sweeps at these moved times find no other test's keys.
    let now = Utc::now();
    let expires_at = now + Duration::days(5000);
    let (id, secret) = user
        .create_key(
            json!({"name": "expiring", "expires_at": latchkey_core::timestamp::format(expires_at)}),
        )
        .await;
    // Far enough past the first key's expiry that none of the sweeps below warns about it.
    let (old, _) = user.create_key(json!({"name": "rotated", "expires_at": latchkey_core::timestamp::format(expires_at + Duration::days(30))})).await;

    sweep_at(expires_at - Duration::days(3)).await;
    sweep_at(expires_at - Duration::days(3)).await;
    wait_for_kinds(&user, &["api_key.expiring"]).await;
    sweep_at(expires_at - Duration::hours(12)).await;
    wait_for_kinds(&user, &["api_key.expiring", "api_key.expiring"]).await;
    sweep_at(expires_at + Duration::hours(1)).await;
    let list = wait_for_kinds(
        &user,
        &["api_key.expired", "api_key.expiring", "api_key.expiring"],
    )
    .await;
    assert_eq!(list["notifications"][0]["data"]["api_key_id"], id);
    assert_eq!(list["notifications"][1]["data"]["days"], 1);
    assert_eq!(list["notifications"][2]["data"]["days"], 7);

    // Rotation: the old half's expiry becomes the end of the grace (now + 1 day here, which is
    // before its own far expiry), so a sweep a day and an hour from now completes it.
    user.call(
        Method::POST,
        &format!("{KEYS}/{old}/rotate?grace_period_days=1"),
        None,
    )
    .await
    .expect(201);
    let grace_end = user.key(&old).await["expires_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let grace_end = DateTime::parse_from_rfc3339(&grace_end)
        .unwrap()
        .with_timezone(&Utc);
    sweep_at(grace_end + Duration::hours(1)).await;
    let list = wait_for_kinds(
        &user,
        &[
            "api_key.rotation_completed",
            "api_key.rotated",
            "api_key.expired",
            "api_key.expiring",
            "api_key.expiring",
        ],
    )
    .await;
    assert_eq!(list["notifications"][0]["data"]["api_key_id"], old);

    // Verification does not wait for sweeps: a key past its expiry is EXPIRED at read time.
    let (_, soon) = user.create_key(json!({"name": "soon"})).await;
    assert_eq!(
        Api::new()
            .send(
                Method::POST,
                "/api/v1/keys/verify",
                &Auth::None,
                Some(json!({"key": secret}))
            )
            .await
            .expect(200)["code"],
        "VALID",
        "the far-future key still works today"
    );
    let _ = soon;
}
