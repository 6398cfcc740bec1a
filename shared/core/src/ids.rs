//! Identifier newtypes, so a key id is never passed where a user id belongs.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Error;

/// The UUID id of a resource that clients name in a path (`/api-keys/{api_key_id}`).
pub trait ResourceId: From<Uuid> {
    /// The path parameter that carries it.
    const PATH_PARAM: &'static str;
    /// What it names, as a sentence says it ("API key").
    const NOUN: &'static str;

    /// The 404 for an id that names nothing the caller may see: unknown, someone else's, or not
    /// a UUID at all. One answer for all three, so ids cannot be probed.
    fn not_found() -> Error {
        Error::NotFound(format!("No {} with that id.", Self::NOUN))
    }
}

/// The id of an API key; it is also embedded in the key itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct KeyId(pub Uuid);

impl KeyId {
    /// A fresh random id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses an id; anything that is not a UUID names no key.
    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw).ok().map(Self)
    }
}

/// Makes a UUID newtype a [`ResourceId`] with its path parameter and noun.
macro_rules! resource_id {
    ($id:ident, $param:literal, $noun:literal) => {
        impl From<Uuid> for $id {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl ResourceId for $id {
            const PATH_PARAM: &'static str = $param;
            const NOUN: &'static str = $noun;
        }
    };
}

resource_id!(KeyId, "api_key_id", "API key");

/// An API key's id in a path that names it `apiKeyId` (numind's key routes): the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CamelKeyId(pub Uuid);

resource_id!(CamelKeyId, "apiKeyId", "API key");

impl From<CamelKeyId> for KeyId {
    fn from(id: CamelKeyId) -> Self {
        Self(id.0)
    }
}

/// The id of a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotificationId(pub Uuid);

resource_id!(NotificationId, "notification_id", "notification");

/// The id of an erasure job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErasureJobId(pub Uuid);

resource_id!(ErasureJobId, "job_id", "erasure job");

/// The id of a webhook endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhookEndpointId(pub Uuid);

resource_id!(WebhookEndpointId, "endpoint_id", "webhook endpoint");

/// The id of a webhook delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliveryId(pub Uuid);

resource_id!(DeliveryId, "delivery_id", "delivery");

/// The id of an audit event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditEventId(pub Uuid);

resource_id!(AuditEventId, "event_id", "audit event");

impl Default for KeyId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The id of a user: the `sub` of their session token.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct UserId(String);

/// The id of a workspace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct WorkspaceId(String);

/// The longest user or workspace id accepted from a token.
const MAX_EXTERNAL_ID_LEN: usize = 128;

fn external_id(raw: &str) -> Option<String> {
    let ok = !raw.is_empty()
        && raw.len() <= MAX_EXTERNAL_ID_LEN
        && raw.chars().all(|c| c.is_ascii_graphic());
    ok.then(|| raw.to_owned())
}

impl UserId {
    /// Accepts a `sub` claim: 1 to 128 visible ASCII characters.
    pub fn parse(raw: &str) -> Option<Self> {
        external_id(raw).map(Self)
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl WorkspaceId {
    /// Accepts a `workspace_id` claim: 1 to 128 visible ASCII characters.
    pub fn parse(raw: &str) -> Option<Self> {
        external_id(raw).map(Self)
    }

    /// The personal workspace of a user who signs in without one: a stable UUID derived from the user id.
    pub fn personal(user: &UserId) -> Self {
        const NAMESPACE: Uuid = Uuid::from_u128(0x6c61_7463_686b_6579_2d70_6572_736f_6e6c);
        Self(Uuid::new_v5(&NAMESPACE, user.as_str().as_bytes()).to_string())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_workspace_is_stable_and_per_user() {
        let a = UserId::parse("alice").unwrap();
        let b = UserId::parse("bob").unwrap();
        assert_eq!(WorkspaceId::personal(&a), WorkspaceId::personal(&a));
        assert_ne!(WorkspaceId::personal(&a), WorkspaceId::personal(&b));
        assert!(Uuid::parse_str(WorkspaceId::personal(&a).as_str()).is_ok());
    }

    #[test]
    fn external_ids_are_bounded() {
        assert!(UserId::parse("").is_none());
        assert!(UserId::parse("has space").is_none());
        assert!(UserId::parse(&"x".repeat(129)).is_none());
        assert!(UserId::parse(&"x".repeat(128)).is_some());
    }
}
