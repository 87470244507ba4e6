//! Keeps "already booked" right within a second: consumes the reservation
//! service's events from the queue `<prefix>.eligibility.bookings` and turns
//! each into a change of the booked set (and drops the subject's cached
//! registry answer). Deduplicated by event id in Redis.
use std::sync::Arc;

use prost::Message as _;
use uuid::Uuid;
use yeyak_platform::{
    messaging::{consume_each, AmqpSettings, Delivery, HandlerError, QueueSpec},
    validate, Shutdown,
};
use yeyak_proto::events::v1::{
    self as ev,
    routing::{RESERVATION_CANCELLED, RESERVATION_CONFIRMED, RESERVATION_EVENTS, RESERVATION_RESCHEDULED},
};

use crate::{app::EligibilityCheck, domain::BookingEvent};

pub const QUEUE: &str = "eligibility.bookings";

/// Deliveries taken at once (acknowledged together when all succeeded).
const MAX_BATCH: usize = 128;

/// Consumes until shutdown. In queue order, one event at a time (a booking
/// and its cancellation must apply in that order); batches only save
/// acknowledgements. One replica at a time consumes (the others stand by),
/// so two replicas never apply one person's booking and cancellation in
/// either order. Each event is handled in a span that continues its trace.
pub(crate) async fn run(check: Arc<EligibilityCheck>, settings: AmqpSettings, shutdown: Shutdown) {
    consume_each(settings, QueueSpec::in_order(QUEUE), &RESERVATION_EVENTS, shutdown, MAX_BATCH, |delivery| handle(&check, delivery)).await;
}

/// Subject ids go into Redis keys: only what identity issues is accepted.
fn subject(value: &str) -> Option<String> {
    let ok = !value.is_empty() && value.len() <= 128 && value.chars().all(validate::token_char);
    ok.then(|| value.to_owned())
}

/// Decodes a delivery. Anything that cannot be understood is poison: a retry
/// would fail the same way, so it goes to the dead-letter queue.
fn decode(delivery: &Delivery) -> Result<BookingEvent, HandlerError> {
    let key = delivery.routing_key.as_str();
    let poison = |what: &str| HandlerError::Poison(format!("{key} {what}"));
    let bad_payload = |e: prost::DecodeError| HandlerError::Poison(format!("{key}: undecodable payload: {e}"));
    let event_id = |meta: Option<ev::EventMeta>| {
        meta.and_then(|m| Uuid::parse_str(&m.event_id).ok())
            .or(delivery.event_id)
            .map(|id| id.to_string())
            .ok_or_else(|| poison("has no event id"))
    };
    let reservation = |id: &str| Uuid::parse_str(id).map(|u| u.to_string()).map_err(|_| poison("has a reservation id that is not a UUID"));
    let subject_id = |id: &str| subject(id).ok_or_else(|| poison("has no usable subject id"));
    let dose = |d: u32| if (1..=9).contains(&d) { Ok(d) } else { Err(poison("has no dose number")) };
    let payload = delivery.payload.as_slice();
    match key {
        RESERVATION_CONFIRMED => {
            let e = ev::ReservationConfirmed::decode(payload).map_err(bad_payload)?;
            Ok(BookingEvent::Confirmed {
                event_id: event_id(e.meta)?,
                reservation_id: reservation(&e.reservation_id)?,
                subject_id: subject_id(&e.subject_id)?,
                dose: dose(e.dose_number)?,
            })
        }
        RESERVATION_CANCELLED => {
            let e = ev::ReservationCancelled::decode(payload).map_err(bad_payload)?;
            Ok(BookingEvent::Cancelled {
                event_id: event_id(e.meta)?,
                reservation_id: reservation(&e.reservation_id)?,
                subject_id: subject_id(&e.subject_id)?,
                dose: dose(e.dose_number)?,
            })
        }
        RESERVATION_RESCHEDULED => {
            let e = ev::ReservationRescheduled::decode(payload).map_err(bad_payload)?;
            Ok(BookingEvent::Rescheduled { event_id: event_id(e.meta)?, subject_id: subject_id(&e.subject_id)? })
        }
        _ => Err(poison("is not an event this queue handles")),
    }
}

/// The consumer's handler: Redis trouble is transient (the message is
/// redelivered); the processed-id mark makes the redelivery harmless.
async fn handle(check: &EligibilityCheck, delivery: Delivery) -> Result<(), HandlerError> {
    let event = decode(&delivery)?;
    let applied = check.record_booking(&event).await.map_err(|e| HandlerError::Transient(e.to_string()))?;
    if !applied {
        tracing::debug!(routing_key = %delivery.routing_key, "event already applied");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(key: &str, payload: Vec<u8>) -> Delivery {
        Delivery { routing_key: key.into(), event_id: None, payload, traceparent: None }
    }

    fn meta(id: &str) -> Option<ev::EventMeta> {
        Some(ev::EventMeta { event_id: id.into(), ..Default::default() })
    }

    #[test]
    fn events_decode_to_booked_set_changes() {
        let (event, reservation) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
        let confirmed = ev::ReservationConfirmed {
            meta: meta(&event),
            reservation_id: reservation.clone(),
            subject_id: "ab12".into(),
            dose_number: 1,
            sealed_contact: vec![1, 2, 3],
            ..Default::default()
        };
        assert_eq!(
            decode(&delivery(RESERVATION_CONFIRMED, confirmed.encode_to_vec())).unwrap(),
            BookingEvent::Confirmed { event_id: event.clone(), reservation_id: reservation.clone(), subject_id: "ab12".into(), dose: 1 }
        );
        let cancelled = ev::ReservationCancelled {
            meta: meta(&event),
            reservation_id: reservation.clone(),
            subject_id: "ab12".into(),
            dose_number: 2,
            ..Default::default()
        };
        assert!(matches!(
            decode(&delivery(RESERVATION_CANCELLED, cancelled.encode_to_vec())).unwrap(),
            BookingEvent::Cancelled { dose: 2, .. }
        ));
        let moved = ev::ReservationRescheduled { meta: meta(&event), subject_id: "ab12".into(), ..Default::default() };
        assert_eq!(
            decode(&delivery(RESERVATION_RESCHEDULED, moved.encode_to_vec())).unwrap(),
            BookingEvent::Rescheduled { event_id: event, subject_id: "ab12".into() }
        );
    }

    #[test]
    fn what_cannot_be_understood_is_poison() {
        let poison = |d: Delivery| matches!(decode(&d), Err(HandlerError::Poison(_)));
        assert!(poison(delivery(RESERVATION_CONFIRMED, vec![0xff, 0xff])));
        assert!(poison(delivery("reservation.unknown.v1", vec![])));
        let no_id = ev::ReservationConfirmed {
            reservation_id: Uuid::new_v4().to_string(),
            subject_id: "s".into(),
            dose_number: 1,
            ..Default::default()
        };
        assert!(poison(delivery(RESERVATION_CONFIRMED, no_id.encode_to_vec())), "no event id");
        let mut with_id = delivery(RESERVATION_CONFIRMED, no_id.encode_to_vec());
        with_id.event_id = Some(Uuid::new_v4());
        assert!(decode(&with_id).is_ok(), "the AMQP message id is the event id");
        let bad_subject = ev::ReservationConfirmed { subject_id: "a:b}".into(), ..no_id.clone() };
        assert!(poison(Delivery { payload: bad_subject.encode_to_vec(), ..with_id.clone() }));
        let no_dose = ev::ReservationConfirmed { dose_number: 0, ..no_id };
        assert!(poison(Delivery { payload: no_dose.encode_to_vec(), ..with_id }));
    }
}
