//! What the worker does with a key reported as leaked: by its workspace's policy, revoke it or
//! leave it working, and either way mark it leaked, tell its owner and the workspace's owners and
//! admins, and record `key.leaked` (with where it was found) in the same write as the change.
//!
//! A key already marked leaked, revoked, expired or gone is left alone, so a report made twice or
//! a message delivered twice does nothing twice. The notifications go first, each with an id made
//! from the key and the person: a worker that dies between them and the change stores the same
//! notifications again when the message comes back, never a second copy.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{REASON, policy::LeakPolicy, store::LeakStore};
use crate::{
    audit::{Actor, ActorKind, Change, Origin, store::AuditTrail},
    error::Error,
    ids::{KeyId, UserId},
    keys::{model::ApiKey, record, store::KeyStore},
    lifecycle::Applied,
    notifications::{NewNotification, Notifications, kinds},
    profiles::ProfileStore,
};

/// Who reported a leak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reporter {
    /// GitHub's secret scanning, through `/api/v1/leaks/github`.
    Github,
    /// Someone who presented the key to `/api/v1/keys/revoke-leaked`.
    Finder,
}

impl Reporter {
    /// How the audit log names the way the report came (its `context.family`).
    pub fn family(self) -> &'static str {
        match self {
            Self::Github => "secret-scanning",
            Self::Finder => "revoke-leaked",
        }
    }

    fn actor(self) -> Actor {
        Actor {
            kind: ActorKind::System,
            id: self.family().into(),
            name: Some(
                match self {
                    Self::Github => "GitHub secret scanning",
                    Self::Finder => "public leak report",
                }
                .into(),
            ),
        }
    }
}

/// A live key found in a report: the work message's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakedKey {
    /// The key.
    pub key_id: KeyId,
    /// Where it was found, when the report said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// What kind of place it was found in (GitHub's `source`), when the report said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Who reported it.
    pub reporter: Reporter,
    /// When the report came.
    pub reported_at: DateTime<Utc>,
}

/// Whether a leak of `key` still needs handling at `at`: not yet handled as leaked, nor revoked,
/// nor expired. The intake sends only such keys; the worker checks again when it handles one.
pub(super) fn unhandled(key: &ApiKey, at: DateTime<Utc>) -> bool {
    key.leaked_at.is_none() && key.revoked_at.is_none() && !key.is_expired(at)
}

/// Handles leaked keys (the worker's side).
pub struct LeakResponse {
    keys: Arc<dyn KeyStore>,
    store: Arc<dyn LeakStore>,
    profiles: Arc<dyn ProfileStore>,
    notifications: Arc<Notifications>,
    trail: AuditTrail,
}

impl LeakResponse {
    /// The response over these stores, recording in `trail`.
    pub fn new(
        keys: Arc<dyn KeyStore>,
        store: Arc<dyn LeakStore>,
        profiles: Arc<dyn ProfileStore>,
        notifications: Arc<Notifications>,
        trail: AuditTrail,
    ) -> Self {
        Self {
            keys,
            store,
            profiles,
            notifications,
            trail,
        }
    }

    /// Applies the workspace's policy to the key of `leak`, once.
    pub async fn handle(&self, leak: &LeakedKey) -> Result<Applied, Error> {
        let at = leak.reported_at;
        let Some(key) = self.keys.get(leak.key_id).await? else {
            return Ok(Applied::Skipped);
        };
        if !unhandled(&key, at) {
            return Ok(Applied::Skipped);
        }
        let policy = self
            .store
            .settings(&key.workspace_id)
            .await?
            .unwrap_or_default()
            .leak_response;
        self.tell(&key, leak, policy).await?;
        let before = key.clone();
        let mut key = key;
        key.leaked_at = Some(at);
        if policy == LeakPolicy::Revoke {
            key.revoked_at = Some(at);
            key.revocation_reason = Some(REASON.into());
        }
        key.version += 1;
        key.updated_at = at;
        let mut changes = record::changes(Some(&before), &key);
        let mut noted = |field: &str, value: Value| {
            if !value.is_null() {
                changes.insert(
                    field.to_owned(),
                    Change {
                        from: Value::Null,
                        to: value,
                    },
                );
            }
        };
        noted("url", json!(leak.url));
        noted("source", json!(leak.source));
        noted("response", json!(policy.as_str()));
        let record = crate::audit::Record {
            workspace_id: key.workspace_id.clone(),
            action: "key.leaked".into(),
            actor: leak.reporter.actor(),
            targets: vec![record::target(&key)],
            origin: Origin {
                family: leak.reporter.family().into(),
                ..Origin::default()
            },
            changes,
            users: vec![key.owner_id.to_string()],
            time: at,
        };
        let (keys, changed) = (&self.keys, &key);
        self.trail
            .recording(
                record,
                |event| async move { keys.update(changed, &event).await },
            )
            .await?;
        Ok(Applied::Done)
    }

    /// Notifies the key's owner and the workspace's owners and admins, each once per key.
    async fn tell(&self, key: &ApiKey, leak: &LeakedKey, policy: LeakPolicy) -> Result<(), Error> {
        let mut people: Vec<UserId> = vec![key.owner_id.clone()];
        for person in self.profiles.owners_and_admins(&key.workspace_id).await? {
            if !people.contains(&person) {
                people.push(person);
            }
        }
        let place = leak
            .url
            .as_deref()
            .map_or_else(String::new, |url| format!(" at {url}"));
        let by = match leak.reporter {
            Reporter::Github => "GitHub's secret scanning found",
            Reporter::Finder => "Someone reported",
        };
        let what = match policy {
            LeakPolicy::Revoke => {
                "It was revoked and no longer works: issue a new key to whoever used it."
            }
            LeakPolicy::Notify => {
                "It still works, as the workspace's leak policy says: rotate it now."
            }
        };
        let notice = NewNotification {
            kind: kinds::API_KEY_LEAKED,
            title: format!("API key \"{}\" leaked", key.name),
            message: format!("{by} the key \"{}\"{place}. {what}", key.name),
            data: json!({
                "api_key_id": key.id,
                "url": leak.url,
                "response": policy.as_str(),
            }),
        };
        for person in people {
            // A UUIDv7 (notifications sort by id) at the report's time, its other bits the
            // key's and the person's: the same for every delivery of this report.
            let digest = Sha256::digest(format!("leaked:{}:{person}", key.id).as_bytes());
            let bits: [u8; 10] = digest[..10].try_into().expect("10 of 32 bytes");
            let id = uuid::Builder::from_unix_timestamp_millis(
                leak.reported_at.timestamp_millis().max(0) as u64,
                &bits,
            )
            .into_uuid();
            self.notifications
                .notify_once(&person, id, notice.clone())
                .await?;
        }
        Ok(())
    }
}
