//! End-to-end tests of the API-keys family in process through `cargo lambda watch`.

use latchkey_core::auth::Role;
use latchkey_tests::{Api, Auth, as_key, in_process};
use reqwest::Method;
use serde_json::{Value, json};

const KEYS: &str = "/api/v1/account/api-keys";

fn key_path(id: &str, rest: &str) -> String {
    format!("{KEYS}/{id}{rest}")
}

fn in_days(days: i64) -> String {
    latchkey_core::timestamp::format(chrono::Utc::now() + chrono::Duration::days(days))
}

fn assert_no_secret(value: &Value) {
    let text = value.to_string();
    assert!(!text.contains("\"api_key\":\"sk_"), "secret leaked: {text}");
    assert!(!text.contains("argon2"), "hash leaked: {text}");
    assert!(!text.contains("secret_hash"), "hash field leaked: {text}");
}

#[tokio::test]
async fn create_returns_the_secret_once_with_contract_fields() {
    let user = in_process::user();
    let created = user
        .call(
            Method::POST,
            KEYS,
            Some(json!({"name": "ci", "permissions": ["read", "write"], "description": "for CI"})),
        )
        .await
        .expect(201);
    let detail = &created["api_key"];
    assert!(created["message"].is_string());
    for field in [
        "id",
        "name",
        "api_key",
        "created_at",
        "read_only",
        "description",
        "permissions",
    ] {
        assert!(detail.get(field).is_some(), "missing {field}: {created}");
    }
    let secret = detail["api_key"].as_str().unwrap();
    assert!(secret.starts_with("sk_") && secret.len() == 75, "{secret}");
    assert_eq!(detail["permissions"], json!(["read", "write"]));
    assert!(detail["created_at"].as_str().unwrap().ends_with('Z'));

    let id = detail["id"].as_str().unwrap();
    let shown = user.key(id).await;
    assert_no_secret(&shown);
    assert_eq!(shown["status"], "active");
    assert_eq!(
        shown["masked_key"],
        format!("sk_****{}", &secret[secret.len() - 4..])
    );
    assert_eq!(shown["key_prefix"], &secret[..11]);
    assert_eq!(shown["usage_count"], 0);
    assert_eq!(shown["rate_limit_per_hour"], 1000);
    assert!(shown["workspace_id"].is_string());
    for field in [
        "last_used_at",
        "expires_at",
        "revoked_at",
        "revocation_reason",
        "rotated_to",
        "rotated_from",
    ] {
        assert!(shown[field].is_null(), "{field}: {shown}");
    }
    let listed = user.call(Method::GET, KEYS, None).await.expect(200);
    assert_no_secret(&listed);
}

#[tokio::test]
async fn create_applies_defaults_to_an_empty_body() {
    let user = in_process::user();
    let created = user.call(Method::POST, KEYS, None).await.expect(201);
    assert_eq!(created["api_key"]["name"], "Default");
    assert_eq!(created["api_key"]["permissions"], json!([]));
    assert_eq!(created["api_key"]["read_only"], false);
    assert!(created["api_key"]["description"].is_null());
    // Found by the contract fuzzing: the document calls the body optional, so `null` is no body.
    let created = user
        .call(Method::POST, KEYS, Some(Value::Null))
        .await
        .expect(201);
    assert_eq!(created["api_key"]["name"], "Default");
    // Also found by it: a body of only whitespace is not "no body" but malformed JSON.
    user.call(Method::POST, KEYS, Some(Value::String("\r\n ".into())))
        .await
        .expect_error(400, "validation_error");
}

#[tokio::test]
async fn create_rejects_each_invalid_field() {
    let user = in_process::user();
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({"name": "x".repeat(101)}), &["name"]),
        (json!({"name": "   "}), &["name"]),
        (json!({"name": 5}), &["name"]),
        (
            json!({"permissions": ["ok", "bad perm"]}),
            &["permissions[1]"],
        ),
        (json!({"permissions": "read"}), &["permissions"]),
        (json!({"read_only": "yes"}), &["read_only"]),
        (json!({"description": "d".repeat(501)}), &["description"]),
        (
            json!({"expires_at": "2001-01-01T00:00:00Z"}),
            &["expires_at"],
        ),
        (json!({"expires_at": "next week"}), &["expires_at"]),
        (json!({"rate_limit_per_hour": 0}), &["rate_limit_per_hour"]),
        (
            json!({"rate_limit_per_hour": 1001}),
            &["rate_limit_per_hour"],
        ),
        (
            json!({"rate_limit_per_hour": 1.5}),
            &["rate_limit_per_hour"],
        ),
        (
            json!({"allowed_ips": ["10.0.0.0/8", "not-an-ip"]}),
            &["allowed_ips[1]"],
        ),
        (
            json!({"rate_limit": {"limit": 0, "window": "fortnight"}}),
            &["rate_limit.limit", "rate_limit.window"],
        ),
        (
            json!({"rate_limit": {"limit": 10_000_001, "window": "day"}}),
            &["rate_limit.limit"],
        ),
        (
            json!({"rate_limit": {"limit": "5", "window": "hour"}}),
            &["rate_limit.limit"],
        ),
        (json!({"rate_limit": {"limit": 5}}), &["rate_limit"]),
        (
            json!({"rate_limit": {"limit": 5, "window": "hour", "exact": "yes"}}),
            &["rate_limit.exact"],
        ),
        (json!({"rate_limit": "hour"}), &["rate_limit"]),
        (
            json!({"rate_limit": null, "rate_limit_per_hour": 10}),
            &["rate_limit"],
        ),
    ];
    for (body, fields) in cases {
        user.call(Method::POST, KEYS, Some(body))
            .await
            .expect_invalid(fields);
    }
    for raw in ["{", "[]", "\"text\"", "{\"name\": }"] {
        user.call(Method::POST, KEYS, Some(Value::String(raw.into())))
            .await
            .expect_error(400, "validation_error");
    }
    let listed = user.call(Method::GET, KEYS, None).await.expect(200);
    assert_eq!(listed, json!([]), "no partial writes");
}

#[tokio::test]
async fn create_accepts_the_limits() {
    let user = in_process::user();
    let body = json!({
        "name": "n".repeat(100), "description": "d".repeat(500), "rate_limit_per_hour": 1,
        "expires_at": in_days(10), "allowed_ips": ["10.1.2.3/8", "2001:db8::/32", "192.0.2.1"]
    });
    let (id, _) = user.create_key(body).await;
    let shown = user.key(&id).await;
    assert_eq!(
        shown["allowed_ips"],
        json!(["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"])
    );
    assert_eq!(shown["rate_limit_per_hour"], 1);
    assert!(shown["expires_at"].is_string());
}

#[tokio::test]
async fn list_shows_only_the_callers_keys_newest_first() {
    let (alice, bob) = (in_process::user(), in_process::user());
    // Created within one second: milliseconds order them.
    let (first, _) = alice.create_key(json!({"name": "first"})).await;
    in_process::a_moment_passes().await;
    let (second, _) = alice.create_key(json!({"name": "second"})).await;
    bob.create_key(json!({"name": "bob's"})).await;
    let listed = alice.call(Method::GET, KEYS, None).await.expect(200);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.as_str(), first.as_str()]);
}

#[tokio::test]
async fn another_users_key_is_a_404_everywhere() {
    let (alice, bob) = (in_process::user(), in_process::user());
    let (id, _) = alice.create_key(json!({})).await;
    let attempts = [
        (Method::GET, key_path(&id, ""), None),
        (
            Method::PUT,
            key_path(&id, ""),
            Some(json!({"name": "mine"})),
        ),
        (Method::DELETE, key_path(&id, ""), None),
        (Method::POST, key_path(&id, "/regenerate"), None),
        (Method::POST, key_path(&id, "/rotate"), None),
        (
            Method::PATCH,
            key_path(&id, "/expiration?expires_at="),
            None,
        ),
        (
            Method::POST,
            key_path(&id, "/revoke"),
            Some(json!({"reason": "x"})),
        ),
        (Method::GET, key_path(&id, "/stats"), None),
    ];
    for (method, path, body) in attempts {
        bob.call(method.clone(), &path, body)
            .await
            .expect_error(404, "not_found");
    }
    let untouched = alice.key(&id).await;
    assert_eq!(untouched["status"], "active");
    assert_eq!(untouched["name"], "Default");
    for bad in ["not-a-uuid", "00000000-0000-0000-0000-000000000000"] {
        alice
            .call(Method::GET, &key_path(bad, ""), None)
            .await
            .expect_error(404, "not_found");
    }
}

#[tokio::test]
async fn update_changes_settings_and_validates() {
    let user = in_process::user();
    let (id, _) = user.create_key(json!({"description": "old"})).await;
    let updated = user
        .call(
            Method::PUT,
            &key_path(&id, ""),
            Some(
                json!({"name": "renamed", "permissions": ["a"], "rate_limit_per_hour": 10,
                        "read_only": true, "description": null, "allowed_ips": ["127.0.0.1"]}),
            ),
        )
        .await
        .expect(200);
    assert!(updated["message"].is_string());
    let key = &updated["api_key"];
    assert_eq!(key["name"], "renamed");
    assert_eq!(key["permissions"], json!(["a"]));
    assert_eq!(key["rate_limit_per_hour"], 10);
    assert_eq!(key["read_only"], true);
    assert!(key["description"].is_null());
    assert_eq!(key["allowed_ips"], json!(["127.0.0.1"]));
    assert_eq!(user.key(&id).await, *key);

    let cases: Vec<(Value, &[&str])> = vec![
        (json!({"name": ""}), &["name"]),
        (
            json!({"rate_limit_per_hour": 5000}),
            &["rate_limit_per_hour"],
        ),
        (json!({"is_active": "no"}), &["is_active"]),
        (json!({"allowed_ips": ["999.0.0.1"]}), &["allowed_ips[0]"]),
        (json!({"description": "d".repeat(501)}), &["description"]),
    ];
    for (body, fields) in cases {
        user.call(Method::PUT, &key_path(&id, ""), Some(body))
            .await
            .expect_invalid(fields);
    }
    assert_eq!(
        user.key(&id).await["name"],
        "renamed",
        "a rejected update writes nothing"
    );
}

#[tokio::test]
async fn disabling_a_key_stops_it_and_enabling_restores_it() {
    let user = in_process::user();
    let (id, secret) = user.create_key(json!({})).await;
    user.api
        .send(Method::GET, KEYS, &as_key(&secret), None)
        .await
        .expect(200);
    let off = user
        .call(
            Method::PUT,
            &key_path(&id, ""),
            Some(json!({"is_active": false})),
        )
        .await
        .expect(200);
    assert_eq!(off["api_key"]["status"], "disabled");
    latchkey_tests::in_process::past_the_cache_bound().await;
    user.api
        .send(Method::GET, KEYS, &as_key(&secret), None)
        .await
        .expect_error(401, "unauthenticated");
    user.call(
        Method::PUT,
        &key_path(&id, ""),
        Some(json!({"is_active": true})),
    )
    .await
    .expect(200);
    latchkey_tests::in_process::past_the_cache_bound().await;
    user.api
        .send(Method::GET, KEYS, &as_key(&secret), None)
        .await
        .expect(200);
}

#[tokio::test]
async fn delete_removes_the_key() {
    let user = in_process::user();
    let (id, secret) = user.create_key(json!({})).await;
    let deleted = user
        .call(Method::DELETE, &key_path(&id, ""), None)
        .await
        .expect(200);
    assert_eq!(deleted["id"], id);
    assert!(deleted["message"].is_string());
    user.call(Method::GET, &key_path(&id, ""), None)
        .await
        .expect_error(404, "not_found");
    user.call(Method::DELETE, &key_path(&id, ""), None)
        .await
        .expect_error(404, "not_found");
    user.api
        .send(Method::GET, KEYS, &as_key(&secret), None)
        .await
        .expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn regenerate_keeps_id_and_settings_and_kills_the_old_secret() {
    let user = in_process::user();
    let (id, old) = user
        .create_key(json!({"name": "regen", "permissions": ["p"]}))
        .await;
    user.api
        .send(Method::GET, KEYS, &as_key(&old), None)
        .await
        .expect(200);
    let regenerated = user
        .call(Method::POST, &key_path(&id, "/regenerate"), None)
        .await
        .expect(200);
    let new = regenerated["api_key"]["api_key"].as_str().unwrap();
    assert_eq!(regenerated["api_key"]["id"], id);
    assert_eq!(regenerated["api_key"]["name"], "regen");
    assert_eq!(regenerated["api_key"]["permissions"], json!(["p"]));
    assert_ne!(new, old);
    latchkey_tests::in_process::past_the_cache_bound().await;
    user.api
        .send(Method::GET, KEYS, &as_key(&old), None)
        .await
        .expect_error(401, "unauthenticated");
    user.api
        .send(Method::GET, KEYS, &as_key(new), None)
        .await
        .expect(200);
}

#[tokio::test]
async fn rotate_issues_a_new_key_and_keeps_the_old_one_for_the_grace_period() {
    let user = in_process::user();
    let body = json!({"name": "svc", "permissions": ["r"], "read_only": false, "rate_limit_per_hour": 50,
                      "description": "d", "allowed_ips": ["127.0.0.0/8"]});
    let (old_id, old_secret) = user.create_key(body).await;
    let rotated = user
        .call(
            Method::POST,
            &key_path(&old_id, "/rotate?grace_period_days=3"),
            None,
        )
        .await
        .expect(201);
    let new_id = rotated["api_key"]["id"].as_str().unwrap();
    let new_secret = rotated["api_key"]["api_key"].as_str().unwrap();
    assert_ne!(new_id, old_id);
    let new = user.key(new_id).await;
    for field in [
        "name",
        "permissions",
        "read_only",
        "rate_limit_per_hour",
        "allowed_ips",
        "description",
    ] {
        assert_eq!(
            new[field],
            user.key(&old_id).await[field],
            "{field} not copied"
        );
    }
    assert_eq!(new["rotated_from"], old_id);
    assert_eq!(new["status"], "active");
    let old = user.key(&old_id).await;
    assert_eq!(old["status"], "rotating");
    assert_eq!(old["rotated_to"], new_id);
    let grace_end =
        chrono::DateTime::parse_from_rfc3339(old["expires_at"].as_str().unwrap()).unwrap();
    let expected = chrono::Utc::now() + chrono::Duration::days(3);
    assert!(
        (grace_end.timestamp() - expected.timestamp()).abs() < 60,
        "{grace_end}"
    );
    user.api
        .send(Method::GET, KEYS, &as_key(&old_secret), None)
        .await
        .expect(200);
    user.api
        .send(Method::GET, KEYS, &as_key(new_secret), None)
        .await
        .expect(200);
    user.call(Method::POST, &key_path(&old_id, "/rotate"), None)
        .await
        .expect_error(400, "key_rotating");
}

#[tokio::test]
async fn rotate_with_no_grace_expires_the_old_key_at_once() {
    let user = in_process::user();
    let (old_id, old_secret) = user.create_key(json!({})).await;
    user.call(
        Method::POST,
        &key_path(&old_id, "/rotate?grace_period_days=0"),
        None,
    )
    .await
    .expect(201);
    assert_eq!(user.key(&old_id).await["status"], "expired");
    user.api
        .send(Method::GET, KEYS, &as_key(&old_secret), None)
        .await
        .expect_error(401, "unauthenticated");
    user.call(Method::POST, &key_path(&old_id, "/rotate"), None)
        .await
        .expect_error(400, "key_expired");
}

#[tokio::test]
async fn rotate_validates_the_grace_period() {
    let user = in_process::user();
    let (id, _) = user.create_key(json!({})).await;
    for bad in ["91", "-1", "abc", "1.5"] {
        user.call(
            Method::POST,
            &key_path(&id, &format!("/rotate?grace_period_days={bad}")),
            None,
        )
        .await
        .expect_invalid(&["grace_period_days"]);
    }
    assert_eq!(user.key(&id).await["status"], "active");
    user.call(
        Method::POST,
        &key_path(&id, "/rotate?grace_period_days=90"),
        None,
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn set_expiration_sets_clears_and_validates() {
    let user = in_process::user();
    let (id, _) = user.create_key(json!({})).await;
    let at = in_days(5);
    let set = user
        .call(
            Method::PATCH,
            &key_path(&id, &format!("/expiration?expires_at={at}")),
            None,
        )
        .await
        .expect(200);
    assert_eq!(set["id"], id);
    assert_eq!(set["expires_at"], at);
    assert!(set["message"].is_string());
    assert_eq!(user.key(&id).await["expires_at"], at);

    let offset = (chrono::Utc::now() + chrono::Duration::days(2))
        .with_timezone(&chrono::FixedOffset::east_opt(7200).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        .replace('+', "%2B");
    let set = user
        .call(
            Method::PATCH,
            &key_path(&id, &format!("/expiration?expires_at={offset}")),
            None,
        )
        .await
        .expect(200);
    assert!(
        set["expires_at"].as_str().unwrap().ends_with('Z'),
        "stored in UTC: {set}"
    );

    for clear in ["", "null"] {
        let cleared = user
            .call(
                Method::PATCH,
                &key_path(&id, &format!("/expiration?expires_at={clear}")),
                None,
            )
            .await
            .expect(200);
        assert!(cleared["expires_at"].is_null());
        assert!(user.key(&id).await["expires_at"].is_null());
    }
    // The SDK omits a None parameter: no expires_at at all clears the expiry too.
    user.call(Method::PATCH, &key_path(&id, "/expiration"), None)
        .await
        .expect(200);
    assert!(user.key(&id).await["expires_at"].is_null());
    for bad in [
        "?expires_at=2001-01-01T00:00:00Z",
        "?expires_at=soon",
        "?expires_at=%2B262142-12-31T00:00:00Z",
        "?expires_at=10000-01-01",
    ] {
        user.call(
            Method::PATCH,
            &key_path(&id, &format!("/expiration{bad}")),
            None,
        )
        .await
        .expect_invalid(&["expires_at"]);
    }
}

#[tokio::test]
async fn expiring_lists_usable_keys_due_within_the_window_soonest_first() {
    let user = in_process::user();
    let (later, _) = user
        .create_key(json!({"name": "later", "expires_at": in_days(20)}))
        .await;
    let almost_two_days =
        latchkey_core::timestamp::format(chrono::Utc::now() + chrono::Duration::hours(47));
    let (sooner, _) = user
        .create_key(json!({"name": "sooner", "expires_at": almost_two_days}))
        .await;
    user.create_key(json!({"name": "far", "expires_at": in_days(100)}))
        .await;
    user.create_key(json!({"name": "never"})).await;
    let (revoked, _) = user
        .create_key(json!({"name": "revoked", "expires_at": in_days(1)}))
        .await;
    user.call(
        Method::POST,
        &key_path(&revoked, "/revoke"),
        Some(json!({"reason": "gone"})),
    )
    .await
    .expect(200);

    let due = user
        .call(Method::GET, &format!("{KEYS}/expiring"), None)
        .await
        .expect(200);
    let ids: Vec<&str> = due
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [sooner.as_str(), later.as_str()]);
    let first = &due[0];
    for field in [
        "id",
        "name",
        "key_prefix",
        "expires_at",
        "days_until_expiry",
    ] {
        assert!(first.get(field).is_some(), "{field}");
    }
    assert_eq!(
        first["days_until_expiry"], 1,
        "whole days, rounded down: {first}"
    );
    let week = user
        .call(Method::GET, &format!("{KEYS}/expiring?days=7"), None)
        .await
        .expect(200);
    assert_eq!(week.as_array().unwrap().len(), 1);
    for bad in ["0", "366", "x"] {
        user.call(Method::GET, &format!("{KEYS}/expiring?days={bad}"), None)
            .await
            .expect_invalid(&["days"]);
    }
}

#[tokio::test]
async fn revoke_is_permanent_and_audited() {
    let user = in_process::user();
    let (id, secret) = user.create_key(json!({})).await;
    user.call(Method::POST, &key_path(&id, "/revoke"), None)
        .await
        .expect_invalid(&["reason"]);
    user.call(
        Method::POST,
        &key_path(&id, "/revoke"),
        Some(json!({"reason": "r".repeat(501)})),
    )
    .await
    .expect_invalid(&["reason"]);
    let revoked = user
        .call(
            Method::POST,
            &key_path(&id, "/revoke"),
            Some(json!({"reason": "leaked in a log"})),
        )
        .await
        .expect(200);
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["revocation_reason"], "leaked in a log");
    assert!(revoked["revoked_at"].is_string());
    assert_no_secret(&revoked);
    user.api
        .send(Method::GET, KEYS, &as_key(&secret), None)
        .await
        .expect_error(401, "unauthenticated");
    user.call(
        Method::POST,
        &key_path(&id, "/revoke"),
        Some(json!({"reason": "again"})),
    )
    .await
    .expect_error(400, "key_revoked");
    user.call(Method::POST, &key_path(&id, "/rotate"), None)
        .await
        .expect_error(400, "key_revoked");
    user.call(Method::POST, &key_path(&id, "/regenerate"), None)
        .await
        .expect_error(400, "key_revoked");
    user.call(
        Method::PATCH,
        &key_path(&id, "/expiration?expires_at="),
        None,
    )
    .await
    .expect_error(400, "key_revoked");
    let enabled = user
        .call(
            Method::PUT,
            &key_path(&id, ""),
            Some(json!({"is_active": true})),
        )
        .await
        .expect(200);
    assert_eq!(
        enabled["api_key"]["status"], "revoked",
        "is_active cannot undo a revocation"
    );
    assert_eq!(user.key(&id).await["revocation_reason"], "leaked in a log");
}

#[tokio::test]
async fn stats_cover_the_last_thirty_days() {
    let user = in_process::user();
    let (id, _) = user.create_key(json!({})).await;
    // The stack's clock is the wall clock: its "today" is the day before or after the call.
    let before = chrono::Utc::now().date_naive().to_string();
    let stats = user
        .call(Method::GET, &key_path(&id, "/stats"), None)
        .await
        .expect(200);
    assert_eq!(stats["id"], id);
    for field in [
        "usage_count",
        "last_used_at",
        "failed_attempts",
        "last_failed_at",
    ] {
        assert!(stats.get(field).is_some(), "{field}");
    }
    let daily = stats["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 30);
    let after = chrono::Utc::now().date_naive().to_string();
    let last = daily.last().unwrap()["date"].as_str().unwrap();
    assert!(last == before || last == after, "{last}");
    assert!(
        daily
            .iter()
            .all(|d| d["success"].is_u64() && d["failed"].is_u64())
    );
}

#[tokio::test]
async fn missing_or_bad_credentials_are_401_with_www_authenticate() {
    let api = Api::in_process();
    let user = in_process::user();
    let (id, secret) = user.create_key(json!({})).await;
    let mut tampered = secret.clone().into_bytes();
    let last = tampered.len() - 5;
    tampered[last] = if tampered[last] == b'a' { b'b' } else { b'a' };
    let credentials = [
        Auth::None,
        Auth::Bearer("not-a-jwt".into()),
        Auth::Bearer(format!(
            "{}x",
            match &user.auth {
                Auth::Bearer(t) => t.clone(),
                _ => unreachable!(),
            }
        )),
        as_key("sk_short"),
        as_key(&String::from_utf8(tampered).unwrap()),
        as_key(&format!(
            "sk_{}",
            &secret[3..].replace(&secret[10..14], "AAAA")
        )),
    ];
    for auth in credentials {
        let reply = api.send(Method::GET, KEYS, &auth, None).await;
        assert!(reply.headers.contains_key("www-authenticate"), "{auth:?}");
        reply.expect_error(401, "unauthenticated");
    }
    // A correct key for a key id that no longer exists.
    user.call(Method::DELETE, &key_path(&id, ""), None)
        .await
        .expect(200);
    api.send(Method::GET, KEYS, &as_key(&secret), None)
        .await
        .expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn forged_session_tokens_are_401() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let api = Api::in_process();
    let settings = latchkey_tests::in_process::jwt_settings();
    let issuer = latchkey_tests::in_process::issuer();
    let mut claims = issuer.claims(&uuid::Uuid::new_v4().to_string(), 600);
    let sign = |claims: &latchkey_core::auth::jwt::Claims, alg: Algorithm, secret: &str| {
        encode(
            &Header::new(alg),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let good = sign(&claims, Algorithm::HS256, &settings.secret);
    api.send(Method::GET, KEYS, &Auth::Bearer(good), None)
        .await
        .expect(200);

    let b64 = |bytes: &[u8]| {
        use base64ct::{Base64UrlUnpadded, Encoding};
        Base64UrlUnpadded::encode_string(bytes)
    };
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(serde_json::to_string(&claims).unwrap().as_bytes())
    );
    let mut forged = vec![
        none,
        sign(&claims, Algorithm::HS512, &settings.secret),
        sign(
            &claims,
            Algorithm::HS256,
            "a-completely-different-secret-value!!",
        ),
    ];
    let original = claims.clone();
    claims.exp = chrono::Utc::now().timestamp() - 120;
    forged.push(sign(&claims, Algorithm::HS256, &settings.secret));
    claims = original.clone();
    claims.iss = "someone-else".into();
    forged.push(sign(&claims, Algorithm::HS256, &settings.secret));
    claims = original.clone();
    claims.aud = "another-api".into();
    forged.push(sign(&claims, Algorithm::HS256, &settings.secret));
    claims = original;
    claims.nbf = Some(chrono::Utc::now().timestamp() + 600);
    forged.push(sign(&claims, Algorithm::HS256, &settings.secret));
    for token in forged {
        api.send(Method::GET, KEYS, &Auth::Bearer(token.clone()), None)
            .await
            .expect_error(401, "unauthenticated");
    }
}

#[tokio::test]
async fn keys_authenticate_by_header_or_bearer_and_act_for_their_owner() {
    let user = in_process::user();
    let (id, secret) = user.create_key(json!({"name": "automation"})).await;
    let by_header = user
        .api
        .send(Method::GET, KEYS, &as_key(&secret), None)
        .await
        .expect(200);
    let by_bearer = user
        .api
        .send(Method::GET, KEYS, &Auth::Bearer(secret.clone()), None)
        .await
        .expect(200);
    assert_eq!(by_header[0]["id"], id);
    assert_eq!(by_bearer[0]["id"], id);
    assert_eq!(
        by_bearer[0]["usage_count"], 2,
        "each authentication counts as a use"
    );
    let created = user
        .api
        .send(
            Method::POST,
            KEYS,
            &as_key(&secret),
            Some(json!({"name": "child"})),
        )
        .await
        .expect(201);
    let child = created["api_key"]["id"].as_str().unwrap();
    assert_eq!(
        user.key(child).await["name"],
        "child",
        "the key's owner owns what it creates"
    );
}

#[tokio::test]
async fn read_only_keys_cannot_mutate() {
    let user = in_process::user();
    let (id, secret) = user.create_key(json!({"read_only": true})).await;
    let key = as_key(&secret);
    user.api
        .send(Method::GET, KEYS, &key, None)
        .await
        .expect(200);
    user.api
        .send(Method::GET, &key_path(&id, ""), &key, None)
        .await
        .expect(200);
    let mutations = [
        (Method::POST, KEYS.to_owned(), Some(json!({}))),
        (
            Method::PUT,
            key_path(&id, ""),
            Some(json!({"read_only": false})),
        ),
        (Method::DELETE, key_path(&id, ""), None),
        (Method::POST, key_path(&id, "/regenerate"), None),
        (Method::POST, key_path(&id, "/rotate"), None),
        (
            Method::PATCH,
            key_path(&id, "/expiration?expires_at="),
            None,
        ),
        (
            Method::POST,
            key_path(&id, "/revoke"),
            Some(json!({"reason": "x"})),
        ),
    ];
    for (method, path, body) in mutations {
        user.api
            .send(method, &path, &key, body)
            .await
            .expect_error(403, "forbidden");
    }
    assert_eq!(user.key(&id).await["read_only"], true);
}

#[tokio::test]
async fn keys_cannot_grant_more_than_they_hold() {
    let user = in_process::user();
    let (_, acting) = user
        .create_key(json!({"permissions": ["read", "write"], "allowed_ips": ["127.0.0.0/8"]}))
        .await;
    let acting = as_key(&acting);
    let send = |method: Method, path: String, body: Option<Value>| {
        let (api, acting) = (user.api.clone(), acting.clone());
        async move { api.send(method, &path, &acting, body).await }
    };
    send(
        Method::POST,
        KEYS.into(),
        Some(json!({"permissions": ["read", "admin"], "allowed_ips": ["127.0.0.1"]})),
    )
    .await
    .expect_error(403, "forbidden");
    send(
        Method::POST,
        KEYS.into(),
        Some(json!({"permissions": ["read"]})),
    )
    .await
    .expect_error(403, "forbidden");
    send(
        Method::POST,
        KEYS.into(),
        Some(json!({"permissions": ["read"], "allowed_ips": ["10.0.0.0/8"]})),
    )
    .await
    .expect_error(403, "forbidden");
    let narrower = send(
        Method::POST,
        KEYS.into(),
        Some(json!({"permissions": ["read"], "allowed_ips": ["127.0.0.1"]})),
    )
    .await
    .expect(201);
    let child = narrower["api_key"]["id"].as_str().unwrap().to_owned();
    send(
        Method::PUT,
        key_path(&child, ""),
        Some(json!({"permissions": ["read", "admin"]})),
    )
    .await
    .expect_error(403, "forbidden");
    send(
        Method::PUT,
        key_path(&child, ""),
        Some(json!({"allowed_ips": []})),
    )
    .await
    .expect_error(403, "forbidden");
    send(
        Method::PUT,
        key_path(&child, ""),
        Some(json!({"permissions": ["write"]})),
    )
    .await
    .expect(200);

    let (read_only_id, _) = user
        .create_key(json!({"read_only": true, "allowed_ips": ["127.0.0.1"]}))
        .await;
    send(
        Method::PUT,
        key_path(&read_only_id, ""),
        Some(json!({"read_only": false})),
    )
    .await
    .expect_error(403, "forbidden");
    let (powerful, _) = user.create_key(json!({"permissions": ["admin"]})).await;
    send(Method::POST, key_path(&powerful, "/regenerate"), None)
        .await
        .expect_error(403, "forbidden");
    send(Method::POST, key_path(&powerful, "/rotate"), None)
        .await
        .expect_error(403, "forbidden");
    assert_eq!(user.key(&powerful).await["status"], "active");
    assert_eq!(user.key(&read_only_id).await["read_only"], true);
}

#[tokio::test]
async fn keys_outside_their_allowed_ips_are_403() {
    let user = in_process::user();
    let (_, secret) = user
        .create_key(json!({"allowed_ips": ["203.0.113.0/24"]}))
        .await;
    user.api
        .send(Method::GET, KEYS, &as_key(&secret), None)
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn sessions_in_a_workspace_record_it_on_keys() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let member = in_process::user_with(Some(&workspace), Some(Role::Member));
    let (id, _) = member.create_key(json!({})).await;
    assert_eq!(member.key(&id).await["workspace_id"], workspace);
    let personal = in_process::user();
    let (id, _) = personal.create_key(json!({})).await;
    assert_ne!(personal.key(&id).await["workspace_id"], workspace);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let api = Api::in_process();
    let user = in_process::user();
    let mine = user.api.send(Method::GET, KEYS, &user.auth, None).await;
    assert!(mine.headers.contains_key("x-request-id"));
    let error = api.send(Method::GET, KEYS, &Auth::None, None).await;
    assert!(error.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let user = in_process::user();
    user.call(Method::GET, "/api/v1/account/api-keys/x/y/z", None)
        .await
        .expect_error(404, "not_found");
    user.call(Method::PATCH, KEYS, None)
        .await
        .expect_error(405, "method_not_allowed");
    user.call(
        Method::GET,
        &key_path(&uuid::Uuid::new_v4().to_string(), "/revoke"),
        None,
    )
    .await
    .expect_error(405, "method_not_allowed");
}

#[tokio::test]
async fn paths_outside_every_family_get_the_contract_404() {
    let reply = Api::in_process()
        .send(Method::GET, "/nope/at/all", &Auth::None, None)
        .await;
    assert!(reply.headers.contains_key("x-request-id"));
    reply.expect_error(404, "not_found");
}
