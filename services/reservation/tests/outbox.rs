//! RabbitMQ going away: bookings still commit, their events wait in the
//! outbox and all go out, once each, when the broker is back. The service
//! reaches RabbitMQ through a proxy the test cuts; the test's own consumer
//! is bound to the real broker directly.
#![allow(clippy::unwrap_used)]
mod common;

use std::{collections::HashSet, sync::Arc, time::Duration};

use yeyak_proto::events::v1 as ev;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_bookings_made_while_rabbitmq_is_down_all_arrive_when_it_returns() {
    let proxy = yeyak_testkit::Proxy::start("127.0.0.1:5672").await.unwrap();
    let setup = common::Setup { amqp_url: Some(format!("amqp://guest:guest@{}/%2f", proxy.addr())), ..Default::default() };
    let mut app = common::start_with(setup).await;
    let slot = app.inventory.slot(100);

    // Up: a booking's event goes out at once.
    let first = app.book(&app.person("subj-before"), "key-before-cut", slot).await.unwrap();
    let event: ev::ReservationConfirmed = app.tap.expect(ev::routing::RESERVATION_CONFIRMED).await;
    assert_eq!(event.reservation_id, first.reservation_id);
    // The tap hears the broker directly, so the event can arrive before the
    // broker's confirm reaches the relay through the proxy. Cutting in that
    // gap would leave this row unmarked and (rightly) published again later.
    common::eventually(Duration::from_secs(10), "the first event to be marked published", || async {
        (app.count("SELECT count(*) FROM outbox WHERE published_at IS NULL").await == 0).then_some(())
    })
    .await;

    // Down: 20 concurrent bookings all commit.
    proxy.cut();
    let app = Arc::new(app);
    let bookings: Vec<_> = (0..20)
        .map(|i| {
            let app = app.clone();
            let person = app.person(&format!("subj-cut-{i}"));
            tokio::spawn(async move { app.book_on(i, &person, &format!("key-during-cut-{i}"), slot).await })
        })
        .collect();
    let mut booked = HashSet::new();
    for b in bookings {
        booked.insert(b.await.unwrap().expect("bookings commit while RabbitMQ is down").reservation_id);
    }
    assert_eq!(booked.len(), 20);
    assert_eq!(app.ledger(slot).await, Some((100, 21)));
    let mut app = Arc::into_inner(app).unwrap();
    assert!(app.tap.next_within(Duration::from_millis(1500)).await.is_none(), "nothing can get out");
    assert_eq!(app.count("SELECT count(*) FROM outbox WHERE published_at IS NULL").await, 20);

    // Back: every event arrives, each once, and the outbox is drained.
    proxy.restore();
    let mut seen = HashSet::new();
    while seen.len() < 20 {
        let event: ev::ReservationConfirmed = app.tap.expect(ev::routing::RESERVATION_CONFIRMED).await;
        assert!(seen.insert(event.reservation_id.clone()), "event for {} published twice", event.reservation_id);
    }
    assert_eq!(seen, booked);
    common::eventually(Duration::from_secs(10), "the outbox to be marked published", || async {
        (app.count("SELECT count(*) FROM outbox WHERE published_at IS NULL").await == 0).then_some(())
    })
    .await;
    assert!(app.tap.next_within(Duration::from_millis(500)).await.is_none(), "no duplicates");
    app.stop().await;
}
