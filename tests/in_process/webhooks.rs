//! Webhook endpoints in process: made, read, changed, rotated and deleted by owners and admins
//! only (members, viewers and keys refused; another workspace's endpoint a 404); the secret shown
//! once; every URL that reaches inside refused when set; each change in the audit log without
//! its secret. Delivery itself (the queue, the worker, a receiver) runs on the stack.

use latchkey_core::auth::Role;
use latchkey_tests::{User, as_key, in_process};
use reqwest::Method;
use serde_json::{Value, json};

const HOOKS: &str = "/api/v1/account/webhooks";

fn workspace() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn create(user: &User, body: Value) -> Value {
    user.call(Method::POST, HOOKS, Some(body)).await.expect(201)
}

#[tokio::test]
async fn an_endpoint_s_life_shows_its_secret_only_when_made_or_rotated() {
    let ws = workspace();
    let owner = in_process::user_with(Some(&ws), Some(Role::Owner));
    let made = create(
        &owner,
        json!({"url": "https://hooks.example.com/latchkey", "description": "billing"}),
    )
    .await;
    let id = made["id"].as_str().unwrap().to_owned();
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{made}");
    assert_eq!(made["events"], json!(["*"]));
    assert_eq!(made["enabled"], true);
    assert_eq!(made["disabled_reason"], Value::Null);

    let path = format!("{HOOKS}/{id}");
    let read = owner.call(Method::GET, &path, None).await.expect(200);
    assert!(read.get("secret").is_none(), "{read}");
    let listed = owner.call(Method::GET, HOOKS, None).await.expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&secret[6..]));

    let changed = owner
        .call(
            Method::PATCH,
            &path,
            Some(json!({"events": ["key.revoked", "key.leaked"], "enabled": false})),
        )
        .await
        .expect(200);
    assert_eq!(changed["events"], json!(["key.revoked", "key.leaked"]));
    assert_eq!(changed["enabled"], false);
    assert_eq!(changed["url"], "https://hooks.example.com/latchkey");

    let rotated = owner
        .call(Method::POST, &format!("{path}/rotate-secret"), None)
        .await
        .expect(200);
    let new_secret = rotated["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);

    let deliveries = owner
        .call(Method::GET, &format!("{path}/deliveries"), None)
        .await
        .expect(200);
    assert_eq!(deliveries, json!({"deliveries": [], "next_cursor": null}));
    let test = owner
        .call(Method::POST, &format!("{path}/test"), None)
        .await
        .expect(202);
    let delivery = test["delivery_id"].as_str().unwrap();
    let deliveries = owner
        .call(Method::GET, &format!("{path}/deliveries"), None)
        .await
        .expect(200);
    assert_eq!(deliveries["deliveries"][0]["id"], delivery);
    assert_eq!(deliveries["deliveries"][0]["event_type"], "webhook.test");
    assert_eq!(deliveries["deliveries"][0]["status"], "pending");
    owner
        .call(
            Method::POST,
            &format!("{path}/deliveries/{delivery}/retry"),
            None,
        )
        .await
        .expect_error(409, "conflict");

    owner.call(Method::DELETE, &path, None).await.expect(204);
    owner.call(Method::GET, &path, None).await.expect(404);

    let log = owner
        .call(
            Method::GET,
            "/api/v1/account/audit-events?action=webhook.",
            None,
        )
        .await
        .expect(200);
    let actions: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "webhook.deleted",
            "webhook.secret_rotated",
            "webhook.updated",
            "webhook.created"
        ]
    );
    let text = log.to_string();
    assert!(!text.contains(&secret[6..]) && !text.contains(&new_secret[6..]));
    assert_eq!(
        log["events"][2]["changes"]["enabled"],
        json!({"from": true, "to": false})
    );
}

#[tokio::test]
async fn only_owners_and_admins_with_sessions_reach_webhooks() {
    let ws = workspace();
    let owner = in_process::user_with(Some(&ws), Some(Role::Owner));
    let made = create(&owner, json!({"url": "https://hooks.example.com/a"})).await;
    let path = format!("{HOOKS}/{}", made["id"].as_str().unwrap());
    let admin = in_process::user_with(Some(&ws), Some(Role::Admin));
    admin.call(Method::GET, &path, None).await.expect(200);
    for role in [Role::Member, Role::Viewer] {
        let user = in_process::user_with(Some(&ws), Some(role));
        user.call(Method::GET, HOOKS, None)
            .await
            .expect_error(403, "forbidden");
        user.call(Method::GET, &path, None)
            .await
            .expect_error(403, "forbidden");
        user.call(
            Method::POST,
            HOOKS,
            Some(json!({"url": "https://a.example.com/"})),
        )
        .await
        .expect_error(403, "forbidden");
    }
    let (_, key) = owner.create_key(json!({"name": "admin key"})).await;
    owner
        .api
        .send(Method::GET, HOOKS, &as_key(&key), None)
        .await
        .expect_error(403, "forbidden");

    let stranger = in_process::user_with(Some(&workspace()), Some(Role::Owner));
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::PATCH, ""),
        (Method::DELETE, ""),
        (Method::POST, "/rotate-secret"),
        (Method::POST, "/test"),
        (Method::GET, "/deliveries"),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"description": "mine now"}));
        stranger
            .call(method.clone(), &format!("{path}{suffix}"), body)
            .await
            .expect_error(404, "not_found");
    }
    owner
        .call(Method::GET, &format!("{path}/nope"), None)
        .await
        .expect(404);
    owner.call(Method::GET, &path, None).await.expect(200);
}

#[tokio::test]
async fn inside_addresses_and_bad_fields_are_refused_when_set() {
    let owner = in_process::user_with(Some(&workspace()), Some(Role::Owner));
    for url in [
        "http://hooks.example.com/",
        "https://10.0.0.1/",
        // (Loopback in every spelling is refused under the deployed policy: the unit tests of
        // `webhooks::url`; here the local allowance admits 127.0.0.1 however it is spelled.)
        "https://[::ffff:10.0.0.1]/",
        "https://167772161/",
        "https://0xa.1/",
        "https://012.0.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://[fe80::1]/",
        "https://192.168.0.10:8443/",
        "https://a.localhost/",
    ] {
        owner
            .call(Method::POST, HOOKS, Some(json!({"url": url})))
            .await
            .expect_invalid(&["url"]);
    }
    owner
        .call(
            Method::POST,
            HOOKS,
            Some(json!({"url": "https://a.example.com/", "events": ["key.created", "key.nope"], "description": "x".repeat(300)})),
        )
        .await
        .expect_invalid(&["description", "events[1]"]);
    owner
        .call(Method::POST, HOOKS, Some(json!({})))
        .await
        .expect_invalid(&["url"]);
    owner
        .call(Method::POST, HOOKS, Some(json!({"url": 7})))
        .await
        .expect(400);
    let made = create(&owner, json!({"url": "https://a.example.com/"})).await;
    owner
        .call(
            Method::PATCH,
            &format!("{HOOKS}/{}", made["id"].as_str().unwrap()),
            Some(json!({"url": "https://172.16.0.1/"})),
        )
        .await
        .expect_invalid(&["url"]);
    owner
        .call(
            Method::GET,
            &format!(
                "{HOOKS}/{}/deliveries?limit=0",
                made["id"].as_str().unwrap()
            ),
            None,
        )
        .await
        .expect_invalid(&["limit"]);
    // The local stack's allowance (which the template never sets) admits the tests' receivers.
    create(&owner, json!({"url": "http://127.0.0.1:9/hook"})).await;
    create(&owner, json!({"url": "http://localhost:9/hook"})).await;
}
