//! The API key aggregate, its lifecycle status and the limits a key grants when it acts.

use chrono::{DateTime, NaiveDate, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::limit::RateLimit;
use crate::{
    ids::{KeyId, UserId, WorkspaceId},
    role::Role,
    usage::UsedKey,
};

/// The lifecycle status shown to clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Usable.
    Active,
    /// Switched off by its owner (`is_active: false`); can be switched back.
    Disabled,
    /// Past `expires_at`, or a rotated key past its grace period.
    Expired,
    /// Permanently revoked.
    Revoked,
    /// Rotated: still usable until the end of its grace period.
    Rotating,
}

/// An API key as stored. The secret itself is never held, only its argon2id PHC string.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKey {
    /// Id, also embedded in the key.
    pub id: KeyId,
    /// Unique in the workspace, assigned at creation and never reused (spartera's `api_key_id`).
    /// `None` only on keys stored before numbers existed, until they are first read.
    pub number: Option<u64>,
    /// The user who owns the key.
    pub owner_id: UserId,
    /// The workspace the key was created in.
    pub workspace_id: WorkspaceId,
    /// Display name.
    pub name: String,
    /// Non-secret identifying prefix.
    pub key_prefix: String,
    /// `sk_****1234`.
    pub masked_key: String,
    /// The key's last 5 characters (latitude.sh's `token_last_slice`). Keys stored before it
    /// was kept have the 4 of `masked_key`.
    pub last_slice: String,
    /// argon2id PHC string of the whole key.
    pub secret_hash: String,
    /// argon2id PHC string of the key's paired secret (cartovista's `secretKey`), which must
    /// then accompany the key wherever it is presented.
    pub paired_secret_hash: Option<String>,
    /// Scopes the key carries, checked by verification.
    pub permissions: Vec<String>,
    /// A read-only key may not call mutating routes.
    pub read_only: bool,
    /// Free text.
    pub description: Option<String>,
    /// The owner's on/off switch.
    pub is_active: bool,
    /// How many requests the key may make per window; `None` for no limit.
    pub rate_limit: Option<RateLimit>,
    /// Networks the key may be used from; empty means anywhere.
    pub allowed_ips: Vec<IpNet>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change of settings or secret.
    pub updated_at: DateTime<Utc>,
    /// When the key stops working, if ever. A rotation sets it to the end of the grace period.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked.
    pub revocation_reason: Option<String>,
    /// When a report of it as leaked was handled (revoked, or its owners told, by the
    /// workspace's leak policy): a later report of it does nothing.
    pub leaked_at: Option<DateTime<Utc>>,
    /// The key that replaced this one in a rotation.
    pub rotated_to: Option<KeyId>,
    /// The key this one replaced in a rotation.
    pub rotated_from: Option<KeyId>,
    /// Successful verifications.
    pub usage_count: u64,
    /// Last successful verification.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Failed verifications.
    pub failed_attempts: u64,
    /// Last failed verification.
    pub last_failed_at: Option<DateTime<Utc>>,
    /// What the key is for, as spartera records it.
    pub purpose: KeyPurpose,
    /// Optimistic-concurrency version, bumped by every settings or secret change.
    pub version: u64,
}

/// What a key is for: the role it acts in, its type, and what it is tied to (spartera's
/// `role_id`, `key_type`, `is_system_generated`, `mcp_deployment_id` and `endpoint_id`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPurpose {
    /// The role the key acts in; `None` for keys made without one (they act as members).
    pub role: Option<Role>,
    /// Its type.
    pub kind: KeyKind,
    /// Made by a deployment rather than a person.
    pub system_generated: bool,
    /// The MCP deployment it is tied to.
    pub mcp_deployment_id: Option<String>,
    /// The endpoint it is tied to.
    pub endpoint_id: Option<String>,
}

/// A key's type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// The default: a key for calling the API.
    #[default]
    Analytics,
    /// A key of an MCP deployment.
    Mcp,
    /// A key of one endpoint.
    Endpoint,
}

impl KeyKind {
    /// The kind named `name`, as spartera spells it.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "analytics" => Some(Self::Analytics),
            "mcp" => Some(Self::Mcp),
            "endpoint" => Some(Self::Endpoint),
            _ => None,
        }
    }

    /// The name spartera spells it with.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Analytics => "analytics",
            Self::Mcp => "mcp",
            Self::Endpoint => "endpoint",
        }
    }
}

impl<'a> From<&'a ApiKey> for UsedKey<'a> {
    fn from(key: &'a ApiKey) -> Self {
        UsedKey {
            id: key.id,
            owner_id: &key.owner_id,
            workspace_id: &key.workspace_id,
        }
    }
}

impl ApiKey {
    /// The status at `now`. Revocation outranks everything; a disabled key reports disabled
    /// before expiry, the order verification checks them in.
    pub fn status(&self, now: DateTime<Utc>) -> KeyStatus {
        if self.revoked_at.is_some() {
            KeyStatus::Revoked
        } else if !self.is_active {
            KeyStatus::Disabled
        } else if self.is_expired(now) {
            KeyStatus::Expired
        } else if self.rotated_to.is_some() {
            KeyStatus::Rotating
        } else {
            KeyStatus::Active
        }
    }

    /// Whether `expires_at` (which includes a rotation's grace end) has passed.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Whether requests from `ip` are allowed.
    pub fn allows_ip(&self, ip: Option<std::net::IpAddr>) -> bool {
        self.allowed_ips.is_empty()
            || ip.is_some_and(|ip| self.allowed_ips.iter().any(|net| net.contains(&ip)))
    }

    /// Whether the key holds every permission in `required`.
    pub fn has_permissions(&self, required: &[String]) -> bool {
        required.iter().all(|p| self.permissions.contains(p))
    }

    /// The role the key acts in: a read-only key's is viewer, a key made without one member.
    pub fn role(&self) -> Role {
        if self.read_only {
            Role::Viewer
        } else {
            self.purpose
                .role
                .filter(|role| *role != Role::Viewer)
                .unwrap_or(Role::Member)
        }
    }

    /// What this key may hand on when it acts on Latchkey's own API.
    pub fn grant(&self) -> KeyGrant {
        KeyGrant {
            key_id: self.id,
            name: self.name.clone(),
            role: self.role(),
            permissions: self.permissions.clone(),
            read_only: self.read_only,
            allowed_ips: self.allowed_ips.clone(),
            rate_limit: self.rate_limit,
            expires_at: self.expires_at,
        }
    }
}

/// The limits of an API key acting on Latchkey's own API: it may never hand on more than it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyGrant {
    /// The acting key.
    pub key_id: KeyId,
    /// Its name, for the audit log's actor.
    pub name: String,
    /// The role it acts in: the highest it may give a key it makes.
    pub role: Role,
    /// Its permissions.
    pub permissions: Vec<String>,
    /// Whether it is read-only.
    pub read_only: bool,
    /// Its networks; empty means anywhere.
    pub allowed_ips: Vec<IpNet>,
    /// Its rate limit; `None` for none.
    pub rate_limit: Option<RateLimit>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

impl KeyGrant {
    /// Whether every permission in `wanted` is one this key holds.
    pub fn covers_permissions(&self, wanted: &[String]) -> bool {
        wanted.iter().all(|p| self.permissions.contains(p))
    }

    /// Whether a `wanted` limit (`None`: none) admits no more than this key's own.
    pub fn covers_rate_limit(&self, wanted: Option<RateLimit>) -> bool {
        match (wanted, self.rate_limit) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(wanted), Some(own)) => wanted.within(own),
        }
    }

    /// Whether a `wanted` expiry (`None`: never) ends no later than this key's own.
    pub fn covers_expiry(&self, wanted: Option<DateTime<Utc>>) -> bool {
        match (wanted, self.expires_at) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(wanted), Some(own)) => wanted <= own,
        }
    }

    /// Whether `wanted` networks are no wider than this key's own.
    pub fn covers_networks(&self, wanted: &[IpNet]) -> bool {
        self.allowed_ips.is_empty()
            || (!wanted.is_empty()
                && wanted
                    .iter()
                    .all(|w| self.allowed_ips.iter().any(|own| own.contains(w))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(perms: &[&str], ips: &[&str]) -> KeyGrant {
        KeyGrant {
            key_id: KeyId::new(),
            name: "acting".into(),
            role: Role::Member,
            permissions: perms.iter().map(|s| s.to_string()).collect(),
            read_only: false,
            allowed_ips: ips.iter().map(|s| s.parse().unwrap()).collect(),
            rate_limit: None,
            expires_at: None,
        }
    }

    fn nets(ips: &[&str]) -> Vec<IpNet> {
        ips.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn permissions_must_be_a_subset() {
        let g = grant(&["read", "write"], &[]);
        assert!(g.covers_permissions(&["read".into()]));
        assert!(g.covers_permissions(&[]));
        assert!(!g.covers_permissions(&["admin".into()]));
    }

    #[test]
    fn networks_may_only_narrow() {
        let anywhere = grant(&[], &[]);
        assert!(anywhere.covers_networks(&[]));
        assert!(anywhere.covers_networks(&nets(&["10.0.0.0/8"])));
        let office = grant(&[], &["10.0.0.0/8"]);
        assert!(office.covers_networks(&nets(&["10.1.0.0/16", "10.2.3.4/32"])));
        assert!(
            !office.covers_networks(&[]),
            "no list means anywhere: wider"
        );
        assert!(!office.covers_networks(&nets(&["0.0.0.0/0"])));
        assert!(!office.covers_networks(&nets(&["11.0.0.1/32"])));
    }
}

/// One day of ApiKeyStats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DailyUsage {
    /// The UTC day.
    pub date: NaiveDate,
    /// Successful verifications that day.
    pub success: u64,
    /// Failed verifications that day.
    pub failed: u64,
}

impl DailyUsage {
    /// One entry per day of `from..=to`, oldest first: the day `recorded` holds, or zeros.
    pub fn every_day(recorded: &[DailyUsage], from: NaiveDate, to: NaiveDate) -> Vec<DailyUsage> {
        from.iter_days()
            .take_while(|date| *date <= to)
            .map(|date| {
                recorded
                    .iter()
                    .find(|d| d.date == date)
                    .copied()
                    .unwrap_or(DailyUsage {
                        date,
                        ..DailyUsage::default()
                    })
            })
            .collect()
    }
}
