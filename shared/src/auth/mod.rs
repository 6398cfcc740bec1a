//! Authentication: who is calling, with what, and what they may do.
//!
//! Two schemes reach the API: JWTBearer sessions (HS256, algorithm pinned) and APIKeyBearer keys
//! (`X-API-KEY`, or `Authorization: Bearer` when the token carries the key prefix).

mod authenticator;
mod extract;
pub mod jwt;
pub mod oidc;

pub use authenticator::{Authentication, Authenticator, Presented};
pub use extract::Session;

use serde::{Deserialize, Serialize};

use crate::{
    ids::{UserId, WorkspaceId},
    keys::model::KeyGrant,
};

/// A workspace role, from the session's `role` claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Owns the workspace.
    Owner,
    /// Administers it.
    Admin,
    /// A regular member.
    Member,
    /// Read access.
    Viewer,
}

impl Role {
    /// The role a claim names: `owner`, `admin`, `member` or `viewer`, in any case.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "owner" => Some(Self::Owner),
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }
}

/// How the caller authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A user session (JWTBearer).
    Session {
        /// The role in the workspace.
        role: Role,
    },
    /// An API key acting for its owner (APIKeyBearer), with the limits it carries.
    ApiKey(KeyGrant),
}

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The user acting (a key's owner, for key callers).
    pub user_id: UserId,
    /// The workspace acted in.
    pub workspace_id: WorkspaceId,
    /// How they authenticated.
    pub credential: Credential,
}

impl Caller {
    /// Refuses API keys on routes that need a user session (403).
    pub fn require_session(&self) -> Result<Role, crate::Error> {
        match self.credential {
            Credential::Session { role } => Ok(role),
            Credential::ApiKey(_) => Err(crate::Error::Forbidden(
                "This route needs a user session; API keys cannot use it.".into(),
            )),
        }
    }

    /// The acting key's limits, when the caller is an API key.
    pub fn grant(&self) -> Option<&KeyGrant> {
        match &self.credential {
            Credential::ApiKey(grant) => Some(grant),
            Credential::Session { .. } => None,
        }
    }
}
