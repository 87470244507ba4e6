//! Get and list: the subject and the agent who booked see a reservation,
//! nobody else does.
#![allow(clippy::unwrap_used)]
mod common;

use tonic::Code;
use yeyak_proto::reservation::v1 as pb;

#[tokio::test]
async fn only_the_subject_and_the_agent_see_a_reservation() {
    let app = common::start().await;
    let slot = app.inventory.slot(10);
    let child = app.person("subj-child");
    // The child books for the parent: both assertions under the child's pass.
    let mut proxy = app.create_request(&child, "key-proxy-1", slot, 1);
    proxy.identity_assertion = app.assertion("subj-parent", &child.session_id, 600);
    proxy.agent_assertion = child.assertion.clone();
    let booked = app.client.clone().create_reservation(app.req(&child, proxy)).await.unwrap().into_inner().reservation.unwrap();
    assert_eq!((booked.subject_id.as_str(), booked.agent_subject_id.as_str()), ("subj-parent", "subj-child"));

    let get = |assertion: String| pb::GetReservationRequest {
        reservation_id: booked.reservation_id.clone(),
        identity_assertion: assertion,
        ..Default::default()
    };
    let parent = app.person("subj-parent");
    for who in [&child, &parent] {
        let seen = app.client.clone().get_reservation(app.req(who, get(who.assertion.clone()))).await.unwrap().into_inner();
        assert_eq!(seen.reservation.as_ref(), Some(&booked));
    }
    let stranger = app.person("subj-stranger");
    let err = app.client.clone().get_reservation(app.req(&stranger, get(stranger.assertion.clone()))).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let cancel = pb::CancelReservationRequest {
        reservation_id: booked.reservation_id.clone(),
        identity_assertion: stranger.assertion.clone(),
        ..Default::default()
    };
    let err = app.client.clone().cancel_reservation(app.req(&stranger, cancel)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let unknown = pb::GetReservationRequest {
        reservation_id: uuid::Uuid::new_v4().to_string(),
        identity_assertion: parent.assertion.clone(),
        ..Default::default()
    };
    assert_eq!(app.client.clone().get_reservation(app.req(&parent, unknown)).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(app.ledger(slot).await, Some((10, 1)), "the stranger's cancel changed nothing");
    app.stop().await;
}

#[tokio::test]
async fn list_pages_newest_first_over_own_and_proxy_bookings() {
    let app = common::start().await;
    let agent = app.person("subj-agent");
    let mut expected = Vec::new();
    // Doses 1-4 booked by the agent for themselves, and dose 1 for three relatives.
    for dose in 1..=4 {
        let slot = app.inventory.slot(10);
        let request = app.create_request(&agent, &format!("key-own-{dose}"), slot, dose);
        expected.push(app.client.clone().create_reservation(app.req(&agent, request)).await.unwrap().into_inner().reservation.unwrap());
    }
    for i in 0..3 {
        let mut request = app.create_request(&agent, &format!("key-proxy-{i}"), app.inventory.slot(10), 1);
        request.identity_assertion = app.assertion(&format!("subj-relative-{i}"), &agent.session_id, 600);
        request.agent_assertion = agent.assertion.clone();
        expected.push(app.client.clone().create_reservation(app.req(&agent, request)).await.unwrap().into_inner().reservation.unwrap());
    }
    // Someone else's booking never shows up.
    app.book(&app.person("subj-unrelated"), "key-unrelated", app.inventory.slot(10)).await.unwrap();
    expected.reverse();

    let mut listed = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let request = pb::ListReservationsRequest { identity_assertion: agent.assertion.clone(), page_size: 3, page_token: token };
        let page = app.client.clone().list_reservations(app.req(&agent, request)).await.unwrap().into_inner();
        assert!(page.reservations.len() <= 3);
        listed.extend(page.reservations);
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(listed, expected);
    let relative = app.person("subj-relative-1");
    let request = pb::ListReservationsRequest { identity_assertion: relative.assertion.clone(), ..Default::default() };
    let own = app.client.clone().list_reservations(app.req(&relative, request)).await.unwrap().into_inner();
    assert_eq!(own.reservations.len(), 1);
    assert_eq!(own.reservations[0].agent_subject_id, "subj-agent");

    let bad = pb::ListReservationsRequest { identity_assertion: agent.assertion.clone(), page_size: 0, page_token: "garbage!".into() };
    let err = app.client.clone().list_reservations(app.req(&agent, bad)).await.unwrap_err();
    assert_eq!(yeyak_platform::grpc::status::field_violations(&err), vec!["page_token".to_string()]);
    let bad = pb::ListReservationsRequest { identity_assertion: agent.assertion.clone(), page_size: 101, ..Default::default() };
    let err = app.client.clone().list_reservations(app.req(&agent, bad)).await.unwrap_err();
    assert_eq!(yeyak_platform::grpc::status::field_violations(&err), vec!["page_size".to_string()]);
    app.stop().await;
}

#[tokio::test]
async fn a_consent_token_lets_an_agent_book_for_someone_not_in_their_session() {
    let app = common::start().await;
    let slot = app.inventory.slot(10);
    let child = app.person("subj-child");
    let consent = app.keys.consent("subj-parent", "subj-child", "demo");
    let with_consent = |key: &str, consent: &str| pb::CreateReservationRequest {
        identity_assertion: String::new(),
        agent_assertion: child.assertion.clone(),
        consent_token: consent.to_owned(),
        ..app.create_request(&child, key, slot, 1)
    };
    let booked = app.client.clone().create_reservation(app.req(&child, with_consent("key-consent-1", &consent))).await.unwrap();
    let booked = booked.into_inner().reservation.unwrap();
    assert_eq!((booked.subject_id.as_str(), booked.agent_subject_id.as_str()), ("subj-parent", "subj-child"));
    assert_eq!(app.eligibility.consents(), vec![consent.clone()], "eligibility judged the same consent");
    // The parent sees it with their own assertion, later, in their own session.
    let parent = app.person("subj-parent");
    let get = pb::GetReservationRequest {
        reservation_id: booked.reservation_id.clone(),
        identity_assertion: parent.assertion.clone(),
        ..Default::default()
    };
    assert_eq!(app.client.clone().get_reservation(app.req(&parent, get)).await.unwrap().into_inner().reservation, Some(booked));

    // Only the named agent, only in the event it was given for.
    let stranger = app.person("subj-stranger");
    let mut theirs = with_consent("key-consent-2", &consent);
    theirs.agent_assertion = stranger.assertion.clone();
    let err = app.client.clone().create_reservation(app.req(&stranger, theirs)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let other_event = app.keys.consent("subj-aunt", "subj-child", "another-event");
    let err = app.client.clone().create_reservation(app.req(&child, with_consent("key-consent-3", &other_event))).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    // An assertion is not a consent.
    let err = app.client.clone().create_reservation(app.req(&child, with_consent("key-consent-4", &parent.assertion))).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    // Shape: a consent needs the agent's assertion and replaces the subject's.
    let mut no_agent = with_consent("key-consent-5", &consent);
    no_agent.agent_assertion.clear();
    let err = app.client.clone().create_reservation(app.req(&child, no_agent)).await.unwrap_err();
    assert_eq!(yeyak_platform::grpc::status::field_violations(&err), vec!["agent_assertion".to_string()]);
    let mut both = with_consent("key-consent-6", &consent);
    both.identity_assertion = child.assertion.clone();
    let err = app.client.clone().create_reservation(app.req(&child, both)).await.unwrap_err();
    assert_eq!(yeyak_platform::grpc::status::field_violations(&err), vec!["consent_token".to_string()]);
    assert_eq!(app.ledger(slot).await, Some((10, 1)), "only the first booking took a place");
    assert_eq!(app.eligibility.consents().len(), 1, "refused before eligibility was asked");
    app.stop().await;
}
