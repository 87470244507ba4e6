//! Inbound bus events: reservation events, each the cause of at most one SMS.
pub mod reservations;
