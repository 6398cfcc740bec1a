//! Answers of the cartovista family (camelCase), built from domain values.

use chrono::{DateTime, Utc};
use serde::Serialize;

use latchkey_core::{
    ids::KeyId,
    keys::{model::ApiKey, secret::PlainKey},
    timestamp::serde_rfc3339,
    validate::format_network,
};

/// AccessKeyDTO: a key as cartovista shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CartovistaAccessKey)]
pub struct AccessKeyDto {
    /// The key's id.
    access_key: KeyId,
    /// The whole key at creation; masked (`sk_****1234`) ever after.
    access_key_string: String,
    /// Always null: a paired secret is shown only by `generateSecret`.
    secret_key: Option<String>,
    /// Whether the key has a paired secret (which must then accompany it).
    has_access_key: bool,
    /// 0 read-write, 1 read-only.
    mode: u8,
    /// The owner's on/off switch.
    enabled: bool,
    /// The key's owner.
    user_id: String,
    /// The tenant (workspace).
    tenant_id: String,
    /// Creation time.
    #[serde(with = "serde_rfc3339")]
    creation_time: DateTime<Utc>,
    /// Last successful use, or null.
    #[serde(with = "serde_rfc3339::option")]
    last_used_time: Option<DateTime<Utc>>,
    /// Networks the key may be used from; empty: anywhere.
    ip_whitelisting: Vec<String>,
    /// Free text, or null.
    notes: Option<String>,
}

impl AccessKeyDto {
    /// `key` as cartovista shows it, whole when it was just made.
    pub fn new(key: &ApiKey, plain: Option<&PlainKey>) -> Self {
        Self {
            access_key: key.id,
            access_key_string: plain
                .map_or_else(|| key.masked_key.clone(), |p| p.expose().to_owned()),
            secret_key: None,
            has_access_key: key.paired_secret_hash.is_some(),
            mode: u8::from(key.read_only),
            enabled: key.is_active,
            user_id: key.owner_id.to_string(),
            tenant_id: key.workspace_id.to_string(),
            creation_time: key.created_at,
            last_used_time: key.last_used_at,
            ip_whitelisting: key.allowed_ips.iter().map(format_network).collect(),
            notes: key.description.clone(),
        }
    }
}
