//! What verifying a session token costs, per scheme, against the local stack's OpenID provider
//! (run by `infra/local/bench`, which starts it): Latchkey's own HS256 session; the provider's
//! RS256 and ES256 tokens with its keys cached (a JWKS cache hit); and the first token of a
//! container, which fetches the discovery document and the JWKS. In process, no storage: the
//! revocation check is one cached lookup on top (see the README).

use std::hint::black_box;

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use latchkey_core::auth::{
    jwt::{JwtIssuer, JwtVerifier},
    oidc::OidcVerifier,
};
use latchkey_tests::{bench, env};
use serde_json::json;

fn signed(algorithm: Algorithm, kid: &str, pem: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": env("LATCHKEY_OIDC_ISSUER"), "sub": "bench-user", "aud": env("LATCHKEY_OIDC_CLIENT_ID"),
        "email": "bench@example.test", "iat": now, "exp": now + 3600, "jti": "bench",
    });
    let pem = std::fs::read(format!("{}/issuer/{pem}", env("LATCHKEY_STACK_STATE")))
        .expect("the provider's keys (infra/local/bench starts the stack)");
    let key = match algorithm {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
        _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
    };
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.into());
    encode(&header, &claims, &key).unwrap()
}

#[tokio::main]
async fn main() {
    let config = latchkey_tests::config();
    let jwt = config
        .jwt
        .clone()
        .expect("the bench signs with LATCHKEY_JWT_SECRET");
    let issuer = JwtIssuer::new(&jwt);
    let session = issuer.sign(&issuer.claims("bench-user", 3600));
    let hs256 = JwtVerifier::new(&jwt);
    bench("HS256 session (Latchkey's own)", 100_000, |_| {
        black_box(hs256.verify(black_box(&session)).unwrap());
        async {}
    })
    .await;

    let settings = config.oidc.clone().expect("the stack trusts its provider");
    let rs256 = signed(Algorithm::RS256, "local-rsa-1", "rsa.pem");
    let es256 = signed(Algorithm::ES256, "local-ec-1", "ec.pem");
    bench("RS256, first of a container (JWKS fetch)", 20, |_| {
        let settings = settings.clone();
        let token = rs256.clone();
        async move {
            let cold = OidcVerifier::new(settings);
            black_box(cold.verify(&token).await.unwrap());
        }
    })
    .await;
    let warm = OidcVerifier::new(settings);
    warm.verify(&rs256).await.unwrap();
    bench("RS256 provider token, JWKS cached", 20_000, |_| {
        let (warm, token) = (&warm, &rs256);
        async move {
            black_box(warm.verify(token).await.unwrap());
        }
    })
    .await;
    bench("ES256 provider token, JWKS cached", 20_000, |_| {
        let (warm, token) = (&warm, &es256);
        async move {
            black_box(warm.verify(token).await.unwrap());
        }
    })
    .await;
    assert_eq!(
        warm.fetches(),
        1,
        "every cached verification was a JWKS cache hit"
    );
}
