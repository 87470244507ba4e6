//! Inbound bus events: none. Identity consumes no event: a verification is
//! asked for synchronously by the person's front end (`grpc/`), and nothing
//! another service publishes changes a challenge, a limit or a provider's
//! health. Nor does it publish any (there is no `events.rs`): the assertion
//! it signs travels with the person, not on the bus.
