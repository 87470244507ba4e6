//! Reservation: books slots without overselling, one active reservation per
//! person and dose, idempotent retries, every change committed together with
//! the event it causes.
//!
//! - `grpc/`: the RPC handlers (validation, protobuf mapping);
//! - `booking`: the use cases, orchestrating upstream calls and the store;
//! - `upstream`: eligibility and inventory clients;
//! - `events`: integration event payloads;
//! - `catalog_events`: slot size changes from the catalogue, applied to the ledger;
//! - `domain/`: pure rules;
//! - `store/`: the capacity ledger, reservations and outbox in PostgreSQL.
#![forbid(unsafe_code)]

pub mod booking;
pub mod catalog_events;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod startup;
pub mod store;
pub mod upstream;
