//! Identity: verifies people through several external providers and issues
//! signed, pseudonymous identity assertions.
//!
//! - `grpc/`: the IdentityService handlers: validation, load shedding, abuse limits;
//! - `providers/`: one adapter per channel behind the [`providers::Provider`] trait;
//! - `routing/`: per-provider sliding-window health, circuit breaker and
//!   bulkhead, the traffic light and the order providers are offered in;
//! - `domain/`: assertion building (pseudonymisation, masking);
//! - `store/`: challenges, attempt counters and proxy sets in Redis (shared
//!   by every replica, all with a TTL).
//!
//! The raw resident registration number is sent to the chosen provider and
//! hashed; it is never stored, logged or returned. See `docs/identity.md`.
#![forbid(unsafe_code)]

pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod metrics;
pub mod providers;
pub mod routing;
pub mod startup;
pub mod store;
