//! Tokens of the configured OpenID Connect issuer as sessions: the local stack trusts its OpenID
//! provider (`infra/local/issuer.mjs`, oidc-provider), whose signing keys these tests sign with,
//! Cognito-style. Every
//! way a token can be wrong is refused with a 401; the issuer's keys are fetched at most once a
//! minute whatever the `kid`s; an issuer that cannot be reached with nothing cached is a 503.

use latchkey_http::error::Status;
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use latchkey_core::{
    auth::oidc::{OidcVerifier, REFETCH_INTERVAL},
    config::OidcSettings,
};
use latchkey_tests::{Api, Auth, env};
use reqwest::Method;
use serde_json::{Value, json};

const ME: &str = "/api/v1/account/me";

fn issuer() -> String {
    env("LATCHKEY_OIDC_ISSUER")
}

fn audience() -> String {
    env("LATCHKEY_OIDC_AUDIENCES")
        .split(',')
        .next()
        .unwrap()
        .to_owned()
}

fn issuer_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/issuer/{name}", env("LATCHKEY_STACK_STATE")))
        .expect("the local issuer's keys")
}

/// Claims of a token the issuer would mint for a new user, valid for an hour.
fn claims() -> Value {
    let now = chrono::Utc::now().timestamp();
    let sub = uuid::Uuid::new_v4().to_string();
    json!({
        "iss": issuer(), "sub": sub, "aud": audience(), "email": format!("{sub}@idp.example"),
        "name": "From the IdP", "iat": now, "exp": now + 3600, "token_use": "id",
    })
}

/// `claims` signed with the issuer's RSA key (`kid` `local-rsa-1`).
fn rs256(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("local-rsa-1".into());
    let key = EncodingKey::from_rsa_pem(&issuer_file("rsa.pem")).unwrap();
    encode(&header, claims, &key).unwrap()
}

/// `claims` signed with the issuer's P-256 key (`kid` `local-ec-1`).
fn es256(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("local-ec-1".into());
    let key = EncodingKey::from_ec_pem(&issuer_file("ec.pem")).unwrap();
    encode(&header, claims, &key).unwrap()
}

async fn me(token: &str) -> latchkey_tests::Reply {
    Api::new()
        .send(Method::GET, ME, &Auth::Bearer(token.to_owned()), None)
        .await
}

#[tokio::test]
async fn the_issuer_s_rs256_and_es256_tokens_are_sessions() {
    let id_token = claims();
    let profile = me(&rs256(&id_token)).await.expect(200);
    assert_eq!(profile["id"], id_token["sub"]);
    assert_eq!(profile["email"], id_token["email"]);

    let mut other = claims();
    other["sub"] = json!(uuid::Uuid::new_v4().to_string());
    me(&es256(&other)).await.expect(200);

    // A Cognito access token: no `aud`, the client in `client_id`, workspace and role in claims.
    let workspace = uuid::Uuid::new_v4().to_string();
    let mut access = claims();
    access.as_object_mut().unwrap().remove("aud");
    access["client_id"] = json!(audience());
    access["token_use"] = json!("access");
    access["custom:workspace_id"] = json!(workspace);
    access["custom:role"] = json!("viewer");
    let token = rs256(&access);
    let viewer = Api::new();
    viewer
        .send(
            Method::POST,
            "/api/v1/account/api-keys",
            &Auth::Bearer(token.clone()),
            Some(json!({"name": "from an IdP session"})),
        )
        .await
        .expect(201);
    let listed = viewer
        .send(
            Method::GET,
            "/api/v1/account/api-keys",
            &Auth::Bearer(token),
            None,
        )
        .await
        .expect(200);
    assert_eq!(listed[0]["name"], "from an IdP session");
}

#[tokio::test]
async fn every_wrong_token_is_a_401() {
    let good = claims();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = good.clone();
        change(&mut c);
        c
    };
    let b64 = |v: &Value| Base64UrlUnpadded::encode_string(&serde_json::to_vec(v).unwrap());
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": "local-rsa-1"})),
        b64(&good)
    );
    // The key-confusion attack: HS256 with the issuer's public key as the secret.
    let mut confused = Header::new(Algorithm::HS256);
    confused.kid = Some("local-rsa-1".into());
    let confused = encode(
        &confused,
        &good,
        &EncodingKey::from_secret(&issuer_file("rsa.pub.pem")),
    )
    .unwrap();
    // The RSA key's kid on a token signed with the EC key.
    let mut crossed = Header::new(Algorithm::ES256);
    crossed.kid = Some("local-rsa-1".into());
    let crossed = encode(
        &crossed,
        &good,
        &EncodingKey::from_ec_pem(&issuer_file("ec.pem")).unwrap(),
    )
    .unwrap();
    let mut unknown = Header::new(Algorithm::RS256);
    unknown.kid = Some(format!("rotated-away-{}", uuid::Uuid::new_v4()));
    let unknown = encode(
        &unknown,
        &good,
        &EncodingKey::from_rsa_pem(&issuer_file("rsa.pem")).unwrap(),
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let cases = [
        ("alg none", unsigned),
        ("HS256 with the public key", confused),
        ("the RSA kid on an ES256 token", crossed),
        ("an unknown kid", unknown),
        (
            "another issuer",
            rs256(&with(&|c| c["iss"] = json!("https://evil.example"))),
        ),
        (
            "another audience",
            rs256(&with(&|c| c["aud"] = json!("someone-else"))),
        ),
        (
            "expired past the leeway",
            rs256(&with(&|c| c["exp"] = json!(now - 120))),
        ),
        (
            "not valid yet",
            rs256(&with(&|c| c["nbf"] = json!(now + 600))),
        ),
        (
            "no subject",
            rs256(&with(&|c| {
                c.as_object_mut().unwrap().remove("sub");
            })),
        ),
    ];
    for (what, token) in cases {
        let reply = me(&token).await;
        assert!(reply.headers.contains_key("www-authenticate"), "{what}");
        assert_eq!(reply.status.as_u16(), 401, "{what}: {}", reply.body);
    }
}

fn settings(issuer: String) -> OidcSettings {
    OidcSettings {
        issuer,
        audiences: vec![audience()],
        workspace_claim: "workspace_id".into(),
        role_claim: "role".into(),
    }
}

/// A flood of made-up `kid`s costs the issuer one fetch, then none until a minute has passed;
/// the issuer's real keys keep working from the cache.
#[tokio::test]
async fn unknown_kids_cost_at_most_one_fetch_a_minute() {
    assert_eq!(REFETCH_INTERVAL, Duration::from_secs(60));
    let verifier = OidcVerifier::new(settings(issuer()));
    let key = EncodingKey::from_rsa_pem(&issuer_file("rsa.pem")).unwrap();
    for _ in 0..30 {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(uuid::Uuid::new_v4().to_string());
        let token = encode(&header, &claims(), &key).unwrap();
        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(err.status().as_u16(), 401, "{err}");
    }
    let identity = verifier.verify(&rs256(&claims())).await.unwrap();
    assert!(!identity.sub.is_empty());
    assert_eq!(verifier.fetches(), 1);
}

#[tokio::test]
async fn an_unreachable_issuer_with_nothing_cached_is_a_503() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let verifier = OidcVerifier::new(settings(format!("http://127.0.0.1:{port}")));
    let mut token_claims = claims();
    token_claims["iss"] = json!(format!("http://127.0.0.1:{port}"));
    for _ in 0..2 {
        let err = verifier.verify(&rs256(&token_claims)).await.unwrap_err();
        assert_eq!(err.status().as_u16(), 503, "{err}");
    }
    assert_eq!(
        verifier.fetches(),
        1,
        "the second waits for the next minute"
    );
}

/// A sign-in's id token must carry the nonce the sign-in sent: another, or none, is an
/// `invalid_grant`, however good the token is otherwise.
#[tokio::test]
async fn an_id_token_with_another_nonce_is_an_invalid_grant() {
    let verifier = OidcVerifier::new(settings(issuer()));
    let mut id_token = claims();
    id_token["nonce"] = json!("the-sign-in-s-nonce");
    let token = rs256(&id_token);
    let identity = verifier
        .verify_id_token(&token, "the-sign-in-s-nonce")
        .await
        .unwrap();
    assert_eq!(identity.sub, id_token["sub"]);
    for token in [token, rs256(&claims())] {
        let err = verifier
            .verify_id_token(&token, "another-sign-in-s-nonce")
            .await
            .unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        assert_eq!(err.code(), "invalid_grant");
    }
}
