//! Inventory: the clinic catalogue and the availability read model.
//!
//! - `grpc/`: the public search API (behind the waiting room) and the internal
//!   slot catalogue used by the reservation service;
//! - `domain/`: pure rules (region codes, date ranges, page tokens, the demo
//!   catalogue plan, clamping of booked counts);
//! - `store/`: the PostgreSQL catalogue, read model and demo seed;
//! - `events`: the consumer that keeps the read model in step with bookings.
//!
//! Design "ledger in reservation": the reservation service owns the
//! authoritative capacity counters; the counts here are a read model that may
//! lag by a moment, so they are clamped to `[0, capacity]`.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod startup;
pub mod store;

pub use store::seed::{seed_demo, SeedReport};
