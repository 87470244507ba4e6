//! Inbound bus events: `availability` keeps the read model in step with the
//! reservation service's bookings.
//!
//! Public for the integration tests, which clean up the queue by name.
pub mod availability;
