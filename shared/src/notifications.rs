//! Notifications: created by the events of every family (rotation, revocation, expiry, erasure)
//! through [`Notifications::notify`], listed and marked read through the account API.
//!
//! Layout: `pk = USER#<user>`, `sk = NOTIF#<id>` with a UUIDv7 id, so ids sort by creation time:
//! newest first is a reverse `Query`, and one notification is one `GetItem`/`UpdateItem`.

use std::{collections::HashMap, sync::Arc};

use aws_sdk_dynamodb::{
    Client,
    types::{AttributeValue, PutRequest, WriteRequest},
};
use base64ct::{Base64UrlUnpadded, Encoding};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::StoreError;
use crate::{
    clock::Clock,
    error::Error,
    ids::{NotificationId, ResourceId, UserId},
    table,
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
}

/// Notifications are kept this long.
const RETENTION_DAYS: i64 = 180;
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

/// A stored notification, serialized as the contract's Notification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// NotificationList.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationList {
    /// Newest first.
    pub notifications: Vec<Notification>,
    /// Notifications in this page.
    pub count: usize,
    /// Unread notifications in all pages.
    pub unread_count: u64,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// Query of the list route.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only unread notifications.
    #[param(default = false)]
    unread_only: Option<bool>,
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 50)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
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

impl ListQuery {
    /// `limit` 1..=100 (default 50); a cursor must be one this API gave out.
    pub fn parse(self) -> Result<Page, Error> {
        let limit =
            crate::validate::in_range("limit", self.limit.unwrap_or(DEFAULT_LIMIT), 1, MAX_LIMIT)
                .map_err(|e| Error::invalid_fields(vec![e]))?;
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(raw) => Some(decode_cursor(raw).ok_or_else(|| {
                Error::invalid_field("cursor", "is not a cursor from a previous page")
            })?),
            None => None,
        };
        Ok(Page {
            unread_only: self.unread_only.unwrap_or(false),
            limit: limit as i32,
            after,
        })
    }
}

fn encode_cursor(id: Uuid) -> String {
    Base64UrlUnpadded::encode_string(id.as_bytes())
}

fn decode_cursor(raw: &str) -> Option<Uuid> {
    let bytes = Base64UrlUnpadded::decode_vec(raw).ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// Notifications in the single table.
#[derive(Clone)]
pub struct Notifications {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

#[derive(Serialize)]
struct Record<'a> {
    pk: String,
    sk: String,
    #[serde(flatten)]
    notification: &'a Notification,
    ttl: i64,
}

impl Notifications {
    /// Notifications over `table`.
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    fn item(
        &self,
        user: &UserId,
        n: &Notification,
    ) -> Result<HashMap<String, AttributeValue>, Error> {
        serde_dynamo::to_item(Record {
            pk: table::user_pk(user),
            sk: table::notification_sk(n.id),
            notification: n,
            ttl: (n.created_at + chrono::Duration::days(RETENTION_DAYS)).timestamp(),
        })
        .map_err(Error::internal)
    }

    /// The `Put` that creates a notification for `user`, for callers that must create it in one
    /// transaction with another write (so it is sent exactly once).
    pub fn put(
        &self,
        user: &UserId,
        new: NewNotification,
    ) -> Result<aws_sdk_dynamodb::types::Put, Error> {
        let (action_url, action_label) = action(&new.data);
        let notification = Notification {
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
        };
        aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.item(user, &notification)?))
            .build()
            .map_err(Error::internal)
    }

    /// Creates a notification for `user`.
    pub async fn notify(&self, user: &UserId, new: NewNotification) -> Result<(), Error> {
        let put = self.put(user, new)?;
        self.client
            .put_item()
            .table_name(put.table_name())
            .set_item(Some(put.item().clone()))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Creates a notification, logging instead of failing: for side effects of another action.
    pub async fn notify_quietly(&self, user: &UserId, new: NewNotification) {
        let kind = new.kind;
        if let Err(err) = self.notify(user, new).await {
            tracing::warn!(error = %err, kind, "notification not created");
        }
    }

    /// One page of `user`'s notifications, newest first, with the unread count.
    pub async fn list(&self, user: &UserId, page: &Page) -> Result<NotificationList, Error> {
        let mut found = Vec::new();
        let mut start = page.after.map(|id| {
            HashMap::from([
                (
                    table::PK.to_owned(),
                    AttributeValue::S(table::user_pk(user)),
                ),
                (
                    table::SK.to_owned(),
                    AttributeValue::S(table::notification_sk(id)),
                ),
            ])
        });
        let mut more;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", AttributeValue::S(table::user_pk(user)))
                .expression_attribute_values(
                    ":prefix",
                    AttributeValue::S(table::NOTIFICATION_SK_PREFIX.into()),
                )
                .scan_index_forward(false)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .limit(page.limit - found.len() as i32);
            if page.unread_only {
                query = query
                    .filter_expression("is_read = :false")
                    .expression_attribute_values(":false", AttributeValue::Bool(false));
            }
            let out = query.send().await.map_err(StoreError::sdk)?;
            for item in out.items.unwrap_or_default() {
                found.push(
                    serde_dynamo::from_item::<_, Notification>(item).map_err(Error::internal)?,
                );
            }
            start = out.last_evaluated_key;
            more = start.is_some();
            if !more || found.len() as i32 >= page.limit {
                break;
            }
        }
        let next_cursor = (more && found.len() as i32 >= page.limit)
            .then(|| found.last().map(|n| encode_cursor(n.id)))
            .flatten();
        Ok(NotificationList {
            count: found.len(),
            notifications: found,
            unread_count: self.unread_count(user).await?,
            next_cursor,
        })
    }

    async fn unread(
        &self,
        user: &UserId,
        count_only: bool,
    ) -> Result<(u64, Vec<HashMap<String, AttributeValue>>), Error> {
        let mut start = None;
        let mut count = 0;
        let mut items = Vec::new();
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .filter_expression("is_read = :false")
                .expression_attribute_values(":pk", AttributeValue::S(table::user_pk(user)))
                .expression_attribute_values(
                    ":prefix",
                    AttributeValue::S(table::NOTIFICATION_SK_PREFIX.into()),
                )
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            if count_only {
                query = query.select(aws_sdk_dynamodb::types::Select::Count);
            }
            let out = query.send().await.map_err(StoreError::sdk)?;
            count += out.count as u64;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok((count, items));
            }
        }
    }

    async fn unread_count(&self, user: &UserId) -> Result<u64, Error> {
        Ok(self.unread(user, true).await?.0)
    }

    /// Marks one notification read (idempotent: `read_at` keeps the first time); another user's is a 404.
    pub async fn mark_read(&self, user: &UserId, id: Uuid) -> Result<(), Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(table::user_pk(user)))
            .key(table::SK, AttributeValue::S(table::notification_sk(id)))
            .update_expression("SET is_read = :true, read_at = :now")
            .condition_expression("is_read = :false")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(
                ":now",
                AttributeValue::S(crate::timestamp::format(self.clock.now())),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // Already read, or not this user's: one read tells them apart.
                let exists = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key(table::PK, AttributeValue::S(table::user_pk(user)))
                    .key(table::SK, AttributeValue::S(table::notification_sk(id)))
                    .projection_expression("pk")
                    .send()
                    .await
                    .map_err(StoreError::sdk)?
                    .item
                    .is_some();
                if exists {
                    Ok(())
                } else {
                    Err(NotificationId::not_found())
                }
            }
            Err(err) => Err(StoreError::sdk(err).into()),
        }
    }

    /// Marks every unread notification read, 25 to a `BatchWriteItem` and several batches at once,
    /// so a thousand of them take one call well inside a Lambda timeout. Returns how many changed.
    pub async fn mark_all_read(&self, user: &UserId) -> Result<u64, Error> {
        let (_, items) = self.unread(user, false).await?;
        let now = crate::timestamp::format(self.clock.now());
        let requests: Vec<WriteRequest> = items
            .into_iter()
            .map(|mut item| {
                item.insert("is_read".into(), AttributeValue::Bool(true));
                item.insert("read_at".into(), AttributeValue::S(now.clone()));
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(Error::internal)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, Error>>()?;
        let updated = requests.len() as u64;
        let mut batches = tokio::task::JoinSet::new();
        for chunk in requests.chunks(25) {
            let (client, table, chunk) = (self.client.clone(), self.table.clone(), chunk.to_vec());
            batches.spawn(async move { crate::batch::write(&client, &table, chunk).await });
            if batches.len() >= 8 {
                batches
                    .join_next()
                    .await
                    .expect("a batch")
                    .map_err(Error::internal)??;
            }
        }
        while let Some(done) = batches.join_next().await {
            done.map_err(Error::internal)??;
        }
        Ok(updated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)), Some(id));
        let q = |cursor: &str, limit| {
            ListQuery {
                unread_only: None,
                limit,
                cursor: Some(cursor.into()),
            }
            .parse()
        };
        assert!(q("!!", None).is_err());
        assert!(q("", Some(0)).is_err());
        assert!(q("", Some(101)).is_err());
        assert_eq!(q("", None).unwrap().limit, 50);
    }

    #[test]
    fn v7_ids_sort_by_time() {
        let a = Uuid::now_v7();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = Uuid::now_v7();
        assert!(table::notification_sk(a) < table::notification_sk(b));
    }
}
