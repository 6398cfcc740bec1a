//! What a verification decided, in the contract's words: shared by the verifier, usage
//! accounting and every answer that reports it.

use serde::{Deserialize, Serialize};

/// The outcome codes of VerifyResponse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifyCode {
    /// Usable.
    Valid,
    /// Malformed, bad checksum, unknown id or wrong secret.
    NotFound,
    /// Past its expiry or rotation grace.
    Expired,
    /// Revoked.
    Revoked,
    /// Switched off.
    Disabled,
    /// Over its hourly limit.
    RateLimited,
    /// Used from outside its allowed networks.
    Forbidden,
    /// Lacks a required permission.
    InsufficientPermissions,
}
