//! What every simulated person shares: the connections, the recorder, the
//! scenario, and the passes admitted citizens hold (which the bots try to
//! copy).
use std::time::Duration;

use parking_lot::Mutex;

use tokio::time::Instant;
use yeyak_dev::demo::Session;
use yeyak_proto::admission::v1 as adm;

use crate::{recorder::Recorder, scenario::Scenario, targets::Targets};

pub(crate) struct Ctx {
    pub(crate) targets: Targets,
    pub(crate) rec: Recorder,
    pub(crate) scenario: Scenario,
    /// The event (queue) this run created.
    pub(crate) queue_id: String,
    /// The run creates and closes its events with it.
    pub(crate) operator_token: yeyak_platform::config::Secret<String>,
    /// Prefix of every client id and idempotency key of this run.
    pub(crate) run_tag: String,
    pub(crate) http: reqwest::Client,
    /// When people still waiting give up: the run's time limit.
    pub(crate) deadline: Instant,
    /// Sessions of citizens admitted and not yet done (by client id), for
    /// the copied-pass bots: copying an ended session proves nothing.
    pub(crate) live: Mutex<std::collections::HashMap<String, Session>>,
}

impl Ctx {
    pub(crate) fn queue(&self) -> adm::admission_service_client::AdmissionServiceClient<tonic::transport::Channel> {
        adm::admission_service_client::AdmissionServiceClient::new(self.targets.admission.get())
    }

    /// A think time drawn from the scenario's range.
    pub(crate) fn think(&self, rng: &mut impl rand::Rng) -> Duration {
        let (lo, hi) = self.scenario.behaviour.think_ms;
        Duration::from_millis(rng.gen_range(lo..=hi))
    }

    pub(crate) fn keep(&self, session: &Session) {
        let mut live = self.live.lock();
        if live.len() < 1_000 {
            live.insert(session.client_id.clone(), session.clone());
        }
    }

    pub(crate) fn done(&self, session: &Session) {
        self.live.lock().remove(&session.client_id);
    }

    pub(crate) fn some_live(&self, i: usize) -> Option<Session> {
        let live = self.live.lock();
        (!live.is_empty()).then(|| live.values().nth(i % live.len()).cloned()).flatten()
    }
}

/// A made-up but well-formed source address per person, sent as a gateway
/// sends it (`x-forwarded-for`): admission limits entries per address and
/// trusts the header from its `YEYAK_TRUSTED_PROXIES` only.
pub(crate) fn source_address(index: u64) -> String {
    format!("10.{}.{}.{}", (index >> 16) & 0xff, (index >> 8) & 0xff, index & 0xff)
}
