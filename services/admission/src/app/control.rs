//! The automatic admission rate, as a use case: once per interval, the
//! replica holding an event's control lease reads the health of the booking
//! path, lets the control law decide the rate, records any change (a row in
//! PostgreSQL, a log line, a metric) and writes the rate where every
//! replica's admission tick reads it. Other replicas only follow it.
use std::{collections::HashMap, time::Duration};

use futures_util::future::join_all;

use super::{now_ms, WaitingRoom};
use crate::{
    clients::metrics::{MetricsError, MetricsReader},
    domain::control::{assess, ControlSettings, Controlled, Controller, Counts, Direction, Reading},
    error::AdmissionError,
    store::durable::RateChange,
};

/// A change recorded in PostgreSQL this recently is resumed by a replica
/// taking the control over when Redis has no rate (it lost its data). Holds
/// are not recorded, so the last change is the rate in force however long
/// ago it was made; the window only keeps a previous evening's rate from
/// coming back when the controller is switched on again.
const RESUME_WINDOW_MS: i64 = 30 * 60_000;

/// The controller of this replica: its settings, its metrics reader and
/// the name it holds leases under.
pub(crate) struct RateControl {
    settings: ControlSettings,
    reader: MetricsReader,
    replica: String,
}

impl RateControl {
    pub(crate) fn new(settings: ControlSettings) -> Result<Self, MetricsError> {
        let reader = MetricsReader::new(settings.scrape_timeout)?;
        Ok(Self { settings, reader, replica: uuid::Uuid::new_v4().simple().to_string() })
    }

    /// Whether an event the operators never switched is controlled.
    pub(super) fn enabled_by_default(&self) -> bool {
        self.settings.enabled_by_default
    }

    /// The floor of an event (see [`ControlSettings::floor`]).
    pub(super) fn floor(&self, operator_floor: Option<f64>, ceiling: f64) -> f64 {
        self.settings.floor(operator_floor, ceiling)
    }

    /// A replica that stops renewing loses the lease after three intervals.
    fn lease(&self) -> Duration {
        self.settings.interval * 3
    }

    /// How long a written rate holds unless written again (ten intervals).
    fn validity(&self) -> Duration {
        (self.settings.interval * 10).max(Duration::from_secs(10))
    }
}

/// What the controller of one event remembers between intervals (held by
/// the replica's control task; forgotten when it loses the lease).
#[derive(Debug, Default)]
pub(crate) struct ControlState {
    controller: Option<Controller>,
    /// The last counters of every process read, by service and address.
    previous: HashMap<String, Counts>,
    /// Reads in a row that failed, by service and address.
    failures: HashMap<String, u32>,
    /// The reason and time of the last change.
    last: Option<(String, i64)>,
}

impl WaitingRoom {
    /// How often the automatic rate is decided; `None`: no controller.
    pub(crate) fn control_interval(&self) -> Option<Duration> {
        self.control.as_ref().map(|c| c.settings.interval)
    }

    /// One interval of `queue`'s controller, if this replica holds the lease.
    pub(crate) async fn control(&self, queue: &str, state: &mut ControlState) -> Result<(), AdmissionError> {
        let Some(rc) = &self.control else { return Ok(()) };
        let defaults = self.known_queue(queue)?;
        if !self.store.hold_control(queue, &rc.replica, rc.lease()).await? {
            *state = ControlState::default();
            return Ok(());
        }
        let stored = self.durable.settings(queue).await?;
        self.store.invalidate(queue);
        let snap = self.checked(queue, || self.store.snapshot(queue, &defaults)).await?;
        if !stored.auto_rate.unwrap_or(rc.settings.enabled_by_default) {
            if snap.settings.controlled.is_some() {
                self.checked(queue, || self.store.write_control(queue, None, rc.validity())).await?;
            }
            *state = ControlState::default();
            return Ok(());
        }
        let ceiling = snap.settings.rate_per_second;
        if state.controller.is_none() {
            let resumed = match &snap.settings.controlled {
                Some(c) => Some((c.rate, c.reason.clone(), c.changed_at_ms)),
                None => self.durable.last_rate_change(queue).await?.filter(|(_, _, at)| now_ms() - at < RESUME_WINDOW_MS),
            };
            let (rate, reason, at) = resumed.unwrap_or((ceiling, String::new(), 0));
            tracing::info!(queue, rate, replica = %rc.replica, "took over the admission rate controller");
            state.controller = Some(Controller::starting_at(rate));
            state.last = Some((reason, at));
        }
        let readings = self.read_health(rc, state).await;
        let verdict = assess(&readings, &rc.settings.thresholds);
        let floor = rc.settings.floor(stored.auto_floor, ceiling);
        let Some(mut controller) = state.controller.clone() else { return Ok(()) };
        let old_rate = controller.rate();
        // Decided on a copy: the decision is kept only once it is in force.
        let decision = controller.step(&rc.settings.law, &verdict, ceiling, floor);
        let now = now_ms();
        let changed = decision.direction != Direction::Hold;
        let (reason, changed_at_ms) = if changed { (decision.reason.clone(), now) } else { state.last.clone().unwrap_or_default() };
        let controlled = Controlled { rate: decision.rate, reason, changed_at_ms };
        let written = self.checked(queue, || self.store.write_control(queue, Some((&controlled, &rc.replica)), rc.validity())).await?;
        if !written {
            // Switched off meanwhile, or the lease went to another replica
            // during this interval: nothing changed, nothing to record.
            tracing::debug!(queue, "automatic rate not written (switched off, or the lease moved)");
            *state = ControlState::default();
            return Ok(());
        }
        state.controller = Some(controller);
        if changed {
            let direction = decision.direction.as_str();
            tracing::info!(queue, from = old_rate, to = decision.rate, direction, reason = %decision.reason, "admission rate changed");
            self.gauges.rate_changed(queue, direction);
            state.last = Some((decision.reason.clone(), now));
            let change = RateChange {
                old_rate,
                new_rate: decision.rate,
                direction,
                reason: decision.reason.clone(),
                replica: rc.replica.clone(),
                at_ms: now,
            };
            // The change is in force: a record that fails is logged, not a
            // reason to stop controlling (a slow PostgreSQL must not delay a cut).
            if let Err(e) = self.durable.record_rate_change(queue, &change).await {
                tracing::warn!(queue, error = %e, from = old_rate, to = decision.rate, "recording an admission rate change failed");
            }
        }
        Ok(())
    }

    /// Gives up the control of `queue` (shutdown), so another replica takes over at once.
    pub(crate) async fn release_control(&self, queue: &str) {
        if let Some(rc) = &self.control {
            if let Err(e) = self.store.release_control(queue, &rc.replica).await {
                tracing::debug!(queue, error = %e, "releasing the control lease failed; it expires on its own");
            }
        }
    }

    /// Reads every process of every target at once: `(service, reading)`.
    async fn read_health(&self, rc: &RateControl, state: &mut ControlState) -> Vec<(String, Reading)> {
        let reads = join_all(rc.settings.targets.iter().map(|t| async move { (t.name.clone(), rc.reader.read(t).await) })).await;
        let mut readings = Vec::new();
        let (mut now, mut failures) = (HashMap::new(), HashMap::new());
        for (service, processes) in reads {
            for (address, result) in processes {
                let key = format!("{service} {address}");
                let reading = match result {
                    Err(e) => {
                        // Kept: the next read measures from the last one that worked.
                        if let Some(previous) = state.previous.remove(&key) {
                            now.insert(key.clone(), previous);
                        }
                        let in_a_row = state.failures.get(&key).copied().unwrap_or(0) + 1;
                        failures.insert(key, in_a_row);
                        Reading::Unreachable { why: format!("{address}: {e}"), persistent: in_a_row >= 2 }
                    }
                    Ok(counts) => {
                        let reading = state.previous.get(&key).map_or(Reading::First, |p| Reading::Counted(counts.since(p)));
                        now.insert(key, counts);
                        reading
                    }
                };
                readings.push((service.clone(), reading));
            }
        }
        // Processes gone since the last read are forgotten.
        state.previous = now;
        state.failures = failures;
        readings
    }
}
