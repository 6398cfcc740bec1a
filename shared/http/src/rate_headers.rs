//! `X-RateLimit-*` on every key-authenticated response, errors included.
//!
//! The middleware puts an empty [`RateLimitSlot`] into the request; authentication fills it when
//! an API key was checked against its rate window; the middleware copies it onto the response.

use std::sync::{Arc, Mutex};

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};

use latchkey_core::keys::ratelimit::RateStatus;

/// Where authentication leaves the acting key's rate window for the response.
#[derive(Clone, Debug, Default)]
pub struct RateLimitSlot(Arc<Mutex<Option<RateStatus>>>);

impl RateLimitSlot {
    /// Records the acting key's rate window.
    pub fn fill(&self, status: RateStatus) {
        *self.0.lock().expect("slot lock") = Some(status);
    }

    fn take(&self) -> Option<RateStatus> {
        self.0.lock().expect("slot lock").take()
    }
}

/// Middleware: adds `X-RateLimit-Limit`, `-Remaining` and `-Reset` when a key was checked.
pub async fn add(mut request: Request, next: Next) -> Response {
    let slot = RateLimitSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    if let Some(status) = slot.take() {
        let headers = response.headers_mut();
        for (name, value) in [
            ("x-ratelimit-limit", i64::from(status.limit)),
            ("x-ratelimit-remaining", i64::from(status.remaining)),
            ("x-ratelimit-reset", status.reset),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
    }
    response
}
