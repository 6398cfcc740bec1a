//! A workspace's security settings: what happens to its keys when one is reported as leaked.

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store::LeakStore;
use crate::{
    audit::{ActorKind, Change, Record, Target, store::AuditTrail},
    clock::Clock,
    error::Error,
    ids::WorkspaceId,
    keys::caller::Caller,
    role::Role,
};

/// What a leaked key of the workspace gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeakPolicy {
    /// Revoked at once (the default): whoever found it can no longer use it.
    #[default]
    Revoke,
    /// Left working, its owners told: for keys whose sudden death would cost more than the leak.
    Notify,
}

impl LeakPolicy {
    /// The policy's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoke => "revoke",
            Self::Notify => "notify",
        }
    }

    /// Reads a policy by name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "revoke" => Some(Self::Revoke),
            "notify" => Some(Self::Notify),
            _ => None,
        }
    }
}

/// A workspace's security settings as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecuritySettings {
    /// What a leaked key gets.
    pub leak_response: LeakPolicy,
    /// Bumped by every change (0: never set, the defaults).
    pub version: u64,
    /// The last change, if any.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Reads and changes a workspace's security settings: owners and admins with a session only.
pub struct SecuritySettingsService {
    store: Arc<dyn LeakStore>,
    trail: AuditTrail,
    clock: Arc<dyn Clock>,
}

fn authorize(caller: &Caller) -> Result<(), Error> {
    match caller.require_session()? {
        Role::Owner | Role::Admin => Ok(()),
        _ => Err(Error::Forbidden(
            "Only the workspace's owners and admins may see or change its security settings."
                .into(),
        )),
    }
}

impl SecuritySettingsService {
    /// The use cases over `store`, recording changes in `trail`.
    pub fn new(store: Arc<dyn LeakStore>, trail: AuditTrail, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            trail,
            clock,
        }
    }

    /// The settings of the caller's workspace (the defaults when never set).
    pub async fn get(&self, caller: &Caller) -> Result<SecuritySettings, Error> {
        authorize(caller)?;
        self.current(&caller.workspace_id).await
    }

    async fn current(&self, workspace: &WorkspaceId) -> Result<SecuritySettings, Error> {
        Ok(self.store.settings(workspace).await?.unwrap_or_default())
    }

    /// Sets the workspace's leak policy, recording `workspace.settings_updated` when it changes.
    pub async fn set_leak_response(
        &self,
        caller: &Caller,
        policy: LeakPolicy,
    ) -> Result<SecuritySettings, Error> {
        authorize(caller)?;
        let before = self.current(&caller.workspace_id).await?;
        if before.leak_response == policy {
            return Ok(before);
        }
        let now = self.clock.now();
        let after = SecuritySettings {
            leak_response: policy,
            version: before.version + 1,
            updated_at: Some(now),
        };
        let actor = caller.actor();
        let record = Record {
            workspace_id: caller.workspace_id.clone(),
            action: "workspace.settings_updated".into(),
            users: if actor.kind == ActorKind::User {
                vec![actor.id.clone()]
            } else {
                vec![]
            },
            actor,
            targets: vec![Target {
                kind: "workspace".into(),
                id: caller.workspace_id.to_string(),
                name: None,
            }],
            origin: caller.origin.clone(),
            changes: BTreeMap::from([(
                "leak_response".to_owned(),
                Change {
                    from: json!(before.leak_response.as_str()),
                    to: json!(policy.as_str()),
                },
            )]),
            time: now,
        };
        let (store, workspace, settings) = (&self.store, &caller.workspace_id, &after);
        self.trail
            .recording(record, |event| async move {
                store
                    .put_settings(workspace, settings, before.version, &event)
                    .await
            })
            .await?;
        Ok(after)
    }
}
