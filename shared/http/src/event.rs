//! The Lambda entry point of every HTTP function: API Gateway events become requests without a
//! panic, whatever a client put in `Host`, `X-Forwarded-Proto` or the path.
//!
//! lambda_http builds a request's URI from those with `unwrap`s, before any router, middleware
//! or panic guard runs: `Host: localhost:99999` crashed the function with a 500 naming the panic.
//! [`SafeEvents`] checks the same parts first, the way lambda_http reads them. A request that
//! would not convert is handed on stripped of them, to `/`, carrying [`MALFORMED`], and
//! [`refuse_malformed`] answers it with the contract's 400 (with its `X-Request-Id`, like any
//! answer). Should the conversion panic anyway (a lambda_http change), the panic is caught and
//! answered the same way.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    task::{Context, Poll},
};

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use axum::{extract::Request, middleware::Next, response::IntoResponse, response::Response};
use http::{HeaderName, HeaderValue, Uri};
use lambda_http::{LambdaEvent, Service, request::LambdaRequest};

use latchkey_core::error::Error;

use crate::ApiError;

/// The header that carries why an event could not become a request. A client's own copy is
/// always removed first, so only [`SafeEvents`] sets it.
pub const MALFORMED: HeaderName = HeaderName::from_static("x-latchkey-malformed");

/// Wraps lambda_http's adapter (`inner`) so that no event it is given can make it panic.
#[derive(Clone)]
pub struct SafeEvents<S> {
    inner: S,
}

impl<S> SafeEvents<S> {
    /// Guards `inner`, the adapter of a router.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S> Service<LambdaEvent<LambdaRequest>> for SafeEvents<S>
where
    S: Service<LambdaEvent<LambdaRequest>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<LambdaRequest>) -> Self::Future {
        let LambdaEvent { payload, context } = event;
        let payload = match payload {
            LambdaRequest::ApiGatewayV2(mut request) => {
                request.headers.remove(&MALFORMED);
                if let Some(why) = unconvertible(&request) {
                    request = stripped(request, why);
                }
                LambdaRequest::ApiGatewayV2(request)
            }
            other => other,
        };
        let inner = &mut self.inner;
        // The event moves into the conversion; should it panic there, the 400 is answered with
        // a context of its own rather than a copy of every request's made in advance.
        match catch_unwind(AssertUnwindSafe(|| {
            inner.call(LambdaEvent::new(payload, context))
        })) {
            Ok(future) => future,
            Err(_) => {
                let fallback = stripped(
                    ApiGatewayV2httpRequest::default(),
                    "The request could not be read.",
                );
                self.inner.call(LambdaEvent::new(
                    LambdaRequest::ApiGatewayV2(fallback),
                    lambda_http::Context::default(),
                ))
            }
        }
    }
}

/// Why lambda_http could not turn `request` into a URI, read the way it reads it: the scheme of
/// `X-Forwarded-Proto` (else `https`), the host of `Host` (else the context's domain name), the
/// raw path and the raw query.
fn unconvertible(request: &ApiGatewayV2httpRequest) -> Option<&'static str> {
    let host = request
        .headers
        .get(http::header::HOST)
        .and_then(|s| s.to_str().ok())
        .or(request.request_context.domain_name.as_deref());
    let scheme = request
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("https");
    let path = request.raw_path.as_deref().unwrap_or_default();
    let base = match host {
        Some(host) => reqwest::Url::parse(&format!("{scheme}://{host}{path}"))
            .map_err(|_| "The Host header, X-Forwarded-Proto or the path is not valid."),
        None => reqwest::Url::parse(&format!("http://localhost{path}"))
            .map_err(|_| "The request path is not valid."),
    };
    let base = match base {
        Ok(url) if host.is_some() => url.to_string(),
        Ok(url) => url.path().to_owned(),
        Err(why) => return Some(why),
    };
    let uri = match request.raw_query_string.as_deref() {
        Some(query) if !query.is_empty() => format!("{base}?{query}"),
        _ => base,
    };
    match uri.parse::<Uri>() {
        Ok(_) => None,
        Err(_) => Some("The request's URI is not valid."),
    }
}

/// `request` without what could not be read, sent to `/` with [`MALFORMED`] saying why.
fn stripped(mut request: ApiGatewayV2httpRequest, why: &'static str) -> ApiGatewayV2httpRequest {
    request.headers.remove(http::header::HOST);
    request.headers.remove("x-forwarded-proto");
    request
        .headers
        .insert(MALFORMED, HeaderValue::from_static(why));
    request.request_context.domain_name = None;
    request.request_context.stage = None;
    request.raw_path = Some("/".into());
    request.raw_query_string = None;
    request.path_parameters.clear();
    request.body = None;
    request
}

/// Middleware: answers a request [`SafeEvents`] marked as unreadable with a 400 saying why.
pub async fn refuse_malformed(request: Request, next: Next) -> Response {
    match request.headers().get(&MALFORMED) {
        Some(why) => ApiError(Error::Validation {
            detail: why
                .to_str()
                .unwrap_or("The request could not be read.")
                .to_owned(),
            errors: vec![],
        })
        .into_response(),
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(
        host: Option<&str>,
        proto: Option<&str>,
        path: &str,
        query: &str,
    ) -> ApiGatewayV2httpRequest {
        let mut request = ApiGatewayV2httpRequest::default();
        if let Some(host) = host.and_then(|h| HeaderValue::from_str(h).ok()) {
            request.headers.insert(http::header::HOST, host);
        }
        if let Some(proto) = proto.and_then(|p| HeaderValue::from_str(p).ok()) {
            request.headers.insert("x-forwarded-proto", proto);
        }
        request.raw_path = Some(path.to_owned());
        request.raw_query_string = Some(query.to_owned());
        request
    }

    /// What lambda_http's own conversion does with the event: a request, or a panic.
    fn converts(request: ApiGatewayV2httpRequest) -> bool {
        catch_unwind(|| {
            let _: lambda_http::Request = LambdaRequest::ApiGatewayV2(request).into();
        })
        .is_ok()
    }

    #[test]
    fn the_hostile_values_of_the_report_are_caught() {
        for (host, proto) in [
            (Some("localhost:99999"), None),
            (Some("[::1"), None),
            (Some("localhost:9000"), Some("a b")),
        ] {
            let request = event(host, proto, "/api/v1/account/health", "");
            assert!(unconvertible(&request).is_some(), "{host:?} {proto:?}");
            assert!(converts(stripped(request, "x")));
        }
        assert_eq!(
            unconvertible(&event(Some("localhost:9000"), Some("http"), "/a", "b=c")),
            None
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Any Host, X-Forwarded-Proto, path and query: either the check lets it through and
        /// lambda_http converts it, or the check names it and its stripped form converts.
        #[test]
        fn no_event_reaches_a_panic(
            host in prop::option::of("[ -~]{0,24}"),
            proto in prop::option::of("[ -~]{0,8}"),
            path in "/[ -~]{0,24}",
            query in "[ -~]{0,16}",
        ) {
            let request = event(host.as_deref(), proto.as_deref(), &path, &query);
            match unconvertible(&request) {
                None => prop_assert!(converts(request)),
                Some(why) => prop_assert!(converts(stripped(request, why))),
            }
        }
    }
}
