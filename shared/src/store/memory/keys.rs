//! An in-memory [`KeyStore`] with the DynamoDB adapter's semantics (a new key may not overwrite
//! one, writes are conditional on the stored version, a rotation writes both keys or neither),
//! so the key use cases have fast unit tests. The DynamoDB adapter's own behaviour is tested
//! against DynamoDB Local (`tests/it/dynamodb_keys.rs`).

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::keys::{model::ApiKey, model::DailyUsage, store::KeyStore};
use crate::{
    ids::{KeyId, UserId, WorkspaceId},
    store::StoreError,
};

/// Keys in memory.
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    keys: Mutex<HashMap<KeyId, ApiKey>>,
}

impl MemoryKeyStore {
    /// Every key stored.
    pub fn all(&self) -> Vec<ApiKey> {
        self.keys.lock().expect("lock").values().cloned().collect()
    }

    fn check_version(
        keys: &HashMap<KeyId, ApiKey>,
        id: KeyId,
        expected: u64,
    ) -> Result<(), StoreError> {
        match keys.get(&id) {
            Some(stored) if stored.version == expected => Ok(()),
            _ => Err(StoreError::Conflict),
        }
    }
}

impl MemoryKeyStore {
    /// The keys `keep` admits, newest first (ties by id, as the indexes' sort keys order them).
    fn newest_first(&self, keep: impl Fn(&ApiKey) -> bool) -> Vec<ApiKey> {
        let mut keys: Vec<ApiKey> = self
            .keys
            .lock()
            .expect("lock")
            .values()
            .filter(|k| keep(k))
            .cloned()
            .collect();
        keys.sort_by(|a, b| {
            (b.created_at, b.id.to_string()).cmp(&(a.created_at, a.id.to_string()))
        });
        keys
    }
}

#[async_trait]
impl KeyStore for MemoryKeyStore {
    async fn get(&self, id: KeyId) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.keys.lock().expect("lock").get(&id).cloned())
    }

    async fn list_by_owner(&self, owner: &UserId) -> Result<Vec<ApiKey>, StoreError> {
        Ok(self.newest_first(|k| &k.owner_id == owner))
    }

    async fn list_by_workspace(&self, workspace: &WorkspaceId) -> Result<Vec<ApiKey>, StoreError> {
        Ok(self.newest_first(|k| &k.workspace_id == workspace))
    }

    async fn insert(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().expect("lock");
        if keys.contains_key(&key.id) {
            return Err(StoreError::Conflict);
        }
        keys.insert(key.id, key.clone());
        Ok(())
    }

    async fn update(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().expect("lock");
        Self::check_version(&keys, key.id, key.version.saturating_sub(1))?;
        keys.insert(key.id, key.clone());
        Ok(())
    }

    async fn rotate(&self, old: &ApiKey, new: &ApiKey) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().expect("lock");
        Self::check_version(&keys, old.id, old.version.saturating_sub(1))?;
        if keys.contains_key(&new.id) {
            return Err(StoreError::Conflict);
        }
        keys.insert(old.id, old.clone());
        keys.insert(new.id, new.clone());
        Ok(())
    }

    async fn rehash(&self, id: KeyId, old: &str, new: &str) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().expect("lock");
        match keys.get_mut(&id) {
            Some(key) if key.secret_hash == old => {
                key.secret_hash = new.to_owned();
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn delete(&self, id: KeyId, version: u64) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().expect("lock");
        Self::check_version(&keys, id, version)?;
        keys.remove(&id);
        Ok(())
    }

    /// Usage is counted by the usage sink, which this store does not stand in for: no days.
    async fn daily_usage(
        &self,
        _id: KeyId,
        _since: NaiveDate,
    ) -> Result<Vec<DailyUsage>, StoreError> {
        Ok(Vec::new())
    }
}
