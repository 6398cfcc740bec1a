//! Reading and changing a workspace's security settings ([`super::policy`]): owners and admins
//! with a session.

use std::{collections::BTreeMap, sync::Arc};

use serde_json::json;

use super::{
    policy::{LeakPolicy, SecuritySettings},
    store::LeakStore,
};
use crate::{
    audit::{ActorKind, Change, Record, Target, store::AuditTrail},
    clock::Clock,
    error::Error,
    ids::WorkspaceId,
    keys::caller::Caller,
};

/// Reads and changes a workspace's security settings: owners and admins with a session only.
pub struct SecuritySettingsService {
    store: Arc<dyn LeakStore>,
    trail: AuditTrail,
    clock: Arc<dyn Clock>,
}

fn authorize(caller: &Caller) -> Result<(), Error> {
    caller
        .require_owner_or_admin("see or change its security settings")
        .map(drop)
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
