//! Routes of the account family: health, profile, notifications, onboarding, dashboard.
//! Each handler extracts, calls the domain, and maps the result.

use axum::{
    Json as Body, Router,
    extract::{Path, State},
    routing::{get, post},
};
use latchkey::{
    Error, Result,
    auth::Caller,
    dashboard::{DashboardMetrics, MetricsQuery},
    http::{Json, Query},
    keys::model::KeyStatus,
    notifications::{ListQuery, NotificationList},
    onboarding::{MarkStepRequest, OnboardingProgress, Step},
    profiles::{Profile, UpdateProfileRequest},
    services::Services,
};
use serde::Serialize;
use serde_json::{Value, json};

/// The function's router, finished with the shared 404/405 and request-id handling.
pub fn router(services: Services) -> Router {
    let routes = Router::new()
        .route("/api/v1/account/health", get(health))
        .route("/api/v1/account/me", get(me).put(update_me))
        .route("/api/v1/account/notifications", get(notifications))
        .route("/api/v1/account/notifications/read-all", post(read_all))
        .route(
            "/api/v1/account/notifications/{notification_id}/read",
            post(read_one),
        )
        .route(
            "/api/v1/account/onboarding/progress",
            get(progress).post(mark_step),
        )
        .route("/api/v1/account/onboarding/dismiss", post(dismiss))
        .route("/api/v1/account/dashboard/metrics", get(metrics))
        .with_state(services);
    latchkey::http::finish(routes)
}

type Svc = State<Services>;

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

async fn health() -> Body<Health> {
    Body(Health { status: "ok" })
}

async fn profile_of(s: &Services, caller: &Caller) -> Result<Profile> {
    s.profiles
        .get(&caller.user_id)
        .await?
        .ok_or_else(|| Error::NotFound("No profile for this user.".into()))
}

async fn me(State(s): Svc, caller: Caller) -> Result<Body<Profile>> {
    Ok(Body(profile_of(&s, &caller).await?))
}

async fn update_me(
    State(s): Svc,
    caller: Caller,
    Json(body): Json<UpdateProfileRequest>,
) -> Result<Body<Value>> {
    let changes = body.parse()?;
    let profile = s
        .profiles
        .update(&caller.user_id, &changes, s.clock.now())
        .await?;
    if changes.touches_notifications {
        s.onboarding
            .record(&caller.user_id, Step::ConfiguredNotifications)
            .await;
    }
    Ok(Body(
        json!({"message": "Profile updated.", "profile": profile}),
    ))
}

async fn notifications(
    State(s): Svc,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Body<NotificationList>> {
    Ok(Body(
        s.notifications.list(&caller.user_id, &q.parse()?).await?,
    ))
}

async fn read_one(State(s): Svc, caller: Caller, Path(raw): Path<String>) -> Result<Body<Value>> {
    let id = uuid::Uuid::parse_str(&raw)
        .map_err(|_| Error::NotFound("No notification with that id.".into()))?;
    s.notifications.mark_read(&caller.user_id, id).await?;
    Ok(Body(
        json!({"message": "Notification marked as read.", "id": id}),
    ))
}

async fn read_all(State(s): Svc, caller: Caller) -> Result<Body<Value>> {
    let updated = s.notifications.mark_all_read(&caller.user_id).await?;
    Ok(Body(
        json!({"message": "All notifications marked as read.", "updated": updated}),
    ))
}

async fn progress(State(s): Svc, caller: Caller) -> Result<Body<OnboardingProgress>> {
    caller.require_session()?;
    Ok(Body(s.onboarding.progress(&caller.user_id).await?))
}

async fn mark_step(
    State(s): Svc,
    caller: Caller,
    Json(body): Json<MarkStepRequest>,
) -> Result<Body<OnboardingProgress>> {
    caller.require_session()?;
    s.onboarding
        .complete(&caller.user_id, body.parse()?)
        .await?;
    Ok(Body(s.onboarding.progress(&caller.user_id).await?))
}

async fn dismiss(State(s): Svc, caller: Caller) -> Result<Body<OnboardingProgress>> {
    caller.require_session()?;
    s.onboarding.dismiss(&caller.user_id).await?;
    Ok(Body(s.onboarding.progress(&caller.user_id).await?))
}

async fn metrics(
    State(s): Svc,
    caller: Caller,
    Query(q): Query<MetricsQuery>,
) -> Result<Body<DashboardMetrics>> {
    caller.require_session()?;
    let now = s.clock.now();
    let period = q.parse(now.date_naive())?;
    let active = s
        .keys
        .list(&caller)
        .await?
        .iter()
        .filter(|k| matches!(k.status(now), KeyStatus::Active | KeyStatus::Rotating))
        .count();
    Ok(Body(
        s.dashboard.metrics(&caller.user_id, period, active).await?,
    ))
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use latchkey::testing::{offline_services, replay};

    use super::router;

    #[tokio::test]
    async fn health_fixture_is_ok() {
        let (status, body) = replay(router(offline_services()), "account-health.json").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, serde_json::json!({"status": "ok"}));
    }
}
