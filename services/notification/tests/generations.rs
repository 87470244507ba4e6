//! A voided reference never makes a message unsendable, with the default
//! single gateway (`YEYAK_SMS_GATEWAY_URL`, named `primary`) on a real
//! mock-sms process: after a crash between naming the gateway and sending,
//! and after a send that timed out before the gateway took it in, the
//! lookup voids the reference and the message goes out under the next
//! generation, exactly once (a late copy of the old one is refused).
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use common::{events, mock_gateway::MockGateway, TestApp};
use serde_json::json;
use uuid::Uuid;
use yeyak_proto::{events::v1::routing, notification::v1 as pb};

/// The child process of [`MockGateway`]; a no-op in a normal run.
#[test]
fn mock_sms_child() {
    common::mock_gateway::run_child();
}

/// One gateway, as configured by default; short deadlines.
async fn spawn(gateway: &MockGateway) -> TestApp {
    let pairs = [
        ("SMS_GATEWAY_URL", gateway.url.as_str()),
        ("SMS_TIMEOUT_MS", "400"),
        ("SMS_CONNECT_TIMEOUT_MS", "200"),
        ("SMS_PROBE_MS", "50"),
        ("SMS_BREAKER_FAILURES", "50"),
        ("SMS_MAX_ATTEMPTS", "4"),
    ];
    TestApp::spawn_with(&pairs).await
}

/// The single gateway sent `message_id` exactly once, under one of its
/// references; that reference.
async fn sent_once(gateway: &MockGateway, message_id: &str) -> String {
    let references = gateway.references().await;
    let mine: Vec<&String> = references.iter().filter(|r| r.starts_with(message_id)).collect();
    assert_eq!(mine.len(), 1, "exactly one SMS: {references:?}");
    assert_eq!(references.len(), 1, "and nothing else: {references:?}");
    mine[0].clone()
}

#[tokio::test]
async fn a_crash_between_naming_the_gateway_and_sending_still_sends_once() {
    let gateway = MockGateway::start();
    let app = spawn(&gateway).await;
    // A replica claimed the row, named the gateway (as the sender does just
    // before its send) and died: the row is due again, naming `primary`,
    // which never got the message.
    let (message_id, event_id, reservation) = (Uuid::new_v4(), Uuid::now_v7(), Uuid::new_v4());
    sqlx::query(
        "INSERT INTO deliveries (message_id, event_id, reservation_id, event_type, sealed_contact, masked_phone, text, state, attempts,
                                 next_attempt_at, gateway, generation, claim, leased_until)
         VALUES ($1, $2, $3, $4, $5, '010-****-0000', 'hello', 'pending', 0, now(), 'primary', 0, gen_random_uuid(), now())",
    )
    .bind(message_id)
    .bind(event_id)
    .bind(reservation)
    .bind(routing::RESERVATION_CONFIRMED)
    .bind(events::seal(reservation, &events::phone()))
    .execute(&app.pool)
    .await
    .unwrap();
    let [sent] = app.wait_for(reservation, 1, pb::DeliveryState::Sent).await.try_into().unwrap();
    assert_eq!(sent.gateway, "primary");
    let id = message_id.to_string();
    assert_eq!(sent_once(&gateway, &id).await, format!("{id}.1"), "the lookup voided generation 0; generation 1 went out");
    app.stop().await;
}

#[tokio::test]
async fn a_send_that_timed_out_before_the_gateway_took_it_in_still_sends_once() {
    let gateway = MockGateway::start();
    // Taken in 1.5 s after it arrives, long after the sender's 400 ms deadline.
    gateway.behave(json!({"accept_delay_ms": 1500})).await;
    let app = spawn(&gateway).await;
    let (event_id, reservation) = (Uuid::now_v7(), Uuid::new_v4());
    app.publish(event_id, routing::RESERVATION_CONFIRMED, events::confirmed(event_id, reservation, &events::phone(), "Clinic")).await;
    // The first round: timed out, looked up ("absent": voided), to be retried.
    let [pending] = common::eventually("a failed first attempt", || async {
        let d = app.by_reservation(reservation).await;
        (d.len() == 1 && d[0].attempts >= 1).then_some(d)
    })
    .await
    .try_into()
    .unwrap();
    assert_eq!(pending.state, pb::DeliveryState::Pending as i32, "{pending:?}");
    gateway.behave(json!({"accept_delay_ms": 0})).await;
    let [sent] = app.wait_for(reservation, 1, pb::DeliveryState::Sent).await.try_into().unwrap();
    // Every late copy of a voided generation has been taken in (refused) by now.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let reference = sent_once(&gateway, &sent.message_id).await;
    assert_ne!(reference, sent.message_id, "generation 0 was voided by the lookup, and its late copy refused");
    app.stop().await;
}
