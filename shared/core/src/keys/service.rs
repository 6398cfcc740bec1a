//! The use cases of the API-keys family. Handlers call these and map the result; every rule of
//! CONTRACT.md about keys (ownership, escalation, lifecycle states, races) is decided here.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::{
    cache::VerifiedKeyCache,
    ceiling::Ceiling,
    hashing,
    model::{ApiKey, DailyUsage, KeyStatus},
    reach::Reach,
    record,
    secret::{KeyPrefix, PairedSecret, PlainKey},
    spec::{KeyChanges, NewKeySpec},
    store::KeyStore,
};
use crate::{
    audit::store::AuditTrail,
    clock::Clock,
    error::Error,
    ids::{KeyId, ResourceId, UserId},
    keys::caller::{Caller, Credential},
    notifications::{NewNotification, Notifications, kinds},
    onboarding::{Onboarding, Step},
    profiles::ProfileStore,
    role::Role,
    timestamp,
};

/// A key together with its one-time plain secret.
#[derive(Debug)]
pub struct IssuedKey {
    /// The stored key.
    pub key: ApiKey,
    /// The full secret, for the response only.
    pub plain: PlainKey,
}

/// Days of daily usage a key's stats cover.
pub const STATS_DAYS: i64 = 30;

/// A key's usage: its counters, and one entry per day of the last [`STATS_DAYS`] days ending
/// today, oldest first, zero-filled.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyStats {
    /// The key (its counters and latest times).
    pub key: ApiKey,
    /// The days.
    pub daily: Vec<DailyUsage>,
}

/// What key use cases set off elsewhere: onboarding steps and notifications.
#[derive(Clone)]
pub struct KeyEvents {
    /// The onboarding checklist.
    pub onboarding: Arc<Onboarding>,
    /// Notifications.
    pub notifications: Arc<Notifications>,
}

/// The API-keys use cases, for the keys their [`Reach`] admits.
#[derive(Clone)]
pub struct KeyService {
    store: Arc<dyn KeyStore>,
    trail: AuditTrail,
    prefix: KeyPrefix,
    clock: Arc<dyn Clock>,
    cache: Arc<VerifiedKeyCache>,
    events: Option<KeyEvents>,
    reach: Reach,
    members: Option<Arc<dyn ProfileStore>>,
}

/// Refuses an expiry change on a revoked key, and on a rotated one (whose expiry is the end of
/// its grace period).
fn expiry_may_change(key: &ApiKey, now: DateTime<Utc>) -> Result<(), Error> {
    match key.status(now) {
        KeyStatus::Revoked => Err(Error::InvalidState {
            code: "key_revoked",
            detail: "A revoked key's expiry cannot change.".into(),
        }),
        KeyStatus::Rotating => Err(Error::InvalidState {
            code: "key_rotating",
            detail: "A rotated key expires at the end of its grace period; set the new key's expiry instead.".into(),
        }),
        _ => Ok(()),
    }
}

/// How a route names a key: by id, or by its number in the caller's workspace (spartera).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRef {
    /// The key's id.
    Id(KeyId),
    /// The key's number.
    Number(u64),
}

impl KeyService {
    /// The use cases over `store`.
    pub fn new(
        store: Arc<dyn KeyStore>,
        prefix: KeyPrefix,
        clock: Arc<dyn Clock>,
        cache: Arc<VerifiedKeyCache>,
    ) -> Self {
        Self {
            trail: AuditTrail::new(store.audit_log()),
            store,
            prefix,
            clock,
            cache,
            events: None,
            reach: Reach::Own,
            members: None,
        }
    }

    /// The same use cases, over the keys `reach` admits: [`Reach::Workspace`] for the families
    /// whose owners and admins manage every key of their workspace. The cache is shared, so a
    /// change through either evicts the same entry.
    pub fn reaching(&self, reach: Reach) -> Self {
        Self {
            reach,
            ..self.clone()
        }
    }

    /// Which keys this service reaches.
    pub fn reach(&self) -> Reach {
        self.reach
    }

    /// The same service, reading the roles of a workspace's members from `profiles`, for the
    /// ceiling of a key an owner or admin makes or changes for another user. Without them,
    /// another user's role is taken to be the lowest.
    pub fn with_members(mut self, profiles: Arc<dyn ProfileStore>) -> Self {
        self.members = Some(profiles);
        self
    }

    /// The role in the caller's workspace of `owner`, the owner of a key the caller makes or
    /// changes: a session's own, else the member's profile's; else, for an acting key's own
    /// owner, the key's role; else the lowest, viewer.
    async fn owner_role(&self, caller: &Caller, owner: &UserId) -> Result<Role, Error> {
        if let Credential::Session { role } = caller.credential
            && *owner == caller.user_id
        {
            return Ok(role);
        }
        if let Some(members) = &self.members
            && let Some(profile) = members.get(owner).await?
            && profile.workspace_id == caller.workspace_id
        {
            return Ok(profile.role);
        }
        Ok(if *owner == caller.user_id {
            caller.role()
        } else {
            Role::Viewer
        })
    }

    /// The ceiling of a change by `caller` to `key`.
    async fn ceiling<'c>(&self, caller: &'c Caller, key: &ApiKey) -> Result<Ceiling<'c>, Error> {
        Ok(Ceiling::new(
            caller,
            self.owner_role(caller, &key.owner_id).await?,
        ))
    }

    /// The same service, completing onboarding steps and sending notifications as keys change.
    pub fn with_events(mut self, events: KeyEvents) -> Self {
        self.events = Some(events);
        self
    }

    async fn step(&self, user: &UserId, step: Step) {
        if let Some(events) = &self.events {
            events.onboarding.record(user, step).await;
        }
    }

    async fn notify(&self, user: &UserId, notification: NewNotification) {
        if let Some(events) = &self.events {
            events
                .notifications
                .notify_quietly(user, notification)
                .await;
        }
    }

    /// The current time of the service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Loads a key the caller may manage through this service's reach; any other key does not
    /// exist for them.
    async fn owned(&self, caller: &Caller, id: KeyId) -> Result<ApiKey, Error> {
        match self.store.get(id).await? {
            Some(key) if self.reach.admits(caller, &key) => self.numbered(key).await,
            _ => Err(KeyId::not_found()),
        }
    }

    /// `key` with its number: a key stored before numbers gets one the first time it is read.
    async fn numbered(&self, mut key: ApiKey) -> Result<ApiKey, Error> {
        if key.number.is_none() {
            key.number = Some(self.store.number(&key).await?);
        }
        Ok(key)
    }

    /// The id of the key `by` names, among the keys the caller may manage (else a 404).
    pub async fn resolve(&self, caller: &Caller, by: KeyRef) -> Result<KeyId, Error> {
        match by {
            KeyRef::Id(id) => Ok(id),
            KeyRef::Number(number) => self
                .store
                .find_number(&caller.workspace_id, number)
                .await?
                .ok_or_else(KeyId::not_found),
        }
    }

    async fn mint(&self, id: KeyId) -> Result<(PlainKey, String), Error> {
        let plain = PlainKey::generate(&self.prefix, id);
        let hash = hashing::hash_key(&plain);
        Ok((plain, hash))
    }

    /// Creates a key for the caller.
    pub async fn create(&self, caller: &Caller, spec: NewKeySpec) -> Result<IssuedKey, Error> {
        self.create_for(caller, &caller.user_id.clone(), spec).await
    }

    /// Creates a key owned by `owner`: the caller, or, when this service's reach spans the
    /// caller's workspace, a user the caller may manage (who that is, the route decides: see
    /// [`Reach::may_manage_user`]). Anyone else: 404.
    pub async fn create_for(
        &self,
        caller: &Caller,
        owner: &UserId,
        spec: NewKeySpec,
    ) -> Result<IssuedKey, Error> {
        if *owner != caller.user_id && !self.reach.spans_workspace(caller) {
            return Err(Error::NotFound("No user with that identifier.".into()));
        }
        let owner_role = self.owner_role(caller, owner).await?;
        let settled = Ceiling::new(caller, owner_role).settle(&spec)?;
        let id = KeyId::new();
        let (plain, secret_hash) = self.mint(id).await?;
        let now = self.now();
        let key = ApiKey {
            id,
            number: Some(self.store.reserve_number(&caller.workspace_id).await?),
            owner_id: owner.clone(),
            workspace_id: caller.workspace_id.clone(),
            name: spec.name,
            key_prefix: plain.key_prefix(),
            masked_key: plain.masked(),
            last_slice: plain.last_slice(),
            secret_hash,
            paired_secret_hash: None,
            permissions: spec.permissions,
            read_only: settled.read_only,
            description: spec.description,
            is_active: true,
            rate_limit: settled.rate_limit,
            allowed_ips: spec.allowed_ips,
            created_at: now,
            updated_at: now,
            expires_at: settled.expires_at,
            revoked_at: None,
            revocation_reason: None,
            leaked_at: None,
            rotated_to: None,
            rotated_from: None,
            usage_count: 0,
            last_used_at: None,
            failed_attempts: 0,
            last_failed_at: None,
            purpose: spec.purpose,
            version: 1,
        };
        let record = record::record(
            caller,
            "key.created",
            &[&key],
            record::changes(None, &key),
            now,
        );
        let (store, made) = (&self.store, &key);
        let key = self
            .trail
            .recording(
                record,
                |event| async move { store.insert(made, &event).await },
            )
            .await?;
        self.step(&key.owner_id, Step::CreatedApiKey).await;
        if key.expires_at.is_some() {
            self.step(&key.owner_id, Step::SetKeyExpiration).await;
        }
        Ok(IssuedKey { key, plain })
    }

    /// Every key of the caller in the workspace they act in (every key of that workspace, when
    /// the reach spans it), newest first.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<ApiKey>, Error> {
        let keys = if self.reach.spans_workspace(caller) {
            self.store.list_by_workspace(&caller.workspace_id).await?
        } else {
            let mut keys = self.store.list_by_owner(&caller.user_id).await?;
            keys.retain(|key| key.workspace_id == caller.workspace_id);
            keys
        };
        let mut numbered = Vec::with_capacity(keys.len());
        for key in keys {
            numbered.push(self.numbered(key).await?);
        }
        Ok(numbered)
    }

    /// The keys `owner` made in the caller's workspace: the caller's own, or, when this
    /// service's reach spans the workspace, another user's (whom the route has checked the
    /// caller may manage). Anyone else: 404.
    pub async fn list_of(&self, caller: &Caller, owner: &UserId) -> Result<Vec<ApiKey>, Error> {
        if *owner != caller.user_id && !self.reach.spans_workspace(caller) {
            return Err(Error::NotFound("No user with that identifier.".into()));
        }
        let mut keys = Vec::new();
        for key in self.store.list_by_owner(owner).await? {
            if key.workspace_id == caller.workspace_id {
                keys.push(self.numbered(key).await?);
            }
        }
        Ok(keys)
    }

    /// One key of the caller.
    pub async fn get(&self, caller: &Caller, id: KeyId) -> Result<ApiKey, Error> {
        self.owned(caller, id).await
    }

    /// Writes `key` (changed from `before`) at its next version with the event of `action` by
    /// `caller`, and drops it from this container's cache.
    async fn save(
        &self,
        caller: &Caller,
        before: &ApiKey,
        mut key: ApiKey,
        action: &str,
    ) -> Result<ApiKey, Error> {
        key.version += 1;
        key.updated_at = self.now();
        let changes = record::changes(Some(before), &key);
        let record = record::record(caller, action, &[&key], changes, key.updated_at);
        let (store, changed) = (&self.store, &key);
        self.trail
            .recording(record, |event| async move {
                store.update(changed, &event).await
            })
            .await?;
        self.cache.forget(key.id);
        Ok(key)
    }

    /// Applies an update; the secret is never part of one.
    pub async fn update(
        &self,
        caller: &Caller,
        id: KeyId,
        changes: KeyChanges,
    ) -> Result<ApiKey, Error> {
        let before = self.owned(caller, id).await?;
        let ceiling = self.ceiling(caller, &before).await?;
        let key = self.changed(&ceiling, &before, changes)?;
        self.save(caller, &before, key, "key.updated").await
    }

    /// `key` with `changes` set, refused where they take it past its `ceiling`.
    fn changed(
        &self,
        ceiling: &Ceiling<'_>,
        key: &ApiKey,
        changes: KeyChanges,
    ) -> Result<ApiKey, Error> {
        ceiling.within_grant(
            changes.permissions.as_deref(),
            changes.allowed_ips.as_deref(),
        )?;
        if changes.expires_at.is_some() {
            expiry_may_change(key, self.now())?;
        }
        let KeyChanges {
            name,
            permissions,
            is_active,
            rate_limit,
            read_only,
            description,
            allowed_ips,
            expires_at,
            role,
            kind,
            system_generated,
            mcp_deployment_id,
            endpoint_id,
        } = changes;
        fn set<T>(field: &mut T, change: Option<T>) {
            if let Some(value) = change {
                *field = value;
            }
        }
        let mut after = key.clone();
        set(&mut after.name, name);
        set(&mut after.permissions, permissions);
        set(&mut after.is_active, is_active);
        set(&mut after.rate_limit, rate_limit);
        set(&mut after.read_only, read_only);
        set(&mut after.description, description);
        set(&mut after.allowed_ips, allowed_ips);
        set(&mut after.expires_at, expires_at);
        set(&mut after.purpose.role, role.map(Some));
        set(&mut after.purpose.kind, kind);
        set(&mut after.purpose.system_generated, system_generated);
        set(&mut after.purpose.mcp_deployment_id, mcp_deployment_id);
        set(&mut after.purpose.endpoint_id, endpoint_id);
        ceiling.check_change(key, &after)?;
        Ok(after)
    }

    /// Deletes a key: it is gone (404) afterwards.
    pub async fn delete(&self, caller: &Caller, id: KeyId) -> Result<(), Error> {
        let key = self.owned(caller, id).await?;
        self.delete_recorded(caller, &key).await?;
        self.cache.forget(id);
        Ok(())
    }

    /// Deletes `key` with the event of its deletion by `caller`.
    async fn delete_recorded(
        &self,
        caller: &Caller,
        key: &ApiKey,
    ) -> Result<(), crate::store_error::StoreError> {
        let record = record::record(
            caller,
            "key.deleted",
            &[key],
            Default::default(),
            self.now(),
        );
        let store = &self.store;
        self.trail
            .recording(
                record,
                |event| async move { store.delete(key, &event).await },
            )
            .await
    }

    /// Replaces a key's secret, keeping its id and settings; the old secret stops working at once.
    pub async fn regenerate(&self, caller: &Caller, id: KeyId) -> Result<IssuedKey, Error> {
        self.regenerate_with(caller, id, KeyChanges::default())
            .await
    }

    /// Replaces a key's secret and applies `changes`, in one write: either both happen or
    /// neither (latitude.sh's PUT).
    pub async fn regenerate_with(
        &self,
        caller: &Caller,
        id: KeyId,
        changes: KeyChanges,
    ) -> Result<IssuedKey, Error> {
        let key = self.owned(caller, id).await?;
        if key.revoked_at.is_some() {
            return Err(Error::InvalidState {
                code: "key_revoked",
                detail: "A revoked key cannot be regenerated.".into(),
            });
        }
        let ceiling = self.ceiling(caller, &key).await?;
        ceiling.check_reissue(&key)?;
        let before = key;
        let mut key = self.changed(&ceiling, &before, changes)?;
        let (plain, secret_hash) = self.mint(id).await?;
        key.secret_hash = secret_hash;
        key.masked_key = plain.masked();
        key.last_slice = plain.last_slice();
        key.key_prefix = plain.key_prefix();
        let key = self.save(caller, &before, key, "key.regenerated").await?;
        Ok(IssuedKey { key, plain })
    }

    /// Gives a key a new paired secret, replacing any it had: from now on the key is refused
    /// without it (here at once; in other containers within the cache bound). The secret is
    /// returned to show once.
    pub async fn pair_secret(
        &self,
        caller: &Caller,
        id: KeyId,
    ) -> Result<(ApiKey, PairedSecret), Error> {
        let mut key = self.owned(caller, id).await?;
        if key.revoked_at.is_some() {
            return Err(Error::InvalidState {
                code: "key_revoked",
                detail: "A revoked key cannot be given a secret.".into(),
            });
        }
        self.ceiling(caller, &key).await?.check_reissue(&key)?;
        let before = key.clone();
        let secret = PairedSecret::generate();
        key.paired_secret_hash = Some(hashing::hash_secret(secret.expose()));
        let key = self
            .save(caller, &before, key, "key.secret_generated")
            .await?;
        Ok((key, secret))
    }

    /// Replaces a key with a new one of the same settings; the old one works for `grace_days` more.
    pub async fn rotate(
        &self,
        caller: &Caller,
        id: KeyId,
        grace_days: i64,
    ) -> Result<IssuedKey, Error> {
        let mut old = self.owned(caller, id).await?;
        let now = self.now();
        let refusal = match old.status(now) {
            KeyStatus::Rotating => Some(("key_rotating", "is already in a rotation grace period")),
            KeyStatus::Revoked => Some(("key_revoked", "is revoked")),
            KeyStatus::Expired => Some(("key_expired", "has expired")),
            KeyStatus::Active | KeyStatus::Disabled => None,
        };
        if let Some((code, why)) = refusal {
            return Err(Error::InvalidState {
                code,
                detail: format!("The key {why} and cannot be rotated."),
            });
        }
        let ceiling = self.ceiling(caller, &old).await?;
        ceiling.check_reissue(&old)?;
        let new_id = KeyId::new();
        let (plain, secret_hash) = self.mint(new_id).await?;
        let new = ApiKey {
            id: new_id,
            number: Some(self.store.reserve_number(&old.workspace_id).await?),
            owner_id: old.owner_id.clone(),
            workspace_id: old.workspace_id.clone(),
            name: old.name.clone(),
            key_prefix: plain.key_prefix(),
            masked_key: plain.masked(),
            last_slice: plain.last_slice(),
            secret_hash,
            paired_secret_hash: old.paired_secret_hash.clone(),
            permissions: old.permissions.clone(),
            read_only: old.read_only,
            description: old.description.clone(),
            is_active: true,
            rate_limit: old.rate_limit,
            allowed_ips: old.allowed_ips.clone(),
            created_at: now,
            updated_at: now,
            expires_at: ceiling.successor_expiry(&old),
            revoked_at: None,
            revocation_reason: None,
            leaked_at: None,
            rotated_to: None,
            rotated_from: Some(old.id),
            usage_count: 0,
            last_used_at: None,
            failed_attempts: 0,
            last_failed_at: None,
            purpose: old.purpose.clone(),
            version: 1,
        };
        let grace_end = now + Duration::days(grace_days);
        let before = old.clone();
        old.expires_at = Some(old.expires_at.map_or(grace_end, |at| at.min(grace_end)));
        old.rotated_to = Some(new_id);
        old.version += 1;
        old.updated_at = now;
        let record = record::record(
            caller,
            "key.rotated",
            &[&old, &new],
            record::changes(Some(&before), &old),
            now,
        );
        let (store, old_ref, new_ref) = (&self.store, &old, &new);
        let new = self
            .trail
            .recording(record, |event| async move {
                store.rotate(old_ref, new_ref, &event).await
            })
            .await?;
        self.cache.forget(old.id);
        self.step(&old.owner_id, Step::RotatedApiKey).await;
        let notification = NewNotification {
            kind: kinds::API_KEY_ROTATED,
            title: format!("API key \"{}\" rotated", old.name),
            message: format!(
                "A new key replaced \"{}\"; the previous key works until {}.",
                old.name,
                timestamp::format(grace_end)
            ),
            data: serde_json::json!({
                "api_key_id": old.id, "new_api_key_id": new.id, "grace_period_ends_at": timestamp::format(grace_end)
            }),
        };
        self.notify(&old.owner_id, notification).await;
        Ok(IssuedKey { key: new, plain })
    }

    /// Sets or (with `None`) clears a key's expiry.
    pub async fn set_expiration(
        &self,
        caller: &Caller,
        id: KeyId,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<ApiKey, Error> {
        let before = self.owned(caller, id).await?;
        let changes = KeyChanges {
            expires_at: Some(expires_at),
            ..KeyChanges::default()
        };
        let ceiling = self.ceiling(caller, &before).await?;
        let key = self.changed(&ceiling, &before, changes)?;
        let action = if expires_at.is_some() {
            "key.expiry_set"
        } else {
            "key.expiry_cleared"
        };
        let key = self.save(caller, &before, key, action).await?;
        if key.expires_at.is_some() {
            self.step(&key.owner_id, Step::SetKeyExpiration).await;
        }
        Ok(key)
    }

    /// Deletes every key the caller holds, in every workspace (their account is being erased),
    /// each with its event in its workspace's log.
    pub async fn erase_all_of(&self, caller: &Caller) -> Result<(), Error> {
        for key in self.store.list_by_owner(&caller.user_id).await? {
            match self.delete_recorded(caller, &key).await {
                Ok(()) | Err(crate::store_error::StoreError::Conflict) => {}
                Err(err) => return Err(err.into()),
            }
            self.cache.forget(key.id);
        }
        Ok(())
    }

    /// The caller's usable keys expiring within `days`, soonest first.
    pub async fn expiring(
        &self,
        caller: &Caller,
        days: i64,
    ) -> Result<Vec<(ApiKey, DateTime<Utc>)>, Error> {
        let now = self.now();
        let horizon = now + Duration::days(days);
        let mut due: Vec<(ApiKey, DateTime<Utc>)> = self
            .list(caller)
            .await?
            .into_iter()
            .filter(|k| matches!(k.status(now), KeyStatus::Active | KeyStatus::Rotating))
            .filter_map(|k| k.expires_at.filter(|at| *at <= horizon).map(|at| (k, at)))
            .collect();
        due.sort_by_key(|(k, at)| (*at, k.id.0));
        Ok(due)
    }

    /// Revokes a key permanently, keeping it for audit.
    pub async fn revoke(
        &self,
        caller: &Caller,
        id: KeyId,
        reason: String,
    ) -> Result<ApiKey, Error> {
        let mut key = self.owned(caller, id).await?;
        if key.revoked_at.is_some() {
            return Err(Error::InvalidState {
                code: "key_revoked",
                detail: "The key is already revoked.".into(),
            });
        }
        let before = key.clone();
        key.revoked_at = Some(self.now());
        key.revocation_reason = Some(reason);
        let key = self.save(caller, &before, key, "key.revoked").await?;
        let notification = NewNotification {
            kind: kinds::API_KEY_REVOKED,
            title: format!("API key \"{}\" revoked", key.name),
            message: format!(
                "The key \"{}\" was revoked: {}",
                key.name,
                key.revocation_reason.as_deref().unwrap_or_default()
            ),
            data: serde_json::json!({"api_key_id": key.id, "reason": key.revocation_reason}),
        };
        self.notify(&key.owner_id, notification).await;
        Ok(key)
    }

    /// Usage figures of a key, with the last [`STATS_DAYS`] days.
    pub async fn stats(&self, caller: &Caller, id: KeyId) -> Result<KeyStats, Error> {
        let key = self.owned(caller, id).await?;
        let today = self.now().date_naive();
        let since = today - Duration::days(STATS_DAYS - 1);
        let recorded = self.store.daily_usage(id, since).await?;
        let daily = DailyUsage::every_day(&recorded, since, today);
        Ok(KeyStats { key, daily })
    }
}

#[cfg(test)]
mod tests {
    //! The key use cases over the in-memory store: no DynamoDB needed.

    use std::sync::Arc;

    use super::*;
    use crate::{
        clock::SystemClock, ids::WorkspaceId, keys::caller::Credential, keys::model::KeyStatus,
        role::Role, store::memory::MemoryKeyStore, store_error::StoreError,
    };

    fn service() -> (KeyService, Arc<MemoryKeyStore>) {
        let store = Arc::new(MemoryKeyStore::default());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let cache = Arc::new(VerifiedKeyCache::new(
            std::time::Duration::from_secs(30),
            clock.clone(),
        ));
        let service = KeyService::new(store.clone(), KeyPrefix::default(), clock, cache);
        (service, store)
    }

    fn caller() -> Caller {
        let id = uuid::Uuid::new_v4().to_string();
        Caller {
            origin: Default::default(),
            user_id: UserId::parse(&id).unwrap(),
            workspace_id: WorkspaceId::parse(&id).unwrap(),
            credential: Credential::Session { role: Role::Owner },
        }
    }

    async fn create(keys: &KeyService, caller: &Caller, spec: NewKeySpec) -> IssuedKey {
        keys.create(caller, spec).await.unwrap()
    }

    /// An event that extends `key`'s workspace's chain now.
    async fn next_event(store: &MemoryKeyStore, key: &ApiKey) -> crate::audit::AuditEvent {
        let head = store.audit_log().head(&key.workspace_id).await.unwrap();
        let record = record::record(&caller(), "test", &[key], Default::default(), Utc::now());
        crate::audit::chain::seal(record, &head)
    }

    /// `workspace`'s events, oldest first.
    async fn events_of(
        store: &MemoryKeyStore,
        workspace: &WorkspaceId,
    ) -> Vec<crate::audit::AuditEvent> {
        store
            .audit_log()
            .in_chain_order(workspace, None, None)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn every_change_records_its_event_with_what_changed_and_no_secret() {
        let (keys, store) = service();
        let owner = caller();
        let made = create(&keys, &owner, NewKeySpec::named("first")).await;
        let id = made.key.id;
        keys.update(
            &owner,
            id,
            KeyChanges {
                name: Some("renamed".into()),
                ..KeyChanges::default()
            },
        )
        .await
        .unwrap();
        let regenerated = keys.regenerate(&owner, id).await.unwrap();
        keys.pair_secret(&owner, id).await.unwrap();
        keys.set_expiration(&owner, id, Some(Utc::now() + Duration::days(3)))
            .await
            .unwrap();
        keys.set_expiration(&owner, id, None).await.unwrap();
        let rotated = keys.rotate(&owner, id, 1).await.unwrap();
        keys.revoke(&owner, rotated.key.id, "leaked".into())
            .await
            .unwrap();
        keys.delete(&owner, id).await.unwrap();
        let events = events_of(&store, &owner.workspace_id).await;
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "key.created",
                "key.updated",
                "key.regenerated",
                "key.secret_generated",
                "key.expiry_set",
                "key.expiry_cleared",
                "key.rotated",
                "key.revoked",
                "key.deleted"
            ]
        );
        assert_eq!(crate::audit::chain::verify(&events).first_broken, None);
        let renamed = &events[1].changes["name"];
        assert_eq!(
            (renamed.from.as_str(), renamed.to.as_str()),
            (Some("first"), Some("renamed"))
        );
        assert_eq!(
            events[6].targets.len(),
            2,
            "a rotation names the old key and the new"
        );
        assert_eq!(events[7].changes["revocation_reason"].to, "leaked");
        assert!(
            events
                .iter()
                .all(|e| e.actor.id == owner.user_id.to_string())
        );
        let text = serde_json::to_string(&events).unwrap();
        for secret in [
            made.plain.expose(),
            regenerated.plain.expose(),
            rotated.plain.expose(),
        ] {
            assert!(!text.contains(secret), "a secret in the log");
        }
        assert!(!text.contains("argon2"), "a hash in the log");
    }

    #[tokio::test]
    async fn a_refused_change_records_nothing() {
        let (keys, store) = service();
        let (owner, stranger) = (caller(), caller());
        let made = create(&keys, &owner, NewKeySpec::named("k")).await;
        keys.revoke(&owner, made.key.id, "done".into())
            .await
            .unwrap();
        assert!(
            keys.revoke(&owner, made.key.id, "again".into())
                .await
                .is_err()
        );
        assert!(keys.rotate(&owner, made.key.id, 1).await.is_err());
        assert!(keys.delete(&stranger, made.key.id).await.is_err());
        assert_eq!(events_of(&store, &owner.workspace_id).await.len(), 2);
        assert!(events_of(&store, &stranger.workspace_id).await.is_empty());
    }

    #[tokio::test]
    async fn racing_changes_in_one_workspace_keep_one_unbroken_chain() {
        let (keys, store) = service();
        let owner = caller();
        let writers: Vec<_> = (0..20)
            .map(|i| {
                let (keys, owner) = (keys.clone(), owner.clone());
                tokio::spawn(async move {
                    create(&keys, &owner, NewKeySpec::named(format!("k{i}"))).await
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let events = events_of(&store, &owner.workspace_id).await;
        assert_eq!(events.len(), 20);
        assert_eq!(
            events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (1..=20).collect::<Vec<_>>()
        );
        assert_eq!(crate::audit::chain::verify(&events).first_broken, None);
    }

    #[tokio::test]
    async fn another_users_key_does_not_exist_for_them() {
        let (keys, _) = service();
        let (alice, bob) = (caller(), caller());
        let issued = create(&keys, &alice, NewKeySpec::named("a")).await;
        assert_eq!(keys.list(&alice).await.unwrap().len(), 1);
        assert!(keys.list(&bob).await.unwrap().is_empty());
        for result in [
            keys.get(&bob, issued.key.id).await.map(|_| ()),
            keys.delete(&bob, issued.key.id).await,
            keys.revoke(&bob, issued.key.id, "x".into())
                .await
                .map(|_| ()),
        ] {
            assert!(matches!(result, Err(Error::NotFound(_))), "{result:?}");
        }
    }

    #[tokio::test]
    async fn rotation_keeps_the_old_key_for_its_grace_and_refuses_a_second_rotation() {
        let (keys, _) = service();
        let owner = caller();
        let old = create(
            &keys,
            &owner,
            NewKeySpec {
                permissions: vec!["read".into()],
                ..NewKeySpec::named("rotated")
            },
        )
        .await;
        let new = keys.rotate(&owner, old.key.id, 7).await.unwrap();
        assert_ne!(new.key.id, old.key.id);
        assert_eq!(new.key.permissions, ["read"]);
        let old_now = keys.get(&owner, old.key.id).await.unwrap();
        assert_eq!(old_now.status(keys.now()), KeyStatus::Rotating);
        assert_eq!(old_now.rotated_to, Some(new.key.id));
        let again = keys.rotate(&owner, old.key.id, 7).await;
        assert!(
            matches!(again, Err(Error::InvalidState { .. })),
            "{again:?}"
        );
    }

    #[tokio::test]
    async fn revocation_is_permanent_and_delete_is_gone() {
        let (keys, _) = service();
        let owner = caller();
        let issued = create(&keys, &owner, NewKeySpec::named("Default")).await;
        let revoked = keys
            .revoke(&owner, issued.key.id, "leaked".into())
            .await
            .unwrap();
        assert_eq!(revoked.status(keys.now()), KeyStatus::Revoked);
        assert!(
            keys.revoke(&owner, issued.key.id, "again".into())
                .await
                .is_err()
        );
        keys.delete(&owner, issued.key.id).await.unwrap();
        assert!(matches!(
            keys.get(&owner, issued.key.id).await,
            Err(Error::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_write_from_a_stale_version_is_a_conflict() {
        let (keys, store) = service();
        let owner = caller();
        let issued = create(&keys, &owner, NewKeySpec::named("Default")).await;
        let mut stale = issued.key.clone();
        keys.regenerate(&owner, issued.key.id).await.unwrap();
        stale.version += 1;
        stale.name = "lost update".into();
        let event = next_event(&store, &stale).await;
        assert!(matches!(
            store.update(&stale, &event).await,
            Err(StoreError::Conflict)
        ));
        assert_ne!(
            keys.get(&owner, issued.key.id).await.unwrap().name,
            "lost update"
        );
    }

    fn session(role: Role) -> Caller {
        Caller {
            credential: Credential::Session { role },
            ..caller()
        }
    }

    fn acting(key: &ApiKey) -> Caller {
        Caller {
            origin: Default::default(),
            user_id: key.owner_id.clone(),
            workspace_id: key.workspace_id.clone(),
            credential: Credential::ApiKey(key.grant()),
        }
    }

    fn forbidden<T: std::fmt::Debug>(result: Result<T, Error>) {
        assert!(matches!(result, Err(Error::Forbidden(_))), "{result:?}");
    }

    /// A viewer's keys are read-only: made so when nothing is said, refused when read-write
    /// is asked for, at creation and by any later change, whoever makes it.
    #[tokio::test]
    async fn a_viewer_s_keys_are_read_only_at_creation_and_after_any_change() {
        let (keys, _) = service();
        let viewer = session(Role::Viewer);
        let made = keys.create(&viewer, NewKeySpec::named("v")).await.unwrap();
        assert!(made.key.read_only);
        assert_eq!(made.key.role(), Role::Viewer);
        forbidden(
            keys.create(
                &viewer,
                NewKeySpec {
                    read_only: Some(false),
                    ..NewKeySpec::named("v")
                },
            )
            .await,
        );
        let loosen = KeyChanges {
            read_only: Some(false),
            ..KeyChanges::default()
        };
        forbidden(keys.update(&viewer, made.key.id, loosen.clone()).await);
        forbidden(keys.regenerate_with(&viewer, made.key.id, loosen).await);
        let promote = KeyChanges {
            role: Some(Role::Member),
            read_only: Some(false),
            ..KeyChanges::default()
        };
        forbidden(keys.update(&viewer, made.key.id, promote).await);
        assert!(keys.get(&viewer, made.key.id).await.unwrap().read_only);
        // A rename is still a change the viewer may make.
        let rename = KeyChanges {
            name: Some("renamed".into()),
            ..KeyChanges::default()
        };
        keys.update(&viewer, made.key.id, rename).await.unwrap();

        // An owner of the workspace, through a reach that spans it, cannot loosen it either:
        // without the members' roles the other user counts as a viewer.
        let owner = Caller {
            origin: Default::default(),
            credential: Credential::Session { role: Role::Owner },
            user_id: UserId::parse("owner-of-ws").unwrap(),
            workspace_id: viewer.workspace_id.clone(),
        };
        let workspace = keys.reaching(Reach::Workspace);
        let loosen = KeyChanges {
            read_only: Some(false),
            ..KeyChanges::default()
        };
        forbidden(workspace.update(&owner, made.key.id, loosen).await);
    }

    /// A key acting on the API hands on nothing it does not hold: not on itself, not on a key
    /// it makes, not on a rotation's successor.
    #[tokio::test]
    async fn a_key_never_loosens_itself_or_what_it_makes() {
        let (keys, _) = service();
        let owner = session(Role::Owner);
        let day = crate::keys::limit::RateLimit::new(5, crate::keys::limit::RateWindow::Day);
        let expires = keys.now() + Duration::days(2);
        let parent = keys
            .create(
                &owner,
                NewKeySpec {
                    rate_limit: Some(day),
                    expires_at: Some(expires),
                    ..NewKeySpec::named("parent")
                },
            )
            .await
            .unwrap()
            .key;
        let as_key = acting(&parent);
        for changes in [
            KeyChanges {
                rate_limit: Some(None),
                ..KeyChanges::default()
            },
            KeyChanges {
                rate_limit: Some(crate::keys::limit::RateLimit::hourly(1)),
                ..KeyChanges::default()
            },
            KeyChanges {
                expires_at: Some(None),
                ..KeyChanges::default()
            },
            KeyChanges {
                expires_at: Some(Some(expires + Duration::days(1))),
                ..KeyChanges::default()
            },
        ] {
            forbidden(keys.update(&as_key, parent.id, changes).await);
        }
        forbidden(keys.set_expiration(&as_key, parent.id, None).await);
        // Tightening is allowed.
        let sooner = keys
            .set_expiration(&as_key, parent.id, Some(expires - Duration::days(1)))
            .await
            .unwrap();
        let as_key = acting(&sooner);

        // A child with nothing said gets the parent's limit and expiry; asking for more is refused.
        let child = keys
            .create(&as_key, NewKeySpec::named("child"))
            .await
            .unwrap();
        assert_eq!(child.key.rate_limit, day);
        assert_eq!(child.key.expires_at, sooner.expires_at);
        for spec in [
            NewKeySpec {
                rate_limit: Some(None),
                ..NewKeySpec::named("c")
            },
            NewKeySpec {
                expires_at: Some(expires + Duration::days(30)),
                ..NewKeySpec::named("c")
            },
            NewKeySpec {
                rate_limit: Some(crate::keys::limit::RateLimit::hourly(1000)),
                ..NewKeySpec::named("c")
            },
        ] {
            forbidden(keys.create(&as_key, spec).await);
        }

        // A self-rotation's successor expires when the rotated key would have.
        let successor = keys.rotate(&as_key, sooner.id, 1).await.unwrap();
        assert_eq!(successor.key.expires_at, sooner.expires_at);
        assert_eq!(successor.key.rate_limit, day);

        // A wider sibling cannot be regenerated or rotated by the narrower key.
        let wide = keys
            .create(&owner, NewKeySpec::named("wide"))
            .await
            .unwrap();
        forbidden(keys.regenerate(&as_key, wide.key.id).await);
        forbidden(keys.rotate(&as_key, wide.key.id, 1).await);
    }

    /// A session reaches the keys of the workspace its token names only, even the same user's
    /// keys in another workspace.
    #[tokio::test]
    async fn a_token_for_one_workspace_does_not_reach_the_same_user_s_keys_in_another() {
        let (keys, _) = service();
        let in_one = session(Role::Viewer);
        let in_other = Caller {
            workspace_id: crate::ids::WorkspaceId::parse("other").unwrap(),
            credential: Credential::Session { role: Role::Owner },
            ..in_one.clone()
        };
        let key = keys
            .create(&in_one, NewKeySpec::named("k"))
            .await
            .unwrap()
            .key;
        for reach in [Reach::Own, Reach::Workspace] {
            let keys = keys.reaching(reach);
            assert!(matches!(
                keys.get(&in_other, key.id).await,
                Err(Error::NotFound(_))
            ));
            let raise = KeyChanges {
                role: Some(Role::Owner),
                ..KeyChanges::default()
            };
            assert!(matches!(
                keys.update(&in_other, key.id, raise).await,
                Err(Error::NotFound(_))
            ));
            assert!(keys.list(&in_other).await.unwrap().is_empty());
        }
        assert_eq!(keys.list(&in_one).await.unwrap().len(), 1);
    }

    /// Nobody makes a key of a role above their own; only a reach that spans the workspace
    /// makes keys for another user.
    #[tokio::test]
    async fn roles_and_owners_are_bounded() {
        let (keys, _) = service();
        let mut viewer = caller();
        viewer.credential = Credential::Session { role: Role::Viewer };
        let with_role = |role| NewKeySpec {
            purpose: crate::keys::model::KeyPurpose {
                role: Some(role),
                ..Default::default()
            },
            ..NewKeySpec::named("k")
        };
        let refused = keys.create(&viewer, with_role(Role::Member)).await;
        assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
        keys.create(&viewer, with_role(Role::Viewer)).await.unwrap();

        let owner = caller();
        let member_key = keys.create(&owner, with_role(Role::Member)).await.unwrap();
        let as_key = Caller {
            credential: Credential::ApiKey(member_key.key.grant()),
            ..owner.clone()
        };
        let refused = keys.create(&as_key, with_role(Role::Admin)).await;
        assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
        keys.create(&as_key, with_role(Role::Member)).await.unwrap();

        let someone = UserId::parse("someone-else").unwrap();
        let refused = keys
            .create_for(&owner, &someone, NewKeySpec::named("k"))
            .await;
        assert!(matches!(refused, Err(Error::NotFound(_))), "{refused:?}");
        let workspace = keys.reaching(Reach::Workspace);
        let made = workspace
            .create_for(&owner, &someone, NewKeySpec::named("k"))
            .await
            .unwrap();
        assert_eq!(made.key.owner_id, someone);
        assert_eq!(workspace.list_of(&owner, &someone).await.unwrap().len(), 1);
        assert!(matches!(
            keys.list_of(&owner, &someone).await,
            Err(Error::NotFound(_))
        ));
    }
}
