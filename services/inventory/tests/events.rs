//! The read model follows reservation events published on the bus.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use inventory::domain::catalogue;
use prost::Message as _;
use tonic::Request;
use uuid::Uuid;
use yeyak_platform::messaging::{publisher::Outgoing, Publisher};
use yeyak_proto::{
    events::v1::{self as ev, routing},
    inventory::v1 as pb,
};

fn meta(id: Uuid) -> Option<ev::EventMeta> {
    Some(ev::EventMeta { event_id: id.to_string(), ..Default::default() })
}

fn confirmed(id: Uuid, slot: Uuid) -> Outgoing {
    let e = ev::ReservationConfirmed {
        meta: meta(id),
        reservation_id: Uuid::new_v4().to_string(),
        slot_id: slot.to_string(),
        ..Default::default()
    };
    Outgoing { event_id: id, routing_key: routing::RESERVATION_CONFIRMED.into(), payload: e.encode_to_vec(), traceparent: String::new() }
}

fn cancelled(id: Uuid, slot: Uuid) -> Outgoing {
    let e = ev::ReservationCancelled { meta: meta(id), slot_id: slot.to_string(), ..Default::default() };
    Outgoing { event_id: id, routing_key: routing::RESERVATION_CANCELLED.into(), payload: e.encode_to_vec(), traceparent: String::new() }
}

fn rescheduled(id: Uuid, old: Uuid, new: Uuid) -> Outgoing {
    let e = ev::ReservationRescheduled { meta: meta(id), old_slot_id: old.to_string(), new_slot_id: new.to_string(), ..Default::default() };
    Outgoing { event_id: id, routing_key: routing::RESERVATION_RESCHEDULED.into(), payload: e.encode_to_vec(), traceparent: String::new() }
}

async fn remaining(app: &common::TestApp, slot: Uuid) -> u32 {
    let mut catalog = app.catalog().await;
    let resp = catalog.get_slot(Request::new(pb::GetSlotRequest { slot_id: slot.to_string() })).await.expect("get slot");
    resp.into_inner().slot.expect("slot").remaining
}

async fn wait_for(app: &common::TestApp, slot: Uuid, want: u32) {
    common::eventually(Duration::from_secs(10), &format!("slot {slot} to have {want} left"), || async move {
        (remaining(app, slot).await == want).then_some(())
    })
    .await;
}

/// The clinic's searched total, which comes from the day summaries.
async fn search_total(app: &common::TestApp, clinic: &catalogue::DemoClinic, vaccine: &str) -> u32 {
    let clinics = app.search(clinic.district_code, vaccine, 1, 1).await.expect("search");
    let id = clinic.clinic_id.to_string();
    clinics.iter().find(|c| c.clinic_id == id).map_or(0, |c| c.remaining_total)
}

/// The searched total converges to `want` (the cached page is invalidated
/// shortly after the read model changed).
async fn wait_search_total(app: &common::TestApp, clinic: &catalogue::DemoClinic, vaccine: &str, want: u32) {
    common::eventually(Duration::from_secs(10), &format!("search total {want}"), || async move {
        (search_total(app, clinic, vaccine).await == want).then_some(())
    })
    .await;
}

/// The first clinic's slots tomorrow, and that day's places for the first
/// slot's vaccine as search counts them.
struct Tomorrow {
    clinic: catalogue::DemoClinic,
    slots: Vec<catalogue::DemoSlot>,
    vaccine: &'static str,
    day_total: u32,
}

fn tomorrow(app: &common::TestApp) -> Tomorrow {
    let clinic = catalogue::clinics(1).swap_remove(0);
    let slots = catalogue::slots(&clinic, app.today + chrono::Days::new(1), 1);
    let vaccine = slots[0].vaccine_code;
    let day_total = slots.iter().filter(|s| s.vaccine_code == vaccine).map(|s| s.capacity as u32).sum();
    Tomorrow { clinic, slots, vaccine, day_total }
}

#[tokio::test]
async fn bookings_move_remaining_once_per_event() {
    let app = common::spawn(1, 2).await;
    let publisher = Publisher::new(app.amqp.clone());
    let Tomorrow { clinic, slots, vaccine, day_total } = tomorrow(&app);
    let (a, b, sentinel) = (&slots[0], &slots[1], &slots[2]);
    assert_eq!(search_total(&app, &clinic, vaccine).await, day_total);

    let booking = Uuid::new_v4();
    app.publish(&publisher, confirmed(booking, a.slot_id)).await;
    wait_for(&app, a.slot_id, a.capacity as u32 - 1).await;
    wait_search_total(&app, &clinic, vaccine, day_total - 1).await;

    // A redelivery (same event id) changes nothing. The sentinel event after
    // it proves the duplicate was consumed before we look.
    app.publish(&publisher, confirmed(booking, a.slot_id)).await;
    app.publish(&publisher, confirmed(Uuid::new_v4(), sentinel.slot_id)).await;
    wait_for(&app, sentinel.slot_id, sentinel.capacity as u32 - 1).await;
    assert_eq!(remaining(&app, a.slot_id).await, a.capacity as u32 - 1);

    // Rescheduling gives a's place back and takes one of b's.
    app.publish(&publisher, rescheduled(Uuid::new_v4(), a.slot_id, b.slot_id)).await;
    wait_for(&app, b.slot_id, b.capacity as u32 - 1).await;
    assert_eq!(remaining(&app, a.slot_id).await, a.capacity as u32);

    // Cancelling restores b; a cancel with nothing booked cannot go above capacity.
    app.publish(&publisher, cancelled(Uuid::new_v4(), b.slot_id)).await;
    app.publish(&publisher, cancelled(Uuid::new_v4(), a.slot_id)).await;
    app.publish(&publisher, cancelled(Uuid::new_v4(), sentinel.slot_id)).await;
    wait_for(&app, sentinel.slot_id, sentinel.capacity as u32).await;
    assert_eq!(remaining(&app, b.slot_id).await, b.capacity as u32);
    assert_eq!(remaining(&app, a.slot_id).await, a.capacity as u32);
    wait_search_total(&app, &clinic, vaccine, day_total).await;
    app.stop().await;
}

#[tokio::test]
async fn a_full_slot_stays_full_and_poison_does_not_block_the_queue() {
    let app = common::spawn(1, 1).await;
    let publisher = Publisher::new(app.amqp.clone());
    let clinic = &catalogue::clinics(1)[0];
    let slots = catalogue::slots(clinic, app.today + chrono::Days::new(1), 1);
    let (slot, other) = (&slots[0], &slots[1]);
    // More confirmations than places (the ledger lives elsewhere; this read
    // model may replay or lag): remaining stops at zero.
    for _ in 0..slot.capacity + 3 {
        app.publish(&publisher, confirmed(Uuid::new_v4(), slot.slot_id)).await;
    }
    wait_for(&app, slot.slot_id, 0).await;
    // Undecodable payload and an unknown slot are set aside; later events still apply.
    let garbage = Outgoing {
        event_id: Uuid::new_v4(),
        routing_key: routing::RESERVATION_CONFIRMED.into(),
        payload: vec![0xff; 8],
        traceparent: String::new(),
    };
    app.publish(&publisher, garbage).await;
    app.publish(&publisher, confirmed(Uuid::new_v4(), Uuid::new_v4())).await;
    app.publish(&publisher, confirmed(Uuid::new_v4(), other.slot_id)).await;
    wait_for(&app, other.slot_id, other.capacity as u32 - 1).await;
    assert_eq!(remaining(&app, slot.slot_id).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_burst_is_applied_once_per_event_with_duplicates_and_poison_inside() {
    let app = common::spawn(1, 1).await;
    let publisher = Publisher::new(app.amqp.clone());
    let Tomorrow { clinic, slots, vaccine, day_total } = tomorrow(&app);
    let (a, b, sentinel) = (&slots[0], &slots[1], &slots[2]);
    // The queue is bound before the burst, so the burst queues up and is
    // taken in batches.
    app.publish(&publisher, confirmed(Uuid::new_v4(), sentinel.slot_id)).await;
    wait_for(&app, sentinel.slot_id, sentinel.capacity as u32 - 1).await;

    let booked = (a.capacity as u32).min(5);
    let mut burst = Vec::new();
    for i in 0..booked {
        let event = confirmed(Uuid::new_v4(), a.slot_id);
        burst.push(event.clone());
        if i % 2 == 0 {
            burst.push(event); // a redelivery right behind the original
        }
    }
    burst.push(Outgoing {
        event_id: Uuid::new_v4(),
        routing_key: routing::RESERVATION_CONFIRMED.into(),
        payload: vec![0xff; 8],
        traceparent: String::new(),
    });
    let moved = rescheduled(Uuid::new_v4(), a.slot_id, b.slot_id);
    burst.extend([moved.clone(), moved]);
    burst.push(cancelled(Uuid::new_v4(), sentinel.slot_id));
    publisher.publish_all(&burst).await.unwrap();

    wait_for(&app, sentinel.slot_id, sentinel.capacity as u32).await;
    assert_eq!(remaining(&app, a.slot_id).await, a.capacity as u32 - (booked - 1));
    assert_eq!(remaining(&app, b.slot_id).await, b.capacity as u32 - 1);
    wait_search_total(&app, &clinic, vaccine, day_total - booked).await;
    app.stop().await;
}
