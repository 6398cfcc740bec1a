//! Sign-in over HTTP against the local stack's OpenID provider (oidc-provider, with the
//! development `login_hint` sign-in): the whole code flow from `GET /api/auth` to a session the
//! native API accepts, refresh rotation and reuse detection, logout refused within the cache
//! bound, the provider's own tokens accepted directly, and each way a sign-in can be wrong.

use std::collections::HashMap;

use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_tests::{Api, Auth, Reply, env, through_the_provider};
use reqwest::{Method, Url, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://localhost:5173";
const CODE: &str = "ai.numind.extract.shared.TokenCodeRequest";
const REFRESH: &str = "ai.numind.extract.shared.TokenRefreshRequest";

/// A user's sign-in in progress: its code, and the cookie `GET /api/auth` set.
struct Started {
    code: String,
    cookie: String,
    url: String,
}

/// Starts a sign-in through Latchkey and signs `sub` in at the provider.
async fn start(sub: &str, extra: &[(&str, &str)]) -> Started {
    let reply = Api::new()
        .send(
            Method::GET,
            &format!("/api/auth?redirectUri={REDIRECT}"),
            &Auth::None,
            None,
        )
        .await;
    let cookie = reply.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let url = reply.expect(200).as_str().unwrap().to_owned();
    let mut signed_in = Url::parse(&url).unwrap();
    signed_in.query_pairs_mut().append_pair("login_hint", sub);
    for (name, value) in extra {
        signed_in.query_pairs_mut().append_pair(name, value);
    }
    let back = through_the_provider(signed_in.as_str(), REDIRECT).await;
    let sent: HashMap<String, String> = Url::parse(&url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(
        back["state"], sent["state"],
        "the provider echoes the state"
    );
    Started {
        code: back["code"].clone(),
        cookie,
        url,
    }
}

async fn exchange(code: &str, cookie: &str) -> Reply {
    Api::new()
        .send(
            Method::POST,
            "/api/auth/token",
            &Auth::Header("cookie", cookie.to_owned()),
            Some(json!({"type": CODE, "code": code, "redirectUri": REDIRECT})),
        )
        .await
}

async fn refresh(token: &str) -> Reply {
    Api::new()
        .send(
            Method::POST,
            "/api/auth/token",
            &Auth::None,
            Some(json!({"type": REFRESH, "token": token})),
        )
        .await
}

async fn me(token: &str) -> Reply {
    Api::new()
        .send(
            Method::GET,
            "/api/v1/account/me",
            &Auth::Bearer(token.to_owned()),
            None,
        )
        .await
}

/// Signs a new user in, returning (sub, TokenResponse).
async fn signed_in(extra: &[(&str, &str)]) -> (String, Value) {
    let sub = uuid::Uuid::new_v4().to_string();
    let started = start(&sub, extra).await;
    (
        sub,
        exchange(&started.code, &started.cookie).await.expect(200),
    )
}

#[tokio::test]
async fn the_code_flow_makes_a_session_the_native_api_accepts() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let sub = uuid::Uuid::new_v4().to_string();
    let started = start(
        &sub,
        &[
            ("workspace_id", &workspace),
            ("role", "admin"),
            ("name", "Ada"),
        ],
    )
    .await;
    let url = Url::parse(&started.url).unwrap();
    let sent: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(sent["response_type"], "code");
    assert_eq!(sent["scope"], "openid email profile");
    assert_eq!(sent["code_challenge_method"], "S256");
    assert_eq!(sent["redirect_uri"], REDIRECT);
    assert!(sent["state"].len() >= 43 && sent["nonce"].len() >= 43);
    assert!(url.as_str().starts_with(&env("LATCHKEY_OIDC_ISSUER")));

    let tokens = exchange(&started.code, &started.cookie).await.expect(200);
    assert_eq!(tokens["expiresIn"], 3600);
    assert!(tokens["refreshExpiresIn"].as_i64().unwrap() > 2_500_000);
    let token = tokens["token"].as_str().unwrap();
    let profile = me(token).await.expect(200);
    assert_eq!(profile["id"], sub);
    assert_eq!(profile["email"], format!("{sub}@example.test"));
    assert_eq!(profile["workspace_id"], workspace);
    let numind = Api::new()
        .send(
            Method::GET,
            "/api/auth/me",
            &Auth::Bearer(token.to_owned()),
            None,
        )
        .await
        .expect(200);
    assert_eq!(numind["email"], format!("{sub}@example.test"));
    assert_eq!(numind["organizations"][0]["id"], workspace);
    // A key of the session's user is the user too.
    let created = Api::new()
        .send(
            Method::POST,
            "/api/v1/account/api-keys",
            &Auth::Bearer(token.to_owned()),
            Some(json!({"name": "signed in"})),
        )
        .await
        .expect(201);
    let key = created["api_key"]["api_key"].as_str().unwrap();
    let as_key = Api::new()
        .send(
            Method::GET,
            "/api/auth/me",
            &latchkey_tests::as_key(key),
            None,
        )
        .await
        .expect(200);
    assert_eq!(as_key["email"], numind["email"]);
    // The session's role carries: an admin manages the workspace's keys through latitude.sh.
    Api::new()
        .send(
            Method::GET,
            "/auth/api_keys",
            &Auth::Bearer(token.to_owned()),
            None,
        )
        .await
        .expect(200);

    // The code and the state are spent.
    exchange(&started.code, &started.cookie)
        .await
        .expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_session() {
    let (_, tokens) = signed_in(&[]).await;
    let first = tokens["refreshToken"].as_str().unwrap().to_owned();
    let rotated = refresh(&first).await.expect(200);
    let second = rotated["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let token = rotated["token"].as_str().unwrap().to_owned();
    me(&token).await.expect(200);

    // The spent token again: refused, and the whole session with it.
    refresh(&first).await.expect_error(400, "invalid_grant");
    refresh(&second).await.expect_error(400, "invalid_grant");
    latchkey_tests::past_the_cache_bound().await;
    me(&token).await.expect_error(401, "unauthenticated");
    refresh("rt_made-up")
        .await
        .expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn logout_refuses_the_token_within_the_bound() {
    let (_, tokens) = signed_in(&[]).await;
    let token = tokens["token"].as_str().unwrap().to_owned();
    let refresh_token = tokens["refreshToken"].as_str().unwrap().to_owned();
    me(&token).await.expect(200);
    let logout = |auth: Auth, body: Value| async move {
        Api::new()
            .send(Method::POST, "/api/auth/logout", &auth, Some(body))
            .await
    };
    let (_, key) = latchkey_tests::User::new().create_key(json!({})).await;
    logout(latchkey_tests::as_key(&key), Value::String("\"\"".into()))
        .await
        .expect_error(403, "forbidden");
    let done = logout(
        Auth::Bearer(token.clone()),
        Value::String(format!("\"{refresh_token}\"")),
    )
    .await
    .expect(200);
    assert_eq!(done, json!({}));
    latchkey_tests::past_the_cache_bound().await;
    me(&token).await.expect_error(401, "unauthenticated");
    refresh(&refresh_token)
        .await
        .expect_error(400, "invalid_grant");

    // A provider's token (no Latchkey session) is revoked by its jti.
    let provider_token = provider_tokens(&uuid::Uuid::new_v4().to_string()).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    me(&provider_token).await.expect(200);
    logout(
        Auth::Bearer(provider_token.clone()),
        Value::String("\"\"".into()),
    )
    .await
    .expect(200);
    latchkey_tests::past_the_cache_bound().await;
    me(&provider_token)
        .await
        .expect_error(401, "unauthenticated");
}

/// Deleting an account revokes every session and token of the user: the numind flow's session
/// token and refresh token, a provider's own token, and a dev token; none of them provisions
/// the profile again (issue 23, finding 4).
#[tokio::test]
async fn deleting_an_account_revokes_every_session_of_the_user() {
    let (sub, tokens) = signed_in(&[]).await;
    let token = tokens["token"].as_str().unwrap().to_owned();
    let refresh_token = tokens["refreshToken"].as_str().unwrap().to_owned();
    let provider_token = provider_tokens(&sub).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let issuer = latchkey_tests::issuer();
    let dev_token = issuer.sign(&issuer.claims(&sub, 3600));
    for token in [&token, &provider_token, &dev_token] {
        me(token).await.expect(200);
    }
    let auth_me = |token: String| async move {
        Api::new()
            .send(Method::GET, "/api/auth/me", &Auth::Bearer(token), None)
            .await
    };
    auth_me(token.clone()).await.expect(200);
    Api::new()
        .send(
            Method::DELETE,
            "/api/v1/account/me",
            &Auth::Bearer(token.clone()),
            None,
        )
        .await
        .expect(204);
    latchkey_tests::past_the_cache_bound().await;
    for token in [&token, &provider_token, &dev_token] {
        me(token).await.expect_error(401, "unauthenticated");
        Api::new()
            .send(
                Method::GET,
                "/api/v1/account/api-keys",
                &Auth::Bearer(token.clone()),
                None,
            )
            .await
            .expect_error(401, "unauthenticated");
    }
    auth_me(token.clone()).await.expect(401);
    refresh(&refresh_token)
        .await
        .expect_error(400, "invalid_grant");
    let profile = latchkey_tests::dynamodb()
        .await
        .get_item()
        .table_name(latchkey_tests::config().table_name)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{sub}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("PROFILE".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert!(
        profile.item.is_none(),
        "a deleted user's token provisioned the profile again"
    );

    // Signing in again afterwards is a new start.
    let started = start(&sub, &[]).await;
    let again = exchange(&started.code, &started.cookie).await.expect(200);
    me(again["token"].as_str().unwrap()).await.expect(200);
}

/// Signs `sub` in at the provider directly, as another client of it would (the test knows the
/// local client secret), and returns the provider's own token answer.
async fn provider_tokens(sub: &str) -> Value {
    let issuer = env("LATCHKEY_OIDC_ISSUER");
    let verifier = uuid::Uuid::new_v4().to_string() + &uuid::Uuid::new_v4().to_string();
    let challenge = Base64UrlUnpadded::encode_string(&Sha256::digest(verifier.as_bytes()));
    let mut url = Url::parse(&format!("{issuer}/auth")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", &env("LATCHKEY_OIDC_CLIENT_ID"))
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid email profile")
        .append_pair("state", "direct")
        .append_pair("nonce", "direct")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("login_hint", sub);
    let back = through_the_provider(url.as_str(), REDIRECT).await;
    reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth(
            env("LATCHKEY_OIDC_CLIENT_ID"),
            Some(env("LOCAL_SECRET_OIDC_CLIENT_SECRET")),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &back["code"]),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The provider's RS256 id and access tokens are sessions without any Latchkey sign-in.
#[tokio::test]
async fn the_provider_s_own_tokens_are_accepted_directly() {
    let sub = uuid::Uuid::new_v4().to_string();
    let tokens = provider_tokens(&sub).await;
    for kind in ["id_token", "access_token"] {
        let token = tokens[kind].as_str().unwrap();
        assert!(token.starts_with("eyJ"), "{kind} is a JWT");
        assert_eq!(me(token).await.expect(200)["id"], sub, "{kind}");
    }
}

#[tokio::test]
async fn a_sign_in_that_is_not_its_own_is_an_invalid_grant() {
    let api = Api::new();
    // Redirect URIs: exactly an allowed one, and present.
    for query in [
        "redirectUri=http://evil.example",
        "redirectUri=http://localhost:5173/",
        "",
    ] {
        api.send(
            Method::GET,
            &format!("/api/auth?{query}"),
            &Auth::None,
            None,
        )
        .await
        .expect_error(400, "validation_error");
    }

    let sub = uuid::Uuid::new_v4().to_string();
    let first = start(&sub, &[]).await;
    let second = start(&sub, &[]).await;
    // A code with another sign-in's state: the PKCE verifier is not the code's.
    exchange(&first.code, &second.cookie)
        .await
        .expect_error(400, "invalid_grant");
    // No state at all, and a made-up one.
    api.send(
        Method::POST,
        "/api/auth/token",
        &Auth::None,
        Some(json!({"type": CODE, "code": second.code, "redirectUri": REDIRECT})),
    )
    .await
    .expect_error(400, "invalid_grant");
    exchange(&second.code, "latchkey_signin=made-up")
        .await
        .expect_error(400, "invalid_grant");
    // Another redirect URI than the sign-in's.
    api.send(
        Method::POST,
        "/api/auth/token",
        &Auth::Header("cookie", second.cookie.clone()),
        Some(json!({"type": CODE, "code": second.code, "redirectUri": "http://evil.example"})),
    )
    .await
    .expect_error(400, "validation_error");
    for body in [
        json!({"type": "other", "token": "x"}),
        json!({"type": REFRESH}),
        json!({"type": CODE, "code": "c"}),
    ] {
        api.send(Method::POST, "/api/auth/token", &Auth::None, Some(body))
            .await
            .expect_error(400, "validation_error");
    }
}

/// A session's life is in the workspace's audit log: each sign-in and sign-out by the user
/// through numind's routes, a reused refresh token by the system, each naming its session.
#[tokio::test]
async fn sign_ins_sign_outs_and_a_reused_refresh_token_are_recorded() {
    let workspace = uuid::Uuid::new_v4().to_string();
    let sub = uuid::Uuid::new_v4().to_string();
    let as_admin = [("workspace_id", workspace.as_str()), ("role", "admin")];
    let sign_in = || async {
        let started = start(&sub, &as_admin).await;
        exchange(&started.code, &started.cookie).await.expect(200)
    };
    let first = sign_in().await;
    let spent = first["refreshToken"].as_str().unwrap().to_owned();
    refresh(&spent).await.expect(200);
    refresh(&spent).await.expect_error(400, "invalid_grant");
    let second = sign_in().await;
    Api::new()
        .send(
            Method::POST,
            "/api/auth/logout",
            &Auth::Bearer(second["token"].as_str().unwrap().to_owned()),
            Some(Value::String("\"\"".into())),
        )
        .await
        .expect(200);
    let reader = sign_in().await;
    let page = Api::new()
        .send(
            Method::GET,
            "/api/v1/account/audit-events?action=session.",
            &Auth::Bearer(reader["token"].as_str().unwrap().to_owned()),
            None,
        )
        .await
        .expect(200);
    let events = page["events"].as_array().unwrap();
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor"]["type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("session.signed_in", "user"),
            ("session.signed_out", "user"),
            ("session.signed_in", "user"),
            ("session.refresh_reused", "system"),
            ("session.signed_in", "user"),
        ]
    );
    let session = |e: &Value| e["targets"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        session(&events[1]),
        session(&events[2]),
        "signed out of the second"
    );
    assert_eq!(
        session(&events[3]),
        session(&events[4]),
        "the first was revoked"
    );
    assert_eq!(events[4]["actor"]["id"], sub);
    assert_eq!(events[4]["actor"]["name"], format!("{sub}@example.test"));
    assert_eq!(events[3]["changes"]["revoked_at"]["from"], Value::Null);
    for event in events {
        assert_eq!(event["context"]["family"], "numind");
        assert!(event["context"]["request_id"].is_string(), "{event}");
    }
    let text = page.to_string();
    assert!(!text.contains(&spent), "no refresh token in the log");
}
