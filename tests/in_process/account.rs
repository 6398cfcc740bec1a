//! End-to-end tests of the account family in process: profile, notifications, onboarding, dashboard.

use latchkey_core::auth::Role;
use latchkey_tests::{Api, Auth, as_key, in_process};
use reqwest::Method;
use serde_json::{Value, json};

const ME: &str = "/api/v1/account/me";
const NOTIFICATIONS: &str = "/api/v1/account/notifications";
const ONBOARDING: &str = "/api/v1/account/onboarding/progress";
const DASHBOARD: &str = "/api/v1/account/dashboard/metrics";
const KEYS: &str = "/api/v1/account/api-keys";

#[tokio::test]
async fn health_needs_no_credentials() {
    let reply = Api::in_process()
        .send(Method::GET, "/api/v1/account/health", &Auth::None, None)
        .await;
    assert!(reply.headers.contains_key("x-request-id"));
    assert_eq!(reply.expect(200), json!({"status": "ok"}));
}

#[tokio::test]
async fn the_first_request_provisions_a_profile_with_every_default() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let user = in_process::user_with(Some(&workspace), Some(Role::Admin));
    let me = user.call(Method::GET, ME, None).await.expect(200);
    let expected = json!({
        "id": user.id, "email": format!("{}@example.test", user.id), "name": "Test User", "role": "admin",
        "email_verified": false, "is_staff": false, "is_superuser": false, "bio": null, "avatar_url": null,
        "phone_number": null, "timezone": "UTC", "date_format": "YYYY-MM-DD", "time_format": "24h",
        "email_notifications": true, "webhook_failure_notifications": true, "workflow_failure_notifications": true,
        "usage_alert_notifications": true, "marketing_emails": false, "show_tutorial_tooltips": true,
        "has_completed_tour": false, "default_api_version": "v1", "workspace_role": "admin",
        "workspace_id": workspace, "company": null
    });
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&me[field], value, "{field}: {me}");
    }
    assert!(me["created_at"].is_string() && me["updated_at"].is_string());
}

#[tokio::test]
async fn profile_updates_validate_and_move_updated_at_only() {
    let user = in_process::user();
    let before = user.call(Method::GET, ME, None).await.expect(200);
    in_process::a_moment_passes().await;
    let body = json!({
        "name": "Ada", "bio": "Engineer", "avatar_url": "https://example.com/a.png", "phone_number": "+49 30 1234567",
        "timezone": "Europe/Berlin", "date_format": "DD.MM.YYYY", "time_format": "12h", "marketing_emails": true,
        "show_tutorial_tooltips": false, "has_completed_tour": true, "default_api_version": "v2",
        "not_a_field": "ignored", "is_staff": true
    });
    let updated = user.call(Method::PUT, ME, Some(body)).await.expect(200);
    assert!(updated["message"].is_string());
    let profile = &updated["profile"];
    assert_eq!(profile["name"], "Ada");
    assert_eq!(profile["timezone"], "Europe/Berlin");
    assert_eq!(profile["time_format"], "12h");
    assert_eq!(profile["marketing_emails"], true);
    assert_eq!(profile["is_staff"], false, "not a client-settable field");
    assert_eq!(profile["created_at"], before["created_at"]);
    assert_ne!(profile["updated_at"], before["updated_at"]);
    assert_eq!(user.call(Method::GET, ME, None).await.expect(200), *profile);

    let cleared = user
        .call(Method::PUT, ME, Some(json!({"bio": null})))
        .await
        .expect(200);
    assert!(cleared["profile"]["bio"].is_null());

    let cases: Vec<(Value, &[&str])> = vec![
        (json!({"name": "n".repeat(256)}), &["name"]),
        (json!({"bio": "b".repeat(1001)}), &["bio"]),
        (
            json!({"avatar_url": "javascript:alert(1)"}),
            &["avatar_url"],
        ),
        (
            json!({"avatar_url": format!("https://e.com/{}", "a".repeat(490))}),
            &["avatar_url"],
        ),
        (
            json!({"phone_number": "123456789012345678901"}),
            &["phone_number"],
        ),
        (json!({"timezone": "Atlantis/Capital"}), &["timezone"]),
        (json!({"date_format": "D".repeat(21)}), &["date_format"]),
        (json!({"time_format": "13h"}), &["time_format"]),
        (
            json!({"email_notifications": "yes"}),
            &["email_notifications"],
        ),
        (
            json!({"default_api_version": "v".repeat(11)}),
            &["default_api_version"],
        ),
    ];
    for (body, fields) in cases {
        user.call(Method::PUT, ME, Some(body))
            .await
            .expect_invalid(fields);
    }
    assert_eq!(
        user.call(Method::GET, ME, None).await.expect(200)["name"],
        "Ada"
    );
}

#[tokio::test]
async fn a_key_reads_its_owners_profile_but_read_only_keys_cannot_change_it() {
    let user = in_process::user();
    let (_, key) = user.create_key(json!({"read_only": true})).await;
    let me = user
        .api
        .send(Method::GET, ME, &as_key(&key), None)
        .await
        .expect(200);
    assert_eq!(me["id"], user.id);
    user.api
        .send(Method::PUT, ME, &as_key(&key), Some(json!({"name": "x"})))
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn rotation_and_revocation_notify_the_owner() {
    let (alice, bob) = (in_process::user(), in_process::user());
    let (id, _) = alice.create_key(json!({"name": "payments"})).await;
    alice
        .call(
            Method::POST,
            &format!("{KEYS}/{id}/rotate?grace_period_days=2"),
            None,
        )
        .await
        .expect(201);
    in_process::a_moment_passes().await;
    alice
        .call(
            Method::POST,
            &format!("{KEYS}/{id}/revoke"),
            Some(json!({"reason": "leaked"})),
        )
        .await
        .expect(200);

    let list = alice
        .call(Method::GET, NOTIFICATIONS, None)
        .await
        .expect(200);
    let kinds: Vec<&str> = list["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["api_key.revoked", "api_key.rotated"],
        "newest first"
    );
    assert_eq!(list["unread_count"], 2);
    assert!(list["next_cursor"].is_null());
    let revoked = &list["notifications"][0];
    for field in [
        "id",
        "type",
        "title",
        "message",
        "is_read",
        "created_at",
        "read_at",
        "data",
    ] {
        assert!(revoked.get(field).is_some(), "{field}");
    }
    assert_eq!(revoked["data"]["api_key_id"], id);
    assert_eq!(revoked["is_read"], false);

    let theirs = bob.call(Method::GET, NOTIFICATIONS, None).await.expect(200);
    assert_eq!(
        theirs["notifications"],
        json!([]),
        "users never see each other's notifications"
    );
    let alices = revoked["id"].as_str().unwrap();
    bob.call(
        Method::POST,
        &format!("{NOTIFICATIONS}/{alices}/read"),
        None,
    )
    .await
    .expect_error(404, "not_found");
    bob.call(
        Method::POST,
        &format!("{NOTIFICATIONS}/not-a-uuid/read"),
        None,
    )
    .await
    .expect_error(404, "not_found");

    let read = alice
        .call(
            Method::POST,
            &format!("{NOTIFICATIONS}/{alices}/read"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(read["id"], alices);
    let again = alice
        .call(
            Method::POST,
            &format!("{NOTIFICATIONS}/{alices}/read"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(again["id"], alices, "marking read twice is fine");
    let unread = alice
        .call(
            Method::GET,
            &format!("{NOTIFICATIONS}?unread_only=true"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(unread["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(unread["unread_count"], 1);
    let all = alice
        .call(Method::GET, NOTIFICATIONS, None)
        .await
        .expect(200);
    assert_eq!(all["notifications"][0]["is_read"], true);
    assert!(all["notifications"][0]["read_at"].is_string());
}

#[tokio::test]
async fn notifications_page_with_a_cursor_and_validate_the_query() {
    let user = in_process::user();
    for i in 0..5 {
        let (id, _) = user.create_key(json!({"name": format!("k{i}")})).await;
        user.call(
            Method::POST,
            &format!("{KEYS}/{id}/revoke"),
            Some(json!({"reason": "r"})),
        )
        .await
        .expect(200);
    }
    let first = user
        .call(Method::GET, &format!("{NOTIFICATIONS}?limit=2"), None)
        .await
        .expect(200);
    let mut seen: Vec<String> = first["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = user
            .call(
                Method::GET,
                &format!("{NOTIFICATIONS}?limit=2&cursor={c}"),
                None,
            )
            .await
            .expect(200);
        seen.extend(
            page["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned()),
        );
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first, no repeats");
    for bad in [
        "limit=0",
        "limit=101",
        "limit=x",
        "cursor=%21%21",
        "unread_only=maybe",
    ] {
        user.call(Method::GET, &format!("{NOTIFICATIONS}?{bad}"), None)
            .await
            .expect_error(400, "validation_error");
    }
}

fn steps(progress: &Value) -> Vec<(String, bool)> {
    progress["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["completed"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The checklist fills itself while a user goes through the key lifecycle.
#[tokio::test]
async fn onboarding_fills_itself_through_the_key_lifecycle() {
    let user = in_process::user();
    let fresh = user.call(Method::GET, ONBOARDING, None).await.expect(200);
    assert_eq!(fresh["completed_steps"], 0);
    assert_eq!(fresh["total_steps"], 5);
    assert_eq!(fresh["completion_percentage"], 0);
    assert!(fresh["completed_at"].is_null() && fresh["dismissed"] == false);
    let ids: Vec<String> = steps(&fresh).into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        [
            "created_api_key",
            "verified_first_request",
            "set_key_expiration",
            "rotated_api_key",
            "configured_notifications"
        ]
    );

    let (id, key) = user.create_key(json!({})).await;
    let after_create = user.call(Method::GET, ONBOARDING, None).await.expect(200);
    assert_eq!(steps(&after_create)[0], ("created_api_key".into(), true));
    assert_eq!(after_create["completion_percentage"], 20);

    user.api
        .send(
            Method::POST,
            "/api/v1/keys/verify",
            &Auth::None,
            Some(json!({"key": key})),
        )
        .await
        .expect(200);
    let in_a_week =
        latchkey_core::timestamp::format(chrono::Utc::now() + chrono::Duration::days(7));
    user.call(
        Method::PATCH,
        &format!("{KEYS}/{id}/expiration?expires_at={in_a_week}"),
        None,
    )
    .await
    .expect(200);
    user.call(Method::POST, &format!("{KEYS}/{id}/rotate"), None)
        .await
        .expect(201);
    let four = user.call(Method::GET, ONBOARDING, None).await.expect(200);
    assert_eq!(four["completed_steps"], 4, "{four}");
    assert!(four["completed_at"].is_null());
    user.call(
        Method::PUT,
        ME,
        Some(json!({"usage_alert_notifications": false})),
    )
    .await
    .expect(200);
    let done = user.call(Method::GET, ONBOARDING, None).await.expect(200);
    assert_eq!(done["completed_steps"], 5);
    assert_eq!(done["completion_percentage"], 100);
    assert!(done["completed_at"].is_string());
    assert!(
        done["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["completed_at"].is_string())
    );
}

#[tokio::test]
async fn onboarding_steps_by_hand_dismissal_and_isolation() {
    let (user, other) = (in_process::user(), in_process::user());
    let marked = user
        .call(
            Method::POST,
            ONBOARDING,
            Some(json!({"step": "rotated_api_key"})),
        )
        .await
        .expect(200);
    assert_eq!(marked["completed_steps"], 1);
    let first_time = marked["steps"][3]["completed_at"].clone();
    let again = user
        .call(
            Method::POST,
            ONBOARDING,
            Some(json!({"step": "rotated_api_key"})),
        )
        .await
        .expect(200);
    assert_eq!(
        again["steps"][3]["completed_at"], first_time,
        "a step's time never moves"
    );
    user.call(
        Method::POST,
        ONBOARDING,
        Some(json!({"step": "made_coffee"})),
    )
    .await
    .expect_invalid(&["step"]);
    user.call(Method::POST, ONBOARDING, Some(json!({})))
        .await
        .expect_invalid(&["step"]);
    user.call(Method::POST, ONBOARDING, Some(json!({"step": 3})))
        .await
        .expect_invalid(&["step"]);

    let dismissed = user
        .call(Method::POST, "/api/v1/account/onboarding/dismiss", None)
        .await
        .expect(200);
    assert_eq!(dismissed["dismissed"], true);
    let at = dismissed["dismissed_at"].clone();
    let still = user
        .call(Method::POST, "/api/v1/account/onboarding/dismiss", None)
        .await
        .expect(200);
    assert_eq!(
        still["dismissed_at"], at,
        "dismissal is permanent and set once"
    );
    assert_eq!(
        user.call(Method::GET, ONBOARDING, None).await.expect(200)["dismissed"],
        true
    );

    let theirs = other.call(Method::GET, ONBOARDING, None).await.expect(200);
    assert_eq!(theirs["completed_steps"], 0);
    assert_eq!(theirs["dismissed"], false);

    let (_, key) = user.create_key(json!({})).await;
    user.api
        .send(Method::GET, ONBOARDING, &as_key(&key), None)
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn concurrent_step_completions_are_never_lost() {
    let user = in_process::user();
    let mut tasks = tokio::task::JoinSet::new();
    for step in [
        "created_api_key",
        "verified_first_request",
        "set_key_expiration",
        "rotated_api_key",
        "configured_notifications",
    ] {
        let user = user.clone();
        tasks.spawn(async move {
            user.call(Method::POST, ONBOARDING, Some(json!({"step": step})))
                .await
                .expect(200)
        });
    }
    tasks.join_all().await;
    let done = user.call(Method::GET, ONBOARDING, None).await.expect(200);
    assert_eq!(done["completed_steps"], 5, "{done}");
    assert!(done["completed_at"].is_string());
}

/// The dashboard's figures match the verifications this test made.
#[tokio::test]
async fn dashboard_metrics_match_the_verifications() {
    let user = in_process::user();
    let empty = user.call(Method::GET, DASHBOARD, None).await.expect(200);
    assert_eq!(empty["time_range"], "today");
    assert_eq!(empty["requests_total"], 0);
    assert!(empty["request_success"]["success_rate"].is_null());
    assert!(empty["comparison"]["change"]["requests_total"].is_null());

    let (_, key) = user.create_key(json!({"permissions": ["read"]})).await;
    user.create_key(json!({})).await;
    let verify = |body: Value| {
        let api = user.api.clone();
        async move {
            api.send(Method::POST, "/api/v1/keys/verify", &Auth::None, Some(body))
                .await
                .expect(200)
        }
    };
    for _ in 0..3 {
        verify(json!({"key": key})).await;
    }
    verify(json!({"key": key, "permissions": ["admin"]})).await;
    for range in ["today", "7d", "30d"] {
        let m = user
            .call(
                Method::GET,
                &format!("{DASHBOARD}?time_range={range}"),
                None,
            )
            .await
            .expect(200);
        assert_eq!(m["time_range"], range);
        assert_eq!(m["active_keys"], 2);
        assert_eq!(m["requests_total"], 4, "{m}");
        assert_eq!(
            m["request_success"],
            json!({"successful": 3, "total": 4, "success_rate": 75.0})
        );
        assert_eq!(m["failed_attempts"], 1);
        assert_eq!(m["comparison"]["requests_total"], 0);
        assert!(
            m["comparison"]["change"]["requests_total"].is_null(),
            "previous figure 0: null"
        );
        assert!(m["period_start"].is_string() && m["period_end"].is_string());
        assert!(m["comparison"]["period_end"] == m["period_start"], "{m}");
    }
    let today = chrono::Utc::now().date_naive();
    let start = today - chrono::Duration::days(3);
    let custom = user
        .call(
            Method::GET,
            &format!("{DASHBOARD}?time_range=custom&start_date={start}&end_date={today}"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(custom["requests_total"], 4);
    let other = in_process::user();
    assert_eq!(
        other.call(Method::GET, DASHBOARD, None).await.expect(200)["requests_total"],
        0,
        "metrics are per user"
    );
}

#[tokio::test]
async fn dashboard_validates_ranges_and_refuses_keys() {
    let user = in_process::user();
    for bad in [
        "time_range=1y",
        "time_range=custom",
        "time_range=custom&start_date=2026-01-01",
        "time_range=custom&start_date=2026-02-01&end_date=2026-01-01",
        "time_range=custom&start_date=2024-01-01&end_date=2026-01-01",
        "time_range=custom&start_date=soon&end_date=2026-01-01",
        // Found by the contract fuzzing: a malformed date was ignored outside `custom`.
        "start_date=",
        "time_range=7d&end_date=tomorrow",
    ] {
        user.call(Method::GET, &format!("{DASHBOARD}?{bad}"), None)
            .await
            .expect_error(400, "validation_error");
    }
    let (_, key) = user.create_key(json!({})).await;
    user.api
        .send(Method::GET, DASHBOARD, &as_key(&key), None)
        .await
        .expect_error(403, "forbidden");
}
