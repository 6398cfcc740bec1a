//! What a use case can fail with. Each variant is one kind of failure the contract names; the HTTP
//! crate decides the status each is answered with (`latchkey_http::error`), the event-driven
//! functions report it as a failed invocation.

use serde::Serialize;

/// A problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Everything a request can fail with. Each variant is answered with exactly one status code.
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
    /// Too many requests from one client for a route that counts them (429): the public leak
    /// report endpoint's per-address budget.
    #[error("{detail}")]
    Throttled {
        /// A sentence for humans.
        detail: String,
        /// Seconds until the budget is renewed.
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
            Self::RateLimited { .. } | Self::Throttled { .. } => "rate_limited",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::Unavailable { .. } => "unavailable",
            Self::Internal(_) => "internal_error",
        }
    }
}
