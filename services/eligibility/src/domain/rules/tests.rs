use chrono::TimeZone as _;
use chrono_tz::Asia::Seoul;

use super::*;

const GOOD: &str = r#"version = "t"
[dose_interval]
min_days = 21
[[cohort]]
id = "c55"
birth_year_from = 1962
birth_year_to = 1966
[[window]]
id = "w"
cohort = "c55"
opens_at = "2021-07-12T20:00:00"
closes_at = "2021-07-17T18:00:00"
"#;

fn seoul(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Seoul.with_ymd_and_hms(y, m, d, h, mi, s).unwrap().with_timezone(&Utc)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn issues(text: &str) -> Vec<Issue> {
    Rules::parse(text).unwrap_err().issues()
}

#[test]
fn seoul_local_times_become_utc() {
    let r = Rules::parse(GOOD).unwrap();
    assert_eq!(r.windows[0].opens_at.to_rfc3339(), "2021-07-12T11:00:00+00:00");
    assert_eq!(r.windows[0].line, 8);
    assert_eq!(r.cohorts[0].line, 4);
    // TOML date-times, an explicit +09:00, and minutes-only all mean the same instant.
    for written in ["2021-07-12T20:00:00", "2021-07-12 20:00", "2021-07-12T20:00:00+09:00"] {
        let r = Rules::parse(&GOOD.replace("\"2021-07-12T20:00:00\"", &format!("\"{written}\""))).unwrap();
        assert_eq!(r.windows[0].opens_at, seoul(2021, 7, 12, 20, 0, 0), "{written}");
    }
    let bare = Rules::parse(&GOOD.replace("\"2021-07-12T20:00:00\"", "2021-07-12T20:00:00")).unwrap();
    assert_eq!(bare.windows[0].opens_at, seoul(2021, 7, 12, 20, 0, 0));
}

#[test]
fn the_shipped_rule_files_load() {
    for (name, text) in [
        ("demo", include_str!("../../../rules/demo.toml")),
        ("55-59", include_str!("../../../rules/2021-07-55-59.toml")),
        ("50-54", include_str!("../../../rules/2021-07-50-54.toml")),
        ("18-49", include_str!("../../../rules/2021-08-18-49.toml")),
    ] {
        let rules = Rules::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!rules.cohorts.is_empty() && !rules.windows.is_empty(), "{name}");
    }
}

#[test]
fn cohorts_by_years_dates_and_age_on_a_reference_date() {
    let r = Rules::parse(include_str!("../../../rules/2021-07-50-54.toml")).unwrap();
    let c5052 = r.cohort("age-50-52").unwrap();
    assert_eq!(c5052.birth, Some(BirthCriterion::Age { min: 50, max: 52, on: date(2021, 12, 31) }));
    assert!(c5052.admits_birth(date(1969, 1, 1)) && c5052.admits_birth(date(1971, 12, 31)));
    assert!(!c5052.admits_birth(date(1968, 12, 31)) && !c5052.admits_birth(date(1972, 1, 1)));
    let c5354 = r.cohort("age-53-54").unwrap();
    assert!(c5354.admits_birth(date(1967, 1, 1)) && c5354.admits_birth(date(1968, 12, 31)) && !c5354.admits_birth(date(1969, 1, 1)));

    // Age on a date that is not a year end, with a leap-day birth: 29 Feb 1972
    // turns 49 on 1 March 2021 (a common year), not on 28 February.
    let age = GOOD.replace("birth_year_from = 1962\nbirth_year_to = 1966", "age_min = 49\nage_max = 49\nage_on = \"2021-02-28\"");
    let leap = date(1972, 2, 29);
    assert!(!Rules::parse(&age).unwrap().cohorts[0].admits_birth(leap), "still 48 on 28 Feb 2021");
    let age = age.replace("2021-02-28", "2021-03-01");
    assert!(Rules::parse(&age).unwrap().cohorts[0].admits_birth(leap), "49 from 1 Mar 2021");
    let age = age.replace("2021-03-01", "2020-02-29").replace("49", "48");
    assert!(Rules::parse(&age).unwrap().cohorts[0].admits_birth(leap), "48 on 29 Feb 2020 (a leap year)");
}

#[test]
fn the_rotation_of_august_2021() {
    let r = Rules::parse(include_str!("../../../rules/2021-08-18-49.toml")).unwrap();
    let w = r.windows.iter().find(|w| w.id == "round-18-49").unwrap();
    let rotation = w.rotation.as_ref().unwrap();
    // 9 August 20:00 -> 10 August 18:00 for birth dates ending in 9.
    assert_eq!(
        *rotation.day_of(9).unwrap(),
        Interval { opens_at: seoul(2021, 8, 9, 20, 0, 0), closes_at: seoul(2021, 8, 10, 18, 0, 0), part: Part::RotationDay { digit: 9 } }
    );
    assert_eq!(rotation.day_of(0).unwrap().opens_at, seoul(2021, 8, 10, 20, 0, 0));
    // The last day of the rotation: digit 8, 18 August 20:00 -> 19 August 18:00.
    let last = rotation.days.last().unwrap();
    assert_eq!(
        (last.part, last.opens_at, last.closes_at),
        (Part::RotationDay { digit: 8 }, seoul(2021, 8, 18, 20, 0, 0), seoul(2021, 8, 19, 18, 0, 0))
    );
    let catch_up = rotation.catch_up.unwrap();
    assert_eq!((catch_up.opens_at, catch_up.closes_at), (seoul(2021, 8, 21, 20, 0, 0), seoul(2021, 9, 18, 18, 0, 0)));
    // Someone born on the 29th: their day, then the catch-up.
    let mine = w.intervals_for(9);
    assert_eq!(mine.iter().map(|i| i.part).collect::<Vec<_>>(), vec![Part::RotationDay { digit: 9 }, Part::CatchUp]);
    // Every digit has exactly one day.
    let mut digits: Vec<u8> =
        rotation.days.iter().filter_map(|d| if let Part::RotationDay { digit } = d.part { Some(digit) } else { None }).collect();
    digits.sort_unstable();
    assert_eq!(digits, (0..10).collect::<Vec<u8>>());
}

#[test]
fn rotation_defaults_whole_days_and_a_catch_up_right_after() {
    let text = GOOD.replace("2021-07-12T20:00:00", "2021-08-01T00:00:00").replace("2021-07-17T18:00:00", "2021-08-14T00:00:00")
        + "[window.rotation]\n";
    let r = Rules::parse(&text).unwrap();
    let rotation = r.windows[0].rotation.as_ref().unwrap();
    assert_eq!(rotation.first_digit, 1, "the opening day's last digit");
    let d1 = rotation.day_of(1).unwrap();
    assert_eq!((d1.opens_at, d1.closes_at), (seoul(2021, 8, 1, 0, 0, 0), seoul(2021, 8, 2, 0, 0, 0)));
    assert_eq!(rotation.day_of(0).unwrap().opens_at, seoul(2021, 8, 10, 0, 0, 0));
    assert_eq!(rotation.catch_up.unwrap().opens_at, seoul(2021, 8, 11, 0, 0, 0));
}

#[test]
fn syntax_errors_name_line_and_column() {
    let e = Rules::parse(&GOOD.replace("min_days = 21", "min_days = \"x\"")).unwrap_err();
    assert!(matches!(e, RulesError::Syntax { line: 3, .. }), "{e}");
    let e = Rules::parse(&GOOD.replace("birth_year_to = 1966", "birth_year_to = 1966\nbirth_yera = 3")).unwrap_err();
    assert!(matches!(e, RulesError::Syntax { line: 8, .. }), "unknown key: {e}");
    assert!(e.to_string().contains("birth_yera"), "{e}");
    let e = Rules::parse("version = \"x\"\n[dose_interval\n").unwrap_err();
    assert!(matches!(e, RulesError::Syntax { line: 2, .. }), "{e}");
    let e = Rules::parse("version = \"x\"\n").unwrap_err();
    assert!(e.to_string().contains("dose_interval"), "missing table: {e}");
}

#[test]
fn semantic_errors_name_the_line_of_the_rule_and_all_are_listed() {
    let text = GOOD.replace("cohort = \"c55\"", "cohort = \"nope\"").replace("birth_year_to = 1966", "birth_year_to = 1950");
    let found = issues(&text);
    assert_eq!(
        found,
        vec![
            Issue { line: 4, rule: "cohort c55".into(), reason: "birth_year_from is after birth_year_to".into() },
            Issue { line: 8, rule: "window w".into(), reason: "unknown cohort \"nope\"".into() },
        ]
    );
    let message = Rules::parse(&text).unwrap_err().to_string();
    assert!(message.contains("line 4: cohort c55") && message.contains("line 8: window w: unknown cohort"), "{message}");

    let reversed = issues(&GOOD.replace("2021-07-17T18:00:00", "2021-07-01T18:00:00"));
    assert_eq!((reversed[0].line, reversed[0].reason.as_str()), (8, "opens_at is not before closes_at"));
}

#[test]
fn each_rule_is_checked() {
    let cases: [(String, usize, &str); 12] = [
        (GOOD.replace("version = \"t\"", "version = \" \""), 1, "must not be empty"),
        (format!("timezone = \"UTC\"\n{GOOD}"), 1, "Asia/Seoul"),
        (GOOD.replace("min_days = 21", "min_days = 21\nafter_dose = { \"x\" = 3 }"), 2, "after_dose key"),
        (GOOD.replace("id = \"c55\"", "id = \"c 55\""), 4, "id must be"),
        (GOOD.replace("birth_year_to = 1966", "birth_year_to = 1966\nage_min = 3"), 4, "one way to delimit birth"),
        (GOOD.replace("birth_year_from = 1962\n", ""), 4, "go together"),
        (GOOD.replace("birth_year_from = 1962\nbirth_year_to = 1966\n", ""), 4, "needs a birth criterion or priority_groups"),
        (GOOD.replace("2021-07-12T20:00:00", "2021-07-12T11:00:00Z"), 8, "Asia/Seoul local times"),
        (GOOD.replace("2021-07-12T20:00:00", "2021-07-32T20:00:00"), 8, "opens_at"),
        (GOOD.replace("closes_at = \"2021-07-17T18:00:00\"", "closes_at = \"2021-07-17T18:00:00\"\ndoses = [0]"), 8, "doses"),
        (GOOD.to_owned() + "[window.rotation]\n", 8, "rotation: the ten rotation days run until"),
        (GOOD.replace("2021-07-17", "2021-08-30") + "[window.rotation]\ncatch_up_opens = \"2021-07-13T00:00:00\"\n", 8, "catch_up_opens"),
    ];
    for (text, line, reason) in cases {
        let found = issues(&text);
        assert!(found.iter().any(|i| i.line == line && i.reason.contains(reason)), "expected line {line} {reason:?}, got {found:?}");
    }
    let dup = format!(
        "{GOOD}[[window]]\nid = \"w\"\ncohort = \"c55\"\nopens_at = \"2021-07-12T20:00:00\"\ncloses_at = \"2021-07-13T20:00:00\"\n"
    );
    assert_eq!(issues(&dup), vec![Issue { line: 13, rule: "window w".into(), reason: "duplicate id".into() }]);
}

#[test]
fn dose_intervals_by_previous_dose() {
    let r = Rules::parse(&GOOD.replace("min_days = 21", "min_days = 21\n[dose_interval.after_dose]\n2 = 150")).unwrap();
    assert_eq!((r.dose_interval.days_after(1), r.dose_interval.days_after(2)), (21, 150));
}
