//! Inventory: the clinic catalogue and the availability read model.
//!
//! - `grpc/`: the handlers of the public search API (behind the waiting
//!   room) and of the internal slot catalogue used by the reservation service;
//! - `app/`: the use cases: `Search` (the public reads, through the cache)
//!   and `Catalogue` (the slot lookup, slot size changes, booking changes);
//! - `domain/`: pure rules (region codes, date ranges, page tokens, the demo
//!   catalogue plan, clamping of booked counts);
//! - `store/`: the PostgreSQL catalogue, read model, slot resizes and demo
//!   seed, and `store::cache`, the Redis cache of hot answers and its
//!   invalidation;
//! - `clients/`: none (inventory calls no other service);
//! - `consumers/`: reservation events → the read model;
//! - `events`: `inventory.slot_resized.v1`, the one event it publishes.
//!
//! Design "ledger in reservation": the reservation service owns the
//! authoritative capacity counters; the counts here are a read model that may
//! lag by a moment. Booked counts are the exact sum of the deduplicated
//! events; what is shown (remaining places, day summaries) is clamped to
//! `[0, capacity]`.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod app;
pub(crate) mod clients;
pub mod config;
pub mod consumers;
pub mod domain;
pub mod error;
pub(crate) mod events;
pub(crate) mod grpc;
pub mod startup;
pub mod store;

pub use store::seed::{seed_demo, SeedReport};
