//! The [`Transport`] of deliveries over HTTP: every name resolved through a checking resolver, so
//! the address actually connected to is one [`forbidden`] accepts (a name that resolves or
//! rebinds inside the network is refused after DNS, not before it); a literal address checked
//! the same way; no redirects followed; no proxy; a 15 s timeout.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Host;

use super::{
    delivery::{Answer, TIMEOUT, Transport},
    url::{EndpointUrl, forbidden},
};

/// Looks names up.
#[async_trait]
pub trait NameResolver: Send + Sync {
    /// The addresses `host` resolves to.
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>>;
}

/// The system's resolver.
#[derive(Debug, Default)]
pub struct SystemResolver;

#[async_trait]
impl NameResolver for SystemResolver {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 0))
            .await?
            .map(|a| a.ip())
            .collect())
    }
}

/// Whether a delivery may connect to `ip`: a public address, or loopback where allowed.
fn reachable(ip: IpAddr, allow_loopback: bool) -> Result<(), String> {
    match forbidden(ip) {
        None => Ok(()),
        Some(_) if allow_loopback && ip.is_loopback() => Ok(()),
        Some(kind) => Err(format!("refused: the address {ip} is {kind}")),
    }
}

/// A resolver that keeps only the addresses a delivery may connect to.
struct Checked {
    names: Arc<dyn NameResolver>,
    allow_loopback: bool,
}

impl Resolve for Checked {
    fn resolve(&self, name: Name) -> Resolving {
        let (names, allow_loopback) = (self.names.clone(), self.allow_loopback);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found = names.lookup(&host).await?;
            let mut refused = None;
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter_map(|ip| match reachable(ip, allow_loopback) {
                    Ok(()) => Some(SocketAddr::new(ip, 0)),
                    Err(why) => {
                        refused = Some(why);
                        None
                    }
                })
                .collect();
            if kept.is_empty() {
                let why = refused.unwrap_or_else(|| format!("{host} resolves to no address"));
                return Err(format!("{host}: {why}").into());
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// Deliveries over HTTP.
pub struct HttpTransport {
    public: reqwest::Client,
    local: reqwest::Client,
}

impl HttpTransport {
    /// A transport resolving names through `names`.
    pub fn new(names: Arc<dyn NameResolver>) -> Self {
        let client = |allow_loopback| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(TIMEOUT)
                .dns_resolver(Arc::new(Checked {
                    names: names.clone(),
                    allow_loopback,
                }))
                .build()
                .expect("a client with rustls and a resolver builds")
        };
        Self {
            public: client(false),
            local: client(true),
        }
    }
}

/// An error and its causes, as one line (the resolver's refusal is a cause of a connect error).
fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let mut line = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

#[async_trait]
impl Transport for HttpTransport {
    async fn post(
        &self,
        url: &EndpointUrl,
        headers: &[(&'static str, String)],
        body: &str,
        allow_loopback: bool,
    ) -> Answer {
        let literal = match url.url().host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(Err(why)) = literal.map(|ip| reachable(ip, allow_loopback)) {
            return Answer::NoAnswer(why);
        }
        let client = if allow_loopback {
            &self.local
        } else {
            &self.public
        };
        let mut request = client.post(url.url().clone()).body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(response) => Answer::Status {
                status: response.status().as_u16(),
                retry_after: response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            },
            Err(err) => Answer::NoAnswer(describe(&err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::url::UrlPolicy;
    use std::collections::HashMap;

    /// Names the test decides the addresses of.
    struct Fixed(HashMap<&'static str, Vec<IpAddr>>);

    #[async_trait]
    impl NameResolver for Fixed {
        async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
            Ok(self.0.get(host).cloned().unwrap_or_default())
        }
    }

    fn transport() -> HttpTransport {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        HttpTransport::new(Arc::new(Fixed(HashMap::from([
            ("rebind.example", vec![ip("127.0.0.1")]),
            ("metadata.example", vec![ip("169.254.169.254")]),
            ("inside.example", vec![ip("10.1.2.3"), ip("fd00::1")]),
            ("mapped.example", vec![ip("::ffff:192.168.0.1")]),
        ]))))
    }

    async fn refusal(raw: &str) -> String {
        let url = EndpointUrl::parse(raw, UrlPolicy::PublicHttps).unwrap();
        match transport().post(&url, &[], "{}", false).await {
            Answer::NoAnswer(why) => why,
            other => panic!("{raw}: {other:?}"),
        }
    }

    #[tokio::test]
    async fn names_that_resolve_inside_are_refused_after_dns() {
        for (url, kind) in [
            ("https://rebind.example/", "loopback"),
            ("https://metadata.example/", "metadata"),
            ("https://inside.example/", "private"),
            ("https://mapped.example/", "private"),
        ] {
            let why = refusal(url).await;
            assert!(
                why.contains("refused") && why.contains(kind),
                "{url}: {why}"
            );
        }
        assert!(
            refusal("https://nowhere.example/")
                .await
                .contains("no address")
        );
    }

    #[tokio::test]
    async fn loopback_is_reached_only_where_allowed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 302 Found\r\nlocation: http://10.0.0.1/\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        let local = EndpointUrl::parse(
            &format!("http://127.0.0.1:{port}/hook"),
            UrlPolicy::AllowLocalhost,
        )
        .unwrap();
        // Allowed: answered, and the redirect is an answer, not followed.
        assert_eq!(
            transport().post(&local, &[], "{}", true).await,
            Answer::Status {
                status: 302,
                retry_after: None
            }
        );
        // Not allowed: refused before connecting.
        match transport().post(&local, &[], "{}", false).await {
            Answer::NoAnswer(why) => assert!(why.contains("loopback"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
