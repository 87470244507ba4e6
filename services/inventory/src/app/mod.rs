//! The use cases, called by the handlers and the consumer; nothing here
//! knows the transport.
//!
//! - [`Search`]: the public reads (ListRegions, SearchClinics,
//!   GetAvailability), through the Redis cache;
//! - [`Catalogue`]: the catalogue itself: the internal slot lookup, slot size
//!   changes (operators) and booking changes (reservation events), each
//!   invalidating the cached answers it affects; the operators' supply
//!   changes (`supply`) and the reads the reservation service moves bookings
//!   with (`candidates`).
//!
//! Both answer in the protobuf shapes of the responses: the cache stores
//! those encoded, so a hit is returned as it was stored.
mod answers;
mod candidates;
mod catalogue;
mod search;
mod supply;

pub use catalogue::Catalogue;
pub(crate) use search::Search;
pub(crate) use supply::SupplyRequest;
