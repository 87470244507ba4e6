//! CreateReservation against real PostgreSQL and RabbitMQ.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::{Duration, Instant};

use tonic::Code;
use tonic_types::StatusExt as _;
use yeyak_platform::grpc::status::field_violations;
use yeyak_proto::{eligibility::v1::EligibilityReason, events::v1 as ev, reservation::v1 as pb};

#[tokio::test]
async fn booking_writes_the_row_counts_the_place_and_publishes_the_event() {
    let mut app = common::start().await;
    let slot = app.inventory.slot(10);
    let person = app.person("subj-happy");
    let r = app.book(&person, "key-happy-1", slot).await.unwrap();
    assert_eq!(r.state, pb::ReservationState::Confirmed as i32);
    assert_eq!((r.subject_id.as_str(), r.slot_id.clone(), r.dose_number), ("subj-happy", slot.to_string(), 1));
    assert_eq!((r.clinic_id.as_str(), r.clinic_name.as_str(), r.vaccine_code.as_str()), ("c-1", "c-1 의원", "pfizer"));
    assert_eq!(app.ledger(slot).await, Some((10, 1)));
    assert_eq!(app.count("SELECT count(*) FROM reservations WHERE state = 'confirmed'").await, 1);
    assert_eq!(app.eligibility.calls(), 1);
    // The replica remembers the slot it booked: no second catalogue call.
    assert_eq!(app.inventory.calls(), 1);
    let second = app.book(&app.person("subj-happy-2"), "key-happy-2", slot).await.unwrap();
    assert_eq!((second.clinic_name.as_str(), second.starts_at), ("c-1 의원", r.starts_at));
    assert_eq!((app.inventory.calls(), app.eligibility.calls()), (1, 2));
    assert_eq!(app.ledger(slot).await, Some((10, 2)));

    let event: ev::ReservationConfirmed = app.tap.expect(ev::routing::RESERVATION_CONFIRMED).await;
    assert_eq!(event.reservation_id, r.reservation_id);
    assert_eq!((event.subject_id.as_str(), event.slot_id.clone()), ("subj-happy", slot.to_string()));
    assert_eq!((event.dose_number, event.clinic_name.as_str()), (1, "c-1 의원"));
    assert_eq!(app.open_contact(&event.reservation_id, &event.sealed_contact), "01012345678", "sealed for notification");
    assert_eq!(event.starts_at, r.starts_at);
    assert_eq!((event.admission_queue_id.as_str(), event.admission_position), ("demo", 1), "the pass the booking was made with");
    let meta = event.meta.unwrap();
    assert!(uuid::Uuid::parse_str(&meta.event_id).is_ok() && meta.occurred_at.is_some());
    // The relay marked it published.
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.count("SELECT count(*) FROM outbox WHERE published_at IS NULL").await > 0 {
        assert!(Instant::now() < deadline, "outbox row never marked published");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn a_retry_gets_the_same_answer_and_a_reused_key_is_refused() {
    let app = common::start().await;
    let (slot, other_slot) = (app.inventory.slot(10), app.inventory.slot(10));
    let person = app.person("subj-retry");
    let first = app.book(&person, "key-retry-1", slot).await.unwrap();
    let again = app.book(&person, "key-retry-1", slot).await.unwrap();
    assert_eq!(first, again);
    let err = app.book(&person, "key-retry-1", other_slot).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    assert!(err.message().contains("idempotency key reused"), "{err:?}");
    // A new key for the same dose: the person already holds it.
    let err = app.book(&person, "key-retry-2", other_slot).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    assert!(err.message().contains("already holds a reservation for this dose"), "{err:?}");
    assert_eq!(app.count("SELECT count(*) FROM reservations").await, 1);
    assert_eq!(app.ledger(slot).await, Some((10, 1)));
    assert_eq!(app.ledger(other_slot).await.map(|l| l.1).unwrap_or(0), 0);
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_retry_after_the_last_place_went_still_gets_the_original_answer() {
    let mut app = common::start().await;
    let slot = app.inventory.slot(1);
    let person = app.person("subj-last-place");
    let first = app.book(&person, "key-last-1", slot).await.unwrap();
    // The slot is full now: that refusal must not reach the person retrying
    // the booking that worked.
    let err = app.book(&app.person("subj-too-late"), "key-late-1", slot).await.unwrap_err();
    assert_eq!((err.code(), err.message()), (Code::FailedPrecondition, "slot is full"), "{err:?}");
    assert_eq!(app.book(&person, "key-last-1", slot).await.unwrap(), first);
    // Another replica, which never saw the slot, answers the same.
    let mut other = app.replica().await;
    let retry = app.req(&person, app.create_request(&person, "key-last-1", slot, 1));
    assert_eq!(other.create_reservation(retry).await.unwrap().into_inner().reservation.unwrap(), first);
    let late = app.person("subj-too-late-2");
    let err = other.create_reservation(app.req(&late, app.create_request(&late, "key-late-2", slot, 1))).await.unwrap_err();
    assert_eq!((err.code(), err.message()), (Code::FailedPrecondition, "slot is full"), "{err:?}");
    assert_eq!((app.ledger(slot).await, app.count("SELECT count(*) FROM reservations").await), (Some((1, 1)), 1));
    app.stop().await;
}

#[tokio::test]
async fn not_eligible_is_a_failed_precondition_and_writes_nothing() {
    let app = common::start().await;
    let slot = app.inventory.slot(10);
    app.eligibility.refuse(EligibilityReason::WindowNotOpen, "the 55-59 window opens at 20:00 KST");
    let err = app.book(&app.person("subj-early"), "key-early-1", slot).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("ELIGIBILITY_REASON_WINDOW_NOT_OPEN"), "{err:?}");
    assert!(err.message().contains("opens at 20:00 KST"), "{err:?}");
    assert_eq!(err.get_details_error_info().map(|i| i.reason).as_deref(), Some("ELIGIBILITY_REASON_WINDOW_NOT_OPEN"));
    assert_eq!(app.count("SELECT count(*) FROM reservations").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 0);
    assert_eq!(app.ledger(slot).await, None);
    app.stop().await;
}

#[tokio::test]
async fn eligibility_down_is_unavailable_fast_and_writes_nothing() {
    let app = common::start_with(common::Setup { eligibility_down: true, ..Default::default() }).await;
    let slot = app.inventory.slot(10);
    let started = Instant::now();
    let err = app.book(&app.person("subj-down"), "key-down-01", slot).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(app.count("SELECT count(*) FROM reservations").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 0);
    assert_eq!(app.ledger(slot).await, None);
    app.stop().await;
}

#[tokio::test]
async fn inventory_down_is_unavailable_fast_and_writes_nothing() {
    let app = common::start_with(common::Setup { inventory_down: true, ..Default::default() }).await;
    let slot = uuid::Uuid::new_v4();
    let started = Instant::now();
    let err = app.book(&app.person("subj-noinv"), "key-noinv-1", slot).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.message().contains("inventory"), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(app.eligibility.calls(), 1, "eligibility said yes; the catalogue could not be asked");
    assert_eq!(app.count("SELECT count(*) FROM reservations").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM slot_ledger").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn unknown_or_started_slots_are_refused() {
    let app = common::start().await;
    let person = app.person("subj-slots");
    let err = app.book(&person, "key-unknown", uuid::Uuid::new_v4()).await.unwrap_err();
    assert_eq!((err.code(), field_violations(&err)), (Code::InvalidArgument, vec!["slot_id".to_string()]), "{err:?}");
    let past = app.inventory.add("c-1", "pfizer", 5, chrono::Utc::now() - chrono::Duration::minutes(1));
    let err = app.book(&person, "key-started", past).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(app.count("SELECT count(*) FROM reservations").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn bookings_commit_while_the_broker_is_down_and_wait_in_the_outbox() {
    let app = common::start_with(common::Setup { broker_down: true, ..Default::default() }).await;
    let slot = app.inventory.slot(10);
    let r = app.book(&app.person("subj-nobroker"), "key-nobroker", slot).await.unwrap();
    assert_eq!(app.ledger(slot).await, Some((10, 1)));
    let pending: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT routing_key, payload FROM outbox WHERE published_at IS NULL").fetch_all(&app.pool).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].0, ev::routing::RESERVATION_CONFIRMED);
    let event = <ev::ReservationConfirmed as prost::Message>::decode(pending[0].1.as_slice()).unwrap();
    assert_eq!(event.reservation_id, r.reservation_id);
    // Shutdown stays bounded although the relay cannot publish.
    let started = Instant::now();
    app.stop().await;
    assert!(started.elapsed() < Duration::from_secs(8), "shutdown took {:?}", started.elapsed());
}
