//! Answers of the latitude.sh family: JSON:API documents built from domain values, and its
//! error document.

use axum::http::StatusCode;
use serde::Serialize;

use super::input::KEY_TYPE;
use crate::error::ErrorReport;
use latchkey_core::{
    ids::KeyId,
    keys::{model::ApiKey, secret::PlainKey},
    timestamp, validate,
};

/// The API version latitude.sh's clients expect on a key.
const API_VERSION: &str = "2023-06-01";

/// A key as latitude.sh shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LatitudeKey)]
pub struct LatitudeKey {
    /// The key's id.
    id: KeyId,
    /// Always `api_keys`.
    #[serde(rename = "type")]
    #[schema(value_type = super::input::KeyType)]
    kind: &'static str,
    /// The key's settings.
    attributes: LatitudeKeyAttributes,
}

/// A key's settings as latitude.sh shows them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LatitudeKeyAttributes {
    /// Display name.
    name: String,
    /// The API version the key was made for.
    api_version: &'static str,
    /// The whole key: only in the answers to create and regenerate (PUT).
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    /// The key's last 5 characters.
    token_last_slice: String,
    /// A read-only key may not call mutating routes.
    read_only: bool,
    /// Networks the key may be used from; empty means anywhere.
    allowed_ips: Vec<String>,
    /// Last successful use.
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
    /// The key's owner.
    user: LatitudeUser,
    /// Creation time.
    #[schema(format = DateTime)]
    created_at: String,
    /// Last change of settings or secret.
    #[schema(format = DateTime)]
    updated_at: String,
}

/// A key's owner.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LatitudeUser {
    /// The owner's user id.
    id: String,
    /// The owner's email, when Latchkey knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

impl LatitudeKey {
    /// `key` as latitude.sh shows it, owned by the user with `email`, with its whole secret when
    /// it was just made.
    pub fn new(key: &ApiKey, email: Option<&str>, plain: Option<&PlainKey>) -> Self {
        Self {
            id: key.id,
            kind: KEY_TYPE,
            attributes: LatitudeKeyAttributes {
                name: key.name.clone(),
                api_version: API_VERSION,
                token: plain.map(|p| p.expose().to_owned()),
                token_last_slice: key.last_slice.clone(),
                read_only: key.read_only,
                allowed_ips: key
                    .allowed_ips
                    .iter()
                    .map(validate::format_network)
                    .collect(),
                last_used_at: key.last_used_at.map(timestamp::format),
                user: LatitudeUser {
                    id: key.owner_id.to_string(),
                    email: email.map(str::to_owned),
                },
                created_at: timestamp::format(key.created_at),
                updated_at: timestamp::format(key.updated_at),
            },
        }
    }
}

/// One key.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LatitudeKeyDocument)]
pub struct KeyDocument {
    /// The key.
    pub data: LatitudeKey,
}

/// The caller's keys.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LatitudeKeyList)]
pub struct KeyList {
    /// The keys, newest first.
    pub data: Vec<LatitudeKey>,
    /// Nothing yet: every key is on one page.
    pub meta: ListMeta,
}

/// The list's metadata.
#[derive(Serialize, Default, utoipa::ToSchema)]
pub struct ListMeta {}

/// A JSON:API error document: one error per field at fault, or one for the request.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LatitudeErrors)]
pub struct ErrorDocument {
    /// What went wrong.
    errors: Vec<ErrorObject>,
}

/// One JSON:API error.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LatitudeError)]
pub struct ErrorObject {
    /// The HTTP status, as a string.
    status: String,
    /// Machine-readable reason (the native error body's `code`).
    code: &'static str,
    /// The status's reason phrase.
    title: &'static str,
    /// A sentence for humans.
    detail: String,
    /// The attribute at fault, on validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<ErrorSource>,
}

/// Where in the request document an error is.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LatitudeErrorSource)]
pub struct ErrorSource {
    /// A JSON pointer: `/data/attributes/<field>`, or the path of the document it names.
    pointer: String,
}

impl ErrorDocument {
    /// `report`, answered with `status`, as JSON:API errors.
    pub fn new(status: StatusCode, report: &ErrorReport) -> Self {
        let error = |detail: String, source: Option<ErrorSource>| ErrorObject {
            status: status.as_str().to_owned(),
            code: report.code,
            title: status.canonical_reason().unwrap_or("Error"),
            detail,
            source,
        };
        let errors = if report.errors.is_empty() {
            vec![error(report.detail.clone(), None)]
        } else {
            report
                .errors
                .iter()
                .map(|field| {
                    error(
                        format!("{} {}", field.field, field.message),
                        Some(ErrorSource {
                            pointer: pointer(&field.field),
                        }),
                    )
                })
                .collect()
        };
        Self { errors }
    }
}

/// The JSON pointer of a field error: an attribute's (`name`, `allowed_ips[1]`) under
/// `/data/attributes`, a path the document itself names (`data.attributes`) as it stands.
fn pointer(field: &str) -> String {
    let path = field.replace('[', ".").replace(']', "").replace('.', "/");
    if path == "data" || path.starts_with("data/") {
        format!("/{path}")
    } else {
        format!("/data/attributes/{path}")
    }
}

#[cfg(test)]
mod pointer_tests {
    use super::pointer;

    #[test]
    fn attributes_sit_under_data_attributes_and_document_paths_stand_as_they_are() {
        assert_eq!(pointer("name"), "/data/attributes/name");
        assert_eq!(pointer("allowed_ips[1]"), "/data/attributes/allowed_ips/1");
        assert_eq!(pointer("data.attributes"), "/data/attributes");
        assert_eq!(pointer("data.attributes.name"), "/data/attributes/name");
        assert_eq!(pointer("data"), "/data");
    }
}
