//! CheckEligibility against the real mock registry (its own PostgreSQL
//! database, seeded) and real Redis, with the clock pinned to chosen Seoul
//! instants while the test process itself runs in whatever zone (UTC here).
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::{Duration, Instant};

use chrono::{Datelike as _, NaiveDate};
use common::{born_in, seoul, Harness, Options};
use eligibility::domain::BookingEvent;
use tonic::Code;
use yeyak_platform::grpc::status::field_violations;
use yeyak_proto::eligibility::v1::EligibilityReason as R;

/// The 2021 55-59 round, open since the evening of 12 July.
const RULES: &str = common::RULES_55_59;

const LOOKUPS: &str = "yeyak_eligibility_registry_lookups_total{service=\"eligibility\",outcome=\"registry\"}";
const CACHED: &str = "yeyak_eligibility_registry_lookups_total{service=\"eligibility\",outcome=\"cache\"}";

fn in_cohort(p: &yeyak_population::SyntheticPerson) -> bool {
    born_in(p, 1962..=1966)
}

fn bookable(p: &yeyak_population::SyntheticPerson) -> bool {
    in_cohort(p) && p.insured && p.doses.is_empty()
}

#[tokio::test]
async fn every_reason_code_is_reachable_through_the_api() {
    let h = Harness::start(Options::new(RULES.into(), seoul(2021, 7, 13, 10, 0, 0))).await;
    let reason = |r: &yeyak_proto::eligibility::v1::CheckEligibilityResponse| R::try_from(r.reason).unwrap();

    let ok = h.check(&h.find(bookable), 1).await;
    assert!(ok.eligible, "{}", ok.detail);
    assert_eq!((ok.cohort_id.as_str(), ok.window.as_ref().unwrap().window_id.as_str()), ("age-55-59", "round"));

    // Outside every cohort: refused on the birth date alone, the registry is not asked.
    let lookups = h.metric(LOOKUPS);
    assert_eq!(lookups, 1.0, "the first check asked the registry");
    let young = h.check(&h.find(|p| born_in(p, 1980..=1990)), 1).await;
    assert_eq!(reason(&young), R::NotInCohort);
    assert_eq!(h.metric(LOOKUPS), lookups, "no registry call for a cheap rejection");
    assert_eq!(h.metric("yeyak_eligibility_decisions_total{service=\"eligibility\",outcome=\"PRECHECK_NOT_IN_COHORT\"}"), 1.0);

    // Not in the registry: a valid number nobody was given.
    let known = h.find(bookable);
    let stranger =
        yeyak_population::SyntheticPerson { rrn: yeyak_platform::pseudonym::Rrn::synthesize(known.birth_date, true, 99_999), ..known };
    assert_eq!(reason(&h.check(&stranger, 1).await), R::UnknownPerson);

    assert_eq!(reason(&h.check(&h.find(|p| in_cohort(p) && !p.insured), 1).await), R::NotInsured);
    let vaccinated = h.find(|p| in_cohort(p) && p.insured && !p.doses.is_empty());
    assert_eq!(reason(&h.check(&vaccinated, 1).await), R::AlreadyVaccinated);

    // Too early for dose 2, until the Seoul date of the earliest day.
    let recent = |p: &yeyak_population::SyntheticPerson| {
        p.doses
            .first()
            .is_some_and(|d| (NaiveDate::from_ymd_opt(2021, 6, 23).unwrap()..=NaiveDate::from_ymd_opt(2021, 7, 13).unwrap()).contains(d))
    };
    let second = h.find(|p| in_cohort(p) && p.insured && recent(p));
    let early = h.check(&second, 2).await;
    let earliest = second.doses[0] + chrono::Duration::days(21);
    assert_eq!((reason(&early), early.earliest_vaccination_date.as_str()), (R::TooEarlyForDose, earliest.to_string().as_str()));
    // 23:59:59 -> 00:00:00 in Seoul is 14:59:59 -> 15:00:00 UTC, the same UTC date.
    let midnight = seoul(earliest.year(), earliest.month(), earliest.day(), 0, 0, 0);
    h.set_now(midnight - chrono::Duration::seconds(1));
    assert_eq!(reason(&h.check(&second, 2).await), R::TooEarlyForDose);
    h.set_now(midnight);
    assert_eq!((midnight - chrono::Duration::seconds(1)).date_naive(), midnight.date_naive(), "UTC has not changed day");
    assert!(h.check(&second, 2).await.eligible, "from 00:00:00 Seoul time on {earliest}");
    assert_eq!(reason(&h.check(&second, 3).await), R::TooEarlyForDose, "dose 2 comes first");

    // Already booked (the booked set; events feed it, see bookings.rs).
    let booked = h.find_nth(1, bookable);
    let event = BookingEvent::Confirmed {
        event_id: uuid::Uuid::new_v4().to_string(),
        reservation_id: uuid::Uuid::new_v4().to_string(),
        subject_id: Harness::subject_of(&booked),
        dose: 1,
    };
    assert!(h.store.apply(&event).await.unwrap());
    h.set_now(seoul(2021, 7, 13, 10, 0, 0));
    assert_eq!(reason(&h.check(&booked, 1).await), R::AlreadyBooked);

    // The opening second and the closing second.
    let person = h.find(bookable);
    h.set_now(seoul(2021, 7, 12, 19, 59, 59));
    let not_yet = h.check(&person, 1).await;
    assert_eq!(reason(&not_yet), R::WindowNotOpen);
    assert_eq!(not_yet.window.unwrap().opens_at.unwrap().seconds, seoul(2021, 7, 12, 20, 0, 0).timestamp());
    h.set_now(seoul(2021, 7, 12, 20, 0, 0));
    assert!(h.check(&person, 1).await.eligible);
    h.set_now(seoul(2021, 12, 31, 17, 59, 59));
    assert!(h.check(&person, 1).await.eligible);
    h.set_now(seoul(2021, 12, 31, 18, 0, 0));
    assert_eq!(reason(&h.check(&person, 1).await), R::WindowClosed);

    // Proxy not allowed: an agent at the limit (2 people in this event).
    h.set_now(seoul(2021, 7, 13, 10, 0, 0));
    let agent = h.find(|p| born_in(p, 1990..=1995));
    for n in 3..5 {
        assert!(h.check_for("q1", &agent, &h.find_nth(n, bookable)).await.unwrap().eligible);
    }
    let third = h.check_for("q1", &agent, &h.find_nth(5, bookable)).await.unwrap();
    assert_eq!(reason(&third), R::ProxyNotAllowed);
    assert!(third.detail.contains("already acts for 2 people in event q1"), "{}", third.detail);

    // Bad requests.
    let e = h.call(&h.pass("q1", "sid-1"), h.assertion(&person, "another-session"), String::new(), 1).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    // A verified (and remembered) assertion is still bound to its session.
    let token = h.assertion(&person, "sid-1");
    assert!(h.call(&h.pass("q1", "sid-1"), token.clone(), String::new(), 1).await.unwrap().eligible);
    let e = h.call(&h.pass("q1", "sid-2"), token, String::new(), 1).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = h.call(&h.pass("q1", "sid-1"), h.assertion(&person, "sid-1"), String::new(), 0).await.unwrap_err();
    assert_eq!(field_violations(&e), vec!["dose_number"]);
    h.stop().await;
}

#[tokio::test]
async fn the_rotation_through_the_api_with_cheap_rejection_on_the_wrong_day() {
    let h = Harness::start(Options::new(common::rules_file("2021-08-18-49.toml"), seoul(2021, 8, 9, 19, 59, 59))).await;
    let young = |p: &yeyak_population::SyntheticPerson| born_in(p, 1972..=2003) && p.insured && p.doses.is_empty();
    let nine = h.find(|p| young(p) && p.birth_date.day() % 10 == 9);
    let zero = h.find(|p| young(p) && p.birth_date.day() % 10 == 0);
    let leap = h.find(|p| young(p) && p.birth_date.month() == 2 && p.birth_date.day() == 29);

    let before = h.check(&nine, 1).await;
    assert_eq!(R::try_from(before.reason).unwrap(), R::WindowNotOpen);
    assert_eq!(before.window.unwrap().opens_at.unwrap().seconds, seoul(2021, 8, 9, 20, 0, 0).timestamp());
    h.set_now(seoul(2021, 8, 9, 20, 0, 0));
    let open = h.check(&nine, 1).await;
    assert!(open.eligible, "{}", open.detail);
    let window = open.window.unwrap();
    assert_eq!((window.window_id.as_str(), window.closes_at.unwrap().seconds), ("round-18-49", seoul(2021, 8, 10, 18, 0, 0).timestamp()));
    assert!(h.check(&leap, 1).await.eligible, "born 29 February: digit 9");

    // Not their day: answered from the birth date, without the registry.
    let lookups = h.metric(LOOKUPS) + h.metric(CACHED);
    assert_eq!(lookups, 2.0, "the two eligible answers needed the registry (the one before 20:00 did not)");
    let wait = h.check(&zero, 1).await;
    assert_eq!(R::try_from(wait.reason).unwrap(), R::WindowNotOpen);
    assert_eq!(wait.window.unwrap().opens_at.unwrap().seconds, seoul(2021, 8, 10, 20, 0, 0).timestamp());
    assert_eq!(h.metric(LOOKUPS) + h.metric(CACHED), lookups);

    // The last day of the rotation (digit 8) ends at 18:00 on 19 August.
    let eight = h.find(|p| born_in(p, 1972..=1985) && p.insured && p.doses.is_empty() && p.birth_date.day() % 10 == 8);
    h.set_now(seoul(2021, 8, 19, 17, 59, 59));
    assert!(h.check(&eight, 1).await.eligible);
    h.set_now(seoul(2021, 8, 19, 18, 0, 0));
    let gap = h.check(&eight, 1).await;
    assert_eq!((R::try_from(gap.reason).unwrap(), gap.window.unwrap().window_id.as_str()), (R::WindowNotOpen, "missed-36-49"));
    h.stop().await;
}

#[tokio::test]
async fn proxy_booking_counts_people_per_agent_and_event() {
    let h = Harness::start(Options::new(RULES.into(), seoul(2021, 7, 13, 10, 0, 0))).await;
    let agent = h.find(|p| born_in(p, 1990..=1995));
    let other_agent = h.find_nth(1, |p| born_in(p, 1990..=1995));
    let (a, b, c) = (h.find_nth(0, bookable), h.find_nth(1, bookable), h.find_nth(2, bookable));
    let reason = |r: &yeyak_proto::eligibility::v1::CheckEligibilityResponse| R::try_from(r.reason).unwrap();

    assert!(h.check_for("q1", &agent, &a).await.unwrap().eligible);
    assert!(h.check_for("q1", &agent, &a).await.unwrap().eligible, "the same person again is not a second person");
    // The subject's eligibility is what counts, and a refusal uses no quota.
    let young = h.find(|p| born_in(p, 1980..=1985));
    assert_eq!(reason(&h.check_for("q1", &agent, &young).await.unwrap()), R::NotInCohort);
    let vaccinated = h.find(|p| in_cohort(p) && p.insured && !p.doses.is_empty());
    assert_eq!(reason(&h.check_for("q1", &agent, &vaccinated).await.unwrap()), R::AlreadyVaccinated);
    assert!(h.check_for("q1", &agent, &b).await.unwrap().eligible);
    assert_eq!(reason(&h.check_for("q1", &agent, &c).await.unwrap()), R::ProxyNotAllowed);
    assert!(h.check_for("q1", &agent, &b).await.unwrap().eligible, "people already counted stay allowed");
    // Per event, and per agent.
    assert!(h.check_for("q2", &agent, &c).await.unwrap().eligible);
    assert!(h.check_for("q1", &other_agent, &c).await.unwrap().eligible);
    // The subject books for themselves: no agent, no quota.
    assert!(h.check(&c, 1).await.eligible);

    // Both identities verified under this pass.
    let pass = h.pass("q1", "sid-a");
    let foreign_agent = h.call(&pass, h.assertion(&a, "sid-a"), h.assertion(&agent, "sid-other"), 1).await.unwrap_err();
    assert_eq!(foreign_agent.code(), Code::PermissionDenied);
    let foreign_subject = h.call(&pass, h.assertion(&a, "sid-other"), h.assertion(&agent, "sid-a"), 1).await.unwrap_err();
    assert_eq!(foreign_subject.code(), Code::PermissionDenied);
    let forged = h.call(&pass, h.assertion(&a, "sid-a"), "v1.i1.e30.AAAA".into(), 1).await.unwrap_err();
    assert_eq!(forged.code(), Code::Unauthenticated);
    let themselves = h.call(&pass, h.assertion(&a, "sid-a"), h.assertion(&a, "sid-a"), 1).await.unwrap_err();
    assert_eq!(field_violations(&themselves), vec!["agent_assertion"]);
    assert_eq!(h.redis_keys("eligibility:proxy:*").await.len(), 3, "one set per agent and event");
    h.stop().await;
}

#[tokio::test]
async fn dependencies_down_answers_fast_and_uses_what_it_can() {
    let h = Harness::start(Options::new(RULES.into(), seoul(2021, 7, 13, 10, 0, 0))).await;
    let (a, b, c) = (h.find_nth(0, bookable), h.find_nth(1, bookable), h.find_nth(2, bookable));
    assert!(h.check(&a, 1).await.eligible);
    h.until_cached(&Harness::subject_of(&a)).await;

    // Registry down: a cached answer still serves; anyone else is UNAVAILABLE, fast.
    h.registry.cut();
    assert!(h.check(&a, 1).await.eligible, "from the Redis cache");
    let started = Instant::now();
    let e = h.call(&h.pass("q1", "sid-1"), h.assertion(&b, "sid-1"), String::new(), 1).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    h.registry.restore();

    // Redis down: people booking for themselves are still answered from the
    // registry; proxy quotas cannot be checked, so proxy booking is UNAVAILABLE.
    h.redis.cut();
    let started = Instant::now();
    assert!(h.check(&c, 1).await.eligible);
    let agent = h.find(|p| born_in(p, 1990..=1995));
    assert_eq!(h.check_for("q1", &agent, &c).await.unwrap_err().code(), Code::Unavailable);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    h.redis.restore();
    common::eventually(Duration::from_secs(10), "proxy booking after Redis returns", || async {
        h.check_for("q1", &agent, &c).await.ok().filter(|r| r.eligible)
    })
    .await;
    h.stop().await;
}
