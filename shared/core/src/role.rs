//! Workspace roles: what a session's `role` claim names, and what a key may act as.

use serde::{Deserialize, Serialize};

/// A workspace role, from the session's `role` claim. Roles order from the most powerful
/// (owner) to the least (viewer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The role's name, as claims spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }

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
