//! The shared fault-injection and error plumbing of the mock third parties
//! (`mock-idp`, `mock-sms`, `mock-registry`): run-time adjustable latency,
//! errors, hangs and capacity behind `GET/PUT /admin/faults`, and the
//! `{"error": "..."}` JSON error shape with strict body parsing.
//!
//! Test and demo tooling only: this crate is never linked into the real
//! services, which must not depend on it.
#![forbid(unsafe_code)]
// Unit tests may unwrap: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod error;
pub mod faults;
pub mod serve;
