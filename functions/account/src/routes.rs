//! Routes of the account family. For now: health.

use axum::{Json, Router, routing::get};
use serde::Serialize;

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

/// The function's router, finished with the shared 404/405 and request-id handling.
pub fn router() -> Router {
    latchkey::http::finish(Router::new().route("/api/v1/account/health", get(health)))
}

async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{
        body::Body,
        http::{Request, StatusCode},
    };
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn call(method: &str, path: &str) -> (StatusCode, serde_json::Value, Option<String>) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("x-request-id", "req-1")
            .body(Body::empty())
            .unwrap();
        let response = router().oneshot(request).await.unwrap();
        let status = response.status();
        let id = response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&body).unwrap_or_default(),
            id,
        )
    }

    #[tokio::test]
    async fn health_is_ok_and_echoes_the_request_id() {
        let (status, body, id) = call("GET", "/api/v1/account/health").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, serde_json::json!({"status": "ok"}));
        assert_eq!(id.as_deref(), Some("req-1"));
    }

    #[tokio::test]
    async fn unknown_route_and_wrong_method_speak_the_error_body() {
        let (status, body, _) = call("GET", "/api/v1/account/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "not_found");
        let (status, body, _) = call("DELETE", "/api/v1/account/health").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["code"], "method_not_allowed");
    }
}
