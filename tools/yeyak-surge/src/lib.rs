//! `yeyak-surge`: an opening night against a real deployment, through its
//! public gRPC APIs. See `docs/surge.md` for the scenario file, the report
//! and the capacity plan.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod args;
mod bots;
mod chaos;
mod checks;
mod citizen;
pub mod cli;
mod cpu;
mod crowd;
mod ctx;
mod invariants;
mod operator;
pub mod plan;
mod progress;
mod recorder;
pub mod report;
pub mod run;
pub mod scenario;
mod summary;
pub mod targets;

pub use chaos::CI_SEED as CHAOS_CI_SEED;
