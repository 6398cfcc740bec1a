//! A workspace's security settings: what happens to its keys when one is reported as leaked.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a leaked key of the workspace gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeakPolicy {
    /// Revoked at once (the default): whoever found it can no longer use it.
    #[default]
    Revoke,
    /// Left working, its owners told: for keys whose sudden death would cost more than the leak.
    Notify,
}

impl LeakPolicy {
    /// The policy's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoke => "revoke",
            Self::Notify => "notify",
        }
    }

    /// Reads a policy by name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "revoke" => Some(Self::Revoke),
            "notify" => Some(Self::Notify),
            _ => None,
        }
    }
}

/// A workspace's security settings as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecuritySettings {
    /// What a leaked key gets.
    pub leak_response: LeakPolicy,
    /// Bumped by every change (0: never set, the defaults).
    pub version: u64,
    /// The last change, if any.
    pub updated_at: Option<DateTime<Utc>>,
}
