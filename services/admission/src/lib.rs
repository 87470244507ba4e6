//! Admission: the virtual waiting room.
//!
//! - `grpc/`: the RPC handlers (public queue API, operator API);
//! - `domain/`: pure rules (positions, wait estimates, admission rate);
//! - `store/`: the Redis state shared by every replica.
#![forbid(unsafe_code)]

pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod startup;
pub mod store;
