//! Routes of the privacy family: erasure jobs. Sessions only; creating needs owner or admin.

use axum::{
    Json as Body, Router,
    extract::{Path, State},
    routing::{get, post},
};
use latchkey::{
    Error, Result,
    auth::{Role, Session},
    http::Json,
    privacy::{ErasureRequest, ErasureResponse},
    services::Services,
};

/// The function's router, finished with the shared 404/405 and request-id handling.
pub fn router(services: Services) -> Router {
    let routes = Router::new()
        .route("/api/v1/account/privacy/erasure", post(create))
        .route("/api/v1/account/privacy/erasure/{job_id}", get(read))
        .with_state(services);
    latchkey::http::finish(routes)
}

type Svc = State<Services>;

async fn create(
    State(s): Svc,
    session: Session,
    Json(body): Json<ErasureRequest>,
) -> Result<Body<ErasureResponse>> {
    if !matches!(session.role, Role::Owner | Role::Admin) {
        return Err(Error::Forbidden(
            "Only a workspace owner or admin may erase its data.".into(),
        ));
    }
    let spec = body.parse()?;
    let job = s
        .erasure
        .create(&session.caller.user_id, &session.caller.workspace_id, spec)
        .await?;
    Ok(Body(ErasureResponse::from(&job)))
}

async fn read(
    State(s): Svc,
    session: Session,
    Path(raw): Path<String>,
) -> Result<Body<ErasureResponse>> {
    let id = uuid::Uuid::parse_str(&raw)
        .map_err(|_| Error::NotFound("No erasure job with that id.".into()))?;
    let job = s.erasure.get(&session.caller.workspace_id, id).await?;
    Ok(Body(ErasureResponse::from(&job)))
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use latchkey::testing::{offline_services, replay};

    use super::router;

    #[tokio::test]
    async fn api_keys_are_refused_with_401() {
        let (status, body) =
            replay(router(offline_services()), "privacy-erasure-with-key.json").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "unauthenticated");
    }
}
