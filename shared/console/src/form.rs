//! Form posts: the fields of an `application/x-www-form-urlencoded` body, which the pages put
//! into the domain's drafts (`KeyDraft`, `ErasureDraft`, `ProfileDraft`), so a form is checked by
//! exactly the rules an API call is; and the field errors those rules give, for showing beside
//! their fields.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{StatusCode, header},
};
use latchkey_core::{Error, error::FieldError};
use latchkey_http::{ApiError, error::Status};

/// The fields of a posted form, in order (a name may repeat).
#[derive(Debug, Default, Clone)]
pub struct Fields(pub(crate) Vec<(String, String)>);

impl Fields {
    /// The fields of `body`; a body that is not form-encoded is a 400.
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        serde_urlencoded::from_bytes(body).map(Self).map_err(|_| {
            Error::invalid_field("body", "is not a form (application/x-www-form-urlencoded)")
        })
    }

    /// The first value of `name`, as sent.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn filled(&self, name: &str) -> Option<String> {
        self.text(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// Whether the checkbox `name` was ticked (sent at all).
    pub fn ticked(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    /// Every value of `name` (a group of checkboxes), in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The entries of the list field `name`: one per line or comma, trimmed, blanks dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.text(name)
            .unwrap_or_default()
            .split(['\n', ','])
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form {
            return Err(Error::invalid_field(
                "body",
                "must be a form (application/x-www-form-urlencoded)",
            )
            .into());
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|_| Error::invalid_field("body", "could not be read"))?;
        Ok(Self::parse(&body)?)
    }
}

/// The field errors of a failed use case, for the form that sent it, with the status the error
/// type gives them (any other error renders as an error page instead).
#[derive(Debug, Default, Clone)]
pub struct FieldErrors {
    errors: Vec<FieldError>,
    status: StatusCode,
}

impl FieldErrors {
    /// The field errors of `err`, or `err` itself when it is not about fields.
    pub fn of(err: Error) -> Result<Self, Error> {
        let status = err.status();
        let errors = match err {
            Error::Validation { errors, detail } if errors.is_empty() => {
                vec![FieldError::new("form", detail)]
            }
            Error::Validation { errors, .. } => errors,
            Error::InvalidState { detail, .. } => vec![FieldError::new("form", detail)],
            other => return Err(other),
        };
        Ok(Self { errors, status })
    }

    /// The status of the page that shows them (200 when there are none).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What is wrong with `field` (or an entry of it, `field[2]`), if anything.
    pub fn get(&self, field: &str) -> Option<String> {
        let messages: Vec<String> = self
            .errors
            .iter()
            .filter(|e| {
                e.field == field
                    || e.field
                        .strip_prefix(field)
                        .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
            })
            .map(|e| {
                if e.field == field {
                    e.message.clone()
                } else {
                    format!("{}: {}", &e.field[field.len()..], e.message)
                }
            })
            .collect();
        (!messages.is_empty()).then(|| messages.join("; "))
    }

    /// Errors about fields the form does not show (`known` are those it does), for the top of it.
    pub fn others(&self, known: &[&str]) -> Vec<String> {
        self.errors
            .iter()
            .filter(|e| {
                !known.iter().any(|k| {
                    e.field == *k
                        || e.field
                            .strip_prefix(k)
                            .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
                })
            })
            .map(|e| {
                if e.field == "form" {
                    e.message.clone()
                } else {
                    format!("{}: {}", e.field, e.message)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lists_split_on_lines_and_commas() {
        let fields = Fields::parse(b"permissions=read%0D%0Awrite%2C+admin%0A%0A&x=1").unwrap();
        assert_eq!(fields.list("permissions"), ["read", "write", "admin"]);
        assert!(fields.ticked("x"));
        assert!(!fields.ticked("y"));
        assert_eq!(fields.filled("x").as_deref(), Some("1"));
    }

    #[test]
    fn errors_find_their_fields_and_entries() {
        let errors = FieldErrors::of(Error::invalid_fields(vec![
            FieldError::new("allowed_ips[1]", "is not an address"),
            FieldError::new("name", "is required"),
            FieldError::new("rate_limit", "send either"),
        ]))
        .unwrap();
        assert_eq!(
            errors.get("allowed_ips").as_deref(),
            Some("[1]: is not an address")
        );
        assert_eq!(errors.get("name").as_deref(), Some("is required"));
        assert_eq!(errors.get("allowed"), None);
        assert_eq!(
            errors.others(&["name", "allowed_ips"]),
            ["rate_limit: send either"]
        );
        assert!(FieldErrors::of(Error::NotFound("x".into())).is_err());
    }

    proptest! {
        #[test]
        fn any_body_parses_or_is_a_400(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Err(err) = Fields::parse(&body) {
                prop_assert_eq!(err.status().as_u16(), 400);
            }
        }

        #[test]
        fn list_entries_are_never_blank(raw in "[a-z ,\n]{0,80}") {
            let fields = Fields(vec![("l".into(), raw)]);
            prop_assert!(fields.list("l").iter().all(|e| !e.trim().is_empty() && !e.contains(',')));
        }
    }
}
