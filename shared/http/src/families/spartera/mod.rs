//! The spartera family (`/companies/{company_id}/api-keys`): a company's keys in spartera's
//! shapes, so code written against its `spartera-api-sdk` works unchanged.
//!
//! The same keys and use cases as the native API ([`latchkey_core::keys::service`]); owner and admin
//! sessions manage every key of their company (workspace), anyone else their own. Keys are named
//! by their number in the company (their UUID works too). Every success is a 200, and errors
//! carry spartera's body (`{"code", "message", "errors"}`): [`spartera_errors`] rewrites the
//! answer the one error type made, from the [`ErrorReport`] it left in the response, so
//! statuses are still decided in one place.

pub mod input;
pub mod view;

use crate::Authenticated;
use crate::callers::{SESSION_OR_KEY, secured};
use crate::responses::{ErrorsAs, status::*};
use axum::{
    body::Body,
    extract::{FromRequestParts, State},
    http::{HeaderValue, header, request::Parts},
    response::Response,
};
use serde::Deserialize;
use utoipa::ToResponse;
use utoipa_axum::{router::OpenApiRouter, routes};

use self::{
    input::{KeysInput, ListQuery},
    view::{
        Created, CreatedAnswer, ErrorBody, KeyAnswer, KeyList, KeyNumber, NumberAnswer, Pagination,
        SparteraKey, SparteraKeyStats, StatsAnswer,
    },
};
use crate::api::api_keys::KeysApi;
use crate::{Json, Query, path_or};
use crate::{Result, error::ErrorReport};
use latchkey_core::{
    auth::Caller,
    ids::{KeyId, ResourceId},
};

/// The family's routes, each with its operation in the document.
pub(crate) fn routes() -> OpenApiRouter<KeysApi> {
    let keys = OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(read, update, remove))
        .routes(routes!(revoke))
        .routes(routes!(stats));
    secured(keys, SESSION_OR_KEY).route_layer(axum::middleware::map_response(spartera_errors))
}

/// Gives an error answer spartera's body.
async fn spartera_errors(mut response: Response) -> Response {
    let Some(report) = response.extensions_mut().remove::<ErrorReport>() else {
        return response;
    };
    let body = serde_json::to_vec(&ErrorBody::new(response.status(), &report))
        .expect("an error body serializes");
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

/// An error, in spartera's body.
#[derive(ToResponse)]
#[response(
    description = "An error: `code` is the HTTP status, `errors` names each field at \
    fault. 401 answers carry `WWW-Authenticate`, 429 and 503 `Retry-After`."
)]
#[allow(dead_code)]
pub struct SparteraErrorResponse(#[to_schema] ErrorBody<'static>);

/// `/companies/{company_id}/api-keys`: the company named, which must be the caller's (else 404).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CompanyPath {
    /// The company (workspace) id: the caller's.
    company_id: String,
}

/// `/companies/{company_id}/api-keys/{api_key_id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CompanyKeyPath {
    /// The company (workspace) id: the caller's.
    company_id: String,
    /// The key's number in the company (or its UUID).
    api_key_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for CompanyPath {
    type Rejection = crate::ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        path_or(parts, input::no_company).await
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CompanyKeyPath {
    type Rejection = crate::ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        path_or(parts, KeyId::not_found).await
    }
}

type Svc = State<KeysApi>;

impl KeysApi {
    /// The key a spartera path names, among those the caller may manage in their company.
    async fn spartera_key(&self, caller: &Caller, path: &CompanyKeyPath) -> Result<KeyId> {
        input::company(caller, &path.company_id)?;
        let by = input::key_ref(&path.api_key_id).ok_or_else(KeyId::not_found)?;
        Ok(self.workspace_keys.resolve(caller, by).await?)
    }
}

#[utoipa::path(
    post, path = "/companies/{company_id}/api-keys", tag = "spartera",
    operation_id = "spartera_create_api_key", summary = "Create a key",
    description = "Answers 200 with the key's number and the whole key, once. `role_id` 4 makes a \
        read-only key; no role above the caller's own (403). The SDK's `page`/`limit` query \
        parameters are accepted and ignored.",
    params(CompanyPath),
    request_body = KeysInput,
    responses(
        (status = 200, description = "The new key.", body = CreatedAnswer),
        ErrorsAs<SparteraErrorResponse, { CALLER | BAD_REQUEST | NOT_FOUND | UNAVAILABLE }>,
    ),
)]
async fn create(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    path: CompanyPath,
    Json(body): Json<KeysInput>,
) -> Result<axum::Json<CreatedAnswer>> {
    input::company(&caller, &path.company_id)?;
    let spec = body.new_key(&caller, s.workspace_keys.now())?;
    let issued = s.workspace_keys.create(&caller, spec).await?;
    Ok(axum::Json(CreatedAnswer {
        message: "API key created",
        data: Created {
            api_key_id: KeyNumber::of(&issued.key).api_key_id,
            api_key: issued.plain.expose().to_owned(),
        },
    }))
}

#[utoipa::path(
    get, path = "/companies/{company_id}/api-keys", tag = "spartera",
    operation_id = "spartera_list_api_keys", summary = "List the company's keys",
    description = "The caller's keys (an owner's or admin's session: every key of the company), \
        masked, a page at a time.",
    params(CompanyPath, ListQuery),
    responses(
        (status = 200, description = "A page of keys.", body = KeyList),
        ErrorsAs<SparteraErrorResponse, { CALLER | BAD_REQUEST | NOT_FOUND | UNAVAILABLE }>,
    ),
)]
async fn list(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    path: CompanyPath,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<KeyList>> {
    input::company(&caller, &path.company_id)?;
    let listing = query.parse()?;
    let (page, total) = listing.page(s.workspace_keys.list(&caller).await?);
    let now = s.workspace_keys.now();
    Ok(axum::Json(KeyList {
        message: "API keys retrieved",
        data: page.iter().map(|k| SparteraKey::new(k, now)).collect(),
        pagination: Pagination {
            page: listing.page,
            limit: listing.limit,
            total,
        },
    }))
}

#[utoipa::path(
    get, path = "/companies/{company_id}/api-keys/{api_key_id}", tag = "spartera",
    operation_id = "spartera_get_api_key", summary = "Read a key",
    params(CompanyKeyPath),
    responses(
        (status = 200, description = "The key, masked.", body = KeyAnswer),
        ErrorsAs<SparteraErrorResponse, { CALLER | NOT_FOUND | UNAVAILABLE }>,
    ),
)]
async fn read(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    path: CompanyKeyPath,
) -> Result<axum::Json<KeyAnswer>> {
    let id = s.spartera_key(&caller, &path).await?;
    let key = s.workspace_keys.get(&caller, id).await?;
    Ok(axum::Json(KeyAnswer {
        message: "API key retrieved",
        data: SparteraKey::new(&key, s.workspace_keys.now()),
    }))
}

#[utoipa::path(
    patch, path = "/companies/{company_id}/api-keys/{api_key_id}", tag = "spartera",
    operation_id = "spartera_update_api_key", summary = "Change a key",
    description = "Sets the fields sent; the key itself never changes. A role sets `read_only` \
        with it (4: read-only).",
    params(CompanyKeyPath),
    request_body = input::KeysUpdate,
    responses(
        (status = 200, description = "Changed.", body = NumberAnswer),
        ErrorsAs<SparteraErrorResponse, { CALLER | BAD_REQUEST | NOT_FOUND | CONFLICT | UNAVAILABLE }>,
    ),
)]
async fn update(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    path: CompanyKeyPath,
    Json(body): Json<KeysInput>,
) -> Result<axum::Json<NumberAnswer>> {
    let id = s.spartera_key(&caller, &path).await?;
    let changes = body.changes(&caller, s.workspace_keys.now())?;
    let key = s.workspace_keys.update(&caller, id, changes).await?;
    Ok(axum::Json(NumberAnswer {
        message: "API key updated",
        data: KeyNumber::of(&key),
    }))
}

#[utoipa::path(
    delete, path = "/companies/{company_id}/api-keys/{api_key_id}", tag = "spartera",
    operation_id = "spartera_delete_api_key", summary = "Delete a key",
    description = "The key is gone (404 after) and stops verifying within the cache bound. Its \
        number is never given again.",
    params(CompanyKeyPath),
    responses(
        (status = 200, description = "Deleted.", body = NumberAnswer),
        ErrorsAs<SparteraErrorResponse, { CALLER | NOT_FOUND | CONFLICT | UNAVAILABLE }>,
    ),
)]
async fn remove(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    path: CompanyKeyPath,
) -> Result<axum::Json<NumberAnswer>> {
    let id = s.spartera_key(&caller, &path).await?;
    let key = s.workspace_keys.get(&caller, id).await?;
    s.workspace_keys.delete(&caller, id).await?;
    Ok(axum::Json(NumberAnswer {
        message: "API key deleted",
        data: KeyNumber::of(&key),
    }))
}

#[utoipa::path(
    post, path = "/companies/{company_id}/api-keys/{api_key_id}/revoke", tag = "spartera",
    operation_id = "spartera_revoke_api_key", summary = "Revoke a key",
    description = "Permanently; the key stays readable with `status: \"revoked\"`. The body is \
        ApiKeysInput as the SDK sends it: its scope (`user_id`, `company_id`) and an optional \
        `reason` are read, the other fields accepted and ignored. Revoking a revoked key: 400.",
    params(CompanyKeyPath),
    request_body = Option<input::RevokeBody>,
    responses(
        (status = 200, description = "Revoked.", body = NumberAnswer),
        ErrorsAs<SparteraErrorResponse, { CALLER | BAD_REQUEST | NOT_FOUND | CONFLICT | UNAVAILABLE }>,
    ),
)]
async fn revoke(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    path: CompanyKeyPath,
    Json(body): Json<KeysInput>,
) -> Result<axum::Json<NumberAnswer>> {
    let id = s.spartera_key(&caller, &path).await?;
    let reason = body.reason(&caller)?;
    let key = s.workspace_keys.revoke(&caller, id, reason).await?;
    Ok(axum::Json(NumberAnswer {
        message: "API key revoked",
        data: KeyNumber::of(&key),
    }))
}

#[utoipa::path(
    get, path = "/companies/{company_id}/api-keys/{api_key_id}/stats", tag = "spartera",
    operation_id = "spartera_api_key_stats", summary = "A key and its usage",
    description = "The key with ApiKeyStats' figures: counters, latest times and the last 30 days.",
    params(CompanyKeyPath),
    responses(
        (status = 200, description = "The key and its usage.", body = StatsAnswer),
        ErrorsAs<SparteraErrorResponse, { CALLER | NOT_FOUND | UNAVAILABLE }>,
    ),
)]
async fn stats(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    path: CompanyKeyPath,
) -> Result<axum::Json<StatsAnswer>> {
    let id = s.spartera_key(&caller, &path).await?;
    let stats = s.workspace_keys.stats(&caller, id).await?;
    Ok(axum::Json(StatsAnswer {
        message: "API key stats retrieved",
        data: SparteraKeyStats::new(stats, s.workspace_keys.now()),
    }))
}
