use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};

use super::*;
use crate::clients::registry::{BirthDateCount, BirthDateStats};

fn seoul(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Seoul.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap().with_timezone(&Utc)
}

#[test]
fn command_lines() {
    let now = seoul(2026, 1, 1, 0);
    let d = Defaults { registry: Some("http://r:1".into()), ..Defaults::default() };
    let c = Command::parse(["check", "--subject", "ab", "--at", "2021-08-09T20:00:00"], &d, now).unwrap();
    assert_eq!(
        c,
        Command::Check {
            subject: "ab".into(),
            at: seoul(2021, 8, 9, 20),
            dose: 1,
            rules: "services/eligibility/rules/demo.toml".into(),
            registry: "http://r:1".into()
        }
    );
    assert!(
        matches!(Command::parse(["sample"], &d, now).unwrap(), Command::Sample { count: 20, population: 1_000_000, at, .. } if at == now)
    );
    assert!(Command::parse(["check"], &d, now).unwrap_err().to_string().contains("--subject"));
    assert!(Command::parse(["check", "--subject", "a", "--dose", "0"], &d, now).is_err());
    assert!(Command::parse(["validate", "--count", "3"], &d, now).unwrap_err().to_string().contains("does not take --count"));
    assert!(Command::parse(["dance"], &d, now).is_err());
    assert_eq!(parse_instant("2021-08-09T11:00:00Z", now).unwrap(), seoul(2021, 8, 9, 20));
    assert_eq!(parse_instant("2021-08-09 20:00", now).unwrap(), seoul(2021, 8, 9, 20));
    assert_eq!(grouped(1_234_567), "1,234,567");
    assert_eq!(grouped(999), "999");
}

#[test]
fn dry_run_counts_people_per_window_hour_by_hour() {
    let rules = Rules::parse(include_str!("../../rules/2021-08-18-49.toml")).unwrap();
    let row = |y, m, d, groups: &[&str], doses, count| BirthDateCount {
        birth_date: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        priority_groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        doses,
        count,
    };
    let stats = BirthDateStats {
        population: 111,
        rows: vec![
            row(1990, 1, 9, &[], 0, 10),            // digit 9, 18-35
            row(1980, 1, 10, &[], 0, 20),           // digit 0, 36-49
            row(1990, 1, 19, &["education"], 0, 1), // digit 9, priority
            row(1960, 1, 1, &[], 0, 50),            // no cohort
            row(1990, 1, 9, &[], 1, 30),            // already had dose 1
        ],
    };
    let out = dry_run(&rules, &stats, 1, Some(seoul(2021, 8, 9, 19)), Some(seoul(2021, 8, 11, 0)));
    assert!(out.contains("people in no window of this dose: 50"), "{out}");
    let line = |prefix: &str| out.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix} in\n{out}")).to_owned();
    // 20:00-21:00 on the 9th: digit 9 opens (11 people), nobody else.
    let opening = line("2021-08-09 20:00 .. 21:00");
    assert!(opening.contains("11 (+11)") && opening.trim_end().ends_with("11"), "{opening}");
    // Until 18:00 on the 10th nothing changes: one merged line for digit 9.
    let rest_of_9 = line("2021-08-09 21:00 .. 2021-08-10 18:00");
    assert!(rest_of_9.trim_end().ends_with(" 11"), "{rest_of_9}");
    // The evening of the 10th: digit 0 opens (20 people).
    let zero = line("2021-08-10 20:00");
    assert!(zero.contains("20 (+20)"), "{zero}");
    // 18:00-20:00 on the 10th: nobody (merged into one line).
    let gap = line("2021-08-10 18:00 .. 2021-08-10 20:00");
    assert!(gap.trim_end().ends_with(" 0"), "{gap}");
}
