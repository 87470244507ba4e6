use chrono::TimeZone as _;

use super::*;

fn slot() -> Slot {
    Slot {
        slot_id: Uuid::nil(),
        clinic_id: "c1".into(),
        clinic_name: "Clinic".into(),
        vaccine_code: "pfizer".into(),
        starts_at: Utc.with_ymd_and_hms(2021, 7, 26, 0, 0, 0).unwrap(),
    }
}

fn reservation(subject: &str, agent: &str) -> Reservation {
    let at = Utc.with_ymd_and_hms(2021, 7, 19, 11, 0, 0).unwrap();
    Reservation {
        reservation_id: Uuid::now_v7(),
        subject_id: subject.into(),
        agent_subject_id: agent.into(),
        idempotency_key: "key-00001".into(),
        request_hash: vec![],
        slot: slot(),
        dose_number: 1,
        contact_phone: "01012345678".into(),
        state: State::Confirmed,
        created_at: at,
        updated_at: at,
    }
}

#[test]
fn only_subject_and_agent_see_a_reservation() {
    let own = reservation("alice", "");
    assert!(own.visible_to("alice"));
    assert!(!own.visible_to("bob"));
    assert!(!own.visible_to(""), "an empty caller never matches an empty agent");
    let proxy = reservation("parent", "child");
    assert!(proxy.visible_to("parent"));
    assert!(proxy.visible_to("child"));
    assert!(!proxy.visible_to("stranger"));
}

#[test]
fn request_hash_tells_retries_from_other_requests() {
    let slot = Uuid::now_v7();
    let base = request_hash(slot, 1, "", "01012345678");
    assert_eq!(base, request_hash(slot, 1, "", "01012345678"));
    assert_eq!(base.len(), 32);
    assert_ne!(base, request_hash(Uuid::now_v7(), 1, "", "01012345678"));
    assert_ne!(base, request_hash(slot, 2, "", "01012345678"));
    assert_ne!(base, request_hash(slot, 1, "agent", "01012345678"));
    assert_ne!(base, request_hash(slot, 1, "", "01099998888"));
    // Moving characters between fields changes the hash.
    assert_ne!(request_hash(slot, 1, "a0", "1"), request_hash(slot, 1, "a", "01"));
}

#[test]
fn a_started_slot_is_not_bookable() {
    let starts = Utc.with_ymd_and_hms(2021, 7, 26, 9, 0, 0).unwrap();
    assert!(bookable(starts, starts - chrono::Duration::seconds(1)));
    assert!(!bookable(starts, starts));
    assert!(!bookable(starts, starts + chrono::Duration::hours(1)));
}

#[test]
fn cursor_round_trips_and_rejects_garbage() {
    let c = Cursor { created_at: Utc.timestamp_micros(1_626_692_400_123_456).unwrap(), reservation_id: Uuid::now_v7() };
    assert_eq!(Cursor::decode(&c.encode()), Some(c));
    assert_eq!(Cursor::decode("not base64!"), None);
    assert_eq!(Cursor::decode(&B64.encode("12:not-a-uuid")), None);
    assert_eq!(Cursor::decode(&B64.encode("no separator")), None);
}

#[test]
fn states_round_trip() {
    for s in [State::Confirmed, State::Cancelled] {
        assert_eq!(State::parse(s.as_str()), Some(s));
    }
    assert_eq!(State::parse("pending"), None);
    assert!(DOSES.contains(&1) && DOSES.contains(&4) && !DOSES.contains(&0) && !DOSES.contains(&5));
}
