//! Webhooks on the stack: a test event made through the account function goes through the queue
//! to the worker, which signs it with the endpoint's secret (sealed in DynamoDB Local under the
//! webhook key the worker reads from Secrets Manager) and posts it to a receiver on loopback; the
//! delivery log says what the receiver saw.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, http::HeaderMap, routing::post};
use latchkey_core::{
    auth::Role,
    webhooks::{secret::SigningSecret, signature},
};
use latchkey_tests::User;
use reqwest::Method;
use serde_json::{Value, json};

/// What a receiver was sent: each request's headers and body.
type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver on a loopback port that answers 204 to everything: its URL and what it saw.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let seen = received.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push((headers, body));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hook",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn a_test_event_reaches_the_receiver_signed_and_the_log_says_so() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = User::with(Some(&workspace), Some(Role::Owner));
    let (url, received) = receiver().await;
    let made = owner
        .call(
            Method::POST,
            "/api/v1/account/webhooks",
            Some(json!({"url": url})),
        )
        .await
        .expect(201);
    let endpoint = made["id"].as_str().unwrap().to_owned();
    let secret = SigningSecret::parse(made["secret"].as_str().unwrap()).unwrap();
    let sent = owner
        .call(
            Method::POST,
            &format!("/api/v1/account/webhooks/{endpoint}/test"),
            None,
        )
        .await
        .expect(202);
    let delivery = sent["delivery_id"].as_str().unwrap().to_owned();

    let log_path = format!("/api/v1/account/webhooks/{endpoint}/deliveries");
    let start = Instant::now();
    let log: Value = loop {
        let log = owner.call(Method::GET, &log_path, None).await.expect(200);
        if log["deliveries"][0]["status"] == "delivered" {
            break log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "not delivered: {log}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let entry = &log["deliveries"][0];
    assert_eq!(entry["id"], delivery.as_str());
    assert_eq!(entry["attempts"][0]["status_code"], 204, "{entry}");
    assert_eq!(entry["next_attempt_at"], Value::Null);

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "one delivery, once");
    let (headers, body) = &received[0];
    let header = |name: &str| headers[name].to_str().unwrap().to_owned();
    assert_eq!(header("webhook-id"), entry["webhook_id"].as_str().unwrap());
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 300);
    assert_eq!(
        header("webhook-signature"),
        signature::sign(&[secret], &header("webhook-id"), timestamp, body)
    );
    let event: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(event["type"], "webhook.test");
    assert_eq!(event["data"]["id"], endpoint.as_str());
    assert_eq!(header("content-type"), "application/json");
}
