//! The in-memory adapter of [`ProfileStore`].

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    error::Error,
    ids::{UserId, WorkspaceId},
    profiles::{Member, NewProfile, Profile, ProfileChanges, ProfileStore, ProfileValue},
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
    async fn ensure(&self, profile: &NewProfile, at: DateTime<Utc>) -> Result<bool, Error> {
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
        .map_err(Error::internal)?;
        profiles.insert(profile.id.clone(), stored);
        Ok(true)
    }

    async fn get(&self, user: &UserId) -> Result<Option<Profile>, Error> {
        Ok(self.profiles.lock().expect("lock").get(user).cloned())
    }

    async fn update(
        &self,
        user: &UserId,
        changes: &ProfileChanges,
        at: DateTime<Utc>,
    ) -> Result<Profile, Error> {
        let mut profiles = self.profiles.lock().expect("lock");
        let profile = profiles
            .get(user)
            .ok_or_else(|| Error::NotFound("No profile for this user.".into()))?;
        let serde_json::Value::Object(mut fields) =
            serde_json::to_value(profile).map_err(Error::internal)?
        else {
            return Err(Error::internal(std::io::Error::other(
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
        let updated: Profile =
            serde_json::from_value(serde_json::Value::Object(fields)).map_err(Error::internal)?;
        profiles.insert(user.clone(), updated.clone());
        Ok(updated)
    }

    async fn members(&self, workspace: &WorkspaceId) -> Result<Vec<Member>, Error> {
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

    async fn erase(&self, user: &UserId) -> Result<(), Error> {
        self.profiles.lock().expect("lock").remove(user);
        Ok(())
    }
}
