//! Reservation events become exactly one SMS each.
#![allow(clippy::unwrap_used)]
mod common;

use common::{events, TestApp};
use uuid::Uuid;
use yeyak_platform::messaging::publisher::Outgoing;
use yeyak_proto::events::v1::routing;
use yeyak_proto::notification::v1::{self as pb, DeliveryState};

/// A W3C trace context, as a traced producer's message carries it.
const TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn confirmed_event_sends_one_sms_with_the_clinic_name() {
    let app = TestApp::spawn().await;
    let (event_id, reservation_id, phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    let payload = events::confirmed(event_id, reservation_id, &phone, "서울중앙의원");
    app.publish_traced(event_id, routing::RESERVATION_CONFIRMED, payload, TRACE).await;

    let deliveries = app.wait_for(reservation_id, 1, DeliveryState::Sent).await;
    // The sender runs later: the row keeps the message's trace context, which
    // the gateway call continues (docs/tracing.md).
    let kept: Option<String> = sqlx::query_scalar("SELECT traceparent FROM deliveries WHERE reservation_id = $1")
        .bind(reservation_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(TRACE));
    let d = &deliveries[0];
    assert_eq!(d.event_type, routing::RESERVATION_CONFIRMED);
    assert_eq!(d.attempts, 1);
    assert_eq!(d.masked_phone, format!("010-****-{}", &phone[7..]));
    assert!(d.sent_at.is_some() && d.created_at.is_some());

    let sms = app.gateway.accepted_to(&phone);
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(
        sms[0].text,
        format!(
            "[예약] 서울중앙의원 2021-07-26 20:00 PFIZER 1차 접종 예약이 확정되었습니다. 예약번호 {}",
            events::code_for(reservation_id)
        )
    );
    assert_eq!(d.booking_code, events::code_for(reservation_id));
    assert_eq!(sms[0].idempotency_key, d.message_id, "the message id is the idempotency key");
    assert_eq!(app.gateway.accepted().len(), 1);

    // The same delivery by message id; the raw number never leaves the service.
    let req = pb::GetDeliveryStatusRequest { message_id: d.message_id.clone(), ..Default::default() };
    let by_id = app.as_support(req).await.unwrap();
    assert_eq!(by_id, deliveries);
    assert!(!format!("{by_id:?}").contains(&phone));
    app.stop().await;
}

#[tokio::test]
async fn the_same_event_twice_sends_one_sms() {
    let app = TestApp::spawn().await;
    let (event_id, reservation_id, phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    let payload = events::confirmed(event_id, reservation_id, &phone, "부산보건소");
    app.publish(event_id, routing::RESERVATION_CONFIRMED, payload.clone()).await;
    app.publish(event_id, routing::RESERVATION_CONFIRMED, payload).await;
    // The consumer handles messages in order: once a later event is sent, the
    // duplicate has been handled too.
    let (sentinel_event, sentinel_reservation) = (Uuid::new_v4(), Uuid::new_v4());
    app.publish(sentinel_event, routing::RESERVATION_CANCELLED, events::cancelled(sentinel_event, sentinel_reservation, &events::phone()))
        .await;
    app.wait_for(sentinel_reservation, 1, DeliveryState::Sent).await;

    let deliveries = app.wait_for(reservation_id, 1, DeliveryState::Sent).await;
    assert_eq!(deliveries[0].attempts, 1);
    assert_eq!(app.gateway.accepted_to(&phone).len(), 1);
    // Deduplicated by the inbox, not merely by the gateway: one request only.
    assert_eq!(app.gateway.requests_with_key(&deliveries[0].message_id), vec![202]);
    app.stop().await;
}

#[tokio::test]
async fn cancelled_and_rescheduled_events_have_their_texts() {
    let app = TestApp::spawn().await;
    let (reservation_id, phone) = (Uuid::new_v4(), events::phone());
    // Event ids are UUIDv7, in the order the events happened.
    let (moved, gone) = (Uuid::now_v7(), Uuid::now_v7());
    app.publish(moved, routing::RESERVATION_RESCHEDULED, events::rescheduled(moved, reservation_id, &phone, "대구의료원")).await;
    app.publish(gone, routing::RESERVATION_CANCELLED, events::cancelled(gone, reservation_id, &phone)).await;

    let deliveries = app.wait_for(reservation_id, 2, DeliveryState::Sent).await;
    let types: Vec<&str> = deliveries.iter().map(|d| d.event_type.as_str()).collect();
    assert_eq!(types, vec![routing::RESERVATION_RESCHEDULED, routing::RESERVATION_CANCELLED], "oldest first");

    let texts: Vec<String> = app.gateway.accepted_to(&phone).into_iter().map(|m| m.text).collect();
    let n = events::code_for(reservation_id);
    assert_eq!(
        texts,
        vec![
            format!("[예약] 예약번호 {n} 예약이 대구의료원 2021-07-26 20:00 으로 변경되었습니다."),
            format!("[예약] 예약번호 {n} 접종 예약이 취소되었습니다."),
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_poison_message_does_not_block_the_next_one() {
    let app = TestApp::spawn().await;
    let garbage = Uuid::new_v4();
    app.publish(garbage, routing::RESERVATION_CONFIRMED, b"\xff\xff\xff not protobuf".to_vec()).await;
    let (event_id, reservation_id, phone) = (Uuid::new_v4(), Uuid::new_v4(), events::phone());
    app.publish(event_id, routing::RESERVATION_CONFIRMED, events::confirmed(event_id, reservation_id, &phone, "광주의원")).await;

    app.wait_for(reservation_id, 1, DeliveryState::Sent).await;
    assert_eq!(app.gateway.accepted().len(), 1);
    common::eventually("the poison message in the dead-letter queue", || async { (app.dead_letters().await == 1).then_some(()) }).await;
    app.stop().await;
}

#[tokio::test]
async fn a_burst_with_duplicates_and_poison_inside_sends_each_sms_once() {
    let app = TestApp::spawn().await;
    // Make sure the queue is bound before the burst, so the burst queues up
    // and reaches the consumer in batches.
    let (first_event, first_reservation) = (Uuid::new_v4(), Uuid::new_v4());
    app.publish(
        first_event,
        routing::RESERVATION_CONFIRMED,
        events::confirmed(first_event, first_reservation, &events::phone(), "대구의원"),
    )
    .await;
    app.wait_for(first_reservation, 1, DeliveryState::Sent).await;

    let people: Vec<(Uuid, Uuid, String)> = (0..150).map(|_| (Uuid::new_v4(), Uuid::new_v4(), events::phone())).collect();
    let mut burst = Vec::new();
    for (i, (event_id, reservation_id, phone)) in people.iter().enumerate() {
        let event = events::confirmed(*event_id, *reservation_id, phone, "대전의원");
        burst.push(Outgoing {
            event_id: *event_id,
            routing_key: routing::RESERVATION_CONFIRMED.into(),
            payload: event.clone(),
            traceparent: String::new(),
        });
        if i % 10 == 0 {
            // A redelivery right behind the original, often in the same batch.
            burst.push(Outgoing {
                event_id: *event_id,
                routing_key: routing::RESERVATION_CONFIRMED.into(),
                payload: event,
                traceparent: String::new(),
            });
        }
        if i == 75 {
            let garbage = b"\xff\xff not protobuf".to_vec();
            burst.push(Outgoing {
                event_id: Uuid::new_v4(),
                routing_key: routing::RESERVATION_CONFIRMED.into(),
                payload: garbage,
                traceparent: String::new(),
            });
        }
    }
    app.publisher.publish_all(&burst).await.unwrap();
    for (_, reservation_id, phone) in &people {
        let d = app.wait_for(*reservation_id, 1, DeliveryState::Sent).await;
        assert_eq!((d[0].attempts, app.gateway.accepted_to(phone).len()), (1, 1), "one SMS to {phone}");
    }
    assert_eq!(app.gateway.accepted().len(), 151, "one SMS per event, none for the duplicates or the poison");
    common::eventually("the poison message in the dead-letter queue", || async { (app.dead_letters().await == 1).then_some(()) }).await;
    app.stop().await;
}
