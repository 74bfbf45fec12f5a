//! Where an attachment fetch may connect. The URLs of `POST /v1/messages` come from
//! outside while the gateway sits inside, next to its own admin listener, a cloud
//! metadata service and the core's private network; a fetch that reached them would
//! send what it read out as an MMS. So a fetch reaches public unicast addresses only,
//! plus what `[mms] fetch_allow` names.
//!
//! The check is made on the address connected to, so neither a name that resolves
//! inside, nor a redirect, nor DNS that answers differently between a check and the
//! connection gets past it:
//! - names are resolved by the [`GuardedResolver`], which gives the HTTP client only
//!   the addresses that pass; when none does, the fetch fails with [`Forbidden`] before
//!   any connection is tried;
//! - an address written in the URL is never resolved, so [`FetchGuard::check_url`] is
//!   called on the URL given and on every redirect's target.
//!
//! The HTTP client must use no proxy: a proxy would connect, on our behalf, to
//! addresses nothing here saw.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::FetchAllow;

/// A special-purpose address range fetches do not reach unless `[mms] fetch_allow`
/// says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// `0.0.0.0/8`, `::`: "this host"; connecting to it reaches the gateway itself.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` (RFC 1918).
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT (RFC 6598).
    SharedAddressSpace,
    /// `169.254.0.0/16` (where cloud metadata services answer), `fe80::/10`.
    LinkLocal,
    /// `fc00::/7` (RFC 4193).
    UniqueLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`,
    /// `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// IETF protocol assignments (`192.0.0.0/24`, `2001::/23` with Teredo), the
    /// deprecated 6to4 relays (`192.88.99.0/24`), future use (`240.0.0.0/4`), and IPv6
    /// outside global unicast `2000::/3` (IPv4-compatible `::/96`, local-use NAT64
    /// `64:ff9b:1::/48`, discard-only `100::/64`, …).
    Reserved,
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Range::Unspecified => "unspecified",
            Range::Loopback => "loopback",
            Range::Private => "private",
            Range::SharedAddressSpace => "carrier-grade NAT",
            Range::LinkLocal => "link-local",
            Range::UniqueLocal => "unique local",
            Range::Multicast => "multicast",
            Range::Broadcast => "broadcast",
            Range::Documentation => "documentation",
            Range::Benchmarking => "benchmarking",
            Range::Reserved => "reserved",
        })
    }
}

/// The special-purpose range `ip` is in; `None` for a public unicast address. An IPv6
/// address that stands for an IPv4 one (IPv4-mapped `::ffff:0:0/96`, NAT64
/// `64:ff9b::/96`, 6to4 `2002::/16`) is judged by that IPv4 address, since connecting
/// to it reaches that address.
pub fn special_range(ip: IpAddr) -> Option<Range> {
    match ip {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => v6_range(v6),
    }
}

fn v4_range(ip: Ipv4Addr) -> Option<Range> {
    let [a, b, c, _] = ip.octets();
    let range = match (a, b, c) {
        (0, ..) => Range::Unspecified,
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => Range::Private,
        (100, 64..=127, _) => Range::SharedAddressSpace,
        (127, ..) => Range::Loopback,
        (169, 254, _) => Range::LinkLocal,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Range::Documentation,
        (198, 18..=19, _) => Range::Benchmarking,
        (192, 0, 0) | (192, 88, 99) => Range::Reserved,
        (224..=239, ..) => Range::Multicast,
        _ if ip.is_broadcast() => Range::Broadcast,
        (240..=255, ..) => Range::Reserved,
        _ => return None,
    };
    Some(range)
}

fn v6_range(ip: Ipv6Addr) -> Option<Range> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_range(v4);
    }
    let bits = u128::from(ip);
    let s = ip.segments();
    let range = match s[0] {
        _ if ip.is_unspecified() => Range::Unspecified,
        _ if ip.is_loopback() => Range::Loopback,
        // The NAT64 well-known prefix (RFC 6052): the last 32 bits are the destination.
        0x0064 if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 => {
            return v4_range(Ipv4Addr::from(bits as u32));
        }
        // 6to4 (RFC 3056): the 32 bits after the prefix are the relay's destination.
        0x2002 => return v4_range(Ipv4Addr::from((bits >> 80) as u32)),
        0xfc00..=0xfdff => Range::UniqueLocal,
        0xfe80..=0xfebf => Range::LinkLocal,
        0xff00..=0xffff => Range::Multicast,
        0x2001 if s[1] == 0x0db8 => Range::Documentation,
        0x3fff if s[1] < 0x1000 => Range::Documentation,
        0x2001 if s[1] == 0x0002 && s[2] == 0 => Range::Benchmarking,
        0x2001 if s[1] < 0x0200 => Range::Reserved,
        first if first & 0xe000 != 0x2000 => Range::Reserved,
        _ => return None,
    };
    Some(range)
}

/// Why a fetch may not go where it would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Forbidden {
    /// The URL (or a redirect) names an address in a special-purpose range.
    #[error("{ip} is not a public address ({range}), and [mms] fetch_allow does not allow it")]
    Address { ip: IpAddr, range: Range },
    /// The URL's host (or a redirect's) resolves only to such addresses.
    #[error("{host} resolves to no public address, and [mms] fetch_allow does not allow it")]
    Name { host: String },
}

impl Forbidden {
    /// The [`Forbidden`] somewhere in `e`'s chain of causes (the HTTP client wraps what
    /// the resolver and the redirect policy return).
    pub fn in_chain<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Forbidden> {
        let mut next = Some(e);
        while let Some(e) = next {
            if let Some(forbidden) = e.downcast_ref::<Forbidden>() {
                return Some(forbidden);
            }
            next = e.source();
        }
        None
    }
}

/// The rule a fetch's destinations are held to: public addresses, plus `[mms]
/// fetch_allow`.
#[derive(Debug, Clone, Default)]
pub struct FetchGuard {
    allow: Arc<FetchAllow>,
}

impl FetchGuard {
    /// A guard that admits public addresses and what `allow` names.
    pub fn new(allow: FetchAllow) -> Self {
        FetchGuard {
            allow: Arc::new(allow),
        }
    }

    /// Whether a fetch may connect to `ip`.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), Forbidden> {
        match special_range(ip) {
            Some(range) if !self.allow.allows_address(ip) => Err(Forbidden::Address { ip, range }),
            _ => Ok(()),
        }
    }

    /// A URL whose host is an address: that address, which the client connects to
    /// without resolving anything. A host name passes here; the resolver judges it.
    pub fn check_url(&self, url: &Url) -> Result<(), Forbidden> {
        // Read as the client's connector reads it (the URL parser has already turned
        // `2130706433` or `0x7f.1` into `127.0.0.1`): what parses as an address here is
        // connected to as it is.
        let host = url.host_str().unwrap_or_default();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        match host.parse::<IpAddr>() {
            Ok(ip) => self.check_address(ip),
            Err(_) => Ok(()),
        }
    }

    /// What `host` resolved to, kept only where a fetch may connect: all of it for a
    /// host `[mms] fetch_allow` names, else the addresses that pass
    /// [`Self::check_address`]. None left is [`Forbidden::Name`].
    pub fn filter(
        &self,
        host: &str,
        resolved: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, Forbidden> {
        let all: Vec<SocketAddr> = resolved.into_iter().collect();
        if self.allow.allows_host(host) || all.is_empty() {
            return Ok(all);
        }
        let passed: Vec<SocketAddr> = all
            .into_iter()
            .filter(|a| self.check_address(a.ip()).is_ok())
            .collect();
        if passed.is_empty() {
            return Err(Forbidden::Name {
                host: host.to_owned(),
            });
        }
        Ok(passed)
    }

    /// The DNS resolver for a client held to this guard.
    pub fn resolver(&self) -> GuardedResolver {
        GuardedResolver {
            guard: self.clone(),
        }
    }
}

/// The system resolver (as the client's default), its answers passed through a
/// [`FetchGuard`].
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    guard: FetchGuard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let passed = guard.filter(&host, resolved)?;
            Ok(Box::new(passed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IpNet;

    fn range(ip: &str) -> Option<Range> {
        special_range(ip.parse().unwrap())
    }

    #[test]
    fn ipv4_special_ranges_are_named() {
        for (ip, expected) in [
            ("0.0.0.0", Range::Unspecified),
            ("0.1.2.3", Range::Unspecified),
            ("127.0.0.1", Range::Loopback),
            ("127.255.255.254", Range::Loopback),
            ("10.0.0.1", Range::Private),
            ("10.255.255.255", Range::Private),
            ("172.16.0.1", Range::Private),
            ("172.31.255.254", Range::Private),
            ("192.168.1.1", Range::Private),
            ("100.64.0.1", Range::SharedAddressSpace),
            ("100.127.255.254", Range::SharedAddressSpace),
            ("169.254.169.254", Range::LinkLocal),
            ("224.0.0.1", Range::Multicast),
            ("239.255.255.250", Range::Multicast),
            ("255.255.255.255", Range::Broadcast),
            ("240.0.0.1", Range::Reserved),
            ("192.0.0.8", Range::Reserved),
            ("192.88.99.1", Range::Reserved),
            ("192.0.2.1", Range::Documentation),
            ("198.51.100.7", Range::Documentation),
            ("203.0.113.9", Range::Documentation),
            ("198.18.0.1", Range::Benchmarking),
            ("198.19.255.255", Range::Benchmarking),
        ] {
            assert_eq!(range(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_addresses_next_to_special_ranges_pass() {
        for ip in [
            "1.1.1.1",
            "9.255.255.255",
            "11.0.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "169.253.255.255",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "2001:200::1",
            "3fff:1000::1",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(range(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv6_special_ranges_are_named() {
        for (ip, expected) in [
            ("::", Range::Unspecified),
            ("::1", Range::Loopback),
            ("fc00::1", Range::UniqueLocal),
            ("fd12:3456::1", Range::UniqueLocal),
            ("fe80::1", Range::LinkLocal),
            ("febf::1", Range::LinkLocal),
            ("ff02::1", Range::Multicast),
            ("2001:db8::1", Range::Documentation),
            ("3fff::1", Range::Documentation),
            ("2001:2::1", Range::Benchmarking),
            ("2001::1", Range::Reserved),
            ("64:ff9b:1::a00:1", Range::Reserved),
            ("100::1", Range::Reserved),
            ("fec0::1", Range::Reserved),
            ("::7f00:1", Range::Reserved),
            ("::ffff:0:7f00:1", Range::Reserved),
        ] {
            assert_eq!(range(ip), Some(expected), "{ip}");
        }
    }

    /// IPv6 forms that stand for an IPv4 address are judged by it.
    #[test]
    fn embedded_ipv4_addresses_are_judged_by_their_range() {
        for (ip, expected) in [
            ("::ffff:127.0.0.1", Range::Loopback),
            ("::ffff:10.1.2.3", Range::Private),
            ("::ffff:169.254.169.254", Range::LinkLocal),
            ("::ffff:0.0.0.0", Range::Unspecified),
            ("::ffff:224.0.0.1", Range::Multicast),
            ("64:ff9b::127.0.0.1", Range::Loopback),
            ("64:ff9b::192.168.0.1", Range::Private),
            ("64:ff9b::100.64.0.1", Range::SharedAddressSpace),
            ("2002:7f00:1::1", Range::Loopback),
            ("2002:a9fe:a9fe::", Range::LinkLocal),
        ] {
            assert_eq!(range(ip), Some(expected), "{ip}");
        }
    }

    fn guard(networks: &[&str], hosts: &[&str]) -> FetchGuard {
        FetchGuard::new(FetchAllow {
            networks: networks
                .iter()
                .map(|n| n.parse::<IpNet>().unwrap())
                .collect(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
        })
    }

    fn url_check(g: &FetchGuard, url: &str) -> Result<(), Forbidden> {
        g.check_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn addresses_in_urls_are_checked_in_every_spelling() {
        let g = FetchGuard::default();
        for url in [
            "http://127.0.0.1:9090/metrics",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://0/",
            "https://169.254.169.254/latest/meta-data/",
            "http://[fd00::1]/",
        ] {
            assert!(
                matches!(url_check(&g, url), Err(Forbidden::Address { .. })),
                "{url}"
            );
        }
        assert_eq!(url_check(&g, "https://203.0.114.1/a.jpg"), Ok(()));
        // A name is the resolver's to judge.
        assert_eq!(url_check(&g, "http://localhost/a.jpg"), Ok(()));
    }

    #[test]
    fn the_allow_list_admits_its_networks_and_hosts() {
        let g = guard(
            &["10.0.0.0/8", "fd00::/8", "192.168.1.5"],
            &["media.internal"],
        );
        assert_eq!(url_check(&g, "http://10.20.30.40/a.jpg"), Ok(()));
        assert_eq!(url_check(&g, "http://[::ffff:10.0.0.1]/a.jpg"), Ok(()));
        assert_eq!(url_check(&g, "http://[fd00::7]/a.jpg"), Ok(()));
        assert_eq!(url_check(&g, "http://192.168.1.5/a.jpg"), Ok(()));
        assert!(url_check(&g, "http://192.168.1.6/a.jpg").is_err());
        assert!(url_check(&g, "http://127.0.0.1/a.jpg").is_err());
        assert!(url_check(&g, "http://[fe80::1]/a.jpg").is_err());

        let at = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 0);
        let inside = [at("172.20.0.5"), at("127.0.0.1")];
        // A host named in the list may resolve anywhere, in any case, with a final dot.
        assert_eq!(g.filter("media.internal", inside), Ok(inside.to_vec()));
        assert_eq!(g.filter("MEDIA.Internal.", inside), Ok(inside.to_vec()));
        // Other names keep only the addresses that pass.
        assert_eq!(
            g.filter("other.internal", inside),
            Err(Forbidden::Name {
                host: "other.internal".into()
            })
        );
        assert_eq!(
            g.filter("sub.media.internal", [at("10.1.1.1"), at("127.0.0.1")]),
            Ok(vec![at("10.1.1.1")])
        );
        assert_eq!(
            g.filter("cdn.example", [at("192.0.2.1"), at("8.8.8.8"), at("::1")]),
            Ok(vec![at("8.8.8.8")])
        );
    }

    /// The resolver the client uses: `localhost` resolves (from the hosts file) to
    /// loopback only, which no default guard lets through.
    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_inside() {
        let name: Name = "localhost".parse().unwrap();
        let refused = match FetchGuard::default().resolver().resolve(name).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };
        assert_eq!(
            Forbidden::in_chain(refused.as_ref()),
            Some(&Forbidden::Name {
                host: "localhost".into()
            })
        );
        let allowed = guard(&["127.0.0.0/8", "::1"], &[]).resolver();
        let addrs: Vec<_> = allowed
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
        assert!(!addrs.is_empty());
    }
}
