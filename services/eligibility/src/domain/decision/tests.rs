use chrono::TimeZone as _;

use super::*;

const RULES: &str = r#"
version = "t"
[dose_interval]
min_days = 21
[[cohort]]
id = "c55"
birth_from = "1962-01-01"
birth_to = "1966-12-31"
[[window]]
id = "w"
cohort = "c55"
opens_at = "2021-07-12T20:00:00"
closes_at = "2021-07-17T18:00:00"
"#;

fn rules() -> Rules {
    Rules::parse(RULES).unwrap()
}

fn person(birth: (i32, u32, u32), doses: &[(i32, u32, u32)]) -> Person {
    Person {
        birth_date: NaiveDate::from_ymd_opt(birth.0, birth.1, birth.2).unwrap(),
        insured: true,
        doses: doses.iter().map(|d| NaiveDate::from_ymd_opt(d.0, d.1, d.2).unwrap()).collect(),
    }
}

/// Seoul local time as a UTC instant: the server's own zone never matters.
fn seoul(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Seoul.with_ymd_and_hms(y, m, d, h, mi, s).unwrap().with_timezone(&Utc)
}

#[test]
fn opening_second_boundary() {
    let p = person((1964, 1, 1), &[]);
    assert_eq!(decide(&rules(), Some(&p), 1, seoul(2021, 7, 12, 19, 59, 59)).eligible, Err(Reason::WindowNotOpen));
    assert_eq!(decide(&rules(), Some(&p), 1, seoul(2021, 7, 12, 20, 0, 0)).eligible, Ok(()));
    assert_eq!(decide(&rules(), Some(&p), 1, seoul(2021, 7, 17, 17, 59, 59)).eligible, Ok(()));
    assert_eq!(decide(&rules(), Some(&p), 1, seoul(2021, 7, 17, 18, 0, 0)).eligible, Err(Reason::WindowClosed));
}

#[test]
fn reasons() {
    let r = rules();
    let now = seoul(2021, 7, 13, 10, 0, 0);
    assert_eq!(decide(&r, None, 1, now).eligible, Err(Reason::UnknownPerson));
    assert_eq!(decide(&r, Some(&person((1990, 1, 1), &[])), 1, now).eligible, Err(Reason::NotInCohort));
    assert_eq!(decide(&r, Some(&Person { insured: false, ..person((1964, 1, 1), &[]) }), 1, now).eligible, Err(Reason::NotInsured));
    assert_eq!(decide(&r, Some(&person((1964, 1, 1), &[(2021, 6, 1)])), 1, now).eligible, Err(Reason::AlreadyVaccinated));
    assert_eq!(decide(&r, Some(&person((1964, 1, 1), &[])), 3, now).eligible, Err(Reason::TooEarlyForDose));
    let early = decide(&r, Some(&person((1964, 1, 1), &[(2021, 7, 1)])), 2, now);
    assert_eq!(early.eligible, Err(Reason::TooEarlyForDose));
    assert_eq!(early.earliest_date, NaiveDate::from_ymd_opt(2021, 7, 22));
    assert_eq!(decide(&r, Some(&person((1964, 1, 1), &[(2021, 6, 1)])), 2, now).eligible, Ok(()));
}

#[test]
fn dose_interval_uses_the_seoul_date() {
    let p = person((1964, 1, 1), &[(2021, 6, 22)]);
    // 2021-07-12 23:59:59 Seoul is 14:59:59 UTC (mid-afternoon): still the 12th.
    let mut r = rules();
    r.windows[0].opens_at = seoul(2021, 7, 1, 0, 0, 0);
    assert_eq!(decide(&r, Some(&p), 2, seoul(2021, 7, 12, 23, 59, 59)).eligible, Err(Reason::TooEarlyForDose));
    assert_eq!(decide(&r, Some(&p), 2, seoul(2021, 7, 13, 0, 0, 0)).eligible, Ok(()));
}
