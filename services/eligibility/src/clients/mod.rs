//! Outbound calls: the national insurance registry, another agency's
//! system reached only through its HTTP API, with a deadline on every call.
//! Public for the integration tests and the benchmark, which drive the
//! client (and its batcher) against the mock registry directly.
pub mod registry;
