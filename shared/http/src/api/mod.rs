//! The HTTP API of every family, and the OpenAPI document it is described by.
//!
//! Each family module declares its routes with `utoipa_axum::routes!`, which mounts a handler and
//! records its `#[utoipa::path]` operation in one step, so a route cannot exist without its
//! description. A function mounts its family's [`Router`]; [`document`] merges every family into
//! the one document served at `GET /api/v1/openapi.json` and written to `infra/openapi.json`.

pub mod account;
pub mod api_keys;
pub mod doc;
pub mod leaks;
pub mod privacy;
#[cfg(test)]
mod request_properties;
pub mod signin;

use axum::Router;

use crate::families::{cartovista, latitude, numind, spartera};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Where the committed copy of the document lives, relative to the workspace root.
pub const DOCUMENT_PATH: &str = "infra/openapi.json";

/// The OpenAPI 3.1 document of every HTTP route of every function.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = doc::ApiDoc::openapi();
    for family in [
        api_keys::routes().into_openapi(),
        leaks::routes().into_openapi(),
        latitude::routes().into_openapi(),
        numind::routes().into_openapi(),
        spartera::routes().into_openapi(),
        cartovista::routes().into_openapi(),
        account::routes().into_openapi(),
        privacy::routes().into_openapi(),
        signin::routes().into_openapi(),
    ] {
        doc.merge(family);
    }
    doc::finish(&mut doc);
    doc
}

/// [`document`] as pretty JSON with a trailing newline: the served body and the committed file.
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .expect("the document serializes");
    json.push('\n');
    json
}

/// The api-keys function's router: the native key routes and the key routes of every family
/// Latchkey stands in for, over one [`api_keys::KeysApi`], so they share one warm cache.
pub fn key_routes(state: api_keys::KeysApi) -> Router {
    mount(every_key_route(), state)
}

/// The native key routes and every family's.
fn every_key_route() -> OpenApiRouter<api_keys::KeysApi> {
    api_keys::routes()
        .merge(leaks::routes())
        .merge(latitude::routes())
        .merge(numind::routes())
        .merge(spartera::routes())
        .merge(cartovista::routes())
}

/// Every HTTP function's routes in one router over one [`Wiring`](latchkey_core::wiring::Wiring), as
/// API Gateway puts the functions behind one address: what in-process tests drive. Sign-in routes
/// are there when `sign_in` is.
pub fn every_route(
    wiring: &latchkey_core::wiring::Wiring,
    sign_in: Option<std::sync::Arc<latchkey_core::sessions::SignIn>>,
) -> Router {
    let mut router = with_state(every_key_route(), api_keys::KeysApi::wire(wiring))
        .merge(with_state(
            account::routes(),
            account::AccountApi::wire(wiring),
        ))
        .merge(with_state(
            privacy::routes(),
            privacy::PrivacyApi::wire(wiring),
        ));
    if let Some(sign_in) = sign_in {
        router = router.merge(with_state(
            signin::routes(),
            signin::SignInApi::wire(wiring, sign_in),
        ));
    }
    crate::finish(router)
}

/// Mounts a family's documented routes with their state and the shared HTTP finish.
fn mount<S: Clone + Send + Sync + 'static>(routes: OpenApiRouter<S>, state: S) -> Router {
    crate::finish(with_state(routes, state))
}

/// A family's routes with their state, without the HTTP finish (which a router gets once).
fn with_state<S: Clone + Send + Sync + 'static>(routes: OpenApiRouter<S>, state: S) -> Router {
    let (router, _) = routes.split_for_parts();
    router.with_state(state)
}

#[cfg(test)]
mod tests;
