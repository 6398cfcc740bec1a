//! The cartovista family (`/{tenantUrlCode}/api/v2`) over HTTP, called as its swagger-codegen
//! client (`cartovista_cloud_clients`) calls it: `apiKey` and `secretKey` headers, camelCase
//! bodies, an update by body, `generateSecret`'s bare JSON string. A key with a paired secret is
//! refused without it everywhere: the API, the verify endpoint and the authorizer.

use latchkey_core::auth::Role;
use latchkey_tests::{Auth, Reply, User};
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
    let event = json!({
        "version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/maps",
        "identitySource": [], "routeKey": "GET /maps", "rawPath": "/maps", "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "example.com", "domainPrefix": "example",
            "http": {"method": "GET", "path": "/maps", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "cartovista-test"},
            "requestId": "id", "routeKey": "GET /maps", "stage": "$default", "time": "22/Nov/2026:10:00:00 +0000", "timeEpoch": 0
        }
    });
    latchkey_tests::invoke("authorizer", &event).await
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

#[tokio::test]
async fn bad_bodies_are_400s_and_unknown_keys_404s() {
    let tenant = new_tenant();
    let owner = User::with(Some(&tenant), Some(Role::Owner));
    let created = create(&owner, &tenant, "current", json!({})).await;
    let id = created["accessKey"].as_str().unwrap().to_owned();
    let update = |body: Value| {
        let owner = owner.clone();
        let path = update_path(&tenant);
        async move { owner.call(Method::POST, &path, Some(body)).await }
    };
    update(json!({"enabled": false}))
        .await
        .expect_invalid(&["accessKey"]);
    update(
        json!({"accessKey": id, "ipWhitelisting": ["10.0.0.1", "nope"], "notes": "n".repeat(501)}),
    )
    .await
    .expect_invalid(&["ipWhitelisting[1]", "notes"]);
    for body in [
        json!({"accessKey": id, "mode": 2}),
        json!({"accessKey": id, "mode": "read-only"}),
        json!({"accessKey": id, "enabled": "yes"}),
        json!([]),
    ] {
        update(body).await.expect_error(400, "validation_error");
    }
    update(json!({"accessKey": uuid::Uuid::new_v4()}))
        .await
        .expect_error(404, "not_found");
    update(json!({"accessKey": "not-a-key"}))
        .await
        .expect_error(404, "not_found");
    owner
        .call(
            Method::POST,
            &user_keys(&tenant, "current"),
            Some(json!({"ipWhitelisting": "10.0.0.1"})),
        )
        .await
        .expect_error(400, "validation_error");
    assert_eq!(
        owner.key(&id).await["is_active"],
        true,
        "nothing was written"
    );
    owner
        .call(Method::DELETE, &key_path(&tenant, "not-a-uuid"), None)
        .await
        .expect_error(404, "not_found");
}

/// `{UserIdentifier}` reaches another user only for owner and admin sessions, and only a user of
/// a lower role; another tenant, and the reserved tenants, are 404s.
#[tokio::test]
async fn users_tenants_and_roles_bound_what_a_caller_reaches() {
    let tenant = new_tenant();
    let in_tenant = |role| User::with(Some(&tenant), Some(role));
    let (owner, admin, other_admin, member) = (
        in_tenant(Role::Owner),
        in_tenant(Role::Admin),
        in_tenant(Role::Admin),
        in_tenant(Role::Member),
    );
    // Every user has signed in once, so their profile (and role) is known.
    for user in [&owner, &admin, &other_admin, &member] {
        user.call(Method::GET, "/api/v1/account/me", None)
            .await
            .expect(200);
    }
    let for_member = create(
        &admin,
        &tenant,
        &member.id,
        json!({"notes": "made by the admin"}),
    )
    .await;
    assert_eq!(for_member["userId"], member.id);
    let member_keys = member
        .call(Method::GET, &user_keys(&tenant, "current"), None)
        .await
        .expect(200);
    assert_eq!(member_keys[0]["accessKey"], for_member["accessKey"]);
    let seen_by_admin = admin
        .call(Method::GET, &user_keys(&tenant, &member.id), None)
        .await
        .expect(200);
    assert_eq!(seen_by_admin.as_array().unwrap().len(), 1);
    create(&owner, &tenant, &admin.id, json!({})).await;

    let refused = |user: &User, path: String| {
        let user = user.clone();
        async move {
            let reply: Reply = user.call(Method::GET, &path, None).await;
            reply.expect_error(404, "not_found");
        }
    };
    refused(&admin, user_keys(&tenant, &other_admin.id)).await;
    refused(&admin, user_keys(&tenant, &owner.id)).await;
    refused(&member, user_keys(&tenant, &admin.id)).await;
    refused(
        &admin,
        user_keys(&tenant, &uuid::Uuid::new_v4().to_string()),
    )
    .await;
    let elsewhere = new_tenant();
    refused(&owner, user_keys(&elsewhere, "current")).await;
    let outsider = User::with(Some(&elsewhere), Some(Role::Owner));
    refused(&outsider, user_keys(&tenant, "current")).await;
    outsider
        .call(
            Method::DELETE,
            &key_path(&tenant, for_member["accessKey"].as_str().unwrap()),
            None,
        )
        .await
        .expect_error(404, "not_found");

    // A workspace named like a literal first segment is never a tenant.
    for reserved in ["api", "auth", "companies"] {
        let user = User::with(Some(reserved), Some(Role::Owner));
        let reply = user
            .call(Method::GET, &user_keys(reserved, "current"), None)
            .await;
        assert_eq!(reply.status.as_u16(), 404, "{reserved}: {}", reply.body);
    }
}
