//! RPC handlers. `queue` serves citizens, `operator` serves operators.
pub mod operator;
pub mod queue;

use std::sync::Arc;

use crate::{config::Config, domain::Settings, store::QueueStore};

/// What every handler shares.
pub struct State {
    pub config: Config,
    pub store: QueueStore,
}

impl State {
    pub fn new(config: Config, store: QueueStore) -> Arc<Self> {
        Arc::new(Self { config, store })
    }

    pub fn defaults(&self) -> Settings {
        Settings { rate_per_second: self.config.default_rate_per_second, max_active: self.config.default_max_active, paused: false }
    }

    pub fn known_queue(&self, queue: &str) -> Result<(), crate::error::AdmissionError> {
        if queue.is_empty() {
            return Err(crate::error::AdmissionError::InvalidArgument { field: "queue_id", reason: "is required".into() });
        }
        if self.config.queue_ids.iter().any(|q| q == queue) {
            Ok(())
        } else {
            Err(crate::error::AdmissionError::UnknownQueue(queue.to_owned()))
        }
    }
}
