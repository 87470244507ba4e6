//! Inbound bus events: `slot_sizes`, the catalogue's slot size changes,
//! applied to the capacity ledger; `supply_changes`, slots an operator
//! closed, whose bookings a job moves.
pub mod slot_sizes;
pub mod supply_changes;
