//! The in-memory adapter of [`ProfileStore`].

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    ids::{UserId, WorkspaceId},
    profiles::{Member, NewProfile, Profile, ProfileChanges, ProfileStore, ProfileValue},
    store::StoreError,
};

/// Profiles in memory, with the DynamoDB adapter's semantics, for fast unit tests of the use
/// cases that read and write them (account deletion, issue reports).
#[derive(Debug, Default)]
pub struct MemoryProfileStore {
    profiles: std::sync::Mutex<HashMap<UserId, Profile>>,
}

impl MemoryProfileStore {
    fn value(value: &ProfileValue) -> serde_json::Value {
        match value {
            ProfileValue::Text(text) => serde_json::Value::String(text.clone()),
            ProfileValue::Flag(flag) => serde_json::Value::Bool(*flag),
        }
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
        at: DateTime<Utc>,
    ) -> Result<Option<Profile>, StoreError> {
        let mut profiles = self.profiles.lock().expect("lock");
        let Some(profile) = profiles.get(user) else {
            return Ok(None);
        };
        let serde_json::Value::Object(mut fields) =
            serde_json::to_value(profile).map_err(StoreError::backend)?
        else {
            return Err(StoreError::backend(std::io::Error::other(
                "a profile did not serialize as an object",
            )));
        };
        for (field, value) in &changes.set {
            match value {
                Some(value) => fields.insert((*field).to_owned(), Self::value(value)),
                None => fields.remove(*field),
            };
        }
        fields.insert("updated_at".into(), crate::timestamp::format(at).into());
        let updated: Profile = serde_json::from_value(serde_json::Value::Object(fields))
            .map_err(StoreError::backend)?;
        profiles.insert(user.clone(), updated.clone());
        Ok(Some(updated))
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

    async fn erase(&self, user: &UserId) -> Result<(), StoreError> {
        self.profiles.lock().expect("lock").remove(user);
        Ok(())
    }
}
