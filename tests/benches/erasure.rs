//! Benchmark of an erasure request's estimate, which the request itself counts, against the local
//! stack (run by `infra/local/bench`): dry runs over workspaces whose events span 1, 30 and 90 days
//! (90 is the default retention), 16 partitions per day.

use latchkey_http::api::privacy::input::ErasureRequest;
use latchkey_tests::bench;

#[tokio::main]
async fn main() {
    let erasure = latchkey_tests::erasure(None).await;
    for days in [1, 30, 90] {
        let workspace = uuid::Uuid::new_v4().to_string();
        let events = days * 20;
        latchkey_tests::seed_usage_events_over(&workspace, events, days, &[], &[]).await;
        let requester = latchkey_tests::owner_session("bench", &workspace);
        let name = format!("erasure dry run, events on {days} days");
        bench(&name, 5, |_| {
            let (erasure, requester) = (&erasure, &requester);
            async move {
                let spec = serde_json::from_value::<ErasureRequest>(
                    serde_json::json!({"scope": "workspace", "dry_run": true}),
                )
                .unwrap()
                .parse()
                .unwrap();
                let job = erasure.create(requester, spec).await.unwrap();
                assert_eq!(job.estimated_count, events as u64);
            }
        })
        .await;
    }
}
