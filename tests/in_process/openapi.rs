//! The OpenAPI document in process: served without credentials, equal to the one the code
//! generates, and naming only operations that reach their function through the stack's routing.

use latchkey_tests::{Api, Auth};
use reqwest::Method;

const DOCUMENT: &str = "/api/v1/openapi.json";

#[tokio::test]
async fn the_document_is_served_without_credentials() {
    let served = Api::in_process()
        .send(Method::GET, DOCUMENT, &Auth::None, None)
        .await
        .expect(200);
    let generated = serde_json::to_value(latchkey_http::api::document()).unwrap();
    assert_eq!(served, generated);
    assert_eq!(served["openapi"], "3.1.0");
}

/// Through the stack's router (the same prefixes API Gateway maps), each documented operation
/// reaches a function that serves it: without credentials, a secured operation is a 401 and an
/// open one answers, never the 404 or 405 of a route nobody serves.
#[tokio::test]
async fn every_documented_operation_reaches_its_function() {
    let api = Api::in_process();
    let doc = serde_json::to_value(latchkey_http::api::document()).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{api_key_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{apiKeyId}", &uuid::Uuid::new_v4().to_string())
            .replace("{notification_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{company_id}", "company-1")
            .replace("{tenantUrlCode}", "tenant-1")
            .replace("{UserIdentifier}", "current")
            .replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{job_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{event_id}", &uuid::Uuid::new_v4().to_string());
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let reply = api.send(method.clone(), &concrete, &Auth::None, None).await;
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            let status = reply.status.as_u16();
            if secured {
                assert_eq!(status, 401, "{method} {path}: {}", reply.body);
            } else {
                // Open: it answers (GitHub's report endpoint refuses a report without GitHub's
                // signature, its own credential, with a 401).
                assert!(
                    matches!(status, 200 | 202 | 400 | 401),
                    "{method} {path}: {status} {}",
                    reply.body
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 68);
}
