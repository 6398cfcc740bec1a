//! What the key use cases accept, validated: a new key, changes to one, a verification. Each
//! family's requests parse into these, under the same limits.

use chrono::{DateTime, Utc};
use ipnet::IpNet;

use super::{
    limit::{MAX_LIMIT, RateLimit, RateWindow},
    model::{KeyKind, KeyPurpose},
};
use crate::{error::FieldError, role::Role, validate};

/// Longest key name.
pub const MAX_NAME: usize = 100;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 500;
/// Longest revocation reason.
pub const MAX_REASON: usize = 500;
/// Most permissions on one key.
pub const MAX_PERMISSIONS: usize = 50;
/// Longest permission string.
pub const MAX_PERMISSION_LEN: usize = 100;
/// Highest (and default) `rate_limit_per_hour`.
pub const MAX_RATE_LIMIT_PER_HOUR: i64 = 1000;
/// Longest rotation grace period, in days.
pub const MAX_GRACE_DAYS: i64 = 90;
/// Default rotation grace period, in days.
pub const DEFAULT_GRACE_DAYS: i64 = 7;
/// Default look-ahead of the expiring list, in days.
pub const DEFAULT_EXPIRING_DAYS: i64 = 30;

/// Longest key accepted for checking; anything longer is no key of ours (`NOT_FOUND`).
pub const MAX_PRESENTED_KEY: usize = 512;
/// Longest `device_id`.
pub const MAX_DEVICE_ID: usize = 128;
/// Most tags on one verification.
pub const MAX_TAGS: usize = 20;
/// Longest tag.
pub const MAX_TAG: usize = 64;

/// A validated create request.
#[derive(Clone, Debug, PartialEq)]
pub struct NewKeySpec {
    /// Name (default `Default`).
    pub name: String,
    /// Permissions, deduplicated.
    pub permissions: Vec<String>,
    /// Read-only flag; `None` when the request did not say (the owner's role and an acting
    /// key decide: see [`crate::keys::ceiling`]).
    pub read_only: Option<bool>,
    /// Optional description.
    pub description: Option<String>,
    /// Optional future expiry; `None` for none, or, made by a key, the key's own.
    pub expires_at: Option<DateTime<Utc>>,
    /// The key's limit, `Some(None)` for no limit; `None` when the request did not say (the
    /// default, or an acting key's own).
    pub rate_limit: Option<Option<RateLimit>>,
    /// Allowed networks; empty means anywhere.
    pub allowed_ips: Vec<IpNet>,
    /// What it is for.
    pub purpose: KeyPurpose,
}

impl NewKeySpec {
    /// A key named `name` with every other setting unsaid or at its default: no permissions,
    /// read-only and rate limit as the caller's ceiling settles them, no description or
    /// expiry, usable from anywhere.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            permissions: Vec::new(),
            read_only: None,
            description: None,
            expires_at: None,
            rate_limit: None,
            allowed_ips: Vec::new(),
            purpose: KeyPurpose::default(),
        }
    }
}

/// A validated update: `None` leaves a setting as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyChanges {
    /// New name.
    pub name: Option<String>,
    /// New permissions.
    pub permissions: Option<Vec<String>>,
    /// New on/off switch.
    pub is_active: Option<bool>,
    /// New limit; `Some(None)` removes it.
    pub rate_limit: Option<Option<RateLimit>>,
    /// New read-only flag.
    pub read_only: Option<bool>,
    /// New description; `Some(None)` clears it.
    pub description: Option<Option<String>>,
    /// New networks.
    pub allowed_ips: Option<Vec<IpNet>>,
    /// New expiry; `Some(None)` clears it.
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// New role (a viewer's key is read-only, any other's not).
    pub role: Option<Role>,
    /// New type.
    pub kind: Option<KeyKind>,
    /// New system-generated flag.
    pub system_generated: Option<bool>,
    /// New MCP deployment; `Some(None)` clears it.
    pub mcp_deployment_id: Option<Option<String>>,
    /// New endpoint; `Some(None)` clears it.
    pub endpoint_id: Option<Option<String>>,
}

/// A validated verify request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifySpec {
    /// The presented key (possibly malformed: that is an outcome, not a 400).
    pub key: String,
    /// The paired secret presented with it.
    pub secret: Option<String>,
    /// Permissions the key must all hold.
    pub permissions: Vec<String>,
    /// The end client's device.
    pub device_id: Option<String>,
    /// Tags to record with the usage event.
    pub tags: Vec<String>,
    /// The end client's address, when the caller is a proxy.
    pub ip: Option<std::net::IpAddr>,
}

/// Permission strings, each 1 to 100 letters, digits and `_ : . * / -`, at most 50,
/// deduplicated in order.
pub fn permissions(raw: &[String]) -> Result<Vec<String>, Vec<FieldError>> {
    if raw.len() > MAX_PERMISSIONS {
        return Err(vec![FieldError::new(
            "permissions",
            format!("must hold at most {MAX_PERMISSIONS} entries"),
        )]);
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let ok = (1..=MAX_PERMISSION_LEN).contains(&p.len())
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_:.*/-".contains(&b));
        if !ok {
            errors.push(FieldError::new(
                format!("permissions[{i}]"),
                format!(
                    "must be 1 to {MAX_PERMISSION_LEN} characters of letters, digits and _ : . * / -"
                ),
            ));
        } else if !out.contains(p) {
            out.push(p.clone());
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A key's limit when nothing says otherwise: 1,000 an hour.
pub fn default_rate_limit() -> RateLimit {
    RateLimit::hourly(MAX_RATE_LIMIT_PER_HOUR as u32).expect("in range")
}

/// spatialflow's `rate_limit_per_hour`: 1..=1000 an hour.
pub fn rate_limit_per_hour(raw: i64) -> Result<RateLimit, FieldError> {
    let limit = validate::in_range("rate_limit_per_hour", raw, 1, MAX_RATE_LIMIT_PER_HOUR)?;
    Ok(RateLimit::hourly(limit as u32).expect("in range"))
}

/// Latchkey's own `rate_limit`: 1..=10,000,000 requests per window, the window named as the
/// contract names it, exact or within the credit bound.
pub fn rate_limit(limit: i64, window: &str, exact: bool) -> Result<RateLimit, Vec<FieldError>> {
    let mut errors = Vec::new();
    let limit = validate::in_range("rate_limit.limit", limit, 1, i64::from(MAX_LIMIT))
        .map_err(|e| errors.push(e))
        .ok();
    let window = RateWindow::parse(window);
    if window.is_none() {
        errors.push(FieldError::new(
            "rate_limit.window",
            "must be one of second, minute, hour, day",
        ));
    }
    match (limit, window) {
        (Some(limit), Some(window)) => Ok(RateLimit::new(limit as u32, window)
            .expect("in range")
            .exact(exact)),
        _ => Err(errors),
    }
}
