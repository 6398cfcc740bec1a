//! A browser of the console for the HTTP tests: its cookies, signing in (through the local
//! provider, or in process with a session minted as the sign-in would), pages and their CSRF
//! tokens. Like [`crate::Api`], it talks to the stack or to the in-process Latchkey.

use std::collections::HashMap;

use latchkey_http::testing::InProcess;
use reqwest::{StatusCode, Url, header};

use crate::{Auth, env, in_process, through_the_provider};

/// `request` through the in-process router, as the stack would have it: path, query, headers
/// and body.
async fn in_process_send(app: &InProcess, request: reqwest::RequestBuilder) -> Page {
    let request = request.build().expect("a valid request");
    let url = request.url();
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let mut built = http::Request::builder()
        .method(request.method().clone())
        .uri(target)
        .header(header::HOST, url.host_str().unwrap_or("latchkey.test"));
    for (name, value) in request.headers() {
        built = built.header(name, value);
    }
    let body = request
        .body()
        .and_then(|b| b.as_bytes())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let reply = app
        .send(
            built
                .body(axum::body::Body::from(body))
                .expect("a valid request"),
        )
        .await;
    Page {
        status: reply.status,
        headers: reply.headers,
        html: reply.text,
    }
}

/// A browser of the console: its cookies, and no redirects followed.
pub struct Browser {
    /// The API's address.
    pub base: String,
    /// Its client (no redirects followed); in process, it only builds requests.
    pub http: reqwest::Client,
    /// The cookies the console set.
    pub cookies: HashMap<String, String>,
    /// The in-process Latchkey it browses, instead of the stack.
    app: Option<&'static InProcess>,
}

/// A page fetched.
pub struct Page {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: reqwest::header::HeaderMap,
    /// Its body.
    pub html: String,
}

impl Page {
    /// Where it redirects to.
    pub fn location(&self) -> &str {
        self.headers[header::LOCATION].to_str().unwrap()
    }

    /// The page's CSRF token (every signed-in page has one in its sign-out form).
    pub fn csrf(&self) -> String {
        let at = self
            .html
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field")
            + 19;
        self.html[at..].split('"').next().unwrap().to_owned()
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// A browser of the stack with no cookies.
    pub fn new() -> Self {
        Self::of(env("LATCHKEY_API_URL"), None)
    }

    fn of(base: String, app: Option<&'static InProcess>) -> Self {
        Self {
            base,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
            app,
        }
    }

    /// A browser of the in-process Latchkey with no cookies.
    pub fn in_process() -> Self {
        Self::of("http://latchkey.test".into(), Some(in_process::app()))
    }

    /// A browser of the in-process Latchkey signed in as `sub`: the session cookie the
    /// callback sets (a session token naming a session of its own), made without the provider.
    pub fn in_process_signed_in(sub: &str) -> Self {
        Self::in_process_signed_in_as(sub, None, None)
    }

    /// [`Browser::in_process_signed_in`] with the provider's `workspace_id` and `role` claims.
    pub fn in_process_signed_in_as(
        sub: &str,
        workspace: Option<&str>,
        role: Option<latchkey_core::auth::Role>,
    ) -> Self {
        let mut browser = Self::in_process();
        let issuer = in_process::issuer();
        let mut claims = issuer.claims(sub, 3600);
        claims.email = Some(format!("{sub}@example.com"));
        claims.workspace_id = workspace.map(str::to_owned);
        claims.role = role;
        claims.sid = Some(uuid::Uuid::now_v7().to_string());
        browser
            .cookies
            .insert("latchkey_console".into(), issuer.sign(&claims));
        browser
    }

    /// The API the browser's console stands beside (the stack's, or the in-process one).
    pub fn api(&self) -> crate::Api {
        match self.app {
            Some(_) => crate::Api::in_process(),
            None => crate::Api::new(),
        }
    }

    /// Signs `sub` in through the provider, as a browser does.
    pub async fn signed_in(sub: &str) -> Self {
        Self::signed_in_as(sub, &[]).await
    }

    /// Signs `sub` in through the provider with more of the provider's claims (`workspace_id`,
    /// `role`, ...).
    pub async fn signed_in_as(sub: &str, claims: &[(&str, &str)]) -> Self {
        let mut browser = Self::new();
        let start = browser.get("/console/login").await;
        assert_eq!(start.status, StatusCode::SEE_OTHER);
        let mut at_provider = Url::parse(start.location()).unwrap();
        at_provider.query_pairs_mut().append_pair("login_hint", sub);
        for (name, value) in claims {
            at_provider.query_pairs_mut().append_pair(name, value);
        }
        let callback = format!("{}/console/callback", browser.base);
        let back = through_the_provider(at_provider.as_str(), &callback).await;
        let query = serde_urlencoded::to_string(&back).unwrap();
        let done = browser.get(&format!("/console/callback?{query}")).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
        assert_eq!(done.location(), "/console");
        browser
    }

    fn remember(&mut self, headers: &reqwest::header::HeaderMap) {
        for set in headers.get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (name, value) = set.split(';').next().unwrap().split_once('=').unwrap();
            if set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    /// Sends `request` with the cookies, remembering those set.
    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        self.send_again(request, 0).await
    }

    /// [`Browser::send`], sending `request` again up to `retries` times when `cargo lambda
    /// watch` answers it with its own 500 (see [`crate::is_emulator_500`]).
    async fn send_again(&mut self, request: reqwest::RequestBuilder, mut retries: usize) -> Page {
        loop {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let request = request
                .try_clone()
                .expect("form bodies are buffered")
                .header(header::COOKIE, jar.join("; "));
            if let Some(app) = self.app {
                let page = in_process_send(app, request).await;
                self.remember(&page.headers);
                return page;
            }
            let response = request.send().await.expect("the local API answers");
            let status = response.status();
            let headers = response.headers().clone();
            self.remember(&headers);
            let html = response.text().await.unwrap();
            if retries > 0 && crate::is_emulator_500(status, html.as_bytes()) {
                retries -= 1;
                eprintln!(
                    "cargo lambda watch answered a console request with its own 500; sending it again"
                );
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
            return Page {
                status,
                headers,
                html,
            };
        }
    }

    /// GETs `path`, again when the emulator answers it with its own 500, as the tests' client
    /// does.
    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send_again(request, crate::EMULATOR_RETRIES).await
    }

    /// POSTs a form the test expects to be refused, so it writes nothing: sent again when the
    /// emulator answers it with its own 500, like a GET (the test asserts that nothing was
    /// written).
    pub async fn post_refused(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send_again(request, crate::EMULATOR_RETRIES).await
    }

    /// POSTs `form` to `path`.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    /// The session token in the cookie, as the API would take it.
    pub fn session(&self) -> Auth {
        Auth::Bearer(self.cookies["latchkey_console"].clone())
    }
}
