//! The API Gateway HTTP API REQUEST authorizer (payload 2.0, simple responses) over the
//! verification core: users put it in front of their own routes.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use serde::Serialize;

use latchkey_core::{
    auth::{Presented, paired_secret},
    error::Error,
    keys::verify::KeyVerifier,
    outcome::VerifyCode,
    usage::AttemptContext,
};

/// The simple response: `isAuthorized`, and the context API Gateway hands to the route's
/// integration (`$context.authorizer.key_id`, ...). A denial's context only carries the code, for
/// the logs; API Gateway answers a denied request with 403 on its own.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    /// Whether API Gateway lets the request through.
    pub is_authorized: bool,
    /// What the integration learns about the key.
    pub context: AuthorizerContext,
}

/// The context of an authorizer decision.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct AuthorizerContext {
    /// The verification outcome.
    pub code: VerifyCode,
    /// The key's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Its workspace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// Its owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// Its permissions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

fn deny(code: VerifyCode) -> AuthorizerResponse {
    AuthorizerResponse {
        is_authorized: false,
        context: AuthorizerContext {
            code,
            key_id: None,
            workspace_id: None,
            owner_id: None,
            permissions: None,
        },
    }
}

/// Decides an authorizer event: the key from `X-API-KEY` or `Authorization: Bearer` (with its
/// paired secret from `secretKey`, for a key that has one), the client
/// address and user agent from the request context, the permissions `route_permissions` requires
/// for the event's route key, verified like every other caller.
pub async fn authorize(
    verifier: &KeyVerifier,
    route_permissions: &HashMap<String, Vec<String>>,
    event: &ApiGatewayV2CustomAuthorizerV2Request,
) -> Result<AuthorizerResponse, Error> {
    let Ok(Presented::Key(key)) = Presented::from_headers(&event.headers, verifier.prefix()) else {
        return Ok(deny(VerifyCode::NotFound));
    };
    let required = event
        .route_key
        .as_deref()
        .and_then(|route| route_permissions.get(route))
        .map(Vec::as_slice)
        .unwrap_or_default();
    let http = &event.request_context.http;
    let context = AttemptContext {
        ip: http.source_ip.as_deref().and_then(|ip| ip.parse().ok()),
        user_agent: http.user_agent.clone(),
        ..AttemptContext::default()
    };
    let verification = verifier
        .verify_pair(key, paired_secret(&event.headers), required, &context)
        .await?;
    tracing::info!(code = ?verification.code, route = ?event.route_key, "authorizer decision");
    Ok(match (verification.code, verification.key) {
        (VerifyCode::Valid, Some(key)) => AuthorizerResponse {
            is_authorized: true,
            context: AuthorizerContext {
                code: VerifyCode::Valid,
                key_id: Some(key.id.to_string()),
                workspace_id: Some(key.workspace_id.to_string()),
                owner_id: Some(key.owner_id.to_string()),
                permissions: Some(key.permissions),
            },
        },
        (code, _) => deny(code),
    })
}
