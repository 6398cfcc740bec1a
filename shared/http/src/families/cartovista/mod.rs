//! The cartovista family (`/{tenantUrlCode}/api/v2`): a user's access keys in cartovista's
//! camelCase shapes, so code written against `cartovista_cloud_clients` works unchanged.
//!
//! The same keys and use cases as the native API ([`latchkey_core::keys::service`]). The tenant is the
//! caller's workspace (`api`, `auth` and `companies` never are: those paths belong to other
//! routes). `{UserIdentifier}` is `current`, the caller's id, or, for owner and admin sessions,
//! a user of a lower role in the workspace; by key id, owner and admin sessions manage every key
//! of the workspace. `generateSecret` gives a key a paired secret that must accompany it from
//! then on (`secretKey`).

pub mod input;
pub mod view;

use crate::Authenticated;
use crate::callers::{SESSION_OR_KEY, secured};
use crate::responses::{Errors, status::*};
use axum::{
    extract::{FromRequestParts, State},
    http::{StatusCode, request::Parts},
};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use self::{
    input::{AccessKeyUpdate, CreateApiKeyParameter, UserRef},
    view::AccessKeyDto,
};
use crate::Result;
use crate::api::api_keys::KeysApi;
use crate::{Json, path_or};
use latchkey_core::{
    Error,
    auth::Caller,
    ids::{KeyId, ResourceId, UserId},
};

/// The family's routes, each with its operation in the document.
pub(crate) fn routes() -> OpenApiRouter<KeysApi> {
    let keys = OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update))
        .routes(routes!(remove))
        .routes(routes!(generate_secret));
    secured(keys, SESSION_OR_KEY)
}

/// The `{tenantUrlCode}` of every route.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[serde(rename_all = "camelCase")]
pub struct TenantPath {
    /// The tenant: the caller's workspace id.
    tenant_url_code: String,
}

/// `/{tenantUrlCode}/api/v2/User/{UserIdentifier}/ApiKey`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The tenant: the caller's workspace id.
    #[serde(rename = "tenantUrlCode")]
    tenant_url_code: String,
    /// `current`, the caller's id, or (owner and admin sessions) a user of a lower role.
    #[serde(rename = "UserIdentifier")]
    user_identifier: String,
}

/// `/{tenantUrlCode}/api/v2/ApiKey/{id}...`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct KeyPath {
    /// The tenant: the caller's workspace id.
    #[serde(rename = "tenantUrlCode")]
    tenant_url_code: String,
    /// The key's id (`accessKey`). Anything but a UUID names none (404).
    #[param(value_type = String, format = Uuid)]
    id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for KeyPath {
    type Rejection = crate::ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        path_or(parts, KeyId::not_found).await
    }
}

impl KeyPath {
    /// The key named, once the tenant is the caller's.
    fn key(&self, caller: &Caller) -> Result<KeyId> {
        input::tenant(caller, &self.tenant_url_code)?;
        Ok(KeyId::parse(&self.id).ok_or_else(KeyId::not_found)?)
    }
}

fn no_tenant() -> Error {
    Error::NotFound("No tenant with that code.".into())
}

impl<S: Send + Sync> FromRequestParts<S> for TenantPath {
    type Rejection = crate::ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        #[derive(Deserialize)]
        struct Tenant {
            #[serde(rename = "tenantUrlCode")]
            tenant_url_code: String,
        }
        let Tenant { tenant_url_code } = path_or(parts, no_tenant).await?;
        Ok(Self { tenant_url_code })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for UserPath {
    type Rejection = crate::ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        path_or(parts, input::no_such_user).await
    }
}

type Svc = State<KeysApi>;

impl KeysApi {
    /// The owner `path` names, once its tenant is the caller's: the caller, or a user of the
    /// workspace the caller may manage (anyone else: 404).
    async fn cartovista_user(&self, caller: &Caller, path: &UserPath) -> Result<UserId> {
        input::tenant(caller, &path.tenant_url_code)?;
        match UserRef::parse(caller, &path.user_identifier)? {
            UserRef::Current => Ok(caller.user_id.clone()),
            UserRef::Other(user) => match self.profiles.get(&user).await? {
                Some(profile)
                    if profile.workspace_id == caller.workspace_id
                        && self
                            .workspace_keys
                            .reach()
                            .may_manage_user(caller, profile.role) =>
                {
                    Ok(user)
                }
                _ => Err(input::no_such_user().into()),
            },
        }
    }
}

#[utoipa::path(
    post, path = "/{tenantUrlCode}/api/v2/User/{UserIdentifier}/ApiKey", tag = "cartovista",
    operation_id = "cartovista_create_api_key", summary = "Create an access key for a user",
    description = "Answers 200 with the key whole in `accessKeyString`, once.",
    params(UserPath),
    request_body = Option<CreateApiKeyParameter>,
    responses(
        (status = 200, description = "The new key.", body = AccessKeyDto),
        Errors<{ CALLER | BAD_REQUEST | NOT_FOUND }>,
    ),
)]
async fn create(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    path: UserPath,
    Json(body): Json<CreateApiKeyParameter>,
) -> Result<axum::Json<AccessKeyDto>> {
    let owner = s.cartovista_user(&caller, &path).await?;
    let spec = body.parse()?;
    let issued = s.workspace_keys.create_for(&caller, &owner, spec).await?;
    Ok(axum::Json(AccessKeyDto::new(
        &issued.key,
        Some(&issued.plain),
    )))
}

#[utoipa::path(
    get, path = "/{tenantUrlCode}/api/v2/User/{UserIdentifier}/ApiKey", tag = "cartovista",
    operation_id = "cartovista_list_api_keys", summary = "A user's access keys",
    description = "The user's keys in the tenant, newest first, masked.",
    params(UserPath),
    responses(
        (status = 200, description = "The keys.", body = Vec<AccessKeyDto>),
        Errors<{ CALLER | NOT_FOUND }>,
    ),
)]
async fn list(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    path: UserPath,
) -> Result<axum::Json<Vec<AccessKeyDto>>> {
    let owner = s.cartovista_user(&caller, &path).await?;
    let keys = s.workspace_keys.list_of(&caller, &owner).await?;
    Ok(axum::Json(
        keys.iter().map(|k| AccessKeyDto::new(k, None)).collect(),
    ))
}

#[utoipa::path(
    post, path = "/{tenantUrlCode}/api/v2/ApiKey", tag = "cartovista",
    operation_id = "cartovista_update_api_key", summary = "Change an access key",
    description = "An AccessKeyDTO naming the key by `accessKey` (required); `enabled`, `mode`, \
        `ipWhitelisting` and `notes` change, every other field is ignored.",
    params(TenantPath),
    request_body = AccessKeyUpdate,
    responses(
        (status = 204, description = "Changed."),
        Errors<{ CALLER | BAD_REQUEST | NOT_FOUND | CONFLICT }>,
    ),
)]
async fn update(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    path: TenantPath,
    Json(body): Json<AccessKeyUpdate>,
) -> Result<StatusCode> {
    input::tenant(&caller, &path.tenant_url_code)?;
    let (id, changes) = body.parse()?;
    s.workspace_keys.update(&caller, id, changes).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, path = "/{tenantUrlCode}/api/v2/ApiKey/{id}", tag = "cartovista",
    operation_id = "cartovista_delete_api_key", summary = "Delete an access key",
    description = "The key is gone (404 after) and stops verifying within the cache bound.",
    params(KeyPath),
    responses(
        (status = 204, description = "Deleted."),
        Errors<{ CALLER | NOT_FOUND | CONFLICT }>,
    ),
)]
async fn remove(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    path: KeyPath,
) -> Result<StatusCode> {
    s.workspace_keys.delete(&caller, path.key(&caller)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/{tenantUrlCode}/api/v2/ApiKey/{id}/generateSecret", tag = "cartovista",
    operation_id = "cartovista_generate_secret", summary = "Give an access key a secret",
    description = "A new secret (256 bits, stored hashed), shown once as a JSON string, replacing \
        any previous one at once. From then on the key is refused without it: the `secretKey` \
        header beside the key on the API (401) and at the authorizer, `secret` in VerifyRequest \
        (`NOT_FOUND`).",
    params(KeyPath),
    responses(
        (status = 200, description = "The secret, as a JSON string.", body = String,
            content_type = "application/json"),
        Errors<{ CALLER | BAD_REQUEST | NOT_FOUND | CONFLICT }>,
    ),
)]
async fn generate_secret(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    path: KeyPath,
) -> Result<axum::Json<String>> {
    let (_, secret) = s
        .workspace_keys
        .pair_secret(&caller, path.key(&caller)?)
        .await?;
    Ok(axum::Json(secret.expose().to_owned()))
}
