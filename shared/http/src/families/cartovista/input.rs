//! Request bodies and path segments of the cartovista family (camelCase), and their parsing into
//! the domain's specs.

use serde::{Deserialize, Deserializer};

use latchkey_core::error::Error;
use latchkey_core::{
    auth::Caller,
    ids::{KeyId, UserId, WorkspaceId},
    keys::spec::{KeyChanges, MAX_DESCRIPTION, NewKeySpec},
    validate::{self, Problems},
};

/// Workspace ids that cannot be tenants: their paths belong to other routes (API Gateway prefers
/// literal segments).
pub const RESERVED_TENANTS: [&str; 3] = ["api", "auth", "companies"];

/// The `{tenantUrlCode}` segment names the caller's workspace; any other tenant is a 404.
pub fn tenant(caller: &Caller, raw: &str) -> Result<(), Error> {
    let known = !RESERVED_TENANTS.contains(&raw)
        && WorkspaceId::parse(raw).is_some_and(|tenant| tenant == caller.workspace_id);
    if known {
        Ok(())
    } else {
        Err(Error::NotFound("No tenant with that code.".into()))
    }
}

/// Whom `{UserIdentifier}` names: the caller (`current`, or their own id), or another user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRef {
    /// The caller.
    Current,
    /// Someone else.
    Other(UserId),
}

impl UserRef {
    /// Reads the segment for `caller`. Nothing valid names no user (404).
    pub fn parse(caller: &Caller, raw: &str) -> Result<Self, Error> {
        if raw.eq_ignore_ascii_case("current") || raw == caller.user_id.as_str() {
            return Ok(Self::Current);
        }
        UserId::parse(raw).map(Self::Other).ok_or_else(no_such_user)
    }
}

/// The answer for a user the caller may not see.
pub fn no_such_user() -> Error {
    Error::NotFound("No user with that identifier.".into())
}

/// `ipWhitelisting`: addresses or CIDR networks.
fn networks(raw: Option<Vec<String>>, p: &mut Problems) -> Option<Vec<ipnet::IpNet>> {
    raw.and_then(|raw| p.take_many(validate::ip_networks("ipWhitelisting", &raw)))
}

/// `notes`: at most 500 characters; blank clears them.
fn notes(raw: Option<Option<String>>, p: &mut Problems) -> Option<Option<String>> {
    raw.map(|raw| match raw {
        Some(raw) => p
            .take(validate::optional_text("notes", &raw, MAX_DESCRIPTION))
            .flatten(),
        None => None,
    })
}

/// CreateApiKeyParameter.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CartovistaCreateApiKeyParameter)]
pub struct CreateApiKeyParameter {
    /// Addresses or CIDR networks the key may be used from; empty or absent: anywhere.
    #[schema(value_type = Option<Vec<String>>, max_items = 100)]
    ip_whitelisting: Option<Vec<String>>,
    /// Free text.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    notes: Option<Option<String>>,
}

impl CreateApiKeyParameter {
    /// The key a create makes.
    pub fn parse(self) -> Result<NewKeySpec, Error> {
        let mut p = Problems::default();
        let allowed_ips = networks(self.ip_whitelisting, &mut p);
        let description = notes(self.notes, &mut p);
        p.finish(|| {
            let mut spec = NewKeySpec::named("Default");
            spec.allowed_ips = allowed_ips.unwrap_or_default();
            spec.description = description.flatten();
            spec
        })
    }
}

/// A key's mode: 0 read-write, 1 read-only; the integer, or the same digit as a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode(pub bool);

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(0) => Ok(Self(false)),
            Raw::Number(1) => Ok(Self(true)),
            Raw::Text(text) if text == "0" => Ok(Self(false)),
            Raw::Text(text) if text == "1" => Ok(Self(true)),
            _ => Err(serde::de::Error::custom(
                "mode must be 0 (read-write) or 1 (read-only)",
            )),
        }
    }
}

/// The body of an update: an AccessKeyDTO naming the key by `accessKey`. Only `enabled`, `mode`,
/// `ipWhitelisting` and `notes` change; every other field is ignored.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CartovistaAccessKeyUpdate)]
pub struct AccessKeyUpdate {
    /// The key's id. Required.
    #[schema(value_type = String, format = Uuid)]
    access_key: Option<String>,
    /// Switch the key off (false) or back on (true).
    enabled: Option<bool>,
    /// 0 read-write, 1 read-only (`"0"` and `"1"` are accepted too).
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 1)]
    mode: Option<Mode>,
    /// New networks (replace the old ones); empty: anywhere.
    #[schema(value_type = Option<Vec<String>>, max_items = 100)]
    ip_whitelisting: Option<Vec<String>>,
    /// New notes; null or blank clears them.
    #[serde(default, deserialize_with = "latchkey_core::nullable::present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    notes: Option<Option<String>>,
}

impl AccessKeyUpdate {
    /// The key named and the changes. No `accessKey`: 400; one that is not a key id names no key
    /// (404).
    pub fn parse(self) -> Result<(KeyId, KeyChanges), Error> {
        let Some(raw) = self.access_key else {
            return Err(Error::invalid_field("accessKey", "is required"));
        };
        let id =
            KeyId::parse(&raw).ok_or_else(<KeyId as latchkey_core::ids::ResourceId>::not_found)?;
        let mut p = Problems::default();
        let allowed_ips = networks(self.ip_whitelisting, &mut p);
        let description = notes(self.notes, &mut p);
        let changes = p.finish(|| KeyChanges {
            is_active: self.enabled,
            read_only: self.mode.map(|Mode(read_only)| read_only),
            allowed_ips,
            description,
            ..KeyChanges::default()
        })?;
        Ok((id, changes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;
    use proptest::prelude::*;

    fn update(body: serde_json::Value) -> Result<(KeyId, KeyChanges), Error> {
        crate::extract::parse_json::<AccessKeyUpdate>(body.to_string().as_bytes())?.parse()
    }

    #[test]
    fn mode_is_0_or_1_as_a_number_or_a_string() {
        let id = KeyId::new();
        for (mode, read_only) in [
            (serde_json::json!(0), false),
            (serde_json::json!("1"), true),
        ] {
            let (named, changes) =
                update(serde_json::json!({"accessKey": id, "mode": mode})).unwrap();
            assert_eq!(named, id);
            assert_eq!(changes.read_only, Some(read_only));
        }
        for mode in [
            serde_json::json!(2),
            serde_json::json!("ro"),
            serde_json::json!(true),
        ] {
            let err = update(serde_json::json!({"accessKey": id, "mode": mode})).unwrap_err();
            assert_eq!(err.status().as_u16(), 400, "{mode}");
        }
    }

    #[test]
    fn an_update_must_name_its_key() {
        assert_eq!(
            update(serde_json::json!({"enabled": false}))
                .unwrap_err()
                .status()
                .as_u16(),
            400
        );
        assert_eq!(
            update(serde_json::json!({"accessKey": "nope"}))
                .unwrap_err()
                .status()
                .as_u16(),
            404
        );
        let (_, changes) = update(serde_json::json!({
            "accessKey": KeyId::new(), "notes": null, "userId": "ignored", "accessKeyString": "x"
        }))
        .unwrap();
        assert_eq!(changes.description, Some(None));
    }

    proptest! {
        /// Whatever a body holds, parsing answers changes or a 4xx, and never panics.
        #[test]
        fn any_body_parses_or_is_a_4xx(
            notes in prop::option::of(prop::option::of(".{0,600}")),
            ips in prop::option::of(prop::collection::vec("[0-9a-f.:/]{0,20}", 0..4)),
            enabled in prop::option::of(any::<bool>()),
        ) {
            let create = CreateApiKeyParameter { ip_whitelisting: ips.clone(), notes: notes.clone() };
            if let Err(err) = create.parse() {
                prop_assert!(err.status().is_client_error());
            }
            let change = AccessKeyUpdate {
                access_key: Some(KeyId::new().to_string()),
                enabled,
                mode: None,
                ip_whitelisting: ips,
                notes,
            };
            if let Err(err) = change.parse() {
                prop_assert!(err.status().is_client_error());
            }
        }

        /// Any `{UserIdentifier}` names the caller, another user, or nobody; never a panic.
        #[test]
        fn any_user_identifier_parses_or_names_nobody(raw in ".{0,140}") {
            let caller = Caller {
                origin: Default::default(),
                user_id: UserId::parse("u-1").unwrap(),
                workspace_id: WorkspaceId::parse("w-1").unwrap(),
                credential: latchkey_core::auth::Credential::Session { role: latchkey_core::auth::Role::Owner },
            };
            if let Err(err) = UserRef::parse(&caller, &raw) {
                prop_assert_eq!(err.status().as_u16(), 404);
            }
            prop_assert!(tenant(&caller, &raw).is_err() || raw == "w-1");
        }
    }
}
