//! The hash chain of a workspace's events. Each event's digest is SHA-256 over the previous
//! event's digest and the event's own canonical JSON (its fields in a fixed order, `changes` by
//! field name), so changing, removing or reordering a stored event breaks the chain at that
//! event or the one after it. The chain's head (the last sequence number and digest) is what
//! racing writers serialize on: a write names the head it extends and fails if another landed
//! first.

use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{AuditEvent, Record};

/// The digest a workspace's first event extends.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The end of a workspace's chain: its last event's number and digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The last event's number (0 before the first).
    pub seq: u64,
    /// The last event's digest ([`GENESIS`] before the first).
    pub digest: String,
}

impl Default for Head {
    fn default() -> Self {
        Self {
            seq: 0,
            digest: GENESIS.to_owned(),
        }
    }
}

/// What the digest covers, in this order.
#[derive(Serialize)]
struct Covered<'a> {
    id: &'a Uuid,
    time: String,
    workspace_id: &'a str,
    action: &'a str,
    actor: &'a super::Actor,
    targets: &'a [super::Target],
    context: &'a super::Origin,
    changes: &'a std::collections::BTreeMap<String, super::Change>,
    users: &'a [String],
    seq: u64,
}

/// The digest of `event` over `prev`, hex.
pub fn digest_of(event: &AuditEvent, prev: &str) -> String {
    let covered = Covered {
        id: &event.id,
        time: crate::timestamp::format(event.time),
        workspace_id: event.workspace_id.as_str(),
        action: &event.action,
        actor: &event.actor,
        targets: &event.targets,
        context: &event.context,
        changes: &event.changes,
        users: &event.users,
        seq: event.seq,
    };
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(&covered).expect("an event serializes"));
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The counter of event ids minted in this process within one millisecond, so ids of one
/// container sort in the order they were minted.
static ID_CONTEXT: std::sync::Mutex<uuid::ContextV7> =
    std::sync::Mutex::new(uuid::ContextV7::new());

/// A UUIDv7 of `time` (the event's, from the injected clock): the log's partition is ordered by
/// ids, and its time ranges are read by them.
fn event_id(time: chrono::DateTime<chrono::Utc>) -> Uuid {
    let seconds = time.timestamp().max(0) as u64;
    let context = ID_CONTEXT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Uuid::new_v7(uuid::Timestamp::from_unix(
        &*context,
        seconds,
        time.timestamp_subsec_nanos(),
    ))
}

/// `record` sealed as the event after `head`: numbered, linked and digested.
pub fn seal(record: Record, head: &Head) -> AuditEvent {
    let mut event = AuditEvent {
        id: event_id(record.time),
        time: record.time,
        workspace_id: record.workspace_id,
        action: record.action,
        actor: record.actor,
        targets: record.targets,
        context: record.origin,
        changes: record.changes,
        users: record.users,
        seq: head.seq + 1,
        prev_digest: head.digest.clone(),
        digest: String::new(),
    };
    event.digest = digest_of(&event, &head.digest);
    event
}

/// The head a sealed `event` makes.
pub fn head_after(event: &AuditEvent) -> Head {
    Head {
        seq: event.seq,
        digest: event.digest.clone(),
    }
}

/// What a check of part of a chain found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Integrity {
    /// Events checked.
    pub checked: u64,
    /// The first event that does not match (its digest, its link to the one before, or its
    /// number after a gap), if any.
    pub first_broken: Option<Uuid>,
}

/// Checks `events` (one workspace's, in chain order): each event's digest is its own content's
/// over the digest it names, that digest is the previous event's, and no number is skipped. The
/// first event's link is taken as stored (the range may start mid-chain) unless it is the
/// chain's first, which must extend [`GENESIS`].
pub fn verify(events: &[AuditEvent]) -> Integrity {
    let mut previous: Option<&AuditEvent> = None;
    for (checked, event) in events.iter().enumerate() {
        let linked = match previous {
            Some(before) => event.prev_digest == before.digest && event.seq == before.seq + 1,
            None => event.seq != 1 || event.prev_digest == GENESIS,
        };
        if !linked || digest_of(event, &event.prev_digest) != event.digest {
            return Integrity {
                checked: checked as u64 + 1,
                first_broken: Some(event.id),
            };
        }
        previous = Some(event);
    }
    Integrity {
        checked: events.len() as u64,
        first_broken: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, ActorKind, Change, Origin, Target};
    use crate::ids::WorkspaceId;
    use proptest::prelude::*;

    /// An event's id carries its own time (the injected clock's, not the wall's), and ids
    /// minted in one millisecond sort in the order they were minted.
    #[test]
    fn ids_are_of_the_events_time_and_sort_as_minted() {
        let mut at = record("key.created", "a");
        at.time = chrono::DateTime::parse_from_rfc3339("2031-05-06T07:08:09.123Z")
            .unwrap()
            .into();
        let ids: Vec<Uuid> = (0..50)
            .map(|_| seal(at.clone(), &Head::default()).id)
            .collect();
        let (seconds, nanos) = ids[0].get_timestamp().unwrap().to_unix();
        assert_eq!(
            (seconds, nanos / 1_000_000),
            (at.time.timestamp() as u64, 123)
        );
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, ids);
    }

    fn record(action: &str, name: &str) -> Record {
        Record {
            workspace_id: WorkspaceId::parse("ws-1").unwrap(),
            action: action.to_owned(),
            actor: Actor {
                kind: ActorKind::User,
                id: "u-1".into(),
                name: Some("ann@example.com".into()),
            },
            targets: vec![Target {
                kind: "key".into(),
                id: "k-1".into(),
                name: Some(name.to_owned()),
            }],
            origin: Origin {
                family: "native".into(),
                ..Origin::default()
            },
            changes: [(
                "name".to_owned(),
                Change {
                    from: serde_json::Value::Null,
                    to: serde_json::json!(name),
                },
            )]
            .into(),
            users: vec!["u-1".into()],
            time: "2026-12-07T10:00:00Z".parse().unwrap(),
        }
    }

    fn chain(n: usize) -> Vec<AuditEvent> {
        let mut head = Head::default();
        (0..n)
            .map(|i| {
                let event = seal(record("key.created", &format!("k{i}")), &head);
                head = head_after(&event);
                event
            })
            .collect()
    }

    #[test]
    fn a_sealed_chain_is_intact_and_numbered_from_one() {
        let events = chain(5);
        assert_eq!(
            events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(events[0].prev_digest, GENESIS);
        assert_eq!(
            verify(&events),
            Integrity {
                checked: 5,
                first_broken: None
            }
        );
        assert_eq!(verify(&events[2..]).first_broken, None, "a range mid-chain");
    }

    #[test]
    fn an_edited_event_is_named() {
        let mut events = chain(4);
        events[2].changes.get_mut("name").unwrap().to = serde_json::json!("someone else");
        assert_eq!(verify(&events).first_broken, Some(events[2].id));
    }

    #[test]
    fn an_edit_with_its_digest_recomputed_breaks_the_next_link() {
        let mut events = chain(4);
        events[1].action = "key.updated".into();
        events[1].digest = digest_of(&events[1], &events[1].prev_digest);
        assert_eq!(verify(&events).first_broken, Some(events[2].id));
    }

    #[test]
    fn a_removed_or_reordered_event_is_named() {
        let mut events = chain(4);
        events.remove(1);
        assert_eq!(verify(&events).first_broken, Some(events[1].id));
        let mut events = chain(4);
        events.swap(1, 2);
        assert_ne!(verify(&events).first_broken, None);
    }

    proptest! {
        #[test]
        fn changing_any_covered_field_breaks_the_chain(which in 0usize..6, text in "[a-z]{1,8}") {
            let mut events = chain(3);
            let event = &mut events[1];
            match which {
                0 => event.action.push_str(&text),
                1 => event.actor.id.push_str(&text),
                2 => event.targets[0].id.push_str(&text),
                3 => event.context.family.push_str(&text),
                4 => { event.changes.insert(text.clone(), Change { from: serde_json::Value::Null, to: serde_json::Value::Null }); }
                _ => event.time += chrono::Duration::milliseconds(1),
            }
            prop_assert_eq!(verify(&events).first_broken, Some(events[1].id));
        }
    }
}
