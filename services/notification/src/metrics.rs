//! Notification's own metrics, registered at startup and handed to
//! `app::Deliveries`: per-stage counters, so a gateway outage shows on
//! dashboards before it shows on social media.
use prometheus_client::metrics::counter::Counter;
use yeyak_platform::metrics::Metrics;

/// What became of each gateway attempt.
#[derive(Clone, Default)]
pub(crate) struct SenderMetrics {
    pub(crate) sent: Counter,
    pub(crate) retried: Counter,
    pub(crate) given_up: Counter,
}

impl SenderMetrics {
    pub(crate) fn register(metrics: &Metrics) -> Self {
        let m = Self::default();
        metrics.register("notification_sms_sent", "SMS accepted by the gateway", m.sent.clone());
        metrics.register("notification_sms_retried", "SMS attempts that failed and will be retried", m.retried.clone());
        metrics.register("notification_sms_failed", "SMS given up after the last attempt", m.given_up.clone());
        m
    }
}
