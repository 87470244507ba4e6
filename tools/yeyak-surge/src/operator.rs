//! The operator's side of the evening: the run's own booking event
//! (created before, closed after), and admission's counters sampled every
//! second (what the admission-rate invariant and chart are made of).
use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use tonic::transport::Channel;
use yeyak_platform::Shutdown;
use yeyak_proto::admission::v1 as adm;

use crate::scenario::Scenario;

type Operator = adm::admission_operator_service_client::AdmissionOperatorServiceClient<Channel>;

/// `msg` with the operator's bearer token.
fn authorized<T>(token: &str, msg: T) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(msg);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().context("operator token")?);
    Ok(request)
}

fn timestamp(at: std::time::SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(at)
}

/// Creates the run's event: it opens `delay` (the catalogue's propagation)
/// plus the scenario's pre-opening window from now, at the scenario's rate.
pub(crate) async fn create_event(channel: Channel, token: &str, id: &str, scenario: &Scenario, delay: Duration) -> anyhow::Result<()> {
    let opens_at = std::time::SystemTime::now() + delay + scenario.opening();
    let event = adm::BookingEvent {
        event_id: id.to_owned(),
        title: format!("yeyak-surge {}", scenario.name),
        opens_at: Some(timestamp(opens_at)),
        closes_at: Some(timestamp(opens_at + Duration::from_secs(scenario.limits.max_seconds + 3_600))),
        rule_set: scenario.event.rule_set.clone(),
        admission_rate_per_second: scenario.event.admission_rate_per_second,
        max_active_sessions: scenario.event.max_active_sessions,
        pre_opening_window_seconds: Some(scenario.arrivals.pre_opening_seconds.ceil() as u64 + 60),
        ..Default::default()
    };
    let request = authorized(token, adm::CreateEventRequest { event: Some(event), dry_run: false })?;
    Operator::new(channel).create_event(request).await.context("CreateEvent")?;
    Ok(())
}

/// Closes the run's event (people still inside are let go: the run is over).
pub(crate) async fn close_event(channel: Channel, token: &str, id: &str) -> anyhow::Result<()> {
    let request = authorized(token, adm::CloseEventRequest { event_id: id.to_owned(), dry_run: false, force: true })?;
    Operator::new(channel).close_event(request).await.context("CloseEvent")?;
    Ok(())
}

/// Admission's own counters at `t` seconds into the run.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sample {
    pub(crate) t: f64,
    pub(crate) admitted: u64,
}

/// Reads the event's settings every second until `shutdown`.
pub(crate) async fn sample(
    channel: Channel,
    token: String,
    queue_id: String,
    start: std::time::Instant,
    shutdown: Shutdown,
) -> Arc<parking_lot::Mutex<Vec<Sample>>> {
    let samples = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let out = samples.clone();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait() => return out,
        }
        let Ok(request) = authorized(&token, adm::GetAdmissionSettingsRequest { queue_id: queue_id.clone() }) else { return out };
        let mut operator = Operator::new(channel.clone());
        if let Ok(Ok(response)) = tokio::time::timeout(Duration::from_secs(2), operator.get_admission_settings(request)).await {
            let s = response.into_inner().settings.unwrap_or_default();
            let sample = Sample { t: start.elapsed().as_secs_f64(), admitted: s.admitted };
            samples.lock().push(sample);
        }
    }
}
