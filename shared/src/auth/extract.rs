//! The axum extractor that authenticates a request into a [`Caller`].

use std::{net::IpAddr, sync::Arc};

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{Method, request::Parts},
};
use lambda_http::request::RequestContext;

use super::{Authenticator, Caller};
use crate::error::Error;

/// The client's address as API Gateway saw it.
pub fn source_ip(parts: &Parts) -> Option<IpAddr> {
    match parts.extensions.get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.as_deref()?.parse().ok(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

fn is_mutating(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<Authenticator>::from_ref(state);
        let caller = auth.authenticate(&parts.headers, source_ip(parts)).await?;
        if is_mutating(&parts.method) && caller.grant().is_some_and(|g| g.read_only) {
            return Err(Error::Forbidden(
                "A read-only API key cannot change anything.".into(),
            ));
        }
        Ok(caller)
    }
}
