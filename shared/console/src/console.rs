//! What the console's pages use: the same use cases the API calls.

use std::sync::Arc;

use latchkey_core::{
    audit::log::AuditLog, auth::Authenticator, clock::Clock, dashboard::Dashboard,
    keys::service::KeyService, notifications::Notifications, onboarding::Onboarding,
    privacy::erasure::Erasure, profiles::Profiles, sessions::SignIn, wiring::Wiring,
};

use crate::csrf::Csrf;

/// The console's use cases and settings.
pub struct Console {
    /// Authentication of the session cookie.
    pub auth: Arc<Authenticator>,
    /// Sign-in, refresh and sign-out.
    pub sign_in: Arc<SignIn>,
    /// The API-key use cases.
    pub keys: Arc<KeyService>,
    /// Profiles and preferences.
    pub profiles: Arc<Profiles>,
    /// Notifications.
    pub notifications: Arc<Notifications>,
    /// The onboarding checklist.
    pub onboarding: Arc<Onboarding>,
    /// Dashboard figures.
    pub dashboard: Arc<Dashboard>,
    /// Privacy erasure jobs.
    pub erasure: Arc<Erasure>,
    /// The audit log.
    pub audit: Arc<AuditLog>,
    /// Webhook endpoints and deliveries.
    pub webhooks: Arc<latchkey_core::webhooks::service::Webhooks>,
    /// The workspace's security settings.
    pub security: Arc<latchkey_core::leaks::SecuritySettingsService>,
    /// CSRF tokens of sessions.
    pub csrf: Csrf,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

/// The shared state of every console handler.
pub type Shared = Arc<Console>;

impl Console {
    /// Takes what the console uses from `wiring`, with the sign-in it built.
    pub fn wire(wiring: &Wiring, sign_in: Arc<SignIn>) -> Self {
        Self {
            auth: wiring.auth(),
            sign_in,
            keys: wiring.keys(),
            profiles: wiring.profile_cases(),
            notifications: wiring.notifications(),
            onboarding: wiring.onboarding(),
            dashboard: wiring.dashboard(),
            erasure: wiring.erasure(),
            audit: wiring.audit(),
            webhooks: wiring.webhooks(),
            security: wiring.security_settings(),
            csrf: Csrf::new(&wiring.config().sessions().secret),
            clock: wiring.clock(),
        }
    }
}
