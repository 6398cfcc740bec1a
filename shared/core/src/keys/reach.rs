//! Which keys a caller manages through a route: their own, or, for the owners and admins of a
//! workspace on the routes of the families that say so, every key of that workspace.

use super::caller::{Caller, Credential};
use super::model::ApiKey;
use crate::role::Role;

/// The keys a route lets its caller see and manage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// The caller's own keys: the native API (and numind's key routes).
    Own,
    /// Owner and admin sessions: every key made in their workspace, besides their own; anyone
    /// else (members, viewers, API keys, which act for their owner) only their own. The spartera
    /// and latitude.sh families.
    Workspace,
}

impl Reach {
    /// Whether `caller` sees the whole workspace through this reach.
    pub fn spans_workspace(self, caller: &Caller) -> bool {
        self == Self::Workspace
            && matches!(
                caller.credential,
                Credential::Session {
                    role: Role::Owner | Role::Admin
                }
            )
    }

    /// Whether `caller` may manage the keys of another user of their workspace whose role is
    /// `theirs` (cartovista's `{UserIdentifier}`): owner and admin sessions, for a user of a
    /// lower role, and only where the route's reach spans the workspace.
    pub fn may_manage_user(self, caller: &Caller, theirs: Role) -> bool {
        self.spans_workspace(caller) && caller.role() < theirs
    }

    /// Whether `caller` may see and manage `key` through this reach: a key of the workspace the
    /// caller acts in (never one the same user holds in another workspace), their own or, where
    /// the reach spans the workspace, anyone's. Anything else is a 404, so another user's or
    /// workspace's key is indistinguishable from none.
    pub fn admits(self, caller: &Caller, key: &ApiKey) -> bool {
        key.workspace_id == caller.workspace_id
            && (key.owner_id == caller.user_id || self.spans_workspace(caller))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ids::{KeyId, UserId, WorkspaceId},
        keys::model::KeyGrant,
    };

    fn caller(workspace: &WorkspaceId, credential: Credential) -> Caller {
        Caller {
            origin: Default::default(),
            user_id: UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap(),
            workspace_id: workspace.clone(),
            credential,
        }
    }

    #[test]
    fn only_owners_and_admins_span_their_workspace_and_only_where_the_route_says() {
        let workspace =
            WorkspaceId::personal(&UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap());
        let session = |role| caller(&workspace, Credential::Session { role });
        for (who, spans) in [
            (session(Role::Owner), true),
            (session(Role::Admin), true),
            (session(Role::Member), false),
            (session(Role::Viewer), false),
            (
                caller(
                    &workspace,
                    Credential::ApiKey(KeyGrant {
                        key_id: KeyId::new(),
                        name: "acting".into(),
                        role: Role::Member,
                        permissions: vec![],
                        read_only: false,
                        allowed_ips: vec![],
                        rate_limit: None,
                        expires_at: None,
                    }),
                ),
                false,
            ),
        ] {
            assert_eq!(
                Reach::Workspace.spans_workspace(&who),
                spans,
                "{:?}",
                who.credential
            );
            assert!(!Reach::Own.spans_workspace(&who));
        }
    }
}
