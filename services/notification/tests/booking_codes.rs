//! The SMS names a booking by its booking code, one per reservation however
//! close together they were made, and support staff find the messages by
//! that code however the caller reads it out.
#![allow(clippy::unwrap_used)]
mod common;

use std::collections::HashSet;

use common::{events, TestApp};
use prost::Message as _;
use tonic::Code;
use uuid::Uuid;
use yeyak_platform::grpc::status::field_violations;
use yeyak_proto::{
    events::v1::{self as ev, routing},
    notification::v1::DeliveryState,
};

/// The number after "예약번호" in an SMS.
fn number(text: &str) -> &str {
    text.split("예약번호 ").nth(1).unwrap().split(' ').next().unwrap()
}

/// The old number was the first 8 hex digits of a UUIDv7, its timestamp:
/// 50 bookings of one moment all read the same. Now each reads its own code.
#[tokio::test]
async fn bookings_made_together_get_different_numbers_and_are_found_by_them() {
    let app = TestApp::spawn().await;
    let bookings: Vec<(Uuid, String)> = (0..50).map(|_| (Uuid::now_v7(), events::phone())).collect();
    let prefixes: HashSet<String> = bookings.iter().map(|(id, _)| id.simple().to_string()[..8].to_owned()).collect();
    assert!(prefixes.len() <= 2, "the ids share their time prefix: {prefixes:?}");
    for (reservation_id, phone) in &bookings {
        let event_id = Uuid::now_v7();
        app.publish(event_id, routing::RESERVATION_CONFIRMED, events::confirmed(event_id, *reservation_id, phone, "서울의원")).await;
    }
    let mut numbers = HashSet::new();
    for (reservation_id, phone) in &bookings {
        let delivery = app.wait_for(*reservation_id, 1, DeliveryState::Sent).await.remove(0);
        let code = events::code_for(*reservation_id);
        let sms = app.gateway.accepted_to(phone);
        assert_eq!(number(&sms[0].text), code, "{}", sms[0].text);
        assert!(sms[0].text.ends_with(&format!("예약이 확정되었습니다. 예약번호 {code}")), "{}", sms[0].text);
        numbers.insert(code.clone());
        // Support types what the caller reads out: case, spaces and hyphens do not matter.
        for typed in [code.clone(), code.to_lowercase(), code.replace('-', " "), code.replace('-', "")] {
            assert_eq!(app.by_booking_code(&typed).await.unwrap(), vec![delivery.clone()], "{typed:?}");
        }
        assert_eq!(delivery.booking_code, code);
    }
    assert_eq!(numbers.len(), bookings.len(), "every SMS names its own booking");
    app.stop().await;
}

/// An event from a reservation build before codes: the SMS names the whole
/// reservation id (support can look it up), never its time prefix.
#[tokio::test]
async fn an_event_without_a_code_prints_the_whole_reservation_id() {
    let app = TestApp::spawn().await;
    let (event_id, reservation_id, phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    let mut event = ev::ReservationConfirmed::decode(events::confirmed(event_id, reservation_id, &phone, "부산의원").as_slice()).unwrap();
    event.booking_code.clear();
    app.publish(event_id, routing::RESERVATION_CONFIRMED, event.encode_to_vec()).await;
    let delivery = app.wait_for(reservation_id, 1, DeliveryState::Sent).await.remove(0);
    assert_eq!(delivery.booking_code, "");
    assert_eq!(number(&app.gateway.accepted_to(&phone)[0].text), reservation_id.to_string());
    app.stop().await;
}

/// A code that does not check out is the producer's bug: the event goes to
/// the dead-letter queue (no SMS with a number nobody can find), and the
/// queue moves on.
#[tokio::test]
async fn an_event_with_a_code_that_does_not_check_out_is_dead_lettered() {
    let app = TestApp::spawn().await;
    let (bad_event, bad_reservation, bad_phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    let mut event =
        ev::ReservationConfirmed::decode(events::confirmed(bad_event, bad_reservation, &bad_phone, "대구의원").as_slice()).unwrap();
    let code = event.booking_code.clone();
    event.booking_code = format!("{}{}", &code[..8], if code.ends_with('2') { '3' } else { '2' });
    app.publish(bad_event, routing::RESERVATION_CONFIRMED, event.encode_to_vec()).await;
    let (event_id, reservation_id, phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    app.publish(event_id, routing::RESERVATION_CONFIRMED, events::confirmed(event_id, reservation_id, &phone, "대구의원")).await;
    app.wait_for(reservation_id, 1, DeliveryState::Sent).await;
    common::eventually("the bad event in the dead-letter queue", || async { (app.dead_letters().await == 1).then_some(()) }).await;
    assert!(app.gateway.accepted_to(&bad_phone).is_empty());
    let err = app.by_booking_code(&event.booking_code).await.unwrap_err();
    assert_eq!((err.code(), field_violations(&err)), (Code::InvalidArgument, vec!["booking_code".to_string()]));
    app.stop().await;
}
