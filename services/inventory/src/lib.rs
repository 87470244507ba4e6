//! Inventory: the clinic catalogue and the availability read model.
//!
//! - `grpc/`: the public search API (behind the waiting room) and the internal
//!   slot catalogue used by the reservation service;
//! - `domain/`: pure rules (region codes, date ranges, page tokens, the demo
//!   catalogue plan, clamping of booked counts);
//! - `store/`: the PostgreSQL catalogue, read model and demo seed;
//! - `events`: the consumer that keeps the read model in step with bookings;
//! - `ops`: operator commands (slot size changes);
//! - `store::cache`: the Redis cache of hot answers and its invalidation.
//!
//! Design "ledger in reservation": the reservation service owns the
//! authoritative capacity counters; the counts here are a read model that may
//! lag by a moment. Booked counts are the exact sum of the deduplicated
//! events; what is shown (remaining places, day summaries) is clamped to
//! `[0, capacity]`.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod ops;
pub mod startup;
pub mod store;

pub use store::seed::{seed_demo, SeedReport};
