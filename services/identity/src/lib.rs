//! Identity: verifies people through several external providers and issues
//! signed, pseudonymous identity assertions.
//!
//! - `grpc/`: the IdentityService handlers and input validation;
//! - `providers/`: one adapter per provider behind the [`providers::Provider`] trait, and their live health;
//! - `domain/`: assertion building (pseudonymisation, masking);
//! - `store/`: challenges in Redis (shared by every replica, with a TTL).
//!
//! The raw resident registration number is sent to the chosen provider and
//! hashed; it is never stored, logged or returned.
#![forbid(unsafe_code)]

pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod providers;
pub mod startup;
pub mod store;
