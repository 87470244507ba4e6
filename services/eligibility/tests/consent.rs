//! Proxy booking with a consent token: the subject verified their identity
//! elsewhere (their own session) and named the agent; the agent, verified in
//! their own session, checks for them. The subject's eligibility counts, the
//! agent's quota applies, and the token covers only its agent and its event.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use common::{born_in, seoul, Harness, Options};
use tonic::Code;
use yeyak_platform::{
    grpc::status::field_violations,
    tokens::{Issuer, SigningKey},
};
use yeyak_population::SyntheticPerson;
use yeyak_proto::eligibility::v1::{CheckEligibilityRequest, EligibilityReason as R};

const RULES: &str = common::RULES_55_59;

fn bookable(p: &SyntheticPerson) -> bool {
    born_in(p, 1962..=1966) && p.insured && p.doses.is_empty()
}

#[tokio::test]
async fn an_agent_books_with_the_subjects_consent_within_the_quota_and_only_as_named() {
    let h = Harness::start(Options::new(RULES.into(), seoul(2021, 7, 13, 10, 0, 0))).await;
    let agent = h.find(|p| born_in(p, 1990..=1995));
    let other_agent = h.find_nth(1, |p| born_in(p, 1990..=1995));
    let (a, b, c) = (h.find_nth(0, bookable), h.find_nth(1, bookable), h.find_nth(2, bookable));
    let young = h.find(|p| born_in(p, 1980..=1985) && p.insured);
    let pass = h.pass("q1", "sid-agent");
    let agent_assertion = h.assertion(&agent, "sid-agent");
    let with_consent = |consent: String| CheckEligibilityRequest {
        consent_token: consent,
        agent_assertion: agent_assertion.clone(),
        dose_number: 1,
        ..Default::default()
    };
    let reason = |r: &yeyak_proto::eligibility::v1::CheckEligibilityResponse| R::try_from(r.reason).unwrap();

    let ok = h.request(&pass, with_consent(h.consent(&a, &agent, "q1"))).await.unwrap();
    assert!(ok.eligible, "{ok:?}");
    assert_eq!(ok.cohort_id, "age-55-59");
    // The subject's eligibility is what counts: a consent does not widen the cohort.
    let not_in_cohort = h.request(&pass, with_consent(h.consent(&young, &agent, "q1"))).await.unwrap();
    assert_eq!(reason(&not_in_cohort), R::NotInCohort);
    // Consents count toward the agent's quota (2 people per event) like assertions do.
    assert!(h.request(&pass, with_consent(h.consent(&b, &agent, "q1"))).await.unwrap().eligible);
    let third = h.request(&pass, with_consent(h.consent(&c, &agent, "q1"))).await.unwrap();
    assert_eq!(reason(&third), R::ProxyNotAllowed);

    // A consent names one agent and one event.
    let other = h.request(&pass, with_consent(h.consent(&c, &other_agent, "q1"))).await.unwrap_err();
    assert_eq!(other.code(), Code::PermissionDenied, "{other:?}");
    assert!(other.message().contains("another agent"), "{other:?}");
    let elsewhere = h.request(&pass, with_consent(h.consent(&c, &agent, "q2"))).await.unwrap_err();
    assert_eq!(elsewhere.code(), Code::PermissionDenied, "{elsewhere:?}");
    assert!(elsewhere.message().contains("another event"), "{elsewhere:?}");
    // Signed by identity only, and not after it expires.
    let admission_signed = h.consent_signed(&h.admission, &c, &agent, "q1", 600);
    assert_eq!(h.request(&pass, with_consent(admission_signed)).await.unwrap_err().code(), Code::Unauthenticated);
    let forged = h.consent_signed(&SigningKey::generate(Issuer::Identity, "i1"), &c, &agent, "q1", 600);
    assert_eq!(h.request(&pass, with_consent(forged)).await.unwrap_err().code(), Code::Unauthenticated);
    let expired = h.consent_signed(&h.identity, &c, &agent, "q1", -1);
    assert_eq!(h.request(&pass, with_consent(expired)).await.unwrap_err().code(), Code::Unauthenticated);
    // An identity assertion is not a consent.
    let as_consent = h.request(&pass, with_consent(h.assertion(&c, "sid-agent"))).await.unwrap_err();
    assert_eq!(as_consent.code(), Code::Unauthenticated);

    // The request shape: a consent needs the agent, and replaces the subject's assertion.
    let no_agent = CheckEligibilityRequest { consent_token: h.consent(&c, &agent, "q1"), dose_number: 1, ..Default::default() };
    assert_eq!(field_violations(&h.request(&pass, no_agent).await.unwrap_err()), vec!["agent_assertion"]);
    let both = CheckEligibilityRequest { identity_assertion: h.assertion(&c, "sid-agent"), ..with_consent(h.consent(&c, &agent, "q1")) };
    assert_eq!(field_violations(&h.request(&pass, both).await.unwrap_err()), vec!["consent_token"]);
    let neither = CheckEligibilityRequest { agent_assertion: agent_assertion.clone(), dose_number: 1, ..Default::default() };
    assert_eq!(field_violations(&h.request(&pass, neither).await.unwrap_err()), vec!["identity_assertion"]);
    let for_oneself = h.request(&pass, with_consent(h.consent(&agent, &agent, "q1"))).await.unwrap_err();
    assert_eq!(field_violations(&for_oneself), vec!["agent_assertion"]);
    h.stop().await;
}
