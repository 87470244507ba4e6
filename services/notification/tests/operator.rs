//! The operator API against real mock-sms processes, PostgreSQL and
//! RabbitMQ: every SMS counted at every gateway. A replay sends a failed
//! message exactly once, and nothing for one already sent, however often it
//! is asked; an unknown outcome is resolved as the operator says the gateway
//! answered; only named operators with the role get in, and every call
//! leaves an audit row.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use common::{
    creds, events,
    mock_gateway::{gateways_spec, MockGateway},
    ops::{op, state_of, support},
    TestApp,
};
use serde_json::json;
use tonic::Code;
use uuid::Uuid;
use yeyak_platform::grpc::status::field_violations;
use yeyak_proto::{events::v1::routing, notification::v1 as pb};

/// The child process of [`MockGateway`]; a no-op in a normal run.
#[test]
fn mock_sms_child() {
    common::mock_gateway::run_child();
}

async fn spawn(gateways: &[(&str, &MockGateway)], extra: &[(&str, &str)]) -> TestApp {
    let spec = gateways_spec(gateways);
    let mut pairs = vec![("SMS_TIMEOUT_MS", "400"), ("SMS_CONNECT_TIMEOUT_MS", "200"), ("SMS_PROBE_MS", "50"), ("SMS_GATEWAYS", &spec)];
    pairs.extend_from_slice(extra);
    TestApp::spawn_with(&pairs).await
}

/// Publishes a confirmation; its reservation id.
async fn confirm(app: &TestApp) -> Uuid {
    let (event_id, reservation_id) = (Uuid::now_v7(), Uuid::new_v4());
    app.publish(event_id, routing::RESERVATION_CONFIRMED, events::confirmed(event_id, reservation_id, &events::phone(), "Clinic")).await;
    reservation_id
}

/// How often `gateway` sent `message_id`.
async fn sent_by(gateway: &MockGateway, message_id: &str) -> usize {
    gateway.sent().await.iter().filter(|key| *key == message_id).count()
}

#[tokio::test]
async fn a_failed_delivery_is_replayed_once_and_a_sent_one_never() {
    let gateway = MockGateway::start();
    // Every send refused (503), every lookup answered "absent": failed.
    gateway.faults(json!({"error_rate": 1.0})).await;
    let app = spawn(&[("kt", &gateway)], &[("SMS_MAX_ATTEMPTS", "2"), ("SMS_BREAKER_FAILURES", "50")]).await;
    let reservation = confirm(&app).await;
    let [failed] = app.wait_for(reservation, 1, pb::DeliveryState::Failed).await.try_into().unwrap();
    let id = failed.message_id.clone();
    assert!(app.sealed_kept(&id).await, "a failed delivery keeps its sealed number for a replay");

    let denied = app.operator.clone().replay_delivery(support(pb::ReplayDeliveryRequest { message_id: id.clone(), dry_run: false })).await;
    assert_eq!(denied.unwrap_err().code(), Code::PermissionDenied, "support staff read, they do not replay");
    let dry = app.replay(&id, true).await.unwrap();
    assert_eq!((dry.outcome, dry.dry_run), (pb::ChangeOutcome::Done as i32, true));
    gateway.faults(json!({"error_rate": 0.0})).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(state_of(&app.detail(&id).await), pb::DeliveryState::Failed, "a dry run changes nothing");
    assert_eq!(sent_by(&gateway, &id).await, 0);

    // Two operators replay at once: one replay.
    let (a, b) = tokio::join!(app.replay(&id, false), app.replay(&id, false));
    let mut outcomes = vec![a.unwrap().outcome, b.unwrap().outcome];
    outcomes.sort();
    assert_eq!(outcomes[0], pb::ChangeOutcome::Done as i32, "{outcomes:?}");
    assert_ne!(outcomes[1], pb::ChangeOutcome::Done as i32, "the second found it replayed: {outcomes:?}");
    app.wait_for(reservation, 1, pb::DeliveryState::Sent).await;
    assert_eq!(sent_by(&gateway, &id).await, 1, "the replay sent it once");

    let again = app.replay(&id, false).await.unwrap();
    assert_eq!(again.outcome, pb::ChangeOutcome::AlreadySent as i32, "a sent delivery is never replayed");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sent_by(&gateway, &id).await, 1, "still once");
    assert_eq!(gateway.sent().await.len(), 1, "and nothing else either");

    let audited = app.audited("notification.replay_delivery").await;
    assert_eq!(audited.len(), 4, "dry run, two replays, the last one: {audited:?}");
    assert!(audited.iter().all(|(who, resource, ..)| who == "olga" && resource == &format!("message {id}")), "{audited:?}");
    assert_eq!(audited[0].3.as_deref(), Some("dry run: would replay: done"));
    assert_eq!(app.audited("notification.get_delivery").await.len(), 1, "support's read is audited too");
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_outcome_is_resolved_as_the_gateway_says() {
    let (slow, other) = (MockGateway::start(), MockGateway::start());
    slow.behave(json!({"after_accept": "late", "late_ms": 3000, "lookup_down": true})).await;
    let app = spawn(&[("slow", &slow), ("other", &other)], &[]).await;

    // The gateway had it: marked sent, nothing sent.
    let reservation = confirm(&app).await;
    let [unknown] = app.wait_for(reservation, 1, pb::DeliveryState::OutcomeUnknown).await.try_into().unwrap();
    let id = unknown.message_id.clone();
    let dry = app.resolve(&id, pb::GatewayVerdict::Sent, true).await;
    assert_eq!(
        (dry.outcome, state_of(dry.delivery.as_ref().unwrap())),
        (pb::ChangeOutcome::Done as i32, pb::DeliveryState::OutcomeUnknown)
    );
    let resolved = app.resolve(&id, pb::GatewayVerdict::Sent, false).await;
    let delivery = resolved.delivery.unwrap();
    assert_eq!(state_of(&delivery), pb::DeliveryState::Sent);
    assert_eq!(delivery.delivery.unwrap().gateway, "slow");
    let again = app.resolve(&id, pb::GatewayVerdict::NotSent, false).await;
    assert_eq!(again.outcome, pb::ChangeOutcome::AlreadySent as i32, "resolved once is resolved");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!((sent_by(&slow, &id).await, sent_by(&other, &id).await), (1, 0), "sent once, by the gateway that had it");

    // The gateway never took it (it died first; its support confirms): any
    // gateway sends it, once.
    let (event_id, reservation) = (Uuid::now_v7(), Uuid::new_v4());
    let message_id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO deliveries (message_id, event_id, reservation_id, event_type, sealed_contact, masked_phone, text, state, attempts,
                                 next_attempt_at, gateway)
         VALUES ($1, $2, $3, $4, $5, '010-****-0000', 'hello', 'unknown', 5, now() + interval '1 hour', 'slow')",
    )
    .bind(message_id)
    .bind(event_id)
    .bind(reservation)
    .bind(routing::RESERVATION_CONFIRMED)
    .bind(events::seal(reservation, &events::phone()))
    .execute(&app.pool)
    .await
    .unwrap();
    let mut slow = slow;
    slow.kill();
    let id = message_id.to_string();
    let resolved = app.resolve(&id, pb::GatewayVerdict::NotSent, false).await;
    assert_eq!(resolved.outcome, pb::ChangeOutcome::Done as i32);
    let [sent] = app.wait_for(reservation, 1, pb::DeliveryState::Sent).await.try_into().unwrap();
    assert_eq!(sent.gateway, "other");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sent_by(&other, &id).await, 1, "sent once, through the other gateway");
    let audited = app.audited("notification.resolve_unknown").await;
    assert_eq!(audited.len(), 4, "{audited:?}");
    assert_eq!(audited[3].2.as_deref(), Some("unknown at slow, 5 attempts"), "{audited:?}");
    app.stop().await;
}

#[tokio::test]
async fn discard_and_the_retention_period_erase_the_number_and_lists_page_through_an_index() {
    let gateway = MockGateway::start();
    gateway.faults(json!({"error_rate": 1.0})).await;
    let extra = [("SMS_MAX_ATTEMPTS", "1"), ("SMS_BREAKER_FAILURES", "50"), ("SMS_CONTACT_SWEEP_MS", "100")];
    let app = spawn(&[("kt", &gateway)], &extra).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let reservation = confirm(&app).await;
        let [failed] = app.wait_for(reservation, 1, pb::DeliveryState::Failed).await.try_into().unwrap();
        ids.push(failed.message_id);
    }
    gateway.faults(json!({"error_rate": 0.0})).await;

    assert!(app.discard(&ids[0], true).await.dry_run);
    assert!(app.sealed_kept(&ids[0]).await, "a dry run erases nothing");
    let discarded = app.discard(&ids[0], false).await;
    assert_eq!(discarded.outcome, pb::ChangeOutcome::Done as i32);
    assert_eq!(state_of(discarded.delivery.as_ref().unwrap()), pb::DeliveryState::Discarded);
    assert!(!discarded.delivery.unwrap().number_kept);
    assert!(!app.sealed_kept(&ids[0]).await, "discarding erases the sealed number");
    assert_eq!(app.replay(&ids[0], false).await.unwrap().outcome, pb::ChangeOutcome::AlreadyDiscarded as i32);

    // Two failed, a page at a time, newest first; counts per state and gateway.
    let first = app.list(pb::DeliveryState::Failed, 1, "").await;
    assert_eq!(first.deliveries.len(), 1);
    assert!(!first.next_page_token.is_empty());
    let second = app.list(pb::DeliveryState::Failed, 1, &first.next_page_token).await;
    let listed: Vec<String> = [&first, &second].iter().map(|p| p.deliveries[0].delivery.clone().unwrap().message_id).collect();
    assert_eq!(listed, [ids[2].clone(), ids[1].clone()]);
    assert!(second.next_page_token.is_empty(), "the last page");
    let count = |state: pb::DeliveryState| first.counts.iter().filter(|c| c.state == state as i32).map(|c| c.count).sum::<u64>();
    assert_eq!((count(pb::DeliveryState::Failed), count(pb::DeliveryState::Discarded)), (2, 1), "{:?}", first.counts);
    let bad = pb::ListDeliveriesRequest { state: pb::DeliveryState::Pending as i32, ..Default::default() };
    let refused = app.operator.clone().list_deliveries(support(bad)).await.unwrap_err();
    assert_eq!(field_violations(&refused), ["state"]);
    let bad = pb::ListDeliveriesRequest { state: pb::DeliveryState::Failed as i32, page_token: "garbage".into(), ..Default::default() };
    assert_eq!(field_violations(&app.operator.clone().list_deliveries(support(bad)).await.unwrap_err()), ["page_token"]);

    // Past the retention period the number is erased: nothing to replay with.
    sqlx::query("UPDATE deliveries SET created_at = now() - interval '8 days' WHERE message_id = $1")
        .bind(ids[1].parse::<Uuid>().unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    common::eventually("the expired number to be erased", || async { (!app.sealed_kept(&ids[1]).await).then_some(()) }).await;
    assert!(app.sealed_kept(&ids[2]).await, "a number within the retention period stays");
    assert_eq!(app.replay(&ids[1], false).await.unwrap_err().code(), Code::FailedPrecondition);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(gateway.sent().await.is_empty(), "nothing was sent");
    app.stop().await;
}

#[tokio::test]
async fn only_named_operators_with_the_role_get_in() {
    let gateway = MockGateway::start();
    let app = spawn(&[("kt", &gateway)], &[]).await;
    let list = || pb::ListDeliveriesRequest { state: pb::DeliveryState::Failed as i32, ..Default::default() };
    let mut client = app.operator.clone();
    let unknown = client.list_deliveries(creds::as_staff("nobody-holds-this-token-0000", list())).await.unwrap_err();
    assert_eq!(unknown.code(), Code::Unauthenticated);
    assert_eq!(client.list_deliveries(list()).await.unwrap_err().code(), Code::Unauthenticated, "no token");
    assert_eq!(client.list_deliveries(op(list())).await.unwrap_err().code(), Code::PermissionDenied, "reading needs support");
    let discard = pb::DiscardDeliveryRequest { message_id: Uuid::new_v4().to_string(), dry_run: true };
    assert_eq!(client.discard_delivery(support(discard)).await.unwrap_err().code(), Code::PermissionDenied);
    let resend = pb::ResendForReservationRequest { reservation_id: Uuid::new_v4().to_string(), dry_run: false };
    assert_eq!(client.resend_for_reservation(support(resend)).await.unwrap_err().code(), Code::PermissionDenied);
    let bad = pb::ReplayDeliveryRequest { message_id: "nope".into(), dry_run: false };
    assert_eq!(field_violations(&client.replay_delivery(op(bad)).await.unwrap_err()), ["message_id"]);
    let missing = app.replay(&Uuid::new_v4().to_string(), false).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert!(client.list_deliveries(support(list())).await.is_ok());
    assert_eq!(app.audited("notification.list_deliveries").await.len(), 1, "refused calls changed nothing; the read is audited");
    assert_eq!(app.audited("notification.replay_delivery").await[0].3.as_deref(), Some("no such delivery"));
    app.stop().await;
}

#[tokio::test]
async fn a_replay_goes_out_under_the_next_generation_where_the_only_gateway_voided_the_last() {
    let gateway = MockGateway::start();
    let app = spawn(&[("kt", &gateway)], &[]).await;
    // Failed under generation 0, which the gateway voided (its lookup
    // answered "absent"), as an older build's failed deliveries are.
    let (message_id, event_id, reservation) = (Uuid::new_v4(), Uuid::now_v7(), Uuid::new_v4());
    sqlx::query(
        "INSERT INTO deliveries (message_id, event_id, reservation_id, event_type, sealed_contact, masked_phone, text, state, attempts, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, '010-****-0000', 'hello', 'failed', 8, NULL)",
    )
    .bind(message_id)
    .bind(event_id)
    .bind(reservation)
    .bind(routing::RESERVATION_CONFIRMED)
    .bind(events::seal(reservation, &events::phone()))
    .execute(&app.pool)
    .await
    .unwrap();
    let id = message_id.to_string();
    let voided = reqwest::get(format!("{}/v1/messages/{id}", gateway.url)).await.unwrap().status();
    assert_eq!(voided.as_u16(), 404);

    assert_eq!(app.replay(&id, false).await.unwrap().outcome, pb::ChangeOutcome::Done as i32);
    let [sent] = app.wait_for(reservation, 1, pb::DeliveryState::Sent).await.try_into().unwrap();
    assert_eq!(sent.attempts, 1, "the replay's first attempt went through: no 410 for a voided reference");
    assert_eq!(gateway.references().await, [format!("{id}.1")], "sent once, under the next generation");
    app.stop().await;
}
