//! What a failed AWS call means to the domain: the [`StoreError`] every port answers.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use latchkey_core::store::StoreError;

/// A failed AWS call: `Unavailable` when retrying later can help, else `Backend`.
pub fn sdk<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if crate::clients::is_transient(&err) {
        StoreError::Unavailable(Box::new(err))
    } else {
        StoreError::backend(err)
    }
}

/// A failed conditional write (as `is_condition` recognises it) is `Conflict`; anything else
/// is [`sdk`].
pub fn conditional<E, R>(err: SdkError<E, R>, is_condition: impl Fn(&E) -> bool) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match err.as_service_error() {
        Some(service) if is_condition(service) => StoreError::Conflict,
        _ => sdk(err),
    }
}
