//! numind's key routes (`/api/auth/api-keys`) in process: a key's life in numind's shapes, the
//! same key through the native API and verification, its 4xx answers and isolation.
//! (`tests/sdk/test_numind.py` drives the same routes with numind's own client.)

use latchkey_tests::{Auth, as_key, in_process};
use reqwest::Method;
use serde_json::{Value, json};

const KEYS: &str = "/api/auth/api-keys";

fn key_path(id: &str) -> String {
    format!("{KEYS}/{id}")
}

#[tokio::test]
async fn a_key_s_life_in_numind_s_shapes() {
    let user = in_process::user();
    let created = user
        .call(Method::POST, KEYS, Some(json!({"name": " ci "})))
        .await
        .expect(200);
    let id = created["id"].as_str().unwrap().to_owned();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sk_") && !token.contains("****"));
    assert_eq!(created["name"], "ci");
    assert_eq!(created["userId"], user.id);
    assert_eq!(created["expiresAt"], "", "no expiry is an empty string");
    assert!(created["createdAt"].is_string());
    let organization = created["organization"].as_str().unwrap().to_owned();

    // The same key everywhere: the native API, verification, and the key on these routes.
    assert_eq!(user.key(&id).await["name"], "ci");
    let verified = user
        .api
        .send(
            Method::POST,
            "/api/v1/keys/verify",
            &Auth::None,
            Some(json!({"key": token})),
        )
        .await
        .expect(200);
    assert_eq!(verified["code"], "VALID");
    let listed = user
        .api
        .send(Method::GET, KEYS, &as_key(&token), None)
        .await
        .expect(200);
    assert_eq!(listed[0]["id"], id);
    assert_eq!(
        listed[0]["token"],
        format!("sk_****{}", &token[token.len() - 4..]),
        "masked after creation"
    );

    let expiry = "2099-01-02T03:04:05Z";
    user.call(
        Method::PATCH,
        &format!("/api/v1/account/api-keys/{id}/expiration?expires_at={expiry}"),
        None,
    )
    .await
    .expect(200);
    let renamed = user
        .call(
            Method::PUT,
            &key_path(&id),
            Some(json!({"name": "renamed"})),
        )
        .await
        .expect(200);
    assert_eq!(renamed["name"], "renamed");
    assert!(renamed["token"].as_str().unwrap().contains("****"));
    assert!(
        renamed["expiresAt"]
            .as_str()
            .unwrap()
            .starts_with("2099-01-02T03:04:05"),
        "{renamed}"
    );
    assert_eq!(renamed["organization"], organization);

    let deleted = user.call(Method::DELETE, &key_path(&id), None).await;
    assert_eq!(deleted.status.as_u16(), 200);
    assert_eq!(deleted.body, Value::Null, "an empty body");
    user.call(Method::DELETE, &key_path(&id), None)
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        user.call(Method::GET, KEYS, None).await.expect(200),
        json!([])
    );
}

#[tokio::test]
async fn bad_bodies_foreign_organizations_and_other_users_keys_are_4xx() {
    let user = in_process::user();
    let stranger = in_process::user();
    for body in [json!({}), json!({"name": " "}), json!({"name": 7})] {
        user.call(Method::POST, KEYS, Some(body))
            .await
            .expect_invalid(&["name"]);
    }
    user.call(
        Method::POST,
        KEYS,
        Some(json!({"name": "k", "maybeOrga": uuid::Uuid::new_v4().to_string()})),
    )
    .await
    .expect_error(404, "not_found");
    let (id, _) = user.create_key(json!({"name": "mine"})).await;
    stranger
        .call(Method::PUT, &key_path(&id), Some(json!({"name": "theirs"})))
        .await
        .expect_error(404, "not_found");
    stranger
        .call(Method::DELETE, &key_path(&id), None)
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        stranger.call(Method::GET, KEYS, None).await.expect(200),
        json!([])
    );
    user.call(Method::PUT, &key_path(&id), Some(json!({})))
        .await
        .expect_invalid(&["name"]);
    assert_eq!(user.key(&id).await["name"], "mine", "nothing was written");
}
