//! Event payloads as the reservation service publishes them: the phone
//! number sealed to the service's key, bound to the reservation.
use std::sync::LazyLock;

use prost::Message as _;
use uuid::Uuid;
use yeyak_platform::contact::ContactKeys;
use yeyak_proto::events::v1 as ev;

/// The service's `YEYAK_CONTACT_KEYS` in these tests.
pub(crate) static KEYS: LazyLock<ContactKeys> = LazyLock::new(|| ContactKeys::generate("ntf-test"));

/// `phone` as reservation seals it for `reservation_id`.
pub(crate) fn seal(reservation_id: Uuid, phone: &str) -> Vec<u8> {
    KEYS.sealer().seal(reservation_id.as_bytes(), phone)
}

/// The booking code reservation would have drawn for `reservation_id`, as
/// events carry it ("XXXX-XXXX"): derived from the id's random bits so a
/// test knows it without passing it around, with the check character.
pub(crate) fn code_for(reservation_id: Uuid) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXY";
    let mut values: Vec<usize> = reservation_id.as_bytes()[9..16].iter().map(|b| usize::from(*b) % 29).collect();
    let sum: usize = values.iter().enumerate().map(|(i, v)| (8 - i) * v).sum();
    values.push((29 - sum % 29) % 29);
    let chars: String = values.iter().map(|&v| char::from(ALPHABET[v])).collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

fn meta(event_id: Uuid) -> Option<ev::EventMeta> {
    Some(ev::EventMeta { event_id: event_id.to_string(), occurred_at: None, traceparent: String::new() })
}

/// 2021-07-26T11:00:00Z, which is 20:00 in Seoul.
pub(crate) fn starts_at() -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: 1_627_297_200, nanos: 0 })
}

pub(crate) fn confirmed(event_id: Uuid, reservation_id: Uuid, phone: &str, clinic: &str) -> Vec<u8> {
    ev::ReservationConfirmed {
        meta: meta(event_id),
        reservation_id: reservation_id.to_string(),
        booking_code: code_for(reservation_id),
        subject_id: "subject-1".into(),
        slot_id: Uuid::new_v4().to_string(),
        clinic_id: Uuid::new_v4().to_string(),
        clinic_name: clinic.into(),
        vaccine_code: "PFIZER".into(),
        dose_number: 1,
        starts_at: starts_at(),
        sealed_contact: seal(reservation_id, phone),
        ..Default::default()
    }
    .encode_to_vec()
}

pub(crate) fn cancelled(event_id: Uuid, reservation_id: Uuid, phone: &str) -> Vec<u8> {
    ev::ReservationCancelled {
        meta: meta(event_id),
        reservation_id: reservation_id.to_string(),
        booking_code: code_for(reservation_id),
        sealed_contact: seal(reservation_id, phone),
        ..Default::default()
    }
    .encode_to_vec()
}

pub(crate) fn rescheduled(event_id: Uuid, reservation_id: Uuid, phone: &str, clinic: &str) -> Vec<u8> {
    ev::ReservationRescheduled {
        meta: meta(event_id),
        reservation_id: reservation_id.to_string(),
        booking_code: code_for(reservation_id),
        clinic_name: clinic.into(),
        starts_at: starts_at(),
        sealed_contact: seal(reservation_id, phone),
        ..Default::default()
    }
    .encode_to_vec()
}

/// A distinct mobile number per call, so tests can tell their messages apart.
pub(crate) fn phone() -> String {
    format!("010{:08}", Uuid::new_v4().as_u128() % 100_000_000)
}

/// A confirmation naming its pseudonymous subject and, for a proxy
/// booking, the agent (empty otherwise), as reservation publishes it.
pub(crate) fn confirmed_for(event_id: Uuid, reservation_id: Uuid, phone: &str, subject: &str, agent: &str) -> Vec<u8> {
    let mut e = ev::ReservationConfirmed::decode(confirmed(event_id, reservation_id, phone, "서울의원").as_slice()).expect("decodes");
    e.subject_id = subject.into();
    e.agent_subject_id = agent.into();
    e.encode_to_vec()
}

/// A cancellation: it names the subject only, never the agent.
pub(crate) fn cancelled_for(event_id: Uuid, reservation_id: Uuid, phone: &str, subject: &str) -> Vec<u8> {
    let mut e = ev::ReservationCancelled::decode(cancelled(event_id, reservation_id, phone).as_slice()).expect("decodes");
    e.subject_id = subject.into();
    e.encode_to_vec()
}
