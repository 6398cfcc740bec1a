//! Extractors that reject with [`Error`], so a malformed request is a 400 (or 404) in the contract's shape.

use axum::{
    extract::{FromRequest, FromRequestParts, Path, Request},
    http::request::Parts,
};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use latchkey_core::error::{Error, FieldError};

use crate::ApiError;
use latchkey_core::ids::ResourceId;

/// A JSON body. No body at all or `null` reads as `{}` (every request type has defaults or says
/// what is missing); anything but a JSON object is a 400 naming the field at fault.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge {
                    limit: super::MAX_BODY_BYTES,
                }
            } else {
                Error::Validation {
                    detail: format!("The request body could not be read: {e}."),
                    errors: vec![],
                }
            }
        })?;
        Ok(parse_json(&bytes).map(Json)?)
    }
}

pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::Validation {
        detail: "The request body is not UTF-8.".into(),
        errors: vec![],
    })?;
    // No body and a JSON `null` both mean "nothing sent": each request type then applies its
    // defaults or names what it needs. A body of only whitespace is not JSON: a 400.
    let text = if text.is_empty() || text.trim() == "null" {
        "{}"
    } else {
        text
    };
    if !text.trim_start().starts_with('{') {
        return Err(Error::Validation {
            detail: "The request body must be a JSON object.".into(),
            errors: vec![],
        });
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            Error::Validation {
                detail: format!("The request body is not valid JSON: {inner}."),
                errors: vec![],
            }
        } else {
            Error::invalid_fields(vec![FieldError::new(
                path,
                strip_position(&inner.to_string()),
            )])
        }
    })?;
    // One body, one reading: anything after the value (a second value, garbage) is a 400, so a
    // proxy and Latchkey can never read the same bytes as two different requests.
    de.end().map_err(|inner| Error::Validation {
        detail: format!("The request body is not valid JSON: {inner}."),
        errors: vec![],
    })?;
    Ok(value)
}

/// serde_json appends " at line 1 column 9" to messages; the field name says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_owned(),
        None => message.to_owned(),
    }
}

/// The request's path parameters as a `T` (a struct naming them), any that cannot be read being
/// the 404 `missing` makes: a path that names nothing is the same 404 as an unknown resource.
pub async fn path_or<T: DeserializeOwned + Send>(
    parts: &mut Parts,
    missing: fn() -> Error,
) -> Result<T, ApiError> {
    let Path(path) = Path::<T>::from_request_parts(parts, &())
        .await
        .map_err(|_| missing())?;
    Ok(path)
}

/// A query string. A value of the wrong type is a 400 naming the parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|err| {
                let path = err.path().to_string();
                let message = err.into_inner().to_string();
                Error::invalid_fields(vec![FieldError::new(path, message)]).into()
            })
    }
}

/// The `{…_id}` path segment naming a `T` (the route's only one, or the one named
/// `T::PATH_PARAM` where a route has several). A value that is not a UUID names nothing: the same
/// 404 as an unknown id.
#[derive(Debug, Clone, Copy)]
pub struct IdPath<T>(pub T);

impl<S: Send + Sync, T: ResourceId> FromRequestParts<S> for IdPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| T::not_found())?;
        let raw = match params.as_slice() {
            [(_, only)] => Some(only),
            several => several
                .iter()
                .find(|(name, _)| name == T::PATH_PARAM)
                .map(|(_, value)| value),
        }
        .ok_or_else(T::not_found)?;
        let id = Uuid::parse_str(raw).map_err(|_| T::not_found())?;
        Ok(IdPath(T::from(id)))
    }
}

impl<T: ResourceId> utoipa::IntoParams for IdPath<T> {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::{
            KnownFormat, Required, SchemaFormat,
            path::{ParameterBuilder, ParameterIn},
            schema::{ObjectBuilder, Type},
        };
        vec![
            ParameterBuilder::new()
                .name(T::PATH_PARAM)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(format!(
                    "The {}'s id. Anything but a UUID names none (404).",
                    T::NOUN
                )))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
                ))
                .build(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: Option<String>,
        limit: Option<i64>,
    }

    fn detail(err: Error) -> (String, Vec<String>) {
        match err {
            Error::Validation { detail, errors } => {
                (detail, errors.into_iter().map(|e| e.field).collect())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        assert!(parse_json::<Body>(b"").is_ok());
        assert!(parse_json::<Body>(b" null ").is_ok());
        // Found by the contract fuzzing: whitespace alone is not a JSON document.
        assert!(parse_json::<Body>(b"  ").is_err());
        assert!(parse_json::<Body>(b"\r").is_err());
        assert!(parse_json::<Body>(b"[]").is_err());
    }

    #[test]
    fn wrong_type_names_the_field() {
        let (_, fields) = detail(parse_json::<Body>(br#"{"limit": "ten"}"#).unwrap_err());
        assert_eq!(fields, ["limit"]);
    }

    #[tokio::test]
    async fn a_path_id_that_is_not_a_uuid_is_the_unknown_id_404() {
        use axum::{Router, body::Body as HttpBody, http::Request, routing::get};
        use latchkey_core::ids::NotificationId;
        use tower::ServiceExt;

        let app = Router::new().route(
            "/n/{notification_id}",
            get(|IdPath(NotificationId(id)): IdPath<NotificationId>| async move { id.to_string() }),
        );
        let call = |path: &str| {
            let request = Request::get(path).body(HttpBody::empty()).unwrap();
            app.clone().oneshot(request)
        };
        let id = Uuid::new_v4();
        let ok = call(&format!("/n/{id}")).await.unwrap();
        assert_eq!(ok.status(), 200);
        let bytes = axum::body::to_bytes(ok.into_body(), 1024).await.unwrap();
        assert_eq!(bytes, id.to_string());
        for bad in ["/n/not-a-uuid", "/n/%FF", &format!("/n/{id}x")] {
            let reply = call(bad).await.unwrap();
            assert_eq!(reply.status(), 404, "{bad}");
            let bytes = axum::body::to_bytes(reply.into_body(), 4096).await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(body["detail"], "No notification with that id.", "{bad}");
        }
    }

    #[test]
    fn non_objects_and_bad_syntax_are_400s() {
        for body in [&b"[1,2]"[..], b"\"x\"", b"{", b"{\"name\": }", b"\xff"] {
            let (detail, _) = detail(parse_json::<Body>(body).unwrap_err());
            assert!(!detail.is_empty());
        }
    }

    #[test]
    fn trailing_data_after_the_value_is_a_400() {
        for body in [
            &br#"{"name":"x"}garbage"#[..],
            br#"{"name":"x"} {"name":"y"}"#,
            br#"{"name":"x"}}"#,
            br#"{"name":"x"},"#,
        ] {
            let (detail, fields) = detail(parse_json::<Body>(body).unwrap_err());
            assert!(detail.contains("trailing"), "{detail}");
            assert!(fields.is_empty());
        }
        assert!(
            parse_json::<Body>(b"{\"name\":\"x\"} \r\n\t").is_ok(),
            "whitespace may follow"
        );
    }

    proptest::proptest! {
        /// Whatever follows a valid object, unless it is whitespace alone, the body is refused.
        #[test]
        fn anything_but_whitespace_after_the_object_is_refused(tail in "[ -~]{1,20}") {
            let body = format!(r#"{{"name":"x"}}{tail}"#);
            let parsed = parse_json::<Body>(body.as_bytes());
            proptest::prop_assert_eq!(parsed.is_ok(), tail.trim().is_empty());
        }
    }
}
