//! Phone numbers at rest and key rotation: a delivery keeps its number only
//! sealed, opens it only to send, and after a rotation still opens what the
//! previous key sealed; a number under a key it does not hold is
//! dead-lettered, never sent nor stored.
#![allow(clippy::unwrap_used)]
mod common;

use common::{events, TestApp};
use uuid::Uuid;
use yeyak_platform::contact::ContactKeys;
use yeyak_proto::{events::v1::routing, notification::v1::DeliveryState};

/// Every row of `deliveries`, as text.
async fn dump(app: &TestApp) -> String {
    let rows: Vec<String> = sqlx::query_scalar("SELECT d::text FROM deliveries d").fetch_all(&app.pool).await.unwrap();
    rows.join("\n")
}

#[tokio::test]
async fn a_pending_delivery_holds_the_number_only_sealed_and_a_sent_one_not_at_all() {
    let app = TestApp::spawn().await;
    app.gateway.fail_next(1);
    let (event_id, reservation_id, phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    app.publish(event_id, routing::RESERVATION_CONFIRMED, events::confirmed(event_id, reservation_id, &phone, "서울의원")).await;
    // Pending after the first failed attempt: sealed, opened only to send.
    common::eventually("the failed first attempt", || async {
        let d = app.by_reservation(reservation_id).await;
        (d.len() == 1 && d[0].attempts == 1).then_some(())
    })
    .await;
    let stored = dump(&app).await;
    assert!(stored.contains("010-****-"), "the masked number is kept: {stored}");
    assert!(!stored.contains(&phone), "plain number at rest: {stored}");
    let (plain, sealed): (Option<String>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT phone, sealed_contact FROM deliveries").fetch_one(&app.pool).await.unwrap();
    assert_eq!(plain, None);
    assert_eq!(events::KEYS.open(reservation_id.as_bytes(), &sealed.unwrap()).unwrap().as_str(), phone);
    app.wait_for(reservation_id, 1, DeliveryState::Sent).await;
    assert_eq!(app.gateway.accepted_to(&phone).len(), 1);
    let (plain, sealed): (Option<String>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT phone, sealed_contact FROM deliveries").fetch_one(&app.pool).await.unwrap();
    assert_eq!(plain, None, "never in plain text");
    assert!(sealed.is_some(), "sent: still sealed, kept for a resend until the retention period passes (tests/operator.rs)");
    app.stop().await;
}

#[tokio::test]
async fn after_a_rotation_numbers_sealed_under_the_previous_key_are_still_sent() {
    // YEYAK_CONTACT_KEYS after the rotation: a new current key, then the
    // previous one (events::KEYS, which reservation sealed to until now).
    let rotated = events::KEYS.rotated_to(ContactKeys::generate("ntf-next"));
    let app = TestApp::spawn_with(&[("CONTACT_KEYS", rotated.secret_spec().as_str())]).await;
    let (before, before_reservation, old_phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    app.publish(before, routing::RESERVATION_CONFIRMED, events::confirmed(before, before_reservation, &old_phone, "대구의원")).await;
    // Sealed by reservation once it has the new public key.
    let (after, after_reservation, new_phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    let sealed = rotated.sealer().seal(after_reservation.as_bytes(), &new_phone);
    let payload = yeyak_proto::events::v1::ReservationCancelled {
        reservation_id: after_reservation.to_string(),
        sealed_contact: sealed,
        ..Default::default()
    };
    app.publish(after, routing::RESERVATION_CANCELLED, prost::Message::encode_to_vec(&payload)).await;
    app.wait_for(before_reservation, 1, DeliveryState::Sent).await;
    app.wait_for(after_reservation, 1, DeliveryState::Sent).await;
    assert_eq!((app.gateway.accepted_to(&old_phone).len(), app.gateway.accepted_to(&new_phone).len()), (1, 1));

    // A key that was retired (or never configured): dead-lettered, not sent.
    let (lost, lost_reservation, phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    let payload = yeyak_proto::events::v1::ReservationCancelled {
        reservation_id: lost_reservation.to_string(),
        sealed_contact: ContactKeys::generate("retired").sealer().seal(lost_reservation.as_bytes(), &phone),
        ..Default::default()
    };
    app.publish(lost, routing::RESERVATION_CANCELLED, prost::Message::encode_to_vec(&payload)).await;
    common::eventually("the message to be dead-lettered", || async { (app.dead_letters().await == 1).then_some(()) }).await;
    assert!(app.by_reservation(lost_reservation).await.is_empty());
    assert!(app.gateway.accepted_to(&phone).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn plain_numbers_an_older_build_left_are_sealed_at_start_up_and_still_sent() {
    let mut app = TestApp::spawn().await;
    let (message_id, reservation_id, phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    // As the previous build wrote it (due later, so the sweep gets it first).
    sqlx::query(
        "INSERT INTO deliveries (message_id, event_id, reservation_id, event_type, phone, masked_phone, text, state, attempts, next_attempt_at)
         VALUES ($1, gen_random_uuid(), $2, $3, $4, '010-****-0000', 'legacy', 'pending', 0, now() + interval '1 hour')",
    )
    .bind(message_id)
    .bind(reservation_id)
    .bind(routing::RESERVATION_CONFIRMED)
    .bind(&phone)
    .execute(&app.pool)
    .await
    .unwrap();
    app.replica().await;
    common::eventually("the plain number to be sealed", || async { (!dump(&app).await.contains(&phone)).then_some(()) }).await;
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT sealed_contact FROM deliveries").fetch_one(&app.pool).await.unwrap();
    assert_eq!(events::KEYS.open(reservation_id.as_bytes(), &sealed).unwrap().as_str(), phone);
    sqlx::query("UPDATE deliveries SET next_attempt_at = now()").execute(&app.pool).await.unwrap();
    app.wait_for(reservation_id, 1, DeliveryState::Sent).await;
    assert_eq!(app.gateway.accepted_to(&phone).len(), 1);
    app.stop().await;
}
