//! The privacy family: GDPR erasure jobs. Sessions only; creating one needs owner or admin.
//! Its request shape is [`input`], its answers [`view`].

pub mod input;
pub mod view;

use crate::callers::{SESSION_ONLY, secured};
use crate::responses::{Errors, status::*};
use std::sync::Arc;

use axum::{
    Json as Body, Router,
    extract::{FromRef, State},
    http::StatusCode,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use self::{input::ErasureRequest, view::ErasureResponse};
use crate::Result;
use crate::{IdPath, Json, Session};
use latchkey_core::{
    auth::Authenticator, ids::ErasureJobId, privacy::erasure::Erasure, wiring::Wiring,
};

/// The privacy function's router.
pub fn router(state: PrivacyApi) -> Router {
    super::mount(routes(), state)
}

/// What the privacy function's routes use.
#[derive(Clone)]
pub struct PrivacyApi {
    /// Authentication of callers.
    pub auth: Arc<Authenticator>,
    /// Erasure jobs.
    pub erasure: Arc<Erasure>,
}

impl PrivacyApi {
    /// Takes what the routes use from `wiring`.
    pub fn wire(wiring: &Wiring) -> Self {
        Self {
            auth: wiring.auth(),
            erasure: wiring.erasure(),
        }
    }
}

impl FromRef<PrivacyApi> for Arc<Authenticator> {
    fn from_ref(state: &PrivacyApi) -> Self {
        state.auth.clone()
    }
}

/// The family's routes, each with its operation in the document.
pub(super) fn routes() -> OpenApiRouter<PrivacyApi> {
    let jobs = OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(read));
    secured(jobs, SESSION_ONLY)
}

type Svc = State<PrivacyApi>;

#[utoipa::path(
    post, path = "/api/v1/account/privacy/erasure", tag = "privacy",
    operation_id = "create_erasure_job", summary = "Erase end clients' usage events",
    description = "Sessions of a workspace owner or admin only (an API key is 401). The job runs in \
        the background; a dry run counts and deletes nothing.",
    request_body = input::ErasureRequestSchema,
    responses(
        (status = 201, description = "The recorded job.", body = ErasureResponse),
        Errors<{ BAD_REQUEST | UNAUTHENTICATED | FORBIDDEN }>,
    ),
)]
async fn create(
    State(s): Svc,
    session: Session,
    Json(body): Json<ErasureRequest>,
) -> Result<(StatusCode, Body<ErasureResponse>)> {
    let job = s.erasure.request(&session.caller, body.parse()?).await?;
    Ok((StatusCode::CREATED, Body(ErasureResponse::from(&job))))
}

#[utoipa::path(
    get, path = "/api/v1/account/privacy/erasure/{job_id}", tag = "privacy",
    operation_id = "get_erasure_job", summary = "An erasure job's progress",
    description = "Jobs of the caller's workspace only; any other id is 404.",
    params(IdPath<ErasureJobId>),
    responses(
        (status = 200, description = "The job.", body = ErasureResponse),
        Errors<{ UNAUTHENTICATED | NOT_FOUND }>,
    ),
)]
async fn read(
    State(s): Svc,
    session: Session,
    IdPath(ErasureJobId(id)): IdPath<ErasureJobId>,
) -> Result<Body<ErasureResponse>> {
    let job = s.erasure.get(&session.caller.workspace_id, id).await?;
    Ok(Body(ErasureResponse::from(&job)))
}

#[cfg(test)]
mod tests {
    use crate::testing::{offline_wiring, replay};
    use axum::http::StatusCode;

    use super::router;

    #[tokio::test]
    async fn api_keys_are_refused_with_401() {
        let (status, body) = replay(
            router(super::PrivacyApi::wire(&offline_wiring())),
            "privacy-erasure-with-key.json",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "unauthenticated");
    }
}
