//! The in-memory adapter of [`LifecycleStore`], over a [`MemoryKeyStore`]'s keys and a
//! [`MemoryNotificationStore`].

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::MemoryAuditStore;
use super::{MemoryKeyStore, MemoryNotificationStore};
use crate::{
    audit::AuditEvent,
    ids::{KeyId, UserId},
    keys::store::KeyStore,
    lifecycle::LifecycleStore,
    notifications::{Notification, NotificationStore},
    store::StoreError,
    transition::Transition,
};

/// Transition markers in memory: for each key and transition, the expiry it was done for.
#[derive(Debug)]
pub struct MemoryLifecycleStore {
    keys: Arc<MemoryKeyStore>,
    notifications: Arc<MemoryNotificationStore>,
    markers: Mutex<HashMap<(KeyId, Transition), DateTime<Utc>>>,
    audit: Arc<MemoryAuditStore>,
}

impl MemoryLifecycleStore {
    /// Markers on `keys`, notifying into `notifications`, recording to `audit`.
    pub fn new(
        keys: Arc<MemoryKeyStore>,
        notifications: Arc<MemoryNotificationStore>,
        audit: Arc<MemoryAuditStore>,
    ) -> Self {
        Self {
            keys,
            notifications,
            markers: Mutex::default(),
            audit,
        }
    }

    fn marked(&self, key: KeyId, transition: Transition) -> Option<DateTime<Utc>> {
        self.markers
            .lock()
            .expect("lock")
            .get(&(key, transition))
            .copied()
    }
}

#[async_trait]
impl LifecycleStore for MemoryLifecycleStore {
    async fn expiring_on(
        &self,
        day: NaiveDate,
        horizon: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, KeyId)>, StoreError> {
        let mut due: Vec<(DateTime<Utc>, KeyId)> = self
            .keys
            .all()
            .into_iter()
            .filter_map(|k| Some((k.expires_at?, k.id)))
            .filter(|(at, _)| at.date_naive() == day && *at <= horizon)
            .filter(|(at, id)| self.marked(*id, Transition::Expired) != Some(*at))
            .collect();
        due.sort_by_key(|(at, _)| *at);
        Ok(due)
    }

    async fn mark(
        &self,
        key_id: KeyId,
        expires_at: DateTime<Utc>,
        transition: Transition,
        owner: &UserId,
        notification: &Notification,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let current = self.keys.get(key_id).await?.and_then(|k| k.expires_at);
        if current != Some(expires_at) {
            return Ok(false);
        }
        {
            let mut markers = self.markers.lock().expect("lock");
            if markers.get(&(key_id, transition)) == Some(&expires_at) {
                return Ok(false);
            }
            if let Some(event) = event {
                self.audit.append_checked(event)?;
            }
            markers.insert((key_id, transition), expires_at);
        }
        self.notifications.insert(owner, notification).await?;
        Ok(true)
    }
}
