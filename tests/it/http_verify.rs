//! End-to-end tests of verification over HTTP (`POST /api/v1/keys/verify`), through the
//! authorizer function (the Lambda invoke API of `cargo lambda watch`), and of rate limits on
//! Latchkey's own API.

use latchkey_tests::{Api, Auth, User, as_key};
use reqwest::Method;
use serde_json::{Value, json};

const KEYS: &str = "/api/v1/account/api-keys";
const VERIFY: &str = "/api/v1/keys/verify";

async fn verify(body: Value) -> Value {
    Api::new()
        .send(Method::POST, VERIFY, &Auth::None, Some(body))
        .await
        .expect(200)
}

async fn both(key: &str, body: Value, route: &str, ip: &str) -> (Value, Value) {
    let mut request = body;
    request["key"] = json!(key);
    let verified = verify(request).await;
    let authorized = latchkey_tests::authorize(json!({"x-api-key": key}), route, ip).await;
    (verified, authorized)
}

/// Every code, over HTTP and through the authorizer.
#[tokio::test]
async fn every_code_over_http_and_through_the_authorizer() {
    let user = User::new();
    let (valid_id, valid) = user
        .create_key(json!({"permissions": ["orders:read"], "allowed_ips": ["192.0.2.0/24"]}))
        .await;
    let (_, limited) = user
        .create_key(json!({"permissions": ["orders:read"], "rate_limit_per_hour": 2}))
        .await;
    let (revoked_id, revoked) = user
        .create_key(json!({"permissions": ["orders:read"]}))
        .await;
    let (disabled_id, disabled) = user
        .create_key(json!({"permissions": ["orders:read"]}))
        .await;
    let (expired_id, expired) = user
        .create_key(json!({"permissions": ["orders:read"]}))
        .await;
    let (_, bare) = user.create_key(json!({})).await;
    user.call(
        Method::POST,
        &format!("{KEYS}/{revoked_id}/revoke"),
        Some(json!({"reason": "test"})),
    )
    .await
    .expect(200);
    user.call(
        Method::PUT,
        &format!("{KEYS}/{disabled_id}"),
        Some(json!({"is_active": false})),
    )
    .await
    .expect(200);
    user.call(
        Method::POST,
        &format!("{KEYS}/{expired_id}/rotate?grace_period_days=0"),
        None,
    )
    .await
    .expect(201);

    let inside = "192.0.2.10";
    let needs = json!({"permissions": ["orders:read"], "ip": inside});
    let cases = [
        (
            valid.as_str(),
            needs.clone(),
            "GET /orders",
            inside,
            "VALID",
        ),
        (
            "sk_garbage",
            needs.clone(),
            "GET /orders",
            inside,
            "NOT_FOUND",
        ),
        (
            revoked.as_str(),
            needs.clone(),
            "GET /orders",
            inside,
            "REVOKED",
        ),
        (
            disabled.as_str(),
            needs.clone(),
            "GET /orders",
            inside,
            "DISABLED",
        ),
        (
            expired.as_str(),
            needs.clone(),
            "GET /orders",
            inside,
            "EXPIRED",
        ),
        (
            valid.as_str(),
            json!({"ip": "203.0.113.9"}),
            "GET /orders",
            "203.0.113.9",
            "FORBIDDEN",
        ),
        (
            bare.as_str(),
            needs.clone(),
            "GET /orders",
            inside,
            "INSUFFICIENT_PERMISSIONS",
        ),
    ];
    for (key, body, route, ip, expected) in cases {
        let (verified, authorized) = both(key, body, route, ip).await;
        assert_eq!(verified["code"], expected, "verify: {verified}");
        assert_eq!(verified["valid"], expected == "VALID", "{verified}");
        assert_eq!(
            authorized["context"]["code"], expected,
            "authorizer: {authorized}"
        );
        assert_eq!(
            authorized["isAuthorized"],
            expected == "VALID",
            "{authorized}"
        );
    }
    // The authorizer's required permissions come from its route table ({"GET /orders":
    // ["orders:read"]} locally): a route not in it needs none.
    let other = latchkey_tests::authorize(json!({"x-api-key": bare}), "GET /other", inside).await;
    assert_eq!(other["isAuthorized"], true, "{other}");

    // Rate limited: the limit is 2 in this window; each path spends from the same window.
    let first = verify(json!({"key": limited})).await;
    assert_eq!(first["code"], "VALID");
    assert_eq!(first["ratelimit"]["limit"], 2);
    assert_eq!(first["ratelimit"]["remaining"], 1);
    let second = latchkey_tests::authorize(
        json!({"authorization": format!("Bearer {limited}")}),
        "GET /orders",
        inside,
    )
    .await;
    assert_eq!(second["isAuthorized"], true, "{second}");
    let third = verify(json!({"key": limited})).await;
    assert_eq!(third["code"], "RATE_LIMITED");
    assert_eq!(third["ratelimit"]["remaining"], 0);
    let fourth =
        latchkey_tests::authorize(json!({"x-api-key": limited}), "GET /orders", inside).await;
    assert_eq!(fourth["context"]["code"], "RATE_LIMITED");

    let ok = verify(json!({"key": valid, "ip": inside})).await;
    assert_eq!(ok["key_id"], valid_id);
    assert_eq!(ok["owner_id"], user.id);
    assert_eq!(ok["permissions"], json!(["orders:read"]));
    assert_eq!(ok["read_only"], false);
    assert!(ok["workspace_id"].is_string());
    assert!(ok.get("expires_at").is_some());
    let allowed =
        latchkey_tests::authorize(json!({"x-api-key": valid}), "GET /orders", inside).await;
    assert_eq!(allowed["context"]["key_id"], valid_id);
    assert_eq!(allowed["context"]["owner_id"], user.id);
    assert_eq!(allowed["context"]["permissions"], json!(["orders:read"]));
    let missing = latchkey_tests::authorize(json!({}), "GET /orders", inside).await;
    assert_eq!(missing["isAuthorized"], false);
    let not_found = verify(json!({"key": "sk_garbage"})).await;
    assert!(
        not_found.get("key_id").is_none(),
        "nothing about unknown keys: {not_found}"
    );
}

#[tokio::test]
async fn usage_from_verification_shows_in_stats_and_the_key() {
    let user = User::new();
    let (id, key) = user.create_key(json!({"permissions": ["a"]})).await;
    for body in [
        json!({"key": key}),
        json!({"key": key, "device_id": "phone-1", "tags": ["x"]}),
        json!({"key": key, "permissions": ["b"]}),
    ] {
        verify(body).await;
    }
    let stats = user
        .call(Method::GET, &format!("{KEYS}/{id}/stats"), None)
        .await
        .expect(200);
    assert_eq!(stats["usage_count"], 2);
    assert_eq!(stats["failed_attempts"], 1);
    assert_eq!(stats["daily"][29]["success"], 2);
    assert_eq!(stats["daily"][29]["failed"], 1);
    let shown = user.key(&id).await;
    assert_eq!(shown["usage_count"], 2);
    assert!(shown["last_used_at"].is_string());
}

#[tokio::test]
async fn latchkey_api_enforces_key_rate_limits_with_headers() {
    let user = User::new();
    // The stack runs on the wall clock: a burst that straddles the top of the hour meets two
    // windows, so it is tried again with a fresh key (it cannot straddle two hours running).
    for attempt in 0..2 {
        let (_, key) = user.create_key(json!({"rate_limit_per_hour": 3})).await;
        let mut replies = Vec::new();
        for _ in 0..4 {
            replies.push(user.api.send(Method::GET, KEYS, &as_key(&key), None).await);
        }
        let header = |reply: &latchkey_tests::Reply, name: &str| {
            reply.headers[name].to_str().unwrap().to_owned()
        };
        let resets: Vec<String> = replies
            .iter()
            .map(|r| header(r, "x-ratelimit-reset"))
            .collect();
        if resets.iter().any(|r| *r != resets[0]) && attempt == 0 {
            continue;
        }
        let refused = replies.pop().unwrap();
        let mut remaining = Vec::new();
        for reply in &replies {
            assert_eq!(reply.status.as_u16(), 200);
            assert_eq!(reply.headers["x-ratelimit-limit"], "3");
            assert!(header(reply, "x-ratelimit-reset").parse::<i64>().unwrap() % 3600 == 0);
            remaining.push(header(reply, "x-ratelimit-remaining"));
        }
        assert_eq!(remaining, ["2", "1", "0"]);
        let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
        assert!((1..=3600).contains(&retry_after));
        assert_eq!(refused.headers["x-ratelimit-remaining"], "0");
        refused.expect_error(429, "rate_limited");
        break;
    }
    let session = user.call(Method::GET, KEYS, None).await;
    assert!(
        !session.headers.contains_key("x-ratelimit-limit"),
        "sessions have no key rate limit"
    );
    session.expect(200);
}

#[tokio::test]
async fn a_key_s_own_window_governs_it_and_no_limit_means_no_rate_headers() {
    let user = User::new();
    let (id, key) = user
        .create_key(json!({"rate_limit": {"limit": 2, "window": "day"}}))
        .await;
    let path = format!("{KEYS}/{id}");
    let shown = user.call(Method::GET, &path, None).await.expect(200);
    assert_eq!(
        shown["rate_limit"],
        json!({"limit": 2, "window": "day", "exact": false})
    );
    assert_eq!(shown["rate_limit_per_hour"], 1, "2 a day, rounded up");
    let replies = [
        verify(json!({"key": key})).await,
        verify(json!({"key": key})).await,
        verify(json!({"key": key})).await,
    ];
    let codes: Vec<&str> = replies
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    // A day window can only straddle midnight UTC; then the third verification is the new day's.
    let straddled = replies[0]["ratelimit"]["reset"] != replies[2]["ratelimit"]["reset"];
    if !straddled {
        assert_eq!(codes, ["VALID", "VALID", "RATE_LIMITED"]);
    }
    assert_eq!(replies[0]["ratelimit"]["limit"], 2);
    assert_eq!(replies[0]["ratelimit"]["remaining"], 1);
    assert_eq!(
        replies[0]["ratelimit"]["reset"].as_i64().unwrap() % 86_400,
        0
    );

    let unlimited = user
        .call(Method::PUT, &path, Some(json!({"rate_limit": null})))
        .await
        .expect(200)["api_key"]
        .take();
    assert!(unlimited["id"].is_string(), "{unlimited}");
    assert_eq!(unlimited["rate_limit"], Value::Null);
    assert_eq!(unlimited["rate_limit_per_hour"], i64::from(i32::MAX));
    latchkey_tests::past_the_cache_bound().await;
    for _ in 0..5 {
        let reply = verify(json!({"key": key})).await;
        assert_eq!(reply["code"], "VALID", "{reply}");
        assert_eq!(reply["ratelimit"], Value::Null, "{reply}");
    }
    let as_itself = user.api.send(Method::GET, KEYS, &as_key(&key), None).await;
    assert!(
        !as_itself.headers.contains_key("x-ratelimit-limit"),
        "no limit, no rate headers"
    );
    as_itself.expect(200);

    let per_second = user
        .call(
            Method::PUT,
            &path,
            Some(json!({"rate_limit": {"limit": 10_000_000, "window": "second", "exact": true}})),
        )
        .await
        .expect(200)["api_key"]
        .take();
    assert_eq!(
        per_second["rate_limit"],
        json!({"limit": 10_000_000, "window": "second", "exact": true})
    );
    assert_eq!(per_second["rate_limit_per_hour"], i64::from(i32::MAX));
    latchkey_tests::past_the_cache_bound().await;
    let reply = verify(json!({"key": key})).await;
    assert_eq!(reply["ratelimit"]["limit"], 10_000_000, "{reply}");
    user.call(
        Method::PUT,
        &path,
        Some(json!({"rate_limit": null, "rate_limit_per_hour": 3})),
    )
    .await
    .expect_invalid(&["rate_limit"]);
}

#[tokio::test]
async fn parallel_http_verifications_get_exactly_the_limit() {
    let user = User::new();
    let (_, key) = user.create_key(json!({"rate_limit_per_hour": 5})).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let key = key.clone();
        tasks.spawn(async move {
            verify(json!({"key": key})).await["code"]
                .as_str()
                .unwrap()
                .to_owned()
        });
    }
    let codes = tasks.join_all().await;
    assert_eq!(
        codes.iter().filter(|c| *c == "VALID").count(),
        5,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| *c == "RATE_LIMITED").count(),
        15,
        "{codes:?}"
    );
}

/// Verified on every instance of the function first, so each holds the key in its cache: after
/// a revocation, every instance refuses it within the cache bound.
#[tokio::test]
async fn revocation_reaches_every_instance_within_the_cache_bound() {
    let user = User::new();
    let (id, key) = user.create_key(json!({})).await;
    let concurrency: usize = latchkey_tests::env("LATCHKEY_CONCURRENCY").parse().unwrap();
    let all = || async {
        let mut answers = tokio::task::JoinSet::new();
        for _ in 0..4 * concurrency {
            let key = key.clone();
            answers.spawn(async move { verify(json!({"key": key})).await["code"].take() });
        }
        answers.join_all().await
    };
    assert!(all().await.iter().all(|code| code == "VALID"));
    user.call(
        Method::POST,
        &format!("{KEYS}/{id}/revoke"),
        Some(json!({"reason": "now"})),
    )
    .await
    .expect(200);
    latchkey_tests::past_the_cache_bound().await;
    let codes = all().await;
    assert!(codes.iter().all(|code| code == "REVOKED"), "{codes:?}");
}

#[tokio::test]
async fn guessing_secrets_does_not_lock_out_a_verified_key() {
    let user = User::new();
    let (_, key) = user.create_key(json!({})).await;
    assert_eq!(verify(json!({"key": key})).await["code"], "VALID");
    let prefix_and_id = &key[..25];
    for i in 0..12 {
        // Right id, random secret, correct checksum: the worst case, each one would cost an argon2.
        let guess = latchkey_core::keys::secret::PlainKey::generate(
            &latchkey_tests::config().key_prefix,
            latchkey_core::keys::secret::PresentedKey::parse(
                &latchkey_tests::config().key_prefix,
                &key,
            )
            .unwrap()
            .id,
        );
        assert!(guess.expose().starts_with(prefix_and_id), "{i}");
        assert_eq!(
            verify(json!({"key": guess.expose()})).await["code"],
            "NOT_FOUND"
        );
    }
    assert_eq!(verify(json!({"key": key})).await["code"], "VALID");
}
