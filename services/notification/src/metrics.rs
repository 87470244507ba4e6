//! Notification's own metrics, registered at startup and handed to
//! `app::Deliveries`: per-stage counters, so a gateway outage shows on
//! dashboards before it shows on social media.
use prometheus_client::metrics::counter::Counter;
use yeyak_platform::metrics::{Funnel, Metrics, Stage};

/// What became of each gateway attempt, and the funnel's last stages: a
/// booking's confirmation SMS sent, given up, or its event dead-lettered.
#[derive(Clone)]
pub(crate) struct SenderMetrics {
    pub(crate) sent: Counter,
    pub(crate) retried: Counter,
    pub(crate) given_up: Counter,
    funnel: Funnel,
}

impl SenderMetrics {
    pub(crate) fn register(metrics: &Metrics) -> Self {
        // One delivery per booking, sent or given up once: no marks needed.
        let m = Self {
            sent: Counter::default(),
            retried: Counter::default(),
            given_up: Counter::default(),
            funnel: Funnel::new(metrics, None),
        };
        metrics.register("notification_sms_sent", "SMS accepted by the gateway", m.sent.clone());
        metrics.register("notification_sms_retried", "SMS attempts that failed and will be retried", m.retried.clone());
        metrics.register("notification_sms_failed", "SMS given up after the last attempt", m.given_up.clone());
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
