//! What a valid query is: region codes, vaccine codes, Seoul date ranges and
//! the page tokens of keyset pagination. A rejection names the input it
//! concerns ([`Input`]); the handler names the request field.
use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
use chrono::{DateTime, Days, NaiveDate, Utc};
use uuid::Uuid;

use super::seoul_midnight;

/// A range longer than this would make one search read too much.
pub(crate) const MAX_RANGE_DAYS: u64 = 31;

/// The input a rule rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    Region,
    Vaccine,
    FromDate,
    ToDate,
    PageToken,
    /// A supply change's day.
    Date,
    /// A supply change's first local start time.
    FromTime,
    /// A supply change's end local time.
    ToTime,
    /// How far a supply change may move a booking.
    MoveDays,
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Region => "region",
            Self::Vaccine => "vaccine",
            Self::FromDate => "first date",
            Self::ToDate => "last date",
            Self::PageToken => "page token",
            Self::Date => "date",
            Self::FromTime => "first local time",
            Self::ToTime => "last local time",
            Self::MoveDays => "days a booking may move",
        })
    }
}

/// A query input that breaks a rule, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{input}: {reason}")]
pub struct Invalid {
    pub input: Input,
    pub reason: String,
}

fn invalid(input: Input, reason: impl Into<String>) -> Invalid {
    Invalid { input, reason: reason.into() }
}

/// Where to search: a province (2 digits) or a district (5 digits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Region {
    Province(String),
    District(String),
}

impl Region {
    pub(crate) fn code(&self) -> &str {
        match self {
            Region::Province(code) | Region::District(code) => code,
        }
    }
}

pub(crate) fn region(code: &str) -> Result<Region, Invalid> {
    if code.is_empty() {
        return Err(invalid(Input::Region, "is required"));
    }
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(Input::Region, "must be a 2-digit province or 5-digit district code"));
    }
    match code.len() {
        2 => Ok(Region::Province(code.to_owned())),
        5 => Ok(Region::District(code.to_owned())),
        _ => Err(invalid(Input::Region, "must be a 2-digit province or 5-digit district code")),
    }
}

/// Vaccine codes are short lowercase identifiers such as "pfizer"; the format
/// is checked here, whether a clinic offers the code is the catalogue's answer.
pub(crate) fn vaccine_code(code: &str) -> Result<&str, Invalid> {
    if code.is_empty() {
        return Err(invalid(Input::Vaccine, "is required"));
    }
    let ok = code.len() <= 32 && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(code)
    } else {
        Err(invalid(Input::Vaccine, "must be 1 to 32 characters of [a-z0-9_-]"))
    }
}

/// An inclusive range of Seoul calendar days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DateRange {
    pub(crate) from: NaiveDate,
    pub(crate) to: NaiveDate,
}

pub(crate) fn date_range(from: &str, to: &str) -> Result<DateRange, Invalid> {
    let from = parse_date(Input::FromDate, from)?;
    let to = parse_date(Input::ToDate, to)?;
    if to < from {
        return Err(invalid(Input::ToDate, "must not be before from_date"));
    }
    if from.checked_add_days(Days::new(MAX_RANGE_DAYS)).is_some_and(|last| to > last) {
        return Err(invalid(Input::ToDate, format!("must be at most {MAX_RANGE_DAYS} days after from_date")));
    }
    Ok(DateRange { from, to })
}

fn parse_date(input: Input, value: &str) -> Result<NaiveDate, Invalid> {
    if value.is_empty() {
        return Err(invalid(input, "is required"));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| invalid(input, "must be a date YYYY-MM-DD"))
}

impl DateRange {
    /// The instants `[from 00:00, to+1 00:00)` in Seoul, so slot queries use the
    /// `starts_at` index instead of a date function.
    pub(crate) fn instants(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let end = self.to.checked_add_days(Days::new(1)).unwrap_or(self.to);
        (seoul_midnight(self.from), seoul_midnight(end))
    }
}

/// Opaque to clients; it is the last clinic id of the previous page, so pages
/// stay stable (keyset pagination) whatever happens to earlier clinics.
pub(crate) fn encode_page_token(last_clinic: Uuid) -> String {
    B64.encode(last_clinic.as_bytes())
}

/// `None` for the first page.
pub(crate) fn decode_page_token(token: &str) -> Result<Option<Uuid>, Invalid> {
    if token.is_empty() {
        return Ok(None);
    }
    let foreign = || invalid(Input::PageToken, "is not a token from a previous response");
    let bytes = B64.decode(token).map_err(|_| foreign())?;
    Uuid::from_slice(&bytes).map(Some).map_err(|_| foreign())
}

/// A SearchClinics query whose every part passed the rules above.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SearchQuery {
    pub(crate) region: Region,
    pub(crate) vaccine: String,
    pub(crate) range: DateRange,
    pub(crate) page_size: u32,
    /// The last clinic of the previous page; `None` for the first page.
    pub(crate) after: Option<Uuid>,
}

/// A GetAvailability query: one clinic's slots for one vaccine over a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AvailabilityQuery {
    pub(crate) clinic_id: Uuid,
    pub(crate) vaccine: String,
    pub(crate) range: DateRange,
}
