//! Identity's rules and value types, pure (no I/O, instants are parameters):
//!
//! - [`person`]: what a valid name is, the keyed hashes that stand for a
//!   person or a phone, the person's details (redacted in `Debug`) and the
//!   pseudonymous assertion built from them;
//! - [`provider`]: a configured provider and how the person proves who they
//!   are with it;
//! - [`health`]: sliding window, circuit breaker, traffic light and ranking;
//! - [`challenge`]: a verification under way, sealed into its challenge id.
pub(crate) mod challenge;
pub(crate) mod health;
pub(crate) mod person;
pub(crate) mod provider;

pub(crate) use person::{assertion, phone_key, validate_name, PersonDetails, VerifiedPerson, Vouched};
pub(crate) use provider::{Method, ProviderConfig};
