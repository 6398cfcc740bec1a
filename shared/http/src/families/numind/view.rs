//! Answers of the numind family (camelCase), built from domain values.

use serde::Serialize;

use latchkey_core::{
    ids::KeyId,
    keys::{model::ApiKey, secret::PlainKey},
    timestamp,
};

/// A key as numind shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NumindKey {
    /// The key's id.
    id: KeyId,
    /// The organization (workspace) it was made in.
    organization: String,
    /// Display name.
    name: String,
    /// The whole key at creation; masked (`sk_****1234`) ever after.
    token: String,
    /// The key's owner.
    user_id: String,
    /// Creation time.
    #[schema(format = DateTime)]
    created_at: String,
    /// When the key stops working, or `""` when it does not expire.
    expires_at: String,
}

impl NumindKey {
    /// `key` as numind shows it, with its whole secret when it was just made.
    pub fn new(key: &ApiKey, plain: Option<&PlainKey>) -> Self {
        Self {
            id: key.id,
            organization: key.workspace_id.to_string(),
            name: key.name.clone(),
            token: plain.map_or_else(|| key.masked_key.clone(), |p| p.expose().to_owned()),
            user_id: key.owner_id.to_string(),
            created_at: timestamp::format(key.created_at),
            expires_at: key.expires_at.map(timestamp::format).unwrap_or_default(),
        }
    }
}
