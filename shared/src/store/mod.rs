//! Storage: the one place that knows how aggregates are stored.
//!
//! The domain modules declare small ports (`KeyStore`, `NotificationStore`, ...); this module
//! holds their adapters: [`dynamo`] over the single table whose layout is [`table`] (the only
//! code in the workspace that imports `aws_sdk_dynamodb`, besides the client builder in
//! [`crate::aws`]), and [`memory`], with the same semantics, for fast unit tests of the use cases.
//! [`StoreError`] is what an adapter's failure means to the caller: a lost race (409), a backend
//! that is unreachable, slow or throttling (503), or one that failed (500).

pub mod bundle;
pub mod dynamo;
pub mod memory;
pub mod table;

pub use bundle::{MemoryStorage, Storage};

pub use crate::store_error::StoreError;

impl StoreError {
    /// A failed AWS call: `Unavailable` when retrying later can help, else `Backend`.
    pub fn sdk<E, R>(err: aws_smithy_runtime_api::client::result::SdkError<E, R>) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
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
        err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
        is_condition: impl Fn(&E) -> bool,
    ) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
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
