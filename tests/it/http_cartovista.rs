//! The cartovista family (`/{tenantUrlCode}/api/v2`) over HTTP, called as its swagger-codegen
//! client (`cartovista_cloud_clients`) calls it: `apiKey` and `secretKey` headers, camelCase
//! bodies, an update by body, `generateSecret`'s bare JSON string. A key with a paired secret is
//! refused without it everywhere: the API, the verify endpoint and the authorizer.

use latchkey_core::auth::Role;
use latchkey_tests::{Auth, User};
use reqwest::Method;
use serde_json::{Value, json};

fn user_keys(tenant: &str, user: &str) -> String {
    format!("/{tenant}/api/v2/User/{user}/ApiKey")
}

fn update_path(tenant: &str) -> String {
    format!("/{tenant}/api/v2/ApiKey")
}

fn key_path(tenant: &str, id: &str) -> String {
    format!("/{tenant}/api/v2/ApiKey/{id}")
}

/// What cartovista's client sends: the key in `apiKey`, and its secret in `secretKey` once it
/// has one.
fn client_auth(key: &str, secret: Option<&str>) -> Auth {
    let mut headers = vec![("apiKey", key.to_owned())];
    if let Some(secret) = secret {
        headers.push(("secretKey", secret.to_owned()));
    }
    Auth::Headers(headers)
}

fn new_tenant() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn verify(user: &User, body: Value) -> String {
    user.api
        .send(Method::POST, "/api/v1/keys/verify", &Auth::None, Some(body))
        .await
        .expect(200)["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Invokes the authorizer with `headers`, as API Gateway would.
async fn authorize(headers: Value) -> Value {
    latchkey_tests::authorize(headers, "GET /maps", "127.0.0.1").await
}

async fn create(user: &User, tenant: &str, who: &str, body: Value) -> Value {
    user.call(Method::POST, &user_keys(tenant, who), Some(body))
        .await
        .expect(200)
}

#[tokio::test]
async fn an_access_key_s_life_and_its_paired_secret() {
    let tenant = new_tenant();
    let owner = User::with(Some(&tenant), Some(Role::Owner));
    let created = create(
        &owner,
        &tenant,
        "current",
        json!({"ipWhitelisting": ["127.0.0.1", "10.1.2.3/8"], "notes": " for maps ", "extra": 1}),
    )
    .await;
    let id = created["accessKey"].as_str().unwrap().to_owned();
    let key = created["accessKeyString"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk_"), "{created}");
    assert_eq!(created["secretKey"], Value::Null);
    assert_eq!(created["hasAccessKey"], false);
    assert_eq!(created["mode"], 0);
    assert_eq!(created["enabled"], true);
    assert_eq!(created["userId"], owner.id);
    assert_eq!(created["tenantId"], tenant);
    assert_eq!(created["lastUsedTime"], Value::Null);
    assert_eq!(
        created["ipWhitelisting"],
        json!(["127.0.0.1", "10.0.0.0/8"])
    );
    assert_eq!(created["notes"], "for maps");
    assert!(created["creationTime"].is_string());
    assert_eq!(
        verify(&owner, json!({"key": key, "ip": "10.9.9.9"})).await,
        "VALID"
    );

    // Listed by the key itself, as the client authenticates: masked, its use recorded.
    let listed = owner
        .api
        .send(
            Method::GET,
            &user_keys(&tenant, &owner.id),
            &client_auth(&key, None),
            None,
        )
        .await
        .expect(200);
    assert_eq!(listed[0]["accessKey"], id);
    assert_eq!(
        listed[0]["accessKeyString"],
        format!("sk_****{}", &key[key.len() - 4..])
    );
    assert!(listed[0]["lastUsedTime"].is_string(), "{listed}");

    // Update by body: only enabled, mode, ipWhitelisting and notes change.
    let updated = owner
        .call(
            Method::POST,
            &update_path(&tenant),
            Some(
                json!({"accessKey": id, "mode": "1", "enabled": true, "notes": null,
                "ipWhitelisting": [], "userId": "someone-else", "accessKeyString": "ignored"}),
            ),
        )
        .await;
    assert_eq!(updated.status.as_u16(), 204, "{}", updated.body);
    let native = owner.key(&id).await;
    assert_eq!(native["read_only"], true);
    assert_eq!(native["description"], Value::Null);
    assert_eq!(native["allowed_ips"], json!([]));

    // generateSecret: a bare JSON string, shown once; from now on the key needs it everywhere.
    let generated = owner
        .call(
            Method::POST,
            &format!("{}/generateSecret", key_path(&tenant, &id)),
            None,
        )
        .await;
    assert_eq!(
        generated.headers["content-type"], "application/json",
        "{}",
        generated.body
    );
    let secret = generated.expect(200).as_str().unwrap().to_owned();
    assert!(secret.len() >= 43, "at least 256 bits: {secret}");
    latchkey_tests::past_the_cache_bound().await;
    assert_eq!(verify(&owner, json!({"key": key})).await, "NOT_FOUND");
    assert_eq!(
        verify(&owner, json!({"key": key, "secret": "wrong"})).await,
        "NOT_FOUND"
    );
    assert_eq!(
        verify(&owner, json!({"key": key, "secret": secret})).await,
        "VALID"
    );
    let alone = owner
        .api
        .send(
            Method::GET,
            &user_keys(&tenant, "current"),
            &client_auth(&key, None),
            None,
        )
        .await;
    assert!(alone.headers.contains_key("www-authenticate"));
    alone.expect_error(401, "unauthenticated");
    let paired = owner
        .api
        .send(
            Method::GET,
            &user_keys(&tenant, "current"),
            &client_auth(&key, Some(&secret)),
            None,
        )
        .await
        .expect(200);
    assert_eq!(paired[0]["hasAccessKey"], true);
    assert_eq!(paired[0]["secretKey"], Value::Null, "never shown again");
    assert_eq!(
        authorize(json!({"apikey": key})).await["isAuthorized"],
        false
    );
    assert_eq!(
        authorize(json!({"apikey": key, "secretkey": secret})).await["isAuthorized"],
        true
    );
    let stats = owner
        .call(
            Method::GET,
            &format!("/api/v1/account/api-keys/{id}/stats"),
            None,
        )
        .await
        .expect(200);
    assert!(stats["failed_attempts"].as_u64().unwrap() >= 2, "{stats}");

    // A second secret replaces the first at once.
    let second = owner
        .call(
            Method::POST,
            &format!("{}/generateSecret", key_path(&tenant, &id)),
            None,
        )
        .await
        .expect(200);
    latchkey_tests::past_the_cache_bound().await;
    assert_eq!(
        verify(&owner, json!({"key": key, "secret": secret})).await,
        "NOT_FOUND"
    );
    assert_eq!(
        verify(&owner, json!({"key": key, "secret": second})).await,
        "VALID"
    );

    let deleted = owner
        .call(Method::DELETE, &key_path(&tenant, &id), None)
        .await;
    assert_eq!(deleted.status.as_u16(), 204);
    owner
        .call(Method::DELETE, &key_path(&tenant, &id), None)
        .await
        .expect_error(404, "not_found");
}
