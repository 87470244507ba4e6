//! Admission: the virtual waiting room.
//!
//! - `grpc/`: the RPC handlers (public queue API, operator API);
//! - `domain/`: pure rules (positions, wait estimates, admission rate);
//! - `store/`: the Redis state shared by every replica;
//! - `sessions`: frees a seat when its holder has booked (reservation events).
#![forbid(unsafe_code)]

pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod sessions;
pub mod startup;
pub mod store;
