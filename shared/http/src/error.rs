//! The one place that decides HTTP status codes: every domain [`Error`] leaves a handler as an
//! [`ApiError`], answered with its status, the contract's error body, and the headers its kind
//! carries (`Retry-After`, `WWW-Authenticate`).

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use latchkey_core::{
    error::{Error, FieldError},
    store::StoreError,
};
use serde::Serialize;

/// A domain error on its way out as a response. Handlers return [`Result`]; `?` turns any
/// domain error (or storage error) into one.
#[derive(Debug)]
pub struct ApiError(pub Error);

/// Shorthand for handlers' results.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        Self(error)
    }
}

/// Back to the domain error, so a helper that renders or builds a response (and so answers an
/// [`ApiError`]) can be called with `?` where a use case's result is being worked out.
impl From<ApiError> for Error {
    fn from(ApiError(error): ApiError) -> Self {
        error
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self(error.into())
    }
}

/// The status code of a domain error: the only mapping from errors to HTTP in the code base.
pub trait Status {
    /// The status this error is answered with.
    fn status(&self) -> StatusCode;
}

impl Status for Error {
    fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } | Self::InvalidState { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RateLimited { .. } | Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The body of every error response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// A sentence for humans; a 5xx never echoes internals.
    detail: &'a str,
    /// Machine-readable reason: `validation_error`, `unauthenticated`, `forbidden`, `not_found`,
    /// `method_not_allowed`, `conflict`, `rate_limited`, `payload_too_large`, `unavailable`,
    /// `internal_error`, or a state reason such as `key_revoked`.
    code: &'a str,
    /// Each field at fault, on validation errors.
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    #[schema(value_type = Vec<FieldError>)]
    errors: &'a [FieldError],
}

/// What an error response says, kept in the response's extensions so a family whose clients read
/// another error shape (latitude.sh's JSON:API errors) can say the same thing in that shape,
/// without deciding the status a second time.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    /// The machine-readable reason (`code` of the error body).
    pub code: &'static str,
    /// The sentence for humans.
    pub detail: String,
    /// Each field at fault, on validation errors.
    pub errors: Vec<FieldError>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Self(error) = self;
        let status = error.status();
        let detail = match &error {
            Error::Internal(cause) => {
                tracing::error!(error = %cause, source = ?cause.source(), "request failed");
                "The server could not complete the request.".to_owned()
            }
            Error::Unavailable { cause, .. } => {
                tracing::warn!(error = %cause, source = ?cause.source(), "a dependency is unavailable");
                error.to_string()
            }
            other => other.to_string(),
        };
        let errors = match &error {
            Error::Validation { errors, .. } => errors.as_slice(),
            _ => &[],
        };
        let report = ErrorReport {
            code: error.code(),
            detail,
            errors: errors.to_vec(),
        };
        let body = ErrorBody {
            detail: &report.detail,
            code: report.code,
            errors: &report.errors,
        };
        let mut response = (status, Json(body)).into_response();
        response.extensions_mut().insert(report);
        if let Error::RateLimited { retry_after, .. }
        | Error::Throttled { retry_after, .. }
        | Error::Unavailable { retry_after, .. } = error
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="latchkey", ApiKey realm="latchkey""#),
            );
        }
        response
    }
}
