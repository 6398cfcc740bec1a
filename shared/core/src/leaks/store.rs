//! The storage ports of the leak response: a workspace's security settings, and the per-address
//! budget of the public revocation endpoint.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::policy::SecuritySettings;
use crate::{audit::AuditEvent, ids::WorkspaceId, store_error::StoreError};

/// Where security settings are kept.
#[async_trait]
pub trait LeakStore: Send + Sync {
    /// The settings of `workspace`, when they were ever set.
    async fn settings(
        &self,
        workspace: &WorkspaceId,
    ) -> Result<Option<SecuritySettings>, StoreError>;
    /// Stores `settings` if the stored ones are still at version `expected` (0: none stored),
    /// with `event` in the same transaction; `Conflict` otherwise.
    async fn put_settings(
        &self,
        workspace: &WorkspaceId,
        settings: &SecuritySettings,
        expected: u64,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
}

/// Counts requests per client address and window, across every instance of a function.
#[async_trait]
pub trait AddressGate: Send + Sync {
    /// Admits one request of `address` in the window that began at `window_start` (and lasts
    /// `window_seconds`) if fewer than `limit` were admitted in it; `false` when the window is
    /// spent.
    async fn admit(
        &self,
        address: &str,
        window_start: DateTime<Utc>,
        window_seconds: i64,
        limit: u32,
    ) -> Result<bool, StoreError>;
}
