//! The workspace's security settings (`/api/v1/account/security-settings`): what a leaked key
//! gets. Owners and admins with a session.

use axum::{Json as Body, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use latchkey_core::leaks::{LeakPolicy, SecuritySettings};

use super::AccountApi;
use crate::{
    Authenticated, Json, Result,
    responses::{Errors, status::*},
};

/// What a key reported as leaked gets: `revoke` (the default) or `notify` (left working, its
/// owners told).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeakResponse {
    /// Revoked at once.
    Revoke,
    /// Left working; its owners told.
    Notify,
}

impl From<LeakPolicy> for LeakResponse {
    fn from(policy: LeakPolicy) -> Self {
        match policy {
            LeakPolicy::Revoke => Self::Revoke,
            LeakPolicy::Notify => Self::Notify,
        }
    }
}

impl From<LeakResponse> for LeakPolicy {
    fn from(response: LeakResponse) -> Self {
        match response {
            LeakResponse::Revoke => Self::Revoke,
            LeakResponse::Notify => Self::Notify,
        }
    }
}

/// SecuritySettings.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecuritySettingsBody {
    leak_response: LeakResponse,
}

impl From<SecuritySettings> for SecuritySettingsBody {
    fn from(settings: SecuritySettings) -> Self {
        Self {
            leak_response: settings.leak_response.into(),
        }
    }
}

/// Body of `PUT /api/v1/account/security-settings`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SecuritySettingsRequest {
    leak_response: LeakResponse,
}

type Svc = State<AccountApi>;

#[utoipa::path(
    get, path = "/api/v1/account/security-settings", tag = "leak-response",
    operation_id = "get_security_settings",
    summary = "The workspace's leak policy",
    responses(
        (status = 200, description = "The settings (the defaults until changed).", body = SecuritySettingsBody),
        Errors<{ CALLER }>,
    ),
)]
pub(super) async fn get_security_settings(
    State(s): Svc,
    Authenticated(caller): Authenticated,
) -> Result<Body<SecuritySettingsBody>> {
    Ok(Body(s.security.get(&caller).await?.into()))
}

#[utoipa::path(
    put, path = "/api/v1/account/security-settings", tag = "leak-response",
    operation_id = "update_security_settings",
    summary = "Set the workspace's leak policy",
    description = "Recorded in the audit log as `workspace.settings_updated` when it changes.",
    request_body = SecuritySettingsRequest,
    responses(
        (status = 200, description = "The settings now.", body = SecuritySettingsBody),
        Errors<{ CALLER | BAD_REQUEST }>,
    ),
)]
pub(super) async fn update_security_settings(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    Json(body): Json<SecuritySettingsRequest>,
) -> Result<Body<SecuritySettingsBody>> {
    let policy = body.leak_response.into();
    Ok(Body(
        s.security.set_leak_response(&caller, policy).await?.into(),
    ))
}
