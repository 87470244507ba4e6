//! Where a join comes from: the address a per-source limit is keyed by.
//!
//! Behind a load balancer every TCP peer is the balancer, so the address is
//! read from `x-forwarded-for`, but only as far as proxies we trust wrote it:
//! walking the header from the right (the entry our own proxy appended),
//! trusted proxies are skipped and the first other address is the client.
//! Anything left of it was written by the client itself and is ignored. A
//! peer that is not a trusted proxy is the client: its header is ignored,
//! or anyone could name any address and never be limited.
use std::{
    net::{IpAddr, Ipv6Addr},
    time::Duration,
};

use ipnet::IpNet;

/// A limit: `burst` at once, `per_minute` sustained; 0 per minute is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinRate {
    pub burst: u32,
    pub per_minute: u32,
}

/// A deployment's rules for new entries in line.
#[derive(Clone, Debug)]
pub struct JoinRules {
    /// Per client key (today the client id; later a device key thumbprint).
    pub per_client: JoinRate,
    /// Per source address (IPv4 address, IPv6 /64), sized for carrier NAT.
    pub per_source: JoinRate,
    /// Proxies whose `x-forwarded-for` names the source.
    pub trusted_proxies: Networks,
    /// Sources neither limit applies to (dev: loopback, for load generators).
    pub unlimited: Networks,
    /// How long a proof-of-work challenge may be used.
    pub challenge_ttl: Duration,
}

/// The addresses whose `x-forwarded-for` is believed, and the sources no
/// join limit applies to.
#[derive(Clone, Debug, Default)]
pub struct Networks(Vec<IpNet>);

impl Networks {
    /// Comma-separated CIDRs (`10.0.0.0/8, fd00::/8`); a bare address is a
    /// single host.
    pub fn parse(spec: &str) -> Result<Self, String> {
        spec.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<IpNet>().or_else(|_| s.parse::<IpAddr>().map(IpNet::from)).map_err(|_| format!("{s:?} is not a CIDR")))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy,
/// then the right-most address of `forwarded` that is not a trusted proxy.
/// A header that is malformed where we must read it leaves the peer: it
/// was not written by a proxy we trust.
pub fn client_address(peer: IpAddr, forwarded: &[&str], trusted: &Networks) -> IpAddr {
    let mut client = canonical(peer);
    if !trusted.contains(client) {
        return client;
    }
    // Several headers count as one list, in order.
    let hops = forwarded.iter().flat_map(|h| h.split(',')).map(str::trim).collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if trusted.contains(ip) => client = ip,
            Some(ip) => return ip,
            None => return client,
        }
    }
    client
}

/// The key of a source in the per-address limit: an IPv4 address, or the
/// /64 of an IPv6 address (one subscriber line gets a whole /64, so a
/// per-/128 limit would be no limit at all).
pub fn source_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// An IPv4 client seen through a dual-stack socket is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One `x-forwarded-for` entry: an address, possibly with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<std::net::SocketAddr>().ok().map(|s| canonical(s.ip()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_counts_only_behind_a_trusted_proxy() {
        let trusted = Networks::parse("10.0.0.0/8, 192.168.1.7").unwrap();
        // Directly connected: the header is the client's own words.
        assert_eq!(client_address(ip("203.0.113.9"), &["198.51.100.1"], &trusted), ip("203.0.113.9"));
        // Via our proxy: the right-most untrusted entry, whatever the client prepended.
        assert_eq!(client_address(ip("10.1.2.3"), &["6.6.6.6, 198.51.100.1"], &trusted), ip("198.51.100.1"));
        // Two trusted hops, over two headers.
        assert_eq!(client_address(ip("10.1.2.3"), &["6.6.6.6, 198.51.100.1", "192.168.1.7"], &trusted), ip("198.51.100.1"));
        // Ports and IPv4-mapped addresses.
        assert_eq!(client_address(ip("::ffff:10.0.0.1"), &["198.51.100.1:4711"], &trusted), ip("198.51.100.1"));
        assert_eq!(client_address(ip("10.0.0.1"), &["[2001:db8::5]:443"], &trusted), ip("2001:db8::5"));
        // Garbage where our proxy should have written: the proxy is the source.
        assert_eq!(client_address(ip("10.0.0.1"), &["not-an-ip"], &trusted), ip("10.0.0.1"));
        assert_eq!(client_address(ip("10.0.0.1"), &[], &trusted), ip("10.0.0.1"));
        assert!(Networks::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn ipv6_sources_are_keyed_by_their_64() {
        assert_eq!(source_key(ip("2001:db8:1:2:aaaa::1")), source_key(ip("2001:db8:1:2:bbbb::2")));
        assert_ne!(source_key(ip("2001:db8:1:2::1")), source_key(ip("2001:db8:1:3::1")));
        assert_eq!(source_key(ip("::ffff:198.51.100.1")), ip("198.51.100.1"));
    }
}
