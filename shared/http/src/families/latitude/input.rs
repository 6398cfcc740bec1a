//! Request documents of the latitude.sh family, and their parsing into the domain's specs.
//!
//! A request is a JSON:API document: `{"data": {"type": "api_keys", "id": ..., "attributes":
//! {...}}}`. `data` may be left out (create with defaults; regenerate with no change). A `type`
//! other than `api_keys`, or an `id` that is not the one in the path, is a 409, as JSON:API says.

use serde::Deserialize;

use latchkey_core::error::Error;
use latchkey_core::{
    ids::KeyId,
    keys::spec::{KeyChanges, MAX_NAME, NewKeySpec},
    validate::{self, Problems},
};

/// The only resource type of the family.
pub const KEY_TYPE: &str = "api_keys";

/// Body of `POST /auth/api_keys`, `PUT` and `PATCH /auth/api_keys/{api_key_id}`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = LatitudeKeyRequest)]
pub struct KeyDocument {
    /// The resource; absent means no attributes.
    #[serde(default, deserialize_with = "latchkey_core::nullable::object")]
    data: Option<KeyData>,
}

/// The resource object of a request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = LatitudeKeyRequestData)]
pub struct KeyData {
    /// Always `api_keys`; anything else is a 409.
    #[serde(rename = "type")]
    #[schema(value_type = KeyType)]
    kind: String,
    /// Only on PUT and PATCH, equal to the path's `api_key_id`; anything else is a 409.
    #[serde(default)]
    id: Option<String>,
    /// What to set.
    #[serde(default, deserialize_with = "latchkey_core::nullable::object")]
    attributes: Option<KeyAttributes>,
}

/// The resource type of the family.
#[derive(utoipa::ToSchema)]
#[schema(as = LatitudeKeyType, rename_all = "snake_case")]
#[allow(dead_code)]
pub enum KeyType {
    /// An API key.
    ApiKeys,
}

/// The settings a request may set; absent ones keep their value (or default, on create).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = LatitudeKeyRequestAttributes)]
pub struct KeyAttributes {
    /// Name; surrounding whitespace is trimmed.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: Option<String>,
    /// A read-only key may not call mutating routes.
    read_only: Option<bool>,
    /// Where the key may be used from (addresses or CIDR networks); empty means anywhere.
    #[schema(value_type = Option<Vec<crate::api::api_keys::input::Network>>, max_items = 100)]
    allowed_ips: Option<Vec<String>>,
}

/// Settings parsed from [`KeyAttributes`], each `None` when not sent.
struct Settings {
    name: Option<String>,
    read_only: Option<bool>,
    allowed_ips: Option<Vec<ipnet::IpNet>>,
}

impl KeyDocument {
    /// The document's attributes, once its type and id agree with `path_id` (none on create).
    fn attributes(self, path_id: Option<KeyId>) -> Result<KeyAttributes, Error> {
        let Some(data) = self.data else {
            return Ok(KeyAttributes::default());
        };
        if data.kind != KEY_TYPE {
            return Err(Error::Conflict(format!(
                "The resource type must be \"{KEY_TYPE}\"."
            )));
        }
        if let Some(id) = data.id {
            let matches = path_id.is_some_and(|path| KeyId::parse(&id) == Some(path));
            if !matches {
                return Err(Error::Conflict(match path_id {
                    Some(_) => "The resource id must be the id in the path.".to_owned(),
                    None => "A new key's id is chosen by the server: send no id.".to_owned(),
                }));
            }
        }
        Ok(data.attributes.unwrap_or_default())
    }

    fn settings(self, path_id: Option<KeyId>) -> Result<Settings, Error> {
        let attributes = self.attributes(path_id)?;
        let mut p = Problems::default();
        let name = attributes
            .name
            .and_then(|raw| p.take(validate::required_text("name", &raw, MAX_NAME)));
        let allowed_ips = attributes
            .allowed_ips
            .and_then(|raw| p.take_many(validate::ip_networks("allowed_ips", &raw)));
        p.finish(|| Settings {
            name,
            read_only: attributes.read_only,
            allowed_ips,
        })
    }

    /// The key a create makes: the attributes sent, Latchkey's defaults for the rest.
    pub fn new_key(self) -> Result<NewKeySpec, Error> {
        let settings = self.settings(None)?;
        let mut spec = NewKeySpec::named(settings.name.unwrap_or_else(|| "Default".to_owned()));
        spec.read_only = settings.read_only;
        spec.allowed_ips = settings.allowed_ips.unwrap_or_default();
        Ok(spec)
    }

    /// The changes a PUT or PATCH of key `id` makes.
    pub fn changes(self, id: KeyId) -> Result<KeyChanges, Error> {
        let settings = self.settings(Some(id))?;
        Ok(KeyChanges {
            name: settings.name,
            read_only: settings.read_only,
            allowed_ips: settings.allowed_ips,
            ..KeyChanges::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;
    use proptest::prelude::*;

    fn parse(body: &str) -> Result<KeyDocument, Error> {
        crate::extract::parse_json(body.as_bytes())
    }

    /// Found by the contract fuzzing: serde reads a struct from an array of its fields too.
    #[test]
    fn data_and_attributes_are_objects_only() {
        for body in [
            r#"{"data": {"attributes": [null, null, null], "type": "api_keys"}}"#,
            r#"{"data": {"attributes": ["n", true, []], "type": "api_keys"}}"#,
            r#"{"data": ["api_keys", null, null]}"#,
        ] {
            let err = parse(body).unwrap_err();
            assert_eq!(err.status().as_u16(), 400, "{body}");
        }
        assert!(parse(r#"{"data": {"attributes": null, "type": "api_keys"}}"#).is_ok());
    }

    #[test]
    fn no_data_creates_with_defaults_and_changes_nothing() {
        let spec = parse("{}").unwrap().new_key().unwrap();
        assert_eq!(
            (spec.name.as_str(), spec.read_only, spec.allowed_ips.len()),
            ("Default", None, 0)
        );
        assert_eq!(
            parse("").unwrap().changes(KeyId::new()).unwrap(),
            KeyChanges::default()
        );
    }

    #[test]
    fn a_foreign_type_or_id_is_a_conflict_and_bad_attributes_a_400() {
        let id = KeyId::new();
        let status = |body: String, path: Option<KeyId>| {
            let doc = parse(&body).unwrap();
            let result = match path {
                Some(id) => doc.changes(id).map(|_| ()),
                None => doc.new_key().map(|_| ()),
            };
            result.unwrap_err().status().as_u16()
        };
        assert_eq!(status(r#"{"data": {"type": "servers"}}"#.into(), None), 409);
        assert_eq!(
            status(
                format!(r#"{{"data": {{"type": "api_keys", "id": "{id}"}}}}"#),
                None
            ),
            409
        );
        assert_eq!(
            status(
                format!(
                    r#"{{"data": {{"type": "api_keys", "id": "{}"}}}}"#,
                    KeyId::new()
                ),
                Some(id)
            ),
            409
        );
        assert_eq!(
            status(
                r#"{"data": {"type": "api_keys", "attributes": {"allowed_ips": ["nope"]}}}"#.into(),
                Some(id)
            ),
            400
        );
        let same = format!(
            r#"{{"data": {{"type": "api_keys", "id": "{}", "attributes": {{"name": " n "}}}}}}"#,
            id.to_string().to_uppercase()
        );
        assert_eq!(
            parse(&same).unwrap().changes(id).unwrap().name.as_deref(),
            Some("n")
        );
    }

    proptest! {
        /// Whatever JSON arrives, parsing answers a spec or a 4xx, and never panics.
        #[test]
        fn any_document_parses_to_a_spec_or_a_4xx(
            kind in prop_oneof![Just("api_keys".to_owned()), "[a-z_]{0,12}"],
            id in prop::option::of(prop_oneof![Just(String::new()), "[0-9a-f-]{0,40}"]),
            name in prop::option::of(".{0,120}"),
            read_only in prop::option::of(any::<bool>()),
            ips in prop::option::of(prop::collection::vec("[0-9./:a-f]{0,20}", 0..4)),
        ) {
            let body = serde_json::json!({"data": {"type": kind, "id": id, "attributes": {
                "name": name, "read_only": read_only, "allowed_ips": ips}}});
            for path in [None, Some(KeyId::new())] {
                let doc: KeyDocument = serde_json::from_value(body.clone()).unwrap();
                let result = match path {
                    Some(id) => doc.changes(id).map(|_| ()),
                    None => doc.new_key().map(|_| ()),
                };
                if let Err(err) = result {
                    prop_assert!(err.status().is_client_error(), "{err}");
                }
            }
        }
    }
}
