//! What a request says about its sender: address and user agent.

use std::{convert::Infallible, net::IpAddr};

use axum::{extract::FromRequestParts, http::request::Parts};
use lambda_http::request::RequestContext;

use latchkey_core::usage::AttemptContext;

/// The sender of a request as API Gateway saw it.
#[derive(Debug, Clone)]
pub struct ClientContext(pub AttemptContext);

/// The longest user agent kept.
const MAX_USER_AGENT: usize = 512;

impl ClientContext {
    /// The sender of the request whose parts are `parts`.
    pub fn of(parts: &Parts) -> Self {
        let ip = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx
                .http
                .source_ip
                .as_deref()
                .and_then(|ip| ip.parse::<IpAddr>().ok()),
            #[allow(unreachable_patterns)]
            _ => None,
        };
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
        Self(AttemptContext {
            ip,
            user_agent,
            ..AttemptContext::default()
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}
