//! The consumer's dead-letter queue through the operator API, and resends,
//! against real RabbitMQ and PostgreSQL, every SMS counted at the gateway.
//! An event dead-lettered because its number was sealed to a key this
//! replica lacked is replayed once the key is deployed: one SMS; replayed
//! again (a duplicate copy), still one.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use common::{
    events,
    ops::{op, support},
    TestApp,
};
use uuid::Uuid;
use yeyak_platform::contact::ContactKeys;
use yeyak_proto::{events::v1::routing, notification::v1 as pb};

async fn listed(app: &TestApp, limit: u32) -> pb::ListDeadLettersResponse {
    app.operator.clone().list_dead_letters(support(pb::ListDeadLettersRequest { limit })).await.unwrap().into_inner()
}

async fn replay(app: &TestApp, limit: u32, all: bool, dry_run: bool) -> pb::ReplayDeadLettersResponse {
    let req = pb::ReplayDeadLettersRequest { limit, all, dry_run };
    app.operator.clone().replay_dead_letters(op(req)).await.unwrap().into_inner()
}

async fn dead_lettered(app: &TestApp, n: u64) {
    common::eventually(&format!("{n} dead letters"), || async { (listed(app, 0).await.count == n).then_some(()) }).await;
}

#[tokio::test]
async fn a_dead_lettered_event_replayed_sends_once_however_often() {
    let mut app = TestApp::spawn().await;
    // Sealed to a key this replica does not hold yet: poison, dead-lettered.
    let later = ContactKeys::generate("ntf-later");
    let (event_id, reservation_id, phone) = (Uuid::now_v7(), Uuid::new_v4(), events::phone());
    let payload = confirmed_sealed_to(&later, event_id, reservation_id, &phone);
    app.publish(event_id, routing::RESERVATION_CONFIRMED, payload.clone()).await;
    app.publish(event_id, routing::RESERVATION_CONFIRMED, payload).await;
    dead_lettered(&app, 2).await;

    let list = listed(&app, 10).await;
    assert_eq!(list.messages.len(), 2);
    let m = &list.messages[0];
    assert_eq!(
        (m.event_id.as_str(), m.routing_key.as_str(), m.reason.as_str()),
        (event_id.to_string().as_str(), routing::RESERVATION_CONFIRMED, "rejected")
    );
    assert!(m.dead_lettered_at.is_some() && !m.already_recorded, "{m:?}");
    assert!(!format!("{list:?}").contains(&phone[3..]), "no number in a summary");
    assert_eq!(listed(&app, 0).await.count, 2, "looking put them back");

    // The key is deployed; a dry run moves nothing.
    app.restart_with(|config| config.contact_keys = events::KEYS.rotated_to(later.clone())).await;
    let dry = replay(&app, 1, false, true).await;
    assert_eq!((dry.moved, dry.remaining, dry.dry_run), (1, 2, true));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(listed(&app, 0).await.count, 2);
    assert!(app.gateway.accepted().is_empty());

    let moved = replay(&app, 1, false, false).await;
    assert_eq!((moved.moved, moved.remaining), (1, 1));
    app.wait_for(reservation_id, 1, pb::DeliveryState::Sent).await;
    assert_eq!(app.gateway.accepted_to(&phone).len(), 1, "replayed: one SMS");
    let left = listed(&app, 10).await;
    assert!(left.messages[0].already_recorded, "its duplicate is known to be recorded: {left:?}");

    let moved = replay(&app, 0, true, false).await;
    assert_eq!((moved.moved, moved.remaining), (1, 0));
    dead_lettered(&app, 0).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(app.gateway.accepted_to(&phone).len(), 1, "the duplicate replayed: still one SMS");
    assert_eq!(app.by_reservation(reservation_id).await.len(), 1);
    let audited = app.audited("notification.replay_dead_letters").await;
    assert_eq!(audited.len(), 3, "{audited:?}");
    assert!(audited[1].3.as_deref().unwrap().contains(&event_id.to_string()), "the audit names the event: {audited:?}");

    // One that can never be read is dropped (dry run first).
    let stranger = ContactKeys::generate("ntf-stranger");
    let (event_id, reservation_id) = (Uuid::now_v7(), Uuid::new_v4());
    let payload = cancelled_sealed_to(&stranger, event_id, reservation_id, &phone);
    app.publish(event_id, routing::RESERVATION_CANCELLED, payload).await;
    dead_lettered(&app, 1).await;
    let discard = |dry_run| pb::DiscardDeadLettersRequest { limit: 5, all: false, dry_run };
    let dry = app.operator.clone().discard_dead_letters(op(discard(true))).await.unwrap().into_inner();
    assert_eq!((dry.discarded, dry.remaining), (1, 1));
    assert_eq!(listed(&app, 0).await.count, 1);
    let refused = app.operator.clone().discard_dead_letters(support(discard(false))).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let done = app.operator.clone().discard_dead_letters(op(discard(false))).await.unwrap().into_inner();
    assert_eq!((done.discarded, done.remaining), (1, 0));
    assert_eq!(listed(&app, 0).await.count, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_resend_sends_one_new_sms_and_only_one_at_a_time() {
    let app = TestApp::spawn().await;
    let (event_id, reservation_id, phone) = (Uuid::now_v7(), Uuid::new_v4(), events::phone());
    app.publish(event_id, routing::RESERVATION_CONFIRMED, events::confirmed(event_id, reservation_id, &phone, "Clinic")).await;
    let [original] = app.wait_for(reservation_id, 1, pb::DeliveryState::Sent).await.try_into().unwrap();

    let dry = app.resend(reservation_id, true).await.unwrap();
    let preview = dry.delivery.unwrap();
    assert_eq!((preview.resend_of.as_str(), preview.delivery.as_ref().unwrap().message_id.as_str()), (original.message_id.as_str(), ""));
    assert_eq!(preview.delivery.unwrap().masked_phone, original.masked_phone);
    assert_eq!(app.by_reservation(reservation_id).await.len(), 1, "a dry run queues nothing");

    app.gateway.fail_next(1_000);
    let queued = app.resend(reservation_id, false).await.unwrap();
    assert!(!format!("{queued:?}").contains(&phone), "no number in an answer");
    let second = app.resend(reservation_id, false).await.unwrap_err();
    assert_eq!(second.code(), tonic::Code::FailedPrecondition, "one resend in flight at a time: {second:?}");
    app.gateway.fail_next(0);
    let both = app.wait_for(reservation_id, 2, pb::DeliveryState::Sent).await;
    let to_them = app.gateway.accepted_to(&phone);
    assert_eq!(to_them.len(), 2, "the original and exactly one resend");
    let of = |m: &common::stub_gateway::Sms| common::stub_gateway::message_of(&m.idempotency_key).to_owned();
    let resend = to_them.iter().find(|m| of(m) != original.message_id).unwrap();
    assert!(resend.text.contains("재발송") && resend.text.contains(&events::code_for(reservation_id)), "{}", resend.text);
    assert!(both.iter().any(|d| d.message_id == of(resend)));

    let missing = app.resend(Uuid::new_v4(), false).await.unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let audited = app.audited("notification.resend").await;
    assert_eq!(audited.len(), 4, "dry run, resend, refusal, unknown reservation: {audited:?}");
    app.stop().await;
}

/// A confirmation whose number is sealed to `keys`.
fn confirmed_sealed_to(keys: &ContactKeys, event_id: Uuid, reservation_id: Uuid, phone: &str) -> Vec<u8> {
    use prost::Message as _;
    let mut e =
        yeyak_proto::events::v1::ReservationConfirmed::decode(events::confirmed(event_id, reservation_id, phone, "Clinic").as_slice())
            .unwrap();
    e.sealed_contact = keys.sealer().seal(reservation_id.as_bytes(), phone);
    e.encode_to_vec()
}

/// A cancellation whose number is sealed to `keys`.
fn cancelled_sealed_to(keys: &ContactKeys, event_id: Uuid, reservation_id: Uuid, phone: &str) -> Vec<u8> {
    use prost::Message as _;
    let mut e =
        yeyak_proto::events::v1::ReservationCancelled::decode(events::cancelled(event_id, reservation_id, phone).as_slice()).unwrap();
    e.sealed_contact = keys.sealer().seal(reservation_id.as_bytes(), phone);
    e.encode_to_vec()
}
