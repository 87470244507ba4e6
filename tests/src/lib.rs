//! The whole Yeyak stack for tests and demos.
//!
//! - [`stack`]: starts every service and mock in this process on port 0,
//!   each with a fresh database and private Redis/RabbitMQ namespaces;
//! - [`demo`]: one person's booking through the public gRPC APIs, step by
//!   step — the same code `make run` prints and the end-to-end test asserts;
//! - [`keys`]: fresh development key material.
#![forbid(unsafe_code)]

pub mod bench;
pub mod demo;
pub mod keys;
pub mod stack;
