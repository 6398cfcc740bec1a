//! Response bodies of the API-keys family, exactly as CONTRACT.md names their fields.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use latchkey_core::keys::{
    limit::RateLimit,
    model::{ApiKey, DailyUsage, KeyStatus},
    ratelimit::RateStatus,
    secret::PlainKey,
    service::KeyStats,
    verify::Verification,
};
use latchkey_core::outcome::VerifyCode;
use latchkey_core::{ids::KeyId, timestamp::serde_rfc3339, validate::format_network};

/// ApiKeyResponse: never carries the secret or its hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyResponse {
    id: KeyId,
    /// Unique in the workspace, given at creation and never reused (spartera's `api_key_id`).
    number: u64,
    name: String,
    key_prefix: String,
    permissions: Vec<String>,
    is_active: bool,
    usage_count: u64,
    /// The key's limit in requests per hour (its own `rate_limit` at the same rate, rounded up,
    /// saturating at 2^31-1; 2^31-1 when it has none).
    rate_limit_per_hour: u32,
    /// The key's limit as set, or null for none.
    rate_limit: Option<RateLimitView>,
    #[serde(with = "serde_rfc3339::option")]
    last_used_at: Option<DateTime<Utc>>,
    #[serde(with = "serde_rfc3339")]
    created_at: DateTime<Utc>,
    read_only: bool,
    description: Option<String>,
    workspace_id: String,
    #[serde(with = "serde_rfc3339::option")]
    expires_at: Option<DateTime<Utc>>,
    status: KeyStatus,
    masked_key: String,
    allowed_ips: Vec<String>,
    #[serde(with = "serde_rfc3339::option")]
    revoked_at: Option<DateTime<Utc>>,
    revocation_reason: Option<String>,
    rotated_to: Option<KeyId>,
    rotated_from: Option<KeyId>,
}

impl ApiKeyResponse {
    /// The public view of `key` at `now`.
    pub fn new(key: &ApiKey, now: DateTime<Utc>) -> Self {
        debug_assert!(key.number.is_some(), "every key read is numbered");
        Self {
            id: key.id,
            number: key.number.unwrap_or_default(),
            name: key.name.clone(),
            key_prefix: key.key_prefix.clone(),
            permissions: key.permissions.clone(),
            is_active: key.is_active,
            usage_count: key.usage_count,
            rate_limit_per_hour: key.rate_limit.map_or(i32::MAX as u32, RateLimit::per_hour),
            rate_limit: key.rate_limit.map(RateLimitView::from),
            last_used_at: key.last_used_at,
            created_at: key.created_at,
            read_only: key.read_only,
            description: key.description.clone(),
            workspace_id: key.workspace_id.to_string(),
            expires_at: key.expires_at,
            status: key.status(now),
            masked_key: key.masked_key.clone(),
            allowed_ips: key.allowed_ips.iter().map(format_network).collect(),
            revoked_at: key.revoked_at,
            revocation_reason: key.revocation_reason.clone(),
            rotated_to: key.rotated_to,
            rotated_from: key.rotated_from,
        }
    }
}

/// At most `limit` requests per `window`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RateLimitView {
    limit: u32,
    #[schema(value_type = super::input::RateWindowName)]
    window: &'static str,
    /// Whether no window ever admits more than `limit` (otherwise: within the credit bound).
    exact: bool,
}

impl From<RateLimit> for RateLimitView {
    fn from(rule: RateLimit) -> Self {
        Self {
            limit: rule.limit(),
            window: rule.window().as_str(),
            exact: rule.is_exact(),
        }
    }
}

/// ApiKeyDetailSchema: the only body that ever holds the full secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyDetail {
    id: KeyId,
    /// Unique in the workspace, given at creation and never reused.
    number: u64,
    name: String,
    api_key: String,
    #[serde(with = "serde_rfc3339")]
    created_at: DateTime<Utc>,
    read_only: bool,
    description: Option<String>,
    permissions: Vec<String>,
}

/// ApiKeyCreateResponse.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyCreateResponse {
    message: &'static str,
    api_key: ApiKeyDetail,
}

impl ApiKeyCreateResponse {
    /// The one-time response carrying `plain`, the secret of `key`.
    pub fn new(message: &'static str, key: &ApiKey, plain: &PlainKey) -> Self {
        Self {
            message,
            api_key: ApiKeyDetail {
                id: key.id,
                number: key.number.unwrap_or_default(),
                name: key.name.clone(),
                api_key: plain.expose().to_owned(),
                created_at: key.created_at,
                read_only: key.read_only,
                description: key.description.clone(),
                permissions: key.permissions.clone(),
            },
        }
    }
}

/// ExpiringKey.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExpiringKey {
    id: KeyId,
    name: String,
    key_prefix: String,
    #[serde(with = "serde_rfc3339")]
    expires_at: DateTime<Utc>,
    days_until_expiry: i64,
}

impl ExpiringKey {
    /// The expiring-list entry of `key`, which must have an expiry.
    pub fn new(key: &ApiKey, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        Self {
            id: key.id,
            name: key.name.clone(),
            key_prefix: key.key_prefix.clone(),
            expires_at,
            days_until_expiry: (expires_at - now).num_days(),
        }
    }
}

/// One day of ApiKeyStats.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = DailyUsage)]
pub struct DailyUsageBody {
    /// The UTC day.
    date: NaiveDate,
    /// Successful verifications that day.
    success: u64,
    /// Failed verifications that day.
    failed: u64,
}

impl From<DailyUsage> for DailyUsageBody {
    fn from(day: DailyUsage) -> Self {
        Self {
            date: day.date,
            success: day.success,
            failed: day.failed,
        }
    }
}

/// ApiKeyStats.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyStats {
    id: KeyId,
    usage_count: u64,
    #[serde(with = "serde_rfc3339::option")]
    last_used_at: Option<DateTime<Utc>>,
    failed_attempts: u64,
    #[serde(with = "serde_rfc3339::option")]
    last_failed_at: Option<DateTime<Utc>>,
    daily: Vec<DailyUsageBody>,
}

impl From<KeyStats> for ApiKeyStats {
    fn from(stats: KeyStats) -> Self {
        let key = stats.key;
        Self {
            id: key.id,
            usage_count: key.usage_count,
            last_used_at: key.last_used_at,
            failed_attempts: key.failed_attempts,
            last_failed_at: key.last_failed_at,
            daily: stats.daily.into_iter().map(DailyUsageBody::from).collect(),
        }
    }
}

/// `{"message", "id"}`: what a delete or a mark-as-read answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageWithId {
    /// Message.
    pub message: &'static str,
    /// The resource's id.
    pub id: uuid::Uuid,
}

/// `{"message", "api_key"}` of an update.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UpdatedKey {
    /// Message.
    pub message: &'static str,
    /// The key after the update.
    pub api_key: ApiKeyResponse,
}

/// `{"id", "expires_at", "message"}` of a set-expiration: every value a string or null.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExpirationSet {
    /// The key's id.
    pub id: String,
    /// New expiry, or null.
    pub expires_at: Option<String>,
    /// Message.
    pub message: &'static str,
}

/// VerifyResponse: always 200; the key's details only when the presented secret is the key's.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifyResponse {
    valid: bool,
    code: VerifyCode,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = VerifiedKey)]
    key: Option<VerifiedKey>,
}

/// The key's details in a VerifyResponse: present only when the presented secret is the key's.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct VerifiedKey {
    /// The key's id.
    #[schema(required = false)]
    key_id: KeyId,
    /// The key's workspace.
    #[schema(required = false)]
    workspace_id: String,
    /// The user the key acts for.
    #[schema(required = false)]
    owner_id: String,
    /// The key's permissions.
    #[schema(required = false)]
    permissions: Vec<String>,
    /// Whether the key is read-only.
    #[schema(required = false)]
    read_only: bool,
    /// The key's expiry, or null.
    #[serde(with = "serde_rfc3339::option")]
    #[schema(required = false)]
    expires_at: Option<DateTime<Utc>>,
    /// Null when verification stopped before the rate limit (the window was not consulted).
    #[schema(required = false)]
    ratelimit: Option<RateStatus>,
}

impl From<&Verification> for VerifyResponse {
    fn from(v: &Verification) -> Self {
        Self {
            valid: v.code == VerifyCode::Valid,
            code: v.code,
            key: v.key.as_ref().map(|k| VerifiedKey {
                key_id: k.id,
                workspace_id: k.workspace_id.to_string(),
                owner_id: k.owner_id.to_string(),
                permissions: k.permissions.clone(),
                read_only: k.read_only,
                expires_at: k.expires_at,
                ratelimit: v.rate,
            }),
        }
    }
}
