//! Outbound calls: none. Inventory calls no other service and no third
//! party: the catalogue is its own, and what it learns of bookings arrives as
//! reservation events (`consumers/`), never by asking the reservation
//! service. What it tells the reservation ledger (slot size changes) goes out
//! through the outbox (`events.rs`).
