//! RPC handlers: `inventory` is the public search API (behind the waiting
//! room; calls [`Search`](crate::app::Search)), `catalog` the internal slot
//! lookup used by the reservation service and `supply` its internal reads of
//! supply changes (both call [`Catalogue`](crate::app::Catalogue)),
//! `operator` the operators' API (bearer token: supply changes and slot
//! sizes). `status` maps the use-case error to a gRPC status, once.
pub(crate) mod catalog;
pub(crate) mod inventory;
pub(crate) mod operator;
mod status;
pub(crate) mod supply;
