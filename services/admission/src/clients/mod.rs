//! Outbound calls: none. Admission calls no other service and no third
//! party: it only signs tickets and passes (verified offline by everyone
//! else) and keeps its state in Redis (`store/`). The only thing it hears
//! from other services comes in on the bus (`consumers/`).
