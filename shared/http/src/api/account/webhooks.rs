//! The webhook routes (`/api/v1/account/webhooks`), served by the account function: endpoints,
//! their secrets, a test delivery, the delivery log and a retry; their bodies and answers.

use axum::{Json as Body, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use latchkey_core::{
    cursor,
    error::Error,
    ids::{DeliveryId, WebhookEndpointId},
    timestamp,
    webhooks::{
        Attempt, Delivery, WebhookEndpoint,
        draft::{EndpointChanges, EndpointDraft},
        service::{Created, DeliveryPage},
    },
};

use super::AccountApi;
use crate::{
    Authenticated, IdPath, Json, Query, Result,
    responses::{Errors, status::*},
};

/// Body of `POST /webhooks` and `PATCH /webhooks/{endpoint_id}`: every field optional on a
/// change; a new endpoint needs `url`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct WebhookRequest {
    /// Where deliveries go: `https`, and not a private, loopback, link-local or metadata address.
    #[schema(example = "https://hooks.example.com/latchkey", max_length = 2048)]
    url: Option<String>,
    /// What it is for.
    #[schema(max_length = 256)]
    description: Option<String>,
    /// Event types (`key.created`, `key.revoked`, ...), or `["*"]` for all (the default).
    #[schema(example = json!(["key.revoked", "key.leaked"]))]
    events: Option<Vec<String>>,
    /// Whether deliveries are made (default `true`); enabling clears `disabled_reason`.
    enabled: Option<bool>,
}

impl WebhookRequest {
    fn parse(self, api: &AccountApi, creating: bool) -> Result<EndpointChanges, Error> {
        EndpointChanges::from_draft(
            EndpointDraft {
                url: self.url,
                description: self.description,
                events: self.events,
                enabled: self.enabled,
            },
            api.webhooks.policy(),
            creating,
        )
    }
}

/// WebhookEndpoint. Its secret is shown only when it is made or rotated.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointBody {
    #[schema(value_type = String, format = Uuid)]
    id: Uuid,
    url: String,
    description: String,
    /// Event types, or `["*"]`.
    events: Vec<String>,
    enabled: bool,
    /// Why Latchkey disabled it (a 410, or deliveries failing for days).
    disabled_reason: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    created_at: String,
    #[schema(value_type = String, format = DateTime)]
    updated_at: String,
    /// `whsec_` + base64 of 32 bytes: in a creation's answer only.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl From<WebhookEndpoint> for WebhookEndpointBody {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            id: e.id,
            url: e.url,
            description: e.description,
            events: e.events,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            created_at: timestamp::format(e.created_at),
            updated_at: timestamp::format(e.updated_at),
            secret: None,
        }
    }
}

impl From<Created> for WebhookEndpointBody {
    fn from(created: Created) -> Self {
        Self {
            secret: Some(created.secret),
            ..created.endpoint.into()
        }
    }
}

/// A new secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretBody {
    /// `whsec_...`; the one it replaces still signs for 24 hours.
    secret: String,
}

/// The delivery a test made.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestBody {
    #[schema(value_type = String, format = Uuid)]
    delivery_id: Uuid,
}

/// One try at a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptBody {
    #[schema(value_type = String, format = DateTime)]
    at: String,
    /// The answer's status, when one came.
    status_code: Option<u16>,
    /// What went wrong, when something did.
    error: Option<String>,
    duration_ms: u64,
}

impl From<Attempt> for AttemptBody {
    fn from(a: Attempt) -> Self {
        Self {
            at: timestamp::format(a.at),
            status_code: a.status_code,
            error: a.error,
            duration_ms: a.duration_ms,
        }
    }
}

/// Delivery: one event on its way to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryBody {
    #[schema(value_type = String, format = Uuid)]
    id: Uuid,
    #[schema(example = "key.revoked")]
    event_type: String,
    /// The `webhook-id` header of every attempt.
    webhook_id: String,
    /// `pending`, `delivered` or `failed`.
    #[schema(example = "delivered")]
    status: String,
    /// Oldest first.
    attempts: Vec<AttemptBody>,
    /// When the next attempt is due, while pending.
    #[schema(value_type = Option<String>, format = DateTime)]
    next_attempt_at: Option<String>,
}

impl From<Delivery> for DeliveryBody {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            event_type: d.event_type,
            webhook_id: d.webhook_id,
            status: serde_json::to_value(d.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            attempts: d.attempts.into_iter().map(Into::into).collect(),
            next_attempt_at: d.next_attempt_at.map(timestamp::format),
        }
    }
}

/// A page of deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    deliveries: Vec<DeliveryBody>,
    /// Pass as `cursor` for the next page; null on the last.
    next_cursor: Option<String>,
}

impl From<DeliveryPage> for DeliveryList {
    fn from(page: DeliveryPage) -> Self {
        Self {
            deliveries: page.deliveries.into_iter().map(Into::into).collect(),
            next_cursor: page.next_after.map(cursor::encode),
        }
    }
}

/// Query of `GET .../deliveries`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl DeliveryQuery {
    fn parse(self) -> Result<(Option<Uuid>, usize), Error> {
        let limit = match self.limit {
            None => 20,
            Some(n @ 1..=100) => n as usize,
            Some(_) => return Err(Error::invalid_field("limit", "limit must be from 1 to 100")),
        };
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(cursor::decode(raw).ok_or_else(|| {
                Error::invalid_field("cursor", "cursor is not one this API gave")
            })?),
        };
        Ok((after, limit))
    }
}

type Svc = State<AccountApi>;

#[utoipa::path(
    post, path = "/api/v1/account/webhooks", tag = "webhooks", operation_id = "create_webhook",
    summary = "Add a webhook endpoint (its secret is in this answer only)",
    request_body = WebhookRequest,
    responses(
        (status = 201, description = "The endpoint, with its secret.", body = WebhookEndpointBody),
        Errors<{ CALLER | BAD_REQUEST }>,
    ),
)]
pub(super) async fn create_webhook(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    Json(body): Json<WebhookRequest>,
) -> Result<(StatusCode, Body<WebhookEndpointBody>)> {
    let spec = body.parse(&s, true)?;
    let created = s.webhooks.create(&caller, spec).await?;
    Ok((StatusCode::CREATED, Body(created.into())))
}

#[utoipa::path(
    get, path = "/api/v1/account/webhooks", tag = "webhooks", operation_id = "list_webhooks",
    summary = "The workspace's webhook endpoints",
    responses(
        (status = 200, description = "Oldest first.", body = Vec<WebhookEndpointBody>),
        Errors<{ CALLER }>,
    ),
)]
pub(super) async fn list_webhooks(
    State(s): Svc,
    Authenticated(caller): Authenticated,
) -> Result<Body<Vec<WebhookEndpointBody>>> {
    let endpoints = s.webhooks.list(&caller).await?;
    Ok(Body(endpoints.into_iter().map(Into::into).collect()))
}

#[utoipa::path(
    get, path = "/api/v1/account/webhooks/{endpoint_id}", tag = "webhooks",
    operation_id = "get_webhook", summary = "One webhook endpoint",
    params(IdPath<WebhookEndpointId>),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookEndpointBody),
        Errors<{ CALLER | NOT_FOUND }>,
    ),
)]
pub(super) async fn get_webhook(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(WebhookEndpointId(id)): IdPath<WebhookEndpointId>,
) -> Result<Body<WebhookEndpointBody>> {
    Ok(Body(s.webhooks.get(&caller, id).await?.into()))
}

#[utoipa::path(
    patch, path = "/api/v1/account/webhooks/{endpoint_id}", tag = "webhooks",
    operation_id = "update_webhook", summary = "Change a webhook endpoint",
    description = "Only the fields present change; no body changes nothing.",
    params(IdPath<WebhookEndpointId>),
    request_body = Option<WebhookRequest>,
    responses(
        (status = 200, description = "The endpoint after the change.", body = WebhookEndpointBody),
        Errors<{ CALLER | BAD_REQUEST | NOT_FOUND | CONFLICT }>,
    ),
)]
pub(super) async fn update_webhook(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(WebhookEndpointId(id)): IdPath<WebhookEndpointId>,
    Json(body): Json<WebhookRequest>,
) -> Result<Body<WebhookEndpointBody>> {
    let changes = body.parse(&s, false)?;
    Ok(Body(s.webhooks.update(&caller, id, changes).await?.into()))
}

#[utoipa::path(
    delete, path = "/api/v1/account/webhooks/{endpoint_id}", tag = "webhooks",
    operation_id = "delete_webhook", summary = "Delete a webhook endpoint",
    params(IdPath<WebhookEndpointId>),
    responses(
        (status = 204, description = "Deleted."),
        Errors<{ CALLER | NOT_FOUND }>,
    ),
)]
pub(super) async fn delete_webhook(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(WebhookEndpointId(id)): IdPath<WebhookEndpointId>,
) -> Result<StatusCode> {
    s.webhooks.delete(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/api/v1/account/webhooks/{endpoint_id}/rotate-secret", tag = "webhooks",
    operation_id = "rotate_webhook_secret",
    summary = "A new signing secret (shown once); the old one also signs for 24 hours",
    params(IdPath<WebhookEndpointId>),
    responses(
        (status = 200, description = "The new secret.", body = SecretBody),
        Errors<{ CALLER | NOT_FOUND }>,
    ),
)]
pub(super) async fn rotate_webhook_secret(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(WebhookEndpointId(id)): IdPath<WebhookEndpointId>,
) -> Result<Body<SecretBody>> {
    let secret = s.webhooks.rotate_secret(&caller, id).await?;
    Ok(Body(SecretBody { secret }))
}

#[utoipa::path(
    post, path = "/api/v1/account/webhooks/{endpoint_id}/test", tag = "webhooks",
    operation_id = "test_webhook", summary = "Send a webhook.test event to the endpoint",
    params(IdPath<WebhookEndpointId>),
    responses(
        (status = 202, description = "The delivery made.", body = TestBody),
        Errors<{ CALLER | NOT_FOUND }>,
    ),
)]
pub(super) async fn test_webhook(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(WebhookEndpointId(id)): IdPath<WebhookEndpointId>,
) -> Result<(StatusCode, Body<TestBody>)> {
    let delivery_id = s.webhooks.test(&caller, id).await?;
    Ok((StatusCode::ACCEPTED, Body(TestBody { delivery_id })))
}

#[utoipa::path(
    get, path = "/api/v1/account/webhooks/{endpoint_id}/deliveries", tag = "webhooks",
    operation_id = "list_webhook_deliveries", summary = "The endpoint's deliveries, newest first",
    params(IdPath<WebhookEndpointId>, DeliveryQuery),
    responses(
        (status = 200, description = "One page.", body = DeliveryList),
        Errors<{ CALLER | BAD_REQUEST | NOT_FOUND }>,
    ),
)]
pub(super) async fn list_webhook_deliveries(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(WebhookEndpointId(id)): IdPath<WebhookEndpointId>,
    Query(q): Query<DeliveryQuery>,
) -> Result<Body<DeliveryList>> {
    let (after, limit) = q.parse()?;
    let page = s.webhooks.deliveries(&caller, id, after, limit).await?;
    Ok(Body(page.into()))
}

#[utoipa::path(
    post, path = "/api/v1/account/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry",
    tag = "webhooks", operation_id = "retry_webhook_delivery",
    summary = "Send a delivered or failed delivery once more, now",
    params(IdPath<WebhookEndpointId>, IdPath<DeliveryId>),
    responses(
        (status = 202, description = "Sent to the queue."),
        Errors<{ CALLER | NOT_FOUND | CONFLICT }>,
    ),
)]
pub(super) async fn retry_webhook_delivery(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(WebhookEndpointId(id)): IdPath<WebhookEndpointId>,
    IdPath(DeliveryId(delivery)): IdPath<DeliveryId>,
) -> Result<StatusCode> {
    s.webhooks.retry(&caller, id, delivery).await?;
    Ok(StatusCode::ACCEPTED)
}
