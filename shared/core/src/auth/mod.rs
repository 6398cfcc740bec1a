//! Authentication: who is calling, with what, and what they may do.
//!
//! Two schemes reach the API: JWTBearer sessions (HS256, algorithm pinned) and APIKeyBearer keys
//! (`X-API-KEY`, or `Authorization: Bearer` when the token carries the key prefix).

mod authenticator;
pub mod jwt;
pub mod oidc;

pub use authenticator::{Authentication, Authenticator, Presented, RevocationCheck, paired_secret};

pub use crate::{
    keys::caller::{Caller, Credential},
    role::Role,
};
