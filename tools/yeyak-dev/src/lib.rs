//! What `make run` needs besides the services, kept out of the test harness
//! so the developer tool builds without the benchmarks:
//!
//! - [`keys`]: fresh development key material;
//! - [`certs`]: a test CA and per-service certificates (the chart's internal TLS);
//! - [`stream`]: a stream of verifications, for rollouts and replica loss;
//! - [`link`]: the broker link `yeyak-surge --chaos` cuts and restores;
//! - [`demo`]: one person's booking through the public gRPC APIs, step by
//!   step — the same code `make run` prints and the end-to-end test asserts.
#![forbid(unsafe_code)]

pub mod certs;
pub mod demo;
pub mod keys;
pub mod link;
pub mod stream;
