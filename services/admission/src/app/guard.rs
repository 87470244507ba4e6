//! The limits in front of a new entry in line: joins per client key and per
//! source address, counted in this replica's memory.
//!
//! Both are GCRA limiters (`governor`): a key may spend `burst` joins at once
//! and earns one back every `60 s / per_minute`. A key is only remembered
//! until it has earned its whole burst back (`burst × period`); `sweep`,
//! called every few seconds, forgets the others, so memory follows the
//! joins of the last minute or so, not everyone who ever joined.
//!
//! Per replica: N replicas behind a balancer that spreads a source's
//! connections let that source join up to N times the configured rate.
use std::{
    net::{IpAddr, Ipv4Addr},
    num::NonZeroU32,
    time::Duration,
};

use governor::{
    clock::{Clock as _, DefaultClock},
    DefaultKeyedRateLimiter, Quota, RateLimiter,
};
use sha2::{Digest as _, Sha256};

use crate::{
    domain::source::{client_address, source_key, JoinRate, JoinRules},
    error::{AdmissionError, Throttle},
};

/// Where a request came from, as the transport saw it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Origin {
    /// The TCP peer; `None` when the transport has no address.
    pub(crate) peer: Option<IpAddr>,
    /// Every `x-forwarded-for` header, in order.
    pub(crate) forwarded: Vec<String>,
}

type Limiter<K> = DefaultKeyedRateLimiter<K>;

/// The two limiters of one replica.
pub(crate) struct Guard {
    rules: JoinRules,
    clients: Option<Limiter<[u8; 16]>>,
    sources: Option<Limiter<IpAddr>>,
    clock: DefaultClock,
}

impl Guard {
    pub(crate) fn new(rules: JoinRules) -> Self {
        let clients = quota(rules.per_client).map(RateLimiter::keyed);
        let sources = quota(rules.per_source).map(RateLimiter::keyed);
        Self { rules, clients, sources, clock: DefaultClock::default() }
    }

    pub(crate) fn rules(&self) -> &JoinRules {
        &self.rules
    }

    /// Counts one new entry against the client's key, then its source. A
    /// client refused by its own limit spends nothing of its source's, so
    /// one busy device does not use up the budget of its whole carrier NAT.
    pub(crate) fn admit(&self, client_key: &str, origin: &Origin) -> Result<(), AdmissionError> {
        let peer = origin.peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let forwarded: Vec<&str> = origin.forwarded.iter().map(String::as_str).collect();
        let source = client_address(peer, &forwarded, &self.rules.trusted_proxies);
        if self.rules.unlimited.contains(source) {
            return Ok(());
        }
        if let Some(clients) = &self.clients {
            let key: [u8; 16] = Sha256::digest(client_key.as_bytes())[..16].try_into().unwrap_or_default();
            clients.check_key(&key).map_err(|n| self.throttled(Throttle::Client, n.wait_time_from(self.clock.now())))?;
        }
        if let Some(sources) = &self.sources {
            sources.check_key(&source_key(source)).map_err(|n| self.throttled(Throttle::Source, n.wait_time_from(self.clock.now())))?;
        }
        Ok(())
    }

    fn throttled(&self, by: Throttle, wait: Duration) -> AdmissionError {
        // Whole milliseconds, at least one: "now" is not a hint.
        AdmissionError::Throttled { by, retry_after: Duration::from_millis((wait.as_millis() as u64).max(1)) }
    }

    /// Forgets the keys that have earned their whole burst back; returns
    /// how many are still remembered.
    pub(crate) fn sweep(&self) -> usize {
        let mut left = 0;
        if let Some(l) = &self.clients {
            l.retain_recent();
            l.shrink_to_fit();
            left += l.len();
        }
        if let Some(l) = &self.sources {
            l.retain_recent();
            l.shrink_to_fit();
            left += l.len();
        }
        left
    }
}

fn quota(rate: JoinRate) -> Option<Quota> {
    let per_minute = NonZeroU32::new(rate.per_minute)?;
    let period = Duration::from_secs(60) / per_minute.get();
    Some(Quota::with_period(period)?.allow_burst(NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::source::Networks;

    fn guard(client: (u32, u32), source: (u32, u32), trusted: &str) -> Guard {
        Guard::new(JoinRules {
            per_client: JoinRate { burst: client.0, per_minute: client.1 },
            per_source: JoinRate { burst: source.0, per_minute: source.1 },
            trusted_proxies: Networks::parse(trusted).unwrap(),
            unlimited: Networks::parse("192.0.2.0/24").unwrap(),
            challenge_ttl: Duration::from_secs(60),
        })
    }

    fn from(peer: &str, xff: &[&str]) -> Origin {
        Origin { peer: Some(peer.parse().unwrap()), forwarded: xff.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn a_client_key_gets_its_burst_then_a_retry_hint() {
        let g = guard((2, 1), (100, 60), "");
        let o = from("198.51.100.1", &[]);
        assert!(g.admit("device-a", &o).is_ok() && g.admit("device-a", &o).is_ok());
        match g.admit("device-a", &o) {
            Err(AdmissionError::Throttled { by: Throttle::Client, retry_after }) => assert!(retry_after > Duration::from_secs(50)),
            other => panic!("expected a client throttle, got {other:?}"),
        }
        assert!(g.admit("device-b", &o).is_ok(), "another key is not limited by the first");
        assert_eq!(g.sweep(), 3, "two client keys and one source, all within their refill period");
    }

    #[test]
    fn sources_are_read_through_trusted_proxies_only() {
        let g = guard((100, 60), (1, 1), "10.0.0.0/8");
        assert!(g.admit("a", &from("10.0.0.1", &["198.51.100.7"])).is_ok());
        let again = g.admit("b", &from("10.0.0.2", &["198.51.100.7"]));
        assert!(matches!(again, Err(AdmissionError::Throttled { by: Throttle::Source, .. })), "{again:?}");
        // A direct client cannot pick its source by writing the header.
        assert!(g.admit("c", &from("203.0.113.5", &["198.51.100.99"])).is_ok());
        assert!(g.admit("d", &from("203.0.113.5", &["198.51.100.98"])).is_err());
        // Exempt sources and a limit set to 0 per minute are not counted.
        assert!((0..5).all(|i| g.admit(&format!("e{i}"), &from("192.0.2.1", &[])).is_ok()));
        let open = guard((1, 0), (1, 0), "");
        assert!((0..5).all(|_| open.admit("same", &from("203.0.113.5", &[])).is_ok()));
    }
}
