//! The whole Yeyak stack for tests and benchmarks.
//!
//! - [`stack`]: starts every service and mock on port 0 (in this process, or
//!   our services as child processes), each with a fresh database and
//!   private Redis/RabbitMQ namespaces;
//! - [`otlp`]: an OTLP trace collector the services export to, for tests;
//! - [`bench`]: what the benchmark programs (`src/bin/bench_*.rs`) share,
//!   and each one's phases.
//!
//! The scripted demo booking and the dev keys live in `yeyak-dev`
//! (`tools/yeyak-dev`), which [`stack`] uses too.
#![forbid(unsafe_code)]

pub mod bench;
pub mod otlp;
pub mod stack;
