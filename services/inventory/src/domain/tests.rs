use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::*;

fn field(e: Invalid) -> Input {
    e.input
}

#[test]
fn region_codes() {
    assert_eq!(region("11").unwrap(), Region::Province("11".into()));
    assert_eq!(region("11680").unwrap(), Region::District("11680".into()));
    for bad in ["", "1", "116", "1168", "116800", "ab", "1a680", "１１"] {
        assert_eq!(field(region(bad).unwrap_err()), Input::Region, "{bad:?}");
    }
}

#[test]
fn vaccine_codes() {
    assert!(vaccine_code("pfizer").is_ok());
    for bad in ["", "Pfizer", "pf izer", &"a".repeat(33), "화이자"] {
        assert_eq!(field(vaccine_code(bad).unwrap_err()), Input::Vaccine, "{bad:?}");
    }
}

#[test]
fn date_ranges_at_the_boundaries() {
    let r = date_range("2021-07-26", "2021-08-26").unwrap();
    assert_eq!((r.to - r.from).num_days(), 31);
    assert_eq!(field(date_range("2021-07-26", "2021-08-27").unwrap_err()), Input::ToDate);
    assert_eq!(field(date_range("2021-07-26", "2021-07-25").unwrap_err()), Input::ToDate);
    assert!(date_range("2021-07-26", "2021-07-26").is_ok());
    assert_eq!(field(date_range("", "2021-07-26").unwrap_err()), Input::FromDate);
    assert_eq!(field(date_range("2021-02-29", "2021-03-01").unwrap_err()), Input::FromDate);
    assert_eq!(field(date_range("2021-07-26", "26/07/2021").unwrap_err()), Input::ToDate);
}

#[test]
fn range_instants_are_seoul_midnights() {
    let r = date_range("2021-07-26", "2021-07-27").unwrap();
    let (start, end) = r.instants();
    assert_eq!(start.to_rfc3339(), "2021-07-25T15:00:00+00:00");
    assert_eq!(end.to_rfc3339(), "2021-07-27T15:00:00+00:00");
}

#[test]
fn today_rolls_over_at_seoul_midnight() {
    let before = "2021-07-26T14:59:59Z".parse::<DateTime<Utc>>().unwrap();
    let after = "2021-07-26T15:00:00Z".parse::<DateTime<Utc>>().unwrap();
    assert_eq!(today_seoul(before).to_string(), "2021-07-26");
    assert_eq!(today_seoul(after).to_string(), "2021-07-27");
}

#[test]
fn page_tokens_round_trip_and_reject_garbage() {
    let id = Uuid::from_u128(0x1234);
    assert_eq!(decode_page_token(&encode_page_token(id)).unwrap(), Some(id));
    assert_eq!(decode_page_token("").unwrap(), None);
    assert_eq!(field(decode_page_token("!!").unwrap_err()), Input::PageToken);
    assert_eq!(field(decode_page_token("AAAA").unwrap_err()), Input::PageToken);
}

#[test]
fn shown_counts_are_clamped_but_booked_counts_are_exact() {
    assert_eq!(taken(0, 5), 0);
    assert_eq!(taken(3, 5), 3);
    assert_eq!(taken(7, 5), 5, "overbooked after a size cut");
    assert_eq!(taken(-1, 5), 0, "a cancel applied before its confirm");
    assert_eq!(taken(3, -1), 0);
    assert_eq!(remaining(5, 2), 3);
    assert_eq!(remaining(5, 7), 0);
    assert_eq!(remaining(5, -1), 5);
    assert_eq!(remaining(5, i32::MAX), 0);
    assert_eq!(remaining(5, i32::MIN), 5);
}
