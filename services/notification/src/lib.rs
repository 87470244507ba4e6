//! Notification: SMS confirmations driven by reservation events.
//!
//! - `consumer`: turns each reservation event into one pending delivery row
//!   (deduplicated by event id in the same transaction);
//! - `sender`: sends pending deliveries to the SMS gateway with an
//!   idempotency key, retrying with exponential backoff;
//! - `grpc/`: the delivery-status API for support staff;
//! - `domain/`: pure rules (message texts, backoff, message ids);
//! - `store/`: the `deliveries` table.
#![forbid(unsafe_code)]

pub mod config;
pub mod consumer;
pub mod domain;
pub mod error;
pub mod gateway;
pub mod grpc;
pub mod sender;
pub mod startup;
pub mod store;
