#![allow(clippy::unwrap_used)]
use prost::Message as _;

use yeyak_proto::events::v1::routing::{RESERVATION_CANCELLED, RESERVATION_CONFIRMED, RESERVATION_RESCHEDULED};

use super::*;

const RID: &str = "1b2c3d4e-0000-4000-8000-000000000001";

fn keys() -> ContactKeys {
    static KEYS: std::sync::LazyLock<ContactKeys> = std::sync::LazyLock::new(|| ContactKeys::generate("test"));
    KEYS.clone()
}

/// `phone` sealed as reservation seals it for reservation `RID`.
fn sealed(phone: &str) -> Vec<u8> {
    keys().sealer().seal(Uuid::parse_str(RID).unwrap().as_bytes(), phone)
}

fn at(rfc3339: &str) -> Option<prost_types::Timestamp> {
    Some(yeyak_proto::time::to_proto(chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()))
}

#[test]
fn confirmed_text_is_in_seoul_time() {
    let e = ev::ReservationConfirmed {
        reservation_id: RID.into(),
        booking_code: "k7mx-4qpw".into(),
        clinic_name: "서울의원".into(),
        vaccine_code: "MODERNA".into(),
        dose_number: 1,
        // 11:00 UTC is 20:00 in Seoul.
        starts_at: at("2021-07-26T11:00:00Z"),
        sealed_contact: sealed("01012345678"),
        ..Default::default()
    };
    let n = decode(RESERVATION_CONFIRMED, &e.encode_to_vec(), &keys()).unwrap();
    assert_eq!(n.text, "[예약] 서울의원 2021-07-26 20:00 MODERNA 1차 접종 예약이 확정되었습니다. 예약번호 K7MX-4QPW");
    assert_eq!(n.booking_code.as_ref().map(BookingCode::as_str), Some("K7MX4QPW"));
    let contact = n.contact.unwrap();
    assert_eq!(contact.masked, "010-****-5678");
    assert_eq!(keys().open(Uuid::parse_str(RID).unwrap().as_bytes(), &contact.sealed).unwrap().as_str(), "01012345678");
    assert_eq!(n.event_type, RESERVATION_CONFIRMED);
    assert_eq!(n.reservation_id.to_string(), RID);
}

#[test]
fn seoul_date_rolls_over_at_local_midnight() {
    // 15:30 UTC on the 26th is 00:30 on the 27th in Seoul.
    let e = ev::ReservationRescheduled {
        reservation_id: RID.into(),
        booking_code: "3HQ9-TWN9".into(),
        clinic_name: "부산\n보건소".into(),
        starts_at: at("2021-07-26T15:30:00Z"),
        sealed_contact: sealed("01098765432"),
        ..Default::default()
    };
    let n = decode(RESERVATION_RESCHEDULED, &e.encode_to_vec(), &keys()).unwrap();
    assert_eq!(n.text, "[예약] 예약번호 3HQ9-TWN9 예약이 부산 보건소 2021-07-27 00:30 으로 변경되었습니다.");
}

#[test]
fn a_supply_change_says_what_changed_once() {
    let e = ev::ReservationRescheduled {
        reservation_id: RID.into(),
        booking_code: "3HQ9-TWN9".into(),
        clinic_name: "강남보건소".into(),
        starts_at: at("2021-07-26T02:00:00Z"),
        vaccine_code: "moderna".into(),
        previous_vaccine_code: "pfizer".into(),
        reason: ev::ChangeReason::SupplyChange as i32,
        ..Default::default()
    };
    let n = decode(RESERVATION_RESCHEDULED, &e.encode_to_vec(), &keys()).unwrap();
    assert_eq!(
        n.text,
        "[예약] 예약번호 3HQ9-TWN9 접종기관 일정 변경으로 예약이 강남보건소 2021-07-26 11:00 으로 옮겨졌습니다. 백신이 pfizer에서 moderna(으)로 바뀌었습니다."
    );
    let same = ev::ReservationRescheduled { previous_vaccine_code: "moderna".into(), ..e };
    let n = decode(RESERVATION_RESCHEDULED, &same.encode_to_vec(), &keys()).unwrap();
    assert!(n.text.ends_with("으로 옮겨졌습니다."), "{}", n.text);
    let cancelled = ev::ReservationCancelled {
        reservation_id: RID.into(),
        booking_code: "M8RV-E4C7".into(),
        reason: ev::ChangeReason::SupplyChange as i32,
        ..Default::default()
    };
    let n = decode(RESERVATION_CANCELLED, &cancelled.encode_to_vec(), &keys()).unwrap();
    assert!(n.text.starts_with("[예약] 예약번호 M8RV-E4C7 접종기관 일정 변경으로 예약이 취소되었습니다."), "{}", n.text);
}

#[test]
fn cancelled_text_and_missing_phone() {
    let e = ev::ReservationCancelled { reservation_id: RID.into(), booking_code: "M8RV-E4C7".into(), ..Default::default() };
    let n = decode(RESERVATION_CANCELLED, &e.encode_to_vec(), &keys()).unwrap();
    assert_eq!(n.text, "[예약] 예약번호 M8RV-E4C7 접종 예약이 취소되었습니다.");
    assert_eq!(n.contact, None);
}

/// An event from a build before booking codes names the whole reservation
/// id, never its first digits (a UUIDv7's timestamp, shared by every
/// booking of the same minute).
#[test]
fn an_event_without_a_code_names_the_whole_reservation_id() {
    let e = ev::ReservationCancelled { reservation_id: RID.into(), ..Default::default() };
    let n = decode(RESERVATION_CANCELLED, &e.encode_to_vec(), &keys()).unwrap();
    assert_eq!(n.text, format!("[예약] 예약번호 {RID} 접종 예약이 취소되었습니다."));
    assert_eq!(n.booking_code, None);
}

#[test]
fn bad_events_are_refused() {
    assert!(matches!(decode(RESERVATION_CONFIRMED, b"\xff\xff\xff", &keys()), Err(DecodeError::Malformed(_))));
    assert!(matches!(decode("reservation.deleted.v1", b"", &keys()), Err(DecodeError::UnknownRoutingKey(_))));
    let no_time = ev::ReservationConfirmed { reservation_id: RID.into(), ..Default::default() };
    assert!(matches!(
        decode(RESERVATION_CONFIRMED, &no_time.encode_to_vec(), &keys()),
        Err(DecodeError::Invalid { field: "starts_at", .. })
    ));
    let bad_code = ev::ReservationCancelled { reservation_id: RID.into(), booking_code: "K7MX-4QPA".into(), ..Default::default() };
    assert!(matches!(
        decode(RESERVATION_CANCELLED, &bad_code.encode_to_vec(), &keys()),
        Err(DecodeError::Invalid { field: "booking_code", .. })
    ));
    let bad_id = ev::ReservationCancelled { reservation_id: "r-1".into(), ..Default::default() };
    assert!(matches!(
        decode(RESERVATION_CANCELLED, &bad_id.encode_to_vec(), &keys()),
        Err(DecodeError::Invalid { field: "reservation_id", .. })
    ));
    let bad_phone = ev::ReservationCancelled { reservation_id: RID.into(), sealed_contact: sealed("02-123-4567"), ..Default::default() };
    assert!(matches!(
        decode(RESERVATION_CANCELLED, &bad_phone.encode_to_vec(), &keys()),
        Err(DecodeError::Invalid { field: "sealed_contact", .. })
    ));
    let unknown_key = ContactKeys::generate("retired").sealer().seal(Uuid::parse_str(RID).unwrap().as_bytes(), "01012345678");
    let e = ev::ReservationCancelled { reservation_id: RID.into(), sealed_contact: unknown_key, ..Default::default() };
    assert!(matches!(decode(RESERVATION_CANCELLED, &e.encode_to_vec(), &keys()), Err(DecodeError::Contact(OpenError::UnknownKey(_)))));
    let other = ev::ReservationCancelled {
        reservation_id: "1b2c3d4e-0000-4000-8000-000000000002".into(),
        sealed_contact: sealed("01012345678"),
        ..Default::default()
    };
    assert!(
        matches!(decode(RESERVATION_CANCELLED, &other.encode_to_vec(), &keys()), Err(DecodeError::Contact(OpenError::Invalid))),
        "sealed for another reservation"
    );
}

#[test]
fn debug_never_shows_the_phone() {
    let e = ev::ReservationCancelled { reservation_id: RID.into(), sealed_contact: sealed("01012345678"), ..Default::default() };
    let n = decode(RESERVATION_CANCELLED, &e.encode_to_vec(), &keys()).unwrap();
    let shown = format!("{n:?}");
    assert!(!shown.contains("01012345678"), "{shown}");
    assert!(shown.contains("010-****-5678"), "{shown}");
}

/// The owners travel with every event: the subject always, the agent of a
/// proxy booking on the confirmation.
#[test]
fn events_name_who_may_read_their_deliveries() {
    let confirmed = ev::ReservationConfirmed {
        reservation_id: RID.into(),
        subject_id: "subject-a".into(),
        agent_subject_id: "agent-b".into(),
        starts_at: at("2021-07-26T11:00:00Z"),
        ..Default::default()
    };
    let n = decode(RESERVATION_CONFIRMED, &confirmed.encode_to_vec(), &keys()).unwrap();
    assert_eq!(n.owners, Owners { subject_id: "subject-a".into(), agent_subject_id: "agent-b".into() });
    let cancelled = ev::ReservationCancelled { reservation_id: RID.into(), subject_id: "subject-a".into(), ..Default::default() };
    let n = decode(RESERVATION_CANCELLED, &cancelled.encode_to_vec(), &keys()).unwrap();
    assert_eq!(n.owners, Owners { subject_id: "subject-a".into(), agent_subject_id: String::new() });
}
