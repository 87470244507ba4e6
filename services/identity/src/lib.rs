//! Identity: verifies people through several external providers and issues
//! signed, pseudonymous identity assertions.
//!
//! - `grpc/`: the IdentityService handlers: validation, load shedding, the
//!   caller's deadline; `grpc/status.rs` maps every error to a status;
//! - `app/`: the use cases, one type `Verification`: list the providers,
//!   start and complete a verification (routing, attempt limits, proxy limit,
//!   the assertion), grant consent;
//! - `domain/`: pure rules and value types: names, keyed hashes and the
//!   assertion; configured providers; the health rules (the platform's
//!   `health`: sliding window, circuit breaker, traffic light, ranking);
//! - `store/`: challenges, attempt counters and proxy sets in Redis (shared
//!   by every replica, all with a TTL);
//! - `clients/`: one adapter per provider channel behind the `Provider`
//!   trait, and the [`clients::Board`] (the platform's, shared with
//!   notification) that calls them by health, with a breaker and a bulkhead
//!   each;
//! - `consumers/`: none (identity consumes no bus events).
//!
//! The raw resident registration number is sent to the chosen provider and
//! hashed; it is never stored, logged or returned. See `docs/identity.md`.
#![forbid(unsafe_code)]

pub(crate) mod app;
pub mod clients;
pub mod config;
pub(crate) mod consumers;
pub(crate) mod domain;
pub(crate) mod error;
pub(crate) mod grpc;
pub(crate) mod metrics;
pub mod startup;
pub(crate) mod store;
