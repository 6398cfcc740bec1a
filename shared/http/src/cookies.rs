//! Cookies: reading one from a request, and the `Set-Cookie` values every cookie Latchkey sets
//! shares (`HttpOnly`, `SameSite=Lax`, and `Secure` unless the request came to a local host,
//! which is plain http).

use axum::http::{HeaderMap, HeaderValue, header};

/// The value of the cookie `name` the request carries, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
}

/// Whether the request came to a local host, where a cookie may not be `Secure` (plain http).
pub fn is_local(headers: &HeaderMap) -> bool {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|host| {
            let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
            matches!(name, "localhost" | "127.0.0.1" | "[::1]")
        })
}

/// A `Set-Cookie` value for `name=value` on `path`, living `max_age` seconds (0 deletes it).
/// `value` must be cookie-safe (the callers' values are base62, base64url or JWTs).
pub fn set_cookie(
    headers: &HeaderMap,
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
) -> HeaderValue {
    let secure = if is_local(headers) { "" } else { "; Secure" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .expect("cookie names, values and paths are visible ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn reads_the_named_cookie_among_others() {
        let headers = with(header::COOKIE, "a=1; latchkey_console=tok.en; b=2");
        assert_eq!(
            cookie(&headers, "latchkey_console").as_deref(),
            Some("tok.en")
        );
        assert_eq!(cookie(&headers, "latchkey"), None);
    }

    #[test]
    fn only_local_hosts_get_cookies_without_secure() {
        let local = set_cookie(
            &with(header::HOST, "localhost:9000"),
            "n",
            "v",
            "/console",
            60,
        );
        assert!(!local.to_str().unwrap().contains("Secure"));
        let deployed = set_cookie(
            &with(header::HOST, "abc.execute-api.eu-west-1.amazonaws.com"),
            "n",
            "v",
            "/console",
            60,
        );
        let deployed = deployed.to_str().unwrap();
        assert!(
            deployed.ends_with("HttpOnly; SameSite=Lax; Secure"),
            "{deployed}"
        );
        // A host that only starts like a local one is not local.
        assert!(!is_local(&with(header::HOST, "localhost.evil.example")));
    }

    proptest! {
        #[test]
        fn any_cookie_header_reads_without_panicking(raw in "[ -~]{0,200}", name in "[a-z_]{1,20}") {
            if let Ok(value) = HeaderValue::from_str(&raw) {
                let mut headers = HeaderMap::new();
                headers.insert(header::COOKIE, value);
                let _ = cookie(&headers, &name);
            }
        }
    }
}
