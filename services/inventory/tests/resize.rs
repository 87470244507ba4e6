//! Slot size changes: the catalogue, its day summary and the outbox event
//! commit together; the relay publishes the event for the reservation ledger.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use inventory::{domain::catalogue, error::InventoryError};
use prost::Message as _;
use tokio::sync::mpsc;
use uuid::Uuid;
use yeyak_platform::{
    messaging::{self, publisher::Outgoing, Publisher},
    Shutdown,
};
use yeyak_proto::{
    events::v1::{self as ev, routing},
    inventory::v1 as pb,
};

async fn slot(app: &common::TestApp, id: Uuid) -> pb::Slot {
    let req = tonic::Request::new(pb::GetSlotRequest { slot_id: id.to_string() });
    app.catalog().await.get_slot(req).await.expect("get slot").into_inner().slot.unwrap()
}

fn confirmed(slot: Uuid) -> Outgoing {
    let id = Uuid::new_v4();
    let e = ev::ReservationConfirmed {
        meta: Some(ev::EventMeta { event_id: id.to_string(), ..Default::default() }),
        slot_id: slot.to_string(),
        ..Default::default()
    };
    Outgoing { event_id: id, routing_key: routing::RESERVATION_CONFIRMED.into(), payload: e.encode_to_vec(), traceparent: String::new() }
}

#[tokio::test]
async fn a_resize_changes_the_catalogue_and_publishes_one_event() {
    let app = common::spawn(1, 1).await;
    // Stands in for the reservation service's queue.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tap_stop = Shutdown::new();
    let tap = tokio::spawn(messaging::consume(app.amqp.clone(), "tap", &["inventory.#"], tap_stop.clone(), move |d| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(d);
            Ok(())
        }
    }));
    let clinic = &catalogue::clinics(1)[0];
    let slots = catalogue::slots(clinic, app.today + chrono::Days::new(1), 1);
    let target = &slots[0];
    let publisher = Publisher::new(app.amqp.clone());
    let catalogue = app.catalogue();
    for _ in 0..3 {
        app.publish(&publisher, confirmed(target.slot_id)).await;
    }
    let capacity = target.capacity as u32;
    common::eventually(Duration::from_secs(10), "three bookings applied", || async {
        (slot(&app, target.slot_id).await.remaining == capacity - 3).then_some(())
    })
    .await;

    let grown = catalogue.resize_slot(target.slot_id, capacity + 5).await.unwrap();
    assert_eq!((grown.previous_capacity, grown.capacity), (target.capacity, target.capacity + 5));
    let after = slot(&app, target.slot_id).await;
    assert_eq!((after.capacity, after.remaining), (capacity + 5, capacity + 2));
    let event_id = grown.event_id.unwrap();
    let delivery = tokio::time::timeout(Duration::from_secs(15), rx.recv()).await.expect("event published").unwrap();
    assert_eq!((delivery.routing_key.as_str(), delivery.event_id), (routing::SLOT_RESIZED, Some(event_id)));
    let event = ev::SlotResized::decode(delivery.payload.as_slice()).unwrap();
    assert_eq!((event.slot_id.clone(), event.previous_capacity, event.capacity), (target.slot_id.to_string(), capacity, capacity + 5));
    assert_eq!((event.clinic_id.clone(), event.vaccine_code.as_str()), (clinic.clinic_id.to_string(), target.vaccine_code));

    // A cut below what the read model counts shows the slot full; the ledger decides what that means.
    let cut = catalogue.resize_slot(target.slot_id, 2).await.unwrap();
    assert!(cut.event_id.is_some());
    let after = slot(&app, target.slot_id).await;
    assert_eq!((after.capacity, after.remaining), (2, 0));
    let (day_capacity, day_booked): (i32, i32) =
        sqlx::query_as("SELECT capacity, booked FROM daily_availability WHERE clinic_id = $1 AND vaccine_code = $2 AND local_date = $3")
            .bind(clinic.clinic_id)
            .bind(target.vaccine_code)
            .bind(target.local_date)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    let (slot_capacity, slot_booked): (i64, i64) = sqlx::query_as(
        "SELECT sum(capacity), sum(LEAST(GREATEST(booked, 0), capacity)) FROM slots
         WHERE clinic_id = $1 AND vaccine_code = $2 AND local_date = $3",
    )
    .bind(clinic.clinic_id)
    .bind(target.vaccine_code)
    .bind(target.local_date)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!((i64::from(day_capacity), i64::from(day_booked)), (slot_capacity, slot_booked), "the day summary follows its slots");
    let delivery = tokio::time::timeout(Duration::from_secs(15), rx.recv()).await.expect("second event").unwrap();
    assert_eq!(ev::SlotResized::decode(delivery.payload.as_slice()).unwrap().capacity, 2);

    // The same size again changes nothing and publishes nothing.
    let same = catalogue.resize_slot(target.slot_id, 2).await.unwrap();
    assert_eq!(same.event_id, None);
    // Growing again: the three bookings are remembered, not forgotten by the cut.
    catalogue.resize_slot(target.slot_id, 5).await.unwrap();
    assert_eq!(slot(&app, target.slot_id).await.remaining, 2);
    let delivery = tokio::time::timeout(Duration::from_secs(15), rx.recv()).await.expect("third event").unwrap();
    assert_eq!(ev::SlotResized::decode(delivery.payload.as_slice()).unwrap().capacity, 5);
    let unknown = catalogue.resize_slot(Uuid::new_v4(), 2).await.unwrap_err();
    assert!(matches!(unknown, InventoryError::UnknownSlot), "{unknown:?}");
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox").fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(outbox, 3);
    assert!(tokio::time::timeout(Duration::from_millis(500), rx.recv()).await.is_err(), "no fourth event");
    common::eventually(Duration::from_secs(10), "outbox rows marked published", || async {
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetch_one(app.store.pool()).await.unwrap();
        (pending == 0).then_some(())
    })
    .await;
    tap_stop.trigger();
    tap.await.unwrap();
    messaging::delete_namespace(&app.amqp, &["tap"]).await.unwrap();
    app.stop().await;
}
