//! The latitude.sh family (`/auth/api_keys`) in process: a key's life in JSON:API, the same key
//! seen and used through the native API, the family's content type and error documents, and
//! isolation between users. (`tests/sdk/test_latitude.py` drives the same routes with
//! latitude.sh's own SDK.)

use latchkey_core::auth::Role;
use latchkey_tests::{Auth, Reply, User, in_process};
use reqwest::Method;
use serde_json::{Value, json};

const KEYS: &str = "/auth/api_keys";
const JSON_API: &str = "application/vnd.api+json";

fn key_path(id: &str) -> String {
    format!("{KEYS}/{id}")
}

/// The key alone in `Authorization`, as latitude.sh's clients send it.
fn bare(key: &str) -> Auth {
    Auth::Header("authorization", key.to_owned())
}

/// Asserts latitude.sh's content type and `status`, and returns the body.
#[track_caller]
fn document(reply: Reply, status: u16) -> Value {
    assert_eq!(
        reply.headers["content-type"], JSON_API,
        "content type of {}",
        reply.body
    );
    reply.expect(status)
}

/// Asserts a JSON:API error document of `status` with `code` in its first error.
#[track_caller]
fn error(reply: Reply, status: u16, code: &str) -> Value {
    let body = document(reply, status);
    let first = &body["errors"][0];
    assert_eq!(first["status"], status.to_string(), "{body}");
    assert_eq!(first["code"], code, "{body}");
    assert!(
        first["title"].is_string() && first["detail"].is_string(),
        "{body}"
    );
    body
}

async fn verify(user: &User, key: &str, ip: &str) -> Value {
    user.api
        .send(
            Method::POST,
            "/api/v1/keys/verify",
            &Auth::None,
            Some(json!({"key": key, "ip": ip})),
        )
        .await
        .expect(200)
}

#[tokio::test]
async fn a_key_s_life_in_json_api_is_the_same_key_everywhere() {
    let user = in_process::user();
    let created = document(
        user.call(
            Method::POST,
            KEYS,
            Some(json!({"data": {"type": "api_keys", "attributes": {
                "name": " edge ", "allowed_ips": ["10.1.2.3/8", "127.0.0.1"], "unknown": 1}}})),
        )
        .await,
        201,
    );
    let data = &created["data"];
    let id = data["id"].as_str().unwrap().to_owned();
    let token = data["attributes"]["token"].as_str().unwrap().to_owned();
    assert_eq!(data["type"], "api_keys");
    let attributes = &data["attributes"];
    assert_eq!(attributes["name"], "edge");
    assert_eq!(attributes["api_version"], "2023-06-01");
    assert_eq!(attributes["token_last_slice"], token[token.len() - 5..]);
    assert_eq!(attributes["read_only"], false);
    assert_eq!(
        attributes["allowed_ips"],
        json!(["10.0.0.0/8", "127.0.0.1"])
    );
    assert_eq!(attributes["last_used_at"], Value::Null);
    assert_eq!(attributes["user"]["id"], user.id);
    assert_eq!(
        attributes["user"]["email"],
        format!("{}@example.test", user.id)
    );

    // The native API sees the same key, and it verifies.
    let native = user.key(&id).await;
    assert_eq!(native["name"], "edge");
    assert_eq!(verify(&user, &token, "10.9.9.9").await["code"], "VALID");
    assert_eq!(
        verify(&user, &token, "192.0.2.1").await["code"],
        "FORBIDDEN"
    );

    // Listed with the key itself, bare in Authorization: no token, its last slice, its use.
    let listed = document(
        user.api.send(Method::GET, KEYS, &bare(&token), None).await,
        200,
    );
    assert_eq!(listed["meta"], json!({}));
    let mine = &listed["data"][0];
    assert_eq!(mine["id"], id);
    assert!(mine["attributes"].get("token").is_none(), "{mine}");
    assert!(mine["attributes"]["last_used_at"].is_string(), "{mine}");

    let patched = document(
        user.call(
            Method::PATCH,
            &key_path(&id),
            Some(
                json!({"data": {"type": "api_keys", "id": id, "attributes": {"name": "renamed"}}}),
            ),
        )
        .await,
        200,
    );
    assert_eq!(patched["data"]["attributes"]["name"], "renamed");
    assert_eq!(
        patched["data"]["attributes"]["allowed_ips"],
        json!(["10.0.0.0/8", "127.0.0.1"])
    );
    assert!(patched["data"]["attributes"].get("token").is_none());

    // PUT: a new token for the same key, the attributes sent applied in the same write.
    let regenerated = document(
        user.call(
            Method::PUT,
            &key_path(&id),
            Some(json!({"data": {"type": "api_keys", "attributes": {"read_only": true}}})),
        )
        .await,
        200,
    );
    let new_token = regenerated["data"]["attributes"]["token"].as_str().unwrap();
    assert_eq!(regenerated["data"]["id"], id);
    assert_ne!(new_token, token);
    assert_eq!(regenerated["data"]["attributes"]["read_only"], true);
    assert_eq!(regenerated["data"]["attributes"]["name"], "renamed");
    latchkey_tests::in_process::past_the_cache_bound().await;
    assert_eq!(verify(&user, &token, "10.9.9.9").await["code"], "NOT_FOUND");
    assert_eq!(verify(&user, new_token, "10.9.9.9").await["code"], "VALID");

    // A PUT with no body regenerates and changes nothing else.
    let again = document(user.call(Method::PUT, &key_path(&id), None).await, 200);
    assert_ne!(again["data"]["attributes"]["token"], new_token);
    assert_eq!(again["data"]["attributes"]["read_only"], true);

    let deleted = user.call(Method::DELETE, &key_path(&id), None).await;
    assert_eq!(deleted.status.as_u16(), 200);
    assert_eq!(deleted.body, Value::Null, "an empty body");
    user.call(Method::GET, &format!("/api/v1/account/api-keys/{id}"), None)
        .await
        .expect_error(404, "not_found");
    error(
        user.call(Method::DELETE, &key_path(&id), None).await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn a_create_without_data_takes_the_defaults_and_the_native_key_shows_here() {
    let user = in_process::user();
    let created = document(user.call(Method::POST, KEYS, None).await, 201);
    assert_eq!(created["data"]["attributes"]["name"], "Default");
    assert_eq!(created["data"]["attributes"]["allowed_ips"], json!([]));
    in_process::a_moment_passes().await;
    let (native_id, native_key) = user.create_key(json!({"name": "native"})).await;
    let listed = document(user.call(Method::GET, KEYS, None).await, 200);
    let names: Vec<&Value> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["attributes"]["name"])
        .collect();
    assert_eq!(names, [&json!("native"), &json!("Default")], "newest first");
    assert_eq!(listed["data"][0]["id"], native_id);
    assert_eq!(
        listed["data"][0]["attributes"]["token_last_slice"],
        native_key[native_key.len() - 5..]
    );
}

#[tokio::test]
async fn bad_documents_are_json_api_errors() {
    let user = in_process::user();
    let (id, _) = user.create_key(json!({})).await;
    let other_id = uuid::Uuid::new_v4().to_string();
    let conflicts = [
        (
            Method::POST,
            KEYS.to_owned(),
            json!({"data": {"type": "servers"}}),
        ),
        (
            Method::POST,
            KEYS.to_owned(),
            json!({"data": {"type": "api_keys", "id": id}}),
        ),
        (
            Method::PATCH,
            key_path(&id),
            json!({"data": {"type": "api_keys", "id": other_id}}),
        ),
        (
            Method::PUT,
            key_path(&id),
            json!({"data": {"type": "ssh_keys", "id": id}}),
        ),
    ];
    for (method, path, body) in conflicts {
        error(user.call(method, &path, Some(body)).await, 409, "conflict");
    }
    let invalid = error(
        user.call(
            Method::PATCH,
            &key_path(&id),
            Some(json!({"data": {"type": "api_keys", "attributes": {
                "name": " ", "allowed_ips": ["10.0.0.1", "nope"]}}})),
        )
        .await,
        400,
        "validation_error",
    );
    let pointers: Vec<&Value> = invalid["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["source"]["pointer"])
        .collect();
    assert_eq!(
        pointers,
        [
            &json!("/data/attributes/name"),
            &json!("/data/attributes/allowed_ips/1")
        ]
    );
    for body in [
        json!({"data": {"type": 7}}),
        json!({"data": {"type": "api_keys", "attributes": {"read_only": "yes"}}}),
        json!([]),
    ] {
        error(
            user.call(Method::POST, KEYS, Some(body)).await,
            400,
            "validation_error",
        );
    }
    let unauthenticated = user.api.send(Method::GET, KEYS, &Auth::None, None).await;
    assert!(unauthenticated.headers.contains_key("www-authenticate"));
    error(unauthenticated, 401, "unauthenticated");
    error(
        user.call(Method::PATCH, &key_path("not-a-uuid"), None)
            .await,
        404,
        "not_found",
    );
    assert_eq!(
        user.key(&id).await["name"],
        "Default",
        "nothing was written"
    );
}

#[tokio::test]
async fn another_user_s_keys_are_404_and_keys_cannot_escalate() {
    let owner = in_process::user();
    let stranger = in_process::user();
    let (id, key) = owner
        .create_key(json!({"read_only": true, "allowed_ips": ["127.0.0.0/8"]}))
        .await;
    let listed = document(stranger.call(Method::GET, KEYS, None).await, 200);
    assert_eq!(listed["data"], json!([]));
    for method in [Method::PATCH, Method::PUT, Method::DELETE] {
        error(
            stranger.call(method, &key_path(&id), None).await,
            404,
            "not_found",
        );
    }

    // The read-only key, bare in Authorization: it may read, not write.
    let as_key = bare(&key);
    document(owner.api.send(Method::GET, KEYS, &as_key, None).await, 200);
    error(
        owner.api.send(Method::POST, KEYS, &as_key, None).await,
        403,
        "forbidden",
    );
    // A writable key restricted to one network cannot make or widen a key past it.
    let (_, narrow) = owner
        .create_key(json!({"allowed_ips": ["127.0.0.0/8"]}))
        .await;
    let as_narrow = bare(&narrow);
    let wide = json!({"data": {"type": "api_keys", "attributes": {"allowed_ips": ["0.0.0.0/0"]}}});
    error(
        owner
            .api
            .send(Method::POST, KEYS, &as_narrow, Some(wide.clone()))
            .await,
        403,
        "forbidden",
    );
    error(
        owner
            .api
            .send(Method::PUT, &key_path(&id), &as_narrow, Some(wide))
            .await,
        403,
        "forbidden",
    );
    assert_eq!(
        owner.key(&id).await["masked_key"],
        format!("sk_****{}", &key[key.len() - 4..]),
        "a refused regenerate wrote nothing"
    );
}

/// A workspace's owners and admins see and manage every key made in it; members and viewers
/// only their own; another workspace's admin none. The native API stays the caller's own keys.
#[tokio::test]
async fn owners_and_admins_manage_their_workspace_s_keys() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let in_workspace = |role| in_process::user_with(Some(&workspace), Some(role));
    let (owner, admin, member, viewer) = (
        in_workspace(Role::Owner),
        in_workspace(Role::Admin),
        in_workspace(Role::Member),
        in_workspace(Role::Viewer),
    );
    let outsider =
        in_process::user_with(Some(&uuid::Uuid::new_v4().to_string()), Some(Role::Admin));
    let (member_key, _) = member.create_key(json!({"name": "member's"})).await;
    let (viewer_key, _) = viewer.create_key(json!({"name": "viewer's"})).await;
    let (owner_key, _) = owner.create_key(json!({"name": "owner's"})).await;
    let ids = |user: User| async move {
        let listed = document(user.call(Method::GET, KEYS, None).await, 200);
        let mut ids: Vec<String> = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let mut everyone = vec![member_key.clone(), viewer_key.clone(), owner_key.clone()];
    everyone.sort();
    assert_eq!(ids(owner.clone()).await, everyone);
    assert_eq!(ids(admin.clone()).await, everyone);
    assert_eq!(ids(member.clone()).await, std::slice::from_ref(&member_key));
    assert_eq!(ids(viewer.clone()).await, std::slice::from_ref(&viewer_key));
    assert!(ids(outsider.clone()).await.is_empty());

    // Each key shows its own owner.
    let listed = document(admin.call(Method::GET, KEYS, None).await, 200);
    let shown = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == member_key)
        .unwrap()
        .clone();
    assert_eq!(shown["attributes"]["user"]["id"], member.id);
    assert_eq!(
        shown["attributes"]["user"]["email"],
        format!("{}@example.test", member.id)
    );

    let rename =
        json!({"data": {"type": "api_keys", "attributes": {"name": "renamed by the admin"}}});
    let renamed = document(
        admin
            .call(Method::PATCH, &key_path(&member_key), Some(rename.clone()))
            .await,
        200,
    );
    assert_eq!(
        renamed["data"]["attributes"]["name"],
        "renamed by the admin"
    );
    assert_eq!(
        member.key(&member_key).await["name"],
        "renamed by the admin"
    );
    error(
        member
            .call(Method::PATCH, &key_path(&owner_key), Some(rename.clone()))
            .await,
        404,
        "not_found",
    );
    error(
        outsider
            .call(Method::DELETE, &key_path(&member_key), None)
            .await,
        404,
        "not_found",
    );
    // The native API is each user's own keys, admins included.
    admin
        .call(
            Method::GET,
            &format!("/api/v1/account/api-keys/{member_key}"),
            None,
        )
        .await
        .expect_error(404, "not_found");
    let deleted = owner
        .call(Method::DELETE, &key_path(&viewer_key), None)
        .await;
    assert_eq!(deleted.status.as_u16(), 200);
    assert_eq!(ids(viewer).await, Vec::<String>::new());
}
