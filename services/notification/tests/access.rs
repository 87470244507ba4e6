//! No side door into GetDeliveryStatus: a person sees the SMS of their own
//! reservations (as subject or as booking agent) with their admission pass
//! and identity assertion, support staff see anyone's with an operator token
//! holding the `support` role, and every other caller is refused. Strangers
//! get the same NOT_FOUND as for a reservation that does not exist.
#![allow(clippy::unwrap_used)]
mod common;

use common::{
    creds::{self, as_staff, with_authorization, Person},
    events, TestApp,
};
use sqlx::Row as _;
use tonic::{Code, Request};
use uuid::Uuid;
use yeyak_platform::{
    grpc::status::field_violations,
    tokens::{Issuer, SigningKey},
};
use yeyak_proto::{
    events::v1::routing,
    notification::v1::{self as pb, DeliveryState},
};

fn by_reservation(id: Uuid, assertion: &str) -> pb::GetDeliveryStatusRequest {
    pb::GetDeliveryStatusRequest { reservation_id: id.to_string(), identity_assertion: assertion.into(), ..Default::default() }
}

/// Every way to name a reservation's messages: id, booking code, message id.
fn references(id: Uuid, message_id: &str, assertion: &str) -> [pb::GetDeliveryStatusRequest; 3] {
    let base = pb::GetDeliveryStatusRequest { identity_assertion: assertion.into(), ..Default::default() };
    [
        by_reservation(id, assertion),
        pb::GetDeliveryStatusRequest { booking_code: events::code_for(id), ..base.clone() },
        pb::GetDeliveryStatusRequest { message_id: message_id.into(), ..base },
    ]
}

/// One confirmed reservation per subject; returns the reservation and its message id.
async fn booked(app: &TestApp, subject: &str, agent: &str) -> (Uuid, String) {
    let (event_id, reservation_id) = (Uuid::now_v7(), Uuid::new_v4());
    let payload = events::confirmed_for(event_id, reservation_id, &events::phone(), subject, agent);
    app.publish(event_id, routing::RESERVATION_CONFIRMED, payload).await;
    let delivery = app.wait_for(reservation_id, 1, DeliveryState::Sent).await.remove(0);
    (reservation_id, delivery.message_id)
}

#[tokio::test]
async fn a_person_sees_their_own_deliveries_and_nobody_elses() {
    let app = TestApp::spawn().await;
    let (mine, my_message) = booked(&app, "subject-ana", "").await;
    let (parents, _) = booked(&app, "subject-parent", "subject-ana").await;
    let (ana, stranger) = (Person::admitted("subject-ana"), Person::admitted("subject-eve"));

    for req in references(mine, &my_message, &ana.assertion) {
        let seen = app.ask(ana.call(req.clone())).await.unwrap();
        assert_eq!((seen.len(), seen[0].reservation_id.as_str()), (1, mine.to_string().as_str()), "{req:?}");
        assert_eq!(seen, app.by_reservation(mine).await, "the person sees what support staff see");
    }
    // The agent of a proxy booking sees it, the later cancellation included
    // (that event names the subject only).
    assert_eq!(app.ask(ana.call(by_reservation(parents, &ana.assertion))).await.unwrap().len(), 1);
    let (event_id, phone) = (Uuid::now_v7(), events::phone());
    app.publish(event_id, routing::RESERVATION_CANCELLED, events::cancelled_for(event_id, parents, &phone, "subject-parent")).await;
    app.wait_for(parents, 2, DeliveryState::Sent).await;
    assert_eq!(app.ask(ana.call(by_reservation(parents, &ana.assertion))).await.unwrap().len(), 2);

    // A stranger with a valid pass and assertion: NOT_FOUND, worded exactly
    // as for a reservation that does not exist.
    let unknown = app.ask(stranger.call(by_reservation(Uuid::new_v4(), &stranger.assertion))).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    for req in references(mine, &my_message, &stranger.assertion) {
        let err = app.ask(stranger.call(req.clone())).await.unwrap_err();
        assert_eq!((err.code(), err.message()), (Code::NotFound, unknown.message()), "{req:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_person_needs_a_valid_pass_and_their_own_assertion() {
    let app = TestApp::spawn().await;
    let (mine, _) = booked(&app, "subject-ana", "").await;
    let (ana, other) = (Person::admitted("subject-ana"), Person::admitted("subject-eve"));
    let refused = |req: Request<pb::GetDeliveryStatusRequest>| async { app.ask(req).await.unwrap_err() };

    let none = refused(Request::new(by_reservation(mine, &ana.assertion))).await;
    assert_eq!(none.code(), Code::Unauthenticated, "no credentials at all: {none:?}");
    let missing = refused(ana.call(by_reservation(mine, ""))).await;
    assert_eq!((missing.code(), field_violations(&missing)), (Code::InvalidArgument, vec!["identity_assertion".to_owned()]));
    // Ana's assertion under another person's pass: copied, useless.
    let copied = refused(other.call(by_reservation(mine, &ana.assertion))).await;
    assert_eq!(copied.code(), Code::PermissionDenied, "{copied:?}");
    // Ana's pass with another client id.
    let mut stolen = ana.clone();
    stolen.client_id = other.client_id.clone();
    assert_eq!(refused(stolen.call(by_reservation(mine, &ana.assertion))).await.code(), Code::PermissionDenied);
    let forged_key = SigningKey::generate(Issuer::Identity, "idn-ntf-test");
    let session = ana.assertion.clone();
    let forged = creds::assertion(&forged_key, "subject-ana", "any-session");
    for (what, person, assertion) in [
        ("forged assertion", &ana, forged.as_str()),
        ("not a token", &ana, "not-a-token"),
        ("expired pass", &Person::with_pass_expiring("subject-ana", chrono::Utc::now().timestamp() - 1), session.as_str()),
    ] {
        assert_eq!(refused(person.call(by_reservation(mine, assertion))).await.code(), Code::Unauthenticated, "{what}");
    }
    let mut garbled = ana.clone();
    garbled.pass.push('x');
    assert_eq!(refused(garbled.call(by_reservation(mine, &ana.assertion))).await.code(), Code::Unauthenticated, "altered pass");
    app.stop().await;
}

#[tokio::test]
async fn support_staff_see_any_delivery_and_every_lookup_is_audited() {
    let app = TestApp::spawn().await;
    let (first, message) = booked(&app, "subject-ana", "").await;
    let (second, _) = booked(&app, "subject-bo", "").await;
    // Waiting for the SMS polled as support staff: those lookups are audited too.
    let before = audit_rows(&app).await;
    assert!(before >= 2, "{before}");
    for req in references(first, &message, "") {
        assert_eq!(app.as_support(req).await.unwrap().len(), 1);
    }
    assert_eq!(app.as_support(by_reservation(second, "")).await.unwrap()[0].reservation_id, second.to_string());
    assert!(app.as_support(by_reservation(Uuid::new_v4(), "")).await.unwrap().is_empty(), "unknown: empty for staff");
    // A person's pass next to a support token: the token decides, and is audited.
    let ana = Person::admitted("subject-eve");
    let mut both = ana.call(by_reservation(first, ""));
    both.metadata_mut().insert("authorization", format!("Bearer {}", creds::SUPPORT_TOKEN).parse().unwrap());
    assert_eq!(app.ask(both).await.unwrap().len(), 1);

    let rows = sqlx::query("SELECT operator, action, resource, old_value, new_value FROM operator_audit ORDER BY at OFFSET $1")
        .bind(before)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let audited: Vec<AuditRow> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))).collect();
    assert_eq!(audited.len(), 6, "{audited:?}");
    assert!(audited.iter().all(|(who, action, ..)| who == "sam" && action == "notification.get_delivery_status"), "{audited:?}");
    let row = |i: usize| (audited[i].2.clone(), audited[i].3.clone(), audited[i].4.clone());
    assert_eq!(row(0), (format!("reservation {first}"), None, Some("1 deliveries".into())));
    assert_eq!(row(1).0, format!("booking_code {}", events::code_for(first)));
    assert_eq!(row(2).0, format!("message {message}"));
    assert_eq!(row(4).2.as_deref(), Some("0 deliveries"));
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_token_or_a_role_without_support_is_refused() {
    let app = TestApp::spawn().await;
    let (reservation, _) = booked(&app, "subject-ana", "").await;
    let before = audit_rows(&app).await;
    let req = by_reservation(reservation, "");
    let not_quite = format!("{}x", creds::SUPPORT_TOKEN);
    for (what, value) in [
        ("wrong token", format!("Bearer {not_quite}")),
        ("a prefix of the token", format!("Bearer {}", &creds::SUPPORT_TOKEN[..10])),
        ("no scheme", creds::SUPPORT_TOKEN.to_owned()),
        ("another scheme", format!("Basic {}", creds::SUPPORT_TOKEN)),
        ("empty bearer", "Bearer ".to_owned()),
    ] {
        let err = app.ask(with_authorization(&value, req.clone())).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{what}: {err:?}");
        assert!(!err.message().contains(&not_quite), "the token is not echoed");
    }
    // A person's valid pass does not rescue a bad token.
    let mut with_pass = Person::admitted("subject-ana").call(req.clone());
    with_pass.metadata_mut().insert("authorization", format!("Bearer {not_quite}").parse().unwrap());
    assert_eq!(app.ask(with_pass).await.unwrap_err().code(), Code::Unauthenticated);

    let denied = app.ask(as_staff(creds::OPERATOR_TOKEN, req)).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(denied.message().contains("support"), "names the missing role: {}", denied.message());
    assert_eq!(audit_rows(&app).await, before, "nothing was answered, nothing recorded as done");
    app.stop().await;
}

/// operator, action, resource, old value, new value.
type AuditRow = (String, String, String, Option<String>, Option<String>);

async fn audit_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM operator_audit").fetch_one(&app.pool).await.unwrap()
}
