//! Test support for router tests (feature `testing`): [`InProcess`], every route over in-memory
//! storage on a manual clock, driven request by request with `oneshot`; and components wired to
//! a DynamoDB endpoint that is never reached, for requests that stop before storage.

use std::sync::Arc;

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode},
};
use serde_json::Value;

use latchkey_core::{
    auth::{Role, jwt::JwtIssuer},
    clock::{Clock, SystemClock},
    config::{Config, JwtSettings},
    wiring::Wiring,
};

/// The fixed test configuration.
fn test_config() -> Config {
    Config::from_lookup(|name| {
        let value = match name {
            "LATCHKEY_TABLE" => "unused",
            "LATCHKEY_JWT_SECRET" => "router-test-secret-router-test-secret",
            "LATCHKEY_JWT_ISSUER" => "latchkey",
            "LATCHKEY_JWT_AUDIENCE" => "latchkey-api",
            "LATCHKEY_OIDC_ISSUER" => "http://127.0.0.1:9",
            "LATCHKEY_OIDC_AUDIENCES" => "router-test-client",
            // Usage written with each verification, as on the test stack (nothing folds here).
            "LATCHKEY_USAGE_FLUSH_SECONDS" => "0",
            "LATCHKEY_WEBHOOK_KEY" => "router-test-webhook-key",
            "LATCHKEY_WEBHOOK_ALLOW_LOCALHOST" => "1",
            // Nothing listens there: GitHub's key list is never had in process.
            "LATCHKEY_SECRET_SCANNING_KEYS_URL" => {
                "http://127.0.0.1:9/meta/public_keys/secret_scanning"
            }
            _ => return None,
        };
        Some(value.to_owned())
    })
    .expect("the test configuration is valid")
}

/// Wiring from a fixed test configuration over empty memory, for requests that stop before
/// storage.
pub fn offline_wiring() -> Wiring {
    Wiring::in_memory(test_config(), Arc::new(SystemClock))
}

/// Sign-in settings for [`offline_wiring`]'s issuer: a client with one redirect URI.
pub fn offline_sign_in(wiring: &Wiring) -> std::sync::Arc<latchkey_core::sessions::SignIn> {
    let settings = latchkey_core::config::SignInSettings::from_lookup(
        |name| match name {
            "LATCHKEY_OIDC_CLIENT_ID" => Some("router-test-client".to_owned()),
            "LATCHKEY_OIDC_REDIRECT_URIS" => Some("http://localhost:5173".to_owned()),
            _ => None,
        },
        "router-test-client-secret".to_owned(),
        wiring.config().sessions(),
    )
    .expect("the test sign-in settings are valid");
    wiring
        .sign_in(settings)
        .expect("the offline wiring has an issuer")
}

/// Replays an API Gateway event file from `infra/events/` through a router.
pub async fn replay(
    router: axum::Router,
    event_file: &str,
) -> (http::StatusCode, serde_json::Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let path = format!(
        "{}/../../infra/events/{event_file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let event = std::fs::read_to_string(path).expect("fixture exists");
    let request = lambda_http::request::from_str(&event).expect("a valid API Gateway event");
    let (parts, body) = request.into_parts();
    let request = http::Request::from_parts(parts, axum::body::Body::from(body.to_vec()));
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

/// Every HTTP route of every function over one in-memory storage, as API Gateway puts them
/// behind one address: a whole Latchkey in process, answering in microseconds. Requests come
/// from 127.0.0.1, as the local stack's do.
pub struct InProcess {
    router: Router,
    /// The routes under `/console`, when mounted ([`InProcess::with_console`]).
    console: Option<Router>,
    settings: JwtSettings,
    issuer: JwtIssuer,
}

impl Default for InProcess {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcess {
    /// A fresh Latchkey with nothing stored, on the wall clock.
    pub fn new() -> Self {
        Self::on(Arc::new(SystemClock))
    }

    /// A fresh Latchkey with nothing stored, on `clock` (a `ManualClock` the test moves).
    pub fn on(clock: Arc<dyn Clock>) -> Self {
        Self::mounting(clock, |_, _| None)
    }

    /// A fresh Latchkey on the wall clock with the console's routes too: `console` makes them
    /// from the same wiring and sign-in (the console crate sits above this one, so its router
    /// is handed in). Requests under `/console` go to it, as API Gateway routes them.
    pub fn with_console(
        console: impl FnOnce(&Wiring, Arc<latchkey_core::sessions::SignIn>) -> Router,
    ) -> Self {
        Self::mounting(Arc::new(SystemClock), |wiring, sign_in| {
            Some(console(wiring, sign_in))
        })
    }

    fn mounting(
        clock: Arc<dyn Clock>,
        console: impl FnOnce(&Wiring, Arc<latchkey_core::sessions::SignIn>) -> Option<Router>,
    ) -> Self {
        let wiring = Wiring::in_memory(test_config(), clock);
        let sign_in = offline_sign_in(&wiring);
        let router = crate::api::every_route(&wiring, Some(sign_in.clone()));
        let console = console(&wiring, sign_in);
        let settings = wiring.config().sessions().clone();
        Self {
            router,
            console,
            issuer: JwtIssuer::new(&settings),
            settings,
        }
    }

    /// The issuer of the sessions it accepts.
    pub fn issuer(&self) -> &JwtIssuer {
        &self.issuer
    }

    /// The signing settings of the sessions it accepts.
    pub fn sessions(&self) -> &JwtSettings {
        &self.settings
    }

    /// An `Authorization` header value: a session of `user` in `workspace` with `role`.
    pub fn session(&self, user: &str, workspace: &str, role: Role) -> String {
        let mut claims = self.issuer.claims(user, 3600);
        claims.email = Some(format!("{user}@example.com"));
        claims.workspace_id = Some(workspace.to_owned());
        claims.role = Some(role);
        format!("Bearer {}", self.issuer.sign(&claims))
    }

    /// Sends `request` through the router, from 127.0.0.1 unless it names an API Gateway context
    /// of its own.
    pub async fn send(&self, mut request: Request<Body>) -> Reply {
        use http_body_util::BodyExt;
        use lambda_http::request::RequestContext;
        use tower::ServiceExt;
        if request.extensions().get::<RequestContext>().is_none() {
            let mut context = aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
            context.http.source_ip = Some("127.0.0.1".to_owned());
            request
                .extensions_mut()
                .insert(RequestContext::ApiGatewayV2(context));
        }
        let router = match &self.console {
            Some(console) if is_console(request.uri().path()) => console,
            _ => &self.router,
        };
        let response = router.clone().oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        Reply {
            status: parts.status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(&bytes).into_owned(),
            headers: parts.headers,
        }
    }

    /// `method` on `path` with `headers` (name, value) and a JSON `body` (a string is sent as it
    /// is, so a test can send malformed JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "latchkey.test");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let body = match body {
            Some(Value::String(raw)) => Body::from(raw),
            Some(json) => Body::from(json.to_string()),
            None => Body::empty(),
        };
        self.send(request.body(body).expect("a valid request"))
            .await
    }
}

/// Whether API Gateway routes `path` to the console (`/console` and below).
fn is_console(path: &str) -> bool {
    path == "/console" || path.starts_with("/console/")
}

/// An answer of [`InProcess`].
#[derive(Debug)]
pub struct Reply {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body as JSON (`null` when it is not JSON).
    pub body: Value,
    /// Its body as text (a console page's HTML).
    pub text: String,
}

impl Reply {
    /// The body, after checking the status is `status`.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        self.body
    }
}
