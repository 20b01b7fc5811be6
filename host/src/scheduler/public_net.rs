//! Callbacks go to the public internet only (unless configured otherwise): a subscriber URL may
//! not make the server reach its own loopback, private or link-local networks (SSRF). Literal
//! addresses are checked where they are given; names are checked after resolution, by a
//! resolver that drops every non-public address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `address` is on the public internet.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [first, second, ..] = address.octets();
    let shared = first == 100 && (64..128).contains(&second);
    let benchmarking = first == 198 && (18..20).contains(&second);
    !(address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_broadcast()
        || address.is_documentation()
        || address.is_unspecified()
        || address.is_multicast()
        || shared
        || benchmarking
        || first == 0
        || first >= 240)
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    let first = address.segments()[0];
    let unique_local = (first & 0xfe00) == 0xfc00;
    let link_local = (first & 0xffc0) == 0xfe80;
    let documentation = first == 0x2001 && address.segments()[1] == 0x0db8;
    !(address.is_loopback()
        || address.is_unspecified()
        || address.is_multicast()
        || unique_local
        || link_local
        || documentation)
}

/// The literal address of a URL's host, when it is one that is not public.
pub fn literal_non_public(url: &reqwest::Url) -> Option<IpAddr> {
    let address = match url.host()? {
        url::Host::Ipv4(v4) => IpAddr::V4(v4),
        url::Host::Ipv6(v6) => IpAddr::V6(v6),
        url::Host::Domain(_) => return None,
    };
    (!is_public(address)).then_some(address)
}

/// Resolves names with the system resolver and keeps only public addresses.
#[derive(Debug, Default)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> =
                resolved.filter(|socket| is_public(socket.ip())).collect();
            if public.is_empty() {
                let refusal = format!(
                    "{host} resolves to no public address: callbacks go to the public internet only"
                );
                return Err(refusal.into());
            }
            let addresses: Addrs = Box::new(public.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_addresses_are_not_public() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            let parsed: IpAddr = address.parse().expect("an address");
            assert!(!is_public(parsed), "{address}");
        }
        for address in ["8.8.8.8", "2606:4700:4700::1111", "151.101.1.1"] {
            let parsed: IpAddr = address.parse().expect("an address");
            assert!(is_public(parsed), "{address}");
        }
    }

    #[test]
    fn only_literal_hosts_are_judged_before_resolution() {
        let url = |text: &str| reqwest::Url::parse(text).expect("a URL");
        assert!(literal_non_public(&url("http://127.0.0.1:9/x")).is_some());
        assert!(literal_non_public(&url("http://[::1]/x")).is_some());
        assert!(literal_non_public(&url("http://example.com/x")).is_none());
        assert!(literal_non_public(&url("http://8.8.8.8/x")).is_none());
    }
}
