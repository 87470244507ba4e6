//! Outbound calls: the identity providers (`providers`, one HTTP/JSON
//! adapter per channel, each call with a deadline) and the [`Board`] that
//! routes to them by health, with a circuit breaker and a bulkhead each.
//!
//! `Board` is public: the integration tests and the e2e bench read the
//! providers' live health through `startup::Application::board`.
pub(crate) mod providers;
mod router;

pub use router::{Board, Permit, Refusal, Slot};
