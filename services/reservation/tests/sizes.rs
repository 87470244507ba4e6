//! Slot sizes follow the catalogue through `inventory.slot_resized.v1`; a cut
//! below what is booked keeps every booking, takes no new one and flags the
//! slot until cancellations bring it within the new size.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use prost::Message as _;
use uuid::Uuid;
use yeyak_platform::messaging::publisher::Outgoing;
use yeyak_proto::{events::v1 as ev, reservation::v1 as pb};

fn resized(slot: Uuid, previous: u32, capacity: u32) -> Outgoing {
    let id = Uuid::new_v4();
    let e = ev::SlotResized {
        meta: Some(ev::EventMeta { event_id: id.to_string(), ..Default::default() }),
        slot_id: slot.to_string(),
        previous_capacity: previous,
        capacity,
        ..Default::default()
    };
    Outgoing { event_id: id, routing_key: ev::routing::SLOT_RESIZED.into(), payload: e.encode_to_vec(), traceparent: String::new() }
}

async fn flag(app: &common::TestApp, slot: Uuid) -> Option<i32> {
    sqlx::query_scalar("SELECT target_capacity FROM slot_ledger WHERE slot_id = $1").bind(slot).fetch_one(&app.pool).await.unwrap()
}

async fn wait_ledger(app: &common::TestApp, slot: Uuid, want: (i32, i32)) {
    common::eventually(Duration::from_secs(10), &format!("ledger {want:?}"), || async move {
        (app.ledger(slot).await == Some(want)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn sizes_follow_the_catalogue_and_a_cut_below_bookings_is_flagged_not_oversold() {
    let app = common::start().await;
    let slot = app.inventory.slot(5);
    let people: Vec<_> = (0..3).map(|i| app.person(&format!("subj-size-{i}"))).collect();
    let mut booked = Vec::new();
    for (i, p) in people.iter().enumerate() {
        booked.push(app.book(p, &format!("key-size-{i}"), slot).await.unwrap());
    }
    assert_eq!(app.ledger(slot).await, Some((5, 3)));

    // Grown: applied as such.
    app.inventory.set_capacity(slot, 8);
    app.publish(resized(slot, 5, 8)).await;
    wait_ledger(&app, slot, (8, 3)).await;

    // Cut to 2 while 3 are booked: nobody loses a place, nobody new gets one.
    app.inventory.set_capacity(slot, 2);
    app.publish(resized(slot, 8, 2)).await;
    wait_ledger(&app, slot, (3, 3)).await;
    assert_eq!(flag(&app, slot).await, Some(2), "flagged for operators");
    let err = app.book(&app.person("subj-size-late"), "key-size-late", slot).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");
    let confirmed = app.count("SELECT count(*) FROM reservations WHERE state = 'confirmed'").await;
    assert_eq!(confirmed, 3, "every booking kept");

    // A redelivered old event (8) cannot undo the cut: the handler re-reads the catalogue.
    app.publish(resized(slot, 5, 8)).await;
    let cancel = |i: usize| pb::CancelReservationRequest {
        reservation_id: booked[i].reservation_id.clone(),
        identity_assertion: people[i].assertion.clone(),
        ..Default::default()
    };
    // One cancellation brings bookings within the new size: the place is not offered again.
    app.client.clone().cancel_reservation(app.req(&people[0], cancel(0))).await.unwrap();
    assert_eq!(app.ledger(slot).await, Some((2, 2)));
    assert_eq!(flag(&app, slot).await, None, "within the catalogue's size again");
    let err = app.book(&app.person("subj-size-later"), "key-size-later", slot).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");
    // The next cancellation frees a real place.
    app.client.clone().cancel_reservation(app.req(&people[1], cancel(1))).await.unwrap();
    assert_eq!(app.ledger(slot).await, Some((2, 1)));
    app.book(&app.person("subj-size-last"), "key-size-last", slot).await.unwrap();
    assert_eq!(app.ledger(slot).await, Some((2, 2)));
    // The stale event was consumed (a later one is applied after it) and changed nothing.
    let sentinel = app.inventory.slot(4);
    app.book(&app.person("subj-size-sentinel"), "key-size-sentinel", sentinel).await.unwrap();
    app.inventory.set_capacity(sentinel, 6);
    app.publish(resized(sentinel, 4, 6)).await;
    wait_ledger(&app, sentinel, (6, 1)).await;
    assert_eq!(app.ledger(slot).await, Some((2, 2)));

    // A size for a slot nobody booked yet creates its ledger with that size.
    let fresh = app.inventory.slot(3);
    app.inventory.set_capacity(fresh, 1);
    app.publish(resized(fresh, 3, 1)).await;
    wait_ledger(&app, fresh, (1, 0)).await;
    app.stop().await;
}
