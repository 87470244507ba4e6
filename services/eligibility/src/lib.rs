//! Eligibility: who may book now.
//!
//! - `grpc/`: the CheckEligibility handler;
//! - `domain/`: the rules file (cohorts, windows, dose intervals) and the
//!   decision, evaluated in Asia/Seoul with an injectable clock;
//! - `registry/`: the client of the national insurance registry, another
//!   agency's system reached only through its API.
#![forbid(unsafe_code)]

pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod registry;
pub mod startup;
