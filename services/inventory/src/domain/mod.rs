//! Pure rules: what a valid query is, how pages are addressed, and how the
//! read model absorbs booking changes. No I/O here.
pub mod catalogue;
pub mod regions;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
use chrono::{DateTime, Days, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Asia::Seoul;
use uuid::Uuid;

use crate::error::InventoryError;

/// A range longer than this would make one search read too much.
pub const MAX_RANGE_DAYS: u64 = 31;

/// Where to search: a province (2 digits) or a district (5 digits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Region {
    Province(String),
    District(String),
}

pub fn region(code: &str) -> Result<Region, InventoryError> {
    let field = "region_code";
    if code.is_empty() {
        return Err(InventoryError::invalid(field, "is required"));
    }
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InventoryError::invalid(field, "must be a 2-digit province or 5-digit district code"));
    }
    match code.len() {
        2 => Ok(Region::Province(code.to_owned())),
        5 => Ok(Region::District(code.to_owned())),
        _ => Err(InventoryError::invalid(field, "must be a 2-digit province or 5-digit district code")),
    }
}

/// Vaccine codes are short lowercase identifiers such as "pfizer"; the format
/// is checked here, whether a clinic offers the code is the catalogue's answer.
pub fn vaccine_code(code: &str) -> Result<&str, InventoryError> {
    let field = "vaccine_code";
    if code.is_empty() {
        return Err(InventoryError::invalid(field, "is required"));
    }
    let ok = code.len() <= 32 && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(code)
    } else {
        Err(InventoryError::invalid(field, "must be 1 to 32 characters of [a-z0-9_-]"))
    }
}

/// An inclusive range of Seoul calendar days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

pub fn date_range(from: &str, to: &str) -> Result<DateRange, InventoryError> {
    let from = parse_date("from_date", from)?;
    let to = parse_date("to_date", to)?;
    if to < from {
        return Err(InventoryError::invalid("to_date", "must not be before from_date"));
    }
    if from.checked_add_days(Days::new(MAX_RANGE_DAYS)).is_some_and(|last| to > last) {
        return Err(InventoryError::invalid("to_date", format!("must be at most {MAX_RANGE_DAYS} days after from_date")));
    }
    Ok(DateRange { from, to })
}

fn parse_date(field: &'static str, value: &str) -> Result<NaiveDate, InventoryError> {
    if value.is_empty() {
        return Err(InventoryError::invalid(field, "is required"));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| InventoryError::invalid(field, "must be a date YYYY-MM-DD"))
}

impl DateRange {
    /// The instants `[from 00:00, to+1 00:00)` in Seoul, so slot queries use the
    /// `starts_at` index instead of a date function.
    pub fn instants(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let end = self.to.checked_add_days(Days::new(1)).unwrap_or(self.to);
        (seoul_midnight(self.from), seoul_midnight(end))
    }
}

/// Seoul has had no daylight saving since 1988, so every local time exists once.
pub fn seoul_midnight(day: NaiveDate) -> DateTime<Utc> {
    let local = day.and_time(chrono::NaiveTime::MIN);
    Seoul.from_local_datetime(&local).earliest().map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// Today's calendar day in Seoul.
pub fn today_seoul(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Seoul).date_naive()
}

/// Opaque to clients; it is the last clinic id of the previous page, so pages
/// stay stable (keyset pagination) whatever happens to earlier clinics.
pub fn encode_page_token(last_clinic: Uuid) -> String {
    B64.encode(last_clinic.as_bytes())
}

/// `None` for the first page.
pub fn decode_page_token(token: &str) -> Result<Option<Uuid>, InventoryError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bytes = B64.decode(token).map_err(|_| InventoryError::invalid("page_token", "is not a token from a previous response"))?;
    Uuid::from_slice(&bytes).map(Some).map_err(|_| InventoryError::invalid("page_token", "is not a token from a previous response"))
}

/// A slot's booked count is the exact sum of the booking events; it may
/// exceed the capacity after a size cut, or dip below zero while a cancel is
/// applied before its confirm. The places it takes are within `[0, capacity]`:
/// this is what the day summaries add up.
pub fn taken(booked: i32, capacity: i32) -> i32 {
    booked.clamp(0, capacity.max(0))
}

/// Places left as a protobuf count, within `[0, capacity]`.
pub fn remaining(capacity: i32, booked: i32) -> u32 {
    u32::try_from(capacity.max(0) - taken(booked, capacity)).unwrap_or(0)
}

#[cfg(test)]
mod tests;
