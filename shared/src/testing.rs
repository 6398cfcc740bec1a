//! Test support for router tests (feature `testing`): components wired to a DynamoDB endpoint
//! that is never reached, for requests that stop before storage (auth failures, 404/405,
//! validation).

use crate::{
    aws::{Aws, CallPath},
    config::Config,
    wiring::Wiring,
};

/// Wiring from a fixed test configuration and an unreachable DynamoDB endpoint.
pub fn offline_wiring() -> Wiring {
    let config = Config::from_lookup(|name| {
        let value = match name {
            "LATCHKEY_TABLE" => "unused",
            "LATCHKEY_JWT_SECRET" => "router-test-secret-router-test-secret",
            "LATCHKEY_JWT_ISSUER" => "latchkey",
            "LATCHKEY_JWT_AUDIENCE" => "latchkey-api",
            "LATCHKEY_OIDC_ISSUER" => "http://127.0.0.1:9",
            "LATCHKEY_OIDC_AUDIENCES" => "router-test-client",
            _ => return None,
        };
        Some(value.to_owned())
    })
    .expect("the test configuration is valid");
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    Wiring::new(config, Aws::unguarded(sdk), CallPath::Api)
}

/// Sign-in settings for [`offline_wiring`]'s issuer: a client with one redirect URI.
pub fn offline_sign_in(wiring: &Wiring) -> std::sync::Arc<crate::sessions::SignIn> {
    let settings = crate::config::SignInSettings::from_lookup(
        |name| match name {
            "LATCHKEY_OIDC_CLIENT_ID" => Some("router-test-client".to_owned()),
            "LATCHKEY_OIDC_REDIRECT_URIS" => Some("http://localhost:5173".to_owned()),
            _ => None,
        },
        "router-test-client-secret".to_owned(),
        wiring.config().sessions(),
    )
    .expect("the test sign-in settings are valid");
    wiring
        .sign_in(settings)
        .expect("the offline wiring has an issuer")
}

/// Replays an API Gateway event file from `infra/events/` through a router.
pub async fn replay(
    router: axum::Router,
    event_file: &str,
) -> (http::StatusCode, serde_json::Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let path = format!(
        "{}/../infra/events/{event_file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let event = std::fs::read_to_string(path).expect("fixture exists");
    let request = lambda_http::request::from_str(&event).expect("a valid API Gateway event");
    let (parts, body) = request.into_parts();
    let request = http::Request::from_parts(parts, axum::body::Body::from(body.to_vec()));
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}
