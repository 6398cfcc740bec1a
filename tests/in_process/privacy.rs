//! The privacy family's HTTP rules in process: who may erase (owners and admins, with sessions),
//! and each scope's fields validated. The erasure itself (the queue, the worker, DynamoDB's
//! events) runs on the stack (`tests/it/http_privacy.rs`).

use latchkey_core::auth::Role;
use latchkey_tests::{Api, Auth, as_key, in_process};
use reqwest::Method;
use serde_json::{Value, json};

const ERASURE: &str = "/api/v1/account/privacy/erasure";

#[tokio::test]
async fn only_owners_and_admins_with_sessions_may_erase() {
    let workspace = uuid::Uuid::new_v4().to_string();
    for role in [Role::Member, Role::Viewer] {
        in_process::user_with(Some(&workspace), Some(role))
            .call(
                Method::POST,
                ERASURE,
                Some(json!({"scope": "workspace", "dry_run": true})),
            )
            .await
            .expect_error(403, "forbidden");
    }
    let admin = in_process::user_with(Some(&workspace), Some(Role::Admin));
    admin
        .call(
            Method::POST,
            ERASURE,
            Some(json!({"scope": "workspace", "dry_run": true})),
        )
        .await
        .expect(201);
    let (_, key) = admin.create_key(json!({})).await;
    let reply = admin
        .api
        .send(
            Method::POST,
            ERASURE,
            &as_key(&key),
            Some(json!({"scope": "workspace"})),
        )
        .await;
    assert!(reply.headers.contains_key("www-authenticate"));
    reply.expect_error(401, "unauthenticated");
    Api::in_process()
        .send(
            Method::POST,
            ERASURE,
            &Auth::None,
            Some(json!({"scope": "workspace"})),
        )
        .await
        .expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn each_scope_is_validated() {
    let owner = in_process::user_with(Some(&uuid::Uuid::new_v4().to_string()), Some(Role::Owner));
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({}), &["scope"]),
        (json!({"scope": "everything"}), &["scope"]),
        (json!({"scope": "device"}), &["device_ids"]),
        (json!({"scope": "tag"}), &["tags"]),
        (
            json!({"scope": "date_range", "from_date": "2026-01-01"}),
            &["to_date"],
        ),
        (
            json!({"scope": "date_range", "from_date": "2026-03-01", "to_date": "2026-01-01"}),
            &["from_date"],
        ),
        (
            json!({"scope": "workspace", "dry_run": "yes"}),
            &["dry_run"],
        ),
    ];
    for (body, fields) in cases {
        owner
            .call(Method::POST, ERASURE, Some(body))
            .await
            .expect_invalid(fields);
    }
}
