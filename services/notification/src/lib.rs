//! Notification: SMS confirmations driven by reservation events.
//!
//! - `consumers/`: turns each reservation event into one pending delivery
//!   (deduplicated by event id in the same transaction);
//! - `app/`: `Deliveries`, the use case: records deliveries, runs the send
//!   loops (claim, send with an idempotency key, mark, retry with
//!   exponential backoff) and answers status lookups;
//! - `grpc/`: the delivery-status API for support staff;
//! - `clients/`: the SMS gateway;
//! - `domain/`: pure rules (message texts, backoff, message ids);
//! - `store/`: the `deliveries` table;
//! - `metrics`: the sender's counters.
#![forbid(unsafe_code)]

mod app;
mod clients;
pub mod config;
pub mod consumers;
mod domain;
mod error;
mod grpc;
mod metrics;
pub mod startup;
pub mod store;
