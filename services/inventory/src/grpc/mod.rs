//! RPC handlers: `inventory` is the public search API (behind the waiting
//! room; calls [`Search`](crate::app::Search)), `catalog` the internal slot
//! lookup used by the reservation service (calls
//! [`Catalogue`](crate::app::Catalogue)). `status` maps the use-case error to
//! a gRPC status, once.
pub(crate) mod catalog;
pub(crate) mod inventory;
mod status;
