//! The in-memory adapter of [`NotificationStore`].

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    ids::UserId,
    notifications::{Notification, NotificationStore, Page},
    store::StoreError,
};

/// Notifications in memory: per user, by id (UUIDv7 ids order by creation time).
#[derive(Debug, Default)]
pub struct MemoryNotificationStore {
    users: Mutex<HashMap<UserId, BTreeMap<Uuid, Notification>>>,
}

impl MemoryNotificationStore {
    /// Every notification of `user`, newest first.
    pub fn of(&self, user: &UserId) -> Vec<Notification> {
        self.users
            .lock()
            .expect("lock")
            .get(user)
            .map(|all| all.values().rev().cloned().collect())
            .unwrap_or_default()
    }
}

#[async_trait]
impl NotificationStore for MemoryNotificationStore {
    async fn insert(&self, user: &UserId, notification: &Notification) -> Result<(), StoreError> {
        self.users
            .lock()
            .expect("lock")
            .entry(user.clone())
            .or_default()
            .insert(notification.id, notification.clone());
        Ok(())
    }

    async fn page(
        &self,
        user: &UserId,
        page: &Page,
    ) -> Result<(Vec<Notification>, bool), StoreError> {
        let mut matching = self
            .of(user)
            .into_iter()
            .filter(|n| page.after.is_none_or(|after| n.id < after))
            .filter(|n| !page.unread_only || !n.is_read);
        let limit = usize::try_from(page.limit).unwrap_or(0);
        let found: Vec<Notification> = matching.by_ref().take(limit).collect();
        Ok((found, matching.next().is_some()))
    }

    async fn unread_count(&self, user: &UserId) -> Result<u64, StoreError> {
        Ok(self.of(user).iter().filter(|n| !n.is_read).count() as u64)
    }

    async fn mark_read(
        &self,
        user: &UserId,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Option<Notification>, StoreError> {
        let mut users = self.users.lock().expect("lock");
        let Some(notification) = users.get_mut(user).and_then(|all| all.get_mut(&id)) else {
            return Ok(None);
        };
        if !notification.is_read {
            notification.is_read = true;
            notification.read_at = Some(at);
        }
        Ok(Some(notification.clone()))
    }

    async fn mark_all_read(&self, user: &UserId, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut users = self.users.lock().expect("lock");
        let mut changed = 0;
        for notification in users
            .get_mut(user)
            .into_iter()
            .flat_map(|all| all.values_mut())
        {
            if !notification.is_read {
                notification.is_read = true;
                notification.read_at = Some(at);
                changed += 1;
            }
        }
        Ok(changed)
    }
}
