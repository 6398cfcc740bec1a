//! The error responses every family shares in the OpenAPI document, each the contract's
//! [`ErrorBody`] under its status (the statuses themselves are decided in [`crate::error`]), and
//! the sets an operation lists them by ([`Errors`], [`ErrorsAs`]).

use std::{collections::BTreeMap, marker::PhantomData};

use utoipa::{
    IntoResponses, ToResponse,
    openapi::{Ref, RefOr, response::Response},
};

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

/// The client address has sent more requests to this route than its budget allows; nothing was
/// done. Retry after the window ends.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds until the budget is renewed.")))]
#[allow(dead_code)]
pub struct Throttled(ErrorBody<'static>);

/// The request body is over 1 MiB; nothing of it was read.
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct PayloadTooLarge(ErrorBody<'static>);

/// Storage or the queue is unreachable, slow or throttling; nothing was written. Retry later.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds to wait before retrying.")))]
#[allow(dead_code)]
pub struct Unavailable(ErrorBody<'static>);

/// The error statuses an operation lists, as a set of these bits: `Errors<{ UNAUTHENTICATED |
/// NOT_FOUND }>` in an operation's `responses(...)` lists 401 and 404, each as the shared response
/// of its status; [`ErrorsAs`] lists each as one family-specific response.
pub mod status {
    /// 400.
    pub const BAD_REQUEST: u16 = 1 << 0;
    /// 401.
    pub const UNAUTHENTICATED: u16 = 1 << 1;
    /// 403.
    pub const FORBIDDEN: u16 = 1 << 2;
    /// 404.
    pub const NOT_FOUND: u16 = 1 << 3;
    /// 409.
    pub const CONFLICT: u16 = 1 << 4;
    /// 429.
    pub const RATE_LIMITED: u16 = 1 << 5;
    /// 503.
    pub const UNAVAILABLE: u16 = 1 << 6;

    /// What every call by a session or a key can meet: 401, 403, 429.
    pub const CALLER: u16 = UNAUTHENTICATED | FORBIDDEN | RATE_LIMITED;
}

/// Each status bit of [`status`], its code, and the name of its shared response component (the
/// name the component's own derive gives it, so the two cannot drift apart).
fn statuses(set: u16) -> impl Iterator<Item = (&'static str, &'static str)> {
    fn name<R: ToResponse<'static>>() -> &'static str {
        R::response().0
    }
    [
        (status::BAD_REQUEST, "400", name::<BadRequest>()),
        (status::UNAUTHENTICATED, "401", name::<Unauthenticated>()),
        (status::FORBIDDEN, "403", name::<Forbidden>()),
        (status::NOT_FOUND, "404", name::<NotFound>()),
        (status::CONFLICT, "409", name::<Conflict>()),
        (status::RATE_LIMITED, "429", name::<RateLimited>()),
        (status::UNAVAILABLE, "503", name::<Unavailable>()),
    ]
    .into_iter()
    .filter(move |(bit, ..)| set & bit != 0)
    .map(|(_, code, name)| (code, name))
}

/// The statuses `STATUSES` names ([`status`]), each as the shared response of its status.
pub struct Errors<const STATUSES: u16>;

impl<const STATUSES: u16> IntoResponses for Errors<STATUSES> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        statuses(STATUSES)
            .map(|(code, name)| (code.to_owned(), RefOr::Ref(Ref::from_response_name(name))))
            .collect()
    }
}

/// The statuses `STATUSES` names ([`status`]), each as the one response `R` of a family whose
/// clients read another error shape (latitude.sh's JSON:API errors, spartera's error body).
pub struct ErrorsAs<R, const STATUSES: u16>(PhantomData<R>);

impl<R: for<'r> ToResponse<'r>, const STATUSES: u16> IntoResponses for ErrorsAs<R, STATUSES> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let (name, _) = R::response();
        statuses(STATUSES)
            .map(|(code, _)| (code.to_owned(), RefOr::Ref(Ref::from_response_name(name))))
            .collect()
    }
}
