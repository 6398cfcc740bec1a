//! Notifications: created by the events of every family (rotation, revocation, expiry, erasure)
//! through [`Notifications::notify`], listed and marked read through the account API.
//!
//! Ids are UUIDv7, so they sort by creation time: newest first is the order of the ids.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store_error::StoreError;
use crate::{
    clock::Clock,
    error::Error,
    ids::{NotificationId, ResourceId, UserId},
    timestamp::serde_rfc3339,
};

/// Notification types Latchkey sends.
pub mod kinds {
    /// A key expires soon.
    pub const API_KEY_EXPIRING: &str = "api_key.expiring";
    /// A key expired.
    pub const API_KEY_EXPIRED: &str = "api_key.expired";
    /// A key was rotated.
    pub const API_KEY_ROTATED: &str = "api_key.rotated";
    /// A key was revoked.
    pub const API_KEY_REVOKED: &str = "api_key.revoked";
    /// An erasure job completed.
    pub const ERASURE_COMPLETED: &str = "privacy.erasure_completed";
    /// An erasure job failed.
    pub const ERASURE_FAILED: &str = "privacy.erasure_failed";
    /// A rotated key's grace period ended: the rotation is complete.
    pub const API_KEY_ROTATION_COMPLETED: &str = "api_key.rotation_completed";
    /// A member of the workspace reported an issue.
    pub const ISSUE_REPORTED: &str = "support.issue_reported";
    /// Latchkey disabled a webhook endpoint (a 410, or deliveries failing for days).
    pub const WEBHOOK_DISABLED: &str = "webhook.endpoint_disabled";
    /// A key was reported as leaked (and revoked, or left working, by the workspace's policy).
    pub const API_KEY_LEAKED: &str = "api_key.leaked";
}

/// Most notifications one page holds.
pub const MAX_LIMIT: i64 = 100;
/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;

/// A notification to create.
#[derive(Clone, Debug, PartialEq)]
pub struct NewNotification {
    /// One of [`kinds`].
    pub kind: &'static str,
    /// Short title.
    pub title: String,
    /// The sentence shown.
    pub message: String,
    /// Structured details (ids, times).
    pub data: serde_json::Value,
}

/// A notification, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// Type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Title.
    pub title: String,
    /// Message.
    pub message: String,
    /// Whether it was read.
    pub is_read: bool,
    /// Creation time.
    #[serde(with = "serde_rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When it was read.
    #[serde(with = "serde_rfc3339::option", default)]
    pub read_at: Option<DateTime<Utc>>,
    /// Details.
    #[serde(default)]
    pub data: serde_json::Value,
    /// Where the console shows the thing the notification is about.
    #[serde(default)]
    pub action_url: Option<String>,
    /// The link text for `action_url`.
    #[serde(default)]
    pub action_label: Option<String>,
}

/// The console page of what `data` names (a key, an erasure job), if any.
fn action(data: &serde_json::Value) -> (Option<String>, Option<String>) {
    let id = |name: &str| data.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    if let Some(key) = id("new_api_key_id").or_else(|| id("api_key_id")) {
        (
            Some(format!("/console/keys/{key}")),
            Some("View key".into()),
        )
    } else if let Some(job) = id("job_id") {
        (
            Some(format!("/console/privacy/{job}")),
            Some("View erasure job".into()),
        )
    } else if let Some(report) = id("issue_report_id") {
        (
            Some(format!("/console/issue-reports/{report}")),
            Some("View report".into()),
        )
    } else {
        (None, None)
    }
}

/// One page of a user's notifications.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationPage {
    /// Newest first.
    pub notifications: Vec<Notification>,
    /// Unread notifications in all pages.
    pub unread_count: u64,
    /// The last notification of this page, when more may follow: where the next page starts.
    pub next_after: Option<Uuid>,
}

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Only unread ones.
    pub unread_only: bool,
    /// Page size.
    pub limit: i32,
    /// Resume after this id.
    pub after: Option<Uuid>,
}

/// The storage port of notifications.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Stores a new notification of `user`.
    async fn insert(&self, user: &UserId, notification: &Notification) -> Result<(), StoreError>;
    /// Up to `page.limit` of `user`'s notifications (unread ones only if `page.unread_only`),
    /// newest first, starting after `page.after`; and whether more may follow.
    async fn page(
        &self,
        user: &UserId,
        page: &Page,
    ) -> Result<(Vec<Notification>, bool), StoreError>;
    /// How many of `user`'s notifications are unread.
    async fn unread_count(&self, user: &UserId) -> Result<u64, StoreError>;
    /// Marks one notification read as of `at` unless it already is (`read_at` keeps the first
    /// time); returns it as it now is, or `None` when `user` has no such notification.
    async fn mark_read(
        &self,
        user: &UserId,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Option<Notification>, StoreError>;
    /// Marks every unread notification of `user` read as of `at`; returns how many changed.
    async fn mark_all_read(&self, user: &UserId, at: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Creates, lists and marks notifications.
#[derive(Clone)]
pub struct Notifications {
    store: Arc<dyn NotificationStore>,
    clock: Arc<dyn Clock>,
}

impl Notifications {
    /// Notifications kept in `store`.
    pub fn new(store: Arc<dyn NotificationStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The notification `new` becomes now, for callers that store it in one transaction with
    /// another write (so it is sent exactly once).
    pub fn compose(&self, new: NewNotification) -> Notification {
        let (action_url, action_label) = action(&new.data);
        Notification {
            action_url,
            action_label,
            id: Uuid::now_v7(),
            kind: new.kind.to_owned(),
            title: new.title,
            message: new.message,
            is_read: false,
            created_at: self.clock.now(),
            read_at: None,
            data: new.data,
        }
    }

    /// Creates a notification for `user`.
    pub async fn notify(&self, user: &UserId, new: NewNotification) -> Result<(), Error> {
        Ok(self.store.insert(user, &self.compose(new)).await?)
    }

    /// Creates a notification for `user` under `id` (a UUIDv7 the caller derives from what it
    /// is about), so making it again, as a redelivered message does, leaves one.
    pub async fn notify_once(
        &self,
        user: &UserId,
        id: Uuid,
        new: NewNotification,
    ) -> Result<(), Error> {
        let notification = Notification {
            id,
            ..self.compose(new)
        };
        Ok(self.store.insert(user, &notification).await?)
    }

    /// Creates a notification, logging instead of failing: for side effects of another action.
    pub async fn notify_quietly(&self, user: &UserId, new: NewNotification) {
        let kind = new.kind;
        if let Err(err) = self.notify(user, new).await {
            tracing::warn!(error = %err, kind, "notification not created");
        }
    }

    /// Tells `workspace`'s owners and admins (as `profiles` lists them) what `notice` says: each
    /// one's notification made when it can be, a failure logged, never returned.
    pub async fn tell_admins(
        &self,
        profiles: &dyn crate::profiles::ProfileStore,
        workspace: &crate::ids::WorkspaceId,
        notice: NewNotification,
    ) {
        let people = match profiles.owners_and_admins(workspace).await {
            Ok(people) => people,
            Err(err) => {
                tracing::warn!(error = %err, kind = notice.kind, "notice told to no one");
                return;
            }
        };
        for person in &people {
            self.notify_quietly(person, notice.clone()).await;
        }
    }

    /// One page of `user`'s notifications, newest first, with the unread count.
    pub async fn list(&self, user: &UserId, page: &Page) -> Result<NotificationPage, Error> {
        let ((found, more), unread_count) =
            tokio::try_join!(self.store.page(user, page), self.store.unread_count(user))?;
        let next_after = (more && found.len() as i32 >= page.limit)
            .then(|| found.last().map(|n| n.id))
            .flatten();
        Ok(NotificationPage {
            notifications: found,
            unread_count,
            next_after,
        })
    }

    /// Marks one notification read (idempotent: `read_at` keeps the first time) and returns it;
    /// another user's is a 404.
    pub async fn mark_read(&self, user: &UserId, id: Uuid) -> Result<Notification, Error> {
        self.store
            .mark_read(user, id, self.clock.now())
            .await?
            .ok_or_else(NotificationId::not_found)
    }

    /// How many of `user`'s notifications are unread.
    pub async fn unread_count(&self, user: &UserId) -> Result<u64, Error> {
        Ok(self.store.unread_count(user).await?)
    }

    /// Marks every unread notification read. Returns how many changed.
    pub async fn mark_all_read(&self, user: &UserId) -> Result<u64, Error> {
        Ok(self.store.mark_all_read(user, self.clock.now()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::{clock::ManualClock, store::memory::MemoryNotificationStore};

    fn user() -> UserId {
        UserId::parse(&Uuid::new_v4().to_string()).unwrap()
    }

    fn notice(n: usize) -> NewNotification {
        NewNotification {
            kind: kinds::API_KEY_ROTATED,
            title: format!("n{n}"),
            message: "m".into(),
            data: serde_json::json!({"api_key_id": format!("key-{n}")}),
        }
    }

    fn service() -> (Notifications, Arc<ManualClock>) {
        let clock = ManualClock::now();
        let service =
            Notifications::new(Arc::new(MemoryNotificationStore::default()), clock.clone());
        (service, clock)
    }

    fn page(limit: i32, after: Option<Uuid>, unread_only: bool) -> Page {
        Page {
            unread_only,
            limit,
            after,
        }
    }

    #[tokio::test]
    async fn pages_run_newest_first_and_a_cursor_continues_where_the_last_ended() {
        let (notifications, clock) = service();
        let owner = user();
        for n in 0..5 {
            notifications.notify(&owner, notice(n)).await.unwrap();
            clock.advance(chrono::Duration::seconds(1));
        }
        let first = notifications
            .list(&owner, &page(2, None, false))
            .await
            .unwrap();
        let titles = |l: &NotificationPage| {
            l.notifications
                .iter()
                .map(|n| n.title.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(titles(&first), ["n4", "n3"]);
        assert_eq!((first.notifications.len(), first.unread_count), (2, 5));
        assert_eq!(
            first.notifications[0].action_url.as_deref(),
            Some("/console/keys/key-4")
        );
        let second = notifications
            .list(&owner, &page(2, first.next_after, false))
            .await
            .unwrap();
        assert_eq!(titles(&second), ["n2", "n1"]);
        let last = notifications
            .list(&owner, &page(2, second.next_after, false))
            .await
            .unwrap();
        assert_eq!(titles(&last), ["n0"]);
        assert_eq!(last.next_after, None);
    }

    #[tokio::test]
    async fn marking_read_keeps_the_first_time_and_another_users_is_a_404() {
        let (notifications, clock) = service();
        let (owner, stranger) = (user(), user());
        notifications.notify(&owner, notice(1)).await.unwrap();
        notifications.notify(&owner, notice(2)).await.unwrap();
        let all = notifications
            .list(&owner, &page(10, None, false))
            .await
            .unwrap();
        let id = all.notifications[0].id;
        let read_at = clock.now();
        notifications.mark_read(&owner, id).await.unwrap();
        clock.advance(chrono::Duration::minutes(5));
        let again = notifications.mark_read(&owner, id).await.unwrap();
        assert!(again.is_read);
        assert_eq!(
            again.read_at,
            Some(read_at),
            "marking read again returns the first time"
        );
        let after = notifications
            .list(&owner, &page(10, None, false))
            .await
            .unwrap();
        assert_eq!(after.notifications[0].read_at, Some(read_at));
        assert_eq!(after.unread_count, 1);
        let unread = notifications
            .list(&owner, &page(10, None, true))
            .await
            .unwrap();
        assert_eq!(unread.notifications.len(), 1);
        assert!(matches!(
            notifications.mark_read(&stranger, id).await,
            Err(Error::NotFound(_))
        ));
        assert_eq!(notifications.mark_all_read(&owner).await.unwrap(), 1);
        assert_eq!(notifications.mark_all_read(&owner).await.unwrap(), 0);
        assert_eq!(
            notifications
                .list(&owner, &page(10, None, false))
                .await
                .unwrap()
                .unread_count,
            0
        );
    }
}
