//! Faults answered, not hung: DynamoDB Local paused (SIGSTOP, as a partition or a brown-out
//! looks) and the SQS emulator stopped, while the functions keep serving.
//!
//! The bounds checked here are the ones the README states: every AWS call has an attempt and an
//! operation timeout ([`latchkey_aws::clients::CallPath`]), so a request that meets a stalled dependency
//! is a 503 with `Retry-After` within its path's operation timeout, plus the function's own
//! overhead. These tests pause the stack's shared storage, so `infra/local/test` runs them alone,
//! after every other suite (`test = false` keeps them out of the parallel run).

use std::time::{Duration, Instant};

use latchkey_aws::clients::CallPath;
use latchkey_tests::{Auth, Reply, User, env};
use reqwest::Method;
use serde_json::{Value, json};

/// A stack part stopped with SIGSTOP until dropped (SIGCONT), so a failing test never leaves the
/// stack paused.
struct Paused(String);

impl Paused {
    fn part(name: &str) -> Self {
        let pid_file = format!("{}/pids/{name}.pid", env("LATCHKEY_STACK_STATE"));
        let pid = std::fs::read_to_string(&pid_file)
            .unwrap_or_else(|e| panic!("{pid_file}: {e}"))
            .trim()
            .to_owned();
        signal("STOP", &pid);
        Self(pid)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        signal("CONT", &self.0);
    }
}

fn signal(name: &str, pid: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), pid])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {pid}");
}

/// The answer to a request and how long it took.
async fn timed<F: std::future::Future<Output = Reply>>(request: F) -> (Reply, Duration) {
    let started = Instant::now();
    let reply = request.await;
    (reply, started.elapsed())
}

/// What the function may add to its path's operation timeout before it answers: routing through
/// `cargo lambda watch`, a debug build, and the SDK's last attempt finishing its own timer.
const OVERHEAD: Duration = Duration::from_secs(3);

fn bound(path: CallPath) -> Duration {
    path.limits().1 + OVERHEAD
}

fn assert_unavailable(reply: &Reply, took: Duration, path: CallPath, what: &str) {
    assert_eq!(reply.status.as_u16(), 503, "{what}: {:?}", reply.body);
    assert_eq!(reply.body["code"], "unavailable", "{what}");
    assert!(reply.body["detail"].is_string(), "{what}");
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "{what}: Retry-After {retry_after}"
    );
    assert!(reply.headers.contains_key("x-request-id"), "{what}");
    assert!(
        took <= bound(path),
        "{what} took {took:?}, more than the stated bound {:?}",
        bound(path)
    );
    println!("fault: {what}: 503 in {} ms", took.as_millis());
}

async fn verify(user: &User, key: &str) -> Reply {
    user.api
        .send(
            Method::POST,
            "/api/v1/keys/verify",
            &Auth::None,
            Some(json!({"key": key})),
        )
        .await
}

#[tokio::test]
async fn paused_storage_is_a_503_within_the_bound_and_leaves_the_data_whole() {
    let user = User::new();
    let (used, used_key) = user.create_key(json!({"name": "used"})).await;
    let (fresh, fresh_key) = user.create_key(json!({"name": "fresh"})).await;
    assert_eq!(verify(&user, &used_key).await.body["valid"], true);
    let before = user
        .call(Method::GET, "/api/v1/account/api-keys", None)
        .await
        .expect(200);

    {
        let _paused = Paused::part("dynamodb");
        let (reply, took) = timed(user.call(Method::GET, "/api/v1/account/api-keys", None)).await;
        assert_unavailable(&reply, took, CallPath::Api, "listing keys");
        let (reply, took) = timed(user.call(
            Method::POST,
            "/api/v1/account/api-keys",
            Some(json!({"name": "during the outage"})),
        ))
        .await;
        assert_unavailable(&reply, took, CallPath::Api, "creating a key");
        let (reply, took) = timed(user.call(
            Method::PUT,
            &format!("/api/v1/account/api-keys/{used}"),
            Some(json!({"name": "renamed during the outage"})),
        ))
        .await;
        assert_unavailable(&reply, took, CallPath::Api, "updating a key");
        // A key this container never verified must be read: verification fails closed.
        let (reply, took) = timed(verify(&user, &fresh_key)).await;
        assert_unavailable(&reply, took, CallPath::Verification, "verifying a key");
        assert_ne!(reply.body["valid"], true);
    }

    // Resumed: everything answers again, and what was there is whole. A write that timed out
    // may still have landed whole once storage woke (as in AWS); none landed in part.
    let after = user
        .call(Method::GET, "/api/v1/account/api-keys", None)
        .await
        .expect(200);
    let after = after.as_array().unwrap();
    for key in after {
        for field in [
            "id",
            "name",
            "key_prefix",
            "masked_key",
            "status",
            "created_at",
        ] {
            assert!(!key[field].is_null(), "{field} of {key}");
        }
        assert_eq!(key["status"], "active", "{key}");
    }
    let ids: Vec<&Value> = after.iter().map(|k| &k["id"]).collect();
    for id in before.as_array().unwrap().iter().map(|k| &k["id"]) {
        assert!(ids.contains(&id), "{id} survived");
    }
    assert!(ids.contains(&&json!(fresh)) && ids.contains(&&json!(used)));
    assert_eq!(verify(&user, &fresh_key).await.body["valid"], true);
    let renamed = user.key(&used).await["name"].clone();
    assert!(
        renamed == "used" || renamed == "renamed during the outage",
        "{renamed}"
    );
}

#[tokio::test]
async fn a_stopped_queue_is_a_503_within_the_bound_and_work_resumes_after() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = User::with(Some(&workspace), Some(latchkey_core::auth::Role::Owner));
    let erasure = "/api/v1/account/privacy/erasure";
    // Provisioned before the fault, so the request's first dependency is the queue's.
    owner
        .call(Method::GET, "/api/v1/account/me", None)
        .await
        .expect(200);
    {
        let _paused = Paused::part("sqs");
        let (reply, took) =
            timed(owner.call(Method::POST, erasure, Some(json!({"scope": "workspace"})))).await;
        // Counting, recording and removing the job go to DynamoDB on the API path too.
        let path_total = CallPath::Api.limits().1 * 4;
        assert_eq!(reply.status.as_u16(), 503, "{:?}", reply.body);
        assert_eq!(reply.body["code"], "unavailable");
        assert!(reply.headers.contains_key("retry-after"));
        assert!(took <= path_total + OVERHEAD, "took {took:?}");
        println!(
            "fault: queueing an erasure job: 503 in {} ms",
            took.as_millis()
        );
    }
    let job = owner
        .call(Method::POST, erasure, Some(json!({"scope": "workspace"})))
        .await
        .expect(201);
    let shown = owner
        .call(
            Method::GET,
            &format!("{erasure}/{}", job["job_id"].as_str().unwrap()),
            None,
        )
        .await
        .expect(200);
    assert_eq!(shown["job_id"], job["job_id"]);
}

/// The OpenID provider paused: starting a sign-in is a 503 within the bound, and sessions that
/// need no provider (Latchkey's own) keep working.
#[tokio::test]
async fn a_paused_provider_is_a_503_and_own_sessions_keep_working() {
    let user = User::new();
    let _paused = Paused::part("issuer");
    let (reply, took) = timed(user.api.send(
        Method::GET,
        "/api/auth?redirectUri=http://localhost:5173",
        &Auth::None,
        None,
    ))
    .await;
    assert_unavailable(&reply, took, CallPath::Api, "GET /api/auth");
    user.call(Method::GET, "/api/v1/account/me", None)
        .await
        .expect(200);
}
