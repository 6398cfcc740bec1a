//! The account family: health, profile, notifications, onboarding, dashboard, the audit log,
//! webhooks, and the API's own description. Each handler extracts, calls the domain, and maps the result; the family's
//! request and response shapes are [`input`] and [`view`].

pub mod audit;
pub mod input;
pub mod security;
pub mod view;
pub mod webhooks;

use crate::Authenticated;
use crate::callers::{SESSION_ONLY, secured};
use crate::responses::{Errors, status::*};
use std::sync::{Arc, LazyLock};

use axum::{
    Json as Body, Router,
    extract::{FromRef, State},
    http::{StatusCode, header},
    response::IntoResponse,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::Result;
use crate::{IdPath, Json, Query};
use latchkey_core::{
    account_closure,
    audit::{log::AuditLog, store::AuditTrail},
    auth::Authenticator,
    clock::Clock,
    dashboard::Dashboard,
    ids::NotificationId,
    issue_reports::IssueReports,
    keys::service::KeyService,
    notifications::Notifications,
    onboarding::Onboarding,
    profiles::{ProfileStore, Profiles},
    sessions::store::SessionStore,
    wiring::Wiring,
};

use self::{
    input::{IssueReportRequest, ListQuery, MarkStepRequest, MetricsQuery, UpdateProfileRequest},
    view::{DashboardMetricsBody, NotificationList, OnboardingProgressBody, ProfileBody},
};
use super::api_keys::view::MessageWithId;

/// The account function's router.
pub fn router(state: AccountApi) -> Router {
    super::mount(routes(), state)
}

/// What the account function's routes use.
#[derive(Clone)]
pub struct AccountApi {
    /// Authentication of callers.
    pub auth: Arc<Authenticator>,
    /// The API-key use cases (the dashboard counts keys; deleting an account deletes them).
    pub keys: Arc<KeyService>,
    /// Profiles (deleting an account erases one).
    pub profiles: Arc<dyn ProfileStore>,
    /// Sessions (deleting an account revokes every one of the user's).
    pub sessions: Arc<dyn SessionStore>,
    /// The profile use cases.
    pub profile_cases: Arc<Profiles>,
    /// Notifications.
    pub notifications: Arc<Notifications>,
    /// The onboarding checklist.
    pub onboarding: Arc<Onboarding>,
    /// Dashboard metrics.
    pub dashboard: Arc<Dashboard>,
    /// Issue reports.
    pub issue_reports: Arc<IssueReports>,
    /// The audit log.
    pub audit: Arc<AuditLog>,
    /// Records changes in the audit log (an account's deletion).
    pub trail: AuditTrail,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Webhook endpoints and deliveries.
    pub webhooks: Arc<latchkey_core::webhooks::service::Webhooks>,
    /// The workspace's security settings.
    pub security: Arc<latchkey_core::leaks::SecuritySettingsService>,
}

impl AccountApi {
    /// Takes what the routes use from `wiring`.
    pub fn wire(wiring: &Wiring) -> Self {
        Self {
            auth: wiring.auth(),
            keys: wiring.keys(),
            profiles: wiring.profiles(),
            sessions: wiring.sessions(),
            profile_cases: wiring.profile_cases(),
            notifications: wiring.notifications(),
            onboarding: wiring.onboarding(),
            dashboard: wiring.dashboard(),
            issue_reports: wiring.issue_reports(),
            audit: wiring.audit(),
            trail: wiring.trail(),
            clock: wiring.clock(),
            webhooks: wiring.webhooks(),
            security: wiring.security_settings(),
        }
    }
}

impl FromRef<AccountApi> for Arc<Authenticator> {
    fn from_ref(state: &AccountApi) -> Self {
        state.auth.clone()
    }
}

/// The family's routes, each with its operation in the document.
pub(super) fn routes() -> OpenApiRouter<AccountApi> {
    let account = OpenApiRouter::new()
        .routes(routes!(me, update_me, delete_me))
        .routes(routes!(report_issue))
        .routes(routes!(notifications))
        .routes(routes!(read_all))
        .routes(routes!(read_one))
        .routes(routes!(progress, mark_step))
        .routes(routes!(dismiss))
        .routes(routes!(metrics))
        .routes(routes!(audit::list_audit_events))
        .routes(routes!(audit::check_audit_integrity))
        .routes(routes!(audit::get_audit_event))
        .routes(routes!(webhooks::create_webhook, webhooks::list_webhooks))
        .routes(routes!(
            webhooks::get_webhook,
            webhooks::update_webhook,
            webhooks::delete_webhook
        ))
        .routes(routes!(webhooks::rotate_webhook_secret))
        .routes(routes!(webhooks::test_webhook))
        .routes(routes!(webhooks::list_webhook_deliveries))
        .routes(routes!(webhooks::retry_webhook_delivery))
        .routes(routes!(
            security::get_security_settings,
            security::update_security_settings
        ));
    secured(account, SESSION_ONLY)
        .routes(routes!(health))
        .routes(routes!(openapi))
}

type Svc = State<AccountApi>;

/// `{"status": "ok"}`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
}

/// `{"message", "profile"}` of a profile update.
#[derive(Serialize, ToSchema)]
pub struct ProfileUpdated {
    /// Message.
    message: &'static str,
    /// The profile after the update.
    profile: ProfileBody,
}

/// `{"message", "updated"}` of mark-all-read.
#[derive(Serialize, ToSchema)]
pub struct MarkedRead {
    /// Message.
    message: &'static str,
    /// How many notifications changed from unread to read.
    updated: u64,
}

#[utoipa::path(
    get, path = "/api/v1/account/health", tag = "meta", operation_id = "health",
    summary = "Liveness",
    responses((status = 200, description = "The function is up.", body = Health)),
)]
async fn health() -> Body<Health> {
    Body(Health { status: "ok" })
}

static DOCUMENT: LazyLock<String> = LazyLock::new(super::document_json);

#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "meta", operation_id = "openapi",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document of every route.", content_type = "application/json", body = Object)),
)]
async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

#[utoipa::path(
    get, path = "/api/v1/account/me", tag = "account", operation_id = "get_profile",
    summary = "The caller's profile",
    description = "The first authenticated request of a new user provisions their profile.",
    responses(
        (status = 200, description = "The profile.", body = ProfileBody),
        Errors<{ CALLER }>,
    ),
    security(("JWTBearer" = []), ("APIKeyBearer" = [])),
)]
async fn me(State(s): Svc, Authenticated(caller): Authenticated) -> Result<Body<ProfileBody>> {
    Ok(Body(s.profile_cases.of(&caller.user_id).await?.into()))
}

#[utoipa::path(
    put, path = "/api/v1/account/me", tag = "account", operation_id = "update_profile",
    summary = "Change the caller's profile",
    description = "Only the fields present change; `null` clears `bio`, `avatar_url` and `phone_number`.",
    request_body = Option<UpdateProfileRequest>,
    responses(
        (status = 200, description = "The profile after the change.", body = ProfileUpdated),
        Errors<{ CALLER | BAD_REQUEST }>,
    ),
    security(("JWTBearer" = []), ("APIKeyBearer" = [])),
)]
async fn update_me(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    Json(body): Json<UpdateProfileRequest>,
) -> Result<Body<ProfileUpdated>> {
    let profile = s.profile_cases.change(&caller, &body.parse()?).await?;
    Ok(Body(ProfileUpdated {
        message: "Profile updated.",
        profile: profile.into(),
    }))
}

#[utoipa::path(
    delete, path = "/api/v1/account/me", tag = "account", operation_id = "delete_own_account",
    summary = "Delete the caller's account",
    description = "Sessions only (an API key is 403). Erases the caller's profile, notifications \
        and onboarding, deletes every key they own in any workspace (each stops verifying within \
        the cache bound), and revokes every session and token of theirs issued until then (refused \
        within the cache bound; their refresh tokens at once); daily aggregates stay. 409 while the \
        caller is the only owner of a workspace with other members. Idempotent: a second call is \
        204 too, while the session that makes it is still accepted.",
    responses(
        (status = 204, description = "Deleted."),
        Errors<{ UNAUTHENTICATED | FORBIDDEN | CONFLICT }>,
    ),
)]
async fn delete_me(State(s): Svc, Authenticated(caller): Authenticated) -> Result<StatusCode> {
    let role = caller.require_session()?;
    let stores = account_closure::AccountStores {
        keys: &s.keys,
        profiles: s.profiles.as_ref(),
        sessions: s.sessions.as_ref(),
        trail: &s.trail,
    };
    account_closure::delete_own_account(&caller, role, stores, s.clock.now()).await?;
    s.auth.forget(&caller.user_id);
    Ok(StatusCode::NO_CONTENT)
}

/// IssueReportResponse.
#[derive(Serialize, ToSchema)]
pub struct IssueReportResponse {
    /// Id.
    id: uuid::Uuid,
    /// Short and quotable, e.g. `LK-7F3K9Q`.
    #[schema(example = "LK-7F3K9Q")]
    reference_id: String,
    /// `received`.
    #[schema(example = "received")]
    status: String,
    /// When it was received.
    #[schema(value_type = String, format = DateTime)]
    created_at: String,
}

#[utoipa::path(
    post, path = "/api/v1/account/issue-reports", tag = "account",
    operation_id = "create_issue_report", summary = "Report an issue to the workspace",
    description = "Sessions only (an API key is 403). Stored privately in the caller's workspace, \
        with anything that looks like a key or a bearer token scrubbed out first; the workspace's \
        owners and admins get a `support.issue_reported` notification.",
    request_body = IssueReportRequest,
    responses(
        (status = 201, description = "Received.", body = IssueReportResponse),
        Errors<{ BAD_REQUEST | UNAUTHENTICATED | FORBIDDEN }>,
    ),
)]
async fn report_issue(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    Json(body): Json<IssueReportRequest>,
) -> Result<(StatusCode, Body<IssueReportResponse>)> {
    caller.require_session()?;
    let report = s.issue_reports.create(&caller, body.parse()?).await?;
    Ok((
        StatusCode::CREATED,
        Body(IssueReportResponse {
            id: report.id,
            reference_id: report.reference_id,
            status: report.status,
            created_at: latchkey_core::timestamp::format(report.created_at),
        }),
    ))
}

#[utoipa::path(
    get, path = "/api/v1/account/notifications", tag = "account",
    operation_id = "list_notifications", summary = "The caller's notifications, newest first",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of notifications.", body = NotificationList),
        Errors<{ CALLER | BAD_REQUEST }>,
    ),
    security(("JWTBearer" = []), ("APIKeyBearer" = [])),
)]
async fn notifications(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    Query(q): Query<ListQuery>,
) -> Result<Body<NotificationList>> {
    Ok(Body(
        s.notifications
            .list(&caller.user_id, &q.parse()?)
            .await?
            .into(),
    ))
}

#[utoipa::path(
    post, path = "/api/v1/account/notifications/{notification_id}/read", tag = "account",
    operation_id = "mark_notification_read", summary = "Mark one notification read",
    params(IdPath<NotificationId>),
    responses(
        (status = 200, description = "Marked (idempotent).", body = MessageWithId),
        Errors<{ CALLER | NOT_FOUND }>,
    ),
    security(("JWTBearer" = []), ("APIKeyBearer" = [])),
)]
async fn read_one(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    IdPath(NotificationId(id)): IdPath<NotificationId>,
) -> Result<Body<MessageWithId>> {
    s.notifications.mark_read(&caller.user_id, id).await?;
    Ok(Body(MessageWithId {
        message: "Notification marked as read.",
        id,
    }))
}

#[utoipa::path(
    post, path = "/api/v1/account/notifications/read-all", tag = "account",
    operation_id = "mark_all_notifications_read", summary = "Mark every notification read",
    responses(
        (status = 200, description = "How many changed.", body = MarkedRead),
        Errors<{ CALLER }>,
    ),
    security(("JWTBearer" = []), ("APIKeyBearer" = [])),
)]
async fn read_all(State(s): Svc, Authenticated(caller): Authenticated) -> Result<Body<MarkedRead>> {
    let updated = s.notifications.mark_all_read(&caller.user_id).await?;
    Ok(Body(MarkedRead {
        message: "All notifications marked as read.",
        updated,
    }))
}

#[utoipa::path(
    get, path = "/api/v1/account/onboarding/progress", tag = "account",
    operation_id = "get_onboarding_progress", summary = "The onboarding checklist",
    description = "Sessions only: an API key is refused with 403.",
    responses(
        (status = 200, description = "The checklist.", body = OnboardingProgressBody),
        Errors<{ CALLER }>,
    ),
)]
async fn progress(
    State(s): Svc,
    Authenticated(caller): Authenticated,
) -> Result<Body<OnboardingProgressBody>> {
    caller.require_session()?;
    Ok(Body(s.onboarding.progress(&caller.user_id).await?.into()))
}

#[utoipa::path(
    post, path = "/api/v1/account/onboarding/progress", tag = "account",
    operation_id = "complete_onboarding_step", summary = "Mark a checklist step done by hand",
    description = "Sessions only: an API key is refused with 403. Steps also complete by themselves.",
    request_body = MarkStepRequest,
    responses(
        (status = 200, description = "The checklist.", body = OnboardingProgressBody),
        Errors<{ CALLER | BAD_REQUEST }>,
    ),
)]
async fn mark_step(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    Json(body): Json<MarkStepRequest>,
) -> Result<Body<OnboardingProgressBody>> {
    caller.require_session()?;
    s.onboarding
        .complete(&caller.user_id, body.parse()?)
        .await?;
    Ok(Body(s.onboarding.progress(&caller.user_id).await?.into()))
}

#[utoipa::path(
    post, path = "/api/v1/account/onboarding/dismiss", tag = "account",
    operation_id = "dismiss_onboarding", summary = "Dismiss the checklist for good",
    description = "Sessions only: an API key is refused with 403.",
    responses(
        (status = 200, description = "The checklist.", body = OnboardingProgressBody),
        Errors<{ CALLER }>,
    ),
)]
async fn dismiss(
    State(s): Svc,
    Authenticated(caller): Authenticated,
) -> Result<Body<OnboardingProgressBody>> {
    caller.require_session()?;
    s.onboarding.dismiss(&caller.user_id).await?;
    Ok(Body(s.onboarding.progress(&caller.user_id).await?.into()))
}

#[utoipa::path(
    get, path = "/api/v1/account/dashboard/metrics", tag = "account",
    operation_id = "get_dashboard_metrics", summary = "Verification figures for a period",
    description = "Sessions only: an API key is refused with 403. Figures for the period and the \
        previous period of equal length.",
    params(MetricsQuery),
    responses(
        (status = 200, description = "The figures.", body = DashboardMetricsBody),
        Errors<{ CALLER | BAD_REQUEST }>,
    ),
)]
async fn metrics(
    State(s): Svc,
    Authenticated(caller): Authenticated,
    Query(q): Query<MetricsQuery>,
) -> Result<Body<DashboardMetricsBody>> {
    let period = q.parse(s.clock.now().date_naive())?;
    Ok(Body(
        s.dashboard
            .of_caller(&caller, &s.keys, period)
            .await?
            .into(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::testing::{offline_wiring, replay};
    use axum::http::StatusCode;

    use super::router;

    #[tokio::test]
    async fn health_fixture_is_ok() {
        let (status, body) = replay(
            router(super::AccountApi::wire(&offline_wiring())),
            "account-health.json",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, serde_json::json!({"status": "ok"}));
    }
}
