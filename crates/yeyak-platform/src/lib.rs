//! The plumbing every Yeyak service shares, so that each service crate holds
//! only its own domain: configuration, telemetry, metrics, the gRPC server
//! stack (health, reflection, limits, graceful drain), signed tokens and the
//! admission-pass interceptor, PostgreSQL, Redis and RabbitMQ.
#![forbid(unsafe_code)]

pub mod booking_code;
pub mod cli;
pub mod config;
pub mod contact;
pub mod db;
pub mod grpc;
pub mod health;
pub mod messaging;
pub mod metrics;
pub mod operators;
pub mod pseudonym;
pub mod redis_store;
pub mod secret;
pub mod sessions;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
pub mod tokens;
pub mod validate;
pub mod watch;

pub use config::{Environment, Secret};
/// The allocator every Yeyak binary installs (`#[global_allocator]`): under a
/// surge a booking allocates and frees across worker threads all the time,
/// and glibc's malloc cost the in-process stack a sixth of its CPU
/// (docs/benchmarks.md).
pub use mimalloc::MiMalloc as Allocator;
pub use shutdown::Shutdown;
