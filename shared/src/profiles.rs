//! User profiles: created just in time on a user's first authenticated request.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{Client, types::AttributeValue};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    auth::Role,
    error::Error,
    ids::{UserId, WorkspaceId},
    table,
};

/// What is known of a user when they first arrive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProfile {
    /// User id (`sub`).
    pub id: UserId,
    /// Email from the token, or empty.
    pub email: String,
    /// Name from the token, or empty.
    pub name: String,
    /// Workspace from the token.
    pub workspace_id: WorkspaceId,
    /// Role from the token.
    pub role: Role,
}

/// The storage port of profiles.
#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// Creates the profile unless it exists; returns whether it was created.
    async fn ensure(&self, profile: &NewProfile) -> Result<bool, Error>;
}

/// Profiles in the single table.
#[derive(Clone, Debug)]
pub struct DynamoProfileStore {
    client: Client,
    table: String,
}

impl DynamoProfileStore {
    /// An adapter over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[derive(Serialize)]
struct ProfileRecord<'a> {
    pk: String,
    sk: &'static str,
    id: &'a UserId,
    email: &'a str,
    name: &'a str,
    workspace_id: &'a WorkspaceId,
    role: Role,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[async_trait]
impl ProfileStore for DynamoProfileStore {
    async fn ensure(&self, profile: &NewProfile) -> Result<bool, Error> {
        let now = crate::clock::Clock::now(&crate::clock::SystemClock);
        let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(ProfileRecord {
            pk: table::user_pk(&profile.id),
            sk: table::PROFILE_SK,
            id: &profile.id,
            email: &profile.email,
            name: &profile.name,
            workspace_id: &profile.workspace_id,
            role: profile.role,
            created_at: now,
            updated_at: now,
        })
        .map_err(Error::internal)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(Error::internal(err)),
        }
    }
}
