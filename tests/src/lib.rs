//! The whole Yeyak stack for tests and benchmarks.
//!
//! - [`stack`]: starts every service and mock in this process on port 0,
//!   each with a fresh database and private Redis/RabbitMQ namespaces;
//! - [`bench`]: what the benchmark programs (`src/bin/bench_*.rs`) share,
//!   and each one's phases.
//!
//! The scripted demo booking and the dev keys live in `yeyak-dev`
//! (`tools/yeyak-dev`), which [`stack`] uses too.
#![forbid(unsafe_code)]

pub mod bench;
pub mod stack;
