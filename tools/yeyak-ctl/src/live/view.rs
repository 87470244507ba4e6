//! The evening as one picture, from every replica's metrics: sums where
//! replicas each count their own share (the funnel, shed calls), the worst
//! where each replica has its own view (a provider's light), the one
//! admission value where every replica reads the same shared line.
use std::collections::BTreeMap;

use prometheus_parse::{Sample, Value};
use serde::Serialize;

#[derive(Debug, Default, Serialize)]
pub(crate) struct Evening {
    pub(crate) events: BTreeMap<String, EventView>,
    /// Provider -> GREEN / YELLOW / RED, the worst any identity replica sees.
    pub(crate) providers: BTreeMap<String, &'static str>,
    /// Calls shed per service since its replicas started.
    pub(crate) shed: BTreeMap<String, f64>,
    pub(crate) answered: usize,
    /// Endpoints that did not answer, with why.
    pub(crate) unreachable: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct EventView {
    pub(crate) waiting: Option<f64>,
    pub(crate) admitted: Option<f64>,
    pub(crate) active_seats: Option<f64>,
    pub(crate) max_active_sessions: Option<f64>,
    pub(crate) rate_configured: Option<f64>,
    pub(crate) rate_measured: Option<f64>,
    /// The automatic admission rate in force (equal to the configured rate when off).
    pub(crate) rate_controlled: Option<f64>,
    /// Seconds; `None` when admission has no honest estimate (NaN) or is not scraped.
    pub(crate) last_place_wait_seconds: Option<f64>,
    pub(crate) paused: Option<bool>,
    pub(crate) funnel: BTreeMap<String, f64>,
    pub(crate) not_eligible: BTreeMap<String, f64>,
}

impl Evening {
    /// Adds one endpoint's samples.
    pub(crate) fn add(&mut self, samples: &[Sample]) {
        self.answered += 1;
        for s in samples {
            let Some(v) = number(&s.value) else { continue };
            let label = |name: &str| s.labels.get(name).unwrap_or("").to_owned();
            match s.metric.as_str() {
                "yeyak_funnel_total" | "yeyak_funnel" => *self.event(&label("event")).funnel.entry(label("stage")).or_default() += v,
                "yeyak_funnel_not_eligible_total" | "yeyak_funnel_not_eligible" => {
                    *self.event(&label("event")).not_eligible.entry(label("reason")).or_default() += v;
                }
                "yeyak_grpc_server_shed_total" | "yeyak_grpc_server_shed" => *self.shed.entry(label("service")).or_default() += v,
                "yeyak_identity_provider_status" => {
                    let light = match v as i64 {
                        0 => "GREEN",
                        1 => "YELLOW",
                        _ => "RED",
                    };
                    let worst = self.providers.entry(label("provider")).or_insert(light);
                    if rank(light) > rank(worst) {
                        *worst = light;
                    }
                }
                name => {
                    if let Some(gauge) = name.strip_prefix("yeyak_queue_") {
                        self.event(&label("event")).set(gauge, v);
                    }
                }
            }
        }
    }

    fn event(&mut self, event: &str) -> &mut EventView {
        self.events.entry(event.to_owned()).or_default()
    }

    /// Only `event`, when one is asked for.
    pub(crate) fn only(mut self, event: Option<&str>) -> Self {
        if let Some(event) = event {
            self.events.retain(|name, _| name == event);
        }
        self
    }
}

impl EventView {
    fn set(&mut self, gauge: &str, v: f64) {
        let slot = match gauge {
            "waiting" => &mut self.waiting,
            "admitted" => &mut self.admitted,
            "active_seats" => &mut self.active_seats,
            "max_active_sessions" => &mut self.max_active_sessions,
            "admission_rate_configured" => &mut self.rate_configured,
            "admission_rate_measured" => &mut self.rate_measured,
            "admission_rate_controlled" => &mut self.rate_controlled,
            "last_place_wait_seconds" => {
                self.last_place_wait_seconds = v.is_finite().then_some(v);
                return;
            }
            "paused" => {
                self.paused = Some(v >= 1.0);
                return;
            }
            _ => return,
        };
        // Every admission replica reports the same shared line, read within
        // a second of each other; the largest is the cautious figure.
        *slot = Some(slot.map_or(v, |old: f64| old.max(v)));
    }

    pub(crate) fn stage(&self, stage: &str) -> f64 {
        self.funnel.get(stage).copied().unwrap_or(0.0)
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(*v),
        Value::Histogram(_) | Value::Summary(_) => None,
    }
}

fn rank(light: &str) -> u8 {
    match light {
        "GREEN" => 0,
        "YELLOW" => 1,
        _ => 2,
    }
}
