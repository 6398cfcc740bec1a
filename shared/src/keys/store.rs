//! The storage port of the key aggregate.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::{model::ApiKey, model::DailyUsage};
use crate::{
    ids::{KeyId, UserId, WorkspaceId},
    store::StoreError,
};

/// Reads and writes API keys. Every write that could race is conditional on the key's version.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// One key by id (a single strongly consistent read).
    async fn get(&self, id: KeyId) -> Result<Option<ApiKey>, StoreError>;
    /// Every key of `owner`, newest first.
    async fn list_by_owner(&self, owner: &UserId) -> Result<Vec<ApiKey>, StoreError>;
    /// Every key made in `workspace`, newest first.
    async fn list_by_workspace(&self, workspace: &WorkspaceId) -> Result<Vec<ApiKey>, StoreError>;
    /// Stores a new key; fails with `Conflict` if the id exists.
    async fn insert(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// Replaces a key's settings if its stored version is still `key.version - 1`.
    async fn update(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// Atomically updates `old` (version-checked like [`KeyStore::update`]) and inserts `new`:
    /// either both happen or neither.
    async fn rotate(&self, old: &ApiKey, new: &ApiKey) -> Result<(), StoreError>;
    /// Replaces the key's secret hash with `new` if it is still `old` (a hash upgrade after a
    /// successful verification: not a settings change, so the version stays); `Conflict` when the
    /// hash changed meanwhile (the secret was regenerated).
    async fn rehash(&self, id: KeyId, old: &str, new: &str) -> Result<(), StoreError>;
    /// Deletes a key if it is still at `version`.
    async fn delete(&self, id: KeyId, version: u64) -> Result<(), StoreError>;
    /// Recorded daily counters of a key from `since` (inclusive) on.
    async fn daily_usage(&self, id: KeyId, since: NaiveDate)
    -> Result<Vec<DailyUsage>, StoreError>;
}
