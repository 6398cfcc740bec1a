//! The cartovista family (`/{tenantUrlCode}/api/v2`) in process: bodies its update refuses,
//! unknown keys, and which users, tenants and roles a caller reaches. (A key's life with its
//! paired secret, which the authorizer must refuse too, stays in `tests/it/http_cartovista.rs`.)

use latchkey_core::auth::Role;
use latchkey_tests::{Reply, User, in_process};
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

fn new_tenant() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn create(user: &User, tenant: &str, who: &str, body: Value) -> Value {
    user.call(Method::POST, &user_keys(tenant, who), Some(body))
        .await
        .expect(200)
}

#[tokio::test]
async fn bad_bodies_are_400s_and_unknown_keys_404s() {
    let tenant = new_tenant();
    let owner = in_process::user_with(Some(&tenant), Some(Role::Owner));
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
    let in_tenant = |role| in_process::user_with(Some(&tenant), Some(role));
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
    let outsider = in_process::user_with(Some(&elsewhere), Some(Role::Owner));
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
        let user = in_process::user_with(Some(reserved), Some(Role::Owner));
        let reply = user
            .call(Method::GET, &user_keys(reserved, "current"), None)
            .await;
        assert_eq!(reply.status.as_u16(), 404, "{reserved}: {}", reply.body);
    }
}
