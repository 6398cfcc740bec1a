//! Who may call an operation, as the OpenAPI document says: the two security schemes' names, the
//! sets of them operations accept, and [`secured`], which states a family's set once where its
//! routes are mounted.

use utoipa::openapi::{
    path::{Operation, PathItem},
    security::SecurityRequirement,
};
use utoipa_axum::router::OpenApiRouter;

/// Name of the session scheme in the document (CONTRACT.md's name).
pub const JWT: &str = "JWTBearer";
/// Name of the API-key scheme in the document (CONTRACT.md's name).
pub const API_KEY: &str = "APIKeyBearer";

pub(crate) const NO_SCOPES: [&str; 0] = [];

/// A session or an API key: the callers of most operations.
pub const SESSION_OR_KEY: &[&str] = &[JWT, API_KEY];
/// A user's session only.
pub const SESSION_ONLY: &[&str] = &[JWT];

/// Gives every operation of `router` that names no callers of its own the `schemes` it accepts:
/// a family's default, stated once where its routes are mounted. An operation that differs says
/// so in its own `security(...)`.
pub fn secured<S>(mut router: OpenApiRouter<S>, schemes: &[&str]) -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    for item in router.get_openapi_mut().paths.paths.values_mut() {
        for operation in operations(item) {
            operation.security.get_or_insert_with(|| {
                schemes
                    .iter()
                    .map(|scheme| SecurityRequirement::new(*scheme, NO_SCOPES))
                    .collect()
            });
        }
    }
    router
}

/// Every operation of a path item, whatever its method.
pub(crate) fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}
