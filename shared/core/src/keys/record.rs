//! What a key change records in the audit log: the action, the key (and its successor, for a
//! rotation) as targets, and each setting that changed, before and after. A key's secret, its
//! hashes and its paired secret are never among them; a new secret shows only as the change of
//! the key's last characters (`last_slice`), which the contract shows anyway.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{caller::Caller, model::ApiKey};
use crate::{
    audit::{Change, Record, Target},
    timestamp,
    validate::format_network,
};

/// The settings of `key` an event may show, by name.
fn settings(key: &ApiKey) -> BTreeMap<&'static str, Value> {
    let time =
        |at: Option<DateTime<Utc>>| at.map_or(Value::Null, |at| json!(timestamp::format(at)));
    BTreeMap::from([
        ("name", json!(key.name)),
        ("description", json!(key.description)),
        ("permissions", json!(key.permissions)),
        ("read_only", json!(key.read_only)),
        ("is_active", json!(key.is_active)),
        (
            "rate_limit",
            key.rate_limit.map_or(Value::Null, |r| {
                json!({"limit": r.limit(), "window": r.window().as_str(), "exact": r.is_exact()})
            }),
        ),
        (
            "allowed_ips",
            json!(key.allowed_ips.iter().map(format_network).collect::<Vec<_>>()),
        ),
        ("expires_at", time(key.expires_at)),
        ("revoked_at", time(key.revoked_at)),
        ("revocation_reason", json!(key.revocation_reason)),
        ("leaked_at", time(key.leaked_at)),
        ("last_slice", json!(key.last_slice)),
        ("paired_secret", json!(key.paired_secret_hash.is_some())),
    ])
}

/// Each setting that differs between `before` and `after` (a new key: every one, from null).
pub fn changes(before: Option<&ApiKey>, after: &ApiKey) -> BTreeMap<String, Change> {
    let before = before.map(settings).unwrap_or_default();
    settings(after)
        .into_iter()
        .filter_map(|(field, to)| {
            let from = before.get(field).cloned().unwrap_or(Value::Null);
            (from != to).then(|| (field.to_owned(), Change { from, to }))
        })
        .collect()
}

/// `key` as an event's target.
pub fn target(key: &ApiKey) -> Target {
    Target {
        kind: "key".into(),
        id: key.id.to_string(),
        name: Some(key.name.clone()),
    }
}

/// The record of `action` by `caller` on `keys` (the first is the one acted on), with
/// `changes`, at `now`.
pub fn record(
    caller: &Caller,
    action: &str,
    keys: &[&ApiKey],
    changes: BTreeMap<String, Change>,
    now: DateTime<Utc>,
) -> Record {
    Record {
        workspace_id: keys
            .first()
            .map_or_else(|| caller.workspace_id.clone(), |k| k.workspace_id.clone()),
        action: action.to_owned(),
        actor: caller.actor(),
        targets: keys.iter().map(|k| target(k)).collect(),
        origin: caller.origin.clone(),
        changes,
        users: {
            let mut users = vec![caller.user_id.to_string()];
            for key in keys {
                let owner = key.owner_id.to_string();
                if !users.contains(&owner) {
                    users.push(owner);
                }
            }
            users
        },
        time: now,
    }
}
