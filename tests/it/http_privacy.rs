//! End-to-end tests of erasure jobs over HTTP: the privacy function records them, the bridge
//! feeds the queue to the worker, the worker erases.

use std::time::{Duration, Instant};

use latchkey_core::auth::Role;
use latchkey_tests::{Auth, User, count_usage_events, seed_usage_events};
use reqwest::Method;
use serde_json::{Value, json};

const ERASURE: &str = "/api/v1/account/privacy/erasure";

fn owner_of(workspace: &str) -> User {
    User::with(Some(workspace), Some(Role::Owner))
}

async fn wait_for_end(user: &User, job_id: &str, limit: Duration) -> Value {
    let start = Instant::now();
    loop {
        let job = user
            .call(Method::GET, &format!("{ERASURE}/{job_id}"), None)
            .await
            .expect(200);
        if job["status"] == "completed" || job["status"] == "failed" {
            return job;
        }
        assert!(
            start.elapsed() < limit,
            "job still {} after {limit:?}: {job}",
            job["status"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates a key in `workspace` and verifies it `n` times with `device_id` and `tags`.
async fn verify_many(user: &User, n: usize, device: &str, tags: &[&str]) {
    let (_, key) = user.create_key(json!({})).await;
    for _ in 0..n {
        let body = json!({"key": key, "device_id": device, "tags": tags});
        let verified = user
            .api
            .send(Method::POST, "/api/v1/keys/verify", &Auth::None, Some(body))
            .await
            .expect(200);
        assert_eq!(verified["code"], "VALID");
    }
}

#[tokio::test]
async fn a_dry_run_counts_and_deletes_nothing_then_a_real_job_erases() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = owner_of(&workspace);
    verify_many(&owner, 4, "phone-1", &["a"]).await;
    let dry = owner
        .call(
            Method::POST,
            ERASURE,
            Some(json!({"scope": "org", "dry_run": true})),
        )
        .await
        .expect(201);
    assert_eq!(dry["status"], "completed");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["estimated_count"], 4);
    assert_eq!(dry["deleted_count"], 0);
    assert_eq!(dry["scope"], "workspace");
    assert!(dry["started_at"].is_string() && dry["completed_at"].is_string());
    assert_eq!(
        count_usage_events(&workspace, 2).await,
        4,
        "a dry run deletes nothing"
    );

    let job = owner
        .call(Method::POST, ERASURE, Some(json!({"scope": "workspace"})))
        .await
        .expect(201);
    assert_eq!(job["status"], "pending");
    assert_eq!(job["estimated_count"], 4);
    let done = wait_for_end(
        &owner,
        job["job_id"].as_str().unwrap(),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["deleted_count"], 4);
    assert!(done.get("error").is_none());
    assert_eq!(count_usage_events(&workspace, 2).await, 0);

    let notes = owner
        .call(Method::GET, "/api/v1/account/notifications", None)
        .await
        .expect(200);
    assert_eq!(
        notes["notifications"][0]["type"],
        "privacy.erasure_completed"
    );
    assert_eq!(notes["notifications"][0]["data"]["job_id"], job["job_id"]);
}

#[tokio::test]
async fn device_tag_and_date_scopes_erase_only_what_they_name() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let other_workspace = uuid::Uuid::new_v4().to_string();
    let owner = owner_of(&workspace);
    let stranger = owner_of(&other_workspace);
    verify_many(&owner, 3, "phone-1", &["eu"]).await;
    verify_many(&owner, 2, "phone-2", &["us", "beta"]).await;
    verify_many(&stranger, 2, "phone-1", &["eu"]).await;

    let run = |body: Value| {
        let owner = owner.clone();
        async move {
            let job = owner
                .call(Method::POST, ERASURE, Some(body))
                .await
                .expect(201);
            wait_for_end(
                &owner,
                job["job_id"].as_str().unwrap(),
                Duration::from_secs(60),
            )
            .await
        }
    };
    let by_device = run(json!({"scope": "device", "device_ids": ["phone-2"]})).await;
    assert_eq!(
        (
            by_device["status"].as_str(),
            by_device["deleted_count"].as_u64()
        ),
        (Some("completed"), Some(2))
    );
    assert_eq!(count_usage_events(&workspace, 1).await, 3);

    let future =
        run(json!({"scope": "date_range", "from_date": "2099-01-01", "to_date": "2099-12-31"}))
            .await;
    assert_eq!(future["deleted_count"], 0, "nothing in that range");
    let by_tag = run(json!({"scope": "tag", "tags": ["eu"]})).await;
    assert_eq!(by_tag["deleted_count"], 3);
    assert_eq!(count_usage_events(&workspace, 1).await, 0);
    assert_eq!(
        count_usage_events(&other_workspace, 1).await,
        2,
        "another workspace is never touched"
    );

    // Yesterday too: the stack's clock is the wall clock, and a midnight may have passed since
    // the verifications above.
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    let by_dates = stranger
        .call(Method::POST, ERASURE, Some(json!({"scope": "date_range", "from_date": yesterday.to_string(), "to_date": today.to_string()})))
        .await
        .expect(201);
    let done = wait_for_end(
        &stranger,
        by_dates["job_id"].as_str().unwrap(),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(done["deleted_count"], 2);

    owner
        .call(
            Method::GET,
            &format!("{ERASURE}/{}", by_dates["job_id"].as_str().unwrap()),
            None,
        )
        .await
        .expect_error(404, "not_found");
    owner
        .call(Method::GET, &format!("{ERASURE}/not-a-uuid"), None)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn aggregates_and_audit_fields_survive_erasure() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = owner_of(&workspace);
    let (id, key) = owner.create_key(json!({})).await;
    for _ in 0..3 {
        owner
            .api
            .send(
                Method::POST,
                "/api/v1/keys/verify",
                &Auth::None,
                Some(json!({"key": key, "device_id": "d"})),
            )
            .await
            .expect(200);
    }
    owner
        .call(
            Method::POST,
            &format!("/api/v1/account/api-keys/{id}/revoke"),
            Some(json!({"reason": "audit"})),
        )
        .await
        .expect(200);
    let before = owner
        .call(
            Method::GET,
            &format!("/api/v1/account/api-keys/{id}/stats"),
            None,
        )
        .await
        .expect(200);
    let job = owner
        .call(Method::POST, ERASURE, Some(json!({"scope": "workspace"})))
        .await
        .expect(201);
    let done = wait_for_end(
        &owner,
        job["job_id"].as_str().unwrap(),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(done["deleted_count"], 3);
    let after = owner
        .call(
            Method::GET,
            &format!("/api/v1/account/api-keys/{id}/stats"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(after, before, "daily aggregates and counters stay");
    let shown = owner.key(&id).await;
    assert_eq!(shown["revocation_reason"], "audit");
    assert!(shown["revoked_at"].is_string());
    let metrics = owner
        .call(Method::GET, "/api/v1/account/dashboard/metrics", None)
        .await
        .expect(200);
    assert_eq!(metrics["requests_total"], 3, "dashboard figures stay");
}

/// 10,000 events in one workspace, erased through the queue with continuations (20 chunks of 99 per
/// message locally), and the same message delivered twice: the counts are exact.
#[tokio::test]
async fn ten_thousand_events_with_a_duplicate_message() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = owner_of(&workspace);
    seed_usage_events(&workspace, 10_000, &["d1", "d2"], &[&["x"]]).await;
    assert_eq!(count_usage_events(&workspace, 4).await, 10_000);
    let started = Instant::now();
    let job = owner
        .call(Method::POST, ERASURE, Some(json!({"scope": "workspace"})))
        .await
        .expect(201);
    assert_eq!(job["estimated_count"], 10_000);
    let job_id = job["job_id"].as_str().unwrap();
    let sqs = aws_sdk_sqs::Client::new(&latchkey_aws::clients::load_sdk_config().await);
    sqs.send_message()
        .queue_url(latchkey_tests::env("LATCHKEY_WORK_QUEUE_URL"))
        .message_body(json!({"type": "erasure", "job_id": job_id}).to_string())
        .send()
        .await
        .unwrap();
    let done = wait_for_end(&owner, job_id, Duration::from_secs(600)).await;
    eprintln!(
        "erased 10,000 events in {:?} (create to completed)",
        started.elapsed()
    );
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["deleted_count"], 10_000);
    assert_eq!(count_usage_events(&workspace, 4).await, 0);
}

/// A job whose every attempt fails ends `failed` with its error, and its message lands in the
/// dead-letter queue after 5 receives, as template.yaml's redrive policy says.
#[tokio::test]
async fn a_job_that_cannot_succeed_fails_and_its_message_lands_in_the_dlq() {
    use latchkey_core::privacy::{ErasureJob, JobStatus, Progress, Scope, erasure::ErasureStore};
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = owner_of(&workspace);
    owner
        .call(Method::GET, "/api/v1/account/me", None)
        .await
        .expect(200);
    // A tag job without tags cannot be created through the API; stored directly, its queries
    // are refused by DynamoDB on every attempt.
    let job = ErasureJob {
        job_id: uuid::Uuid::new_v4(),
        workspace_id: latchkey_core::ids::WorkspaceId::parse(&workspace).unwrap(),
        requested_by: latchkey_core::ids::UserId::parse(&owner.id).unwrap(),
        scope: Scope::Tag,
        device_ids: vec![],
        tags: vec![],
        from: None,
        to: None,
        days: vec![chrono::Utc::now().date_naive()],
        dry_run: false,
        status: JobStatus::Pending,
        estimated_count: 0,
        deleted_count: 0,
        created_at: chrono::Utc::now(),
        started_at: None,
        completed_at: None,
        error: None,
        progress: Progress::default(),
        version: 1,
    };
    let config = latchkey_tests::config();
    let table =
        latchkey_aws::dynamo::Table::new(latchkey_tests::dynamodb().await, &config.table_name);
    let record = latchkey_core::audit::Record {
        workspace_id: job.workspace_id.clone(),
        action: "erasure.requested".into(),
        actor: latchkey_core::audit::Actor {
            kind: latchkey_core::audit::ActorKind::User,
            id: owner.id.clone(),
            name: None,
        },
        targets: vec![],
        origin: Default::default(),
        changes: Default::default(),
        users: vec![owner.id.clone()],
        time: job.created_at,
    };
    let jobs = table.erasure();
    latchkey_core::audit::store::AuditTrail::new(std::sync::Arc::new(table.audit()))
        .recording(record, |event| {
            let (jobs, job) = (&jobs, &job);
            async move { jobs.insert(job, &event).await }
        })
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&latchkey_aws::clients::load_sdk_config().await);
    let body = json!({"type": "erasure", "job_id": job.job_id}).to_string();
    sqs.send_message()
        .queue_url(latchkey_tests::env("LATCHKEY_WORK_QUEUE_URL"))
        .message_body(&body)
        .send()
        .await
        .unwrap();

    let failed = wait_for_end(&owner, &job.job_id.to_string(), Duration::from_secs(120)).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("5 attempts")),
        "{failed}"
    );
    let notes = owner
        .call(Method::GET, "/api/v1/account/notifications", None)
        .await
        .expect(200);
    assert_eq!(notes["notifications"][0]["type"], "privacy.erasure_failed");

    let dlq = latchkey_tests::env("LATCHKEY_WORK_DEAD_LETTER_QUEUE_URL");
    let start = Instant::now();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(&dlq)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let mine = out
            .messages()
            .iter()
            .find(|m| m.body() == Some(body.as_str()));
        if let Some(message) = mine {
            sqs.delete_message()
                .queue_url(&dlq)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the message never reached the dead-letter queue"
        );
    }
}
