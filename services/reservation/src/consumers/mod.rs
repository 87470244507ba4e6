//! Inbound bus events: `slot_sizes`, the catalogue's slot size changes,
//! applied to the capacity ledger.
pub mod slot_sizes;
