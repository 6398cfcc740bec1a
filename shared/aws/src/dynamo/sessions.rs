//! The DynamoDB adapter of [`SessionStore`]: sessions, refresh tokens by digest, revoked tokens
//! and sign-ins in progress, each with a TTL.

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client,
    types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{DynamoAuditStore, Item, NEW_ITEM_CONDITION, address, put_new, transact};
use crate::table;
use latchkey_core::{
    audit::AuditEvent,
    ids::UserId,
    role::Role,
    sessions::{
        model::{Rotation, Session},
        store::SessionStore,
    },
    store::StoreError,
    timestamp,
};

/// Sessions in the single table.
#[derive(Clone, Debug)]
pub struct DynamoSessionStore {
    client: Client,
    table: String,
    /// The audit log each change's event joins, in the change's transaction.
    audit: DynamoAuditStore,
}

impl DynamoSessionStore {
    /// An adapter over `table`, recording to `audit`.
    pub fn new(client: Client, table: impl Into<String>, audit: DynamoAuditStore) -> Self {
        Self {
            client,
            table: table.into(),
            audit,
        }
    }
}

/// The primary key of the item `table` names.
fn at((pk, sk): (String, &'static str)) -> Item {
    address(pk, sk)
}

#[derive(Serialize, Deserialize)]
struct SessionRecord {
    pk: String,
    sk: String,
    user_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    #[serde(with = "timestamp::serde_rfc3339")]
    created_at: DateTime<Utc>,
    #[serde(with = "timestamp::serde_rfc3339")]
    expires_at: DateTime<Utc>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::serde_rfc3339::option"
    )]
    revoked_at: Option<DateTime<Utc>>,
    ttl: i64,
}

#[derive(Serialize, Deserialize)]
struct RefreshRecord {
    pk: String,
    sk: String,
    session_id: Uuid,
    #[serde(with = "timestamp::serde_rfc3339")]
    expires_at: DateTime<Utc>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::serde_rfc3339::option"
    )]
    used_at: Option<DateTime<Utc>>,
    ttl: i64,
}

fn session_from(record: SessionRecord, id: Uuid) -> Session {
    Session {
        id,
        user_id: record.user_id,
        email: record.email,
        name: record.name,
        workspace_id: record.workspace_id,
        role: record.role,
        created_at: record.created_at,
        expires_at: record.expires_at,
        revoked_at: record.revoked_at,
    }
}

impl DynamoSessionStore {
    async fn get(&self, key: (String, &'static str)) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(at(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::failure::sdk)?
            .item)
    }

    async fn session(&self, id: Uuid) -> Result<Option<Session>, StoreError> {
        self.get(table::session_key(id))
            .await?
            .map(|item| {
                serde_dynamo::from_item::<_, SessionRecord>(item)
                    .map(|r| session_from(r, id))
                    .map_err(StoreError::backend)
            })
            .transpose()
    }

    async fn refresh(&self, digest: &str) -> Result<Option<RefreshRecord>, StoreError> {
        self.get(table::refresh_key(digest))
            .await?
            .map(|item| serde_dynamo::from_item(item).map_err(StoreError::backend))
            .transpose()
    }

    fn refresh_item(digest: &str, session: &Session) -> Result<Item, StoreError> {
        let (pk, sk) = table::refresh_key(digest);
        serde_dynamo::to_item(RefreshRecord {
            pk,
            sk: sk.to_owned(),
            session_id: session.id,
            expires_at: session.expires_at,
            used_at: None,
            ttl: session.expires_at.timestamp(),
        })
        .map_err(StoreError::backend)
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        transact(&self.client, items).await
    }
}

#[async_trait]
impl SessionStore for DynamoSessionStore {
    async fn begin_sign_in(
        &self,
        state: &str,
        redirect_uri: &str,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut item = at(table::sign_in_key(state));
        item.insert(
            "redirect_uri".into(),
            AttributeValue::S(redirect_uri.to_owned()),
        );
        item.insert(
            table::TTL.into(),
            AttributeValue::N(until.timestamp().to_string()),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(NEW_ITEM_CONDITION)
            .send()
            .await
            .map_err(|e| {
                crate::failure::conditional(e, |s| s.is_conditional_check_failed_exception())
            })?;
        Ok(())
    }

    async fn take_sign_in(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let old = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(at(table::sign_in_key(state))))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(crate::failure::sdk)?
            .attributes;
        let Some(old) = old else { return Ok(None) };
        let live = old
            .get(table::TTL)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
            .is_some_and(|until| now.timestamp() < until);
        Ok(old
            .get("redirect_uri")
            .and_then(|v| v.as_s().ok())
            .filter(|_| live)
            .cloned())
    }

    async fn create(
        &self,
        session: &Session,
        refresh: &str,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (pk, sk) = table::session_key(session.id);
        let record = serde_dynamo::to_item(SessionRecord {
            pk,
            sk: sk.to_owned(),
            user_id: session.user_id.clone(),
            email: session.email.clone(),
            name: session.name.clone(),
            workspace_id: session.workspace_id.clone(),
            role: session.role,
            created_at: session.created_at,
            expires_at: session.expires_at,
            revoked_at: None,
            ttl: session.expires_at.timestamp(),
        })
        .map_err(StoreError::backend)?;
        let items = vec![
            put_new(&self.table, record)?,
            put_new(&self.table, Self::refresh_item(refresh, session)?)?,
        ];
        self.audit.write_with(items, Some(event)).await
    }

    async fn rotate(
        &self,
        used: &str,
        fresh: &str,
        now: DateTime<Utc>,
    ) -> Result<Rotation, StoreError> {
        let Some(token) = self.refresh(used).await? else {
            return Ok(Rotation::Unknown);
        };
        if token.used_at.is_some() {
            return Ok(Rotation::Reused(token.session_id));
        }
        let Some(session) = self.session(token.session_id).await? else {
            return Ok(Rotation::Unknown);
        };
        if !session.is_live(now) || now >= token.expires_at {
            return Ok(Rotation::Unknown);
        }
        let spend = Update::builder()
            .table_name(&self.table)
            .set_key(Some(at(table::refresh_key(used))))
            .update_expression("SET used_at = :now")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(used_at)")
            .expression_attribute_values(":now", AttributeValue::S(timestamp::format(now)))
            .build()
            .map_err(StoreError::backend)?;
        let unrevoked = Update::builder()
            .table_name(&self.table)
            .set_key(Some(at(table::session_key(session.id))))
            .update_expression("SET refreshed_at = :now")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(revoked_at)")
            .expression_attribute_values(":now", AttributeValue::S(timestamp::format(now)))
            .build()
            .map_err(StoreError::backend)?;
        let written = self
            .transact(vec![
                TransactWriteItem::builder().update(spend).build(),
                TransactWriteItem::builder().update(unrevoked).build(),
                put_new(&self.table, Self::refresh_item(fresh, &session)?)?,
            ])
            .await;
        match written {
            Ok(()) => Ok(Rotation::Rotated(session)),
            // Spent by a racing refresh, or the session was revoked meanwhile.
            Err(StoreError::Conflict) => match self.refresh(used).await? {
                Some(token) if token.used_at.is_some() => Ok(Rotation::Reused(token.session_id)),
                _ => Ok(Rotation::Unknown),
            },
            Err(other) => Err(other),
        }
    }

    async fn session_of(&self, refresh: &str) -> Result<Option<Session>, StoreError> {
        match self.refresh(refresh).await? {
            Some(token) => self.session(token.session_id).await,
            None => Ok(None),
        }
    }

    async fn revoke(
        &self,
        sessions: &[Uuid],
        token: Option<(&str, DateTime<Utc>)>,
        now: DateTime<Utc>,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let mut items = Vec::new();
        for &id in sessions {
            if self.session(id).await?.is_none() {
                continue;
            }
            let revoke = Update::builder()
                .table_name(&self.table)
                .set_key(Some(at(table::session_key(id))))
                .update_expression("SET revoked_at = if_not_exists(revoked_at, :now)")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":now", AttributeValue::S(timestamp::format(now)))
                .build()
                .map_err(StoreError::backend)?;
            items.push(TransactWriteItem::builder().update(revoke).build());
        }
        if let Some((token_id, until)) = token {
            let mut item = at(table::revoked_token_key(token_id));
            item.insert(
                table::TTL.into(),
                AttributeValue::N(until.timestamp().to_string()),
            );
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .map_err(StoreError::backend)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        if items.is_empty() {
            return Ok(());
        }
        self.audit.write_with(items, event).await
    }

    async fn revoke_user(
        &self,
        user: &UserId,
        revoked_at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(at(table::revoked_user_key(user))))
            .update_expression("SET #at = :at, #ttl = :ttl")
            .condition_expression("attribute_not_exists(#at) OR #at < :at")
            .expression_attribute_names("#at", table::REVOKED_AT)
            .expression_attribute_names("#ttl", table::TTL)
            .expression_attribute_values(":at", AttributeValue::S(timestamp::format(revoked_at)))
            .expression_attribute_values(":ttl", AttributeValue::N(until.timestamp().to_string()))
            .send()
            .await
            .map_err(|e| {
                crate::failure::conditional(e, |s| s.is_conditional_check_failed_exception())
            });
        match written {
            // A later revocation already stands.
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(other) => Err(other),
        }
    }

    async fn user_revoked_at(&self, user: &UserId) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .get(table::revoked_user_key(user))
            .await?
            .and_then(|item| match item.get(table::REVOKED_AT) {
                Some(AttributeValue::S(at)) => timestamp::parse_datetime(at).ok(),
                _ => None,
            }))
    }

    async fn is_revoked(
        &self,
        session: Option<Uuid>,
        token_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let by_session = async {
            match session {
                Some(id) => Ok::<_, StoreError>(
                    self.session(id)
                        .await?
                        .is_some_and(|s| s.revoked_at.is_some()),
                ),
                None => Ok(false),
            }
        };
        let by_token = async {
            match token_id {
                Some(jti) => {
                    Ok::<_, StoreError>(self.get(table::revoked_token_key(jti)).await?.is_some())
                }
                None => Ok(false),
            }
        };
        let (session, token) = tokio::join!(by_session, by_token);
        Ok(session? || token?)
    }
}
