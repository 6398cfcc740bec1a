//! An in-memory [`KeyStore`] with the DynamoDB adapter's semantics (a new key may not overwrite
//! one, writes are conditional on the stored version, a rotation writes both keys or neither),
//! so the key use cases have fast unit tests. The DynamoDB adapter's own behaviour is tested
//! against DynamoDB Local (`tests/it/dynamodb_keys.rs`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use chrono::NaiveDate;

use super::MemoryAuditStore;
use crate::audit::AuditEvent;
use crate::keys::{
    model::ApiKey,
    model::DailyUsage,
    store::{ChangeCursor, KeyStore},
};
use crate::{
    ids::{KeyId, UserId, WorkspaceId},
    store::StoreError,
};

/// Keys in memory.
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    keys: Mutex<HashMap<KeyId, ApiKey>>,
    /// Usage counted onto the keys ([`Self::count_usage`]), per key and day.
    daily: Mutex<HashMap<(KeyId, NaiveDate), DailyUsage>>,
    numbers: Mutex<Numbers>,
    /// The key-change feed: changed keys in the order they changed (a cursor is an index).
    changes: Mutex<Vec<KeyId>>,
    /// The audit log each change's event joins, in the same step.
    audit: Arc<MemoryAuditStore>,
}

/// Each workspace's last key number, and which key each number names.
#[derive(Debug, Default)]
struct Numbers {
    last: HashMap<WorkspaceId, u64>,
    keys: HashMap<(WorkspaceId, u64), KeyId>,
}

impl Numbers {
    /// The next number of `workspace`.
    fn reserve(&mut self, workspace: &WorkspaceId) -> u64 {
        let last = self.last.entry(workspace.clone()).or_default();
        *last += 1;
        *last
    }

    /// `key`'s reserved number, or the next of its workspace, recorded as naming `key`.
    fn give(&mut self, key: &ApiKey) -> u64 {
        let number = key
            .number
            .unwrap_or_else(|| self.reserve(&key.workspace_id));
        self.keys.insert((key.workspace_id.clone(), number), key.id);
        number
    }
}

impl MemoryKeyStore {
    /// Keys whose changes' events join `audit`.
    pub fn recording_to(audit: Arc<MemoryAuditStore>) -> Self {
        Self {
            audit,
            ..Self::default()
        }
    }

    /// Counts `tally` onto the key `key` names, as the DynamoDB usage sink does on the key's
    /// item: its counters, last uses and the day's counters. A key gone is left alone.
    pub fn count_usage(&self, key: &crate::usage::TallyKey, tally: &crate::usage::Tally) {
        if let Some(stored) = self.keys.lock().expect("lock").get_mut(&key.key_id) {
            stored.usage_count += tally.success;
            stored.failed_attempts += tally.failed;
            stored.last_used_at = stored.last_used_at.max(tally.last_used_at);
            stored.last_failed_at = stored.last_failed_at.max(tally.last_failed_at);
        } else {
            return;
        }
        let mut daily = self.daily.lock().expect("lock");
        let day = daily
            .entry((key.key_id, key.day))
            .or_insert_with(|| DailyUsage {
                date: key.day,
                success: 0,
                failed: 0,
            });
        day.success += tally.success;
        day.failed += tally.failed;
    }

    /// Every key stored.
    pub fn all(&self) -> Vec<ApiKey> {
        self.keys.lock().expect("lock").values().cloned().collect()
    }

    /// Stores a key as it is, number or none: a key stored before numbers existed.
    pub fn put_unnumbered(&self, key: ApiKey) {
        self.keys.lock().expect("lock").insert(key.id, key);
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

    /// Records that key `id` changed, for the feed.
    fn changed(&self, id: KeyId) {
        self.changes.lock().expect("lock").push(id);
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
    fn audit_log(&self) -> Arc<dyn crate::audit::store::AuditStore> {
        self.audit.clone()
    }

    async fn get(&self, id: KeyId) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.keys.lock().expect("lock").get(&id).cloned())
    }

    async fn list_by_owner(&self, owner: &UserId) -> Result<Vec<ApiKey>, StoreError> {
        Ok(self.newest_first(|k| &k.owner_id == owner))
    }

    async fn list_by_workspace(&self, workspace: &WorkspaceId) -> Result<Vec<ApiKey>, StoreError> {
        Ok(self.newest_first(|k| &k.workspace_id == workspace))
    }

    async fn reserve_number(&self, workspace: &WorkspaceId) -> Result<u64, StoreError> {
        Ok(self.numbers.lock().expect("lock").reserve(workspace))
    }

    async fn insert(&self, key: &ApiKey, event: &AuditEvent) -> Result<ApiKey, StoreError> {
        let mut keys = self.keys.lock().expect("lock");
        if keys.contains_key(&key.id) {
            return Err(StoreError::Conflict);
        }
        self.audit.append_checked(event)?;
        let number = self.numbers.lock().expect("lock").give(key);
        let key = ApiKey {
            number: Some(number),
            ..key.clone()
        };
        keys.insert(key.id, key.clone());
        Ok(key)
    }

    async fn update(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().expect("lock");
        Self::check_version(&keys, key.id, key.version.saturating_sub(1))?;
        self.audit.append_checked(event)?;
        self.changed(key.id);
        let number = key.number.or(keys.get(&key.id).and_then(|k| k.number));
        keys.insert(
            key.id,
            ApiKey {
                number,
                ..key.clone()
            },
        );
        Ok(())
    }

    async fn rotate(
        &self,
        old: &ApiKey,
        new: &ApiKey,
        event: &AuditEvent,
    ) -> Result<ApiKey, StoreError> {
        let mut keys = self.keys.lock().expect("lock");
        Self::check_version(&keys, old.id, old.version.saturating_sub(1))?;
        if keys.contains_key(&new.id) {
            return Err(StoreError::Conflict);
        }
        self.audit.append_checked(event)?;
        let number = self.numbers.lock().expect("lock").give(new);
        let new = ApiKey {
            number: Some(number),
            ..new.clone()
        };
        self.changed(old.id);
        keys.insert(old.id, old.clone());
        keys.insert(new.id, new.clone());
        Ok(new)
    }

    async fn number(&self, key: &ApiKey) -> Result<u64, StoreError> {
        let mut keys = self.keys.lock().expect("lock");
        let stored = keys.get_mut(&key.id).ok_or(StoreError::Conflict)?;
        if let Some(number) = stored.number {
            return Ok(number);
        }
        let number = self.numbers.lock().expect("lock").give(stored);
        stored.number = Some(number);
        Ok(number)
    }

    async fn find_number(
        &self,
        workspace: &WorkspaceId,
        number: u64,
    ) -> Result<Option<KeyId>, StoreError> {
        let numbers = self.numbers.lock().expect("lock");
        Ok(numbers.keys.get(&(workspace.clone(), number)).copied())
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

    async fn delete(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().expect("lock");
        Self::check_version(&keys, key.id, key.version)?;
        self.audit.append_checked(event)?;
        self.changed(key.id);
        keys.remove(&key.id);
        if let Some(number) = key.number {
            let mut numbers = self.numbers.lock().expect("lock");
            numbers.keys.remove(&(key.workspace_id.clone(), number));
        }
        Ok(())
    }

    fn change_cursor(&self) -> ChangeCursor {
        ChangeCursor {
            position: self.changes.lock().expect("lock").len() as i64,
            seen: Vec::new(),
        }
    }

    async fn changes_after(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<KeyId>, ChangeCursor), StoreError> {
        let changes = self.changes.lock().expect("lock");
        let from = usize::try_from(cursor.position)
            .unwrap_or(0)
            .min(changes.len());
        let next = ChangeCursor {
            position: changes.len() as i64,
            seen: Vec::new(),
        };
        Ok((changes[from..].to_vec(), next))
    }

    /// The days [`Self::count_usage`] counted.
    async fn daily_usage(
        &self,
        id: KeyId,
        since: NaiveDate,
    ) -> Result<Vec<DailyUsage>, StoreError> {
        let daily = self.daily.lock().expect("lock");
        let mut days: Vec<DailyUsage> = daily
            .iter()
            .filter(|((key, day), _)| *key == id && *day >= since)
            .map(|(_, usage)| *usage)
            .collect();
        days.sort_by_key(|d| d.date);
        Ok(days)
    }
}
