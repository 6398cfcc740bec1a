//! What stands between a client and a handler's mistakes: a body-size limit checked before any
//! parsing, and a catch for panics, so one bad request costs one request and never the container.

use std::any::Any;

use axum::body::HttpBody as _;
use axum::{
    body::Body,
    extract::{DefaultBodyLimit, Request},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tower_http::catch_panic::CatchPanicLayer;

use latchkey_core::error::Error;

use crate::ApiError;

/// The largest request body any route accepts (1 MiB); larger is a 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Middleware: refuses a body known to be over the limit before a handler sees it; a body of
/// unknown length is held to the same limit by the extractors ([`body_limit`]).
pub async fn limit_body(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let known = request.body().size_hint().exact();
    if declared
        .into_iter()
        .chain(known)
        .any(|n| n > MAX_BODY_BYTES as u64)
    {
        return ApiError(Error::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        })
        .into_response();
    }
    next.run(request).await
}

/// The layer that sets the extractors' own limit to [`MAX_BODY_BYTES`] (axum's default is 2 MB).
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_BODY_BYTES)
}

/// Turns the payload of a caught panic into a response.
type PanicResponder = fn(Box<dyn Any + Send + 'static>) -> Response<Body>;

/// A layer that turns a handler's panic into the contract's 500, logging its cause.
pub fn catch_panics() -> CatchPanicLayer<PanicResponder> {
    CatchPanicLayer::custom(panicked as PanicResponder)
}

fn panicked(payload: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let cause = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    ApiError(Error::internal(std::io::Error::other(format!(
        "handler panicked: {cause}"
    ))))
    .into_response()
}

#[cfg(test)]
mod tests {
    use axum::{
        Router,
        body::Body,
        http::Request,
        routing::{get, post},
    };
    use tower::ServiceExt;

    use super::*;

    async fn call(
        app: Router,
        request: Request<Body>,
    ) -> (u16, http::HeaderMap, serde_json::Value) {
        let reply = app.oneshot(request).await.unwrap();
        let (parts, body) = reply.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 16).await.unwrap();
        (
            parts.status.as_u16(),
            parts.headers,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    async fn boom() -> &'static str {
        panic!("secret internals")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_the_contract_500_and_the_router_lives_on() {
        let app = crate::finish(
            Router::new()
                .route("/boom", get(boom))
                .route("/fine", get(|| async { "ok" })),
        );
        let request = Request::get("/boom")
            .header("x-request-id", "req-1")
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = call(app.clone(), request).await;
        assert_eq!(status, 500);
        assert_eq!(headers["x-request-id"], "req-1");
        assert_eq!(body["code"], "internal_error");
        assert_eq!(body["detail"], "The server could not complete the request.");
        assert!(!body.to_string().contains("secret"));
        let (status, _, _) = call(app, Request::get("/fine").body(Body::empty()).unwrap()).await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_413_before_parsing() {
        let app = crate::finish(Router::new().route(
            "/echo",
            post(|crate::Json(v): crate::Json<serde_json::Value>| async move { axum::Json(v) }),
        ));
        let big = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        let (status, headers, body) = call(
            app.clone(),
            Request::post("/echo").body(Body::from(big)).unwrap(),
        )
        .await;
        assert_eq!(status, 413);
        assert_eq!(body["code"], "payload_too_large");
        assert!(headers.contains_key("x-request-id"));
        let (status, _, _) =
            call(app, Request::post("/echo").body(Body::from("{}")).unwrap()).await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn a_body_of_unknown_length_is_held_to_the_same_limit() {
        let app = crate::finish(Router::new().route(
            "/echo",
            post(|crate::Json(v): crate::Json<serde_json::Value>| async move { axum::Json(v) }),
        ));
        // Two chunks with no declared length, together over 1 MiB but under axum's default 2 MB.
        let chunks = [
            format!("{{\"a\": \"{}", "x".repeat(MAX_BODY_BYTES / 2)),
            format!("{}\"}}", "x".repeat(MAX_BODY_BYTES / 2)),
        ];
        let stream = futures_util::stream::iter(
            chunks.map(|c| Ok::<_, std::io::Error>(bytes::Bytes::from(c))),
        );
        let request = Request::post("/echo")
            .body(Body::from_stream(stream))
            .unwrap();
        let (status, _, body) = call(app, request).await;
        assert_eq!(status, 413);
        assert_eq!(body["code"], "payload_too_large");
    }
}
