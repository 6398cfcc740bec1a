//! The axum extractor that authenticates a request into a [`Caller`].

use std::sync::Arc;

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{Method, request::Parts},
};

use super::{Authenticator, Caller, Credential, Presented, Role};
use crate::{
    error::Error,
    http::{ClientContext, RateLimitSlot},
};

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
        let client = ClientContext::of(parts);
        let authentication = auth.authenticate(&parts.headers, &client.0).await;
        if let (Some(slot), Some(rate)) =
            (parts.extensions.get::<RateLimitSlot>(), authentication.rate)
        {
            slot.fill(rate);
        }
        let caller = authentication.result?;
        if is_mutating(&parts.method) && caller.grant().is_some_and(|g| g.read_only) {
            return Err(Error::Forbidden(
                "A read-only API key cannot change anything.".into(),
            ));
        }
        Ok(caller)
    }
}

/// A caller that must be a user session: an API key is refused with 401 before it is checked
/// (routes such as privacy erasure never accept keys).
#[derive(Clone, Debug)]
pub struct Session {
    /// The caller.
    pub caller: Caller,
    /// Their role in the workspace.
    pub role: Role,
}

impl<S> FromRequestParts<S> for Session
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<Authenticator>::from_ref(state);
        if let Presented::Key(_) = Presented::from_headers(&parts.headers, auth.key_prefix())? {
            return Err(Error::Unauthenticated(
                "Authentication failed: this route needs a user session; API keys are not accepted.".into(),
            ));
        }
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.credential {
            Credential::Session { role } => Ok(Session { caller, role }),
            Credential::ApiKey(_) => unreachable!("keys were refused above"),
        }
    }
}
