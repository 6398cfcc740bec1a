//! The extractors that authenticate a request: [`Authenticated`] (any caller) and [`Session`]
//! (a signed-in user only).

use std::sync::Arc;

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{Method, request::Parts},
};

use latchkey_core::{
    auth::{Authenticator, Caller, Credential, Presented, Role},
    error::Error,
};

use crate::{ApiError, ClientContext, RateLimitSlot};

fn is_mutating(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The caller a request authenticated as, by a session or an API key; a read-only key is refused
/// on any method that changes something.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Caller);

impl<S> FromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<Authenticator>::from_ref(state);
        let client = ClientContext::of(parts);
        let authentication = auth.authenticate(&parts.headers, &client.0).await;
        if let (Some(slot), Some(rate)) =
            (parts.extensions.get::<RateLimitSlot>(), authentication.rate)
        {
            slot.fill(rate);
        }
        let mut caller = authentication.result?;
        caller.origin = client.origin(parts);
        if is_mutating(&parts.method) && caller.grant().is_some_and(|g| g.read_only) {
            return Err(
                Error::Forbidden("A read-only API key cannot change anything.".into()).into(),
            );
        }
        Ok(Self(caller))
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
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<Authenticator>::from_ref(state);
        if let Presented::Key(_) = Presented::from_headers(&parts.headers, auth.key_prefix())? {
            return Err(Error::Unauthenticated(
                "Authentication failed: this route needs a user session; API keys are not accepted.".into(),
            )
            .into());
        }
        let Authenticated(caller) = Authenticated::from_request_parts(parts, state).await?;
        match caller.credential {
            Credential::Session { role } => Ok(Session { caller, role }),
            Credential::ApiKey(_) => unreachable!("keys were refused above"),
        }
    }
}
