//! Eligibility: who may book now.
//!
//! - `grpc/`: the CheckEligibility handler, and the one mapping of errors
//!   to gRPC status;
//! - `app/`: `EligibilityCheck`, the use case: the parties' tokens, the
//!   cheap rejection on the birth date, the registry through the cache, the
//!   booked set, the decision, the agent's quota; and booking events applied
//!   to the booked set;
//! - `domain/`: the rules file (cohorts, priority groups, windows with the
//!   10-day rotation, dose intervals) and the decision, evaluated in
//!   Asia/Seoul with an injectable clock; the parties' rules; pure;
//! - `store/`: Redis (the lookup cache, the booked set, proxy quotas) and
//!   the rules file with the rules in force, reloaded on change or SIGHUP;
//! - `clients/`: the national insurance registry, another agency's system
//!   reached only through its API (with its batcher);
//! - `consumers/`: reservation events that keep the booked set current;
//! - `metrics`: decisions, lookup sources, rules reloads;
//! - `cli/`: `yeyak-eligibility-cli` (who is eligible and why, dry runs).
#![forbid(unsafe_code)]

mod app;
pub mod cli;
pub mod clients;
pub mod config;
pub mod consumers;
pub mod domain;
mod error;
mod grpc;
mod metrics;
pub mod startup;
pub mod store;
