//! Where a webhook may be sent: an endpoint's URL, checked when it is set (`https` only, no
//! literal address that reaches inside the deployment's network, in any spelling), and the
//! address a name resolves to, checked again at delivery ([`forbidden`]) so a name that
//! resolves (or rebinds) inside is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Which URLs a deployment accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UrlPolicy {
    /// `https` to public addresses only: what the template deploys.
    #[default]
    PublicHttps,
    /// Also `http` or `https` to `localhost` and `127.0.0.1`: the local stack's allowance
    /// (`LATCHKEY_WEBHOOK_ALLOW_LOCALHOST=1`), which the template never sets.
    AllowLocalhost,
}

/// An endpoint's URL, as checked when it was set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointUrl(Url);

impl EndpointUrl {
    /// Checks `raw` under `policy`: a sentence saying what is wrong, or the URL.
    pub fn parse(raw: &str, policy: UrlPolicy) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("must be an https URL".into());
        }
        if raw.len() > MAX_URL_LEN {
            return Err(format!("must be at most {MAX_URL_LEN} characters"));
        }
        let url = Url::parse(raw).map_err(|e| format!("is not a URL ({e})"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "must not carry a user name or password (it would be shown to every admin)".into(),
            );
        }
        if url.fragment().is_some() {
            return Err("must not have a fragment".into());
        }
        let local = policy == UrlPolicy::AllowLocalhost && is_named_localhost(&url);
        match url.scheme() {
            "https" => {}
            "http" if local => {}
            _ => return Err("must be an https URL".into()),
        }
        let refusal = match url.host() {
            None => Some("must name a host".to_owned()),
            Some(Host::Domain(name)) => {
                let name = name.to_ascii_lowercase();
                let name = name.trim_end_matches('.');
                (name == "localhost" || name.ends_with(".localhost"))
                    .then(|| "must not point at localhost".to_owned())
            }
            Some(Host::Ipv4(ip)) => forbidden(IpAddr::V4(ip))
                .map(|kind| format!("must not point at a {kind} address ({ip})")),
            Some(Host::Ipv6(ip)) => forbidden(IpAddr::V6(ip))
                .map(|kind| format!("must not point at a {kind} address ({ip})")),
        };
        match refusal {
            Some(why) if !local => Err(why),
            _ => Ok(Self(url)),
        }
    }

    /// The URL as stored and shown.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// Whether this is one of the local stack's allowed URLs (`localhost`, `127.0.0.1`), whose
    /// loopback address delivery accepts under [`UrlPolicy::AllowLocalhost`].
    pub fn is_localhost(&self) -> bool {
        is_named_localhost(&self.0)
    }
}

/// `localhost` or `127.0.0.1`, as the local stack's allowance names them.
fn is_named_localhost(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
        _ => false,
    }
}

/// Why `ip` is no address to send a webhook to (`loopback`, `private`, ...), or `None` for a
/// public one. IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are
/// judged by it.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (169, 254, 169) if ip.octets()[3] == 254 => "metadata",
        (100, 100, 100) if ip.octets()[3] == 200 => "metadata",
        (0, ..) => "unspecified",
        (127, ..) => "loopback",
        (10, ..) => "private",
        (172, 16..=31, _) => "private",
        (192, 168, _) => "private",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "shared (carrier-grade NAT)",
        (192, 0, 0) => "reserved",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, ..) => "multicast",
        (240..=255, ..) => "reserved",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if let Some(v4) = embedded_v4(ip) {
        return forbidden_v4(v4);
    }
    Some(match s {
        [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254] => "metadata",
        [0, 0, 0, 0, 0, 0, 0, 0] => "unspecified",
        [0, 0, 0, 0, 0, 0, 0, 1] => "loopback",
        [first, ..] if first & 0xfe00 == 0xfc00 => "private",
        [first, ..] if first & 0xffc0 == 0xfe80 => "link-local",
        [first, ..] if first & 0xffc0 == 0xfec0 => "site-local",
        [first, ..] if first & 0xff00 == 0xff00 => "multicast",
        [0x2001, 0x0db8, ..] => "documentation",
        [0x2001, 0, ..] => "Teredo",
        [0x0100, 0, 0, 0, ..] => "discard",
        _ => return None,
    })
}

/// The IPv4 address an IPv6 one carries: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`) or 6to4 (`2002:AABB:CCDD::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low()),
        [0, 0, 0, 0, 0, 0, hi, _] if hi != 0 => Some(low()),
        [0x0064, 0xff9b, 0, 0, 0, 0, _, _] => Some(low()),
        [0x0064, 0xff9b, 0x0001, ..] => Some(low()),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn refused(raw: &str) -> String {
        EndpointUrl::parse(raw, UrlPolicy::PublicHttps).expect_err(raw)
    }

    #[test]
    fn public_https_urls_are_accepted() {
        for ok in [
            "https://hooks.example.com/latchkey",
            "https://93.184.216.34:8443/x?y=1",
            "https://[2606:4700::1111]/",
        ] {
            let url = EndpointUrl::parse(ok, UrlPolicy::PublicHttps).expect(ok);
            assert!(!url.is_localhost());
        }
    }

    #[test]
    fn inside_addresses_are_refused_in_every_spelling() {
        for (raw, kind) in [
            ("https://127.0.0.1/", "loopback"),
            ("https://127.1/", "loopback"),
            ("https://2130706433/", "loopback"),
            ("https://0x7f000001/", "loopback"),
            ("https://0177.0.0.1/", "loopback"),
            ("https://127.0.0.1./", "loopback"),
            ("https://[::1]/", "loopback"),
            ("https://[::ffff:127.0.0.1]/", "loopback"),
            ("https://[::ffff:7f00:1]/", "loopback"),
            ("https://[64:ff9b::a9fe:a9fe]/", "metadata"),
            ("https://[2002:a9fe:a9fe::]/", "metadata"),
            ("https://10.0.0.8/", "private"),
            ("https://172.20.1.1/", "private"),
            ("https://192.168.1.1/", "private"),
            ("https://[fd12::1]/", "private"),
            ("https://169.254.169.254/latest/meta-data", "metadata"),
            ("https://[fd00:ec2::254]/", "metadata"),
            ("https://169.254.1.1/", "link-local"),
            ("https://[fe80::1]/", "link-local"),
            ("https://0.0.0.0/", "unspecified"),
            ("https://[::]/", "unspecified"),
            ("https://100.100.100.200/", "metadata"),
            ("https://100.64.0.1/", "shared"),
        ] {
            let why = refused(raw);
            assert!(why.contains(kind), "{raw}: {why}");
        }
    }

    #[test]
    fn other_refusals_say_why() {
        assert!(refused("http://hooks.example.com/").contains("https"));
        assert!(refused("ftp://hooks.example.com/").contains("https"));
        assert!(refused("https://localhost/").contains("localhost"));
        assert!(refused("https://a.localhost/").contains("localhost"));
        assert!(refused("https://user:pw@hooks.example.com/").contains("password"));
        assert!(refused("https://hooks.example.com/#x").contains("fragment"));
        assert!(refused("not a url").contains("not a URL"));
        assert!(refused("").contains("https"));
        assert!(refused(&format!("https://a.com/{}", "x".repeat(MAX_URL_LEN))).contains("at most"));
    }

    #[test]
    fn the_local_allowance_admits_localhost_and_127_0_0_1_only() {
        let local = UrlPolicy::AllowLocalhost;
        for ok in [
            "http://localhost:9300/hook",
            "http://127.0.0.1:1/",
            "https://localhost/",
        ] {
            assert!(EndpointUrl::parse(ok, local).expect(ok).is_localhost());
        }
        for no in [
            "http://10.0.0.1/",
            "http://[::1]/",
            "http://127.0.0.2/",
            "http://a.localhost/",
        ] {
            assert!(EndpointUrl::parse(no, local).is_err(), "{no}");
        }
    }

    #[test]
    fn addresses_are_judged_by_the_ipv4_they_carry() {
        assert_eq!(forbidden("8.8.8.8".parse().unwrap()), None);
        assert_eq!(forbidden("::ffff:8.8.8.8".parse().unwrap()), None);
        assert_eq!(forbidden("2606:4700::1111".parse().unwrap()), None);
        assert_eq!(
            forbidden("::ffff:10.1.2.3".parse().unwrap()),
            Some("private")
        );
    }

    proptest! {
        #[test]
        fn any_text_is_a_url_or_a_reason(raw in ".{0,300}") {
            let _ = EndpointUrl::parse(&raw, UrlPolicy::PublicHttps);
            let _ = EndpointUrl::parse(&raw, UrlPolicy::AllowLocalhost);
        }

        #[test]
        fn every_private_v4_is_refused_in_decimal(a in 0u8..=255, b in 0u8..=255, c in 0u8..=255, d in 0u8..=255) {
            let ip = Ipv4Addr::new(a, b, c, d);
            let decimal = format!("https://{}/", u32::from(ip));
            let mapped = format!("https://[::ffff:{ip}]/");
            let verdict = forbidden(IpAddr::V4(ip));
            prop_assert_eq!(EndpointUrl::parse(&decimal, UrlPolicy::PublicHttps).is_err(), verdict.is_some());
            prop_assert_eq!(EndpointUrl::parse(&mapped, UrlPolicy::PublicHttps).is_err(), verdict.is_some());
        }
    }
}
