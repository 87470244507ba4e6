//! How concurrent registry lookups are coalesced into batch calls. A value
//! type of its own so that the settings (`YEYAK_REGISTRY_*`) can name it
//! without knowing the registry client that applies it (`clients::registry`,
//! whose batcher documents what each knob does to a surge).
use std::time::Duration;

/// How lookups are coalesced.
#[derive(Clone, Copy, Debug)]
pub struct BatchSettings {
    /// Most subject ids in one call (the registry accepts up to 256).
    pub max_batch: usize,
    /// Batch calls in flight at once.
    pub max_in_flight: usize,
    /// Lookups gathered while a call is in flight that are worth a call of
    /// their own beside it; fewer wait for the call in flight to return.
    pub parallel_from: usize,
    /// The longest lookups wait for a call in flight before they go out
    /// beside it anyway.
    pub max_wait: Duration,
    /// Lookups waiting for a call; beyond, refused at once.
    pub queue: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self { max_batch: 128, max_in_flight: 4, parallel_from: 32, max_wait: Duration::from_millis(5), queue: 8192 }
    }
}
