//! The error responses every family shares in the OpenAPI document, each the contract's
//! [`ErrorBody`] under its status (the statuses themselves are decided in [`crate::error`]).

use utoipa::ToResponse;

use crate::error::ErrorBody;

/// The request is malformed or a value is out of range; `errors` names each field at fault.
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct BadRequest(ErrorBody<'static>);

/// Missing, malformed, expired, revoked or disabled credentials.
#[derive(ToResponse)]
#[response(headers(("WWW-Authenticate" = String, description = "The schemes that are accepted.")))]
#[allow(dead_code)]
pub struct Unauthenticated(ErrorBody<'static>);

/// A read-only key on a mutating route, a missing permission, an address outside the key's
/// `allowed_ips`, a key that would grant more than it holds, or a role that may not do this.
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct Forbidden(ErrorBody<'static>);

/// No such resource for this caller (another user's resource is a 404 too).
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct NotFound(ErrorBody<'static>);

/// A concurrent change to the same resource won the race; re-read and retry.
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct Conflict(ErrorBody<'static>);

/// The key is over its rate limit (`rate_limit`, or `rate_limit_per_hour`).
#[derive(ToResponse)]
#[response(headers(
    ("Retry-After" = u64, description = "Seconds until the rate window ends."),
    ("X-RateLimit-Limit" = u32, description = "Requests allowed per window."),
    ("X-RateLimit-Remaining" = u32, description = "Requests left in the window."),
    ("X-RateLimit-Reset" = i64, description = "When the window ends, in epoch seconds."),
))]
#[allow(dead_code)]
pub struct RateLimited(ErrorBody<'static>);

/// The request body is over 1 MiB; nothing of it was read.
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct PayloadTooLarge(ErrorBody<'static>);

/// Storage or the queue is unreachable, slow or throttling; nothing was written. Retry later.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds to wait before retrying.")))]
#[allow(dead_code)]
pub struct Unavailable(ErrorBody<'static>);
