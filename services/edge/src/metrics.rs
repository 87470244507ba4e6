//! The edge's own series, on `/metrics` (`YEYAK_METRICS_ADDR`): what it did
//! with each call, per upstream service — forwarded, refused as not public,
//! shed at its in-flight limit, upstream unreachable, no answer in time —
//! how long the upstream took to answer, and the calls in flight. The gRPC
//! status of a forwarded call is the service's to count (its
//! `grpc_server_handled_total`); the edge counts what only it sees.
//! Labels come from a closed list: a path nobody serves is `other`, so a
//! scanner cannot grow the series.
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
};
use yeyak_platform::metrics::Metrics;

use crate::routes::PUBLIC_SERVICES;

/// Seconds to the upstream's answer (its headers).
const BUCKETS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// What the edge did with a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Forwarded,
    NotPublic,
    Shed,
    Unreachable,
    Deadline,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Forwarded => "forwarded",
            Outcome::NotPublic => "not_public",
            Outcome::Shed => "shed",
            Outcome::Unreachable => "unreachable",
            Outcome::Deadline => "deadline",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    upstream: &'static str,
    /// Not `outcome`: that label is identity's provider calls' in the
    /// metric contract (tests/deploy/promlint.py), with its own values.
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabel {
    upstream: &'static str,
}

#[derive(Clone, Debug)]
pub struct EdgeMetrics {
    calls: Family<CallLabels, Counter>,
    upstream_seconds: Family<UpstreamLabel, Histogram>,
    in_flight: Gauge,
}

impl Default for EdgeMetrics {
    fn default() -> Self {
        Self {
            calls: Family::default(),
            upstream_seconds: Family::new_with_constructor(|| Histogram::new(BUCKETS)),
            in_flight: Gauge::default(),
        }
    }
}

impl EdgeMetrics {
    /// The series, registered in `metrics` as `yeyak_edge_*`.
    pub fn registered(metrics: &Metrics) -> Self {
        let m = Self::default();
        metrics.register("edge_calls", "Calls the edge received, by upstream service and what it did with them", m.calls.clone());
        metrics.register("edge_upstream_seconds", "Time to the upstream's answer of a forwarded call", m.upstream_seconds.clone());
        metrics.register("edge_in_flight", "Calls the edge is forwarding now (refused beyond YEYAK_MAX_IN_FLIGHT)", m.in_flight.clone());
        m
    }

    pub fn count(&self, path: &str, outcome: Outcome) {
        self.calls.get_or_create(&CallLabels { upstream: upstream(path), action: outcome.label() }).inc();
    }

    /// A call forwarded and answered after `seconds`: counted and timed
    /// under one upstream label, looked up once.
    pub fn forwarded(&self, path: &str, seconds: f64) {
        let upstream = upstream(path);
        self.calls.get_or_create(&CallLabels { upstream, action: Outcome::Forwarded.label() }).inc();
        self.upstream_seconds.get_or_create(&UpstreamLabel { upstream }).observe(seconds);
    }

    /// Counts a call in flight until the guard is dropped.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// Calls counted with `outcome` for `path`'s upstream (tests).
    pub fn calls(&self, path: &str, outcome: Outcome) -> u64 {
        self.calls.get_or_create(&CallLabels { upstream: upstream(path), action: outcome.label() }).get()
    }
}

pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The short name of the public service `path` calls (`inventory`), or `other`.
fn upstream(path: &str) -> &'static str {
    let service = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    PUBLIC_SERVICES.iter().find(|(name, _)| *name == service).and_then(|&(name, _)| name.split('.').nth(1)).unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_the_public_list_only() {
        assert_eq!(upstream("/yeyak.inventory.v1.InventoryService/ListRegions"), "inventory");
        assert_eq!(upstream("/yeyak.admission.v1.AdmissionOperatorService/PauseAdmission"), "other");
        assert_eq!(upstream("/../../etc/passwd"), "other");
    }
}
