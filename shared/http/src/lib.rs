//! Latchkey's HTTP layer: the contract's shapes over the domain's use cases.
//!
//! Extractors whose rejections speak the contract's error body ([`extract`], [`session`]), the
//! guard every function's router is finished with ([`finish`]: 404/405 bodies, body limit, panic
//! guard, rate-limit headers, request ids), [`error`], the one place that decides status codes,
//! and [`api`]: the native API, the compatibility families, and the OpenAPI document they make.
//! Handlers extract, call a use case of `latchkey_core`, and map the result.

pub mod api;
pub mod callers;
pub mod error;
pub mod families;
pub mod responses;
pub mod session;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{ApiError, Result};
pub use session::{Authenticated, Session};

pub mod client;
mod cookies;
mod event;
pub mod extract;
mod guard;
mod rate_headers;
mod request_id;

pub use client::{ClientContext, RequestOrigin};
pub use cookies::{cookie, is_local, set_cookie};
pub use extract::{IdPath, Json, Query, path_or};
pub use guard::MAX_BODY_BYTES;
pub use rate_headers::RateLimitSlot;
pub use request_id::REQUEST_ID;

use axum::{Router, middleware};

use latchkey_core::error::Error;

/// Finishes a function's router: contract-shaped 404 and 405 bodies, a 413 for bodies over
/// [`MAX_BODY_BYTES`] before anything parses them, the contract's 500 for a handler that
/// panicked (one request lost, not the container), `X-RateLimit-*` on key-authenticated
/// responses, and `X-Request-Id` on every response.
pub fn finish(router: Router) -> Router {
    router
        .method_not_allowed_fallback(|| async { ApiError(Error::MethodNotAllowed) })
        .fallback(|| async { ApiError(Error::NotFound("No such route.".into())) })
        .layer(middleware::from_fn(guard::limit_body))
        .layer(guard::body_limit())
        .layer(guard::catch_panics())
        .layer(middleware::from_fn(rate_headers::add))
        .layer(middleware::from_fn(event::refuse_malformed))
        .layer(middleware::from_fn(request_id::propagate))
}

/// Serves `router` on the Lambda runtime (API Gateway HTTP API events), turning no event into
/// a panic ([`event::SafeEvents`]).
pub async fn run(router: Router) -> Result<(), lambda_http::Error> {
    lambda_http::lambda_runtime::run(event::SafeEvents::new(lambda_http::Adapter::from(router)))
        .await
}
