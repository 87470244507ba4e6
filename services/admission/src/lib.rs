//! Admission: the virtual waiting room.
//!
//! - `grpc/`: the RPC handlers (public queue API, operator API) and the one
//!   mapping of errors to gRPC status;
//! - `app/`: `WaitingRoom`, the use case: joining, polling, ending a
//!   session, operator settings, the admission tick;
//! - `domain/`: pure rules and value types (the opening lottery, positions,
//!   wait estimates, settings, what a ticket holder sees);
//! - `store/`: the Redis state shared by every replica, and its Lua scripts;
//! - `clients/`: none (admission calls no other service);
//! - `consumers/`: frees a seat when its holder has booked (reservation events).
#![forbid(unsafe_code)]

mod app;
mod clients;
pub mod config;
pub mod consumers;
pub mod domain;
mod error;
mod grpc;
mod metrics;
pub mod startup;
mod store;
