//! Outbound calls. Admission calls no other service's API and no third
//! party: it signs tickets and passes (verified offline by everyone else)
//! and keeps its state in Redis (`store/`). The one thing it reads from
//! other services is their health: `metrics` reads the Prometheus metrics
//! of the booking path (identity, eligibility, reservation) for the
//! automatic admission rate, each read with a deadline. What it hears from
//! other services otherwise comes in on the bus (`consumers/`).
pub(crate) mod metrics;
