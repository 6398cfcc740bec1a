//! The storage port of the key aggregate.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::{model::ApiKey, model::DailyUsage};
use crate::{
    audit::{AuditEvent, store::AuditStore},
    ids::{KeyId, UserId, WorkspaceId},
    store_error::StoreError,
};

/// Where a reader of the feed has read to. Opaque to the domain: only the store that made it
/// reads its fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeCursor {
    /// The store's position (a sequence number, or the time the last read began).
    pub position: i64,
    /// Changes the last read returned that the next may return again (by their ids in the store).
    pub seen: Vec<String>,
}

/// Reads and writes API keys. Every write that could race is conditional on the key's version.
/// Every update and deletion of a key is recorded in the key-change feed in the same write
/// ([`super::changes`]). Every change of a key writes its audit event in the same transaction,
/// conditional on the workspace's chain head being the one the event extends (`Conflict` when
/// it is not: see [`crate::audit::store::AuditTrail::recording`]).
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The audit log this store's writes append their events to (in the same transaction).
    fn audit_log(&self) -> std::sync::Arc<dyn AuditStore>;
    /// One key by id (a single strongly consistent read).
    async fn get(&self, id: KeyId) -> Result<Option<ApiKey>, StoreError>;
    /// Every key of `owner`, newest first.
    async fn list_by_owner(&self, owner: &UserId) -> Result<Vec<ApiKey>, StoreError>;
    /// Every key made in `workspace`, newest first.
    async fn list_by_workspace(&self, workspace: &WorkspaceId) -> Result<Vec<ApiKey>, StoreError>;
    /// The next number of `workspace`, taken from its atomic counter for a key about to be
    /// stored: a number is never given twice, and a write retried (its audit event racing
    /// another) keeps the number it reserved.
    async fn reserve_number(&self, workspace: &WorkspaceId) -> Result<u64, StoreError>;
    /// Stores a new key under its reserved number (the next of its workspace when it has none;
    /// the number's lookup item is written in the same transaction as the key) and returns it as
    /// stored; `Conflict` if the id exists.
    async fn insert(&self, key: &ApiKey, event: &AuditEvent) -> Result<ApiKey, StoreError>;
    /// Replaces a key's settings if its stored version is still `key.version - 1`.
    async fn update(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError>;
    /// Atomically updates `old` (version-checked like [`KeyStore::update`]) and inserts `new`,
    /// numbered as [`KeyStore::insert`] numbers: either both happen or neither. Returns `new`
    /// as stored.
    async fn rotate(
        &self,
        old: &ApiKey,
        new: &ApiKey,
        event: &AuditEvent,
    ) -> Result<ApiKey, StoreError>;
    /// Gives a key stored before numbers existed the next number of its workspace, once: when
    /// it has one already (another request was first), that one.
    async fn number(&self, key: &ApiKey) -> Result<u64, StoreError>;
    /// The id of the key numbered `number` in `workspace`.
    async fn find_number(
        &self,
        workspace: &WorkspaceId,
        number: u64,
    ) -> Result<Option<KeyId>, StoreError>;
    /// Replaces the key's secret hash with `new` if it is still `old` (a hash upgrade after a
    /// successful verification: not a settings change, so the version stays); `Conflict` when the
    /// hash changed meanwhile (the secret was regenerated).
    async fn rehash(&self, id: KeyId, old: &str, new: &str) -> Result<(), StoreError>;
    /// Deletes a key, and its number's lookup item, if it is still at the version it was read at.
    async fn delete(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError>;
    /// A cursor at the feed's present: reading from it finds the changes made from now on.
    fn change_cursor(&self) -> ChangeCursor;
    /// The ids of the keys updated or deleted from `cursor` on (one may come twice), and the
    /// cursor to read from next. Every change that was written before the call began is in what
    /// it returns or in what an earlier read from the same line of cursors returned.
    async fn changes_after(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<KeyId>, ChangeCursor), StoreError>;
    /// Recorded daily counters of a key from `since` (inclusive) on.
    async fn daily_usage(&self, id: KeyId, since: NaiveDate)
    -> Result<Vec<DailyUsage>, StoreError>;
}
