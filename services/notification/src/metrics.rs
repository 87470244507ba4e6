//! Notification's own metrics, registered at startup and handed to
//! `app::Deliveries`: per-stage counters, so a gateway outage shows on
//! dashboards before it shows on social media, and each gateway's health as
//! the routing board sees it.
use std::sync::atomic::AtomicU64;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
};
use yeyak_platform::{
    health::{HealthObserver, Snapshot},
    metrics::{Funnel, Metrics, Stage},
};

/// What became of each gateway attempt, and the funnel's last stages: a
/// booking's confirmation SMS sent, given up, or its event dead-lettered.
#[derive(Clone)]
pub(crate) struct SenderMetrics {
    pub(crate) sent: Counter,
    pub(crate) retried: Counter,
    pub(crate) given_up: Counter,
    /// Rounds that ended with the outcome unknown at a gateway.
    pub(crate) unknown: Counter,
    /// Deliveries in `unknown` now, and how old the oldest is (seconds
    /// since it was recorded): what an alert on stuck SMS reads.
    pub(crate) unknown_rows: Gauge,
    pub(crate) unknown_oldest: Gauge<f64, AtomicU64>,
    funnel: Funnel,
}

impl SenderMetrics {
    pub(crate) fn register(metrics: &Metrics) -> Self {
        // One delivery per booking, sent or given up once: no marks needed.
        let m = Self {
            sent: Counter::default(),
            retried: Counter::default(),
            given_up: Counter::default(),
            unknown: Counter::default(),
            unknown_rows: Gauge::default(),
            unknown_oldest: Gauge::default(),
            funnel: Funnel::new(metrics, None),
        };
        metrics.register("notification_sms_sent", "SMS accepted by the gateway", m.sent.clone());
        metrics.register("notification_sms_retried", "SMS attempts that failed and will be retried", m.retried.clone());
        metrics.register("notification_sms_failed", "SMS given up after the last attempt", m.given_up.clone());
        metrics.register(
            "notification_sms_outcome_unknown",
            "SMS rounds that ended with the outcome unknown at a gateway (asked again later, never sent elsewhere)",
            m.unknown.clone(),
        );
        metrics.register(
            "notification_sms_unknown_deliveries",
            "Deliveries whose outcome is unknown at their gateway now (waiting on its lookup or an operator)",
            m.unknown_rows.clone(),
        );
        metrics.register(
            "notification_sms_unknown_oldest_age_seconds",
            "Age of the oldest delivery in state unknown (0 when there is none)",
            m.unknown_oldest.clone(),
        );
        m
    }

    /// A funnel stage of the booking event `event` (none for a message that
    /// ends no funnel: a cancellation, a reschedule).
    pub(crate) fn funnel(&self, event: Option<&str>, stage: Stage) {
        if let Some(event) = event.filter(|e| !e.is_empty()) {
            self.funnel.count(event, stage);
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GatewayLabel {
    gateway: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GatewayOutcome {
    gateway: String,
    outcome: &'static str,
}

/// Each gateway's health as the routing board sees it (the same shape as
/// identity's provider metrics, under notification's names).
#[derive(Clone, Default)]
pub(crate) struct GatewayMetrics {
    /// 0 GREEN, 1 YELLOW, 2 RED.
    status: Family<GatewayLabel, Gauge>,
    /// 0 closed, 1 half-open, 2 open.
    breaker: Family<GatewayLabel, Gauge>,
    success_ratio: Family<GatewayLabel, Gauge<f64, AtomicU64>>,
    calls: Family<GatewayOutcome, Counter>,
    transitions: Family<GatewayOutcome, Counter>,
}

impl GatewayMetrics {
    pub(crate) fn register(metrics: &Metrics) -> Self {
        let m = Self::default();
        metrics.register("notification_sms_gateway_status", "Traffic light per SMS gateway: 0 GREEN, 1 YELLOW, 2 RED", m.status.clone());
        metrics.register(
            "notification_sms_gateway_breaker",
            "Circuit breaker per SMS gateway: 0 closed, 1 half-open, 2 open",
            m.breaker.clone(),
        );
        metrics.register("notification_sms_gateway_success_ratio", "Success ratio over the health window", m.success_ratio.clone());
        metrics.register("notification_sms_gateway_calls", "SMS gateway calls by outcome", m.calls.clone());
        metrics.register("notification_sms_gateway_breaker_transitions", "Breaker transitions by new state", m.transitions.clone());
        m
    }
}

impl HealthObserver for GatewayMetrics {
    fn call(&self, gateway: &str, outcome: &'static str) {
        self.calls.get_or_create(&GatewayOutcome { gateway: gateway.to_owned(), outcome }).inc();
    }

    fn transition(&self, gateway: &str, to: &'static str) {
        self.transitions.get_or_create(&GatewayOutcome { gateway: gateway.to_owned(), outcome: to }).inc();
    }

    fn publish(&self, s: &Snapshot) {
        let label = GatewayLabel { gateway: s.id.clone() };
        self.status.get_or_create(&label).set(s.light as i64);
        self.breaker.get_or_create(&label).set(s.breaker.gauge());
        self.success_ratio.get_or_create(&label).set(s.stats.success_rate);
    }
}
