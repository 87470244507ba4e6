//! Eligibility: who may book now.
//!
//! - `domain/`: the rules file (cohorts, priority groups, windows with the
//!   10-day rotation, dose intervals) and the decision, evaluated in
//!   Asia/Seoul with an injectable clock; pure;
//! - `reload`: the rules in force, reloaded on file change or SIGHUP;
//! - `registry/`: the client of the national insurance registry, another
//!   agency's system reached only through its API;
//! - `store/`: Redis: the lookup cache, the booked set, proxy quotas;
//! - `events`: reservation events that keep the booked set current;
//! - `grpc/`: the CheckEligibility handler;
//! - `cli`: `yeyak-eligibility-cli` (who is eligible and why, dry runs).
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod registry;
pub mod reload;
pub mod startup;
pub mod store;
