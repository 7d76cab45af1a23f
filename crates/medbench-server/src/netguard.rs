//! Registered endpoints must not turn the server against its own network.
//!
//! An endpoint URL is checked when it is registered and again when its job
//! runs: the host is resolved, and every address must be public unless the
//! admin allows private ones. The job's HTTP client is then pinned to the
//! checked address (no second lookup to rebind) and follows no redirects.

use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// Why an endpoint URL was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Refused {
    #[error("`{0}` is not a URL: {1}")]
    Malformed(String, String),
    #[error("`{0}`: only http and https endpoints can be registered")]
    Scheme(String),
    #[error("`{0}`: URLs with a user name or password are refused; give the key separately")]
    Credentials(String),
    #[error("`{0}`: the host cannot be resolved: {1}")]
    Unresolved(String, String),
    #[error(
        "`{url}` resolves to {addr}, a loopback, private, link-local or otherwise internal address; refused (an admin can set allow_private_endpoints = true in the server config)"
    )]
    Internal { url: String, addr: IpAddr },
}

/// Addresses a registered endpoint may not reach by default.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_v4(v4);
            }
            let seg0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg0 & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (seg0 & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg0 & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || (seg0 == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || (seg0 == 0x0064 && v6.segments()[1] == 0xff9b) // NAT64 to IPv4
        }
    }
}

fn internal_v4(v4: Ipv4Addr) -> bool {
    let o = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // carrier-grade NAT 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
        || o[0] >= 240 // reserved
}

/// A URL that passed the check, with the address its client must use.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub url: Url,
    pub host: String,
    pub addr: SocketAddr,
}

/// Parse, resolve and check an endpoint URL.
pub fn check(url: &str, allow_private: bool) -> Result<Checked, Refused> {
    let parsed =
        Url::parse(url.trim()).map_err(|e| Refused::Malformed(url.to_owned(), e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Refused::Scheme(url.to_owned()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Refused::Credentials(url.to_owned()));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| Refused::Malformed(url.to_owned(), "no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| Refused::Malformed(url.to_owned(), "no port".into()))?;
    let addrs: Vec<SocketAddr> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| Refused::Unresolved(url.to_owned(), e.to_string()))?
        .collect();
    let first = *addrs
        .first()
        .ok_or_else(|| Refused::Unresolved(url.to_owned(), "no address".into()))?;
    if !allow_private && let Some(bad) = addrs.iter().find(|a| is_internal(a.ip())) {
        return Err(Refused::Internal {
            url: url.to_owned(),
            addr: bad.ip(),
        });
    }
    Ok(Checked {
        url: parsed,
        host,
        addr: first,
    })
}

/// An HTTP client that reaches only the checked address and follows no redirect.
pub fn pinned_client(c: &Checked, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    medbench_provider::install_tls_provider();
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10));
    if c.host.parse::<IpAddr>().is_err() {
        b = b.resolve(&c.host, c.addr);
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_are_refused_and_public_ones_pass() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(is_internal(a.parse().unwrap()), "{a}");
        }
        for a in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "172.32.0.1"] {
            assert!(!is_internal(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn urls_are_checked_for_scheme_credentials_and_address() {
        assert!(matches!(
            check("http://127.0.0.1:8080/v1", false),
            Err(Refused::Internal { .. })
        ));
        assert!(matches!(
            check("http://localhost:8080/v1", false),
            Err(Refused::Internal { .. })
        ));
        assert!(matches!(
            check("http://[::1]:8080/v1", false),
            Err(Refused::Internal { .. })
        ));
        assert!(matches!(
            check("http://169.254.169.254/latest/meta-data", false),
            Err(Refused::Internal { .. })
        ));
        assert!(matches!(
            check("file:///etc/passwd", false),
            Err(Refused::Scheme(_))
        ));
        assert!(matches!(
            check("http://u:p@8.8.8.8/v1", false),
            Err(Refused::Credentials(_))
        ));
        assert!(matches!(
            check("not a url", false),
            Err(Refused::Malformed(..))
        ));
        let ok = check("http://8.8.8.8:9/v1", false).unwrap();
        assert_eq!(ok.addr, "8.8.8.8:9".parse().unwrap());
        let local = check("http://127.0.0.1:8080/v1", true).unwrap();
        assert_eq!(local.addr.port(), 8080);
    }
}
