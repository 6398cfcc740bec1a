//! The in-memory adapter of [`ProfileStore`].

use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemoryAuditStore;
use crate::{
    audit::AuditEvent,
    ids::{UserId, WorkspaceId},
    profiles::{Member, NewProfile, Profile, ProfileChanges, ProfileStore},
    store::StoreError,
};

/// Profiles in memory, with the DynamoDB adapter's semantics, for fast unit tests of the use
/// cases that read and write them (account deletion, issue reports).
#[derive(Debug, Default)]
pub struct MemoryProfileStore {
    profiles: std::sync::Mutex<HashMap<UserId, Profile>>,
    /// The audit log each change's event joins, in the same step.
    audit: Arc<MemoryAuditStore>,
}

impl MemoryProfileStore {
    /// Profiles whose changes' events join `audit`.
    pub fn recording_to(audit: Arc<MemoryAuditStore>) -> Self {
        Self {
            profiles: Default::default(),
            audit,
        }
    }

    /// The audit log its changes' events join.
    pub fn audit(&self) -> Arc<MemoryAuditStore> {
        self.audit.clone()
    }
}

#[async_trait]
impl ProfileStore for MemoryProfileStore {
    async fn ensure(&self, profile: &NewProfile, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut profiles = self.profiles.lock().expect("lock");
        if profiles.contains_key(&profile.id) {
            return Ok(false);
        }
        let now = crate::timestamp::format(at);
        let stored = serde_json::from_value(serde_json::json!({
            "id": profile.id, "email": profile.email, "name": profile.name,
            "role": profile.role, "workspace_role": profile.role,
            "workspace_id": profile.workspace_id, "created_at": now, "updated_at": now,
        }))
        .map_err(StoreError::backend)?;
        profiles.insert(profile.id.clone(), stored);
        Ok(true)
    }

    async fn get(&self, user: &UserId) -> Result<Option<Profile>, StoreError> {
        Ok(self.profiles.lock().expect("lock").get(user).cloned())
    }

    async fn update(
        &self,
        user: &UserId,
        changes: &ProfileChanges,
        seen: DateTime<Utc>,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<Profile, StoreError> {
        let mut profiles = self.profiles.lock().expect("lock");
        let profile = match profiles.get(user) {
            Some(profile) if profile.updated_at == seen => profile,
            _ => return Err(StoreError::Conflict),
        };
        let updated = changes.apply(profile, at).map_err(StoreError::backend)?;
        self.audit.append_checked(event)?;
        profiles.insert(user.clone(), updated.clone());
        Ok(updated)
    }

    async fn members(&self, workspace: &WorkspaceId) -> Result<Vec<Member>, StoreError> {
        Ok(self
            .profiles
            .lock()
            .expect("lock")
            .values()
            .filter(|p| &p.workspace_id == workspace)
            .map(|p| Member {
                user_id: p.id.clone(),
                role: p.role,
            })
            .collect())
    }

    async fn erase(&self, user: &UserId, event: &AuditEvent) -> Result<(), StoreError> {
        let mut profiles = self.profiles.lock().expect("lock");
        if profiles.contains_key(user) {
            self.audit.append_checked(event)?;
            profiles.remove(user);
        }
        Ok(())
    }
}
