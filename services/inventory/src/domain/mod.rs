//! Pure rules and value types: what a valid query is, how pages are
//! addressed, how the read model absorbs booking changes, and the demo
//! catalogue plan. No I/O here: the time is always a parameter.
pub mod catalogue;
mod query;
pub(crate) mod regions;
mod settings;
pub(crate) mod supply;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Asia::Seoul;
use uuid::Uuid;

pub(crate) use query::{
    date_range, decode_page_token, encode_page_token, region, vaccine_code, AvailabilityQuery, DateRange, Region, SearchQuery,
};
pub use query::{Input, Invalid};
pub use settings::CacheSettings;

/// Seoul has had no daylight saving since 1988, so every local time exists once.
pub(crate) fn seoul_midnight(day: NaiveDate) -> DateTime<Utc> {
    let local = day.and_time(chrono::NaiveTime::MIN);
    Seoul.from_local_datetime(&local).earliest().map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// Today's calendar day in Seoul.
pub fn today_seoul(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Seoul).date_naive()
}

/// One reservation event as the read model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BookingChange {
    pub(crate) event_id: Uuid,
    /// Booked-count change per slot, in slot-id order.
    pub(crate) deltas: BTreeMap<Uuid, i32>,
}

/// A slot's booked count is the exact sum of the booking events; it may
/// exceed the capacity after a size cut, or dip below zero while a cancel is
/// applied before its confirm. The places it takes are within `[0, capacity]`:
/// this is what the day summaries add up.
pub(crate) fn taken(booked: i32, capacity: i32) -> i32 {
    booked.clamp(0, capacity.max(0))
}

/// Places left as a protobuf count, within `[0, capacity]`.
pub(crate) fn remaining(capacity: i32, booked: i32) -> u32 {
    u32::try_from(capacity.max(0) - taken(booked, capacity)).unwrap_or(0)
}

#[cfg(test)]
mod tests;
