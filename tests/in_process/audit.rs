//! The audit log in process: every key change through every family records one event with its
//! actor, family, request and changes (a refused change records none); the query API's filters,
//! paging and visibility; integrity for owners and admins. Tampering with stored events and
//! racing writers on DynamoDB run on the stack (`tests/it/audit.rs`).

use latchkey_core::auth::Role;
use latchkey_tests::{Auth, User, as_key, in_process};
use reqwest::Method;
use serde_json::{Value, json};

const EVENTS: &str = "/api/v1/account/audit-events";

async fn events(user: &User, query: &str) -> Value {
    user.call(Method::GET, &format!("{EVENTS}{query}"), None)
        .await
        .expect(200)
}

fn actions(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

/// A session's headers with a request id and a user agent of its own.
fn traced(user: &User, request_id: &str) -> Auth {
    let Auth::Bearer(token) = &user.auth else {
        unreachable!("users sign in with a bearer session")
    };
    Auth::Headers(vec![
        ("authorization", format!("Bearer {token}")),
        ("x-request-id", request_id.to_owned()),
        ("user-agent", "audit-test/1.0".to_owned()),
    ])
}

#[tokio::test]
async fn a_key_s_life_is_recorded_change_by_change_newest_first() {
    let owner = in_process::user();
    let made = owner
        .api
        .send(
            Method::POST,
            "/api/v1/account/api-keys",
            &traced(&owner, "req-create-1"),
            Some(json!({"name": "ledger"})),
        )
        .await
        .expect(201);
    let id = made["api_key"]["id"].as_str().unwrap().to_owned();
    let secret = made["api_key"]["api_key"].as_str().unwrap().to_owned();
    let key_path = format!("/api/v1/account/api-keys/{id}");
    owner
        .call(Method::PUT, &key_path, Some(json!({"name": "ledger-2"})))
        .await
        .expect(200);
    let rotated = owner
        .call(
            Method::POST,
            &format!("{key_path}/rotate?grace_period_days=1"),
            None,
        )
        .await
        .expect(201);
    let new_id = rotated["new_key"]["id"]
        .as_str()
        .or_else(|| rotated["api_key"]["id"].as_str())
        .unwrap()
        .to_owned();
    owner
        .call(
            Method::POST,
            &format!("{key_path}/revoke"),
            Some(json!({"reason": "done"})),
        )
        .await
        .expect(200);
    owner
        .call(Method::DELETE, &key_path, None)
        .await
        .expect(200);

    let page = events(&owner, "").await;
    assert_eq!(
        actions(&page),
        [
            "key.deleted",
            "key.revoked",
            "key.rotated",
            "key.updated",
            "key.created"
        ]
    );
    let all = page["events"].as_array().unwrap();
    let created = &all[4];
    assert_eq!(
        created["actor"],
        json!({"type": "user", "id": owner.id, "name": null})
    );
    assert_eq!(created["targets"][0]["id"], id);
    assert_eq!(created["context"]["family"], "native");
    assert_eq!(created["context"]["request_id"], "req-create-1");
    assert_eq!(created["context"]["user_agent"], "audit-test/1.0");
    assert_eq!(created["context"]["ip"], "127.0.0.1");
    assert_eq!(
        created["changes"]["name"],
        json!({"from": null, "to": "ledger"})
    );
    assert_eq!(
        all[3]["changes"]["name"],
        json!({"from": "ledger", "to": "ledger-2"})
    );
    let targets: Vec<&str> = all[2]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(targets, [id.as_str(), new_id.as_str()]);
    assert_eq!(all[1]["changes"]["revocation_reason"]["to"], "done");
    let text = page.to_string();
    assert!(!text.contains(&secret[3..]), "no secret in the log");
    assert!(!text.contains("argon2"), "no hash in the log");

    let one = all[1]["id"].as_str().unwrap();
    let fetched = owner
        .call(Method::GET, &format!("{EVENTS}/{one}"), None)
        .await
        .expect(200);
    assert_eq!(fetched, all[1]);
    let intact = owner
        .call(Method::GET, &format!("{EVENTS}/integrity"), None)
        .await
        .expect(200);
    assert_eq!(
        intact,
        json!({"intact": true, "checked": 5, "first_broken": null})
    );
}

#[tokio::test]
async fn every_family_and_a_key_are_named_as_they_acted() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = in_process::user_with(Some(&workspace), Some(Role::Owner));
    let (acting_id, acting) = owner.create_key(json!({"name": "acting"})).await;
    owner
        .api
        .send(
            Method::POST,
            "/api/v1/account/api-keys",
            &as_key(&acting),
            Some(json!({"name": "by-key"})),
        )
        .await
        .expect(201);
    owner
        .call(
            Method::POST,
            "/auth/api_keys",
            Some(json!({"data": {"type": "api_keys", "attributes": {"name": "lat"}}})),
        )
        .await
        .expect(201);
    owner
        .call(
            Method::POST,
            "/api/auth/api-keys",
            Some(json!({"name": "numind"})),
        )
        .await
        .expect(200);
    owner
        .call(
            Method::POST,
            &format!("/companies/{workspace}/api-keys"),
            Some(json!({"company_id": workspace, "name": "sp", "role_id": 3})),
        )
        .await
        .expect(200);
    let page = events(&owner, "?action=key.created").await;
    let seen: Vec<(String, String)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["context"]["family"].as_str().unwrap().to_owned(),
                e["actor"]["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("spartera".to_owned(), "user".to_owned()),
            ("numind".to_owned(), "user".to_owned()),
            ("latitude.sh".to_owned(), "user".to_owned()),
            ("native".to_owned(), "key".to_owned()),
            ("native".to_owned(), "user".to_owned()),
        ]
    );
    let by_key = events(&owner, &format!("?actor_id={acting_id}")).await;
    assert_eq!(actions(&by_key), ["key.created"]);
    assert_eq!(
        by_key["events"][0]["actor"],
        json!({"type": "key", "id": acting_id, "name": "acting"}),
        "the acting key is named as it is called"
    );
}

#[tokio::test]
async fn filters_and_cursor_pages_find_each_event_once() {
    let owner = in_process::user();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(owner.create_key(json!({"name": format!("k{i}")})).await.0);
    }
    owner
        .call(
            Method::POST,
            &format!("/api/v1/account/api-keys/{}/revoke", ids[2]),
            Some(json!({"reason": "x"})),
        )
        .await
        .expect(200);
    assert_eq!(actions(&events(&owner, "?action=key.").await).len(), 6);
    assert_eq!(
        actions(&events(&owner, "?action=key.revoked").await),
        ["key.revoked"]
    );
    assert!(actions(&events(&owner, "?action=session.").await).is_empty());
    let about = events(&owner, &format!("?target_id={}", ids[2])).await;
    assert_eq!(actions(&about), ["key.revoked", "key.created"]);

    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = events(&owner, &format!("?limit=2{cursor}")).await;
        for event in page["events"].as_array().unwrap() {
            seen.push(event["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "every event once");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first");

    for query in [
        "?limit=0",
        "?limit=201",
        "?since=yesterday",
        "?cursor=not-a-cursor",
        "?action=",
    ] {
        owner
            .call(Method::GET, &format!("{EVENTS}{query}"), None)
            .await
            .expect(400);
    }
}

#[tokio::test]
async fn members_see_their_own_events_and_another_workspace_sees_none() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = in_process::user_with(Some(&workspace), Some(Role::Owner));
    let member = in_process::user_with(Some(&workspace), Some(Role::Member));
    let viewer = in_process::user_with(Some(&workspace), Some(Role::Viewer));
    owner.create_key(json!({"name": "owner's"})).await;
    member.create_key(json!({"name": "member's"})).await;
    assert_eq!(
        actions(&events(&owner, "").await).len(),
        2,
        "owners see the workspace"
    );
    let mine = events(&member, "").await;
    assert_eq!(actions(&mine), ["key.created"]);
    assert_eq!(mine["events"][0]["targets"][0]["name"], "member's");
    assert!(actions(&events(&viewer, "").await).is_empty());
    let owners_event = events(&owner, "").await["events"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for stranger in [&member, &in_process::user()] {
        stranger
            .call(Method::GET, &format!("{EVENTS}/{owners_event}"), None)
            .await
            .expect(404);
    }
    owner
        .call(Method::GET, &format!("{EVENTS}/not-an-id"), None)
        .await
        .expect(404);

    member
        .call(Method::GET, &format!("{EVENTS}/integrity"), None)
        .await
        .expect(403);
    let (_, key) = owner.create_key(json!({"name": "k"})).await;
    owner
        .api
        .send(
            Method::GET,
            &format!("{EVENTS}/integrity"),
            &as_key(&key),
            None,
        )
        .await
        .expect(401);
    for query in [
        "since=soon",
        "since=5251-09-06T23:01:09Z&until=2026-12-07T17:29:50Z",
    ] {
        owner
            .call(Method::GET, &format!("{EVENTS}/integrity?{query}"), None)
            .await
            .expect(400);
    }
}

#[tokio::test]
async fn a_refused_change_records_nothing() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = in_process::user_with(Some(&workspace), Some(Role::Owner));
    let viewer = in_process::user_with(Some(&workspace), Some(Role::Viewer));
    let (id, _) = owner.create_key(json!({"name": "k"})).await;
    viewer
        .call(
            Method::DELETE,
            &format!("/api/v1/account/api-keys/{id}"),
            None,
        )
        .await
        .expect(404);
    owner
        .call(
            Method::POST,
            "/api/v1/account/api-keys",
            Some(json!({"name": ""})),
        )
        .await
        .expect(400);
    owner
        .call(
            Method::POST,
            &format!("/api/v1/account/api-keys/{id}/revoke"),
            Some(json!({})),
        )
        .await
        .expect(400);
    assert_eq!(actions(&events(&owner, "").await), ["key.created"]);
}

#[tokio::test]
async fn a_profile_change_an_erasure_and_an_account_deletion_are_recorded() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let owner = in_process::user_with(Some(&workspace), Some(Role::Owner));
    let member = in_process::user_with(Some(&workspace), Some(Role::Member));
    member
        .call(Method::GET, "/api/v1/account/me", None)
        .await
        .expect(200);
    member
        .api
        .send(
            Method::PUT,
            "/api/v1/account/me",
            &traced(&member, "req-profile-1"),
            Some(json!({"name": "Grace", "timezone": "Europe/Oslo", "bio": "unchanged?"})),
        )
        .await
        .expect(200);
    member
        .call(
            Method::PUT,
            "/api/v1/account/me",
            Some(json!({"bio": null, "timezone": "Europe/Oslo"})),
        )
        .await
        .expect(200);
    owner
        .call(
            Method::POST,
            "/api/v1/account/privacy/erasure",
            Some(json!({"scope": "workspace", "dry_run": true})),
        )
        .await
        .expect(201);
    member
        .call(Method::DELETE, "/api/v1/account/me", None)
        .await
        .expect(204);

    let page = events(&owner, "?action=account.").await;
    assert_eq!(
        actions(&page),
        [
            "account.deleted",
            "account.profile_updated",
            "account.profile_updated"
        ]
    );
    let all = page["events"].as_array().unwrap();
    assert_eq!(all[0]["actor"]["id"], member.id);
    assert_eq!(all[0]["targets"][0]["type"], "user");
    assert_eq!(all[0]["targets"][0]["id"], member.id);
    assert_eq!(
        all[1]["changes"],
        json!({"bio": {"from": "unchanged?", "to": null}}),
        "a cleared field; an unchanged one is not a change"
    );
    let first = &all[2];
    assert_eq!(first["changes"]["name"]["to"], "Grace");
    assert_eq!(
        first["changes"]["timezone"],
        json!({"from": "UTC", "to": "Europe/Oslo"})
    );
    assert_eq!(
        first["changes"]["bio"],
        json!({"from": null, "to": "unchanged?"})
    );
    assert_eq!(first["context"]["request_id"], "req-profile-1");
    assert_eq!(first["context"]["family"], "native");

    let erasures = events(&owner, "?action=erasure.").await;
    assert_eq!(actions(&erasures), ["erasure.requested"]);
    let requested = &erasures["events"][0];
    assert_eq!(requested["actor"]["id"], owner.id);
    assert_eq!(requested["targets"][0]["type"], "erasure_job");
    assert_eq!(requested["changes"]["dry_run"]["to"], true);
    assert_eq!(requested["changes"]["status"]["to"], "completed");
    let intact = owner
        .call(Method::GET, &format!("{EVENTS}/integrity"), None)
        .await
        .expect(200);
    assert_eq!(intact["intact"], true);
}
