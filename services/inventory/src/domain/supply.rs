//! What a supply change is: the scope of a clinic's slots an operator closes
//! or re-vaccinates (a Seoul day, or a range of Seoul local times), how far
//! the reservation service may move their bookings, and the ids of the slots
//! that replace them. Pure: the time is never read here.
use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Asia::Seoul;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::{query::MAX_RANGE_DAYS, seoul_midnight, Input, Invalid};

/// How far a booking may move when the operator does not say: a week either
/// way keeps it in the same stretch of the person's calendar.
pub(crate) const DEFAULT_MOVE_DAYS: u32 = 7;
/// Beyond four weeks a "move" is a different appointment.
pub(crate) const MAX_MOVE_DAYS: u32 = 28;
/// Candidate slots answered at most: enough for a district's slots of a
/// month, small enough for one gRPC message (~1.5 MB).
pub(crate) const MAX_CANDIDATES: u32 = 10_000;

/// A clinic's slots starting in `[from, to)`, optionally of one vaccine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Scope {
    pub(crate) clinic_id: Uuid,
    pub(crate) from: DateTime<Utc>,
    pub(crate) to: DateTime<Utc>,
    pub(crate) vaccine: Option<String>,
}

fn invalid(input: Input, reason: impl Into<String>) -> Invalid {
    Invalid { input, reason: reason.into() }
}

/// A day (`date`), or a range of local times (`from`, `to`): exactly one of
/// the two forms. `vaccine` empty means every vaccine.
pub(crate) fn scope(clinic_id: Uuid, date: &str, from: &str, to: &str, vaccine: &str) -> Result<Scope, Invalid> {
    let vaccine = match vaccine {
        "" => None,
        code => Some(super::vaccine_code(code)?.to_owned()),
    };
    let (from, to) = match (date, from, to) {
        (date, "", "") if !date.is_empty() => {
            let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| invalid(Input::Date, "must be a date YYYY-MM-DD"))?;
            let next = day.checked_add_days(Days::new(1)).ok_or_else(|| invalid(Input::Date, "is out of range"))?;
            (seoul_midnight(day), seoul_midnight(next))
        }
        ("", "", _) => return Err(invalid(Input::FromTime, "is required (or give a date)")),
        ("", _, "") => return Err(invalid(Input::ToTime, "is required with from_local_time")),
        ("", from, to) => {
            let (from, to) = (local_time(Input::FromTime, from)?, local_time(Input::ToTime, to)?);
            if to <= from {
                return Err(invalid(Input::ToTime, "must be after from_local_time"));
            }
            if to - from > chrono::Duration::days(MAX_RANGE_DAYS as i64) {
                return Err(invalid(Input::ToTime, format!("must be at most {MAX_RANGE_DAYS} days after from_local_time")));
            }
            (from, to)
        }
        _ => return Err(invalid(Input::Date, "give a date or a from/to range, not both")),
    };
    Ok(Scope { clinic_id, from, to, vaccine })
}

/// "YYYY-MM-DDTHH:MM" in Asia/Seoul (which has had no daylight saving since
/// 1988, so every local time exists once).
fn local_time(input: Input, value: &str) -> Result<DateTime<Utc>, Invalid> {
    let local = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .map_err(|_| invalid(input, "must be a local time YYYY-MM-DDTHH:MM (Asia/Seoul)"))?;
    Seoul.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc)).ok_or_else(|| invalid(input, "does not exist in Seoul"))
}

/// `0` means the default; otherwise 1 to [`MAX_MOVE_DAYS`].
pub(crate) fn move_days(days: u32) -> Result<u32, Invalid> {
    match days {
        0 => Ok(DEFAULT_MOVE_DAYS),
        1..=MAX_MOVE_DAYS => Ok(days),
        _ => Err(invalid(Input::MoveDays, format!("must be 1 to {MAX_MOVE_DAYS} days (0: {DEFAULT_MOVE_DAYS})"))),
    }
}

/// The id of the slot that replaces `old` with `vaccine`: it starts with the
/// clinic id's first 8 bytes, as every slot id does (a clinic's slots are
/// neighbours in the primary-key index), and is the same however often it
/// is computed.
pub(crate) fn replacement_slot_id(clinic_id: Uuid, old: Uuid, vaccine: &str) -> Uuid {
    let digest = Sha256::digest(format!("replacement:{old}:{vaccine}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&clinic_id.as_bytes()[..8]);
    bytes[8..].copy_from_slice(&digest[..8]);
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clinic() -> Uuid {
        Uuid::from_u128(0xabcd_0000_0000_0000_1111_2222_3333_4444)
    }

    #[test]
    fn a_day_is_its_seoul_midnights() {
        let s = scope(clinic(), "2026-12-05", "", "", "").unwrap();
        assert_eq!(s.from.to_rfc3339(), "2026-12-04T15:00:00+00:00");
        assert_eq!(s.to.to_rfc3339(), "2026-12-05T15:00:00+00:00");
        assert_eq!(s.vaccine, None);
    }

    #[test]
    fn a_range_of_local_times() {
        let s = scope(clinic(), "", "2026-12-05T10:00", "2026-12-05T12:30", "pfizer").unwrap();
        assert_eq!(s.from.to_rfc3339(), "2026-12-05T01:00:00+00:00");
        assert_eq!(s.to.to_rfc3339(), "2026-12-05T03:30:00+00:00");
        assert_eq!(s.vaccine.as_deref(), Some("pfizer"));
    }

    #[test]
    fn bad_scopes_name_their_input() {
        let input = |r: Result<Scope, Invalid>| r.unwrap_err().input;
        assert_eq!(input(scope(clinic(), "05/12/2026", "", "", "")), Input::Date);
        assert_eq!(input(scope(clinic(), "", "", "", "")), Input::FromTime);
        assert_eq!(input(scope(clinic(), "", "2026-12-05T10:00", "", "")), Input::ToTime);
        assert_eq!(input(scope(clinic(), "", "2026-12-05 10:00", "2026-12-05T11:00", "")), Input::FromTime);
        assert_eq!(input(scope(clinic(), "", "2026-12-05T10:00", "2026-12-05T10:00", "")), Input::ToTime);
        assert_eq!(input(scope(clinic(), "", "2026-12-05T10:00", "2027-02-05T10:00", "")), Input::ToTime);
        assert_eq!(input(scope(clinic(), "2026-12-05", "2026-12-05T10:00", "2026-12-05T11:00", "")), Input::Date);
        assert_eq!(input(scope(clinic(), "2026-12-05", "", "", "Pfizer!")), Input::Vaccine);
    }

    #[test]
    fn move_days_default_and_bounds() {
        assert_eq!(move_days(0), Ok(DEFAULT_MOVE_DAYS));
        assert_eq!(move_days(1), Ok(1));
        assert_eq!(move_days(MAX_MOVE_DAYS), Ok(MAX_MOVE_DAYS));
        assert_eq!(move_days(MAX_MOVE_DAYS + 1).unwrap_err().input, Input::MoveDays);
    }

    #[test]
    fn replacement_ids_are_stable_and_stay_with_the_clinic() {
        let old = Uuid::from_u128(7);
        let a = replacement_slot_id(clinic(), old, "moderna");
        assert_eq!(a, replacement_slot_id(clinic(), old, "moderna"));
        assert_ne!(a, replacement_slot_id(clinic(), old, "az"));
        assert_eq!(a.as_bytes()[..8], clinic().as_bytes()[..8]);
    }
}
