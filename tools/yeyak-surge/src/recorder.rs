//! Everything the crowd saw, recorded as it happens: each RPC's latency and
//! outcome, each person's way through the stages, and the waits predicted
//! against the waits they had. One lock, held for a few counter updates.
use std::{
    collections::BTreeMap,
    future::Future,
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use parking_lot::Mutex;

/// Latency charts are drawn per interval of this many seconds.
pub(crate) const INTERVAL_SECONDS: u32 = 5;

/// The stages of the funnel, in the order a person goes through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    Join,
    Wait,
    Providers,
    Verify,
    Eligibility,
    Search,
    Book,
    EndSession,
}

impl Stage {
    pub(crate) const ALL: [Stage; 8] =
        [Stage::Join, Stage::Wait, Stage::Providers, Stage::Verify, Stage::Eligibility, Stage::Search, Stage::Book, Stage::EndSession];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Stage::Join => "join",
            Stage::Wait => "wait",
            Stage::Providers => "providers",
            Stage::Verify => "verify",
            Stage::Eligibility => "eligibility",
            Stage::Search => "search",
            Stage::Book => "book",
            Stage::EndSession => "end_session",
        }
    }
}

/// One confirmed booking, as the person was told.
#[derive(Clone, Debug)]
pub(crate) struct Booked {
    pub(crate) reservation_id: String,
    pub(crate) booking_code: String,
    pub(crate) slot_id: String,
    pub(crate) clinic_id: String,
    pub(crate) vaccine_code: String,
    pub(crate) contact_phone: String,
    /// Registry index of the person vaccinated, and the dose.
    pub(crate) subject: u64,
    pub(crate) dose: u32,
    /// By an agent (proxy booking).
    pub(crate) by_agent: bool,
    /// The first CreateReservation was cut off on the client's side and
    /// retried with the same key.
    pub(crate) after_timeout: bool,
}

/// One person's evening (a bot's entry too).
#[derive(Clone, Debug, Default)]
pub(crate) struct Person {
    pub(crate) bot: bool,
    pub(crate) arrival: f64,
    pub(crate) joined_at: Option<f64>,
    /// Place at joining (1 = front), and the wait predicted then.
    pub(crate) position_at_join: u64,
    pub(crate) predicted_at_join: Option<f64>,
    /// `(t, predicted seconds left)` at every poll while waiting.
    pub(crate) polls: Vec<(f64, f64)>,
    pub(crate) admitted_at: Option<f64>,
    /// Gave up waiting (closed the tab, or out of patience).
    pub(crate) gave_up: bool,
    /// When they stopped waiting: admitted, gave up, or the run ended.
    pub(crate) left_queue_at: Option<f64>,
    pub(crate) booked_at: Option<f64>,
    pub(crate) bookings: Vec<Booked>,
}

#[derive(Default)]
pub(crate) struct StageCount {
    pub(crate) entered: u64,
    pub(crate) passed: u64,
    pub(crate) dropped: BTreeMap<String, u64>,
}

/// One RPC's latencies: the whole run, and per interval.
type Latencies = (Histogram<u64>, BTreeMap<u32, Histogram<u64>>);

#[derive(Default)]
pub(crate) struct Inner {
    /// Per RPC: the whole run, and per interval.
    pub(crate) rpcs: BTreeMap<&'static str, Latencies>,
    pub(crate) errors: BTreeMap<(&'static str, String), u64>,
    pub(crate) errors_per_second: BTreeMap<u32, u64>,
    pub(crate) funnel: BTreeMap<Stage, StageCount>,
    pub(crate) people: Vec<Person>,
    /// Passes the services should have refused: `(kind, accepted)`.
    pub(crate) stolen_passes: Vec<(&'static str, bool)>,
    /// Bot join attempts, and those the waiting room accepted.
    pub(crate) bot_joins: (u64, u64),
}

pub(crate) struct Recorder {
    start: Instant,
    pub(crate) inner: Mutex<Inner>,
}

fn histogram() -> Histogram<u64> {
    // Microseconds, 3 significant digits, growing as larger values come.
    let mut h = Histogram::new(3).expect("3 significant digits is a valid precision");
    h.auto(true);
    h
}

impl Recorder {
    pub(crate) fn new(start: Instant) -> Self {
        Self { start, inner: Mutex::new(Inner::default()) }
    }

    /// Seconds since the run started.
    pub(crate) fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    /// Runs one call of `rpc` at `stage`, recording its latency and, when it
    /// fails, its status code.
    pub(crate) async fn call<T, F>(&self, stage: Stage, rpc: &'static str, call: F) -> Result<T, tonic::Status>
    where
        F: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let began = Instant::now();
        let result = call.await;
        self.latency(rpc, began.elapsed());
        match result {
            Ok(response) => Ok(response.into_inner()),
            Err(status) => {
                self.error(stage, &format!("{:?}", status.code()));
                Err(status)
            }
        }
    }

    pub(crate) fn latency(&self, rpc: &'static str, took: Duration) {
        let interval = (self.now() as u32) / INTERVAL_SECONDS * INTERVAL_SECONDS;
        let micros = (took.as_micros() as u64).max(1);
        let mut inner = self.lock();
        let (all, per) = inner.rpcs.entry(rpc).or_insert_with(|| (histogram(), BTreeMap::new()));
        let _ = all.record(micros);
        let _ = per.entry(interval).or_insert_with(histogram).record(micros);
    }

    pub(crate) fn error(&self, stage: Stage, code: &str) {
        let second = self.now() as u32;
        let mut inner = self.lock();
        *inner.errors.entry((stage.name(), code.to_owned())).or_default() += 1;
        *inner.errors_per_second.entry(second).or_default() += 1;
    }

    pub(crate) fn entered(&self, stage: Stage) {
        self.lock().funnel.entry(stage).or_default().entered += 1;
    }

    pub(crate) fn passed(&self, stage: Stage) {
        self.lock().funnel.entry(stage).or_default().passed += 1;
    }

    pub(crate) fn dropped(&self, stage: Stage, reason: &str) {
        *self.lock().funnel.entry(stage).or_default().dropped.entry(reason.to_owned()).or_default() += 1;
    }

    pub(crate) fn person(&self, person: Person) {
        self.lock().people.push(person);
    }

    pub(crate) fn bot_join(&self, accepted: bool) {
        let mut inner = self.lock();
        inner.bot_joins.0 += 1;
        inner.bot_joins.1 += u64::from(accepted);
    }

    pub(crate) fn stolen_pass(&self, kind: &'static str, accepted: bool) {
        self.lock().stolen_passes.push((kind, accepted));
    }

    /// People in each stage now (entered, not yet passed nor dropped), for
    /// the progress line; and the bookings so far.
    pub(crate) fn progress(&self) -> (Vec<(&'static str, u64)>, u64, u64) {
        let inner = self.lock();
        let in_stage = Stage::ALL
            .iter()
            .map(|s| {
                let c = inner.funnel.get(s);
                let gone = c.map_or(0, |c| c.passed + c.dropped.values().sum::<u64>());
                (s.name(), c.map_or(0, |c| c.entered).saturating_sub(gone))
            })
            .collect();
        let booked = inner.funnel.get(&Stage::Book).map_or(0, |c| c.passed);
        (in_stage, booked, inner.errors.values().sum())
    }
}
