//! GrantConsent: a verified person names one agent who may book for them in
//! this event; the token says only what the assertion said, plus the agent
//! and the event, and is signed like every identity token.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use common::{start, with_pass, Person};
use tonic::Code;
use yeyak_platform::{
    grpc::status::field_violations,
    tokens::{self, ConsentToken, IdentityAssertion, Issuer, SigningKey},
};
use yeyak_proto::identity::v1::*;

#[tokio::test]
async fn a_verified_person_consents_to_one_named_agent_for_this_event() {
    let h = start("consent", &[]).await;
    let mut c = h.client();
    let (parent, child) = (Person::new(21), Person::new(22));
    let (parent_pass, child_pass) = (h.pass("sid-parent"), h.pass("sid-child"));
    let parent_id = h.verify(&parent_pass, &parent, "carrier-sms").await.unwrap();
    let child_id = h.verify(&child_pass, &child, "carrier-sms").await.unwrap();
    let grant = |assertion: &str, agent: &str| GrantConsentRequest { identity_assertion: assertion.into(), agent_subject_id: agent.into() };

    let now = chrono::Utc::now().timestamp();
    let granted =
        c.grant_consent(with_pass(&parent_pass, grant(&parent_id.identity_assertion, &child_id.subject_id))).await.unwrap().into_inner();
    let consent: ConsentToken = tokens::verify(&h.ring, &granted.consent_token, now).unwrap();
    let assertion: IdentityAssertion = tokens::verify(&h.ring, &parent_id.identity_assertion, now).unwrap();
    assert_eq!(
        (consent.subject.as_str(), consent.birth_date.as_str(), consent.name.as_str()),
        (assertion.subject.as_str(), assertion.birth_date.as_str(), "김*희")
    );
    assert_eq!((consent.agent_subject.as_str(), consent.queue_id.as_str()), (child_id.subject_id.as_str(), "q1"));
    assert_eq!((consent.expires_at - consent.issued_at, granted.expires_at.unwrap().seconds), (86_400, consent.expires_at));
    assert!(tokens::verify::<IdentityAssertion>(&h.ring, &granted.consent_token, now).is_err(), "a consent is not an assertion");

    // Only in the session the assertion was obtained in.
    let foreign = c.grant_consent(with_pass(&child_pass, grant(&parent_id.identity_assertion, &child_id.subject_id))).await.unwrap_err();
    assert_eq!(foreign.code(), Code::PermissionDenied, "{foreign:?}");
    // A forged assertion, one's own subject id, malformed input.
    let forger = SigningKey::generate(Issuer::Identity, "i1");
    let forged = tokens::sign(&forger, &assertion);
    let bad = c.grant_consent(with_pass(&parent_pass, grant(&forged, &child_id.subject_id))).await.unwrap_err();
    assert_eq!(bad.code(), Code::Unauthenticated, "{bad:?}");
    for (request, field) in [
        (grant(&parent_id.identity_assertion, &parent_id.subject_id), "agent_subject_id"),
        (grant(&parent_id.identity_assertion, "not-a-subject"), "agent_subject_id"),
        (grant(&parent_id.identity_assertion, &child_id.subject_id.to_uppercase()), "agent_subject_id"),
        (grant("", &child_id.subject_id), "identity_assertion"),
    ] {
        let e = c.grant_consent(with_pass(&parent_pass, request)).await.unwrap_err();
        assert_eq!((e.code(), field_violations(&e)), (Code::InvalidArgument, vec![field.to_owned()]), "{e:?}");
    }
    // The pass is required like everywhere behind the waiting room.
    let no_pass = c.grant_consent(grant(&parent_id.identity_assertion, &child_id.subject_id)).await.unwrap_err();
    assert_eq!(no_pass.code(), Code::Unauthenticated);
    h.stop().await;
}
