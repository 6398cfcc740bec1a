//! Requests of numind's sign-in routes, and their parsing.

use serde::Deserialize;

use latchkey_core::error::{Error, FieldError};
use latchkey_core::validate::Problems;

/// `TokenRequest.type` of a code exchange.
pub const CODE_REQUEST: &str = "ai.numind.extract.shared.TokenCodeRequest";
/// `TokenRequest.type` of a refresh.
pub const REFRESH_REQUEST: &str = "ai.numind.extract.shared.TokenRefreshRequest";
/// The longest code, state, token or redirect URI accepted.
const MAX_VALUE: usize = 2048;

/// `GET /api/auth`'s query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthQuery {
    /// Where the provider sends the user back: exactly one of the allowed redirect URIs.
    #[serde(rename = "redirectUri")]
    #[param(rename = "redirectUri", required = true)]
    redirect_uri: Option<String>,
}

impl AuthQuery {
    /// The redirect URI asked for (missing: 400).
    pub fn redirect_uri(self) -> Result<String, Error> {
        self.redirect_uri
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Error::invalid_field("redirectUri", "is required"))
    }
}

/// TokenRequest: a code exchange or a refresh, told apart by `type`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NumindTokenRequest)]
pub struct TokenRequest {
    /// `ai.numind.extract.shared.TokenCodeRequest` or `ai.numind.extract.shared.TokenRefreshRequest`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    kind: Option<String>,
    /// The code the provider sent back (code exchange).
    code: Option<String>,
    /// The redirect URI the sign-in used (code exchange).
    redirect_uri: Option<String>,
    /// The sign-in's `state`, for clients that keep it rather than the cookie `GET /api/auth`
    /// set (code exchange).
    state: Option<String>,
    /// The refresh token (refresh).
    token: Option<String>,
}

/// What a token request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Grant {
    /// Finish a sign-in.
    Code {
        /// The code.
        code: String,
        /// Its redirect URI.
        redirect_uri: String,
        /// The sign-in's state, when the body carries it.
        state: Option<String>,
    },
    /// Refresh a session.
    Refresh {
        /// The refresh token.
        token: String,
    },
}

fn value(field: &str, raw: Option<String>, p: &mut Problems) -> Option<String> {
    match raw {
        None => {
            p.push(FieldError::new(field, "is required"));
            None
        }
        Some(v) if v.is_empty() || v.chars().count() > MAX_VALUE => {
            p.push(FieldError::new(
                field,
                format!("must be 1 to {MAX_VALUE} characters"),
            ));
            None
        }
        Some(v) => Some(v),
    }
}

impl TokenRequest {
    /// The grant asked for; an unknown `type`, or a missing field: 400.
    pub fn parse(self) -> Result<Grant, Error> {
        let mut p = Problems::default();
        match self.kind.as_deref() {
            Some(CODE_REQUEST) => {
                let code = value("code", self.code, &mut p);
                let redirect_uri = value("redirectUri", self.redirect_uri, &mut p);
                let state = self.state.and_then(|s| value("state", Some(s), &mut p));
                p.finish(|| Grant::Code {
                    code: code.expect("checked"),
                    redirect_uri: redirect_uri.expect("checked"),
                    state,
                })
            }
            Some(REFRESH_REQUEST) => {
                let token = value("token", self.token, &mut p);
                p.finish(|| Grant::Refresh {
                    token: token.expect("checked"),
                })
            }
            _ => Err(Error::invalid_field(
                "type",
                format!("must be {CODE_REQUEST} or {REFRESH_REQUEST}"),
            )),
        }
    }
}

/// A logout's body: a JSON string (the session's refresh token, or `""`), `null` or nothing.
pub fn logout_body(bytes: &[u8]) -> Result<Option<String>, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::Validation {
        detail: "The request body is not UTF-8.".into(),
        errors: vec![],
    })?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Null) => Ok(None),
        Ok(serde_json::Value::String(token)) if token.chars().count() <= MAX_VALUE => {
            Ok(Some(token).filter(|t| !t.is_empty()))
        }
        _ => Err(Error::Validation {
            detail: "The request body must be a JSON string: the session's refresh token, or \"\"."
                .into(),
            errors: vec![],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;
    use proptest::prelude::*;

    fn parse(body: serde_json::Value) -> Result<Grant, Error> {
        crate::extract::parse_json::<TokenRequest>(body.to_string().as_bytes())?.parse()
    }

    #[test]
    fn the_type_decides_the_grant() {
        assert_eq!(
            parse(serde_json::json!({"type": REFRESH_REQUEST, "token": "rt_x"})).unwrap(),
            Grant::Refresh {
                token: "rt_x".into()
            }
        );
        assert!(matches!(
            parse(serde_json::json!({"type": CODE_REQUEST, "code": "c", "redirectUri": "u"}))
                .unwrap(),
            Grant::Code { state: None, .. }
        ));
        for bad in [
            serde_json::json!({"type": "other", "token": "x"}),
            serde_json::json!({"token": "x"}),
            serde_json::json!({"type": CODE_REQUEST, "code": "c"}),
            serde_json::json!({"type": REFRESH_REQUEST, "token": ""}),
        ] {
            assert_eq!(
                parse(bad.clone()).unwrap_err().status().as_u16(),
                400,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_logout_body_is_a_string_or_nothing() {
        assert_eq!(logout_body(b"\"rt_1\"").unwrap(), Some("rt_1".into()));
        assert_eq!(logout_body(b"\"\"").unwrap(), None);
        assert_eq!(logout_body(b"").unwrap(), None);
        assert_eq!(logout_body(b"null").unwrap(), None);
        assert!(logout_body(b"{}").is_err());
        assert!(logout_body(b"\xff").is_err());
    }

    proptest! {
        /// Whatever the body, parsing answers a grant or a 400, never a panic.
        #[test]
        fn any_body_parses_or_is_a_400(body in ".{0,200}") {
            if let Err(err) = crate::extract::parse_json::<TokenRequest>(body.as_bytes()).and_then(TokenRequest::parse) {
                prop_assert_eq!(err.status().as_u16(), 400);
            }
            if let Err(err) = logout_body(body.as_bytes()) {
                prop_assert_eq!(err.status().as_u16(), 400);
            }
        }
    }
}
