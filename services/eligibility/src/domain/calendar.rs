//! Calendar arithmetic, always in Asia/Seoul: ages on a reference date, the
//! rotation digit of a birth date, and Seoul local time <-> UTC instants.
//! Nothing here reads the server's time zone.
use chrono::{DateTime, Datelike as _, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Asia::Seoul;

/// The Seoul calendar day of an instant.
pub fn seoul_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Seoul).date_naive()
}

/// A Seoul local time as a UTC instant; `None` for a local time that does not
/// exist or is ambiguous (Seoul last observed daylight saving time in 1988).
pub fn from_seoul(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    Seoul.from_local_datetime(&local).single().map(|t| t.with_timezone(&Utc))
}

/// "2021-08-09 20:00:00 KST": how instants are shown to people.
pub fn fmt_seoul(t: DateTime<Utc>) -> String {
    t.with_timezone(&Seoul).format("%Y-%m-%d %H:%M:%S KST").to_string()
}

/// The digit of the 10-day rotation: the last digit of the day of the month
/// of birth (the 2021 rule: born on the 3rd, 13th or 23rd books on the day
/// ending in 3). Born on 29 February gives 9, in every year.
pub fn rotation_digit(birth: NaiveDate) -> u8 {
    (birth.day() % 10) as u8
}

/// The day in `year` on which someone born on `birth` turns a year older.
/// Someone born on 29 February does so on 1 March in a common year: the year
/// of age is complete at the end of 28 February (Korean Civil Act, arts. 158
/// and 160(3): the birth day counts, and a period ending in a month without
/// the corresponding day ends on that month's last day).
pub fn birthday_in(birth: NaiveDate, year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, birth.month(), birth.day()).or_else(|| NaiveDate::from_ymd_opt(year, 3, 1)).unwrap_or(NaiveDate::MAX)
}

/// Age in completed years (만 나이) on `on`; negative before birth.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let years = on.year() - birth.year();
    if on < birthday_in(birth, on.year()) {
        years - 1
    } else {
        years
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn ages_count_completed_years() {
        assert_eq!(age_on(d(1966, 7, 12), d(2021, 7, 11)), 54);
        assert_eq!(age_on(d(1966, 7, 12), d(2021, 7, 12)), 55);
        assert_eq!(age_on(d(2021, 7, 12), d(2021, 7, 11)), -1);
        assert_eq!(age_on(d(1962, 1, 1), d(2021, 12, 31)), 59);
    }

    #[test]
    fn leap_day_birthdays() {
        let leap = d(2000, 2, 29);
        // Common year: a year older on 1 March, not on 28 February.
        assert_eq!(age_on(leap, d(2021, 2, 28)), 20);
        assert_eq!(age_on(leap, d(2021, 3, 1)), 21);
        // Leap year: on the day itself.
        assert_eq!(age_on(leap, d(2024, 2, 28)), 23);
        assert_eq!(age_on(leap, d(2024, 2, 29)), 24);
        assert_eq!(birthday_in(leap, 2100), d(2100, 3, 1), "2100 is not a leap year");
        assert_eq!(rotation_digit(leap), 9);
        assert_eq!(rotation_digit(d(1990, 3, 10)), 0);
        assert_eq!(rotation_digit(d(1990, 3, 31)), 1);
    }

    #[test]
    fn seoul_is_nine_hours_ahead_whatever_the_server_zone() {
        let local = d(2021, 8, 9).and_hms_opt(23, 59, 59).unwrap();
        let t = from_seoul(local).unwrap();
        assert_eq!(t.to_rfc3339(), "2021-08-09T14:59:59+00:00");
        assert_eq!(seoul_date(t), d(2021, 8, 9));
        assert_eq!(seoul_date(t + chrono::Duration::seconds(1)), d(2021, 8, 10));
        assert_eq!(fmt_seoul(t), "2021-08-09 23:59:59 KST");
    }
}
