//! Pages: rendering a template, the layout every signed-in page shares, and the console's
//! finish: errors (decided by the one error type, as everywhere) shown as pages, and the
//! headers every console response carries.

use askama::Template;
use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Redirect, Response},
};
use latchkey_core::Error;
use latchkey_http::ApiError;
use latchkey_http::error::ErrorReport;

use crate::{assets, visitor::SIGN_IN_PAGE};

/// A rendered page.
pub type Page = Html<String>;

/// Renders `template`.
pub fn render(template: &impl Template) -> Result<Page, ApiError> {
    Ok(template.render().map(Html).map_err(Error::internal)?)
}

/// The sections of the console's navigation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Section {
    /// The dashboard.
    Dashboard,
    /// Keys.
    Keys,
    /// Notifications.
    Notifications,
    /// The onboarding checklist.
    Onboarding,
    /// Profile and preferences.
    Profile,
    /// Privacy erasure.
    Privacy,
    /// The audit log.
    Audit,
    /// Webhook endpoints.
    Webhooks,
    /// Security settings (the leak policy).
    Security,
}

impl Section {
    /// The navigation: each section's path and label, and whether it is this one.
    pub fn nav(&self) -> Vec<(&'static str, &'static str, bool)> {
        [
            (Self::Dashboard, "/console", "Dashboard"),
            (Self::Keys, "/console/keys", "Keys"),
            (
                Self::Notifications,
                "/console/notifications",
                "Notifications",
            ),
            (Self::Onboarding, "/console/onboarding", "Get started"),
            (Self::Audit, "/console/audit", "Audit log"),
            (Self::Webhooks, "/console/webhooks", "Webhooks"),
            (Self::Security, "/console/security", "Security"),
            (Self::Privacy, "/console/privacy", "Privacy"),
            (Self::Profile, "/console/profile", "Profile"),
        ]
        .into_iter()
        .map(|(section, path, label)| (path, label, section == *self))
        .collect()
    }
}

/// What the layout links to.
pub struct Links;

impl Links {
    /// The stylesheet.
    pub fn css(&self) -> String {
        assets::url("console.css")
    }
    /// The console's script.
    pub fn js(&self) -> String {
        assets::url("console.js")
    }
    /// htmx.
    pub fn htmx(&self) -> String {
        assets::url("htmx.min.js")
    }
}

/// An error, as a page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    links: Links,
    status: u16,
    title: &'a str,
    detail: &'a str,
}

/// The console's last layers: every error response (a handler's, a rejection's, a fallback's)
/// becomes a page with the same status, except a 401, which sends the browser to sign in; and
/// every response gets the console's security headers.
pub fn finish(router: Router) -> Router {
    router
        .layer(middleware::from_fn(as_pages))
        .layer(middleware::from_fn(security_headers))
}

async fn as_pages(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let Some(report) = response.extensions().get::<ErrorReport>().cloned() else {
        return response;
    };
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        return Redirect::to(SIGN_IN_PAGE).into_response();
    }
    let title = status.canonical_reason().unwrap_or("Error");
    let page = ErrorPage {
        links: Links,
        status: status.as_u16(),
        title,
        detail: &report.detail,
    };
    let mut out = match render(&page) {
        Ok(html) => (status, html).into_response(),
        Err(_) => (status, report.detail.clone()).into_response(),
    };
    // The page keeps what the answer said beside its body: when to retry, and which request
    // it was (every response carries X-Request-Id).
    for name in [header::RETRY_AFTER, latchkey_http::REQUEST_ID] {
        if let Some(value) = response.headers().get(&name) {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(
        headers,
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    );
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "same-origin");
    set(headers, "x-frame-options", "DENY");
    // Pages show secrets once and a user's own data: never stored (assets set their own).
    set(headers, "cache-control", "no-store");
    response
}
