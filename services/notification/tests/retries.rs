//! Gateway failures are retried: delivered late, never twice. A 503 is
//! settled by a lookup first (which voids the reference at the gateway), so
//! the retry goes out under the next generation of the reference.
#![allow(clippy::unwrap_used)]
mod common;

use common::{events, TestApp};
use uuid::Uuid;
use yeyak_proto::events::v1::routing;
use yeyak_proto::notification::v1::DeliveryState;

#[tokio::test]
async fn failed_attempts_are_retried_until_delivered() {
    let app = TestApp::spawn().await;
    app.gateway.fail_next(2);
    let (event_id, reservation_id, phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    app.publish(event_id, routing::RESERVATION_CONFIRMED, events::confirmed(event_id, reservation_id, &phone, "인천의원")).await;

    let d = app.wait_for(reservation_id, 1, DeliveryState::Sent).await.remove(0);
    assert_eq!(d.attempts, 3);
    let id = &d.message_id;
    let sends = app.gateway.requests_of(id);
    assert_eq!(sends, [(id.clone(), 503), (format!("{id}.1"), 503), (format!("{id}.2"), 202)]);
    assert_eq!(app.gateway.lookups_of(id), [404, 404], "each 503 was looked up (and voided) before the next generation");
    assert_eq!(app.gateway.accepted_to(&phone).len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_resend_after_a_crash_sends_nothing_twice() {
    let app = TestApp::spawn().await;
    let (event_id, reservation_id, phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    app.publish(event_id, routing::RESERVATION_CONFIRMED, events::confirmed(event_id, reservation_id, &phone, "수원의원")).await;
    let d = app.wait_for(reservation_id, 1, DeliveryState::Sent).await.remove(0);

    // A replica that died after the gateway accepted but before recording it
    // leaves the row pending with its number, naming the gateway it went to.
    let message_id: Uuid = d.message_id.parse().unwrap();
    let changed = sqlx::query(
        "UPDATE deliveries SET state = 'pending', sent_at = NULL, sealed_contact = $2, next_attempt_at = now() WHERE message_id = $1",
    )
    .bind(message_id)
    .bind(events::seal(reservation_id, &phone))
    .execute(&app.pool)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(changed, 1);

    let d = common::eventually("the resend to be recorded", || async {
        let d = app.by_reservation(reservation_id).await.remove(0);
        (d.state == DeliveryState::Sent as i32).then_some(d)
    })
    .await;
    assert_eq!(d.attempts, 1, "a round that only asked the gateway is no attempt");
    assert_eq!(d.gateway, "primary");
    assert_eq!(app.gateway.lookups_of(&d.message_id), vec![200], "the gateway named in the row was asked first");
    assert_eq!(app.gateway.requests_with_key(&d.message_id), vec![202], "and, having it, was not sent it again");
    assert_eq!(app.gateway.accepted_to(&phone).len(), 1, "the gateway sent it once");

    // Had the row named no gateway (a crash before the hand-over), the
    // resend carries the same key and the gateway deduplicates it.
    sqlx::query("UPDATE deliveries SET state = 'pending', sent_at = NULL, gateway = NULL, sealed_contact = $2, next_attempt_at = now() WHERE message_id = $1")
        .bind(message_id)
        .bind(events::seal(reservation_id, &phone))
        .execute(&app.pool)
        .await
        .unwrap();
    common::eventually("the second resend to be recorded", || async {
        let d = app.by_reservation(reservation_id).await.remove(0);
        (d.state == DeliveryState::Sent as i32 && d.attempts == 2).then_some(d)
    })
    .await;
    assert_eq!(app.gateway.requests_with_key(&d.message_id), vec![202, 202], "resent with the same key");
    assert_eq!(app.gateway.accepted_to(&phone).len(), 1, "the gateway sent it once");
    app.stop().await;
}

#[tokio::test]
async fn gives_up_after_the_maximum_attempts_and_keeps_the_sealed_number_for_a_replay() {
    let app = TestApp::spawn_with(&[("SMS_MAX_ATTEMPTS", "2")]).await;
    app.gateway.fail_next(100);
    let (event_id, reservation_id, phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    app.publish(event_id, routing::RESERVATION_CANCELLED, events::cancelled(event_id, reservation_id, &phone)).await;

    let d = app.wait_for(reservation_id, 1, DeliveryState::Failed).await.remove(0);
    assert_eq!(d.attempts, 2);
    assert!(d.sent_at.is_none());
    assert_eq!(d.masked_phone, format!("010-****-{}", &phone[7..]));
    assert_eq!(app.gateway.requests_with_key(&d.message_id), vec![503, 503]);
    assert!(app.gateway.accepted().is_empty());
    let stored: (Option<String>, Option<Vec<u8>>) = sqlx::query_as("SELECT phone, sealed_contact FROM deliveries WHERE message_id = $1")
        .bind(d.message_id.parse::<Uuid>().unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.0, None, "never in plain text");
    assert!(stored.1.is_some(), "sealed, kept for an operator's replay until the retention period passes (tests/operator.rs)");
    app.stop().await;
}
