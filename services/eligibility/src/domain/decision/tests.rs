use chrono::TimeZone as _;
use chrono_tz::Asia::Seoul;

use super::*;
use crate::domain::rules::Part;

fn rules(text: &str) -> Rules {
    Rules::parse(text).unwrap()
}

fn r55() -> Rules {
    rules(include_str!("../../../rules/2021-07-55-59.toml"))
}

fn r1849() -> Rules {
    rules(include_str!("../../../rules/2021-08-18-49.toml"))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn person(birth: NaiveDate, doses: &[NaiveDate]) -> Person {
    Person { birth_date: birth, insured: true, priority_groups: vec![], doses: doses.to_vec() }
}

/// Seoul local time as a UTC instant: the server's own zone never matters.
fn seoul(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Seoul.with_ymd_and_hms(y, m, d, h, mi, s).unwrap().with_timezone(&Utc)
}

fn check(rules: &Rules, p: &Person, dose: u32, now: DateTime<Utc>) -> Decision {
    decide(rules, Facts { asserted_birth: p.birth_date, person: Some(p), booked: None, dose }, now)
}

fn reason(rules: &Rules, p: &Person, dose: u32, now: DateTime<Utc>) -> Result<(), Reason> {
    check(rules, p, dose, now).eligible
}

#[test]
fn the_opening_second_and_the_closing_second() {
    let p = person(date(1964, 1, 1), &[]);
    let before = check(&r55(), &p, 1, seoul(2021, 7, 12, 19, 59, 59));
    assert_eq!(before.eligible, Err(Reason::WindowNotOpen));
    assert_eq!(before.window.as_ref().unwrap().interval.opens_at, seoul(2021, 7, 12, 20, 0, 0));
    assert!(before.detail.contains("2021-07-12 20:00:00 KST"), "{}", before.detail);
    assert_eq!(reason(&r55(), &p, 1, seoul(2021, 7, 12, 20, 0, 0)), Ok(()));
    assert_eq!(reason(&r55(), &p, 1, seoul(2021, 7, 17, 17, 59, 59)), Ok(()));
    let after = check(&r55(), &p, 1, seoul(2021, 7, 17, 18, 0, 0));
    assert_eq!((after.eligible, after.cohort_id.as_str()), (Err(Reason::WindowClosed), "age-55-59"));
}

#[test]
fn every_reason_of_the_rules_is_reachable() {
    let r = r55();
    let now = seoul(2021, 7, 13, 10, 0, 0);
    let ok = person(date(1964, 1, 1), &[]);
    let facts = |p: Option<&'static Person>| Facts { asserted_birth: date(1964, 1, 1), person: p, booked: None, dose: 1 };
    assert_eq!(decide(&r, facts(None), now).eligible, Err(Reason::UnknownPerson));
    assert_eq!(reason(&r, &person(date(1990, 1, 1), &[]), 1, now), Err(Reason::NotInCohort));
    assert_eq!(reason(&r, &Person { insured: false, ..ok.clone() }, 1, now), Err(Reason::NotInsured));
    assert_eq!(reason(&r, &person(date(1964, 1, 1), &[date(2021, 6, 1)]), 1, now), Err(Reason::AlreadyVaccinated));
    let booked = decide(&r, Facts { asserted_birth: ok.birth_date, person: Some(&ok), booked: Some("r-1"), dose: 1 }, now);
    assert_eq!(booked.eligible, Err(Reason::AlreadyBooked));
    assert!(booked.detail.contains("r-1"));
    assert_eq!(reason(&r, &ok, 1, seoul(2021, 7, 12, 19, 0, 0)), Err(Reason::WindowNotOpen));
    assert_eq!(reason(&r, &ok, 1, seoul(2021, 7, 18, 19, 0, 0)), Err(Reason::WindowClosed));
    assert_eq!(reason(&r, &ok, 1, now), Ok(()));

    // Dose 2 in a file whose window books every dose.
    let every = rules(&include_str!("../../../rules/2021-07-55-59.toml").replace("doses = [1]\n", ""));
    assert_eq!(reason(&every, &ok, 3, now), Err(Reason::TooEarlyForDose), "dose 1 first");
    let early = check(&every, &person(date(1964, 1, 1), &[date(2021, 7, 1)]), 2, now);
    assert_eq!((early.eligible, early.earliest_date), (Err(Reason::TooEarlyForDose), Some(date(2021, 7, 29))));
    let later = check(&every, &person(date(1964, 1, 1), &[date(2021, 6, 1)]), 2, now);
    assert_eq!((later.eligible, later.earliest_date), (Ok(()), Some(date(2021, 6, 29))));
    // The 55-59 window books first doses only.
    assert_eq!(reason(&r, &person(date(1964, 1, 1), &[date(2021, 6, 1)]), 2, now), Err(Reason::WindowNotOpen));
}

#[test]
fn midnight_in_seoul_while_utc_is_mid_afternoon() {
    // A rotation of whole Seoul days from 1 August 00:00.
    let text = include_str!("../../../rules/2021-07-55-59.toml")
        .replace("2021-07-12T20:00:00", "2021-08-01T00:00:00")
        .replace("2021-07-17T18:00:00", "2021-08-14T00:00:00")
        + "[window.rotation]\n";
    let r = rules(&text);
    let (ends_1, ends_2) = (person(date(1964, 5, 1), &[]), person(date(1964, 5, 2), &[]));
    let last_second = seoul(2021, 8, 1, 23, 59, 59);
    assert_eq!(last_second.to_rfc3339(), "2021-08-01T14:59:59+00:00", "UTC is mid-afternoon of the same date");
    assert_eq!(reason(&r, &ends_1, 1, last_second), Ok(()));
    assert_eq!(reason(&r, &ends_2, 1, last_second), Err(Reason::WindowNotOpen));
    let midnight = last_second + Duration::seconds(1);
    let d1 = check(&r, &ends_1, 1, midnight);
    assert_eq!(d1.eligible, Err(Reason::WindowNotOpen), "digit 1's day is over; its catch-up comes after the rotation");
    assert_eq!(d1.window.unwrap().interval.part, Part::CatchUp);
    assert_eq!(reason(&r, &ends_2, 1, midnight), Ok(()));
}

#[test]
fn dose_interval_uses_the_seoul_date() {
    let every = rules(&include_str!("../../../rules/2021-07-55-59.toml").replace("doses = [1]\n", "").replace("2021-07-12", "2021-07-01"));
    let p = person(date(1964, 1, 1), &[date(2021, 6, 14)]);
    // 2021-07-11 23:59:59 Seoul is 14:59:59 UTC: still the 11th, one day short of 28.
    assert_eq!(reason(&every, &p, 2, seoul(2021, 7, 11, 23, 59, 59)), Err(Reason::TooEarlyForDose));
    assert_eq!(reason(&every, &p, 2, seoul(2021, 7, 12, 0, 0, 0)), Ok(()));
}

#[test]
fn the_ten_day_rotation_and_its_last_day() {
    let r = r1849();
    let nine = person(date(1990, 3, 19), &[]);
    let zero = person(date(1990, 3, 20), &[]);
    assert_eq!(reason(&r, &nine, 1, seoul(2021, 8, 9, 19, 59, 59)), Err(Reason::WindowNotOpen));
    let open = check(&r, &nine, 1, seoul(2021, 8, 9, 20, 0, 0));
    assert_eq!(open.eligible, Ok(()));
    let window = open.window.unwrap();
    assert_eq!((window.id.as_str(), window.interval.closes_at), ("round-18-49", seoul(2021, 8, 10, 18, 0, 0)));
    // Not their day: told when theirs opens.
    let wait = check(&r, &zero, 1, seoul(2021, 8, 9, 21, 0, 0));
    assert_eq!(wait.eligible, Err(Reason::WindowNotOpen));
    assert_eq!(wait.window.unwrap().interval.opens_at, seoul(2021, 8, 10, 20, 0, 0));
    assert_eq!(reason(&r, &nine, 1, seoul(2021, 8, 10, 17, 59, 59)), Ok(()));
    // After their day: the next chance is the 18-35 evening of 20 August.
    let missed = check(&r, &nine, 1, seoul(2021, 8, 10, 18, 0, 0));
    assert_eq!((missed.eligible, missed.window.unwrap().id.as_str()), (Err(Reason::WindowNotOpen), "missed-18-35"));

    // The last day of the rotation: digit 8, 18 August 20:00 -> 19 August 18:00.
    let eight_old = person(date(1980, 1, 28), &[]);
    let eight_young = person(date(1995, 1, 8), &[]);
    assert_eq!(reason(&r, &eight_old, 1, seoul(2021, 8, 18, 19, 59, 59)), Err(Reason::WindowNotOpen));
    assert_eq!(reason(&r, &eight_old, 1, seoul(2021, 8, 19, 17, 59, 59)), Ok(()));
    assert_eq!(reason(&r, &eight_old, 1, seoul(2021, 8, 19, 18, 0, 0)), Err(Reason::WindowNotOpen));
    let catch_up_36_49 = check(&r, &eight_old, 1, seoul(2021, 8, 19, 20, 0, 0));
    assert_eq!((catch_up_36_49.eligible, catch_up_36_49.cohort_id.as_str()), (Ok(()), "age-36-49"));
    assert_eq!(reason(&r, &eight_young, 1, seoul(2021, 8, 19, 20, 0, 0)), Err(Reason::WindowNotOpen));
    assert_eq!(reason(&r, &eight_young, 1, seoul(2021, 8, 20, 20, 0, 0)), Ok(()));
    // Everyone in the catch-up, whatever the digit, until 18 September 18:00.
    let catch_up = check(&r, &zero, 1, seoul(2021, 9, 1, 12, 0, 0));
    assert_eq!((catch_up.eligible, catch_up.window.unwrap().interval.part), (Ok(()), Part::CatchUp));
    assert_eq!(reason(&r, &zero, 1, seoul(2021, 9, 18, 18, 0, 0)), Err(Reason::WindowClosed));
}

#[test]
fn leap_day_birth_dates() {
    let r = r1849();
    // Born 29 February: the rotation digit is 9, so 9 August.
    let leap = person(date(1996, 2, 29), &[]);
    assert_eq!(reason(&r, &leap, 1, seoul(2021, 8, 9, 20, 0, 0)), Ok(()));
    assert_eq!(reason(&r, &leap, 1, seoul(2021, 8, 10, 20, 0, 0)), Err(Reason::WindowNotOpen));
    // Age on a reference date in a common year: 29 Feb 1972 is 49 only from
    // 1 March 2021, so a cohort "aged 49 on 28 Feb 2021" leaves them out.
    let text = include_str!("../../../rules/2021-07-55-59.toml")
        .replace("birth_year_from = 1962\nbirth_year_to = 1966", "age_min = 49\nage_max = 49\nage_on = 2021-02-28");
    let on_28 = rules(&text);
    let born = person(date(1972, 2, 29), &[]);
    assert_eq!(reason(&on_28, &born, 1, seoul(2021, 7, 13, 10, 0, 0)), Err(Reason::NotInCohort));
    let on_1 = rules(&text.replace("2021-02-28", "2021-03-01"));
    assert_eq!(reason(&on_1, &born, 1, seoul(2021, 7, 13, 10, 0, 0)), Ok(()));
}

#[test]
fn priority_groups_need_the_registry_but_birth_cohorts_do_not() {
    let r = r1849();
    let evening = seoul(2021, 8, 5, 21, 0, 0);
    let teacher = Person { priority_groups: vec!["education".into()], ..person(date(1990, 3, 20), &[]) };
    let other = person(date(1990, 3, 20), &[]);
    // During the priority evening the birth date alone cannot decide.
    assert_eq!(precheck(&r, other.birth_date, 1, evening), None);
    let t = check(&r, &teacher, 1, evening);
    assert_eq!((t.eligible, t.cohort_id.as_str()), (Ok(()), "priority-18-49"));
    let o = check(&r, &other, 1, evening);
    assert_eq!((o.eligible, o.window.unwrap().interval.opens_at), (Err(Reason::WindowNotOpen), seoul(2021, 8, 10, 20, 0, 0)));
    // During the rotation, someone whose day it is not is refused without the
    // registry, although a (closed) priority cohort also covers their birth date.
    let cheap = precheck(&r, other.birth_date, 1, seoul(2021, 8, 9, 21, 0, 0)).expect("decided from the birth date");
    assert_eq!(cheap.eligible, Err(Reason::WindowNotOpen));
    // Outside every cohort: refused at once.
    assert_eq!(precheck(&r, date(1960, 1, 1), 1, evening).map(|d| d.eligible), Some(Err(Reason::NotInCohort)));
    assert_eq!(precheck(&r, date(1960, 1, 1), 1, evening).map(|d| d.eligible), Some(Err(Reason::NotInCohort)));
    // Before the priority evening: the teacher hears of the earliest opening.
    let early = check(&r, &teacher, 1, seoul(2021, 8, 1, 12, 0, 0));
    assert_eq!(early.window.unwrap().id, "priority-evening");
}

#[test]
fn the_cheap_answer_is_the_full_answer() {
    // For every birth date of a sample and many instants, whenever the
    // pre-check decides, the full decision (with any registry record) agrees.
    let r = r1849();
    let start = seoul(2021, 8, 1, 0, 0, 0);
    for hour in (0..24 * 50).step_by(7) {
        let now = start + Duration::hours(hour);
        for day in (0..20_000).step_by(613) {
            let birth = date(1960, 1, 1) + Duration::days(day);
            let Some(cheap) = precheck(&r, birth, 1, now) else { continue };
            for groups in [vec![], vec!["education".to_owned()]] {
                let p = Person { priority_groups: groups, ..person(birth, &[]) };
                assert_eq!(check(&r, &p, 1, now), cheap, "born {birth} at {now}");
            }
        }
    }
}

#[test]
fn explain_tells_why() {
    let r = r1849();
    let p = person(date(1990, 3, 19), &[]);
    let lines = explain(&r, Facts { asserted_birth: p.birth_date, person: Some(&p), booked: None, dose: 1 }, seoul(2021, 8, 9, 20, 30, 0));
    let text = lines.join("\n");
    assert!(text.contains("rotation digit 9"), "{text}");
    assert!(text.contains("cohort age-18-49 (born 1972-01-01 to 2003-12-31): member"), "{text}");
    assert!(text.contains("cohort priority-18-49") && text.contains("not a member (priority group)"), "{text}");
    assert!(text.contains("rotation day of digit 9: 2021-08-09 20:00:00 KST to 2021-08-10 18:00:00 KST: OPEN now"), "{text}");
    assert!(lines.last().unwrap().starts_with("decision for dose 1: ELIGIBLE"), "{text}");
}
