//! Request bodies of the numind family (camelCase), and their parsing into the domain's specs.

use serde::Deserialize;

use latchkey_core::error::{Error, FieldError};
use latchkey_core::{
    ids::WorkspaceId,
    keys::spec::{KeyChanges, MAX_NAME, NewKeySpec},
    validate::{self, Problems},
};

/// Body of `POST /api/auth/api-keys`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NumindCreateApiKey)]
pub struct CreateKeyRequest {
    /// Name; surrounding whitespace is trimmed.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"\S")]
    name: Option<String>,
    /// The organization (workspace) to make the key in: the caller's, or absent.
    maybe_orga: Option<String>,
}

/// Body of `PUT /api/auth/api-keys/{apiKeyId}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = NumindUpdateApiKey)]
pub struct UpdateKeyRequest {
    /// New name; surrounding whitespace is trimmed.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"\S")]
    name: Option<String>,
}

/// The required `name`, trimmed.
fn name(raw: Option<&str>) -> Result<String, FieldError> {
    let raw = raw.ok_or_else(|| FieldError::new("name", "is required"))?;
    validate::required_text("name", raw, MAX_NAME)
}

impl CreateKeyRequest {
    /// The key a create makes in `workspace`, the caller's. Another organization is a 404, as
    /// an organization the caller cannot see would be.
    pub fn parse(self, workspace: &WorkspaceId) -> Result<NewKeySpec, Error> {
        if self
            .maybe_orga
            .as_deref()
            .is_some_and(|orga| orga != workspace.as_str())
        {
            return Err(Error::NotFound("No organization with that id.".into()));
        }
        let mut p = Problems::default();
        let name = p.take(name(self.name.as_deref()));
        p.finish(|| NewKeySpec::named(name.expect("checked")))
    }
}

impl UpdateKeyRequest {
    /// The rename.
    pub fn parse(self) -> Result<KeyChanges, Error> {
        let mut p = Problems::default();
        let name = p.take(name(self.name.as_deref()));
        p.finish(|| KeyChanges {
            name,
            ..KeyChanges::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;
    use proptest::prelude::*;

    fn workspace() -> WorkspaceId {
        WorkspaceId::parse("w-1").unwrap()
    }

    #[test]
    fn another_organization_is_a_404_and_a_blank_name_a_400() {
        let create = |name: &str, orga: Option<&str>| CreateKeyRequest {
            name: Some(name.into()),
            maybe_orga: orga.map(str::to_owned),
        };
        assert_eq!(create(" k ", None).parse(&workspace()).unwrap().name, "k");
        assert!(create("k", Some("w-1")).parse(&workspace()).is_ok());
        let status = |r: Result<NewKeySpec, Error>| r.unwrap_err().status().as_u16();
        assert_eq!(status(create("k", Some("w-2")).parse(&workspace())), 404);
        assert_eq!(status(create("  ", None).parse(&workspace())), 400);
        assert_eq!(
            status(create(&"n".repeat(101), None).parse(&workspace())),
            400
        );
    }

    proptest! {
        /// Whatever the body holds, parsing answers a spec or a 4xx, and never panics.
        #[test]
        fn any_body_parses_to_a_spec_or_a_4xx(
            name in ".{0,120}",
            orga in prop::option::of("[a-z0-9-]{0,8}"),
        ) {
            let body = serde_json::json!({"name": name, "maybeOrga": orga});
            let create: CreateKeyRequest = serde_json::from_value(body.clone()).unwrap();
            if let Err(err) = create.parse(&workspace()) {
                prop_assert!(err.status().is_client_error());
            }
            let update: UpdateKeyRequest = serde_json::from_value(body).unwrap();
            if let Err(err) = update.parse() {
                prop_assert!(err.status().is_client_error());
            }
        }
    }
}
