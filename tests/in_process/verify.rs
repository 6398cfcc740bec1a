//! `POST /api/v1/keys/verify` in process: its body validated, a wrong secret told from nothing.
//! Verification through the authorizer, across instances and their caches, and under rate
//! limits runs on the stack (`tests/it/http_verify.rs`, `tests/it/verification.rs`).

use latchkey_tests::{Api, Auth, in_process};
use reqwest::Method;
use serde_json::{Value, json};

const VERIFY: &str = "/api/v1/keys/verify";

async fn verify(body: Value) -> Value {
    Api::in_process()
        .send(Method::POST, VERIFY, &Auth::None, Some(body))
        .await
        .expect(200)
}

#[tokio::test]
async fn a_wrong_secret_is_not_found_and_reveals_nothing() {
    let user = in_process::user();
    let (_, key) = user.create_key(json!({})).await;
    let mut bytes = key.into_bytes();
    let i = bytes.len() - 10;
    bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
    let verified = verify(json!({"key": String::from_utf8(bytes).unwrap()})).await;
    assert_eq!(verified, json!({"valid": false, "code": "NOT_FOUND"}));
}

#[tokio::test]
async fn verify_validates_its_body() {
    let api = Api::in_process();
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({}), &["key"]),
        (json!({"key": 5}), &["key"]),
        (json!({"key": "k", "ip": "not-an-ip"}), &["ip"]),
        (
            json!({"key": "k", "device_id": "d".repeat(129)}),
            &["device_id"],
        ),
        (json!({"key": "k", "tags": ["t".repeat(65)]}), &["tags[0]"]),
        (
            json!({"key": "k", "permissions": ["bad perm"]}),
            &["permissions[0]"],
        ),
    ];
    for (body, fields) in cases {
        api.send(Method::POST, VERIFY, &Auth::None, Some(body))
            .await
            .expect_invalid(fields);
    }
    api.send(Method::GET, VERIFY, &Auth::None, None)
        .await
        .expect_error(405, "method_not_allowed");
}
