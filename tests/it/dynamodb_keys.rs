//! Integration tests of the key store and the key use cases against DynamoDB Local.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use latchkey_aws::dynamo::DynamoKeyStore;
use latchkey_core::audit::AuditEvent;
use latchkey_core::{
    Error,
    auth::{Caller, Credential, Role},
    clock::SystemClock,
    ids::{KeyId, UserId, WorkspaceId},
    keys::{
        cache::VerifiedKeyCache,
        model::ApiKey,
        model::DailyUsage,
        service::KeyService,
        spec::KeyChanges,
        store::{ChangeCursor, KeyStore},
    },
    outcome::VerifyCode,
    store::StoreError,
    usage::AttemptContext,
};
use latchkey_http::api::api_keys::input::CreateKeyRequest;
use latchkey_http::error::Status;
use std::time::Duration;
use tokio::sync::Barrier;

async fn store() -> Arc<DynamoKeyStore> {
    Arc::new(
        latchkey_aws::dynamo::Table::new(
            latchkey_tests::dynamodb().await,
            latchkey_tests::config().table_name,
        )
        .keys(),
    )
}

fn caller() -> Caller {
    let user = UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
    Caller {
        origin: Default::default(),
        workspace_id: WorkspaceId::personal(&user),
        user_id: user,
        credential: Credential::Session { role: Role::Owner },
    }
}

fn service(store: Arc<dyn KeyStore>) -> KeyService {
    let config = latchkey_tests::config();
    KeyService::new(
        store,
        config.key_prefix,
        Arc::new(SystemClock),
        Arc::new(VerifiedKeyCache::new(
            config.key_cache_ttl,
            Arc::new(SystemClock),
        )),
    )
}

fn spec(body: serde_json::Value) -> latchkey_core::keys::spec::NewKeySpec {
    serde_json::from_value::<CreateKeyRequest>(body)
        .unwrap()
        .parse(chrono::Utc::now())
        .unwrap()
}

/// A store whose reads wait until `parties` readers have read: it makes two requests read the
/// same version before either writes, the interleaving a race needs.
struct ReadTogether {
    inner: Arc<DynamoKeyStore>,
    barrier: Barrier,
}

#[async_trait]
impl KeyStore for ReadTogether {
    async fn get(&self, id: KeyId) -> Result<Option<ApiKey>, StoreError> {
        let key = self.inner.get(id).await;
        self.barrier.wait().await;
        key
    }
    async fn list_by_owner(&self, owner: &UserId) -> Result<Vec<ApiKey>, StoreError> {
        self.inner.list_by_owner(owner).await
    }
    async fn list_by_workspace(
        &self,
        workspace: &latchkey_core::ids::WorkspaceId,
    ) -> Result<Vec<ApiKey>, StoreError> {
        self.inner.list_by_workspace(workspace).await
    }
    fn audit_log(&self) -> Arc<dyn latchkey_core::audit::store::AuditStore> {
        self.inner.audit_log()
    }
    async fn reserve_number(&self, workspace: &WorkspaceId) -> Result<u64, StoreError> {
        self.inner.reserve_number(workspace).await
    }
    async fn insert(&self, key: &ApiKey, event: &AuditEvent) -> Result<ApiKey, StoreError> {
        self.inner.insert(key, event).await
    }
    async fn update(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        self.inner.update(key, event).await
    }
    async fn rotate(
        &self,
        old: &ApiKey,
        new: &ApiKey,
        event: &AuditEvent,
    ) -> Result<ApiKey, StoreError> {
        self.inner.rotate(old, new, event).await
    }
    async fn number(&self, key: &ApiKey) -> Result<u64, StoreError> {
        self.inner.number(key).await
    }
    async fn find_number(
        &self,
        workspace: &WorkspaceId,
        number: u64,
    ) -> Result<Option<KeyId>, StoreError> {
        self.inner.find_number(workspace, number).await
    }
    async fn rehash(&self, id: KeyId, old: &str, new: &str) -> Result<(), StoreError> {
        self.inner.rehash(id, old, new).await
    }
    async fn delete(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        self.inner.delete(key, event).await
    }
    fn change_cursor(&self) -> ChangeCursor {
        self.inner.change_cursor()
    }
    async fn changes_after(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<KeyId>, ChangeCursor), StoreError> {
        self.inner.changes_after(cursor).await
    }
    async fn daily_usage(
        &self,
        id: KeyId,
        since: NaiveDate,
    ) -> Result<Vec<DailyUsage>, StoreError> {
        self.inner.daily_usage(id, since).await
    }
}

/// Every update and deletion lands in the key-change feed with the change, and a reader that
/// keeps its cursor is told of each once.
#[tokio::test]
async fn the_change_feed_tells_each_reader_of_every_update_and_deletion_once() {
    let base = store().await;
    let keys = service(base.clone());
    let owner = caller();
    let revoked = keys
        .create(&owner, spec(serde_json::json!({})))
        .await
        .unwrap()
        .key;
    let deleted = keys
        .create(&owner, spec(serde_json::json!({})))
        .await
        .unwrap()
        .key;
    let untouched = keys
        .create(&owner, spec(serde_json::json!({})))
        .await
        .unwrap()
        .key;
    let cursor = base.change_cursor();
    keys.revoke(&owner, revoked.id, "leaked".into())
        .await
        .unwrap();
    keys.delete(&owner, deleted.id).await.unwrap();
    let (changed, next) = base.changes_after(&cursor).await.unwrap();
    assert!(changed.contains(&revoked.id), "{changed:?}");
    assert!(changed.contains(&deleted.id), "{changed:?}");
    assert!(!changed.contains(&untouched.id), "made, never changed");
    let (again, _) = base.changes_after(&next).await.unwrap();
    assert!(
        !again.contains(&revoked.id) && !again.contains(&deleted.id),
        "told once: {again:?}"
    );
}

/// A hash upgrade replaces the hash only while it is still the one verified, and leaves the
/// key's version (and so any concurrent settings change) alone.
#[tokio::test]
async fn a_hash_upgrade_is_conditional_on_the_hash_it_replaces() {
    let base = store().await;
    let created = service(base.clone())
        .create(&caller(), spec(serde_json::json!({})))
        .await
        .unwrap();
    let id = created.key.id;
    let old = created.key.secret_hash.clone();
    base.rehash(id, &old, "upgraded").await.unwrap();
    let stored = base.get(id).await.unwrap().unwrap();
    assert_eq!(stored.secret_hash, "upgraded");
    assert_eq!(stored.version, created.key.version);
    assert!(matches!(
        base.rehash(id, &old, "stale").await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(base.get(id).await.unwrap().unwrap().secret_hash, "upgraded");
}

#[tokio::test]
async fn concurrent_rotations_one_wins_one_conflicts_no_orphan() {
    let base = store().await;
    let owner = caller();
    let created = service(base.clone())
        .create(&owner, spec(serde_json::json!({})))
        .await
        .unwrap();
    let racing = service(Arc::new(ReadTogether {
        inner: base.clone(),
        barrier: Barrier::new(2),
    }));
    let (a, b) = tokio::join!(
        racing.rotate(&owner, created.key.id, 7),
        racing.rotate(&owner, created.key.id, 7)
    );
    let (won, lost) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        other => panic!("expected exactly one success: {other:?}"),
    };
    assert!(matches!(lost, Error::Conflict(_)), "{lost:?}");
    assert_eq!(lost.status().as_u16(), 409);
    let keys = base.list_by_owner(&owner.user_id).await.unwrap();
    let ids: Vec<KeyId> = keys.iter().map(|k| k.id).collect();
    assert_eq!(
        keys.len(),
        2,
        "the old key and exactly one new key: {ids:?}"
    );
    assert!(ids.contains(&won.key.id));
    let old = base.get(created.key.id).await.unwrap().unwrap();
    assert_eq!(old.rotated_to, Some(won.key.id));
}

#[tokio::test]
async fn concurrent_regenerations_one_wins_and_only_its_secret_works() {
    let base = store().await;
    let owner = caller();
    let created = service(base.clone())
        .create(&owner, spec(serde_json::json!({})))
        .await
        .unwrap();
    let racing = service(Arc::new(ReadTogether {
        inner: base.clone(),
        barrier: Barrier::new(2),
    }));
    let (a, b) = tokio::join!(
        racing.regenerate(&owner, created.key.id),
        racing.regenerate(&owner, created.key.id)
    );
    let (won, lost) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        other => panic!("expected exactly one success: {other:?}"),
    };
    assert_eq!(lost.status().as_u16(), 409, "{lost:?}");
    let (verifier, _) =
        latchkey_tests::verifier(Duration::from_secs(30), Arc::new(SystemClock)).await;
    let check = |secret: String| {
        let verifier = &verifier;
        async move {
            verifier
                .verify(&secret, &[], &AttemptContext::default())
                .await
                .unwrap()
                .code
        }
    };
    assert_eq!(
        check(won.plain.expose().to_owned()).await,
        VerifyCode::Valid
    );
    assert_eq!(
        check(created.plain.expose().to_owned()).await,
        VerifyCode::NotFound
    );
}

#[tokio::test]
async fn stale_versions_cannot_overwrite_or_delete() {
    let base = store().await;
    let owner = caller();
    let keys = service(base.clone());
    let created = keys
        .create(&owner, spec(serde_json::json!({"description": "d"})))
        .await
        .unwrap();
    let stale = created.key.clone();
    let changes = KeyChanges {
        description: Some(None),
        name: Some("renamed".into()),
        ..Default::default()
    };
    keys.update(&owner, created.key.id, changes).await.unwrap();
    let stored = base.get(created.key.id).await.unwrap().unwrap();
    assert_eq!(stored.description, None, "a cleared attribute is removed");
    assert_eq!(stored.name, "renamed");
    assert_eq!(stored.version, 2);

    let mut overwrite = stale.clone();
    overwrite.version += 1;
    let event = latchkey_tests::next_event(base.as_ref(), &overwrite).await;
    assert!(matches!(
        base.update(&overwrite, &event).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        base.delete(&stale, &event).await,
        Err(StoreError::Conflict)
    ));
    base.delete(&stored, &event).await.unwrap();
    assert!(base.get(stored.id).await.unwrap().is_none());
}

/// Keys made at once in one workspace get distinct numbers, a rotation's new key its own; each
/// number finds its key; a deleted key's number finds nothing and is never given again.
#[tokio::test]
async fn numbers_are_unique_in_a_workspace_and_never_reused() {
    let base = store().await;
    let owner = caller();
    let keys = service(base.clone());
    let made = futures_util::future::join_all(
        (0..8).map(|_| keys.create(&owner, spec(serde_json::json!({})))),
    )
    .await;
    let mut numbers: Vec<u64> = made
        .iter()
        .map(|r| r.as_ref().unwrap().key.number.unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
    for issued in &made {
        let key = &issued.as_ref().unwrap().key;
        let found = base
            .find_number(&owner.workspace_id, key.number.unwrap())
            .await
            .unwrap();
        assert_eq!(found, Some(key.id));
    }
    let first = &made[0].as_ref().unwrap().key;
    let rotated = keys.rotate(&owner, first.id, 1).await.unwrap();
    assert_eq!(rotated.key.number, Some(9));
    keys.delete(&owner, rotated.key.id).await.unwrap();
    assert_eq!(
        base.find_number(&owner.workspace_id, 9).await.unwrap(),
        None
    );
    let next = keys
        .create(&owner, spec(serde_json::json!({})))
        .await
        .unwrap();
    assert_eq!(next.key.number, Some(10), "9 is not given again");
    let elsewhere = caller();
    let theirs = keys
        .create(&elsewhere, spec(serde_json::json!({})))
        .await
        .unwrap();
    assert_eq!(theirs.key.number, Some(1), "numbers count per workspace");
}

/// A key stored before numbers gets one the first time it is read, once, even when two reads
/// race to give it.
#[tokio::test]
async fn a_key_stored_before_numbers_gets_one_on_first_sight() {
    let base = store().await;
    let owner = caller();
    let keys = service(base.clone());
    let earlier = keys
        .create(&owner, spec(serde_json::json!({})))
        .await
        .unwrap();
    let legacy = keys
        .create(&owner, spec(serde_json::json!({})))
        .await
        .unwrap();
    latchkey_tests::forget_key_number(legacy.key.id).await;
    assert_eq!(base.get(legacy.key.id).await.unwrap().unwrap().number, None);
    let (a, b) = tokio::join!(
        keys.get(&owner, legacy.key.id),
        keys.get(&owner, legacy.key.id)
    );
    let (a, b) = (a.unwrap().number.unwrap(), b.unwrap().number.unwrap());
    assert_eq!(a, b, "one number, whoever gives it");
    assert!(a > earlier.key.number.unwrap());
    assert_eq!(
        base.get(legacy.key.id).await.unwrap().unwrap().number,
        Some(a)
    );
    assert_eq!(
        base.find_number(&owner.workspace_id, a).await.unwrap(),
        Some(legacy.key.id)
    );
    let listed = keys.list(&owner).await.unwrap();
    assert!(listed.iter().all(|k| k.number.is_some()));
}

#[tokio::test]
async fn verification_checks_in_the_documented_order_and_caches() {
    let base = store().await;
    let owner = caller();
    let keys = service(base.clone());
    let issued = keys
        .create(
            &owner,
            spec(serde_json::json!({"permissions": ["read"], "allowed_ips": ["10.0.0.0/8"]})),
        )
        .await
        .unwrap();
    let (verifier, cache) =
        latchkey_tests::verifier(Duration::from_secs(30), Arc::new(SystemClock)).await;
    let secret = issued.plain.expose();
    let inside = Some("10.1.2.3".parse().unwrap());
    let outside = Some("192.0.2.1".parse().unwrap());
    let code = |ip, perms: &'static [&'static str]| {
        let verifier = &verifier;
        let perms: Vec<String> = perms.iter().map(|p| p.to_string()).collect();
        let context = AttemptContext {
            ip,
            ..AttemptContext::default()
        };
        async move {
            verifier
                .verify(secret, &perms, &context)
                .await
                .unwrap()
                .code
        }
    };
    assert_eq!(code(inside, &["read"]).await, VerifyCode::Valid);
    assert_eq!(code(outside, &["read"]).await, VerifyCode::Forbidden);
    assert_eq!(
        code(inside, &["write"]).await,
        VerifyCode::InsufficientPermissions
    );
    assert_eq!(
        code(outside, &["write"]).await,
        VerifyCode::Forbidden,
        "IP is checked before permissions"
    );

    let digest = latchkey_core::keys::cache::digest(secret);
    assert!(
        cache.get(issued.key.id, &digest).is_some(),
        "a verified key is cached"
    );
    let other = latchkey_core::keys::cache::digest("sk_something-else");
    assert!(
        cache.get(issued.key.id, &other).is_none(),
        "only the verified secret hits"
    );

    // A deleted key keeps working from this container's cache until the TTL (the documented
    // bound) unless the deleting container is this one; the store no longer has it.
    base.delete(
        &issued.key,
        &latchkey_tests::next_event(base.as_ref(), &issued.key).await,
    )
    .await
    .unwrap();
    cache.forget(issued.key.id);
    assert_eq!(code(inside, &["read"]).await, VerifyCode::NotFound);
}
