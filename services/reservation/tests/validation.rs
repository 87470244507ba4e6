//! What never reaches eligibility or the database: calls without a valid
//! pass, assertions from another session, and malformed fields.
#![allow(clippy::unwrap_used)]
mod common;

use tonic::Code;
use yeyak_platform::grpc::status::field_violations;
use yeyak_proto::reservation::v1 as pb;

#[tokio::test]
async fn the_pass_and_the_assertion_binding_are_enforced() {
    let app = common::start().await;
    let slot = app.inventory.slot(10);
    let person = app.person("subj-auth");
    let message = app.create_request(&person, "key-auth-01", slot, 1);
    let err = app.client.clone().create_reservation(tonic::Request::new(message.clone())).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "no pass: {err:?}");

    // An assertion obtained under someone else's pass.
    let other = app.person("subj-other");
    let err = app.client.clone().create_reservation(app.req(&other, message.clone())).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    // An agent assertion from another session.
    let mut proxy = message.clone();
    proxy.agent_assertion = app.assertion("subj-agent", "another-session", 600);
    let err = app.client.clone().create_reservation(app.req(&person, proxy)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    // Expired and forged assertions.
    let mut expired = message.clone();
    expired.identity_assertion = app.assertion("subj-auth", &person.session_id, -1);
    let err = app.client.clone().create_reservation(app.req(&person, expired)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    let mut forged = message;
    forged.identity_assertion = "v1.nokey.e30.AAAA".into();
    let err = app.client.clone().create_reservation(app.req(&person, forged)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert_eq!(app.count("SELECT count(*) FROM reservations").await, 0);
    assert_eq!(app.eligibility.calls(), 0, "nothing reached eligibility");
    app.stop().await;
}

#[tokio::test]
async fn invalid_fields_are_named() {
    let app = common::start().await;
    let slot = app.inventory.slot(10);
    let person = app.person("subj-fields");
    let good = app.create_request(&person, "key-fields", slot, 1);
    type Edit = fn(&mut pb::CreateReservationRequest);
    let cases: [(&str, Edit); 8] = [
        ("idempotency_key", |r| r.idempotency_key = "short".into()),
        ("idempotency_key", |r| r.idempotency_key = "has spaces in it".into()),
        ("slot_id", |r| r.slot_id = "not-a-uuid".into()),
        ("identity_assertion", |r| r.identity_assertion.clear()),
        ("dose_number", |r| r.dose_number = 0),
        ("dose_number", |r| r.dose_number = 5),
        ("contact_phone", |r| r.contact_phone = "02-123-4567".into()),
        ("contact_phone", |r| r.contact_phone.clear()),
    ];
    for (field, edit) in cases {
        let mut message = good.clone();
        edit(&mut message);
        let err = app.client.clone().create_reservation(app.req(&person, message)).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert_eq!(field_violations(&err), vec![field.to_string()], "{err:?}");
    }
    // Booking for oneself through the agent field is a mistake, named as such.
    let mut own = good.clone();
    own.agent_assertion = person.assertion.clone();
    let err = app.client.clone().create_reservation(app.req(&person, own)).await.unwrap_err();
    assert_eq!(field_violations(&err), vec!["agent_assertion".to_string()], "{err:?}");
    assert_eq!(app.count("SELECT count(*) FROM reservations").await, 0);
    app.stop().await;
}
