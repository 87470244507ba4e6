//! Gateway failover against real mock-sms processes, PostgreSQL and
//! RabbitMQ: every message is sent exactly once in total, counted at every
//! gateway, whether a gateway is down, refuses, answers 503 to everything,
//! accepts and then answers too late or not at all, cannot tell the
//! outcome, or flaps.
#![allow(clippy::unwrap_used)]
mod common;

use std::{collections::HashMap, time::Duration};

use common::{
    events,
    mock_gateway::{gateways_spec, MockGateway},
    TestApp,
};
use serde_json::json;
use uuid::Uuid;
use yeyak_proto::{events::v1::routing, notification::v1 as pb};

/// The child process of [`MockGateway`]; a no-op in a normal run.
#[test]
fn mock_sms_child() {
    common::mock_gateway::run_child();
}

/// Short deadlines and a breaker that reacts within a test's patience.
const FAST: [(&str, &str); 5] = [
    ("SMS_TIMEOUT_MS", "400"),
    ("SMS_CONNECT_TIMEOUT_MS", "200"),
    ("SMS_BREAKER_FAILURES", "2"),
    ("SMS_BREAKER_OPEN_MS", "300"),
    ("SMS_PROBE_MS", "50"),
];

async fn spawn(gateways: &[(&str, &MockGateway)]) -> TestApp {
    let spec = gateways_spec(gateways);
    let mut pairs: Vec<(&str, &str)> = FAST.to_vec();
    pairs.push(("SMS_GATEWAYS", &spec));
    TestApp::spawn_with(&pairs).await
}

/// Publishes `n` confirmations (one reservation each); their reservation ids.
async fn confirm(app: &TestApp, n: usize) -> Vec<Uuid> {
    let mut reservations = Vec::new();
    for _ in 0..n {
        let (event_id, reservation_id) = (Uuid::now_v7(), Uuid::new_v4());
        app.publish(event_id, routing::RESERVATION_CONFIRMED, events::confirmed(event_id, reservation_id, &events::phone(), "Clinic"))
            .await;
        reservations.push(reservation_id);
    }
    reservations
}

/// Waits until every reservation's SMS is sent; message id → gateway.
async fn sent(app: &TestApp, reservations: &[Uuid]) -> HashMap<String, String> {
    let mut by_message = HashMap::new();
    for id in reservations {
        let [d] = app.wait_for(*id, 1, pb::DeliveryState::Sent).await.try_into().unwrap();
        by_message.insert(d.message_id, d.gateway);
    }
    by_message
}

/// Each message was sent exactly once over all gateways, by the gateway its
/// delivery names.
async fn exactly_once(by_message: &HashMap<String, String>, gateways: &[(&str, &MockGateway)]) {
    let mut counts: HashMap<String, Vec<&str>> = HashMap::new();
    for (name, gateway) in gateways {
        for reference in gateway.sent().await {
            counts.entry(reference).or_default().push(name);
        }
    }
    for (message_id, gateway) in by_message {
        assert_eq!(counts.get(message_id).cloned().unwrap_or_default(), [gateway.as_str()], "message {message_id}");
    }
    assert_eq!(counts.len(), by_message.len(), "nothing else was sent: {counts:?}");
}

#[tokio::test]
async fn with_gateways_down_everything_goes_through_the_other_exactly_once() {
    let (mut dead, refusing, good) = (MockGateway::start(), MockGateway::start(), MockGateway::start());
    let gateways = [("dead", &dead), ("refusing", &refusing), ("good", &good)];
    let app = spawn(&gateways).await;
    let spec = gateways_spec(&gateways);
    dead.kill();
    // Every send answered 503, every lookup "absent" (and voided).
    refusing.faults(json!({"error_rate": 1.0})).await;
    let reservations = confirm(&app, 8).await;
    let by_message = sent(&app, &reservations).await;
    assert!(by_message.values().all(|g| g == "good"), "{by_message:?}");
    assert!(spec.starts_with("dead="), "the dead gateway was preferred");
    exactly_once(&by_message, &[("refusing", &refusing), ("good", &good)]).await;
    app.stop().await;
}

/// A gateway answering 503 to everything, its lookups included: a proxy
/// may have forwarded a message before answering, so a message it answered
/// waits (unknown) until its lookup says "absent"; the rest goes through
/// the other gateway once its breaker opens. Sent once in total.
#[tokio::test]
async fn a_503_is_no_proof_what_it_answered_waits_for_the_lookup() {
    let (down, good) = (MockGateway::start(), MockGateway::start());
    down.down(true).await;
    let gateways = [("down", &down), ("good", &good)];
    let app = spawn(&gateways).await;
    let reservations = confirm(&app, 6).await;
    let waiting = common::eventually("every delivery sent, or waiting on the gateway that answered 503", || async {
        let mut waiting = 0;
        for id in &reservations {
            match app.by_reservation(*id).await.as_slice() {
                [d] if d.state == pb::DeliveryState::Sent as i32 => {}
                [d] if d.state == pb::DeliveryState::OutcomeUnknown as i32 && d.gateway == "down" => waiting += 1,
                _ => return None,
            }
        }
        Some(waiting)
    })
    .await;
    assert!(waiting >= 1, "the first message went to the preferred gateway");
    down.down(false).await;
    let by_message = sent(&app, &reservations).await;
    exactly_once(&by_message, &gateways).await;
    app.stop().await;
}

/// A gateway that takes the message and then does `fault`: the outcome is
/// unknown, the lookup finds it, and the other gateway never sends it.
async fn accepted_then(fault: serde_json::Value) {
    let (slow, other) = (MockGateway::start(), MockGateway::start());
    slow.behave(fault).await;
    let gateways = [("slow", &slow), ("other", &other)];
    let app = spawn(&gateways).await;
    let reservations = confirm(&app, 3).await;
    let by_message = sent(&app, &reservations).await;
    // The first went to the slow gateway (preferred while healthy); later
    // ones may go to the other once its breaker opens. Whatever it took, the
    // other never sent as well.
    assert!(!slow.sent().await.is_empty(), "the fault was exercised: {by_message:?}");
    exactly_once(&by_message, &gateways).await;
    app.stop().await;
}

#[tokio::test]
async fn a_gateway_that_accepts_then_answers_too_late_sends_once_in_total() {
    accepted_then(json!({"after_accept": "late", "late_ms": 3000})).await;
}

#[tokio::test]
async fn a_gateway_that_accepts_then_drops_the_answer_sends_once_in_total() {
    accepted_then(json!({"after_accept": "drop"})).await;
}

#[tokio::test]
async fn an_outcome_nobody_can_tell_waits_for_the_same_gateway() {
    let (slow, other) = (MockGateway::start(), MockGateway::start());
    slow.behave(json!({"after_accept": "late", "late_ms": 3000, "lookup_down": true})).await;
    let gateways = [("slow", &slow), ("other", &other)];
    let app = spawn(&gateways).await;
    let [reservation] = confirm(&app, 1).await.try_into().unwrap();
    let [waiting] = app.wait_for(reservation, 1, pb::DeliveryState::OutcomeUnknown).await.try_into().unwrap();
    assert_eq!(waiting.gateway, "slow");
    // Several re-checks later it still waits, and nothing went elsewhere.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let [still] = app.by_reservation(reservation).await.try_into().unwrap();
    assert_eq!((still.state, still.gateway.as_str()), (pb::DeliveryState::OutcomeUnknown as i32, "slow"));
    assert!(other.sent().await.is_empty(), "an unknown outcome is never sent elsewhere");
    slow.behave(json!({"lookup_down": false})).await;
    let by_message = sent(&app, &[reservation]).await;
    assert_eq!(by_message.values().collect::<Vec<_>>(), ["slow"]);
    exactly_once(&by_message, &gateways).await;
    app.stop().await;
}

#[tokio::test]
async fn routing_follows_a_flapping_gateways_health() {
    let (flappy, steady, spare) = (MockGateway::start(), MockGateway::start(), MockGateway::start());
    let gateways = [("flappy", &flappy), ("steady", &steady), ("spare", &spare)];
    let app = spawn(&gateways).await;
    let mut all = HashMap::new();
    for round in 0..2 {
        // Refusing every send (its lookups still answer "absent").
        flappy.faults(json!({"error_rate": 1.0})).await;
        let down = sent(&app, &confirm(&app, 4).await).await;
        assert!(down.values().all(|g| g == "steady"), "round {round}, flappy down: {down:?}");
        flappy.faults(json!({"error_rate": 0.0})).await;
        // Opened for 300 ms, then three probes 50 ms apart close it.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let up = sent(&app, &confirm(&app, 4).await).await;
        assert!(up.values().all(|g| g == "flappy"), "round {round}, flappy back: {up:?}");
        all.extend(down);
        all.extend(up);
    }
    exactly_once(&all, &gateways).await;
    app.stop().await;
}
