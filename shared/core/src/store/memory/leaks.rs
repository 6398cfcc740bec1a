//! The in-memory adapters of [`LeakStore`] and [`AddressGate`], with the DynamoDB adapters'
//! conditions.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemoryAuditStore;
use crate::{
    audit::AuditEvent,
    ids::WorkspaceId,
    leaks::{
        SecuritySettings,
        store::{AddressGate, LeakStore},
    },
    store::StoreError,
};

/// Security settings in memory.
#[derive(Debug)]
pub struct MemoryLeakStore {
    settings: Mutex<HashMap<WorkspaceId, SecuritySettings>>,
    audit: Arc<MemoryAuditStore>,
}

impl MemoryLeakStore {
    /// A store whose changes' events join `audit`.
    pub fn recording_to(audit: Arc<MemoryAuditStore>) -> Self {
        Self {
            settings: Mutex::default(),
            audit,
        }
    }
}

#[async_trait]
impl LeakStore for MemoryLeakStore {
    async fn settings(
        &self,
        workspace: &WorkspaceId,
    ) -> Result<Option<SecuritySettings>, StoreError> {
        Ok(self.settings.lock().expect("lock").get(workspace).cloned())
    }

    async fn put_settings(
        &self,
        workspace: &WorkspaceId,
        settings: &SecuritySettings,
        expected: u64,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut stored = self.settings.lock().expect("lock");
        if stored.get(workspace).map_or(0, |s| s.version) != expected {
            return Err(StoreError::Conflict);
        }
        self.audit.append_checked(event)?;
        stored.insert(workspace.clone(), settings.clone());
        Ok(())
    }
}

/// Per-address windows in memory.
#[derive(Debug, Default)]
pub struct MemoryAddressGate {
    admitted: Mutex<HashMap<(String, DateTime<Utc>), u32>>,
}

#[async_trait]
impl AddressGate for MemoryAddressGate {
    async fn admit(
        &self,
        address: &str,
        window_start: DateTime<Utc>,
        _window_seconds: i64,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let mut admitted = self.admitted.lock().expect("lock");
        let count = admitted
            .entry((address.to_owned(), window_start))
            .or_default();
        if *count >= limit {
            return Ok(false);
        }
        *count += 1;
        Ok(true)
    }
}
