//! numind's key routes (`/api/auth/api-keys`): the caller's own keys in numind's camelCase shapes,
//! so numind's `AuthenticationApi` works unchanged. Every success is a 200, a create included;
//! the token is whole only in a create's answer. The same keys and use cases as the native API,
//! served by the api-keys function like every key family. (numind's sign-in routes under
//! `/api/auth` come with sign-in.)

pub mod input;
pub mod view;

use crate::Authenticated;
use crate::callers::{SESSION_OR_KEY, secured};
use crate::responses::{Errors, status::*};
use axum::{extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};

use self::{
    input::{CreateKeyRequest, UpdateKeyRequest},
    view::NumindKey,
};
use crate::Result;
use crate::api::api_keys::KeysApi;
use crate::{IdPath, Json};
use latchkey_core::ids::CamelKeyId;

/// The family's routes, each with its operation in the document.
pub(crate) fn routes() -> OpenApiRouter<KeysApi> {
    let keys = OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, remove));
    secured(keys, SESSION_OR_KEY)
}

type Svc = State<KeysApi>;

#[utoipa::path(
    get, path = "/api/auth/api-keys", tag = "numind", operation_id = "numind_list_api_keys",
    summary = "List the caller's keys",
    description = "Every key the caller owns, newest first, tokens masked.",
    responses(
        (status = 200, description = "The caller's keys.", body = Vec<NumindKey>),
        Errors<{ CALLER }>,
    ),
)]
async fn list(
    State(s): Svc,
    Authenticated(caller): Authenticated,
) -> Result<axum::Json<Vec<NumindKey>>> {
    let keys = s.keys.list(&caller).await?;
    Ok(axum::Json(
        keys.iter().map(|k| NumindKey::new(k, None)).collect(),
    ))
}

#[utoipa::path(
    post, path = "/api/auth/api-keys", tag = "numind", operation_id = "numind_create_api_key",
    summary = "Create a key",
    description = "Answers 200 with the whole key in `token`, once. `maybeOrga`, when sent, must \
        be the caller's organization (workspace); another is a 404.",
    request_body = CreateKeyRequest,
    responses(
        (status = 200, description = "The new key, with its token.", body = NumindKey),
        Errors<{ CALLER | BAD_REQUEST | NOT_FOUND }>,
    ),
)]
async fn create(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    Json(body): Json<CreateKeyRequest>,
) -> Result<axum::Json<NumindKey>> {
    let spec = body.parse(&caller.workspace_id)?;
    let issued = s.keys.create(&caller, spec).await?;
    Ok(axum::Json(NumindKey::new(&issued.key, Some(&issued.plain))))
}

#[utoipa::path(
    put, path = "/api/auth/api-keys/{apiKeyId}", tag = "numind",
    operation_id = "numind_update_api_key", summary = "Rename a key",
    params(IdPath<CamelKeyId>),
    request_body = UpdateKeyRequest,
    responses(
        (status = 200, description = "The key, token masked.", body = NumindKey),
        Errors<{ CALLER | BAD_REQUEST | NOT_FOUND | CONFLICT }>,
    ),
)]
async fn update(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(id): IdPath<CamelKeyId>,
    Json(body): Json<UpdateKeyRequest>,
) -> Result<axum::Json<NumindKey>> {
    let key = s.keys.update(&caller, id.into(), body.parse()?).await?;
    Ok(axum::Json(NumindKey::new(&key, None)))
}

#[utoipa::path(
    delete, path = "/api/auth/api-keys/{apiKeyId}", tag = "numind",
    operation_id = "numind_delete_api_key", summary = "Delete a key",
    description = "The key is gone (404 after) and stops verifying within the cache bound.",
    params(IdPath<CamelKeyId>),
    responses(
        (status = 200, description = "Deleted; no body."),
        Errors<{ CALLER | NOT_FOUND | CONFLICT }>,
    ),
)]
async fn remove(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(id): IdPath<CamelKeyId>,
) -> Result<StatusCode> {
    s.keys.delete(&caller, id.into()).await?;
    Ok(StatusCode::OK)
}
