//! The latitude.sh family (`/auth/api_keys`): the caller's keys as JSON:API resources, so code
//! written against latitude.sh's API and its `latitudesh-python-sdk` works unchanged.
//!
//! The same keys and use cases as the native API ([`latchkey_core::keys::service`]); only the shapes
//! differ. Owner and admin sessions manage every key of their workspace here
//! ([`latchkey_core::keys::reach::Reach::Workspace`]); everyone else their own. Every answer with a body is `application/vnd.api+json`, which the SDK requires, and
//! errors are JSON:API error documents: [`json_api`] rewrites the answer the one error type made,
//! from the [`ErrorReport`] it left in the response, so statuses are still decided in one place.

pub mod input;
pub mod view;

use crate::Authenticated;
use crate::callers::{SESSION_OR_KEY, secured};
use crate::responses::{ErrorsAs, status::*};
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use axum::{
    body::Body,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use futures_util::{StreamExt, TryStreamExt, stream};
use utoipa::ToResponse;
use utoipa_axum::{router::OpenApiRouter, routes};

use self::{
    input::KeyDocument,
    view::{ErrorDocument, KeyList, LatitudeKey, ListMeta},
};
use crate::api::api_keys::KeysApi;
use crate::{IdPath, Json};
use crate::{Result, error::ErrorReport};
use latchkey_core::{
    ids::{KeyId, UserId},
    keys::{model::ApiKey, secret::PlainKey},
};

/// The content type of every latitude.sh answer with a body.
pub const JSON_API: &str = "application/vnd.api+json";

/// The family's routes, each with its operation in the document.
pub(crate) fn routes() -> OpenApiRouter<KeysApi> {
    let keys = OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(regenerate, update, remove));
    secured(keys, SESSION_OR_KEY).route_layer(axum::middleware::map_response(json_api))
}

/// Gives an answer latitude.sh's shape: its content type, and an error as a JSON:API error
/// document.
async fn json_api(mut response: Response) -> Response {
    if let Some(report) = response.extensions_mut().remove::<ErrorReport>() {
        let document = ErrorDocument::new(response.status(), &report);
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(header::CONTENT_LENGTH);
        let body = serde_json::to_vec(&document).expect("an error document serializes");
        response = Response::from_parts(parts, Body::from(body));
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
    } else if response.headers().contains_key(header::CONTENT_TYPE) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
    }
    response
}

/// An error, as a JSON:API error document.
#[derive(ToResponse)]
#[response(
    description = "An error: one object per attribute at fault, or one for the request. \
        401 answers carry `WWW-Authenticate`, 429 and 503 `Retry-After`.",
    content_type = "application/vnd.api+json"
)]
#[allow(dead_code)]
pub struct LatitudeErrorResponse(ErrorDocument);

/// One key, as a JSON:API document.
#[derive(ToResponse)]
#[response(description = "The key.", content_type = "application/vnd.api+json")]
#[allow(dead_code)]
pub struct LatitudeKeyResponse(view::KeyDocument);

type Svc = State<KeysApi>;
type Document<T> = axum::Json<T>;

impl KeysApi {
    /// The emails of the owners of `keys`, which latitude.sh shows on each key: one profile read
    /// per owner.
    async fn owner_emails(&self, keys: &[&ApiKey]) -> Result<HashMap<UserId, String>> {
        let owners: HashSet<UserId> = keys.iter().map(|k| k.owner_id.clone()).collect();
        let profiles = stream::iter(owners)
            .map(|owner| {
                let profiles = Arc::clone(&self.profiles);
                async move { profiles.get(&owner).await }
            })
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(profiles
            .into_iter()
            .flatten()
            .map(|p| (p.id, p.email))
            .collect())
    }

    /// `key` in latitude.sh's shape, with its owner's email and its whole secret when it was
    /// just made.
    async fn shown(&self, key: &ApiKey, plain: Option<&PlainKey>) -> Result<LatitudeKey> {
        let emails = self.owner_emails(&[key]).await?;
        Ok(LatitudeKey::new(
            key,
            emails.get(&key.owner_id).map(String::as_str),
            plain,
        ))
    }
}

#[utoipa::path(
    get, path = "/auth/api_keys", tag = "latitude.sh", operation_id = "latitude_list_api_keys",
    summary = "List the caller's keys",
    description = "The caller's keys (an owner's or admin's session: every key of the workspace), \
        newest first, with `token_last_slice` and never the token. Accepts the key bare in \
        `Authorization`, as latitude.sh's clients send it.",
    responses(
        (status = 200, description = "The caller's keys.", body = KeyList,
            content_type = "application/vnd.api+json"),
        ErrorsAs<LatitudeErrorResponse, { CALLER | UNAVAILABLE }>,
    ),
)]
async fn list(State(s): Svc, Authenticated(caller): Authenticated) -> Result<Document<KeyList>> {
    let keys = s.workspace_keys.list(&caller).await?;
    let emails = s.owner_emails(&keys.iter().collect::<Vec<_>>()).await?;
    Ok(axum::Json(KeyList {
        data: keys
            .iter()
            .map(|k| LatitudeKey::new(k, emails.get(&k.owner_id).map(String::as_str), None))
            .collect(),
        meta: ListMeta::default(),
    }))
}

#[utoipa::path(
    post, path = "/auth/api_keys", tag = "latitude.sh", operation_id = "latitude_create_api_key",
    summary = "Create a key",
    description = "Returns the whole key once, in `attributes.token`. Without `data`, a key with \
        Latchkey's defaults. A `type` other than `api_keys`, or any `id`, is a 409.",
    request_body(content(
        (Option<KeyDocument> = "application/vnd.api+json"),
        (Option<KeyDocument> = "application/json"),
    )),
    responses(
        (status = 201, description = "The new key, with its token.", body = view::KeyDocument,
            content_type = "application/vnd.api+json"),
        ErrorsAs<LatitudeErrorResponse, { CALLER | BAD_REQUEST | CONFLICT | UNAVAILABLE }>,
    ),
)]
async fn create(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    Json(body): Json<KeyDocument>,
) -> Result<(StatusCode, Document<view::KeyDocument>)> {
    let issued = s.workspace_keys.create(&caller, body.new_key()?).await?;
    let data = s.shown(&issued.key, Some(&issued.plain)).await?;
    Ok((StatusCode::CREATED, axum::Json(view::KeyDocument { data })))
}

#[utoipa::path(
    put, path = "/auth/api_keys/{api_key_id}", tag = "latitude.sh",
    operation_id = "latitude_regenerate_api_key", summary = "Regenerate a key",
    description = "A new token for the same key (same id and settings, plus the attributes sent, \
        in one write); the old token is refused from now on. Returns the new token once.",
    params(IdPath<KeyId>),
    request_body(content(
        (Option<KeyDocument> = "application/vnd.api+json"),
        (Option<KeyDocument> = "application/json"),
    )),
    responses(
        (status = 200, response = LatitudeKeyResponse),
        ErrorsAs<LatitudeErrorResponse, { CALLER | BAD_REQUEST | NOT_FOUND | CONFLICT | UNAVAILABLE }>,
    ),
)]
async fn regenerate(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(id): IdPath<KeyId>,
    Json(body): Json<KeyDocument>,
) -> Result<Document<view::KeyDocument>> {
    let issued = s
        .workspace_keys
        .regenerate_with(&caller, id, body.changes(id)?)
        .await?;
    let data = s.shown(&issued.key, Some(&issued.plain)).await?;
    Ok(axum::Json(view::KeyDocument { data }))
}

#[utoipa::path(
    patch, path = "/auth/api_keys/{api_key_id}", tag = "latitude.sh",
    operation_id = "latitude_update_api_key", summary = "Change a key's settings",
    description = "Sets the attributes sent (`name`, `read_only`, `allowed_ips`); the token stays.",
    params(IdPath<KeyId>),
    request_body(content(
        (Option<KeyDocument> = "application/vnd.api+json"),
        (Option<KeyDocument> = "application/json"),
    )),
    responses(
        (status = 200, response = LatitudeKeyResponse),
        ErrorsAs<LatitudeErrorResponse, { CALLER | BAD_REQUEST | NOT_FOUND | CONFLICT | UNAVAILABLE }>,
    ),
)]
async fn update(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(id): IdPath<KeyId>,
    Json(body): Json<KeyDocument>,
) -> Result<Document<view::KeyDocument>> {
    let key = s
        .workspace_keys
        .update(&caller, id, body.changes(id)?)
        .await?;
    let data = s.shown(&key, None).await?;
    Ok(axum::Json(view::KeyDocument { data }))
}

#[utoipa::path(
    delete, path = "/auth/api_keys/{api_key_id}", tag = "latitude.sh",
    operation_id = "latitude_delete_api_key", summary = "Delete a key",
    description = "The key is gone (404 after) and stops verifying within the cache bound.",
    params(IdPath<KeyId>),
    responses(
        (status = 200, description = "Deleted; no body."),
        ErrorsAs<LatitudeErrorResponse, { CALLER | NOT_FOUND | CONFLICT | UNAVAILABLE }>,
    ),
)]
async fn remove(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(id): IdPath<KeyId>,
) -> Result<StatusCode> {
    s.workspace_keys.delete(&caller, id).await?;
    Ok(StatusCode::OK)
}
