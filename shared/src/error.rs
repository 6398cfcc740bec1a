//! The one error type of the API, and the one place that decides HTTP status codes.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// A problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name as the client sent it (`allowed_ips[2]` for list items).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything a request can fail with. Each variant maps to exactly one status code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or a value is out of range (400).
    #[error("{detail}")]
    Validation {
        /// A sentence for humans.
        detail: String,
        /// Per-field problems, when known.
        errors: Vec<FieldError>,
    },
    /// The request is well formed but the resource's state forbids it (400), e.g. rotating a revoked key.
    #[error("{detail}")]
    InvalidState {
        /// Machine-readable reason.
        code: &'static str,
        /// A sentence for humans.
        detail: String,
    },
    /// No usable credentials (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but not allowed to do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such resource for this caller (404), including other users' resources.
    #[error("{0}")]
    NotFound(String),
    /// The route exists but not with this method (405).
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// A concurrent change won the race (409).
    #[error("{0}")]
    Conflict(String),
    /// The API key is over its hourly limit (429).
    #[error(
        "The API key is over its rate limit of {limit} requests per hour; retry after {retry_after} seconds."
    )]
    RateLimited {
        /// The key's hourly limit.
        limit: u32,
        /// Seconds until the window resets.
        retry_after: u64,
    },
    /// The request body is larger than any request of the API needs (413).
    #[error("The request body is larger than {limit} bytes.")]
    PayloadTooLarge {
        /// The largest body accepted, in bytes.
        limit: usize,
    },
    /// Storage or the queue is unreachable, slow or throttling (503); retrying later can help.
    /// The cause is logged, never returned.
    #[error("The service is briefly unavailable; retry after {retry_after} seconds.")]
    Unavailable {
        /// Seconds the client should wait.
        retry_after: u64,
        /// What failed.
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Anything the client cannot fix (500). The cause is logged, never returned.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 400 about one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = FieldError::new(field, message);
        Self::Validation {
            detail: format!("{}: {}", field.field, field.message),
            errors: vec![field],
        }
    }

    /// A 400 about several fields at once.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        Self::Validation { detail, errors }
    }

    /// A 500 wrapping its cause.
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(cause))
    }

    /// How long a client should wait after a 503, in seconds.
    pub const RETRY_AFTER_UNAVAILABLE: u64 = 2;

    /// For event-driven functions (no HTTP response to carry it): logs the cause of an internal
    /// error and returns the error boxed for the Lambda runtime, which reports the invocation failed.
    pub fn into_invocation_error(self) -> Box<dyn std::error::Error + Send + Sync> {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = %cause, source = ?cause.source(), "invocation failed");
        }
        Box::new(self)
    }

    /// The status code of this error: the only mapping from errors to HTTP in the code base.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } | Self::InvalidState { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable `code` of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "validation_error",
            Self::InvalidState { code, .. } => code,
            Self::Unauthenticated(_) => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::RateLimited { .. } => "rate_limited",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::Unavailable { .. } => "unavailable",
            Self::Internal(_) => "internal_error",
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

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            Self::Internal(cause) => {
                tracing::error!(error = %cause, source = ?cause.source(), "request failed");
                "The server could not complete the request.".to_owned()
            }
            Self::Unavailable { cause, .. } => {
                tracing::warn!(error = %cause, source = ?cause.source(), "a dependency is unavailable");
                self.to_string()
            }
            other => other.to_string(),
        };
        let errors = match &self {
            Self::Validation { errors, .. } => errors.as_slice(),
            _ => &[],
        };
        let report = ErrorReport {
            code: self.code(),
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
        if let Self::RateLimited { retry_after, .. } | Self::Unavailable { retry_after, .. } = self
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
