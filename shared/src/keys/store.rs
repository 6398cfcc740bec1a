//! The storage port of the key aggregate.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::{model::ApiKey, view::DailyUsage};
use crate::ids::{KeyId, UserId};

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition failed: another writer changed or removed the item first.
    #[error("the item was changed concurrently")]
    Conflict,
    /// The backend failed; the cause is for the logs.
    #[error("storage backend error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The backend is unreachable, slow or throttling; retrying later can help.
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// A backend failure, keeping its cause.
    pub fn backend(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(err))
    }

    /// A failed AWS call: `Unavailable` when retrying later can help, else `Backend`.
    pub fn sdk<E, R>(err: aws_sdk_dynamodb::error::SdkError<E, R>) -> Self
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        if crate::aws::is_transient(&err) {
            Self::Unavailable(Box::new(err))
        } else {
            Self::backend(err)
        }
    }

    /// A failed conditional write (as `is_condition` recognises it) is `Conflict`; anything else
    /// is [`StoreError::sdk`].
    pub fn conditional<E, R>(
        err: aws_sdk_dynamodb::error::SdkError<E, R>,
        is_condition: impl Fn(&E) -> bool,
    ) -> Self
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        match err.as_service_error() {
            Some(service) if is_condition(service) => Self::Conflict,
            _ => Self::sdk(err),
        }
    }
}

impl From<StoreError> for crate::Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict => {
                Self::Conflict("the key was changed by a concurrent request; retry".into())
            }
            StoreError::Backend(cause) => Self::Internal(cause),
            StoreError::Unavailable(cause) => Self::Unavailable {
                retry_after: Self::RETRY_AFTER_UNAVAILABLE,
                cause,
            },
        }
    }
}

/// Reads and writes API keys. Every write that could race is conditional on the key's version.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// One key by id (a single strongly consistent read).
    async fn get(&self, id: KeyId) -> Result<Option<ApiKey>, StoreError>;
    /// Every key of `owner`, newest first.
    async fn list_by_owner(&self, owner: &UserId) -> Result<Vec<ApiKey>, StoreError>;
    /// Stores a new key; fails with `Conflict` if the id exists.
    async fn insert(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// Replaces a key's settings if its stored version is still `key.version - 1`.
    async fn update(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// Atomically updates `old` (version-checked like [`KeyStore::update`]) and inserts `new`:
    /// either both happen or neither.
    async fn rotate(&self, old: &ApiKey, new: &ApiKey) -> Result<(), StoreError>;
    /// Deletes a key if it is still at `version`.
    async fn delete(&self, id: KeyId, version: u64) -> Result<(), StoreError>;
    /// Recorded daily counters of a key from `since` (inclusive) on.
    async fn daily_usage(&self, id: KeyId, since: NaiveDate)
    -> Result<Vec<DailyUsage>, StoreError>;
}
