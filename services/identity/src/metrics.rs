//! Identity's own metrics, beside the per-RPC ones every server has. Labels
//! are provider ids and fixed words only: never anything about a person.
use std::sync::atomic::AtomicU64;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
};
use yeyak_platform::{
    health::{HealthObserver, Snapshot},
    metrics::Metrics,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ProviderLabel {
    pub(crate) provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutcomeLabels {
    pub(crate) provider: String,
    pub(crate) outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReasonLabel {
    pub(crate) reason: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Default)]
pub(crate) struct IdentityMetrics {
    /// 0 GREEN, 1 YELLOW, 2 RED.
    pub(crate) status: Family<ProviderLabel, Gauge>,
    /// 0 closed, 1 half-open, 2 open.
    pub(crate) breaker: Family<ProviderLabel, Gauge>,
    pub(crate) in_flight: Family<ProviderLabel, Gauge>,
    pub(crate) success_ratio: Family<ProviderLabel, FloatGauge>,
    pub(crate) latency_p50: Family<ProviderLabel, FloatGauge>,
    pub(crate) latency_p99: Family<ProviderLabel, FloatGauge>,
    /// Calls to providers by outcome: ok, failure, refused_open, refused_saturated, probe_ok, probe_failure.
    pub(crate) calls: Family<OutcomeLabels, Counter>,
    /// Breaker transitions by provider and new state.
    pub(crate) transitions: Family<OutcomeLabels, Counter>,
    /// Requests refused before any provider call: overload, attempts_subject,
    /// attempts_phone, attempts_pass, attempts_challenge, proxy_limit.
    pub(crate) refused: Family<ReasonLabel, Counter>,
    /// Assertions issued, by provider.
    pub(crate) verified: Family<ProviderLabel, Counter>,
    /// Consent tokens issued (GrantConsent).
    pub(crate) consents: Counter,
}

impl IdentityMetrics {
    pub(crate) fn register(metrics: &Metrics) -> Self {
        let m = Self::default();
        metrics.register("identity_provider_status", "Traffic light per provider: 0 GREEN, 1 YELLOW, 2 RED", m.status.clone());
        metrics.register("identity_provider_breaker", "Circuit breaker per provider: 0 closed, 1 half-open, 2 open", m.breaker.clone());
        metrics.register("identity_provider_in_flight", "Calls in flight per provider (bulkhead use)", m.in_flight.clone());
        metrics.register("identity_provider_success_ratio", "Success ratio over the health window", m.success_ratio.clone());
        metrics.register("identity_provider_latency_p50_seconds", "p50 latency over the health window", m.latency_p50.clone());
        metrics.register("identity_provider_latency_p99_seconds", "p99 latency over the health window", m.latency_p99.clone());
        metrics.register("identity_consents", "Consent tokens issued for proxy booking", m.consents.clone());
        metrics.register("identity_provider_calls", "Provider calls by outcome", m.calls.clone());
        metrics.register("identity_provider_breaker_transitions", "Breaker transitions by new state", m.transitions.clone());
        metrics.register("identity_refused", "Verification requests refused before reaching a provider", m.refused.clone());
        metrics.register("identity_verified", "Identity assertions issued by provider", m.verified.clone());
        m
    }

    pub(crate) fn call(&self, provider: &str, outcome: &'static str) {
        self.calls.get_or_create(&OutcomeLabels { provider: provider.to_owned(), outcome }).inc();
    }

    pub(crate) fn refused(&self, reason: &'static str) {
        self.refused.get_or_create(&ReasonLabel { reason }).inc();
    }
}

/// The routing board reports here, under identity's own names
/// (`identity_provider_*`, label `provider`), as before the board moved to
/// the platform.
impl HealthObserver for IdentityMetrics {
    fn call(&self, provider: &str, outcome: &'static str) {
        IdentityMetrics::call(self, provider, outcome);
    }

    fn transition(&self, provider: &str, to: &'static str) {
        self.transitions.get_or_create(&OutcomeLabels { provider: provider.to_owned(), outcome: to }).inc();
    }

    fn publish(&self, s: &Snapshot) {
        let label = ProviderLabel { provider: s.id.clone() };
        self.status.get_or_create(&label).set(s.light as i64);
        self.breaker.get_or_create(&label).set(s.breaker.gauge());
        self.in_flight.get_or_create(&label).set(s.in_flight as i64);
        self.success_ratio.get_or_create(&label).set(s.stats.success_rate);
        self.latency_p50.get_or_create(&label).set(s.stats.p50.as_secs_f64());
        self.latency_p99.get_or_create(&label).set(s.stats.p99.as_secs_f64());
    }
}
