//! Integration tests of erasure execution against DynamoDB Local: a worker that stops mid-job
//! resumes with exact counts; a message that names no job fails for good.

use std::time::{Duration, Instant};

use latchkey_aws::sqs::SqsQueue;
use latchkey_core::{
    ids::{UserId, WorkspaceId},
    privacy::{
        JobStatus,
        erasure::{Budget, Erasure, RunOutcome},
    },
};
use latchkey_http::api::privacy::input::ErasureRequest;

/// The erasure service with a queue of this test's own, so the stack's worker never picks up
/// these jobs.
async fn erasure() -> Erasure {
    let sdk = latchkey_aws::clients::load_sdk_config().await;
    let sqs = latchkey_aws::clients::Aws::unguarded(sdk.clone())
        .sqs(latchkey_aws::clients::CallPath::Background);
    let url = sqs
        .create_queue()
        .queue_name(format!("erasure-test-{}", uuid::Uuid::new_v4()))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    latchkey_tests::erasure(Some(std::sync::Arc::new(SqsQueue::new(sqs, url)))).await
}

fn budget(max_chunks: Option<usize>) -> Budget {
    Budget {
        deadline: Instant::now() + Duration::from_secs(600),
        max_chunks,
    }
}

/// Records a workspace-scope job (enqueued on this test's own queue).
async fn workspace_job(erasure: &Erasure, workspace: &str) -> latchkey_core::privacy::ErasureJob {
    let spec = serde_json::from_value::<ErasureRequest>(serde_json::json!({"scope": "workspace"}))
        .unwrap()
        .parse()
        .unwrap();
    erasure
        .create(&latchkey_tests::owner_session("requester", workspace), spec)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_worker_stopped_mid_job_resumes_with_exact_counts() {
    let workspace = uuid::Uuid::new_v4().to_string();
    latchkey_tests::seed_usage_events(&workspace, 450, &["d"], &[]).await;
    let erasure = erasure().await;
    let job = workspace_job(&erasure, &workspace).await;
    assert_eq!(job.estimated_count, 450);

    // The first worker commits two chunks and dies.
    assert_eq!(
        erasure.run(job.job_id, budget(Some(2))).await.unwrap(),
        RunOutcome::Continued
    );
    let halfway = erasure.get(&job.workspace_id, job.job_id).await.unwrap();
    assert_eq!(halfway.status, JobStatus::Running);
    assert!(
        halfway.deleted_count > 0 && halfway.deleted_count < 450,
        "{}",
        halfway.deleted_count
    );
    assert_eq!(
        latchkey_tests::count_usage_events(&workspace, 4).await as u64,
        450 - halfway.deleted_count
    );

    // Redelivery, twice at once: they race over the same job and still count each event once.
    let (a, b) = tokio::join!(
        erasure.run(job.job_id, budget(None)),
        erasure.run(job.job_id, budget(None))
    );
    assert_eq!(
        (a.unwrap(), b.unwrap()),
        (RunOutcome::Finished, RunOutcome::Finished)
    );
    let done = erasure.get(&job.workspace_id, job.job_id).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.deleted_count, 450);
    assert_eq!(
        done.started_at, halfway.started_at,
        "started_at is set once"
    );
    assert_eq!(latchkey_tests::count_usage_events(&workspace, 4).await, 0);

    // A late duplicate finds the job finished and changes nothing.
    assert_eq!(
        erasure.run(job.job_id, budget(None)).await.unwrap(),
        RunOutcome::Finished
    );
    assert_eq!(
        erasure.get(&job.workspace_id, job.job_id).await.unwrap(),
        done
    );
}

/// A job is removed when its message seemed not to reach the queue; if the queue was only slow,
/// the message arrives for no job, and is done with rather than retried into the dead letters.
#[tokio::test]
async fn a_message_for_no_job_is_done_with() {
    let erasure = erasure().await;
    assert!(matches!(
        erasure.run(uuid::Uuid::new_v4(), budget(None)).await,
        Ok(RunOutcome::Finished)
    ));
}

#[tokio::test]
async fn failing_a_job_records_the_error_once() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let erasure = erasure().await;
    let job = workspace_job(&erasure, &workspace).await;
    erasure
        .fail(job.job_id, "storage unavailable")
        .await
        .unwrap();
    erasure.fail(job.job_id, "a later error").await.unwrap();
    let failed = erasure.get(&job.workspace_id, job.job_id).await.unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("storage unavailable"));
    assert!(failed.completed_at.is_some());
    assert_eq!(
        erasure.run(job.job_id, budget(None)).await.unwrap(),
        RunOutcome::Finished,
        "a failed job stays failed"
    );
}

/// Events that aggregate alike verifications count as the verifications they stand for, by
/// workspace and by device (the device index projects the count).
#[tokio::test]
async fn aggregated_events_count_as_their_verifications() {
    use latchkey_aws::dynamo::DynamoUsageSink;
    use latchkey_core::{
        ids::KeyId,
        outcome::VerifyCode,
        usage::{AttemptContext, UsageBatch, UsageEvent, UsageSink},
    };
    let workspace = uuid::Uuid::new_v4().to_string();
    let sink = DynamoUsageSink::new(
        latchkey_tests::dynamodb().await,
        &latchkey_tests::config().table_name,
        90,
    );
    let now = chrono::Utc::now() - chrono::Duration::minutes(1);
    let events: Vec<UsageEvent> = ["d", "d", "e"]
        .iter()
        .map(|device| UsageEvent {
            id: uuid::Uuid::new_v4(),
            at: now,
            count: 4,
            key_id: KeyId::new(),
            workspace_id: WorkspaceId::parse(&workspace).unwrap(),
            owner_id: UserId::parse("seeded").unwrap(),
            outcome: VerifyCode::Valid,
            context: AttemptContext {
                device_id: Some((*device).into()),
                ..AttemptContext::default()
            },
        })
        .collect();
    let left = sink
        .write(UsageBatch {
            events,
            ..UsageBatch::default()
        })
        .await;
    assert!(left.is_empty());

    let erasure = erasure().await;
    let spec = serde_json::from_value::<ErasureRequest>(
        serde_json::json!({"scope": "device", "device_ids": ["d"], "dry_run": true}),
    )
    .unwrap()
    .parse()
    .unwrap();
    let by_device = erasure
        .create(
            &latchkey_tests::owner_session("requester", &workspace),
            spec,
        )
        .await
        .unwrap();
    assert_eq!(by_device.estimated_count, 8, "two events of four each");

    let job = workspace_job(&erasure, &workspace).await;
    assert_eq!(job.estimated_count, 12);
    assert_eq!(
        erasure.run(job.job_id, budget(None)).await.unwrap(),
        RunOutcome::Finished
    );
    let done = erasure.get(&job.workspace_id, job.job_id).await.unwrap();
    assert_eq!(
        (done.status, done.deleted_count),
        (JobStatus::Completed, 12)
    );
    assert_eq!(latchkey_tests::count_usage_events(&workspace, 2).await, 0);
}
