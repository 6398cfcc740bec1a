//! Routes of the API-keys family. Each handler extracts, calls the key service, and maps the result.

use axum::{
    Router,
    extract::State,
    http::StatusCode,
    routing::{get, patch, post},
};
use latchkey::{
    Result,
    auth::Caller,
    clock::rfc3339,
    http::{ClientContext, Json, KeyIdPath, Query},
    keys::{
        input::{
            CreateKeyRequest, ExpirationQuery, ExpiringQuery, RevokeRequest, RotateQuery,
            UpdateKeyRequest, VerifyRequest,
        },
        view::{
            ApiKeyCreateResponse, ApiKeyResponse, ApiKeyStats, ExpirationSet, ExpiringKey,
            MessageWithId, UpdatedKey, VerifyResponse,
        },
    },
    services::Services,
};

/// The function's router, finished with the shared 404/405 and request-id handling.
pub fn router(services: Services) -> Router {
    let routes = Router::new()
        .route("/api/v1/account/api-keys", post(create).get(list))
        .route("/api/v1/account/api-keys/expiring", get(expiring))
        .route(
            "/api/v1/account/api-keys/{api_key_id}",
            get(read).put(update).delete(remove),
        )
        .route(
            "/api/v1/account/api-keys/{api_key_id}/regenerate",
            post(regenerate),
        )
        .route("/api/v1/account/api-keys/{api_key_id}/rotate", post(rotate))
        .route(
            "/api/v1/account/api-keys/{api_key_id}/expiration",
            patch(set_expiration),
        )
        .route("/api/v1/account/api-keys/{api_key_id}/revoke", post(revoke))
        .route("/api/v1/account/api-keys/{api_key_id}/stats", get(stats))
        .route("/api/v1/keys/verify", post(verify))
        .with_state(services);
    latchkey::http::finish(routes)
}

type Svc = State<Services>;

async fn create(
    State(s): Svc,
    caller: Caller,
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

async fn list(State(s): Svc, caller: Caller) -> Result<axum::Json<Vec<ApiKeyResponse>>> {
    let now = s.keys.now();
    let keys = s.keys.list(&caller).await?;
    Ok(axum::Json(
        keys.iter().map(|k| ApiKeyResponse::new(k, now)).collect(),
    ))
}

async fn expiring(
    State(s): Svc,
    caller: Caller,
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

async fn read(
    State(s): Svc,
    caller: Caller,
    KeyIdPath(id): KeyIdPath,
) -> Result<axum::Json<ApiKeyResponse>> {
    let key = s.keys.get(&caller, id).await?;
    Ok(axum::Json(ApiKeyResponse::new(&key, s.keys.now())))
}

async fn update(
    State(s): Svc,
    caller: Caller,
    KeyIdPath(id): KeyIdPath,
    Json(body): Json<UpdateKeyRequest>,
) -> Result<axum::Json<UpdatedKey>> {
    let key = s.keys.update(&caller, id, body.parse()?).await?;
    let api_key = ApiKeyResponse::new(&key, s.keys.now());
    Ok(axum::Json(UpdatedKey {
        message: "API key updated.",
        api_key,
    }))
}

async fn remove(
    State(s): Svc,
    caller: Caller,
    KeyIdPath(id): KeyIdPath,
) -> Result<axum::Json<MessageWithId>> {
    s.keys.delete(&caller, id).await?;
    Ok(axum::Json(MessageWithId {
        message: "API key deleted.",
        id,
    }))
}

async fn regenerate(
    State(s): Svc,
    caller: Caller,
    KeyIdPath(id): KeyIdPath,
) -> Result<axum::Json<ApiKeyCreateResponse>> {
    let issued = s.keys.regenerate(&caller, id).await?;
    let body = ApiKeyCreateResponse::new(
        "API key regenerated. The previous secret no longer works.",
        &issued.key,
        &issued.plain,
    );
    Ok(axum::Json(body))
}

async fn rotate(
    State(s): Svc,
    caller: Caller,
    KeyIdPath(id): KeyIdPath,
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

async fn set_expiration(
    State(s): Svc,
    caller: Caller,
    KeyIdPath(id): KeyIdPath,
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
        expires_at: key.expires_at.map(rfc3339),
        message,
    }))
}

async fn revoke(
    State(s): Svc,
    caller: Caller,
    KeyIdPath(id): KeyIdPath,
    Json(body): Json<RevokeRequest>,
) -> Result<axum::Json<ApiKeyResponse>> {
    let key = s.keys.revoke(&caller, id, body.parse()?).await?;
    Ok(axum::Json(ApiKeyResponse::new(&key, s.keys.now())))
}

async fn stats(
    State(s): Svc,
    caller: Caller,
    KeyIdPath(id): KeyIdPath,
) -> Result<axum::Json<ApiKeyStats>> {
    Ok(axum::Json(s.keys.stats(&caller, id).await?))
}

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
        .verify(&spec.key, &spec.permissions, &client)
        .await?;
    Ok(axum::Json(VerifyResponse::from(&verification)))
}

#[cfg(test)]
mod tests {
    //! Router tests: events go through lambda_http's conversion and the router, no stack needed
    //! for the paths that never reach storage.

    use axum::http::StatusCode;
    use latchkey::testing::{offline_services, replay};

    use super::router;

    #[tokio::test]
    async fn unauthenticated_fixture_is_401() {
        let (status, body) =
            replay(router(offline_services()), "api-keys-unauthenticated.json").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "unauthenticated");
    }

    #[tokio::test]
    async fn placeholder_token_fixture_is_401() {
        let (status, _) = replay(router(offline_services()), "api-keys-list.json").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}
