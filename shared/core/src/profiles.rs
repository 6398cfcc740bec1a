//! User profiles: created just in time on a user's first authenticated request, read and
//! updated through `/api/v1/account/me`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{
    audit::{AuditEvent, Change, Record, Target, store::AuditTrail},
    error::{Error, FieldError},
    ids::{UserId, WorkspaceId},
    keys::caller::Caller,
    role::Role,
    store_error::StoreError,
    timestamp::serde_rfc3339,
    validate,
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
    /// Applies `changes` as of `at` while the profile is still as it was at `seen` (its
    /// `updated_at`), with `event`, in one transaction; the profile after them. `Conflict` when
    /// the profile changed since or is gone.
    async fn update(
        &self,
        user: &UserId,
        changes: &ProfileChanges,
        seen: DateTime<Utc>,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<Profile, StoreError>;
    /// The members of `workspace` that have a profile, with their roles.
    async fn members(&self, workspace: &WorkspaceId) -> Result<Vec<Member>, StoreError>;
    /// The members of `workspace` who run it: its owners and admins (whom notices go to).
    async fn owners_and_admins(&self, workspace: &WorkspaceId) -> Result<Vec<UserId>, StoreError> {
        Ok(self
            .members(workspace)
            .await?
            .into_iter()
            .filter(|m| matches!(m.role, Role::Owner | Role::Admin))
            .map(|m| m.user_id)
            .collect())
    }
    /// Erases everything stored under `user` (profile, notifications, onboarding) except the
    /// daily aggregates, which hold no personal data; the profile last, with `event`, in one
    /// transaction. Idempotent: with the profile already gone, `event` is not recorded again.
    async fn erase(&self, user: &UserId, event: &AuditEvent) -> Result<(), StoreError>;
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
    trail: AuditTrail,
}

/// Tries of a profile change while another change of the same profile lands first.
const CHANGE_ATTEMPTS: u32 = 5;

impl Profiles {
    /// The use cases over `store`, recording changes in `trail`.
    pub fn new(
        store: std::sync::Arc<dyn ProfileStore>,
        onboarding: std::sync::Arc<crate::onboarding::Onboarding>,
        clock: std::sync::Arc<dyn crate::clock::Clock>,
        trail: AuditTrail,
    ) -> Self {
        Self {
            store,
            onboarding,
            clock,
            trail,
        }
    }

    /// The profile of `user` (404 when there is none).
    pub async fn of(&self, user: &UserId) -> Result<Profile, Error> {
        self.store
            .get(user)
            .await?
            .ok_or_else(|| Error::NotFound("No profile for this user.".into()))
    }

    /// Applies `changes` to `caller`'s profile and returns it after them, recorded as
    /// `account.profile_updated` with each field before and after. A change that lands while
    /// another is made is tried again on the profile as it is then, so `from` is always what it
    /// replaced.
    pub async fn change(
        &self,
        caller: &Caller,
        changes: &ProfileChanges,
    ) -> Result<Profile, Error> {
        let user = &caller.user_id;
        for _ in 0..CHANGE_ATTEMPTS {
            let before = self.of(user).await?;
            let now = self.clock.now();
            let after = changes.apply(&before, now).map_err(StoreError::backend)?;
            let record = Record {
                workspace_id: caller.workspace_id.clone(),
                action: "account.profile_updated".into(),
                actor: caller.actor(),
                targets: vec![user_target(&before)],
                origin: caller.origin.clone(),
                changes: changes.diff(&before, &after),
                users: vec![user.to_string()],
                time: now,
            };
            let written = self
                .trail
                .recording(record, |event| async move {
                    self.store
                        .update(user, changes, before.updated_at, now, &event)
                        .await
                })
                .await;
            match written {
                Ok(profile) => {
                    if changes.touches_notifications {
                        self.onboarding
                            .record(user, crate::onboarding::Step::ConfiguredNotifications)
                            .await;
                    }
                    return Ok(profile);
                }
                Err(StoreError::Conflict) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(Error::Conflict(
            "The profile kept changing while this change was made; try again.".into(),
        ))
    }
}

/// A user's profile as an event's target.
pub fn user_target(profile: &Profile) -> Target {
    Target {
        kind: "user".into(),
        id: profile.id.to_string(),
        name: Some(profile.email.clone()).filter(|email| !email.is_empty()),
    }
}

/// A profile update as a client sent it, before any rule: what a JSON body and the console's
/// profile form both hold. `None` is a field not sent.
#[derive(Clone, Debug, Default)]
pub struct ProfileDraft {
    /// Display name. `Some(None)` is null.
    pub name: Option<Option<String>>,
    /// Free text; null or blank clears it. `Some(None)` is null.
    pub bio: Option<Option<String>>,
    /// An http(s) URL with a host; null or blank clears it. `Some(None)` is null.
    pub avatar_url: Option<Option<String>>,
    /// Digits, spaces and `+ - ( ) .`; null or blank clears it. `Some(None)` is null.
    pub phone_number: Option<Option<String>>,
    /// An IANA time zone. `Some(None)` is null.
    pub timezone: Option<Option<String>>,
    /// Date display format. `Some(None)` is null.
    pub date_format: Option<Option<String>>,
    /// `12h` or `24h`. `Some(None)` is null.
    pub time_format: Option<Option<String>>,
    /// API version shown by default. `Some(None)` is null.
    pub default_api_version: Option<Option<String>>,
    /// `email_notifications`.
    pub email_notifications: Option<bool>,
    /// `webhook_failure_notifications`.
    pub webhook_failure_notifications: Option<bool>,
    /// `workflow_failure_notifications`.
    pub workflow_failure_notifications: Option<bool>,
    /// `usage_alert_notifications`.
    pub usage_alert_notifications: Option<bool>,
    /// `marketing_emails`.
    pub marketing_emails: Option<bool>,
    /// `show_tutorial_tooltips`.
    pub show_tutorial_tooltips: Option<bool>,
    /// `has_completed_tour`.
    pub has_completed_tour: Option<bool>,
    /// Map style preference. `Some(None)` is null.
    pub default_map_style: Option<Option<String>>,
    /// Geofence colour, `#RRGGBB`. `Some(None)` is null.
    pub default_geofence_color: Option<Option<String>>,
    /// `has_completed_workflow_tour`.
    pub has_completed_workflow_tour: Option<bool>,
}

impl ProfileDraft {
    /// The notification preference `name` (one of [`NOTIFICATION_PREFERENCES`]), to set;
    /// `None` for any other name.
    pub fn preference(&mut self, name: &str) -> Option<&mut Option<bool>> {
        match name {
            "email_notifications" => Some(&mut self.email_notifications),
            "webhook_failure_notifications" => Some(&mut self.webhook_failure_notifications),
            "workflow_failure_notifications" => Some(&mut self.workflow_failure_notifications),
            "usage_alert_notifications" => Some(&mut self.usage_alert_notifications),
            "marketing_emails" => Some(&mut self.marketing_emails),
            _ => None,
        }
    }
}

impl ProfileChanges {
    /// `profile` with these changes made at `at` (a cleared field back to its default).
    pub fn apply(
        &self,
        profile: &Profile,
        at: DateTime<Utc>,
    ) -> Result<Profile, serde_json::Error> {
        let mut fields = match serde_json::to_value(profile)? {
            Value::Object(fields) => fields,
            _ => Default::default(),
        };
        for (field, value) in &self.set {
            match value {
                Some(ProfileValue::Text(text)) => {
                    fields.insert((*field).to_owned(), text.clone().into())
                }
                Some(ProfileValue::Flag(flag)) => {
                    fields.insert((*field).to_owned(), (*flag).into())
                }
                None => fields.remove(*field),
            };
        }
        fields.insert("updated_at".into(), crate::timestamp::format(at).into());
        serde_json::from_value(Value::Object(fields))
    }

    /// Each field these changes name whose value differs between `before` and `after`.
    pub fn diff(&self, before: &Profile, after: &Profile) -> BTreeMap<String, Change> {
        let (before, after) = (
            serde_json::to_value(before).unwrap_or_default(),
            serde_json::to_value(after).unwrap_or_default(),
        );
        self.set
            .iter()
            .filter_map(|(field, _)| {
                let from = before.get(*field).cloned().unwrap_or(Value::Null);
                let to = after.get(*field).cloned().unwrap_or(Value::Null);
                (from != to).then(|| ((*field).to_owned(), Change { from, to }))
            })
            .collect()
    }

    /// The changes `draft` asks for, each present field checked; every problem is reported,
    /// each on its field.
    pub fn from_draft(draft: ProfileDraft) -> Result<Self, Error> {
        type Check = fn(&str) -> Result<String, FieldError>;
        let mut errors = Vec::new();
        let mut set: Vec<(&'static str, Option<ProfileValue>)> = Vec::new();
        let texts: [(&'static str, Option<Option<String>>, bool, Check); 10] = [
            ("name", draft.name, false, |v| {
                validate::required_text("name", v, 255)
            }),
            ("bio", draft.bio, true, |v| {
                validate::required_text("bio", v, 1000)
            }),
            ("avatar_url", draft.avatar_url, true, avatar),
            ("phone_number", draft.phone_number, true, phone),
            ("timezone", draft.timezone, false, timezone),
            ("date_format", draft.date_format, false, |v| {
                validate::required_text("date_format", v, 20)
            }),
            ("time_format", draft.time_format, false, time_fmt),
            (
                "default_api_version",
                draft.default_api_version,
                false,
                |v| validate::required_text("default_api_version", v, 10),
            ),
            ("default_map_style", draft.default_map_style, false, |v| {
                validate::required_text("default_map_style", v, 50)
            }),
            (
                "default_geofence_color",
                draft.default_geofence_color,
                false,
                color,
            ),
        ];
        for (field, value, nullable, check) in texts {
            match value {
                None => {}
                Some(None) if nullable => set.push((field, None)),
                Some(None) => errors.push(FieldError::new(field, "must not be null")),
                Some(Some(raw)) if nullable && raw.trim().is_empty() => set.push((field, None)),
                Some(Some(raw)) => match check(&raw) {
                    Ok(v) => set.push((field, Some(ProfileValue::Text(v)))),
                    Err(e) => errors.push(e),
                },
            }
        }
        let flags = [
            ("email_notifications", draft.email_notifications),
            (
                "webhook_failure_notifications",
                draft.webhook_failure_notifications,
            ),
            (
                "workflow_failure_notifications",
                draft.workflow_failure_notifications,
            ),
            ("usage_alert_notifications", draft.usage_alert_notifications),
            ("marketing_emails", draft.marketing_emails),
            ("show_tutorial_tooltips", draft.show_tutorial_tooltips),
            ("has_completed_tour", draft.has_completed_tour),
            (
                "has_completed_workflow_tour",
                draft.has_completed_workflow_tour,
            ),
        ];
        let mut touches_notifications = false;
        for (field, value) in flags {
            if let Some(v) = value {
                touches_notifications |= NOTIFICATION_PREFERENCES.contains(&field);
                set.push((field, Some(ProfileValue::Flag(v))));
            }
        }
        if errors.is_empty() {
            Ok(Self {
                set,
                touches_notifications,
            })
        } else {
            Err(Error::invalid_fields(errors))
        }
    }
}

fn avatar(raw: &str) -> Result<String, FieldError> {
    let url = validate::required_text("avatar_url", raw, 500)?;
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| FieldError::new("avatar_url", "must be an http(s) URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(FieldError::new(
            "avatar_url",
            "must be an http(s) URL with a host",
        ));
    }
    Ok(url)
}

fn phone(raw: &str) -> Result<String, FieldError> {
    let phone = validate::required_text("phone_number", raw, 20)?;
    if !phone
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        || !phone.chars().any(|c| c.is_ascii_digit())
    {
        return Err(FieldError::new(
            "phone_number",
            "may hold only digits, spaces and + - ( ) .",
        ));
    }
    Ok(phone)
}

fn timezone(raw: &str) -> Result<String, FieldError> {
    let zone = validate::required_text("timezone", raw, 50)?;
    zone.parse::<chrono_tz::Tz>()
        .map(|_| zone)
        .map_err(|_| FieldError::new("timezone", "must be an IANA time zone, e.g. Europe/Berlin"))
}

fn color(raw: &str) -> Result<String, FieldError> {
    let color = raw.trim();
    let hex = color.strip_prefix('#').unwrap_or_default();
    if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(color.to_owned())
    } else {
        Err(FieldError::new(
            "default_geofence_color",
            "must be a colour #RRGGBB",
        ))
    }
}

fn time_fmt(raw: &str) -> Result<String, FieldError> {
    match raw {
        "12h" | "24h" => Ok(raw.to_owned()),
        _ => Err(FieldError::new("time_format", "must be 12h or 24h")),
    }
}
