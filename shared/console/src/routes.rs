//! The console's routes: the sign-in pages and assets for anyone, every other page behind the
//! signed-in visitor's middleware.

use std::sync::Arc;

use axum::{
    Router, middleware,
    routing::{get, post},
};
use latchkey_http as http;

use crate::{
    assets,
    console::{Console, Shared},
    page,
    pages::{account, audit, keys, privacy, security, signin, webhooks},
    visitor,
};

/// Every console route: the sign-in pages and assets for anyone, the rest for a signed-in user
/// (a session cookie, refreshed when it has expired, and a CSRF token on every change).
pub fn router(console: Console) -> Router {
    let state: Shared = Arc::new(console);
    let signed_in = Router::new()
        .route("/console", get(account::dashboard))
        .route("/console/keys", get(keys::list).post(keys::create))
        .route("/console/keys/new", get(keys::new))
        .route("/console/keys/{id}", get(keys::detail).post(keys::update))
        .route("/console/keys/{id}/usage", get(keys::usage))
        .route(
            "/console/keys/{id}/{action}",
            get(keys::confirm).post(keys::act),
        )
        .route("/console/notifications", get(account::notifications))
        .route("/console/notifications/read-all", post(account::read_all))
        .route("/console/notifications/{id}/read", post(account::read_one))
        .route("/console/onboarding", get(account::onboarding))
        .route("/console/onboarding/dismiss", post(account::dismiss))
        .route(
            "/console/profile",
            get(account::profile).post(account::update_profile),
        )
        .route("/console/privacy", get(privacy::form).post(privacy::submit))
        .route("/console/audit", get(audit::list))
        .route(
            "/console/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/console/webhooks/{id}",
            get(webhooks::detail).post(webhooks::update),
        )
        .route("/console/webhooks/{id}/{action}", post(webhooks::act))
        .route(
            "/console/webhooks/{id}/deliveries/{delivery}/retry",
            post(webhooks::retry),
        )
        .route("/console/privacy/{id}", get(privacy::job))
        .route(
            "/console/security",
            get(security::form).post(security::save),
        )
        .route("/console/signout", post(signin::sign_out))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            visitor::admit,
        ));
    let anyone = Router::new()
        .route("/console/signin", get(signin::page))
        .route("/console/login", get(signin::start))
        .route("/console/callback", get(signin::finish))
        .route("/console/assets/{name}", get(assets::serve));
    let router = http::finish(anyone.merge(signed_in).with_state(state));
    page::finish(router)
}
