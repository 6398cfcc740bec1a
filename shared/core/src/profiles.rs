//! User profiles: created just in time on a user's first authenticated request, read and
//! updated through `/api/v1/account/me`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    error::Error,
    ids::{UserId, WorkspaceId},
    role::Role,
    store_error::StoreError,
    timestamp::serde_rfc3339,
};

/// What is known of a user when they first arrive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProfile {
    /// User id (`sub`).
    pub id: UserId,
    /// Email from the token, or empty.
    pub email: String,
    /// Name from the token, or empty.
    pub name: String,
    /// Workspace from the token.
    pub workspace_id: WorkspaceId,
    /// Role from the token.
    pub role: Role,
}

fn utc() -> String {
    "UTC".into()
}
fn date_format() -> String {
    "YYYY-MM-DD".into()
}
fn time_format() -> String {
    "24h".into()
}
fn api_version() -> String {
    "v1".into()
}
fn yes() -> bool {
    true
}
fn map_style() -> String {
    "streets".into()
}
fn geofence_color() -> String {
    "#3B82F6".into()
}

/// A stored profile, with the contract's defaults for every setting never changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// User id.
    pub id: UserId,
    /// Email.
    #[serde(default)]
    pub email: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Role in the workspace.
    pub role: Role,
    /// Whether the email was verified by the identity provider.
    #[serde(default)]
    pub email_verified: bool,
    /// Creation time.
    #[serde(with = "serde_rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "serde_rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Latchkey staff (never set by Latchkey itself).
    #[serde(default)]
    pub is_staff: bool,
    /// Latchkey superuser (never set by Latchkey itself).
    #[serde(default)]
    pub is_superuser: bool,
    /// Free text.
    #[serde(default)]
    pub bio: Option<String>,
    /// Picture URL.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// IANA time zone.
    #[serde(default = "utc")]
    pub timezone: String,
    /// Date display format.
    #[serde(default = "date_format")]
    pub date_format: String,
    /// `12h` or `24h`.
    #[serde(default = "time_format")]
    pub time_format: String,
    /// Email notifications.
    #[serde(default = "yes")]
    pub email_notifications: bool,
    /// Webhook failure notifications.
    #[serde(default = "yes")]
    pub webhook_failure_notifications: bool,
    /// Workflow failure notifications.
    #[serde(default = "yes")]
    pub workflow_failure_notifications: bool,
    /// Usage alert notifications.
    #[serde(default = "yes")]
    pub usage_alert_notifications: bool,
    /// Marketing emails.
    #[serde(default)]
    pub marketing_emails: bool,
    /// Tutorial tooltips.
    #[serde(default = "yes")]
    pub show_tutorial_tooltips: bool,
    /// Product tour done.
    #[serde(default)]
    pub has_completed_tour: bool,
    /// Default API version.
    #[serde(default = "api_version")]
    pub default_api_version: String,
    /// The spatialflow SDK's map style preference.
    #[serde(default = "map_style")]
    pub default_map_style: String,
    /// The spatialflow SDK's geofence colour preference (`#RRGGBB`).
    #[serde(default = "geofence_color")]
    pub default_geofence_color: String,
    /// The spatialflow SDK's workflow tour flag.
    #[serde(default)]
    pub has_completed_workflow_tour: bool,
    /// Role in the workspace (the same as `role`).
    #[serde(default)]
    pub workspace_role: Option<Role>,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// Company.
    #[serde(default)]
    pub company: Option<String>,
}

/// A new value of a profile field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileValue {
    /// A text setting.
    Text(String),
    /// An on/off setting.
    Flag(bool),
}

/// A validated profile update: field name → new value (`None` removes the field).
#[derive(Debug, Default, PartialEq)]
pub struct ProfileChanges {
    /// The changed fields.
    pub set: Vec<(&'static str, Option<ProfileValue>)>,
    /// Whether a notification preference is among them (an onboarding step).
    pub touches_notifications: bool,
}

/// The settings whose change completes the onboarding step `configured_notifications`.
pub const NOTIFICATION_PREFERENCES: [&str; 5] = [
    "email_notifications",
    "webhook_failure_notifications",
    "workflow_failure_notifications",
    "usage_alert_notifications",
    "marketing_emails",
];

/// The storage port of profiles.
#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// Creates the profile unless it exists, as of `at`; returns whether it was created.
    async fn ensure(&self, profile: &NewProfile, at: DateTime<Utc>) -> Result<bool, StoreError>;
    /// The profile of `user`.
    async fn get(&self, user: &UserId) -> Result<Option<Profile>, StoreError>;
    /// Applies `changes` and returns the profile after them; `None` when `user` has none.
    async fn update(
        &self,
        user: &UserId,
        changes: &ProfileChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<Profile>, StoreError>;
    /// The members of `workspace` that have a profile, with their roles.
    async fn members(&self, workspace: &WorkspaceId) -> Result<Vec<Member>, StoreError>;
    /// Erases everything stored under `user` (profile, notifications, onboarding) except the
    /// daily aggregates, which hold no personal data. Idempotent.
    async fn erase(&self, user: &UserId) -> Result<(), StoreError>;
}

/// A workspace member, as the member index knows them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Member {
    /// The user.
    #[serde(rename = "id")]
    pub user_id: UserId,
    /// Their role.
    pub role: Role,
}

/// The profile use cases the API and the console share: the caller's profile, and changing it
/// (a change of a notification preference ticks the onboarding step `configured_notifications`).
pub struct Profiles {
    store: std::sync::Arc<dyn ProfileStore>,
    onboarding: std::sync::Arc<crate::onboarding::Onboarding>,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
}

impl Profiles {
    /// The use cases over `store`.
    pub fn new(
        store: std::sync::Arc<dyn ProfileStore>,
        onboarding: std::sync::Arc<crate::onboarding::Onboarding>,
        clock: std::sync::Arc<dyn crate::clock::Clock>,
    ) -> Self {
        Self {
            store,
            onboarding,
            clock,
        }
    }

    /// The profile of `user` (404 when there is none).
    pub async fn of(&self, user: &UserId) -> Result<Profile, Error> {
        self.store
            .get(user)
            .await?
            .ok_or_else(|| Error::NotFound("No profile for this user.".into()))
    }

    /// Applies `changes` to `user`'s profile and returns it after them.
    pub async fn change(&self, user: &UserId, changes: &ProfileChanges) -> Result<Profile, Error> {
        let profile = self
            .store
            .update(user, changes, self.clock.now())
            .await?
            .ok_or_else(|| Error::NotFound("No profile for this user.".into()))?;
        if changes.touches_notifications {
            self.onboarding
                .record(user, crate::onboarding::Step::ConfiguredNotifications)
                .await;
        }
        Ok(profile)
    }
}
