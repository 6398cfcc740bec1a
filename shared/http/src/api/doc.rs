//! The parts of the OpenAPI document that no single route owns: its info, the two security
//! schemes, the components it lists (the shared error responses of [`crate::responses`]), and
//! the headers every response carries.

use utoipa::{
    Modify, OpenApi,
    openapi::{
        self, Header, RefOr,
        schema::{ObjectBuilder, Type},
        security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        },
    },
};

use crate::{
    callers::{API_KEY, JWT, NO_SCOPES, operations},
    error::ErrorBody,
    responses::{
        BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, RateLimited, Throttled,
        Unauthenticated, Unavailable,
    },
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey API",
        description = "API keys and the account around them: create, list, rotate with a grace \
            period, regenerate, expire, revoke and verify keys; profile, notifications, onboarding, \
            dashboard metrics and GDPR erasure jobs.\n\nEvery error body is `ErrorBody`. Unknown \
            routes are 404 and a known route with another method is 405, both with an `ErrorBody`. \
            Every response carries `X-Request-Id` (the caller's, or a new one).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(
        schemas(
            ErrorBody, latchkey_core::error::FieldError,
            crate::families::latitude::view::ErrorDocument, crate::families::latitude::view::KeyDocument,
        ),
        responses(
            BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, RateLimited, Throttled,
            PayloadTooLarge, Unavailable,
            crate::families::latitude::LatitudeErrorResponse, crate::families::latitude::LatitudeKeyResponse,
            crate::families::spartera::SparteraErrorResponse,
        ),
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "api-keys", description = "Managing the caller's API keys."),
        (name = "verification", description = "Checking a presented key, for the services keys protect."),
        (name = "account", description = "Profile, notifications, onboarding and dashboard."),
        (name = "privacy", description = "GDPR Article 17 erasure jobs."),
        (name = "audit", description = "The audit log: every change, who made it, from where and \
            through which family, in a hash chain per workspace that shows an edited or missing \
            event."),
        (name = "numind", description = "The caller's keys in numind's shape (camelCase, 200 on \
            create), for numind's `AuthenticationApi`."),
        (name = "latitude.sh", description = "The caller's keys in latitude.sh's shape (JSON:API, \
            `application/vnd.api+json`), for its clients and `latitudesh-python-sdk`."),
        (name = "spartera", description = "A company's keys in spartera's shape (numbered keys, \
            200 on every success, its error body), for `spartera-api-sdk`."),
        (name = "cartovista", description = "A user's access keys in cartovista's shape \
            (camelCase; an update by body; `generateSecret`'s paired secret), for \
            `cartovista_cloud_clients`."),
        (name = "leak-response", description = "Leaked keys: GitHub's secret scanning partner \
            endpoint, revocation by whoever found a key, and the workspace's leak policy."),
        (name = "meta", description = "Health and this document."),
    ),
)]
pub(super) struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            JWT,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A user session: Latchkey's own HS256 JWT with `sub`, `exp`, `iss` and \
                         `aud`, and optionally `email`, `name`, `workspace_id` and `role` \
                         (`owner`, `admin`, `member`, `viewer`); or an RS256/ES256 access or id \
                         token of the configured OpenID Connect issuer, verified against its JWKS \
                         (workspace and role from the configured claims).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-KEY",
                "A Latchkey API key acting for its owner. `Authorization: Bearer <key>` works too \
                 when the token carries the key prefix.",
            ))),
        );
    }
}

/// Adds what every operation shares: 413 where a body is taken, 503 where storage is reached, `X-Request-Id` on every response, and the rate-limit
/// headers on the responses of operations an API key may call.
pub(super) fn finish(doc: &mut openapi::OpenApi) {
    let request_id = header("The caller's `X-Request-Id`, or a new one.", Type::String);
    if let Some(components) = doc.components.as_mut() {
        for response in components.responses.values_mut() {
            if let RefOr::T(response) = response {
                response
                    .headers
                    .insert("X-Request-Id".into(), RefOr::T(request_id.clone()));
            }
        }
    }
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            let shared = |name| RefOr::Ref(openapi::Ref::from_response_name(name));
            if operation.request_body.is_some() {
                operation
                    .responses
                    .responses
                    .insert("413".into(), shared("PayloadTooLarge"));
            }
            if !operation.tags.iter().flatten().any(|tag| tag == "meta") {
                operation
                    .responses
                    .responses
                    .entry("503".into())
                    .or_insert_with(|| shared("Unavailable"));
            }
            let keyed =
                operation.security.iter().flatten().any(|requirement| {
                    *requirement == SecurityRequirement::new(API_KEY, NO_SCOPES)
                });
            for response in operation.responses.responses.values_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                response
                    .headers
                    .insert("X-Request-Id".into(), RefOr::T(request_id.clone()));
                if keyed {
                    for (name, description) in RATE_HEADERS {
                        response
                            .headers
                            .insert(name.into(), RefOr::T(header(description, Type::Integer)));
                    }
                }
            }
        }
    }
}

const RATE_HEADERS: [(&str, &str); 3] = [
    (
        "X-RateLimit-Limit",
        "On key-authenticated responses: requests allowed per window.",
    ),
    (
        "X-RateLimit-Remaining",
        "On key-authenticated responses: requests left in the window.",
    ),
    (
        "X-RateLimit-Reset",
        "On key-authenticated responses: when the window ends, in epoch seconds.",
    ),
];

fn header(description: &str, kind: Type) -> Header {
    let mut header = Header::new(ObjectBuilder::new().schema_type(kind));
    header.description = Some(description.to_owned());
    header
}

/// A date (`YYYY-MM-DD`, a whole UTC day) or a timestamp, as request fields take them.
pub struct DateOrTime;

impl utoipa::PartialSchema for DateOrTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{
            KnownFormat, SchemaFormat,
            schema::{ObjectBuilder, OneOfBuilder, Type},
        };
        let string = |format| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(format)))
        };
        OneOfBuilder::new()
            .item(string(KnownFormat::Date))
            .item(string(KnownFormat::DateTime))
            .description(Some(
                "A date (`YYYY-MM-DD`, a whole UTC day) or a timestamp (RFC 3339, or ISO 8601 with `Z`, `+HH:MM`, `+HHMM`, `+HH` or no offset, which means UTC); years 1970 to 9999.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for DateOrTime {}
