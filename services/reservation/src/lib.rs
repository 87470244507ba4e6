//! Reservation: books slots without overselling, one active reservation per
//! person and dose, idempotent retries, every change committed together with
//! the event it causes.
//!
//! - `grpc/`: the RPC handlers (validation, protobuf mapping) and the one
//!   mapping of errors to gRPC status;
//! - `app/`: `Booking`, the use cases (create, read, cancel, reschedule,
//!   follow the catalogue's slot sizes), with its memories of known and of
//!   full slots;
//! - `domain/`: pure rules and value types;
//! - `store/`: the capacity ledger, reservations and outbox in PostgreSQL;
//! - `clients/`: the eligibility and slot catalogue clients, with deadlines;
//! - `consumers/`: slot size changes from the catalogue, applied to the ledger;
//! - `events`: the events this service publishes.
#![forbid(unsafe_code)]

mod app;
mod clients;
pub mod config;
pub mod consumers;
mod domain;
mod error;
mod events;
mod grpc;
pub mod startup;
mod store;
