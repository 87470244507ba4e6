//! RPC handlers. `queue` serves citizens, `operator` serves operators,
//! `status` turns a ticket and a queue snapshot into what a citizen sees.
pub mod operator;
pub mod queue;
pub mod status;

use std::sync::Arc;

use crate::{config::Config, error::AdmissionError, store::QueueStore};

/// What every handler shares.
pub struct State {
    pub config: Config,
    pub store: QueueStore,
}

impl State {
    pub fn new(config: Config, store: QueueStore) -> Arc<Self> {
        Arc::new(Self { config, store })
    }

    pub fn known_queue(&self, queue: &str) -> Result<(), AdmissionError> {
        if queue.is_empty() {
            return Err(AdmissionError::InvalidArgument { field: "queue_id", reason: "is required".into() });
        }
        if self.config.queue_ids.iter().any(|q| q == queue) {
            Ok(())
        } else {
            Err(AdmissionError::UnknownQueue(queue.to_owned()))
        }
    }
}
