//! Deleting one's own account (`DELETE /me`): the caller's keys, profile, notifications and
//! onboarding go; the daily aggregates, which hold no personal data, stay.

use crate::{
    auth::{Caller, Role},
    error::Error,
    keys::service::KeyService,
    profiles::ProfileStore,
};

/// Erases `caller`'s account, acting as a session of `role`.
///
/// Refused (409) while the caller is the only owner of a workspace that has other members, so
/// no workspace is left without an owner. Every step is idempotent and the profile goes last, so
/// a deletion cut short is finished by calling again, and a second call succeeds too.
pub async fn delete_own_account(
    caller: &Caller,
    role: Role,
    keys: &KeyService,
    profiles: &dyn ProfileStore,
) -> Result<(), Error> {
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
    for key in keys.list(caller).await? {
        match keys.delete(caller, key.id).await {
            Ok(()) | Err(Error::NotFound(_)) => {}
            Err(err) => return Err(err),
        }
    }
    profiles.erase(&caller.user_id).await
}
