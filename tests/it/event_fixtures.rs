//! Replays every API Gateway event under `infra/events/` through the Lambda invoke API of the
//! local stack (what `cargo lambda invoke --data-file` does), so the fixtures keep working.

use std::path::PathBuf;

use latchkey_tests::{Auth, User};
use serde_json::Value;

/// Every HTTP fixture, the function it is for, and the status it must produce.
const HTTP_FIXTURES: [(&str, &str, u16); 13] = [
    ("account-health.json", "account", 200),
    ("account-me.json", "account", 200),
    ("account-notifications.json", "account", 200),
    ("account-onboarding.json", "account", 200),
    ("account-dashboard.json", "account", 200),
    ("privacy-erasure-dry-run.json", "privacy", 201),
    ("privacy-erasure-with-key.json", "privacy", 401),
    ("api-keys-create.json", "api-keys", 201),
    // A JSON body that is not UTF-8, as API Gateway delivers it (base64). cargo lambda watch
    // cannot forward such a request (it answers 500 itself), so the fuzzing skips these bodies
    // and this fixture holds the functions to a 400.
    ("api-keys-create-binary-body.json", "api-keys", 400),
    ("api-keys-list.json", "api-keys", 200),
    ("api-keys-expiring.json", "api-keys", 200),
    ("api-keys-unauthenticated.json", "api-keys", 401),
    // GitHub's documented example report: signed by GitHub's key, which the local stack's list
    // (its own key) does not hold.
    ("leaks-github-report.json", "api-keys", 401),
];

/// The console's page fixture: an HTML page, not a JSON body.
const PAGE_FIXTURE: &str = "console-signin.json";

/// Every authorizer fixture and whether it authorizes.
const AUTHORIZER_FIXTURES: [(&str, bool); 3] = [
    ("authorizer-x-api-key.json", true),
    ("authorizer-bearer.json", true),
    ("authorizer-bad-key.json", false),
];

/// The worker's SQS event.
const WORKER_FIXTURE: &str = "worker-erasure.json";
/// The sweeper's scheduled event.
const SWEEPER_FIXTURE: &str = "sweeper-scheduled.json";

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/events")
}

#[test]
fn every_fixture_is_replayed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = HTTP_FIXTURES
        .iter()
        .map(|(f, _, _)| f.to_string())
        .chain(AUTHORIZER_FIXTURES.iter().map(|(f, _)| f.to_string()))
        .chain([
            WORKER_FIXTURE.to_owned(),
            SWEEPER_FIXTURE.to_owned(),
            PAGE_FIXTURE.to_owned(),
        ])
        .collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "add new fixtures to HTTP_FIXTURES or AUTHORIZER_FIXTURES"
    );
}

#[tokio::test]
async fn fixtures_invoke_their_functions() {
    let user = User::new();
    let Auth::Bearer(token) = &user.auth else {
        unreachable!()
    };
    for (file, function, status) in HTTP_FIXTURES {
        let raw = std::fs::read_to_string(events_dir().join(file)).unwrap();
        let event: Value = serde_json::from_str(&raw.replace("DEV_TOKEN", token)).unwrap();
        let response: Value = latchkey_tests::invoke(function, &event).await;
        assert_eq!(response["statusCode"], status, "{file}: {response}");
        let body: Value =
            serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap();
        assert!(!body.is_null(), "{file}: a JSON body");
        assert!(
            response["headers"]["x-request-id"].is_string(),
            "{file}: {response}"
        );
    }
}

#[tokio::test]
async fn the_console_fixture_is_its_sign_in_page() {
    let raw = std::fs::read_to_string(events_dir().join(PAGE_FIXTURE)).unwrap();
    let response: Value =
        latchkey_tests::invoke("console", &serde_json::from_str(&raw).unwrap()).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(
        response["headers"]["content-type"], "text/html; charset=utf-8",
        "{response}"
    );
    let page = response["body"].as_str().unwrap_or_default();
    assert!(page.contains("href=\"/console/login\""), "{page}");
}

#[tokio::test]
async fn authorizer_fixtures_decide() {
    let user = User::new();
    let (key_id, key) = user
        .create_key(serde_json::json!({"permissions": ["orders:read"]}))
        .await;
    for (file, authorized) in AUTHORIZER_FIXTURES {
        let raw = std::fs::read_to_string(events_dir().join(file)).unwrap();
        let event: Value = serde_json::from_str(&raw.replace("DEV_KEY", &key)).unwrap();
        let response: Value = latchkey_tests::invoke("authorizer", &event).await;
        assert_eq!(response["isAuthorized"], authorized, "{file}: {response}");
        if authorized {
            assert_eq!(response["context"]["key_id"], key_id, "{file}: {response}");
        }
    }
}

#[tokio::test]
async fn the_worker_fixture_runs_a_job() {
    let user = User::with(
        Some(&uuid::Uuid::new_v4().to_string()),
        Some(latchkey_core::auth::Role::Owner),
    );
    let job = user
        .call(
            reqwest::Method::POST,
            "/api/v1/account/privacy/erasure",
            Some(serde_json::json!({"scope": "workspace"})),
        )
        .await
        .expect(201);
    let raw = std::fs::read_to_string(events_dir().join(WORKER_FIXTURE)).unwrap();
    let event: Value =
        serde_json::from_str(&raw.replace("JOB_ID", job["job_id"].as_str().unwrap())).unwrap();
    let response: Value = latchkey_tests::invoke("worker", &event).await;
    assert_eq!(response, serde_json::json!({"batchItemFailures": []}));
}

#[tokio::test]
async fn the_sweeper_fixture_sweeps() {
    // Far in the past: nothing is due then, so this sweep changes no other test's keys.
    let raw = std::fs::read_to_string(events_dir().join(SWEEPER_FIXTURE)).unwrap();
    let event: Value =
        serde_json::from_str(&raw.replace("SWEEP_TIME", "2001-01-01T00:00:00Z")).unwrap();
    let response: Value = latchkey_tests::invoke("sweeper", &event).await;
    assert_eq!(response["queries"], 38, "{response}");
    assert_eq!(response["enqueued"], 0, "{response}");
}
