//! Webhooks on the stack, judged by a receiver no one here wrote the verifier of:
//! `tests/webhooks/receiver.py` (started by infra/local/test) checks every delivery with the
//! official `standardwebhooks` package and answers as each test tells it. A change recorded in
//! the audit log reaches the dispatcher through the table's stream, the worker signs and sends
//! it, the sweeper sends the retries the due index says are due at a moved clock.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use latchkey_core::auth::Role;
use latchkey_tests::User;
use reqwest::Method;
use serde_json::{Value, json};

const HOOKS: &str = "/api/v1/account/webhooks";

/// One test's corner of the receiver.
struct Receiver {
    base: String,
    token: String,
}

impl Receiver {
    fn new() -> Self {
        Self {
            base: std::env::var("LATCHKEY_WEBHOOK_RECEIVER_URL").expect(
                "LATCHKEY_WEBHOOK_RECEIVER_URL is not set: run the tests with infra/local/test",
            ),
            token: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// The URL that answers as `behaviour` says.
    fn url(&self, behaviour: &str) -> String {
        format!("{}/hooks/{}/{behaviour}", self.base, self.token)
    }

    /// Tells the receiver which secrets to check deliveries with (their indexes are what
    /// `verified_by` names).
    async fn secrets(&self, secrets: &[&str]) {
        let status = reqwest::Client::new()
            .put(format!("{}/secrets/{}", self.base, self.token))
            .json(&json!({ "secrets": secrets }))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 204);
    }

    /// What arrived, in order.
    async fn seen(&self) -> Vec<Value> {
        reqwest::get(format!("{}/seen/{}", self.base, self.token))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// What arrived, once `done` holds of it (or five minutes pass, when the test fails: on two
    /// busy cores the local stream can lag the changes by a minute or more).
    async fn seen_until(&self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let seen = self.seen().await;
            if done(&seen) {
                return seen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "the receiver saw only {seen:#?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// An owner of a workspace of their own, with an endpoint at `url`: the owner, the endpoint's
/// path and its secret.
async fn endpoint(url: &str) -> (User, String, String) {
    endpoint_in(&uuid::Uuid::new_v4().to_string(), url).await
}

/// [`endpoint`] in `workspace`.
async fn endpoint_in(workspace: &str, url: &str) -> (User, String, String) {
    let owner = User::with(Some(workspace), Some(Role::Owner));
    let made = owner
        .call(Method::POST, HOOKS, Some(json!({ "url": url })))
        .await
        .expect(201);
    let path = format!("{HOOKS}/{}", made["id"].as_str().unwrap());
    (owner, path, made["secret"].as_str().unwrap().to_owned())
}

/// The endpoint's deliveries, newest first.
async fn deliveries(owner: &User, path: &str) -> Vec<Value> {
    owner
        .call(Method::GET, &format!("{path}/deliveries?limit=100"), None)
        .await
        .expect(200)["deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

/// The one delivery of `path` once `done` holds of it.
async fn delivery_until(owner: &User, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let found = deliveries(owner, path).await;
        if let Some(first) = found.first().filter(|d| done(d)) {
            return first.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "deliveries: {found:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// The sweeper's every-minute run at `at`, as the schedule invokes it: it sends the webhook
/// attempts due by then.
async fn sweep_retries_at(at: DateTime<Utc>) -> Value {
    let event = json!({
        "version": "0", "id": "webhook-retries", "detail-type": "Latchkey Usage Fold",
        "source": "latchkey", "account": "123456789012",
        "time": latchkey_core::timestamp::format(at), "region": "us-east-1", "resources": [],
        "detail": {}
    });
    latchkey_tests::invoke("sweeper", &event).await
}

/// Sends a test event to `path`: its delivery's id.
async fn test_event(owner: &User, path: &str) -> String {
    owner
        .call(Method::POST, &format!("{path}/test"), None)
        .await
        .expect(202)["delivery_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_key_s_whole_life_reaches_the_receiver_once_each_signed() {
    let receiver = Receiver::new();
    let workspace = uuid::Uuid::new_v4().to_string();
    let (owner, path, secret) = endpoint_in(&workspace, &receiver.url("ok")).await;
    receiver.secrets(&[&secret]).await;

    // The native family: made, renamed, given an expiry, rotated; the successor revoked, the
    // rotated key deleted.
    let (key, _) = owner.create_key(json!({"name": "ledger"})).await;
    let native = format!("/api/v1/account/api-keys/{key}");
    owner
        .call(Method::PUT, &native, Some(json!({"name": "ledger-2"})))
        .await
        .expect(200);
    owner
        .call(
            Method::PATCH,
            &format!("{native}/expiration?expires_at=2099-01-01T00:00:00Z"),
            None,
        )
        .await
        .expect(200);
    let rotated = owner
        .call(Method::POST, &format!("{native}/rotate"), None)
        .await
        .expect(201);
    let successor = rotated["new_api_key"]["id"]
        .as_str()
        .or_else(|| rotated["api_key"]["id"].as_str())
        .unwrap_or_else(|| panic!("a successor in {rotated}"))
        .to_owned();
    owner
        .call(
            Method::POST,
            &format!("/api/v1/account/api-keys/{successor}/revoke"),
            Some(json!({"reason": "done with it"})),
        )
        .await
        .expect(200);
    owner.call(Method::DELETE, &native, None).await.expect(200);
    // latitude.sh's family: made and deleted.
    let made = owner
        .call(
            Method::POST,
            "/auth/api_keys",
            Some(json!({"data": {"type": "api_keys", "attributes": {"name": "edge"}}})),
        )
        .await
        .expect(201);
    let edge = made["data"]["id"].as_str().unwrap().to_owned();
    owner
        .call(Method::DELETE, &format!("/auth/api_keys/{edge}"), None)
        .await
        .expect(200);
    // Refused changes send nothing: another workspace's key, a bad name.
    let stranger = User::with(Some(&uuid::Uuid::new_v4().to_string()), Some(Role::Owner));
    let (theirs, _) = stranger.create_key(json!({"name": "theirs"})).await;
    owner
        .call(
            Method::PUT,
            &format!("/api/v1/account/api-keys/{theirs}"),
            Some(json!({"name": "mine"})),
        )
        .await
        .expect(404);
    owner
        .call(
            Method::PUT,
            &format!("/api/v1/account/api-keys/{successor}"),
            Some(json!({"name": ""})),
        )
        .await
        .expect(400);

    let expected = [
        "key.created",
        "key.updated",
        "key.updated",
        "key.rotated",
        "key.revoked",
        "key.deleted",
        "key.created",
        "key.deleted",
    ];
    let unique = |seen: &[Value]| {
        let mut ids: Vec<&str> = seen
            .iter()
            .filter_map(|s| s["webhook_id"].as_str())
            .collect();
        ids.sort();
        ids.dedup();
        ids.len()
    };
    let seen = receiver
        .seen_until(|seen| unique(seen) >= expected.len())
        .await;
    // Anything sent for a refused change would have been recorded before the last change.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = receiver
        .seen()
        .await
        .into_iter()
        .chain(seen)
        .collect::<Vec<_>>();
    let mut first_of_each: Vec<&Value> = Vec::new();
    for record in &seen {
        if !first_of_each
            .iter()
            .any(|r| r["webhook_id"] == record["webhook_id"])
        {
            first_of_each.push(record);
        }
    }
    let mut types: Vec<&str> = first_of_each
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    let mut want = expected.to_vec();
    types.sort();
    want.sort();
    assert_eq!(types, want, "{first_of_each:#?}");
    for record in &seen {
        assert_eq!(record["verified_by"], json!([0]), "{record}");
        assert!(
            !record["body"].to_string().contains("sk_"),
            "no secret in a payload: {record}"
        );
    }
    let rotation = first_of_each
        .iter()
        .find(|r| r["type"] == "key.rotated")
        .unwrap();
    assert_eq!(rotation["body"]["data"]["id"], key.as_str());
    assert_eq!(rotation["body"]["data"]["new_key_id"], successor.as_str());
    assert_eq!(rotation["body"]["data"]["workspace_id"], workspace.as_str());

    // The delivery log says what the receiver saw.
    let log = deliveries(&owner, &path).await;
    assert_eq!(log.len(), expected.len(), "{log:#?}");
    for entry in &log {
        assert_eq!(entry["status"], "delivered", "{entry}");
        assert!(
            first_of_each
                .iter()
                .any(|r| r["webhook_id"] == entry["webhook_id"] && r["type"] == entry["event_type"]),
            "{entry}"
        );
    }
}

#[tokio::test]
async fn every_failure_mode_is_answered_as_the_contract_says() {
    let receiver = Receiver::new();
    let urls = ["flaky", "gone", "throttle", "redirect", "slow"].map(|b| receiver.url(b));
    let (flaky, gone, throttled, redirected, slow) = tokio::join!(
        endpoint(&urls[0]),
        endpoint(&urls[1]),
        endpoint(&urls[2]),
        endpoint(&urls[3]),
        endpoint(&urls[4]),
    );
    for (owner, path, _) in [&flaky, &gone, &throttled, &redirected, &slow] {
        test_event(owner, path).await;
    }
    let first_attempt = |owner: &User, path: &str| {
        let (owner, path) = (owner.clone(), path.to_owned());
        async move {
            delivery_until(&owner, &path, |d| {
                d["attempts"].as_array().is_some_and(|a| !a.is_empty())
            })
            .await
        }
    };

    // 500 then 2xx: delivered on the second attempt, sent when the sweeper finds it due.
    let failed_once = first_attempt(&flaky.0, &flaky.1).await;
    assert_eq!(failed_once["attempts"][0]["status_code"], 500);
    sweep_retries_at(time(&failed_once["next_attempt_at"])).await;
    let delivered = delivery_until(&flaky.0, &flaky.1, |d| d["status"] == "delivered").await;
    assert_eq!(delivered["attempts"][1]["status_code"], 204, "{delivered}");

    // 410: failed, and the endpoint disabled, its owner told.
    let gone_delivery = delivery_until(&gone.0, &gone.1, |d| d["status"] == "failed").await;
    assert_eq!(gone_delivery["attempts"][0]["status_code"], 410);
    let endpoint = gone.0.call(Method::GET, &gone.1, None).await.expect(200);
    assert_eq!(endpoint["enabled"], false);
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410"),
        "{endpoint}"
    );
    let inbox = gone
        .0
        .call(Method::GET, "/api/v1/account/notifications", None)
        .await
        .expect(200);
    assert!(
        inbox.to_string().contains("webhook.endpoint_disabled"),
        "{inbox}"
    );

    // 429 with Retry-After: 120: the next attempt two minutes after this one.
    let throttled_delivery = first_attempt(&throttled.0, &throttled.1).await;
    assert_eq!(throttled_delivery["attempts"][0]["status_code"], 429);
    let waited = time(&throttled_delivery["next_attempt_at"])
        - time(&throttled_delivery["attempts"][0]["at"]);
    assert_eq!(waited.num_seconds(), 120, "{throttled_delivery}");

    // A redirect is a failure, and not followed.
    let redirect_delivery = first_attempt(&redirected.0, &redirected.1).await;
    assert_eq!(redirect_delivery["attempts"][0]["status_code"], 302);
    assert_eq!(redirect_delivery["status"], "pending");

    // An answer slower than 15 s is none.
    let slow_delivery = first_attempt(&slow.0, &slow.1).await;
    let attempt = &slow_delivery["attempts"][0];
    assert_eq!(attempt["status_code"], Value::Null, "{attempt}");
    assert!(
        attempt["error"].as_str().unwrap().contains("15 s"),
        "{attempt}"
    );
    assert!(
        attempt["duration_ms"].as_u64().unwrap() >= 15_000,
        "{attempt}"
    );

    let seen = receiver.seen().await;
    assert!(
        seen.iter()
            .all(|r| !r["path"].as_str().unwrap().ends_with("/ok")),
        "a redirect was followed: {seen:#?}"
    );
}

#[tokio::test]
async fn a_failing_delivery_is_retried_on_the_schedule_then_its_endpoint_disabled() {
    let receiver = Receiver::new();
    let (owner, path, secret) = endpoint(&receiver.url("fail")).await;
    receiver.secrets(&[&secret]).await;
    test_event(&owner, &path).await;
    let delays = [5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400];
    for attempts in 1..=10usize {
        let delivery = delivery_until(&owner, &path, |d| {
            d["attempts"].as_array().unwrap().len() >= attempts
        })
        .await;
        assert_eq!(
            delivery["attempts"].as_array().unwrap().len(),
            attempts,
            "{delivery}"
        );
        if attempts == 10 {
            assert_eq!(delivery["status"], "failed", "{delivery}");
            break;
        }
        let last = &delivery["attempts"][attempts - 1];
        assert_eq!(last["status_code"], 500);
        let next = time(&delivery["next_attempt_at"]);
        let waited = (next - time(&last["at"])).num_milliseconds() as f64 / 1000.0;
        let delay = delays[attempts - 1] as f64;
        assert!(
            (waited - delay).abs() <= delay * 0.1 + 0.001,
            "attempt {attempts}: waited {waited} s, the schedule says {delay} s with 10% jitter"
        );
        sweep_retries_at(next).await;
    }
    // (The endpoint is disabled before the delivery is marked failed.)
    let endpoint = owner.call(Method::GET, &path, None).await.expect(200);
    assert_eq!(endpoint["enabled"], false, "{endpoint}");
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("failed 10 times"),
        "{endpoint}"
    );
    let seen = receiver.seen().await;
    assert_eq!(seen.len(), 10, "{seen:#?}");
    assert!(
        seen.iter()
            .all(|r| r["webhook_id"] == seen[0]["webhook_id"])
    );
    assert!(seen.iter().all(|r| r["verified_by"] == json!([0])));
}

#[tokio::test]
async fn both_secrets_sign_during_a_rotation() {
    let receiver = Receiver::new();
    let (owner, path, old) = endpoint(&receiver.url("ok")).await;
    let rotated = owner
        .call(Method::POST, &format!("{path}/rotate-secret"), None)
        .await
        .expect(200);
    let new = rotated["secret"].as_str().unwrap();
    receiver.secrets(&[&old, new]).await;
    test_event(&owner, &path).await;
    let seen = receiver.seen_until(|seen| !seen.is_empty()).await;
    assert_eq!(seen[0]["verified_by"], json!([0, 1]), "{seen:#?}");
    assert_eq!(seen[0]["type"], "webhook.test");
}

/// An audit event of `workspace` about key `key`, sealed as the first of a chain, as the
/// stream's record of its insert. Never written to the table, so the bridge does not stream it.
fn revoked_event_record(workspace: &str, key: &str) -> Value {
    use latchkey_core::audit::{Actor, ActorKind, Record, Target, chain};
    let record = Record {
        workspace_id: latchkey_core::ids::WorkspaceId::parse(workspace).unwrap(),
        action: "key.revoked".into(),
        actor: Actor {
            kind: ActorKind::System,
            id: "stream-test".into(),
            name: None,
        },
        targets: vec![Target {
            kind: "key".into(),
            id: key.into(),
            name: Some("streamed".into()),
        }],
        origin: Default::default(),
        changes: Default::default(),
        users: vec![],
        time: Utc::now(),
    };
    let event = chain::seal(record, &Default::default());
    json!({ "Records": [latchkey_tests::stream_insert(&event, 1)] })
}

#[tokio::test]
async fn an_event_delivered_again_by_the_stream_reaches_the_receiver_once() {
    let receiver = Receiver::new();
    let workspace = uuid::Uuid::new_v4().to_string();
    let (owner, path, secret) = endpoint_in(&workspace, &receiver.url("ok")).await;
    receiver.secrets(&[&secret]).await;
    let batch = revoked_event_record(&workspace, &uuid::Uuid::new_v4().to_string());
    for _ in 0..3 {
        let answer = latchkey_tests::invoke("webhook-dispatch", &batch).await;
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    }
    delivery_until(&owner, &path, |d| d["status"] == "delivered").await;
    // Later copies of the first attempt's message find it delivered.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = receiver.seen().await;
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0]["type"], "key.revoked");
    assert_eq!(deliveries(&owner, &path).await.len(), 1);
}
