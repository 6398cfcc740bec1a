//! Deleting one's own account (`DELETE /me`): the caller's keys (in every workspace), profile,
//! notifications and onboarding go, and every session and token of theirs is revoked; the daily
//! aggregates, which hold no personal data, stay.

use chrono::{DateTime, Utc};

use crate::{
    audit::{Record, Target, store::AuditTrail},
    error::Error,
    keys::caller::Caller,
    keys::service::KeyService,
    profiles::{ProfileStore, user_target},
    role::Role,
    sessions::store::SessionStore,
};

/// How long a deleted user's revocation is kept: longer than any refresh token can live (at
/// most a year), so no token or session of theirs made before the deletion outlives it.
pub const REVOCATION_KEPT: chrono::Duration = chrono::Duration::days(400);

/// What an account deletion erases and revokes.
pub struct AccountStores<'a> {
    /// The key use cases.
    pub keys: &'a KeyService,
    /// Profiles.
    pub profiles: &'a dyn ProfileStore,
    /// Sessions.
    pub sessions: &'a dyn SessionStore,
    /// The audit log the deletion is recorded in.
    pub trail: &'a AuditTrail,
}

/// Erases `caller`'s account, acting as a session of `role`, at `now`.
///
/// Refused (409) while the caller is the only owner of a workspace that has other members, so
/// no workspace is left without an owner. Every step is idempotent, the profile goes after the
/// keys and the revocation of every session and token last (the caller's own included, so a
/// deleted user's token cannot provision the profile again), so a deletion cut short is
/// finished by calling again, and a second call succeeds too.
pub async fn delete_own_account(
    caller: &Caller,
    role: Role,
    stores: AccountStores<'_>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let AccountStores {
        keys,
        profiles,
        sessions,
        trail,
    } = stores;
    if role == Role::Owner {
        let members = profiles.members(&caller.workspace_id).await?;
        let others: Vec<_> = members
            .iter()
            .filter(|m| m.user_id != caller.user_id)
            .collect();
        if !others.is_empty() && !others.iter().any(|m| m.role == Role::Owner) {
            return Err(Error::Conflict(
                "You are the only owner of a workspace with other members: make another member \
                 an owner first."
                    .into(),
            ));
        }
    }
    keys.erase_all_of(caller).await?;
    let target = match profiles.get(&caller.user_id).await? {
        Some(profile) => user_target(&profile),
        None => Target {
            kind: "user".into(),
            id: caller.user_id.to_string(),
            name: None,
        },
    };
    let record = Record {
        workspace_id: caller.workspace_id.clone(),
        action: "account.deleted".into(),
        actor: caller.actor(),
        targets: vec![target],
        origin: caller.origin.clone(),
        changes: Default::default(),
        users: vec![caller.user_id.to_string()],
        time: now,
    };
    trail
        .recording(record, |event| async move {
            profiles.erase(&caller.user_id, &event).await
        })
        .await?;
    sessions
        .revoke_user(&caller.user_id, now, now + REVOCATION_KEPT)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Account deletion over the in-memory key and profile stores.

    use std::sync::Arc;

    use super::*;
    use crate::{
        audit::store::AuditStore,
        clock::{Clock, SystemClock},
        ids::{UserId, WorkspaceId},
        keys::caller::Credential,
        keys::{cache::VerifiedKeyCache, secret::KeyPrefix, spec::NewKeySpec},
        profiles::NewProfile,
        store::memory::{MemoryKeyStore, MemoryProfileStore, MemorySessionStore},
    };

    async fn delete(
        caller: &Caller,
        role: Role,
        keys: &KeyService,
        profiles: &MemoryProfileStore,
    ) -> Result<(), Error> {
        let sessions = MemorySessionStore::default();
        let trail = AuditTrail::new(profiles.audit());
        let stores = AccountStores {
            keys,
            profiles,
            sessions: &sessions,
            trail: &trail,
        };
        delete_own_account(caller, role, stores, SystemClock.now()).await
    }

    fn keys() -> KeyService {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let cache = Arc::new(VerifiedKeyCache::new(
            std::time::Duration::from_secs(30),
            clock.clone(),
        ));
        KeyService::new(
            Arc::new(MemoryKeyStore::default()),
            KeyPrefix::default(),
            clock,
            cache,
        )
    }

    async fn member(profiles: &MemoryProfileStore, workspace: &WorkspaceId, role: Role) -> Caller {
        let user = UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
        let new = NewProfile {
            id: user.clone(),
            email: String::new(),
            name: String::new(),
            workspace_id: workspace.clone(),
            role,
        };
        profiles.ensure(&new, SystemClock.now()).await.unwrap();
        Caller {
            origin: Default::default(),
            user_id: user,
            workspace_id: workspace.clone(),
            credential: Credential::Session { role },
        }
    }

    fn workspace() -> WorkspaceId {
        WorkspaceId::parse(&uuid::Uuid::new_v4().to_string()).unwrap()
    }

    #[tokio::test]
    async fn the_only_owner_of_a_shared_workspace_is_refused_until_alone() {
        let (keys, profiles, ws) = (keys(), MemoryProfileStore::default(), workspace());
        let owner = member(&profiles, &ws, Role::Owner).await;
        let viewer = member(&profiles, &ws, Role::Viewer).await;
        let refused = delete(&owner, Role::Owner, &keys, &profiles).await;
        assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
        assert!(
            profiles.get(&owner.user_id).await.unwrap().is_some(),
            "nothing erased"
        );
        delete(&viewer, Role::Viewer, &keys, &profiles)
            .await
            .unwrap();
        delete(&owner, Role::Owner, &keys, &profiles).await.unwrap();
    }

    #[tokio::test]
    async fn another_owner_lets_an_owner_go_and_everything_of_theirs_goes() {
        let (keys, profiles, ws) = (keys(), MemoryProfileStore::default(), workspace());
        let leaving = member(&profiles, &ws, Role::Owner).await;
        let staying = member(&profiles, &ws, Role::Owner).await;
        let spec = NewKeySpec::named("Default");
        keys.create(&leaving, spec.clone()).await.unwrap();
        keys.create(&staying, spec).await.unwrap();
        delete(&leaving, Role::Owner, &keys, &profiles)
            .await
            .unwrap();
        assert!(keys.list(&leaving).await.unwrap().is_empty());
        assert!(profiles.get(&leaving.user_id).await.unwrap().is_none());
        assert_eq!(
            keys.list(&staying).await.unwrap().len(),
            1,
            "others keep theirs"
        );
        // Idempotent: a second call succeeds too, and records nothing again.
        delete(&leaving, Role::Owner, &keys, &profiles)
            .await
            .unwrap();
        let recorded = profiles
            .audit()
            .newest_first(
                &ws,
                &crate::audit::store::AuditQuery {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .0;
        assert_eq!(
            recorded
                .iter()
                .map(|e| (e.action.as_str(), e.actor.id.as_str()))
                .collect::<Vec<_>>(),
            [("account.deleted", leaving.user_id.as_str())]
        );
    }
}
