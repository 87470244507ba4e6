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
        booking_code: BookingCode::parse("K7MX-4QPW").unwrap(),
        subject_id: subject.into(),
        agent_subject_id: agent.into(),
        idempotency_key: "key-00001".into(),
        request_hash: vec![],
        slot: slot(),
        dose_number: 1,
        sealed_contact: vec![],
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
    let base = request_hash(slot, 1, "");
    assert_eq!(base, request_hash(slot, 1, ""));
    assert_eq!(base.len(), 32);
    assert_ne!(base, request_hash(Uuid::now_v7(), 1, ""));
    assert_ne!(base, request_hash(slot, 2, ""));
    assert_ne!(base, request_hash(slot, 1, "agent"));
}

/// Migration 0003 rewrites stored hashes with SQL; this is the value it must
/// produce (checked against PostgreSQL in tests/outbox.rs).
#[test]
fn request_hash_v2_layout() {
    let slot = Uuid::from_u128(0x0190_f3a2_0000_7000_8000_0000_0000_0001);
    let mut expected = Sha256::new();
    expected.update(b"yeyak-reservation-request:v2");
    expected.update(slot.as_bytes());
    expected.update([0, 0, 0, 2]);
    expected.update([0, 0, 0, 0, 0, 0, 0, 5]);
    expected.update(b"agent");
    assert_eq!(request_hash(slot, 2, "agent"), expected.finalize().to_vec());
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
