//! The workspace's security settings: what a key reported as leaked gets (owners and admins).

use askama::Template;
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use latchkey_core::{Error, leaks::LeakPolicy};
use latchkey_http::ApiError;

use super::keys::DoneQuery;
use crate::{
    console::Shared,
    form::{FieldErrors, Fields},
    page::{Links, Page, Section, render},
    visitor::Visitor,
};

/// The policies, with what each does.
const POLICIES: [(&str, &str, &str); 2] = [
    (
        "revoke",
        "Revoke the key",
        "It stops working at once; its owners are told and issue a new one.",
    ),
    (
        "notify",
        "Only tell its owners",
        "It keeps working until someone rotates or revokes it.",
    ),
];

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage<'a> {
    links: Links,
    v: &'a Visitor,
    section: Section,
    policies: [(&'static str, &'static str, &'static str); 2],
    chosen: &'static str,
    notice: Option<&'static str>,
    errors: FieldErrors,
}

impl SecurityPage<'_> {
    fn error(&self) -> Option<String> {
        self.errors.get("leak_response")
    }
}

/// `GET /console/security`.
pub async fn form(
    State(console): State<Shared>,
    v: Visitor,
    Query(q): Query<DoneQuery>,
) -> Result<Page, ApiError> {
    let settings = console.security.get(&v.caller).await?;
    render(&SecurityPage {
        links: Links,
        section: Section::Security,
        policies: POLICIES,
        chosen: settings.leak_response.as_str(),
        notice: (q.done.as_deref() == Some("saved")).then_some("Saved."),
        errors: FieldErrors::default(),
        v: &v,
    })
}

/// `POST /console/security`: saves the leak policy.
pub async fn save(
    State(console): State<Shared>,
    v: Visitor,
    fields: Fields,
) -> Result<Response, ApiError> {
    let chosen = fields.text("leak_response").unwrap_or_default();
    let saved = match LeakPolicy::parse(&chosen) {
        Some(policy) => console.security.set_leak_response(&v.caller, policy).await,
        None => Err(Error::invalid_field(
            "leak_response",
            "Choose what a leaked key gets.",
        )),
    };
    match saved {
        Ok(_) => Ok(Redirect::to("/console/security?done=saved").into_response()),
        Err(err) => {
            let errors = FieldErrors::of(err)?;
            let status = errors.status();
            let page = render(&SecurityPage {
                links: Links,
                section: Section::Security,
                policies: POLICIES,
                chosen: LeakPolicy::parse(&chosen).map_or("", LeakPolicy::as_str),
                notice: None,
                errors,
                v: &v,
            })?;
            Ok((status, page).into_response())
        }
    }
}
