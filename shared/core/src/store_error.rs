//! Why a storage call failed, as the use cases see it: what every storage port answers, so the
//! domain depends on no adapter. The AWS adapters make these from SDK errors
//! ([`crate::store`]); [`crate::Error`] maps them to statuses.

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
}

impl From<StoreError> for crate::Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict => Self::Conflict(
                "It was changed by a concurrent request; read it again and retry.".into(),
            ),
            StoreError::Backend(cause) => Self::Internal(cause),
            StoreError::Unavailable(cause) => Self::Unavailable {
                retry_after: Self::RETRY_AFTER_UNAVAILABLE,
                cause,
            },
        }
    }
}
