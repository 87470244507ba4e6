//! Cancel and reschedule: what moves where, exactly once.
#![allow(clippy::unwrap_used)]
mod common;

use tonic::Code;
use yeyak_proto::{events::v1 as ev, reservation::v1 as pb};

#[tokio::test]
async fn cancel_gives_the_place_back_once_and_tells_the_bus() {
    let mut app = common::start().await;
    let slot = app.inventory.slot(1);
    let person = app.person("subj-cancel");
    let r = app.book(&person, "key-cancel-1", slot).await.unwrap();
    let _: ev::ReservationConfirmed = app.tap.expect(ev::routing::RESERVATION_CONFIRMED).await;
    assert_eq!(app.ledger(slot).await, Some((1, 1)));
    let err = app.book(&app.person("subj-waiting"), "key-waiting", slot).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");

    let cancel = || pb::CancelReservationRequest {
        reservation_id: r.reservation_id.clone(),
        identity_assertion: person.assertion.clone(),
        ..Default::default()
    };
    let cancelled = app.client.clone().cancel_reservation(app.req(&person, cancel())).await.unwrap().into_inner().reservation.unwrap();
    assert_eq!(cancelled.state, pb::ReservationState::Cancelled as i32);
    assert_eq!(app.ledger(slot).await, Some((1, 0)));
    let event: ev::ReservationCancelled = app.tap.expect(ev::routing::RESERVATION_CANCELLED).await;
    assert_eq!((event.reservation_id.as_str(), event.slot_id.clone()), (r.reservation_id.as_str(), slot.to_string()));
    assert_eq!((event.clinic_id.as_str(), event.dose_number), ("c-1", 1));
    assert_eq!(app.open_contact(&event.reservation_id, &event.sealed_contact), "01012345678");

    // Again: unchanged, no second event, no second place given back.
    let again = app.client.clone().cancel_reservation(app.req(&person, cancel())).await.unwrap().into_inner().reservation.unwrap();
    assert_eq!(again, cancelled);
    assert_eq!(app.ledger(slot).await, Some((1, 0)));
    assert_eq!(app.count(&format!("SELECT count(*) FROM outbox WHERE routing_key = '{}'", ev::routing::RESERVATION_CANCELLED)).await, 1);
    // The place is bookable again, also by the same person for the same dose.
    app.book(&person, "key-cancel-2", slot).await.unwrap();
    assert_eq!(app.ledger(slot).await, Some((1, 1)));
    app.stop().await;
}

#[tokio::test]
async fn reschedule_moves_exactly_one_place() {
    let mut app = common::start().await;
    let (old, new, full) = (app.inventory.slot(3), app.inventory.slot(2), app.inventory.slot(1));
    let other_vaccine = app.inventory.add("c-2", "moderna", 5, chrono::Utc::now() + chrono::Duration::days(2));
    let person = app.person("subj-move");
    let r = app.book(&person, "key-move-1", old).await.unwrap();
    app.book(&app.person("subj-blocker"), "key-blocker", full).await.unwrap();
    for _ in 0..2 {
        let _: ev::ReservationConfirmed = app.tap.expect(ev::routing::RESERVATION_CONFIRMED).await;
    }
    let move_to = |slot: uuid::Uuid| pb::RescheduleReservationRequest {
        reservation_id: r.reservation_id.clone(),
        new_slot_id: slot.to_string(),
        identity_assertion: person.assertion.clone(),
        ..Default::default()
    };

    let err = app.client.clone().reschedule_reservation(app.req(&person, move_to(full))).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let err = app.client.clone().reschedule_reservation(app.req(&person, move_to(other_vaccine))).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let err = app.client.clone().reschedule_reservation(app.req(&person, move_to(uuid::Uuid::new_v4()))).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!((app.ledger(old).await, app.ledger(full).await), (Some((3, 1)), Some((1, 1))), "a refused move changes nothing");

    let moved = app.client.clone().reschedule_reservation(app.req(&person, move_to(new))).await.unwrap().into_inner().reservation.unwrap();
    assert_eq!((moved.slot_id.clone(), moved.reservation_id.as_str()), (new.to_string(), r.reservation_id.as_str()));
    assert_eq!(moved.state, pb::ReservationState::Confirmed as i32);
    assert_eq!((app.ledger(old).await, app.ledger(new).await), (Some((3, 0)), Some((2, 1))));
    assert_eq!(app.count("SELECT count(*) FROM reservations WHERE state = 'confirmed'").await, 2);
    let event: ev::ReservationRescheduled = app.tap.expect(ev::routing::RESERVATION_RESCHEDULED).await;
    assert_eq!((event.old_slot_id.clone(), event.new_slot_id.clone()), (old.to_string(), new.to_string()));
    assert_eq!((event.reservation_id.as_str(), event.vaccine_code.as_str()), (r.reservation_id.as_str(), "pfizer"));
    assert_eq!(app.open_contact(&event.reservation_id, &event.sealed_contact), "01012345678");

    // Moving to where it already is: unchanged, no event.
    let same = app.client.clone().reschedule_reservation(app.req(&person, move_to(new))).await.unwrap().into_inner().reservation.unwrap();
    assert_eq!(same, moved);
    assert_eq!(app.count(&format!("SELECT count(*) FROM outbox WHERE routing_key = '{}'", ev::routing::RESERVATION_RESCHEDULED)).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_slot_just_found_full_is_refused_without_asking_eligibility_until_a_place_comes_back() {
    let app = common::start().await;
    let (slot, other) = (app.inventory.slot(1), app.inventory.slot(5));
    let person = app.person("subj-full-1");
    let r = app.book(&person, "key-full-1", slot).await.unwrap();
    let is_full = |err: tonic::Status| assert_eq!((err.code(), err.message()), (Code::FailedPrecondition, "slot is full"), "{err:?}");
    is_full(app.book(&app.person("subj-full-2"), "key-full-2", slot).await.unwrap_err());
    let asked = app.eligibility.calls();
    // Found full a moment ago: refused before eligibility is asked; a retry
    // of the booking that took the place still gets its original answer.
    is_full(app.book(&app.person("subj-full-3"), "key-full-3", slot).await.unwrap_err());
    assert_eq!(app.book(&person, "key-full-1", slot).await.unwrap(), r);
    assert_eq!(app.eligibility.calls(), asked, "eligibility was asked about a slot known to be full");
    assert_eq!(app.ledger(slot).await, Some((1, 1)));

    // Moving the booking away gives the place back, and this replica offers it at once.
    let reschedule = pb::RescheduleReservationRequest {
        reservation_id: r.reservation_id.clone(),
        new_slot_id: other.to_string(),
        identity_assertion: person.assertion.clone(),
        ..Default::default()
    };
    app.client.clone().reschedule_reservation(app.req(&person, reschedule)).await.unwrap();
    app.book(&app.person("subj-full-4"), "key-full-4", slot).await.unwrap();
    assert_eq!((app.ledger(slot).await, app.ledger(other).await), (Some((1, 1)), Some((5, 1))));
    app.stop().await;
}
