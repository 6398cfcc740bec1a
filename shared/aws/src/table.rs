//! The single-table layout: every key, index and attribute name lives here and nowhere else.
//!
//! | item | `pk` | `sk` | `gsi1pk` / `gsi1sk` | `gsi2pk` / `gsi2sk` |
//! | --- | --- | --- | --- | --- |
//! | API key | `KEY#<key id>` | `KEY` | `USER#<owner>` / `KEY#<created_at>#<id>` | `EXPIRY#<day>` / `<expires_at>#<id>` (sparse); `gsi4`: `WSKEYS#<workspace>` / `KEY#<created_at>#<id>` |
//! | daily usage of a key | `KEY#<key id>` | `DAY#<YYYY-MM-DD>` | | |
//! | rate window of a key | `KEY#<key id>` | `RATE#<second\|minute\|hour\|day>#<window start>` | | |
//! | user profile | `USER#<user id>` | `PROFILE` | `MEMBERS#<workspace>` / `USER#<user id>` | |
//! | daily usage of a user (dashboard) | `USER#<user id>` | `DAY#<YYYY-MM-DD>` | | |
//! | issue report | `WORKSPACE#<workspace>` | `REPORT#<report id>` | | |
//! | last key number given in a workspace (`next`) | `WORKSPACE#<workspace>` | `KEYNUMBERS` | | |
//! | a key number's key (`key_id`) | `WORKSPACE#<workspace>` | `KEYNUM#<number, 20 digits>` | | |
//! | days with usage events | `USAGEDAYS#<workspace>` | `DAY#<YYYY-MM-DD>` | | |
//! | erasure job | `JOB#<job id>` | `JOB` | | |
//! | sign-in session | `SESSION#<session id>` | `SESSION` | | |
//! | refresh token of a session (its SHA-256) | `REFRESH#<digest>` | `REFRESH` | | |
//! | revoked session token | `REVOKED#<jti>` | `REVOKED` | | |
//! | every session and token of a deleted user made until `revoked_at` | `USERREVOKED#<user id>` | `REVOKED` | | |
//! | sign-in in progress (its state's SHA-256) | `SIGNIN#<digest>` | `SIGNIN` | | |
//! | notification | `USER#<user id>` | `NOTIF#<uuid v7>` | | |
//! | onboarding checklist | `USER#<user id>` | `ONBOARDING` | | |
//! | usage event | `USAGE#<workspace>#<day>#<shard>` | `<at>#<event id>` | | `gsi3`: `DEVICE#<workspace>#<device>` / `<at>#<event id>` (sparse) |
//! | a container's flush waiting to be folded (`body`: JSON) | `USAGEINBOX#<shard>` | `<message id, uuid v7>` | | |
//! | a folded message's tombstone | `USAGETAKEN#<message id>` | `USAGETAKEN` | | |
//! | audit event (`body`: JSON; `seq`) | `AUDIT#<workspace>` | `EVENT#<event id, uuid v7>` | `AUDITBY#<workspace>#<actor id>` / `EVENT#<event id>` | `gsi4`: `AUDITON#<workspace>#<target id>` / `EVENT#<event id>` (its first target) |
//! | the head of a workspace's audit chain (`seq`, `digest`) | `AUDIT#<workspace>` | `HEAD` | | |
//! | the archive checkpoint of a workspace's audit log (`seq`) | `AUDIT#<workspace>` | `ARCHIVED` | | |
//! | a fold recorded and not finished (`body`: JSON, in parts) | `USAGEFOLDS` | `<fold id>#<part, 3 digits>` | | |
//! | webhook endpoint (`body`: JSON, secrets sealed; `version`) | `WEBHOOKS#<workspace>` | `ENDPOINT#<endpoint id>` | | |
//! | a workspace's security settings (`body`: JSON; `version`) | `WORKSPACE#<workspace>` | `SETTINGS#security` | | |
//! | requests of one client address to the public leak report endpoint in a minute (`count`) | `LEAKREPORTS#<address>` | `WINDOW#<window start>` | | |
//! | webhook delivery (`body`: JSON with its attempts; `version`) | `WEBHOOK#<endpoint id>` | `DELIVERY#<delivery id, uuid v7>` | | `WEBHOOKDUE#<day>` / `<next attempt at>#<endpoint id>#<delivery id>#<attempt, 2 digits>` (sparse: pending ones) |
//!
//! `gsi1` lists a user's keys newest first, and a workspace's members (who to tell of an issue
//! report; whether a leaving owner is the last one); `gsi2` is the sparse expiry index the sweeper reads
//! one day-partition at a time; `gsi4` lists a workspace's keys newest first (what its owners and
//! admins manage through the compatibility families); `gsi3` finds a device's usage events (and projects their `count`). Usage events of one workspace
//! and day are spread over [`USAGE_SHARDS`] partitions so a busy key never makes one hot partition.
//! `ttl` is the table's TTL attribute (rate windows, leak report windows, usage events, audit events and webhook
//! deliveries expire by it). A workspace's webhook endpoints are one small partition, read whole
//! for every event dispatched; an endpoint's deliveries are one partition, newest first. A
//! pending delivery is in `gsi2` under the day its next attempt is due, which the sweeper reads
//! as it reads expiries. A workspace's audit events are one partition in time order (their ids are UUIDv7s), read
//! newest first for the log and in a time range for an integrity check; the head item beside
//! them is what every writer of the workspace's log conditions its transaction on. The log's
//! filters by actor and by target read `gsi1` and `gsi4`, one partition per actor or target of a
//! workspace, newest first, so a rare actor in a busy log costs its own events' reads only.

use chrono::{DateTime, NaiveDate, Utc};

use latchkey_core::{
    ids::{KeyId, UserId, WorkspaceId},
    keys::limit::RateWindow,
};

/// Partition key attribute.
pub const PK: &str = "pk";
/// Sort key attribute.
pub const SK: &str = "sk";
/// Owner index name.
pub const GSI1: &str = "gsi1";
/// Owner index partition key attribute.
pub const GSI1_PK: &str = "gsi1pk";
/// Owner index sort key attribute.
pub const GSI1_SK: &str = "gsi1sk";
/// Expiry index name.
pub const GSI2: &str = "gsi2";
/// Expiry index partition key attribute.
pub const GSI2_PK: &str = "gsi2pk";
/// Expiry index sort key attribute.
pub const GSI2_SK: &str = "gsi2sk";
/// Device index name.
pub const GSI3: &str = "gsi3";
/// Device index partition key attribute.
pub const GSI3_PK: &str = "gsi3pk";
/// Device index sort key attribute.
pub const GSI3_SK: &str = "gsi3sk";
/// Workspace index name: a workspace's keys, newest first.
pub const GSI4: &str = "gsi4";
/// Workspace index partition key attribute.
pub const GSI4_PK: &str = "gsi4pk";
/// Workspace index sort key attribute.
pub const GSI4_SK: &str = "gsi4sk";
/// The TTL attribute (epoch seconds).
pub const TTL: &str = "ttl";
/// A usage event's attribute: how many verifications it stands for (absent on events written
/// before aggregation: one).
pub const EVENT_COUNT: &str = "count";
/// A rate window's attribute: how many requests the containers have reserved of it.
pub const RATE_RESERVED: &str = "count";
/// Partitions the usage events of one workspace and day are spread over.
pub const USAGE_SHARDS: u32 = 16;

/// Sort key of a workspace's key-number counter.
pub const KEY_NUMBERS_SK: &str = "KEYNUMBERS";
/// The counter's attribute: the last number given.
pub const KEY_NUMBERS_LAST: &str = "next";
/// A key-number lookup item's attribute: the key's id.
pub const KEY_NUMBER_KEY_ID: &str = "key_id";

/// Sort key of the lookup item of key number `number` (zero-padded, so numbers sort).
pub fn key_number_sk(number: u64) -> String {
    format!("KEYNUM#{number:020}")
}

/// Partition and sort key of a sign-in session.
pub fn session_key(id: uuid::Uuid) -> (String, &'static str) {
    (format!("SESSION#{id}"), "SESSION")
}

/// Partition and sort key of a refresh token, by its digest.
pub fn refresh_key(digest: &str) -> (String, &'static str) {
    (format!("REFRESH#{digest}"), "REFRESH")
}

/// Partition and sort key of a revoked session token, by its `jti`.
pub fn revoked_token_key(token_id: &str) -> (String, &'static str) {
    (format!("REVOKED#{token_id}"), "REVOKED")
}

/// Partition and sort key of a user's revocation of every session and token made until then
/// (account deletion). Outside the user's own partition, which the deletion empties.
pub fn revoked_user_key(user: &UserId) -> (String, &'static str) {
    (format!("USERREVOKED#{user}"), "REVOKED")
}

/// A user revocation's attribute: when (RFC 3339).
pub const REVOKED_AT: &str = "revoked_at";

/// Partition and sort key of a sign-in in progress, by its state's digest.
pub fn sign_in_key(digest: &str) -> (String, &'static str) {
    (format!("SIGNIN#{digest}"), "SIGNIN")
}

/// Sort key of a key's own item.
pub const KEY_SK: &str = "KEY";
/// Prefix of the owner index's sort keys of keys (a user's partition also holds its members
/// entry).
pub const KEY_BY_OWNER_PREFIX: &str = "KEY#";
/// Sort-key prefix of a user's notifications.
pub const NOTIFICATION_SK_PREFIX: &str = "NOTIF#";
/// Sort key of a user's onboarding checklist.
pub const ONBOARDING_SK: &str = "ONBOARDING";
/// Sort key of an erasure job's item.
pub const JOB_SK: &str = "JOB";
/// Sort key of a profile item.
pub const PROFILE_SK: &str = "PROFILE";
/// Sort-key prefix of a key's daily usage counters.
pub const DAY_SK_PREFIX: &str = "DAY#";

/// The member index's partition key: a workspace's members.
pub fn members_pk(workspace: &WorkspaceId) -> String {
    format!("MEMBERS#{workspace}")
}

/// The member index's sort key of a member.
pub fn member_sk(user: &UserId) -> String {
    format!("USER#{user}")
}

/// Partition key of a workspace's own items (issue reports).
pub fn workspace_pk(workspace: &WorkspaceId) -> String {
    format!("WORKSPACE#{workspace}")
}

/// Sort key of an issue report.
pub fn issue_report_sk(id: uuid::Uuid) -> String {
    format!("REPORT#{id}")
}

/// Sort key of a notification (UUIDv7 ids sort by time).
pub fn notification_sk(id: uuid::Uuid) -> String {
    format!("{NOTIFICATION_SK_PREFIX}{id}")
}

/// Partition key of an erasure job.
pub fn job_pk(id: uuid::Uuid) -> String {
    format!("JOB#{id}")
}

/// Partition key of an API key.
pub fn key_pk(id: KeyId) -> String {
    format!("KEY#{id}")
}

/// The workspace index's partition key of a key.
pub fn workspace_keys_pk(workspace: &WorkspaceId) -> String {
    format!("WSKEYS#{workspace}")
}

/// Partition key of a user's items, and the owner index's partition key.
pub fn user_pk(user: &UserId) -> String {
    format!("USER#{user}")
}

/// The owner index's sort key of a key: newest-first listing with a stable tie-break.
pub fn key_by_owner_sk(created_at: DateTime<Utc>, id: KeyId) -> String {
    format!(
        "{KEY_BY_OWNER_PREFIX}{}#{id}",
        latchkey_core::timestamp::format(created_at)
    )
}

/// The expiry index's partition key: one partition per UTC day keeps the index free of hot spots.
pub fn expiry_pk(expires_at: DateTime<Utc>) -> String {
    format!("EXPIRY#{}", expires_at.format("%Y-%m-%d"))
}

/// The expiry index's sort key.
pub fn expiry_sk(expires_at: DateTime<Utc>, id: KeyId) -> String {
    format!("{}#{id}", latchkey_core::timestamp::format(expires_at))
}

/// Sort key of a key's rate-limit counter for the `window` starting at `start`. The window's
/// name keeps a changed limit from sharing a counter with the old one (an hour and its first
/// minute start at the same instant).
pub fn rate_sk(window: RateWindow, start: DateTime<Utc>) -> String {
    format!(
        "RATE#{}#{}",
        window.as_str(),
        latchkey_core::timestamp::format(start)
    )
}

/// Partition key of the key changes written in the hour of `at` (UTC): readers ask for the
/// last seconds, so one partition per hour keeps each read to one or two small partitions.
pub fn key_changes_pk(at: DateTime<Utc>) -> String {
    format!("KEYCHANGES#{}", at.format("%Y-%m-%dT%H"))
}

/// Sort key of a key change: when it was written (epoch milliseconds, fixed width, so the order
/// of strings is the order of time) and its own id.
pub fn key_change_sk(at_ms: i64, change: uuid::Uuid) -> String {
    format!("{at_ms:013}#{change}")
}

/// The least sort key of the changes written at `at_ms` or later.
pub fn key_change_sk_from(at_ms: i64) -> String {
    format!("{at_ms:013}")
}

/// When the change with sort key `sk` was written, as epoch milliseconds.
pub fn key_change_stamp(sk: &str) -> Option<i64> {
    sk.split('#').next()?.parse().ok()
}

/// Attribute of a key change naming the key.
pub const KEY_CHANGE_KEY_ID: &str = "key_id";

/// Partition key of one shard of a workspace's usage events of one day.
pub fn usage_pk(workspace: &WorkspaceId, day: NaiveDate, shard: u32) -> String {
    format!("USAGE#{workspace}#{}#{shard:02}", day.format("%Y-%m-%d"))
}

/// Sort key of a usage event: time first, so a Query can select a time range.
pub fn usage_sk(at: DateTime<Utc>, event: uuid::Uuid) -> String {
    format!("{}#{event}", latchkey_core::timestamp::format(at))
}

/// Partitions the usage inbox is spread over, so containers flushing at once do not share one.
pub const USAGE_INBOX_SHARDS: u32 = 16;
/// Attribute holding a usage message's or fold's JSON.
pub const BODY: &str = "body";
/// Partition of the folds recorded and not finished (a handful at any time).
pub const USAGE_FOLDS_PK: &str = "USAGEFOLDS";
/// Sort key of a tombstone.
pub const USAGE_TAKEN_SK: &str = "USAGETAKEN";

/// Key of an inbox message: its shard follows from its id, so a resend lands on the same item.
pub fn usage_inbox_key(message: uuid::Uuid) -> (String, String) {
    let shard = (message.as_u128() % u128::from(USAGE_INBOX_SHARDS)) as u32;
    (usage_inbox_pk(shard), message.to_string())
}

/// Partition key of one shard of the usage inbox.
pub fn usage_inbox_pk(shard: u32) -> String {
    format!("USAGEINBOX#{shard:02}")
}

/// Partition key of a folded message's tombstone.
pub fn usage_taken_pk(message: uuid::Uuid) -> String {
    format!("USAGETAKEN#{message}")
}

/// Sort key of one part of a recorded fold.
pub fn usage_fold_sk(fold: uuid::Uuid, part: usize) -> String {
    format!("{fold}#{part:03}")
}

/// Partition of a workspace's day markers: one item per day with usage events, so an erasure
/// finds the days to visit with one Query instead of probing every day of the retention period.
pub fn usage_days_pk(workspace: &WorkspaceId) -> String {
    format!("USAGEDAYS#{workspace}")
}

/// The device index's partition key of a usage event.
pub fn device_pk(workspace: &WorkspaceId, device: &str) -> String {
    format!("DEVICE#{workspace}#{device}")
}

/// Sort key of one day's usage counters of a key.
pub fn day_sk(day: NaiveDate) -> String {
    format!("{DAY_SK_PREFIX}{}", day.format("%Y-%m-%d"))
}

/// The day a [`day_sk`] names.
pub fn day_of_sk(sk: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(sk.strip_prefix(DAY_SK_PREFIX)?, "%Y-%m-%d").ok()
}

/// The prefix of every audit log's partition.
pub const AUDIT_PK_PREFIX: &str = "AUDIT#";

/// The partition of a workspace's audit log: its events and its chain's head.
pub fn audit_pk(workspace: &WorkspaceId) -> String {
    format!("{AUDIT_PK_PREFIX}{}", workspace.as_str())
}

/// The actor index partition (`gsi1`) of `actor`'s audit events in `workspace`.
pub fn audit_actor_pk(workspace: &WorkspaceId, actor: &str) -> String {
    format!("AUDITBY#{}#{actor}", workspace.as_str())
}

/// The target index partition (`gsi4`) of the audit events about `target` in `workspace`.
pub fn audit_target_pk(workspace: &WorkspaceId, target: &str) -> String {
    format!("AUDITON#{}#{target}", workspace.as_str())
}

/// The prefix of every audit event's sort key.
pub const AUDIT_EVENT_PREFIX: &str = "EVENT#";

/// The sort key of audit event `id`.
pub fn audit_event_sk(id: uuid::Uuid) -> String {
    format!("{AUDIT_EVENT_PREFIX}{id}")
}

/// The sort key of the head of a workspace's audit chain.
pub const AUDIT_HEAD_SK: &str = "HEAD";
/// The sort key of a workspace's archive checkpoint: the last event (`seq`) its archive holds.
pub const AUDIT_ARCHIVED_SK: &str = "ARCHIVED";
/// An audit event's (and the head's) number in the chain.
pub const AUDIT_SEQ: &str = "seq";
/// The head's digest.
pub const AUDIT_DIGEST: &str = "digest";

/// The partition of a workspace's webhook endpoints.
pub fn webhooks_pk(workspace: &WorkspaceId) -> String {
    format!("WEBHOOKS#{}", workspace.as_str())
}

/// The sort key of webhook endpoint `id`.
pub fn webhook_endpoint_sk(id: uuid::Uuid) -> String {
    format!("ENDPOINT#{id}")
}

/// The partition of an endpoint's deliveries.
pub fn webhook_deliveries_pk(endpoint: uuid::Uuid) -> String {
    format!("WEBHOOK#{endpoint}")
}

/// The prefix of every delivery's sort key.
pub const WEBHOOK_DELIVERY_PREFIX: &str = "DELIVERY#";

/// The sort key of delivery `id`.
pub fn webhook_delivery_sk(id: uuid::Uuid) -> String {
    format!("{WEBHOOK_DELIVERY_PREFIX}{id}")
}

/// The due index's partition (`gsi2`) of the deliveries whose next attempt falls on `day`.
pub fn webhook_due_pk(day: NaiveDate) -> String {
    format!("WEBHOOKDUE#{}", day.format("%Y-%m-%d"))
}

/// The due index's sort key of attempt `attempt` of a delivery, due `at`.
pub fn webhook_due_sk(
    at: DateTime<Utc>,
    endpoint: uuid::Uuid,
    delivery: uuid::Uuid,
    attempt: u32,
) -> String {
    format!(
        "{}#{endpoint}#{delivery}#{attempt:02}",
        latchkey_core::timestamp::format(at)
    )
}

/// The endpoint, delivery and attempt a [`webhook_due_sk`] names.
pub fn webhook_due_of(sk: &str) -> Option<(uuid::Uuid, uuid::Uuid, u32)> {
    let mut parts = sk.rsplitn(4, '#');
    let attempt = parts.next()?.parse().ok()?;
    let delivery = parts.next()?.parse().ok()?;
    let endpoint = parts.next()?.parse().ok()?;
    Some((endpoint, delivery, attempt))
}

/// The item of a workspace's security settings.
pub fn security_settings_key(workspace: &WorkspaceId) -> (String, &'static str) {
    (workspace_pk(workspace), "SETTINGS#security")
}

/// The item counting a client address's leak reports in the window that began at `start`.
pub fn leak_report_window_key(address: &str, start: DateTime<Utc>) -> (String, String) {
    (
        format!("LEAKREPORTS#{address}"),
        format!("WINDOW#{}", latchkey_core::timestamp::format(start)),
    )
}

/// The attribute a conditional write of an endpoint, delivery or settings checks.
pub const VERSION: &str = "version";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_due_entry_names_its_endpoint_and_delivery() {
        let (endpoint, delivery) = (uuid::Uuid::new_v4(), uuid::Uuid::now_v7());
        let sk = webhook_due_sk(Utc::now(), endpoint, delivery, 3);
        assert_eq!(webhook_due_of(&sk), Some((endpoint, delivery, 3)));
        assert_eq!(webhook_due_of("nonsense"), None);
    }

    #[test]
    fn notifications_sort_by_the_time_of_their_v7_ids() {
        let a = uuid::Uuid::now_v7();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = uuid::Uuid::now_v7();
        assert!(notification_sk(a) < notification_sk(b));
    }
}
