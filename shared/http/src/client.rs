//! What a request says about its sender: address and user agent; and, for the audit log, where
//! it came from ([`origin`]): those, its id and the family its path belongs to.

use std::{convert::Infallible, net::IpAddr};

use axum::{extract::FromRequestParts, http::request::Parts};
use lambda_http::request::RequestContext;

use latchkey_core::{audit::Origin, usage::AttemptContext};

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

/// The family a path belongs to, as the audit log names it.
pub fn family_of(path: &str) -> &'static str {
    if path == "/console" || path.starts_with("/console/") {
        "console"
    } else if path.starts_with("/companies/") {
        "spartera"
    } else if path.starts_with("/auth/api_keys") {
        "latitude.sh"
    } else if path.starts_with("/api/auth") {
        "numind"
    } else if path.starts_with("/api/") {
        "native"
    } else if path.contains("/api/v2/") {
        "cartovista"
    } else {
        "native"
    }
}

impl ClientContext {
    /// Where the request whose parts are `parts` came from, for the audit log: this sender, the
    /// request's id and the family its path belongs to.
    pub fn origin(&self, parts: &Parts) -> Origin {
        Origin {
            ip: self.0.ip.map(|ip| ip.to_string()),
            user_agent: self.0.user_agent.clone(),
            request_id: parts
                .headers
                .get(crate::request_id::REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            family: family_of(parts.uri.path()).to_owned(),
        }
    }
}

/// Where a request came from, for the audit log of a use case that takes no caller (a sign-in).
#[derive(Debug, Clone)]
pub struct RequestOrigin(pub Origin);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(ClientContext::of(parts).origin(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::family_of;

    #[test]
    fn every_family_is_named_by_its_paths() {
        for (path, family) in [
            ("/api/v1/account/api-keys", "native"),
            ("/api/v1/keys/verify", "native"),
            ("/companies/ws/api-keys/1", "spartera"),
            ("/auth/api_keys/abc", "latitude.sh"),
            ("/api/auth/api-keys", "numind"),
            ("/tenant/api/v2/ApiKey", "cartovista"),
            ("/console/keys", "console"),
        ] {
            assert_eq!(family_of(path), family, "{path}");
        }
    }
}
