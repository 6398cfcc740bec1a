//! The authenticated caller of a request: who acts, in which workspace, and with what (a
//! session's role, or an API key's grant). Every use case takes one; authentication (`auth`)
//! makes it.

use super::model::KeyGrant;
use crate::{
    audit::{Actor, ActorKind, Origin},
    ids::{UserId, WorkspaceId},
    role::Role,
};

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
    /// Where the request came from, for the audit log (the HTTP layer fills it in).
    pub origin: Origin,
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

    /// Refuses anyone but the workspace's owners and admins with a session: an API key as
    /// [`Caller::require_session`] does, any other role with a 403 saying that only they may
    /// `do_what` ("manage its webhooks").
    pub fn require_owner_or_admin(&self, do_what: &str) -> Result<Role, crate::Error> {
        match self.require_session()? {
            role @ (Role::Owner | Role::Admin) => Ok(role),
            _ => Err(crate::Error::Forbidden(format!(
                "Only the workspace's owners and admins may {do_what}."
            ))),
        }
    }

    /// The role the caller acts in: a session's, or the acting key's.
    pub fn role(&self) -> Role {
        match &self.credential {
            Credential::Session { role } => *role,
            Credential::ApiKey(grant) => grant.role,
        }
    }

    /// Who the audit log says acted: the user of a session, or the acting key.
    pub fn actor(&self) -> Actor {
        match &self.credential {
            Credential::Session { .. } => Actor {
                kind: ActorKind::User,
                id: self.user_id.to_string(),
                name: None,
            },
            Credential::ApiKey(grant) => Actor {
                kind: ActorKind::Key,
                id: grant.key_id.to_string(),
                name: Some(grant.name.clone()),
            },
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
