//! The rules file as written (TOML shapes, spans for line numbers) and the
//! value parsers shared by the checks: dates, Seoul instants, ids, and the
//! layout of the rotation days.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Deserialize;
use toml::Spanned;

use super::{Interval, Part, Rotation, ROTATION_DAYS};
use crate::domain::calendar::{fmt_seoul, from_seoul};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRules {
    pub(super) version: Spanned<String>,
    #[serde(default)]
    pub(super) timezone: Option<Spanned<String>>,
    pub(super) dose_interval: Spanned<RawInterval>,
    #[serde(default)]
    pub(super) cohort: Vec<Spanned<RawCohort>>,
    #[serde(default)]
    pub(super) window: Vec<Spanned<RawWindow>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInterval {
    pub(super) min_days: u32,
    /// Overrides by the number of the previous dose: `"2" = 150`.
    #[serde(default)]
    pub(super) after_dose: BTreeMap<String, u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCohort {
    pub(super) id: String,
    #[serde(default)]
    pub(super) description: String,
    pub(super) birth_from: Option<toml::Value>,
    pub(super) birth_to: Option<toml::Value>,
    pub(super) birth_year_from: Option<i32>,
    pub(super) birth_year_to: Option<i32>,
    pub(super) age_min: Option<u32>,
    pub(super) age_max: Option<u32>,
    pub(super) age_on: Option<toml::Value>,
    #[serde(default)]
    pub(super) priority_groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    pub(super) id: String,
    pub(super) cohort: String,
    pub(super) opens_at: toml::Value,
    pub(super) closes_at: toml::Value,
    pub(super) doses: Option<Vec<u32>>,
    pub(super) rotation: Option<RawRotation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRotation {
    pub(super) first_digit: Option<u8>,
    pub(super) daily_close: Option<String>,
    /// When the catch-up opens (default: ten days after the window opened).
    pub(super) catch_up_opens: Option<toml::Value>,
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

pub(super) fn column_of(text: &str, offset: usize) -> usize {
    let before = &text.as_bytes()[..offset.min(text.len())];
    before.iter().rev().take_while(|b| **b != b'\n').count() + 1
}

pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A date written as a TOML date or a "YYYY-MM-DD" string.
pub(super) fn date_value(v: &toml::Value) -> Result<NaiveDate, String> {
    let text = match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
        other => return Err(format!("{other} is not a date (YYYY-MM-DD)")),
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))
}

/// A Seoul local date-time written as a TOML local date-time or a string.
/// An explicit offset is accepted only if it is Seoul's (+09:00): a UTC
/// instant in a rules file is exactly the mistake that blocked people in 2021.
pub(super) fn seoul_instant(v: &toml::Value) -> Result<DateTime<Utc>, String> {
    let text = match v {
        toml::Value::String(s) => s.trim().to_owned(),
        toml::Value::Datetime(d) => d.to_string(),
        other => return Err(format!("{other} is not a date-time")),
    };
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(local) = NaiveDateTime::parse_from_str(&text, format) {
            return from_seoul(local).ok_or_else(|| format!("{text} is not a valid Asia/Seoul local time"));
        }
    }
    match DateTime::parse_from_rfc3339(&text.replace(' ', "T")) {
        Ok(t) if t.offset().local_minus_utc() == 9 * 3600 => Ok(t.with_timezone(&Utc)),
        Ok(_) => Err(format!("{text}: instants are Asia/Seoul local times; write them without an offset (or with +09:00)")),
        Err(_) => Err(format!("{text:?} is not a date-time (YYYY-MM-DDTHH:MM:SS, Asia/Seoul)")),
    }
}

/// Lays the rotation days out in Seoul local time: day `k` opens at the
/// window's opening local time `k` days later.
pub(super) fn rotation(raw: &RawRotation, opens_at: DateTime<Utc>, closes_at: DateTime<Utc>) -> Result<Rotation, String> {
    use chrono::Datelike as _;
    let local_open = opens_at.with_timezone(&chrono_tz::Asia::Seoul).naive_local();
    let first_digit = raw.first_digit.unwrap_or((local_open.day() % 10) as u8);
    if first_digit > 9 {
        return Err("first_digit must be 0-9".into());
    }
    let daily_close = match &raw.daily_close {
        None => None,
        Some(t) => Some(
            NaiveTime::parse_from_str(t, "%H:%M:%S")
                .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
                .map_err(|_| format!("daily_close {t:?} is not a time of day (HH:MM or HH:MM:SS)"))?,
        ),
    };
    let seoul = |t: NaiveDateTime| from_seoul(t).ok_or_else(|| format!("{t} is not a valid Asia/Seoul local time"));
    let mut days = Vec::with_capacity(ROTATION_DAYS as usize);
    for k in 0..ROTATION_DAYS {
        let open = local_open + Duration::days(i64::from(k));
        let close = match daily_close {
            None => open + Duration::days(1),
            Some(time) => {
                let same_day = open.date().and_time(time);
                if same_day > open {
                    same_day
                } else {
                    same_day + Duration::days(1)
                }
            }
        };
        days.push(Interval {
            opens_at: seoul(open)?,
            closes_at: seoul(close)?,
            part: Part::RotationDay { digit: ((u32::from(first_digit) + k) % 10) as u8 },
        });
    }
    let last = days.last().map_or(opens_at, |d| d.closes_at);
    if last > closes_at {
        return Err(format!("the ten rotation days run until {}, after closes_at {}", fmt_seoul(last), fmt_seoul(closes_at)));
    }
    let catch_up_opens = match &raw.catch_up_opens {
        None => seoul(local_open + Duration::days(i64::from(ROTATION_DAYS)))?,
        Some(v) => seoul_instant(v).map_err(|e| format!("catch_up_opens: {e}"))?,
    };
    if catch_up_opens < last {
        return Err(format!("catch_up_opens {} is before the last rotation day ends ({})", fmt_seoul(catch_up_opens), fmt_seoul(last)));
    }
    let catch_up = (catch_up_opens < closes_at).then_some(Interval { opens_at: catch_up_opens, closes_at, part: Part::CatchUp });
    Ok(Rotation { first_digit, daily_close, days, catch_up })
}
