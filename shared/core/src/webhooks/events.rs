//! The event types an endpoint can ask for, and the webhook event each audit action makes: its
//! type and its `data` (the key's id and name, never a secret).

use serde_json::{Value, json};

use crate::{audit::AuditEvent, timestamp};

/// Every event type (`*` asks for them all).
pub const ALL: &str = "*";
/// Sent by `POST .../test`, whatever an endpoint asks for.
pub const TEST: &str = "webhook.test";

/// The event types of the contract.
pub const TYPES: [&str; 11] = [
    "key.created",
    "key.updated",
    "key.regenerated",
    "key.rotated",
    "key.revoked",
    "key.deleted",
    "key.expiring_soon",
    "key.expired",
    "key.leaked",
    "privacy.erasure_completed",
    TEST,
];

/// The webhook event type an audit action is sent as, if any (an expiry set or cleared is a
/// `key.updated`; a secret generated where a key had none, a `key.regenerated`).
pub fn type_of(action: &str) -> Option<&'static str> {
    Some(match action {
        "key.created" => "key.created",
        "key.updated" | "key.expiry_set" | "key.expiry_cleared" => "key.updated",
        "key.regenerated" | "key.secret_generated" => "key.regenerated",
        "key.rotated" => "key.rotated",
        "key.revoked" => "key.revoked",
        "key.deleted" => "key.deleted",
        "key.expiring_soon" => "key.expiring_soon",
        "key.expired" => "key.expired",
        "key.leaked" => "key.leaked",
        "erasure.completed" => "privacy.erasure_completed",
        _ => return None,
    })
}

/// The body of the webhook event `event` makes, when it makes one: `{"type", "timestamp",
/// "data"}`, `data` holding the workspace and the thing it is about (for a rotation, the old
/// key's id and the new one's; for a leak, where it was found, what kind of place that was, and
/// what the workspace's policy did: `revoke` or `notify`).
pub fn payload_of(event: &AuditEvent) -> Option<(&'static str, String)> {
    let kind = type_of(&event.action)?;
    let first = event.targets.first()?;
    let mut data = json!({
        "id": first.id,
        "workspace_id": event.workspace_id.to_string(),
    });
    if let Some(name) = &first.name {
        data["name"] = json!(name);
    }
    if kind == "key.rotated"
        && let Some(new) = event.targets.get(1)
    {
        data["new_key_id"] = json!(new.id);
    }
    for field in [
        "expires_at",
        "expires_in_days",
        "reason",
        "url",
        "source",
        "response",
    ] {
        if let Some(change) = event.changes.get(field)
            && !change.to.is_null()
        {
            data[field] = change.to.clone();
        }
    }
    Some((kind, body(kind, event.time, data)))
}

/// A body of type `kind` at `time` with `data`.
pub fn body(kind: &str, time: chrono::DateTime<chrono::Utc>, data: Value) -> String {
    json!({"type": kind, "timestamp": timestamp::format(time), "data": data}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_but_the_test_comes_from_an_audit_action() {
        for kind in TYPES.iter().filter(|t| **t != TEST) {
            let action = match *kind {
                "privacy.erasure_completed" => "erasure.completed",
                other => other,
            };
            assert_eq!(type_of(action), Some(*kind));
        }
        assert_eq!(type_of("session.signed_in"), None);
        assert_eq!(type_of("key.expiry_set"), Some("key.updated"));
    }
}
