//! The API-keys family: managing the caller's keys, and verifying presented keys. Its state,
//! [`KeysApi`], is shared by the key routes of the services Latchkey stands in for, which the same
//! function serves (see `api::key_routes`), so a change through any of them evicts the same warm
//! cache.
//! Each handler extracts, calls the key service, and maps the result; the family's request and
//! response shapes are [`input`] and [`view`].

pub mod input;
pub mod view;

use crate::Authenticated;
use crate::callers::{SESSION_OR_KEY, secured};
use crate::responses::{Errors, status::*};
use std::sync::Arc;

use axum::{
    extract::{FromRef, State},
    http::StatusCode,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use self::{
    input::{
        CreateKeyRequest, ExpirationQuery, ExpiringQuery, RevokeRequest, RotateQuery,
        UpdateKeyRequest, VerifyRequest,
    },
    view::{
        ApiKeyCreateResponse, ApiKeyResponse, ApiKeyStats, ExpirationSet, ExpiringKey,
        MessageWithId, UpdatedKey, VerifyResponse,
    },
};
use crate::Result;
use crate::{ClientContext, IdPath, Json, Query};
use latchkey_core::{
    auth::Authenticator,
    ids::KeyId,
    keys::{reach::Reach, service::KeyService, verify::KeyVerifier},
    leaks::LeakIntake,
    profiles::ProfileStore,
    timestamp,
    wiring::Wiring,
};

/// What the api-keys function's routes use.
#[derive(Clone)]
pub struct KeysApi {
    /// Authentication of callers.
    pub auth: Arc<Authenticator>,
    /// The API-key use cases, over the caller's own keys.
    pub keys: Arc<KeyService>,
    /// The same, over every key of the workspace for its owners and admins (the families that
    /// say so).
    pub workspace_keys: Arc<KeyService>,
    /// The verification core.
    pub verifier: Arc<KeyVerifier>,
    /// Profiles, for the owner's email some families show on a key.
    pub profiles: Arc<dyn ProfileStore>,
    /// Leak reports (GitHub's, and keys presented by whoever found them).
    pub leaks: Arc<LeakIntake>,
}

impl KeysApi {
    /// Takes what the routes use from `wiring`.
    pub fn wire(wiring: &Wiring) -> Self {
        Self {
            auth: wiring.auth(),
            keys: wiring.keys(),
            workspace_keys: Arc::new(wiring.keys().reaching(Reach::Workspace)),
            verifier: wiring.verifier(),
            profiles: wiring.profiles(),
            leaks: wiring.leak_intake(),
        }
    }
}

impl FromRef<KeysApi> for Arc<Authenticator> {
    fn from_ref(state: &KeysApi) -> Self {
        state.auth.clone()
    }
}

/// The family's routes, each with its operation in the document.
pub(super) fn routes() -> OpenApiRouter<KeysApi> {
    let managed = OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(expiring))
        .routes(routes!(read, update, remove))
        .routes(routes!(regenerate))
        .routes(routes!(rotate))
        .routes(routes!(set_expiration))
        .routes(routes!(revoke))
        .routes(routes!(stats));
    // Verification authenticates no caller: the key it checks is in the body.
    secured(managed, SESSION_OR_KEY).routes(routes!(verify))
}

type Svc = State<KeysApi>;

#[utoipa::path(
    post, path = "/api/v1/account/api-keys", tag = "api-keys", operation_id = "create_api_key",
    summary = "Create a key",
    description = "Returns the full secret once, in `api_key.api_key`; it can never be read again. \
        A key-authenticated call cannot create a key that holds more than the calling key.",
    request_body = Option<CreateKeyRequest>,
    responses(
        (status = 201, description = "The new key, with its secret.", body = ApiKeyCreateResponse),
        Errors<{ CALLER | BAD_REQUEST }>,
    ),
)]
async fn create(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    Json(body): Json<CreateKeyRequest>,
) -> Result<(StatusCode, axum::Json<ApiKeyCreateResponse>)> {
    let spec = body.parse(s.keys.now())?;
    let issued = s.keys.create(&caller, spec).await?;
    let body = ApiKeyCreateResponse::new(
        "API key created. Store it now: it will not be shown again.",
        &issued.key,
        &issued.plain,
    );
    Ok((StatusCode::CREATED, axum::Json(body)))
}

#[utoipa::path(
    get, path = "/api/v1/account/api-keys", tag = "api-keys", operation_id = "list_api_keys",
    summary = "List the caller's keys",
    description = "Every key the caller owns, newest first. Never includes a secret.",
    responses(
        (status = 200, description = "The caller's keys.", body = Vec<ApiKeyResponse>),
        Errors<{ CALLER }>,
    ),
)]
async fn list(
    State(s): Svc,
    Authenticated(caller): Authenticated,
) -> Result<axum::Json<Vec<ApiKeyResponse>>> {
    let now = s.keys.now();
    let keys = s.keys.list(&caller).await?;
    Ok(axum::Json(
        keys.iter().map(|k| ApiKeyResponse::new(k, now)).collect(),
    ))
}

#[utoipa::path(
    get, path = "/api/v1/account/api-keys/expiring", tag = "api-keys",
    operation_id = "list_expiring_api_keys", summary = "List keys that expire soon",
    description = "The caller's usable keys whose `expires_at` falls within `days`, soonest first.",
    params(ExpiringQuery),
    responses(
        (status = 200, description = "Keys due to expire.", body = Vec<ExpiringKey>),
        Errors<{ CALLER | BAD_REQUEST }>,
    ),
)]
async fn expiring(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    Query(q): Query<ExpiringQuery>,
) -> Result<axum::Json<Vec<ExpiringKey>>> {
    let days = q.parse()?;
    let now = s.keys.now();
    let due = s.keys.expiring(&caller, days).await?;
    Ok(axum::Json(
        due.iter()
            .map(|(k, at)| ExpiringKey::new(k, *at, now))
            .collect(),
    ))
}

#[utoipa::path(
    get, path = "/api/v1/account/api-keys/{api_key_id}", tag = "api-keys",
    operation_id = "get_api_key", summary = "Read a key",
    params(IdPath<KeyId>),
    responses(
        (status = 200, description = "The key.", body = ApiKeyResponse),
        Errors<{ CALLER | NOT_FOUND }>,
    ),
)]
async fn read(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(id): IdPath<KeyId>,
) -> Result<axum::Json<ApiKeyResponse>> {
    let key = s.keys.get(&caller, id).await?;
    Ok(axum::Json(ApiKeyResponse::new(&key, s.keys.now())))
}

#[utoipa::path(
    put, path = "/api/v1/account/api-keys/{api_key_id}", tag = "api-keys",
    operation_id = "update_api_key", summary = "Change a key's settings",
    description = "Only the fields present change; `description: null` clears it. The secret can \
        never be changed here.",
    params(IdPath<KeyId>),
    request_body = Option<UpdateKeyRequest>,
    responses(
        (status = 200, description = "The key after the change.", body = UpdatedKey),
        Errors<{ CALLER | BAD_REQUEST | NOT_FOUND | CONFLICT }>,
    ),
)]
async fn update(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(id): IdPath<KeyId>,
    Json(body): Json<UpdateKeyRequest>,
) -> Result<axum::Json<UpdatedKey>> {
    let key = s.keys.update(&caller, id, body.parse()?).await?;
    let api_key = ApiKeyResponse::new(&key, s.keys.now());
    Ok(axum::Json(UpdatedKey {
        message: "API key updated.",
        api_key,
    }))
}

#[utoipa::path(
    delete, path = "/api/v1/account/api-keys/{api_key_id}", tag = "api-keys",
    operation_id = "delete_api_key", summary = "Delete a key",
    description = "The key is gone: it stops verifying within the cache bound and reads are 404.",
    params(IdPath<KeyId>),
    responses(
        (status = 200, description = "Deleted.", body = MessageWithId),
        Errors<{ CALLER | NOT_FOUND | CONFLICT }>,
    ),
)]
async fn remove(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(id): IdPath<KeyId>,
) -> Result<axum::Json<MessageWithId>> {
    s.keys.delete(&caller, id).await?;
    Ok(axum::Json(MessageWithId {
        message: "API key deleted.",
        id: id.0,
    }))
}

#[utoipa::path(
    post, path = "/api/v1/account/api-keys/{api_key_id}/regenerate", tag = "api-keys",
    operation_id = "regenerate_api_key", summary = "Replace a key's secret",
    description = "Keeps the id and settings; the old secret stops working at once. A revoked key \
        cannot be regenerated (400).",
    params(IdPath<KeyId>),
    responses(
        (status = 200, description = "The key with its new secret.", body = ApiKeyCreateResponse),
        Errors<{ CALLER | BAD_REQUEST | NOT_FOUND | CONFLICT }>,
    ),
)]
async fn regenerate(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(id): IdPath<KeyId>,
) -> Result<axum::Json<ApiKeyCreateResponse>> {
    let issued = s.keys.regenerate(&caller, id).await?;
    let body = ApiKeyCreateResponse::new(
        "API key regenerated. The previous secret no longer works.",
        &issued.key,
        &issued.plain,
    );
    Ok(axum::Json(body))
}

#[utoipa::path(
    post, path = "/api/v1/account/api-keys/{api_key_id}/rotate", tag = "api-keys",
    operation_id = "rotate_api_key", summary = "Rotate a key with a grace period",
    description = "Creates a new key with the same settings; the old key works until now + \
        `grace_period_days`, then counts as expired. A key already rotating, revoked or expired \
        cannot be rotated (400).",
    params(IdPath<KeyId>, RotateQuery),
    responses(
        (status = 201, description = "The new key, with its secret.", body = ApiKeyCreateResponse),
        Errors<{ CALLER | BAD_REQUEST | NOT_FOUND | CONFLICT }>,
    ),
)]
async fn rotate(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(id): IdPath<KeyId>,
    Query(q): Query<RotateQuery>,
) -> Result<(StatusCode, axum::Json<ApiKeyCreateResponse>)> {
    let grace_days = q.parse()?;
    let issued = s.keys.rotate(&caller, id, grace_days).await?;
    let body = ApiKeyCreateResponse::new(
        "API key rotated. The previous key works until its grace period ends.",
        &issued.key,
        &issued.plain,
    );
    Ok((StatusCode::CREATED, axum::Json(body)))
}

#[utoipa::path(
    patch, path = "/api/v1/account/api-keys/{api_key_id}/expiration", tag = "api-keys",
    operation_id = "set_api_key_expiration", summary = "Set or remove a key's expiry",
    params(IdPath<KeyId>, ExpirationQuery),
    responses(
        (status = 200, description = "The new expiry.", body = ExpirationSet),
        Errors<{ CALLER | BAD_REQUEST | NOT_FOUND | CONFLICT }>,
    ),
)]
async fn set_expiration(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(id): IdPath<KeyId>,
    Query(q): Query<ExpirationQuery>,
) -> Result<axum::Json<ExpirationSet>> {
    let expires_at = q.parse(s.keys.now())?;
    let key = s.keys.set_expiration(&caller, id, expires_at).await?;
    let message = if key.expires_at.is_some() {
        "Expiration set."
    } else {
        "Expiration removed."
    };
    Ok(axum::Json(ExpirationSet {
        id: key.id.to_string(),
        expires_at: key.expires_at.map(timestamp::format),
        message,
    }))
}

#[utoipa::path(
    post, path = "/api/v1/account/api-keys/{api_key_id}/revoke", tag = "api-keys",
    operation_id = "revoke_api_key", summary = "Revoke a key for good",
    description = "Permanent, and kept for audit (`revoked_at`, `revocation_reason`).",
    params(IdPath<KeyId>),
    request_body = RevokeRequest,
    responses(
        (status = 200, description = "The revoked key.", body = ApiKeyResponse),
        Errors<{ CALLER | BAD_REQUEST | NOT_FOUND | CONFLICT }>,
    ),
)]
async fn revoke(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(id): IdPath<KeyId>,
    Json(body): Json<RevokeRequest>,
) -> Result<axum::Json<ApiKeyResponse>> {
    let key = s.keys.revoke(&caller, id, body.parse()?).await?;
    Ok(axum::Json(ApiKeyResponse::new(&key, s.keys.now())))
}

#[utoipa::path(
    get, path = "/api/v1/account/api-keys/{api_key_id}/stats", tag = "api-keys",
    operation_id = "get_api_key_stats", summary = "A key's usage over the last 30 days",
    params(IdPath<KeyId>),
    responses(
        (status = 200, description = "Usage figures.", body = ApiKeyStats),
        Errors<{ CALLER | NOT_FOUND }>,
    ),
)]
async fn stats(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(id): IdPath<KeyId>,
) -> Result<axum::Json<ApiKeyStats>> {
    Ok(axum::Json(s.keys.stats(&caller, id).await?.into()))
}

#[utoipa::path(
    post, path = "/api/v1/keys/verify", tag = "verification", operation_id = "verify_api_key",
    summary = "Verify a presented key",
    description = "200 whatever the outcome: `valid` and `code` say it. The key's details are \
        present only when the presented secret is the key's. A malformed key is `NOT_FOUND`, \
        decided before any storage read.",
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "The outcome.", body = VerifyResponse),
        (status = 400, response = crate::responses::BadRequest),
    ),

)]
async fn verify(
    State(s): Svc,
    ClientContext(mut client): ClientContext,
    Json(body): Json<VerifyRequest>,
) -> Result<axum::Json<VerifyResponse>> {
    let spec = body.parse()?;
    client.ip = spec.ip.or(client.ip);
    client.device_id = spec.device_id;
    client.tags = spec.tags;
    let verification = s
        .verifier
        .verify_pair(
            &spec.key,
            spec.secret.as_deref(),
            &spec.permissions,
            &client,
        )
        .await?;
    Ok(axum::Json(VerifyResponse::from(&verification)))
}

#[cfg(test)]
mod tests {
    //! Router tests: events go through lambda_http's conversion and the router, no stack needed
    //! for the paths that never reach storage.

    use crate::testing::{offline_wiring, replay};
    use axum::http::StatusCode;

    use crate::api::key_routes as router;

    #[tokio::test]
    async fn unauthenticated_fixture_is_401() {
        let (status, body) = replay(
            router(super::KeysApi::wire(&offline_wiring())),
            "api-keys-unauthenticated.json",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "unauthenticated");
    }

    #[tokio::test]
    async fn placeholder_token_fixture_is_401() {
        let (status, _) = replay(
            router(super::KeysApi::wire(&offline_wiring())),
            "api-keys-list.json",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    mod in_process {
        //! The native key routes over in-memory storage: behaviour that reaches storage, in
        //! milliseconds, with the clock in the test's hand.

        use axum::http::Method;
        use serde_json::{Value, json};

        use crate::testing::InProcess;
        use latchkey_core::{auth::Role, clock::ManualClock};

        const KEYS: &str = "/api/v1/account/api-keys";

        async fn verify(app: &InProcess, key: &str) -> Value {
            app.call(
                Method::POST,
                "/api/v1/keys/verify",
                &[],
                Some(json!({"key": key})),
            )
            .await
            .expect(200)
        }

        #[tokio::test]
        async fn a_key_is_made_listed_verified_and_revoked() {
            let app = InProcess::new();
            let owner = app.session("u1", "ws1", Role::Owner);
            let auth = [("authorization", owner.as_str())];
            let made = app
                .call(Method::POST, KEYS, &auth, Some(json!({"name": "edge"})))
                .await
                .expect(201);
            let (id, secret) = (
                made["api_key"]["id"].as_str().unwrap(),
                made["api_key"]["api_key"].as_str().unwrap(),
            );
            let listed = app.call(Method::GET, KEYS, &auth, None).await.expect(200);
            assert!(listed.to_string().contains(id), "{listed}");
            assert!(
                !listed.to_string().contains(secret),
                "lists never show the secret"
            );
            let valid = verify(&app, secret).await;
            assert_eq!(
                (valid["valid"].clone(), valid["code"].clone()),
                (json!(true), json!("VALID"))
            );
            assert_eq!(valid["key_id"], id);
            app.call(
                Method::POST,
                &format!("{KEYS}/{id}/revoke"),
                &auth,
                Some(json!({"reason": "leaked"})),
            )
            .await
            .expect(200);
            assert_eq!(verify(&app, secret).await["code"], "REVOKED");
        }

        #[tokio::test]
        async fn a_viewer_makes_read_only_keys_and_another_workspace_sees_none() {
            let app = InProcess::new();
            let viewer = app.session("u1", "ws1", Role::Viewer);
            let made = app
                .call(
                    Method::POST,
                    KEYS,
                    &[("authorization", &viewer)],
                    Some(json!({"name": "v"})),
                )
                .await
                .expect(201);
            let id = made["api_key"]["id"].as_str().unwrap();
            assert_eq!(made["api_key"]["read_only"], true, "{made}");
            let stranger = app.session("u2", "ws2", Role::Owner);
            app.call(
                Method::GET,
                &format!("{KEYS}/{id}"),
                &[("authorization", &stranger)],
                None,
            )
            .await
            .expect(404);
            let same_user_elsewhere = app.session("u1", "other", Role::Owner);
            app.call(
                Method::GET,
                &format!("{KEYS}/{id}"),
                &[("authorization", &same_user_elsewhere)],
                None,
            )
            .await
            .expect(404);
        }

        /// An exact limit of 2 a minute: two valid, then limited, then a new window on the
        /// test's clock.
        #[tokio::test]
        async fn an_exact_limit_holds_its_window_and_the_next_one_starts_afresh() {
            let clock = ManualClock::now();
            let app = InProcess::on(clock.clone());
            let owner = app.session("u1", "ws1", Role::Owner);
            let made = app
                .call(
                    Method::POST,
                    KEYS,
                    &[("authorization", &owner)],
                    Some(json!({"rate_limit": {"limit": 2, "window": "minute", "exact": true}})),
                )
                .await
                .expect(201);
            let secret = made["api_key"]["api_key"].as_str().unwrap();
            let mut codes = Vec::new();
            for _ in 0..3 {
                codes.push(verify(&app, secret).await["code"].clone());
            }
            assert_eq!(codes, ["VALID", "VALID", "RATE_LIMITED"]);
            clock.advance(chrono::Duration::minutes(1));
            assert_eq!(verify(&app, secret).await["code"], "VALID");
        }
    }
}
