//! Routing by health: the platform's board (`yeyak_platform::health::Board`:
//! per provider a sliding window, a circuit breaker and a bulkhead, a
//! supervisor probing opened breakers) over identity's providers. This
//! module only says what a provider is to the board and keeps identity's
//! metric names (`identity_provider_*`, `metrics.rs`).
//!
//! Every replica keeps its own view (it sees its own calls); they agree
//! within one window because they call the same providers. A RED provider is
//! not offered, user calls to it are refused at once with the alternatives
//! named, and the supervisor probes it (half-open) until it recovers.
use std::time::Duration;

use yeyak_platform::health::{self, BoxFuture, Upstream};

use super::providers::Provider;

/// The board of identity providers.
pub type Board = health::Board<Box<dyn Provider>>;
/// One provider on it, with its health and bulkhead.
pub type Slot = health::Slot<Box<dyn Provider>>;
/// Leave to call one provider.
pub type Permit<'a> = health::Permit<'a, Box<dyn Provider>>;
pub use health::Refusal;

/// A provider is an upstream by its configured id and concurrency limit;
/// its probe is the provider's own (it sees the faults users see).
impl Upstream for Box<dyn Provider> {
    fn id(&self) -> &str {
        &self.config().id
    }

    fn max_in_flight(&self) -> usize {
        self.config().max_in_flight
    }

    fn probe(&self, deadline: Duration) -> BoxFuture<'_, Result<(), String>> {
        let probe = Provider::probe(self.as_ref(), deadline);
        Box::pin(async move { probe.await.map_err(|e| e.to_string()) })
    }
}
