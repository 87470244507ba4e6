#![allow(clippy::unwrap_used)]
use chrono::TimeZone as _;

use super::*;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    at(1, 0)
}

fn home() -> Home {
    Home { clinic_id: "home".into(), district_code: "11680".into() }
}

fn candidate(n: u128, clinic: &str, district: &str, vaccine: &str, starts_at: DateTime<Utc>) -> Candidate {
    Candidate {
        slot: Slot {
            slot_id: Uuid::from_u128(n),
            clinic_id: clinic.into(),
            clinic_name: format!("{clinic} clinic"),
            vaccine_code: vaccine.into(),
            starts_at,
        },
        district_code: district.into(),
        capacity: 10,
    }
}

fn closing(vaccine: &str, starts_at: DateTime<Utc>) -> Closing {
    Closing { slot_id: Uuid::from_u128(999), vaccine_code: vaccine.into(), starts_at }
}

#[test]
fn only_the_mrna_vaccines_substitute_for_each_other() {
    assert_eq!(substitutes("pfizer"), ["moderna"]);
    assert_eq!(substitutes("moderna"), ["pfizer"]);
    assert!(substitutes("az").is_empty() && substitutes("janssen").is_empty());
    assert_eq!(allowed_vaccines(["pfizer", "az", "pfizer"]), ["az", "moderna", "pfizer"]);
}

#[test]
fn own_clinic_then_district_then_province_then_substitute_then_time() {
    let c = closing("pfizer", at(10, 1));
    let cands = vec![
        candidate(1, "far", "41000", "pfizer", at(10, 2)),   // province, same vaccine, 1 h
        candidate(2, "near", "11680", "pfizer", at(12, 1)),  // district, same vaccine, 2 days
        candidate(3, "near", "11680", "moderna", at(10, 1)), // district, substitute, 0 h
        candidate(4, "home", "11680", "moderna", at(14, 1)), // own clinic, substitute, 4 days
        candidate(5, "home", "11680", "pfizer", at(9, 1)),   // own clinic, same vaccine, 1 day before
        candidate(6, "home", "11680", "pfizer", at(10, 3)),  // own clinic, same vaccine, 2 h
        candidate(7, "home", "11680", "az", at(10, 2)),      // not equivalent
        candidate(8, "home", "11680", "pfizer", at(18, 1)),  // 8 days: beyond the bound
        candidate(9, "home", "11680", "pfizer", at(1, 1)),   // within the notice: too soon
    ];
    let rule = Rule { max_move_days: 7, now: now(), later_only: false };
    let order = ranked(&c, &home(), &cands, rule, &HashSet::new());
    let ids: Vec<u128> = order.iter().map(|&i| cands[i].slot.slot_id.as_u128()).collect();
    assert_eq!(ids, [6, 5, 4, 2, 3, 1]);
    // A later dose never moves earlier (the interval since the previous one).
    let order = ranked(&c, &home(), &cands, Rule { later_only: true, ..rule }, &HashSet::new());
    let ids: Vec<u128> = order.iter().map(|&i| cands[i].slot.slot_id.as_u128()).collect();
    assert_eq!(ids, [6, 4, 2, 3, 1]);
    assert!(!later_only(1) && later_only(2));
}

#[test]
fn slots_closing_in_the_same_change_are_no_target() {
    let c = closing("az", at(10, 1));
    let cands = vec![candidate(1, "home", "11680", "az", at(10, 2)), candidate(2, "home", "11680", "az", at(10, 3))];
    let excluded: HashSet<Uuid> = [Uuid::from_u128(1)].into();
    let order = ranked(&c, &home(), &cands, Rule { max_move_days: 7, now: now(), later_only: false }, &excluded);
    assert_eq!(order, [1]);
    let both = rankings(&[Closing { slot_id: Uuid::from_u128(1), ..c.clone() }], &home(), &cands, 7, now());
    assert_eq!((both[&(Uuid::from_u128(1), false)].clone(), both.len()), (vec![1], 2), "a closing slot is no target of the same change");
}

#[test]
fn the_window_is_bounded_by_the_notice() {
    let closed = [closing("az", at(3, 0)), closing("az", at(5, 0))];
    let (from, to) = candidate_window(&closed, 7, now()).unwrap();
    assert_eq!(from, now() + MIN_NOTICE, "not before the notice");
    assert_eq!(to, at(12, 0) + Duration::seconds(1));
    let past = [closing("az", Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap())];
    assert_eq!(candidate_window(&past, 7, now()), None);
    assert_eq!(candidate_window(&[], 7, now()), None);
}

#[test]
fn the_plan_fills_the_best_slots_first_and_cancels_the_rest() {
    let from = Uuid::from_u128(999);
    let cands = vec![candidate(1, "home", "11680", "az", at(10, 2)), candidate(2, "near", "11680", "az", at(10, 3))];
    let rankings: Rankings = [((from, false), vec![0, 1]), ((from, true), vec![1])].into();
    let room: HashMap<Uuid, u32> = [(Uuid::from_u128(1), 2), (Uuid::from_u128(2), 1)].into();
    let bookings: Vec<(Uuid, Uuid, u32)> = (0..5).map(|i| (Uuid::from_u128(100 + i), from, 1)).collect();
    let planned = plan(&bookings, &rankings, &cands, room.clone());
    assert_eq!(planned.moved, [(Uuid::from_u128(1), 2), (Uuid::from_u128(2), 1)].into());
    assert_eq!(planned.cancelled, 2);
    let second_doses: Vec<(Uuid, Uuid, u32)> = (0..2).map(|i| (Uuid::from_u128(100 + i), from, 2)).collect();
    let planned = plan(&second_doses, &rankings, &cands, room);
    assert_eq!((planned.moved, planned.cancelled), ([(Uuid::from_u128(2), 1)].into(), 1), "second doses use their own ranking");
    let unranked = plan(&[(Uuid::from_u128(1), Uuid::from_u128(5), 1)], &rankings, &cands, HashMap::new());
    assert_eq!(unranked.cancelled, 1, "a booking of a slot without candidates is cancelled");
}
